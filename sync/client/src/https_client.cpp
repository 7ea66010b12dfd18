#include "loyalty/sync/client/https_client.hpp"

#include <curl/curl.h>

#include <mutex>
#include <stdexcept>

#include "loyalty/sync/client/backoff.hpp"
#include "loyalty/sync/client/gzip.hpp"
#include "loyalty/sync/codec.hpp"
#include "loyalty/sync/terminal_health.hpp"

namespace loyalty::sync {

namespace {

struct Sink {
  std::string body;
  bool tooLarge = false;
};

std::size_t writeBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t n = size * count;
  if (sink->body.size() + n > kMaxResponseBytes) {
    sink->tooLarge = true;
    return 0;  // makes curl fail the transfer with CURLE_WRITE_ERROR
  }
  sink->body.append(data, n);
  return n;
}

int progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* cancelled = static_cast<const std::function<bool()>*>(user);
  return (*cancelled && (*cancelled)()) ? 1 : 0;
}

void initCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool validBaseUrl(const std::string& url) {
  if (url.rfind("https://", 0) != 0 || url.size() <= 8) return false;
  const std::string rest = url.substr(8);
  return rest.find_first_of("/?# \t\r\n") == std::string::npos;
}

Failure curlFailure(CURLcode code, const char* errbuf, const std::string& url,
                    std::chrono::milliseconds total) {
  const std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(code);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return {FailureKind::kTimeout, 0, "", std::nullopt,
              "head office at " + url + " did not answer within " + std::to_string(total.count()) + " ms (" +
                  detail + ")"};
    case CURLE_PEER_FAILED_VERIFICATION:
      return {FailureKind::kTls, 0, "", std::nullopt,
              "head office at " + url + " is not trusted: " + detail +
                  " (this terminal trusts only the CA it was registered with)"};
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return {FailureKind::kTls, 0, "", std::nullopt,
              "head office at " + url + " presented a public key that does not match this terminal's pin"};
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_USE_SSL_FAILED:
      return {FailureKind::kTls, 0, "", std::nullopt,
              "TLS with head office at " + url + " failed: " + detail};
    case CURLE_ABORTED_BY_CALLBACK:
      return {FailureKind::kLocal, 0, "", std::nullopt, "request to head office cancelled (shutting down)"};
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_OUT_OF_MEMORY:
      return {FailureKind::kLocal, 0, "", std::nullopt,
              "cannot send to head office at " + url + ": " + detail};
    default:
      return {FailureKind::kUnreachable, 0, "", std::nullopt,
              "cannot reach head office at " + url + ": " + detail};
  }
}

}  // namespace

const char* toString(FailureKind kind) {
  switch (kind) {
    case FailureKind::kUnreachable:
      return "unreachable";
    case FailureKind::kTimeout:
      return "timeout";
    case FailureKind::kTls:
      return "tls";
    case FailureKind::kRefused:
      return "refused";
    case FailureKind::kBadResponse:
      return "bad_response";
    case FailureKind::kLocal:
      return "local";
  }
  return "unknown";
}

bool Failure::retryable() const {
  switch (kind) {
    case FailureKind::kUnreachable:
    case FailureKind::kTimeout:
    case FailureKind::kBadResponse:
      return true;
    case FailureKind::kRefused:
      return httpStatus == 408 || httpStatus == 429 || httpStatus >= 500;
    case FailureKind::kTls:
    case FailureKind::kLocal:
      return false;
  }
  return false;
}

void HttpsClient::CurlDeleter::operator()(void* handle) const {
  curl_easy_cleanup(static_cast<CURL*>(handle));
}

HttpsClient::HttpsClient(HqEndpoint endpoint, Timeouts timeouts,
                         std::function<std::chrono::system_clock::time_point()> now)
    : m_endpoint(std::move(endpoint)), m_timeouts(timeouts), m_now(std::move(now)) {
  while (!m_endpoint.baseUrl.empty() && m_endpoint.baseUrl.back() == '/') m_endpoint.baseUrl.pop_back();
  if (!validBaseUrl(m_endpoint.baseUrl)) {
    throw std::invalid_argument("hq: \"" + m_endpoint.baseUrl + "\" is not an https://HOST:PORT address");
  }
  if (m_endpoint.caPem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    throw std::invalid_argument("ca: not a PEM certificate (no BEGIN CERTIFICATE line)");
  }
  if (m_endpoint.pin && m_endpoint.pin->rfind("sha256//", 0) != 0) {
    throw std::invalid_argument("pin: a public-key pin looks like sha256//BASE64");
  }
  initCurlOnce();
  m_curl.reset(curl_easy_init());
  if (!m_curl) throw std::runtime_error("curl_easy_init failed");
}

HttpsClient::~HttpsClient() = default;

std::string HttpsClient::escape(std::string_view value) const {
  char* e = curl_easy_escape(static_cast<CURL*>(m_curl.get()), value.data(), static_cast<int>(value.size()));
  std::string out = e ? e : "";
  curl_free(e);
  return out;
}

