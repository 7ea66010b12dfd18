// Each report's SQL against a small hand-made dataset, on SQLite and on a PostgreSQL the test
// starts itself (figures worked out by hand in the comments).
#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include <catch2/catch.hpp>

#include "analytics_backends.hpp"
#include "analytics_data.hpp"
#include "loyalty/core/money.hpp"
#include "loyalty/hq/analytics.hpp"
#include "loyalty/hq/store.hpp"
#include "loyalty/sync/codec.hpp"

using namespace loyalty;
using namespace loyalty::hq;
using loyalty::test::AnalyticsData;
using nlohmann::json;

namespace {

ReportFilter all() { return ReportFilter{}; }

ReportFilter stores(std::vector<std::string> s) {
  ReportFilter f;
  f.stores = std::move(s);
  return f;
}

Timestamp at(const std::string& rfc) { return *parseRfc3339(rfc, "at"); }

/// Each store's or month's "key buyers/member revenue in minor units/enrolled; ", all zero left
/// out, in key order.
using Figures = std::string;

std::string figuresText(std::int64_t buyers, std::int64_t revenue, std::int64_t enrolled) {
  return std::to_string(buyers) + "/" + std::to_string(revenue) + "/" + std::to_string(enrolled);
}

Figures nonZero(const std::map<std::string, Reports::MemberFigures>& in) {
  Figures out;
  for (const auto& [k, m] : in) {
    if (m.buyers != 0 || m.memberRevenue != 0 || m.enrolled != 0) out += k + " " + figuresText(m.buyers, m.memberRevenue, m.enrolled) + "; ";
  }
  return out;
}

/// memberFigures' rule one store or month at a time: summary() and retention() of the filter
/// narrowed to it, as the store comparison and the trends chart asked them row by row before.
Figures oneByOne(Reports& r, const ReportFilter& f, Reports::By by) {
  Figures out;
  const bool byStore = by == Reports::By::kStore;
  const std::vector<std::string> keys = byStore ? std::vector<std::string>{"S1", "S2", "no-such-store"}
                                                : std::vector<std::string>{"2025-12", "2026-01", "2026-02", "2026-03"};
  for (const auto& k : keys) {
    ReportFilter one = f;
    if (byStore) {
      if (!f.stores.empty() && std::find(f.stores.begin(), f.stores.end(), k) == f.stores.end()) continue;
      one.stores = {k};
    } else {
      const std::string last = k == "2026-02" ? "-28" : "-31";
      one.range = {std::max(f.range.from, k + "-01"), std::min(f.range.to, k + last)};
      if (one.range.from > one.range.to) continue;
    }
    const json s = r.summary(one);
    std::int64_t enrolled = 0;
    const json cohorts = r.retention(one);
    for (const auto& c : cohorts["cohorts"]) enrolled += c["members"].get<std::int64_t>();
    const std::int64_t revenue = Money::parse(s["member_revenue"].get<std::string>(), "money")->minor();
    if (s["members"] != 0 || revenue != 0 || enrolled != 0) out += k + " " + figuresText(s["members"].get<std::int64_t>(), revenue, enrolled) + "; ";
  }
  return out;
}

/// The shared dataset:
///   S1/T1: m1 buys 100.00 on Jan 5, 15, 25 (usual interval 10 days); m3 buys 20.00 on Jan 1;
///          csat5 answers 5, 4, 2; complaint C1.
///   S2/T2: m2 buys 50.00 on Feb 18 09:xx and gets 10.00 refunded on Feb 19; a non-member buys
///          10.00 on Feb 18 13:xx; nps10 answers 10, 9, 8, 3.
///   m4, m5 referred by m1 (m4 bought 5.00 at S1 on Feb 1), m3 referred by m2.
///   consent: m1, m3 only.
void fill(AnalyticsData& d) {
  d.terminal("T1", "S1");
  d.terminal("T2", "S2");
  d.member("m1", "2026-01-02T08:00:00Z", "S1", true, std::nullopt, 300);
  d.member("m2", "2026-02-01T08:00:00Z", "S2", false, std::nullopt, -40);
  d.member("m3", "2026-01-01T08:00:00Z", "S1", true, std::string("m2"), 20);
  d.member("m4", "2026-01-20T08:00:00Z", "S1", false, std::string("m1"));
  d.member("m5", "2026-02-03T08:00:00Z", "S2", false, std::string("m1"));
  d.sale("T1", "S1", "m1", "2026-01-05T10:00:00Z", 10000, "FUEL", 2);
  d.ledger(d.lastEvent(), "m1", "earn", 100, "2026-01-05T10:00:00Z");
  d.sale("T1", "S1", "m1", "2026-01-15T10:30:00Z", 10000, "FUEL", 2);
  d.ledger(d.lastEvent(), "m1", "earn", 100, "2026-01-15T10:30:00Z");
  d.sale("T1", "S1", "m1", "2026-01-25T11:00:00Z", 10000, "WASH", 1);
  d.ledger(d.lastEvent(), "m1", "earn", 100, "2026-01-25T11:00:00Z");
  d.sale("T1", "S1", "m3", "2026-01-01T09:00:00Z", 2000, "COFFEE", 4);
  d.ledger(d.lastEvent(), "m3", "earn", 20, "2026-01-01T09:00:00Z");
  d.sale("T1", "S1", "m4", "2026-02-01T09:00:00Z", 500, "COFFEE", 1);
  d.sale("T2", "S2", "m2", "2026-02-18T09:15:00Z", 5000, "FUEL", 1);
  d.ledger(d.lastEvent(), "m2", "earn", 50, "2026-02-18T09:15:00Z");
  d.sale("T2", "S2", std::nullopt, "2026-02-18T13:00:00Z", 1000, "WASH", 1);
  d.refund("T2", "S2", "m2", "2026-02-19T09:00:00Z", 1000);
  d.ledger(d.lastEvent(), "m2", "reversal", -10, "2026-02-19T09:00:00Z");
  const std::string redeem = d.event("T2", "points.redeemed", "2026-02-19T10:00:00Z", "{}");
  d.ledger(redeem, "m2", "redeem", -80, "2026-02-19T10:00:00Z");
  d.sql().query("INSERT INTO overdrafts(event_id, member_id, points, authorised, at) VALUES ($1, 'm2', 40, 'offline', "
                "'2026-02-19T10:00:00Z')",
                {redeem});
  const std::string expire = d.event("T1", "points.adjusted", "2026-02-20T00:00:00Z", "{}");
  d.ledger(expire, "m3", "expire", -5, "2026-02-20T00:00:00Z");
  d.survey("T1", "S1", "2026-01-05T10:05:00Z", "csat5", 5);
  d.survey("T1", "S1", "2026-01-15T10:35:00Z", "csat5", 4);
  d.survey("T1", "S1", "2026-02-01T09:05:00Z", "csat5", 2);
  d.survey("T2", "S2", "2026-02-18T09:20:00Z", "nps10", 10);
  d.survey("T2", "S2", "2026-02-18T09:21:00Z", "nps10", 9);
  d.survey("T2", "S2", "2026-02-18T09:22:00Z", "nps10", 8);
  d.survey("T2", "S2", "2026-02-18T09:23:00Z", "nps10", 3);
  d.complaint("T1", "S1", "2026-02-10T12:00:00Z", "C1", "service", "等了很久 / long wait");
}

json rowWith(const json& rows, const std::string& key, const std::string& value) {
  for (const auto& r : rows) {
    if (r.at(key) == value) return r;
  }
  FAIL("no row with " + key + " = " + value + " in " + rows.dump());
  return {};
}

void reportsOn(AnalyticsData& d) {
  fill(d);
  Reports reports(d.sql());

  SECTION("summary with and without the store filter") {
    const json s = reports.summary(all());
    CHECK(s["sales"] == 7);
    CHECK(s["net_revenue"] == "375.00");  // 300 + 20 + 5 + 50 + 10 − 10
    CHECK(s["members"] == 4);
    CHECK(s["member_sales"] == 6);
    CHECK(s["member_revenue"] == "365.00");
    CHECK(s["non_member_revenue"] == "10.00");
    const json s2 = reports.summary(stores({"S2"}));
    CHECK(s2["sales"] == 2);
    CHECK(s2["net_revenue"] == "50.00");
    CHECK(s2["refunds"] == 1);
    ReportFilter jan;
    jan.range = {"2026-01-01", "2026-01-31"};
    CHECK(reports.summary(jan)["net_revenue"] == "320.00");
  }

  SECTION("sales by hour, member and product") {
    const json h = *reports.sales(all(), "hour");
    CHECK(rowWith(h["rows"], "hour", "10")["sales"] == 2);
    CHECK(rowWith(h["rows"], "hour", "09")["net_revenue"] == "65.00");  // 20 + 5 + 50 − 10 (refund at 09)
    const json m = *reports.sales(all(), "member");
    CHECK(rowWith(m["rows"], "member", "member")["net_revenue"] == "365.00");
    CHECK(rowWith(m["rows"], "member", "non_member")["sales"] == 1);
    const json p = *reports.sales(stores({"S1"}), "product");
    CHECK(p["rows"][0]["product"] == "FUEL");
    CHECK(p["rows"][0]["qty"] == 4);
    CHECK(p["rows"][0]["amount"] == "200.00");
    CHECK(rowWith(p["rows"], "product", "COFFEE")["qty"] == 5);
    CHECK_FALSE(reports.sales(all(), "weekday"));
  }

  SECTION("abc adds the contact frequency and the follow-up list") {
    // Spend: m1 300 (82.2 %, crosses 55 % → B), m2 40, m3 20, m4 5; total 365.
    const json a = reports.abc(all(), "2026-02-20");
    CHECK(a["counts"] == json{{"A", 0}, {"B", 1}, {"C", 3}});
    CHECK(a["members"][0]["member_id"] == "m1");
    CHECK(a["members"][0]["class"] == "B");
    CHECK(a["classes"][0]["contact_frequency"] == "3x_month");
    // The course's frequencies: A 3 visits a month, B 2, C 1 (by phone).
    CHECK(a["visits_per_month"] == json{{"A", 3}, {"B", 2}, {"C", 1}});
    CHECK(a["classes"][1]["contact_frequency"] == "2x_month");
    CHECK(a["classes"][2]["contact_frequency"] == "1x_month");
    CHECK(a["classes"][2]["channel"] == "phone");
    // Follow-up: B every 15 days (m1 last Jan 25: 26 days, due); C every 30 days: m3 (last Jan 1,
    // 50 days) due, m4 (Feb 1, 19 days) and m2 (Feb 18, 2 days) not yet.
    REQUIRE(a["follow_up"].size() == 2);
    CHECK(a["follow_up"][0]["member_id"] == "m1");
    CHECK(a["follow_up"][1]["member_id"] == "m3");
    const json later = reports.abc(all(), "2026-05-01");
    // As of May 1 every member is due (m4: 89 days, m2: 72 ≥ 30), in spend order.
    REQUIRE(later["follow_up"].size() == 4);
    CHECK(later["follow_up"][0]["member_id"] == "m1");
    CHECK(later["follow_up"][1]["member_id"] == "m2");
  }

  SECTION("rfm scores and segments") {
    const json r = reports.rfm(all(), "2026-02-20");
    REQUIRE(r["members"].size() == 4);
    const json m1 = rowWith(r["members"], "member_id", "m1");
    CHECK(m1["frequency"] == 3);
    CHECK(m1["monetary"] == "300.00");
    CHECK(m1["recency_days"] == 26);
    CHECK(m1["f"] == 4);  // NTILE(5) over 4 members: scores 1..4; m1 is most frequent
    CHECK(m1["m"] == 4);
    const json m2 = rowWith(r["members"], "member_id", "m2");
    CHECK(m2["r"] == 4);  // the most recent
    CHECK(m2["monetary"] == "40.00");
    const json m3 = rowWith(r["members"], "member_id", "m3");
    CHECK(m3["r"] == 1);
    CHECK(m3["segment"] == "lost");
    std::int64_t counted = 0;
    for (const auto& s : r["segments"]) counted += s["members"].get<std::int64_t>();
    CHECK(counted == 4);
  }

  SECTION("churn by usual interval and by days") {
    // as of Feb 20: m1 interval 10 d, 26 d since → interval; m3 one visit 50 d ago → days (45);
    // m4 19 d, one visit → not; m2 2 d → not.
    // Most valuable first: m1 (300.00) before m3 (20.00), whatever the absence.
    const json c = reports.churn(all(), "2026-02-20", 45);
    REQUIRE(c["members"].size() == 2);
    CHECK(c["members"][1]["member_id"] == "m3");
    CHECK(c["members"][1]["reason"] == "days");
    CHECK(c["members"][1]["days_since_visit"] == 50);
    CHECK(c["members"][0]["member_id"] == "m1");
    CHECK(c["members"][0]["reason"] == "interval");
    CHECK(c["members"][0]["usual_interval_days"] == 10.0);
    CHECK(c["members"][0]["last_visit"] == "2026-01-25");
    CHECK(c["members"][0]["spend"] == "300.00");
    CHECK(c["members"][0]["store"] == "S1");
    // Exactly twice the interval is at risk; one day less is not.
    CHECK(reports.churn(all(), "2026-02-14", 365)["members"].size() == 1);
    CHECK(reports.churn(all(), "2026-02-13", 365)["members"].empty());
  }

  SECTION("as_of by default: today, or the latest store-local day with data when that is later") {
    CHECK(reports.latestDay() == "2026-02-19");
    CHECK(reports.defaultAsOf(all(), at("2026-03-01T08:00:00Z")) == "2026-03-01");
    CHECK(reports.defaultAsOf(all(), at("2026-02-18T20:00:00Z")) == "2026-02-19");  // a store already on the next day
    ReportFilter early;
    early.range = {"2026-01-01", "2026-02-05"};
    CHECK(reports.defaultAsOf(early, at("2026-03-01T08:00:00Z")) == "2026-02-05");
    // Data that stopped over a month ago (an imported history) is counted to its last day, not
    // to today: otherwise every member is "at risk".
    CHECK(reports.defaultAsOf(all(), at("2026-03-22T08:00:00Z")) == "2026-03-22");
    CHECK(reports.defaultAsOf(all(), at("2026-12-02T08:00:00Z")) == "2026-02-19");
  }

  SECTION("retention cohorts by enrolment month") {
    const json r = reports.retention(all());
    REQUIRE(r["cohorts"].size() == 2);
    const json jan = r["cohorts"][0];
    CHECK(jan["cohort"] == "2026-01");
    CHECK(jan["members"] == 3);                        // m1, m3, m4
    CHECK(jan["active"] == json::array({2, 1}));       // Jan: m1, m3; Feb: m4
    CHECK(jan["retention"][0] == 66.7);
    const json feb = r["cohorts"][1];
    CHECK(feb["members"] == 2);                        // m2, m5
    CHECK(feb["active"] == json::array({1}));          // m2
    CHECK(reports.retention(stores({"S2"}))["cohorts"].size() == 1);
  }

  SECTION("referrals") {
    const json r = reports.referrals(all());
    CHECK(r["enrolled"] == 5);
    CHECK(r["referred"] == 3);
    CHECK(r["converted"] == 2);  // m3 and m4 bought; m5 did not
    CHECK(r["rows"][0]["referrer_id"] == "m1");
    CHECK(r["rows"][0]["referred"] == 2);
    CHECK(r["rows"][0]["converted"] == 1);
    CHECK(r["rows"][0]["referred_spend"] == "5.00");
  }

  SECTION("satisfaction: CSAT and NPS per store and period") {
    const json s = *reports.satisfaction(all(), "all");
    CHECK(s["total"]["csat_responses"] == 3);
    CHECK(s["total"]["csat"] == 66.7);
    CHECK(s["total"]["csat_average"] == 3.67);
    CHECK(s["total"]["nps_responses"] == 4);
    CHECK(s["total"]["nps"] == 25.0);  // 2 promoters, 1 detractor of 4
    CHECK(rowWith(s["rows"], "store", "S1")["nps_responses"] == 0);
    const json m = *reports.satisfaction(stores({"S1"}), "month");
    REQUIRE(m["rows"].size() == 2);
    CHECK(m["rows"][0]["period"] == "2026-01");
    CHECK(m["rows"][0]["csat"] == 100.0);
    CHECK(m["rows"][1]["csat"] == 0.0);
    CHECK_FALSE(reports.satisfaction(all(), "week"));
  }

  SECTION("complaints: counter complaints enter the six-step workflow with history") {
    json c = reports.complaints(all(), at("2026-02-11T00:00:00Z"));
    REQUIRE(c["total"] == 1);
    CHECK(c["rows"][0]["step"] == "received");
    CHECK(c["rows"][0]["description"] == "等了很久 / long wait");
    CHECK(reports.importCounterComplaints(at("2026-02-11T00:00:00Z")) == 1);
    CHECK(reports.importCounterComplaints(at("2026-02-11T00:00:00Z")) == 0);
    // Due 48 h after filing: overdue on Feb 13.
    c = reports.complaints(all(), at("2026-02-13T00:00:00Z"));
    CHECK(c["overdue"] == 1);
    // Skipping a step is refused; moving one step at a time is kept in the history.
    auto skip = reports.updateComplaint("C1", {std::string("investigated"), {}, {}, {}}, "ana", at("2026-02-11T01:00:00Z"));
    REQUIRE_FALSE(skip);
    CHECK(skip.error().field == "step");
    auto ack = reports.updateComplaint("C1", {std::string("acknowledged"), std::string("Wang"), std::string("2026-02-20T00:00:00Z"),
                                              std::string("called the customer")},
                                       "ana", at("2026-02-11T01:00:00Z"));
    REQUIRE(ack);
    CHECK((*ack)["step"] == "acknowledged");
    CHECK((*ack)["owner"] == "Wang");
    CHECK((*ack)["history"].size() == 2);
    CHECK((*ack)["history"][1]["note"] == "called the customer");
    CHECK(reports.complaints(all(), at("2026-02-13T00:00:00Z"))["overdue"] == 0);
    for (const char* step : {"investigated", "solution_proposed", "resolved", "followed_up"}) {
      REQUIRE(reports.updateComplaint("C1", {std::string(step), {}, {}, {}}, "ana", at("2026-02-12T00:00:00Z")));
    }
    c = reports.complaints(all(), at("2026-03-01T00:00:00Z"));
    CHECK(c["open"] == 0);
    CHECK(c["overdue"] == 0);
    CHECK(reports.complaint("C1")->at("history").size() == 6);
    CHECK_FALSE(reports.updateComplaint("nope", {std::string("acknowledged"), {}, {}, {}}, "ana", at("2026-02-12T00:00:00Z")));
    CHECK_FALSE(reports.updateComplaint("C1", {std::string("bogus"), {}, {}, {}}, "ana", at("2026-02-12T00:00:00Z")));
    // Filed at head office.
    auto filed = reports.fileComplaint({"HQ-1", std::string("S2"), std::nullopt, "product", "broken cup", std::nullopt,
                                        std::nullopt},
                                       "ana", at("2026-02-12T00:00:00Z"));
    REQUIRE(filed);
    CHECK((*filed)["due_at"] == "2026-02-14T00:00:00Z");
    CHECK_FALSE(reports.fileComplaint({"HQ-1", std::nullopt, std::nullopt, "product", "again", std::nullopt, std::nullopt},
                                      "ana", at("2026-02-12T00:00:00Z")));
    CHECK(reports.complaints(stores({"S2"}), at("2026-02-12T00:00:00Z"))["total"] == 1);
  }

  SECTION("points: issued, redeemed, expired, liability, debts, overdrafts") {
    const json p = reports.points(all());
    CHECK(p["issued"] == 370);
    CHECK(p["redeemed"] == 80);
    CHECK(p["expired"] == 5);
    CHECK(p["reversed"] == 10);
    CHECK(p["outstanding"] == 320);  // balances 300 + 20
    CHECK(p["liability"] == "3.20");
    CHECK(p["debt_points"] == 40);
    CHECK(p["debt_members"] == 1);
    CHECK(p["overdrafts"] == 1);
    CHECK(p["overdraft_points"] == 40);
    const json s1 = reports.points(stores({"S1"}));
    CHECK(s1["issued"] == 320);
    CHECK(s1["redeemed"] == 0);
    CHECK(s1["overdrafts"] == 0);
  }

  SECTION("what ingest kept in the aggregates equals a rebuild from the raw tables") {
    const auto [kept, rebuilt] = AnalyticsData::aggregatesAndRebuild(d.sql());
    CHECK(kept == rebuilt);
    CHECK(kept.find("m1|3|30000|3|2026-01-05|2026-01-25|") != std::string::npos);  // agg_member row of m1
  }

  SECTION("aggregates (whole months, all time) and raw edges give the raw tables' answers") {
    // rawTables reads the raw tables; without it a report uses the aggregates.
    for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{{"0000-01-01", "9999-12-31"},
                                                                                 {"2026-01-01", "2026-01-31"},
                                                                                 {"2026-01-10", "2026-02-18"},
                                                                                 {"2026-01-15", "2026-02-28"},
                                                                                 {"2025-12-01", "2026-12-31"},
                                                                                 {"2026-02-01", "2026-02-10"},
                                                                                 {"2026-01-05", "2026-01-05"},
                                                                                 {"2026-02-19", "2026-02-19"},    // a refund only
                                                                                 {"2026-01-02", "2026-01-03"},    // an enrolment only
                                                                                 {"2027-01-01", "2027-12-31"}}) {  // after the data
      INFO(from << ".." << to);
      const auto likeRawTables = [&](const ReportFilter& f) {
        ReportFilter raw = f;
        raw.rawTables = true;
        CHECK(reports.summary(f) == reports.summary(raw));
        CHECK(reports.abc(f, "2026-03-01") == reports.abc(raw, "2026-03-01"));
        CHECK(reports.rfm(f, "2026-03-01") == reports.rfm(raw, "2026-03-01"));
        CHECK(reports.churn(f, "2026-03-01", 30) == reports.churn(raw, "2026-03-01", 30));
        CHECK(reports.churn(f, "2026-01-20", 3) == reports.churn(raw, "2026-01-20", 3));
        // Every store's and month's figures at once (the store comparison, the trends chart):
        // each one's summary and retention, from the aggregates or the raw tables alike.
        for (const auto by : {Reports::By::kStore, Reports::By::kMonth}) {
          const Figures each = oneByOne(reports, f, by);
          CHECK(nonZero(reports.memberFigures(f, by)) == each);
          CHECK(nonZero(reports.memberFigures(raw, by)) == each);
        }
      };
      ReportFilter agg;
      agg.range = {from, to};
      likeRawTables(agg);
      // Store filters: one store over all time reads agg_member_store, several add its rows
      // up per member (not for churn: visits), the rest reads the raw tables.
      for (const auto& stores : std::vector<std::vector<std::string>>{{"S1"}, {"S2"}, {"S1", "S2"}, {"S2", "no-such-store"}}) {
        INFO(stores.size() << " stores, the first " << stores[0]);
        ReportFilter some = agg;
        some.stores = stores;
        likeRawTables(some);
      }
    }
  }

