#include "loyalty/hq/charts.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>

#include "loyalty/core/lifecycle.hpp"
#include "loyalty/core/money.hpp"
#include "loyalty/core/time.hpp"
#include "loyalty/hq/number_format.hpp"
#include "loyalty/hq/web_text.hpp"

namespace loyalty::hq {

using nlohmann::json;

namespace {

std::int64_t minorOf(const json& v) { return Money::parse(v.get<std::string>(), "money")->minor(); }

std::string money(std::int64_t minor) { return Money::fromMinor(minor).toString(); }

/// A percentage with one decimal, as the reports give them (null when there is no whole).
json percent1(std::int64_t num, std::int64_t den) {
  if (den == 0) return nullptr;
  return std::round(static_cast<double>(num) * 1000.0 / static_cast<double>(den)) / 10.0;
}

}  // namespace

// [SECTION] Reports made of other reports

json trendsReport(Reports& r, const ReportFilter& f) {
  auto days = r.sales(f, "day");
  struct Month {
    std::int64_t sales = 0, refunds = 0, gross = 0, net = 0;
  };
  std::map<std::string, Month> months;
  for (const auto& d : (*days)["rows"]) {
    Month& m = months[d["day"].get<std::string>().substr(0, 7)];
    m.sales += d["sales"].get<std::int64_t>();
    m.refunds += d["refunds"].get<std::int64_t>();
    m.gross += minorOf(d["gross_revenue"]);
    m.net += minorOf(d["net_revenue"]);
  }
  const auto figures = r.memberFigures(f, Reports::By::kMonth);
  for (const auto& [month, m] : figures) {
    if (m.enrolled > 0) months[month];
  }
  // Months without sales or enrolments between the first and the last are shown as such.
  if (!months.empty()) {
    const Date last = *parseDate(months.rbegin()->first + "-01", "month");
    for (Date d = *parseDate(months.begin()->first + "-01", "month"); d < last; d = addMonthsClamped(d, 1)) months[formatDate(d).substr(0, 7)];
  }
  json rows = json::array();
  for (const auto& [month, m] : months) {
    const auto found = figures.find(month);
    const Reports::MemberFigures mf = found == figures.end() ? Reports::MemberFigures{} : found->second;
    rows.push_back({{"month", month}, {"sales", m.sales}, {"refunds", m.refunds}, {"net_revenue", money(m.net)},
                    {"average_sale", money(m.sales == 0 ? 0 : m.gross / m.sales)}, {"members", mf.buyers},
                    {"member_revenue", money(mf.memberRevenue)}, {"member_revenue_share", percent1(mf.memberRevenue, m.net)},
                    {"new_members", mf.enrolled}});
  }
  return {{"period", "month"}, {"rows", std::move(rows)}};
}

json storeComparison(Reports& r, const ReportFilter& f) {
  auto byStore = r.sales(f, "store");
  auto sat = r.satisfaction(f, "all");
  const auto figures = r.memberFigures(f, Reports::By::kStore);
  std::map<std::string, json> answers;
  for (const auto& s : (*sat)["rows"]) answers[s["store"].get<std::string>()] = s;
  std::int64_t netTotal = 0;
  for (const auto& s : (*byStore)["rows"]) netTotal += minorOf(s["net_revenue"]);
  const auto n = static_cast<std::int64_t>((*byStore)["rows"].size());
  json rows = json::array();
  for (const auto& s : (*byStore)["rows"]) {
    const std::string store = s["store"].get<std::string>();
    const auto found = figures.find(store);
    const Reports::MemberFigures m = found == figures.end() ? Reports::MemberFigures{} : found->second;
    const std::int64_t net = minorOf(s["net_revenue"]);
    const auto a = answers.find(store);
    const bool csat = a != answers.end() && a->second["csat_responses"].get<std::int64_t>() > 0;
    const bool nps = a != answers.end() && a->second["nps_responses"].get<std::int64_t>() > 0;
    rows.push_back({{"store", store}, {"sales", s["sales"]}, {"net_revenue", s["net_revenue"]}, {"average_sale", s["average_sale"]},
                    {"members", m.buyers}, {"member_revenue_share", percent1(m.memberRevenue, net)}, {"new_members", m.enrolled},
                    {"csat", csat ? a->second["csat"] : json(nullptr)}, {"nps", nps ? a->second["nps"] : json(nullptr)},
                    // net / (total / n) as a percentage: 100 is the average store.
                    {"revenue_index", percent1(net * n, netTotal)}});
  }
  return {{"stores", n}, {"average_net_revenue", money(n == 0 ? 0 : netTotal / n)}, {"rows", std::move(rows)}};
}

// [SECTION] SVG

std::string fixed(double v, int decimals) {
  char out[64];
  std::snprintf(out, sizeof out, "%.*f", decimals, v);
  return out;
}

namespace {

/// SVG numbers: coordinates to one decimal.
std::string c1(double v) { return fixed(v, 1); }

/// A figure as people read it on a chart (1,179 and 9,758,809.99); data-* attributes keep fixed().
std::string shown(double v, int decimals) { return groupThousands(fixed(v, decimals)); }

double num(const json& v) { return v.is_number() ? v.get<double>() : 0.0; }

std::string svgOpen(const std::string& id, int width, int height) {
  return "<svg class=\"chart\" data-chart=\"" + htmlEscape(id) + "\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
         std::to_string(width) + "\" height=\"" + std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) + " " +
         std::to_string(height) + "\" role=\"img\" style=\"max-width:100%;height:auto\">";
}

std::string text(double x, double y, const std::string& s, const char* anchor = "start", int size = 11, const char* fill = "#333") {
  return "<text x=\"" + c1(x) + "\" y=\"" + c1(y) + "\" text-anchor=\"" + anchor + "\" font-size=\"" + std::to_string(size) +
         "\" fill=\"" + fill + "\">" + htmlEscape(s) + "</text>";
}

std::string line(double x1, double y1, double x2, double y2, const char* stroke, const std::string& extra = "") {
  return "<line x1=\"" + c1(x1) + "\" y1=\"" + c1(y1) + "\" x2=\"" + c1(x2) + "\" y2=\"" + c1(y2) + "\" stroke=\"" + stroke + "\"" +
         extra + "/>";
}

/// An axis tick: whole numbers as they are, others with one decimal (12.5, not 12).
std::string tick(double v) { return shown(v, std::abs(v - std::round(v)) < 1e-9 ? 0 : 1); }

/// A round upper end for an axis holding `max` (1, 2 or 5 times a power of ten).
double niceMax(double max) {
  if (max <= 0) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(max)));
  for (const double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= max) return m * p;
  }
  return 10 * p;
}

}  // namespace

