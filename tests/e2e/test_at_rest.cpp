// The terminal's files at rest, through the real binary: a store written by version 4 (phones,
// birthdays, the bearer token and PIN hashes in clear inside terminal.db) is upgraded when opened
// and keeps none of it in clear, in its WAL or free pages; a missing or wrong key stops start-up.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "../support/at_rest_scan.hpp"
#include "../support/exec_client.hpp"
#include "../support/temp_dir.hpp"
#include "loyalty/core/text.hpp"
#include "loyalty/db/database.hpp"
#include "loyalty/db/migrations.hpp"
#include "loyalty/terminal/schema.hpp"
#include "loyalty/terminal/store.hpp"
#include "loyalty/terminal/sync_link.hpp"

using nlohmann::json;
using namespace loyalty;
using namespace loyalty::test;
namespace fs = std::filesystem;

namespace {

const char* kMemberA = "6f1c3a52-0000-4000-8000-0000000000a1";
const char* kMemberB = "6f1c3a52-0000-4000-8000-0000000000b2";
const char* kToken = "tok-v4-bearer-5f0c6d2e9a81b7c4";
const char* kPinHash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$0Y3G1r9bHn8pQ5t2Wm4eKx7LcVzAfRjUoNsDhIgBq1E";

void execSql(db::Database& db, const std::string& sql) { db.exec(sql); }

std::string reversedDigits(const std::string& e164) {
  std::string d = digitsOf(e164);
  return {d.rbegin(), d.rend()};
}

void insertMember(db::Database& db, const char* id, const char* card, const std::string& phone, const std::string& name,
                  const char* birthday, std::int64_t balance, std::int64_t spend) {
  db.query("INSERT INTO members(member_id, card_no, phone, phone_rev, name, name_norm, birthday, consent_marketing, "
           "tier, enrolled_at, enrolled_store, enrolled_terminal, balance, lifetime_spend) "
           "VALUES (?,?,?,?,?,?,?,1,'member','2026-03-01T09:00:00Z','S001','T1',?,?)")
      .bind(1, id).bind(2, card).bind(3, phone).bind(4, reversedDigits(phone)).bind(5, name)
      .bind(6, normalizeName(name)).bind(7, birthday).bind(8, balance).bind(9, spend)
      .run();
  for (const std::string& k : nameSearchKeys(normalizeName(name))) {
    db.query("INSERT INTO member_name_keys(key, member_id) VALUES (?, ?)").bind(1, k).bind(2, id).run();
  }
  const json payload = {{"member_id", id}, {"card_no", card}, {"phone", phone}, {"name", name}, {"birthday", birthday},
                        {"store_id", "S001"}, {"terminal_id", "T1"}};
  db.query("INSERT INTO outbox(event_id, type, at, payload) VALUES (?, 'member.enrolled', '2026-03-01T09:00:00Z', ?)")
      .bind(1, std::string(id).replace(0, 8, "e0e0e0e0")).bind(2, payload.dump())
      .run();
}

/// A store as version 4 of the program left it: everything in clear in terminal.db, plus the
/// residue a real store collects (an old phone in a page's free space, free pages of rows gone).
void writeVersion4Store(const fs::path& dir) {
  db::Database db((dir / "terminal.db").string());
  REQUIRE(db::migrate(db, terminal::terminalMigrations().first(4)) == 4);
  // Version 4 never asked for secure deletion; SQLite built without SQLITE_SECURE_DELETE keeps
  // what is deleted or overwritten in free space.
  execSql(db, "PRAGMA secure_delete=OFF");
  execSql(db, "INSERT INTO meta(key, value) VALUES ('store_id', 'S001'), ('terminal_id', 'T1')");
  insertMember(db, kMemberA, "8000000000000003", "+8613812345678", "王小明", "1990-05-06", 100, 10000);
  insertMember(db, kMemberB, "8000000000000011", "+8613987654321", "Lucy Li", "1985-12-31", 0, 0);
  // Head office changed B's phone: the old number stays in the page's free space.
  db.query("UPDATE members SET phone = ?, phone_rev = ? WHERE member_id = ?")
      .bind(1, "+8613700001111").bind(2, reversedDigits("+8613700001111")).bind(3, kMemberB)
      .run();
  execSql(db,
      "INSERT INTO sales(sale_id, member_id, at, subtotal, discount, total, points_earned, points_redeemed, "
      "refundable, fingerprint, result, promo_context) VALUES ('S-1', '" + std::string(kMemberA) +
          "', '2026-03-01T10:00:00Z', 10000, 0, 10000, 100, 0, 10000, 'fp', '{}', "
          "'{\"today\":\"2026-03-01\",\"member\":true,\"tier\":0,\"birthday\":\"1990-05-06\",\"promotions\":[],"
          "\"gifts\":[]}');"
          "INSERT INTO sale_lines(sale_id, line_no, sku, qty, unit_price, amount) VALUES ('S-1', 1, 'OIL-5L', 1, 1000000, 10000);"
          "INSERT INTO ledger(member_id, at, kind, points, sale_id, ref_id, balance_after) VALUES ('" +
          kMemberA + "', '2026-03-01T10:00:00Z', 'earn', 100, 'S-1', 'S-1', 100);"
          "INSERT INTO lots(entry_id, member_id, earned_on, expires_on, points, remaining) VALUES (1, '" + kMemberA +
          "', '2026-03-01', '2027-12-31', 100, 100);"
          "INSERT INTO outbox(event_id, type, at, payload) VALUES ('e1e1e1e1-0000-4000-8000-000000000001', "
          "'sale.recorded', '2026-03-01T10:00:00Z', '{\"sale_id\":\"S-1\",\"member_id\":\"" + kMemberA +
          "\",\"points_earned\":100,\"points_redeemed\":0}');"
          "INSERT INTO complaints(complaint_id, member_id, category, description, at) VALUES ('C1', '" + kMemberA +
          "', 'service', 'call back on 138 1234 5678', '2026-03-01T10:05:00Z');");
  db.query("INSERT INTO staff(staff_id, name, role, pin_hash) VALUES ('7', 'Wang', 'supervisor', ?)").bind(1, kPinHash).run();
  db.query("INSERT INTO hq_link(id, hq_url, ca_pem, token, store_id, terminal_id, timezone, registered_at) "
           "VALUES (1, 'https://127.0.0.1:9', '-----BEGIN CERTIFICATE-----', ?, 'S001', 'T1', 'UTC', "
           "'2026-03-01T08:00:00Z')")
      .bind(1, kToken)
      .run();
  // Rows since deleted: their pages are on the free list, content and all.
  execSql(db, "CREATE TABLE scratch (t TEXT)");
  for (int i = 0; i < 200; ++i) {
    db.query("INSERT INTO scratch(t) VALUES (?)").bind(1, "+8613612340000 " + std::string(200, 'x')).run();
  }
  execSql(db, "DROP TABLE scratch");
}

std::vector<std::string> version4Secrets() {
  std::vector<std::string> needles = {"1990-05-06", "1985-12-31", kToken, kPinHash, "$argon2id$"};
  for (const char* phone : {"13812345678", "13987654321", "13700001111", "13612340000"}) {
    for (std::string& form : phoneForms(phone)) needles.push_back(std::move(form));
  }
  return needles;
}

/// The first line a terminal command prints (stdout and stderr together) and its exit code.
std::pair<int, std::string> firstLine(const std::vector<std::string>& argv, const std::string& input) {
  ChildProcess child(argv, Stderr::kToStdout);
  child.write(input);
  child.closeStdin();
  const auto line = child.readLine();
  return {child.wait(), line.value_or("")};
}

void spit(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes; }

}  // namespace

