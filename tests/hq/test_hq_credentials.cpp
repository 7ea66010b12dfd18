// Head office's credentials over their life, on a real loyalty-hq over HTTPS: API tokens listed
// by a public id, revoked at once, refused once expired; dashboard accounts disabled with their
// sessions; every change in the audit trail.
#include "loyalty/hq/crypto.hpp"
#include "support/hq_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;

#define HQ_BACKENDS SqliteBackend, PostgresBackend

namespace {

/// (status, problem detail) of GET path with a bearer token.
std::pair<int, std::string> getWith(HqInstance& hq, const std::string& path, const std::string& token) {
  auto res = hq.client()->Get(path.c_str(), bearer(token));
  REQUIRE(res);
  const json body = json::parse(res->body, nullptr, false);
  return {res->status, body.is_object() ? body.value("detail", "") : ""};
}

std::int64_t audited(HqInstance& hq, const std::string& action, const std::string& subject) {
  return hq.sql()
      ->query("SELECT COUNT(*) FROM audit_log WHERE action = $1 AND subject = $2 AND actor LIKE 'cli:%'", {action, subject})
      .integer(0, 0);
}

/// Signs `user` in through the dashboard's login form; returns the session cookie's value.
std::string signIn(HqInstance& hq, const std::string& user, const std::string& password) {
  auto c = hq.client();
  auto login = c->Get("/dashboard/login");
  REQUIRE(login);
  const std::string csrf = setCookieValue(login, "lhq_login_csrf");
  auto in = c->Post("/dashboard/login", {{"Cookie", "lhq_login_csrf=" + csrf}}, "csrf=" + csrf + "&user=" + user + "&password=" + password,
                    "application/x-www-form-urlencoded");
  REQUIRE(in);
  return setCookieValue(in, "lhq_session");
}

}  // namespace

