// Head office trusts no terminal blindly: a terminal's events are checked against its
// registration and against what a terminal can legitimately do, on a real loyalty-hq over HTTPS
// (SQLite and PostgreSQL). Refusals are final: kept for review, acknowledged, reported.
#include "support/hq_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;

#define HQ_BACKENDS SqliteBackend, PostgresBackend

namespace {

json post(HqInstance& hq, const std::string& token, const json& body, int expect = 200) {
  auto res = hq.client()->Post("/api/v1/events", bearer(token), body.dump(), "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == expect);
  return json::parse(res->body);
}

json adjustEvent(const std::string& terminal, const std::string& store, std::int64_t seq, const std::string& member,
                 const std::string& kind, std::int64_t points, const std::optional<std::string>& referred = std::nullopt) {
  json e = {{"event_id", terminal + "-e" + std::to_string(seq)}, {"seq", seq}, {"type", "points.adjusted"},
            {"at", "2026-11-24T08:00:00Z"},
            {"payload", {{"member_id", member}, {"kind", kind}, {"points", points}, {"ref_id", "ref-" + std::to_string(seq)},
                         {"reason", "test"}, {"store_id", store}, {"terminal_id", terminal}}}};
  if (referred) e["payload"]["referred_member_id"] = *referred;
  return e;
}

json updateEvent(const std::string& terminal, const std::string& store, std::int64_t seq, const std::string& member) {
  return {{"event_id", terminal + "-e" + std::to_string(seq)}, {"seq", seq}, {"type", "member.updated"},
          {"at", "2026-11-24T09:00:00Z"},
          {"payload", {{"member_id", member}, {"phone", "+8613911112222"}, {"consent_marketing", true}, {"consent_version", "2026-01"}, {"store_id", store},
                       {"terminal_id", terminal}}}};
}

json referredEnrolment(const std::string& terminal, const std::string& store, std::int64_t seq, const std::string& member,
                       const std::string& referrer) {
  json e = enrolEvent(terminal, store, seq, member);
  e["payload"]["referrer_id"] = referrer;
  return e;
}

/// (status, reason) of the only result.
std::pair<std::string, std::string> only(const json& response) {
  REQUIRE(response.at("results").size() == 1);
  const json& r = response.at("results")[0];
  return {r.at("status").get<std::string>(), r.value("reason", "")};
}

std::int64_t count(HqInstance& hq, const std::string& sql) { return hq.sql()->query(sql).integer(0, 0); }

}  // namespace

TEMPLATE_TEST_CASE("a terminal cannot claim another store, invent points or speak for another store's members", "[hq]",
                   HQ_BACKENDS) {
  HqInstance hq(TestType::kName);
  hq.start();
  const std::string a = hq.registerTerminal("S1", "TA");
  const std::string b = hq.registerTerminal("S2", "TB");
  post(hq, a, batch("TA", {enrolEvent("TA", "S1", 1, "M1"), saleEvent("TA", "S1", 2, "M1", "120.00", 120)}));
  post(hq, b, batch("TB", {enrolEvent("TB", "S2", 1, "M2"), saleEvent("TB", "S2", 2, "M2", "30.00", 30)}));
  const json storesBefore = getJsonChecked(hq, "/api/v1/reports/sales?group=store");
  const json m2Before = getJsonChecked(hq, "/api/v1/members/M2");

  // The three attacks of the security review, each refused for good and acknowledged.
  const json bonus = adjustEvent("TA", "S1", 3, "M1", "bonus", 1'000'000'000'000);
  json spoofed = saleEvent("TA", "S-SPOOF", 4, std::nullopt, "999.00", 0);
  const json otherStore = updateEvent("TA", "S2", 5, "M2");
  json r = post(hq, a, batch("TA", {bonus, spoofed, otherStore}));
  CHECK(r.at("acked_through") == 5);
  CHECK(r.at("results")[0] == json{{"event_id", "TA-e3"}, {"status", "rejected"}, {"reason", "adjustment_refused"}});
  CHECK(r.at("results")[1] == json{{"event_id", "TA-e4"}, {"status", "rejected"}, {"reason", "wrong_store"}});
  CHECK(r.at("results")[2] == json{{"event_id", "TA-e5"}, {"status", "rejected"}, {"reason", "wrong_store"}});
  // Sent again (a lost response): the same answer, not a conflict.
  r = post(hq, a, batch("TA", {bonus}));
  CHECK(only(r) == std::pair<std::string, std::string>{"rejected", "adjustment_refused"});
  json altered = bonus;
  altered["payload"]["points"] = 5;
  CHECK(only(post(hq, a, batch("TA", {altered}))).first == "conflict");

  // Other adjustments no terminal makes.
  r = post(hq, a,
           batch("TA", {adjustEvent("TA", "S1", 6, "M1", "adjust", 50),  // reconciliation writes no event
                        adjustEvent("TA", "S1", 7, "M1", "expire", -121),  // more than TA ever credited M1
                        adjustEvent("TA", "S1", 8, "M2", "expire", -10),   // TB credited M2, not TA
                        adjustEvent("TA", "S1", 9, "M1", "expire", 10),
                        adjustEvent("TA", "S1", 10, "M1", "bonus", 100),  // names no referred member
                        adjustEvent("TA", "S1", 11, "M1", "bonus", 100, "M2"),  // M2 was not referred by M1
                        {{"event_id", "TA-e12"}, {"seq", 12}, {"type", "loyalty.future"}, {"at", "2026-11-24T10:00:00Z"},
                         {"payload", {{"terminal_id", "TB"}}}}}));
  for (const auto& res : r.at("results")) CHECK(res.at("status") == "rejected");
  CHECK(r.at("acked_through") == 12);

  // Nothing changed: balances, the store report, the other store's member.
  CHECK(getJsonChecked(hq, "/api/v1/members/M1").at("balance") == 120);
  CHECK(getJsonChecked(hq, "/api/v1/members/M2") == m2Before);
  CHECK(getJsonChecked(hq, "/api/v1/reports/sales?group=store") == storesBefore);
  CHECK(count(hq, "SELECT COUNT(*) FROM sales WHERE store_id = 'S-SPOOF'") == 0);

  // Kept for review, counted, audited.
  CHECK(count(hq, "SELECT COUNT(*) FROM rejected_events") == 10);
  CHECK(count(hq, "SELECT COUNT(*) FROM rejected_events WHERE reason = 'wrong_store'") == 3);
  CHECK(count(hq, "SELECT COUNT(*) FROM audit_log WHERE action = 'points.adjust.rejected' AND actor = 'terminal:TA'") == 7);
  CHECK(count(hq, "SELECT COUNT(*) FROM audit_log WHERE action = 'event.rejected' AND actor = 'terminal:TA'") == 3);
  const std::string metrics = hq.client()->Get("/metrics", bearer(hq.adminToken()))->body;
  CHECK(metrics.find("loyalty_hq_rejected_events 10") != std::string::npos);

  // The queue moved on: what a terminal legitimately does still applies. A member may update
  // their details at any store of the chain, recorded as this terminal's.
  const json m1Referred = referredEnrolment("TA", "S1", 13, "M3", "M1");
  r = post(hq, a,
           batch("TA", {updateEvent("TA", "S1", 14, "M2"), m1Referred, adjustEvent("TA", "S1", 15, "M1", "bonus", 100, "M3"),
                        adjustEvent("TA", "S1", 16, "M1", "expire", -20)}));
  CHECK(r.at("acked_through") == 16);
  for (const auto& res : r.at("results")) CHECK(res.at("status") == "applied");
  const json m2 = getJsonChecked(hq, "/api/v1/members/M2");
  CHECK(m2.at("phone") == "+8613911112222");
  CHECK(m2.at("enrolled_store") == "S2");
  CHECK(count(hq, "SELECT COUNT(*) FROM events WHERE event_id = 'TA-e14' AND terminal_id = 'TA'") == 1);
  CHECK(getJsonChecked(hq, "/api/v1/members/M1").at("balance") == 200);
  CHECK(count(hq, "SELECT COUNT(*) FROM audit_log WHERE action = 'points.adjust' AND subject = 'M1'") == 2);

  // Once per referred member; an expiry only of what is still open (120 + 100 - 20 credited).
  CHECK(only(post(hq, a, batch("TA", {adjustEvent("TA", "S1", 17, "M1", "bonus", 100, "M3")}))).second == "adjustment_refused");
  CHECK(only(post(hq, a, batch("TA", {adjustEvent("TA", "S1", 18, "M1", "expire", -201)}))).second == "adjustment_refused");
  CHECK(only(post(hq, a, batch("TA", {adjustEvent("TA", "S1", 19, "M1", "expire", -200)}))).first == "applied");

  // The referral bonus head office publishes is the one it takes.
  auto cfg = hq.client()->Put("/api/v1/admin/config", bearer(hq.adminToken()),
                              json{{"toml", "[loyalty]\nreferral_bonus_points = 40\n"}}.dump(), "application/json");
  REQUIRE(cfg);
  REQUIRE(cfg->status == 200);
  r = post(hq, a, batch("TA", {referredEnrolment("TA", "S1", 20, "M4", "M1"), adjustEvent("TA", "S1", 21, "M1", "bonus", 40, "M4")}));
  CHECK(r.at("results")[1].at("status") == "applied");
  CHECK(only(post(hq, a, batch("TA", {adjustEvent("TA", "S1", 22, "M1", "bonus", 41, "M3")}))).second == "adjustment_refused");

  // Points beyond what one terminal operation can carry are not even read.
  r = post(hq, a, batch("TA", {saleEvent("TA", "S1", 23, "M1", "1.00", 2'000'000'000)}));
  CHECK(only(r).first == "rejected");
  CHECK(only(r).second.find("points_earned") != std::string::npos);
  CHECK(getJsonChecked(hq, "/api/v1/members/M1").at("balance") == 40);
}
