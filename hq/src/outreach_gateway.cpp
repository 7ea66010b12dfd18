// The SMS/WeChat gateway adapter (HTTPS, configurable request) and the background sender
// (loyalty/hq/outreach.hpp, docs/outreach.md).
#include <httplib.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "loyalty/hq/local_time.hpp"
#include "loyalty/hq/outreach.hpp"
#include "loyalty/logging/logging.hpp"

namespace loyalty::hq {

using nlohmann::json;

namespace {

struct Address {
  std::string host;
  int port = 443;
  std::string path = "/";
};

std::optional<Address> parseAddress(const std::string& url) {
  if (!url.starts_with("https://")) return std::nullopt;
  Address a;
  std::string rest = url.substr(8);
  const std::size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    a.path = rest.substr(slash);
    rest = rest.substr(0, slash);
  }
  const std::size_t colon = rest.rfind(':');
  if (colon != std::string::npos && rest.find(']') == std::string::npos) {
    const std::string port = rest.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    a.port = std::stoi(port);
    rest = rest.substr(0, colon);
  }
  if (rest.empty() || a.port < 1 || a.port > 65535) return std::nullopt;
  a.host = rest;
  return a;
}

}  // namespace

GatewayReply postToGateway(const OutreachSettings& s, const OutgoingMessage& m) {
  using Outcome = GatewayReply::Outcome;
  const auto address = parseAddress(s.gatewayUrl);
  if (!address) return {Outcome::kRefused, "", "gateway_url is not an https:// address"};
  httplib::SSLClient client(address->host, address->port);
  client.enable_server_certificate_verification(true);
  if (!s.caFile.empty()) client.set_ca_cert_path(s.caFile.c_str());
  const auto timeout = std::chrono::milliseconds{s.timeoutMs};
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  if (s.auth == "bearer") client.set_bearer_token_auth(s.secret.c_str());
  if (s.auth == "basic") client.set_basic_auth(s.user.c_str(), s.secret.c_str());
  const httplib::Headers headers = {{"Idempotency-Key", m.messageId}};
  const auto res = client.Post(address->path.c_str(), headers, gatewayRequestBody(s.requestTemplate, m), "application/json");
  if (!res) return {Outcome::kRetry, "", "gateway unreachable: " + httplib::to_string(res.error())};
  const int status = res->status;
  if (status == 408 || status == 429 || status >= 500) return {Outcome::kRetry, "", "gateway answered " + std::to_string(status)};
  if (status < 200 || status >= 300) {
    return {Outcome::kRefused, "", "gateway refused (" + std::to_string(status) + "): " + res->body.substr(0, 200)};
  }
  if (s.idField.empty()) return {Outcome::kAccepted, "", ""};
  const auto body = json::parse(res->body, nullptr, false);
  try {
    const json::json_pointer p{s.idField};
    if (!body.is_discarded() && body.contains(p)) {
      const json& id = body.at(p);
      if (id.is_string() && !id.get<std::string>().empty()) return {Outcome::kAccepted, id.get<std::string>(), ""};
      if (id.is_number_integer()) return {Outcome::kAccepted, std::to_string(id.get<std::int64_t>()), ""};
    }
  } catch (const json::exception&) {
  }
  // Whether it was taken is unknown: sent again, with the same Idempotency-Key and message id.
  return {Outcome::kRetry, "", "unreadable gateway answer: " + res->body.substr(0, 100)};
}

// [SECTION] Background sender

struct OutreachJob::Impl {
  std::unique_ptr<SqlConnection> c;
  std::mutex mutex;
  std::condition_variable_any wake;
  std::jthread thread;
};

OutreachJob::OutreachJob(std::unique_ptr<SqlConnection> c, std::function<bool()> leading) : m_impl(std::make_unique<Impl>()) {
  m_impl->c = std::move(c);
  m_impl->thread = std::jthread([impl = m_impl.get(), leading = std::move(leading)](std::stop_token stop) {
    auto next = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    std::unique_lock lock(impl->mutex);
    while (!stop.stop_requested()) {
      impl->wake.wait_until(lock, stop, next, [] { return false; });
      if (stop.stop_requested()) break;
      std::int64_t interval = 60;
      if (leading && !leading()) {
        // Another instance sends; this one looks again soon, to take over if it leads by then.
        next = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        continue;
      }
      try {
        interval = outreachSettings(*impl->c).intervalSeconds;
        if (interval > 0) {
          const json done = runOutreach([&](const std::function<void(SqlConnection&)>& fn) { fn(*impl->c); }, nowSeconds());
          if (done["sent"].get<std::int64_t>() + done["failed"].get<std::int64_t>() + done["retrying"].get<std::int64_t>() > 0) {
            logging::log().info("outreach: {}", done.dump());
          }
        }
      } catch (const std::exception& e) {
        logging::log().error("outreach sender: {}", e.what());
      }
      next = std::chrono::steady_clock::now() + std::chrono::seconds(interval > 0 ? interval : 30);
    }
  });
}

OutreachJob::~OutreachJob() {
  m_impl->thread.request_stop();
  m_impl->wake.notify_all();
}

}  // namespace loyalty::hq