std::string paretoSvg(const json& pareto, const ChartWords& w) {
  const int width = 760, height = 340;
  const double left = 56, right = 56, top = 24, bottom = 46;
  const double plotW = width - left - right, plotH = height - top - bottom;
  const json& bins = pareto["bins"];
  double maxShare = 0;
  for (const auto& b : bins) maxShare = std::max(maxShare, num(b["spend_share"]));
  const double barTop = niceMax(maxShare);
  const auto x = [&](double customersShare) { return left + customersShare / 100.0 * plotW; };
  const auto yBar = [&](double share) { return top + plotH - share / barTop * plotH; };
  const auto yCum = [&](double share) { return top + plotH - share / 100.0 * plotH; };
  std::string s = svgOpen("pareto", width, height);
  // The classes' bands, from where the cumulative share crosses 55 % and 85 %.
  const json& mix = pareto["mix"];
  const double n = num(pareto["members"]);
  double start = 0;
  const char* bandFill[] = {"#e6f0fa", "#f3f7fc", "#fbfbfb"};
  for (int k = 0; k < 3 && n > 0; ++k) {
    const double end = start + num(mix[k]["members"]) / n * 100.0;
    s += "<rect x=\"" + c1(x(start)) + "\" y=\"" + c1(top) + "\" width=\"" + c1(x(end) - x(start)) + "\" height=\"" + c1(plotH) +
         "\" fill=\"" + bandFill[k] + "\" data-class=\"" + mix[k]["class"].get<std::string>() + "\" data-from=\"" + fixed(start, 1) +
         "\" data-to=\"" + fixed(end, 1) + "\"/>";
    if (end > start) s += text((x(start) + x(end)) / 2, top + 14, mix[k]["class"].get<std::string>(), "middle", 13, "#1d3f66");
    if (k < 2) s += line(x(end), top, x(end), top + plotH, "#1d3f66", " stroke-dasharray=\"2 3\"");
    start = end;
  }
  // Axes and their ticks: spend per group on the left, the running share on the right.
  s += line(left, top + plotH, left + plotW, top + plotH, "#556") + line(left, top, left, top + plotH, "#556") +
       line(left + plotW, top, left + plotW, top + plotH, "#556");
  for (int i = 0; i <= 4; ++i) {
    const double v = barTop * i / 4, c = 25.0 * i;
    s += text(left - 4, yBar(v) + 4, tick(v) + "%", "end", 10, "#2f6fb0");
    s += text(left + plotW + 4, yCum(c) + 4, fixed(c, 0) + "%", "start", 10, "#b0502f");
    s += text(x(c), top + plotH + 14, fixed(c, 0) + "%", "middle", 10);
  }
  s += text(left + plotW / 2, height - 8, w.customers, "middle", 11);
  s += text(left, top - 8, w.spend, "start", 11, "#2f6fb0");
  s += text(left + plotW, top - 8, w.cumulative, "end", 11, "#b0502f");
  // The bars: each group of customers spans its share of customers.
  double prev = 0;
  std::string points = c1(x(0)) + "," + c1(yCum(0));
  for (const auto& b : bins) {
    const double to = num(b["cumulative_members_share"]), share = num(b["spend_share"]);
    const double bx = x(prev) + 0.5, bw = std::max(x(to) - x(prev) - 1.0, 0.8);
    s += "<rect x=\"" + c1(bx) + "\" y=\"" + c1(yBar(share)) + "\" width=\"" + c1(bw) + "\" height=\"" + c1(top + plotH - yBar(share)) +
         "\" fill=\"#2f6fb0\" data-value=\"" + fixed(share, 1) + "\" data-cumulative=\"" + fixed(num(b["cumulative_share"]), 1) +
         "\"><title>" + htmlEscape(fixed(prev, 1) + "–" + fixed(to, 1) + "%: " + fixed(share, 1) + "% · " + w.cumulative + " " +
                                    fixed(num(b["cumulative_share"]), 1) + "%") +
         "</title></rect>";
    points += " " + c1(x(to)) + "," + c1(yCum(num(b["cumulative_share"])));
    prev = to;
  }
  // The course's cuts on the running share.
  for (const double cut : {55.0, 85.0}) {
    s += line(left, yCum(cut), left + plotW, yCum(cut), "#b0502f", " stroke-dasharray=\"6 4\" data-cut=\"" + fixed(cut, 0) + "\"");
    s += text(left + plotW - 4, yCum(cut) - 4, fixed(cut, 0) + "%", "end", 11, "#b0502f");
  }
  s += "<polyline data-series=\"cumulative\" points=\"" + points + "\" fill=\"none\" stroke=\"#b0502f\" stroke-width=\"2\"/>";
  return s + "</svg>";
}

