// A stolen counter: a copy of a terminal's data directory (database, WAL, shared memory,
// credentials file, free pages) reveals no member's phone number or birthday, whether the member
// was enrolled there, imported, or arrived through head office's change feed; the member
// database holds no bearer token or PIN hash; only the owner may read any of it. Real
// loyalty-terminal and loyalty-hq processes over HTTPS on 127.0.0.1.
#include <catch2/catch.hpp>

#include <fstream>

#include "../../support/at_rest_scan.hpp"
#include "../../support/exec_client.hpp"
#include "loyalty/db/database.hpp"
#include "sync_fixture.hpp"

using namespace loyalty;
using namespace loyalty::test;
using nlohmann::json;

namespace {

struct Person {
  std::string phone;  ///< national, 11 digits
  std::string typed;  ///< as the cashier typed it
  std::string name;
  std::string birthday;
};

const std::vector<Person> kEnrolled = {{"13812345678", "138 1234 5678", "王小明", "1990-05-06"},
                                       {"13987654321", "139-8765-4321", "Lucy Li", "1985-12-31"}};
const std::vector<Person> kImported = {{"13711112222", "137 1111 2222", "张伟", "1979-01-02"},
                                       {"13633334444", "13633334444", "李娜", "2001-07-08"}};

std::vector<std::string> personalData() {
  std::vector<std::string> needles;
  for (const auto* people : {&kEnrolled, &kImported}) {
    for (const Person& p : *people) {
      for (std::string& form : phoneForms(p.phone)) needles.push_back(std::move(form));
      needles.push_back(p.birthday);
    }
  }
  return needles;
}

/// Everything in `files` except the credentials file and its WAL/shared memory.
std::map<std::string, std::string> memberDatabase(std::map<std::string, std::string> files) {
  for (auto it = files.begin(); it != files.end();) {
    it = it->first.starts_with("credentials.db") ? files.erase(it) : std::next(it);
  }
  return files;
}

std::string scalarText(db::Database& db, const char* sql, const char* column) {
  auto q = db.query(sql);
  REQUIRE(q.step());
  return q.text(column);
}

/// The files a thief copies hold no phone or birthday.
void checkPersonalData(const std::filesystem::path& dir, const std::string& when) {
  INFO(dir.string() << ", " << when);
  const auto files = terminalFiles(dir);
  REQUIRE(files.count("terminal.db") == 1);
  CHECK(findIn(files, personalData()) == std::vector<std::string>{});
}

/// The member database holds no credential; the credentials file holds them.
void checkCredentials(const std::filesystem::path& dir, const std::vector<std::string>& secrets) {
  INFO(dir.string());
  const auto files = terminalFiles(dir);
  REQUIRE(files.count("credentials.db") == 1);
  CHECK(findIn(memberDatabase(files), secrets) == std::vector<std::string>{});
}

/// The directory and every file the terminal keeps in it are its owner's alone.
void checkModes(const std::filesystem::path& dir) {
  INFO(dir.string());
  CHECK(modeOf(dir) == 0700);
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    INFO(entry.path().filename().string());
    CHECK(modeOf(entry.path()) == 0600);
  }
}

/// Every way the counter finds a member still finds `memberId`.
void checkLookups(Exec& exec, const Person& p, const std::string& memberId, const std::string& card) {
  INFO(p.name);
  for (const std::string& query : {p.phone, p.typed, p.phone.substr(7), p.phone.substr(5), card,
                                    "LOYALTY:M1:" + card, p.name}) {
    INFO(query);
    const json found = ok(exec.call({{"op", "lookup"}, {"query", query}}))["matches"];
    const bool listed = std::any_of(found.begin(), found.end(), [&](const json& m) { return m["member_id"] == memberId; });
    CHECK(listed);
  }
  const json member = ok(exec.call({{"op", "member"}, {"member", p.phone}}));
  CHECK(member["member_id"] == memberId);
  CHECK(member["birthday"] == p.birthday);
  CHECK(member["phone_masked"] == p.phone.substr(0, 3) + "****" + p.phone.substr(7));
}

}  // namespace