  SECTION("member lists come in pages with their totals") {
    ReportFilter page = all();
    page.limit = 1;
    page.offset = 1;
    const json full = reports.abc(all(), "2026-03-01");
    const json a = reports.abc(page, "2026-03-01");
    CHECK(a["members_total"] == full["members"].size());
    CHECK(a["follow_up_total"] == full["follow_up"].size());
    REQUIRE(a["members"].size() == 1);
    CHECK(a["members"][0] == full["members"][1]);
    CHECK(a["counts"] == full["counts"]);
    const json r = reports.rfm(page, "2026-03-01");
    CHECK(r["members_total"] == 4);
    REQUIRE(r["members"].size() == 1);
    CHECK(r["members"][0] == reports.rfm(all(), "2026-03-01")["members"][1]);
    CHECK(r["segments"] == reports.rfm(all(), "2026-03-01")["segments"]);
    const json c = reports.campaignMembers(page);
    CHECK(c["members"] == 2);
    REQUIRE(c["rows"].size() == 1);
    CHECK(c["rows"][0]["member_id"] == "m3");
    const json ch = reports.churn(page, "2026-06-01", 30);
    CHECK(ch["at_risk"] == reports.churn(all(), "2026-06-01", 30)["at_risk"]);
    CHECK(ch["members"].size() == 1);
    ReportFilter bad;
    CHECK_FALSE(loyalty::hq::parsePage(std::string("0"), std::nullopt, bad).hasValue());
    CHECK_FALSE(loyalty::hq::parsePage(std::string("10"), std::string("-1"), bad).hasValue());
    CHECK(loyalty::hq::parsePage(std::string("100"), std::string("200"), bad).hasValue());
    CHECK(bad.limit == 100);
    CHECK(bad.offset == 200);
  }

