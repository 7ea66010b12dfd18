// Complaint care at a real loyalty-hq over HTTPS, on SQLite and PostgreSQL: the list with who
// complained and its filters (step, owner, overdue), handling time and overdue rate per store,
// closed complaints read-only, the satisfaction check after closing; and the pages as a
// head-office manager uses them (headless Chromium, zh-CN and en), a refused step change in the
// page's language.
#include <chrono>
#include <filesystem>
#include <regex>
#include <set>

#include "dashboard_browser.hpp"
#include "../support/hq_fixture.hpp"

#include "loyalty/core/time.hpp"

using namespace loyalty::test;
using nlohmann::json;

#define HQ_BACKENDS SqliteBackend, PostgresBackend

namespace {

struct Api {
  HqInstance& hq;
  std::string token;

  json call(const std::string& method, const std::string& path, const json& body, int status) {
    auto c = hq.client();
    httplib::Result r = method == "GET" ? c->Get(path.c_str(), bearer(token))
                                        : c->Post(path.c_str(), bearer(token), body.dump(), "application/json");
    REQUIRE(r);
    INFO(method << " " << path << " -> " << r->status << " " << r->body);
    REQUIRE(r->status == status);
    return json::parse(r->body);
  }
  json get(const std::string& path, int status = 200) { return call("GET", path, nullptr, status); }
  json post(const std::string& path, const json& body, int status = 200) { return call("POST", path, body, status); }
};

json complaintEvent(std::int64_t seq, const std::string& id, const json& member, const std::string& category, const std::string& text) {
  return {{"event_id", "T1-e" + std::to_string(seq)}, {"seq", seq}, {"type", "complaint.filed"}, {"at", "2026-11-23T08:00:00Z"},
          {"payload", {{"complaint_id", id}, {"member_id", member}, {"category", category}, {"description", text},
                       {"staff_id", nullptr}, {"store_id", "S1"}, {"terminal_id", "T1"}}}};
}

void addUser(HqInstance& hq, const std::string& name, const std::string& role) {
  REQUIRE(runCommand({"/bin/sh", "-c", "echo 'a-password-123' | '" + hqBinary() + "' user set --data '" + hq.dataDir() + "' --name " +
                                           name + " --role " + role})
              .first == 0);
}

/// S1 (Asia/Shanghai): C-1 about member m1 and C-2 without a member, both filed at the counter
/// on 2026-11-23 08:00 UTC (due 48 h later); HQ-1 filed at head office without a store.
void loadComplaints(HqInstance& hq, Api& admin) {
  const std::string t1 = hq.registerTerminal("S1", "T1", "Asia/Shanghai");
  const json events = {enrolEvent("T1", "S1", 1, "m1"), complaintEvent(2, "C-1", "m1", "service", "收银员态度差 rude cashier"),
                       complaintEvent(3, "C-2", nullptr, "price", "价签与结账不符")};
  uploadApplied(hq, t1, "T1", events);
  admin.post("/api/v1/complaints", {{"complaint_id", "HQ-1"}, {"category", "billing"}, {"description", "charged twice"}}, 201);
}

}  // namespace

