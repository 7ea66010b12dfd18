// Follow-up visits at a real loyalty-hq over HTTPS, on SQLite and PostgreSQL: a month planned
// from the ABC classes with the course's frequencies, the due/overdue/done lists, the contact
// log, assignment to head-office users, completion rates, phones only for those allowed (and the
// read audited), the CSV export, configurable frequencies (abc's visits_per_month); and the pages
// in headless Chromium.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>

#include "dashboard_browser.hpp"
#include "../support/hq_fixture.hpp"
#include "loyalty/hq/followups.hpp"
#include "loyalty/hq/sql.hpp"

using namespace loyalty::test;
using nlohmann::json;

namespace {

struct Api {
  HqInstance& hq;
  std::string token;

  json call(const std::string& method, const std::string& path, const json& body, int status) {
    auto c = hq.client();
    httplib::Result r = method == "GET"   ? c->Get(path.c_str(), bearer(token))
                        : method == "PUT" ? c->Put(path.c_str(), bearer(token), body.dump(), "application/json")
                                          : c->Post(path.c_str(), bearer(token), body.dump(), "application/json");
    REQUIRE(r);
    INFO(method << " " << path << " -> " << r->status << " " << r->body);
    REQUIRE(r->status == status);
    return r->get_header_value("Content-Type").rfind("application/", 0) == 0 ? json::parse(r->body) : json(r->body);
  }
  json get(const std::string& path, int status = 200) { return call("GET", path, nullptr, status); }
  json post(const std::string& path, const json& body, int status = 200) { return call("POST", path, body, status); }
  json put(const std::string& path, const json& body, int status = 200) { return call("PUT", path, body, status); }
  std::string raw(const std::string& path) {
    auto r = hq.client()->Get(path.c_str(), bearer(token));
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return r->body;
  }
};

std::string dayAfter(int days) {
  const std::chrono::year_month_day d{std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now()) + std::chrono::days(days)};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()), static_cast<unsigned>(d.month()),
                static_cast<unsigned>(d.day()));
  return buf;
}

/// Six members at two stores, spending so that the November ranking gives A: m1, m2; B: m3,
/// m4; C: m5, m6 (spends 300, 250 | 150, 150 | 100, 50 of 1000: cumulative 30 %, 55 % | 70 %,
/// 85 % | 95 %, 100 %).
void loadChain(HqInstance& hq) {
  const std::string t1 = hq.registerTerminal("S1", "T1"), t2 = hq.registerTerminal("S2", "T2");
  json e1 = json::array(), e2 = json::array();
  const std::vector<std::tuple<std::string, std::string, std::string>> members = {
      {"m1", "S1", "300.00"}, {"m2", "S2", "250.00"}, {"m3", "S1", "150.00"}, {"m4", "S2", "150.00"}, {"m5", "S1", "100.00"},
      {"m6", "S2", "50.00"}};
  std::int64_t s1 = 0, s2 = 0;
  for (const auto& [id, store, spend] : members) {
    json& events = store == "S1" ? e1 : e2;
    std::int64_t& seq = store == "S1" ? s1 : s2;
    const std::string terminal = store == "S1" ? "T1" : "T2";
    events.push_back(enrolEvent(terminal, store, ++seq, id));
    ++seq;
    events.push_back(saleEvent(terminal, store, seq, id, spend, 0, 0, "2026-11-10T10:00:00Z"));
  }
  for (const auto& [token, terminal, events] : {std::tuple{t1, "T1", e1}, std::tuple{t2, "T2", e2}}) {
    uploadApplied(hq, token, terminal, events);
  }
}

json byMember(const json& list, const std::string& member) {
  json out = json::array();
  for (const auto& f : list["followups"]) {
    if (f["member_id"] == member) out.push_back(f);
  }
  return out;
}

void addUser(HqInstance& hq, const std::string& name, const std::string& role, bool pii = false) {
  REQUIRE(runCommand({"/bin/sh", "-c", "echo 'a-password-123' | '" + hqBinary() + "' user set --data '" + hq.dataDir() + "' --name " +
                                           name + " --role " + role + (pii ? " --pii" : "")})
              .first == 0);
}

}  // namespace

