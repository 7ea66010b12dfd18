// Every report's table definition (report_tables.hpp) against the JSON the report answers: the
// same columns, each value of its column's type, so the exports (which write cells by these
// types) and the API cannot drift apart.
#include <catch2/catch.hpp>

#include <set>

#include "analytics_backends.hpp"
#include "analytics_data.hpp"
#include "loyalty/hq/export.hpp"
#include "loyalty/hq/report_tables.hpp"

using loyalty::hq::ColumnType;
using nlohmann::json;

namespace {

bool hasType(const json& v, ColumnType t, bool& nullable) {
  if (v.is_null()) {
    nullable = true;
    return t == ColumnType::kText || t == ColumnType::kTimestamp || t == ColumnType::kDecimal;
  }
  switch (t) {
    case ColumnType::kText:
    case ColumnType::kPhone: return v.is_string();
    case ColumnType::kDay: return v.is_string() && (v.get<std::string>().size() == 10 || v.get<std::string>().size() == 7);
    case ColumnType::kTimestamp: return v.is_string() && v.get<std::string>().back() == 'Z';
    case ColumnType::kInteger: return v.is_number_integer();
    case ColumnType::kMoney: {
      if (!v.is_string()) return false;
      const std::string s = v.get<std::string>();
      return s.size() >= 4 && s[s.size() - 3] == '.';
    }
    case ColumnType::kPercent:
    case ColumnType::kDecimal: return v.is_number();
    case ColumnType::kBool: return v.is_boolean();
    case ColumnType::kIntegerList:
    case ColumnType::kPercentList:
      if (!v.is_array()) return false;
      for (const auto& e : v) {
        if (!e.is_number()) return false;
      }
      return true;
  }
  return false;
}

/// Checks `body`'s table against its definition; returns how many rows it checked.
std::size_t conforms(const std::string& report, const json& body) {
  INFO(report << ": " << body.dump());
  const auto* d = loyalty::hq::reportDefinition(report, body);
  REQUIRE(d != nullptr);
  const json one = json::array({body});
  const json& rows = d->rows.empty() ? one : body.at(std::string(d->rows));
  std::set<std::string> defined;
  for (const auto& c : d->columns) defined.emplace(c.name);
  for (const auto& row : rows) {
    std::set<std::string> seen;
    for (const auto& [k, v] : row.items()) {
      if (!(d->rows.empty() && v.is_array())) seen.insert(k);  // a one-row table is the answer's scalar fields
    }
    CHECK(seen == defined);
    for (const auto& c : d->columns) {
      bool nullable = false;
      INFO(c.name);
      CHECK(hasType(row.value(std::string(c.name), json(nullptr)), c.type, nullable));
    }
  }
  const auto t = loyalty::hq::reportTable(report, body);
  CHECK(t.rows.size() == rows.size());
  CHECK(t.types.size() == t.columns.size());
  return rows.size();
}

void allReportsOn(std::unique_ptr<loyalty::hq::SqlConnection> connection) {
  loyalty::test::AnalyticsData d(std::move(connection));
  d.terminal("T1", "S1");
  d.terminal("T2", "S2");
  for (int i = 0; i < 6; ++i) {
    const std::string m = "m" + std::to_string(10 + i);
    d.member(m, "2026-01-02T08:00:00Z", i % 2 ? "S1" : "S2", i % 3 == 0, i > 0 ? std::optional<std::string>("m10") : std::nullopt);
    d.sale(i % 2 ? "T1" : "T2", i % 2 ? "S1" : "S2", m, "2026-01-0" + std::to_string(3 + i % 5) + "T10:00:00Z", 1000 + 250 * i);
    d.sale("T1", "S1", m, "2026-02-1" + std::to_string(i) + "T11:00:00Z", 500 + 10 * i);
  }
  d.sale("T1", "S1", std::nullopt, "2026-02-01T09:00:00Z", 799);
  d.refund("T1", "S1", "m11", "2026-02-02T09:00:00Z", 100);
  d.survey("T1", "S1", "2026-02-01T09:00:00Z", "csat5", 5);
  d.survey("T2", "S2", "2026-02-01T09:00:00Z", "nps10", 3);
  d.complaint("T1", "S1", "2026-02-01T09:00:00Z", "C-1", "service", "=1+2 slow");
  d.ledger(d.lastEvent(), "m10", "earn", 120, "2026-02-01T09:00:00Z");
  loyalty::hq::Reports r(d.sql());
  const loyalty::hq::ReportFilter f;
  const auto now = *loyalty::parseRfc3339("2026-06-01T00:00:00Z", "now");
  std::size_t rows = 0;
  rows += conforms("summary", r.summary(f));
  for (const char* g : {"day", "hour", "store", "terminal", "member", "product"}) rows += conforms("sales", *r.sales(f, g));
  const json abc = r.abc(f, "2026-06-01");
  rows += conforms("abc", abc) + conforms("abc-follow-up", abc);
  rows += conforms("rfm", r.rfm(f, "2026-06-01"));
  rows += conforms("churn", r.churn(f, "2026-06-01", 30));
  rows += conforms("retention", r.retention(f));
  rows += conforms("referrals", r.referrals(f));
  for (const char* p : {"all", "month", "day"}) rows += conforms("satisfaction", *r.satisfaction(f, p));
  r.importCounterComplaints(now);
  const json complaints = r.complaints(f, now);
  rows += conforms("complaints", complaints);
  rows += conforms("points", r.points(f));
  rows += conforms("campaign", r.campaignMembers(f));
  rows += conforms("staff", r.staff(f));
  CHECK(rows > 40);  // every table had rows to check

  // Cells are written by their column's type: a text that looks like money stays text, a text
  // that starts like a formula is kept text in CSV, money is a number.
  json c = complaints;
  c["rows"][0]["description"] = "12.50";
  const auto t = loyalty::hq::reportTable("complaints", c);
  const auto col = [&](const char* name) {
    return static_cast<std::size_t>(std::find(t.columns.begin(), t.columns.end(), name) - t.columns.begin());
  };
  CHECK(t.types[col("description")] == ColumnType::kText);
  CHECK(t.types[col("step_no")] == ColumnType::kInteger);
  CHECK(loyalty::hq::toCsv(loyalty::hq::reportTable("complaints", complaints)).find(",'=1+2 slow,") != std::string::npos);
  const auto s = loyalty::hq::reportTable("summary", r.summary(f));
  CHECK(s.types[static_cast<std::size_t>(std::find(s.columns.begin(), s.columns.end(), "net_revenue") - s.columns.begin())] ==
        ColumnType::kMoney);
}

}  // namespace

TEST_CASE("report tables: every report's JSON has its defined columns and types, on SQLite", "[analytics]") {
  loyalty::test::SqliteFile db;
  allReportsOn(db.open());
}
