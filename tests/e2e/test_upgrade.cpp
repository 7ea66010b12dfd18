// Upgrades (issue 16 item 6): stores written by each earlier release of the terminal, kept as SQL
// dumps in tests/fixtures/schema (its README names the release), open with this program and keep
// everything; an upgrade killed at any point finishes on the next start as if never interrupted.
#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "../support/exec_client.hpp"
#include "../support/temp_dir.hpp"
#include "loyalty/db/database.hpp"
#include "loyalty/terminal/schema.hpp"

using nlohmann::json;
using namespace loyalty;
using namespace loyalty::test;
namespace fs = std::filesystem;

namespace {

const fs::path kFixtures = fs::path(LOYALTY_SOURCE_DIR) / "tests" / "fixtures" / "schema";

struct FixtureMember {
  const char* phone;
  const char* name;
};

/// Who make_terminal_fixture.sh enrols in every version.
constexpr FixtureMember kMembers[] = {{"13812345678", "王小明"},
                                      {"13700001111", "李娜"},
                                      {"13900002222", "欧阳娜娜"},
                                      {"15800003333", "Emma Watson"},
                                      {"13600004444", "张伟"}};

int currentVersion() { return terminal::terminalMigrations().back().version; }

std::vector<int> fixtureVersions() {
  std::vector<int> versions;
  for (const auto& entry : fs::directory_iterator(kFixtures)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.starts_with("terminal-v")) versions.push_back(std::stoi(name.substr(10)));
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

/// The fixture's store in `dataDir`, as the old program left it.
void restoreFixture(int version, const fs::path& dataDir) {
  const fs::path from = kFixtures / ("terminal-v" + std::to_string(version));
  const std::string dump = readFile(from / "terminal.sql");
  db::Database((dataDir / "terminal.db").string()).exec(dump);
  if (fs::exists(from / "credentials.sql")) {
    db::Database((dataDir / "credentials.db").string()).exec(readFile(from / "credentials.sql"));
  }
  // A store that holds sealed data was sealed with the fixtures' key; an older one had no key yet.
  if (dump.find("at_rest_key_check") != std::string::npos) fs::copy_file(kFixtures / "at-rest.key", dataDir / "at-rest.key");
}

/// One JSON array per row of `select` (a query returning one column `row`).
std::vector<std::string> rows(db::Database& db, const std::string& select) {
  std::vector<std::string> out;
  auto q = db.query(select);
  while (q.step()) out.push_back(q.text("row"));
  return out;
}

bool hasColumn(db::Database& db, const std::string& table, const std::string& column) {
  return db.query("SELECT 1 FROM pragma_table_info(?) WHERE name = ?").bind(1, table).bind(2, column).step();
}

int versionOf(const fs::path& file) {
  db::Database db(file.string(), {.readOnly = true});
  if (!db::hasTable(db, "schema_version")) return 0;
  auto q = db.query("SELECT MAX(version) AS version FROM schema_version");
  q.step();
  return static_cast<int>(q.int64("version"));
}

/// What no upgrade may change, from columns every version has that hold nothing sealed (phone
/// numbers and birthdays are sealed from version 5 on: the lookups check those).
const std::map<std::string, std::string> kKept = {
    {"members", "SELECT json_array(member_id, card_no, name, tier, balance, lifetime_spend, enrolled_at, referrer_id, "
                "consent_marketing, language) AS row FROM members ORDER BY member_id"},
    {"sales", "SELECT json_array(sale_id, member_id, at, subtotal, discount, total, points_earned, points_redeemed, "
              "refunded_amount, points_reversed, result) AS row FROM sales ORDER BY sale_id"},
    {"sale_lines", "SELECT json_array(sale_id, line_no, sku, description, qty, unit_price, amount, refunded_qty) AS row "
                   "FROM sale_lines ORDER BY sale_id, line_no"},
    {"ledger", "SELECT json_array(entry_id, member_id, at, kind, points, sale_id, ref_id, balance_after) AS row "
               "FROM ledger ORDER BY entry_id"},
    {"redemptions", "SELECT json_array(redemption_id, member_id, at, points, result) AS row FROM redemptions ORDER BY redemption_id"},
    {"refunds", "SELECT json_array(refund_id, sale_id, at, amount, points_reversed, result) AS row FROM refunds ORDER BY refund_id"},
    {"outbox", "SELECT json_array(seq, event_id, type, at) AS row FROM outbox ORDER BY seq"},
    {"surveys", "SELECT json_array(survey_id, sale_id, member_id, scale, score, at) AS row FROM surveys ORDER BY survey_id"},
    {"complaints", "SELECT json_array(complaint_id, member_id, category, at) AS row FROM complaints ORDER BY complaint_id"},
    {"products", "SELECT json_array(sku, name, price, barcode, category) AS row FROM products ORDER BY sku"},
};

/// What the fixture's tables hold (those it has), table by table.
std::map<std::string, std::vector<std::string>> keptRows(const fs::path& dataDir) {
  db::Database db((dataDir / "terminal.db").string(), {.readOnly = true});
  std::map<std::string, std::vector<std::string>> kept;
  for (const auto& [table, select] : kKept) {
    if (db::hasTable(db, table)) kept[table] = rows(db, select);
  }
  return kept;
}

/// Everything an upgraded store holds but what is sealed or keyed (an old store gets a new key).
std::vector<std::string> upgradedContents(const fs::path& dataDir) {
  std::vector<std::string> all;
  db::Database db((dataDir / "terminal.db").string(), {.readOnly = true});
  std::vector<std::string> selects = {
      "SELECT json_array(type, name, tbl_name, sql) AS row FROM sqlite_schema ORDER BY name",
      "SELECT json_array(key, value) AS row FROM meta WHERE key <> 'at_rest_key_check' ORDER BY key",
      "SELECT json_array(version) AS row FROM schema_version",
      "SELECT json_array(key, member_id) AS row FROM member_name_keys ORDER BY key, member_id",
      "SELECT json_array(lot_id, entry_id, member_id, earned_on, expires_on, points, remaining) AS row FROM lots "
      "ORDER BY lot_id",
      "SELECT json_array(consent_id, member_id, at, consent_marketing, consent_version, store_id) AS row "
      "FROM member_consents ORDER BY consent_id",
      "SELECT json_array(survey_id, dimensions, staff_id) AS row FROM surveys ORDER BY survey_id",
      "SELECT json_array(member_id, erased_at, enrolled_staff, tier_upgraded_at, referral_bonus_paid) AS row "
      "FROM members ORDER BY member_id"};
  for (const auto& [table, select] : kKept) selects.push_back(select);
  for (const std::string& select : selects) {
    for (std::string& row : rows(db, select)) all.push_back(std::move(row));
  }
  db::Database credentials((dataDir / "credentials.db").string(), {.readOnly = true});
  for (std::string& row : rows(credentials, "SELECT json_array(staff_id, name, role, pin_hash, failed_attempts, active) "
                                            "AS row FROM staff ORDER BY staff_id")) {
    all.push_back(std::move(row));
  }
  return all;
}

/// What each migration leaves that the one before did not have, or takes away: a store at version
/// v shows every mark of the versions up to v and none of those after (a version is one
/// transaction: never half of one).
struct Mark {
  int from;   ///< the version that adds it
  int until;  ///< the version that removes it, or 0
  const char* table;
  const char* column;  ///< or nullptr: the table itself
};
constexpr Mark kMarks[] = {
    {1, 5, "members", "phone"},        {1, 5, "staff", nullptr},
    {2, 0, "members", "tier_upgraded_at"}, {2, 0, "lots", nullptr},
    {3, 5, "hq_link", nullptr},        {3, 0, "hq_config", nullptr},
    {4, 0, "surveys", nullptr},        {4, 0, "complaints", nullptr},
    {5, 0, "members", "phone_key"},    {5, 0, "members", "personal_sealed"},
    {6, 0, "members", "erased_at"},    {6, 0, "member_log", nullptr},
    {7, 0, "products", nullptr},       {7, 0, "product_keys", nullptr},
    {8, 0, "surveys", "dimensions"},   {9, 0, "sales", "staff_id"},
    {9, 0, "members", "enrolled_staff"}, {10, 0, "redemption_attempts", nullptr},
    {11, 0, "sales", "first_line"}};

/// The marks that do not fit `version`, e.g. "members.phone_key at version 4".
std::vector<std::string> misfits(const fs::path& dataDir, int version) {
  db::Database db((dataDir / "terminal.db").string(), {.readOnly = true});
  std::vector<std::string> wrong;
  if (db::hasTable(db, "members_sealed")) wrong.push_back("members_sealed");
  for (const Mark& m : kMarks) {
    const bool expected = m.from <= version && (m.until == 0 || version < m.until);
    const bool present = m.column ? hasColumn(db, m.table, m.column) : db::hasTable(db, m.table);
    if (present != expected) {
      wrong.push_back(std::string(m.table) + (m.column ? std::string(".") + m.column : "") + (present ? " at" : " missing at") +
                      " version " + std::to_string(version));
    }
  }
  return wrong;
}

/// Each fixture member is found by their phone and by their name; returns phone -> member id.
std::map<std::string, std::string> findMembers(Exec& exec) {
  std::map<std::string, std::string> ids;
  for (const FixtureMember& m : kMembers) {
    INFO(m.phone << " " << m.name);
    const json byPhone = ok(exec.call({{"op", "lookup"}, {"query", m.phone}}))["matches"];
    REQUIRE(byPhone.size() == 1);
    CHECK(byPhone[0]["name"] == m.name);
    const std::string id = byPhone[0]["member_id"];
    const json byName = ok(exec.call({{"op", "lookup"}, {"query", m.name}}))["matches"];
    CHECK(std::any_of(byName.begin(), byName.end(), [&id](const json& found) { return found["member_id"] == id; }));
    ids[m.phone] = id;
  }
  return ids;
}

/// The members whose balance is not the sum of their ledger.
std::vector<std::string> balancesOffTheirLedger(const fs::path& dataDir) {
  db::Database db((dataDir / "terminal.db").string(), {.readOnly = true});
  return rows(db, "SELECT json_array(member_id, balance, (SELECT COALESCE(SUM(points), 0) FROM ledger l "
                  "WHERE l.member_id = m.member_id)) AS row FROM members m WHERE balance <> (SELECT COALESCE(SUM(points), 0) "
                  "FROM ledger l WHERE l.member_id = m.member_id)");
}

}  // namespace

TEST_CASE("upgrade: a store written by each earlier release opens, keeps its members, sales and points, and sells",
          "[e2e]") {
  // Every earlier version has its fixture: a new schema version brings the last one's.
  const std::vector<int> versions = fixtureVersions();
  std::vector<int> earlier(static_cast<std::size_t>(currentVersion() - 1));
  std::iota(earlier.begin(), earlier.end(), 1);
  CHECK(versions == earlier);
  for (const int version : versions) {
    DYNAMIC_SECTION("terminal-v" << version) {
      TempDir dir;
      restoreFixture(version, dir.path());
      REQUIRE(versionOf(dir.path() / "terminal.db") == version);
      const auto before = keptRows(dir.path());
      REQUIRE(before.at("members").size() == std::size(kMembers));
      REQUIRE(before.at("sales").size() >= 5);
      REQUIRE(!before.at("ledger").empty());

      Exec exec(dir);
      CHECK(ok(exec.call({{"op", "verify"}}))["problems"] == json::array());
      const auto ids = findMembers(exec);
      const json member = ok(exec.call({{"op", "member"}, {"member", kMembers[0].phone}}));
      const json sale = ok(exec.call({{"op", "sale"},
                                      {"sale_id", "AFTER-UPGRADE"},
                                      {"member", kMembers[0].phone},
                                      {"lines", {{{"sku", "TEA-1"}, {"qty", 1}, {"unit_price", "100.00"}}}}}));
      CHECK(sale["points_earned"].get<int>() > 0);
      CHECK(sale["balance"] == member["points"].get<int>() - member["points_debt"].get<int>() + sale["points_earned"].get<int>());
      CHECK(ok(exec.call({{"op", "verify"}}))["problems"] == json::array());
      CHECK(exec.finish() == 0);

      CHECK(versionOf(dir.path() / "terminal.db") == currentVersion());
      CHECK(versionOf(dir.path() / "credentials.db") == terminal::credentialsMigrations().back().version);
      CHECK(misfits(dir.path(), currentVersion()) == std::vector<std::string>{});
      CHECK(balancesOffTheirLedger(dir.path()) == std::vector<std::string>{});
      // The one sale made here is all that is new: its row, its points, its event and its buyer's figures.
      const std::string buyer = ids.at(kMembers[0].phone);
      const auto without = [](std::vector<std::string> held, const std::string& needle) {
        std::erase_if(held, [&needle](const std::string& row) { return row.find(needle) != std::string::npos; });
        return held;
      };
      const auto after = keptRows(dir.path());
      CHECK(after.at("sales").size() == before.at("sales").size() + 1);
      CHECK(after.at("ledger").size() == before.at("ledger").size() + 1);
      for (const auto& [table, held] : before) {
        INFO(table);
        std::vector<std::string> now = after.at(table);
        if (table == "sales" || table == "sale_lines") now = without(now, "\"AFTER-UPGRADE\"");
        if (table == "ledger" || table == "outbox") now.resize(held.size());  // in order: the new rows come last
        if (table == "members") {
          CHECK(without(now, buyer) == without(held, buyer));
        } else {
          CHECK(now == held);
        }
      }
    }
  }
}

TEST_CASE("upgrade: killed at any point, the upgrade of the oldest store finishes on the next start as if never "
          "interrupted", "[e2e][slow]") {
  const int oldest = fixtureVersions().front();

  // The uninterrupted upgrade: what every interrupted one must end with, and how long it takes.
  TempDir reference;
  restoreFixture(oldest, reference.path());
  const auto began = std::chrono::steady_clock::now();
  {
    Exec exec(reference);
    ok(exec.call({{"op", "stats"}}));
    CHECK(exec.finish() == 0);
  }
  const auto upgradeTime = std::chrono::steady_clock::now() - began;
  const std::vector<std::string> expected = upgradedContents(reference.path());
  REQUIRE(versionOf(reference.path() / "terminal.db") == currentVersion());

  // Kills spread over the whole run (most of it is start-up); then kills as soon as each version
  // is seen committed, and a little after, so some land inside the next migration whatever the
  // host's timing.
  using Delay = std::chrono::duration<double, std::micro>;
  std::map<int, int> killedAt;  // the version a kill left -> how many kills
  const auto killAfter = [oldest, &expected, &killedAt](int seenVersion, Delay delay) {
    TempDir dir;
    restoreFixture(oldest, dir.path());
    {
      ChildProcess child({terminalBinary(), "exec", "--data", dir.str()});
      if (seenVersion > oldest) {
        db::Database watch((dir.path() / "terminal.db").string(), {.readOnly = true});
        const auto giveUp = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        bool reached = false;
        while (!reached && std::chrono::steady_clock::now() < giveUp) {
          auto q = watch.query("SELECT MAX(version) AS version FROM schema_version");
          reached = q.step() && q.int64("version") >= seenVersion;
        }
        REQUIRE(reached);
      }
      std::this_thread::sleep_for(delay);
      child.killHard();
    }
    const int left = versionOf(dir.path() / "terminal.db");
    INFO("killed " << delay.count() << " us after version " << seenVersion << " and left version " << left);
    REQUIRE(left >= std::max(oldest, seenVersion));
    REQUIRE(left <= currentVersion());
    CHECK(misfits(dir.path(), left) == std::vector<std::string>{});
    ++killedAt[left];

    Exec exec(dir);
    CHECK(ok(exec.call({{"op", "verify"}}))["problems"] == json::array());
    findMembers(exec);
    CHECK(exec.finish() == 0);
    CHECK(upgradedContents(dir.path()) == expected);
  };
  constexpr int kSweep = 16;
  for (int i = 0; i < kSweep; ++i) killAfter(0, Delay(upgradeTime) * 1.2 * i / kSweep);
  int kills = kSweep;
  for (int version = oldest + 1; version <= currentVersion(); ++version) {
    for (const double us : {0.0, 100.0, 300.0}) {
      killAfter(version, Delay(us));
      ++kills;
    }
  }

  std::string figures;
  int between = 0;
  for (const auto& [version, count] : killedAt) {
    figures += " v" + std::to_string(version) + ":" + std::to_string(count);
    if (version > oldest && version < currentVersion()) between += count;
  }
  WARN(kills << " kills during an upgrade from version " << oldest << " taking "
              << std::chrono::duration_cast<std::chrono::milliseconds>(upgradeTime).count()
              << " ms; versions they left:" << figures << " (" << between << " part way through the upgrade)");
  // Kills that left the upgrade part way done, or the test proves nothing about resuming one.
  CHECK(between > 0);
}

TEST_CASE("upgrade to version 11: the lines of every earlier sale are found by the range its row names, and refunds "
          "reach the right ones",
          "[e2e]") {
  // Version 11 moves sale lines into a rowid table without an index of their own: each sale's row
  // names its lines' range. A line refunded before the upgrade stays refunded; the rest refund now.
  TempDir dir;
  restoreFixture(fixtureVersions().back(), dir.path());
  Exec exec(dir);
  const json refund = ok(exec.call({{"op", "refund"}, {"refund_id", "RF-AFTER-UPGRADE"}, {"sale_id", "S-4"}}));
  CHECK(refund["amount"] == "238.50");  // TEA-1 150.00 and the CUP-1 at 88.50 not refunded before
  const json again = exec.call({{"op", "refund"}, {"refund_id", "RF-AGAIN"}, {"sale_id", "S-4"}});
  CHECK(again["ok"] == false);
  const json other = ok(exec.call({{"op", "refund"}, {"refund_id", "RF-S5"}, {"sale_id", "S-5"}, {"lines", {{{"sku", "BAG-1"}, {"qty", 1}}}}}));
  CHECK(other["amount"] == "20.00");
  CHECK(ok(exec.call({{"op", "verify"}}))["problems"] == json::array());
  CHECK(exec.finish() == 0);

  db::Database db((dir.path() / "terminal.db").string(), {.readOnly = true});
  CHECK(rows(db, "SELECT json_array(s.sale_id, l.line_no, l.sku, l.qty, l.refunded_qty) AS row FROM sales s "
                 "JOIN sale_lines l ON l.line_ref BETWEEN s.first_line AND s.last_line "
                 "WHERE s.sale_id IN ('S-4', 'S-5') ORDER BY l.line_ref") ==
        std::vector<std::string>{R"(["S-4",1,"TEA-1",1,1])", R"(["S-4",2,"CUP-1",2,2])", R"(["S-5",1,"BAG-1",3,1])"});
  // Every line belongs to the sale whose range holds it, and every sale's range holds its lines.
  CHECK(rows(db, "SELECT json_array(l.line_ref, l.sale_id) AS row FROM sale_lines l JOIN sales s USING (sale_id) "
                 "WHERE l.line_ref NOT BETWEEN s.first_line AND s.last_line") == std::vector<std::string>{});
  CHECK(rows(db, "SELECT json_array(sale_id) AS row FROM sales s WHERE last_line - first_line + 1 IS NOT "
                 "(SELECT COUNT(*) FROM sale_lines l WHERE l.sale_id = s.sale_id)") == std::vector<std::string>{});
}
