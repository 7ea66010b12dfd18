// What the dashboard and the reports API read from requests, against the real loyalty-hq over
// HTTPS: inputs found by fuzz/dashboard_forms.
#include <catch2/catch.hpp>

#include "../support/hq_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;

// Found by fuzz/dashboard_forms: the report cache's key is JSON text, and a store, group or
// period that was not UTF-8 made building it throw: 503 "retry later" (a retry that can never
// succeed) for every cached report (max_age, and the dashboard's pages).
TEST_CASE("reports: parameters that are not UTF-8 are refused by name, not a 503", "[hq][analytics]") {
  HqInstance hq("sqlite");
  hq.start();
  const auto c = hq.client();
  for (const auto& [path, field] : std::vector<std::pair<std::string, std::string>>{
           {"/api/v1/reports/sales?max_age=60&group=day%CB", "group"},
           {"/api/v1/reports/summary?max_age=60&store=S%FF1", "store"},
           {"/api/v1/reports/satisfaction?max_age=60&period=%C0%80", "period"}}) {
    auto r = c->Get(path.c_str(), bearer(hq.adminToken()));
    REQUIRE(r);
    INFO(path << " -> " << r->status << " " << r->body);
    CHECK(r->status == 400);
    CHECK(json::parse(r->body)["detail"].get<std::string>().find(field) != std::string::npos);
  }
  auto fine = c->Get("/api/v1/reports/sales?max_age=60&group=day", bearer(hq.adminToken()));
  REQUIRE(fine);
  CHECK(fine->status == 200);
}

// Found by fuzz/dashboard_forms: a sign-in link's `next` with control characters passed the
// same-site check; cpp-httplib then dropped the Location header (CR/LF), so the browser was left
// on a redirect to nowhere.
TEST_CASE("dashboard: a sign-in link's next with control characters redirects to the dashboard", "[hq][analytics]") {
  HqInstance hq("sqlite");
  hq.start();
  const auto c = hq.client();
  for (const std::string next : {"%2Fdashboard%0D%0ASet-Cookie%3A%20x%3D1", "%2Fdashboard%2Fcomplaints%09", "%2Fdashboard%2Fstores"}) {
    auto t = c->Post("/api/v1/dashboard/tickets", bearer(hq.adminToken()), "{}", "application/json");
    REQUIRE(t);
    REQUIRE(t->status == 201);
    const std::string url = json::parse(t->body)["url"].get<std::string>() + "&next=" + next;
    auto r = c->Get(url.c_str());
    REQUIRE(r);
    INFO(next);
    CHECK(r->status == 303);
    CHECK(r->get_header_value("Location") == (next == "%2Fdashboard%2Fstores" ? "/dashboard/stores" : "/dashboard"));
  }
}