TEST_CASE("exec: a version 4 store is upgraded and its files keep no phone, birthday, token or PIN hash in clear",
          "[e2e]") {
  TempDir dir;
  writeVersion4Store(dir.path());
  fs::permissions(dir.path(), fs::perms(0755));
  fs::permissions(dir.path() / "terminal.db", fs::perms(0644));
  {
    // The scan can fail: before the upgrade each of these is in the file.
    const auto before = terminalFiles(dir.path());
    for (const char* needle : {"+8613987654321", "+8613612340000", "1990-05-06", kToken, kPinHash}) {
      INFO(needle);
      CHECK(!findIn(before, {needle}).empty());
    }
  }

  Exec exec(dir);
  const json a = ok(exec.call({{"op", "member"}, {"member", "138 1234 5678"}}));
  CHECK(a["member_id"] == kMemberA);
  CHECK(a["birthday"] == "1990-05-06");
  CHECK(a["phone_masked"] == "138****5678");
  for (const char* query : {"5678", "345678", "13812345678", "8000000000000003", "LOYALTY:M1:8000000000000003", "小明"}) {
    INFO(query);
    const json found = ok(exec.call({{"op", "lookup"}, {"query", query}}))["matches"];
    REQUIRE(found.size() == 1);
    CHECK(found[0]["member_id"] == kMemberA);
  }
  CHECK(ok(exec.call({{"op", "member"}, {"member", "13700001111"}}))["member_id"] == kMemberB);
  CHECK(error(exec.call({{"op", "member"}, {"member", "13987654321"}}))["code"] == "not_found");
  // The sale's promotion context lost the birthday; a refund still reads it.
  const json refund = ok(exec.call({{"op", "refund"}, {"refund_id", "R-1"}, {"sale_id", "S-1"}}));
  CHECK(refund["amount"] == "100.00");
  CHECK(refund["points_reversed"] == 100);
  CHECK(ok(exec.call({{"op", "verify"}}))["problems"] == json::array());
  // Staff and the link to head office moved, not lost.
  const auto unlocked = firstLine({terminalBinary(), "staff", "unlock", "--data", dir.str(), "--id", "7"}, "");
  CHECK(unlocked.first == 0);
  const auto files = terminalFiles(dir.path());
  REQUIRE(files.count("terminal.db-wal") == 1);
  std::map<std::string, std::string> memberDb;
  for (const auto& [name, bytes] : files) {
    if (name.starts_with("terminal.db")) memberDb[name] = bytes;
  }
  CHECK(findIn(memberDb, version4Secrets()) == std::vector<std::string>{});
  CHECK(modeOf(dir.path()) == 0700);
  for (const char* name : {"terminal.db", "terminal.db-wal", "terminal.db-shm", "credentials.db", "at-rest.key"}) {
    INFO(name);
    CHECK(modeOf(dir.path() / name) == 0600);
  }
  CHECK(exec.finish() == 0);
  memberDb.clear();
  for (const auto& [name, bytes] : terminalFiles(dir.path())) {
    if (name.starts_with("terminal.db")) memberDb[name] = bytes;
  }
  CHECK(findIn(memberDb, version4Secrets()) == std::vector<std::string>{});
  auto db = terminal::openTerminalDatabase(dir.str());
  const auto link = terminal::loadHqLink(db);
  REQUIRE(link);
  CHECK(link->token == kToken);
}

