#include "loyalty/hq/http_guard.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <httplib.h>

#include <atomic>
#include <deque>
#include <functional>
#include <system_error>
#include <vector>

namespace loyalty::hq {

namespace {

/// How long, and how much, a connection closed for an unread body is still read and discarded.
constexpr auto kLinger = std::chrono::seconds(2);
constexpr std::size_t kMaxLingerBytes = 16 * 1024 * 1024;

// TLS 1.2: forward secrecy and authenticated encryption only. TLS 1.3's suites are all AEAD.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kTls13Suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

/// Threads started when a connection finds none idle, up to a cap; they park when idle (an idle
/// connection holds one only until its deadline). Beyond the cap, connections wait their turn.
class GrowingPool final : public httplib::TaskQueue {
 public:
  GrowingPool(std::size_t cap, std::shared_ptr<std::atomic<std::int64_t>> started)
      : m_cap(cap), m_started(std::move(started)) {}
  ~GrowingPool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    std::lock_guard lock(m_mutex);
    m_jobs.push_back(std::move(fn));
    if (m_jobs.size() > m_idle && m_threads.size() < m_cap) {
      try {
        m_threads.emplace_back([this] { work(); });
        ++*m_started;
      } catch (const std::system_error&) {
        // No thread to be had (a process limit): the connection waits for a busy one.
      }
    }
    m_wake.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard lock(m_mutex);
      m_stopping = true;
    }
    m_wake.notify_all();
    for (auto& t : m_threads) {
      if (t.joinable()) t.join();
    }
  }

 private:
  void work() {
    std::unique_lock lock(m_mutex);
    for (;;) {
      ++m_idle;
      m_wake.wait(lock, [&] { return !m_jobs.empty() || m_stopping; });
      --m_idle;
      if (m_jobs.empty()) return;  // stopping, and nothing left to serve
      auto fn = std::move(m_jobs.front());
      m_jobs.pop_front();
      lock.unlock();
      fn();
      lock.lock();
    }
  }

  const std::size_t m_cap;
  std::shared_ptr<std::atomic<std::int64_t>> m_started;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  std::deque<std::function<void()>> m_jobs;
  std::vector<std::thread> m_threads;
  std::size_t m_idle = 0;
  bool m_stopping = false;
};

/// Where a context keeps its guard.
int contextIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

std::string peerAddress(int fd) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return "unknown";
  char text[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&a)->sin_addr, text, sizeof text);
  } else if (a.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&a)->sin6_addr, text, sizeof text);
  }
  return text;
}

}  // namespace

bool configureServerTls(SSL_CTX& ctx) {
  SSL_CTX_set_options(&ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  return SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION) == 1 && SSL_CTX_set_cipher_list(&ctx, kTls12Ciphers) == 1 &&
         SSL_CTX_set_ciphersuites(&ctx, kTls13Suites) == 1;
}

ConnectionLimits ConnectionLimits::from(const Settings& s) {
  return {static_cast<std::size_t>(s.serverMaxWorkers), static_cast<std::size_t>(s.serverMaxConnectionsPerAddress),
          std::chrono::seconds(s.serverHeaderDeadlineSeconds), std::chrono::seconds(s.serverRequestDeadlineSeconds)};
}

// [SECTION] Connections

int ConnectionGuard::connectionIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, &ConnectionGuard::onFree);
  return index;
}

ConnectionGuard::ConnectionGuard(ConnectionLimits limits)
    : m_limits(limits), m_workers(std::make_shared<std::atomic<std::int64_t>>(0)), m_watchdog([this](std::stop_token st) { watch(st); }) {}

bool ConnectionGuard::attach(SSL_CTX& ctx) {
  if (SSL_CTX_set_ex_data(&ctx, contextIndex(), this) != 1) return false;
  SSL_CTX_set_info_callback(&ctx, &ConnectionGuard::onInfo);
  return true;
}

