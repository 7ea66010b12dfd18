// Fault tests with real processes on 127.0.0.1: whatever breaks, head office's totals end equal
// to the terminals' sales, no event counts twice, nothing is lost, and every refused connection
// says why.
#include <catch2/catch.hpp>

#include "loyalty/hq/crypto.hpp"
#include "loyalty/sync/client/engine.hpp"
#include "loyalty/sync/codec.hpp"
#include "loyalty/terminal/store.hpp"
#include "loyalty/terminal/sync_link.hpp"
#include "loyalty/terminal/sync_store.hpp"
#include "sync_fixture.hpp"

using namespace loyalty;
using namespace loyalty::test;
using nlohmann::json;

namespace {

json redeem(const std::string& id, const std::string& member, std::int64_t points) {
  return {{"id", id}, {"op", "redeem"}, {"redemption_id", id}, {"member", member}, {"points", points}};
}

std::int64_t hqSales(const Hq& hq) { return hq.get("/api/v1/reports/summary").at("sales"); }
std::string hqRevenue(const Hq& hq) { return hq.get("/api/v1/reports/summary").at("net_revenue"); }

/// Registers `t` as store/terminal and records `sales` anonymous sales of 1.00 each.
void openShop(Hq& hq, Terminal& t, const std::string& store, const std::string& id, int sales) {
  REQUIRE(t.registerWith(hq, hq.addTerminal(store, id)).exit == 0);
  std::vector<json> requests;
  for (int i = 0; i < sales; ++i)
    requests.push_back(sale(store + id + "-" + std::to_string(i), std::nullopt, "1.00"));
  for (const auto& r : t.exec(requests)) REQUIRE(r.at("ok") == true);
}

std::int64_t pendingOf(const Terminal& t) {
  return t.execOne({{"id", 1}, {"op", "stats"}}).at("result").at("outbox_pending");
}

RunResult syncUntilDone(const Terminal& t, int tries = 6) {
  RunResult r;
  for (int i = 0; i < tries; ++i) {
    r = t.syncOnce();
    if (r.exit == 0) break;
  }
  return r;
}

}  // namespace

TEST_CASE("HQ killed with SIGKILL during uploads: after restart every sale counts exactly once",
          "[sync][e2e][slow]") {
  Hq hq;
  hq.start();
  Terminal t;
  constexpr int kSales = 2500;
  openShop(hq, t, "S001", "T1", kSales);
  for (int delayMs : {40, 150, 400}) {
    ChildProcess sync({terminalBinary(), "sync", "--data", t.dataDir(), "--once"});
    std::this_thread::sleep_for(std::chrono::milliseconds(delayMs));
    hq.killHard();
    sync.wait();
    hq.start();
  }
  const RunResult done = syncUntilDone(t);
  INFO(done.err);
  REQUIRE(done.exit == 0);
  CHECK(done.json().at("pending") == 0);
  CHECK(hqSales(hq) == kSales);
  CHECK(hqRevenue(hq) == std::to_string(kSales) + ".00");
  CHECK(t.verify().exit == 0);
}

TEST_CASE("Lost responses: events HQ already has are answered as duplicates and count once", "[sync][e2e]") {
  Hq hq;
  hq.start();
  Terminal t;
  openShop(hq, t, "S001", "T1", 300);
  REQUIRE(t.syncOnce().exit == 0);
  REQUIRE(hqSales(hq) == 300);
  {
    // Every acknowledgement lost: the terminal believes nothing was delivered.
    db::Database db(t.dataDir() + "/terminal.db");
    db.exec("UPDATE meta SET value = '0' WHERE key = 'outbox_acked_through'");
  }
  CHECK(pendingOf(t) == 300);
  const RunResult resend = t.syncOnce();
  INFO(resend.err);
  REQUIRE(resend.exit == 0);
  CHECK(resend.json().at("pending") == 0);
  CHECK(hqSales(hq) == 300);

  // The terminal killed at random instants of an upload (after HQ committed, before the
  // acknowledgement was stored): the next round finishes without double counting.
  for (const auto& r : t.exec({sale("late-1", std::nullopt, "1.00"), sale("late-2", std::nullopt, "1.00")})) {
    REQUIRE(r.at("ok") == true);
  }
  std::vector<json> more;
  for (int i = 0; i < 1500; ++i) more.push_back(sale("more-" + std::to_string(i), std::nullopt, "1.00"));
  for (const auto& r : t.exec(more)) REQUIRE(r.at("ok") == true);
  for (int delayMs : {60, 200, 500}) {
    ChildProcess sync({terminalBinary(), "sync", "--data", t.dataDir(), "--once"});
    std::this_thread::sleep_for(std::chrono::milliseconds(delayMs));
    sync.killHard();
  }
  REQUIRE(syncUntilDone(t).exit == 0);
  CHECK(hqSales(hq) == 1802);
  CHECK(t.verify().exit == 0);
}