  SECTION("campaign list holds only consenting members") {
    const json c = reports.campaignMembers(all());
    REQUIRE(c["rows"].size() == 2);
    CHECK(c["rows"][0]["member_id"] == "m1");
    CHECK(c["rows"][1]["member_id"] == "m3");
    CHECK(c["rows"][0]["consent_version"] == "v1");
  }
}

/// Members with the given spends (minor units) at one store, ids as given.
void spends(AnalyticsData& d, const std::vector<std::pair<std::string, std::int64_t>>& s) {
  d.terminal("T1", "S1");
  for (const auto& [id, minor] : s) {
    d.member(id, "2026-01-01T00:00:00Z", "S1");
    d.sale("T1", "S1", id, "2026-01-10T10:00:00Z", minor);
  }
}

std::map<std::string, std::string> classes(AnalyticsData& d) {
  std::map<std::string, std::string> out;
  const json report = Reports(d.sql()).abc(all(), "2026-01-10");
  for (const auto& m : report["members"]) out[m["member_id"]] = m["class"];
  return out;
}

void abcBoundariesOn(const std::function<std::unique_ptr<AnalyticsData>()>& make) {
  SECTION("cumulative share exactly 55 % and 85 % stays in the upper class") {
    auto d = make();
    spends(*d, {{"a", 5500}, {"b", 3000}, {"c", 1500}});
    CHECK(classes(*d) == std::map<std::string, std::string>{{"a", "A"}, {"b", "B"}, {"c", "C"}});
  }
  SECTION("the customer who crosses a boundary falls in the lower class") {
    auto d = make();
    spends(*d, {{"a", 6000}, {"b", 2600}, {"c", 1400}});  // 60 % > 55 → B; 86 % > 85 → C
    CHECK(classes(*d) == std::map<std::string, std::string>{{"a", "B"}, {"b", "C"}, {"c", "C"}});
  }
  SECTION("ties are ordered by member id ascending") {
    auto d = make();
    // 25 each: x1 25 % A, x2 50 % A, x3 75 % B, x4 100 % C — whatever order they were written in.
    spends(*d, {{"x3", 2500}, {"x1", 2500}, {"x4", 2500}, {"x2", 2500}});
    CHECK(classes(*d) == std::map<std::string, std::string>{{"x1", "A"}, {"x2", "A"}, {"x3", "B"}, {"x4", "C"}});
    const json a = Reports(d->sql()).abc(all(), "2026-01-10");
    CHECK(a["members"][0]["member_id"] == "x1");
  }
  SECTION("refunds net out and customers without positive spend are left out") {
    auto d = make();
    spends(*d, {{"a", 5000}, {"b", 5000}, {"z", 1000}});
    d->refund("T1", "S1", std::string("z"), "2026-01-11T10:00:00Z", 1000);
    d->refund("T1", "S1", std::string("b"), "2026-01-11T10:00:00Z", 1000);  // b 40 → a 50/90 = 55.6 % → B
    const auto c = classes(*d);
    CHECK(c.size() == 2);
    CHECK(c.at("a") == "B");
    CHECK(c.at("b") == "C");
  }
  SECTION("ids compare byte-wise on both backends") {
    auto d = make();
    spends(*d, {{"B", 2500}, {"a", 2500}, {"A", 2500}, {"b", 2500}});
    CHECK(classes(*d) == std::map<std::string, std::string>{{"A", "A"}, {"B", "A"}, {"a", "B"}, {"b", "C"}});
  }
}

