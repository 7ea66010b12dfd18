// The dashboard's HTML pages and forms answer a refusal with the status its API answers for the
// same refusal (one mapping from a business refusal to HTTP: http_answer.hpp), and exports
// write cells by their column's type (report_tables.hpp), on the real
// loyalty-hq over HTTPS.
#include <fstream>

#include "support/hq_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;

TEST_CASE("dashboard: a refused form or page answers the API's status for the same refusal", "[hq]") {
  HqInstance hq("sqlite");
  hq.start();
  auto c = hq.client();
  const std::string complaint = json{{"complaint_id", "HQ-1"}, {"category", "billing"}, {"description", "charged twice"}}.dump();
  REQUIRE(c->Post("/api/v1/complaints", bearer(hq.adminToken()), complaint, "application/json")->status == 201);
  const httplib::Headers session = dashboardSession(hq, hq.adminToken());
  auto page = c->Get("/dashboard/complaints", session);
  REQUIRE(page);
  REQUIRE(page->status == 200);
  const std::string csrf = hiddenCsrf(page->body);
  const auto form = [&](const std::string& id, const std::string& step) {
    auto r = c->Post("/dashboard/complaints/" + id, session, "csrf=" + csrf + "&step=" + step, "application/x-www-form-urlencoded");
    REQUIRE(r);
    return r;
  };
  const auto api = [&](const std::string& id, const std::string& step) {
    auto r = c->Post("/api/v1/complaints/" + id, bearer(hq.adminToken()), json{{"step", step}}.dump(), "application/json");
    REQUIRE(r);
    return r->status;
  };

  // Skipping a step is a conflict (409) for both; the page names the field.
  auto skipped = form("HQ-1", "resolved");
  CHECK(skipped->status == 409);  // the form answered 400 before the one mapping
  CHECK(api("HQ-1", "resolved") == skipped->status);
  CHECK(skipped->body.find("This complaint is at step “Received”; it can only move to the next step (Acknowledged).") !=
        std::string::npos);  // in the page's language
  CHECK(skipped->get_header_value("Content-Security-Policy").find("default-src 'self'") != std::string::npos);
  // Unknown complaint: 404 for both.
  CHECK(form("HQ-404", "acknowledged")->status == 404);
  CHECK(api("HQ-404", "acknowledged") == 404);
  // A bad filter: 400 for the page and the report.
  auto bad = c->Get("/dashboard?from=yesterday", session);
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(c->Get("/api/v1/reports/summary?from=yesterday", bearer(hq.adminToken()))->status == 400);
  // The form still works once the step is the next one.
  CHECK(form("HQ-1", "acknowledged")->status == 303);
}

TEST_CASE("exports: cells are written by their column's type, a text that looks like money stays text", "[hq]") {
  HqInstance hq("sqlite");
  hq.start();
  auto c = hq.client();
  const std::string complaint = json{{"complaint_id", "HQ-7"}, {"category", "billing"}, {"description", "12.50"}}.dump();
  REQUIRE(c->Post("/api/v1/complaints", bearer(hq.adminToken()), complaint, "application/json")->status == 201);
  auto x = c->Get("/api/v1/exports/complaints.xlsx", bearer(hq.adminToken()));
  REQUIRE(x);
  REQUIRE(x->status == 200);
  TempDir dir;
  const std::string file = dir.str() + "/complaints.xlsx";
  std::ofstream(file, std::ios::binary) << x->body;
  const auto [status, strings] = runCommand(
      {"/bin/sh", "-c",
       "python3 -c 'import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).read(\"xl/sharedStrings.xml\").decode())' '" + file + "'"});
  REQUIRE(status == 0);
  CHECK(strings.find(">12.50<") != std::string::npos);  // text, as the API says; it was guessed to be money (a number) before
  CHECK(strings.find(">HQ-7<") != std::string::npos);
  auto csv = c->Get("/api/v1/exports/complaints.csv", bearer(hq.adminToken()));
  REQUIRE(csv);
  CHECK(csv->body.find(",12.50,") != std::string::npos);
}
