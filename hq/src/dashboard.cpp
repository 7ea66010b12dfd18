#include "loyalty/hq/dashboard.hpp"

#include <sodium.h>

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>
#include <vector>

#include "loyalty/hq/analytics.hpp"
#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/complaints.hpp"
#include "loyalty/hq/charts.hpp"
#include "loyalty/hq/credentials.hpp"
#include "loyalty/hq/crypto.hpp"
#include "loyalty/hq/dashboard_access.hpp"
#include "loyalty/hq/dashboard_forms.hpp"
#include "loyalty/hq/export.hpp"
#include "loyalty/hq/fleet.hpp"
#include "loyalty/hq/followups.hpp"
#include "loyalty/hq/members.hpp"
#include "loyalty/hq/outreach.hpp"
#include "loyalty/hq/page_words.hpp"
#include "loyalty/hq/http_answer.hpp"
#include "loyalty/hq/local_time.hpp"
#include "loyalty/hq/number_format.hpp"
#include "loyalty/core/money.hpp"
#include "loyalty/hq/privacy.hpp"
#include "loyalty/hq/promotions.hpp"
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
  std::function<void(const httplib::Request&)> started;  ///< a handler is at work on the request

  /// Who sent the request (a bearer token, else a session cookie), or why nobody: a bearer
  /// token's refusal says why (revoked, expired).
  Result<Who> authenticated(const httplib::Request& req) {
    if (started) started(req);
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
    } else if (auto nul = refuseNulParameters(req); !nul) {  // a form body's fields, read by now
      sendError(res, nul.error());
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

  static std::chrono::seconds sessionLife() { return std::chrono::duration_cast<std::chrono::seconds>(kSessionLife); }

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

/// The stores head office knows (those with a terminal), in order.
std::vector<std::string> knownStores(Ctx& ctx) {
  return ctx.service.onReader([](SqlConnection& c) {
    SqlTransaction tx(c, SqlTransaction::Kind::kRead);
    const auto r = c.query("SELECT DISTINCT store_id FROM terminals ORDER BY store_id", {});
    tx.commit();
    std::vector<std::string> out;
    for (std::size_t i = 0; i < r.size(); ++i) out.push_back(r.text(i, 0));
    return out;
  });
}

/// A report's call from the request: a store filter naming a store head office does not know
/// (a typo, "s001" for "S001") is refused by name instead of answering zeros.
Result<ReportCall> checkedCall(Ctx& ctx, const std::string& name, const httplib::Request& req) {
  auto call = parseCall(name, req);
  if (!call) return call.error();
  if (!call->filter.stores.empty()) {
    const std::vector<std::string> known = knownStores(ctx);
    for (const auto& s : call->filter.stores) {
      if (std::find(known.begin(), known.end(), s) == known.end()) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        return invalidArgument("store", "store " + s + " is unknown (known stores: " + (list.empty() ? "none" : list) + ")");
      }
    }
  }
  return call;
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
    {"by_store", "Net revenue by store: the top 20", "各门店净销售额（前 20 名）"},
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
    {"computing", "Being computed in the background; this page reloads itself in a few seconds.",
     "后台正在计算，本页将在几秒后自动刷新。"},
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
    {"local_at", "Time", "时间"},
    {"times_local", "Times are the store's local time.", "时间均为门店当地时间。"},
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
    // Member 360 (members_routes.cpp has its pages' own words)
    {"member_search", "Member search", "会员查询"},
    {"complaints_col", "Complaints", "投诉数"},
    {"staff_count", "Staff members", "员工人数"},
    {"by_staff", "Net revenue by staff member: the top 20", "各员工净销售额（前 20 名）"},
    {"staff_note", "Refunds count for whoever processed them. Staff are the counters' sign-in ids; — : not recorded.",
     "退货计入办理退货的员工。员工为收银台登录编号；—：未记录。"},
    {"dimensions", "Ratings by aspect (average, 1–5)", "分项评分（平均分，1–5）"},
    {"dimensions_note", "The aspects the customer display asked about; — : no answers.", "顾客屏询问的服务分项；—：暂无评价。"},
    // Promotions (promotions_routes.cpp has its pages' own words)
    {"programme", "Programme", "会员程序"},
    {"promotions", "Promotions", "促销效果"},
    // Complaint care and the fleet page (complaints_routes.cpp, terminals_page.cpp)
    {"terminals", "Terminals", "终端管理"},
    // Charts (charts_routes.cpp has its pages' own words)
    {"charts", "Charts", "图表分析"},
    {"lifecycle", "Lifecycle", "生命周期"},
    {"pareto_link", "the Pareto chart and the ABC mix beside the ideal", "帕累托图及 ABC 客户结构与理想对比"},
    // Also seen (issue 20 item 9): words of the shared frame, tables and notes
    {"all_stores", "All stores", "全部门店"},
    {"not_found_title", "Page not found", "页面不存在"},
    {"not_found", "There is no such page on the dashboard.", "总部后台没有这个页面。"},
    {"buyers", "Members who bought", "消费会员数"},
    {"buyers_note", "Members who bought: members with at least one sale in the dates and stores chosen (all time without dates).",
     "消费会员数：所选日期和门店内至少消费一次的会员（未选日期时为全部时间）。"},
    {"by_month", "Net revenue by month", "每月净销售额"},
    {"csat_responses", "CSAT answers", "满意度答卷数"},
    {"nps_responses", "NPS answers", "NPS 答卷数"},
    {"responses_note", "CSAT and NPS are separate questions, counted apart; — : no answers.",
     "满意度和 NPS 是两个不同的问题，答卷分别计数；—：暂无答卷。"},
    {"reversed", "Reversed on returns", "退货冲回积分"},
    {"adjusted_out", "Adjusted out", "调减积分"},
    {"balances", "Balances now", "当前余额"},
    {"movements", "Movements in the period", "期间积分变动"},
    {"balances_note", "Balances are today's, of the members enrolled at the stores chosen.", "余额为今天的余额，按会员入会门店筛选。"},
    {"balances_note_filtered", "Balances are today's, of the members enrolled at the stores chosen: the dates do not apply to them.",
     "余额为今天的余额，按会员入会门店筛选：日期筛选不适用于余额。"},
    {"as_of", "As of", "截至"},
    {"churn_order", "most valuable first (spend in the period)", "按消费额从高到低排列"},
    {"showing", "Showing", "显示第"},
    {"of", "of", "条，共"},
    {"spend", "Spend", "消费额"},
    {"reason_interval", "Usual interval passed twice", "超过平均间隔两倍"},
    {"reason_days", "No visit for the set days", "超过设定天数未到店"},
    {"campaign_export", "Campaign list (members who consented)", "营销名单（已授权会员）"},
    {"referrals_export", "Referrals", "推荐记录"},
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
  // Bars grow from a zero line: right for positive values, left for negative ones (an NPS of
  // -6.5 is a bar, not a clamp to 0).
  double max = 0, min = 0;
  for (const auto& b : bars) {
    max = std::max(max, b.second);
    min = std::min(min, b.second);
  }
  const double span = max - min;
  const int zeroX = labelW + (span > 0 ? static_cast<int>(-min / span * barW) : 0);
  json out = {{"id", id}, {"width", width}, {"height", height}, {"unit", unit}, {"bars", json::array()},
              {"zero_x", zeroX}, {"has_negative", min < 0}};
  int y = 4;
  for (const auto& [label, value] : bars) {
    const int w = std::max(span > 0 ? static_cast<int>(std::abs(value) / span * barW) : 0, 1);
    char num[64];
    std::snprintf(num, sizeof num, "%.2f", value);
    std::string shown = num;
    if (shown.size() > 3 && shown.compare(shown.size() - 3, 3, ".00") == 0 && unit.empty()) shown.resize(shown.size() - 3);
    shown = groupThousands(shown);
    const bool negative = value < 0;
    out["bars"].push_back({{"label", label}, {"label_x", labelW - 6}, {"text_y", y + 15}, {"bar_x", negative ? zeroX - w : zeroX},
                           {"rect_y", y + 3}, {"bar_w", w}, {"bar_h", rowH - 6}, {"value", std::string(num)}, {"shown", shown},
                           {"value_x", negative ? zeroX + 4 : zeroX + w + 4}, {"fill", negative ? "#b04a2f" : "#2f6fb0"}});
    y += rowH;
  }
  out["axis_y2"] = y + 2;
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
  pages.insert(pages.end(), {"programme", "promotions"});
  if (p.who.role == Role::kAdmin) pages.push_back("terminals");
  pages.insert(pages.end(), {"charts", "lifecycle"});
  pages.push_back("outreach");
  if (p.who.role == Role::kAdmin) pages.push_back("audit");
  json nav = json::array();
  for (const char* page : pages) {
    const std::string href = std::string("/dashboard") + (std::string(page) == "overview" ? "" : std::string("/") + page);
    nav.push_back({{"href", href}, {"on", href == p.path}, {"label", tr(p.lang, page)}});
  }
  nav.push_back({{"href", "/dashboard/members"}, {"on", p.path.rfind("/dashboard/members", 0) == 0}, {"label", tr(p.lang, "member_search")}});
  // The other language's link keeps every parameter of the page (filters, paging).
  const std::string other = p.lang == "zh" ? "en" : "zh";
  std::string langQuery;
  for (const auto& [k, v] : req.params) {
    if (k != "lang") langQuery += urlEncode(k) + "=" + urlEncode(v) + "&";
  }
  langQuery += "lang=" + other;
  return {{"html_lang", p.lang == "zh" ? "zh-CN" : "en"},
          {"t", words(p.lang)},
          {"title", tr(p.lang, titleKey)},
          {"nav", std::move(nav)},
          {"other_lang", other},
          {"other_lang_href", "?" + langQuery},
          {"other_lang_label", p.lang == "zh" ? "English" : "中文"},
          {"user", p.who.name},
          {"csrf", p.csrf},
          {"filter", {{"from", req.get_param_value("from")}, {"to", req.get_param_value("to")}, {"store", req.get_param_value("store")}}},
          {"computed_at", false},
          {"reload_seconds", false}};
}

