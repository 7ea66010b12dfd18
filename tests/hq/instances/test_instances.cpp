// Several `loyalty-hq serve` instances on one PostgreSQL (docs/operations.md): terminals spread
// over them, online redemptions competing through different instances, the leader killed while
// terminals upload, and the background work taken over by another instance.

#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "loyalty/hq/report_cache.hpp"
#include "../support/hq_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

/// One `serve` process on the shared data directory (same hq.toml: the same PostgreSQL).
struct Instance {
  std::unique_ptr<ChildProcess> process;
  int port = 0;
  std::atomic<bool> alive{false};

  void start(const std::string& dataDir) {
    process = std::make_unique<ChildProcess>(
        std::vector<std::string>{hqBinary(), "serve", "--data", dataDir, "--listen", "127.0.0.1:0"}, Stderr::kInherit);
    auto line = process->readLine(std::chrono::seconds(30));
    REQUIRE(line);
    REQUIRE(line->rfind("listening on https://", 0) == 0);
    port = std::stoi(line->substr(line->rfind(':') + 1));
    alive = true;
  }
};

std::unique_ptr<httplib::SSLClient> clientOf(const HqInstance& hq, int port, std::chrono::seconds timeout = std::chrono::seconds(30)) {
  auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", port);
  c->set_ca_cert_path(hq.caFile().c_str());
  c->enable_server_certificate_verification(true);
  c->set_connection_timeout(std::chrono::seconds(2));
  c->set_read_timeout(timeout);
  return c;
}

/// Whether the instance's /metrics says it leads; nullopt when it does not answer (a killed
/// instance). No Catch assertion: the watcher thread calls it.
std::optional<bool> leads(const HqInstance& hq, int port) {
  auto r = clientOf(hq, port, std::chrono::seconds(2))->Get("/metrics", bearer(hq.adminToken()));
  if (!r || r->status != 200) return std::nullopt;
  if (r->body.find("\nloyalty_hq_leader 1\n") != std::string::npos) return true;
  if (r->body.find("\nloyalty_hq_leader 0\n") != std::string::npos) return false;
  return std::nullopt;
}

/// A counter of the instance's /metrics (admin), -1 when absent.
std::int64_t metric(const HqInstance& hq, int port, const std::string& name) {
  auto r = clientOf(hq, port)->Get("/metrics", bearer(hq.adminToken()));
  REQUIRE(r);
  REQUIRE(r->status == 200);
  std::smatch m;
  if (!std::regex_search(r->body, m, std::regex("\n" + name + " (-?[0-9]+)\n"))) return -1;
  return std::stoll(m[1]);
}

/// A terminal as the sync client behaves: uploads its events in order in batches, keeps what
/// is not acknowledged, and on a failed request tries again through the next instance alive.
struct FakeTerminal {
  std::string id, store, token;
  json events = json::array();
  std::size_t home = 0;  ///< the instance it starts with
  std::atomic<std::int64_t> acked{0};  ///< read by the test while the terminal uploads
  std::int64_t duplicates = 0;
  std::int64_t failovers = 0;
  std::vector<std::string> unexpected;  ///< results other than applied/duplicate

  void upload(const HqInstance& hq, std::vector<std::unique_ptr<Instance>>& instances, std::size_t batchSize) {
    std::size_t at = home;
    const auto deadline = Clock::now() + std::chrono::seconds(90);
    while (acked < static_cast<std::int64_t>(events.size()) && Clock::now() < deadline) {
      if (!instances[at]->alive) {
        at = (at + 1) % instances.size();
        continue;
      }
      json page = json::array();
      for (auto i = static_cast<std::size_t>(acked.load()); i < events.size() && page.size() < batchSize; ++i) page.push_back(events[i]);
      auto r = clientOf(hq, instances[at]->port)->Post("/api/v1/events", bearer(token), batch(id, page).dump(), "application/json");
      if (!r || r->status >= 500) {
        // A killed instance: the same events again through another one (lost answers are harmless).
        ++failovers;
        at = (at + 1) % instances.size();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      if (r->status != 200) {
        unexpected.push_back(std::to_string(r->status) + " " + r->body);
        return;
      }
      const json answer = json::parse(r->body, nullptr, false);
      if (!answer.is_object() || !answer.contains("results") || !answer.contains("acked_through")) {
        unexpected.push_back("unreadable answer: " + r->body);
        return;
      }
      for (const auto& res : answer.at("results")) {
        if (res.at("status") == "duplicate") ++duplicates;
        else if (res.at("status") != "applied") unexpected.push_back(res.dump());
      }
      acked = answer.at("acked_through").get<std::int64_t>();
    }
  }
};

}  // namespace

