// The real loyalty-hq over HTTPS on 127.0.0.1: reports API, exports, complaint workflow API,
// dashboard login with CSRF (over HTTPS, and typed into the form in headless Chromium), and
// every dashboard page rendered by headless Chromium, with the numbers on the page checked
// against the API and screenshots kept under build/screenshots.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include "dashboard_browser.hpp"

using namespace loyalty::test;
using nlohmann::json;

namespace {

json event(const std::string& terminal, std::int64_t seq, const std::string& type, const std::string& at, json payload) {
  payload["store_id"] = "S1";
  payload["terminal_id"] = terminal;
  return {{"event_id", terminal + "-e" + std::to_string(seq)}, {"seq", seq}, {"type", type}, {"at", at}, {"payload", payload}};
}

json enrol(const std::string& t, std::int64_t seq, const std::string& id, const std::string& name, bool consent) {
  return event(t, seq, "member.enrolled", "2026-01-02T08:00:00Z",
               {{"member_id", id}, {"card_no", "9" + id}, {"phone", "+8613800000000"}, {"name", name}, {"birthday", nullptr},
                {"language", "zh-CN"}, {"consent_marketing", consent}, {"consent_version", consent ? json("v1") : json(nullptr)},
                {"referrer_id", nullptr}});
}

std::string str(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

}  // namespace

TEST_CASE("dashboard, exports and complaint workflow over HTTPS", "[analytics][chromium]") {
  REQUIRE(runCommand({"/bin/sh", "-c", "command -v chromium"}).first == 0);  // packaging/install-deps.sh installs it
  HqInstance hq("sqlite");
  REQUIRE(runCommand({"/bin/sh", "-c", "echo 'analyst-password-1' | '" + hqBinary() + "' user set --data '" + hq.dataDir() +
                                           "' --name ana --role analyst"})
              .first == 0);
  hq.start();
  const std::string t1 = hq.registerTerminal("S1", "T1");
  json events = json::array({enrol("T1", 1, "m1", "王小明", true), enrol("T1", 2, "m2", "Li Lei", false),
                             saleEvent("T1", "S1", 3, std::string("m1"), "120.00", 120, 0, "2026-01-05T10:00:00Z"),
                             saleEvent("T1", "S1", 4, std::string("m2"), "30.00", 30, 0, "2026-01-06T15:00:00Z"),
                             saleEvent("T1", "S1", 5, std::nullopt, "8.50", 0, 0, "2026-01-06T16:00:00Z"),
                             event("T1", 6, "survey.answered", "2026-01-05T10:05:00Z",
                                   {{"survey_id", "sv1"}, {"sale_id", "T1-s3"}, {"member_id", "m1"}, {"scale", "csat5"}, {"score", 5}}),
                             event("T1", 7, "survey.answered", "2026-01-06T15:05:00Z",
                                   {{"survey_id", "sv2"}, {"sale_id", nullptr}, {"member_id", nullptr}, {"scale", "nps10"}, {"score", 4}}),
                             event("T1", 8, "complaint.filed", "2026-01-06T15:10:00Z",
                                   {{"complaint_id", "C-1"}, {"member_id", "m2"}, {"category", "service"},
                                    {"description", "油枪故障 pump broken"}, {"staff_id", nullptr}})});
  // Who served (the staff page) and what the first customer thought of each aspect.
  events[2]["payload"]["staff_id"] = "C01";
  events[3]["payload"]["staff_id"] = "C02";
  events[5]["payload"]["staff_id"] = "C01";
  events[5]["payload"]["dimensions"] = {{"服务态度", 5}, {"等候时间", 4}};
  {
    uploadApplied(hq, t1, "T1", events);
  }
  Http admin{hq, hq.adminToken()};
  const std::string analystToken = hq.cli({"token", "create", "--data", hq.dataDir(), "--role", "analyst"});
  Http analyst{hq, analystToken};

  SECTION("reports API: every report, store filter, credentials") {
    for (const char* r : {"rfm", "churn", "retention", "referrals", "satisfaction", "complaints", "points", "campaign", "staff"}) {
      analyst.get(std::string("/api/v1/reports/") + r);
    }
    CHECK(analyst.get("/api/v1/reports/satisfaction")["total"]["csat"] == 100.0);
    CHECK(analyst.get("/api/v1/reports/satisfaction")["total"]["nps"] == -100.0);
    CHECK(analyst.get("/api/v1/reports/points?store=S1")["issued"] == 150);
    analyst.get("/api/v1/reports/points?store=S9", 400);  // no such store: refused by name, not zeros
    CHECK(analyst.get("/api/v1/reports/churn?as_of=2026-06-01&churn_days=30")["at_risk"] == 2);
    analyst.get("/api/v1/reports/churn?churn_days=abc", 400);
    analyst.get("/api/v1/reports/rfm?from=2026-13-01", 400);
    analyst.get("/api/v1/reports/satisfaction?period=week", 400);
    Http terminal{hq, t1};
    terminal.get("/api/v1/reports/rfm", 403);
    terminal.get("/api/v1/exports/rfm.csv", 403);
    terminal.post("/api/v1/dashboard/tickets", json::object(), 403);
    Http nobody{hq, "wrong"};
    nobody.get("/api/v1/exports/rfm.csv", 401);
  }

  SECTION("exports: CSV with BOM, XLSX, campaign list only with consent") {
    const std::string csv = analyst.raw("/api/v1/exports/campaign.csv");
    REQUIRE(csv.rfind("\xEF\xBB\xBF", 0) == 0);
    CHECK(csv.find("王小明") != std::string::npos);
    CHECK(csv.find("Li Lei") == std::string::npos);  // no consent, not in the campaign list
    CHECK(csv.find("consent_version") != std::string::npos);
    const std::string complaints = analyst.raw("/api/v1/exports/complaints.csv");
    CHECK(complaints.find("油枪故障 pump broken") != std::string::npos);
    for (const char* r : {"summary", "sales", "abc", "abc-follow-up", "rfm", "churn", "retention", "referrals", "satisfaction",
                          "complaints", "points", "campaign", "staff"}) {
      const std::string x = analyst.raw(std::string("/api/v1/exports/") + r + ".xlsx");
      CHECK(x.rfind("PK\x03\x04", 0) == 0);  // a zip container
      CHECK(analyst.raw(std::string("/api/v1/exports/") + r + ".csv").rfind("\xEF\xBB\xBF", 0) == 0);
    }
    analyst.get("/api/v1/exports/nothing.csv", 404);
  }

  SECTION("complaint workflow through the API keeps the history") {
    json c = analyst.get("/api/v1/complaints/C-1");
    CHECK(c["step"] == "received");
    CHECK(c["source"] == "counter");
    analyst.post("/api/v1/complaints/C-1", {{"step", "resolved"}}, 409);
    c = analyst.post("/api/v1/complaints/C-1", {{"step", "acknowledged"}, {"owner", "张经理"}, {"note", "apologised by phone"}});
    CHECK(c["owner"] == "张经理");
    CHECK(c["history"].size() == 2);
    CHECK(c["history"][1]["actor"] == "analyst");
    analyst.post("/api/v1/complaints/C-1", {{"due", "tomorrow"}}, 400);
    const json filed = admin.post("/api/v1/complaints", {{"complaint_id", "HQ-9"}, {"category", "billing"},
                                                         {"description", "charged twice"}, {"store", "S1"}},
                                  201);
    CHECK(filed["source"] == "hq");
    CHECK(analyst.get("/api/v1/reports/complaints")["total"] == 2);
  }

  SECTION("login form with CSRF, session cookie, CSRF on the complaint form") {
    auto c = hq.client();
    auto page = c->Get("/dashboard");
    REQUIRE(page);
    CHECK(page->status == 303);  // not signed in
    auto login = c->Get("/dashboard/login");
    REQUIRE(login->status == 200);
    const std::string loginCookie = setCookieValue(login, "lhq_login_csrf");
    const std::string csrf = hiddenCsrf(login->body);
    REQUIRE(loginCookie == csrf);
    httplib::Headers cookieHeader = {{"Cookie", "lhq_login_csrf=" + loginCookie}};
    // No CSRF token: refused.
    auto noCsrf = c->Post("/dashboard/login", cookieHeader, "user=ana&password=analyst-password-1", "application/x-www-form-urlencoded");
    CHECK(noCsrf->status == 403);
    auto wrong = c->Post("/dashboard/login", cookieHeader, "csrf=" + csrf + "&user=ana&password=nope-nope-nope",
                         "application/x-www-form-urlencoded");
    CHECK(wrong->status == 303);
    CHECK(wrong->get_header_value("Location") == "/dashboard/login?failed=1");
    CHECK(setCookieValue(wrong, "lhq_session").empty());
    auto ok = c->Post("/dashboard/login", cookieHeader, "csrf=" + csrf + "&user=ana&password=analyst-password-1",
                      "application/x-www-form-urlencoded");
    REQUIRE(ok->status == 303);
    const std::string session = setCookieValue(ok, "lhq_session");
    REQUIRE(!session.empty());
    httplib::Headers s = {{"Cookie", "lhq_session=" + session}};
    auto overview = c->Get("/dashboard", s);
    REQUIRE(overview->status == 200);
    const auto numbers = pageNumbers(overview->body);
    const json summary = admin.get("/api/v1/reports/summary");
    CHECK(numbers.at("net_revenue") == summary["net_revenue"]);
    CHECK(numbers.at("sales") == str(summary["sales"]));
    const std::string sessionCsrf = hiddenCsrf(overview->body);
    // The session also reads the API (the export links on the pages).
    auto exp = c->Get("/api/v1/exports/rfm.csv", s);
    CHECK(exp->status == 200);
    auto forged = c->Post("/dashboard/complaints/C-1", s, "step=acknowledged", "application/x-www-form-urlencoded");
    CHECK(forged->status == 403);
    auto moved = c->Post("/dashboard/complaints/C-1", s, "csrf=" + sessionCsrf + "&step=acknowledged&owner=ana&note=called",
                         "application/x-www-form-urlencoded");
    CHECK(moved->status == 303);
    CHECK(admin.get("/api/v1/complaints/C-1")["history"][1]["actor"] == "ana");
    auto out = c->Post("/dashboard/logout", s, "csrf=" + sessionCsrf, "application/x-www-form-urlencoded");
    CHECK(out->status == 303);
    CHECK(c->Get("/dashboard", s)->status == 303);
  }

  SECTION("headless Chromium: a person signs in through the login form; a wrong password is refused") {
    // browser_sign_in.py types into the form and clicks the button; the browser carries the
    // login CSRF cookie and then the session cookie, as it would for a person.
    const std::string script = std::string(LOYALTY_SOURCE_DIR) + "/tests/hq/analytics/browser_sign_in.py";
    const std::string login = "https://127.0.0.1:" + std::to_string(hq.port()) + "/dashboard/login";
    std::filesystem::create_directories(LOYALTY_SCREENSHOT_DIR);
    const auto signIn = [&](const std::string& password, const std::string& shot) {
      const std::string png = std::string(LOYALTY_SCREENSHOT_DIR) + "/" + shot + ".png";
      const auto [status, out] = runCommand({"/usr/bin/env", "python3", script, login, "ana", password, png}, Stderr::kInherit);
      INFO(out);
      REQUIRE(status == 0);
      CHECK(std::filesystem::file_size(png) > 5000);
      return json::parse(out);
    };
    const json refused = signIn("not-the-password", "sign-in-refused");
    CHECK(refused["location"] == "/dashboard/login?failed=1");
    CHECK(refused["html"].get<std::string>().find("Wrong user name or password.") != std::string::npos);
    const json in = signIn("analyst-password-1", "sign-in-overview");
    CHECK(in["location"] == "/dashboard");
    const auto n = pageNumbers(in["html"].get<std::string>());
    const json summary = admin.get("/api/v1/reports/summary");
    CHECK(n.at("net_revenue") == summary["net_revenue"]);
    CHECK(n.at("members") == str(summary["members"]));
  }

  SECTION("headless Chromium: every page loads, charts render, numbers equal the API") {
    const json summary = admin.get("/api/v1/reports/summary");
    auto n = pageNumbers(chromiumPage(admin, "/dashboard", "overview-en"));
    CHECK(n.at("net_revenue") == summary["net_revenue"]);
    CHECK(n.at("members") == str(summary["members"]));
    CHECK(n.at("member_revenue") == summary["member_revenue"]);

    std::string dom = chromiumPage(admin, "/dashboard?lang=zh", "overview-zh");
    CHECK(dom.find("净销售额") != std::string::npos);
    CHECK(dom.find("data-chart=\"revenue-by-day\"") != std::string::npos);
    CHECK(dom.find("<rect") != std::string::npos);

    dom = chromiumPage(admin, "/dashboard/stores", "stores-en");
    n = pageNumbers(dom);
    const json byStore = admin.get("/api/v1/reports/sales?group=store");
    CHECK(n.at("store:S1:net_revenue") == byStore["rows"][0]["net_revenue"]);
    CHECK(dom.find("data-chart=\"sales-by-hour\"") != std::string::npos);
    REQUIRE(byStore["rows"].size() == 1);
    CHECK(n.at("stores-shown") == "Showing 1–1 of 1");
    // A page past the one store: no rows, a link back, the chart still over every store.
    dom = chromiumPage(admin, "/dashboard/stores?offset=1", "stores-later-en");
    n = pageNumbers(dom);
    CHECK(n.count("store:S1:net_revenue") == 0);
    CHECK(n.count("stores-shown") == 0);
    CHECK(dom.find("href=\"/dashboard/stores?offset=0\"") != std::string::npos);
    CHECK(dom.find("data-chart=\"revenue-by-store\"") != std::string::npos);
    CHECK(dom.find(">S1</text>") != std::string::npos);

    dom = chromiumPage(admin, "/dashboard/customers", "customers-en");
    n = pageNumbers(dom);
    const json abc = admin.get("/api/v1/reports/abc");
    for (const char* cls : {"A", "B", "C"}) CHECK(n.at(std::string("abc:") + cls) == str(abc["counts"][cls]));
    const json rfm = admin.get("/api/v1/reports/rfm");
    for (const auto& s : rfm["segments"]) CHECK(n.at("rfm:" + s["segment"].get<std::string>()) == str(s["members"]));
    CHECK(n.at("at_risk") == str(admin.get("/api/v1/reports/churn")["at_risk"]));
    chromiumPage(admin, "/dashboard/customers?lang=zh", "customers-zh");

    n = pageNumbers(chromiumPage(admin, "/dashboard/satisfaction", "satisfaction-en"));
    const json sat = admin.get("/api/v1/reports/satisfaction");
    CHECK(n.at("csat") == str(sat["total"]["csat"]));
    CHECK(n.at("nps") == str(sat["total"]["nps"]));
    CHECK(n.at("csat:S1") == str(sat["rows"][0]["csat"]));

    CHECK(n.at("dimension:S1:服务态度") == "5.00");
    dom = chromiumPage(admin, "/dashboard/satisfaction?lang=zh", "satisfaction-zh");
    CHECK(dom.find("分项评分") != std::string::npos);
    CHECK(pageNumbers(dom).at("stores-shown") == "显示第 1–1 条，共 1");
    // A page past the one store: its rows and dimensions gone, the figures above still all stores'.
    n = pageNumbers(chromiumPage(admin, "/dashboard/satisfaction?offset=1", "satisfaction-later-en"));
    CHECK(n.count("csat:S1") == 0);
    CHECK(n.count("dimension:S1:服务态度") == 0);
    CHECK(n.at("csat") == str(sat["total"]["csat"]));

    dom = chromiumPage(admin, "/dashboard/staff?lang=zh", "staff-zh");
    n = pageNumbers(dom);
    const json staff = admin.get("/api/v1/reports/staff");
    REQUIRE(staff["rows"].size() == 3);
    CHECK(n.at("net_revenue:S1:C01") == staff["rows"][0]["net_revenue"]);
    CHECK(n.at("average_score:S1:C01") == "5.00");
    CHECK(n.at("net_revenue:S1:-") == "8.50");
    CHECK(dom.find("data-chart=\"revenue-by-staff\"") != std::string::npos);
    chromiumPage(admin, "/dashboard/staff", "staff-en");

    n = pageNumbers(chromiumPage(admin, "/dashboard/complaints", "complaints-en"));
    const json comp = admin.get("/api/v1/reports/complaints");
    CHECK(n.at("total") == str(comp["total"]));
    CHECK(n.at("open") == str(comp["open"]));
    CHECK(n.at("overdue") == str(comp["overdue"]));

    n = pageNumbers(chromiumPage(admin, "/dashboard/points?lang=zh", "points-zh"));
    const json pts = admin.get("/api/v1/reports/points");
    CHECK(n.at("issued") == str(pts["issued"]));
    CHECK(n.at("outstanding") == str(pts["outstanding"]));
    CHECK(n.at("liability") == pts["liability"]);
  }
}

TEST_CASE("slow reports: kept results on dashboard pages and with max_age, refreshed after uploads", "[analytics]") {
  HqInstance hq("sqlite");
  const std::string toml = hq.dataDir() + "/hq.toml";
  {
    // Every report counts as slow here, so every page and max_age call can be served kept.
    std::ofstream(toml, std::ios::app) << "\n[reports]\nslow_ms = 0\nmax_age_seconds = 600\nrefresh_seconds = 3600\n";
  }
  hq.start();
  const std::string t1 = hq.registerTerminal("S1", "T1");
  const auto upload = [&](json events) {
    auto r = hq.client()->Post("/api/v1/events", bearer(t1), batch("T1", std::move(events)).dump(), "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
  };
  upload(json::array({enrol("T1", 1, "m1", "王小明", true),
                      saleEvent("T1", "S1", 2, std::string("m1"), "120.00", 120, 0, "2026-01-05T10:00:00Z")}));
  Http admin{hq, hq.adminToken()};

  const json first = admin.get("/api/v1/reports/abc?max_age=600");
  REQUIRE(first.contains("computed_at"));
  CHECK(first["members_total"] == 1);
  CHECK(admin.get("/api/v1/reports/abc?max_age=600") == first);  // same data: the kept result
  CHECK_FALSE(admin.get("/api/v1/reports/abc").contains("computed_at"));  // no max_age: live, as the protocol has it

  upload(json::array({enrol("T1", 3, "m2", "Li Lei", false),
                      saleEvent("T1", "S1", 4, std::string("m2"), "500.00", 500, 0, "2026-01-06T10:00:00Z")}));
  CHECK(admin.get("/api/v1/reports/abc?max_age=600")["members_total"] == 1);  // kept, older than the upload
  CHECK(admin.get("/api/v1/reports/summary?max_age=0")["sales"] == 2);
  const json fresh = admin.get("/api/v1/reports/abc?max_age=0");
  CHECK(fresh["members_total"] == 2);
  CHECK(admin.get("/api/v1/reports/abc")["members_total"] == 2);

  for (const char* bad : {"-1", "x", "86401"}) {
    auto r = hq.client()->Get((std::string("/api/v1/reports/rfm?max_age=") + bad).c_str(), bearer(hq.adminToken()));
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(r->body.find("max_age") != std::string::npos);
  }

  // A dashboard page says when kept figures were computed; the pinned customers reports were
  // computed by the refresher at start, so the page shows them without waiting.
  const json ticket = admin.post("/api/v1/dashboard/tickets", json::object(), 201);
  auto c = hq.client();
  auto signIn = c->Get(ticket["url"].get<std::string>().c_str());
  REQUIRE(signIn);
  const std::string session = setCookieValue(signIn, "lhq_session");
  REQUIRE(!session.empty());
  httplib::Headers s = {{"Cookie", "lhq_session=" + session}};
  auto page = c->Get("/dashboard/customers", s);
  REQUIRE(page);
  REQUIRE(page->status == 200);
  CHECK(pageNumbers(page->body).count("computed_at") == 1);
  // So are the chart pages' (charts, lifecycle) default views: pinned, computed by the
  // refresher from the start (and kept by the same rules: here, served up to max_age old).
  const auto shown = [&](const std::string& path) {
    auto r = c->Get(path.c_str(), s);
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return pageNumbers(r->body);
  };
  CHECK(shown("/dashboard/charts?lang=en").count("computed_at") == 1);
  CHECK(shown("/dashboard/lifecycle?lang=en").count("computed_at") == 1);
  // Their other views are kept once computed: after an upload the charts page of ten groups
  // shows the store comparison it kept, saying when it was computed; the API computes it live.
  const std::string tenGroups = "/dashboard/charts?lang=en&bins=10";
  const auto computed = shown(tenGroups);
  CHECK(computed.at("store-net:S1") == "620.00");
  CHECK(computed.count("computed_at") == 0);
  upload(json::array({saleEvent("T1", "S1", 5, std::string("m2"), "30.00", 30, 0, "2026-01-07T10:00:00Z")}));
  const auto kept = shown(tenGroups);
  CHECK(kept.at("store-net:S1") == "620.00");
  CHECK(kept.count("computed_at") == 1);
  CHECK(admin.get("/api/v1/reports/stores")["rows"][0]["net_revenue"] == "650.00");
  hq.stop();

  // Bad [reports] values are refused, naming the key.
  {
    std::ofstream(toml, std::ios::app) << "max_age_seconds_typo = 1\n";
  }
  const auto [status, out] = runCommand({"/bin/sh", "-c", "'" + hqBinary() + "' token create --data '" + hq.dataDir() + "' --role analyst 2>&1"});
  CHECK(status != 0);
  CHECK(out.find("reports.max_age_seconds_typo") != std::string::npos);
}