json kpi(const std::string& lang, const std::string& key, const std::string& value, const std::string& labelKey = "") {
  return {{"label", tr(lang, labelKey.empty() ? key : labelKey)}, {"key", key}, {"value", value}};
}

/// CSV and XLSX links of `report` with the page's filter (export_links.mustache).
json exportLinks(const Page& p, const std::string& report, const std::string& label = "") {
  // The page's language goes with the link: headers and codes in the words of the page.
  const std::string q = (p.query.empty() ? "?" : "?" + p.query + "&") + "lang=" + p.lang;
  return {{"report", report}, {"query", q}, {"label", label.empty() ? json(false) : json(label)}};
}

/// Column headers of exports for people (`lang` given: the dashboard's links), by column name.
struct Heading {
  const char* column;
  const char* en;
  const char* zh;
};
constexpr Heading kHeadings[] = {
    {"member_id", "Member ID", "会员编号"}, {"name", "Name", "姓名"}, {"card_no", "Card", "卡号"}, {"phone", "Phone", "手机号"},
    {"tier", "Tier", "会员等级"}, {"class", "Class", "ABC 等级"}, {"store", "Store", "门店"}, {"enrolled_store", "Store enrolled", "入会门店"},
    {"enrolled", "Enrolled", "入会日期"}, {"language", "Language", "语言"}, {"consent_version", "Consent version", "授权版本"},
    {"consent_marketing", "Marketing consent", "营销授权"}, {"spend", "Spend", "消费额"}, {"cumulative_share", "Cumulative share %", "累计占比 %"},
    {"contact_frequency", "Contact", "回访频率"}, {"last_visit", "Last visit", "最近消费"}, {"first_visit", "First visit", "首次消费"},
    {"days_since_visit", "Days since visit", "未到店天数"}, {"usual_interval_days", "Usual interval (days)", "平均间隔（天）"},
    {"visits", "Visits", "消费次数"}, {"reason", "Reason", "原因"}, {"segment", "Segment", "分群"}, {"rfm", "RFM", "RFM"},
    {"r", "R", "R"}, {"f", "F", "F"}, {"m", "M", "M"}, {"recency_days", "Recency (days)", "最近消费距今（天）"},
    {"frequency", "Frequency", "消费频次"}, {"monetary", "Monetary", "消费金额"}, {"day", "Day", "日期"}, {"hour", "Hour", "时段"},
    {"terminal", "Terminal", "终端"}, {"member", "Member / non-member", "会员 / 非会员"}, {"sales", "Sales", "销售笔数"},
    {"refunds", "Refunds", "退货笔数"}, {"refunded", "Refunded", "退货金额"}, {"gross_revenue", "Gross revenue", "销售额"},
    {"net_revenue", "Net revenue", "净销售额"}, {"average_sale", "Average sale", "客单价"}, {"members", "Members", "会员数"},
    {"member_sales", "Member sales", "会员销售笔数"}, {"member_revenue", "Member revenue", "会员销售额"},
    {"non_member_sales", "Non-member sales", "非会员销售笔数"}, {"non_member_revenue", "Non-member revenue", "非会员销售额"},
    {"product", "Product", "商品编码"}, {"description", "Description", "描述"}, {"qty", "Quantity", "数量"}, {"amount", "Amount", "金额"},
    {"referrer_id", "Referrer ID", "推荐人编号"}, {"referred", "Referred", "推荐人数"}, {"converted", "Bought", "已消费人数"},
    {"referred_spend", "Referred spend", "被推荐人消费额"}, {"period", "Period", "期间"}, {"csat", "CSAT %", "满意率 %"},
    {"csat_average", "CSAT average", "满意度平均分"}, {"csat_responses", "CSAT answers", "满意度答卷数"}, {"nps", "NPS", "NPS"},
    {"nps_responses", "NPS answers", "NPS 答卷数"}, {"promoters", "Promoters", "推荐者"}, {"passives", "Passives", "被动者"},
    {"detractors", "Detractors", "贬损者"}, {"complaint_id", "Complaint", "投诉编号"}, {"category", "Category", "类别"},
    {"filed_at", "Filed", "登记时间"}, {"step", "Step", "处理步骤"}, {"step_no", "Step no.", "步骤序号"}, {"owner", "Owner", "负责人"},
    {"due_at", "Due", "截止时间"}, {"overdue", "Overdue", "已逾期"}, {"source", "Source", "来源"}, {"updated_at", "Updated", "更新时间"},
    {"issued", "Issued", "发放积分"}, {"redeemed", "Redeemed", "兑换积分"}, {"expired", "Expired", "过期积分"},
    {"reversed", "Reversed on returns", "退货冲回积分"}, {"adjusted_out", "Adjusted out", "调减积分"}, {"outstanding", "Outstanding", "未兑换积分"},
    {"outstanding_members", "Members with points", "有积分会员数"}, {"liability", "Liability", "积分负债"},
    {"debt_points", "Points debt", "积分欠款"}, {"debt_members", "Members in debt", "欠积分会员数"}, {"overdrafts", "Offline overdrafts", "离线透支"},
    {"overdraft_points", "Overdraft points", "透支积分"}, {"staff_id", "Staff", "员工"}, {"points_earned", "Points earned", "赠送积分"},
    {"points_redeemed", "Points redeemed", "兑换积分"}, {"enrolments", "Enrolments", "办卡数"}, {"redemptions", "Redemptions", "兑换次数"},
    {"surveys", "Ratings", "评价数"}, {"average_score", "Average rating", "平均评分"}, {"complaints", "Complaints", "投诉数"},
    {"cohort", "Cohort", "入会月份"},
};