TEST_CASE("exec: a missing or wrong at-rest key stops start-up naming the key file, and no new key is made", "[e2e]") {
  TempDir dir;
  {
    Exec exec(dir);
    ok(exec.call({{"op", "enroll"}, {"phone", "13812345678"}, {"name", "王小明"}, {"consent_marketing", false}}));
    CHECK(exec.finish() == 0);
  }
  const fs::path key = dir.path() / "at-rest.key";
  const std::string right = readFile(key);
  REQUIRE(right.size() == 32);
  const std::vector<std::string> lookup = {terminalBinary(), "exec", "--data", dir.str()};
  const std::string query = json{{"op", "lookup"}, {"query", "5678"}}.dump() + "\n";

  fs::remove(key);
  auto [code, message] = firstLine(lookup, query);
  CHECK(code != 0);
  CHECK(message.find(key.string() + " is missing") != std::string::npos);
  CHECK(!fs::exists(key));

  std::string wrong = right;
  wrong[0] = static_cast<char>(wrong[0] ^ 0x5A);
  spit(key, wrong);
  std::tie(code, message) = firstLine(lookup, query);
  CHECK(code != 0);
  CHECK(message.find(key.string() + " is not the key") != std::string::npos);

  spit(key, right.substr(0, 16));
  std::tie(code, message) = firstLine(lookup, query);
  CHECK(code != 0);
  CHECK(message.find(key.string() + " is not a key: it must hold exactly 32 bytes") != std::string::npos);

  // The key kept elsewhere (a systemd credential, a TPM-backed file) and named by the environment.
  TempDir elsewhere;
  const fs::path moved = elsewhere.path() / "loyalty.key";
  spit(moved, right);
  fs::remove(key);
  ::setenv("LOYALTY_AT_REST_KEY_FILE", moved.c_str(), 1);
  std::tie(code, message) = firstLine(lookup, query);
  ::unsetenv("LOYALTY_AT_REST_KEY_FILE");
  CHECK(code == 0);
  CHECK(json::parse(message)["result"]["matches"].size() == 1);
  CHECK(!fs::exists(key));

  spit(key, right);
  std::tie(code, message) = firstLine(lookup, query);
  CHECK(code == 0);
  CHECK(json::parse(message)["result"]["matches"][0]["name"] == "王小明");
}

TEST_CASE("exec: a deleted credentials file comes back empty and the members stay", "[e2e]") {
  TempDir dir;
  const std::vector<std::string> addStaff = {terminalBinary(), "staff", "add", "--data", dir.str(), "--id", "7",
                                             "--name", "Wang", "--role", "supervisor"};
  REQUIRE(firstLine(addStaff, "864213\n").first == 0);
  {
    Exec exec(dir);
    ok(exec.call({{"op", "enroll"}, {"phone", "13812345678"}, {"name", "王小明"}, {"consent_marketing", false}}));
    CHECK(exec.finish() == 0);
  }
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(dir.path() / (std::string("credentials.db") + suffix));

  const auto unlock = firstLine({terminalBinary(), "staff", "unlock", "--data", dir.str(), "--id", "7"}, "");
  CHECK(unlock.first != 0);
  CHECK(unlock.second.find("no staff account 7") != std::string::npos);
  Exec exec(dir);
  CHECK(ok(exec.call({{"op", "lookup"}, {"query", "5678"}}))["matches"].size() == 1);
  CHECK(exec.finish() == 0);
  CHECK(firstLine(addStaff, "864213\n").first == 0);
  CHECK(modeOf(dir.path() / "credentials.db") == 0600);
}
