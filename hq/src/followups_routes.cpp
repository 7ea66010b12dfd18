// Follow-up visits over HTTPS: the API (docs/hq-api.md, "Follow-up visits") and the dashboard's
// /dashboard/followups pages (server-rendered, zh-CN and en, plain forms: no JavaScript).
#include <httplib.h>

#include <algorithm>
#include <thread>

#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/dashboard_access.hpp"
#include "loyalty/hq/dashboard_forms.hpp"
#include "loyalty/hq/export.hpp"
#include "loyalty/hq/followups.hpp"
#include "loyalty/hq/http_answer.hpp"
#include "loyalty/hq/number_format.hpp"
#include "loyalty/hq/page_words.hpp"
#include "loyalty/hq/privacy.hpp"
#include "loyalty/hq/service.hpp"
#include "loyalty/hq/settings.hpp"
#include "loyalty/hq/templates.hpp"
#include "loyalty/hq/web_text.hpp"
#include "loyalty/sync/codec.hpp"

namespace loyalty::hq {

using nlohmann::json;

namespace {

// [SECTION] Words of the follow-up pages (zh-CN / en)

using Word = PageWord;
constexpr Word kWords[] = {
    {"list", "Follow-up visits", "回访任务"},
    {"status", "Status", "状态"},
    {"any", "All", "全部"},
    {"due", "Due", "待回访"},
    {"overdue", "Overdue", "已逾期"},
    {"done", "Done", "已完成"},
    {"owner", "Owner", "负责人"},
    {"unassigned", "Unassigned", "未分配"},
    {"member", "Member", "会员"},
    {"name", "Name", "姓名"},
    {"card_no", "Card", "卡号"},
    {"phone", "Phone", "手机号"},
    {"store", "Store", "门店"},
    {"class", "Class", "等级"},
    {"due_day", "Due", "截止日期"},
    {"channel", "Channel", "方式"},
    {"contacts", "Contacts", "联系次数"},
    {"last_outcome", "Last outcome", "最近结果"},
    {"log_contact", "Log contact", "登记联系"},
    {"phone_ch", "Phone", "电话"},
    {"visit", "Visit", "上门拜访"},
    {"sms", "SMS", "短信"},
    {"wechat", "WeChat", "微信"},
    {"outcome", "Outcome", "结果"},
    {"reached", "Reached", "已联系上"},
    {"visited", "Visited", "已拜访"},
    {"no_answer", "No answer", "无人接听"},
    {"call_back", "Call back later", "约定再联系"},
    {"declined", "Declined contact", "拒绝回访"},
    {"notes", "Notes", "备注"},
    {"next_due", "Next contact", "下次回访日期"},
    {"save", "Save", "保存"},
    {"filter", "Show", "查询"},
    {"as_of", "As of", "截至"},
    {"shown", "showing", "显示"},
    {"of", "of", "条，共"},
    {"planned", "Planned", "计划回访"},
    {"completion_rate", "Completion rate %", "完成率 %"},
    {"by_store", "Completion by store", "各门店完成率"},
    {"by_owner", "Completion by owner", "各负责人完成率"},
    {"open", "Not yet due", "未到期"},
    {"plan", "Plan a month", "生成月度回访计划"},
    {"month", "Month", "月份"},
    {"plan_button", "Plan", "生成计划"},
    {"assign", "Assign a store's open follow-ups", "分配门店待回访任务"},
    {"assign_button", "Assign", "分配"},
    {"rules", "Visits a month per class", "各等级每月回访次数"},
    {"visits", "Visits a month", "每月次数"},
    {"first_week", "first in the first week", "首次在每月第一周"},
    {"contact_log", "Contact log", "联系记录"},
    {"at", "Time (store's local time)", "时间（门店当地时间）"},
    {"actor", "Who", "操作人"},
    {"back", "Back to the list", "返回列表"},
    {"export", "Export (CSV)", "导出（CSV）"},
    {"masked", "Phone numbers are masked: this account is not granted personal data.", "手机号已隐藏：此账号未获个人信息权限。"},
    {"none", "No follow-ups.", "暂无回访任务。"},
    {"followup", "Follow-up", "回访编号"},
    {"member_id", "Member ID", "会员编号"},
};

std::string word(const std::string& lang, const std::string& key) { return pageWord(kWords, lang, key); }

json words(const std::string& lang) { return pageWords(kWords, lang); }

/// A channel's label ("phone" is also a column's name: its channel word is phone_ch).
std::string channelWord(const std::string& lang, const std::string& channel) {
  return word(lang, channel == "phone" ? "phone_ch" : channel);
}

/// A completion rate as shown: "—" when nothing was due yet.
std::string rate(const json& v) { return v.is_null() ? "—" : jsonText(v); }

/// The request's parameters as followups.hpp reads them.
std::function<std::optional<std::string>(const char*)> paramsOf(const httplib::Request& req) {
  return [&req](const char* k) { return forms::param(req, k); };
}

std::string today() { return formatRfc3339(nowSeconds()).substr(0, 10); }

std::string firstOfThisMonth() { return today().substr(0, 8) + "01"; }

/// The end of the month of `day` (YYYY-MM-DD).
std::string endOfMonth(const std::string& day) {
  const std::string month = day.substr(0, 7);
  for (int d = 31; d >= 28; --d) {
    const std::string s = month + "-" + std::to_string(d);
    if (parseDate(s, "day")) return s;
  }
  return month + "-28";
}

/// The list as `who` may see it: phones masked unless granted, and the read of members'
/// personal data audited with how many records it showed.
void showTo(HqService& service, const DashboardViewer& who, json& body, const std::string& subject) {
  if (const std::int64_t records = protectPersonalData(body, who.seesAll()); records > 0) {
    service.auditAccess(who.actor(), audit::kMembersExport, subject, records);
  }
}

std::optional<std::string> optString(const json& b, const char* k) {
  if (!b.contains(k) || b[k].is_null() || !b[k].is_string()) return std::nullopt;
  return b[k].get<std::string>();
}

// [SECTION] Pages

/// The list page's query string without paging (filters kept across links and forms).
std::string filterQuery(const httplib::Request& req) {
  std::string q;
  for (const char* k : {"from", "to", "store", "status", "owner", "as_of"}) {
    if (!req.get_param_value(k).empty()) q += (q.empty() ? "" : "&") + std::string(k) + "=" + urlEncode(req.get_param_value(k));
  }
  return q;
}

/// /dashboard/followups: the list with its filters, completion rates, and (admins) plan and
/// assignment forms. The range defaults to this month.
Result<json> listPage(HqService& service, DashboardAccess& access, const DashboardViewer& who, const httplib::Request& req) {
  const std::string lang = access.language(req);
  json view = access.frame(req, who, lang, "/dashboard/followups", "followups");
  auto params = paramsOf(req);
  const auto withMonth = [&](const char* k) -> std::optional<std::string> {
    if (params("from") || params("to")) return params(k);
    if (std::string(k) == "from") return firstOfThisMonth();
    if (std::string(k) == "to") return endOfMonth(today());
    return params(k);
  };
  auto f = parseFollowupFilter(withMonth, today());
  if (!f) return f.error();
  if (!req.has_param("limit")) f->limit = 200;
  json list = service.onReader([&](SqlConnection& c) { return listFollowups(c, *f); });
  showTo(service, who, list, "followups");
  FollowupFilter all = *f;
  all.status.reset();
  all.owner.reset();
  const json done = service.onReader([&](SqlConnection& c) { return followupCompletion(c, all); });
  const std::vector<std::string> owners = service.onReader([](SqlConnection& c) { return followupOwners(c); });
  const auto rules = service.onReader([](SqlConnection& c) { return visitRules(c); });

  const std::string query = filterQuery(req);
  json rows = json::array();
  for (const auto& r : list["followups"]) {
    const std::string id = jsonText(r["followup_id"]), member = jsonText(r["member_id"]), status = jsonText(r["status"]);
    rows.push_back({{"followup_path", urlEncode(id) + (query.empty() ? "" : "?" + query)}, {"member_path", urlEncode(member)},
                    {"member_id", member}, {"name", jsonText(r["name"])}, {"card_no", jsonText(r["card_no"])}, {"phone", jsonText(r["phone"])},
                    {"store", jsonText(r["store"])}, {"class", jsonText(r["class"])}, {"due", jsonText(r["due"])},
                    {"channel", channelWord(lang, jsonText(r["channel"]))}, {"owner", jsonText(r["assigned_to"])},
                    {"status", status}, {"status_label", word(lang, status)}, {"late", status == "overdue"},
                    {"action", word(lang, status == "done" ? "contact_log" : "log_contact")},
                    {"contacts", shownNumber(r["contacts"])}, {"last_outcome", word(lang, jsonText(r["last_outcome"]))}});
  }
  const auto rateRows = [&](const json& in, const char* key) {
    json out = json::array();
    for (const auto& r : in) {
      out.push_back({{"key", r[key].is_null() ? word(lang, "unassigned") : jsonText(r[key])}, {"planned", shownNumber(r["planned"])}, {"done", shownNumber(r["done"])},
                     {"overdue", shownNumber(r["overdue"])}, {"open", shownNumber(r["open"])}, {"rate", rate(r["completion_rate"])}});
    }
    return out;
  };
  json statuses = json::array(), ownerOptions = json::array();
  for (const char* s : {"", "due", "overdue", "done"}) {
    statuses.push_back({{"value", s}, {"label", word(lang, *s ? s : "any")}, {"selected", req.get_param_value("status") == s}});
  }
  const std::string owner = req.get_param_value("owner");
  ownerOptions.push_back({{"value", ""}, {"label", word(lang, "any")}, {"selected", owner.empty()}});
  ownerOptions.push_back({{"value", "-"}, {"label", word(lang, "unassigned")}, {"selected", owner == "-"}});
  json assignees = json::array();
  for (const auto& o : owners) {
    ownerOptions.push_back({{"value", o}, {"label", o}, {"selected", owner == o}});
    assignees.push_back({{"value", o}});
  }
  json ruleRows = json::array();
  for (const auto& r : rules) {
    ruleRows.push_back({{"class", r.cls}, {"visits", r.visitsPerMonth}, {"channel", channelWord(lang, r.channel)}, {"first_week", r.firstWeek}});
  }
  const auto& t = done["total"];
  view["f"] = words(lang);
  view["own_filter"] = true;
  view["kpis"] = json::array({{{"label", word(lang, "planned")}, {"key", "planned"}, {"value", shownNumber(t["planned"])}},
                              {{"label", word(lang, "done")}, {"key", "done"}, {"value", shownNumber(t["done"])}},
                              {{"label", word(lang, "overdue")}, {"key", "overdue"}, {"value", shownNumber(t["overdue"])}},
                              {{"label", word(lang, "completion_rate")}, {"key", "completion_rate"}, {"value", rate(t["completion_rate"])}}});
  view["lang"] = lang;
  view["sel"] = {{"from", withMonth("from").value_or("")}, {"to", withMonth("to").value_or("")}, {"store", req.get_param_value("store")}, {"as_of", f->asOf}};
  view["statuses"] = std::move(statuses);
  view["owners"] = std::move(ownerOptions);
  view["assignees"] = std::move(assignees);
  view["rows"] = std::move(rows);
  view["empty"] = list["followups"].empty();
  view["shown"] = list["followups"].size();
  view["total"] = list["total"];
  view["masked"] = !who.seesAll();
  view["by_store"] = rateRows(done["by_store"], "store");
  view["by_owner"] = rateRows(done["by_owner"], "owner");
  view["rules"] = std::move(ruleRows);
  view["admin"] = who.role == Role::kAdmin;
  view["this_month"] = today().substr(0, 7);
  // The export is of the list the page shows, its range included (this month when the request
  // names none): all time would soon be over what an export holds.
  std::string shownQuery;
  for (const char* k : {"from", "to", "store", "status", "owner", "as_of"}) {
    if (const auto v = withMonth(k); v && !v->empty()) shownQuery += "&" + std::string(k) + "=" + urlEncode(*v);
  }
  view["export_href"] = "/api/v1/followups/export.csv?lang=" + lang + shownQuery;
  view["back"] = "/dashboard/followups" + (query.empty() ? "" : "?" + query);
  return view;
}

/// /dashboard/followups/{id}: the follow-up, its contact log and the contact form.
Result<json> detailPage(HqService& service, DashboardAccess& access, const DashboardViewer& who, const httplib::Request& req,
                        const std::string& id) {
  const std::string lang = access.language(req);
  json view = access.frame(req, who, lang, "/dashboard/followups", "followups");
  auto one = service.onReader([&](SqlConnection& c) { return followup(c, id, today()); });
  if (!one) return one.error();
  json f = std::move(*one);
  if (protectPersonalData(f, who.seesAll()) > 0) service.auditAccess(who.actor(), audit::kMemberRead, jsonText(f["member_id"]), std::nullopt);
  StoreTimes times(service);
  json log = json::array();
  for (const auto& c : f["contact_log"]) {
    log.push_back({{"at", times.local(f["store"], c["at"])}, {"actor", jsonText(c["actor"])}, {"channel", channelWord(lang, jsonText(c["channel"]))},
                   {"outcome", word(lang, jsonText(c["outcome"]))}, {"notes", jsonText(c["notes"])}, {"next_due", jsonText(c["next_due"])}});
  }
  json channels = json::array(), outcomes = json::array();
  for (const char* ch : {"phone", "visit", "sms", "wechat"}) {
    channels.push_back({{"value", ch}, {"label", channelWord(lang, ch)}, {"selected", jsonText(f["channel"]) == ch}});
  }
  for (const char* o : {"reached", "visited", "no_answer", "call_back", "declined"}) outcomes.push_back({{"value", o}, {"label", word(lang, o)}});
  const std::string query = filterQuery(req), status = jsonText(f["status"]);
  view["f"] = words(lang);
  view["own_filter"] = true;
  view["item"] = {{"followup_id", id}, {"followup_path", urlEncode(id)}, {"member_id", jsonText(f["member_id"])},
                  {"member_path", urlEncode(jsonText(f["member_id"]))}, {"name", jsonText(f["name"])}, {"card_no", jsonText(f["card_no"])},
                  {"phone", jsonText(f["phone"])}, {"store", jsonText(f["store"])}, {"class", jsonText(f["class"])}, {"due", jsonText(f["due"])},
                  {"channel", channelWord(lang, jsonText(f["channel"]))}, {"owner", jsonText(f["assigned_to"])},
                  {"status_label", word(lang, status)}, {"open", status != "done"}};
  view["log"] = std::move(log);
  view["channels"] = std::move(channels);
  view["outcomes"] = std::move(outcomes);
  view["masked"] = !who.seesAll();
  view["back"] = "/dashboard/followups" + (query.empty() ? "" : "?" + query);
  return view;
}

/// A refused form: the error page in the dashboard's frame, with the refusal's status.
void refusedPage(DashboardAccess& access, const DashboardViewer& who, const httplib::Request& req, httplib::Response& res,
                 const Error& e) {
  const HttpProblem refused = problemFor(e);
  json view = access.frame(req, who, access.language(req), "/dashboard/followups", "followups");
  view["message"] = refused.detail;
  access.html(res, renderTemplate("error", view), refused.status);
}

/// The CSV export: readable headers in the page's language, the phone (masked unless granted).
std::string exportCsv(const json& list, const std::string& lang) {
  ExportTable t;
  const std::vector<std::pair<const char*, ColumnType>> cols = {
      {"followup", ColumnType::kText}, {"member_id", ColumnType::kText}, {"name", ColumnType::kText},
      {"card_no", ColumnType::kText},  {"phone", ColumnType::kPhone},    {"store", ColumnType::kText},
      {"class", ColumnType::kText},    {"due_day", ColumnType::kDay},    {"channel", ColumnType::kText},
      {"owner", ColumnType::kText},    {"status", ColumnType::kText},    {"contacts", ColumnType::kInteger},
      {"last_outcome", ColumnType::kText}};
  for (const auto& [k, type] : cols) {
    t.columns.push_back(word(lang, k));
    t.types.push_back(type);
  }
  for (const auto& r : list["followups"]) {
    t.rows.push_back({r["followup_id"], r["member_id"], r["name"], r["card_no"], r["phone"], r["store"], r["class"], r["due"],
                      channelWord(lang, jsonText(r["channel"])), r["assigned_to"], word(lang, jsonText(r["status"])), r["contacts"],
                      r["last_outcome"].is_null() ? json(nullptr) : json(word(lang, jsonText(r["last_outcome"])))});
  }
  return toCsv(t);
}

/// A month's plan: ranked on a connection of the reports', written a page at a time on the
/// writer (uploads take their turns between pages).
Result<json> plan(HqService& service, const std::string& month, const std::string& actor) {
  const ClassesOf classes = [&service](const ReportFilter& basis, std::int64_t page, const std::function<void(const ClassPage&)>& to) {
    service.onReports([&](SqlConnection& c) { Reports(c).abcClasses(basis, page, to); });
  };
  // Tests make each turn on the writer take longer (a plan outlasting the request's deadline).
  const auto pause = testHookMilliseconds("LOYALTY_HQ_TEST_PLAN_TURN_PAUSE_MS");
  const WithConnection writing = [&service, pause](const std::function<void(SqlConnection&)>& fn) {
    service.onWriter(fn);
    if (pause) std::this_thread::sleep_for(*pause);
  };
  return planMonth(classes, writing, month, actor, nowSeconds());
}

}  // namespace

void registerFollowupRoutes(httplib::Server& s, HqService& service, DashboardAccess access) {
  // [SECTION] API
  s.Get("/api/v1/followups", [&service, access](const httplib::Request& req, httplib::Response& res) {
    auto who = access.api(req, res);
    if (!who) return;
    auto f = parseFollowupFilter(paramsOf(req), today());
    if (!f) return sendError(res, f.error());
    json out = service.onReader([&](SqlConnection& c) { return listFollowups(c, *f); });
    showTo(service, *who, out, "followups");
    sendJson(res, out);
  });

  s.Get("/api/v1/followups/completion", [&service, access](const httplib::Request& req, httplib::Response& res) {
    if (!access.api(req, res)) return;
    auto f = parseFollowupFilter(paramsOf(req), today());
    if (!f) return sendError(res, f.error());
    sendJson(res, service.onReader([&](SqlConnection& c) { return followupCompletion(c, *f); }));
  });

  s.Get("/api/v1/followups/export.csv", [&service, access](const httplib::Request& req, httplib::Response& res) {
    auto who = access.api(req, res);
    if (!who) return;
    auto f = parseFollowupFilter(paramsOf(req), today());
    if (!f) return sendError(res, f.error());
    const ExportRows rows(req.has_param("limit"), f->limit);
    json out = service.onReader([&](SqlConnection& c) { return listFollowups(c, *f); });
    if (auto refused = rows.refusal(out["followups"].size())) return sendError(res, *refused);
    protectPersonalData(out, who->seesAll());
    service.auditAccess(who->actor(), audit::kMembersExport, "followups.csv", static_cast<std::int64_t>(out["followups"].size()));
    res.set_header("Content-Disposition", "attachment; filename=\"loyalty-followups.csv\"");
    res.set_header("Cache-Control", "no-store");
    res.set_content(exportCsv(out, forms::param(req, "lang").value_or("en") == "zh" ? "zh" : "en"), "text/csv; charset=utf-8");
  });

  s.Post("/api/v1/followups/plan", [&service, access](const httplib::Request& req, httplib::Response& res) {
    auto who = access.api(req, res);
    if (!who) return;
    if (who->role != Role::kAdmin) return sendError(res, Error{errc::kForbidden, "", "planning follow-ups is for admins"});
    auto body = requestObject(req.body);
    if (!body) return sendError(res, body.error());
    if (!optString(*body, "month")) return sendError(res, invalidArgument("month", "month (YYYY-MM) is required"));
    auto out = plan(service, *optString(*body, "month"), who->actor());
    if (!out) return sendError(res, out.error());
    sendJson(res, *out);
  });

  s.Post("/api/v1/followups/assign", [&service, access](const httplib::Request& req, httplib::Response& res) {
    auto who = access.api(req, res);
    if (!who) return;
    if (who->role != Role::kAdmin) return sendError(res, Error{errc::kForbidden, "", "assigning follow-ups is for admins"});
    auto body = requestObject(req.body);
    if (!body) return sendError(res, body.error());
    const auto owner = optString(*body, "assigned_to");
    if (!owner) return sendError(res, invalidArgument("assigned_to", "assigned_to (a head-office user) is required"));
    std::vector<std::string> ids;
    if (body->contains("followup_ids")) {
      const auto& a = (*body)["followup_ids"];
      if (!a.is_array()) return sendError(res, invalidArgument("followup_ids", "followup_ids is a list of ids"));
      for (const auto& id : a) {
        if (!id.is_string()) return sendError(res, invalidArgument("followup_ids", "followup_ids is a list of ids"));
        ids.push_back(id.get<std::string>());
      }
    }
    auto out = service.onWriter(
        [&](SqlConnection& c) { return assignFollowups(c, optString(*body, "store"), ids, *owner, who->actor(), nowSeconds()); });
    if (!out) return sendError(res, out.error());
    sendJson(res, *out);
  });

  s.Get("/api/v1/admin/followups/rules", [&service, access](const httplib::Request& req, httplib::Response& res) {
    if (!access.api(req, res)) return;
    const auto rules = service.onReader([](SqlConnection& c) { return visitRules(c); });
    json out = json::object();
    for (const auto& r : rules) {
      out[r.cls] = {{"visits_per_month", r.visitsPerMonth}, {"channel", r.channel}, {"first_week", r.firstWeek},
                    {"contact_frequency", frequencyName(r)}};
    }
    sendJson(res, out);
  });

  s.Put("/api/v1/admin/followups/rules", [&service, access](const httplib::Request& req, httplib::Response& res) {
    auto who = access.api(req, res);
    if (!who) return;
    if (who->role != Role::kAdmin) return sendError(res, Error{errc::kForbidden, "", "the visit rules are for admins"});
    auto body = sync::parseRequestJson(req.body);
    if (!body) return sendError(res, body.error());
    auto out = service.onWriter([&](SqlConnection& c) { return setVisitRules(c, *body, who->actor(), nowSeconds()); });
    if (!out) return sendError(res, out.error());
    sendJson(res, *out);
  });

  s.Get(R"(/api/v1/followups/([^/]+))", [&service, access](const httplib::Request& req, httplib::Response& res) {
    auto who = access.api(req, res);
    if (!who) return;
    auto out = service.onReader([&](SqlConnection& c) { return followup(c, req.matches[1].str(), today()); });
    if (!out) return sendError(res, out.error());
    if (protectPersonalData(*out, who->seesAll()) > 0) {
      service.auditAccess(who->actor(), audit::kMemberRead, jsonText((*out)["member_id"]), std::nullopt);
    }
    sendJson(res, *out);
  });

  s.Post(R"(/api/v1/followups/([^/]+)/contacts)", [&service, access](const httplib::Request& req, httplib::Response& res) {
    auto who = access.api(req, res);
    if (!who) return;
    auto body = sync::parseRequestJson(req.body);
    if (!body) return sendError(res, body.error());
    auto contact = parseContact(*body);
    if (!contact) return sendError(res, contact.error());
    auto out = service.onWriter([&](SqlConnection& c) { return logContact(c, req.matches[1].str(), *contact, who->actor(), nowSeconds()); });
    if (!out) return sendError(res, out.error());
    protectPersonalData(*out, who->seesAll());
    sendJson(res, *out, 201);
  });

  // [SECTION] Dashboard pages and forms (a form's CSRF token is checked by access.api)
  s.Get("/dashboard/followups", [&service, access](const httplib::Request& req, httplib::Response& res) mutable {
    auto who = access.session(req);
    if (!who) return access.signIn(req, res);
    auto view = listPage(service, access, *who, req);
    if (!view) return refusedPage(access, *who, req, res, view.error());
    access.html(res, renderTemplate("followups", *view), 200);
  });

  s.Get(R"(/dashboard/followups/([^/]+))", [&service, access](const httplib::Request& req, httplib::Response& res) mutable {
    auto who = access.session(req);
    if (!who) return access.signIn(req, res);
    auto view = detailPage(service, access, *who, req, req.matches[1].str());
    if (!view) return refusedPage(access, *who, req, res, view.error());
    access.html(res, renderTemplate("followup", *view), 200);
  });

  s.Post(R"(/dashboard/followups/([^/]+)/contacts)", [&service, access](const httplib::Request& req, httplib::Response& res) mutable {
    auto who = access.session(req);
    if (!who) return seeOther(res, "/dashboard/login");
    if (!access.api(req, res)) return;  // the form's CSRF token
    json body = {{"channel", req.get_param_value("channel")}, {"outcome", req.get_param_value("outcome")}};
    if (!req.get_param_value("notes").empty()) body["notes"] = req.get_param_value("notes");
    if (!req.get_param_value("next_due").empty()) body["next_due"] = req.get_param_value("next_due");
    auto contact = parseContact(body);
    if (!contact) return refusedPage(access, *who, req, res, contact.error());
    auto out = service.onWriter([&](SqlConnection& c) { return logContact(c, req.matches[1].str(), *contact, who->actor(), nowSeconds()); });
    if (!out) return refusedPage(access, *who, req, res, out.error());
    seeOther(res, forms::safeNext(req.get_param_value("back")));
  });

  s.Post("/dashboard/followups/plan", [&service, access](const httplib::Request& req, httplib::Response& res) mutable {
    auto who = access.session(req);
    if (!who) return seeOther(res, "/dashboard/login");
    if (!access.api(req, res)) return;
    if (who->role != Role::kAdmin) return refusedPage(access, *who, req, res, Error{errc::kForbidden, "", "planning follow-ups is for admins"});
    const std::string month = req.get_param_value("month");
    auto out = plan(service, month, who->actor());
    if (!out) return refusedPage(access, *who, req, res, out.error());
    seeOther(res, "/dashboard/followups?from=" + month + "-01&to=" + endOfMonth(month + "-01"));
  });

  s.Post("/dashboard/followups/assign", [&service, access](const httplib::Request& req, httplib::Response& res) mutable {
    auto who = access.session(req);
    if (!who) return seeOther(res, "/dashboard/login");
    if (!access.api(req, res)) return;
    if (who->role != Role::kAdmin) return refusedPage(access, *who, req, res, Error{errc::kForbidden, "", "assigning follow-ups is for admins"});
    auto out = service.onWriter([&](SqlConnection& c) {
      return assignFollowups(c, req.get_param_value("store"), {}, req.get_param_value("assigned_to"), who->actor(), nowSeconds());
    });
    if (!out) return refusedPage(access, *who, req, res, out.error());
    seeOther(res, forms::safeNext(req.get_param_value("back")));
  });
}

}  // namespace loyalty::hq