TEST_CASE("Duplicated and re-ordered batches: gaps are refused and resent, duplicates change nothing",
          "[sync][e2e]") {
  Hq hq;
  hq.start();
  Terminal t;
  openShop(hq, t, "S001", "T1", 30);
  db::Database db = terminal::openTerminalDatabase(t.dataDir());
  const auto link = terminal::loadHqLink(db);
  REQUIRE(link);
  terminal::TerminalOutbox outbox(db);
  const auto events = outbox.eventsAfter(0, 100);
  REQUIRE(events.size() == 30);
  const std::vector<sync::EventEnvelope> first(events.begin(), events.begin() + 10);
  const std::vector<sync::EventEnvelope> second(events.begin() + 10, events.begin() + 20);
  const std::vector<sync::EventEnvelope> third(events.begin() + 20, events.end());
  sync::HttpsClient client(link->endpoint());
  const auto send = [&](const std::vector<sync::EventEnvelope>& batch) {
    auto r = client.postJson("/api/v1/events", sync::toJson(sync::UploadRequest{"T1", batch}), true);
    REQUIRE(r);
    auto decoded = sync::decodeUploadResponse(r.value());
    REQUIRE(decoded);
    return decoded.value();
  };

  auto out = send(second);  // arrives before the first
  CHECK(out.ackedThrough == 0);
  for (const auto& res : out.results) {
    CHECK(res.status == sync::EventStatus::kRejected);
    CHECK(res.reason == std::optional<std::string>("gap"));
  }
  CHECK(hqSales(hq) == 0);
  out = send(first);
  CHECK(out.ackedThrough == 10);
  out = send(third);  // still a gap: 11..20 were refused
  CHECK(out.ackedThrough == 10);
  out = send(second);
  CHECK(out.ackedThrough == 20);
  out = send(first);  // duplicated
  CHECK(out.ackedThrough == 20);
  for (const auto& res : out.results) CHECK(res.status == sync::EventStatus::kDuplicate);
  CHECK(hqSales(hq) == 20);

  // The terminal's own round finishes the job from its watermark (still 0: it sent nothing).
  const RunResult r = t.syncOnce();
  INFO(r.err);
  REQUIRE(r.exit == 0);
  CHECK(hqSales(hq) == 30);

  // The same event id with different content is a conflict, never applied.
  auto tampered = events.front();
  tampered.payload["total"] = "999.00";
  out = send({tampered});
  CHECK(out.results.at(0).status == sync::EventStatus::kConflict);
  CHECK(hqSales(hq) == 30);
}

TEST_CASE("Terminal killed during a pull: each page is there with its cursor or not at all",
          "[sync][e2e][slow]") {
  Hq hq;
  hq.start();
  Terminal source;
  REQUIRE(source.registerWith(hq, hq.addTerminal("S001", "T1")).exit == 0);
  constexpr int kMembers = 3000;
  std::vector<json> enrolments;
  for (int i = 0; i < kMembers; ++i)
    enrolments.push_back(enrol("1380000" + std::to_string(1000 + i), "M" + std::to_string(i)));
  for (const auto& r : source.exec(enrolments)) REQUIRE(r.at("ok") == true);
  REQUIRE(source.syncOnce().exit == 0);

  Terminal other;
  REQUIRE(other.registerWith(hq, hq.addTerminal("S002", "T2")).exit == 0);
  std::int64_t lastCount = 0;
  for (int delayMs : {150, 400, 700}) {
    ChildProcess sync({terminalBinary(), "sync", "--data", other.dataDir(), "--once"});
    std::this_thread::sleep_for(std::chrono::milliseconds(delayMs));
    sync.killHard();
    db::Database db(other.dataDir() + "/terminal.db");
    auto q = db.query(
        "SELECT (SELECT COUNT(*) FROM members) AS members, (SELECT COUNT(*) FROM hq_members) AS hq_members, "
        "(SELECT value FROM meta WHERE key = 'hq_cursor') AS cursor");
    REQUIRE(q.step());
    const std::int64_t members = q.int64("members");
    const std::string cursor = q.text("cursor");
    CHECK(q.int64("hq_members") == members);
    // Pages hold whole numbers of changes: an empty cursor means nothing applied, and the
    // members present are whole pages (500 each) or everything.
    if (cursor.empty()) CHECK(members == 0);
    CHECK((members % 500 == 0 || members == kMembers));
    CHECK(members >= lastCount);
    lastCount = members;
  }
  const RunResult done = syncUntilDone(other);
  INFO(done.err);
  REQUIRE(done.exit == 0);
  CHECK(other.execOne({{"id", 1}, {"op", "stats"}}).at("result").at("members") == kMembers);
  CHECK(other.verify().exit == 0);
}