/// Who a row is about first (id, name, card, phone, class, store), then the report's figures in
/// the definition's order.
constexpr const char* kLeadingColumns[] = {"member_id", "referrer_id", "complaint_id", "name", "card_no", "phone", "tier", "class",
                                           "segment", "store", "enrolled_store", "staff_id", "day", "hour", "period", "cohort"};

/// Columns whose values are codes: shown in the page's words (the dashboard's catalogue).
std::string codeKey(const std::string& column, const std::string& value) {
  if (column == "segment") return "seg_" + value;
  if (column == "contact_frequency" || column == "step" || column == "member") return value;
  if (column == "reason") return "reason_" + value;
  return "";
}

/// An export as people read it: leading columns first, headers and codes in `lang`.
ExportTable forPeople(const ExportTable& t, const std::string& lang) {
  std::vector<std::size_t> order;
  for (const char* lead : kLeadingColumns) {
    for (std::size_t i = 0; i < t.columns.size(); ++i) {
      if (t.columns[i] == lead) order.push_back(i);
    }
  }
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (std::find(order.begin(), order.end(), i) == order.end()) order.push_back(i);
  }
  ExportTable out;
  for (const std::size_t i : order) {
    std::string heading = t.columns[i];
    for (const auto& h : kHeadings) {
      if (t.columns[i] == h.column) heading = lang == "zh" ? h.zh : h.en;
    }
    out.columns.push_back(heading);
    out.types.push_back(t.types[i]);
  }
  for (const auto& row : t.rows) {
    std::vector<json> cells;
    for (const std::size_t i : order) {
      json v = row[i];
      if (v.is_string()) {
        if (const std::string key = codeKey(t.columns[i], v.get<std::string>()); !key.empty()) {
          const std::string word = tr(lang, key);
          if (word != key) v = word;
        }
      } else if (v.is_boolean()) {
        v = tr(lang, v.get<bool>() ? "yes" : "no");
      }
      cells.push_back(std::move(v));
    }
    out.rows.push_back(std::move(cells));
  }
  return out;
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
  field("balance", shownNumber((*m)["balance"]));
  field("lifetime_spend", shownMoney((*m)["lifetime_spend"]));
  // Times in the store's local time: where it happened, else the member's home store.
  StoreTimes times(ctx.service);
  const json home = (*m)["enrolled_store"];
  field("enrolled", times.local(home, (*m)["enrolled_at"]) + " · " + text(home));
  // Yes or no, then the version, time and store it was given with, those there are.
  std::string consent = tr(L, (*m)["consent_marketing"].get<bool>() ? "yes" : "no");
  for (const std::string& part : {text((*m)["consent_version"]), times.local((*m)["consent_store"], (*m)["consent_at"], home),
                                  text((*m)["consent_store"])}) {
    if (!part.empty()) consent += " · " + part;
  }
  field("consent", consent);
  json consentRows = json::array(), changeRows = json::array();
  for (const auto& c : consents) {
    consentRows.push_back({{"at", times.local(c["store_id"], c["at"], home)}, {"consent", tr(L, c["consent_marketing"].get<bool>() ? "yes" : "no")},
                           {"version", text(c["consent_version"])}, {"store", text(c["store_id"])},
                           {"terminal", text(c["terminal_id"])}, {"staff", text(c["staff_id"])}});
  }
  for (const auto& c : changes) {
    std::string names;
    for (const auto& f : c["fields"]) names += (names.empty() ? "" : ", ") + text(f);
    changeRows.push_back({{"at", times.local(c["store_id"], c["at"], home)}, {"fields", names}, {"store", text(c["store_id"])},
                          {"terminal", text(c["terminal_id"])}, {"staff", text(c["staff_id"])}});
  }
  view["profile"] = {{"masked", !p.who.seesAll()}, {"fields", std::move(fields)}, {"consents", std::move(consentRows)},
                     {"changes", std::move(changeRows)}};
  view["m360"] = member360View(ctx.service, times, DashboardViewer{p.who.name, p.who.role, p.who.csrf, p.who.pii}, L, id);
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

