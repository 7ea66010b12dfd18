// Members' rights end to end over HTTPS: a real loyalty-hq and two terminals of two stores. A
// member enrolled at store A has their details changed and withdraws consent there; head office
// shows who did it, where and when; the member exports their data at the counter; head office
// erases them; after one sync each terminal finds them by no means, no file of either terminal
// holds their name, phone or birthday, their sales and points stay, and head office's audit trail
// shows the reads, the export and the erasure.
#include <catch2/catch.hpp>

#include <filesystem>

#include "../../support/at_rest_scan.hpp"
#include "../../support/exec_client.hpp"
#include "sync_fixture.hpp"

using namespace loyalty;
using namespace loyalty::test;
using nlohmann::json;

namespace {

const std::string kPhone = "13812345678";
const std::string kCard = "6200000000000005";  // Luhn-valid

/// The bytes of every file in the terminal's data directory (databases, WAL, shared memory,
/// key file, whatever else is there): name -> bytes.
std::map<std::string, std::string> everyFile(const std::filesystem::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) files[entry.path().filename().string()] = slurp(entry.path());
  }
  return files;
}

json result(const json& response) {
  INFO(response.dump());
  REQUIRE(response["ok"] == true);
  return response["result"];
}

/// The member is found by none of the ways the counter has.
void checkGone(const Terminal& t, const std::string& memberId) {
  INFO(t.dataDir());
  for (const std::string& ref : std::vector<std::string>{memberId, kCard, kPhone, "+86 138 1234 5678", "LOYALTY:M1:" + kCard}) {
    INFO(ref);
    const json r = t.execOne({{"op", "member"}, {"member", ref}});
    REQUIRE(r["ok"] == false);
    CHECK(r["error"]["code"] == "not_found");
  }
  for (const std::string& query : std::vector<std::string>{memberId, kCard, kPhone, kPhone.substr(7), kPhone.substr(4),
                                                           "LOYALTY:M1:" + kCard, "王", "王晓明", "晓明", "王小明"}) {
    INFO(query);
    CHECK(result(t.execOne({{"op", "lookup"}, {"query", query}}))["matches"].empty());
  }
  CHECK(t.execOne({{"op", "export_member"}, {"member", memberId}})["error"]["code"] == "not_found");
}

bool hasAction(const json& entries, const std::string& action, const std::string& subject) {
  return std::any_of(entries.begin(), entries.end(), [&](const json& e) {
    return e["action"] == action && e.value("subject", "") == subject;
  });
}

}  // namespace