TEST_CASE("TLS and credential failures are refused with a clear error and nothing is lost", "[sync][e2e]") {
  Hq hq;
  hq.start();
  Terminal t;
  openShop(hq, t, "S001", "T1", 5);

  SECTION("a CA other than head office's") {
    Hq stranger;
    Terminal u;
    const RunResult r = u.registerWith(hq, hq.addTerminal("S001", "T2"), stranger.caFile());
    CHECK(r.exit == 1);
    CHECK(r.err.find("is not trusted") != std::string::npos);
  }
  SECTION("a certificate for another host name") {
    Hq elsewhere({"--host", "hq.elsewhere.invalid"});
    elsewhere.start();
    Terminal u;
    const RunResult r = u.registerWith(elsewhere, elsewhere.addTerminal("S001", "T1"));
    CHECK(r.exit == 1);
    CHECK(r.err.find("is not trusted") != std::string::npos);
    CHECK(r.err.find("host name") != std::string::npos);
  }
  SECTION("an expired server certificate") {
    hq.killHard();
    const auto now = std::chrono::system_clock::now();
    const hq::KeyAndCert ca{slurp(hq.tlsDir() / "ca.key"), slurp(hq.tlsDir() / "ca.pem")};
    const auto expired = hq::issueServerCertificate(
        ca, {"localhost", "127.0.0.1"}, now - std::chrono::hours(48), now - std::chrono::hours(24));
    std::ofstream(hq.tlsDir() / "server.pem", std::ios::trunc) << expired.certPem;
    std::ofstream(hq.tlsDir() / "server.key", std::ios::trunc) << expired.keyPem;
    hq.start();
    const RunResult r = t.syncOnce();
    CHECK(r.exit == 1);
    CHECK(r.err.find("is not trusted") != std::string::npos);
    CHECK(r.err.find("expired") != std::string::npos);
    CHECK(r.json().at("pending") == 5);
    CHECK(t.verify().exit == 0);
  }
  SECTION("a public-key pin that does not match") {
    Terminal u;
    const RunResult r = run({terminalBinary(), "register", "--data", u.dataDir(), "--hq", hq.url(), "--ca",
                             hq.caFile(), "--code", hq.addTerminal("S001", "T3"), "--pin",
                             "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="});
    CHECK(r.exit == 1);
    CHECK(r.err.find("pin") != std::string::npos);
  }
  SECTION("no credential at all") {
    sync::HttpsClient anonymous({hq.url(), slurp(hq.caFile()), std::nullopt, std::nullopt});
    auto r =
        anonymous.postJson("/api/v1/events", json{{"terminal_id", "T1"}, {"events", json::array()}}, false);
    REQUIRE_FALSE(r);
    CHECK(r.error().httpStatus == 401);
    CHECK(r.error().message.find("401 unauthenticated") != std::string::npos);
  }
  SECTION("a revoked terminal") {
    hq.command({"terminal", "revoke", "--terminal", "T1"});
    const RunResult r = t.syncOnce();
    CHECK(r.exit == 1);
    CHECK(r.err.find("401") != std::string::npos);
    CHECK(r.json().at("pending") == 5);  // nothing lost
    CHECK(hqSales(hq) == 0);
    CHECK(t.verify().exit == 0);
  }
  SECTION("head office down") {
    hq.killHard();
    const RunResult r = t.syncOnce();
    CHECK(r.exit == 1);
    CHECK(r.err.find("cannot reach head office") != std::string::npos);
    CHECK(r.json().at("pending") == 5);
    hq.start();
    REQUIRE(t.syncOnce().exit == 0);
    CHECK(hqSales(hq) == 5);
  }
}