TEMPLATE_TEST_CASE("complaint care: list with customer and filters, handling per store, closed read-only, satisfaction check",
                   "[analytics][complaints]", HQ_BACKENDS) {
  HqInstance hq(TestType::kName);
  addUser(hq, "ana", "analyst");
  hq.start();
  Api admin{hq, hq.adminToken()};
  loadComplaints(hq, admin);

  // The list: newest first, with category, description, filing time and the member's name.
  json all = admin.get("/api/v1/complaints");
  REQUIRE(all["total"] == 3);
  CHECK(all["rows"][0]["complaint_id"] == "HQ-1");
  json c1;
  for (const auto& row : all["rows"]) {
    if (row["complaint_id"] == "C-1") c1 = row;
  }
  CHECK(c1["category"] == "service");
  CHECK(c1["name"] == "Li m1");
  CHECK(c1["card_no"] == "9m1");
  CHECK(c1["filed_at"] == "2026-11-23T08:00:00Z");
  CHECK(admin.get("/api/v1/complaints?overdue=1")["total"] == 2);  // C-1, C-2: due 2026-11-25
  CHECK(admin.get("/api/v1/complaints?step=received")["total"] == 3);
  admin.get("/api/v1/complaints?step=closed", 400);
  admin.get("/api/v1/complaints?limit=0", 400);

  // C-1 through its steps; the resolution dated 12 hours after filing, before its due time.
  admin.post("/api/v1/complaints/C-1", {{"step", "acknowledged"}, {"owner", "ana"}, {"note", "apologised by phone"}});
  CHECK(admin.get("/api/v1/complaints?owner=ana")["total"] == 1);
  CHECK(admin.get("/api/v1/complaints?owner=-")["total"] == 2);
  CHECK(admin.get("/api/v1/complaints?step=open")["total"] == 3);
  admin.post("/api/v1/complaints/C-1/satisfaction", {{"score", 4}}, 409);  // not closed yet
  for (const char* step : {"investigated", "solution_proposed", "resolved"}) admin.post("/api/v1/complaints/C-1", {{"step", step}});
  hq.sql()->query("UPDATE complaint_history SET at = '2026-11-23T20:00:00Z' WHERE complaint_id = 'C-1' AND to_step = 'resolved'");
  admin.post("/api/v1/complaints/C-1", {{"step", "followed_up"}});
  CHECK(admin.get("/api/v1/complaints?step=open")["total"] == 2);

  // Closed: read-only (the workflow refuses any change), and the satisfaction check once.
  const json refused = admin.post("/api/v1/complaints/C-1", {{"note", "one more thing"}}, 409);
  CHECK(refused["detail"].get<std::string>().find("closed") != std::string::npos);
  admin.post("/api/v1/complaints/C-1/satisfaction", {{"score", 6}}, 400);
  admin.post("/api/v1/complaints/C-1/satisfaction", {{"score", "4"}}, 400);
  const json check = admin.post("/api/v1/complaints/C-1/satisfaction", {{"score", 4}, {"note", "happy with the voucher"}}, 201);
  CHECK(check["actor"] == "token:admin");
  admin.post("/api/v1/complaints/C-1/satisfaction", {{"score", 5}}, 409);
  admin.post("/api/v1/complaints/NOPE/satisfaction", {{"score", 5}}, 404);

  // Handling per store: S1 has C-1 (12 h, in time) and C-2 (open past due): 50 % overdue.
  const json h = admin.get("/api/v1/reports/complaint-handling");
  json s1;
  for (const auto& s : h["stores"]) {
    if (s["store"] == "S1") s1 = s;
  }
  CHECK(s1["complaints"] == 2);
  CHECK(s1["resolved"] == 1);
  CHECK(s1["average_handling_hours"] == 12.0);
  CHECK(s1["overdue"] == 1);
  CHECK(s1["overdue_rate"] == 50.0);
  CHECK(s1["satisfaction_checks"] == 1);
  CHECK(s1["average_satisfaction"] == 4.0);
  CHECK(h["total"]["complaints"] == 3);
  admin.get("/api/v1/reports/complaint-handling?store=S1&from=2026-11-01&to=2026-11-30");

  // Every change is in the audit trail.
  const json audit = admin.get("/api/v1/admin/audit?limit=200");
  std::set<std::string> actions;
  for (const auto& e : audit["entries"]) actions.insert(e["action"].get<std::string>());
  CHECK(actions.count("complaint.update") == 1);
  CHECK(actions.count("complaint.file") == 1);
  CHECK(actions.count("complaint.satisfaction") == 1);
}

