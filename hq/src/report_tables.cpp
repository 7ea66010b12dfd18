#include "loyalty/hq/report_tables.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

namespace loyalty::hq {

namespace {

using T = ColumnType;

std::vector<ReportDefinition> makeDefinitions() {
  const auto salesBy = [](std::string_view report, std::string_view key, T keyType) {
    std::vector<ReportColumn> c = {{"average_sale", T::kMoney, "currency"}, {"gross_revenue", T::kMoney, "currency"},
                                   {"net_revenue", T::kMoney, "currency"},  {"refunds", T::kInteger, ""},
                                   {"sales", T::kInteger, ""},               {key, keyType, ""}};
    return ReportDefinition{report, "rows", std::move(c)};
  };
  std::vector<ReportDefinition> all = {
      {"summary", "",
       {{"member_revenue", T::kMoney, "currency"}, {"member_sales", T::kInteger, ""}, {"members", T::kInteger, ""},
        {"net_revenue", T::kMoney, "currency"}, {"non_member_revenue", T::kMoney, "currency"}, {"non_member_sales", T::kInteger, ""},
        {"refunded", T::kMoney, "currency"}, {"refunds", T::kInteger, ""}, {"sales", T::kInteger, ""}}},
      salesBy("sales:day", "day", T::kDay),
      salesBy("sales:hour", "hour", T::kText),
      salesBy("sales:store", "store", T::kText),
      salesBy("sales:terminal", "terminal", T::kText),
      salesBy("sales:member", "member", T::kText),
      {"sales:product", "rows",
       {{"amount", T::kMoney, "currency"}, {"description", T::kText, ""}, {"product", T::kText, ""}, {"qty", T::kInteger, ""},
        {"sales", T::kInteger, ""}}},
      {"abc", "members",
       {{"card_no", T::kText, ""}, {"class", T::kText, ""}, {"cumulative_share", T::kPercent, "%"}, {"member_id", T::kText, ""},
        {"name", T::kText, ""}, {"phone", T::kPhone, ""}, {"spend", T::kMoney, "currency"}, {"store", T::kText, ""}}},
      {"abc-follow-up", "follow_up",
       {{"card_no", T::kText, ""}, {"class", T::kText, ""}, {"contact_frequency", T::kText, ""},
        {"days_since_visit", T::kInteger, "days"}, {"last_visit", T::kDay, ""}, {"member_id", T::kText, ""}, {"name", T::kText, ""},
        {"phone", T::kPhone, ""}, {"store", T::kText, ""}}},
      {"rfm", "members",
       {{"card_no", T::kText, ""}, {"f", T::kInteger, ""}, {"frequency", T::kInteger, ""}, {"last_visit", T::kDay, ""},
        {"m", T::kInteger, ""}, {"member_id", T::kText, ""}, {"monetary", T::kMoney, "currency"}, {"name", T::kText, ""},
        {"phone", T::kPhone, ""}, {"r", T::kInteger, ""}, {"recency_days", T::kInteger, "days"}, {"rfm", T::kText, ""},
        {"segment", T::kText, ""}, {"store", T::kText, ""}}},
      {"churn", "members",
       {{"card_no", T::kText, ""}, {"consent_marketing", T::kBool, ""}, {"days_since_visit", T::kInteger, "days"},
        {"first_visit", T::kDay, ""}, {"last_visit", T::kDay, ""}, {"member_id", T::kText, ""}, {"name", T::kText, ""},
        {"phone", T::kPhone, ""}, {"reason", T::kText, ""}, {"spend", T::kMoney, "currency"}, {"store", T::kText, ""},
        {"tier", T::kText, ""}, {"usual_interval_days", T::kDecimal, "days"}, {"visits", T::kInteger, ""}}},
      {"retention", "cohorts",
       {{"active", T::kIntegerList, ""}, {"cohort", T::kDay, ""}, {"members", T::kInteger, ""}, {"retention", T::kPercentList, "%"}}},
      {"referrals", "rows",
       {{"card_no", T::kText, ""}, {"converted", T::kInteger, ""}, {"name", T::kText, ""}, {"referred", T::kInteger, ""},
        {"referred_spend", T::kMoney, "currency"}, {"referrer_id", T::kText, ""}}},
      {"satisfaction", "rows",
       {{"csat", T::kPercent, "%"}, {"csat_average", T::kDecimal, ""}, {"csat_responses", T::kInteger, ""},
        {"detractors", T::kInteger, ""}, {"nps", T::kDecimal, ""}, {"nps_responses", T::kInteger, ""}, {"passives", T::kInteger, ""},
        {"period", T::kText, ""}, {"promoters", T::kInteger, ""}, {"store", T::kText, ""}}},
      {"complaints", "rows",
       {{"category", T::kText, ""}, {"complaint_id", T::kText, ""}, {"description", T::kText, ""}, {"due_at", T::kTimestamp, ""},
        {"filed_at", T::kTimestamp, ""}, {"member_id", T::kText, ""}, {"overdue", T::kBool, ""}, {"owner", T::kText, ""},
        {"source", T::kText, ""}, {"step", T::kText, ""}, {"step_no", T::kInteger, ""}, {"store", T::kText, ""},
        {"updated_at", T::kTimestamp, ""}}},
      {"points", "",
       {{"adjusted_out", T::kInteger, "points"}, {"debt_members", T::kInteger, ""}, {"debt_points", T::kInteger, "points"},
        {"expired", T::kInteger, "points"}, {"issued", T::kInteger, "points"}, {"liability", T::kMoney, "currency"},
        {"outstanding", T::kInteger, "points"}, {"outstanding_members", T::kInteger, ""}, {"overdraft_points", T::kInteger, "points"},
        {"overdrafts", T::kInteger, ""}, {"redeemed", T::kInteger, "points"}, {"reversed", T::kInteger, "points"}}},
      {"staff", "rows",
       {{"average_score", T::kDecimal, ""}, {"complaints", T::kInteger, ""}, {"csat_responses", T::kInteger, ""},
        {"enrolments", T::kInteger, ""}, {"net_revenue", T::kMoney, "currency"}, {"points_earned", T::kInteger, "points"},
        {"points_redeemed", T::kInteger, "points"}, {"redemptions", T::kInteger, ""}, {"refunded", T::kMoney, "currency"},
        {"refunds", T::kInteger, ""}, {"sales", T::kInteger, ""}, {"staff_id", T::kText, ""}, {"store", T::kText, ""},
        {"surveys", T::kInteger, ""}}},
      {"campaign", "rows",
       {{"card_no", T::kText, ""}, {"consent_version", T::kText, ""}, {"enrolled", T::kDay, ""}, {"enrolled_store", T::kText, ""},
        {"language", T::kText, ""}, {"member_id", T::kText, ""}, {"name", T::kText, ""}, {"phone", T::kPhone, ""},
        {"tier", T::kText, ""}}},
  };
  return all;
}

}  // namespace

const std::vector<ReportDefinition>& reportDefinitions() {
  static const std::vector<ReportDefinition> all = makeDefinitions();
  return all;
}

const ReportDefinition* reportDefinition(std::string_view report, const nlohmann::json& body) {
  std::string key(report);
  if (report == "sales") key += ":" + body.value("group", std::string("day"));
  const auto& all = reportDefinitions();
  const auto it = std::find_if(all.begin(), all.end(), [&](const ReportDefinition& d) { return d.report == key; });
  return it == all.end() ? nullptr : &*it;
}

}  // namespace loyalty::hq
