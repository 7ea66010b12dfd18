#include "loyalty/hq/dashboard.hpp"

#include <sodium.h>

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <sstream>
#include <string_view>
#include <tuple>
#include <vector>

#include "loyalty/hq/analytics.hpp"
#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/crypto.hpp"
#include "loyalty/hq/dashboard_forms.hpp"
#include "loyalty/hq/export.hpp"
#include "loyalty/hq/http_answer.hpp"
#include "loyalty/hq/local_time.hpp"
#include "loyalty/hq/privacy.hpp"
#include "loyalty/hq/report_cache.hpp"
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

std::string esc(const std::string& s) { return htmlEscape(s); }

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
  HqStore& reader;
  std::mutex& readMutex;
  HqStore& writer;
  std::mutex& writeMutex;
  ReportCache& cache;
  Throttle& throttle;
  PasswordVerifier& passwords;

  /// Who sent the request (a bearer token, else a session cookie), or why nobody: a bearer
  /// token's refusal says why (revoked, expired).
  Result<Who> authenticated(const httplib::Request& req) {
    if (const auto token = bearerToken(req)) {
      std::lock_guard lock(readMutex);
      auto p = reader.authenticateToken(*token, nowSeconds());
      if (!p) return p.error();
      return Who{p->name, p->role, "", p->pii};
    }
    const Error nobody{hqerr::kUnauthenticated, "", "an admin or analyst bearer token (or a dashboard session) is required"};
    const std::string s = cookie(req, kSessionCookie);
    if (s.empty() || s.size() > 128) return nobody;
    std::lock_guard lock(readMutex);
    const auto r = reader.connection().query(
        "SELECT name, role, csrf, pii FROM dashboard_sessions WHERE session_hash = $1 AND expires_at > $2",
        {sha256Hex(s), formatRfc3339(nowSeconds())});
    if (r.empty()) return nobody;
    return Who{r.text(0, 0), r.text(0, 1) == "admin" ? Role::kAdmin : Role::kAnalyst, r.text(0, 2), r.integer(0, 3) != 0};
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
      sendProblem(res, {sync::problem::kUnauthenticated, 401, w.error().message});
      res.set_header("WWW-Authenticate", "Bearer");
      return std::nullopt;
    } else if (w->role == Role::kTerminal) {
      sendProblem(res, {sync::problem::kForbidden, 403, "a terminal credential may not use " + req.path});
      return std::nullopt;
    } else if (isWrite(req) && !csrfOk(req, *w)) {
      sendProblem(res, {sync::problem::kForbidden, 403, "a change made with a dashboard session needs its CSRF token (X-CSRF-Token)"});
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
  std::pair<std::string, std::string> openSession(const std::string& name, const std::string& role, bool pii) {
    const std::string secret = randomToken(), csrf = randomToken();
    const Timestamp now = nowSeconds();
    std::lock_guard lock(writeMutex);
    SqlTransaction tx(writer.connection());
    writer.connection().query("DELETE FROM dashboard_sessions WHERE expires_at <= $1", {formatRfc3339(now)});
    writer.connection().query(
        "INSERT INTO dashboard_sessions(session_hash, name, role, csrf, created_at, expires_at, pii) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        {sha256Hex(secret), name, role, csrf, formatRfc3339(now), formatRfc3339(now + kSessionLife), std::int64_t{pii ? 1 : 0}});
    recordAudit(writer.connection(), {formatRfc3339(now), "user:" + name, audit::kSignIn, name, std::nullopt, std::nullopt});
    tx.commit();
    return {secret, csrf};
  }

  /// A refused sign-in, in the audit trail: the name as typed (it may not exist), by address.
  void signInFailed(const std::string& user, const std::string& address, const char* why) {
    const Timestamp now = nowSeconds();
    std::lock_guard lock(writeMutex);
    recordAudit(writer.connection(), {formatRfc3339(now), "address:" + address, audit::kSignInFailed, user, std::nullopt, why});
  }

  void audit(const Who& who, const char* action, const std::string& subject, std::optional<std::int64_t> rows) {
    std::lock_guard lock(writeMutex);
    auditAccess(writer.connection(), who.actor(), action, subject, rows, nowSeconds());
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
                                          "referrals", "satisfaction", "complaints", "points", "campaign"};

/// Runs a parsed report on `r` (complaints: after importCounterComplaints, see runReport).
Result<json> runCall(Reports& r, const ReportCall& c, Timestamp now) {
  const ReportFilter& f = c.filter;
  if (c.name == "summary") return r.summary(f);
  if (c.name == "sales") return r.sales(f, c.group);
  if (c.name == "abc" || c.name == "abc-follow-up") return r.abc(f, c.asOfOn(r, now));
  if (c.name == "rfm") return r.rfm(f, c.asOfOn(r, now));
  if (c.name == "churn") return r.churn(f, c.asOfOn(r, now), c.churnDays);
  if (c.name == "retention") return r.retention(f);
  if (c.name == "referrals") return r.referrals(f);
  if (c.name == "satisfaction") return r.satisfaction(f, c.period);
  if (c.name == "complaints") return r.complaints(f, now);
  if (c.name == "points") return r.points(f);
  if (c.name == "campaign") return r.campaignMembers(f);
  return Error{errc::kNotFound, "report", "no report " + c.name};
}

/// Runs report `name` with the request's parameters, live (complaints first brings counter
/// complaints into the workflow).
Result<json> runReport(Ctx& ctx, const std::string& name, const httplib::Request& req) {
  auto call = parseCall(name, req);
  if (!call) return call.error();
  const Timestamp now = nowSeconds();
  if (name == "complaints") {
    std::lock_guard w(ctx.writeMutex);
    Reports(ctx.writer.connection()).importCounterComplaints(now);
  }
  std::lock_guard lock(ctx.readMutex);
  Reports r(ctx.reader.connection());
  return runCall(r, *call, now);
}

ReportCache::Compute computeOf(ReportCall call) {
  return [call = std::move(call)](SqlConnection& c) -> Result<json> {
    Reports r(c);
    return runCall(r, call, nowSeconds());
  };
}

/// The report through the cache of slow results (report_cache.hpp); complaints are always live
/// (they change without an upload, at head office).
Result<ReportCache::Answer> keptReport(Ctx& ctx, const std::string& name, const httplib::Request& req,
                                       std::optional<std::chrono::seconds> maxAge = std::nullopt) {
  if (name == "complaints") {
    auto out = runReport(ctx, name, req);
    if (!out) return out.error();
    return ReportCache::Answer{std::move(*out), nowSeconds(), false};
  }
  auto call = parseCall(name, req);
  if (!call) return call.error();
  return ctx.cache.get(call->key(), ctx.reader.connection(), ctx.readMutex, computeOf(*call), maxAge);
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

// [SECTION] Inline SVG charts

/// A horizontal bar chart; every bar is a <rect> with its value in data-value and a <title>.
std::string barChart(const std::string& id, const std::vector<std::pair<std::string, double>>& bars, const std::string& unit = "") {
  const int rowH = 22, labelW = 150, width = 640, barW = width - labelW - 90;
  const int height = std::max<int>(rowH, static_cast<int>(bars.size()) * rowH) + 8;
  double max = 0;
  for (const auto& b : bars) max = std::max(max, b.second);
  std::ostringstream o;
  o << "<svg class=\"chart\" data-chart=\"" << esc(id) << "\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width
    << "\" height=\"" << height << "\" viewBox=\"0 0 " << width << " " << height << "\" role=\"img\">";
  int y = 4;
  for (const auto& [label, value] : bars) {
    const int w = max > 0 ? static_cast<int>(value / max * barW) : 0;
    char num[64];
    std::snprintf(num, sizeof num, "%.2f", value);
    std::string shown = num;
    if (shown.size() > 3 && shown.compare(shown.size() - 3, 3, ".00") == 0 && unit.empty()) shown.resize(shown.size() - 3);
    o << "<text x=\"" << labelW - 6 << "\" y=\"" << y + 15 << "\" text-anchor=\"end\" font-size=\"12\">" << esc(label) << "</text>"
      << "<rect x=\"" << labelW << "\" y=\"" << y + 3 << "\" width=\"" << std::max(w, 1) << "\" height=\"" << rowH - 6
      << "\" fill=\"#2f6fb0\" data-value=\"" << num << "\"><title>" << esc(label) << ": " << shown << unit << "</title></rect>"
      << "<text x=\"" << labelW + std::max(w, 1) + 4 << "\" y=\"" << y + 15 << "\" font-size=\"12\">" << shown << unit << "</text>";
    y += rowH;
  }
  o << "</svg>";
  return o.str();
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

// [SECTION] Pages

struct Page {
  std::string lang;
  std::string path;
  std::string query;  ///< the filter's query string, for export links
  std::string csrf;
  Who who;
};

std::string kpi(const std::string& lang, const std::string& key, const std::string& value) {
  return "<div class=\"kpi\"><div class=\"k\">" + esc(tr(lang, key)) + "</div><div class=\"v\" data-key=\"" + esc(key) + "\">" +
         esc(value) + "</div></div>";
}

std::string layout(const Page& p, const httplib::Request& req, const std::string& titleKey, const std::string& body) {
  std::ostringstream o;
  o << "<!doctype html><html lang=\"" << (p.lang == "zh" ? "zh-CN" : "en") << "\"><head><meta charset=\"utf-8\">"
    << "<title>" << esc(tr(p.lang, titleKey)) << " · " << esc(tr(p.lang, "title")) << "</title><style>"
    << "body{font-family:'Noto Sans CJK SC','Noto Sans',sans-serif;margin:0;color:#222}"
    << "header{background:#1d3f66;color:#fff;padding:8px 16px;display:flex;gap:16px;align-items:center}"
    << "header a{color:#fff;text-decoration:none}header a.on{font-weight:bold;text-decoration:underline}"
    << "main{padding:12px 16px}.kpis{display:flex;gap:12px;flex-wrap:wrap}.kpi{border:1px solid #ccd;padding:8px 12px;min-width:120px}"
    << ".kpi .k{font-size:12px;color:#556}.kpi .v{font-size:20px;font-weight:bold}table{border-collapse:collapse;margin:8px 0}"
    << "td,th{border:1px solid #ccd;padding:3px 8px;font-size:13px}th{background:#eef}.late{color:#b00;font-weight:bold}"
    << "form.filter{margin:8px 0}h2{font-size:16px;margin:16px 0 4px}</style></head><body><header><b>"
    << esc(tr(p.lang, "title")) << "</b>";
  std::vector<const char*> pages = {"overview", "stores", "customers", "satisfaction", "complaints", "points"};
  if (p.who.role == Role::kAdmin) pages.push_back("audit");
  for (const char* page : pages) {
    const std::string href = std::string("/dashboard") + (std::string(page) == "overview" ? "" : std::string("/") + page);
    o << "<a href=\"" << href << "\"" << (href == p.path ? " class=\"on\"" : "") << ">" << esc(tr(p.lang, page)) << "</a>";
  }
  o << "<span style=\"flex:1\"></span><a href=\"?lang=" << (p.lang == "zh" ? "en\">English" : "zh\">中文") << "</a>"
    << "<span>" << esc(p.who.name) << "</span><form method=\"post\" action=\"/dashboard/logout\" style=\"margin:0\">"
    << "<input type=\"hidden\" name=\"csrf\" value=\"" << esc(p.csrf) << "\"><button>" << esc(tr(p.lang, "logout"))
    << "</button></form></header><main><h1>" << esc(tr(p.lang, titleKey)) << "</h1>"
    << "<form class=\"filter\" method=\"get\">" << esc(tr(p.lang, "from")) << " <input type=\"date\" name=\"from\" value=\""
    << esc(req.get_param_value("from")) << "\"> " << esc(tr(p.lang, "to")) << " <input type=\"date\" name=\"to\" value=\""
    << esc(req.get_param_value("to")) << "\"> " << esc(tr(p.lang, "store")) << " <input name=\"store\" size=\"12\" value=\""
    << esc(req.get_param_value("store")) << "\"> <button>" << esc(tr(p.lang, "apply")) << "</button></form>" << body
    << "</main></body></html>";
  return o.str();
}

std::string exportLinks(const Page& p, const std::string& report, const std::string& label = "") {
  const std::string q = p.query.empty() ? "" : "?" + p.query;
  return "<p>" + esc(tr(p.lang, "export")) + (label.empty() ? "" : " " + esc(label)) + ": <a href=\"/api/v1/exports/" + report + ".csv" + esc(q) + "\">CSV</a> · <a href=\"/api/v1/exports/" +
         report + ".xlsx" + esc(q) + "\">XLSX</a></p>";
}

// [SECTION] Personal data pages: a member, the audit trail

std::string memberLink(const std::string& id) {
  return "<a href=\"/dashboard/members/" + esc(urlEncode(id)) + "\">" + esc(id) + "</a>";
}

std::string cell(const json& v) { return "<td>" + esc(text(v)) + "</td>"; }

/// The member's profile, consent history and changes at counters, as `p.who` may see them; the
/// read is audited. Sets `status` for a member who is unknown (404) or erased (410).
std::string memberBody(Ctx& ctx, const std::string& id, const Page& p, int& status) {
  const auto& L = p.lang;
  Result<json> m = Error{};
  json consents, changes;
  {
    std::lock_guard lock(ctx.readMutex);
    m = ctx.reader.member(id);
    if (m) {
      SqlTransaction tx(ctx.reader.connection(), SqlTransaction::Kind::kRead);
      consents = consentHistory(ctx.reader.connection(), (*m)["member_id"].get<std::string>());
      changes = memberChanges(ctx.reader.connection(), (*m)["member_id"].get<std::string>());
      tx.commit();
    }
  }
  if (!m && m.error().code == hqerr::kGone) {
    status = 410;
    return "<p class=\"error\" data-key=\"erased\">" + esc(tr(L, "erased")) + "</p><p>" + esc(m.error().message) + "</p>";
  }
  if (!m) {
    status = 404;
    return "<p class=\"error\">" + esc(tr(L, "no_member")) + "</p>";
  }
  protectPersonalData(*m, p.who.seesAll());
  ctx.audit(p.who, audit::kMemberRead, id, std::nullopt);
  std::ostringstream o;
  if (!p.who.seesAll()) o << "<p class=\"note\">" << esc(tr(L, "masked")) << "</p>";
  o << "<table class=\"profile\">";
  const auto row = [&](const char* key, const json& v) {
    o << "<tr><th>" << esc(tr(L, key)) << "</th><td data-key=\"member:" << key << "\">" << esc(text(v)) << "</td></tr>";
  };
  row("card_no", (*m)["card_no"]);
  row("name", (*m)["name"]);
  row("phone", (*m)["phone"]);
  if (m->contains("birthday")) row("birthday", (*m)["birthday"]);
  row("tier", (*m)["tier"]);
  row("balance", (*m)["balance"]);
  row("lifetime_spend", (*m)["lifetime_spend"]);
  row("enrolled", text((*m)["enrolled_at"]) + " · " + text((*m)["enrolled_store"]));
  row("consent", tr(L, (*m)["consent_marketing"].get<bool>() ? "yes" : "no") + " · " + text((*m)["consent_version"]) + " · " +
                     text((*m)["consent_at"]) + " · " + text((*m)["consent_store"]));
  o << "</table><h2>" << esc(tr(L, "consent_history")) << "</h2><table><tr><th>" << esc(tr(L, "at")) << "</th><th>"
    << esc(tr(L, "consent")) << "</th><th>" << esc(tr(L, "version")) << "</th><th>" << esc(tr(L, "store")) << "</th><th>"
    << esc(tr(L, "terminal")) << "</th><th>" << esc(tr(L, "staff")) << "</th></tr>";
  for (const auto& c : consents) {
    o << "<tr>" << cell(c["at"]) << cell(tr(L, c["consent_marketing"].get<bool>() ? "yes" : "no")) << cell(c["consent_version"])
      << cell(c["store_id"]) << cell(c["terminal_id"]) << cell(c["staff_id"]) << "</tr>";
  }
  o << "</table><h2>" << esc(tr(L, "member_changes")) << "</h2><table><tr><th>" << esc(tr(L, "at")) << "</th><th>"
    << esc(tr(L, "fields")) << "</th><th>" << esc(tr(L, "store")) << "</th><th>" << esc(tr(L, "terminal")) << "</th><th>"
    << esc(tr(L, "staff")) << "</th></tr>";
  for (const auto& c : changes) {
    std::string fields;
    for (const auto& f : c["fields"]) fields += (fields.empty() ? "" : ", ") + text(f);
    o << "<tr>" << cell(c["at"]) << cell(fields) << cell(c["store_id"]) << cell(c["terminal_id"]) << cell(c["staff_id"]) << "</tr>";
  }
  o << "</table>";
  return o.str();
}

/// A page of the audit trail (50 entries), newest first unless `order=asc`.
Result<std::string> auditBody(Ctx& ctx, const Page& p, const httplib::Request& req) {
  const auto& L = p.lang;
  const std::string order = param(req, "order").value_or("desc");
  Result<json> a = Error{};
  {
    std::lock_guard lock(ctx.readMutex);
    a = auditListing(ctx.reader.connection(), param(req, "from"), param(req, "to"), std::string("50"), param(req, "offset"),
                     order);
  }
  if (!a) return a.error();
  const std::int64_t offset = (*a)["page"]["offset"].get<std::int64_t>();
  const auto href = [&](const std::string& ord, std::int64_t off) {
    return esc("/dashboard/audit?" + p.query + (p.query.empty() ? "" : "&") + "order=" + ord + "&offset=" + std::to_string(off));
  };
  std::ostringstream o;
  o << "<p class=\"order\"><a href=\"" << href("desc", 0) << "\"" << (order == "desc" ? " class=\"on\"" : "") << ">"
    << esc(tr(L, "newest_first")) << "</a> · <a href=\"" << href("asc", 0) << "\"" << (order == "asc" ? " class=\"on\"" : "")
    << ">" << esc(tr(L, "oldest_first")) << "</a></p><table class=\"audit\"><tr>";
  for (const char* k : {"at", "actor", "action", "subject", "rows", "detail"}) o << "<th>" << esc(tr(L, k)) << "</th>";
  o << "</tr>";
  for (const auto& e : (*a)["entries"]) {
    o << "<tr class=\"entry\">";
    for (const char* k : {"at", "actor", "action", "subject", "rows", "detail"}) o << cell(e.value(k, json(nullptr)));
    o << "</tr>";
  }
  o << "</table>";
  if ((*a)["entries"].empty()) o << "<p>" << esc(tr(L, "no_entries")) << "</p>";
  o << "<p class=\"pager\">";
  if (offset > 0) o << "<a rel=\"prev\" href=\"" << href(order, std::max<std::int64_t>(0, offset - 50)) << "\">" << esc(tr(L, "previous")) << "</a> ";
  if ((*a)["has_more"].get<bool>()) o << "<a rel=\"next\" href=\"" << href(order, offset + 50) << "\">" << esc(tr(L, "next")) << "</a>";
  o << "</p>";
  return o.str();
}

Result<std::string> pageBody(Ctx& ctx, const std::string& page, const Page& p, const httplib::Request& req) {
  const auto& L = p.lang;
  std::ostringstream o;
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
    o << "<div class=\"kpis\">" << kpi(L, "sales", text((*s)["sales"])) << kpi(L, "net_revenue", text((*s)["net_revenue"]))
      << kpi(L, "members", text((*s)["members"])) << kpi(L, "member_revenue", text((*s)["member_revenue"]))
      << kpi(L, "non_member_revenue", text((*s)["non_member_revenue"])) << "</div>";
    std::vector<std::pair<std::string, double>> bars;
    const auto& rows = (*d)["rows"];
    const std::size_t first = rows.size() > 31 ? rows.size() - 31 : 0;
    for (std::size_t i = first; i < rows.size(); ++i) bars.emplace_back(text(rows[i]["day"]), num(rows[i]["net_revenue"]));
    o << "<h2>" << esc(tr(L, "by_day")) << "</h2>" << barChart("revenue-by-day", bars);
    bars.clear();
    for (const auto& r : (*m)["rows"]) bars.emplace_back(tr(L, text(r["member"])), num(r["net_revenue"]));
    o << "<h2>" << esc(tr(L, "member_revenue")) << "</h2>" << barChart("member-split", bars) << exportLinks(p, "summary");
  } else if (page == "stores") {
    auto st = get("sales", {{"group", "store"}});
    if (!st) return st.error();
    auto h = get("sales", {{"group", "hour"}});
    if (!h) return h.error();
    std::vector<std::pair<std::string, double>> bars;
    o << "<table><tr><th>" << esc(tr(L, "store")) << "</th><th>" << esc(tr(L, "sales")) << "</th><th>" << esc(tr(L, "net_revenue"))
      << "</th></tr>";
    for (const auto& r : (*st)["rows"]) {
      const std::string id = text(r["store"]);
      o << "<tr><td>" << esc(id) << "</td><td data-key=\"store:" << esc(id) << ":sales\">" << text(r["sales"])
        << "</td><td data-key=\"store:" << esc(id) << ":net_revenue\">" << esc(text(r["net_revenue"])) << "</td></tr>";
      bars.emplace_back(id, num(r["net_revenue"]));
    }
    o << "</table><h2>" << esc(tr(L, "by_store")) << "</h2>" << barChart("revenue-by-store", bars);
    bars.clear();
    for (const auto& r : (*h)["rows"]) bars.emplace_back(text(r["hour"]) + ":00", num(r["sales"]));
    o << "<h2>" << esc(tr(L, "by_hour")) << "</h2>" << barChart("sales-by-hour", bars) << exportLinks(p, "sales");
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
    o << "<h2>" << esc(tr(L, "abc")) << "</h2><table><tr><th>" << esc(tr(L, "class")) << "</th><th>" << esc(tr(L, "members"))
      << "</th><th>" << esc(tr(L, "net_revenue")) << "</th><th>" << esc(tr(L, "frequency")) << "</th></tr>";
    for (const auto& k : (*a)["classes"]) {
      const std::string cls = text(k["class"]);
      o << "<tr><td>" << cls << "</td><td data-key=\"abc:" << cls << "\">" << text(k["members"]) << "</td><td>"
        << esc(text(k["spend"])) << "</td><td>" << esc(tr(L, text(k["contact_frequency"]))) << "</td></tr>";
      bars.emplace_back(cls, num(k["members"]));
    }
    o << "</table>" << barChart("abc", bars) << exportLinks(p, "abc", tr(L, "abc")) << exportLinks(p, "abc-follow-up", tr(L, "follow_up"));
    bars.clear();
    o << "<h2>" << esc(tr(L, "rfm")) << "</h2><table><tr><th>" << esc(tr(L, "segment")) << "</th><th>" << esc(tr(L, "members"))
      << "</th></tr>";
    for (const auto& s : (*r)["segments"]) {
      o << "<tr><td>" << esc(tr(L, "seg_" + text(s["segment"]))) << "</td><td data-key=\"rfm:" << esc(text(s["segment"])) << "\">"
        << text(s["members"]) << "</td></tr>";
      bars.emplace_back(tr(L, "seg_" + text(s["segment"])), num(s["members"]));
    }
    o << "</table>" << barChart("rfm", bars) << exportLinks(p, "rfm");
    o << "<h2>" << esc(tr(L, "churn")) << "</h2><div class=\"kpis\">" << kpi(L, "at_risk", text((*c)["at_risk"])) << "</div><table><tr><th>ID</th><th>"
      << esc(tr(L, "last_visit")) << "</th><th>" << esc(tr(L, "usual_interval")) << "</th><th>" << esc(tr(L, "days_since"))
      << "</th></tr>";
    for (const auto& m : (*c)["members"]) {
      o << "<tr><td>" << memberLink(text(m["member_id"])) << "</td><td>" << esc(text(m["last_visit"])) << "</td><td>"
        << esc(text(m["usual_interval_days"])) << "</td><td>" << text(m["days_since_visit"]) << "</td></tr>";
    }
    o << "</table>" << exportLinks(p, "churn");
  } else if (page == "satisfaction") {
    auto s = get("satisfaction");
    if (!s) return s.error();
    const auto& t = (*s)["total"];
    o << "<div class=\"kpis\">" << kpi(L, "csat", text(t["csat"])) << kpi(L, "nps", text(t["nps"]))
      << kpi(L, "responses", std::to_string(t["csat_responses"].get<std::int64_t>() + t["nps_responses"].get<std::int64_t>()))
      << "</div><table><tr><th>" << esc(tr(L, "store")) << "</th><th>" << esc(tr(L, "csat")) << "</th><th>" << esc(tr(L, "nps"))
      << "</th><th>" << esc(tr(L, "responses")) << "</th></tr>";
    std::vector<std::pair<std::string, double>> csat, nps;
    for (const auto& r : (*s)["rows"]) {
      const std::string id = text(r["store"]);
      o << "<tr><td>" << esc(id) << "</td><td data-key=\"csat:" << esc(id) << "\">" << text(r["csat"]) << "</td><td data-key=\"nps:"
        << esc(id) << "\">" << text(r["nps"]) << "</td><td>"
        << r["csat_responses"].get<std::int64_t>() + r["nps_responses"].get<std::int64_t>() << "</td></tr>";
      csat.emplace_back(id, num(r["csat"]));
      nps.emplace_back(id, std::max(0.0, num(r["nps"])));
    }
    o << "</table><h2>" << esc(tr(L, "csat")) << "</h2>" << barChart("csat-by-store", csat, "%") << "<h2>" << esc(tr(L, "nps"))
      << "</h2>" << barChart("nps-by-store", nps) << exportLinks(p, "satisfaction");
  } else if (page == "complaints") {
    auto c = get("complaints");
    if (!c) return c.error();
    o << "<div class=\"kpis\">" << kpi(L, "total", text((*c)["total"])) << kpi(L, "open", text((*c)["open"]))
      << kpi(L, "overdue", text((*c)["overdue"])) << "</div>";
    std::vector<std::pair<std::string, double>> bars;
    for (const auto& s : (*c)["steps"]) bars.emplace_back(tr(L, text(s["step"])), num(s["complaints"]));
    o << barChart("complaints-by-step", bars) << "<table><tr><th>ID</th><th>" << esc(tr(L, "store")) << "</th><th>"
      << esc(tr(L, "step")) << "</th><th>" << esc(tr(L, "owner")) << "</th><th>" << esc(tr(L, "due")) << "</th><th></th></tr>";
    std::size_t shown = 0;
    for (const auto& r : (*c)["rows"]) {
      if (++shown > 200) break;
      const std::string id = text(r["complaint_id"]);
      o << "<tr><td title=\"" << esc(text(r["description"])) << "\">" << esc(id) << "</td><td>" << esc(text(r["store"]))
        << "</td><td>" << esc(tr(L, text(r["step"]))) << "</td><td>" << esc(text(r["owner"])) << "</td><td"
        << (r["overdue"].get<bool>() ? " class=\"late\"" : "") << ">" << esc(text(r["due_at"])) << "</td><td>"
        << "<form method=\"post\" action=\"/dashboard/complaints/" << esc(urlEncode(id)) << "\"><input type=\"hidden\" name=\"csrf\" value=\""
        << esc(p.csrf) << "\"><select name=\"step\">";
      for (const auto& s : complaintSteps()) {
        o << "<option value=\"" << s << "\"" << (s == text(r["step"]) ? " selected" : "") << ">" << esc(tr(L, s)) << "</option>";
      }
      o << "</select> <input name=\"owner\" size=\"8\" placeholder=\"" << esc(tr(L, "owner")) << "\"> <input name=\"note\" size=\"16\" placeholder=\""
        << esc(tr(L, "note")) << "\"> <button>" << esc(tr(L, "update")) << "</button></form></td></tr>";
    }
    o << "</table>" << exportLinks(p, "complaints");
  } else if (page == "points") {
    auto pt = get("points");
    if (!pt) return pt.error();
    o << "<div class=\"kpis\">" << kpi(L, "issued", text((*pt)["issued"])) << kpi(L, "redeemed", text((*pt)["redeemed"]))
      << kpi(L, "expired", text((*pt)["expired"])) << kpi(L, "outstanding", text((*pt)["outstanding"]))
      << kpi(L, "liability", text((*pt)["liability"])) << kpi(L, "debt", text((*pt)["debt_points"]))
      << kpi(L, "overdrafts", text((*pt)["overdrafts"])) << "</div>";
    std::vector<std::pair<std::string, double>> bars = {{tr(L, "issued"), num((*pt)["issued"])},
                                                        {tr(L, "redeemed"), num((*pt)["redeemed"])},
                                                        {tr(L, "expired"), num((*pt)["expired"])},
                                                        {tr(L, "outstanding"), num((*pt)["outstanding"])}};
    o << barChart("points-flow", bars) << exportLinks(p, "points");
  } else if (page == "audit") {
    if (p.who.role != Role::kAdmin) return Error{errc::kForbidden, "page", "the audit trail is for admins"};
    auto a = auditBody(ctx, p, req);
    if (!a) return a.error();
    o << *a;
  } else {
    return Error{errc::kNotFound, "page", "no dashboard page " + page};
  }
  if (!keptAt) return o.str();
  // Some figures are a result computed earlier (they take seconds to rank every member).
  return "<p class=\"asof\" data-key=\"computed_at\">" + esc(tr(L, "computed_at")) + " " + formatRfc3339(*keptAt) + " (UTC)</p>" +
         o.str();
}

std::string loginPage(const std::string& lang, const std::string& csrf, bool failed) {
  std::ostringstream o;
  o << "<!doctype html><html lang=\"" << (lang == "zh" ? "zh-CN" : "en") << "\"><head><meta charset=\"utf-8\"><title>"
    << esc(tr(lang, "login")) << "</title><style>body{font-family:'Noto Sans CJK SC',sans-serif;margin:40px}"
    << "input{display:block;margin:6px 0 12px}</style></head><body><h1>" << esc(tr(lang, "title")) << "</h1>"
    << (failed ? "<p class=\"error\" style=\"color:#b00\">" + esc(tr(lang, "bad_login")) + "</p>" : "")
    << "<form method=\"post\" action=\"/dashboard/login\"><input type=\"hidden\" name=\"csrf\" value=\"" << esc(csrf) << "\">"
    << "<label>" << esc(tr(lang, "user")) << "<input name=\"user\" autocomplete=\"username\"></label><label>"
    << esc(tr(lang, "password")) << "<input type=\"password\" name=\"password\" autocomplete=\"current-password\"></label>"
    << "<button>" << esc(tr(lang, "login")) << "</button></form></body></html>";
  return o.str();
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
  const std::string when = formatRfc3339(nowSeconds() + wait);
  return "<!doctype html><html lang=\"" + std::string(lang == "zh" ? "zh-CN" : "en") + "\"><head><meta charset=\"utf-8\"><title>" +
         esc(tr(lang, "login")) + "</title></head><body><h1>" + esc(tr(lang, "title")) + "</h1><p class=\"error\" data-retry-after=\"" +
         std::to_string(wait.count()) + "\">" + esc(tr(lang, "too_many")) + " " + esc(when) + " (UTC)</p><p><a href=\"/dashboard/login\">" +
         esc(tr(lang, "login")) + "</a></p></body></html>";
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

void registerAnalyticsRoutes(httplib::Server& s, HqStore& reader, std::mutex& readMutex, HqStore& writer, std::mutex& writeMutex,
                             ReportCache& cache, Throttle& throttle, PasswordVerifier& passwords) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium cannot start");
  {
    std::lock_guard lock(writeMutex);
    ensureAnalyticsSchema(writer.connection());
    ensurePrivacySchema(writer.connection());  // pii on the dashboard tables of an older database
  }
  auto ctx = std::make_shared<Ctx>(Ctx{reader, readMutex, writer, writeMutex, cache, throttle, passwords});
  // The dashboard's default views that rank every member, kept warm from the start.
  for (const auto& [name, params] : std::vector<std::pair<std::string, httplib::Params>>{
           {"summary", {}}, {"abc", {{"limit", "1"}}}, {"rfm", {{"limit", "1"}}}, {"churn", {{"limit", "50"}}}}) {
    httplib::Request req;
    req.params = params;
    auto call = parseCall(name, req);
    if (call) cache.pin(call->key(), computeOf(*call));
  }

  s.Get(R"(/api/v1/reports/(rfm|churn|retention|referrals|satisfaction|complaints|points|campaign|summary|sales|abc))",
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
      return sendProblem(res, {sync::problem::kNotFound, 404, "no report " + name + " to export"});
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
    {
      std::lock_guard w(ctx->writeMutex);
      Reports(ctx->writer.connection()).importCounterComplaints(nowSeconds());
    }
    std::lock_guard lock(ctx->readMutex);
    auto out = Reports(ctx->reader.connection()).complaint(req.matches[1].str());
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
    if (!body || !body->is_object()) return sendProblem(res, {sync::problem::kBadRequest, 400, "the body is a JSON object"});
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
      return sendProblem(res, {sync::problem::kBadRequest, 400, std::string(e.what()) + " must be a string"});
    }
    std::lock_guard lock(ctx->writeMutex);
    auto out = Reports(ctx->writer.connection()).fileComplaint(f, who->name, nowSeconds());
    if (!out) return sendError(res, out.error());
    sendJson(res, *out, 201);
  });

  s.Post(R"(/api/v1/complaints/([^/]+))", [ctx, optField](const httplib::Request& req, httplib::Response& res) {
    auto who = ctx->requireApi(req, res);
    if (!who) return;
    auto body = sync::parseJson(req.body);
    if (!body || !body->is_object()) return sendProblem(res, {sync::problem::kBadRequest, 400, "the body is a JSON object"});
    ComplaintUpdate u;
    try {
      u = {optField(*body, "step"), optField(*body, "owner"), optField(*body, "due"), optField(*body, "note")};
    } catch (const std::invalid_argument& e) {
      return sendProblem(res, {sync::problem::kBadRequest, 400, std::string(e.what()) + " must be a string"});
    }
    std::lock_guard lock(ctx->writeMutex);
    auto out = Reports(ctx->writer.connection()).updateComplaint(req.matches[1].str(), u, who->name, nowSeconds());
    if (!out) return sendError(res, out.error());
    sendJson(res, *out);
  });

  // One-time sign-in links (60 s) for scripts that open the dashboard in a browser.
  s.Post("/api/v1/dashboard/tickets", [ctx](const httplib::Request& req, httplib::Response& res) {
    auto who = ctx->requireApi(req, res);
    if (!who) return;
    const std::string ticket = randomToken();
    const Timestamp now = nowSeconds();
    std::lock_guard lock(ctx->writeMutex);
    ctx->writer.connection().query(
        "INSERT INTO dashboard_tickets(ticket_hash, name, role, expires_at, pii) VALUES ($1, $2, $3, $4, $5)",
        {sha256Hex(ticket), who->name, std::string(who->role == Role::kAdmin ? "admin" : "analyst"),
         formatRfc3339(now + std::chrono::seconds(60)), std::int64_t{who->pii ? 1 : 0}});
    sendJson(res, {{"ticket", ticket}, {"url", "/dashboard/ticket?t=" + urlEncode(ticket)}, {"expires_at", formatRfc3339(now + std::chrono::seconds(60))}}, 201);
  });

  s.Get("/dashboard/ticket", [ctx](const httplib::Request& req, httplib::Response& res) {
    const std::string t = req.get_param_value("t");
    std::optional<std::tuple<std::string, std::string, bool>> user;
    {
      std::lock_guard lock(ctx->writeMutex);
      SqlTransaction tx(ctx->writer.connection());
      const auto r = ctx->writer.connection().query(
          "UPDATE dashboard_tickets SET used_at = $2 WHERE ticket_hash = $1 AND used_at IS NULL AND expires_at > $2 "
          "RETURNING name, role, pii",
          {sha256Hex(t), formatRfc3339(nowSeconds())});
      tx.commit();
      if (!r.empty()) user = {{r.text(0, 0), r.text(0, 1), r.integer(0, 2) != 0}};
    }
    if (!user) return redirect(res, "/dashboard/login");
    const auto [secret, csrf] = ctx->openSession(std::get<0>(*user), std::get<1>(*user), std::get<2>(*user));
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
      return htmlResponse(res, "<!doctype html><p>CSRF token missing or wrong: reload the sign-in page.</p>", 403);
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
      ctx->signInFailed(user.substr(0, 64), req.remote_addr, "locked out");
      return tooMany(*wait);
    }
    std::optional<std::string> hash, role;
    bool pii = false;
    if (plausible) {
      std::lock_guard lock(ctx->readMutex);
      const auto row = ctx->reader.connection().query(
          "SELECT password_hash, role, pii FROM dashboard_users WHERE name = $1 AND disabled_at IS NULL", {user});
      if (!row.empty()) {
        hash = row.text(0, 0);
        role = row.text(0, 1);
        pii = row.integer(0, 2) != 0;
      }
    }
    // Unknown names are verified against a dummy hash: the same work, the same time.
    if (!ctx->passwords.verify(hash, password)) {
      ctx->signInFailed(user.substr(0, 64), req.remote_addr, hash ? "wrong password" : "unknown user");
      if (auto wait = ctx->throttle.failed(keys, nowSeconds())) return tooMany(*wait);
      return redirect(res, "/dashboard/login?failed=1");
    }
    ctx->throttle.forget(Throttle::accountKey(user));
    const auto [secret, csrf] = ctx->openSession(user, *role, pii);
    setSessionCookie(res, secret);
    redirect(res, "/dashboard");
  });

  s.Post("/dashboard/logout", [ctx](const httplib::Request& req, httplib::Response& res) {
    auto who = ctx->identify(req);
    if (who && !who->csrf.empty() && sameSecret(req.get_param_value("csrf"), who->csrf)) {
      std::lock_guard lock(ctx->writeMutex);
      ctx->writer.connection().query("DELETE FROM dashboard_sessions WHERE session_hash = $1", {sha256Hex(cookie(req, kSessionCookie))});
    } else if (who) {
      return htmlResponse(res, "<!doctype html><p>CSRF token missing or wrong.</p>", 403);
    }
    res.set_header("Set-Cookie", std::string(kSessionCookie) + "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
    redirect(res, "/dashboard/login");
  });

  s.Post(R"(/dashboard/complaints/(.+))", [ctx](const httplib::Request& req, httplib::Response& res) {
    auto who = ctx->identify(req);
    if (!who || who->csrf.empty()) return redirect(res, "/dashboard/login");
    if (!sameSecret(req.get_param_value("csrf"), who->csrf)) {
      return htmlResponse(res, "<!doctype html><p>CSRF token missing or wrong.</p>", 403);
    }
    const ComplaintUpdate u = complaintUpdate(req);
    Result<json> out = Error{};
    {
      std::lock_guard lock(ctx->writeMutex);
      out = Reports(ctx->writer.connection()).updateComplaint(req.matches[1].str(), u, who->name, nowSeconds());
    }
    if (!out) {
      return htmlResponse(res, "<!doctype html><p>" + esc(out.error().field + ": " + out.error().message) +
                                   "</p><p><a href=\"/dashboard/complaints\">back</a></p>",
                          out.error().code == errc::kNotFound ? 404 : 400);
    }
    redirect(res, "/dashboard/complaints");
  });

  s.Get(R"(/dashboard/members/([^/]+))", [ctx](const httplib::Request& req, httplib::Response& res) {
    auto who = ctx->identify(req);
    if (!who || who->csrf.empty()) return redirect(res, "/dashboard/login");
    const std::string id = req.matches[1].str();
    Page p{langOf(req), "/dashboard/members/" + id, "", who->csrf, *who};
    int status = 200;
    const std::string body = memberBody(*ctx, id, p, status);
    htmlResponse(res, layout(p, req, "member_page", body), status);
  });

  s.Get(R"(/dashboard(/(stores|customers|satisfaction|complaints|points|audit))?/?)", [ctx](const httplib::Request& req, httplib::Response& res) {
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
    auto body = pageBody(*ctx, page, p, req);
    if (!body) {
      return htmlResponse(res, layout(p, req, page, "<p class=\"error\">" + esc(body.error().field + ": " + body.error().message) + "</p>"),
                          body.error().code == errc::kForbidden ? 403 : 400);
    }
    htmlResponse(res, layout(p, req, page, *body));
  });
}

}  // namespace loyalty::hq