namespace {

/// Two stores that both know one member with `points` points, head office reachable.
struct TwoStores {
  Hq hq;
  Terminal one, two;
  std::string member;

  explicit TwoStores(const std::string& price) {
    hq.start();
    REQUIRE(one.registerWith(hq, hq.addTerminal("S001", "T1")).exit == 0);
    REQUIRE(two.registerWith(hq, hq.addTerminal("S002", "T2")).exit == 0);
    const auto enrolled = one.execOne(enrol("13800138123", "Shared Member"));
    REQUIRE(enrolled.at("ok") == true);
    member = enrolled.at("result").at("member_id");
    REQUIRE(one.execOne(sale("earn-1", member, price)).at("ok") == true);
    REQUIRE(one.syncOnce().exit == 0);
    REQUIRE(two.syncOnce().exit == 0);
  }
  static std::int64_t balance(const Terminal& t, const std::string& m) {
    const auto r = t.execOne({{"id", 1}, {"op", "member"}, {"member", m}});
    REQUIRE(r.at("ok") == true);
    return r.at("result").at("points").get<std::int64_t>() -
           r.at("result").at("points_debt").get<std::int64_t>();
  }
};

}  // namespace

TEST_CASE("Online: head office refuses a redemption a terminal's stale view would allow", "[sync][e2e]") {
  TwoStores s("300.00");
  REQUIRE(TwoStores::balance(s.two, s.member) == 300);
  const auto first = s.one.execOne(redeem("r-one", s.member, 300));
  REQUIRE(first.at("ok") == true);
  // Store two has not pulled since: it still shows 300, but head office holds the reservation.
  CHECK(TwoStores::balance(s.two, s.member) == 300);
  const auto second = s.two.execOne(redeem("r-two", s.member, 300));
  CHECK(second.at("ok") == false);
  CHECK(second.at("error").at("code") == "insufficient_points");
  REQUIRE(s.one.syncOnce().exit == 0);
  REQUIRE(s.two.syncOnce().exit == 0);
  CHECK(s.hq.get("/api/v1/members/" + s.member).at("balance") == 0);
  CHECK(TwoStores::balance(s.two, s.member) == 0);
  CHECK(s.one.verify().exit == 0);
  CHECK(s.two.verify().exit == 0);
}

TEST_CASE(
    "Two terminals redeeming one member while cut off from head office overspend at most the allowance each",
    "[sync][e2e]") {
  TwoStores s("800.00");
  s.hq.killHard();
  std::int64_t spent = 0;
  for (const Terminal* t : {&s.one, &s.two}) {
    const auto ok =
        t->execOne(redeem("offline-" + t->dataDir().substr(t->dataDir().size() - 3), s.member, 500));
    INFO(ok.dump());
    REQUIRE(ok.at("ok") == true);
    spent += 500;
    const auto over =
        t->execOne(redeem("over-" + t->dataDir().substr(t->dataDir().size() - 3), s.member, 100));
    CHECK(over.at("ok") == false);
    CHECK(over.at("error").at("code") == "limit_exceeded");  // 500 a day per member per terminal
    CHECK(TwoStores::balance(*t, s.member) == 300);
  }
  s.hq.start();
  REQUIRE(s.one.syncOnce().exit == 0);
  REQUIRE(s.two.syncOnce().exit == 0);
  REQUIRE(s.one.syncOnce().exit == 0);
  const json atHq = s.hq.get("/api/v1/members/" + s.member);
  CHECK(atHq.at("balance") == 800 - spent);
  const std::int64_t overspend = atHq.at("points_debt");
  CHECK(overspend == 200);
  CHECK(overspend <= 2 * 500);
  // Both terminals now show head office's figure, the debt included.
  CHECK(TwoStores::balance(s.one, s.member) == -200);
  CHECK(TwoStores::balance(s.two, s.member) == -200);
  CHECK(s.one.verify().exit == 0);
  CHECK(s.two.verify().exit == 0);
}