TEST_CASE("complaint pages in headless Chromium: list with customers and filters, history, read-only when closed, refusals in the page's language",
          "[analytics][complaints][chromium]") {
  REQUIRE(runCommand({"/bin/sh", "-c", "command -v chromium"}).first == 0);  // packaging/install-deps.sh installs it
  HqInstance hq("sqlite");
  addUser(hq, "ana", "analyst");
  addUser(hq, "wang", "admin");
  hq.start();
  Api admin{hq, hq.adminToken()};
  loadComplaints(hq, admin);
  admin.post("/api/v1/complaints/C-2", {{"step", "acknowledged"}, {"owner", "wang"}, {"note", "顾客已接受道歉"}});

  Http browser{hq, hq.adminToken()};
  const auto shot = [&](const std::string& page, const std::string& name) { return chromiumPage(browser, page, name, 1400, 1000); };
  const std::string zh = shot("/dashboard/complaints?lang=zh", "complaints-zh");
  CHECK(zh.find("收银员态度差 rude cashier") != std::string::npos);     // description
  CHECK(zh.find(">服务<") != std::string::npos);                         // category in the page's language
  CHECK(zh.find("href=\"/dashboard/members/m1\"") != std::string::npos);  // the customer, linked
  CHECK(zh.find("Li m1") != std::string::npos);
  CHECK(zh.find("2026-11-23 16:00") != std::string::npos);  // filed, in the store's time (UTC+8)
  CHECK(zh.find("各门店处理情况") != std::string::npos);
  CHECK(std::regex_search(zh, std::regex(R"(<option value="wang"[^>]*>wang</option>)")));  // owners are head-office users
  const std::string en = shot("/dashboard/complaints?lang=en&owner=wang", "complaints-en-owner");
  CHECK(std::regex_search(en, std::regex(R"(showing 1–1 of 1)")));
  CHECK(en.find("价签与结账不符") != std::string::npos);
  const std::string overdue = shot("/dashboard/complaints?lang=en&overdue=1", "complaints-en-overdue");
  CHECK(std::regex_search(overdue, std::regex(R"(showing 1–2 of 2)")));
  // The handling per store a page of stores at a time (S1 and head office's own, "—").
  CHECK(std::regex_search(en, std::regex(R"(data-key="stores-shown">showing 1–2 of 2<)")));
  const std::string secondStore = shot("/dashboard/complaints?lang=en&owner=wang&stores_offset=1", "complaints-en-stores-offset");
  CHECK(std::regex_search(secondStore, std::regex(R"(data-key="stores-shown">showing 2–2 of 2<)")));
  CHECK(secondStore.find("href=\"/dashboard/complaints?owner=wang&amp;stores_offset=0#by-store\"") != std::string::npos);
  CHECK(std::regex_search(secondStore, std::regex(R"(showing 1–1 of 1)")));  // the list as it was
  // Each list's links keep the other's page.
  const std::string both = shot("/dashboard/complaints?lang=en&offset=1&stores_offset=1", "complaints-en-both-offsets");
  CHECK(both.find("href=\"/dashboard/complaints?offset=0&amp;stores_offset=1\"") != std::string::npos);
  CHECK(both.find("href=\"/dashboard/complaints?stores_offset=0&amp;offset=1#by-store\"") != std::string::npos);
  CHECK(shot("/dashboard/complaints?lang=en&stores_offset=x", "complaints-en-stores-offset-refused").find("stores_offset") != std::string::npos);

  const std::string detail = shot("/dashboard/complaints/C-2?lang=zh", "complaint-detail-zh");
  CHECK(detail.find("顾客已接受道歉") != std::string::npos);  // notes and history shown
  CHECK(detail.find("已受理 → 已致歉") != std::string::npos);
  CHECK(detail.find("name=\"due_day\"") != std::string::npos);

  // The forms as a browser posts them (session cookie + CSRF).
  const json ticket = admin.post("/api/v1/dashboard/tickets", json::object(), 201);
  auto c = hq.client();
  auto in = c->Get(ticket["url"].get<std::string>().c_str());
  REQUIRE(in);
  const httplib::Headers cookie = {{"Cookie", "lhq_session=" + setCookieValue(in, "lhq_session")}};
  auto page = c->Get("/dashboard/complaints/C-2?lang=zh", cookie);
  REQUIRE(page);
  REQUIRE(page->status == 200);
  const std::string csrf = hiddenCsrf(page->body);
  const auto post = [&](const std::string& path, const std::string& form) {
    auto r = c->Post(path.c_str(), cookie, "csrf=" + csrf + "&" + form, "application/x-www-form-urlencoded");
    REQUIRE(r);
    return r;
  };
  // A skipped step: refused in Chinese on the Chinese page, nothing changed.
  auto skipped = post("/dashboard/complaints/C-2?lang=zh", "step=resolved");
  CHECK(skipped->status == 409);
  CHECK(skipped->body.find("此投诉当前处于“已致歉”步骤，只能进入下一步（已调查）。") != std::string::npos);
  CHECK(skipped->body.find("<html lang=\"zh-CN\"") != std::string::npos);
  CHECK(admin.get("/api/v1/complaints/C-2")["step"] == "acknowledged");
  // An owner who is not a head-office user is refused.
  CHECK(post("/dashboard/complaints/C-2?lang=en", "owner=nobody")->status == 400);
  // Next step, a due date (end of that day in Shanghai) and back to the filtered list.
  auto saved = post("/dashboard/complaints/C-2", "step=investigated&owner=ana&due_day=2026-12-24&note=checked+the+labels&back=%2Fdashboard%2Fcomplaints%3Fowner%3Dana");
  CHECK(saved->status == 303);
  CHECK(saved->get_header_value("Location") == "/dashboard/complaints?owner=ana");
  const json c2 = admin.get("/api/v1/complaints/C-2");
  CHECK(c2["step"] == "investigated");
  CHECK(c2["owner"] == "ana");
  CHECK(c2["due_at"] == "2026-12-24T15:59:59Z");

  // Closed: the page has no edit form, only the satisfaction check, then shows it.
  for (const char* step : {"solution_proposed", "resolved", "followed_up"}) admin.post("/api/v1/complaints/C-2", {{"step", step}});
  const std::string closed = shot("/dashboard/complaints/C-2?lang=en", "complaint-closed-en");
  CHECK(closed.find("name=\"step\"") == std::string::npos);
  CHECK(closed.find("read-only") != std::string::npos);
  CHECK(closed.find("/dashboard/complaints/C-2/satisfaction") != std::string::npos);
  CHECK(post("/dashboard/complaints/C-2?lang=zh", "note=late")->body.find("此投诉已结案，不能再修改。") != std::string::npos);
  CHECK(post("/dashboard/complaints/C-2/satisfaction", "score=5&note=ok")->status == 303);
  const std::string checked = shot("/dashboard/complaints/C-2?lang=en", "complaint-checked-en");
  CHECK(std::regex_search(checked, std::regex(R"(data-key="satisfaction">[^<]*<b>5</b>)")));
  CHECK(checked.find("/dashboard/complaints/C-2/satisfaction") == std::string::npos);
}