std::string mixSvg(const json& pareto, const ChartWords& w) {
  const int width = 520, rowH = 26, left = 40, barW = 360;
  const int height = 3 * (2 * rowH + 10) + 30;
  std::string s = svgOpen("abc-mix", width, height);
  s += "<rect x=\"" + std::to_string(left) + "\" y=\"4\" width=\"12\" height=\"12\" fill=\"#2f6fb0\"/>" + text(left + 16, 14, w.actual);
  s += "<rect x=\"" + std::to_string(left + 160) + "\" y=\"4\" width=\"12\" height=\"12\" fill=\"#c9c9c9\"/>" + text(left + 176, 14, w.ideal);
  int y = 26;
  for (const auto& m : pareto["mix"]) {
    const std::string cls = m["class"].get<std::string>();
    s += text(left - 10, y + rowH + 4, cls, "end", 14, "#1d3f66");
    for (const bool ideal : {false, true}) {
      const double v = ideal ? num(m["ideal_share"]) : num(m["share"]);
      const double bw = std::max(v / 100.0 * barW, 1.0);
      s += "<rect x=\"" + std::to_string(left) + "\" y=\"" + std::to_string(y + 3) + "\" width=\"" + c1(bw) + "\" height=\"" +
           std::to_string(rowH - 6) + "\" fill=\"" + (ideal ? "#c9c9c9" : "#2f6fb0") + "\" data-class=\"" + cls + "\" data-kind=\"" +
           (ideal ? "ideal" : "actual") + "\" data-value=\"" + fixed(v, 1) + "\"><title>" + htmlEscape(cls + " " + (ideal ? w.ideal : w.actual)) +
           ": " + fixed(v, 1) + "%</title></rect>" + text(left + bw + 4, y + rowH - 8, fixed(v, 1) + "%");
      y += rowH;
    }
    y += 10;
  }
  return s + "</svg>";
}

