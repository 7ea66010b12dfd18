// Staff at head office, on the real loyalty-hq over HTTPS, on SQLite and on a PostgreSQL the test
// starts: the staff member of each sale, refund, redemption, enrolment, survey answer and
// complaint is kept, GET /api/v1/reports/staff adds them up per store and staff member, survey
// dimensions are averaged per store, /dashboard/staff shows it in both languages, and an older
// database (without the staff columns and tables) gets them filled from its stored events.
#include <map>

#include "support/hq_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;

namespace {

json envelope(const std::string& terminal, std::int64_t seq, const std::string& type, json payload,
              const std::string& at = "2026-11-23T09:30:00Z") {
  payload["store_id"] = terminal == "T1" ? "S1" : "S2";
  payload["terminal_id"] = terminal;
  return {{"event_id", terminal + "-e" + std::to_string(seq)}, {"seq", seq}, {"type", type}, {"at", at}, {"payload", std::move(payload)}};
}

json withStaff(json event, const std::string& staff) {
  event["payload"]["staff_id"] = staff;
  return event;
}

json refundEvent(const std::string& terminal, std::int64_t seq, const std::string& saleId, const std::string& member,
                 const std::string& amount, std::int64_t reversed, const std::string& staff) {
  return envelope(terminal, seq, "sale.refunded",
                  {{"refund_id", terminal + "-r" + std::to_string(seq)}, {"sale_id", saleId}, {"member_id", member},
                   {"lines", {{{"line_no", 1}, {"sku", "A"}, {"qty", 1}}}}, {"amount", amount}, {"points_reversed", reversed},
                   {"points_returned", 0}, {"staff_id", staff}});
}

json surveyEvent(const std::string& terminal, std::int64_t seq, const std::string& scale, int score, const std::string& staff,
                 const json& dimensions = nullptr) {
  json p = {{"survey_id", terminal + "-v" + std::to_string(seq)}, {"sale_id", nullptr}, {"member_id", nullptr},
            {"scale", scale}, {"score", score}, {"staff_id", staff}};
  if (!dimensions.is_null()) p["dimensions"] = dimensions;
  return envelope(terminal, seq, "survey.answered", std::move(p));
}

json complaintEvent(const std::string& terminal, std::int64_t seq, const std::string& staff) {
  return envelope(terminal, seq, "complaint.filed",
                  {{"complaint_id", terminal + "-c" + std::to_string(seq)}, {"member_id", nullptr}, {"category", "service"},
                   {"description", "slow"}, {"staff_id", staff}});
}

json upload(HqInstance& hq, const std::string& token, const json& body) {
  auto res = hq.client()->Post("/api/v1/events", bearer(token), body.dump(), "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  return json::parse(res->body);
}

/// The store's rows of the staff report, keyed by staff id ("-" for none).
std::map<std::string, json> staffRows(const json& report, const std::string& store) {
  std::map<std::string, json> out;
  for (const auto& r : report.at("rows")) {
    if (r.at("store") == store) out[r.at("staff_id").is_null() ? "-" : r.at("staff_id").get<std::string>()] = r;
  }
  return out;
}

/// What the terminals of this test did, and what head office must make of it.
void uploadDay(HqInstance& hq, const std::string& t1, const std::string& t2) {
  json e1 = json::array();
  e1.push_back(withStaff(enrolEvent("T1", "S1", 1, "M1"), "C1"));
  e1.push_back(withStaff(saleEvent("T1", "S1", 2, std::string("M1"), "100.00", 100), "C1"));
  e1.push_back(withStaff(saleEvent("T1", "S1", 3, std::nullopt, "50.00", 0), "C2"));
  e1.push_back(refundEvent("T1", 4, "T1-s2", "M1", "20.00", 20, "C2"));  // C2 refunds C1's sale
  e1.push_back(withStaff(redeemEvent("T1", "S1", 5, "M1", 30, "RD-1", "local"), "C1"));
  e1.push_back(surveyEvent("T1", 6, "csat5", 4, "C1", {{"responsiveness", 5}, {"empathy", 3}}));
  e1.push_back(surveyEvent("T1", 7, "csat5", 5, "C1", {{"responsiveness", 4}}));
  e1.push_back(surveyEvent("T1", 8, "nps10", 9, "C2"));
  e1.push_back(complaintEvent("T1", 9, "C2"));
  e1.push_back(saleEvent("T1", "S1", 10, std::nullopt, "10.00", 0));  // no staff recorded
  // Each answer kept in a variable: ranging over a temporary's member would dangle.
  const json answer1 = upload(hq, t1, batch("T1", e1));
  for (const auto& r : answer1.at("results")) CHECK(r.at("status") == "applied");
  json e2 = json::array({withStaff(saleEvent("T2", "S2", 1, std::nullopt, "7.50", 0), "C1"),
                         surveyEvent("T2", 2, "csat5", 2, "C1", {{"empathy", 1}})});
  const json answer2 = upload(hq, t2, batch("T2", e2));
  for (const auto& r : answer2.at("results")) CHECK(r.at("status") == "applied");
}

void checkFigures(HqInstance& hq) {
  const json all = getJsonChecked(hq, "/api/v1/reports/staff?from=2026-11-23&to=2026-11-23");
  INFO(all.dump());
  REQUIRE(all.at("rows").size() == 4);
  auto s1 = staffRows(all, "S1");
  REQUIRE(s1.size() == 3);
  CHECK(s1["C1"] == json{{"store", "S1"}, {"staff_id", "C1"}, {"sales", 1}, {"net_revenue", "100.00"}, {"refunds", 0},
                         {"refunded", "0.00"}, {"points_earned", 100}, {"points_redeemed", 30}, {"enrolments", 1},
                         {"redemptions", 1}, {"surveys", 2}, {"csat_responses", 2}, {"average_score", 4.5}, {"complaints", 0}});
  CHECK(s1["C2"] == json{{"store", "S1"}, {"staff_id", "C2"}, {"sales", 1}, {"net_revenue", "30.00"}, {"refunds", 1},
                         {"refunded", "20.00"}, {"points_earned", 0}, {"points_redeemed", 0}, {"enrolments", 0},
                         {"redemptions", 0}, {"surveys", 1}, {"csat_responses", 0}, {"average_score", nullptr}, {"complaints", 1}});
  CHECK(s1["-"].at("sales") == 1);
  CHECK(s1["-"].at("net_revenue") == "10.00");
  auto s2 = staffRows(all, "S2");
  CHECK(s2["C1"].at("net_revenue") == "7.50");
  CHECK(s2["C1"].at("average_score") == 2.0);

  // The store filter and the day range.
  const json onlyS2 = getJsonChecked(hq, "/api/v1/reports/staff?store=S2");
  REQUIRE(onlyS2.at("rows").size() == 1);
  CHECK(onlyS2.at("rows")[0].at("store") == "S2");
  CHECK(getJsonChecked(hq, "/api/v1/reports/staff?from=2026-11-24").at("rows").empty());

  // Survey dimensions, averaged per store and over all stores.
  const json sat = getJsonChecked(hq, "/api/v1/reports/satisfaction");
  INFO(sat.dump());
  CHECK(sat.at("dimensions").at("stores") ==
        json::array({{{"store", "S1"}, {"dimension", "empathy"}, {"responses", 1}, {"average", 3.0}},
                     {{"store", "S1"}, {"dimension", "responsiveness"}, {"responses", 2}, {"average", 4.5}},
                     {{"store", "S2"}, {"dimension", "empathy"}, {"responses", 1}, {"average", 1.0}}}));
  CHECK(sat.at("dimensions").at("total") ==
        json::array({{{"dimension", "empathy"}, {"responses", 2}, {"average", 2.0}},
                     {{"dimension", "responsiveness"}, {"responses", 2}, {"average", 4.5}}}));
}

}  // namespace

TEMPLATE_TEST_CASE("staff: every record keeps its staff member, reported per store and staff", "[hq]", SqliteBackend,
                   PostgresBackend) {
  HqInstance hq(TestType::kName);
  hq.start();
  const std::string t1 = hq.registerTerminal("S1", "T1");
  const std::string t2 = hq.registerTerminal("S2", "T2");
  uploadDay(hq, t1, t2);
  checkFigures(hq);

  // A dimension score out of range is refused by name, and changes nothing.
  const json bad = upload(hq, t2, batch("T2", json::array({surveyEvent("T2", 3, "csat5", 5, "C1", {{"empathy", 6}})})));
  CHECK(bad.at("results")[0].at("status") == "rejected");
  CHECK(bad.at("results")[0].at("reason").get<std::string>().find("payload.dimensions.empathy") != std::string::npos);
  CHECK(getJsonChecked(hq, "/api/v1/reports/staff?store=S2").at("rows")[0].at("surveys") == 1);

  // The CSV export has the report's columns.
  auto csv = hq.client()->Get("/api/v1/exports/staff.csv", bearer(hq.adminToken()));
  REQUIRE(csv);
  REQUIRE(csv->status == 200);
  CHECK(csv->body.find("staff_id") != std::string::npos);
  CHECK(csv->body.find("C2") != std::string::npos);

  // The dashboard page, in both languages, and the dimensions on the satisfaction page.
  const auto session = dashboardSession(hq, hq.adminToken());
  auto en = hq.client()->Get("/dashboard/staff?lang=en", session);
  REQUIRE(en);
  REQUIRE(en->status == 200);
  CHECK(en->body.find("Net revenue by staff member") != std::string::npos);
  CHECK(en->body.find(R"(data-key="net_revenue:S1:C2">¥30.00<)") != std::string::npos);
  CHECK(en->body.find(R"(data-key="average_score:S1:C1">4.50<)") != std::string::npos);
  CHECK(en->body.find(R"(data-key="average_score:S1:C2">—<)") != std::string::npos);
  CHECK(en->body.find(R"(data-key="staff:S1:-">—<)") != std::string::npos);
  CHECK(en->body.find(R"(data-key="staff-shown">Showing 1–4 of 4<)") != std::string::npos);
  // A page further on: its rows only, the figures still the whole report's.
  auto later = hq.client()->Get("/dashboard/staff?lang=en&offset=2", session);
  REQUIRE(later);
  REQUIRE(later->status == 200);
  CHECK(later->body.find(R"(data-key="staff-shown">Showing 3–4 of 4<)") != std::string::npos);
  CHECK(later->body.find(R"(data-key="net_revenue:S1:C2")") == std::string::npos);
  CHECK(later->body.find(R"(data-key="staff:S1:-">—<)") != std::string::npos);
  CHECK(later->body.find(R"(data-key="sales:S2:C1">1<)") != std::string::npos);
  CHECK(later->body.find(R"(<a rel="prev" href="/dashboard/staff?offset=0">)") != std::string::npos);
  CHECK(later->body.find(R"(data-key="staff_count">3<)") != std::string::npos);
  auto badOffset = hq.client()->Get("/dashboard/staff?lang=en&offset=x", session);
  REQUIRE(badOffset);
  CHECK(badOffset->status == 400);
  auto zh = hq.client()->Get("/dashboard/staff?lang=zh", session);
  REQUIRE(zh);
  REQUIRE(zh->status == 200);
  CHECK(zh->body.find("各员工净销售额") != std::string::npos);
  CHECK(zh->body.find(R"(href="/dashboard/staff" class="on")") != std::string::npos);
  auto sat = hq.client()->Get("/dashboard/satisfaction?lang=zh", session);
  REQUIRE(sat);
  REQUIRE(sat->status == 200);
  CHECK(sat->body.find("分项评分") != std::string::npos);
  CHECK(sat->body.find(R"(data-key="dimension:S1:responsiveness">4.50<)") != std::string::npos);
  CHECK(sat->body.find(R"(data-key="dimension:S2:responsiveness">—<)") != std::string::npos);
}

TEMPLATE_TEST_CASE("staff: a database from before the staff columns gets them filled from its events", "[hq]", SqliteBackend,
                   PostgresBackend) {
  HqInstance hq(TestType::kName);
  hq.start();
  const std::string t1 = hq.registerTerminal("S1", "T1");
  const std::string t2 = hq.registerTerminal("S2", "T2");
  uploadDay(hq, t1, t2);
  const json before = getJsonChecked(hq, "/api/v1/reports/staff");
  hq.stop();
  {
    // What a database of the previous version holds: the events, none of the staff facts.
    auto sql = hq.sql();
    for (const char* table : {"sales", "refunds", "survey_answers"}) {
      sql->execScript(std::string("ALTER TABLE ") + table + " DROP COLUMN staff_id");
    }
    sql->execScript("ALTER TABLE members DROP COLUMN enrolled_staff");
    sql->execScript("DROP TABLE redemptions");
    sql->execScript("DROP TABLE survey_dimensions");
  }
  hq.start();
  checkFigures(hq);
  CHECK(getJsonChecked(hq, "/api/v1/reports/staff") == before);
}

TEST_CASE("staff: the dashboard page shows 100 rows a page, its figures and chart over every row", "[hq]") {
  HqInstance hq(SqliteBackend::kName);
  hq.start();
  const std::string t1 = hq.registerTerminal("S1", "T1");
  // 105 cashiers with a sale each, the nth of n yuan: more rows than a page holds.
  json events = json::array();
  char staff[8];
  for (int i = 1; i <= 105; ++i) {
    std::snprintf(staff, sizeof staff, "C%03d", i);
    events.push_back(withStaff(saleEvent("T1", "S1", i, std::nullopt, std::to_string(i) + ".00", 0), staff));
  }
  uploadApplied(hq, t1, "T1", events);
  const auto session = dashboardSession(hq, hq.adminToken());
  const auto count = [](const std::string& body, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = body.find(what); at != std::string::npos; at = body.find(what, at + 1)) ++n;
    return n;
  };
  auto first = hq.client()->Get("/dashboard/staff?lang=en", session);
  REQUIRE(first);
  REQUIRE(first->status == 200);
  CHECK(first->body.find(R"(data-key="staff-shown">Showing 1–100 of 105<)") != std::string::npos);
  CHECK(count(first->body, R"(data-key="sales:S1:C)") == 100);
  CHECK(first->body.find(R"(data-key="sales:S1:C101")") == std::string::npos);
  CHECK(first->body.find(R"(<a rel="next" href="/dashboard/staff?offset=100">)") != std::string::npos);
  CHECK(first->body.find(R"(data-key="staff_count">105<)") != std::string::npos);
  CHECK(first->body.find(R"(data-key="sales">105<)") != std::string::npos);
  // The chart: the 20 highest net revenues of all 105, highest first.
  CHECK(count(first->body, "<rect ") == 20);
  const auto top = first->body.find("S1 · C105</text>"), next = first->body.find("S1 · C104</text>");
  CHECK(top != std::string::npos);
  CHECK(next != std::string::npos);
  CHECK(top < next);
  CHECK(first->body.find("S1 · C086</text>") != std::string::npos);
  CHECK(first->body.find("S1 · C085</text>") == std::string::npos);
  auto second = hq.client()->Get("/dashboard/staff?lang=en&offset=100", session);
  REQUIRE(second);
  REQUIRE(second->status == 200);
  CHECK(second->body.find(R"(data-key="staff-shown">Showing 101–105 of 105<)") != std::string::npos);
  CHECK(count(second->body, R"(data-key="sales:S1:C)") == 5);
  CHECK(second->body.find(R"(<a rel="prev" href="/dashboard/staff?offset=0">)") != std::string::npos);
  CHECK(second->body.find(R"(rel="next")") == std::string::npos);
}