/// Many members with few distinct spends, last visits and visit counts, so that ties straddle
/// the ABC and RFM cuts and several spends share one bucket of the cut search. All time is
/// ranked by cuts over agg_member; one month and one store by window functions over their
/// aggregate rows; rawTables (and two stores) add rows up per member, ranked by window
/// functions on SQLite and by cuts over a temporary table on PostgreSQL. All must agree on
/// every page.
/// Members' classes as an abc report lists them.
std::map<std::string, std::string> classesOf(const json& abc) {
  std::map<std::string, std::string> out;
  for (const auto& m : abc["members"]) out[m["member_id"].get<std::string>()] = m["class"].get<std::string>();
  return out;
}

/// Members' classes as Reports::abcClasses hands them over, 7 at a time (checked in member order).
std::map<std::string, std::string> classesByPages(Reports& reports, const ReportFilter& f) {
  std::map<std::string, std::string> out;
  std::string last;
  reports.abcClasses(f, 7, [&](const std::vector<std::pair<std::string, std::string>>& page) {
    CHECK(page.size() <= 7);
    for (const auto& [member, cls] : page) {
      CHECK(member > last);
      last = member;
      out[member] = cls;
    }
  });
  return out;
}

/// The Pareto chart against ABC's whole list of the same filter (its order, its classes): the
/// member of rank r (1-based) of n in group (r - 1) * bins / n, each group's members and spend.
void paretoAsListed(Reports& reports, const ReportFilter& f) {
  ReportFilter whole = f;
  whole.limit = -1;
  whole.offset = 0;
  const json list = reports.abc(whole, "2026-03-01");
  const auto n = static_cast<std::int64_t>(list["members"].size());
  REQUIRE(n > 0);
  for (const std::int64_t bins : {1, 2, 3, 7, 50, 200}) {
    INFO("bins " << bins);
    std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>> groups;  // group -> members, spend
    for (std::int64_t r = 0; r < n; ++r) {
      auto& g = groups[r * bins / n];
      ++g.first;
      g.second += Money::parse(list["members"][static_cast<std::size_t>(r)]["spend"].get<std::string>(), "spend")->minor();
    }
    const json p = reports.pareto(f, "2026-03-01", bins);
    CHECK(p["members"] == n);
    std::string expected, got;
    for (const auto& [k, g] : groups) expected += std::to_string(g.first) + " " + Money::fromMinor(g.second).toString() + "; ";
    for (const auto& b : p["bins"]) got += std::to_string(b["members"].get<std::int64_t>()) + " " + b["spend"].get<std::string>() + "; ";
    CHECK(got == expected);
    for (std::size_t k = 0; k < 3; ++k) {
      CHECK(p["mix"][k]["members"] == list["classes"][k]["members"]);
      CHECK(p["mix"][k]["spend"] == list["classes"][k]["spend"]);
    }
  }
}

