// The fleet page /dashboard/terminals (admins): every terminal with its version, last contact,
// upload backlog, clock skew and last sync error; adding one (the one-time registration code is
// shown once) and revoking one, both through the same store operations as `loyalty-hq terminal`
// and audited there (terminal.add, terminal.revoke).
#include <httplib.h>

#include <cstdlib>

#include "loyalty/hq/dashboard_access.hpp"
#include "loyalty/hq/dashboard_forms.hpp"
#include "loyalty/hq/fleet.hpp"
#include "loyalty/hq/http_answer.hpp"
#include "loyalty/hq/local_time.hpp"
#include "loyalty/hq/number_format.hpp"
#include "loyalty/hq/page_words.hpp"
#include "loyalty/hq/service.hpp"
#include "loyalty/hq/templates.hpp"
#include "loyalty/hq/web_text.hpp"

namespace loyalty::hq {

using nlohmann::json;

namespace {

using Word = PageWord;
constexpr Word kWords[] = {
    {"terminal", "Terminal", "终端"},
    {"store", "Store", "门店"},
    {"state", "State", "状态"},
    {"active", "Active", "在用"},
    {"waiting", "Waiting for registration", "等待注册"},
    {"revoked", "Revoked", "已停用"},
    {"version", "Version", "版本"},
    {"update", "Update", "更新状态"},
    {"last_seen", "Last seen", "最近联系"},
    {"never", "never", "从未"},
    {"backlog", "Upload backlog", "待上传"},
    {"skew", "Clock skew", "时钟偏差"},
    {"skew_note", "Clock skew is the terminal's clock minus head office's; more than a minute is marked.",
     "时钟偏差 = 终端时间 − 总部时间；超过一分钟标红。"},
    {"last_error", "Last sync error", "最近同步错误"},
    {"none", "—", "—"},
    {"revoke", "Revoke", "停用"},
    {"revoke_confirm", "Revoke", "停用"},
    {"add", "Add a terminal", "添加终端"},
    {"timezone", "Time zone", "时区"},
    {"add_button", "Add and show the code", "添加并显示注册码"},
    {"code", "One-time registration code for", "一次性注册码，终端"},
    {"code_note", "Shown only now; valid for 24 hours. Enter it on the terminal (loyalty-terminal register).",
     "仅此一次显示，24 小时内有效。请在终端上输入（loyalty-terminal register）。"},
    {"times_local", "Times are the store's local time.", "时间均为门店当地时间。"},
    {"admins_only", "The fleet page is for admins.", "终端管理仅限管理员。"},
    {"no_terminals", "No terminals yet.", "暂无终端。"},
    {"no_terminals_here", "No terminals in this store.", "该门店没有终端。"},
    {"refused", "Refused:", "操作被拒绝："},
    {"total", "Terminals", "终端数"},
    {"showing", "Showing", "显示第"},
    {"of", "of", "条，共"},
    {"previous", "Previous", "上一页"},
    {"next", "Next", "下一页"},
    {"show", "Show", "查看"},
    {"all_stores", "all stores", "全部门店"},
};

/// Terminals a page of the fleet page shows.
constexpr std::int64_t kPageSize = 100;

std::string word(const std::string& lang, const std::string& key) { return pageWord(kWords, lang, key); }

json words(const std::string& lang) { return pageWords(kWords, lang); }

/// "+125 s", "−3 s", "0 s"; "—" when the terminal has not said.
std::string shownSkew(const json& v) {
  if (!v.is_number_integer()) return "—";
  const std::int64_t s = v.get<std::int64_t>();
  return (s > 0 ? "+" : s < 0 ? "−" : "") + std::to_string(std::llabs(s)) + " s";
}

/// The fleet page: a page of the terminals (one store's when `store` is given), by store.
Result<json> pageView(HqService& service, DashboardAccess& access, const DashboardViewer& who, const httplib::Request& req) {
  const std::string lang = access.language(req);
  json view = access.frame(req, who, lang, "/dashboard/terminals", "terminals");
  auto asked = terminalListOf(req, kPageSize);
  if (!asked) return asked.error();
  const json list = service.onReader([&asked](SqlConnection& c) { return listTerminals(c, *asked); });
  ZoneCache zones;
  const auto local = [&](const json& at, const std::string& zone) -> std::string {
    if (!at.is_string()) return "";
    const auto t = parseRfc3339(at.get<std::string>(), "at");
    return t ? localDateTime(zones.get(zone), *t) : at.get<std::string>();
  };
  json rows = json::array();
  for (const auto& t : list["terminals"]) {
    const std::string id = jsonText(t["terminal_id"]), zone = jsonText(t["timezone"]);
    const bool revoked = t["revoked"].get<bool>(), registered = t["registered"].get<bool>();
    const std::string state = revoked ? "revoked" : registered ? "active" : "waiting";
    const json& skew = t["clock_skew_seconds"];
    rows.push_back({{"terminal_id", id}, {"terminal_path", urlEncode(id)}, {"store", jsonText(t["store_id"])}, {"state", state},
                    {"state_label", word(lang, state)}, {"version", t["version"].is_string() ? jsonText(t["version"]) : "—"},
                    {"update", jsonText(t["update_state"])},
                    {"last_seen", t["last_seen"].is_string() ? local(t["last_seen"], zone) : word(lang, "never")},
                    {"backlog", t["backlog"].is_number() ? jsonText(t["backlog"]) : "—"}, {"skew", shownSkew(skew)},
                    {"skew_off", t["clock_skewed"].get<bool>()},
                    {"last_error", t["last_error"].is_string() ? jsonText(t["last_error"]) : "—"},
                    // false, not "", without an error: the template shows its brackets for any string
                    {"last_error_at", t["last_error_at"].is_string() ? json(local(t["last_error_at"], zone)) : json(false)},
                    {"zone", zone}, {"can_revoke", !revoked}});
  }
  const std::string store = asked->store.value_or("");
  const std::int64_t total = list["total"].get<std::int64_t>(), size = asked->page.limit;
  const auto href = [&](std::int64_t offset) {
    return "/dashboard/terminals?lang=" + lang + (store.empty() ? "" : "&store=" + urlEncode(store)) +
           (size == kPageSize ? "" : "&limit=" + std::to_string(size)) + "&offset=" + std::to_string(offset);
  };
  const auto shown = static_cast<std::int64_t>(rows.size());
  // Where a revoke goes back to: this page of this store's list.
  view["back"] = href(asked->page.offset);
  view["w"] = words(lang);
  view["own_filter"] = true;
  view["lang"] = lang;
  view["store"] = store;
  view["counts"] = {{"total", shownNumber(total)}, {"active", shownNumber(list["states"]["active"])},
                    {"waiting", shownNumber(list["states"]["waiting"])}, {"revoked", shownNumber(list["states"]["revoked"])}};
  view["paging"] = pageLinks(href, asked->page.offset, shown, total, size);
  view["none_here"] = total == 0 ? json(word(lang, store.empty() ? "no_terminals" : "no_terminals_here")) : json(false);
  view["rows"] = std::move(rows);
  view["code"] = false;
  return view;
}

void refusedPage(DashboardAccess& access, const DashboardViewer& who, const httplib::Request& req, httplib::Response& res,
                 const Error& e) {
  const HttpProblem refused = problemFor(e);
  const std::string lang = access.language(req);
  json view = access.frame(req, who, lang, "/dashboard/terminals", "terminals");
  view["message"] = e.code == errc::kForbidden ? word(lang, "admins_only") : word(lang, "refused") + " " + refused.detail;
  access.html(res, renderTemplate("error", view), refused.status);
}

}  // namespace

void registerTerminalPages(httplib::Server& s, HqService& service, DashboardAccess access) {
  const Error adminsOnly{errc::kForbidden, "", "the fleet page is for admins"};

  s.Get("/dashboard/terminals", [&service, access, adminsOnly](const httplib::Request& req, httplib::Response& res) mutable {
    auto who = access.session(req);
    if (!who) return access.signIn(req, res);
    if (who->role != Role::kAdmin) return refusedPage(access, *who, req, res, adminsOnly);
    auto view = pageView(service, access, *who, req);
    if (!view) return refusedPage(access, *who, req, res, view.error());
    access.html(res, renderTemplate("terminals", *view), 200);
  });

  s.Post("/dashboard/terminals", [&service, access, adminsOnly](const httplib::Request& req, httplib::Response& res) mutable {
    auto who = access.session(req);
    if (!who) return seeOther(res, "/dashboard/login");
    if (!access.api(req, res)) return;  // the form's CSRF token
    if (who->role != Role::kAdmin) return refusedPage(access, *who, req, res, adminsOnly);
    // The answer's list parameters first: a refusal after the terminal was added would lose its code.
    if (auto list = terminalListOf(req, kPageSize); !list) return refusedPage(access, *who, req, res, list.error());
    const std::string store = req.get_param_value("store"), terminal = req.get_param_value("terminal");
    const std::string zone = req.get_param_value("timezone").empty() ? "UTC" : req.get_param_value("timezone");
    auto code = service.addTerminal(store, terminal, zone, who->actor());
    if (!code) return refusedPage(access, *who, req, res, code.error());
    // The code is shown on this answer only (no redirect: it is never in a URL or kept).
    // The list shows the new terminal's store (the form's `store`), where it now is.
    auto view = pageView(service, access, *who, req);
    if (!view) return refusedPage(access, *who, req, res, view.error());
    (*view)["code"] = {{"terminal", terminal}, {"store", store}, {"value", *code}};
    access.html(res, renderTemplate("terminals", *view), 201);
  });

  s.Post(R"(/dashboard/terminals/([^/]+)/revoke)", [&service, access, adminsOnly](const httplib::Request& req, httplib::Response& res) mutable {
    auto who = access.session(req);
    if (!who) return seeOther(res, "/dashboard/login");
    if (!access.api(req, res)) return;
    if (who->role != Role::kAdmin) return refusedPage(access, *who, req, res, adminsOnly);
    auto out = service.revokeTerminal(req.matches[1].str(), who->actor());
    if (!out) return refusedPage(access, *who, req, res, out.error());
    // Back to the list as it was (store, page); anywhere else is not a way back.
    const std::string back = forms::safeNext(req.get_param_value("back"));
    seeOther(res, back.rfind("/dashboard/terminals?", 0) == 0 ? back : "/dashboard/terminals");
  });
}

}  // namespace loyalty::hq
