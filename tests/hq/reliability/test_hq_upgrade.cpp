// Head office's databases made by earlier releases (tests/fixtures/hq, see its README), on SQLite
// and on a test-started PostgreSQL: today's loyalty-hq upgrades each at start, with every row kept
// and the figures exact, and a start killed with SIGKILL part way through the upgrade leaves the
// older release's database whole, upgraded in full by the next start.
#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include "../support/hq_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

/// Every release's fixture, oldest first (tests/fixtures/hq/README.md).
const std::vector<std::string> kFixtures = {"hq-1-analytics", "hq-1-claims", "hq-1-products", "hq-1-staff", "hq-1-outreach",
                                            "hq-2-audit",     "hq-3-survey-index"};

fs::path fixtureDir(const std::string& name) { return fs::path(LOYALTY_SOURCE_DIR) / "tests" / "fixtures" / "hq" / name; }

std::string fileText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Replaces the freshly initialised database of `hq` by the fixture's; returns its admin token.
std::string restoreFixture(HqInstance& hq, const std::string& backend, const std::string& name) {
  const std::string dump = fileText(fixtureDir(name) / (backend + ".sql"));
  if (backend == "sqlite") {
    const fs::path db = fs::path(hq.dataDir()) / "hq.db";
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db.string() + suffix);
    loyalty::hq::openSqlite(db.string())->execScript(dump);
  } else {
    auto c = hq.sql();
    c->execScript("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
    c->execScript(dump);  // pg_dump --inserts: plain SQL
  }
  std::string token = fileText(fixtureDir(name) / (backend + ".admin.token"));
  while (!token.empty() && token.back() == '\n') token.pop_back();
  return token;
}

/// What the upgrade must keep: the rows of every table that holds the business's records.
const std::vector<std::string> kKeptTables = {
    "terminals", "api_tokens", "events", "members", "ledger", "sales", "sale_lines", "refunds", "reservations",
    "redemptions", "survey_answers", "agg_sales", "agg_member", "agg_points", "registration_codes", "dashboard_users"};

/// Rows per kept table; only the tables `like` has, when given (an upgrade adds tables).
std::map<std::string, std::int64_t> rowCounts(loyalty::hq::SqlConnection& c, const std::map<std::string, std::int64_t>* like = nullptr) {
  std::map<std::string, std::int64_t> out;
  for (const auto& t : kKeptTables) {
    if (like && !like->count(t)) continue;
    if (c.hasTable(t)) out[t] = c.query("SELECT COUNT(*) FROM " + t).integer(0, 0);
  }
  return out;
}

/// The schema as a text: every table with its columns (order kept), and every index.
std::string schemaText(loyalty::hq::SqlConnection& c) {
  std::string out;
  const auto r = c.backend() == "sqlite"
                     ? c.query("SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p "
                               "WHERE m.type = 'table' ORDER BY m.name, p.cid")
                     : c.query("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
                               "ORDER BY table_name, ordinal_position");
  for (std::size_t i = 0; i < r.size(); ++i) out += r.text(i, 0) + "." + r.text(i, 1) + "\n";
  const auto x = c.backend() == "sqlite" ? c.query("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name")
                                         : c.query("SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname");
  for (std::size_t i = 0; i < x.size(); ++i) out += "index " + x.text(i, 0) + "\n";
  return out;
}

std::int64_t schemaVersion(loyalty::hq::SqlConnection& c) {
  return c.query("SELECT value FROM counters WHERE name = 'schema_version'").integer(0, 0);
}

