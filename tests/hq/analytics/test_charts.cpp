// Charts people read (issue 20 item 8) at a real loyalty-hq over HTTPS, on SQLite and
// PostgreSQL: the Pareto curve with the 55 %/85 % cuts and the ABC mix beside the ideal, trends by
// month, the store comparison, lifecycle stages and the due-to-buy list (API, CSV, audit); and
// the pages in headless Chromium.
#include <filesystem>
#include <regex>
#include <set>

#include "dashboard_browser.hpp"
#include "../support/hq_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;

namespace {

/// Seven members at two stores (as of 2026-10-25; spend 1000 in all):
/// m1 S1 300 in 5 visits every 10 days, the last on 10-11 (loyal; due since 10-21);
/// m2 S2 250 on 10-01 and 10-21 (repeat; interval 20, not yet due);
/// m3 S1 150 once (first purchase); m4 S2 150 on 06-01 and 06-11 (lapsed);
/// m5 S1 100 once, who referred m6 (advocate); m6 S2 50 once (first purchase); m7 S1 never
/// bought (prospect). ABC: A m1 m2 (30 %, 55 %), B m3 m4 (70 %, 85 %), C m5 m6.
void loadChain(HqInstance& hq) {
  const std::string t1 = hq.registerTerminal("S1", "T1"), t2 = hq.registerTerminal("S2", "T2");
  json e1 = json::array(), e2 = json::array();
  std::int64_t s1 = 0, s2 = 0;
  const auto enrol = [&](const std::string& id, const std::string& store, const char* referrer) {
    json& events = store == "S1" ? e1 : e2;
    std::int64_t& seq = store == "S1" ? s1 : s2;
    json e = enrolEvent(store == "S1" ? "T1" : "T2", store, ++seq, id);
    e["at"] = "2026-05-04T08:00:00Z";
    if (referrer) e["payload"]["referrer_id"] = referrer;
    events.push_back(e);
  };
  const auto sale = [&](const std::string& id, const std::string& store, const std::string& amount, const std::string& day) {
    json& events = store == "S1" ? e1 : e2;
    std::int64_t& seq = store == "S1" ? s1 : s2;
    ++seq;
    events.push_back(saleEvent(store == "S1" ? "T1" : "T2", store, seq, id, amount, 0, 0, day + "T10:00:00Z"));
  };
  for (const auto& [id, store] : std::vector<std::pair<std::string, std::string>>{
           {"m1", "S1"}, {"m2", "S2"}, {"m3", "S1"}, {"m4", "S2"}, {"m5", "S1"}, {"m7", "S1"}}) {
    enrol(id, store, nullptr);
  }
  enrol("m6", "S2", "m5");
  for (const char* day : {"2026-09-01", "2026-09-11", "2026-09-21", "2026-10-01", "2026-10-11"}) sale("m1", "S1", "60.00", day);
  sale("m2", "S2", "125.00", "2026-10-01");
  sale("m2", "S2", "125.00", "2026-10-21");
  sale("m3", "S1", "150.00", "2026-10-20");
  sale("m4", "S2", "75.00", "2026-06-01");
  sale("m4", "S2", "75.00", "2026-06-11");
  sale("m5", "S1", "100.00", "2026-10-24");
  sale("m6", "S2", "50.00", "2026-10-22");
  for (const auto& [token, terminal, events] : {std::tuple{t1, "T1", e1}, std::tuple{t2, "T2", e2}}) {
    uploadApplied(hq, token, terminal, events);
  }
}

json get(HqInstance& hq, const std::string& token, const std::string& path, int status = 200) {
  auto r = hq.client()->Get(path.c_str(), bearer(token));
  REQUIRE(r);
  INFO(path << " -> " << r->status << " " << r->body);
  REQUIRE(r->status == status);
  return json::parse(r->body);
}

std::vector<double> column(const json& rows, const char* key) {
  std::vector<double> out;
  for (const auto& r : rows) out.push_back(r[key].get<double>());
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE("charts: Pareto with the ABC cuts, mix beside the ideal, trends, stores, lifecycle and due to buy",
                   "[analytics][charts]", SqliteBackend, PostgresBackend) {
  HqInstance hq(TestType::kName);
  hq.start();
  loadChain(hq);
  const std::string admin = hq.adminToken();
  const std::string asOf = "as_of=2026-10-25";

  // Pareto: one group per customer here, the running share crossing 55 % and 85 % where ABC cuts.
  const json p = get(hq, admin, "/api/v1/reports/pareto?" + asOf);
  CHECK(p["members"] == 6);
  CHECK(p["spend"] == "1000.00");
  CHECK(p["cuts"] == json{{"A", 55}, {"B", 85}});
  CHECK(column(p["bins"], "cumulative_share") == std::vector<double>{30.0, 55.0, 70.0, 85.0, 95.0, 100.0});
  CHECK(column(p["bins"], "cumulative_members_share") == std::vector<double>{16.7, 33.3, 50.0, 66.7, 83.3, 100.0});
  CHECK(p["bins"][1]["spend"] == "250.00");
  // The mix agrees with the ABC report, beside the course's ideal.
  const json abc = get(hq, admin, "/api/v1/reports/abc?" + asOf);
  for (int k = 0; k < 3; ++k) {
    CHECK(p["mix"][k]["members"] == abc["classes"][k]["members"]);
    CHECK(p["mix"][k]["spend"] == abc["classes"][k]["spend"]);
  }
  CHECK(column(p["mix"], "share") == std::vector<double>{33.3, 33.3, 33.3});
  CHECK(column(p["mix"], "ideal_share") == std::vector<double>{20, 40, 40});
  CHECK(column(p["mix"], "spend_share") == std::vector<double>{55.0, 30.0, 15.0});
  // Fewer groups than customers: the groups still add up to every customer and all spend.
  const json p2 = get(hq, admin, "/api/v1/reports/pareto?bins=2&" + asOf);
  REQUIRE(p2["bins"].size() == 2);
  CHECK(p2["bins"][0]["members"] == 3);
  CHECK(p2["bins"][0]["cumulative_share"] == 70.0);
  CHECK(p2["bins"][1]["cumulative_share"] == 100.0);
  // One store: S2's customers only.
  CHECK(get(hq, admin, "/api/v1/reports/pareto?store=S2&" + asOf)["spend"] == "450.00");

  // Trends by month: enrolments in May, sales in June, September and October; July and August
  // shown without sales rather than left out.
  const json t = get(hq, admin, "/api/v1/reports/trends");
  INFO(t.dump());
  REQUIRE(t["rows"].size() == 6);
  CHECK(t["rows"][0] == json{{"month", "2026-05"}, {"sales", 0}, {"refunds", 0}, {"net_revenue", "0.00"}, {"average_sale", "0.00"},
                             {"members", 0}, {"member_revenue", "0.00"}, {"member_revenue_share", nullptr}, {"new_members", 7}});
  CHECK(t["rows"][1]["month"] == "2026-06");
  CHECK(t["rows"][1]["net_revenue"] == "150.00");
  CHECK(t["rows"][2]["month"] == "2026-07");
  CHECK(t["rows"][2]["sales"] == 0);
  CHECK(t["rows"][3]["month"] == "2026-08");
  CHECK(t["rows"][4]["members"] == 1);
  CHECK(t["rows"][5]["month"] == "2026-10");
  CHECK(t["rows"][5]["sales"] == 7);
  CHECK(t["rows"][5]["net_revenue"] == "670.00");
  CHECK(t["rows"][5]["members"] == 5);
  CHECK(t["rows"][5]["average_sale"] == "95.71");
  CHECK(t["rows"][5]["member_revenue_share"] == 100.0);
  CHECK(get(hq, admin, "/api/v1/reports/trends?from=2026-10-01")["rows"].size() == 1);

  // Store comparison: S1 550 and S2 450 against an average store of 500.
  const json s = get(hq, admin, "/api/v1/reports/stores");
  CHECK(s["stores"] == 2);
  CHECK(s["average_net_revenue"] == "500.00");
  REQUIRE(s["rows"].size() == 2);
  CHECK(s["rows"][0]["store"] == "S1");
  CHECK(s["rows"][0]["net_revenue"] == "550.00");
  CHECK(s["rows"][0]["members"] == 3);
  CHECK(s["rows"][0]["new_members"] == 4);
  CHECK(s["rows"][0]["revenue_index"] == 110.0);
  CHECK(s["rows"][1]["revenue_index"] == 90.0);
  CHECK(s["rows"][1]["csat"].is_null());  // no answers: no score, not 0
  CHECK(s["rows_total"] == 2);
  // In pages as the other row reports, the figures over every store.
  const json s2 = get(hq, admin, "/api/v1/reports/stores?limit=1&offset=1");
  REQUIRE(s2["rows"].size() == 1);
  CHECK(s2["rows"][0] == s["rows"][1]);
  CHECK(s2["rows_total"] == 2);
  CHECK(s2["average_net_revenue"] == "500.00");
  CHECK(get(hq, admin, "/api/v1/reports/stores?offset=2")["rows"].empty());
  get(hq, admin, "/api/v1/reports/stores?limit=0", 400);

  // Lifecycle stages as of 2026-10-25.
  const json l = get(hq, admin, "/api/v1/reports/lifecycle?" + asOf);
  CHECK(l["members_total"] == 7);
  std::map<std::string, std::int64_t> stages;
  for (const auto& st : l["stages"]) stages[st["stage"]] = st["members"];
  CHECK(stages == std::map<std::string, std::int64_t>{{"prospect", 1}, {"first_purchase", 2}, {"repeat", 1}, {"loyal", 1},
                                                        {"advocate", 1}, {"lapsed", 1}});
  REQUIRE(l["members"].size() == 7);
  CHECK(l["members"][0]["member_id"] == "m1");  // by spend
  CHECK(l["members"][0]["stage"] == "loyal");
  CHECK(l["members"][0]["name"] == "Li m1");
  CHECK(l["members"][6]["member_id"] == "m7");
  CHECK(l["members"][6]["last_visit"].is_null());
  const json lapsed = get(hq, admin, "/api/v1/reports/lifecycle?stage=lapsed&" + asOf);
  REQUIRE(lapsed["members"].size() == 1);
  CHECK(lapsed["members"][0]["member_id"] == "m4");
  CHECK(lapsed["members"][0]["days_since_visit"] == 136);
  CHECK(get(hq, admin, "/api/v1/reports/lifecycle?limit=2&offset=1&" + asOf)["members"][0]["member_id"] == "m2");
  // Later, m1 has been away twice its interval: lapsed, no longer due.
  CHECK(get(hq, admin, "/api/v1/reports/lifecycle?stage=loyal&as_of=2026-11-05")["members"].empty());
  // On the rules' edges: m1 (every 10 days, last on 10-11) is lapsed from 10-31, twice its
  // interval, not on 10-30; m3 (once, on 10-20) after churn_days 5 days, not 6.
  const auto stageOf = [&](const std::string& member, const std::string& query) {
    const json answer = get(hq, admin, "/api/v1/reports/lifecycle?" + query);
    for (const auto& m : answer["members"]) {
      if (m["member_id"] == member) return m["stage"].get<std::string>();
    }
    return std::string("absent");
  };
  CHECK(stageOf("m1", "as_of=2026-10-30") == "loyal");
  CHECK(stageOf("m1", "as_of=2026-10-31") == "lapsed");
  CHECK(stageOf("m3", "churn_days=6&" + asOf) == "first_purchase");
  CHECK(stageOf("m3", "churn_days=5&" + asOf) == "lapsed");
  // Pages of two make up the whole list (by spend, ties and prospects by member id): for every
  // stage, one stage, the prospects, one store and a range of days (the page is drawn from the
  // buyers and the prospects apart).
  const std::vector<std::string> views = {"", "stage=first_purchase&", "stage=prospect&", "store=S1&", "from=2026-10-01&",
                                          "store=S2&stage=lapsed&", "store=S1,S2&", "from=2026-09-15&to=2026-10-22&"};
  const auto pagesMakeUpTheList = [&](const std::string& filter) {
    INFO(filter);
    const json whole = get(hq, admin, "/api/v1/reports/lifecycle?" + filter + asOf)["members"];
    json pages = json::array();
    for (int offset = 0; offset < 12; offset += 2) {
      const json page = get(hq, admin, "/api/v1/reports/lifecycle?limit=2&offset=" + std::to_string(offset) + "&" + filter + asOf);
      for (const auto& m : page["members"]) pages.push_back(m);
    }
    CHECK(pages == whole);
    for (std::size_t i = 1; i < whole.size(); ++i) {
      const double before = std::stod(whole[i - 1]["spend"].get<std::string>());
      const double spend = std::stod(whole[i]["spend"].get<std::string>());
      CHECK((before > spend || (before == spend && whole[i - 1]["member_id"] < whole[i]["member_id"])));
    }
    // An offset without a limit: the rest of the list.
    const json rest = get(hq, admin, "/api/v1/reports/lifecycle?offset=2&" + filter + asOf)["members"];
    CHECK(rest == (whole.size() > 2 ? json(std::vector<json>(whole.begin() + 2, whole.end())) : json::array()));
  };
  for (const auto& filter : views) pagesMakeUpTheList(filter);
  // One stage's list is the whole list's members of that stage, in its order (a stage's page
  // tests the rule's stages up to its own, not the stage of every member): every stage, on days
  // and filters where members change stage. Returns the stages seen as of 10-25.
  const auto stageListsAgree = [&] {
    std::set<std::string> seen;
    for (const std::string& filter : {asOf, std::string("as_of=2026-10-31"), std::string("as_of=2026-11-05"),
                                      "from=2026-10-01&" + asOf, "store=S1,S2&churn_days=5&" + asOf}) {
      const json whole = get(hq, admin, "/api/v1/reports/lifecycle?" + filter)["members"];
      for (const std::string stage : {"prospect", "first_purchase", "repeat", "loyal", "advocate", "lapsed"}) {
        INFO(filter << " " << stage);
        json expected = json::array();
        for (const auto& m : whole) {
          if (m["stage"] == stage) expected.push_back(m);
        }
        if (!expected.empty() && filter == asOf) seen.insert(stage);
        CHECK(get(hq, admin, "/api/v1/reports/lifecycle?stage=" + stage + "&" + filter)["members"] == expected);
      }
    }
    return seen.size();
  };
  CHECK(stageListsAgree() == 6);
  const json fromOctober = get(hq, admin, "/api/v1/reports/lifecycle?from=2026-10-01&" + asOf);
  CHECK(fromOctober["members_total"] == 7);  // m4 bought in June only: a prospect of the range
  CHECK(fromOctober["stages"][0] == json{{"stage", "prospect"}, {"members", 2}, {"share", 28.6}});
  const json s1Prospects = get(hq, admin, "/api/v1/reports/lifecycle?stage=prospect&store=S1&" + asOf);
  REQUIRE(s1Prospects["members"].size() == 1);
  CHECK(s1Prospects["members"][0]["member_id"] == "m7");
  CHECK(s1Prospects["members"][0]["days_since_visit"].is_null());

  // Due to buy: m1's usual 10 days have passed (not yet twice that); m2's 20 have not.
  const json d = get(hq, admin, "/api/v1/reports/due?" + asOf);
  CHECK(d["due"] == 1);
  REQUIRE(d["members"].size() == 1);
  CHECK(d["members"][0]["member_id"] == "m1");
  CHECK(d["members"][0]["usual_interval_days"] == 10.0);
  CHECK(d["members"][0]["due_day"] == "2026-10-21");
  CHECK(d["members"][0]["days_since_visit"] == 14);
  CHECK(d["members"][0]["store"] == "S1");
  CHECK(d["members"][0]["phone"] == "+8613800000000");
  CHECK(get(hq, admin, "/api/v1/reports/due?as_of=2026-11-11")["members"][0]["member_id"] == "m2");
  // m2's usual 20 days (last on 10-21) have passed on 11-10, not on 11-09.
  const auto dueMembers = [&](const std::string& day) {
    std::vector<std::string> out;
    const json due = get(hq, admin, "/api/v1/reports/due?as_of=" + day);
    for (const auto& m : due["members"]) out.push_back(m["member_id"]);
    return out;
  };
  CHECK(dueMembers("2026-11-09").empty());
  CHECK(dueMembers("2026-11-10") == std::vector<std::string>{"m2"});

  // An analyst sees phones masked; the lists are audited; CSV with readable headers.
  const std::string analyst = hq.cli({"token", "create", "--data", hq.dataDir(), "--role", "analyst", "--name", "plain"});
  CHECK(get(hq, analyst, "/api/v1/reports/due?" + asOf)["members"][0]["phone"] == "138****0000");
  const json audit = get(hq, admin, "/api/v1/admin/audit?order=desc&limit=50");
  bool audited = false;
  for (const auto& e : audit["entries"]) audited = audited || e["subject"] == "report:due";
  CHECK(audited);
  auto csv = hq.client()->Get(("/api/v1/reports/lifecycle.csv?lang=zh&" + asOf).c_str(), bearer(admin));
  REQUIRE(csv);
  REQUIRE(csv->status == 200);
  CHECK(csv->body.find("姓名") != std::string::npos);
  CHECK(csv->body.find("忠诚客户") != std::string::npos);

  // Parameters are checked by name; a terminal may not read them.
  CHECK(get(hq, admin, "/api/v1/reports/pareto?bins=0", 400)["detail"].get<std::string>().find("bins") != std::string::npos);
  CHECK(get(hq, admin, "/api/v1/reports/lifecycle?stage=vip", 400)["detail"].get<std::string>().find("stage") != std::string::npos);
  get(hq, admin, "/api/v1/reports/due?churn_days=0", 400);
  get(hq, admin, "/api/v1/reports/trends?from=2026-13-01", 400);
  auto anon = hq.client()->Get("/api/v1/reports/pareto");
  REQUIRE(anon);
  CHECK(anon->status == 401);

  // A buyer whose sale was refunded (net 0) among more prospects than a page holds: pages of two
  // still make up the whole list, the buyer in member-id order among the prospects.
  const std::string t3 = hq.registerTerminal("S1", "T3");
  json more = json::array();
  std::int64_t seq = 0;
  for (const char* id : {"m10", "m11", "m8", "m9"}) {
    json e = enrolEvent("T3", "S1", ++seq, id);
    e["at"] = "2026-05-04T08:00:00Z";
    more.push_back(e);
  }
  more.push_back(saleEvent("T3", "S1", ++seq, "m11", "40.00", 0, 0, "2026-10-23T10:00:00Z"));
  const std::string saleId = "T3-s" + std::to_string(seq);
  ++seq;
  more.push_back({{"event_id", "T3-e" + std::to_string(seq)}, {"seq", seq}, {"type", "sale.refunded"}, {"at", "2026-10-24T10:00:00Z"},
                  {"payload", {{"refund_id", "T3-r1"}, {"sale_id", saleId}, {"member_id", "m11"}, {"store_id", "S1"},
                               {"terminal_id", "T3"}, {"lines", json::array()}, {"amount", "40.00"}, {"points_reversed", 0},
                               {"points_returned", 0}}}});
  // m5, the advocate, buys again on 10-25: an advocate of two visits (not on the repeat page), and
  // lapsed by 10-31 (twice its one-day interval: not on the advocates' page).
  more.push_back(saleEvent("T3", "S1", ++seq, "m5", "10.00", 0, 0, "2026-10-25T10:00:00Z"));
  uploadApplied(hq, t3, "T3", more);
  const json after = get(hq, admin, "/api/v1/reports/lifecycle?" + asOf);
  CHECK(after["members_total"] == 11);
  std::vector<std::string> last;
  for (std::size_t i = 6; i < after["members"].size(); ++i) last.push_back(after["members"][i]["member_id"]);
  CHECK(last == std::vector<std::string>{"m10", "m11", "m7", "m8", "m9"});
  for (const auto& filter : views) pagesMakeUpTheList(filter);
  for (const auto& m : after["members"]) {
    if (m["member_id"] == "m5") CHECK(m["visits"] == 2);
  }
  CHECK(stageOf("m5", asOf) == "advocate");
  CHECK(stageOf("m5", "as_of=2026-10-31") == "lapsed");
  CHECK(stageListsAgree() == 6);
}

TEST_CASE("chart pages in headless Chromium: Pareto, mix, trends, stores, lifecycle and due to buy", "[analytics][charts][chromium]") {
  REQUIRE(runCommand({"/bin/sh", "-c", "command -v chromium"}).first == 0);
  HqInstance hq("sqlite");
  hq.start();
  loadChain(hq);
  const std::string admin = hq.adminToken();
  Http browser{hq, hq.adminToken()};
  const auto shot = [&](const std::string& page, const std::string& name) { return chromiumPage(browser, page, name, 1280, 2400); };
  const std::string zh = shot("/dashboard/charts?lang=zh&as_of=2026-10-25", "charts-zh");
  CHECK(zh.find("客户消费帕累托图") != std::string::npos);
  CHECK(zh.find("data-chart=\"pareto\"") != std::string::npos);
  CHECK(std::regex_search(zh, std::regex(R"(data-cut="55")")));
  CHECK(std::regex_search(zh, std::regex(R"(data-cut="85")")));
  CHECK(std::regex_search(zh, std::regex(R"(data-class="A" data-kind="ideal" data-value="20.0")")));
  CHECK(std::regex_search(zh, std::regex(R"(data-key="mix-share:A">33.3<)")));
  CHECK(zh.find(">12.5%</text>") != std::string::npos);  // the spend axis keeps its decimals
  CHECK(zh.find("data-chart=\"trend-net-revenue\"") != std::string::npos);
  CHECK(std::regex_search(zh, std::regex(R"(data-label="2026-10" data-value="670.00")")));  // decimals kept
  CHECK(std::regex_search(zh, std::regex(R"(data-key="store-index:S1">110.0<)")));
  CHECK(zh.find("图表分析") != std::string::npos);  // in the navigation
  CHECK(std::regex_search(zh, std::regex(R"(data-label="2026-07" data-value="0.00")")));  // a month without sales
  CHECK(!std::regex_search(zh, std::regex(R"(data-label="2026-07" data-value="0.00"><title>2026-07 · 客单价)")));  // nothing to average
  // The store comparison a page of stores at a time: the second page (offset 1) shows S2, its
  // charts S2's bars with every store's average.
  const std::string second = shot("/dashboard/charts?lang=en&as_of=2026-10-25&offset=1", "charts-en-stores-offset");
  CHECK(std::regex_search(second, std::regex(R"(data-key="stores-shown">showing 2–2 of 2<)")));
  CHECK(std::regex_search(second, std::regex(R"(data-key="store-index:S2">90.0<)")));
  CHECK(second.find("data-key=\"store-index:S1\"") == std::string::npos);
  CHECK(second.find("href=\"/dashboard/charts?as_of=2026-10-25&amp;offset=0#stores\"") != std::string::npos);
  CHECK(second.find("data-average=\"500.00\"") != std::string::npos);
  // The average sale's line is every store's (S1 78.57, S2 90.00), not this page's S2 alone.
  const auto averageChart = second.find("data-chart=\"store-average-sale\"");
  REQUIRE(averageChart != std::string::npos);
  CHECK(second.find("data-average=\"84.2", averageChart) != std::string::npos);
  CHECK(std::regex_search(second, std::regex(R"(data-label="2026-10" data-value="670.00")")));  // the other charts as they were
  const std::string en = shot("/dashboard/lifecycle?lang=en&as_of=2026-10-25", "lifecycle-en");
  CHECK(en.find("Lifecycle stages") != std::string::npos);
  CHECK(std::regex_search(en, std::regex(R"(data-key="stage:lapsed">1<)")));
  CHECK(std::regex_search(en, std::regex(R"(data-key="due-shown">showing 1–1 of 1<)")));
  CHECK(en.find("href=\"/dashboard/members/m1\"") != std::string::npos);
  CHECK(en.find("data-chart=\"lifecycle-stages\"") != std::string::npos);
  const std::string lapsed = shot("/dashboard/lifecycle?lang=zh&as_of=2026-10-25&stage=lapsed", "lifecycle-zh-lapsed");
  CHECK(std::regex_search(lapsed, std::regex(R"(data-stage="lapsed")")));
  CHECK(!std::regex_search(lapsed, std::regex(R"(data-stage="loyal")")));
  CHECK(lapsed.find("客户生命周期阶段") != std::string::npos);
  // The page's own filter keeps the day counted to and the stage.
  CHECK(lapsed.find("name=\"as_of\" value=\"2026-10-25\"") != std::string::npos);
  CHECK(lapsed.find("name=\"stage\" value=\"lapsed\"") != std::string::npos);
}
