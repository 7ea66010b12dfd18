#pragma once
/// @brief Charts people read (issue 20 item 8): the reports behind them that combine others
/// (trends by month, store comparison) and their drawing as server-rendered SVG (no script).
///
/// The Pareto curve, lifecycle stages and the "due to buy" list are computed in SQL by
/// Reports (analytics.hpp); the pages and API routes are in charts_routes.cpp.
/// Shapes: docs/reports.md "Charts".

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "loyalty/hq/analytics.hpp"
#include "loyalty/hq/dashboard_access.hpp"

namespace httplib {
class Server;
}

namespace loyalty::hq {

class HqService;

// [SECTION] Reports made of other reports

/// Per month of the filter (months with sales or enrolments): sales, refunds, net revenue,
/// average sale, members who bought, member revenue and its share, members enrolled.
nlohmann::json trendsReport(Reports& r, const ReportFilter& f);

/// Per store of the filter: sales, net revenue, average sale, members who bought, member
/// revenue share, members enrolled, CSAT and NPS (null without answers), and each store's net
/// revenue against the average store (index, 100 = average).
nlohmann::json storeComparison(Reports& r, const ReportFilter& f);

// [SECTION] SVG

/// Text of a chart in the page's language.
struct ChartWords {
  std::string customers;   ///< x axis of the Pareto chart: share of customers
  std::string spend;       ///< share of spend per group (bars)
  std::string cumulative;  ///< running share of spend (the curve)
  std::string actual;      ///< the actual ABC mix
  std::string ideal;       ///< the course's ideal mix
  std::string average;     ///< the average store
};

/// The Pareto chart of Reports::pareto: a bar per group of customers (its share of spend), the
/// cumulative-share curve, the 55 % and 85 % lines and the A/B/C bands where the classes fall.
std::string paretoSvg(const nlohmann::json& pareto, const ChartWords& w);

/// The actual ABC mix (share of core customers per class) beside the course's ideal.
std::string mixSvg(const nlohmann::json& pareto, const ChartWords& w);

/// A line chart: one line per series over the labels (months), values to `decimals` places; a
/// NaN value (nothing to average) leaves a gap.
struct Series {
  std::string name;
  std::string colour;
  std::vector<double> values;
};
std::string lineSvg(const std::string& id, const std::vector<std::string>& labels, const std::vector<Series>& series, int decimals,
                    const std::string& unit = "");

/// Horizontal bars (one per label) with a dashed line at `average` if given; negative values
/// grow left of the zero line. Values to `decimals` places.
std::string comparisonSvg(const std::string& id, const std::vector<std::pair<std::string, double>>& bars,
                          std::optional<double> average, int decimals, const ChartWords& w, const std::string& unit = "");

/// A number with `decimals` places (the charts keep their decimals).
std::string fixed(double v, int decimals);

// [SECTION] Routes

/// GET /api/v1/reports/{pareto,trends,stores,lifecycle,due} and their CSV lists, and the pages
/// /dashboard/charts and /dashboard/lifecycle.
void registerChartRoutes(httplib::Server& s, HqService& service, DashboardAccess access);

}  // namespace loyalty::hq