void rankingTiesOn(AnalyticsData& d) {
  d.terminal("T1", "S1");
  d.terminal("T2", "S2");
  std::uint32_t seed = 20261123;
  const auto next = [&](std::uint32_t n) {
    seed = seed * 1103515245u + 12345u;
    return (seed >> 8) % n;
  };
  static const std::int64_t amounts[] = {100, 1000, 1100, 1250, 2500, 2500, 9000, 12000};
  {
    SqlTransaction tx(d.sql());
    for (int i = 0; i < 300; ++i) {
      const std::string id = "t" + std::to_string(100 + next(900)) + "-" + std::to_string(i);  // not in insertion order
      d.member(id, "2026-01-01T00:00:00Z", "S1");
      for (std::uint32_t s = 0, n = 1 + next(4); s < n; ++s) {
        const std::string t = next(2) ? "T1" : "T2";
        d.sale(t, t == "T1" ? "S1" : "S2", id, "2026-02-0" + std::to_string(1 + next(6)) + "T10:00:00Z", amounts[next(8)]);
      }
      if (next(10) == 0) d.refund("T1", "S1", id, "2026-02-08T10:00:00Z", 20000);  // net <= 0: in RFM, not in ABC
      if (i % 5 == 0) d.sale("T1", "S1", id, "2026-01-20T10:00:00Z", 2500);  // February is then one month of several
    }
    tx.commit();
  }
  Reports reports(d.sql());
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{{"0000-01-01", "9999-12-31"},
                                                                               {"2026-02-01", "2026-02-28"}}) {
    for (const auto& [limit, offset] : std::vector<std::pair<std::int64_t, std::int64_t>>{{-1, 0}, {7, 0}, {7, 13}, {40, 250}}) {
      INFO(from << ".." << to << " limit " << limit << " offset " << offset);
      ReportFilter agg;
      agg.range = {from, to};
      agg.limit = limit;
      agg.offset = offset;
      ReportFilter raw = agg;
      raw.rawTables = true;
      CHECK(reports.abc(agg, "2026-03-01") == reports.abc(raw, "2026-03-01"));
      CHECK(reports.rfm(agg, "2026-03-01") == reports.rfm(raw, "2026-03-01"));
      if (limit < 0) {
        // A follow-up plan's classes: as the report's, by either ranking (cuts, window functions).
        const auto listed = classesOf(reports.abc(agg, "2026-03-01"));
        CHECK(listed.size() > 200);
        CHECK(classesByPages(reports, agg) == listed);
        CHECK(classesByPages(reports, raw) == listed);
        // The Pareto chart's groups by the ranking ABC takes for each filter (on SQLite: cuts
        // over all time, window functions otherwise; on PostgreSQL: cuts).
        paretoAsListed(reports, agg);
        paretoAsListed(reports, raw);
      }
      ReportFilter one = agg;  // one store: agg_member_store
      one.stores = {"S2"};
      raw.stores = one.stores;
      CHECK(reports.abc(one, "2026-03-01") == reports.abc(raw, "2026-03-01"));
      CHECK(reports.rfm(one, "2026-03-01") == reports.rfm(raw, "2026-03-01"));
      CHECK(reports.churn(one, "2026-03-01", 20) == reports.churn(raw, "2026-03-01", 20));  // visits per store
      ReportFilter two = agg;  // two stores: agg_member_store rows added up
      two.stores = {"S2", "S1"};
      raw.stores = two.stores;
      CHECK(reports.abc(two, "2026-03-01") == reports.abc(raw, "2026-03-01"));
      CHECK(reports.rfm(two, "2026-03-01") == reports.rfm(raw, "2026-03-01"));
      CHECK(reports.churn(two, "2026-03-01", 20) == reports.churn(raw, "2026-03-01", 20));
      if (limit < 0) {
        paretoAsListed(reports, one);
        paretoAsListed(reports, two);
        paretoAsListed(reports, raw);
      }
    }
  }
  // No customers in the range: no groups, an empty mix.
  ReportFilter later;
  later.range = {"2030-01-01", "2030-01-31"};
  const json none = reports.pareto(later, "2030-02-01", 50);
  CHECK(none["members"] == 0);
  CHECK(none["bins"].empty());
  CHECK(none["mix"][0]["members"] == 0);
  // The data does put tied members on both sides of cuts.
  const json a = reports.abc(all(), "2026-03-01");
  const json r = reports.rfm(all(), "2026-03-01");
  std::map<std::string, std::set<std::string>> classBySpend, rBy, fBy, mBy;
  for (const auto& m : a["members"]) classBySpend[m["spend"]].insert(m["class"].get<std::string>());
  for (const auto& m : r["members"]) {
    rBy[m["last_visit"]].insert(std::to_string(m["r"].get<int>()));
    fBy[std::to_string(m["frequency"].get<int>())].insert(std::to_string(m["f"].get<int>()));
    mBy[m["monetary"]].insert(std::to_string(m["m"].get<int>()));
  }
  const auto straddled = [](const std::map<std::string, std::set<std::string>>& by) {
    return std::count_if(by.begin(), by.end(), [](const auto& kv) { return kv.second.size() > 1; });
  };
  CHECK(straddled(classBySpend) >= 1);
  CHECK(straddled(rBy) >= 3);
  CHECK(straddled(fBy) >= 2);
  CHECK(straddled(mBy) >= 1);
  CHECK(a["counts"]["A"].get<int>() > 0);
  CHECK(a["counts"]["C"].get<int>() > 0);
}

/// RFM's quintile ends inside a bucket of tens of thousands of members tied on their number of
/// sales (the cut is then found among the members sharing an id prefix) are where NTILE(5)
/// over (value, member id) puts them: every member's r, f and m equal the quintiles worked
/// out here from the whole list.
void largeTiedBucketsOn(AnalyticsData& d) {
  d.terminal("T1", "S1");
  const bool pg = d.sql().backend() == "postgresql";
  // 24,000 members ("u0".."u23999": ids of several lengths, so prefixes are not in numeric
  // order), one sale each, a second one for one in ten: 21,600 members share sales = 1.
  const std::string series = pg ? "WITH g(n) AS (SELECT generate_series(0, 23999)) "
                                : "WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < 23999) ";
  const std::string day = pg ? "to_char(DATE '2026-01-01' + CAST(n % 50 AS INTEGER), 'YYYY-MM-DD')"
                             : "date('2026-01-01', '+' || (n % 50) || ' days')";
  {
    SqlTransaction tx(d.sql());
    d.sql().query(series + "INSERT INTO sales(event_id, sale_id, terminal_id, store_id, member_id, at, day, subtotal, discount, total, "
                           "points_earned, points_redeemed, lines) SELECT 'e' || CAST(n AS TEXT), 's' || CAST(n AS TEXT), 'T1', 'S1', "
                           "'u' || CAST(n AS TEXT), " + day + " || 'T10:00:00Z', " + day + ", (n * 37) % 900 + 100, 0, "
                           "(n * 37) % 900 + 100, 0, 0, 1 FROM g");
    d.sql().query(series + "INSERT INTO sales(event_id, sale_id, terminal_id, store_id, member_id, at, day, subtotal, discount, total, "
                           "points_earned, points_redeemed, lines) SELECT 'f' || CAST(n AS TEXT), 'f' || CAST(n AS TEXT), 'T1', 'S1', "
                           "'u' || CAST(n AS TEXT), '2026-03-01T10:00:00Z', '2026-03-01', 500, 0, 500, 0, 0, 1 FROM g WHERE n % 10 = 3");
    rebuildAggregates(d.sql());
    tx.commit();
  }
  const json r = Reports(d.sql()).rfm(all(), "2026-03-31");
  const auto& members = r["members"];
  REQUIRE(members.size() == 24000);
  std::vector<std::size_t> order(members.size());
  const auto expect = [&](const char* score, const std::function<bool(const json&, const json&)>& before) {
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      if (before(members[a], members[b])) return true;
      if (before(members[b], members[a])) return false;
      return members[a]["member_id"].get<std::string>() < members[b]["member_id"].get<std::string>();
    });
    const std::size_t n = order.size();
    std::size_t wrong = 0;
    for (std::size_t rank = 0, tile = 1, end = n / 5 + (n % 5 > 0); rank < n; ++rank) {
      while (rank >= end) end += n / 5 + (n % 5 > tile++);
      if (members[order[rank]][score].get<std::size_t>() != tile) ++wrong;
    }
    INFO(score);
    CHECK(wrong == 0);
  };
  expect("r", [](const json& a, const json& b) { return a["last_visit"].get<std::string>() < b["last_visit"].get<std::string>(); });
  expect("f", [](const json& a, const json& b) { return a["frequency"].get<int>() < b["frequency"].get<int>(); });
  expect("m", [](const json& a, const json& b) {
    return std::stod(a["monetary"].get<std::string>()) < std::stod(b["monetary"].get<std::string>());
  });
}