/// Head office's own consistency, as `verify` proves the terminal's: every balance is its ledger
/// sum, each terminal's events are seq 1..applied_through without a gap, no event conflicts.
void checkConsistent(loyalty::hq::SqlConnection& c) {
  CHECK(c.query("SELECT m.member_id FROM members m LEFT JOIN (SELECT member_id, SUM(points) AS s FROM ledger GROUP BY member_id) l "
                "ON l.member_id = m.member_id WHERE m.balance <> COALESCE(l.s, 0)")
            .empty());
  CHECK(c.query("SELECT t.terminal_id FROM terminals t LEFT JOIN (SELECT terminal_id, COUNT(*) AS n, MAX(seq) AS top FROM events "
                "GROUP BY terminal_id) e ON e.terminal_id = t.terminal_id "
                "WHERE COALESCE(e.n, 0) <> t.applied_through OR COALESCE(e.top, 0) <> t.applied_through")
            .empty());
  CHECK(c.query("SELECT COUNT(*) FROM event_conflicts").integer(0, 0) == 0);
  // Each survey answer names its event's member, or none (filled from the payloads once).
  const auto surveys = c.query("SELECT s.event_id, s.member_id, e.payload FROM survey_answers s JOIN events e ON e.event_id = s.event_id");
  for (std::size_t i = 0; i < surveys.size(); ++i) {
    INFO(surveys.text(i, 0));
    const json member = json::parse(surveys.text(i, 2)).value("member_id", json(nullptr));
    CHECK((surveys.isNull(i, 1) ? json(nullptr) : json(surveys.text(i, 1))) == member);
  }
  // Every member given a change number has its place in the change feed.
  CHECK(c.query("SELECT member_id FROM members m WHERE change_no > 0 AND NOT EXISTS (SELECT 1 FROM member_feed f "
                "WHERE f.member_id = m.member_id AND f.change_no = m.change_no)")
            .empty());
}

json getWith(HqInstance& hq, const std::string& token, const std::string& path) {
  auto res = hq.client()->Get(path.c_str(), bearer(token));
  REQUIRE(res);
  INFO(path << ": " << res->body);
  REQUIRE(res->status == 200);
  return json::parse(res->body);
}

std::vector<std::string> sortedLines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) out.push_back(line);
  std::sort(out.begin(), out.end());
  return out;
}

void upgradesEveryFixture(const std::string& backend) {
  // What today's program makes of a new database, once started: its version and its schema.
  std::int64_t current = 0;
  std::vector<std::string> made;
  {
    HqInstance fresh(backend);
    fresh.start();
    fresh.stop();
    auto f = fresh.sql();
    current = schemaVersion(*f);
    made = sortedLines(schemaText(*f));
  }
  std::set<std::int64_t> versionsSeen;
  for (const auto& name : kFixtures) {
    INFO("fixture " << name << " on " << backend);
    HqInstance hq(backend);
    const std::string admin = restoreFixture(hq, backend, name);
    std::map<std::string, std::int64_t> before;
    std::int64_t fromVersion = 0;
    std::string sales, net;
    std::map<std::string, std::int64_t> balances;
    {
      auto c = hq.sql();
      fromVersion = schemaVersion(*c);
      versionsSeen.insert(fromVersion);
      CHECK(fromVersion < current);
      before = rowCounts(*c);
      sales = c->query("SELECT COUNT(*) FROM sales").text(0, 0);
      net = loyalty::Money::fromMinor(c->query("SELECT (SELECT SUM(total) FROM sales) - (SELECT COALESCE(SUM(amount), 0) FROM refunds)")
                                          .integer(0, 0))
                .toString();
      const auto b = c->query("SELECT member_id, balance FROM members");
      for (std::size_t i = 0; i < b.size(); ++i) balances[b.text(i, 0)] = b.integer(i, 1);
    }
    REQUIRE(before.at("events") > 20);
    hq.start();
    {
      auto c = hq.sql();
      CHECK(schemaVersion(*c) == current);
      CHECK(rowCounts(*c, &before) == before);
      checkConsistent(*c);
      // The schema of a new database, every table, column and index there (column order may differ).
      const std::vector<std::string> upgraded = sortedLines(schemaText(*c));
      std::vector<std::string> missing;
      std::set_difference(made.begin(), made.end(), upgraded.begin(), upgraded.end(), std::back_inserter(missing));
      INFO("missing after the upgrade: " << json(missing).dump());
      CHECK(missing.empty());
      // An index an upgrade step replaces is gone (no new database has it).
      for (const char* replaced : {"audit_log_at", "sales_member", "refunds_member", "members_change", "events_survey_member"}) {
        CHECK(std::find(upgraded.begin(), upgraded.end(), std::string("index ") + replaced) == upgraded.end());
      }
      const auto has = [&](const char* index) {
        return std::find(upgraded.begin(), upgraded.end(), std::string("index ") + index) != upgraded.end();
      };
      // A store's sales by member on PostgreSQL, and the days' index with the store; SQLite keeps
      // the earlier ones.
      CHECK(has("sales_store_member") == (backend == "sqlite"));
      CHECK(has("sales_day_store") == (backend == "postgresql"));
      if (backend == "postgresql") {
        CHECK(c->query("SELECT indexdef FROM pg_indexes WHERE indexname = 'sales_day_store'").text(0, 0).find(
                  "(day, member_id, total, store_id)") != std::string::npos);
      }
      CHECK(has("sales_day") == (backend == "sqlite"));
    }
    const json summary = getWith(hq, admin, "/api/v1/reports/summary");
    CHECK(summary.at("sales").dump() == sales);
    CHECK(summary.at("net_revenue") == net);
    // Ranking adds spend up with the aggregate the upgrade made on PostgreSQL (sum_bigint): its
    // statements fail without it, whatever rows there are.
    const json abc = getWith(hq, admin, "/api/v1/reports/abc");
    const json& counts = abc.at("counts");
    CHECK(counts.at("A").get<std::int64_t>() + counts.at("B").get<std::int64_t>() + counts.at("C").get<std::int64_t>() ==
          abc.at("members_total").get<std::int64_t>());
    for (const auto& [member, balance] : balances) {
      CHECK(getWith(hq, admin, "/api/v1/members/" + member).at("balance") == balance);
    }
    // Business as usual right afterwards: a new terminal registers and sells to a member.
    const std::string member = balances.begin()->first;
    const std::string token = hq.registerTerminal("S003", "T3");
    uploadApplied(hq, token, "T3", json::array({saleEvent("T3", "S003", 1, member, "50.00", 50)}));
    CHECK(getWith(hq, admin, "/api/v1/members/" + member).at("balance") == balances.at(member) + 50);
    CHECK(getWith(hq, admin, "/api/v1/reports/summary").at("sales") == std::stoll(sales) + 1);
    checkConsistent(*hq.sql());
    hq.stop();
    std::printf("upgrade (%s): %s from version %lld to %lld, %lld events, %zu members, %s sales kept\n", backend.c_str(),
                name.c_str(), static_cast<long long>(fromVersion), static_cast<long long>(current),
                static_cast<long long>(before.at("events")), balances.size(), sales.c_str());
  }
  // Every earlier version has a fixture (a release that changes the schema adds one).
  for (std::int64_t v = 1; v < current; ++v) {
    INFO("version " << v);
    CHECK(versionsSeen.count(v) == 1);
  }
}