TEMPLATE_TEST_CASE("follow-up visits: plan, lists, contact log, assignment, completion and phones by grant", "[analytics][followups]",
                   SqliteBackend, PostgresBackend) {
  HqInstance hq(TestType::kName);
  addUser(hq, "ana", "analyst");
  addUser(hq, "zhou", "admin");
  hq.start();
  loadChain(hq);
  Api admin{hq, hq.adminToken()};
  Api analyst{hq, hq.cli({"token", "create", "--data", hq.dataDir(), "--role", "analyst", "--name", "plain"})};

  // The course's frequencies, in the ABC report too.
  CHECK(admin.get("/api/v1/reports/abc")["visits_per_month"] == json{{"A", 3}, {"B", 2}, {"C", 1}});

  // Planning is for admins; December's plan classes November's customers.
  analyst.post("/api/v1/followups/plan", {{"month", "2026-12"}}, 403);
  admin.post("/api/v1/followups/plan", {{"month", "2026-13"}}, 400);
  const json plan = admin.post("/api/v1/followups/plan", {{"month", "2026-12"}});
  CHECK(plan["members"] == 6);
  CHECK(plan["planned"] == 2 * 3 + 2 * 2 + 2 * 1);
  CHECK(plan["basis"] == json{{"from", "2025-12-01"}, {"to", "2026-11-30"}});
  CHECK(admin.post("/api/v1/followups/plan", {{"month", "2026-12"}})["planned"] == 0);  // idempotent

  const std::string december = "/api/v1/followups?from=2026-12-01&to=2026-12-31&as_of=2026-12-10";
  json list = admin.get(december);
  REQUIRE(list["total"] == 12);
  const json a = byMember(list, "m1"), b = byMember(list, "m3"), c = byMember(list, "m6");
  REQUIRE(a.size() == 3);
  CHECK(a[0]["due"] == "2026-12-07");  // A: the first in the first week
  CHECK(a[1]["due"] == "2026-12-21");
  CHECK(a[2]["due"] == "2026-12-31");
  CHECK(a[0]["status"] == "overdue");
  CHECK(a[1]["status"] == "due");
  CHECK(a[0]["channel"] == "visit");
  REQUIRE(b.size() == 2);
  CHECK(b[0]["due"] == "2026-12-16");
  CHECK(b[1]["due"] == "2026-12-31");
  REQUIRE(c.size() == 1);
  CHECK(c[0]["channel"] == "phone");  // C: by phone
  CHECK(c[0]["store"] == "S2");
  CHECK(c[0]["class"] == "C");
  CHECK(c[0]["name"] == "Li m6");

  // Phones: full for admins, masked for an analyst without the grant; the read is audited.
  CHECK(a[0]["phone"] == "+8613800000000");
  const json masked = analyst.get(december + "&status=overdue");
  REQUIRE(masked["total"] == 2);  // m1's and m2's first visits
  CHECK(masked["followups"][0]["phone"] == "138****0000");
  const json audit = admin.get("/api/v1/admin/audit?order=desc&limit=20");
  bool audited = false;
  for (const auto& e : audit["entries"]) audited |= e["action"] == "export" && e.value("subject", "") == "followups" && e.value("rows", 0) == 2;
  CHECK(audited);

  // Before anything was due there is no rate (not 0 %).
  CHECK(admin.get("/api/v1/followups/completion?from=2026-12-01&to=2026-12-31&as_of=2026-12-01")["total"]["completion_rate"].is_null());

  SECTION("a contact makes the follow-up done and the next one due; refusals change nothing") {
    const std::string id = a[0]["followup_id"];
    analyst.post("/api/v1/followups/" + id + "/contacts", {{"channel", "fax"}, {"outcome", "reached"}}, 400);
    analyst.post("/api/v1/followups/" + id + "/contacts", {{"channel", "visit"}}, 400);
    analyst.post("/api/v1/followups/" + id + "/contacts", {{"channel", "visit"}, {"outcome", "x"}, {"next_due", "2026-02-30"}}, 400);
    analyst.post("/api/v1/followups/" + id + "/contacts", {{"channel", "visit"}, {"outcome", "x"}, {"next_due", dayAfter(-1)}}, 400);
    analyst.post("/api/v1/followups/nope/contacts", {{"channel", "visit"}, {"outcome", "reached"}}, 404);
    CHECK(admin.get("/api/v1/followups/" + id)["contact_log"].empty());

    const std::string next = dayAfter(40);  // out of December: the list below keeps its counts
    const json done = analyst.post("/api/v1/followups/" + id + "/contacts",
                                   {{"channel", "phone"}, {"outcome", "reached"}, {"notes", "想了解新会员日"}, {"next_due", next}}, 201);
    CHECK(done["followup"]["status"] == "done");
    CHECK(done["followup"]["contact_log"][0]["notes"] == "想了解新会员日");
    CHECK(done["followup"]["contact_log"][0]["actor"] == "token:plain");
    CHECK(done["next"]["followup_id"] == a[1]["followup_id"]);  // the next planned visit, moved to next_due
    CHECK(done["next"]["due"] == next);
    analyst.post("/api/v1/followups/" + id + "/contacts", {{"channel", "phone"}, {"outcome", "reached"}}, 409);

    const json doneList = admin.get(december + "&status=done");
    REQUIRE(doneList["total"] == 1);
    CHECK(doneList["followups"][0]["last_outcome"] == "reached");

    // A member's last follow-up of the plan: next_due makes a new one.
    const std::string cid = c[0]["followup_id"];
    const json after = admin.post("/api/v1/followups/" + cid + "/contacts", {{"channel", "phone"}, {"outcome", "call_back"}, {"next_due", next}}, 201);
    CHECK(after["next"]["due"] == next);
    CHECK(after["next"]["member_id"] == "m6");
    CHECK(after["next"]["channel"] == "phone");

    const json rates = admin.get("/api/v1/followups/completion?from=2026-12-01&to=2026-12-31&as_of=2026-12-10");
    CHECK(rates["total"]["done"] == 2);
    CHECK(rates["total"]["overdue"] == 1);  // m2's first visit
    CHECK(rates["total"]["completion_rate"] == Approx(66.7));
    for (const auto& r : rates["by_store"]) {
      if (r["store"] == "S1") CHECK(r["completion_rate"] == Approx(100.0));  // m1's done, nothing late
      if (r["store"] == "S2") CHECK(r["completion_rate"] == Approx(50.0));   // m6's done, m2's late
    }
  }

  SECTION("assignment to head-office users, the owner filter and completion by owner") {
    analyst.post("/api/v1/followups/assign", {{"store", "S1"}, {"assigned_to", "ana"}}, 403);
    admin.post("/api/v1/followups/assign", {{"store", "S1"}, {"assigned_to", "nobody"}}, 400);
    admin.post("/api/v1/followups/assign", {{"assigned_to", "ana"}}, 400);
    CHECK(admin.post("/api/v1/followups/assign", {{"store", "S1"}, {"assigned_to", "ana"}})["assigned"] == 6);  // 3 + 2 + 1
    CHECK(admin.post("/api/v1/followups/assign", {{"followup_ids", {c[0]["followup_id"]}}, {"assigned_to", "zhou"}})["assigned"] == 1);
    CHECK(admin.get(december + "&owner=ana")["total"] == 6);
    CHECK(admin.get(december + "&owner=zhou")["total"] == 1);
    CHECK(admin.get(december + "&owner=-")["total"] == 5);
    const json rates = admin.get("/api/v1/followups/completion?from=2026-12-01&to=2026-12-31&as_of=2026-12-10");
    bool sawAna = false;
    for (const auto& r : rates["by_owner"]) {
      if (r["owner"] == "ana") {
        sawAna = true;
        CHECK(r["planned"] == 6);
        CHECK(r["overdue"] == 1);
      }
    }
    CHECK(sawAna);
    // The store's owner is kept for the next month's plan.
    admin.post("/api/v1/followups/plan", {{"month", "2027-01"}});
    CHECK(admin.get("/api/v1/followups?from=2027-01-01&to=2027-01-31&owner=ana")["total"] == 6);
  }

  SECTION("frequencies are configurable and reach the ABC report and the next plan") {
    analyst.put("/api/v1/admin/followups/rules", {{"B", {{"visits_per_month", 1}}}}, 403);
    admin.put("/api/v1/admin/followups/rules", {{"B", {{"visits_per_month", 11}}}}, 400);
    admin.put("/api/v1/admin/followups/rules", {{"D", {{"visits_per_month", 1}}}}, 400);
    admin.put("/api/v1/admin/followups/rules", {{"C", {{"channel", "pigeon"}}}}, 400);
    const json rules = admin.put("/api/v1/admin/followups/rules", {{"B", {{"visits_per_month", 1}, {"channel", "wechat"}}}});
    CHECK(rules["B"]["contact_frequency"] == "1x_month");
    CHECK(admin.get("/api/v1/reports/abc")["visits_per_month"] == json{{"A", 3}, {"B", 1}, {"C", 1}});
    const json plan2 = admin.post("/api/v1/followups/plan", {{"month", "2027-02"}});
    CHECK(plan2["planned"] == 2 * 3 + 2 * 1 + 2 * 1);
    const json feb = admin.get("/api/v1/followups?from=2027-02-01&to=2027-02-28");
    CHECK(byMember(feb, "m3")[0]["channel"] == "wechat");
    CHECK(byMember(feb, "m3")[0]["due"] == "2027-02-28");
  }

  SECTION("the CSV export has readable headers, the store and name, and phones by grant") {
    const std::string csv = admin.raw("/api/v1/followups/export.csv?from=2026-12-01&to=2026-12-31&lang=zh");
    CHECK(csv.find("会员编号,姓名,卡号,手机号,门店") != std::string::npos);
    CHECK(csv.find("Li m6") != std::string::npos);
    CHECK(csv.find("+8613800000000") != std::string::npos);
    const std::string maskedCsv = analyst.raw("/api/v1/followups/export.csv?from=2026-12-01&to=2026-12-31");
    CHECK(maskedCsv.find("Member ID,Name,Card,Phone,Store") != std::string::npos);
    CHECK(maskedCsv.find("+8613800000000") == std::string::npos);
    CHECK(maskedCsv.find("138****0000") != std::string::npos);
    CHECK(std::count(maskedCsv.begin(), maskedCsv.end(), '\n') == 13);  // the header and twelve follow-ups
  }

  SECTION("bad list parameters are refused naming the parameter") {
    CHECK(admin.get("/api/v1/followups?status=late", 400)["detail"].get<std::string>().find("status") != std::string::npos);
    admin.get("/api/v1/followups?from=2026-13-01", 400);
    admin.get("/api/v1/followups?as_of=yesterday", 400);
    admin.get("/api/v1/followups?limit=0", 400);
    auto r = hq.client()->Get("/api/v1/followups");
    REQUIRE(r);
    CHECK(r->status == 401);
  }
}