/// A database from before survey_answers: the table is added and filled from the stored
/// events, each answer on its terminal's local day.
void surveyBackfillOn(AnalyticsData& d) {
  fill(d);
  d.sql().query("UPDATE terminals SET timezone = 'Asia/Shanghai' WHERE terminal_id = 'T1'");
  d.sql().query("UPDATE terminals SET timezone = 'Mars/Olympus_Mons' WHERE terminal_id = 'T2'");  // falls back to UTC
  // 2026-01-31T16:30Z is Feb 1 in Shanghai.
  d.event("T1", "survey.answered", "2026-01-31T16:30:00Z",
          json{{"survey_id", "late"}, {"scale", "csat5"}, {"score", 5}, {"store_id", "S1"}, {"terminal_id", "T1"}}.dump());
  d.sql().execScript("DROP TABLE survey_answers");
  ensureAnalyticsSchema(d.sql());
  CHECK(d.sql().query("SELECT COUNT(*) FROM survey_answers").integer(0, 0) == 8);
  const auto r = d.sql().query("SELECT day, scale, score FROM survey_answers WHERE store_id = 'S1' ORDER BY day");
  REQUIRE(r.size() == 4);
  CHECK(r.text(0, 0) == "2026-01-05");
  CHECK(r.text(2, 0) == "2026-02-01");  // the late answer, Shanghai's day
  CHECK(r.text(3, 0) == "2026-02-01");
  const json m = *Reports(d.sql()).satisfaction(stores({"S1"}), "month");
  REQUIRE(m["rows"].size() == 2);
  CHECK(m["rows"][0]["csat_responses"] == 2);
  CHECK(m["rows"][1]["period"] == "2026-02");
  CHECK(m["rows"][1]["csat_responses"] == 2);
  CHECK(Reports(d.sql()).satisfaction(all(), "day")->at("periods").size() == 4);
  ensureAnalyticsSchema(d.sql());  // idempotent: nothing added twice
  CHECK(d.sql().query("SELECT COUNT(*) FROM survey_answers").integer(0, 0) == 8);
}

/// Retention cohorts kept by ingest (HqStore::ingest, as POST /api/v1/events): a sale before
/// its member's enrolment, sales within one month, a refund-only month, then a merge.
void cohortsThroughIngestOn(std::unique_ptr<SqlConnection> c) {
  HqStore store(std::move(c));
  const Timestamp now = at("2026-06-01T00:00:00Z");
  store.createSchema(now);
  REQUIRE(store.addTerminal("S1", "T1", "UTC", now, "cli:test"));
  json events = json::array();
  const auto add = [&](const std::string& type, const std::string& when, json payload) {
    payload["store_id"] = "S1";
    payload["terminal_id"] = "T1";
    const auto seq = static_cast<std::int64_t>(events.size()) + 1;
    events.push_back({{"event_id", "T1-" + std::to_string(seq)}, {"seq", seq}, {"type", type}, {"at", when}, {"payload", payload}});
  };
  const auto enrol = [&](const std::string& id, const std::string& when) {
    add("member.enrolled", when,
        {{"member_id", id}, {"card_no", "9" + id}, {"phone", "+8613800000000"}, {"name", "Name " + id}, {"birthday", nullptr},
         {"language", "en"}, {"consent_marketing", false}, {"consent_version", nullptr}, {"referrer_id", nullptr}});
  };
  const auto sale = [&](const std::string& id, const std::string& when) {
    add("sale.recorded", when,
        {{"sale_id", "s" + std::to_string(events.size() + 1)}, {"member_id", id},
         {"lines", {{{"sku", "X"}, {"description", nullptr}, {"qty", 1}, {"unit_price", "10.00"}, {"amount", "10.00"}}}},
         {"subtotal", "10.00"}, {"discount", "0.00"}, {"total", "10.00"}, {"points_earned", 0}, {"points_redeemed", 0}});
  };
  sale("m2", "2026-01-10T10:00:00Z");  // before m2's enrolment reaches head office
  enrol("m1", "2026-01-05T09:00:00Z");
  sale("m1", "2026-01-06T10:00:00Z");
  sale("m1", "2026-01-20T10:00:00Z");
  sale("m1", "2026-03-02T10:00:00Z");
  enrol("m2", "2026-02-01T09:00:00Z");
  sale("m2", "2026-02-14T10:00:00Z");
  enrol("m3", "2026-02-10T09:00:00Z");
  sale("m3", "2026-04-01T10:00:00Z");
  add("sale.refunded", "2026-05-03T10:00:00Z",
      {{"refund_id", "r1"}, {"sale_id", "s3"}, {"member_id", "m1"}, {"lines", json::array()}, {"amount", "10.00"},
       {"points_reversed", 0}, {"points_returned", 0}});
  auto req = sync::decodeUploadRequest(json{{"terminal_id", "T1"}, {"events", events}});
  REQUIRE(req);
  const auto res = store.ingest(*req, now);
  REQUIRE(res);
  for (const auto& r : res->results) {
    INFO(r.eventId << ": " << r.reason.value_or(""));
    REQUIRE(r.status == sync::EventStatus::kApplied);
  }
  Reports reports(store.connection());
  const auto cohorts = [&] {
    json out = json::object();
    const json r = reports.retention(all());
    for (const auto& k : r["cohorts"]) out[k["cohort"].get<std::string>()] = {k["members"], k["active"]};
    return out;
  };
  // January: m1, active in Jan and Mar (May has a refund only). February: m2 (active in Feb;
  // its January sale came before its enrolment) and m3 (active in Apr).
  CHECK(cohorts() == json{{"2026-01", {1, {1, 0, 1}}}, {"2026-02", {2, {1, 0, 1}}}});
  {
    const auto [kept, rebuilt] = AnalyticsData::aggregatesAndRebuild(store.connection());
    CHECK(kept == rebuilt);
  }
  REQUIRE(store.merge("m3", "m1", now));
  // m3's April sale is m1's now; m3 leaves the February cohort.
  CHECK(cohorts() == json{{"2026-01", {1, {1, 0, 1, 1}}}, {"2026-02", {1, {1}}}});
  const auto [kept, rebuilt] = AnalyticsData::aggregatesAndRebuild(store.connection());
  CHECK(kept == rebuilt);
  CHECK(kept.find("2026-02-10|S1|2026-04") == std::string::npos);  // emptied rows are gone
}

/// A database from before the cohort and member-store aggregates: opening it builds them from
/// the raw tables, equal to what ingest would have kept.
void olderAggregatesOn(AnalyticsData& d) {
  fill(d);
  const std::string kept = AnalyticsData::dumpAggregates(d.sql());
  d.sql().execScript("DROP TABLE agg_member_store; DROP TABLE agg_cohort; DROP TABLE agg_enrolment");
  const bool pg = d.sql().backend() == "postgresql";
  // On PostgreSQL agg_member_month's key carries its columns now; before, it did not.
  const std::string covering = "SELECT COUNT(*) FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
                               "WHERE t.relname = 'agg_member_month' AND i.indisprimary AND i.indnatts > i.indnkeyatts";
  if (pg) {
    CHECK(d.sql().query(covering).integer(0, 0) == 1);
    d.sql().execScript("ALTER TABLE agg_member_month DROP CONSTRAINT agg_member_month_pkey, "
                       "ADD CONSTRAINT agg_member_month_pkey PRIMARY KEY (month, member_id)");
    CHECK(d.sql().query(covering).integer(0, 0) == 0);
  }
  ensureAnalyticsSchema(d.sql());
  CHECK(AnalyticsData::dumpAggregates(d.sql()) == kept);
  CHECK(kept.find("agg_member_store\nS1|m1|") != std::string::npos);
  if (pg) CHECK(d.sql().query(covering).integer(0, 0) == 1);
  // Ingest keeps the upgraded table as before (its upserts name the key).
  d.sale("T1", "S1", "m1", "2026-01-26T10:00:00Z", 700);
  const auto [afterSale, rebuilt] = AnalyticsData::aggregatesAndRebuild(d.sql());
  CHECK(afterSale == rebuilt);
}