TEST_CASE("A copy of a terminal's files reveals no member's phone or birthday and no credential",
          "[sync][e2e]") {
  Hq hq;
  hq.start();
  Terminal a, b;
  REQUIRE(a.registerWith(hq, hq.addTerminal("S001", "T1")).exit == 0);
  REQUIRE(run({terminalBinary(), "staff", "add", "--data", a.dataDir(), "--id", "7", "--name", "Wang",
               "--role", "supervisor"},
              "864213\n")
              .exit == 0);

  std::map<std::string, std::pair<std::string, std::string>> ids;  // phone -> member id, card
  {
    // An open connection keeps the WAL and shared-memory files beside the database, as on a
    // running counter: they are copied too.
    Exec onA(a.dataDir());
    for (const Person& p : kEnrolled) {
      const json m = ok(onA.call({{"op", "enroll"}, {"phone", p.typed}, {"name", p.name}, {"birthday", p.birthday},
                                  {"consent_marketing", true}}));
      ids[p.phone] = {m["member_id"], m["card_no"]};
    }
    ok(onA.call({{"op", "complaint"}, {"complaint_id", "C1"}, {"member", kEnrolled[0].phone}, {"category", "service"},
                 {"description", "call back on " + kEnrolled[0].typed + ", born " + kEnrolled[0].birthday}}));
    TempDir io;
    const auto csv = io.path() / "members.csv";
    {
      std::ofstream out(csv);
      out << "phone,name,birthday,consent_marketing\n";
      for (const Person& p : kImported) out << p.typed << ',' << p.name << ',' << p.birthday << ",yes\n";
    }
    const RunResult imported = run({terminalBinary(), "import-members", csv.string(), "--data", a.dataDir()});
    INFO(imported.err);
    REQUIRE(imported.exit == 0);
    for (const Person& p : kImported) {
      const json m = ok(onA.call({{"op", "member"}, {"member", p.phone}}));
      ids[p.phone] = {m["member_id"], m["card_no"]};
    }
    const RunResult synced = a.syncOnce();
    INFO(synced.err);
    REQUIRE(synced.exit == 0);

    REQUIRE(b.registerWith(hq, hq.addTerminal("S002", "T2")).exit == 0);
    Exec onB(b.dataDir());
    const RunResult pulled = b.syncOnce();
    INFO(pulled.err);
    REQUIRE(pulled.exit == 0);
    REQUIRE(pulled.json().at("pulled").get<int>() >= 4);

    for (const Terminal* t : {&a, &b}) {
      REQUIRE(terminalFiles(t->dataDir()).count("terminal.db-wal") == 1);
      checkPersonalData(t->dataDir(), "while a counter has it open");
      checkModes(t->dataDir());
      db::Database credentials(t->dataDir() + "/credentials.db");
      std::vector<std::string> secrets = {scalarText(credentials, "SELECT token FROM hq_link", "token"), "$argon2id$"};
      if (t == &a) secrets.push_back(scalarText(credentials, "SELECT pin_hash FROM staff", "pin_hash"));
      checkCredentials(t->dataDir(), secrets);
    }
    for (const auto* people : {&kEnrolled, &kImported}) {
      for (const Person& p : *people) {
        const auto& [memberId, card] = ids.at(p.phone);
        checkLookups(onA, p, memberId, card);
        checkLookups(onB, p, memberId, card);  // arrived through the change feed
      }
    }
    CHECK(onA.finish() == 0);
    CHECK(onB.finish() == 0);
  }
  for (const Terminal* t : {&a, &b}) {
    checkPersonalData(t->dataDir(), "after the last process closed it");
    checkCredentials(t->dataDir(), {"$argon2id$"});
    checkModes(t->dataDir());
    CHECK(t->verify().exit == 0);
  }
}