TEST_CASE("follow-up plan: ranked once, written a page at a time (each page its own turn on the writer), the same plan",
          "[analytics][followups]") {
  HqInstance hq("sqlite");
  hq.start();
  loadChain(hq);
  auto ranks = loyalty::hq::openSqlite(hq.dataDir() + "/hq.db");  // as the reports' connection
  auto writes = loyalty::hq::openSqlite(hq.dataDir() + "/hq.db");  // as the writer's
  int rankings = 0, turns = 0;
  std::vector<std::size_t> pages;
  const loyalty::hq::ClassesOf classes = [&](const loyalty::hq::ReportFilter& basis, std::int64_t page,
                                             const std::function<void(const loyalty::hq::ClassPage&)>& to) {
    ++rankings;
    loyalty::hq::Reports(*ranks).abcClasses(basis, page, [&](const loyalty::hq::ClassPage& p) {
      pages.push_back(p.size());
      to(p);  // written while the ranking's snapshot is open on its own connection
    });
  };
  const loyalty::hq::WithConnection writing = [&](const std::function<void(loyalty::hq::SqlConnection&)>& fn) {
    ++turns;
    fn(*writes);
  };
  const auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  // Pages of 4 of the 6 classed members: one ranking; the schema, two pages and the audit entry.
  const auto plan = loyalty::hq::planMonth(classes, writing, "2026-12", "cli:test", now, 4);
  REQUIRE(plan);
  CHECK((*plan)["members"] == 6);
  CHECK((*plan)["planned"] == 2 * 3 + 2 * 2 + 2 * 1);
  CHECK(rankings == 1);
  CHECK(pages == std::vector<std::size_t>{4, 2});
  CHECK(turns == 4);
  // Again in pages of 2: nothing is missing.
  const auto again = loyalty::hq::planMonth(classes, writing, "2026-12", "cli:test", now, 2);
  REQUIRE(again);
  CHECK((*again)["planned"] == 0);
  CHECK((*again)["members"] == 6);
  CHECK_FALSE(loyalty::hq::planMonth(classes, writing, "2026-12", "cli:test", now, 0));  // a page holds someone
  // The same plan as in one page (the API's): each member's visits, in their class.
  Api admin{hq, hq.adminToken()};
  const json list = admin.get("/api/v1/followups?from=2026-12-01&to=2026-12-31&as_of=2026-12-10");
  CHECK(list["total"] == 12);
  CHECK(byMember(list, "m2").size() == 3);
  CHECK(byMember(list, "m4").size() == 2);
  CHECK(byMember(list, "m5").size() == 1);
  CHECK(byMember(list, "m5")[0]["class"] == "C");
  CHECK(admin.post("/api/v1/followups/plan", {{"month", "2026-12"}})["planned"] == 0);
}