/// Several stores' per-member figures from the raw sales (on PostgreSQL each store's sales read
/// in member order and merged): a day with sales at two of the stores is one visit, a store
/// outside the set adds nothing, a refund at one of them comes off the spend.
///   m1: S1 on Mar 2 and 9, S2 on Mar 2 (the same day) and 16, S3 on Mar 23 (outside).
///   m2: S2 twice on Mar 5 (one visit), 5.00 refunded at S1 on Mar 6; m3: S3 only.
void storeSetVisitsOn(AnalyticsData& d) {
  d.terminal("T1", "S1");
  d.terminal("T2", "S2");
  d.terminal("T3", "S3");
  for (const char* id : {"m1", "m2", "m3"}) d.member(id, "2026-02-01T08:00:00Z", "S1");
  d.sale("T1", "S1", "m1", "2026-03-02T09:00:00Z", 1000);
  d.sale("T1", "S1", "m1", "2026-03-09T09:00:00Z", 2000);
  d.sale("T2", "S2", "m1", "2026-03-02T17:00:00Z", 4000);
  d.sale("T2", "S2", "m1", "2026-03-16T09:00:00Z", 8000);
  d.sale("T3", "S3", "m1", "2026-03-23T09:00:00Z", 16000);
  d.sale("T2", "S2", "m2", "2026-03-05T09:00:00Z", 3000);
  d.sale("T2", "S2", "m2", "2026-03-05T18:00:00Z", 3000);
  d.refund("T1", "S1", "m2", "2026-03-06T09:00:00Z", 500);
  d.sale("T3", "S3", "m3", "2026-03-05T09:00:00Z", 7000);
  Reports reports(d.sql());
  // Member: visits, first and last visit, spend (as churn lists them: every buyer is at risk a
  // year on); then ABC's spend, which does not count visits.
  const auto listed = [&](const ReportFilter& f) {
    std::map<std::string, std::string> out;
    const json churn = reports.churn(f, "2027-03-31", 30), abc = reports.abc(f, "2027-03-31");
    for (const auto& m : churn["members"]) {
      out[m["member_id"].get<std::string>()] = std::to_string(m["visits"].get<std::int64_t>()) + " " +
                                               m["first_visit"].get<std::string>() + ".." + m["last_visit"].get<std::string>() + " " +
                                               m["spend"].get<std::string>();
    }
    for (const auto& m : abc["members"]) out[m["member_id"].get<std::string>()] += " " + m["spend"].get<std::string>();
    return out;
  };
  using Listed = std::map<std::string, std::string>;
  for (const auto& set : std::vector<std::vector<std::string>>{{"S1", "S2"}, {"S2", "S1"}, {"S2", "S1", "no-such-store"}, {"S1", "S2", "S1"}}) {
    INFO(set.size() << " stores, the first " << set[0]);
    ReportFilter f;
    f.stores = set;
    CHECK(listed(f) == Listed{{"m1", "3 2026-03-02..2026-03-16 150.00 150.00"}, {"m2", "1 2026-03-05..2026-03-05 55.00 55.00"}});
    CHECK(reports.summary(f)["members"] == 2);
    f.range = {"2026-03-03", "2026-03-31"};  // a range that is not all time: the raw sales, on both backends
    const Listed fromThird = {{"m1", "2 2026-03-09..2026-03-16 100.00 100.00"}, {"m2", "1 2026-03-05..2026-03-05 55.00 55.00"}};
    CHECK(listed(f) == fromThird);
    f.range.to = DayRange{}.to;  // open ends: one day bound
    CHECK(listed(f) == fromThird);
    CHECK(reports.summary(f)["members"] == 2);
    f.range = {DayRange{}.from, "2026-03-04"};
    CHECK(listed(f) == Listed{{"m1", "1 2026-03-02..2026-03-02 50.00 50.00"}});
    CHECK(reports.summary(f)["members"] == 1);
    f.range = {"2026-03-02", "2026-03-02"};
    CHECK(listed(f) == Listed{{"m1", "1 2026-03-02..2026-03-02 50.00 50.00"}});
    f.rawTables = true;
    f.range = DayRange{};
    CHECK(listed(f) == Listed{{"m1", "3 2026-03-02..2026-03-16 150.00 150.00"}, {"m2", "1 2026-03-05..2026-03-05 55.00 55.00"}});
  }
}

/// The member reports' filters of memberReports: ranges cutting months (one whole month, two),
/// whole months, a month and days of the next, store sets, a store set over all time; then days
/// within one month and one store over a range (raw days alone: never read by slices).
std::vector<ReportFilter> sliceFilters() {
  std::vector<ReportFilter> filters(8);
  filters[0].range = {"2026-01-15", "2026-03-20"};
  filters[1].range = {"2026-01-15", "2026-04-10"};
  filters[2].range = {"2026-02-01", "2026-03-31"};
  filters[3].range = {"2026-02-01", "2026-03-10"};
  filters[4].stores = {"S1", "S2"};
  filters[4].range = {"2026-01-10", "2026-02-20"};
  filters[5].stores = {"S2", "S1"};
  filters[6].range = {"2026-02-03", "2026-02-17"};
  filters[7].stores = {"S2"};
  filters[7].range = {"2026-01-10", "2026-03-20"};
  return filters;
}
constexpr std::size_t kSlicedFilters = 6;  // the first six

/// Every member report's answer over sliceFilters(), each as a text named by filter and report;
/// `each` is called after each filter's reports with its number.
std::map<std::string, std::string> memberReports(Reports& r, const std::function<void(std::size_t)>& each = {}) {
  const std::string asOf = "2026-04-30";
  const auto filters = sliceFilters();
  std::map<std::string, std::string> out;
  for (std::size_t i = 0; i < filters.size(); ++i) {
    const auto& f = filters[i];
    const std::string n = "filter " + std::to_string(i) + ": ";
    out[n + "summary"] = r.summary(f).dump();
    out[n + "abc"] = r.abc(f, asOf).dump();
    out[n + "rfm"] = r.rfm(f, asOf).dump();
    out[n + "churn"] = r.churn(f, asOf, 30).dump();
    out[n + "lifecycle"] = r.lifecycle(f, asOf, 30, "").dump();
    out[n + "lifecycle lapsed"] = r.lifecycle(f, asOf, 30, "lapsed").dump();
    out[n + "lifecycle cut by as_of"] = r.lifecycle(f, "2026-03-05", 30, "").dump();
    out[n + "due to buy"] = r.dueToBuy(f, asOf, 30).dump();
    out[n + "pareto"] = r.pareto(f, asOf, 10).dump();
    if (each) each(i);
  }
  return out;
}

