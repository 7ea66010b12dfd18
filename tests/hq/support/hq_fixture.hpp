#pragma once
// Runs a real loyalty-hq (SQLite or a PostgreSQL this fixture starts) and talks HTTPS to it.

#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "../../support/child_process.hpp"
#include "../../support/pg_cluster.hpp"
#include "../../support/temp_dir.hpp"
#include "loyalty/hq/settings.hpp"
#include "loyalty/core/money.hpp"
#include "loyalty/hq/sql.hpp"

namespace loyalty::test {

using nlohmann::json;

inline std::string hqBinary() { return LOYALTY_HQ_BIN; }

/// Runs a command; returns (exit status, stdout).
inline std::pair<int, std::string> runCommand(const std::vector<std::string>& argv, Stderr err = Stderr::kDiscard) {
  ChildProcess p(argv, err);
  p.closeStdin();
  std::string out;
  while (auto line = p.readLine(std::chrono::seconds(120))) out += *line + "\n";
  return {p.wait(), out};
}

inline int freePort() {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

struct SqliteBackend {
  static constexpr const char* kName = "sqlite";
};
struct PostgresBackend {
  static constexpr const char* kName = "postgresql";
};

/// One head office: its data directory, storage and (when started) the serving process.
class HqInstance {
 public:
  explicit HqInstance(const std::string& backend, std::vector<std::string> extraInit = {})
      : HqInstance(backend, backend == "postgresql" ? std::make_unique<PgCluster>() : nullptr, std::move(extraInit)) {}
  /// On PostgreSQL in the cluster given (e.g. one whose data directory is on a small tmpfs).
  explicit HqInstance(std::unique_ptr<PgCluster> pg, std::vector<std::string> extraInit = {})
      : HqInstance("postgresql", std::move(pg), std::move(extraInit)) {}
  HqInstance(const std::string& backend, std::unique_ptr<PgCluster> pg, std::vector<std::string> extraInit)
      : m_backend(backend), m_pg(std::move(pg)) {
    // Writing to a server the test killed must fail the request, not kill the test.
    signal(SIGPIPE, SIG_IGN);
    std::vector<std::string> argv = {hqBinary(), "init", "--data", dataDir()};
    if (backend == "postgresql") {
      argv.insert(argv.end(), {"--backend", "postgresql", "--dsn", m_pg->createDatabase("hq")});
    }
    argv.insert(argv.end(), extraInit.begin(), extraInit.end());
    const auto [status, out] = runCommand(argv, Stderr::kInherit);
    REQUIRE(status == 0);
    m_initOutput = out;
    std::ifstream t(dataDir() + "/admin.token");
    std::getline(t, m_adminToken);
  }
  ~HqInstance() { stop(); }

  std::string dataDir() const { return m_dir.str() + "/hq"; }
  std::string caFile() const { return dataDir() + "/tls/ca.pem"; }
  const std::string& adminToken() const { return m_adminToken; }
  const std::string& initOutput() const { return m_initOutput; }
  int port() const { return m_port; }
  ChildProcess& process() { return *m_server; }
  /// The PostgreSQL cluster of a head office on PostgreSQL (nullptr on SQLite).
  PgCluster* pg() { return m_pg.get(); }

  void start() {
    m_server = std::make_unique<ChildProcess>(
        std::vector<std::string>{hqBinary(), "serve", "--data", dataDir(), "--listen", "127.0.0.1:" + std::to_string(m_port)},
        Stderr::kInherit);
    auto line = m_server->readLine(std::chrono::seconds(30));
    REQUIRE(line);
    const auto colon = line->rfind(':');
    REQUIRE(line->rfind("listening on https://", 0) == 0);
    m_port = std::stoi(line->substr(colon + 1));
  }
  void stop() {
    if (m_server) m_server->killHard();
    m_server.reset();
  }
  /// SIGTERM and wait; returns the exit status.
  int terminate() {
    kill(m_server->pid(), SIGTERM);
    const int status = m_server->wait();
    m_server.reset();
    return status;
  }

  /// A client that trusts only this head office's CA.
  std::unique_ptr<httplib::SSLClient> client(const std::string& host = "127.0.0.1") const {
    auto c = std::make_unique<httplib::SSLClient>(host, m_port);
    c->set_ca_cert_path(caFile().c_str());
    c->enable_server_certificate_verification(true);
    c->set_connection_timeout(std::chrono::seconds(5));
    c->set_read_timeout(std::chrono::seconds(60));
    return c;
  }

  std::string cli(const std::vector<std::string>& args, int expectStatus = 0) {
    std::vector<std::string> argv = {hqBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto [status, out] = runCommand(argv, Stderr::kInherit);
    REQUIRE(status == expectStatus);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  std::string addTerminal(const std::string& store, const std::string& terminal, const std::string& timezone = "UTC") {
    return cli({"terminal", "add", "--data", dataDir(), "--store", store, "--terminal", terminal, "--timezone", timezone});
  }

  /// Registers a terminal and returns its bearer token.
  std::string registerTerminal(const std::string& store, const std::string& terminal, const std::string& timezone = "UTC") {
    const std::string code = addTerminal(store, terminal, timezone);
    auto res = client()->Post("/api/v1/register", json{{"code", code}}.dump(), "application/json");
    REQUIRE(res);
    REQUIRE(res->status == 200);
    return json::parse(res->body).at("token").get<std::string>();
  }

  /// Direct SQL on the storage (for time travel in tests, and checks).
  std::unique_ptr<hq::SqlConnection> sql() const {
    hq::DataDir dir{dataDir()};
    auto settings = hq::loadSettings(dir);
    REQUIRE(settings);
    return hq::openStorage(dir, *settings);
  }

 private:
  std::string m_backend;
  TempDir m_dir;
  std::unique_ptr<PgCluster> m_pg;
  std::unique_ptr<ChildProcess> m_server;
  std::string m_adminToken;
  std::string m_initOutput;
  int m_port = 0;
};

inline httplib::Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

/// The value a response's Set-Cookie gives cookie `name`, "" when it sets none.
inline std::string setCookieValue(const httplib::Result& r, const std::string& name) {
  for (const auto& [k, v] : r->headers) {
    if (k == "Set-Cookie" && v.rfind(name + "=", 0) == 0) return v.substr(name.size() + 1, v.find(';') - name.size() - 1);
  }
  return {};
}

/// A dashboard session for the holder of `token`, opened as a browser opens it through a
/// one-time sign-in link: the Cookie header to send with page requests.
inline httplib::Headers dashboardSession(HqInstance& hq, const std::string& token) {
  auto ticket = hq.client()->Post("/api/v1/dashboard/tickets", bearer(token), "{}", "application/json");
  REQUIRE(ticket);
  REQUIRE(ticket->status == 201);
  auto opened = hq.client()->Get(json::parse(ticket->body).at("url").get<std::string>().c_str());
  REQUIRE(opened);
  const std::string session = setCookieValue(opened, "lhq_session");
  REQUIRE(!session.empty());
  return {{"Cookie", "lhq_session=" + session}};
}

/// The CSRF token of a dashboard form (its hidden `csrf` field).
inline std::string hiddenCsrf(const std::string& html) {
  std::smatch m;
  REQUIRE(std::regex_search(html, m, std::regex(R"(name="csrf" value="([^"]+)\")")));
  return m[1];
}

/// GET with the admin token; requires 200.
inline json getJsonChecked(HqInstance& hq, const std::string& path) {
  auto res = hq.client()->Get(path.c_str(), bearer(hq.adminToken()));
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  return json::parse(res->body);
}

/// Event builders with the terminal's payload shapes (terminal/src/counter_service.cpp).
inline json enrolEvent(const std::string& terminal, const std::string& store, std::int64_t seq, const std::string& member) {
  return {{"event_id", terminal + "-e" + std::to_string(seq)}, {"seq", seq}, {"type", "member.enrolled"},
          {"at", "2026-11-23T08:00:00Z"},
          {"payload", {{"member_id", member}, {"card_no", "9" + member}, {"phone", "+8613800000000"}, {"name", "Li " + member},
                       {"birthday", nullptr}, {"language", nullptr}, {"consent_marketing", false},
                       {"consent_version", nullptr}, {"referrer_id", nullptr}, {"store_id", store}, {"terminal_id", terminal}}}};
}

inline json saleEvent(const std::string& terminal, const std::string& store, std::int64_t seq,
                      const std::optional<std::string>& member, const std::string& total, std::int64_t earned,
                      std::int64_t redeemed = 0, const std::string& at = "2026-11-23T09:00:00Z") {
  return {{"event_id", terminal + "-e" + std::to_string(seq)}, {"seq", seq}, {"type", "sale.recorded"}, {"at", at},
          {"payload", {{"sale_id", terminal + "-s" + std::to_string(seq)}, {"member_id", member ? json(*member) : json(nullptr)},
                       {"store_id", store}, {"terminal_id", terminal},
                       {"lines", {{{"sku", "A"}, {"description", nullptr}, {"qty", 1}, {"unit_price", total}, {"amount", total}}}},
                       {"subtotal", total}, {"discount", "0.00"}, {"total", total}, {"points_earned", earned},
                       {"points_redeemed", redeemed}}}};
}

inline json redeemEvent(const std::string& terminal, const std::string& store, std::int64_t seq, const std::string& member,
                        std::int64_t points, const std::string& redemptionId, const char* authorised) {
  return {{"event_id", terminal + "-e" + std::to_string(seq)}, {"seq", seq}, {"type", "points.redeemed"},
          {"at", "2026-11-23T10:00:00Z"},
          {"payload", {{"redemption_id", redemptionId}, {"member_id", member}, {"points", points}, {"reward_id", nullptr},
                       {"store_id", store}, {"terminal_id", terminal}, {"authorised", authorised}}}};
}

inline json batch(const std::string& terminal, json events) { return {{"terminal_id", terminal}, {"events", std::move(events)}}; }

/// Uploads `events` as `terminal` (with its token) and requires head office to apply every one.
inline void uploadApplied(HqInstance& hq, const std::string& token, const std::string& terminal, json events) {
  auto r = hq.client()->Post("/api/v1/events", bearer(token), batch(terminal, std::move(events)).dump(), "application/json");
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 200);
  const json answer = json::parse(r->body);  // kept: ranging over a temporary's member would dangle
  for (const auto& res : answer["results"]) REQUIRE(res["status"] == "applied");
}

}  // namespace loyalty::test
