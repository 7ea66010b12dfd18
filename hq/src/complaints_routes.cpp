// Complaint care over HTTPS: the handling report, the satisfaction check (docs/hq-api.md,
// "Complaints") and the dashboard's /dashboard/complaints pages (server-rendered, zh-CN and en,
// plain forms: no JavaScript). The step workflow itself is Reports::updateComplaint.
#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/complaints.hpp"
#include "loyalty/hq/dashboard_access.hpp"
#include "loyalty/hq/dashboard_forms.hpp"
#include "loyalty/hq/followups.hpp"
#include "loyalty/hq/http_answer.hpp"
#include "loyalty/hq/local_time.hpp"
#include "loyalty/hq/number_format.hpp"
#include "loyalty/hq/page_words.hpp"
#include "loyalty/hq/privacy.hpp"
#include "loyalty/hq/service.hpp"
#include "loyalty/hq/templates.hpp"
#include "loyalty/hq/web_text.hpp"
#include "loyalty/sync/codec.hpp"

namespace loyalty::hq {

using nlohmann::json;

namespace {

// [SECTION] Words of the complaint pages (zh-CN / en)

using Word = PageWord;
constexpr Word kWords[] = {
    {"list", "Complaints", "投诉列表"},
    {"filed", "Filed", "登记时间"},
    {"store", "Store", "门店"},
    {"category", "Category", "类别"},
    {"description", "Description", "投诉内容"},
    {"customer", "Customer", "顾客"},
    {"no_member", "not a member / not given", "非会员或未登记"},
    {"step", "Step", "处理步骤"},
    {"owner", "Owner", "负责人"},
    {"unassigned", "Unassigned", "未分配"},
    {"due", "Due", "截止时间"},
    {"due_day", "Due date", "截止日期"},
    {"overdue", "Overdue", "已逾期"},
    {"overdue_only", "Overdue only", "仅看逾期"},
    {"open", "Open", "处理中"},
    {"any", "All", "全部"},
    {"filter", "Show", "查询"},
    {"shown", "showing", "显示"},
    {"of", "of", "条，共"},
    {"previous", "Previous", "上一页"},
    {"next", "Next", "下一页"},
    {"none", "No complaints.", "暂无投诉。"},
    {"details", "Details", "详情"},
    {"history", "History", "处理记录"},
    {"at", "Time", "时间"},
    {"actor", "Who", "操作人"},
    {"change", "Step", "步骤变化"},
    {"note", "Note", "备注"},
    {"save", "Save", "保存"},
    {"edit", "Next step, owner, due date, note", "下一步、负责人、截止日期、备注"},
    {"keep_step", "(stay at this step)", "（保持当前步骤）"},
    {"closed", "Closed: this complaint is read-only.", "已结案：此投诉只读。"},
    {"satisfaction", "Satisfaction check", "满意度回访"},
    {"satisfaction_short", "Satisfaction", "满意度"},
    {"score", "Score (1–5)", "评分（1–5）"},
    {"record", "Record", "记录"},
    {"check_after_close", "Ask the customer once the complaint is closed.", "结案后请回访顾客并记录满意度。"},
    {"by_store", "Handling by store", "各门店处理情况"},
    {"complaints", "Complaints", "投诉数"},
    {"resolved", "Resolved", "已解决"},
    {"handling_hours", "Average handling time (h)", "平均处理时长（小时）"},
    {"overdue_rate", "Overdue rate %", "逾期率 %"},
    {"checks", "Satisfaction checks", "满意度回访数"},
    {"average_satisfaction", "Average satisfaction", "平均满意度"},
    {"total", "Total", "合计"},
    {"back", "Back to the list", "返回列表"},
    {"times_local", "Times are the store's local time.", "时间均为门店当地时间。"},
    {"export", "Export", "导出"},
    {"cat_service", "Service", "服务"},
    {"cat_product", "Product", "商品"},
    {"cat_price", "Price", "价格"},
    {"cat_points", "Points", "积分"},
    {"cat_waiting", "Waiting", "等候"},
    {"cat_other", "Other", "其他"},
    {"cat_billing", "Billing", "结账"},
    {"refused_closed", "This complaint is closed and can no longer be changed.", "此投诉已结案，不能再修改。"},
    {"refused_step", "This complaint is at step “%1”; it can only move to the next step (%2).",
     "此投诉当前处于“%1”步骤，只能进入下一步（%2）。"},
    {"refused_last", "This complaint is at the last step “%1”.", "此投诉已处于最后一步“%1”。"},
    {"refused_owner", "The owner must be one of head office's users.", "负责人必须是总部的用户。"},
    {"refused_due", "The due date is a date such as 2026-12-24.", "截止日期须为日期，例如 2026-12-24。"},
    {"refused_score", "The score is a whole number from 1 to 5.", "评分须为 1 到 5 的整数。"},
    {"refused_not_closed", "The satisfaction check follows the closing of the complaint (step “%1”).",
     "满意度回访须在投诉结案（“%1”步骤）之后进行。"},
    {"refused_checked", "The satisfaction check of this complaint is already recorded.", "此投诉的满意度回访已记录。"},
    {"refused_unknown", "There is no such complaint.", "没有这条投诉。"},
    {"refused", "Refused:", "请求被拒绝："},
};

std::string word(const std::string& lang, const std::string& key) { return pageWord(kWords, lang, key); }

json words(const std::string& lang) { return pageWords(kWords, lang); }

std::string subst(std::string text, const std::string& a, const std::string& b = "") {
  if (auto i = text.find("%1"); i != std::string::npos) text.replace(i, 2, a);
  if (auto i = text.find("%2"); i != std::string::npos) text.replace(i, 2, b);
  return text;
}

/// A category as the counter records it, in the page's language (unknown ones as they are).
std::string categoryWord(const std::string& lang, const std::string& category) {
  const std::string key = "cat_" + category;
  const std::string w = word(lang, key);
  return w == key ? category : w;
}

/// A number with two decimals, or "—" when there is none.
std::string shown(const json& v) {
  if (!v.is_number()) return "—";
  char out[32];
  std::snprintf(out, sizeof out, "%.2f", v.get<double>());
  return out;
}

std::function<std::optional<std::string>(const char*)> paramsOf(const httplib::Request& req) {
  return [&req](const char* k) { return forms::param(req, k); };
}

/// The complaints report for the request's from/to/store (counter complaints brought in first).
Result<json> reportFor(HqService& service, const httplib::Request& req) {
  httplib::Request r2;
  for (const char* k : {"from", "to", "store"}) {
    if (!req.get_param_value(k).empty()) r2.params.emplace(k, req.get_param_value(k));
  }
  auto call = forms::parseCall("complaints", r2);
  if (!call) return call.error();
  return service.report(*call);
}

/// The list's query string without paging (filters kept across links, forms and saving).
std::string filterQuery(const httplib::Request& req) {
  std::string q;
  for (const char* k : {"from", "to", "store", "step", "owner", "overdue"}) {
    if (!req.get_param_value(k).empty()) q += (q.empty() ? "" : "&") + std::string(k) + "=" + urlEncode(req.get_param_value(k));
  }
  return q;
}

std::vector<std::string> headOfficeUsers(HqService& service) {
  return service.onReader([](SqlConnection& c) { return followupOwners(c); });
}

// [SECTION] Pages

/// /dashboard/complaints: filters, figures, handling per store and a page of the list.
Result<json> listPage(HqService& service, DashboardAccess& access, const DashboardViewer& who, const httplib::Request& req) {
  const std::string lang = access.language(req);
  json view = access.frame(req, who, lang, "/dashboard/complaints", "complaints");
  auto f = parseComplaintListFilter(paramsOf(req));
  if (!f) return f.error();
  if (!req.has_param("limit")) f->limit = 50;
  // The handling per store a page of kStoresPage stores at a time (`stores_offset`); the total
  // row every store's.
  constexpr std::int64_t kStoresPage = 100;
  auto storesOffset = wholeNumber(forms::param(req, "stores_offset"), "stores_offset", 0, 0, 100000000);
  if (!storesOffset) return storesOffset.error();
  auto report = reportFor(service, req);
  if (!report) return report.error();
  const Timestamp now = nowSeconds();
  json list = service.onReader([&](SqlConnection& c) { return complaintList(c, *report, *f); });
  const json handling = service.onReader([&](SqlConnection& c) { return complaintHandling(c, *report, now); });
  if (const std::int64_t records = protectPersonalData(list, who.seesAll()); records > 0) {
    service.auditAccess(who.actor(), audit::kMembersExport, "complaints", records);
  }
  const json& t = view["t"];
  StoreTimes times(service);
  const std::string query = filterQuery(req);
  const std::string back = "/dashboard/complaints" + (query.empty() ? "" : "?" + query);
  json rows = json::array();
  for (const auto& r : list["rows"]) {
    const std::string id = jsonText(r["complaint_id"]), step = jsonText(r["step"]);
    const bool member = r["member_id"].is_string();
    const auto& all = complaintSteps();
    const auto at = std::find(all.begin(), all.end(), step);
    const json next = at != all.end() && at + 1 != all.end() ? json{{"value", *(at + 1)}, {"label", t.value(*(at + 1), *(at + 1))}} : json(false);
    rows.push_back({{"complaint_id", id}, {"detail_path", urlEncode(id) + (query.empty() ? "" : "?" + query)},
                    {"id_path", urlEncode(id)}, {"next_step", next}, {"back", back},
                    {"filed", times.local(r["store"], r["filed_at"])}, {"store", jsonText(r["store"])},
                    {"category", categoryWord(lang, jsonText(r["category"]))}, {"description", jsonText(r["description"])},
                    {"member", member}, {"member_path", urlEncode(jsonText(r["member_id"]))},
                    {"customer", member ? (r["name"].is_string() ? jsonText(r["name"]) : jsonText(r["member_id"])) : word(lang, "no_member")},
                    {"card_no", jsonText(r["card_no"])}, {"step", step}, {"step_label", t.value(step, step)},
                    {"owner", r["owner"].is_string() ? jsonText(r["owner"]) : word(lang, "unassigned")},
                    {"due", times.local(r["store"], r["due_at"])}, {"late", r["overdue"].get<bool>()},
                    {"closed", r["closed"].get<bool>()},
                    {"satisfaction", r["satisfaction"].is_number() ? jsonText(r["satisfaction"]) : "—"}});
  }
  json steps = json::array(), owners = json::array();
  const std::string step = req.get_param_value("step"), owner = req.get_param_value("owner");
  steps.push_back({{"value", ""}, {"label", word(lang, "any")}, {"selected", step.empty()}});
  steps.push_back({{"value", "open"}, {"label", word(lang, "open")}, {"selected", step == "open"}});
  std::map<std::string, std::int64_t> byStep;
  for (const auto& s : (*report)["steps"]) byStep[jsonText(s["step"])] = s["complaints"].get<std::int64_t>();
  for (const auto& s : complaintSteps()) {
    steps.push_back({{"value", s}, {"label", t.value(s, s) + " (" + shownNumber(byStep[s]) + ")"}, {"selected", step == s}});
  }
  owners.push_back({{"value", ""}, {"label", word(lang, "any")}, {"selected", owner.empty()}});
  owners.push_back({{"value", "-"}, {"label", word(lang, "unassigned")}, {"selected", owner == "-"}});
  for (const auto& u : headOfficeUsers(service)) owners.push_back({{"value", u}, {"label", u}, {"selected", owner == u}});
  json stores = json::array();
  std::int64_t storeAt = 0;
  for (const auto& s : handling["stores"]) {
    if (storeAt++ < *storesOffset || storeAt > *storesOffset + kStoresPage) continue;
    stores.push_back({{"store", s["store"].is_string() ? jsonText(s["store"]) : "—"}, {"complaints", shownNumber(s["complaints"])}, {"resolved", shownNumber(s["resolved"])},
                      {"hours", shown(s["average_handling_hours"])}, {"overdue", shownNumber(s["overdue"])}, {"rate", shown(s["overdue_rate"])},
                      {"checks", shownNumber(s["satisfaction_checks"])}, {"satisfaction", shown(s["average_satisfaction"])}});
  }
  const json& tot = handling["total"];
  const auto kpi = [&](const char* key, const std::string& value) { return json{{"label", word(lang, key)}, {"key", key}, {"value", value}}; };
  json totalKpi = kpi("complaints", shownNumber((*report)["total"]));
  totalKpi["key"] = "total";  // the report's name for it
  view["kpis"] = json::array({totalKpi, kpi("open", shownNumber((*report)["open"])),
                              kpi("overdue", shownNumber((*report)["overdue"])), kpi("handling_hours", shown(tot["average_handling_hours"])),
                              kpi("overdue_rate", shown(tot["overdue_rate"])), kpi("average_satisfaction", shown(tot["average_satisfaction"]))});
  const std::int64_t total = list["total"].get<std::int64_t>(), offset = f->offset, limit = f->limit;
  // Each list's links keep the other's page.
  const std::string onList = offset == 0 ? "" : "&offset=" + std::to_string(offset);
  const std::string onStores = *storesOffset == 0 ? "" : "&stores_offset=" + std::to_string(*storesOffset);
  const auto page = [&](std::int64_t off) {
    return "/dashboard/complaints?" + query + (query.empty() ? "" : "&") + "offset=" + std::to_string(off) + onStores;
  };
  view["c"] = words(lang);
  view["own_filter"] = true;
  view["lang"] = lang;
  view["sel"] = {{"from", req.get_param_value("from")}, {"to", req.get_param_value("to")}, {"store", req.get_param_value("store")},
                 {"overdue", f->overdueOnly}};
  view["steps"] = std::move(steps);
  view["owners"] = std::move(owners);
  view["rows"] = std::move(rows);
  view["empty"] = total == 0;
  const json links = pageLinks(page, offset, static_cast<std::int64_t>(list["rows"].size()), total, limit);
  for (const char* k : {"first", "last", "total"}) view[k] = links[k];
  view["prev_href"] = links["prev"];
  view["next_href"] = links["next"];
  view["stores_page"] = pageLinks(
      [&](std::int64_t off) {
        return "/dashboard/complaints?" + query + (query.empty() ? "" : "&") + "stores_offset=" + std::to_string(off) + onList + "#by-store";
      },
      *storesOffset, static_cast<std::int64_t>(stores.size()), storeAt, kStoresPage);
  view["stores"] = std::move(stores);
  view["total_row"] = {{"complaints", shownNumber(tot["complaints"])}, {"resolved", shownNumber(tot["resolved"])},
                       {"hours", shown(tot["average_handling_hours"])}, {"overdue", shownNumber(tot["overdue"])}, {"rate", shown(tot["overdue_rate"])},
                       {"checks", shownNumber(tot["satisfaction_checks"])},
                       {"satisfaction", shown(tot["average_satisfaction"])}};
  std::string exportQuery;
  for (const char* k : {"from", "to", "store"}) {
    if (!req.get_param_value(k).empty()) exportQuery += (exportQuery.empty() ? "?" : "&") + std::string(k) + "=" + urlEncode(req.get_param_value(k));
  }
  view["exports"] = json::array({{{"report", "complaints"}, {"query", exportQuery}, {"label", false}}});
  return view;
}

/// /dashboard/complaints/{id}: the complaint, its history, the form (while open) and the
/// satisfaction check (once closed).
Result<json> detailPage(HqService& service, DashboardAccess& access, const DashboardViewer& who, const httplib::Request& req,
                        const std::string& id) {
  const std::string lang = access.language(req);
  json view = access.frame(req, who, lang, "/dashboard/complaints", "complaints");
  auto one = service.complaint(id);
  if (!one) return one.error();
  const json& c = *one;
  const json& t = view["t"];
  StoreTimes times(service);
  const std::string step = jsonText(c["step"]);
  const auto& all = complaintSteps();
  const auto at = std::find(all.begin(), all.end(), step);
  const bool closed = step == kComplaintClosedStep;
  json member = false;
  if (c["member_id"].is_string()) {
    const std::string mid = c["member_id"].get<std::string>();
    const auto m = service.onReader([&](SqlConnection& conn) { return conn.query("SELECT name, card_no FROM members WHERE member_id = $1", {mid}); });
    member = {{"member_path", urlEncode(mid)}, {"member_id", mid}, {"name", m.empty() ? mid : m.text(0, 0)}, {"card_no", m.empty() ? "" : m.text(0, 1)}};
    service.auditAccess(who.actor(), audit::kMemberRead, mid, std::nullopt);
  }
  json history = json::array();
  for (const auto& h : c["history"]) {
    const std::string from = jsonText(h["from_step"]), to = jsonText(h["to_step"]);
    history.push_back({{"at", times.local(c["store"], h["at"])}, {"actor", jsonText(h["actor"])},
                       {"change", from.empty() ? t.value(to, to) : from == to ? t.value(to, to) : t.value(from, from) + " → " + t.value(to, to)},
                       {"owner", jsonText(h["owner"])}, {"due", times.local(c["store"], h["due_at"])}, {"note", jsonText(h["note"])}});
  }
  json steps = json::array();
  steps.push_back({{"value", ""}, {"label", t.value(step, step) + " " + word(lang, "keep_step")}});
  if (!closed && at != all.end() && at + 1 != all.end()) steps.push_back({{"value", *(at + 1)}, {"label", t.value(*(at + 1), *(at + 1))}});
  json owners = json::array();
  const std::string owner = jsonText(c["owner"]);
  owners.push_back({{"value", ""}, {"label", owner.empty() ? word(lang, "unassigned") : owner}, {"selected", true}});
  for (const auto& u : headOfficeUsers(service)) {
    if (u != owner) owners.push_back({{"value", u}, {"label", u}, {"selected", false}});
  }
  const json check = service.onReader([&](SqlConnection& conn) { return complaintSatisfaction(conn, id); });
  const std::string query = filterQuery(req);
  const std::string back = "/dashboard/complaints" + (query.empty() ? "" : "?" + query);
  bool late = false;
  if (!closed && c["due_at"].is_string()) {
    const auto due = parseRfc3339(jsonText(c["due_at"]), "due");
    late = due && *due < nowSeconds();
  }
  view["c"] = words(lang);
  view["own_filter"] = true;
  view["item"] = {{"complaint_id", id}, {"complaint_path", urlEncode(id)}, {"filed", times.local(c["store"], c["filed_at"])},
                  {"store", jsonText(c["store"])}, {"category", categoryWord(lang, jsonText(c["category"]))}, {"description", jsonText(c["description"])},
                  {"step_label", t.value(step, step)}, {"owner", owner.empty() ? word(lang, "unassigned") : owner},
                  {"due", times.local(c["store"], c["due_at"])}, {"late", late}, {"source", jsonText(c["source"])}};
  view["member"] = std::move(member);
  view["history"] = std::move(history);
  view["open"] = !closed;
  view["closed"] = closed;
  view["steps"] = std::move(steps);
  view["owners"] = std::move(owners);
  view["check"] = check.is_null() ? json(false)
                                  : json{{"score", check["score"]}, {"note", jsonText(check["note"])}, {"actor", jsonText(check["actor"])},
                                         {"at", times.local(c["store"], check["at"])}};
  view["ask_check"] = closed && check.is_null();
  view["back"] = back;
  view["zone"] = times.zoneName(c["store"]);
  return view;
}

/// A refused change in the page's language (the API's detail kept below for the record).
void refusedPage(DashboardAccess& access, const DashboardViewer& who, const httplib::Request& req, httplib::Response& res,
                 const Error& e, const std::string& message) {
  const HttpProblem refused = problemFor(e);
  const std::string lang = access.language(req);
  json view = access.frame(req, who, lang, "/dashboard/complaints", "complaints");
  view["message"] = message.empty() ? word(lang, "refused") + " " + refused.detail : message;
  access.html(res, renderTemplate("error", view), refused.status);
}

/// What the form asks for, checked with the page's words (`t`: the catalogue's, for the step
/// names) before the workflow sees it.
std::optional<std::string> localRefusal(const std::string& lang, const json& t, const json& current, const ComplaintUpdate& u) {
  const std::string step = jsonText(current["step"]);
  const auto& all = complaintSteps();
  const auto at = std::find(all.begin(), all.end(), step);
  const auto label = [&](const std::string& s) { return t.value(s, s); };
  if (step == kComplaintClosedStep) return word(lang, "refused_closed");
  if (u.step && *u.step != step && (at == all.end() || at + 1 == all.end() || *(at + 1) != *u.step)) {
    if (at != all.end() && at + 1 != all.end()) return subst(word(lang, "refused_step"), label(step), label(*(at + 1)));
    return subst(word(lang, "refused_last"), label(step));
  }
  return std::nullopt;
}

}  // namespace

void registerComplaintRoutes(httplib::Server& s, HqService& service, DashboardAccess access) {
  // [SECTION] API
  s.Get("/api/v1/reports/complaint-handling", [&service, access](const httplib::Request& req, httplib::Response& res) {
    if (!access.api(req, res)) return;
    auto report = reportFor(service, req);
    if (!report) return sendError(res, report.error());
    sendJson(res, service.onReader([&](SqlConnection& c) { return complaintHandling(c, *report, nowSeconds()); }));
  });

  s.Get("/api/v1/complaints", [&service, access](const httplib::Request& req, httplib::Response& res) {
    auto who = access.api(req, res);
    if (!who) return;
    auto f = parseComplaintListFilter(paramsOf(req));
    if (!f) return sendError(res, f.error());
    auto report = reportFor(service, req);
    if (!report) return sendError(res, report.error());
    json out = service.onReader([&](SqlConnection& c) { return complaintList(c, *report, *f); });
    if (const std::int64_t records = protectPersonalData(out, who->seesAll()); records > 0) {
      service.auditAccess(who->actor(), audit::kMembersExport, "complaints", records);
    }
    sendJson(res, out);
  });

  s.Post(R"(/api/v1/complaints/([^/]+)/satisfaction)", [&service, access](const httplib::Request& req, httplib::Response& res) {
    auto who = access.api(req, res);
    if (!who) return;
    auto body = requestObject(req.body);
    if (!body) return sendError(res, body.error());
    const json& b = *body;
    if (!b.contains("score") || !b["score"].is_number_integer()) return sendError(res, invalidArgument("score", "score is a whole number from 1 to 5"));
    std::optional<std::string> note;
    if (b.contains("note") && !b["note"].is_null()) {
      if (!b["note"].is_string()) return sendError(res, invalidArgument("note", "note must be a string"));
      note = b["note"].get<std::string>();
    }
    auto out = service.onWriter([&](SqlConnection& c) {
      return recordComplaintSatisfaction(c, req.matches[1].str(), b["score"].get<std::int64_t>(), note, who->actor(), nowSeconds());
    });
    if (!out) return sendError(res, out.error());
    sendJson(res, *out, 201);
  });

  // [SECTION] Dashboard pages and forms (a form's CSRF token is checked by access.api)
  s.Get("/dashboard/complaints", [&service, access](const httplib::Request& req, httplib::Response& res) mutable {
    auto who = access.session(req);
    if (!who) return access.signIn(req, res);
    if (req.has_param("lang")) res.set_header("Set-Cookie", "lhq_lang=" + access.language(req) + "; Path=/dashboard; Secure; SameSite=Strict");
    auto view = listPage(service, access, *who, req);
    if (!view) return refusedPage(access, *who, req, res, view.error(), "");
    access.html(res, renderTemplate("complaints", *view), 200);
  });

  s.Post(R"(/dashboard/complaints/(.+)/satisfaction)", [&service, access](const httplib::Request& req, httplib::Response& res) mutable {
    auto who = access.session(req);
    if (!who) return seeOther(res, "/dashboard/login");
    if (!access.api(req, res)) return;  // the form's CSRF token
    const std::string id = req.matches[1].str(), lang = access.language(req);
    const std::string score = req.get_param_value("score");
    if (score.size() != 1 || score[0] < '1' || score[0] > '5') {
      return refusedPage(access, *who, req, res, invalidArgument("score", "score is a whole number from 1 to 5"), word(lang, "refused_score"));
    }
    const std::string noteText = req.get_param_value("note");
    const std::optional<std::string> note = noteText.empty() ? std::nullopt : std::optional<std::string>(noteText);
    auto out = service.onWriter(
        [&](SqlConnection& c) { return recordComplaintSatisfaction(c, id, score[0] - '0', note, who->actor(), nowSeconds()); });
    if (!out) {
      std::string message;
      if (out.error().code == errc::kNotFound) message = word(lang, "refused_unknown");
      else if (out.error().field == "step") {
        const json t = access.frame(req, *who, lang, "/dashboard/complaints", "complaints")["t"];
        message = subst(word(lang, "refused_not_closed"), t.value(kComplaintClosedStep, kComplaintClosedStep));
      }
      else if (out.error().code == errc::kConflict) message = word(lang, "refused_checked");
      return refusedPage(access, *who, req, res, out.error(), message);
    }
    seeOther(res, "/dashboard/complaints/" + urlEncode(id));
  });

  s.Get(R"(/dashboard/complaints/(.+))", [&service, access](const httplib::Request& req, httplib::Response& res) mutable {
    auto who = access.session(req);
    if (!who) return access.signIn(req, res);
    auto view = detailPage(service, access, *who, req, req.matches[1].str());
    if (!view) {
      const std::string lang = access.language(req);
      return refusedPage(access, *who, req, res, view.error(), view.error().code == errc::kNotFound ? word(lang, "refused_unknown") : "");
    }
    access.html(res, renderTemplate("complaint", *view), 200);
  });

  s.Post(R"(/dashboard/complaints/(.+))", [&service, access](const httplib::Request& req, httplib::Response& res) mutable {
    auto who = access.session(req);
    if (!who) return seeOther(res, "/dashboard/login");
    if (!access.api(req, res)) return;  // the form's CSRF token
    const std::string id = req.matches[1].str(), lang = access.language(req);
    ComplaintUpdate u = forms::complaintUpdate(req);
    if (u.owner) {
      const auto users = headOfficeUsers(service);
      if (std::find(users.begin(), users.end(), *u.owner) == users.end()) {
        return refusedPage(access, *who, req, res, invalidArgument("owner", "owner is one of head office's users"), word(lang, "refused_owner"));
      }
    }
    auto current = service.complaint(id);
    if (!current) {
      return refusedPage(access, *who, req, res, current.error(),
                         current.error().code == errc::kNotFound ? word(lang, "refused_unknown") : "");
    }
    // A due date picked as a day: the end of that day in the store's time.
    if (const std::string day = req.get_param_value("due_day"); !day.empty()) {
      const auto d = parseDate(day, "due_day");
      if (!d) return refusedPage(access, *who, req, res, d.error(), word(lang, "refused_due"));
      StoreTimes times(service);
      u.due = formatRfc3339(endOfLocalDay(times.zone((*current)["store"]), *d));
    }
    const json t = access.frame(req, *who, lang, "/dashboard/complaints", "complaints")["t"];
    if (auto refusal = localRefusal(lang, t, *current, u)) {
      const Error e = jsonText((*current)["step"]) == kComplaintClosedStep
                          ? Error{errc::kConflict, "step", "complaint " + id + " is closed"}
                          : Error{errc::kConflict, "step", "complaint " + id + " is at step " + jsonText((*current)["step"])};
      return refusedPage(access, *who, req, res, e, *refusal);
    }
    auto out = service.updateComplaint(id, u, who->name);
    if (!out) return refusedPage(access, *who, req, res, out.error(), "");
    // Back to the list as it was filtered; anywhere else is not a way back.
    const std::string back = forms::safeNext(req.get_param_value("back"));
    seeOther(res, back.rfind("/dashboard/complaints", 0) == 0 ? back : "/dashboard/complaints");
  });
}

}  // namespace loyalty::hq