Result<HttpResponse, Failure> HttpsClient::perform(const char* method, std::string_view path,
                                                   std::string_view body, bool gzip) {
  CURL* c = static_cast<CURL*>(m_curl.get());
  curl_easy_reset(c);  // keeps the live connection and TLS session for the next request
  const std::string url = m_endpoint.baseUrl + std::string(path);
  char errbuf[CURL_ERROR_SIZE] = {};
  Sink sink;
  std::string compressed;
  std::string auth;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  // Trust only the registered CA: the blob replaces the default CA file, CAPATH is cleared.
  curl_blob ca{const_cast<char*>(m_endpoint.caPem.data()), m_endpoint.caPem.size(), CURL_BLOB_COPY};
  curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
  curl_easy_setopt(c, CURLOPT_CAINFO, nullptr);
  curl_easy_setopt(c, CURLOPT_CAPATH, nullptr);
  if (m_endpoint.pin) curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, m_endpoint.pin->c_str());
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(m_timeouts.connect.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(m_timeouts.total.count()));
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, writeBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &m_cancelled);

  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Accept: application/json");
  for (const auto& line : m_extraHeaders) headers = curl_slist_append(headers, line.c_str());
  if (m_endpoint.token) {
    auth = "Authorization: Bearer " + *m_endpoint.token;
    headers = curl_slist_append(headers, auth.c_str());
    // The terminal's clock as the request leaves: head office's fleet page shows the skew.
    headers = curl_slist_append(headers, clockHeaderLine(std::chrono::floor<std::chrono::seconds>(m_now())).c_str());
  }
  if (std::string_view(method) == "POST") {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    if (gzip) {
      compressed = gzipCompress(body);
      body = compressed;
      headers = curl_slist_append(headers, "Content-Encoding: gzip");
    }
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  } else if (std::string_view(method) != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);

  if (m_cancelled && m_cancelled()) {
    curl_slist_free_all(headers);
    return curlFailure(CURLE_ABORTED_BY_CALLBACK, errbuf, m_endpoint.baseUrl, m_timeouts.total);
  }
  const CURLcode rc = curl_easy_perform(c);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    if (sink.tooLarge) {
      return Failure{
          FailureKind::kBadResponse, 0, "", std::nullopt,
          "head office sent more than 64 MiB in answer to " + std::string(method) + " " + std::string(path)};
    }
    return curlFailure(rc, errbuf, m_endpoint.baseUrl, m_timeouts.total);
  }
  HttpResponse r;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  char* type = nullptr;
  curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
  if (type) r.contentType = type;
  curl_header* h = nullptr;
  if (curl_easy_header(c, "Retry-After", 0, CURLH_HEADER, -1, &h) == CURLHE_OK && h) r.retryAfter = h->value;
  if (curl_easy_header(c, header::kHeadOfficeClock, 0, CURLH_HEADER, -1, &h) == CURLHE_OK && h) {
    if (auto ahead = clockAheadOf(std::string(h->value), std::chrono::floor<std::chrono::seconds>(m_now()))) m_clockAhead = ahead;
  }
  r.body = std::move(sink.body);
  return r;
}

Result<HttpResponse, Failure> HttpsClient::get(std::string_view pathAndQuery) {
  return perform("GET", pathAndQuery, {}, false);
}

Result<HttpResponse, Failure> HttpsClient::post(std::string_view path, std::string_view json, bool gzip) {
  return perform("POST", path, json, gzip);
}

Result<HttpResponse, Failure> HttpsClient::del(std::string_view path) {
  return perform("DELETE", path, {}, false);
}

Result<nlohmann::json, Failure> HttpsClient::asJson(const char* method, std::string_view path,
                                                    Result<HttpResponse, Failure> r) {
  if (!r) return r.error();
  const HttpResponse& resp = r.value();
  const std::string what = std::string(method) + " " + std::string(path.substr(0, path.find('?')));
  // Bounded in depth like every JSON text (a refused text reads as no JSON object at all).
  auto parsed = parseJson(resp.body, kMaxResponseBytes);
  nlohmann::json body = parsed ? std::move(*parsed) : nlohmann::json();
  if (resp.status < 200 || resp.status > 299) {
    Failure f{FailureKind::kRefused, resp.status, "", std::nullopt, ""};
    if (resp.retryAfter) f.retryAfter = parseRetryAfter(*resp.retryAfter, m_now());
    std::string detail, title;
    if (body.is_object()) {
      if (body.contains("type") && body["type"].is_string()) {
        const std::string type = body["type"];
        const auto slash = type.rfind('/');
        f.problemCode = slash == std::string::npos ? type : type.substr(slash + 1);
      }
      if (body.contains("detail") && body["detail"].is_string()) detail = body["detail"];
      if (body.contains("title") && body["title"].is_string()) title = body["title"];
    }
    if (detail.empty()) detail = title.empty() ? "no detail given" : title;
    f.message = "head office refused " + what + " (" + std::to_string(resp.status) +
                (f.problemCode.empty() ? "" : " " + f.problemCode) + "): " + detail;
    return f;
  }
  if (!body.is_object()) {
    return Failure{FailureKind::kBadResponse, resp.status, "", std::nullopt,
                   "head office answered " + what + " with something that is not a JSON object"};
  }
  return body;
}

Result<nlohmann::json, Failure> HttpsClient::getJson(std::string_view pathAndQuery) {
  return asJson("GET", pathAndQuery, get(pathAndQuery));
}

Result<nlohmann::json, Failure> HttpsClient::postJson(std::string_view path, const nlohmann::json& body,
                                                      bool gzip) {
  return asJson("POST", path,
                post(path, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), gzip));
}

}  // namespace loyalty::sync