TEST_CASE("fleet page: terminals with version, last seen, backlog, clock skew and last error, add shows the one-time code, revoke",
          "[analytics][fleet][chromium]") {
  REQUIRE(runCommand({"/bin/sh", "-c", "command -v chromium"}).first == 0);
  HqInstance hq("sqlite");
  addUser(hq, "ana", "analyst");
  hq.start();
  Api admin{hq, hq.adminToken()};
  const std::string t1 = hq.registerTerminal("S1", "T1", "Asia/Shanghai");
  // What a terminal says about itself with a request: its clock two minutes ahead, its last failure.
  const auto clockIn = [](int seconds) {
    const auto t = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) + std::chrono::seconds(seconds);
    return loyalty::formatRfc3339(t);
  };
  httplib::Headers h = bearer(t1);
  h.emplace("Loyalty-Terminal-Arch", "amd64");
  h.emplace("Loyalty-Terminal-Version", "1.4.0");
  h.emplace("Loyalty-Outbox-Pending", "17");
  h.emplace("Loyalty-Terminal-Clock", clockIn(120));
  h.emplace("Loyalty-Last-Error", "upload: head office did not answer within 30 s");
  auto r = hq.client()->Get("/api/v1/terminal/release", h);
  REQUIRE(r);
  REQUIRE(r->status == 200);
  httplib::Headers bad = bearer(t1);
  bad.emplace("Loyalty-Terminal-Clock", "yesterday");
  r = hq.client()->Get("/api/v1/terminal/release", bad);
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(r->body.find("Loyalty-Terminal-Clock") != std::string::npos);

  json terminals = admin.get("/api/v1/admin/terminals");
  REQUIRE(terminals["terminals"].size() == 1);
  const json t = terminals["terminals"][0];
  CHECK(t["version"] == "1.4.0");
  CHECK(t["backlog"] == 17);
  CHECK(t["clock_skew_seconds"].get<std::int64_t>() >= 115);
  CHECK(t["clock_skew_seconds"].get<std::int64_t>() <= 121);
  CHECK(t["last_error"] == "upload: head office did not answer within 30 s");

  const json ticket = admin.post("/api/v1/dashboard/tickets", json::object(), 201);
  Http browser{hq, hq.adminToken()};
  const auto shot = [&](const std::string& page, const std::string& name) { return chromiumPage(browser, page, name, 1400, 700); };
  const std::string zh = shot("/dashboard/terminals?lang=zh", "terminals-zh");
  CHECK(zh.find("终端管理") != std::string::npos);
  CHECK(std::regex_search(zh, std::regex(R"(data-key="skew" class="late">\+1[12][0-9] s<)")));
  CHECK(zh.find("head office did not answer within 30 s") != std::string::npos);
  CHECK(std::regex_search(zh, std::regex(R"(data-key="backlog">17<)")));

  // Add and revoke through the forms, as a browser posts them (session cookie + CSRF).
  auto c = hq.client();
  auto in = c->Get(ticket["url"].get<std::string>().c_str());
  REQUIRE(in);
  const httplib::Headers cookie = {{"Cookie", "lhq_session=" + setCookieValue(in, "lhq_session")}};
  auto page = c->Get("/dashboard/terminals?lang=en", cookie);
  REQUIRE(page);
  REQUIRE(page->status == 200);
  const std::string csrf = hiddenCsrf(page->body);
  auto forged = c->Post("/dashboard/terminals", cookie, "store=S2&terminal=T9&timezone=UTC", "application/x-www-form-urlencoded");
  REQUIRE(forged);
  CHECK(forged->status == 403);
  auto badZone = c->Post("/dashboard/terminals", cookie, "csrf=" + csrf + "&store=S2&terminal=T9&timezone=Mars%2FOlympus",
                         "application/x-www-form-urlencoded");
  REQUIRE(badZone);
  CHECK(badZone->status == 400);
  auto added = c->Post("/dashboard/terminals", cookie, "csrf=" + csrf + "&store=S2&terminal=T9&timezone=Asia%2FShanghai",
                       "application/x-www-form-urlencoded");
  REQUIRE(added);
  CHECK(added->status == 201);
  std::smatch m;
  REQUIRE(std::regex_search(added->body, m, std::regex(R"(data-key="registration_code">([^<]+)<)")));
  const std::string code = m[1].str();
  // The answer lists the new terminal's store (the form's), where it now is.
  CHECK(added->body.find(R"(name="store" size="12" value="S2")") != std::string::npos);
  CHECK(added->body.find(R"(data-terminal="T9" data-state="waiting")") != std::string::npos);
  CHECK(added->body.find(R"(data-key="terminals-total">1<)") != std::string::npos);
  CHECK(added->body.find(R"(data-key="terminals-waiting">1<)") != std::string::npos);
  auto reg = hq.client()->Post("/api/v1/register", json{{"code", code}}.dump(), "application/json");
  REQUIRE(reg);
  CHECK(reg->status == 200);
  const std::string t9 = json::parse(reg->body)["token"];
  // The revoke form goes back to the list it was on (the store's, that page).
  CHECK(added->body.find(R"(name="back" value="/dashboard/terminals?lang=en&amp;store=S2&amp;offset=0")") != std::string::npos);
  auto revoked = c->Post("/dashboard/terminals/T9/revoke", cookie,
                         "csrf=" + csrf + "&back=%2Fdashboard%2Fterminals%3Flang%3Den%26store%3DS2%26offset%3D0",
                         "application/x-www-form-urlencoded");
  REQUIRE(revoked);
  CHECK(revoked->status == 303);
  CHECK(revoked->get_header_value("Location") == "/dashboard/terminals?lang=en&store=S2&offset=0");
  for (const char* elsewhere : {"%2F%2Fevil.example%2Fdashboard%2Fterminals%3F", "%2Fdashboard%2Fmembers", "https%3A%2F%2Fevil.example%2F"}) {
    INFO(elsewhere);  // not a way back: the fleet page itself
    auto again = c->Post("/dashboard/terminals/T9/revoke", cookie, "csrf=" + csrf + "&back=" + elsewhere, "application/x-www-form-urlencoded");
    REQUIRE(again);
    CHECK(again->status == 303);
    CHECK(again->get_header_value("Location") == "/dashboard/terminals");
  }
  auto refused = hq.client()->Get("/api/v1/terminal/release", bearer(t9));
  REQUIRE(refused);
  CHECK(refused->status == 401);
  const std::string after = shot("/dashboard/terminals?lang=en", "terminals-en");
  CHECK(std::regex_search(after, std::regex(R"(data-terminal="T9" data-state="revoked")")));
  CHECK(after.find(R"(data-key="terminals-revoked">1<)") != std::string::npos);
  CHECK(after.find(R"(data-key="terminals-active">1<)") != std::string::npos);
  CHECK(after.find(R"(data-key="terminals-waiting">0<)") != std::string::npos);
  // A page at a time, by store then terminal: the first of two, and a link to the next.
  auto first = c->Get("/dashboard/terminals?lang=en&limit=1", cookie);
  REQUIRE(first);
  REQUIRE(first->status == 200);
  CHECK(first->body.find(R"(data-key="terminals-shown">Showing 1–1 of 2<)") != std::string::npos);
  CHECK(first->body.find(R"(<a rel="next" href="/dashboard/terminals?lang=en&amp;limit=1&amp;offset=1">)") != std::string::npos);
  CHECK(first->body.find("data-terminal=\"T9\"") == std::string::npos);
  auto second = c->Get("/dashboard/terminals?lang=en&limit=1&offset=1", cookie);
  REQUIRE(second);
  CHECK(second->body.find("data-terminal=\"T9\"") != std::string::npos);
  CHECK(second->body.find(R"(rel="prev")") != std::string::npos);
  CHECK(second->body.find(R"(rel="next")") == std::string::npos);
  auto past = c->Get("/dashboard/terminals?lang=en&offset=5", cookie);  // past the end: no rows, no range, a way back
  REQUIRE(past);
  CHECK(past->body.find("data-terminal=") == std::string::npos);
  CHECK(past->body.find("terminals-shown") == std::string::npos);
  CHECK(past->body.find(R"(rel="prev")") != std::string::npos);
  auto elsewhere = c->Get("/dashboard/terminals?lang=en&store=S7", cookie);
  REQUIRE(elsewhere);
  CHECK(elsewhere->body.find("No terminals in this store.") != std::string::npos);
  // A bad list parameter on the add form's answer is refused before the terminal is added.
  auto refusedAdd = c->Post("/dashboard/terminals?offset=x", cookie, "csrf=" + csrf + "&store=S2&terminal=T10&timezone=UTC",
                            "application/x-www-form-urlencoded");
  REQUIRE(refusedAdd);
  CHECK(refusedAdd->status == 400);
  CHECK(admin.get("/api/v1/admin/terminals?store=S2")["total"] == 1);
  auto badStore = c->Get("/dashboard/terminals?lang=en&store=S%202", cookie);
  REQUIRE(badStore);
  CHECK(badStore->status == 400);
  CHECK(badStore->body.find("store is 1 to 128 printable characters") != std::string::npos);
  const json audit = admin.get("/api/v1/admin/audit?limit=200");
  std::set<std::string> seen;
  for (const auto& e : audit["entries"]) {
    if (e["actor"].get<std::string>().rfind("user:", 0) == 0) seen.insert(e["action"].get<std::string>() + " " + e.value("subject", ""));
  }
  CHECK(seen.count("terminal.add T9") == 1);
  CHECK(seen.count("terminal.revoke T9") == 1);

  // An analyst is not shown the fleet page.
  const json at = Api{hq, hq.cli({"token", "create", "--data", hq.dataDir(), "--role", "analyst", "--name", "ana-token"})}
                      .post("/api/v1/dashboard/tickets", json::object(), 201);
  auto c2 = hq.client();
  auto in2 = c2->Get(at["url"].get<std::string>().c_str());
  REQUIRE(in2);
  auto denied = c2->Get("/dashboard/terminals", {{"Cookie", "lhq_session=" + setCookieValue(in2, "lhq_session")}});
  REQUIRE(denied);
  CHECK(denied->status == 403);
}