/// Starts `serve` with the upgrade pausing after each step; SIGKILLs it once `step` is done.
/// Returns false when the upgrade finished before that step (the start completed).
bool killAfterStep(HqInstance& hq, int step) {
  ::setenv("LOYALTY_HQ_TEST_UPGRADE_PAUSE_MS", "100", 1);
  ChildProcess server({hqBinary(), "serve", "--data", hq.dataDir(), "--listen", "127.0.0.1:0"}, Stderr::kToStdout);
  ::unsetenv("LOYALTY_HQ_TEST_UPGRADE_PAUSE_MS");
  const std::string mark = "schema upgrade: step " + std::to_string(step) + " of ";
  while (auto line = server.readLine(std::chrono::seconds(30))) {
    if (line->find(mark) != std::string::npos) {
      server.killHard();
      return true;
    }
    if (line->find("listening on") != std::string::npos) break;
  }
  server.killHard();
  return false;
}

void killedUpgradeRecovers(const std::string& backend) {
  HqInstance hq(backend);
  const std::string admin = restoreFixture(hq, backend, kFixtures.front());
  std::string schemaBefore;
  std::map<std::string, std::int64_t> before;
  {
    auto c = hq.sql();
    schemaBefore = schemaText(*c);
    before = rowCounts(*c);
  }
  int kills = 0;
  // Of 24: the first, the member events' index, a store's sales by member, the change feed's log,
  // the last and some between.
  for (int step : {1, 3, 4, 7, 9, 12, 15, 23, 24}) {
    INFO("killed after step " << step);
    if (!killAfterStep(hq, step)) break;
    ++kills;
    auto c = hq.sql();
    // All or nothing: the older release's database, as it was, every time.
    CHECK(schemaVersion(*c) == 1);
    CHECK(schemaText(*c) == schemaBefore);
    CHECK(rowCounts(*c) == before);
    if (backend == "sqlite") CHECK(c->query("PRAGMA integrity_check").text(0, 0) == "ok");
  }
  CHECK(kills == 9);
  hq.start();
  auto c = hq.sql();
  CHECK(schemaVersion(*c) > 1);
  CHECK(rowCounts(*c, &before) == before);
  checkConsistent(*c);
  CHECK(getWith(hq, admin, "/api/v1/reports/summary").at("sales") == before.at("sales"));
  hq.stop();
  std::printf("killed upgrade (%s): %d SIGKILLs part way, each left version 1 whole; the next start upgraded it\n",
              backend.c_str(), kills);
}