std::string lineSvg(const std::string& id, const std::vector<std::string>& labels, const std::vector<Series>& series, int decimals,
                    const std::string& unit) {
  const int width = 760, height = 280;
  const double left = 70, right = 36, top = 30, bottom = 40;
  const double plotW = width - left - right, plotH = height - top - bottom;
  double lo = 0, hi = 0;
  for (const auto& se : series) {
    for (const double v : se.values) {
      if (!std::isnan(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    }
  }
  hi = niceMax(hi);
  if (lo < 0) lo = -niceMax(-lo);
  const std::size_t n = labels.size();
  const auto x = [&](std::size_t i) { return n <= 1 ? left + plotW / 2 : left + plotW * static_cast<double>(i) / static_cast<double>(n - 1); };
  const auto y = [&](double v) { return top + plotH - (v - lo) / (hi - lo) * plotH; };
  std::string s = svgOpen(id, width, height);
  for (int i = 0; i <= 4; ++i) {
    const double v = lo + (hi - lo) * i / 4;
    s += line(left, y(v), left + plotW, y(v), "#e3e6ee");
    s += text(left - 4, y(v) + 4, tick(v) + unit, "end", 10);
  }
  s += line(left, y(0), left + plotW, y(0), "#556");
  const std::size_t step = std::max<std::size_t>(1, (n + 11) / 12);
  for (std::size_t i = 0; i < n; i += step) s += text(x(i), top + plotH + 16, labels[i], "middle", 10);
  double legendX = left;
  for (const auto& se : series) {
    s += "<rect x=\"" + c1(legendX) + "\" y=\"8\" width=\"12\" height=\"4\" fill=\"" + se.colour + "\"/>" + text(legendX + 16, 14, se.name);
    legendX += 26 + 8.0 * static_cast<double>(se.name.size());
    // A missing value (NaN: no sales that month) breaks the line rather than drawing a zero.
    std::vector<std::string> lines(1);
    std::string dots;
    for (std::size_t i = 0; i < se.values.size() && i < n; ++i) {
      if (std::isnan(se.values[i])) {
        if (!lines.back().empty()) lines.emplace_back();
        continue;
      }
      lines.back() += (lines.back().empty() ? "" : " ") + c1(x(i)) + "," + c1(y(se.values[i]));
      dots += "<circle cx=\"" + c1(x(i)) + "\" cy=\"" + c1(y(se.values[i])) + "\" r=\"3\" fill=\"" + se.colour + "\" data-label=\"" +
              htmlEscape(labels[i]) + "\" data-value=\"" + fixed(se.values[i], decimals) + "\"><title>" +
              htmlEscape(labels[i] + " · " + se.name + ": " + shown(se.values[i], decimals) + unit) + "</title></circle>";
    }
    for (const auto& points : lines) {
      if (points.empty()) continue;
      s += "<polyline data-series=\"" + htmlEscape(se.name) + "\" points=\"" + points + "\" fill=\"none\" stroke=\"" + se.colour +
           "\" stroke-width=\"2\"/>";
    }
    s += dots;
  }
  return s + "</svg>";
}

std::string comparisonSvg(const std::string& id, const std::vector<std::pair<std::string, double>>& bars,
                          std::optional<double> average, int decimals, const ChartWords& w, const std::string& unit) {
  const int rowH = 22, labelW = 120, width = 640, plotW = width - labelW - 110;
  const int height = static_cast<int>(bars.size()) * rowH + 30;
  double lo = 0, hi = std::max(average.value_or(0.0), 0.0);
  for (const auto& b : bars) lo = std::min(lo, b.second), hi = std::max(hi, b.second);
  if (hi - lo <= 0) hi = 1;
  const auto x = [&](double v) { return labelW + (v - lo) / (hi - lo) * plotW; };
  std::string s = svgOpen(id, width, height);
  double y = 6;
  for (const auto& [label, v] : bars) {
    const double x0 = std::min(x(0), x(v)), bw = std::max(std::abs(x(v) - x(0)), 1.0);
    s += text(labelW - 6, y + 15, label, "end", 12);
    s += "<rect x=\"" + c1(x0) + "\" y=\"" + c1(y + 3) + "\" width=\"" + c1(bw) + "\" height=\"" + std::to_string(rowH - 6) + "\" fill=\"" +
         (v < 0 ? "#b0502f" : "#2f6fb0") + "\" data-value=\"" + fixed(v, decimals) + "\"><title>" + htmlEscape(label + ": " + shown(v, decimals) + unit) +
         "</title></rect>";
    s += text(std::max(x(0), x(v)) + 4, y + 15, shown(v, decimals) + unit, "start", 12);
    y += rowH;
  }
  s += line(x(0), 4, x(0), y + 2, "#556");
  if (average) {
    s += line(x(*average), 2, x(*average), y + 4, "#b0502f", " stroke-dasharray=\"5 3\" data-average=\"" + fixed(*average, decimals) + "\"");
    s += text(x(*average), y + 18, w.average + " " + shown(*average, decimals) + unit, "middle", 11, "#b0502f");
  }
  return s + "</svg>";
}

}  // namespace loyalty::hq
