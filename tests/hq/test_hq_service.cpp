// HqService: the live stores and their locking in one place. Requests on many threads share one
// writing and one reading connection through it, as the server's worker threads do.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/credentials.hpp"
#include "loyalty/hq/dashboard.hpp"
#include "loyalty/hq/local_time.hpp"
#include "loyalty/hq/service.hpp"
#include "support/hq_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;

namespace {

std::vector<std::unique_ptr<loyalty::hq::SqlConnection>> reportConnections(const HqInstance& hq, int n) {
  std::vector<std::unique_ptr<loyalty::hq::SqlConnection>> out;
  for (int i = 0; i < n; ++i) out.push_back(hq.sql());
  return out;
}

}  // namespace

TEST_CASE("HqService: sessions, audit entries and reports from many threads at once, on both connections", "[hq]") {
  HqInstance hq("sqlite");
  loyalty::hq::HqService service(hq.sql(), hq.sql(), hq.sql(), loyalty::hq::ReportCache::Options{}, loyalty::hq::ReservationPolicy{},
                                 reportConnections(hq, 2));
  constexpr int kThreads = 4, kRounds = 25;
  std::vector<std::string> hashes;
  {
    auto c = hq.sql();
    for (int t = 0; t < kThreads; ++t) {
      const std::string name = "user" + std::to_string(t);
      REQUIRE(loyalty::hq::setDashboardUser(*c, name, "analyst", "analyst-password-" + name, loyalty::hq::nowSeconds(), "test"));
      const auto found = service.account(name);
      REQUIRE(found);
      hashes.push_back(found->first);
    }
    REQUIRE(loyalty::hq::setDashboardUser(*c, "ana", "admin", "admin-password-1", loyalty::hq::nowSeconds(), "test", true));
  }
  std::vector<std::thread> threads;
  std::vector<int> found(kThreads, 0), reports(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const loyalty::hq::DashboardAccount who{"user" + std::to_string(t), "analyst", false};
      loyalty::hq::forms::ReportCall summary;
      summary.name = "summary";
      for (int i = 0; i < kRounds; ++i) {
        const auto opened = service.openSession(who, hashes[static_cast<std::size_t>(t)], std::chrono::hours(1));  // writer
        if (!opened) continue;
        const auto& [account, secret, csrf] = *opened;
        const auto s = service.session(secret);  // reader
        if (s && s->first.name == who.name && s->second == csrf) ++found[static_cast<std::size_t>(t)];
        service.auditAccess("user:" + who.name, loyalty::hq::audit::kMemberRead, "M" + std::to_string(i), std::nullopt);
        if (service.keptReport(summary)) ++reports[static_cast<std::size_t>(t)];  // reader, through the cache
        service.closeSession(secret);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    CHECK(found[static_cast<std::size_t>(t)] == kRounds);
    CHECK(reports[static_cast<std::size_t>(t)] == kRounds);
  }
  const auto audit = service.auditListing(std::nullopt, std::nullopt, std::string("1000"), std::nullopt, std::string("asc"));
  REQUIRE(audit);
  std::size_t reads = 0, signIns = 0;
  for (const auto& e : (*audit)["entries"]) {
    reads += e["action"] == loyalty::hq::audit::kMemberRead;
    signIns += e["action"] == loyalty::hq::audit::kSignIn;
  }
  CHECK(reads == kThreads * kRounds);
  CHECK(signIns == kThreads * kRounds);
  CHECK_FALSE(service.signInWithTicket("no-such-ticket", std::chrono::hours(1)));
  // A ticket asked for with ana's session.
  const auto ana = service.account("ana");
  REQUIRE(ana);
  const auto signedIn = service.openSession(ana->second, ana->first, std::chrono::hours(1));
  REQUIRE(signedIn);
  const auto ticket = service.issueTicket(ana->second, loyalty::hq::nowSeconds() + std::chrono::seconds(60), signedIn->secret);
  REQUIRE(ticket);
  const auto redeemed = service.signInWithTicket(*ticket, std::chrono::hours(1));
  REQUIRE(redeemed);
  CHECK(redeemed->who.name == "ana");
  CHECK(redeemed->who.pii);
  CHECK(service.session(redeemed->secret));
  CHECK_FALSE(service.signInWithTicket(*ticket, std::chrono::hours(1)));  // once
}

// Reports run on connections of their own: one that takes long (held here until released) holds
// up neither a terminal's change page nor member reads (the reader), nor another report while a
// report connection is free; with every one of them busy, the next report waits for one.
TEST_CASE("HqService: a long report holds up neither the change feed nor, up to the lane's size, other reports", "[hq]") {
  HqInstance hq("sqlite");
  loyalty::hq::HqService service(hq.sql(), hq.sql(), hq.sql(), loyalty::hq::ReportCache::Options{}, loyalty::hq::ReservationPolicy{},
                                 reportConnections(hq, 2));
  REQUIRE(service.addTerminal("S1", "T1", "UTC", "test"));
  std::mutex m;
  std::condition_variable cv;
  int holding = 0;
  bool release = false;
  // Holds a report connection until released, as a report over millions of sales would.
  const auto longReport = [&] {
    service.onReports([&](loyalty::hq::SqlConnection& c) {
      c.query("SELECT COUNT(*) FROM sales");
      std::unique_lock lock(m);
      ++holding;
      cv.notify_all();
      cv.wait(lock, [&] { return release; });
      return 0;
    });
  };
  std::thread first(longReport);
  {
    std::unique_lock lock(m);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return holding == 1; }));
  }
  // While it runs: the change feed, a member read and another report all answer.
  const auto page = service.changes("T1", "", 100);
  REQUIRE(page);
  CHECK(page->appliedThrough == 0);
  CHECK_FALSE(service.member("no-such-member"));
  loyalty::hq::forms::ReportCall summary;
  summary.name = "summary";
  const auto answer = service.keptReport(summary);
  REQUIRE(answer);
  CHECK(answer->body["sales"] == 0);
  // Both report connections busy: a third report waits until one is given back.
  std::thread second(longReport);
  {
    std::unique_lock lock(m);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return holding == 2; }));
  }
  std::atomic<bool> thirdDone{false};
  std::thread third([&] {
    CHECK(service.keptReport(summary));
    thirdDone = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK_FALSE(thirdDone.load());
  CHECK(service.changes("T1", "", 100));  // the reader still answers
  {
    std::lock_guard lock(m);
    release = true;
  }
  cv.notify_all();
  first.join();
  second.join();
  third.join();
  CHECK(thirdDone.load());
}

TEST_CASE("HqService: reports.connections is read from hq.toml and checked", "[hq]") {
  TempDir dir;
  const auto load = [&](const std::string& toml) {
    std::ofstream(dir.str() + "/hq.toml", std::ios::trunc) << toml;
    return loyalty::hq::loadSettings(loyalty::hq::DataDir{dir.path()});
  };
  auto plain = load("[storage]\nbackend = \"sqlite\"\n");
  REQUIRE(plain);
  CHECK(plain->reportConnections == 3);
  auto two = load("[storage]\nbackend = \"sqlite\"\n\n[reports]\nconnections = 2\n");
  REQUIRE(two);
  CHECK(two->reportConnections == 2);
  for (const char* bad : {"0", "17", "\"2\"", "1.5"}) {
    auto s = load(std::string("[storage]\nbackend = \"sqlite\"\n\n[reports]\nconnections = ") + bad + "\n");
    REQUIRE(!s);
    CHECK(s.error().field == "reports.connections");
    CHECK_THAT(s.error().message, Catch::Contains("from 1 to 16"));
  }
  // The server opens that many, each to the storage (storage.reports_dsn when set).
  loyalty::hq::DataDir data{dir.path()};
  auto connections = loyalty::hq::openReportConnections(data, *two);
  CHECK(connections.size() == 2);
  for (const auto& c : connections) CHECK(c->backend() == "sqlite");
  // On SQLite they sort and keep temporary tables in files, with a small page cache: a million
  // members' ranking took head office to 243 MiB in memory (settings.hpp, openStorageForReports).
  const auto pragma = [](loyalty::hq::SqlConnection& c, const char* name) { return c.query(std::string("PRAGMA ") + name).integer(0, 0); };
  for (const auto& c : connections) {
    CHECK(pragma(*c, "temp_store") == 1);  // FILE
    CHECK(pragma(*c, "cache_size") == -8192);
  }
  // The storage's other connections (uploads, lookups) keep theirs.
  auto writer = loyalty::hq::openStorage(data, *two);
  CHECK(pragma(*writer, "temp_store") == 2);  // MEMORY
  CHECK(pragma(*writer, "cache_size") == -32768);
}

TEMPLATE_TEST_CASE("HqService: serve keeps SQLite's temporary files in the data directory, only the owner's", "[hq]", SqliteBackend,
                   PostgresBackend) {
  HqInstance hq(TestType::kName);
  hq.start();
  const std::filesystem::path tmp = std::filesystem::path(hq.dataDir()) / "tmp";
  if (std::string_view(TestType::kName) == "sqlite") {
    REQUIRE(std::filesystem::is_directory(tmp));
    CHECK(std::filesystem::status(tmp).permissions() == std::filesystem::perms::owner_all);
  } else {
    CHECK(!std::filesystem::exists(tmp));  // nothing of SQLite's on PostgreSQL
  }
}

// A sign-in is checked (the password, a ticket) before its session is written: an account
// disabled or set anew, or a token revoked, in between must not leave a session behind. The
// change and the session's writing hold the same name (credentials.hpp, holdDashboardName);
// on PostgreSQL the two run at once, on SQLite writers take turns.
TEMPLATE_TEST_CASE("HqService: a sign-in checked before its account is disabled or set anew, or its token revoked, opens nothing",
                   "[hq]", SqliteBackend, PostgresBackend) {
  using namespace std::chrono_literals;
  HqInstance hq(TestType::kName);
  loyalty::hq::HqService service(hq.sql(), hq.sql(), hq.sql(), loyalty::hq::ReportCache::Options{}, loyalty::hq::ReservationPolicy{},
                                 reportConnections(hq, 1));
  auto c = hq.sql();
  const auto now = loyalty::hq::nowSeconds();
  const auto sessions = [&] { return c->query("SELECT COUNT(*) FROM dashboard_sessions WHERE name = 'ana'").integer(0, 0); };
  REQUIRE(loyalty::hq::setDashboardUser(*c, "ana", "analyst", "analyst-password-1", now, "test"));
  auto checked = service.account("ana");  // what the password is checked against
  REQUIRE(checked);
  const loyalty::hq::DashboardAccount ana = checked->second;

  // Disabled meanwhile: nothing; enabled again, the same check signs in.
  REQUIRE(loyalty::hq::disableDashboardUser(*c, "ana", "test", now));
  CHECK_FALSE(service.openSession(ana, checked->first, 1h));
  REQUIRE(loyalty::hq::enableDashboardUser(*c, "ana", "test", now));
  CHECK(service.openSession(ana, checked->first, 1h));
  // Set anew meanwhile (another password): the check of the old one signs nobody in.
  REQUIRE(loyalty::hq::setDashboardUser(*c, "ana", "analyst", "analyst-password-2", now, "test"));
  CHECK_FALSE(service.openSession(ana, checked->first, 1h));
  CHECK(sessions() == 0);

  // Tickets: one is written only while what it is asked for with holds as it was checked, and
  // whatever ends the name's sessions ends its tickets.
  checked = service.account("ana");
  REQUIRE(checked);
  auto session = service.openSession(ana, checked->first, 1h);
  REQUIRE(session);
  const auto ticket = service.issueTicket(ana, now + 60s, session->secret);
  REQUIRE(ticket);
  REQUIRE(loyalty::hq::disableDashboardUser(*c, "ana", "test", now));  // ends the session and the ticket
  CHECK_FALSE(service.issueTicket(ana, now + 60s, session->secret));
  REQUIRE(loyalty::hq::enableDashboardUser(*c, "ana", "test", now));
  CHECK_FALSE(service.signInWithTicket(*ticket, 1h));  // not back with the account
  // Set anew as an admin: a ticket asked for as the analyst before is gone with the session.
  session = service.openSession(ana, checked->first, 1h);
  REQUIRE(session);
  const auto before = service.issueTicket(ana, now + 60s, session->secret);
  REQUIRE(before);
  REQUIRE(loyalty::hq::setDashboardUser(*c, "ana", "admin", "admin-password-1", now, "test", true));
  CHECK_FALSE(service.signInWithTicket(*before, 1h));
  CHECK_FALSE(service.issueTicket(ana, now + 60s, session->secret));
  CHECK(sessions() == 0);
  // A ticket asked for with an API token: written while the token holds, gone once it is revoked.
  const auto admin = service.authenticate(hq.adminToken());
  REQUIRE(admin);
  const loyalty::hq::DashboardAccount bot{admin->name, "admin", admin->pii};
  CHECK_FALSE(service.issueTicket({admin->name, "analyst", admin->pii}, now + 60s, hq.adminToken()));  // not as it is
  // A session made from a token's ticket may ask for tickets itself, but not past the token:
  // once it has expired, such a ticket signs nobody in (and is used up).
  const auto fromTicket = service.signInWithTicket(*service.issueTicket(bot, now + 60s, hq.adminToken()), 1h);
  REQUIRE(fromTicket);
  const auto chained = service.issueTicket(bot, now + 60s, fromTicket->secret);
  REQUIRE(chained);
  c->query("UPDATE api_tokens SET expires_at = '2000-01-01T00:00:00Z' WHERE name = $1", {admin->name});
  CHECK_FALSE(service.signInWithTicket(*chained, 1h));
  c->query("UPDATE api_tokens SET expires_at = NULL WHERE name = $1", {admin->name});
  CHECK_FALSE(service.signInWithTicket(*chained, 1h));
  const auto byToken = service.issueTicket(bot, now + 60s, hq.adminToken());
  REQUIRE(byToken);
  REQUIRE(loyalty::hq::revokeApiToken(*c, std::nullopt, admin->name, "test", now));
  CHECK_FALSE(service.signInWithTicket(*byToken, 1h));
  CHECK_FALSE(service.issueTicket(bot, now + 60s, hq.adminToken()));
  CHECK_FALSE(service.session(fromTicket->secret));  // ended with the token

  if (std::string(TestType::kName) == "postgresql") {
    // A disable in flight on another connection (another instance, the CLI) holds the name:
    // the session waits for it, then finds the account disabled.
    checked = service.account("ana");
    REQUIRE(checked);
    const loyalty::hq::DashboardAccount asAdmin = checked->second;
    REQUIRE(service.openSession(asAdmin, checked->first, 1h));
    const std::int64_t held = sessions();
    // Whether a request waits for a name another connection holds (within 30 s).
    auto look = hq.sql();
    const auto waitsForTheName = [&] {
      for (int i = 0; i < 300; ++i) {
        if (look->query("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 7536 AND NOT granted")
                .integer(0, 0) > 0) {
          return true;
        }
        std::this_thread::sleep_for(100ms);
      }
      return false;
    };
    auto other = hq.sql();
    other->beginWrite();
    loyalty::hq::holdDashboardName(*other, "ana");
    other->query("UPDATE dashboard_users SET disabled_at = '2026-12-05T00:00:00Z' WHERE name = 'ana'");
    other->query("DELETE FROM dashboard_sessions WHERE name = 'ana'");
    auto opening = std::async(std::launch::async, [&] { return service.openSession(asAdmin, checked->first, 1h).has_value(); });
    CHECK(waitsForTheName());
    other->commit();
    CHECK_FALSE(opening.get());
    CHECK(held == 1);
    CHECK(sessions() == 0);

    // The same for a ticket asked for with a session that a disable in flight ends.
    REQUIRE(loyalty::hq::enableDashboardUser(*c, "ana", "test", now));
    const auto session2 = service.openSession(asAdmin, checked->first, 1h);
    REQUIRE(session2);
    auto ending = hq.sql();
    ending->beginWrite();
    loyalty::hq::endDashboardSessions(*ending, "ana");
    auto asking = std::async(std::launch::async, [&] { return service.issueTicket(asAdmin, now + 60s, session2->secret).has_value(); });
    CHECK(waitsForTheName());
    ending->commit();
    CHECK_FALSE(asking.get());
    CHECK(c->query("SELECT COUNT(*) FROM dashboard_tickets WHERE name = 'ana'").integer(0, 0) == 0);
  }
}
