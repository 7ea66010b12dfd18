// Head office's HTTP surface under abuse, on the real loyalty-hq over loopback: JSON depth,
// compressed and chunked bodies, idle and slow connections, the per-address cap, TLS suites,
// security headers, /metrics credentials, CSRF on cookie writes, encoded complaint ids, and
// throttled sign-ins and bearer tokens.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>

#include <cstdlib>
#include <fstream>
#include <future>
#include <regex>

#include "support/hq_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;
using namespace std::chrono_literals;

#define HQ_BACKENDS SqliteBackend, PostgresBackend

namespace {

/// Appends settings to the instance's hq.toml (before start()).
void appendSettings(HqInstance& hq, const std::string& toml) { std::ofstream(hq.dataDir() + "/hq.toml", std::ios::app) << "\n" << toml; }

/// A TLS connection made by hand, for what httplib's client does not do: offer chosen suites,
/// drip bytes, read until the server closes.
class RawTls {
 public:
  explicit RawTls(int port, const char* ciphers = nullptr, int maxVersion = 0) {
    m_ctx = SSL_CTX_new(TLS_client_method());
    if (ciphers) SSL_CTX_set_cipher_list(m_ctx, ciphers);
    if (maxVersion) SSL_CTX_set_max_proto_version(m_ctx, maxVersion);
    m_fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    REQUIRE(connect(m_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    timeval tv{10, 0};
    setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(m_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    m_ssl = SSL_new(m_ctx);
    SSL_set_fd(m_ssl, m_fd);
  }
  ~RawTls() {
    SSL_free(m_ssl);
    SSL_CTX_free(m_ctx);
    close(m_fd);
  }
  RawTls(const RawTls&) = delete;
  RawTls& operator=(const RawTls&) = delete;

  bool handshake() {
    const bool ok = SSL_connect(m_ssl) == 1;
    ERR_clear_error();
    return ok;
  }
  std::string cipher() const { return SSL_get_cipher_name(m_ssl); }
  bool send(const std::string& data) { return SSL_write(m_ssl, data.data(), static_cast<int>(data.size())) > 0; }
  /// True once the server has closed the connection (without waiting if it has not).
  bool closedByServer() {
    pollfd p{m_fd, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) return false;
    char c;
    const int n = SSL_read(m_ssl, &c, 1);
    ERR_clear_error();
    return n <= 0;
  }
  /// Everything the server sends until it closes the connection.
  std::string readToEnd() {
    std::string out;
    char buf[4096];
    for (;;) {
      const int n = SSL_read(m_ssl, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    ERR_clear_error();
    return out;
  }

 private:
  SSL_CTX* m_ctx = nullptr;
  SSL* m_ssl = nullptr;
  int m_fd = -1;
};

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

/// One value of /metrics (read with the admin token).
std::int64_t metric(HqInstance& hq, const std::string& name) {
  auto r = hq.client()->Get("/metrics", bearer(hq.adminToken()));
  REQUIRE(r);
  REQUIRE(r->status == 200);
  std::smatch m;
  REQUIRE(std::regex_search(r->body, m, std::regex("\n" + name + " ([0-9]+)\n")));
  return std::stoll(m[1]);
}

/// The server's peak resident memory in KiB (VmHWM).
std::int64_t peakMemoryKiB(HqInstance& hq) {
  std::ifstream status("/proc/" + std::to_string(hq.process().pid()) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  FAIL("no VmHWM");
  return 0;
}

void addUser(HqInstance& hq, const std::string& name, const std::string& role, const std::string& password) {
  REQUIRE(runCommand({"/bin/sh", "-c", "echo '" + password + "' | '" + hqBinary() + "' user set --data '" + hq.dataDir() +
                                           "' --name " + name + " --role " + role})
              .first == 0);
}


/// Posts the sign-in form as a browser would (login page, its CSRF cookie and field).
httplib::Result signIn(httplib::SSLClient& c, const std::string& user, const std::string& password) {
  auto page = c.Get("/dashboard/login");
  REQUIRE(page);
  REQUIRE(page->status == 200);
  const httplib::Headers cookie = {{"Cookie", "lhq_login_csrf=" + setCookieValue(page, "lhq_login_csrf")}};
  return c.Post("/dashboard/login", cookie,
                "csrf=" + hiddenCsrf(page->body) + "&user=" + httplib::detail::encode_query_param(user) +
                    "&password=" + httplib::detail::encode_query_param(password),
                "application/x-www-form-urlencoded");
}

/// gzip of `megabytes` MiB of zeros (about 1 KiB per MiB).
std::string gzipBomb(std::size_t megabytes) {
  const std::string zeros(1024 * 1024, '\0');
  std::string out;
  httplib::detail::gzip_compressor gz;
  for (std::size_t i = 0; i < megabytes; ++i) {
    REQUIRE(gz.compress(zeros.data(), zeros.size(), i + 1 == megabytes, [&](const char* d, std::size_t n) {
      out.append(d, n);
      return true;
    }));
  }
  return out;
}

}  // namespace

TEST_CASE("HTTP: JSON nesting deeper than 64 levels is refused before it is parsed, stored or dumped", "[hq][http]") {
  HqInstance hq("sqlite");
  hq.start();
  const std::string tok = hq.registerTerminal("S1", "T1");
  const auto upload = [&](const std::string& payload) {
    return hq.client()->Post("/api/v1/events", bearer(tok),
                             R"({"terminal_id":"T1","events":[{"event_id":"T1-e1","seq":1,"type":"x.unknown",)"
                             R"("at":"2026-11-23T08:00:00Z","payload":)" + payload + "}]}",
                             "application/json");
  };
  // One event of a type head office does not know, its payload 100,000 arrays deep (~200 KB).
  auto deep = upload(R"({"a":)" + std::string(100000, '[') + std::string(100000, ']') + "}");
  REQUIRE(deep);  // today's main died here (SIGSEGV in the recursion of payload.dump())
  INFO(deep->body);
  CHECK(deep->status == 400);
  CHECK(deep->get_header_value("Content-Type") == "application/problem+json");
  CHECK(json::parse(deep->body).at("detail").get<std::string>().find("64") != std::string::npos);

  // The dashboard's JSON bodies go through the same check.
  auto complaint = hq.client()->Post("/api/v1/complaints", bearer(hq.adminToken()),
                                     R"({"complaint_id":"X","description":)" + std::string(5000, '[') + std::string(5000, ']') + "}",
                                     "application/json");
  REQUIRE(complaint);
  CHECK(complaint->status == 400);

  // 64 levels in all (body, events, event, payload and 60 arrays) are stored and served.
  auto fits = upload(R"({"a":)" + std::string(60, '[') + std::string(60, ']') + "}");
  REQUIRE(fits);
  INFO(fits->body);
  CHECK(fits->status == 200);
  CHECK(json::parse(fits->body).at("results").at(0).at("status") == "applied");
  CHECK(getJsonChecked(hq, "/healthz") == json{{"status", "ok"}});
}

TEST_CASE("HTTP: gzip bombs on the sign-in form and the upload route leave memory small, and unread bodies close the connection",
          "[hq][http]") {
  HqInstance hq("sqlite");
  hq.start();
  const std::string tok = hq.registerTerminal("S1", "T1");
  const std::string bomb = gzipBomb(512);  // 512 MiB inflated
  CHECK(bomb.size() < 1024 * 1024);
  httplib::Headers gz = {{"Content-Encoding", "gzip"}};

  // No sign-in needed: a form route takes no compressed body at all.
  auto login = hq.client()->Post("/dashboard/login", gz, bomb, "application/x-www-form-urlencoded");
  REQUIRE(login);
  CHECK(login->status == 415);
  // The upload route inflates, but stops at 8 MiB; refused credentials do not inflate at all.
  gz.emplace("Authorization", "Bearer " + tok);
  auto events = hq.client()->Post("/api/v1/events", gz, bomb, "application/json");
  REQUIRE(events);
  CHECK(events->status == 413);
  httplib::Headers wrongToken = {{"Content-Encoding", "gzip"}, {"Authorization", "Bearer nope"}};
  auto refused = hq.client()->Post("/api/v1/events", wrongToken, bomb, "application/json");
  REQUIRE(refused);
  CHECK(refused->status == 401);
  // A protocol path with the method it has no handler for is a form route: no gzip, nothing inflated.
  auto otherMethod = hq.client()->Put("/api/v1/events", gz, bomb, "application/json");
  REQUIRE(otherMethod);
  CHECK(otherMethod->status == 415);
  httplib::Headers gzNoToken = {{"Content-Encoding", "gzip"}};
  auto configPost = hq.client()->Post("/api/v1/admin/config", gzNoToken, bomb, "application/json");
  REQUIRE(configPost);
  CHECK(configPost->status == 415);
  // Before the guard: over 1 GiB. A sanitized server keeps freed memory in AddressSanitizer's
  // quarantine (up to 256 MiB) and its shadow on top, so it gets that much more room.
  const std::int64_t capKiB = (std::getenv("LOYALTY_SANITIZED") ? 600 : 200) * 1024;
  CHECK(peakMemoryKiB(hq) < capKiB);
  CHECK(getJsonChecked(hq, "/healthz").at("status") == "ok");

  // A form body must say how long it is, and be short.
  auto big = hq.client()->Post("/dashboard/login", std::string(100 * 1024, 'a'), "application/x-www-form-urlencoded");
  REQUIRE(big);
  CHECK(big->status == 413);
  {
    RawTls t(hq.port());
    REQUIRE(t.handshake());
    REQUIRE(t.send("POST /dashboard/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                   "Content-Type: application/x-www-form-urlencoded\r\n\r\n5\r\nuser=\r\n0\r\n\r\n"));
    const std::string answer = t.readToEnd();
    CHECK(answer.rfind("HTTP/1.1 411", 0) == 0);
  }
  // A refused body is never read, and never read as the next request either: the connection
  // ends after the answer.
  {
    RawTls t(hq.port());
    REQUIRE(t.handshake());
    const std::string smuggled = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    REQUIRE(t.send("POST /dashboard/login HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: " +
                   std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled));
    const std::string answer = t.readToEnd();
    CHECK(answer.rfind("HTTP/1.1 415", 0) == 0);
    CHECK(count(answer, "HTTP/1.1 ") == 1);
  }
  {
    RawTls t(hq.port());
    REQUIRE(t.handshake());
    const std::string smuggled = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    REQUIRE(t.send("POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\nContent-Length: " +
                   std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled));
    const std::string answer = t.readToEnd();
    CHECK(answer.rfind("HTTP/1.1 401", 0) == 0);
    CHECK(count(answer, "HTTP/1.1 ") == 1);
  }
}

TEST_CASE("HTTP: forty idle connections do not keep /healthz from answering", "[hq][http]") {
  HqInstance hq("sqlite");
  hq.start();
  std::vector<int> idle;
  for (int i = 0; i < 40; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(hq.port()));
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    idle.push_back(fd);
  }
  auto c = hq.client();
  c->set_connection_timeout(5s);
  c->set_read_timeout(5s);
  c->set_write_timeout(5s);
  auto r = c->Get("/healthz");  // today's main: the handshake timed out after 30 s
  REQUIRE(r);
  CHECK(r->status == 200);
  for (const int fd : idle) close(fd);
}

TEST_CASE("HTTP: a connection dripping its request header is closed at the header deadline", "[hq][http]") {
  HqInstance hq("sqlite");
  appendSettings(hq, "[server]\nheader_deadline_seconds = 2\n");
  hq.start();
  RawTls t(hq.port());
  REQUIRE(t.handshake());
  REQUIRE(t.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "));
  // One byte every 200 ms: each read is far inside the server's read timeout.
  bool closed = false;
  for (int i = 0; i < 75 && !closed; ++i) {
    std::this_thread::sleep_for(200ms);
    closed = t.closedByServer() || !t.send("a");
  }
  CHECK(closed);
  CHECK(metric(hq, "loyalty_hq_connections_closed_by_deadline_total") >= 1);
  CHECK(getJsonChecked(hq, "/healthz").at("status") == "ok");
}

TEST_CASE("HTTP: connections over the per-address cap are closed at once, and the address is served again when they go",
          "[hq][http]") {
  HqInstance hq("sqlite");
  appendSettings(hq, "[server]\nmax_connections_per_address = 3\nheader_deadline_seconds = 60\n");
  hq.start();
  std::vector<std::unique_ptr<httplib::SSLClient>> held;
  for (int i = 0; i < 3; ++i) {
    auto c = hq.client();
    c->set_keep_alive(true);  // the connection stays open after its answer
    auto r = c->Get("/healthz");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    held.push_back(std::move(c));
  }
  auto extra = hq.client();
  extra->set_connection_timeout(5s);
  extra->set_read_timeout(5s);
  CHECK_FALSE(extra->Get("/healthz"));  // closed during its handshake, not after a timeout
  held.clear();
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    auto r = hq.client()->Get("/healthz");
    served = r && r->status == 200;
    if (!served) std::this_thread::sleep_for(100ms);
  }
  CHECK(served);
  CHECK(metric(hq, "loyalty_hq_connections_refused_over_cap_total") >= 1);
}

TEST_CASE("HTTP: TLS 1.2 only with ECDHE and AEAD suites, TLS 1.3 allowed", "[hq][http]") {
  HqInstance hq("sqlite");
  hq.start();
  for (const char* cbcOrRsa : {"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-ECDSA-AES128-SHA256", "AES128-SHA",
                               "AES128-GCM-SHA256"}) {
    INFO(cbcOrRsa);
    RawTls t(hq.port(), cbcOrRsa, TLS1_2_VERSION);
    CHECK_FALSE(t.handshake());
  }
  for (const char* aead : {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"}) {
    INFO(aead);
    RawTls t(hq.port(), aead, TLS1_2_VERSION);
    REQUIRE(t.handshake());
    CHECK(t.cipher() == aead);
  }
  RawTls tls13(hq.port());
  CHECK(tls13.handshake());
}

TEST_CASE("HTTP: HSTS and nosniff on every response, CSP and frame options on pages", "[hq][http]") {
  HqInstance hq("sqlite");
  hq.start();
  auto c = hq.client();
  const auto secured = [](const httplib::Result& r) {
    REQUIRE(r);
    INFO(r->status);
    CHECK(r->get_header_value("Strict-Transport-Security").rfind("max-age=", 0) == 0);
    CHECK(r->get_header_value("X-Content-Type-Options") == "nosniff");
    CHECK(r->get_header_value_count("Content-Security-Policy") == 1);
    CHECK(r->get_header_value("X-Frame-Options") == "DENY");
  };
  secured(c->Get("/healthz"));
  secured(c->Get("/api/v1/changes"));                                // 401 problem
  secured(c->Get("/api/v1/reports/summary", bearer(hq.adminToken())));  // API answer
  secured(c->Get("/no/such/thing"));                                 // 404 from the router
  secured(c->Get("/dashboard"));                                     // redirect to sign-in
  auto page = c->Get("/dashboard/login");
  secured(page);
  CHECK(page->get_header_value("Content-Security-Policy").find("default-src 'self'") != std::string::npos);
  secured(c->Post("/dashboard/login", "user=a", "application/x-www-form-urlencoded"));  // 403 page, no CSRF
}

TEST_CASE("HTTP: /metrics needs an admin token, /healthz says ok and nothing else", "[hq][http]") {
  HqInstance hq("sqlite");
  hq.start();
  auto none = hq.client()->Get("/metrics");
  REQUIRE(none);
  CHECK(none->status == 401);
  const std::string analyst = hq.cli({"token", "create", "--data", hq.dataDir(), "--role", "analyst"});
  CHECK(hq.client()->Get("/metrics", bearer(analyst))->status == 403);
  CHECK(metric(hq, "loyalty_hq_connections") >= 1);
  auto health = hq.client()->Get("/healthz");
  REQUIRE(health);
  CHECK(json::parse(health->body) == json{{"status", "ok"}});
}

TEST_CASE("HTTP: a change made with a session cookie needs the session's CSRF token", "[hq][http]") {
  HqInstance hq("sqlite");
  addUser(hq, "ana", "admin", "admin-password-1");
  hq.start();
  auto c = hq.client();
  auto in = signIn(*c, "ana", "admin-password-1");
  REQUIRE(in);
  REQUIRE(in->status == 303);
  const httplib::Headers session = {{"Cookie", "lhq_session=" + setCookieValue(in, "lhq_session")}};
  auto overview = c->Get("/dashboard", session);
  REQUIRE(overview->status == 200);
  const std::string csrf = hiddenCsrf(overview->body);
  const std::string body = json{{"complaint_id", "HQ-1"}, {"category", "billing"}, {"description", "charged twice"}}.dump();

  auto forged = c->Post("/api/v1/complaints", session, body, "application/json");
  REQUIRE(forged);
  CHECK(forged->status == 403);  // today's main: 201
  CHECK(c->Post("/api/v1/dashboard/tickets", session, "{}", "application/json")->status == 403);
  httplib::Headers withToken = session;
  withToken.emplace("X-CSRF-Token", csrf);
  CHECK(c->Post("/api/v1/complaints", withToken, body, "application/json")->status == 201);
  // Bearer tokens need no CSRF token (a browser never sends one on its own).
  CHECK(c->Post("/api/v1/complaints/HQ-1", bearer(hq.adminToken()), R"({"step":"acknowledged"})", "application/json")->status == 200);
}

TEST_CASE("HTTP: a complaint id from a terminal is URL-encoded in the form action and HTML-escaped", "[hq][http]") {
  HqInstance hq("sqlite");
  addUser(hq, "ana", "admin", "admin-password-1");
  hq.start();
  const std::string tok = hq.registerTerminal("S1", "T1");
  const std::string id = R"(C-1"><script>alert(1)</script>/../x?y#z)";
  const json filed = {{"event_id", "T1-e1"}, {"seq", 1}, {"type", "complaint.filed"}, {"at", "2026-11-23T08:00:00Z"},
                      {"payload", {{"complaint_id", id}, {"member_id", nullptr}, {"category", "service"},
                                   {"description", "<b>pump</b>"}, {"staff_id", nullptr}, {"store_id", "S1"}, {"terminal_id", "T1"}}}};
  auto up = hq.client()->Post("/api/v1/events", bearer(tok), batch("T1", {filed}).dump(), "application/json");
  REQUIRE(up);
  REQUIRE(up->status == 200);
  REQUIRE(json::parse(up->body)["results"][0]["status"] == "applied");

  auto c = hq.client();
  auto in = signIn(*c, "ana", "admin-password-1");
  const httplib::Headers session = {{"Cookie", "lhq_session=" + setCookieValue(in, "lhq_session")}};
  auto page = c->Get("/dashboard/complaints", session);
  REQUIRE(page);
  REQUIRE(page->status == 200);
  const std::string action = "/dashboard/complaints/C-1%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E%2F..%2Fx%3Fy%23z";
  CHECK(page->body.find("action=\"" + action + "\"") != std::string::npos);
  CHECK(page->body.find("<script>") == std::string::npos);
  CHECK(page->body.find("<b>pump") == std::string::npos);
  // The encoded action reaches that complaint and no other route.
  auto moved = c->Post(action, session, "csrf=" + hiddenCsrf(page->body) + "&step=acknowledged", "application/x-www-form-urlencoded");
  REQUIRE(moved);
  CHECK(moved->status == 303);
  const json report = getJsonChecked(hq, "/api/v1/reports/complaints");
  REQUIRE(report.at("rows").size() == 1);
  CHECK(report["rows"][0]["complaint_id"] == id);
  CHECK(report["rows"][0]["step"] == "acknowledged");
}

TEMPLATE_TEST_CASE("HTTP: failed sign-ins are throttled per account, shared by instances on one database, and audited",
                   "[hq][http]", HQ_BACKENDS) {
  HqInstance hq(TestType::kName);
  // Long enough for the 30 attempts below on a busy machine, short enough to wait out.
  appendSettings(hq, "[signin]\nmax_failures_per_account = 3\nlockout_seconds = 6\n");
  addUser(hq, "ana", "analyst", "analyst-password-1");
  hq.start();
  // A second head office on the same storage.
  const int otherPort = freePort();
  ChildProcess other({hqBinary(), "serve", "--data", hq.dataDir(), "--listen", "127.0.0.1:" + std::to_string(otherPort)},
                     Stderr::kInherit);
  REQUIRE(other.readLine(30s));
  httplib::SSLClient second("127.0.0.1", otherPort);
  second.set_ca_cert_path(hq.caFile().c_str());
  second.enable_server_certificate_verification(true);

  auto c = hq.client();
  std::string retryAfter;
  for (int i = 1; i <= 30; ++i) {
    auto r = signIn(*c, "ana", "wrong-password-" + std::to_string(i));
    REQUIRE(r);
    INFO("attempt " << i);
    if (i < 3) {
      CHECK(r->status == 303);
      CHECK(r->get_header_value("Location") == "/dashboard/login?failed=1");
    } else {
      CHECK(r->status == 429);  // today's main: 303 every time
      retryAfter = r->get_header_value("Retry-After");
      CHECK(r->body.find("data-retry-after") != std::string::npos);
    }
  }
  REQUIRE(!retryAfter.empty());
  CHECK(std::stoi(retryAfter) >= 1);
  CHECK(std::stoi(retryAfter) <= 6);
  // Locked: the right password is refused too, here and on the other instance.
  CHECK(signIn(*c, "ana", "analyst-password-1")->status == 429);
  auto elsewhere = signIn(second, "ana", "analyst-password-1");
  CHECK(elsewhere->status == 429);
  // After the window the right password signs in.
  std::this_thread::sleep_for(std::chrono::seconds(std::stoi(elsewhere->get_header_value("Retry-After")) + 1));
  auto in = signIn(*c, "ana", "analyst-password-1");
  REQUIRE(in);
  CHECK(in->status == 303);
  CHECK(in->get_header_value("Location") == "/dashboard");
  CHECK_FALSE(setCookieValue(in, "lhq_session").empty());

  const auto rows = hq.sql()->query("SELECT actor, action, subject, detail FROM audit_log WHERE action LIKE 'signin%' ORDER BY entry_no");
  REQUIRE(rows.size() >= 3);
  CHECK(rows.text(0, 0) == "address:127.0.0.1");
  CHECK(rows.text(0, 1) == "signin.failed");
  CHECK(rows.text(0, 2) == "ana");
  CHECK(rows.text(0, 3) == "wrong password");
  CHECK(rows.text(rows.size() - 1, 0) == "user:ana");
  CHECK(rows.text(rows.size() - 1, 1) == "signin");
  CHECK(rows.text(rows.size() - 1, 2) == "ana");
  other.killHard();
}

TEST_CASE("HTTP: on PostgreSQL sign-ins, failed credentials, audited reads and member searches do not wait for uploads",
          "[hq][http]") {
  HqInstance hq("postgresql");
  addUser(hq, "ana", "admin", "admin-password-1");
  hq.start();
  const std::string tok = hq.registerTerminal("S1", "T1");
  uploadApplied(hq, tok, "T1", json::array({enrolEvent("T1", "S1", 1, "M1")}));
  auto look = hq.sql();
  const auto count = [&](const std::string& sql) { return look->query(sql).integer(0, 0); };
  const std::int64_t failuresBefore = count("SELECT COUNT(*) FROM auth_failures");

  // An upload elsewhere (another instance's batch) holds the store-wide writer lock meanwhile.
  auto other = hq.sql();
  other->beginWrite();
  auto done = std::async(std::launch::async, [&] {
    std::vector<int> out;
    auto c = hq.client();
    const auto code = [&](const httplib::Result& r) { return r ? r->status : -1; };
    out.push_back(code(c->Get("/api/v1/changes", bearer("not-a-token"))));  // counted (Throttle::failed)
    out.push_back(code(signIn(*c, "ana", "wrong-password-1")));                // counted and audited
    out.push_back(code(signIn(*c, "ana", "admin-password-1")));                // a session, audited
    out.push_back(code(c->Get("/api/v1/members/M1", bearer(hq.adminToken()))));  // an audited read
    // Looks for counter complaints to import first (none), then an audited export.
    out.push_back(code(c->Get("/api/v1/members/M1/export", bearer(hq.adminToken()))));
    auto ticket = c->Post("/api/v1/dashboard/tickets", bearer(hq.adminToken()), "", "application/json");
    out.push_back(code(ticket));
    if (ticket && ticket->status == 201) {
      out.push_back(code(c->Get(json::parse(ticket->body).at("url").get<std::string>())));  // taken, a session
    }
    // Brings the search keys up to M1's enrolment first (written here), then finds M1.
    auto found = c->Get("/api/v1/members?q=li%20m", bearer(hq.adminToken()));
    out.push_back(code(found));
    if (found && found->status == 200) out.push_back(json::parse(found->body).at("total").get<int>());
    return out;
  });
  const bool finished = done.wait_for(60s) == std::future_status::ready;
  other->rollback();
  REQUIRE(finished);  // before: each of them waited for the lock
  CHECK(done.get() == std::vector<int>{401, 303, 303, 200, 200, 201, 303, 200, 1});
  // The bad token and the wrong password, both from this address.
  CHECK(count("SELECT COUNT(*) FROM auth_failures") > failuresBefore);
  CHECK(count("SELECT failures FROM auth_failures WHERE throttle_key = 'address:127.0.0.1'") == 2);
  CHECK(count("SELECT COUNT(*) FROM dashboard_sessions") == 2);
  CHECK(count("SELECT COUNT(*) FROM dashboard_tickets WHERE used_at IS NOT NULL") == 1);
  CHECK(count("SELECT COUNT(*) FROM audit_log WHERE action = 'signin.failed'") == 1);
  CHECK(count("SELECT COUNT(*) FROM audit_log WHERE action = 'signin'") == 2);
  CHECK(count("SELECT COUNT(*) FROM audit_log WHERE subject = 'M1'") == 2);
  CHECK(count("SELECT COUNT(*) FROM member_search_keys WHERE member_id = 'M1'") > 0);
}

TEST_CASE("HTTP: unknown and known user names go through the same password verification", "[hq][http]") {
  HqInstance hq("sqlite");
  addUser(hq, "ana", "analyst", "analyst-password-1");
  hq.start();
  auto c = hq.client();
  const std::int64_t before = metric(hq, "loyalty_hq_password_verifications_total");
  CHECK(signIn(*c, "ana", "wrong-password")->get_header_value("Location") == "/dashboard/login?failed=1");
  CHECK(metric(hq, "loyalty_hq_password_verifications_total") == before + 1);
  CHECK(signIn(*c, "nobody-here", "wrong-password")->get_header_value("Location") == "/dashboard/login?failed=1");
  CHECK(metric(hq, "loyalty_hq_password_verifications_total") == before + 2);  // today's main: no hash verified
  const auto audit = hq.sql()->query("SELECT detail FROM audit_log WHERE action = 'signin.failed' ORDER BY entry_no");
  REQUIRE(audit.size() == 2);
  CHECK(audit.text(1, 0) == "unknown user");
}

TEST_CASE("HTTP: repeated bad bearer tokens and registration codes from one address get 429 with Retry-After", "[hq][http]") {
  HqInstance hq("sqlite");
  appendSettings(hq, "[signin]\nmax_failures_per_address = 5\nlockout_seconds = 600\n");
  hq.start();
  for (int i = 0; i < 4; ++i) CHECK(hq.client()->Get("/api/v1/changes", bearer("guess-" + std::to_string(i)))->status == 401);
  auto code = hq.client()->Post("/api/v1/register", R"({"code":"WRONG-CODE"})", "application/json");
  REQUIRE(code);
  CHECK(code->status == 401);
  auto locked = hq.client()->Get("/api/v1/changes", bearer("guess-5"));
  REQUIRE(locked);
  CHECK(locked->status == 429);  // today's main: 401 forever
  CHECK(std::stoi(locked->get_header_value("Retry-After")) > 0);
  CHECK(json::parse(locked->body).at("type") == "https://loyalty.invalid/problems/too_many_requests");
  // Every credential from that address waits, the right one too; other requests go on.
  CHECK(hq.client()->Get("/api/v1/reports/summary", bearer(hq.adminToken()))->status == 429);
  CHECK(hq.client()->Get("/healthz")->status == 200);
}

TEST_CASE("HTTP: hq.toml [server] and [signin] take whole numbers in range, naming the bad key", "[hq][http]") {
  HqInstance hq("sqlite");
  const std::string settings = hq.dataDir() + "/hq.toml";
  std::string original;
  {
    std::ifstream in(settings);
    original.assign(std::istreambuf_iterator<char>(in), {});
  }
  for (const auto& [toml, key] : std::vector<std::pair<std::string, std::string>>{
           {"[server]\nmax_workers = 2\n", "server.max_workers"},
           {"[server]\nheader_deadline_seconds = \"10\"\n", "server.header_deadline_seconds"},
           {"[server]\nidle_seconds = 10\n", "server.idle_seconds"},
           {"[signin]\nlockout_seconds = 0\n", "signin.lockout_seconds"}}) {
    std::ofstream(settings) << original << "\n" << toml;
    ChildProcess serve({hqBinary(), "serve", "--data", hq.dataDir(), "--listen", "127.0.0.1:0"}, Stderr::kToStdout);
    const auto line = serve.readLine(30s);
    REQUIRE(line);
    CHECK(line->find(key) != std::string::npos);
    CHECK(serve.wait() != 0);
  }
}
