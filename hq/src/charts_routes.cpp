// Charts people read over HTTPS: the reports (docs/reports.md "Charts") and the dashboard's
// /dashboard/charts and /dashboard/lifecycle pages (server-rendered SVG, zh-CN and en, no script).
#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <future>

#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/charts.hpp"
#include "loyalty/hq/dashboard_forms.hpp"
#include "loyalty/hq/export.hpp"
#include "loyalty/hq/http_answer.hpp"
#include "loyalty/hq/number_format.hpp"
#include "loyalty/hq/page_words.hpp"
#include "loyalty/hq/privacy.hpp"
#include "loyalty/hq/service.hpp"
#include "loyalty/hq/templates.hpp"
#include "loyalty/hq/web_text.hpp"

namespace loyalty::hq {

using nlohmann::json;

namespace {

// [SECTION] Words of the chart pages (zh-CN / en)

using Word = PageWord;
constexpr Word kWords[] = {
    {"pareto", "Pareto chart of customers' spend (ABC)", "客户消费帕累托图（ABC）"},
    {"pareto_note", "Customers with positive net spend, largest first, in groups of equal size. Bars: each group's share of spend; curve: the running share. A while the running share is at most 55 %, B up to 85 %, C after.",
     "净消费为正的客户，按消费从高到低分成人数相等的组。柱：各组占总消费的比例；曲线：累计占比。累计占比不超过 55 % 为 A 类，不超过 85 % 为 B 类，其余为 C 类。"},
    {"customers_axis", "Share of customers", "客户占比"},
    {"spend_axis", "Share of spend per group", "各组消费占比"},
    {"cumulative", "Cumulative share", "累计占比"},
    {"mix", "ABC mix: actual beside the course's ideal", "ABC 客户结构：实际与理想对比"},
    {"actual", "Actual", "实际"},
    {"ideal", "Ideal (A 20 %, B 40 %, C 40 %)", "理想（A 20 %，B 40 %，C 40 %）"},
    {"class", "Class", "等级"},
    {"customers", "Customers", "客户数"},
    {"share", "Share of customers %", "客户占比 %"},
    {"ideal_share", "Ideal %", "理想占比 %"},
    {"spend", "Spend", "消费额"},
    {"spend_share", "Share of spend %", "消费占比 %"},
    {"trends", "Trends by month", "月度趋势"},
    {"month", "Month", "月份"},
    {"sales", "Sales", "销售笔数"},
    {"net_revenue", "Net revenue", "净销售额"},
    {"average_sale", "Average sale", "客单价"},
    {"buyers", "Members who bought", "消费会员数"},
    {"new_members", "New members", "新入会会员"},
    {"member_revenue_share", "Member revenue %", "会员销售占比 %"},
    {"stores", "Store comparison", "门店对比"},
    {"store", "Store", "门店"},
    {"csat", "CSAT %", "满意率 %"},
    {"nps", "NPS", "净推荐值 NPS"},
    {"revenue_index", "Revenue index (100 = average store)", "销售指数（100 = 门店平均）"},
    {"average", "Average", "平均"},
    {"no_data", "No sales in this period.", "此期间没有销售。"},
    {"lifecycle", "Lifecycle stages", "客户生命周期阶段"},
    {"lifecycle_note", "Prospect: enrolled, no purchase yet · First purchase: one visit · Repeat: 2–4 visits · Loyal: 5 or more · Advocate: brought in a member who bought · Lapsed: at risk (twice the usual interval, or 90 days, without a visit).",
     "潜在客户：已入会未消费 · 首次购买：到店 1 次 · 重复购买：2–4 次 · 忠诚客户：5 次及以上 · 拥护者：推荐的新会员已消费 · 已流失：超过平时间隔两倍（或 90 天）未到店。"},
    {"stage", "Stage", "阶段"},
    {"all", "All", "全部"},
    {"prospect", "Prospect", "潜在客户"},
    {"first_purchase", "First purchase", "首次购买"},
    {"repeat", "Repeat", "重复购买"},
    {"loyal", "Loyal", "忠诚客户"},
    {"advocate", "Advocate", "拥护者"},
    {"lapsed", "Lapsed", "已流失"},
    {"members", "Members", "会员数"},
    {"member_list", "Members", "会员名单"},
    {"due", "Due to buy", "应到店会员"},
    {"due_note", "Members whose usual interval between visits has passed since their last visit (not yet at risk of churn), highest spend first.",
     "距上次消费已超过其平时到店间隔（尚未进入流失预警）的会员，按消费额从高到低。"},
    {"name", "Name", "姓名"},
    {"card_no", "Card", "卡号"},
    {"phone", "Phone", "手机号"},
    {"tier", "Tier", "等级"},
    {"visits", "Visits", "到店次数"},
    {"last_visit", "Last visit", "最近消费"},
    {"usual_interval", "Usual interval (days)", "平时间隔（天）"},
    {"due_day", "Expected by", "预计到店日"},
    {"days_since", "Days since", "未到店天数"},
    {"as_of", "As of", "截至"},
    {"showing", "showing", "显示"},
    {"of", "of", "条，共"},
    {"previous", "Previous", "上一页"},
    {"next", "Next", "下一页"},
    {"export", "Export (CSV)", "导出（CSV）"},
    {"masked", "Phone numbers are masked: this account is not granted personal data.", "手机号已隐藏：此账号未获个人信息权限。"},
    {"none", "Nobody.", "暂无。"},
};

std::string word(const std::string& lang, const std::string& key) { return pageWord(kWords, lang, key); }

json words(const std::string& lang) { return pageWords(kWords, lang); }

ChartWords chartWords(const std::string& lang) {
  return {word(lang, "customers_axis"), word(lang, "spend_axis"), word(lang, "cumulative"), word(lang, "actual"), word(lang, "ideal"),
          word(lang, "average")};
}

/// A number that may be missing (no answers) as the pages show it.
std::string shown(const json& v, int decimals) { return v.is_number() ? fixed(v.get<double>(), decimals) : "—"; }

double value(const json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) return static_cast<double>(Money::parse(v.get<std::string>(), "money")->minor()) / 100.0;
  return 0;
}

const std::vector<std::string> kStages = {"prospect", "first_purchase", "repeat", "loyal", "advocate", "lapsed"};

// [SECTION] Requests

/// A chart report's parameters: the common ones (from, to, store, as_of, limit, offset) and
/// its own (pareto: bins 1..200; lifecycle and due: churn_days 1..3650; lifecycle: stage).
struct ChartCall {
  forms::ReportCall call;
  std::int64_t bins = 50;
  std::int64_t churnDays = 90;
  std::string stage;
};

Result<ChartCall> parseChartCall(const std::string& name, const httplib::Request& req) {
  auto call = forms::parseCall(name, req);
  if (!call) return call.error();
  ChartCall c;
  c.call = std::move(*call);
  auto bins = wholeNumber(forms::param(req, "bins"), "bins", 50, 1, 200);
  if (!bins) return bins.error();
  auto days = wholeNumber(forms::param(req, "churn_days"), "churn_days", 90, 1, 3650);
  if (!days) return days.error();
  c.bins = *bins;
  c.churnDays = *days;
  c.stage = forms::param(req, "stage").value_or("");
  if (!c.stage.empty() && std::find(kStages.begin(), kStages.end(), c.stage) == kStages.end()) {
    return invalidArgument("stage", "stage is one of prospect, first_purchase, repeat, loyal, advocate, lapsed");
  }
  return c;
}

/// Chart report `name` computed on `conn`.
Result<json> computeChart(SqlConnection& conn, const std::string& name, const ChartCall& c) {
  Reports r(conn);
  const ReportFilter& f = c.call.filter;
  if (name == "trends") return trendsReport(r, f);
  if (name == "stores") return storeComparison(r, f);
  const std::string asOf = c.call.asOfOn(r, nowSeconds());
  if (name == "pareto") return r.pareto(f, asOf, c.bins);
  if (name == "lifecycle") return r.lifecycle(f, asOf, c.churnDays, c.stage);
  if (name == "due") return r.dueToBuy(f, asOf, c.churnDays);
  return Error{errc::kNotFound, "report", "no report " + name};
}

/// Runs chart report `name` now (the API's: computed live) where reports read.
Result<json> runChart(HqService& service, const std::string& name, const ChartCall& c) {
  return service.onReports([&](SqlConnection& conn) { return computeChart(conn, name, c); });
}

/// A chart report's key among kept results: the call's with the chart's own parameters.
std::string chartKey(const std::string& name, const ChartCall& c) {
  return json{"chart", name, c.call.key(), c.bins, c.churnDays, c.stage}.dump();
}

ReportCache::Compute chartCompute(const std::string& name, const ChartCall& c) {
  return [name, c](SqlConnection& conn) { return computeChart(conn, name, c); };
}

/// Chart report `name` for a dashboard page: a kept result while the cache's rules let it serve
/// (report_cache.hpp; as the other pages' reports), else computed now.
Result<ReportCache::Answer> pageChart(HqService& service, const std::string& name, const ChartCall& c) {
  return service.keptResult(chartKey(name, c), chartCompute(name, c));
}

/// The charts page's call, which its three reports share: the request's parameters but
/// `offset` (the store comparison's page, cut from the one report).
Result<ChartCall> chartsPageCall(const httplib::Request& req) {
  httplib::Request r = req;
  r.params.erase("offset");
  return parseChartCall("pareto", r);
}

/// The lifecycle page's lists: kLifecyclePage members a page.
constexpr std::int64_t kLifecyclePage = 50;

/// The lifecycle page's call: its members list's page from `offset` (the due list's is the
/// same call with the due list's offset).
Result<ChartCall> lifecyclePageCall(const httplib::Request& req, std::int64_t offset) {
  httplib::Request r = req;
  r.params.erase("limit");
  r.params.erase("offset");
  r.params.emplace("limit", std::to_string(kLifecyclePage));
  r.params.emplace("offset", std::to_string(offset));
  return parseChartCall("lifecycle", r);
}

/// The page's chart answers as JSON, and in `view` when the oldest kept one was computed.
Result<std::vector<json>> shownCharts(HqService& service, std::vector<Result<ReportCache::Answer>> answers, json& view) {
  std::optional<Timestamp> keptAt;
  std::vector<json> out;
  for (auto& a : answers) {
    if (!a) return a.error();
    if (a->kept && (!keptAt || a->computedAt < *keptAt)) keptAt = a->computedAt;
    out.push_back(std::move(a->body));
  }
  if (keptAt) view["computed_at"] = chainTime(service, *keptAt);
  return out;
}

/// A list as `who` may see it: phones masked unless granted, the read of members' personal
/// data audited with how many records it showed.
void showTo(HqService& service, const DashboardViewer& who, json& body, const std::string& subject) {
  if (const std::int64_t records = protectPersonalData(body, who.seesAll()); records > 0) {
    service.auditAccess(who.actor(), audit::kMembersExport, subject, records);
  }
}

/// The lifecycle or due list as CSV, headers in the page's language.
std::string listCsv(const std::string& name, const json& list, const std::string& lang) {
  ExportTable t;
  const bool due = name == "due";
  std::vector<std::pair<const char*, ColumnType>> cols = {{"name", ColumnType::kText}, {"card_no", ColumnType::kText},
                                                          {"phone", ColumnType::kText}, {"store", ColumnType::kText},
                                                          {"tier", ColumnType::kText}};
  if (!due) cols.push_back({"stage", ColumnType::kText});
  for (const auto& c : std::vector<std::pair<const char*, ColumnType>>{{"visits", ColumnType::kInteger}, {"spend", ColumnType::kMoney},
                                                                       {"last_visit", ColumnType::kDay}, {"days_since", ColumnType::kInteger}}) {
    cols.push_back(c);
  }
  if (due) cols.push_back({"usual_interval", ColumnType::kDecimal}), cols.push_back({"due_day", ColumnType::kDay});
  t.columns.push_back("ID");
  t.types.push_back(ColumnType::kText);
  for (const auto& [k, type] : cols) {
    t.columns.push_back(word(lang, k));
    t.types.push_back(type);
  }
  for (const auto& m : list["members"]) {
    const auto f = [&m](const char* k) { return m.value(k, json(nullptr)); };
    std::vector<json> row = {f("member_id"), f("name"), f("card_no"), f("phone"), f("store"), f("tier")};
    if (!due) row.push_back(word(lang, jsonText(f("stage"))));
    for (const char* k : {"visits", "spend", "last_visit", "days_since_visit"}) row.push_back(f(k));
    if (due) row.push_back(f("usual_interval_days")), row.push_back(f("due_day"));
    t.rows.push_back(std::move(row));
  }
  return toCsv(t);
}

// [SECTION] Pages

/// The page's filter (from, to, store, as_of, churn_days) as a query string, for links.
std::string filterQuery(const httplib::Request& req, std::initializer_list<const char*> keys) {
  std::string q;
  for (const char* k : keys) {
    if (!req.get_param_value(k).empty()) q += (q.empty() ? "" : "&") + std::string(k) + "=" + urlEncode(req.get_param_value(k));
  }
  return q;
}

/// A page of a list: "showing a–b of n" and the links to the previous and next pages.
json pager(const std::string& base, const std::string& query, const char* offsetKey, std::int64_t offset, std::int64_t shownRows,
           std::int64_t total, std::int64_t size, const std::string& anchor = "") {
  return pageLinks(
      [&](std::int64_t off) { return base + "?" + query + (query.empty() ? "" : "&") + offsetKey + "=" + std::to_string(off) + anchor; },
      offset, shownRows, total, size);
}

/// /dashboard/charts: the Pareto chart with the classes' mix beside the ideal, trends by month
/// and the store comparison.
Result<Ok> chartsPage(HqService& service, const std::string& lang, const httplib::Request& req, json& view) {
  // The store comparison a page of kStoresPage stores at a time (`offset`); its charts those
  // stores', their average lines every store's.
  constexpr std::int64_t kStoresPage = 100;
  auto offset = wholeNumber(forms::param(req, "offset"), "offset", 0, 0, 100000000);
  if (!offset) return offset.error();
  auto c = chartsPageCall(req);
  if (!c) return c.error();
  // The three at once, each on a report connection of its own while one is free (as the
  // customers page's): the page takes about as long as the slowest, not the sum.
  auto trendsLater = std::async(std::launch::async, [&service, &c] { return pageChart(service, "trends", *c); });
  auto storesLater = std::async(std::launch::async, [&service, &c] { return pageChart(service, "stores", *c); });
  std::vector<Result<ReportCache::Answer>> answers;
  answers.push_back(pageChart(service, "pareto", *c));
  answers.push_back(trendsLater.get());
  answers.push_back(storesLater.get());
  auto shownAnswers = shownCharts(service, std::move(answers), view);
  if (!shownAnswers) return shownAnswers.error();
  json* pareto = &(*shownAnswers)[0];
  json* trends = &(*shownAnswers)[1];
  json* stores = &(*shownAnswers)[2];
  const ChartWords w = chartWords(lang);
  view["c"] = words(lang);
  view["as_of"] = (*pareto)["as_of"];
  view["has_customers"] = (*pareto)["members"].get<std::int64_t>() > 0;
  view["kpis"] = json::array({{{"label", word(lang, "customers")}, {"key", "pareto-members"}, {"value", shownNumber((*pareto)["members"])}},
                              {{"label", word(lang, "spend")}, {"key", "pareto-spend"}, {"value", shownMoney((*pareto)["spend"])}}});
  view["pareto_svg"] = paretoSvg(*pareto, w);
  view["mix_svg"] = mixSvg(*pareto, w);
  json mix = json::array();
  for (const auto& m : (*pareto)["mix"]) {
    mix.push_back({{"class", m["class"]}, {"members", shownNumber(m["members"])}, {"share", shown(m["share"], 1)},
                   {"ideal", shown(m["ideal_share"], 1)}, {"spend", shownMoney(m["spend"])}, {"spend_share", shown(m["spend_share"], 1)}});
  }
  view["mix"] = std::move(mix);

  std::vector<std::string> months;
  Series net{word(lang, "net_revenue"), "#2f6fb0", {}}, buyers{word(lang, "buyers"), "#2f6fb0", {}},
      joined{word(lang, "new_members"), "#b0502f", {}}, avg{word(lang, "average_sale"), "#2f6fb0", {}};
  json monthRows = json::array();
  for (const auto& m : (*trends)["rows"]) {
    months.push_back(jsonText(m["month"]));
    net.values.push_back(value(m["net_revenue"]));
    buyers.values.push_back(value(m["members"]));
    joined.values.push_back(value(m["new_members"]));
    avg.values.push_back(m["sales"].get<std::int64_t>() > 0 ? value(m["average_sale"]) : std::nan(""));
    monthRows.push_back({{"month", jsonText(m["month"])}, {"sales", shownNumber(m["sales"])}, {"net_revenue", shownMoney(m["net_revenue"])},
                         {"average_sale", shownMoney(m["average_sale"])}, {"members", shownNumber(m["members"])},
                         {"member_revenue_share", shown(m["member_revenue_share"], 1)}, {"new_members", shownNumber(m["new_members"])}});
  }
  view["has_months"] = !months.empty();
  view["trend_revenue_svg"] = lineSvg("trend-net-revenue", months, {net}, 2);
  view["trend_members_svg"] = lineSvg("trend-members", months, {buyers, joined}, 0);
  view["trend_average_svg"] = lineSvg("trend-average-sale", months, {avg}, 2);
  view["months"] = std::move(monthRows);

  std::vector<std::pair<std::string, double>> revenue, index, average, csat;
  json storeRows = json::array();
  double csatSum = 0, avgSale = 0;
  int csatStores = 0;
  std::int64_t at = 0;
  for (const auto& s : (*stores)["rows"]) {
    avgSale += value(s["average_sale"]);
    if (s["csat"].is_number()) csatSum += s["csat"].get<double>(), ++csatStores;
    if (at++ < *offset || at > *offset + kStoresPage) continue;
    const std::string id = jsonText(s["store"]);
    revenue.emplace_back(id, value(s["net_revenue"]));
    index.emplace_back(id, value(s["revenue_index"]));
    average.emplace_back(id, value(s["average_sale"]));
    if (s["csat"].is_number()) csat.emplace_back(id, s["csat"].get<double>());
    storeRows.push_back({{"store", id}, {"sales", shownNumber(s["sales"])}, {"net_revenue", shownMoney(s["net_revenue"])},
                         {"average_sale", shownMoney(s["average_sale"])}, {"members", shownNumber(s["members"])},
                         {"member_revenue_share", shown(s["member_revenue_share"], 1)}, {"new_members", shownNumber(s["new_members"])},
                         {"csat", shown(s["csat"], 1)}, {"nps", shown(s["nps"], 1)}, {"revenue_index", shown(s["revenue_index"], 1)}});
  }
  view["has_stores"] = at > 0;
  view["stores_charts"] = !storeRows.empty();  // none past the end
  view["store_revenue_svg"] = comparisonSvg("store-net-revenue", revenue, value((*stores)["average_net_revenue"]), 2, w);
  view["store_index_svg"] = comparisonSvg("store-revenue-index", index, 100.0, 1, w);
  view["store_average_svg"] = comparisonSvg("store-average-sale", average, at == 0 ? 0 : avgSale / static_cast<double>(at), 2, w);
  view["store_csat_svg"] = csat.empty() ? json(false) : json(comparisonSvg("store-csat", csat, csatSum / csatStores, 1, w, "%"));
  view["stores_page"] = pager("/dashboard/charts", filterQuery(req, {"from", "to", "store", "as_of", "bins"}), "offset", *offset,
                              static_cast<std::int64_t>(storeRows.size()), at, kStoresPage, "#stores");
  view["stores"] = std::move(storeRows);
  return Ok{};
}


/// A member list's rows (lifecycle or due: each has fields the other lacks, and masking may
/// drop some), every field read by name with a default.
json memberRows(const std::string& lang, const json& members) {
  json rows = json::array();
  for (const auto& m : members) {
    const auto f = [&m](const char* k) { return m.value(k, json(nullptr)); };
    const std::string id = jsonText(f("member_id")), name = jsonText(f("name")), stage = jsonText(f("stage"));
    rows.push_back({{"member_path", urlEncode(id)}, {"member_id", id}, {"name", name.empty() ? id : name}, {"card_no", jsonText(f("card_no"))},
                    {"phone", jsonText(f("phone"))}, {"store", jsonText(f("store"))}, {"tier", jsonText(f("tier"))}, {"stage", stage},
                    {"stage_label", stage.empty() ? "" : word(lang, stage)}, {"visits", shownNumber(f("visits"))}, {"spend", shownMoney(f("spend"))},
                    {"last_visit", jsonText(f("last_visit"))}, {"days_since", shownNumber(f("days_since_visit"))},
                    {"usual_interval", shown(f("usual_interval_days"), 1)}, {"due_day", jsonText(f("due_day"))}});
  }
  return rows;
}

/// /dashboard/lifecycle: members per stage (a chart and a list by stage) and the due-to-buy list.
Result<Ok> lifecyclePage(HqService& service, const DashboardViewer& who, const std::string& lang, const httplib::Request& req,
                           json& view) {
  const auto pageOf = [&](const char* key) -> Result<std::int64_t> {
    return wholeNumber(forms::param(req, key), key, 0, 0, 100000000);
  };
  auto offset = pageOf("offset");
  if (!offset) return offset.error();
  auto dueOffset = pageOf("due_offset");
  if (!dueOffset) return dueOffset.error();
  auto c = lifecyclePageCall(req, *offset);
  if (!c) return c.error();
  // Both at once, each on a report connection of its own (as the charts page's).
  ChartCall dueCall = *c;
  dueCall.call.filter.offset = *dueOffset;
  auto dueLater = std::async(std::launch::async, [&service, &dueCall] { return pageChart(service, "due", dueCall); });
  std::vector<Result<ReportCache::Answer>> answers;
  answers.push_back(pageChart(service, "lifecycle", *c));
  answers.push_back(dueLater.get());
  auto shownAnswers = shownCharts(service, std::move(answers), view);
  if (!shownAnswers) return shownAnswers.error();
  json* life = &(*shownAnswers)[0];
  json* due = &(*shownAnswers)[1];
  showTo(service, who, *life, "report:lifecycle");
  showTo(service, who, *due, "report:due");

  const std::string base = filterQuery(req, {"from", "to", "store", "as_of", "churn_days"});
  const std::string withStage = base + (c->stage.empty() ? "" : (base.empty() ? "" : "&") + std::string("stage=") + c->stage);
  std::vector<std::pair<std::string, double>> bars;
  json stages = json::array();
  stages.push_back({{"label", word(lang, "all")}, {"href", "/dashboard/lifecycle" + (base.empty() ? "" : "?" + base)},
                    {"on", c->stage.empty()}, {"key", "all"}, {"members", shownNumber((*life)["members_total"])}, {"share", "100.0"}});
  for (const auto& s : (*life)["stages"]) {
    const std::string st = jsonText(s["stage"]);
    bars.emplace_back(word(lang, st), value(s["members"]));
    stages.push_back({{"label", word(lang, st)}, {"href", "/dashboard/lifecycle?" + base + (base.empty() ? "" : "&") + "stage=" + st},
                      {"on", st == c->stage}, {"key", st}, {"members", shownNumber(s["members"])}, {"share", shown(s["share"], 1)}});
  }
  view["c"] = words(lang);
  view["as_of"] = (*life)["as_of"];
  view["masked"] = !who.seesAll();
  view["stages"] = std::move(stages);
  view["stage_svg"] = comparisonSvg("lifecycle-stages", bars, std::nullopt, 0, chartWords(lang));
  const std::int64_t listed = c->stage.empty() ? (*life)["members_total"].get<std::int64_t>() : [&] {
    for (const auto& s : (*life)["stages"]) {
      if (s["stage"] == c->stage) return s["members"].get<std::int64_t>();
    }
    return std::int64_t{0};
  }();
  view["members"] = memberRows(lang, (*life)["members"]);
  view["members_page"] = pager("/dashboard/lifecycle", withStage, "offset", *offset, static_cast<std::int64_t>((*life)["members"].size()), listed, kLifecyclePage);
  view["due"] = memberRows(lang, (*due)["members"]);
  view["due_page"] = pager("/dashboard/lifecycle", withStage, "due_offset", *dueOffset, static_cast<std::int64_t>((*due)["members"].size()),
                           (*due)["due"].get<std::int64_t>(), kLifecyclePage);
  view["lifecycle_csv"] = "/api/v1/reports/lifecycle.csv?lang=" + lang + (withStage.empty() ? "" : "&" + withStage);
  view["due_csv"] = "/api/v1/reports/due.csv?lang=" + lang + (base.empty() ? "" : "&" + base);
  return Ok{};
}

}  // namespace