/// On PostgreSQL, rows added up per member over several parts are read in slices of the member
/// key space cut at its statistics' quantiles (one slice a parallel worker and one more), run side
/// by side: the answers are the same as read in one (no workers: no slices), member by member,
/// with ids whose text a PostgreSQL array quotes among them.
void memberSlicesOn(AnalyticsData& d) {
  d.terminal("T1", "S1");
  d.terminal("T2", "S2");
  // 3,000 members "k,0".."k,2999" (prefixes not in numeric order; a comma, so that every cut
  // is quoted in the statistics' array) and two more ids an array quotes; each buys on one to
  // three days of January to April at one store or the other, some twice on a day (one visit),
  // some refunded; one in seventeen referred by another.
  const std::string series = "WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < 3001), "
                             "m(n, id) AS (SELECT n, CASE n WHEN 3000 THEN 'k\"q' WHEN 3001 THEN 'k{NULL}' "
                             "ELSE 'k,' || CAST(n AS TEXT) END FROM g) ";
  const auto day = [](const std::string& offset) {
    return "to_char(DATE '2026-01-01' + CAST(" + offset + " AS INTEGER), 'YYYY-MM-DD')";
  };
  const std::string sales = "INSERT INTO sales(event_id, sale_id, terminal_id, store_id, member_id, at, day, subtotal, discount, "
                            "total, points_earned, points_redeemed, lines) ";
  {
    SqlTransaction tx(d.sql());
    d.sql().query(series + "INSERT INTO members(member_id, enrolled, card_no, phone, name, consent_marketing, enrolled_at, "
                           "enrolled_store, referrer_id, balance, change_no) SELECT id, 1, '9' || id, '+8613800000000', 'Name ' || id, "
                           "0, '2026-01-01T08:00:00Z', CASE WHEN n % 2 = 0 THEN 'S1' ELSE 'S2' END, CASE WHEN n % 17 = 5 THEN 'k,' || "
                           "CAST(n / 17 AS TEXT) END, 0, 0 FROM m");
    for (const auto& [tag, offset, where] : std::vector<std::tuple<std::string, std::string, std::string>>{
             {"a", "(n * 7) % 120", "n % 29 <> 0"},   // one in 29 buys nothing: a prospect
             {"b", "(n * 13) % 120", "n % 3 <> 0"},
             {"c", "(n * 7) % 120", "n % 5 = 0"},     // a second sale on the first day
             {"d", "(n * 31) % 120", "n % 4 = 1"}}) {
      d.sql().query(series + sales + "SELECT '" + tag + "' || id, '" + tag + "' || id, CASE WHEN n % 3 = 1 THEN 'T2' ELSE 'T1' END, "
                    "CASE WHEN n % 3 = 1 THEN 'S2' ELSE 'S1' END, id, " + day(offset) + " || 'T10:00:00Z', " + day(offset) +
                    ", (n * 37) % 900 + 100, 0, (n * 37) % 900 + 100, 0, 0, 1 FROM m WHERE " + where);
    }
    d.sql().query(series + "INSERT INTO refunds(event_id, refund_id, sale_id, terminal_id, store_id, member_id, at, day, amount, "
                           "points_reversed, points_returned) SELECT 'r' || id, 'r' || id, 'a' || id, 'T1', 'S1', id, " +
                  day("(n * 7) % 120 + 1") + " || 'T12:00:00Z', " + day("(n * 7) % 120 + 1") + ", 50, 0, 0 FROM m WHERE n % 11 = 2");
    rebuildAggregates(d.sql());
    tx.commit();
  }
  d.sql().execScript("ANALYZE");
  REQUIRE(d.sql().query("SELECT 1 FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'agg_member' "
                        "AND attname = 'member_id' AND histogram_bounds IS NOT NULL").size() == 1);
  Reports reports(d.sql());
  // Parallel plans wherever the planner may take them, so the slices run in its workers.
  d.sql().execScript("SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0");
  // The statements read slices: three (two workers and one more), new ones for each filter whose
  // parts are member-led, none for raw days alone. (The text looked for is put together, or the
  // statement would find itself.)
  const auto slicedStatements = [&](const std::string& n) {
    return d.sql().query("SELECT 1 FROM pg_prepared_statements WHERE strpos(statement, ') slice' || '" + n + "') > 0").size();
  };
  std::size_t before = 0;
  const auto sliced = memberReports(reports, [&](std::size_t i) {
    const std::size_t now = slicedStatements("0");
    INFO("filter " << i);
    CHECK((now > before) == (i < kSlicedFilters));
    before = now;
  });
  CHECK(slicedStatements("2") == before);
  CHECK(slicedStatements("3") == 0);
  d.sql().execScript("SET max_parallel_workers_per_gather = 0");
  const auto whole = memberReports(reports);
  d.sql().execScript("RESET max_parallel_workers_per_gather; RESET parallel_setup_cost; RESET parallel_tuple_cost");
  REQUIRE(sliced.size() == whole.size());
  for (const auto& [name, answer] : whole) {
    INFO(name);
    CHECK(sliced.at(name) == answer);
  }
  std::string all;
  for (const auto& [name, answer] : whole) all += answer;
  for (const char* id : {"\"k,7\"", "\"k\\\"q\"", "\"k{NULL}\""}) {
    INFO(id);
    CHECK(all.find(id) != std::string::npos);
  }
  const json lifecycle = reports.lifecycle(ReportFilter{}, "2026-04-30", 30, "");
  CHECK(lifecycle["members_total"] == 3002);
}

/// Runs a check on a fresh head-office database of each kind.
void onSqlite(void (*check)(AnalyticsData&)) {
  loyalty::test::SqliteFile db;
  AnalyticsData d(db.open());
  check(d);
}
void onPostgres(void (*check)(AnalyticsData&)) {
  AnalyticsData d(loyalty::test::sharedPostgres().fresh());
  check(d);
}

}  // namespace

TEST_CASE("survey answers are backfilled on local days when an older database is opened on SQLite", "[analytics]") {
  onSqlite(surveyBackfillOn);
}

TEST_CASE("survey answers are backfilled on local days when an older database is opened on PostgreSQL",
          "[analytics][postgresql]") {
  onPostgres(surveyBackfillOn);
}

TEST_CASE("analytics reports on SQLite", "[analytics]") { onSqlite(reportsOn); }

TEST_CASE("several stores' member figures count a day at two of them as one visit, on SQLite", "[analytics]") {
  onSqlite(storeSetVisitsOn);
}

TEST_CASE("several stores' member figures count a day at two of them as one visit, on PostgreSQL",
          "[analytics][postgresql]") {
  onPostgres(storeSetVisitsOn);
}

TEST_CASE("member figures added up in slices of the member key space side by side equal them added up in one, on PostgreSQL",
          "[analytics][postgresql]") {
  onPostgres(memberSlicesOn);
}

TEST_CASE("cohort and member-store aggregates are built when an older database is opened on SQLite", "[analytics]") {
  onSqlite(olderAggregatesOn);
}

TEST_CASE("cohort and member-store aggregates are built when an older database is opened on PostgreSQL",
          "[analytics][postgresql]") {
  onPostgres(olderAggregatesOn);
}

TEST_CASE("ABC and RFM ranked by cuts equal the window functions' ranking, ties included, on SQLite", "[analytics]") {
  onSqlite(rankingTiesOn);
}

TEST_CASE("ABC and RFM ranked by cuts equal the window functions' ranking, ties included, on PostgreSQL",
          "[analytics][postgresql]") {
  onPostgres(rankingTiesOn);
}

TEST_CASE("RFM quintile ends inside tens of thousands of tied members, on SQLite", "[analytics]") { onSqlite(largeTiedBucketsOn); }

TEST_CASE("RFM quintile ends inside tens of thousands of tied members, on PostgreSQL", "[analytics][postgresql]") {
  onPostgres(largeTiedBucketsOn);
}

TEST_CASE("ABC boundaries on SQLite", "[analytics]") {
  std::vector<std::unique_ptr<loyalty::test::SqliteFile>> files;
  abcBoundariesOn([&] {
    files.push_back(std::make_unique<loyalty::test::SqliteFile>());
    return std::make_unique<AnalyticsData>(files.back()->open());
  });
}

TEST_CASE("retention cohorts kept by ingest through late enrolments and merges on SQLite", "[analytics]") {
  loyalty::test::SqliteFile db;
  cohortsThroughIngestOn(db.open());
}

TEST_CASE("retention cohorts kept by ingest through late enrolments and merges on PostgreSQL", "[analytics][postgresql]") {
  cohortsThroughIngestOn(loyalty::test::sharedPostgres().fresh());
}

TEST_CASE("analytics reports on PostgreSQL", "[analytics][postgresql]") { onPostgres(reportsOn); }

TEST_CASE("ABC boundaries on PostgreSQL", "[analytics][postgresql]") {
  auto& pg = loyalty::test::sharedPostgres();
  abcBoundariesOn([&] { return std::make_unique<AnalyticsData>(pg.fresh()); });
}