/// The satisfaction page's table of survey dimensions: a column per dimension, a row per store of
/// `shownStores` (the page's) and the total; false when no answer had any.
json dimensionsView(const std::string& L, const json& d, const std::set<std::string>& shownStores) {
  if (d["total"].empty()) return false;
  std::vector<std::string> names;
  for (const auto& t : d["total"]) names.push_back(text(t["dimension"]));
  std::map<std::string, std::map<std::string, json>> byStore;  // store -> dimension -> average
  for (const auto& s : d["stores"]) {
    if (shownStores.count(text(s["store"]))) byStore[text(s["store"])][text(s["dimension"])] = s["average"];
  }
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

/// Rows a page of a report's table shows (staff, stores), and bars its chart draws.
constexpr std::int64_t kTablePageRows = 100;
constexpr std::size_t kChartTopBars = 20;

/// Whether the `at`th row (from 0) of a table is on the page beginning at `offset`.
bool onPage(std::int64_t at, std::int64_t offset) { return at >= offset && at < offset + kTablePageRows; }

/// The kChartTopBars highest of `bars`, highest first (ties in the rows' order).
std::vector<std::pair<std::string, double>> topBars(std::vector<std::pair<std::string, double>> bars) {
  std::stable_sort(bars.begin(), bars.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (bars.size() > kChartTopBars) bars.resize(kChartTopBars);
  return bars;
}

/// The link to a dashboard page's list at `offset` (then `anchor`), the page's filter kept.
std::function<std::string(std::int64_t)> offsetHref(const Page& p, std::string anchor = "") {
  return [path = p.path, query = p.query, anchor = std::move(anchor)](std::int64_t offset) {
    return path + "?" + query + (query.empty() ? "" : "&") + "offset=" + std::to_string(offset) + anchor;
  };
}

/// The staff page (staff.mustache) from the whole staff report: its figures over every row, a
/// page of the table (rows offset+1 .. offset+kTablePageRows, the report's order: by store, then
/// staff id), and the chart of the kChartTopBars highest net revenues.
void staffView(const std::string& L, const json& report, std::int64_t offset, const Page& p, json& view) {
  json rows = json::array();
  std::vector<std::pair<std::string, double>> bars;
  std::set<std::string> staff;
  std::int64_t sales = 0, at = 0;
  for (const auto& r : report["rows"]) {
    const bool known = r["staff_id"].is_string();
    const std::string id = known ? text(r["staff_id"]) : "—", store = text(r["store"]);
    if (known) staff.insert(store + "\x1f" + id);
    sales += r["sales"].get<std::int64_t>();
    bars.emplace_back(store + " · " + id, num(r["net_revenue"]));
    if (!onPage(at++, offset)) continue;
    rows.push_back({{"store", store}, {"staff", id}, {"staff_key", known ? id : "-"}, {"sales", shownNumber(r["sales"])},
                    {"net_revenue", shownMoney(r["net_revenue"])}, {"refunds", shownNumber(r["refunds"])}, {"refunded", shownMoney(r["refunded"])},
                    {"points_earned", shownNumber(r["points_earned"])}, {"enrolments", shownNumber(r["enrolments"])},
                    {"redemptions", shownNumber(r["redemptions"])}, {"surveys", shownNumber(r["surveys"])},
                    {"average_score", shownAverage(r["average_score"])}, {"complaints", shownNumber(r["complaints"])}});
  }
  view["kpis"] = {kpi(L, "staff_count", shownNumber(staff.size())), kpi(L, "sales", shownNumber(sales))};
  view["paging"] = pageLinks(offsetHref(p), offset, static_cast<std::int64_t>(rows.size()), at, kTablePageRows);
  view["rows"] = std::move(rows);
  view["by_staff"] = barChart("revenue-by-staff", topBars(std::move(bars)));
}

/// Fills `view` with the content of dashboard page `page` (PAGE.mustache).
Result<Ok> pageContent(Ctx& ctx, const std::string& page, const Page& p, const httplib::Request& req, json& view) {
  const auto& L = p.lang;
  // The page of a page's list (stores, satisfaction, staff, the churn list; the audit trail reads
  // its own): rows from `offset`. The reports themselves are asked for with offset 0: every page
  // is cut from the one kept result.
  auto offset = wholeNumber(param(req, "offset"), "offset", 0, 0, 100000000);
  if (!offset) return offset.error();
  std::optional<Timestamp> keptAt;  ///< the oldest kept result the page shows
  // A report a page shows: its name, parameters over the request's, and how long it waits for the
  // refresher. With Wait::kBriefly, one the refresher is still computing (right after a first
  // start) is waited for a moment only: then null, and the page says so and reloads itself.
  struct Wanted {
    std::string name;
    std::vector<std::pair<std::string, std::string>> extra;
    ReportCache::Wait wait = ReportCache::Wait::kForRefresher;
  };
  // The reports a page shows, asked for at once: each runs on a report connection of its own
  // while one is free (HqService), so a page computed live takes about as long as its slowest
  // report, not the sum of them. The answers come back in the order asked.
  const auto reports = [&](const std::vector<Wanted>& wanted) -> std::vector<Result<json>> {
    std::vector<Result<ReportCall>> calls;
    for (const auto& w : wanted) {
      httplib::Request r2 = req;
      // The request's offset is its page's of a table cut from the whole report, not the
      // report's: a report asked with it would be another one to compute and keep.
      r2.params.erase("offset");
      for (const auto& [k, v] : w.extra) {
        r2.params.erase(k);
        r2.params.emplace(k, v);
      }
      calls.push_back(checkedCall(ctx, w.name, r2));
    }
    const auto ask = [&ctx](const Result<ReportCall>& call, ReportCache::Wait wait) -> Result<ReportCache::Answer> {
      if (!call) return call.error();
      return ctx.service.keptReport(*call, std::nullopt, wait);
    };
    std::vector<std::future<Result<ReportCache::Answer>>> others;
    for (std::size_t i = 1; i < wanted.size(); ++i) others.push_back(std::async(std::launch::async, ask, std::cref(calls[i]), wanted[i].wait));
    std::vector<Result<ReportCache::Answer>> answers;
    answers.push_back(ask(calls[0], wanted[0].wait));
    for (auto& f : others) answers.push_back(f.get());
    const auto shown = [&](Result<ReportCache::Answer>& a) -> Result<json> {
      if (!a) return a.error();
      if (a->pending) {
        view["reload_seconds"] = 5;
        return json(nullptr);
      }
      if (a->kept && (!keptAt || a->computedAt < *keptAt)) keptAt = a->computedAt;
      return std::move(a->body);
    };
    std::vector<Result<json>> out;
    for (auto& a : answers) out.push_back(shown(a));
    return out;
  };
  const auto get = [&](const std::string& name, const std::vector<std::pair<std::string, std::string>>& extra = {}) {
    return std::move(reports({{name, extra}})[0]);
  };
  if (page == "overview") {
    // The summary is quick (pre-aggregates): right after a first start it is not left waiting
    // behind the refresher's first ranking of every member.
    auto asked = reports({{"summary", {}, ReportCache::Wait::kNever}, {"sales", {{"group", "day"}}}, {"sales", {{"group", "member"}}}});
    for (const auto& a : asked) {
      if (!a) return a.error();
    }
    auto &s = asked[0], &d = asked[1], &m = asked[2];
    view["kpis"] = {kpi(L, "sales", shownNumber((*s)["sales"])), kpi(L, "net_revenue", shownMoney((*s)["net_revenue"])),
                    kpi(L, "members", shownNumber((*s)["members"]), "buyers"), kpi(L, "member_revenue", shownMoney((*s)["member_revenue"])),
                    kpi(L, "non_member_revenue", shownMoney((*s)["non_member_revenue"]))};
    view["kpi_notes"] = {tr(L, "buyers_note")};
    // Every day of the range; when the days span more than two calendar months, a bar per month
    // (the whole range, not its end).
    std::vector<std::pair<std::string, double>> bars;
    const auto& rows = (*d)["rows"];
    const auto monthNo = [](const std::string& day) { return std::stoi(day.substr(0, 4)) * 12 + std::stoi(day.substr(5, 2)); };
    if (rows.empty() || monthNo(text(rows.back()["day"])) - monthNo(text(rows.front()["day"])) < 2) {
      for (const auto& r : rows) bars.emplace_back(text(r["day"]), num(r["net_revenue"]));
      view["by_day_title"] = tr(L, "by_day");
    } else {
      std::vector<std::pair<std::string, Money>> months;
      for (const auto& r : rows) {
        const std::string month = text(r["day"]).substr(0, 7);
        const auto amount = Money::parse(text(r["net_revenue"]), "net_revenue");
        if (months.empty() || months.back().first != month) months.emplace_back(month, Money::fromMinor(0));
        if (amount) months.back().second += *amount;
      }
      for (const auto& [month, amount] : months) bars.emplace_back(month, static_cast<double>(amount.minor()) / 100.0);
      view["by_day_title"] = tr(L, "by_month");
    }
    view["by_day"] = barChart("revenue-by-day", bars);
    bars.clear();
    for (const auto& r : (*m)["rows"]) bars.emplace_back(tr(L, text(r["member"])), num(r["net_revenue"]));
    view["member_split"] = barChart("member-split", bars);
    view["exports"] = {exportLinks(p, "summary")};
  } else if (page == "stores") {
    // A page of the stores at a time (offset).
    auto asked = reports({{"sales", {{"group", "store"}}}, {"sales", {{"group", "hour"}}}});
    for (const auto& a : asked) {
      if (!a) return a.error();
    }
    auto &st = asked[0], &h = asked[1];
    std::vector<std::pair<std::string, double>> bars;
    json rows = json::array();
    std::int64_t at = 0;
    for (const auto& r : (*st)["rows"]) {
      const std::string id = text(r["store"]);
      bars.emplace_back(id, num(r["net_revenue"]));
      if (onPage(at++, *offset)) rows.push_back({{"store", id}, {"sales", shownNumber(r["sales"])}, {"net_revenue", shownMoney(r["net_revenue"])}});
    }
    view["paging"] = pageLinks(offsetHref(p), *offset, static_cast<std::int64_t>(rows.size()), at, kTablePageRows);
    view["rows"] = std::move(rows);
    view["by_store"] = barChart("revenue-by-store", topBars(std::move(bars)));
    bars.clear();
    // All 24 hours: an hour without sales is a bar of 0, not a missing row.
    std::map<int, double> byHour;
    for (const auto& r : (*h)["rows"]) byHour[static_cast<int>(num(r["hour"]))] += num(r["sales"]);
    for (int hour = 0; hour < 24; ++hour) {
      char label[8];
      std::snprintf(label, sizeof label, "%02d:00", hour);
      bars.emplace_back(label, byHour.count(hour) ? byHour[hour] : 0.0);
    }
    view["by_hour"] = barChart("sales-by-hour", bars);
    view["exports"] = {exportLinks(p, "sales")};
  } else if (page == "customers") {
    // The page shows class and segment totals and the first 50 at-risk members; the full lists
    // are the exports. Ranking every member takes seconds: right after a first start the page
    // does not wait for the refresher's first results (a moment only) but says they are being computed.
    const auto briefly = ReportCache::Wait::kBriefly;
    // The at-risk list pages 50 at a time (offset), most valuable first.
    const auto& churnOffset = offset;
    auto asked = reports({{"abc", {{"limit", "1"}}, briefly},
                          {"rfm", {{"limit", "1"}}, briefly},
                          *churnOffset == 0 ? Wanted{"churn", {{"limit", "50"}}, briefly}
                                            : Wanted{"churn", {{"limit", "50"}, {"offset", std::to_string(*churnOffset)}}}});
    for (const auto& x : asked) {
      if (!x) return x.error();
    }
    auto &a = asked[0], &r = asked[1], &c = asked[2];
    view["abc_pending"] = a->is_null();
    view["rfm_pending"] = r->is_null();
    view["churn_pending"] = c->is_null();
    if (a->is_null()) *a = {{"classes", json::array()}};
    if (r->is_null()) *r = {{"segments", json::array()}};
    if (c->is_null()) *c = {{"at_risk", 0}, {"as_of", ""}, {"members", json::array()}};
    else ctx.showTo(p.who, *c, "page:customers");  // phones masked unless granted; the list is audited
    std::vector<std::pair<std::string, double>> bars;
    json classes = json::array(), segments = json::array(), atRisk = json::array();
    for (const auto& k : (*a)["classes"]) {
      const std::string cls = text(k["class"]);
      classes.push_back({{"class", cls}, {"members", shownNumber(k["members"])}, {"spend", shownMoney(k["spend"])},
                         {"frequency", tr(L, text(k["contact_frequency"]))}});
      bars.emplace_back(cls, num(k["members"]));
    }
    view["classes"] = std::move(classes);
    view["abc_chart"] = barChart("abc", bars);
    view["abc_exports"] = {exportLinks(p, "abc", tr(L, "abc")), exportLinks(p, "abc-follow-up", tr(L, "follow_up"))};
    bars.clear();
    for (const auto& s : (*r)["segments"]) {
      const std::string label = tr(L, "seg_" + text(s["segment"]));
      segments.push_back({{"label", label}, {"segment", text(s["segment"])}, {"members", shownNumber(s["members"])}});
      bars.emplace_back(label, num(s["members"]));
    }
    view["segments"] = std::move(segments);
    view["rfm_chart"] = barChart("rfm", bars);
    view["rfm_exports"] = {exportLinks(p, "rfm")};
    const std::int64_t atRiskTotal = (*c)["at_risk"].get<std::int64_t>();
    view["churn_kpis"] = {kpi(L, "at_risk", shownNumber((*c)["at_risk"]))};
    view["churn_as_of"] = text((*c)["as_of"]);
    for (const auto& m : (*c)["members"]) {
      const std::string id = text(m["member_id"]);
      atRisk.push_back({{"member_path", urlEncode(id)}, {"member_id", id}, {"name", text(m["name"])}, {"card_no", text(m["card_no"])},
                        {"phone", text(m["phone"])}, {"tier", text(m["tier"])}, {"store", text(m["store"])},
                        {"spend", shownMoney(m["spend"])}, {"last_visit", text(m["last_visit"])},
                        {"usual_interval", m["usual_interval_days"].is_null() ? "—" : text(m["usual_interval_days"])},
                        {"days_since", text(m["days_since_visit"])}});
    }
    // "Showing 51–100 of 206" with the previous and next pages (the filter kept).
    const std::int64_t shown = static_cast<std::int64_t>(atRisk.size());
    const json links = pageLinks(offsetHref(p, "#churn"), *churnOffset, shown, atRiskTotal, 50);
    view["churn_showing"] = shown == 0 ? json(false)
                                       : json(tr(L, "showing") + " " + text(links["first"]) + "–" + text(links["last"]) + " " +
                                              tr(L, "of") + " " + text(links["total"]));
    view["churn_prev"] = links["prev"];
    view["churn_next"] = links["next"];
    view["at_risk"] = std::move(atRisk);
    view["churn_exports"] = {exportLinks(p, "churn"), exportLinks(p, "campaign", tr(L, "campaign_export")),
                             exportLinks(p, "referrals", tr(L, "referrals_export"))};
  } else if (page == "satisfaction") {
    // A page of the stores at a time (offset), its charts and dimensions those stores'; the
    // figures above are every store's. A row a store: all periods (the page has no period column).
    auto s = get("satisfaction", {{"period", "all"}});
    if (!s) return s.error();
    const auto& t = (*s)["total"];
    // A score without answers is "—", not 0; CSAT and NPS answers are counted apart (they are
    // different questions).
    const auto csatOf = [](const json& r) { return r["csat_responses"].get<std::int64_t>() > 0 ? text(r["csat"]) : std::string("—"); };
    const auto npsOf = [](const json& r) { return r["nps_responses"].get<std::int64_t>() > 0 ? text(r["nps"]) : std::string("—"); };
    view["kpis"] = {kpi(L, "csat", csatOf(t)), kpi(L, "nps", npsOf(t)), kpi(L, "csat_responses", shownNumber(t["csat_responses"])),
                    kpi(L, "nps_responses", shownNumber(t["nps_responses"]))};
    view["kpi_notes"] = {tr(L, "responses_note")};
    std::vector<std::pair<std::string, double>> csat, nps;
    json rows = json::array();
    std::set<std::string> shownStores;
    std::int64_t at = 0;
    for (const auto& r : (*s)["rows"]) {
      if (!onPage(at++, *offset)) continue;
      const std::string id = text(r["store"]);
      shownStores.insert(id);
      rows.push_back({{"store", id}, {"csat", csatOf(r)}, {"nps", npsOf(r)}, {"csat_responses", shownNumber(r["csat_responses"])},
                      {"nps_responses", shownNumber(r["nps_responses"])}});
      if (r["csat_responses"].get<std::int64_t>() > 0) csat.emplace_back(id, num(r["csat"]));
      if (r["nps_responses"].get<std::int64_t>() > 0) nps.emplace_back(id, num(r["nps"]));
    }
    view["paging"] = pageLinks(offsetHref(p), *offset, static_cast<std::int64_t>(rows.size()), at, kTablePageRows);
    view["rows"] = std::move(rows);
    view["csat_chart"] = barChart("csat-by-store", csat, "%");
    view["nps_chart"] = barChart("nps-by-store", nps);
    view["dimensions"] = dimensionsView(L, (*s)["dimensions"], shownStores);
    view["exports"] = {exportLinks(p, "satisfaction")};
  } else if (page == "points") {
    auto pt = get("points");
    if (!pt) return pt.error();
    // Movements in the period (filtered) apart from balances now (outstanding, liability, debt:
    // today's balances of the stores' members, whatever the dates), and the page says so.
    view["kpis"] = {kpi(L, "issued", shownNumber((*pt)["issued"])), kpi(L, "redeemed", shownNumber((*pt)["redeemed"])),
                    kpi(L, "expired", shownNumber((*pt)["expired"])), kpi(L, "reversed", shownNumber((*pt)["reversed"])),
                    kpi(L, "adjusted_out", shownNumber((*pt)["adjusted_out"])), kpi(L, "overdrafts", shownNumber((*pt)["overdrafts"]))};
    view["balance_kpis"] = {kpi(L, "outstanding", shownNumber((*pt)["outstanding"])), kpi(L, "liability", shownMoney((*pt)["liability"])),
                            kpi(L, "debt", shownNumber((*pt)["debt_points"]))};
    view["balances_note"] = tr(L, (req.has_param("from") && !req.get_param_value("from").empty()) ||
                                          (req.has_param("to") && !req.get_param_value("to").empty())
                                      ? "balances_note_filtered"
                                      : "balances_note");
    view["flow_chart"] = barChart("points-flow", {{tr(L, "issued"), num((*pt)["issued"])},
                                                  {tr(L, "redeemed"), num((*pt)["redeemed"])},
                                                  {tr(L, "expired"), num((*pt)["expired"])},
                                                  {tr(L, "reversed"), num((*pt)["reversed"])}});
    view["exports"] = {exportLinks(p, "points")};
  } else if (page == "staff") {
    auto st = get("staff");
    if (!st) return st.error();
    staffView(L, *st, *offset, p, view);
    view["exports"] = {exportLinks(p, "staff")};
  } else if (page == "audit") {
    if (p.who.role != Role::kAdmin) return Error{errc::kForbidden, "page", "the audit trail is for admins"};
    if (auto a = auditView(ctx, p, req, view); !a) return a.error();
  } else {
    return Error{errc::kNotFound, "page", "no dashboard page " + page};
  }
  // Some figures are a result computed earlier (they take seconds to rank every member): when,
  // in the stores' time (their zone when they share one, else UTC).
  if (keptAt) view["computed_at"] = chainTime(ctx.service, *keptAt);
  return Ok{};
}

/// The sign-in page (login.mustache).
std::string loginPage(const std::string& lang, const std::string& csrf, bool failed, const std::string& next = "/dashboard") {
  return renderTemplate("login", {{"html_lang", lang == "zh" ? "zh-CN" : "en"}, {"t", words(lang)}, {"csrf", csrf}, {"failed", failed},
                                  {"next", next}});
}

/// Sends someone who is not signed in to the sign-in page, which brings them back to the page
/// they were going to (its path and query) afterwards.
void signInFirst(const httplib::Request& req, httplib::Response& res) {
  const std::string target = req.target.empty() ? req.path : req.target;
  res.status = 303;
  res.set_header("Location", "/dashboard/login?next=" + urlEncode(safeNext(target)));
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
  a.signIn = signInFirst;
  return a;
}

}  // namespace

bool dashboardNotFound(const httplib::Request& req, httplib::Response& res) {
  if (req.path != "/dashboard" && req.path.rfind("/dashboard/", 0) != 0) return false;
  const std::string lang = langOf(req);
  htmlResponse(res,
               renderTemplate("not_found", {{"html_lang", lang == "zh" ? "zh-CN" : "en"}, {"t", words(lang)}, {"path", req.path}}),
               404);
  return true;
}

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
  holdDashboardName(c, name);  // a sign-in with the old password or role opens nothing after this
  c.query("INSERT INTO dashboard_users(name, role, password_hash, created_at, pii) VALUES ($1, $2, $3, $4, $5) "
          "ON CONFLICT (name) DO UPDATE SET role = $2, password_hash = $3, disabled_at = NULL, pii = $5",
          {name, role, std::string(hash), formatRfc3339(now), std::int64_t{pii ? 1 : 0}});
  endDashboardSessions(c, name);  // and its tickets: they carry the old role and grant
  recordAudit(c, {formatRfc3339(now), actor, audit::kUserSet, name, std::nullopt, "role " + role + (pii ? " with pii" : "")});
  tx.commit();
  return Ok{};
}

