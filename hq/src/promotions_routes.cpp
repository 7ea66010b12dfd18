// Promotion management over HTTPS: GET /api/v1/reports/promotions (docs/hq-api.md) and the
// dashboard's /dashboard/programme (the programme's editor with its preview and publishing) and
// /dashboard/promotions (what each promotion did). Server-rendered, zh-CN and en, plain forms.
#include <httplib.h>

#include "loyalty/hq/analytics.hpp"
#include "loyalty/hq/dashboard_access.hpp"
#include "loyalty/hq/dashboard_forms.hpp"
#include "loyalty/hq/http_answer.hpp"
#include "loyalty/hq/number_format.hpp"
#include "loyalty/hq/page_words.hpp"
#include "loyalty/hq/promotions.hpp"
#include "loyalty/hq/service.hpp"
#include "loyalty/hq/templates.hpp"

namespace loyalty::hq {

using nlohmann::json;

namespace {

// [SECTION] Words of the promotion pages (zh-CN / en)

using Word = PageWord;
constexpr Word kWords[] = {
    {"rates", "Points", "积分规则"},
    {"earn_points_per_unit", "Points per 1.00 paid", "每消费1元积分"},
    {"redeem_points_per_unit", "Points for 1.00 off", "每抵扣1元所需积分"},
    {"tiers", "Tiers (rolling 12-month net spend)", "会员等级（近12个月净消费）"},
    {"name", "Name", "名称"},
    {"threshold", "From spend", "消费门槛"},
    {"multiplier", "Points ×", "积分倍数"},
    {"promotions", "Promotions", "促销活动"},
    {"id", "ID", "编号"},
    {"kind", "Kind", "类型"},
    {"amount", "Off", "减免金额"},
    {"repeat", "Per each threshold", "每满重复"},
    {"gift_sku", "Gift SKU", "赠品编码"},
    {"percent", "% off", "折扣 %"},
    {"skus", "SKUs", "商品编码"},
    {"categories", "Categories", "品类"},
    {"min_tier", "From tier", "最低等级"},
    {"weekday", "Weekday (1 = Mon)", "会员日（1 = 周一）"},
    {"birthday", "Birthday", "生日"},
    {"from", "Starts", "开始日期"},
    {"to", "Ends", "结束日期"},
    {"members_only", "Members only", "仅限会员"},
    {"spend_discount", "Spend & save (满减)", "满减"},
    {"spend_gift", "Spend & gift (满赠)", "满赠"},
    {"member_discount", "Member price", "会员专属优惠"},
    {"points_multiplier", "Points multiplier", "积分倍增"},
    {"none_kind", "—", "—"},
    {"edit_note", "Clear a row's name or ID to remove it; fill the empty row to add one. A schedule is a promotion's start and end "
                  "(store-local days, both included).",
     "清空名称或编号即删除该行；填写空行即新增。活动时间为开始与结束日期（门店当地日期，含首尾）。"},
    {"status", "Now", "当前状态"},
    {"scheduled", "Scheduled", "未开始"},
    {"running", "Running", "进行中"},
    {"ended", "Ended", "已结束"},
    {"preview", "Preview on sample baskets", "样例购物篮预览"},
    {"baskets", "Baskets (one a line: SKU qty [price], ...)", "购物篮（每行一个：商品编码 数量 [单价], ...）"},
    {"preview_day", "Sale day", "销售日期"},
    {"check", "Check and preview", "检查并预览"},
    {"publish", "Publish to every store", "发布到所有门店"},
    {"publish_note", "Publishing sends the programme to every terminal through the change feed; it applies from their next sync.",
     "发布后，程序通过变更通道下发到所有终端，终端下次同步后生效。"},
    {"analyst_note", "Only an administrator can publish; you can check and preview.", "仅管理员可发布；您可以检查和预览。"},
    {"published", "Published: programme version", "已发布：程序版本"},
    {"valid", "The programme is valid: this is what the counters would do.", "程序校验通过：以下为收银台的实际计算结果。"},
    {"refused", "Refused, nothing was published:", "未通过校验，未发布："},
    {"basket", "Basket", "购物篮"},
    {"customer", "Customer", "顾客"},
    {"non_member", "Non-member", "非会员"},
    {"subtotal", "Subtotal", "小计"},
    {"discount", "Discount", "优惠"},
    {"total", "To pay", "应付"},
    {"points", "Points", "积分"},
    {"applied", "Promotions applied", "适用促销"},
    {"gifts", "Gifts", "赠品"},
    {"toml", "As published (TOML)", "发布内容（TOML）"},
    {"results", "Promotion results", "促销效果"},
    {"results_link", "See what each promotion did", "查看各促销效果"},
    {"editor_link", "Edit the programme", "编辑会员程序"},
    {"sales", "Sales with it", "参与笔数"},
    {"members", "Members", "参与会员数"},
    {"net_revenue", "Net revenue", "净销售额"},
    {"vs_before", "Lift vs the period before", "较上一周期增长"},
    {"vs_without", "Lift vs stores without it", "较未参与门店增长差"},
    {"stores", "Stores", "门店"},
    {"before", "Period before", "上一周期"},
    {"filter", "Show", "查询"},
    {"store", "Store", "门店"},
    {"results_note", "Discount: what each promotion took off (* part unknown: sales from terminals that did not report it). "
                     "Net revenue: the sales with the promotion less their refunds. Lift: growth of the net revenue of the stores "
                     "where it ran against the same number of days just before; against stores without it: that growth less "
                     "theirs. — : no base to compare with.",
     "优惠：各促销的减免金额（*：部分终端未上报，金额不完整）。净销售额：参与该促销的销售减去其退货。增长：开展门店的净销售额较之前相同天数的增幅；"
     "较未参与门店：该增幅减去未参与门店的增幅。—：无可比基数。"},
    {"none", "No promotion ran in this period.", "该期间没有促销活动。"},
    {"money_note", "Amounts in ¥.", "金额单位：元。"},
};

std::string word(const std::string& lang, const std::string& key) { return pageWord(kWords, lang, key); }

json words(const std::string& lang) { return pageWords(kWords, lang); }

Date today() { return *parseDate(formatRfc3339(nowSeconds()).substr(0, 10), "day"); }

const char* kDefaultBaskets = "A 1 120.00\nA 1 350.00\nA 1 650.00, B 2 25.00";

const std::vector<std::string> kKinds = {"spend_discount", "spend_gift", "member_discount", "points_multiplier"};

/// A lift as shown: "+12.34 %", "—" without a base.
std::string percentText(const json& v) {
  if (!v.is_string()) return "—";
  const long double f = std::stold(v.get<std::string>()) * 100;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.2Lf %%", f);
  return buf;
}

// [SECTION] The editor

/// The editor's rows from the form (field `<prefix><key>_<row>`), as many as it sent.
std::vector<EditorRow> rowsOf(const httplib::Request& req, const std::string& prefix, const std::vector<std::string>& keys) {
  std::vector<EditorRow> rows;
  for (int i = 0; i < 100 && req.has_param(prefix + keys.front() + "_" + std::to_string(i)); ++i) {
    EditorRow row;
    for (const auto& k : keys) row.emplace_back(k, req.get_param_value(prefix + k + "_" + std::to_string(i)));
    rows.push_back(std::move(row));
  }
  return rows;
}

const std::vector<std::string>& kTierKeys = tierEditorKeys();
const std::vector<std::string>& kPromotionKeys = promotionEditorKeys();

ProgrammeDraft draftFromForm(const httplib::Request& req) {
  return {req.get_param_value("earn_points_per_unit"), req.get_param_value("redeem_points_per_unit"),
          rowsOf(req, "tier_", kTierKeys), rowsOf(req, "promo_", kPromotionKeys)};
}

std::string valueOf(const EditorRow& row, const std::string& key) {
  for (const auto& [k, v] : row) {
    if (k == key) return v;
  }
  return "";
}

/// The editor's view of a draft: its rows and an empty one of each to add.
void draftView(const std::string& lang, const ProgrammeDraft& d, Date day, json& view) {
  view["earn"] = d.earnPointsPerUnit;
  view["redeem"] = d.redeemPointsPerUnit;
  json tiers = json::array(), promotions = json::array();
  std::vector<EditorRow> tierRows = d.tiers, promoRows = d.promotions;
  tierRows.push_back({});
  promoRows.push_back({});
  for (std::size_t i = 0; i < tierRows.size(); ++i) {
    json t = {{"i", i}};
    for (const auto& k : kTierKeys) t[k] = valueOf(tierRows[i], k);
    tiers.push_back(std::move(t));
  }
  const std::string on = formatDate(day);
  for (std::size_t i = 0; i < promoRows.size(); ++i) {
    const EditorRow& r = promoRows[i];
    json p = {{"i", i}};
    for (const auto& k : kPromotionKeys) p[k] = valueOf(r, k);
    p["repeat_on"] = valueOf(r, "repeat") == "true" || valueOf(r, "repeat") == "on";
    p["members_only_on"] = valueOf(r, "members_only") == "true" || valueOf(r, "members_only") == "on";
    json kinds = json::array();
    kinds.push_back({{"value", ""}, {"label", word(lang, "none_kind")}, {"selected", valueOf(r, "kind").empty()}});
    for (const auto& k : kKinds) kinds.push_back({{"value", k}, {"label", word(lang, k)}, {"selected", valueOf(r, "kind") == k}});
    p["kinds"] = std::move(kinds);
    const std::string from = valueOf(r, "from"), to = valueOf(r, "to");
    if (!valueOf(r, "id").empty()) {
      p["status"] = word(lang, !from.empty() && on < from ? "scheduled" : !to.empty() && on > to ? "ended" : "running");
    }
    promotions.push_back(std::move(p));
  }
  view["tiers"] = std::move(tiers);
  view["promotions"] = std::move(promotions);
}

/// The preview's rows as the page shows them.
json previewView(const std::string& lang, const json& rows) {
  json out = json::array();
  for (const auto& r : rows) {
    std::string applied, gifts;
    for (const auto& a : r.value("promotions", json::array())) applied += (applied.empty() ? "" : "; ") + jsonText(a);
    for (const auto& g : r.value("gifts", json::array())) gifts += (gifts.empty() ? "" : ", ") + jsonText(g);
    out.push_back({{"basket", r["basket"]}, {"customer", r["customer"].is_null() ? word(lang, "non_member") : jsonText(r["customer"])},
                   {"subtotal", shownMoney(r["subtotal"])}, {"discount", shownMoney(r["discount"])}, {"total", shownMoney(r["total"])},
                   {"points", shownNumber(r["points"])}, {"applied", applied}, {"gifts", gifts},
                   {"error", jsonText(r.value("error", json(nullptr)))}});
  }
  return out;
}

/// /dashboard/programme: the draft (the published programme, or what the form sent), its check,
/// the TOML it makes and its preview.
json editorPage(HqService& service, DashboardAccess& access, const DashboardViewer& who, const httplib::Request& req,
                const std::optional<ProgrammeDraft>& sent, std::optional<std::string> refusal) {
  const std::string lang = access.language(req);
  json view = access.frame(req, who, lang, "/dashboard/programme", "programme");
  view["f"] = words(lang);
  view["own_filter"] = true;
  view["lang"] = lang;
  view["admin"] = who.role == Role::kAdmin;
  const std::string published = service.onReader([](SqlConnection& c) { return publishedProgrammeText(c); });
  Date day = today();
  if (auto d = parseDate(req.get_param_value("preview_day"), "preview_day")) day = *d;
  const std::string basketText = req.has_param("baskets") ? req.get_param_value("baskets") : kDefaultBaskets;
  std::string text = published;
  std::optional<ProgrammeRules> rules;
  if (sent) {
    text = applyDraft(published, *sent);
    auto checked = checkProgrammeText(text);
    if (checked) rules = std::move(*checked);
    else if (!refusal) refusal = checked.error().message;
    draftView(lang, *sent, day, view);
  } else {
    auto checked = checkProgrammeText(published);
    rules = checked ? std::move(*checked) : ProgrammeRules{};
    draftView(lang, draftOf(*rules), day, view);
  }
  view["toml"] = text;
  // Set only when there is something to say: the templates show a section for any string.
  if (refusal) view["refused"] = *refusal;
  view["valid"] = sent.has_value() && !refusal;
  if (!req.get_param_value("published").empty()) view["published_version"] = req.get_param_value("published");
  view["baskets"] = basketText;
  view["preview_day"] = formatDate(day);
  if (rules && !refusal) {
    auto baskets = service.onReader([&](SqlConnection& c) { return parseBaskets(c, basketText); });
    if (baskets) {
      view["preview"] = previewView(lang, previewBaskets(*rules, *baskets, day));
      view["has_preview"] = true;
    }
    if (!baskets) view["basket_error"] = baskets.error().message;
  }
  return view;
}

// [SECTION] Results

/// The request's range: both ends, or the last 30 days.
Result<ReportFilter> resultsFilter(const httplib::Request& req, bool required) {
  auto from = forms::param(req, "from"), to = forms::param(req, "to");
  if (required) {
    if (!from || from->empty()) return invalidArgument("from", "from (YYYY-MM-DD) is required: the lift compares it with the days before");
    if (!to || to->empty()) return invalidArgument("to", "to (YYYY-MM-DD) is required: the lift compares it with the days before");
  }
  if (!from || from->empty()) from = formatDate(Date{std::chrono::sys_days{today()} - std::chrono::days{29}});
  if (!to || to->empty()) to = formatDate(today());
  return parseReportFilter(from, to, forms::param(req, "store"));
}

json resultsPage(HqService& service, DashboardAccess& access, const DashboardViewer& who, const httplib::Request& req,
                 const ReportFilter& f) {
  const std::string lang = access.language(req);
  json view = access.frame(req, who, lang, "/dashboard/promotions", "promotions");
  const json report = service.onReports([&](SqlConnection& c) { return promotionReport(c, f.range, f.stores); });
  json rows = json::array();
  for (const auto& r : report["rows"]) {
    const json& lift = r["lift"];
    std::string stores;
    for (const auto& s : r["stores"]) stores += (stores.empty() ? "" : ", ") + jsonText(s);
    rows.push_back({{"id", jsonText(r["promotion_id"])}, {"kind", word(lang, jsonText(r["kind"]))}, {"sales", shownNumber(r["sales"])},
                    {"members", shownNumber(r["members"])}, {"discount", shownMoney(r["discount"]) + (r["discount_known"].get<bool>() ? "" : " *")},
                    {"points", shownNumber(r["points"])}, {"net_revenue", shownMoney(r["net_revenue"])},
                    {"vs_before", percentText(lift["vs_before"])}, {"vs_without", percentText(lift["vs_stores_without"])},
                    {"stores", stores}});
  }
  std::string store;
  for (const auto& s : f.stores) store += (store.empty() ? "" : ",") + s;
  view["f"] = words(lang);
  view["own_filter"] = true;
  view["lang"] = lang;
  view["sel"] = {{"from", f.range.from}, {"to", f.range.to}, {"store", store}};
  if (!report["rows"].empty()) {
    const json& before = report["rows"][0]["lift"]["before"];
    view["before"] = jsonText(before["from"]) + " – " + jsonText(before["to"]);
  }
  view["rows"] = std::move(rows);
  view["empty"] = report["rows"].empty();
  return view;
}

void refusedPage(DashboardAccess& access, const DashboardViewer& who, const httplib::Request& req, httplib::Response& res,
                 const std::string& path, const std::string& titleKey, const Error& e) {
  const HttpProblem refused = problemFor(e);
  json view = access.frame(req, who, access.language(req), path, titleKey);
  view["message"] = refused.detail;
  access.html(res, renderTemplate("error", view), refused.status);
}

}  // namespace

void registerPromotionRoutes(httplib::Server& s, HqService& service, DashboardAccess access) {
  // [SECTION] API
  s.Get("/api/v1/reports/promotions", [&service, access](const httplib::Request& req, httplib::Response& res) {
    if (!access.api(req, res)) return;
    auto f = resultsFilter(req, true);
    if (!f) return sendError(res, f.error());
    sendJson(res, service.onReports([&](SqlConnection& c) { return promotionReport(c, f->range, f->stores); }));
  });

  // [SECTION] Dashboard pages and forms (a form's CSRF token is checked by access.api)
  s.Get("/dashboard/programme", [&service, access](const httplib::Request& req, httplib::Response& res) mutable {
    auto who = access.session(req);
    if (!who) return access.signIn(req, res);
    access.html(res, renderTemplate("programme", editorPage(service, access, *who, req, std::nullopt, std::nullopt)), 200);
  });

  s.Post("/dashboard/programme", [&service, access](const httplib::Request& req, httplib::Response& res) mutable {
    auto who = access.session(req);
    if (!who) return seeOther(res, "/dashboard/login");
    if (!access.api(req, res)) return;  // the form's CSRF token
    const ProgrammeDraft draft = draftFromForm(req);
    if (req.get_param_value("action") == "publish") {
      if (who->role != Role::kAdmin) {
        return refusedPage(access, *who, req, res, "/dashboard/programme", "programme",
                           Error{errc::kForbidden, "", "publishing the programme is for admins"});
      }
      const std::string published = service.onReader([](SqlConnection& c) { return publishedProgrammeText(c); });
      auto version = service.publishConfig(applyDraft(published, draft), who->actor());
      if (version) return seeOther(res, "/dashboard/programme?published=" + std::to_string(*version));
      // Refused: the same page with what was sent, and why (nothing changed).
      return access.html(res, renderTemplate("programme", editorPage(service, access, *who, req, draft, version.error().message)), 400);
    }
    json view = editorPage(service, access, *who, req, draft, std::nullopt);
    access.html(res, renderTemplate("programme", view), view.contains("refused") ? 400 : 200);
  });

  s.Get("/dashboard/promotions", [&service, access](const httplib::Request& req, httplib::Response& res) mutable {
    auto who = access.session(req);
    if (!who) return access.signIn(req, res);
    auto f = resultsFilter(req, false);
    if (!f) return refusedPage(access, *who, req, res, "/dashboard/promotions", "promotions", f.error());
    access.html(res, renderTemplate("promotions", resultsPage(service, access, *who, req, *f)), 200);
  });
}

}  // namespace loyalty::hq