TEST_CASE("follow-up plan: a request whose handler works past the request body's deadline is still answered",
          "[analytics][followups]") {
  HqInstance hq("sqlite");
  std::ofstream(hq.dataDir() + "/hq.toml", std::ios::app) << "\n[server]\nrequest_deadline_seconds = 1\n";
  setenv("LOYALTY_HQ_TEST_PLAN_TURN_PAUSE_MS", "700", 1);  // three turns on the writer: 2.1 s
  hq.start();
  unsetenv("LOYALTY_HQ_TEST_PLAN_TURN_PAUSE_MS");
  loadChain(hq);
  Api admin{hq, hq.adminToken()};
  const auto t0 = std::chrono::steady_clock::now();
  // The body was read long before: the deadline for it (1 s) does not cut the handler's answer
  // (the connection was closed at it, the plan going on unanswered).
  const json plan = admin.post("/api/v1/followups/plan", {{"month", "2026-12"}});
  CHECK(plan["planned"] == 12);
  CHECK(std::chrono::steady_clock::now() - t0 > std::chrono::milliseconds(1500));
}

TEST_CASE("follow-up pages in headless Chromium: the list with its filters and rates, and a contact logged by form",
          "[analytics][followups][chromium]") {
  REQUIRE(runCommand({"/bin/sh", "-c", "command -v chromium"}).first == 0);  // packaging/install-deps.sh installs it
  HqInstance hq("sqlite");
  addUser(hq, "ana", "analyst");
  hq.start();
  loadChain(hq);
  Api admin{hq, hq.adminToken()};
  const std::string month = dayAfter(0).substr(0, 7);
  admin.post("/api/v1/followups/plan", {{"month", month}});
  admin.post("/api/v1/followups/assign", {{"store", "S1"}, {"assigned_to", "ana"}});

  // A dashboard session (a one-time ticket), then the pages as a browser gets them.
  Http browser{hq, hq.adminToken()};
  const auto shot = [&](const std::string& page, const std::string& name) { return chromiumPage(browser, page, name, 1280, 1000); };
  const std::string zh = shot("/dashboard/followups?lang=zh", "followups-zh");
  CHECK(zh.find("客户回访") != std::string::npos);
  CHECK(zh.find("各门店完成率") != std::string::npos);
  CHECK(zh.find("<button>筛选</button>") == std::string::npos);  // the page's own filter form only
  CHECK(zh.find("+8613800000000") != std::string::npos);  // an admin sees phones
  CHECK(std::regex_search(zh, std::regex(R"(data-key="planned">12<)")));
  const std::string en = shot("/dashboard/followups?lang=en&owner=ana", "followups-en-owner");
  CHECK(en.find("Completion by owner") != std::string::npos);
  CHECK(std::regex_search(en, std::regex(R"(showing 6 of 6)")));
  // Its export is of the list shown: this month's (all time would soon be over what an export holds).
  CHECK(en.find("export.csv?lang=en&amp;from=" + month + "-01&amp;to=" + month + "-") != std::string::npos);

  // The contact form of one follow-up, posted as the browser would (session cookie + CSRF).
  const json list = admin.get("/api/v1/followups?store=S1&limit=1");
  const std::string id = list["followups"][0]["followup_id"];
  const std::string detail = shot("/dashboard/followups/" + id + "?lang=zh", "followup-contact-form-zh");
  CHECK(detail.find("登记联系") != std::string::npos);
  CHECK(detail.find("name=\"next_due\"") != std::string::npos);

  // Signed in as the analyst through the form: phones masked on the page.
  const json ticket = admin.post("/api/v1/dashboard/tickets", json::object(), 201);
  auto c = hq.client();
  auto login = c->Get("/dashboard/login");
  REQUIRE(login);
  const std::string loginCsrf = hiddenCsrf(login->body);
  const std::string loginCookie = setCookieValue(login, "lhq_login_csrf");
  auto signed_ = c->Post("/dashboard/login", {{"Cookie", "lhq_login_csrf=" + loginCookie}},
                         "csrf=" + loginCsrf + "&user=ana&password=a-password-123", "application/x-www-form-urlencoded");
  REQUIRE(signed_);
  REQUIRE(signed_->status == 303);
  const std::string session = setCookieValue(signed_, "lhq_session");
  const httplib::Headers cookie = {{"Cookie", "lhq_session=" + session}};
  auto page = c->Get(("/dashboard/followups/" + id).c_str(), cookie);
  REQUIRE(page);
  REQUIRE(page->status == 200);
  CHECK(page->body.find("138****0000") != std::string::npos);
  CHECK(page->body.find("+8613800000000") == std::string::npos);
  const std::string csrf = hiddenCsrf(page->body);
  // Without the CSRF token the form is refused and nothing changes.
  auto forged = c->Post(("/dashboard/followups/" + id + "/contacts").c_str(), cookie, "channel=phone&outcome=reached",
                        "application/x-www-form-urlencoded");
  REQUIRE(forged);
  CHECK(forged->status == 403);
  auto posted = c->Post(("/dashboard/followups/" + id + "/contacts").c_str(), cookie,
                        "csrf=" + csrf + "&channel=phone&outcome=reached&notes=ok&back=%2Fdashboard%2Ffollowups%3Fstatus%3Ddone",
                        "application/x-www-form-urlencoded");
  REQUIRE(posted);
  CHECK(posted->status == 303);
  CHECK(posted->get_header_value("Location") == "/dashboard/followups?status=done");
  const json one = admin.get("/api/v1/followups/" + id);
  CHECK(one["status"] == "done");
  CHECK(one["contact_log"][0]["actor"] == "user:ana");
  const std::string doneList = shot("/dashboard/followups?lang=en&status=done", "followups-en-done");
  CHECK(std::regex_search(doneList, std::regex(R"(showing 1 of 1)")));
  CHECK(doneList.find("Reached") != std::string::npos);
}