TEST_CASE("Members' rights: update, consent withdrawal, export and erasure reach head office and every terminal",
          "[sync][e2e]") {
  Hq hq;
  hq.start();
  Terminal a, b;
  REQUIRE(a.registerWith(hq, hq.addTerminal("S001", "T1")).exit == 0);
  REQUIRE(b.registerWith(hq, hq.addTerminal("S002", "T2")).exit == 0);

  // Store A: enrolment, a sale, a change of details, consent withdrawn; each with its staff member.
  const auto atA = a.exec({
      {{"op", "enroll"}, {"phone", kPhone}, {"name", "王小明"}, {"birthday", "1990-05-06"}, {"card_no", kCard},
       {"consent_marketing", true}, {"staff_id", "A-1"}, {"at", "2026-12-01T09:00:00Z"}},
      {{"op", "sale"}, {"sale_id", "S-1"}, {"member", kPhone}, {"staff_id", "A-1"}, {"at", "2026-12-01T09:05:00Z"},
       {"lines", {{{"sku", "SKU-1"}, {"qty", 1}, {"unit_price", "120.00"}}}}},
      {{"op", "complaint"}, {"complaint_id", "C-1"}, {"member", kPhone}, {"category", "service"},
       {"description", "call 王小明 back on " + kPhone}, {"staff_id", "A-1"}},
      {{"op", "member_update"}, {"member", kPhone}, {"name", "王晓明"}, {"birthday", "1991-06-07"}, {"staff_id", "A-1"},
       {"at", "2026-12-02T10:00:00Z"}},
      {{"op", "consent"}, {"member", kCard}, {"consent_marketing", false}, {"staff_id", "A-2"},
       {"at", "2026-12-03T11:00:00Z"}},
  });
  const std::string memberId = result(atA.at(0))["member_id"];
  for (const json& r : atA) result(r);
  const RunResult syncA = a.syncOnce();
  INFO(syncA.err);
  REQUIRE(syncA.exit == 0);
  REQUIRE(syncA.json()["pending"] == 0);

  // Head office has the change with store, staff and time, and the consent history.
  const json member = hq.get("/api/v1/members/" + memberId);
  CHECK(member["name"] == "王晓明");
  CHECK(member["birthday"] == "1991-06-07");
  CHECK(member["consent_marketing"] == false);
  CHECK(member["consent_store"] == "S001");
  CHECK(member["consent_at"] == "2026-12-03T11:00:00Z");
  const json exported = hq.get("/api/v1/members/" + memberId + "/export");
  REQUIRE(exported["consents"].size() == 2);
  CHECK(exported["consents"][0]["staff_id"] == "A-1");
  CHECK(exported["consents"][1]["consent_marketing"] == false);
  CHECK(exported["consents"][1]["consent_version"] == "2026-01");
  CHECK(exported["consents"][1]["staff_id"] == "A-2");
  CHECK(exported["consents"][1]["store_id"] == "S001");
  const json changes = exported["changes"];
  REQUIRE(changes.size() == 2);
  CHECK(changes[0]["at"] == "2026-12-02T10:00:00Z");
  CHECK(changes[0]["store_id"] == "S001");
  CHECK(changes[0]["terminal_id"] == "T1");
  CHECK(changes[0]["staff_id"] == "A-1");
  CHECK(changes[0]["fields"] == json{"birthday", "name"});
  CHECK(exported["sales"].size() == 1);

  // Store B receives the member, and queues a change of its own before it hears of the erasure.
  REQUIRE(b.syncOnce().exit == 0);
  CHECK(result(b.execOne({{"op", "member"}, {"member", kPhone}}))["name"] == "王晓明");
  result(b.execOne({{"op", "member_update"}, {"member", kCard}, {"name", "王二明"}, {"staff_id", "B-1"}}));
  result(b.execOne(sale("S-2", memberId, "30.00")));

  // The member's own export at the counter: everything store A holds, the whole phone number too.
  const json mine = result(a.execOne({{"op", "export_member"}, {"member", memberId}, {"staff_id", "A-2"}}));
  CHECK(mine["member"]["phone"] == "+86" + kPhone);
  CHECK(mine["member"]["birthday"] == "1991-06-07");
  CHECK(mine["consents"].size() == 2);
  CHECK(mine["sales"] == 1);

  const json erased = hq.post("/api/v1/admin/members/" + memberId + "/erase", {{"reason", "the member asked (PIPL art. 47)"}});
  CHECK(erased["member_id"] == memberId);

  // Counters running: their open connections keep the WAL beside each database (a last connection
  // closing would checkpoint and delete it), so what the erasure leaves there is seen below.
  Exec runningA(a.dataDir()), runningB(b.dataDir());
  for (const Terminal* t : {&a, &b}) {
    const RunResult s = t->syncOnce();
    INFO(t->dataDir() << ": " << s.err);
    REQUIRE(s.exit == 0);
    CHECK(s.json()["pending"] == 0);  // B's queued change was refused for good (erased), not retried
  }
  for (const Terminal* t : {&a, &b}) {
    // No file of the terminal keeps the name, the phone, the birthday or the card number.
    std::vector<std::string> needles = phoneForms(kPhone);
    needles.push_back(kCard);
    for (const char* s : {"王小明", "王晓明", "王二明", "晓明", "1990-05-06", "1991-06-07"}) needles.push_back(s);
    INFO(t->dataDir());
    CHECK(findIn(everyFile(t->dataDir()), needles) == std::vector<std::string>{});
  }
  for (const Terminal* t : {&a, &b}) {
    checkGone(*t, memberId);
    const json stats = result(t->execOne({{"op", "stats"}}));
    CHECK(stats["sales"] == 1);  // sales and points stay under the member id
    CHECK(stats["ledger_entries"].get<int>() >= 1);
    CHECK(t->verify().exit == 0);
  }
  CHECK(runningA.finish() == 0);
  CHECK(runningB.finish() == 0);
  // B's sale reached head office; its change of the erased member's name did not.
  CHECK(hq.get("/api/v1/reports/summary")["sales"] == 2);
  const json gone = hq.get("/api/v1/admin/audit");
  CHECK(hasAction(gone["entries"], "member.read", memberId));
  CHECK(hasAction(gone["entries"], "member.export", memberId));
  CHECK(hasAction(gone["entries"], "member.erase", memberId));
  CHECK(hasAction(gone["entries"], "event.rejected", memberId));
}
