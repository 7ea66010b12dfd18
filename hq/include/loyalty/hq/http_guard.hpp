#pragma once
/// @brief What keeps head office's HTTPS server answering under abuse: TLS with AEAD suites
/// only, worker threads started on demand, deadlines for the TLS handshake, the request header
/// and the body, a cap on connections per address, bounded request bodies, and the security
/// headers of every response. The routes themselves are in server.cpp and dashboard.cpp.

#include <openssl/ssl.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "loyalty/hq/settings.hpp"

namespace httplib {
class TaskQueue;
struct Request;
struct Response;
}  // namespace httplib

namespace loyalty::hq {

/// Restricts a server context to TLS 1.3, and TLS 1.2 with ECDHE key exchange and AES-GCM or
/// ChaCha20-Poly1305 (no CBC, no RSA key exchange); no renegotiation, no compression.
bool configureServerTls(SSL_CTX& ctx);

struct ConnectionLimits {
  std::size_t maxWorkers = 256;     ///< threads serving connections; more connections wait
  std::size_t maxPerAddress = 64;   ///< open connections from one IP address
  std::chrono::seconds headerDeadline{10};   ///< TLS handshake + request header, from accept or the last response
  std::chrono::seconds requestDeadline{120};  ///< a request's body, from its header

  static ConnectionLimits from(const Settings& settings);
};

/// Counters for /metrics.
struct ConnectionStats {
  std::int64_t open = 0;               ///< tracked TLS connections
  std::int64_t workers = 0;            ///< threads started
  std::int64_t closedByDeadline = 0;   ///< connections closed for sending too slowly
  std::int64_t refusedOverCap = 0;     ///< connections closed at once: their address had too many
};

/// Tracks every TLS connection of a server from its handshake to SSL_free and closes those that
/// are too slow or too many. An idle connection costs a parked thread until its deadline, never
/// the server's ability to answer others. Outlives the server it guards.
class ConnectionGuard {
 public:
  explicit ConnectionGuard(ConnectionLimits limits);
  ConnectionGuard(const ConnectionGuard&) = delete;
  ConnectionGuard& operator=(const ConnectionGuard&) = delete;

  /// Follows the connections of `ctx` (from the SSLServer's context callback).
  bool attach(SSL_CTX& ctx);
  /// A task queue for Server::new_task_queue: threads started on demand up to maxWorkers.
  httplib::TaskQueue* newTaskQueue() const;

  /// The request's header has been read (pre-routing). `bodyLeftToHandler`: its body is read
  /// by the handler (a content-reader route), which calls bodyRead when it has all of it.
  /// False when the connection is being closed: answer without acting on the request.
  bool headerRead(const httplib::Request& req, bool bodyLeftToHandler);
  void bodyRead(const httplib::Request& req);
  /// A handler is at work on the request: with its body read (by httplib, before the handler),
  /// the body's deadline no longer applies; the handler takes as long as it takes. Called where
  /// handlers identify who sent the request.
  void handlerStarted(const httplib::Request& req);
  /// Closes the connection once this response is written: the rest of its body is unread.
  void closeAfterResponse(const httplib::Request& req);
  /// Whether the connection ends after this response (to say `Connection: close` in it).
  bool closesAfterResponse(const httplib::Request& req) const;
  /// The response has been written (the server's logger). Ends the connection if its request's
  /// body was not read to its end.
  void responseWritten(const httplib::Request& req);

  ConnectionStats stats() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Connection {
    int fd = -1;
    std::string address;
    Clock::time_point deadline = Clock::time_point::max();
    bool bodyPending = false;  ///< a body the handler has not read yet
    bool closeAfter = false;
    bool closing = false;
  };

  static int connectionIndex();
  static void onInfo(const SSL* ssl, int where, int ret);
  static void onFree(void* parent, void* ptr, CRYPTO_EX_DATA* data, int index, long argl, void* argp);
  void opened(SSL* ssl);
  void closed(const SSL* ssl);
  void close(Connection& c);  ///< under m_mutex
  void watch(std::stop_token stop);

  const ConnectionLimits m_limits;
  mutable std::mutex m_mutex;
  std::condition_variable_any m_wake;
  std::unordered_map<const SSL*, Connection> m_connections;
  std::map<std::string, std::size_t> m_perAddress;
  std::int64_t m_closedByDeadline = 0;
  std::int64_t m_refusedOverCap = 0;
  std::shared_ptr<std::atomic<std::int64_t>> m_workers;
  std::jthread m_watchdog;  ///< last: stops first
};

/// A request body refused before it is read, and why.
struct BodyRefusal {
  int status;
  std::string detail;
};

/// Largest body of a route whose handler gets it whole (forms, small JSON): httplib inflates and
/// buffers such bodies before any handler runs, so they are bounded by their Content-Length.
inline constexpr std::size_t kMaxPlainBodyBytes = 64 * 1024;

/// Checks a request's framing before its body is read. `streaming`: the route reads its body
/// through a ContentReader that stops at the decompressed limit, so Content-Encoding and chunked
/// bodies are accepted; any other route takes plain bodies of at most kMaxPlainBodyBytes with a
/// Content-Length.
std::optional<BodyRefusal> checkBody(const httplib::Request& req, bool streaming);

/// True when the request carries a body (Content-Length above 0, or Transfer-Encoding).
bool hasBody(const httplib::Request& req);

/// Adds HSTS and nosniff to a response, and a strict Content-Security-Policy and
/// X-Frame-Options unless the handler chose its own (dashboard pages do).
void addSecurityHeaders(httplib::Response& res);

}  // namespace loyalty::hq
