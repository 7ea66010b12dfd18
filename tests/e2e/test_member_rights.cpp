// Members' rights at the counter through the real binary: member_update, consent, export_member,
// and the signed-in staff member (staff_id) carried by every operation that records something.
// Events are read back from the outbox the way the sync client uploads them.
#include <catch2/catch.hpp>

#include "../support/child_process.hpp"
#include "../support/exec_client.hpp"
#include "../support/temp_dir.hpp"
#include "loyalty/terminal/store.hpp"
#include "loyalty/terminal/sync_store.hpp"

using namespace loyalty;
using namespace loyalty::test;
using nlohmann::json;

namespace {

/// Every event in the terminal's outbox, oldest first, as uploaded ({type, at, payload}).
std::vector<json> outboxEvents(const TempDir& dir) {
  db::Database db = terminal::openTerminalDatabase(dir.str());
  terminal::TerminalOutbox outbox(db);
  std::vector<json> out;
  for (const auto& e : outbox.eventsAfter(0, 1000)) out.push_back({{"type", e.type}, {"at", e.at}, {"payload", e.payload}});
  return out;
}

json lastEvent(const TempDir& dir) {
  const auto events = outboxEvents(dir);
  REQUIRE(!events.empty());
  return events.back();
}

/// `loyalty-terminal staff add` with the PIN on stdin.
void addStaff(const TempDir& dir, const std::string& id, const std::string& role, const std::string& pin) {
  ChildProcess p({terminalBinary(), "staff", "add", "--data", dir.str(), "--id", id, "--name", "Staff " + id, "--role", role},
                 Stderr::kToStdout);
  p.write(pin + "\n");
  p.closeStdin();
  while (p.readLine()) {
  }
  REQUIRE(p.wait() == 0);
}

json enrol(Exec& e, const std::string& phone, const std::string& name) {
  return ok(e.call({{"op", "enroll"}, {"phone", phone}, {"name", name}, {"birthday", "1990-05-06"},
                    {"consent_marketing", true}, {"at", "2026-12-01T09:00:00Z"}}));
}

bool finds(Exec& e, const std::string& query, const std::string& memberId) {
  const json found = ok(e.call({{"op", "lookup"}, {"query", query}}))["matches"];
  return std::any_of(found.begin(), found.end(), [&](const json& m) { return m["member_id"] == memberId; });
}

}  // namespace

TEST_CASE("member_update changes each field, keeps the lookups right and sends only what changed", "[e2e]") {
  TempDir dir;
  std::string id;
  {
    Exec e(dir);
    id = enrol(e, "13800001111", "王小明")["member_id"];
    enrol(e, "13900002222", "Lucy Li");

    const json m = ok(e.call({{"op", "member_update"}, {"member", "13800001111"}, {"name", "王大明"},
                              {"phone", "137 0000 3333"}, {"at", "2026-12-02T10:00:00Z"}}));
    CHECK(m["member_id"] == id);
    CHECK(m["name"] == "王大明");
    CHECK(m["phone_masked"] == "137****3333");
    CHECK(finds(e, "13700003333", id));
    CHECK(finds(e, "3333", id));
    CHECK(finds(e, "王大", id));
    CHECK(finds(e, "大明", id));
    CHECK_FALSE(finds(e, "1111", id));
    CHECK_FALSE(finds(e, "王小", id));
    CHECK(error(e.call({{"op", "member"}, {"member", "13800001111"}}))["code"] == "not_found");

    CHECK(ok(e.call({{"op", "member_update"}, {"member", id}, {"birthday", "1991-02-03"}}))["birthday"] == "1991-02-03");
    CHECK(ok(e.call({{"op", "member_update"}, {"member", id}, {"language", "en"}}))["language"] == "en");
    const json cleared = ok(e.call({{"op", "member_update"}, {"member", id}, {"birthday", nullptr}}));
    CHECK_FALSE(cleared.contains("birthday"));
    REQUIRE(e.finish() == 0);
  }
  const auto events = outboxEvents(dir);
  REQUIRE(events.size() == 6);  // two enrolments, four updates
  const json first = events[2];
  CHECK(first["type"] == "member.updated");
  CHECK(first["at"] == "2026-12-02T10:00:00Z");
  CHECK(first["payload"] == json{{"member_id", id}, {"name", "王大明"}, {"phone", "+8613700003333"},
                                 {"store_id", "S001"}, {"terminal_id", "T1"}});
  CHECK(events[3]["payload"]["birthday"] == "1991-02-03");
  CHECK(events[4]["payload"]["language"] == "en");
  CHECK_FALSE(events[4]["payload"].contains("birthday"));
  CHECK(events[5]["payload"].contains("birthday"));
  CHECK(events[5]["payload"]["birthday"].is_null());  // null: cleared
}