void registerChartRoutes(httplib::Server& s, HqService& service, DashboardAccess access) {
  // The chart pages' default views, kept warm from the start as the customers page's reports:
  // computed by the refresher at start and when the data changes, not by the first person to
  // open the page (at a million members the lifecycle page took 3.0-4.8 s to compute, the charts
  // page 2.4-3.0 s: analytics.json pareto_r33).
  const httplib::Request defaults;
  if (auto c = chartsPageCall(defaults)) {
    for (const char* name : {"pareto", "trends", "stores"}) service.pinResult(chartKey(name, *c), chartCompute(name, *c));
  }
  if (auto c = lifecyclePageCall(defaults, 0)) {
    for (const char* name : {"lifecycle", "due"}) service.pinResult(chartKey(name, *c), chartCompute(name, *c));
  }
  // [SECTION] API
  s.Get(R"(/api/v1/reports/(pareto|trends|stores|lifecycle|due))", [&service, access](const httplib::Request& req, httplib::Response& res) {
    auto who = access.api(req, res);
    if (!who) return;
    const std::string name = req.matches[1].str();
    auto c = parseChartCall(name, req);
    if (!c) return sendError(res, c.error());
    auto out = runChart(service, name, *c);
    if (!out) return sendError(res, out.error());
    if (name == "stores") {
      // A row a store, in pages as the other row reports: by default the most a page holds.
      ReportFilter page = c->call.filter;
      if (!forms::param(req, "limit")) page.limit = kListPageMax;
      pageReportRows(*out, page);
    }
    showTo(service, *who, *out, "report:" + name);
    sendJson(res, *out);
  });

  s.Get(R"(/api/v1/reports/(lifecycle|due)\.csv)", [&service, access](const httplib::Request& req, httplib::Response& res) {
    auto who = access.api(req, res);
    if (!who) return;
    const std::string name = req.matches[1].str();
    auto c = parseChartCall(name, req);
    if (!c) return sendError(res, c.error());
    const ExportRows rows(forms::param(req, "limit").has_value(), c->call.filter.limit);
    auto out = runChart(service, name, *c);
    if (!out) return sendError(res, out.error());
    if (auto refused = rows.refusal((*out)["members"].size())) return sendError(res, *refused);
    protectPersonalData(*out, who->seesAll());
    service.auditAccess(who->actor(), audit::kMembersExport, name + ".csv", static_cast<std::int64_t>((*out)["members"].size()));
    res.set_header("Content-Disposition", "attachment; filename=\"loyalty-" + name + ".csv\"");
    res.set_header("Cache-Control", "no-store");
    res.set_content(listCsv(name, *out, access.language(req)), "text/csv; charset=utf-8");
  });

  // [SECTION] Pages
  s.Get(R"(/dashboard/(charts|lifecycle)/?)", [&service, access](const httplib::Request& req, httplib::Response& res) {
    auto who = access.session(req);
    if (!who) return access.signIn(req, res);
    const std::string page = req.matches[1].str(), lang = access.language(req);
    json view = access.frame(req, *who, lang, "/dashboard/" + page, page);
    // The pages' own filter form: the frame's (from, to, store) and the day counted to.
    view["own_filter"] = true;
    view["lang"] = lang;
    view["sel"] = {{"from", req.get_param_value("from")}, {"to", req.get_param_value("to")}, {"store", req.get_param_value("store")},
                   {"as_of", req.get_param_value("as_of")}, {"stage", req.get_param_value("stage").empty() ? json(false) : json(req.get_param_value("stage"))}};
    auto done = page == "charts" ? chartsPage(service, lang, req, view) : lifecyclePage(service, *who, lang, req, view);
    if (!done) {
      const HttpProblem refused = problemFor(done.error());
      view["message"] = refused.detail;
      return access.html(res, renderTemplate("error", view), refused.status);
    }
    access.html(res, renderTemplate(page, view), 200);
  });
}

}  // namespace loyalty::hq
