// The dashboard as a head-office manager reads it (issue 20, "Also seen"): lists say who a member
// is and page through by value; exports name people, keep phones as text, and speak the page's
// language; figures carry thousands separators and ¥; NPS below zero is a bar, no answers "—";
// long ranges by month; all 24 hours; as-of dates; an unknown store is refused by name; the store
// filter is a list; the language switch keeps filters; sign-in returns to the page asked for;
// an unknown dashboard address is an HTML page; a 400 px screen. Real loyalty-hq over HTTPS,
// pages in headless Chromium (screenshots in build/screenshots).
#include <catch2/catch.hpp>

#include <cstdio>

#include "dashboard_browser.hpp"

using namespace loyalty::test;
using nlohmann::json;

namespace {

json event(const std::string& terminal, const std::string& store, std::int64_t seq, const std::string& type, const std::string& at,
           json payload) {
  payload["store_id"] = store;
  payload["terminal_id"] = terminal;
  return {{"event_id", terminal + "-e" + std::to_string(seq)}, {"seq", seq}, {"type", type}, {"at", at}, {"payload", payload}};
}

std::string two(int n) {
  char b[8];
  std::snprintf(b, sizeof b, "%02d", n);
  return b;
}

/// The data lines of a CSV export (the byte-order mark dropped), split at CRLF.
std::vector<std::string> csvLines(const std::string& csv) {
  std::vector<std::string> out;
  std::size_t at = csv.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
  for (std::size_t end; (end = csv.find("\r\n", at)) != std::string::npos; at = end + 2) out.push_back(csv.substr(at, end - at));
  return out;
}

/// 60 members enrolled at S1 (names 会员00..会员59, phones +86138000000NN), each buying once on
/// 5 January (¥1,000.00 + NN × ¥10); m00 and m01 again on 20 April, the data's last day. S1's
/// NPS answers 2, 3 and 10 (NPS -33.3); S2 has one CSAT answer and no NPS answer.
void fill(HqInstance& hq, const std::string& t1, const std::string& t2) {
  json events = json::array();
  std::int64_t seq = 0;
  for (int i = 0; i < 60; ++i) {
    const std::string id = "m" + two(i);
    events.push_back(event("T1", "S1", ++seq, "member.enrolled", "2026-01-02T08:00:00Z",
                           {{"member_id", id}, {"card_no", "90000" + two(i)}, {"phone", "+86138000000" + two(i)},
                            {"name", "会员" + two(i)}, {"birthday", nullptr}, {"language", "zh-CN"}, {"consent_marketing", true},
                            {"consent_version", "v1"}, {"referrer_id", nullptr}}));
  }
  for (int i = 0; i < 60; ++i) {
    ++seq;
    events.push_back(saleEvent("T1", "S1", seq, "m" + two(i), std::to_string(1000 + 10 * i) + ".00", 10, 0, "2026-01-05T10:00:00Z"));
  }
  ++seq;
  events.push_back(saleEvent("T1", "S1", seq, std::string("m00"), "50.00", 5, 0, "2026-04-20T03:00:00Z"));
  ++seq;
  events.push_back(saleEvent("T1", "S1", seq, std::string("m01"), "60.00", 6, 0, "2026-04-20T04:00:00Z"));
  int survey = 0;
  for (const int score : {2, 3, 10}) {
    events.push_back(event("T1", "S1", ++seq, "survey.answered", "2026-01-05T10:05:00Z",
                           {{"survey_id", "sv" + std::to_string(++survey)}, {"sale_id", nullptr}, {"member_id", nullptr},
                            {"scale", "nps10"}, {"score", score}}));
  }
  uploadApplied(hq, t1, "T1", events);
  uploadApplied(hq, t2, "T2",
         json::array({event("T2", "S2", 1, "survey.answered", "2026-01-06T10:05:00Z",
                            {{"survey_id", "sv-s2"}, {"sale_id", nullptr}, {"member_id", nullptr}, {"scale", "csat5"}, {"score", 5}})}));
}

void peopleOn(const std::string& backend) {
  REQUIRE(runCommand({"/bin/sh", "-c", "command -v chromium"}).first == 0);
  HqInstance hq(backend);
  REQUIRE(runCommand({"/bin/sh", "-c", "echo 'manager-password-1' | '" + hqBinary() + "' user set --data '" + hq.dataDir() +
                                           "' --name mgr --role analyst --pii"})
              .first == 0);
  hq.start();
  const std::string t1 = hq.registerTerminal("S1", "T1", "Asia/Shanghai");
  const std::string t2 = hq.registerTerminal("S2", "T2", "Asia/Shanghai");
  fill(hq, t1, t2);
  Http admin{hq, hq.adminToken()};
  const std::string shot = "people-" + backend + "-";

  // With no end date, the at-risk list counts to the data's last day, not to today.
  const json churn = admin.get("/api/v1/reports/churn");
  CHECK(churn["as_of"] == "2026-04-20");
  CHECK(churn["at_risk"] == 58);
  // Most valuable first, and who they are.
  CHECK(churn["members"][0]["member_id"] == "m59");
  CHECK(churn["members"][0]["name"] == "会员59");
  CHECK(churn["members"][0]["phone"] == "+8613800000059");
  CHECK(churn["members"][0]["store"] == "S1");

  // An unknown store (or the wrong case of a known one) is refused by name, not answered with zeros.
  {
    auto r = hq.client()->Get("/api/v1/reports/summary?store=s1", bearer(admin.token));
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(r->body.find("store s1 is unknown") != std::string::npos);
    CHECK(r->body.find("S1, S2") != std::string::npos);
    admin.get("/api/v1/reports/summary?store=S2");
  }

  // Exports for people: headers in the page's language, who first, phones as text cells.
  {
    const auto zh = csvLines(admin.raw("/api/v1/exports/churn.csv?lang=zh"));
    REQUIRE(zh.size() == 59);
    CHECK(zh[0].rfind("会员编号,姓名,卡号,手机号,会员等级,门店,", 0) == 0);
    CHECK(zh[1].rfind("m59,会员59,9000059,\"=\"\"+8613800000059\"\"\",", 0) == 0);
    CHECK(zh[1].find("超过设定天数未到店") != std::string::npos);  // the reason, not "days"
    const auto follow = csvLines(admin.raw("/api/v1/exports/abc-follow-up.csv?lang=en"));
    REQUIRE(!follow.empty());
    CHECK(follow[0].rfind("Member ID,Name,Card,Phone,Class,Store,", 0) == 0);
    const auto abc = csvLines(admin.raw("/api/v1/exports/abc.csv"));  // scripts: the API's names
    CHECK(abc[0].find("name") != std::string::npos);
    CHECK(abc[0].find("phone") != std::string::npos);
    const std::string campaign = admin.raw("/api/v1/exports/campaign.csv?lang=zh");
    CHECK(campaign.find("'+86") == std::string::npos);
    CHECK(campaign.find("\"=\"\"+8613800000000\"\"\"") != std::string::npos);
    const auto referrals = csvLines(admin.raw("/api/v1/exports/referrals.csv?lang=en"));
    REQUIRE(referrals.size() == 1);  // no referrals: still the header row
    CHECK(referrals[0].rfind("Referrer ID,Name,Card", 0) == 0);
  }

  // An unknown dashboard address: an HTML page in the reader's language.
  {
    auto r = hq.client()->Get("/dashboard/no-such-page", {{"Accept-Language", "zh-CN,zh;q=0.9"}});
    REQUIRE(r);
    CHECK(r->status == 404);
    CHECK(r->get_header_value("Content-Type").rfind("text/html", 0) == 0);
    CHECK(r->body.find("页面不存在") != std::string::npos);
    auto api = hq.client()->Get("/api/v1/no-such-thing");
    REQUIRE(api);
    CHECK(api->get_header_value("Content-Type").find("json") != std::string::npos);
  }

  // Sign-in returns to the page asked for, filters and all.
  {
    auto r = hq.client()->Get("/dashboard/stores?from=2026-01-01&store=S1");
    REQUIRE(r);
    CHECK(r->status == 303);
    // (the client decodes Location; on the wire next is percent-encoded, as the URL below)
    CHECK(r->get_header_value("Location") == "/dashboard/login?next=/dashboard/stores?from=2026-01-01&store=S1");
    const std::string script = std::string(LOYALTY_SOURCE_DIR) + "/tests/hq/analytics/browser_sign_in.py";
    const std::string login = "https://127.0.0.1:" + std::to_string(hq.port()) +
                              "/dashboard/login?next=%2Fdashboard%2Fstores%3Ffrom%3D2026-01-01%26store%3DS1";
    std::filesystem::create_directories(LOYALTY_SCREENSHOT_DIR);
    const auto [status, out] = runCommand({"/usr/bin/env", "python3", script, login, "mgr", "manager-password-1",
                                           std::string(LOYALTY_SCREENSHOT_DIR) + "/" + shot + "sign-in-next.png"},
                                          Stderr::kInherit);
    INFO(out);
    REQUIRE(status == 0);
    CHECK(json::parse(out)["location"] == "/dashboard/stores?from=2026-01-01&store=S1");
  }

  // Signing in through the form keeps `next`; saving a complaint returns to the list as filtered.
  {
    admin.post("/api/v1/complaints", {{"complaint_id", "C-9"}, {"category", "service"}, {"description", "油枪故障"}, {"store", "S1"}},
               201);
    const char* form = "application/x-www-form-urlencoded";
    auto c = hq.client();
    auto login = c->Get("/dashboard/login?next=%2Fdashboard%2Fcomplaints%3Fstore%3DS1");
    REQUIRE(login);
    const std::string csrf = hiddenCsrf(login->body);
    CHECK(login->body.find("name=\"next\" value=\"/dashboard/complaints?store=S1\"") != std::string::npos);
    auto in = c->Post("/dashboard/login", {{"Cookie", "lhq_login_csrf=" + setCookieValue(login, "lhq_login_csrf")}},
                      "csrf=" + csrf + "&user=mgr&password=manager-password-1&next=%2Fdashboard%2Fcomplaints%3Fstore%3DS1", form);
    REQUIRE(in);
    CHECK(in->get_header_value("Location") == "/dashboard/complaints?store=S1");
    const httplib::Headers s = {{"Cookie", "lhq_session=" + setCookieValue(in, "lhq_session")}};
    auto list = c->Get("/dashboard/complaints?store=S1", s);
    REQUIRE(list);
    REQUIRE(list->status == 200);
    CHECK(list->body.find("name=\"back\" value=\"/dashboard/complaints?store=S1\"") != std::string::npos);
    auto saved = c->Post("/dashboard/complaints/C-9", s,
                         "csrf=" + hiddenCsrf(list->body) + "&back=%2Fdashboard%2Fcomplaints%3Fstore%3DS1&step=acknowledged", form);
    REQUIRE(saved);
    CHECK(saved->status == 303);
    CHECK(saved->get_header_value("Location") == "/dashboard/complaints?store=S1");
    // Somewhere else is not a way back.
    auto elsewhere = c->Post("/dashboard/complaints/C-9", s,
                             "csrf=" + hiddenCsrf(list->body) + "&back=https%3A%2F%2Fexample.org%2F&note=x", form);
    REQUIRE(elsewhere);
    CHECK(elsewhere->get_header_value("Location") == "/dashboard/complaints");
  }

  // Overview: ¥ and thousands separators; the January-to-April range by month, whole.
  const json summary = admin.get("/api/v1/reports/summary");
  std::string dom = chromiumPage(admin, "/dashboard", shot + "overview-en");
  auto n = pageNumbers(dom);
  CHECK(n.at("net_revenue") == summary["net_revenue"]);
  CHECK(dom.find("data-key=\"net_revenue\">¥77,810.00<") != std::string::npos);
  CHECK(dom.find("Members who bought") != std::string::npos);
  CHECK(dom.find("Net revenue by month") != std::string::npos);
  CHECK(dom.find(">2026-01<") != std::string::npos);
  CHECK(dom.find(">2026-04<") != std::string::npos);
  chromiumPage(admin, "/dashboard?lang=zh", shot + "overview-zh-400px", 400, 900);

  // Stores: all 24 hours; the store filter is a list; the language link keeps the filter.
  dom = chromiumPage(admin, "/dashboard/stores?from=2026-01-01&to=2026-04-30&store=S1", shot + "stores-en");
  CHECK(dom.find(">00:00<") != std::string::npos);
  CHECK(dom.find(">23:00<") != std::string::npos);
  CHECK(dom.find("<select name=\"store\">") != std::string::npos);
  CHECK(dom.find("<option value=\"S1\" selected=\"\">S1</option>") != std::string::npos);
  CHECK(dom.find("<option value=\"S2\">S2</option>") != std::string::npos);
  CHECK(dom.find("href=\"?from=2026-01-01&amp;store=S1&amp;to=2026-04-30&amp;lang=zh\"") != std::string::npos);
  dom = chromiumPage(admin, "/dashboard/stores?store=s1&lang=zh", shot + "stores-unknown-zh");
  CHECK(dom.find("store s1 is unknown") != std::string::npos);

  // Customers: who is at risk, most valuable first, "showing 1–50 of 58" with paging, as of.
  dom = chromiumPage(admin, "/dashboard/customers", shot + "customers-en");
  n = pageNumbers(dom);
  CHECK(n.at("at_risk") == "58");
  CHECK(n.at("churn_showing") == "Showing 1–50 of 58");
  CHECK(n.at("churn:m59") == "会员59");
  CHECK(dom.find("+8613800000059") != std::string::npos);
  CHECK(dom.find("As of 2026-04-20") != std::string::npos);
  CHECK(dom.find("/dashboard/customers?offset=50#churn") != std::string::npos);
  CHECK(dom.find("/api/v1/exports/campaign.csv?lang=en") != std::string::npos);
  n = pageNumbers(chromiumPage(admin, "/dashboard/customers?offset=50&lang=zh", shot + "customers-page2-zh"));
  CHECK(n.at("churn_showing") == "显示第 51–58 条，共 58");

  // Satisfaction: a negative NPS is a bar left of zero; a store without NPS answers shows "—".
  dom = chromiumPage(admin, "/dashboard/satisfaction", shot + "satisfaction-en");
  n = pageNumbers(dom);
  CHECK(n.at("nps:S1") == "-33.3");
  CHECK(n.at("nps:S2") == "—");
  CHECK(n.at("csat:S1") == "—");
  CHECK(n.at("nps_responses") == "3");
  CHECK(n.at("csat_responses") == "1");
  CHECK(dom.find("data-value=\"-33.30\"") != std::string::npos);

  // Points: reversals shown; balances said to be today's whatever the dates.
  dom = chromiumPage(admin, "/dashboard/points?from=2026-01-01", shot + "points-en");
  n = pageNumbers(dom);
  CHECK(n.count("reversed") == 1);
  CHECK(n.at("balances_note").find("the dates do not apply") != std::string::npos);
}

}  // namespace

TEST_CASE("dashboard for people on SQLite: who, how much, in which language", "[analytics][chromium]") { peopleOn("sqlite"); }

TEST_CASE("dashboard for people on PostgreSQL: who, how much, in which language", "[analytics][chromium][postgresql]") {
  peopleOn("postgresql");
}