TEST_CASE("member_update refuses a taken phone and invalid fields by name, writing nothing", "[e2e]") {
  TempDir dir;
  Exec e(dir);
  const std::string id = enrol(e, "13800001111", "王小明")["member_id"];
  enrol(e, "13900002222", "Lucy Li");
  const auto refusal = [&](json request) {
    request["op"] = "member_update";
    if (!request.contains("member")) request["member"] = id;
    return error(e.call(request));
  };
  // A valid name with a phone another member has: nothing of it is written.
  const json taken = refusal({{"name", "Changed"}, {"phone", "139-0000-2222"}});
  CHECK(taken["code"] == "already_exists");
  CHECK(taken["field"] == "phone");
  CHECK(refusal({{"phone", "12345"}})["field"] == "phone");
  CHECK(refusal({{"name", "  "}})["field"] == "name");
  CHECK(refusal({{"birthday", "2099-01-01"}})["field"] == "birthday");
  CHECK(refusal({{"birthday", "1990-13-01"}})["field"] == "birthday");
  CHECK(refusal({{"language", "fr"}})["field"] == "language");
  CHECK(refusal({{"name", "X"}, {"staff_id", ""}})["field"] == "staff_id");
  CHECK(refusal({{"name", 5}})["field"] == "name");
  CHECK(refusal({{"card_no", "6200000000000001"}})["field"] == "card_no");  // not an updatable field
  const json nothing = refusal({});
  CHECK(nothing["code"] == "invalid_argument");
  CHECK(nothing["field"] == "member");
  CHECK(refusal({{"member", "13600000000"}, {"name", "X"}})["code"] == "not_found");

  const json m = ok(e.call({{"op", "member"}, {"member", id}}));
  CHECK(m["name"] == "王小明");
  CHECK(m["phone_masked"] == "138****1111");
  CHECK(m["birthday"] == "1990-05-06");
  // The same values again change nothing and send nothing.
  ok(e.call({{"op", "member_update"}, {"member", id}, {"name", "王小明"}, {"phone", "13800001111"}}));
  CHECK(ok(e.call({{"op", "stats"}}))["outbox_pending"] == 2);
  REQUIRE(e.finish() == 0);
}

TEST_CASE("consent records each decision with version, time, store and staff, and export_member shows everything", "[e2e]") {
  TempDir dir;
  std::string id;
  {
    Exec e(dir, {"--store", "S009"});
    id = enrol(e, "13800001111", "王小明")["member_id"];
    ok(e.call({{"op", "sale"}, {"sale_id", "S1"}, {"member", id}, {"lines", {{{"sku", "A"}, {"qty", 1}, {"unit_price", "100.00"}}}}}));
    const json withdrawn = ok(e.call({{"op", "consent"}, {"member", "13800001111"}, {"consent_marketing", false},
                                      {"staff_id", "cashier-7"}, {"at", "2026-12-03T11:00:00Z"}}));
    CHECK(withdrawn["consent_marketing"] == false);
    ok(e.call({{"op", "consent"}, {"member", id}, {"consent_marketing", true}, {"consent_version", "2026-12"},
               {"at", "2026-12-04T12:00:00Z"}}));
    CHECK(error(e.call({{"op", "consent"}, {"member", id}}))["field"] == "consent_marketing");
    CHECK(error(e.call({{"op", "consent"}, {"member", id}, {"consent_marketing", true}, {"consent_version", ""}}))["field"] ==
          "consent_version");
    ok(e.call({{"op", "member_update"}, {"member", id}, {"name", "王大明"}, {"staff_id", "cashier-7"},
               {"at", "2026-12-05T08:00:00Z"}}));

    const json out = ok(e.call({{"op", "export_member"}, {"member", "13800001111"}, {"at", "2026-12-06T08:00:00Z"}}));
    CHECK(out["member"]["member_id"] == id);
    CHECK(out["member"]["phone"] == "+8613800001111");  // the whole number: it is the member's own export
    CHECK(out["member"]["name"] == "王大明");
    CHECK(out["member"]["birthday"] == "1990-05-06");
    CHECK(out["member"]["consent_marketing"] == true);
    CHECK(out["sales"] == 1);
    CHECK(out["ledger_entries"] == 1);
    const json consents = out["consents"];
    REQUIRE(consents.size() == 3);
    CHECK(consents[0] == json{{"at", "2026-12-01T09:00:00Z"}, {"consent_marketing", true}, {"consent_version", "2026-01"},
                              {"store_id", "S009"}});
    CHECK(consents[1] == json{{"at", "2026-12-03T11:00:00Z"}, {"consent_marketing", false}, {"consent_version", "2026-01"},
                              {"store_id", "S009"}, {"staff_id", "cashier-7"}});
    CHECK(consents[2]["consent_version"] == "2026-12");
    const json log = out["log"];
    REQUIRE(log.size() == 4);
    CHECK(log[2] == json{{"at", "2026-12-05T08:00:00Z"}, {"action", "update"}, {"fields", {"name"}}, {"store_id", "S009"},
                         {"staff_id", "cashier-7"}});
    CHECK(log[3]["action"] == "export");
    CHECK(error(e.call({{"op", "export_member"}, {"member", "13600000000"}}))["code"] == "not_found");
    REQUIRE(e.finish() == 0);
  }
  const auto events = outboxEvents(dir);
  REQUIRE(events.size() == 5);
  CHECK(events[2]["type"] == "member.updated");
  CHECK(events[2]["at"] == "2026-12-03T11:00:00Z");
  CHECK(events[2]["payload"] == json{{"member_id", id}, {"consent_marketing", false}, {"consent_version", "2026-01"},
                                     {"store_id", "S009"}, {"terminal_id", "T1"}, {"staff_id", "cashier-7"}});
  CHECK(events[3]["payload"]["consent_version"] == "2026-12");
}