httplib::TaskQueue* ConnectionGuard::newTaskQueue() const { return new GrowingPool(m_limits.maxWorkers, m_workers); }

void ConnectionGuard::onInfo(const SSL* ssl, int where, int) {
  if ((where & SSL_CB_HANDSHAKE_START) == 0) return;
  auto* self = static_cast<ConnectionGuard*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), contextIndex()));
  if (self) self->opened(const_cast<SSL*>(ssl));
}

void ConnectionGuard::onFree(void* parent, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  // SSL_free runs this before httplib closes the socket: the descriptor is still ours here.
  if (ptr) static_cast<ConnectionGuard*>(ptr)->closed(static_cast<const SSL*>(parent));
}

void ConnectionGuard::opened(SSL* ssl) {
  const int fd = SSL_get_fd(ssl);
  if (fd < 0) return;
  std::string address = peerAddress(fd);
  std::lock_guard lock(m_mutex);
  if (m_connections.contains(ssl)) return;  // a second handshake on the same connection
  std::size_t& n = m_perAddress[address];
  if (n >= m_limits.maxPerAddress) {
    // Refused before its handshake goes on; never tracked, so onFree has nothing to forget.
    ++m_refusedOverCap;
    ::shutdown(fd, SHUT_RDWR);
    return;
  }
  ++n;
  Connection c;
  c.fd = fd;
  c.address = std::move(address);
  c.deadline = Clock::now() + m_limits.headerDeadline;
  m_connections.emplace(ssl, std::move(c));
  SSL_set_ex_data(ssl, connectionIndex(), this);
}

void ConnectionGuard::closed(const SSL* ssl) {
  std::lock_guard lock(m_mutex);
  const auto it = m_connections.find(ssl);
  if (it == m_connections.end()) return;
  const auto a = m_perAddress.find(it->second.address);
  if (a != m_perAddress.end() && --a->second == 0) m_perAddress.erase(a);
  m_connections.erase(it);
}

void ConnectionGuard::close(Connection& c) {
  if (c.closing) return;
  c.closing = true;
  // Under m_mutex, and the entry is erased (by onFree) before the socket is closed: never
  // another connection's descriptor. The blocked read or write returns and httplib ends it.
  ::shutdown(c.fd, SHUT_RDWR);
}

bool ConnectionGuard::headerRead(const httplib::Request& req, bool bodyLeftToHandler) {
  std::lock_guard lock(m_mutex);
  const auto it = m_connections.find(req.ssl);
  if (it == m_connections.end()) return true;
  Connection& c = it->second;
  if (c.closing || c.closeAfter) return false;
  const bool body = hasBody(req);
  c.bodyPending = body && bodyLeftToHandler;
  // Without a body the request is complete: the handler takes as long as it takes.
  c.deadline = body ? Clock::now() + m_limits.requestDeadline : Clock::time_point::max();
  return true;
}

void ConnectionGuard::bodyRead(const httplib::Request& req) {
  std::lock_guard lock(m_mutex);
  const auto it = m_connections.find(req.ssl);
  if (it == m_connections.end()) return;
  it->second.bodyPending = false;
  it->second.deadline = Clock::time_point::max();
}

void ConnectionGuard::handlerStarted(const httplib::Request& req) {
  std::lock_guard lock(m_mutex);
  const auto it = m_connections.find(req.ssl);
  // A content-reader route's body is still to come (bodyRead ends its deadline).
  if (it != m_connections.end() && !it->second.bodyPending) it->second.deadline = Clock::time_point::max();
}

void ConnectionGuard::closeAfterResponse(const httplib::Request& req) {
  std::lock_guard lock(m_mutex);
  const auto it = m_connections.find(req.ssl);
  if (it != m_connections.end()) it->second.closeAfter = true;
}