TEMPLATE_TEST_CASE("API tokens are listed by id, revoked at once, refused once expired, and audited", "[hq]", HQ_BACKENDS) {
  HqInstance hq(TestType::kName);
  hq.start();
  const std::string reports = hq.cli({"token", "create", "--data", hq.dataDir(), "--role", "analyst", "--name", "reports"});
  const std::string id = loyalty::hq::sha256Hex(reports).substr(0, 12);
  CHECK(getWith(hq, "/api/v1/reports/summary", reports).first == 200);

  std::string list = hq.cli({"token", "list", "--data", hq.dataDir()});
  CHECK(list.find(id) != std::string::npos);
  CHECK(list.find("reports") != std::string::npos);
  CHECK(list.find(reports) == std::string::npos);  // never the secret
  CHECK(list.find("admin") != std::string::npos);  // init's token expires too
  CHECK(hq.sql()->query("SELECT COUNT(*) FROM api_tokens WHERE expires_at IS NULL").integer(0, 0) == 0);

  // A dashboard session opened with the token's sign-in ticket.
  auto ticket = hq.client()->Post("/api/v1/dashboard/tickets", bearer(reports), "{}", "application/json");
  REQUIRE(ticket);
  REQUIRE(ticket->status == 201);
  auto opened = hq.client()->Get(json::parse(ticket->body).at("url").get<std::string>().c_str());
  REQUIRE(opened);
  const std::string session = setCookieValue(opened, "lhq_session");
  REQUIRE(!session.empty());
  const auto withSession = [&] {
    auto r = hq.client()->Get("/api/v1/reports/summary", {{"Cookie", "lhq_session=" + session}});
    REQUIRE(r);
    return r->status;
  };
  CHECK(withSession() == 200);

  // Revoked while the server runs: refused from the next request on, and so is its session.
  hq.cli({"token", "revoke", "--data", hq.dataDir(), "--name", "reports"});
  CHECK(withSession() == 401);
  const auto [revokedStatus, revokedDetail] = getWith(hq, "/api/v1/reports/summary", reports);
  CHECK(revokedStatus == 401);
  CHECK(revokedDetail.find("revoked") != std::string::npos);
  list = hq.cli({"token", "list", "--data", hq.dataDir()}) + "\n";
  const std::string line = list.substr(list.find(id), list.find('\n', list.find(id)) - list.find(id));
  CHECK(line.back() != '-');  // the REVOKED column holds the time

  // Expired: refused like an unknown token, saying so.
  const std::string shortLived =
      hq.cli({"token", "create", "--data", hq.dataDir(), "--role", "admin", "--name", "short", "--expires-days", "1"});
  CHECK(getWith(hq, "/api/v1/reports/summary", shortLived).first == 200);
  hq.sql()->query("UPDATE api_tokens SET expires_at = '2000-01-01T00:00:00Z' WHERE name = 'short'");
  const auto [expiredStatus, expiredDetail] = getWith(hq, "/api/v1/reports/summary", shortLived);
  CHECK(expiredStatus == 401);
  CHECK(expiredDetail.find("expired") != std::string::npos);
  CHECK(runCommand({hqBinary(), "token", "create", "--data", hq.dataDir(), "--role", "admin", "--expires-days", "0"}).first != 0);

  // Revoking names one token: by id, or by a name only one token has.
  hq.cli({"token", "create", "--data", hq.dataDir(), "--role", "analyst", "--name", "twin"});
  hq.cli({"token", "create", "--data", hq.dataDir(), "--role", "analyst", "--name", "twin"});
  hq.cli({"token", "revoke", "--data", hq.dataDir(), "--name", "twin"}, 1);
  hq.cli({"token", "revoke", "--data", hq.dataDir(), "--id", "0123456789ab"}, 1);
  hq.cli({"token", "revoke", "--data", hq.dataDir(), "--id", "not-hex"}, 2);

  CHECK(audited(hq, "token.create", "admin") == 1);
  CHECK(audited(hq, "token.create", "reports") == 1);
  CHECK(audited(hq, "token.create", "twin") == 2);
  CHECK(audited(hq, "token.revoke", "reports") == 1);

  // Terminals' credentials too: added and revoked from the command line, registered by the terminal.
  hq.registerTerminal("S1", "T1");
  hq.cli({"terminal", "revoke", "--data", hq.dataDir(), "--terminal", "T1"});
  CHECK(audited(hq, "terminal.add", "T1") == 1);
  CHECK(audited(hq, "terminal.revoke", "T1") == 1);
  CHECK(hq.sql()
            ->query("SELECT COUNT(*) FROM audit_log WHERE action = 'terminal.register' AND actor = 'terminal:T1'")
            .integer(0, 0) == 1);
}

TEST_CASE("a disabled dashboard account's sessions end at once", "[hq]") {
  HqInstance hq("sqlite");
  hq.start();
  const auto setUser = [&](const std::string& name, const std::string& password) {
    ChildProcess p({hqBinary(), "user", "set", "--data", hq.dataDir(), "--name", name, "--role", "analyst"}, Stderr::kInherit);
    p.write(password + "\n");
    p.closeStdin();
    REQUIRE(p.wait() == 0);
  };
  setUser("ana", "analyst-password-1");
  setUser("bob", "analyst-password-2");
  const std::string ana = signIn(hq, "ana", "analyst-password-1");
  const std::string bob = signIn(hq, "bob", "analyst-password-2");
  REQUIRE(!ana.empty());
  const auto page = [&](const std::string& session) {
    auto r = hq.client()->Get("/api/v1/reports/summary", {{"Cookie", "lhq_session=" + session}});
    REQUIRE(r);
    return r->status;
  };
  CHECK(page(ana) == 200);

  hq.cli({"user", "disable", "--data", hq.dataDir(), "--name", "ana"});
  CHECK(page(ana) == 401);
  CHECK(signIn(hq, "ana", "analyst-password-1").empty());
  CHECK(page(bob) == 200);  // nobody else is signed out
  hq.cli({"user", "disable", "--data", hq.dataDir(), "--name", "nobody"}, 1);

  hq.cli({"user", "enable", "--data", hq.dataDir(), "--name", "ana"});
  CHECK(page(signIn(hq, "ana", "analyst-password-1")) == 200);
  CHECK(audited(hq, "user.disable", "ana") == 1);
  CHECK(audited(hq, "user.set", "ana") == 2);  // created, enabled again
}
