#pragma once
/// @brief HTTPS to head office over libcurl: trusts only the registered CA, optional key pin,
/// bearer token, timeouts, and problem+json errors turned into sentences.

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loyalty/core/result.hpp"

namespace loyalty::sync {

/// Why a request to head office did not succeed.
enum class FailureKind {
  kUnreachable,  ///< no connection, or the connection broke before an answer (lost response)
  kTimeout,      ///< no complete answer within the time allowed
  kTls,          ///< certificate not trusted, wrong host name, expired, pin mismatch, handshake
  kRefused,      ///< HQ answered with an error status (problem+json)
  kBadResponse,  ///< HQ answered 2xx with a body that is not what the protocol says
  kLocal,        ///< this terminal's own set-up (bad URL, CA file, curl init)
};

const char* toString(FailureKind kind);

struct Failure {
  FailureKind kind = FailureKind::kLocal;
  long httpStatus = 0;                                  ///< for kRefused
  std::string problemCode;                              ///< "unauthenticated", ... for kRefused
  std::optional<std::chrono::milliseconds> retryAfter;  ///< from a 429/503
  std::string message;                                  ///< a full sentence for logs and the UI

  /// Worth trying again later without anyone changing anything.
  bool retryable() const;
};

/// Where head office is and how this terminal proves who it is.
struct HqEndpoint {
  std::string baseUrl;               ///< "https://host:port" (no path)
  std::string caPem;                 ///< the only CA trusted (PEM text)
  std::optional<std::string> pin;    ///< "sha256//<base64>" of HQ's public key
  std::optional<std::string> token;  ///< bearer token bound to this terminal
};

struct Timeouts {
  std::chrono::milliseconds connect{5000};
  std::chrono::milliseconds total{60000};
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::string contentType;
  std::optional<std::string> retryAfter;
};

/// One keep-alive connection to head office. Not thread-safe: one client per thread.
class HttpsClient {
 public:
  /// Throws std::invalid_argument for a URL that is not https://host[:port] or a CA that is not
  /// PEM. `now` is used to read Retry-After dates.
  explicit HttpsClient(
      HqEndpoint endpoint, Timeouts timeouts = {},
      std::function<std::chrono::system_clock::time_point()> now = std::chrono::system_clock::now);
  ~HttpsClient();
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  /// Aborts transfers in flight (checked about every second, and at once when a transfer
  /// starts) while `cancelled()` returns true.
  void setCancel(std::function<bool()> cancelled) { m_cancelled = std::move(cancelled); }
  void setTimeouts(Timeouts timeouts) { m_timeouts = timeouts; }
  /// Extra "Name: value" header lines sent with every request from now on (the terminal's
  /// report: version, update state, backlog; docs/sync-protocol.md).
  void setExtraHeaders(std::vector<std::string> lines) { m_extraHeaders = std::move(lines); }

  Result<HttpResponse, Failure> get(std::string_view pathAndQuery);
  Result<HttpResponse, Failure> post(std::string_view path, std::string_view json, bool gzip);
  Result<HttpResponse, Failure> del(std::string_view path);

  /// The same, but a non-2xx answer is a kRefused Failure (its problem+json detail in the
  /// message) and a 2xx body must be a JSON object.
  Result<nlohmann::json, Failure> getJson(std::string_view pathAndQuery);
  Result<nlohmann::json, Failure> postJson(std::string_view path, const nlohmann::json& body, bool gzip);

  /// What getJson/postJson do with an answer: non-2xx becomes a kRefused Failure, a 2xx body
  /// must be a JSON object. `method` and `path` only name the request in messages.
  Result<nlohmann::json, Failure> asJson(const char* method, std::string_view path,
                                         Result<HttpResponse, Failure> response);

  /// Percent-encodes a query parameter value.
  std::string escape(std::string_view value) const;
  const HqEndpoint& endpoint() const { return m_endpoint; }
  /// How far this terminal's clock was ahead of head office's (negative: behind) at head
  /// office's last answer that said its clock; nullopt before one.
  std::optional<std::chrono::seconds> clockAhead() const { return m_clockAhead; }

 private:
  struct CurlDeleter {
    void operator()(void* handle) const;
  };
  Result<HttpResponse, Failure> perform(const char* method, std::string_view path, std::string_view body,
                                        bool gzip);

  HqEndpoint m_endpoint;
  Timeouts m_timeouts;
  std::function<std::chrono::system_clock::time_point()> m_now;
  std::function<bool()> m_cancelled;
  std::vector<std::string> m_extraHeaders;
  std::optional<std::chrono::seconds> m_clockAhead;
  std::unique_ptr<void, CurlDeleter> m_curl;
};

}  // namespace loyalty::sync