/// A store of the release before survey_answers.member_id: the column and its index gone again,
/// and one answer's stored payload holding an escaped NUL (an earlier release stored such), which
/// PostgreSQL's cast to JSON refuses: the start fills the column, that answer by decoding it.
void fillsSurveyMembers(const std::string& backend) {
  HqInstance hq(backend);
  hq.start();
  const std::string tok = hq.registerTerminal("S1", "T1");
  const auto survey = [](std::int64_t seq, const std::string& member) {
    return json{{"event_id", "T1-v" + std::to_string(seq)}, {"seq", seq}, {"type", "survey.answered"}, {"at", "2026-11-23T09:30:00Z"},
                {"payload", {{"survey_id", "V" + std::to_string(seq)}, {"sale_id", nullptr}, {"member_id", member},
                             {"scale", "csat5"}, {"score", 4}, {"store_id", "S1"}, {"terminal_id", "T1"}}}};
  };
  uploadApplied(hq, tok, "T1", {enrolEvent("T1", "S1", 1, "M1"), survey(2, "M1"), survey(3, "M1")});
  hq.stop();
  {
    auto c = hq.sql();
    json nul = json::parse(c->query("SELECT payload FROM events WHERE event_id = 'T1-v3'").text(0, 0));
    nul["note"] = std::string("a\0b", 3);
    REQUIRE(nul.dump().find("\\u0000") != std::string::npos);
    c->query("UPDATE events SET payload = $1 WHERE event_id = 'T1-v3'", {nul.dump()});
    c->execScript("DROP INDEX survey_answers_member; ALTER TABLE survey_answers DROP COLUMN member_id");
  }
  hq.start();
  auto c = hq.sql();
  const auto r = c->query("SELECT event_id, member_id FROM survey_answers ORDER BY event_id");
  REQUIRE(r.size() == 2);
  CHECK(r.text(0, 1) == "M1");
  CHECK(r.text(1, 1) == "M1");
  CHECK(getWith(hq, hq.adminToken(), "/api/v1/members/M1/export").at("surveys").size() == 2);
}

}  // namespace

TEST_CASE("upgrade: survey answers get their members from the stored payloads, one holding an escaped NUL (SQLite)",
          "[hq][upgrade]") {
  fillsSurveyMembers("sqlite");
}

TEST_CASE("upgrade: survey answers get their members from the stored payloads, one holding an escaped NUL (PostgreSQL)",
          "[hq][upgrade]") {
  fillsSurveyMembers("postgresql");
}

TEST_CASE("upgrade: head office databases of every earlier release (SQLite) upgrade at start, rows and figures kept",
          "[hq][upgrade]") {
  upgradesEveryFixture("sqlite");
}

TEST_CASE("upgrade: head office databases of every earlier release (PostgreSQL) upgrade at start, rows and figures kept",
          "[hq][upgrade][postgresql]") {
  upgradesEveryFixture("postgresql");
}

TEST_CASE("upgrade: a head office start killed during its upgrade (SQLite) leaves the old schema whole, the next start upgrades",
          "[hq][upgrade]") {
  killedUpgradeRecovers("sqlite");
}

TEST_CASE("upgrade: a head office start killed during its upgrade (PostgreSQL) leaves the old schema whole, the next start upgrades",
          "[hq][upgrade][postgresql]") {
  killedUpgradeRecovers("postgresql");
}

TEST_CASE("upgrade: a database a newer release upgraded is refused with its version, untouched", "[hq][upgrade]") {
  HqInstance hq("sqlite");
  hq.sql()->query("UPDATE counters SET value = 99 WHERE name = 'schema_version'");
  const auto [status, out] =
      runCommand({hqBinary(), "terminal", "add", "--data", hq.dataDir(), "--store", "S1", "--terminal", "T1"}, Stderr::kToStdout);
  CHECK(status == 1);
  CHECK(out.find("schema version is 99; this loyalty-hq knows 1 to 4 (a newer release made it)") != std::string::npos);
  auto c = hq.sql();
  CHECK(schemaVersion(*c) == 99);
  CHECK(c->query("SELECT COUNT(*) FROM terminals").integer(0, 0) == 0);
}