TEST_CASE("staff_id is checked against the terminal's staff and carried in the events", "[e2e]") {
  TempDir dir;
  {
    // Without staff accounts any well-formed id is taken (the till software signs staff in).
    Exec e(dir);
    ok(e.call({{"op", "enroll"}, {"phone", "13800001111"}, {"name", "Wang"}, {"consent_marketing", false}, {"staff_id", "till-3"}}));
    CHECK(error(e.call({{"op", "enroll"}, {"phone", "13800002222"}, {"name", "Li"}, {"consent_marketing", false},
                        {"staff_id", std::string(33, 'x')}}))["field"] == "staff_id");
    REQUIRE(e.finish() == 0);
  }
  CHECK(lastEvent(dir)["payload"]["staff_id"] == "till-3");
  addStaff(dir, "7", "cashier", "2468");
  Exec e(dir);
  const json line = {{{"sku", "A"}, {"qty", 1}, {"unit_price", "100.00"}}};
  const auto refused = [&](json request) {
    const json err = error(e.call(request));
    CHECK(err["code"] == "invalid_argument");
    return err["field"];
  };
  // Once the terminal has staff accounts, only an active one is taken; a refused request writes nothing.
  CHECK(refused({{"op", "sale"}, {"sale_id", "S1"}, {"member", "13800001111"}, {"lines", line}, {"staff_id", "8"}}) == "staff_id");
  CHECK(refused({{"op", "enroll"}, {"phone", "13800002222"}, {"name", "Li"}, {"consent_marketing", false},
                 {"staff_id", "till-3"}}) == "staff_id");
  CHECK(refused({{"op", "member_update"}, {"member", "13800001111"}, {"name", "X"}, {"staff_id", "8"}}) == "staff_id");
  CHECK(refused({{"op", "consent"}, {"member", "13800001111"}, {"consent_marketing", true}, {"staff_id", "8"}}) == "staff_id");
  CHECK(refused({{"op", "survey"}, {"survey_id", "Q1"}, {"scale", "csat5"}, {"score", 5}, {"staff_id", "8"}}) == "staff_id");
  CHECK(refused({{"op", "complaint"}, {"complaint_id", "C1"}, {"category", "service"}, {"description", "slow"},
                 {"staff_id", "8"}}) == "staff_id");
  CHECK(ok(e.call({{"op", "stats"}}))["outbox_pending"] == 1);

  ok(e.call({{"op", "sale"}, {"sale_id", "S1"}, {"member", "13800001111"}, {"lines", line}, {"staff_id", "7"}}));
  ok(e.call({{"op", "redeem"}, {"redemption_id", "R1"}, {"member", "13800001111"}, {"points", 10}, {"staff_id", "7"}}));
  ok(e.call({{"op", "refund"}, {"refund_id", "F1"}, {"sale_id", "S1"}, {"staff_id", "7"}}));
  ok(e.call({{"op", "survey"}, {"survey_id", "Q1"}, {"scale", "csat5"}, {"score", 5}, {"staff_id", "7"}}));
  ok(e.call({{"op", "complaint"}, {"complaint_id", "C1"}, {"category", "service"}, {"description", "slow"}, {"staff_id", "7"}}));
  ok(e.call({{"op", "enroll"}, {"phone", "13800002222"}, {"name", "Li"}, {"consent_marketing", true}, {"staff_id", "7"}}));
  REQUIRE(e.finish() == 0);
  const auto events = outboxEvents(dir);
  REQUIRE(events.size() == 7);
  for (std::size_t i = 1; i < events.size(); ++i) {
    INFO(events[i].dump());
    CHECK(events[i]["payload"]["staff_id"] == "7");
  }
}