bool ConnectionGuard::closesAfterResponse(const httplib::Request& req) const {
  std::lock_guard lock(m_mutex);
  const auto it = m_connections.find(req.ssl);
  return it != m_connections.end() && (it->second.bodyPending || it->second.closeAfter);
}

void ConnectionGuard::responseWritten(const httplib::Request& req) {
  int fd = -1;
  {
    std::lock_guard lock(m_mutex);
    const auto it = m_connections.find(req.ssl);
    if (it == m_connections.end()) return;
    Connection& c = it->second;
    if (!c.bodyPending && !c.closeAfter) {
      c.deadline = Clock::now() + m_limits.headerDeadline;
      return;
    }
    // A body left unread would be parsed as the next request: the connection ends here.
    c.closing = true;
    fd = c.fd;
  }
  // This thread serves the connection, so its descriptor stays open until we return. The
  // answer is written: end our side, and read what the peer still sends for a moment (a
  // lingering close), so it gets to read the answer instead of a reset for unread data.
  ::shutdown(fd, SHUT_WR);
  const auto until = Clock::now() + kLinger;
  std::size_t drained = 0;
  char buf[16384];
  while (drained < kMaxLingerBytes) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) break;
    drained += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_RDWR);
}

ConnectionStats ConnectionGuard::stats() const {
  std::lock_guard lock(m_mutex);
  return {static_cast<std::int64_t>(m_connections.size()), m_workers->load(), m_closedByDeadline, m_refusedOverCap};
}

void ConnectionGuard::watch(std::stop_token stop) {
  std::unique_lock lock(m_mutex);
  while (!stop.stop_requested()) {
    // Deadlines are whole seconds: looking every 250 ms closes a connection at most that late.
    const auto now = Clock::now();
    const auto next = now + std::chrono::milliseconds(250);
    for (auto& [ssl, c] : m_connections) {
      if (c.closing) continue;
      if (c.deadline <= now) {
        ++m_closedByDeadline;
        close(c);
      }
    }
    m_wake.wait_until(lock, stop, next, [] { return false; });  // woken by the time, or by stop
  }
}

// [SECTION] Requests and responses

bool hasBody(const httplib::Request& req) {
  if (req.has_header("Transfer-Encoding")) return true;
  const std::string length = req.get_header_value("Content-Length");
  return !length.empty() && length.find_first_not_of('0') != std::string::npos;
}

std::optional<BodyRefusal> checkBody(const httplib::Request& req, bool streaming) {
  if (streaming || !hasBody(req)) return std::nullopt;
  const std::string encoding = req.get_header_value("Content-Encoding");
  if (!encoding.empty() && encoding != "identity") {
    return BodyRefusal{415, "Content-Encoding " + encoding + " is not accepted on " + req.path + ": send the body uncompressed"};
  }
  const std::string length = req.get_header_value("Content-Length");
  if (req.has_header("Transfer-Encoding") || length.empty()) {
    return BodyRefusal{411, "a body on " + req.path + " needs a Content-Length (no chunked transfer)"};
  }
  if (length.size() > 12 || length.find_first_not_of("0123456789") != std::string::npos ||
      std::stoull(length) > kMaxPlainBodyBytes) {
    return BodyRefusal{413, "the body of " + req.path + " is at most " + std::to_string(kMaxPlainBodyBytes) + " bytes"};
  }
  return std::nullopt;
}

void addSecurityHeaders(httplib::Response& res) {
  const auto set = [&](const char* name, const char* value, bool keep) {
    if (keep && res.has_header(name)) return;
    res.headers.erase(name);
    res.set_header(name, value);
  };
  set("Strict-Transport-Security", "max-age=31536000", false);
  set("X-Content-Type-Options", "nosniff", false);
  set("Referrer-Policy", "no-referrer", false);
  // API answers and error pages load nothing and are never framed; dashboard pages set theirs.
  set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'", true);
  set("X-Frame-Options", "DENY", true);
}

}  // namespace loyalty::hq