TEST_CASE("instances: three servers on one PostgreSQL, the leader killed mid-upload", "[hq][slow]") {
  HqInstance hq("postgresql");
  // Quick rounds so that the test sees the takeover and the new leader's refresh in seconds.
  std::ofstream(hq.dataDir() + "/hq.toml", std::ios::app) << "\n[reports]\nrefresh_seconds = 1\n\n[server]\nleader_check_seconds = 1\n";

  std::vector<std::unique_ptr<Instance>> instances;
  for (int i = 0; i < 3; ++i) {
    instances.push_back(std::make_unique<Instance>());
    instances.back()->start(hq.dataDir());
  }

  // [SECTION] Exactly one leader, watched all along.
  const auto leaderNow = [&]() -> std::optional<std::size_t> {
    std::optional<std::size_t> found;
    for (std::size_t i = 0; i < instances.size(); ++i) {
      if (!instances[i]->alive) continue;
      if (leads(hq, instances[i]->port).value_or(false)) {
        REQUIRE(!found);
        found = i;
      }
    }
    return found;
  };
  std::optional<std::size_t> first;
  for (const auto until = Clock::now() + std::chrono::seconds(15); !first && Clock::now() < until;) {
    first = leaderNow();
    if (!first) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(first);
  const std::size_t oldLeader = *first;

  std::atomic<bool> watching{true};
  std::atomic<int> mostLeaders{0};
  std::mutex seenMutex;
  std::optional<Clock::time_point> killedAt, newLeaderSeenAt;
  std::optional<std::size_t> newLeader;
  // Joined however the test ends (a failed REQUIRE must not leave it running).
  struct Joiner {
    std::atomic<bool>& flag;
    std::thread& t;
    ~Joiner() {
      flag = false;
      if (t.joinable()) t.join();
    }
  };
  std::thread watcher;
  Joiner joinWatcher{watching, watcher};
  watcher = std::thread([&] {
    while (watching) {
      int n = 0;
      std::optional<std::size_t> who;
      for (std::size_t i = 0; i < instances.size(); ++i) {
        if (instances[i]->alive && leads(hq, instances[i]->port).value_or(false)) {
          ++n;
          who = i;
        }
      }
      mostLeaders = std::max(mostLeaders.load(), n);
      {
        std::lock_guard lock(seenMutex);
        if (killedAt && !newLeaderSeenAt && who && *who != oldLeader) {
          newLeaderSeenAt = Clock::now();
          newLeader = who;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });

  // Followers compute no report: only the leader's refresher does.
  for (const auto until = Clock::now() + std::chrono::seconds(15);
       metric(hq, instances[oldLeader]->port, "loyalty_hq_report_refresh_rounds_total") < 1 && Clock::now() < until;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (std::size_t i = 0; i < instances.size(); ++i) {
    INFO("instance " << i << ", leader " << oldLeader);
    CHECK((metric(hq, instances[i]->port, "loyalty_hq_report_refresh_rounds_total") > 0) == (i == oldLeader));
    CHECK(metric(hq, instances[i]->port, "loyalty_hq_leader") == (i == oldLeader ? 1 : 0));
  }

  // [SECTION] Terminals registered through different instances (codes live in the database).
  constexpr int kTerminals = 6;
  constexpr int kSales = 240;
  std::vector<FakeTerminal> terminals(kTerminals);
  for (int k = 0; k < kTerminals; ++k) {
    FakeTerminal& t = terminals[static_cast<std::size_t>(k)];
    t.id = "T" + std::to_string(k);
    t.store = "S" + std::to_string(k % 2);
    t.home = static_cast<std::size_t>(k) % instances.size();
    const std::string code = hq.addTerminal(t.store, t.id);
    auto r = clientOf(hq, instances[t.home]->port)->Post("/api/v1/register", json{{"code", code}}.dump(), "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    t.token = json::parse(r->body).at("token").get<std::string>();
  }
  // A dashboard session opened on one instance is good on the others (sessions are in the database).
  {
    auto ticket = clientOf(hq, instances[0]->port)->Post("/api/v1/dashboard/tickets", bearer(hq.adminToken()), "{}", "application/json");
    REQUIRE(ticket);
    REQUIRE(ticket->status == 201);
    auto opened = clientOf(hq, instances[1]->port)->Get(json::parse(ticket->body).at("url").get<std::string>().c_str());
    REQUIRE(opened);
    const std::string session = setCookieValue(opened, "lhq_session");
    REQUIRE(!session.empty());
    auto page = clientOf(hq, instances[2]->port)->Get("/api/v1/reports/summary", {{"Cookie", "lhq_session=" + session}});
    REQUIRE(page);
    CHECK(page->status == 200);
  }

  // [SECTION] A member with 1000 points; six terminals reserve 300 each through three instances.
  FakeTerminal& t0 = terminals[0];
  t0.events.push_back(enrolEvent(t0.id, t0.store, 1, "M1"));
  t0.events.push_back(saleEvent(t0.id, t0.store, 2, std::string("M1"), "1000.00", 1000));
  t0.upload(hq, instances, 10);
  REQUIRE(t0.acked == 2);
  std::vector<int> statuses(kTerminals, 0);
  {
    std::vector<std::thread> asks;
    for (int k = 0; k < kTerminals; ++k) {
      asks.emplace_back([&, k] {
        const FakeTerminal& t = terminals[static_cast<std::size_t>(k)];
        auto r = clientOf(hq, instances[t.home]->port)
                     ->Post("/api/v1/redemptions", bearer(t.token),
                            json{{"redemption_id", "R" + std::to_string(k)}, {"member_id", "M1"}, {"points", 300}}.dump(),
                            "application/json");
        statuses[static_cast<std::size_t>(k)] = r ? r->status : -1;
      });
    }
    for (auto& a : asks) a.join();
  }
  std::int64_t won = 0;
  for (int k = 0; k < kTerminals; ++k) {
    INFO("terminal " << k);
    CHECK((statuses[static_cast<std::size_t>(k)] == 200 || statuses[static_cast<std::size_t>(k)] == 409));
    if (statuses[static_cast<std::size_t>(k)] == 200) {
      ++won;
      // The winner settles its reservation in its next upload (through whichever instance).
      FakeTerminal& t = terminals[static_cast<std::size_t>(k)];
      const auto seq = static_cast<std::int64_t>(t.events.size()) + 1;
      t.events.push_back(redeemEvent(t.id, t.store, seq, "M1", 300, "R" + std::to_string(k), "online"));
    }
  }
  CHECK(won == 3);  // 3 x 300 of 1000: never a fourth

  // [SECTION] Every terminal uploads its sales; the leader is killed while they do.
  std::int64_t expectedSales = 1;  // t0's member sale
  std::int64_t expectedCents = 100000;
  for (int k = 0; k < kTerminals; ++k) {
    FakeTerminal& t = terminals[static_cast<std::size_t>(k)];
    for (int n = 0; n < kSales; ++n) {
      const auto seq = static_cast<std::int64_t>(t.events.size()) + 1;
      const std::int64_t cents = 100 + k * 1000 + n;
      const std::string amount = std::to_string(cents / 100) + "." + (cents % 100 < 10 ? "0" : "") + std::to_string(cents % 100);
      t.events.push_back(saleEvent(t.id, t.store, seq, std::nullopt, amount, 0));
      ++expectedSales;
      expectedCents += cents;
    }
  }
  {
    std::vector<std::thread> uploads;
    for (auto& t : terminals) {
      FakeTerminal* one = &t;
      uploads.emplace_back([&hq, &instances, one] { one->upload(hq, instances, 20); });
    }
    // Once the leader's own terminals are well under way, but not done.
    const auto leadersAcked = [&] {
      std::int64_t n = 0;
      for (const auto& t : terminals) {
        if (t.home == oldLeader) n += t.acked;
      }
      return n;
    };
    const auto until = Clock::now() + std::chrono::seconds(60);
    while (leadersAcked() < 60 && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(leadersAcked() < 2 * kSales);  // mid-upload
    {
      std::lock_guard lock(seenMutex);
      killedAt = Clock::now();
    }
    instances[oldLeader]->alive = false;
    instances[oldLeader]->process->killHard();  // SIGKILL: no goodbye, its session simply ends
    for (auto& u : uploads) u.join();
  }

  std::int64_t failovers = 0, duplicates = 0;
  for (const auto& t : terminals) {
    INFO(t.id);
    CHECK(t.unexpected.empty());
    CHECK(t.acked == static_cast<std::int64_t>(t.events.size()));
    failovers += t.failovers;
    duplicates += t.duplicates;
  }
  WARN("failed-over requests: " << failovers << ", events answered duplicate: " << duplicates);

  // [SECTION] Leadership taken over within seconds; the new leader refreshes the reports.
  for (const auto until = Clock::now() + std::chrono::seconds(20); Clock::now() < until;) {
    {
      std::lock_guard lock(seenMutex);
      if (newLeaderSeenAt) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  watching = false;
  watcher.join();
  CHECK(mostLeaders.load() == 1);  // never two at once, from the first leader to the last
  REQUIRE(newLeader);
  const double takeover = std::chrono::duration<double>(*newLeaderSeenAt - *killedAt).count();
  WARN("leadership taken over " << takeover << " s after the leader was killed");
  CHECK(takeover < 8.0);  // a 1 s check, and PostgreSQL sees a killed client at once
  CHECK(leaderNow() == newLeader);
  CHECK(metric(hq, instances[*newLeader]->port, "loyalty_hq_leadership_taken_total") == 1);

  auto sql = hq.sql();
  const std::string mark = loyalty::hq::ReportCache::dataMark(*sql);
  bool refreshed = false;
  for (const auto until = Clock::now() + std::chrono::seconds(30); !refreshed && Clock::now() < until;) {
    const auto r = sql->query("SELECT mark, body FROM report_results WHERE report_key LIKE '%summary%'");
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (r.text(i, 0) == mark && json::parse(r.text(i, 1)).at("sales") == expectedSales) refreshed = true;
    }
    if (!refreshed) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  CHECK(refreshed);  // written after the last upload: only the new leader computes
  CHECK(metric(hq, instances[*newLeader]->port, "loyalty_hq_report_refresh_rounds_total") > 0);
  for (std::size_t i = 0; i < instances.size(); ++i) {
    if (i != oldLeader && i != *newLeader) CHECK(metric(hq, instances[i]->port, "loyalty_hq_report_refresh_rounds_total") == 0);
  }

  // [SECTION] Exact totals, no duplicates, contiguous sequences, reservations settled.
  const auto seqs = sql->query("SELECT terminal_id, COUNT(*), COUNT(DISTINCT seq), MIN(seq), MAX(seq), COUNT(DISTINCT event_id) "
                               "FROM events GROUP BY terminal_id ORDER BY terminal_id");
  REQUIRE(seqs.size() == static_cast<std::size_t>(kTerminals));
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    const FakeTerminal& t = terminals[i];
    const auto n = static_cast<std::int64_t>(t.events.size());
    INFO(t.id);
    CHECK(seqs.text(i, 0) == t.id);
    CHECK(seqs.integer(i, 1) == n);
    CHECK(seqs.integer(i, 2) == n);
    CHECK(seqs.integer(i, 3) == 1);
    CHECK(seqs.integer(i, 4) == n);
    CHECK(seqs.integer(i, 5) == n);
    CHECK(sql->query("SELECT applied_through FROM terminals WHERE terminal_id = $1", {t.id}).integer(0, 0) == n);
  }
  // A lost answer: the same batch again through another instance changes nothing.
  {
    const FakeTerminal& t = terminals[1];
    std::size_t other = (t.home + 1) % instances.size();
    if (!instances[other]->alive) other = (other + 1) % instances.size();
    json again = json::array();
    for (std::size_t i = 0; i < 20; ++i) again.push_back(t.events[i]);
    auto r = clientOf(hq, instances[other]->port)->Post("/api/v1/events", bearer(t.token), batch(t.id, again).dump(), "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    const json answer = json::parse(r->body);
    CHECK(answer.at("acked_through") == static_cast<std::int64_t>(t.events.size()));
    for (const auto& res : answer.at("results")) CHECK(res.at("status") == "duplicate");
    CHECK(sql->query("SELECT COUNT(*) FROM events WHERE terminal_id = $1", {t.id}).integer(0, 0) ==
          static_cast<std::int64_t>(t.events.size()));
  }
  CHECK(sql->query("SELECT COUNT(*) FROM event_conflicts").integer(0, 0) == 0);
  CHECK(sql->query("SELECT COUNT(*) FROM rejected_events").integer(0, 0) == 0);
  CHECK(sql->query("SELECT COUNT(*) FROM reservations WHERE settled_event IS NULL").integer(0, 0) == 0);
  CHECK(sql->query("SELECT COUNT(*) FROM reservations").integer(0, 0) == won);
  const std::string revenue = std::to_string(expectedCents / 100) + "." + (expectedCents % 100 < 10 ? "0" : "") +
                              std::to_string(expectedCents % 100);
  for (std::size_t i = 0; i < instances.size(); ++i) {
    if (!instances[i]->alive) continue;
    INFO("instance " << i);
    // Each survivor answers the totals as they are now, whatever it kept from before.
    auto r = clientOf(hq, instances[i]->port)->Get("/api/v1/reports/summary", bearer(hq.adminToken()));
    REQUIRE(r);
    REQUIRE(r->status == 200);
    const json summary = json::parse(r->body);
    CHECK(summary.at("sales") == expectedSales);
    CHECK(summary.at("net_revenue") == revenue);
    auto m = clientOf(hq, instances[i]->port)->Get("/api/v1/members/M1", bearer(hq.adminToken()));
    REQUIRE(m);
    REQUIRE(m->status == 200);
    CHECK(json::parse(m->body).at("balance") == 1000 - 300 * won);
  }
  for (auto& i : instances) {
    if (i->alive) i->process->killHard();
  }
}

namespace {

/// DIR/hq.toml with `line` added to its [storage] section.
void addStorageSetting(const HqInstance& hq, const std::string& line) {
  const std::string path = hq.dataDir() + "/hq.toml";
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto at = text.find("[storage]\n");
  REQUIRE(at != std::string::npos);
  text.insert(at + std::string("[storage]\n").size(), line + "\n");
  std::ofstream(path, std::ios::trunc) << text;
}

}  // namespace

TEST_CASE("instances: storage.reports_dsn is checked, and reports read there", "[hq]") {
  SECTION("refused with a message naming it") {
    TempDir dir;
    const auto refusal = [&](const std::string& toml) {
      std::ofstream(dir.str() + "/hq.toml", std::ios::trunc) << toml;
      auto s = loyalty::hq::loadSettings(loyalty::hq::DataDir{dir.path()});
      REQUIRE(!s);
      CHECK(s.error().field == "storage.reports_dsn");
      return s.error().message;
    };
    CHECK_THAT(refusal("[storage]\nbackend = \"sqlite\"\nreports_dsn = \"host=replica dbname=hq\"\n"),
               Catch::Contains("postgresql backend only"));
    CHECK_THAT(refusal("[storage]\nbackend = \"postgresql\"\ndsn = \"dbname=hq\"\nreports_dsn = \" \"\n"),
               Catch::Contains("libpq connection string"));
    CHECK_THAT(refusal("[storage]\nbackend = \"postgresql\"\ndsn = \"dbname=hq\"\nreports_dsn = 5\n"), Catch::Contains("must be a string"));
    std::ofstream(dir.str() + "/hq.toml", std::ios::trunc)
        << "[storage]\nbackend = \"postgresql\"\ndsn = \"dbname=hq\"\nreports_dsn = \"dbname=replica\"\n";
    auto s = loyalty::hq::loadSettings(loyalty::hq::DataDir{dir.path()});
    REQUIRE(s);
    CHECK(s->reportsDsn == "dbname=replica");
  }

  SECTION("the reports API reads the reports connection, everything else the storage") {
    HqInstance hq("postgresql");
    hq.start();
    const std::string token = hq.registerTerminal("S1", "T1");
    uploadApplied(hq, token, "T1", {enrolEvent("T1", "S1", 1, "M1"), saleEvent("T1", "S1", 2, std::string("M1"), "10.00", 10)});
    hq.stop();

    // A copy of the database as it is now stands in for a replica that stopped replicating.
    auto settings = loyalty::hq::loadSettings(loyalty::hq::DataDir{hq.dataDir()});
    REQUIRE(settings);
    const std::string primary = settings->dsn;
    const auto dbname = primary.find("dbname=hq");
    REQUIRE(dbname != std::string::npos);
    std::string admin = primary, copy = primary;
    admin.replace(dbname, std::string("dbname=hq").size(), "dbname=postgres");
    copy.replace(dbname, std::string("dbname=hq").size(), "dbname=hq_reports");
    loyalty::hq::openPostgres(admin)->execScript("CREATE DATABASE hq_reports TEMPLATE hq");
    // A logical replica made before the reports' aggregate copies no DDL: serve makes it there.
    loyalty::hq::openPostgres(copy)->execScript("DROP AGGREGATE sum_bigint(BIGINT)");

    {
      // One serve cannot connect to: refused at start, naming the setting.
      std::string missing = primary;
      missing.replace(dbname, std::string("dbname=hq").size(), "dbname=no_such_replica");
      addStorageSetting(hq, "reports_dsn = \"" + missing + "\"");
      ChildProcess serve({hqBinary(), "serve", "--data", hq.dataDir(), "--listen", "127.0.0.1:0"}, Stderr::kToStdout);
      serve.closeStdin();
      std::string out;
      while (auto line = serve.readLine(std::chrono::seconds(30))) out += *line + "\n";
      CHECK(serve.wait() != 0);
      CHECK_THAT(out, Catch::Contains("storage.reports_dsn") && Catch::Contains("no_such_replica"));
    }
    {
      const std::string path = hq.dataDir() + "/hq.toml";
      std::ifstream in(path);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      text = std::regex_replace(text, std::regex("reports_dsn = \"[^\"]*\"\n"), "");
      std::ofstream(path, std::ios::trunc) << text;
    }
    addStorageSetting(hq, "reports_dsn = \"" + copy + "\"");
    hq.start();
    uploadApplied(hq, token, "T1", {saleEvent("T1", "S1", 3, std::string("M1"), "5.00", 5)});
    // The member is read from the storage: the new sale is there.
    CHECK(getJsonChecked(hq, "/api/v1/members/M1").at("balance") == 15);
    // The summary from the "replica": as it was copied.
    const json summary = getJsonChecked(hq, "/api/v1/reports/summary");
    CHECK(summary.at("sales") == 1);
    CHECK(summary.at("net_revenue") == "10.00");
    // ABC adds spend up with sum_bigint, made on the "replica" at start.
    const json abc = getJsonChecked(hq, "/api/v1/reports/abc");
    CHECK(abc.at("members_total") == 1);
    CHECK(abc.at("members").at(0).at("spend") == "10.00");

    // Each of the server's connections names what it is for, on the database it reads.
    std::set<std::string> onStorage, onReports;
    const auto sessions = loyalty::hq::openPostgres(admin)->query(
        "SELECT datname, application_name FROM pg_stat_activity WHERE datname IN ('hq', 'hq_reports') "
        "AND backend_type = 'client backend'");
    for (std::size_t i = 0; i < sessions.size(); ++i) (sessions.text(i, 0) == "hq" ? onStorage : onReports).insert(sessions.text(i, 1));
    for (const char* lane : {"loyalty-hq writer", "loyalty-hq reader", "loyalty-hq counter", "loyalty-hq refresher"}) {
      CHECK(onStorage.count(lane) == 1);
    }
    CHECK(onStorage.count("loyalty-hq reports") == 0);
    CHECK(onReports == std::set<std::string>{"loyalty-hq reports", "loyalty-hq refresher"});
  }
}