// [SECTION] Routes

void registerAnalyticsRoutes(httplib::Server& s, HqService& service, Throttle& throttle, PasswordVerifier& passwords,
                             std::function<void(const httplib::Request&)> started) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium cannot start");
  auto ctx = std::make_shared<Ctx>(Ctx{service, throttle, passwords, std::move(started)});
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
          auto call = checkedCall(*ctx, name, req);
          if (!call) return sendError(res, call.error());
          // No answer holds a whole list: row reports come in pages too (the dashboard's own pages
          // read them whole), by default the most a page holds, every row of most chains' lists.
          // They are computed whole: every page is cut from the one result (its key among kept
          // results the dashboard's own).
          ReportFilter page = call->filter;
          if (!param(req, "limit")) page.limit = kListPageMax;
          const bool paged = reportRowsPaged(name);
          if (paged) {
            call->filter.offset = 0;
            call->filter.limit = kListPageDefault;
          }
          const auto answer = [&](json& body) {
            if (paged) pageReportRows(body, page);
            ctx->showTo(*who, body, "report:" + name);
            sendJson(res, body);
          };
          if (auto maxAge = param(req, "max_age")) {
            // A result computed up to max_age seconds ago will do: slow reports come from the cache.
            auto age = wholeNumber(maxAge, "max_age", 0, 0, 86400);
            if (!age) return sendError(res, age.error());
            auto a = ctx->service.keptReport(*call, std::chrono::seconds(*age));
            if (!a) return sendError(res, a.error());
            a->body["computed_at"] = formatRfc3339(a->computedAt);
            return answer(a->body);
          }
          auto out = ctx->service.report(*call);
          if (!out) return sendError(res, out.error());
          answer(*out);
        });

  s.Get(R"(/api/v1/exports/([a-z-]+)\.(csv|xlsx))", [ctx](const httplib::Request& req, httplib::Response& res) {
    auto who = ctx->requireApi(req, res);
    if (!who) return;
    const std::string name = req.matches[1].str(), format = req.matches[2].str();
    if (std::find(kReports.begin(), kReports.end(), name) == kReports.end()) {
      return sendError(res, Error{errc::kNotFound, "", "no report " + name + " to export"});
    }
    auto call = checkedCall(*ctx, name, req);
    if (!call) return sendError(res, call.error());
    const ExportRows rows(param(req, "limit").has_value(), call->filter.limit);
    auto out = ctx->service.report(*call);
    if (!out) return sendError(res, out.error());
    if (reportRowsPaged(name)) pageReportRows(*out, call->filter);
    protectPersonalData(*out, who->seesAll());
    ExportTable t = reportTable(name, *out);
    if (auto refused = rows.refusal(t.rows.size())) return sendError(res, *refused);
    // From the dashboard (lang given): headers and codes in the page's language, people first.
    if (const auto lang = param(req, "lang")) t = forPeople(t, *lang == "zh" ? "zh" : "en");
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
    auto body = requestObject(req.body);
    if (!body) return sendError(res, body.error());
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
    auto body = requestObject(req.body);
    if (!body) return sendError(res, body.error());
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
    // Issued with the credential the request carries, checked again as the ticket is written.
    const auto token = bearerToken(req);
    const auto ticket = ctx->service.issueTicket({who->name, who->role == Role::kAdmin ? "admin" : "analyst", who->pii}, expires,
                                                 token ? *token : cookie(req, kSessionCookie));
    if (!ticket) {
      sendError(res, Error{hqerr::kUnauthenticated, "", "the credential was revoked or ended while the ticket was made"});
      return res.set_header("WWW-Authenticate", "Bearer");
    }
    sendJson(res, {{"ticket", *ticket}, {"url", "/dashboard/ticket?t=" + urlEncode(*ticket)}, {"expires_at", formatRfc3339(expires)}}, 201);
  });

  s.Get("/dashboard/ticket", [ctx](const httplib::Request& req, httplib::Response& res) {
    const auto opened = ctx->service.signInWithTicket(req.get_param_value("t"), Ctx::sessionLife());
    if (!opened) return redirect(res, "/dashboard/login");
    setSessionCookie(res, opened->secret);
    redirect(res, safeNext(req.get_param_value("next")));
  });

  s.Get("/dashboard/login", [](const httplib::Request& req, httplib::Response& res) {
    const std::string csrf = randomToken();
    res.set_header("Set-Cookie", std::string(kLoginCsrfCookie) + "=" + csrf + "; Path=/dashboard/login; Secure; HttpOnly; SameSite=Strict");
    htmlResponse(res, loginPage(langOf(req), csrf, req.has_param("failed"), safeNext(req.get_param_value("next"))));
  });

  s.Post("/dashboard/login", [ctx](const httplib::Request& req, httplib::Response& res) {
    if (!sameSecret(req.get_param_value("csrf"), cookie(req, kLoginCsrfCookie))) {
      return htmlResponse(res, noticePage("CSRF token missing or wrong: reload the sign-in page."), 403);
    }
    if (auto nul = refuseNulParameters(req); !nul) return htmlResponse(res, noticePage(problemFor(nul.error()).detail), 400);
    const SignInForm form = signInForm(req);
    const std::string &user = form.user, &password = form.password;
    const bool plausible = form.plausible();
    std::vector<std::string> keys = {Throttle::addressKey(req.remote_addr)};
    if (plausible) keys.push_back(Throttle::accountKey(user));
    const auto tooMany = [&](std::chrono::seconds wait) {
      res.set_header("Retry-After", std::to_string(wait.count()));
      htmlResponse(res, tooManyPage(langOf(req), wait), 429);
    };
    const auto backToForm = [&] {
      const std::string next = safeNext(req.get_param_value("next"));
      redirect(res, "/dashboard/login?failed=1" + (next == "/dashboard" ? std::string() : "&next=" + urlEncode(next)));
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
      return backToForm();
    }
    ctx->throttle.forget(Throttle::accountKey(user));
    const auto opened = ctx->service.openSession(account, hash.value_or(""), Ctx::sessionLife());
    if (!opened) {
      // Disabled, removed or set anew while its password was being checked: not signed in.
      ctx->service.signInFailed(user.substr(0, 64), req.remote_addr, "account changed during sign-in");
      return backToForm();
    }
    setSessionCookie(res, opened->secret);
    redirect(res, safeNext(req.get_param_value("next")));
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

  s.Get(R"(/dashboard/members/([^/]+))", [ctx](const httplib::Request& req, httplib::Response& res) {
    auto who = ctx->identify(req);
    if (!who || who->csrf.empty()) return signInFirst(req, res);
    const std::string id = req.matches[1].str();
    Page p{langOf(req), "/dashboard/members/" + id, "", who->csrf, *who};
    json view = pageView(p, req, "member_page");
    view["own_filter"] = true;  // the profile is the whole record: no dates or store to filter by
    const int status = memberView(*ctx, id, p, view);
    htmlResponse(res, renderTemplate("member", view), status);
  });

  // Follow-up visits (followups_routes.cpp): their API and pages, signed in like the dashboard's.
  registerFollowupRoutes(s, service, dashboardAccess(ctx));
  // Member 360 (members_routes.cpp): search, points adjustments and compensation.
  registerMemberRoutes(s, service, dashboardAccess(ctx));
  // Promotions (promotions_routes.cpp): the programme's editor and the promotions' results.
  registerPromotionRoutes(s, service, dashboardAccess(ctx));
  // Complaint care (complaints_routes.cpp): the list, a complaint's page, the satisfaction check.
  registerComplaintRoutes(s, service, dashboardAccess(ctx));
  // The fleet page (terminals_page.cpp): terminals, add with a one-time code, revoke.
  registerTerminalPages(s, service, dashboardAccess(ctx));
  registerChartRoutes(s, service, dashboardAccess(ctx));
  // Outreach messages (outreach_routes.cpp): API, the gateway's callbacks, opt-out, the page.
  registerOutreachRoutes(s, service, dashboardAccess(ctx));

  s.Get(R"(/dashboard(/(stores|customers|satisfaction|points|audit|staff))?/?)", [ctx](const httplib::Request& req, httplib::Response& res) {
    auto who = ctx->identify(req);
    if (!who || who->csrf.empty()) return signInFirst(req, res);
    const std::string page = req.matches[2].matched ? req.matches[2].str() : "overview";
    Page p{langOf(req), page == "overview" ? "/dashboard" : "/dashboard/" + page, "", who->csrf, *who};
    std::string q;
    for (const char* k : {"from", "to", "store"}) {
      if (!req.get_param_value(k).empty()) q += (q.empty() ? "" : "&") + std::string(k) + "=" + urlEncode(req.get_param_value(k));
    }
    p.query = q;
    if (req.has_param("lang")) res.set_header("Set-Cookie", "lhq_lang=" + p.lang + "; Path=/dashboard; Secure; SameSite=Strict");
    json view = pageView(p, req, page);
    // The store filter is a list of the stores head office knows.
    json options = json::array();
    const std::string chosen = req.get_param_value("store");
    for (const auto& id : knownStores(*ctx)) options.push_back({{"id", id}, {"selected", id == chosen}});
    view["has_store_options"] = !options.empty() && (chosen.empty() || std::any_of(options.begin(), options.end(), [](const json& o) {
                                  return o["selected"].get<bool>();
                                }));
    view["store_options"] = std::move(options);
    if (auto done = pageContent(*ctx, page, p, req, view); !done) {
      const HttpProblem refused = problemFor(done.error());
      view["message"] = refused.detail;
      return htmlResponse(res, renderTemplate("error", view), refused.status);
    }
    htmlResponse(res, renderTemplate(page, view));
  });
}

}  // namespace loyalty::hq
