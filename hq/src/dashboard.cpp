#include "loyalty/hq/dashboard.hpp"

#include <sodium.h>

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>
#include <vector>

#include "loyalty/hq/analytics.hpp"
#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/crypto.hpp"
#include "loyalty/hq/dashboard_access.hpp"
#include "loyalty/hq/dashboard_forms.hpp"
#include "loyalty/hq/export.hpp"
#include "loyalty/hq/followups.hpp"
#include "loyalty/hq/outreach.hpp"
#include "loyalty/hq/http_answer.hpp"
#include "loyalty/hq/local_time.hpp"
#include "loyalty/hq/privacy.hpp"
#include "loyalty/hq/report_cache.hpp"
#include "loyalty/hq/service.hpp"
#include "loyalty/hq/templates.hpp"
#include "loyalty/hq/throttle.hpp"
#include "loyalty/hq/web_text.hpp"
#include "loyalty/sync/codec.hpp"

namespace loyalty::hq {

using nlohmann::json;

namespace {

using namespace forms;  // param, cookie, parseCall, ...: what routes read from requests

constexpr const char* kSessionCookie = "lhq_session";
constexpr const char* kLoginCsrfCookie = "lhq_login_csrf";
constexpr auto kSessionLife = std::chrono::hours(8);

// [SECTION] Plumbing

std::string text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

bool sameSecret(const std::string& a, const std::string& b) {
  return !a.empty() && a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

/// Who is asking: a bearer token (scripts) or a dashboard session (browsers).
struct Who {
  std::string name;
  Role role = Role::kAnalyst;
  std::string csrf;  ///< sessions only
  bool pii = false;  ///< granted full phones and birthdays (Principal::pii)

  bool seesAll() const { return seesPersonalData(role, pii); }
  /// The audit trail's name for them: a dashboard session or a bearer token.
  std::string actor() const { return (csrf.empty() ? "token:" : "user:") + name; }
};

bool isWrite(const httplib::Request& req) { return req.method != "GET" && req.method != "HEAD" && req.method != "OPTIONS"; }

struct Ctx {
  HqService& service;
  Throttle& throttle;
  PasswordVerifier& passwords;

  /// Who sent the request (a bearer token, else a session cookie), or why nobody: a bearer
  /// token's refusal says why (revoked, expired).
  Result<Who> authenticated(const httplib::Request& req) {
    if (const auto token = bearerToken(req)) {
      auto p = service.authenticate(*token);
      if (!p) return p.error();
      return Who{p->name, p->role, "", p->pii};
    }
    const Error nobody{hqerr::kUnauthenticated, "", "an admin or analyst bearer token (or a dashboard session) is required"};
    const std::string s = cookie(req, kSessionCookie);
    if (s.empty() || s.size() > 128) return nobody;
    const auto found = service.session(s);
    if (!found) return nobody;
    const auto& [account, csrf] = *found;
    return Who{account.name, account.role == "admin" ? Role::kAdmin : Role::kAnalyst, csrf, account.pii};
  }

  std::optional<Who> identify(const httplib::Request& req) {
    auto w = authenticated(req);
    if (!w) return std::nullopt;
    return std::move(*w);
  }

  /// API access for admin/analyst; answers 401 otherwise. A change made with a session cookie
  /// (not a bearer token) must carry the session's CSRF token: the `csrf` form field or the
  /// X-CSRF-Token header; 403 otherwise.
  std::optional<Who> requireApi(const httplib::Request& req, httplib::Response& res) {
    auto w = authenticated(req);
    if (!w) {
      sendError(res, w.error());
      res.set_header("WWW-Authenticate", "Bearer");
      return std::nullopt;
    } else if (w->role == Role::kTerminal) {
      sendError(res, Error{errc::kForbidden, "", "a terminal credential may not use " + req.path});
      return std::nullopt;
    } else if (isWrite(req) && !csrfOk(req, *w)) {
      sendError(res, Error{errc::kForbidden, "", "a change made with a dashboard session needs its CSRF token (X-CSRF-Token)"});
      return std::nullopt;
    }
    return std::move(*w);
  }

  /// Bearer tokens need none (a browser never sends one by itself); a session's must match.
  static bool csrfOk(const httplib::Request& req, const Who& w) {
    if (w.csrf.empty()) return true;
    const std::string sent = req.has_header("X-CSRF-Token") ? req.get_header_value("X-CSRF-Token") : req.get_param_value("csrf");
    return sameSecret(sent, w.csrf);
  }

  /// A new session, recorded in the audit trail in the same transaction; returns (session
  /// secret, csrf token).
  std::pair<std::string, std::string> openSession(const DashboardAccount& who) {
    return service.openSession(who, std::chrono::duration_cast<std::chrono::seconds>(kSessionLife));
  }

  void audit(const Who& who, const char* action, const std::string& subject, std::optional<std::int64_t> rows) {
    service.auditAccess(who.actor(), action, subject, rows);
  }

  /// A report as `who` may see it (phones masked, birthdays dropped unless they see personal
  /// data); a list carrying members' personal data is audited as leaving head office.
  void showTo(const Who& who, json& body, const std::string& subject) {
    if (const std::int64_t records = protectPersonalData(body, who.seesAll()); records > 0) {
      audit(who, audit::kMembersExport, subject, records);
    }
  }
};

void setSessionCookie(httplib::Response& res, const std::string& secret) {
  res.set_header("Set-Cookie", std::string(kSessionCookie) + "=" + secret + "; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=" +
                                   std::to_string(std::chrono::seconds(kSessionLife).count()));
}

// [SECTION] Reports by name

const std::vector<std::string> kReports = {"summary", "sales", "abc", "abc-follow-up", "rfm", "churn", "retention",
                                          "referrals", "satisfaction", "complaints", "points", "campaign", "staff"};

/// Runs report `name` with the request's parameters, live.
Result<json> runReport(Ctx& ctx, const std::string& name, const httplib::Request& req) {
  auto call = parseCall(name, req);
  if (!call) return call.error();
  return ctx.service.report(*call);
}

/// The report through the cache of slow results (HqService::keptReport).
Result<ReportCache::Answer> keptReport(Ctx& ctx, const std::string& name, const httplib::Request& req,
                                       std::optional<std::chrono::seconds> maxAge = std::nullopt) {
  auto call = parseCall(name, req);
  if (!call) return call.error();
  return ctx.service.keptReport(*call, maxAge);
}

// [SECTION] Text catalogue (zh-CN / en)

struct Msg {
  const char* key;
  const char* en;
  const char* zh;
};
constexpr Msg kCatalogue[] = {
    {"title", "Head office analytics", "总部客户分析"},
    {"overview", "Overview", "概览"},
    {"stores", "Stores", "门店"},
    {"customers", "Customers", "客户"},
    {"satisfaction", "Satisfaction", "满意度"},
    {"complaints", "Complaints", "投诉处理"},
    {"points", "Points", "积分"},
    {"login", "Sign in", "登录"},
    {"logout", "Sign out", "退出"},
    {"user", "User", "用户名"},
    {"password", "Password", "密码"},
    {"bad_login", "Wrong user name or password.", "用户名或密码错误。"},
    {"too_many", "Too many failed sign-ins. Try again after", "登录失败次数过多，请在此时间后重试："},
    {"from", "From", "开始日期"},
    {"to", "To", "结束日期"},
    {"store", "Store", "门店"},
    {"apply", "Apply", "筛选"},
    {"sales", "Sales", "销售笔数"},
    {"net_revenue", "Net revenue", "净销售额"},
    {"members", "Members", "会员数"},
    {"member_revenue", "Member revenue", "会员销售额"},
    {"non_member_revenue", "Non-member revenue", "非会员销售额"},
    {"by_day", "Net revenue by day", "每日净销售额"},
    {"by_hour", "Sales by hour", "分时段销售笔数"},
    {"by_store", "Net revenue by store", "各门店净销售额"},
    {"abc", "ABC core customers", "ABC 核心客户"},
    {"class", "Class", "等级"},
    {"frequency", "Contact", "回访频率"},
    {"rfm", "RFM segments", "RFM 客户分群"},
    {"segment", "Segment", "分群"},
    {"churn", "Churn warning", "客户流失预警"},
    {"at_risk", "Members at risk", "流失风险会员"},
    {"last_visit", "Last visit", "最近消费"},
    {"usual_interval", "Usual interval (days)", "平均间隔（天）"},
    {"days_since", "Days since", "未到店天数"},
    {"csat", "CSAT %", "满意率 %"},
    {"nps", "NPS", "净推荐值 NPS"},
    {"responses", "Responses", "答卷数"},
    {"open", "Open", "处理中"},
    {"overdue", "Overdue", "已逾期"},
    {"step", "Step", "处理步骤"},
    {"owner", "Owner", "负责人"},
    {"due", "Due", "截止时间"},
    {"note", "Note", "备注"},
    {"update", "Save", "保存"},
    {"issued", "Issued", "发放积分"},
    {"redeemed", "Redeemed", "兑换积分"},
    {"expired", "Expired", "过期积分"},
    {"outstanding", "Outstanding", "未兑换积分"},
    {"liability", "Liability", "积分负债"},
    {"debt", "Points debt", "积分欠款"},
    {"overdrafts", "Offline overdrafts", "离线透支"},
    {"kind", "Kind", "类型"},
    {"export", "Export", "导出"},
    {"computed_at", "Some figures on this page were computed in the background (refreshed as sales arrive) at",
     "本页部分数据为后台计算结果（新销售到达后更新），计算时间："},
    {"total", "Total", "合计"},
    {"received", "Received", "已受理"},
    {"acknowledged", "Acknowledged", "已致歉"},
    {"investigated", "Investigated", "已调查"},
    {"solution_proposed", "Solution proposed", "已提出方案"},
    {"resolved", "Resolved", "已解决"},
    {"followed_up", "Followed up", "已回访"},
    {"follow_up", "Follow-up list", "回访名单"},
    {"member", "Members", "会员"},
    {"non_member", "Non-members", "非会员"},
    {"seg_champions", "Champions", "重要价值客户"},
    {"seg_loyal", "Loyal", "忠诚客户"},
    {"seg_new", "New", "新客户"},
    {"seg_potential_loyalists", "Potential loyalists", "潜力客户"},
    {"seg_need_attention", "Need attention", "需关注客户"},
    {"seg_cant_lose", "Can't lose", "重要挽留客户"},
    {"seg_at_risk", "At risk", "流失风险客户"},
    {"seg_hibernating", "Hibernating", "沉睡客户"},
    {"seg_lost", "Lost", "已流失客户"},
    {"3x_month", "3× a month", "每月3次"},
    {"monthly", "Monthly", "每月1次"},
    {"quarterly", "Quarterly", "每季度1次"},
    {"audit", "Audit trail", "审计日志"},
    {"at", "Time (UTC)", "时间（UTC）"},
    {"actor", "Who", "操作人"},
    {"action", "Action", "操作"},
    {"subject", "Subject", "对象"},
    {"rows", "Rows", "行数"},
    {"detail", "Detail", "说明"},
    {"newest_first", "Newest first", "最新在前"},
    {"oldest_first", "Oldest first", "最早在前"},
    {"previous", "Previous", "上一页"},
    {"next", "Next", "下一页"},
    {"no_entries", "No entries.", "暂无记录。"},
    {"member_page", "Member", "会员资料"},
    {"card_no", "Card", "卡号"},
    {"name", "Name", "姓名"},
    {"phone", "Phone", "手机号"},
    {"birthday", "Birthday", "生日"},
    {"tier", "Tier", "等级"},
    {"balance", "Points balance", "积分余额"},
    {"lifetime_spend", "Lifetime spend", "累计消费"},
    {"enrolled", "Enrolled", "入会时间"},
    {"consent", "Marketing consent", "营销授权"},
    {"version", "Version", "版本"},
    {"consent_history", "Consent history", "授权记录"},
    {"member_changes", "Changes at counters", "资料变更记录"},
    {"fields", "Fields", "变更项"},
    {"terminal", "Terminal", "终端"},
    {"staff", "Staff", "员工"},
    {"yes", "Yes", "是"},
    {"no", "No", "否"},
    {"masked", "Phone numbers are masked and birthdays hidden: this account is not granted personal data.",
     "手机号已隐藏、生日不显示：此账号未获个人信息权限。"},
    {"erased", "This member's personal data was erased.", "该会员的个人信息已删除。"},
    {"no_member", "No such member.", "没有该会员。"},
    // Follow-up visits (followups_routes.cpp has its page's own words)
    {"followups", "Follow-ups", "客户回访"},
    {"2x_month", "2× a month", "每月2次"},
    {"1x_month", "Once a month", "每月1次"},
    {"refunds_col", "Refunds (count / amount)", "退货（笔数 / 金额）"},
    {"points_earned", "Points earned", "赠送积分"},
    {"enrolments", "Enrolments", "办卡数"},
    {"redemptions", "Redemptions", "兑换次数"},
    {"surveys", "Ratings", "评价数"},
    {"average_score", "Average rating (1–5)", "平均评分（1–5）"},
    {"complaints_col", "Complaints", "投诉数"},
    {"staff_count", "Staff members", "员工人数"},
    {"by_staff", "Net revenue by staff member", "各员工净销售额"},
    {"staff_note", "Refunds count for whoever processed them. Staff are the counters' sign-in ids; — : not recorded.",
     "退货计入办理退货的员工。员工为收银台登录编号；—：未记录。"},
    {"dimensions", "Ratings by aspect (average, 1–5)", "分项评分（平均分，1–5）"},
    {"dimensions_note", "The aspects the customer display asked about; — : no answers.", "顾客屏询问的服务分项；—：暂无评价。"},
    // Outreach messages (outreach_routes.cpp has its page's own words)
    {"outreach", "Outreach", "会员触达"},
};

std::string tr(const std::string& lang, const std::string& key) {
  for (const auto& m : kCatalogue) {
    if (key == m.key) return lang == "zh" ? m.zh : m.en;
  }
  return key;
}

std::string langOf(const httplib::Request& req) {
  if (auto l = param(req, "lang")) return *l == "zh" ? "zh" : "en";
  const std::string c = cookie(req, "lhq_lang");
  if (c == "zh" || c == "en") return c;
  return req.get_header_value("Accept-Language").rfind("zh", 0) == 0 ? "zh" : "en";
}

// [SECTION] Views: what each template (hq/templates/*.mustache) shows, built from reports

/// The catalogue's words in `lang`, for the templates' {{t.KEY}}.
const json& words(const std::string& lang) {
  static const auto in = [](bool zh) {
    json o = json::object();
    for (const auto& m : kCatalogue) o[m.key] = zh ? m.zh : m.en;
    return o;
  };
  static const json en = in(false), zh = in(true);
  return lang == "zh" ? zh : en;
}

/// A horizontal bar chart (bar_chart.mustache); every bar is a <rect> with its value in
/// data-value and a <title>.
json barChart(const std::string& id, const std::vector<std::pair<std::string, double>>& bars, const std::string& unit = "") {
  const int rowH = 22, labelW = 150, width = 640, barW = width - labelW - 90;
  const int height = std::max<int>(rowH, static_cast<int>(bars.size()) * rowH) + 8;
  double max = 0;
  for (const auto& b : bars) max = std::max(max, b.second);
  json out = {{"id", id}, {"width", width}, {"height", height}, {"unit", unit}, {"bars", json::array()}};
  int y = 4;
  for (const auto& [label, value] : bars) {
    const int w = std::max(max > 0 ? static_cast<int>(value / max * barW) : 0, 1);
    char num[64];
    std::snprintf(num, sizeof num, "%.2f", value);
    std::string shown = num;
    if (shown.size() > 3 && shown.compare(shown.size() - 3, 3, ".00") == 0 && unit.empty()) shown.resize(shown.size() - 3);
    out["bars"].push_back({{"label", label}, {"label_x", labelW - 6}, {"text_y", y + 15}, {"bar_x", labelW}, {"rect_y", y + 3},
                           {"bar_w", w}, {"bar_h", rowH - 6}, {"value", std::string(num)}, {"shown", shown},
                           {"value_x", labelW + w + 4}});
    y += rowH;
  }
  return out;
}

double num(const json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    try {
      return std::stod(v.get<std::string>());
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

struct Page {
  std::string lang;
  std::string path;
  std::string query;  ///< the filter's query string, for export links
  std::string csrf;
  Who who;
};

/// What every signed-in page shows around its content (header.mustache, footer.mustache).
json pageView(const Page& p, const httplib::Request& req, const std::string& titleKey) {
  std::vector<const char*> pages = {"overview", "stores", "customers", "satisfaction", "complaints", "points", "staff"};
  pages.push_back("followups");
  pages.push_back("outreach");
  if (p.who.role == Role::kAdmin) pages.push_back("audit");
  json nav = json::array();
  for (const char* page : pages) {
    const std::string href = std::string("/dashboard") + (std::string(page) == "overview" ? "" : std::string("/") + page);
    nav.push_back({{"href", href}, {"on", href == p.path}, {"label", tr(p.lang, page)}});
  }
  return {{"html_lang", p.lang == "zh" ? "zh-CN" : "en"},
          {"t", words(p.lang)},
          {"title", tr(p.lang, titleKey)},
          {"nav", std::move(nav)},
          {"other_lang", p.lang == "zh" ? "en" : "zh"},
          {"other_lang_label", p.lang == "zh" ? "English" : "中文"},
          {"user", p.who.name},
          {"csrf", p.csrf},
          {"filter", {{"from", req.get_param_value("from")}, {"to", req.get_param_value("to")}, {"store", req.get_param_value("store")}}},
          {"computed_at", false}};
}

json kpi(const std::string& lang, const std::string& key, const std::string& value) {
  return {{"label", tr(lang, key)}, {"key", key}, {"value", value}};
}

/// CSV and XLSX links of `report` with the page's filter (export_links.mustache).
json exportLinks(const Page& p, const std::string& report, const std::string& label = "") {
  return {{"report", report}, {"query", p.query.empty() ? "" : "?" + p.query}, {"label", label.empty() ? json(false) : json(label)}};
}

// [SECTION] Personal data pages: a member, the audit trail

/// Fills `view` (member.mustache) with the member's profile, consent history and changes at
/// counters, as `p.who` may see them; the read is audited. Returns the status: 404 for a member
/// who is unknown, 410 erased.
int memberView(Ctx& ctx, const std::string& id, const Page& p, json& view) {
  const auto& L = p.lang;
  view["erased"] = view["unknown"] = view["profile"] = false;
  auto record = ctx.service.memberRecord(id);
  if (!record && record.error().code == hqerr::kGone) {
    view["erased"] = record.error().message;
    return 410;
  }
  if (!record) {
    view["unknown"] = true;
    return 404;
  }
  json* m = &record->member;
  const json &consents = record->consents, &changes = record->changes;
  protectPersonalData(*m, p.who.seesAll());
  ctx.audit(p.who, audit::kMemberRead, id, std::nullopt);
  json fields = json::array();
  const auto field = [&](const char* key, const std::string& value) { fields.push_back({{"label", tr(L, key)}, {"key", key}, {"value", value}}); };
  field("card_no", text((*m)["card_no"]));
  field("name", text((*m)["name"]));
  field("phone", text((*m)["phone"]));
  if (m->contains("birthday")) field("birthday", text((*m)["birthday"]));
  field("tier", text((*m)["tier"]));
  field("balance", text((*m)["balance"]));
  field("lifetime_spend", text((*m)["lifetime_spend"]));
  field("enrolled", text((*m)["enrolled_at"]) + " · " + text((*m)["enrolled_store"]));
  field("consent", tr(L, (*m)["consent_marketing"].get<bool>() ? "yes" : "no") + " · " + text((*m)["consent_version"]) + " · " +
                       text((*m)["consent_at"]) + " · " + text((*m)["consent_store"]));
  json consentRows = json::array(), changeRows = json::array();
  for (const auto& c : consents) {
    consentRows.push_back({{"at", text(c["at"])}, {"consent", tr(L, c["consent_marketing"].get<bool>() ? "yes" : "no")},
                           {"version", text(c["consent_version"])}, {"store", text(c["store_id"])},
                           {"terminal", text(c["terminal_id"])}, {"staff", text(c["staff_id"])}});
  }
  for (const auto& c : changes) {
    std::string names;
    for (const auto& f : c["fields"]) names += (names.empty() ? "" : ", ") + text(f);
    changeRows.push_back({{"at", text(c["at"])}, {"fields", names}, {"store", text(c["store_id"])},
                          {"terminal", text(c["terminal_id"])}, {"staff", text(c["staff_id"])}});
  }
  view["profile"] = {{"masked", !p.who.seesAll()}, {"fields", std::move(fields)}, {"consents", std::move(consentRows)},
                     {"changes", std::move(changeRows)}};
  return 200;
}

/// A page of the audit trail (50 entries), newest first unless `order=asc` (audit.mustache).
Result<Ok> auditView(Ctx& ctx, const Page& p, const httplib::Request& req, json& view) {
  const std::string order = param(req, "order").value_or("desc");
  auto a = ctx.service.auditListing(param(req, "from"), param(req, "to"), std::string("50"), param(req, "offset"), order);
  if (!a) return a.error();
  const std::int64_t offset = (*a)["page"]["offset"].get<std::int64_t>();
  const auto href = [&](const std::string& ord, std::int64_t off) {
    return "/dashboard/audit?" + p.query + (p.query.empty() ? "" : "&") + "order=" + ord + "&offset=" + std::to_string(off);
  };
  json entries = json::array();
  for (const auto& e : (*a)["entries"]) {
    json row = json::object();
    for (const char* k : {"at", "actor", "action", "subject", "rows", "detail"}) row[k] = text(e.value(k, json(nullptr)));
    entries.push_back(std::move(row));
  }
  view["newest_href"] = href("desc", 0);
  view["oldest_href"] = href("asc", 0);
  view["desc"] = order == "desc";
  view["asc"] = order == "asc";
  view["entries"] = std::move(entries);
  view["prev_href"] = offset > 0 ? json(href(order, std::max<std::int64_t>(0, offset - 50))) : json(false);
  view["next_href"] = (*a)["has_more"].get<bool>() ? json(href(order, offset + 50)) : json(false);
  return Ok{};
}

/// An average that may be missing (null: no answers) as the pages show it.
std::string shownAverage(const json& v) {
  if (!v.is_number()) return "—";
  char out[32];
  std::snprintf(out, sizeof out, "%.2f", v.get<double>());
  return out;
}

/// The satisfaction page's table of survey dimensions: a column per dimension, a row per store
/// and the total; false when no answer had any.
json dimensionsView(const std::string& L, const json& d) {
  if (d["total"].empty()) return false;
  std::vector<std::string> names;
  for (const auto& t : d["total"]) names.push_back(text(t["dimension"]));
  std::map<std::string, std::map<std::string, json>> byStore;  // store -> dimension -> average
  for (const auto& s : d["stores"]) byStore[text(s["store"])][text(s["dimension"])] = s["average"];
  const auto row = [&](const std::string& store, const std::map<std::string, json>& averages) {
    json cells = json::array();
    for (const auto& n : names) {
      const auto it = averages.find(n);
      cells.push_back({{"name", n}, {"average", it == averages.end() ? "—" : shownAverage(it->second)}});
    }
    return json{{"store", store}, {"cells", std::move(cells)}};
  };
  json rows = json::array();
  for (const auto& [store, averages] : byStore) rows.push_back(row(store, averages));
  std::map<std::string, json> total;
  for (const auto& t : d["total"]) total[text(t["dimension"])] = t["average"];
  rows.push_back(row(tr(L, "total"), total));
  return {{"names", names}, {"rows", std::move(rows)}};
}

/// The staff page (staff.mustache) from the staff report.
void staffView(const std::string& L, const json& report, json& view) {
  json rows = json::array();
  std::vector<std::pair<std::string, double>> bars;
  std::set<std::string> staff;
  std::int64_t sales = 0;
  for (const auto& r : report["rows"]) {
    const bool known = r["staff_id"].is_string();
    const std::string id = known ? text(r["staff_id"]) : "—", store = text(r["store"]);
    if (known) staff.insert(store + "\x1f" + id);
    sales += r["sales"].get<std::int64_t>();
    rows.push_back({{"store", store}, {"staff", id}, {"staff_key", known ? id : "-"}, {"sales", text(r["sales"])},
                    {"net_revenue", text(r["net_revenue"])}, {"refunds", text(r["refunds"])}, {"refunded", text(r["refunded"])},
                    {"points_earned", text(r["points_earned"])}, {"enrolments", text(r["enrolments"])},
                    {"redemptions", text(r["redemptions"])}, {"surveys", text(r["surveys"])},
                    {"average_score", shownAverage(r["average_score"])}, {"complaints", text(r["complaints"])}});
    bars.emplace_back(store + " · " + id, num(r["net_revenue"]));
  }
  view["kpis"] = {kpi(L, "staff_count", std::to_string(staff.size())), kpi(L, "sales", std::to_string(sales))};
  view["rows"] = std::move(rows);
  view["by_staff"] = barChart("revenue-by-staff", bars);
}

/// Fills `view` with the content of dashboard page `page` (PAGE.mustache).
Result<Ok> pageContent(Ctx& ctx, const std::string& page, const Page& p, const httplib::Request& req, json& view) {
  const auto& L = p.lang;
  std::optional<Timestamp> keptAt;  ///< the oldest kept result the page shows
  const auto get = [&](const std::string& report, const std::vector<std::pair<std::string, std::string>>& extra = {}) -> Result<json> {
    httplib::Request r2 = req;
    for (const auto& [k, v] : extra) {
      r2.params.erase(k);
      r2.params.emplace(k, v);
    }
    auto a = keptReport(ctx, report, r2);
    if (!a) return a.error();
    if (a->kept && (!keptAt || a->computedAt < *keptAt)) keptAt = a->computedAt;
    return std::move(a->body);
  };
  if (page == "overview") {
    auto s = get("summary");
    if (!s) return s.error();
    auto d = get("sales", {{"group", "day"}});
    if (!d) return d.error();
    auto m = get("sales", {{"group", "member"}});
    if (!m) return m.error();
    view["kpis"] = {kpi(L, "sales", text((*s)["sales"])), kpi(L, "net_revenue", text((*s)["net_revenue"])),
                    kpi(L, "members", text((*s)["members"])), kpi(L, "member_revenue", text((*s)["member_revenue"])),
                    kpi(L, "non_member_revenue", text((*s)["non_member_revenue"]))};
    std::vector<std::pair<std::string, double>> bars;
    const auto& rows = (*d)["rows"];
    const std::size_t first = rows.size() > 31 ? rows.size() - 31 : 0;
    for (std::size_t i = first; i < rows.size(); ++i) bars.emplace_back(text(rows[i]["day"]), num(rows[i]["net_revenue"]));
    view["by_day"] = barChart("revenue-by-day", bars);
    bars.clear();
    for (const auto& r : (*m)["rows"]) bars.emplace_back(tr(L, text(r["member"])), num(r["net_revenue"]));
    view["member_split"] = barChart("member-split", bars);
    view["exports"] = {exportLinks(p, "summary")};
  } else if (page == "stores") {
    auto st = get("sales", {{"group", "store"}});
    if (!st) return st.error();
    auto h = get("sales", {{"group", "hour"}});
    if (!h) return h.error();
    std::vector<std::pair<std::string, double>> bars;
    json rows = json::array();
    for (const auto& r : (*st)["rows"]) {
      const std::string id = text(r["store"]);
      rows.push_back({{"store", id}, {"sales", text(r["sales"])}, {"net_revenue", text(r["net_revenue"])}});
      bars.emplace_back(id, num(r["net_revenue"]));
    }
    view["rows"] = std::move(rows);
    view["by_store"] = barChart("revenue-by-store", bars);
    bars.clear();
    for (const auto& r : (*h)["rows"]) bars.emplace_back(text(r["hour"]) + ":00", num(r["sales"]));
    view["by_hour"] = barChart("sales-by-hour", bars);
    view["exports"] = {exportLinks(p, "sales")};
  } else if (page == "customers") {
    // The page shows class and segment totals and the first 50 at-risk members; the full lists
    // are the exports.
    auto a = get("abc", {{"limit", "1"}});
    if (!a) return a.error();
    auto r = get("rfm", {{"limit", "1"}});
    if (!r) return r.error();
    auto c = get("churn", {{"limit", "50"}});
    if (!c) return c.error();
    std::vector<std::pair<std::string, double>> bars;
    json classes = json::array(), segments = json::array(), atRisk = json::array();
    for (const auto& k : (*a)["classes"]) {
      const std::string cls = text(k["class"]);
      classes.push_back({{"class", cls}, {"members", text(k["members"])}, {"spend", text(k["spend"])},
                         {"frequency", tr(L, text(k["contact_frequency"]))}});
      bars.emplace_back(cls, num(k["members"]));
    }
    view["classes"] = std::move(classes);
    view["abc_chart"] = barChart("abc", bars);
    view["abc_exports"] = {exportLinks(p, "abc", tr(L, "abc")), exportLinks(p, "abc-follow-up", tr(L, "follow_up"))};
    bars.clear();
    for (const auto& s : (*r)["segments"]) {
      const std::string label = tr(L, "seg_" + text(s["segment"]));
      segments.push_back({{"label", label}, {"segment", text(s["segment"])}, {"members", text(s["members"])}});
      bars.emplace_back(label, num(s["members"]));
    }
    view["segments"] = std::move(segments);
    view["rfm_chart"] = barChart("rfm", bars);
    view["rfm_exports"] = {exportLinks(p, "rfm")};
    view["churn_kpis"] = {kpi(L, "at_risk", text((*c)["at_risk"]))};
    for (const auto& m : (*c)["members"]) {
      const std::string id = text(m["member_id"]);
      atRisk.push_back({{"member_path", urlEncode(id)}, {"member_id", id}, {"last_visit", text(m["last_visit"])},
                        {"usual_interval", text(m["usual_interval_days"])}, {"days_since", text(m["days_since_visit"])}});
    }
    view["at_risk"] = std::move(atRisk);
    view["churn_exports"] = {exportLinks(p, "churn")};
  } else if (page == "satisfaction") {
    auto s = get("satisfaction");
    if (!s) return s.error();
    const auto& t = (*s)["total"];
    view["kpis"] = {kpi(L, "csat", text(t["csat"])), kpi(L, "nps", text(t["nps"])),
                    kpi(L, "responses", std::to_string(t["csat_responses"].get<std::int64_t>() + t["nps_responses"].get<std::int64_t>()))};
    std::vector<std::pair<std::string, double>> csat, nps;
    json rows = json::array();
    for (const auto& r : (*s)["rows"]) {
      const std::string id = text(r["store"]);
      rows.push_back({{"store", id}, {"csat", text(r["csat"])}, {"nps", text(r["nps"])},
                      {"responses", r["csat_responses"].get<std::int64_t>() + r["nps_responses"].get<std::int64_t>()}});
      csat.emplace_back(id, num(r["csat"]));
      nps.emplace_back(id, std::max(0.0, num(r["nps"])));
    }
    view["rows"] = std::move(rows);
    view["csat_chart"] = barChart("csat-by-store", csat, "%");
    view["nps_chart"] = barChart("nps-by-store", nps);
    view["dimensions"] = dimensionsView(L, (*s)["dimensions"]);
    view["exports"] = {exportLinks(p, "satisfaction")};
  } else if (page == "complaints") {
    auto c = get("complaints");
    if (!c) return c.error();
    view["kpis"] = {kpi(L, "total", text((*c)["total"])), kpi(L, "open", text((*c)["open"])), kpi(L, "overdue", text((*c)["overdue"]))};
    std::vector<std::pair<std::string, double>> bars;
    for (const auto& s : (*c)["steps"]) bars.emplace_back(tr(L, text(s["step"])), num(s["complaints"]));
    view["steps_chart"] = barChart("complaints-by-step", bars);
    json rows = json::array();
    for (const auto& r : (*c)["rows"]) {
      if (rows.size() == 200) break;
      const std::string id = text(r["complaint_id"]), step = text(r["step"]);
      json steps = json::array();
      for (const auto& s : complaintSteps()) steps.push_back({{"step", s}, {"selected", s == step}, {"label", tr(L, s)}});
      rows.push_back({{"description", text(r["description"])}, {"complaint_id", id}, {"complaint_path", urlEncode(id)},
                      {"store", text(r["store"])}, {"step_label", tr(L, step)}, {"owner", text(r["owner"])},
                      {"overdue", r["overdue"].get<bool>()}, {"due_at", text(r["due_at"])}, {"steps", std::move(steps)}});
    }
    view["rows"] = std::move(rows);
    view["exports"] = {exportLinks(p, "complaints")};
  } else if (page == "points") {
    auto pt = get("points");
    if (!pt) return pt.error();
    view["kpis"] = {kpi(L, "issued", text((*pt)["issued"])), kpi(L, "redeemed", text((*pt)["redeemed"])),
                    kpi(L, "expired", text((*pt)["expired"])), kpi(L, "outstanding", text((*pt)["outstanding"])),
                    kpi(L, "liability", text((*pt)["liability"])), kpi(L, "debt", text((*pt)["debt_points"])),
                    kpi(L, "overdrafts", text((*pt)["overdrafts"]))};
    view["flow_chart"] = barChart("points-flow", {{tr(L, "issued"), num((*pt)["issued"])},
                                                  {tr(L, "redeemed"), num((*pt)["redeemed"])},
                                                  {tr(L, "expired"), num((*pt)["expired"])},
                                                  {tr(L, "outstanding"), num((*pt)["outstanding"])}});
    view["exports"] = {exportLinks(p, "points")};
  } else if (page == "staff") {
    auto st = get("staff");
    if (!st) return st.error();
    staffView(L, *st, view);
    view["exports"] = {exportLinks(p, "staff")};
  } else if (page == "audit") {
    if (p.who.role != Role::kAdmin) return Error{errc::kForbidden, "page", "the audit trail is for admins"};
    if (auto a = auditView(ctx, p, req, view); !a) return a.error();
  } else {
    return Error{errc::kNotFound, "page", "no dashboard page " + page};
  }
  // Some figures are a result computed earlier (they take seconds to rank every member).
  if (keptAt) view["computed_at"] = formatRfc3339(*keptAt);
  return Ok{};
}

/// The sign-in page (login.mustache).
std::string loginPage(const std::string& lang, const std::string& csrf, bool failed) {
  return renderTemplate("login", {{"html_lang", lang == "zh" ? "zh-CN" : "en"}, {"t", words(lang)}, {"csrf", csrf}, {"failed", failed}});
}

/// A one-line page (a refused form), with a link back when `back` is given (notice.mustache).
std::string noticePage(const std::string& message, const std::string& back = "") {
  return renderTemplate("notice", {{"message", message}, {"back", back.empty() ? json(false) : json(back)}});
}

void htmlResponse(httplib::Response& res, const std::string& html, int status = 200) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:");
  res.set_content(html, "text/html; charset=utf-8");
}

void redirect(httplib::Response& res, const std::string& to) {
  res.status = 303;
  res.set_header("Location", to);
}

/// The sign-in page's answer while an account or address is locked out (429, Retry-After).
std::string tooManyPage(const std::string& lang, std::chrono::seconds wait) {
  return renderTemplate("too_many", {{"html_lang", lang == "zh" ? "zh-CN" : "en"}, {"t", words(lang)},
                                     {"retry_after", std::to_string(wait.count())}, {"until", formatRfc3339(nowSeconds() + wait)}});
}

DashboardViewer viewerOf(const Who& w) { return {w.name, w.role, w.csrf, w.pii}; }

/// What the follow-up pages borrow from the dashboard (dashboard_access.hpp).
DashboardAccess dashboardAccess(const std::shared_ptr<Ctx>& ctx) {
  DashboardAccess a;
  a.api = [ctx](const httplib::Request& req, httplib::Response& res) -> std::optional<DashboardViewer> {
    auto w = ctx->requireApi(req, res);
    if (!w) return std::nullopt;
    return viewerOf(*w);
  };
  a.session = [ctx](const httplib::Request& req) -> std::optional<DashboardViewer> {
    auto w = ctx->identify(req);
    if (!w || w->csrf.empty()) return std::nullopt;
    return viewerOf(*w);
  };
  a.language = [](const httplib::Request& req) { return langOf(req); };
  a.frame = [](const httplib::Request& req, const DashboardViewer& v, const std::string& lang, const std::string& path,
               const std::string& titleKey) {
    return pageView(Page{lang, path, "", v.csrf, Who{v.name, v.role, v.csrf, v.pii}}, req, titleKey);
  };
  a.html = [](httplib::Response& res, const std::string& html, int status) { htmlResponse(res, html, status); };
  return a;
}

}  // namespace

// [SECTION] Accounts

Result<Ok> setDashboardUser(SqlConnection& c, const std::string& name, const std::string& role, const std::string& password,
                            Timestamp now, const std::string& actor, bool pii) {
  if (name.empty() || name.size() > 64 || name.find_first_of(" \t\r\n") != std::string::npos) {
    return invalidArgument("name", "name is 1 to 64 characters without spaces");
  }
  if (role != "admin" && role != "analyst") return invalidArgument("role", "role is admin or analyst");
  if (password.size() < 10 || password.size() > 1024) return invalidArgument("password", "password is 10 to 1024 bytes");
  if (sodium_init() < 0) throw std::runtime_error("libsodium cannot start");
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(hash, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    throw std::runtime_error("out of memory hashing a password");
  }
  ensureAnalyticsSchema(c);
  ensureAuditSchema(c);
  ensurePrivacySchema(c);
  SqlTransaction tx(c);
  c.query("INSERT INTO dashboard_users(name, role, password_hash, created_at, pii) VALUES ($1, $2, $3, $4, $5) "
          "ON CONFLICT (name) DO UPDATE SET role = $2, password_hash = $3, disabled_at = NULL, pii = $5",
          {name, role, std::string(hash), formatRfc3339(now), std::int64_t{pii ? 1 : 0}});
  c.query("DELETE FROM dashboard_sessions WHERE name = $1", {name});
  recordAudit(c, {formatRfc3339(now), actor, audit::kUserSet, name, std::nullopt, "role " + role + (pii ? " with pii" : "")});
  tx.commit();
  return Ok{};
}

// [SECTION] Routes

void registerAnalyticsRoutes(httplib::Server& s, HqService& service, Throttle& throttle, PasswordVerifier& passwords) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium cannot start");
  auto ctx = std::make_shared<Ctx>(Ctx{service, throttle, passwords});
  // The dashboard's default views that rank every member, kept warm from the start.
  for (const auto& [name, params] : std::vector<std::pair<std::string, httplib::Params>>{
           {"summary", {}}, {"abc", {{"limit", "1"}}}, {"rfm", {{"limit", "1"}}}, {"churn", {{"limit", "50"}}}}) {
    httplib::Request req;
    req.params = params;
    auto call = parseCall(name, req);
    if (call) service.pinReport(*call);
  }

  s.Get(R"(/api/v1/reports/(rfm|churn|retention|referrals|satisfaction|complaints|points|campaign|summary|sales|abc|staff))",
        [ctx](const httplib::Request& req, httplib::Response& res) {
          auto who = ctx->requireApi(req, res);
          if (!who) return;
          const std::string name = req.matches[1].str();
          if (auto maxAge = param(req, "max_age")) {
            // A result computed up to max_age seconds ago will do: slow reports come from the cache.
            auto age = wholeNumber(maxAge, "max_age", 0, 0, 86400);
            if (!age) return sendError(res, age.error());
            auto a = keptReport(*ctx, name, req, std::chrono::seconds(*age));
            if (!a) return sendError(res, a.error());
            a->body["computed_at"] = formatRfc3339(a->computedAt);
            ctx->showTo(*who, a->body, "report:" + name);
            return sendJson(res, a->body);
          }
          auto out = runReport(*ctx, name, req);
          if (!out) return sendError(res, out.error());
          ctx->showTo(*who, *out, "report:" + name);
          sendJson(res, *out);
        });

  s.Get(R"(/api/v1/exports/([a-z-]+)\.(csv|xlsx))", [ctx](const httplib::Request& req, httplib::Response& res) {
    auto who = ctx->requireApi(req, res);
    if (!who) return;
    const std::string name = req.matches[1].str(), format = req.matches[2].str();
    if (std::find(kReports.begin(), kReports.end(), name) == kReports.end()) {
      return sendError(res, Error{errc::kNotFound, "", "no report " + name + " to export"});
    }
    auto out = runReport(*ctx, name, req);
    if (!out) return sendError(res, out.error());
    protectPersonalData(*out, who->seesAll());
    const ExportTable t = reportTable(name, *out);
    // Every export is in the audit trail, with how many rows left head office.
    ctx->audit(*who, audit::kMembersExport, name + "." + format, static_cast<std::int64_t>(t.rows.size()));
    const std::string file = "loyalty-" + name + "." + format;
    res.set_header("Content-Disposition", "attachment; filename=\"" + file + "\"");
    res.set_header("Cache-Control", "no-store");
    if (format == "csv") res.set_content(toCsv(t), "text/csv; charset=utf-8");
    else res.set_content(toXlsx(t, name), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
  });

  s.Get(R"(/api/v1/complaints/([^/]+))", [ctx](const httplib::Request& req, httplib::Response& res) {
    if (!ctx->requireApi(req, res)) return;
    auto out = ctx->service.complaint(req.matches[1].str());
    if (!out) return sendError(res, out.error());
    sendJson(res, *out);
  });

  const auto optField = [](const json& b, const char* k) -> std::optional<std::string> {
    if (!b.contains(k) || b[k].is_null()) return std::nullopt;
    if (!b[k].is_string()) throw std::invalid_argument(k);
    return b[k].get<std::string>();
  };

  s.Post("/api/v1/complaints", [ctx, optField](const httplib::Request& req, httplib::Response& res) {
    auto who = ctx->requireApi(req, res);
    if (!who) return;
    auto body = sync::parseJson(req.body);
    if (!body || !body->is_object()) return sendError(res, invalidArgument("body", "the body is a JSON object"));
    ComplaintFiling f;
    try {
      f.complaintId = optField(*body, "complaint_id").value_or("");
      f.storeId = optField(*body, "store");
      f.memberId = optField(*body, "member_id");
      f.category = optField(*body, "category").value_or("");
      f.description = optField(*body, "description").value_or("");
      f.owner = optField(*body, "owner");
      f.due = optField(*body, "due");
    } catch (const std::invalid_argument& e) {
      return sendError(res, invalidArgument(e.what(), std::string(e.what()) + " must be a string"));
    }
    auto out = ctx->service.fileComplaint(f, who->name);
    if (!out) return sendError(res, out.error());
    sendJson(res, *out, 201);
  });

  s.Post(R"(/api/v1/complaints/([^/]+))", [ctx, optField](const httplib::Request& req, httplib::Response& res) {
    auto who = ctx->requireApi(req, res);
    if (!who) return;
    auto body = sync::parseJson(req.body);
    if (!body || !body->is_object()) return sendError(res, invalidArgument("body", "the body is a JSON object"));
    ComplaintUpdate u;
    try {
      u = {optField(*body, "step"), optField(*body, "owner"), optField(*body, "due"), optField(*body, "note")};
    } catch (const std::invalid_argument& e) {
      return sendError(res, invalidArgument(e.what(), std::string(e.what()) + " must be a string"));
    }
    auto out = ctx->service.updateComplaint(req.matches[1].str(), u, who->name);
    if (!out) return sendError(res, out.error());
    sendJson(res, *out);
  });

  // One-time sign-in links (60 s) for scripts that open the dashboard in a browser.
  s.Post("/api/v1/dashboard/tickets", [ctx](const httplib::Request& req, httplib::Response& res) {
    auto who = ctx->requireApi(req, res);
    if (!who) return;
    const Timestamp expires = nowSeconds() + std::chrono::seconds(60);
    const std::string ticket = ctx->service.issueTicket({who->name, who->role == Role::kAdmin ? "admin" : "analyst", who->pii}, expires);
    sendJson(res, {{"ticket", ticket}, {"url", "/dashboard/ticket?t=" + urlEncode(ticket)}, {"expires_at", formatRfc3339(expires)}}, 201);
  });

  s.Get("/dashboard/ticket", [ctx](const httplib::Request& req, httplib::Response& res) {
    const auto user = ctx->service.redeemTicket(req.get_param_value("t"));
    if (!user) return redirect(res, "/dashboard/login");
    const auto [secret, csrf] = ctx->openSession(*user);
    setSessionCookie(res, secret);
    redirect(res, safeNext(req.get_param_value("next")));
  });

  s.Get("/dashboard/login", [](const httplib::Request& req, httplib::Response& res) {
    const std::string csrf = randomToken();
    res.set_header("Set-Cookie", std::string(kLoginCsrfCookie) + "=" + csrf + "; Path=/dashboard/login; Secure; HttpOnly; SameSite=Strict");
    htmlResponse(res, loginPage(langOf(req), csrf, req.has_param("failed")));
  });

  s.Post("/dashboard/login", [ctx](const httplib::Request& req, httplib::Response& res) {
    if (!sameSecret(req.get_param_value("csrf"), cookie(req, kLoginCsrfCookie))) {
      return htmlResponse(res, noticePage("CSRF token missing or wrong: reload the sign-in page."), 403);
    }
    const SignInForm form = signInForm(req);
    const std::string &user = form.user, &password = form.password;
    const bool plausible = form.plausible();
    std::vector<std::string> keys = {Throttle::addressKey(req.remote_addr)};
    if (plausible) keys.push_back(Throttle::accountKey(user));
    const auto tooMany = [&](std::chrono::seconds wait) {
      res.set_header("Retry-After", std::to_string(wait.count()));
      htmlResponse(res, tooManyPage(langOf(req), wait), 429);
    };
    // While locked, not even the right password is checked.
    if (auto wait = ctx->throttle.lockedFor(keys, nowSeconds())) {
      ctx->service.signInFailed(user.substr(0, 64), req.remote_addr, "locked out");
      return tooMany(*wait);
    }
    std::optional<std::string> hash;
    DashboardAccount account;
    if (plausible) {
      if (auto found = ctx->service.account(user)) std::tie(hash, account) = std::move(*found);
    }
    // Unknown names are verified against a dummy hash: the same work, the same time.
    if (!ctx->passwords.verify(hash, password)) {
      ctx->service.signInFailed(user.substr(0, 64), req.remote_addr, hash ? "wrong password" : "unknown user");
      if (auto wait = ctx->throttle.failed(keys, nowSeconds())) return tooMany(*wait);
      return redirect(res, "/dashboard/login?failed=1");
    }
    ctx->throttle.forget(Throttle::accountKey(user));
    const auto [secret, csrf] = ctx->openSession(account);
    setSessionCookie(res, secret);
    redirect(res, "/dashboard");
  });

  s.Post("/dashboard/logout", [ctx](const httplib::Request& req, httplib::Response& res) {
    auto who = ctx->identify(req);
    if (who && !who->csrf.empty() && sameSecret(req.get_param_value("csrf"), who->csrf)) {
      ctx->service.closeSession(cookie(req, kSessionCookie));
    } else if (who) {
      return htmlResponse(res, noticePage("CSRF token missing or wrong."), 403);
    }
    res.set_header("Set-Cookie", std::string(kSessionCookie) + "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
    redirect(res, "/dashboard/login");
  });

  s.Post(R"(/dashboard/complaints/(.+))", [ctx](const httplib::Request& req, httplib::Response& res) {
    auto who = ctx->identify(req);
    if (!who || who->csrf.empty()) return redirect(res, "/dashboard/login");
    if (!sameSecret(req.get_param_value("csrf"), who->csrf)) {
      return htmlResponse(res, noticePage("CSRF token missing or wrong."), 403);
    }
    const ComplaintUpdate u = complaintUpdate(req);
    auto out = ctx->service.updateComplaint(req.matches[1].str(), u, who->name);
    if (!out) {
      const HttpProblem refused = problemFor(out.error());
      return htmlResponse(res, noticePage(refused.detail, "/dashboard/complaints"), refused.status);
    }
    redirect(res, "/dashboard/complaints");
  });

  s.Get(R"(/dashboard/members/([^/]+))", [ctx](const httplib::Request& req, httplib::Response& res) {
    auto who = ctx->identify(req);
    if (!who || who->csrf.empty()) return redirect(res, "/dashboard/login");
    const std::string id = req.matches[1].str();
    Page p{langOf(req), "/dashboard/members/" + id, "", who->csrf, *who};
    json view = pageView(p, req, "member_page");
    const int status = memberView(*ctx, id, p, view);
    htmlResponse(res, renderTemplate("member", view), status);
  });

  // Follow-up visits (followups_routes.cpp): their API and pages, signed in like the dashboard's.
  registerFollowupRoutes(s, service, dashboardAccess(ctx));
  // Outreach messages (outreach_routes.cpp): API, the gateway's callbacks, opt-out, the page.
  registerOutreachRoutes(s, service, dashboardAccess(ctx));

  s.Get(R"(/dashboard(/(stores|customers|satisfaction|complaints|points|audit|staff))?/?)", [ctx](const httplib::Request& req, httplib::Response& res) {
    auto who = ctx->identify(req);
    if (!who || who->csrf.empty()) return redirect(res, "/dashboard/login");
    const std::string page = req.matches[2].matched ? req.matches[2].str() : "overview";
    Page p{langOf(req), page == "overview" ? "/dashboard" : "/dashboard/" + page, "", who->csrf, *who};
    std::string q;
    for (const char* k : {"from", "to", "store"}) {
      if (!req.get_param_value(k).empty()) q += (q.empty() ? "" : "&") + std::string(k) + "=" + urlEncode(req.get_param_value(k));
    }
    p.query = q;
    if (req.has_param("lang")) res.set_header("Set-Cookie", "lhq_lang=" + p.lang + "; Path=/dashboard; Secure; SameSite=Strict");
    json view = pageView(p, req, page);
    if (auto done = pageContent(*ctx, page, p, req, view); !done) {
      const HttpProblem refused = problemFor(done.error());
      view["message"] = refused.detail;
      return htmlResponse(res, renderTemplate("error", view), refused.status);
    }
    htmlResponse(res, renderTemplate(page, view));
  });
}

}  // namespace loyalty::hq
