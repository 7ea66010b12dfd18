// Member 360 over HTTPS: the search and points API (docs/hq-api.md "Members") and the
// dashboard's /dashboard/members search page and the profile's forms (server-rendered, zh-CN and
// en, plain forms: no JavaScript). The profile page itself is dashboard.cpp's memberView, which
// adds member360View's sections.
#include <httplib.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>

#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/dashboard_access.hpp"
#include "loyalty/hq/dashboard_forms.hpp"
#include "loyalty/hq/http_answer.hpp"
#include "loyalty/hq/local_time.hpp"
#include "loyalty/hq/members.hpp"
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

// [SECTION] Words of the member pages (zh-CN / en)

using Word = PageWord;
constexpr Word kWords[] = {
    {"search", "Find a member", "查找会员"},
    {"search_hint", "Phone, card number, name or pinyin (e.g. zsf)", "手机号、卡号、姓名或拼音（如 zsf）"},
    {"find", "Search", "查询"},
    {"name", "Name", "姓名"},
    {"card_no", "Card", "卡号"},
    {"phone", "Phone", "手机号"},
    {"tier", "Tier", "等级"},
    {"balance", "Points", "积分"},
    {"lifetime_spend", "Lifetime spend", "累计消费"},
    {"store", "Home store", "开卡门店"},
    {"sale_store", "Store", "门店"},
    {"enrolled", "Enrolled", "入会时间"},
    {"shown", "showing", "显示"},
    {"of", "of", "条，共"},
    {"none", "No member matches.", "没有符合条件的会员。"},
    {"previous", "Previous", "上一页"},
    {"next", "Next", "下一页"},
    {"masked", "Phone numbers are masked: this account is not granted personal data.", "手机号已隐藏：此账号未获个人信息权限。"},
    {"behind_before", "Recent member changes are still being added to the search:", "会员查询仍在收录最近的会员变动："},
    {"behind_after", "members may not be found by name, the start of a card number or a phone's last four digits yet (a whole phone or card number always finds its member). Search again in a minute.",
     "位会员暂时可能无法按姓名、卡号开头或手机尾号查到（完整的手机号或卡号总能查到）。请一分钟后再查。"},
    {"points_history", "Points history", "积分明细"},
    {"at", "Time", "时间"},
    {"kind", "Kind", "类型"},
    {"points", "Points", "积分"},
    {"reason", "Reason", "原因"},
    {"actor", "Who", "操作人"},
    {"adjust", "Adjust points", "调整积分"},
    {"adjust_hint", "Positive to credit, negative to debit; the balance cannot go below zero.", "正数为增加，负数为扣减；余额不能为负。"},
    {"save", "Save", "保存"},
    {"sales", "Sales", "消费记录"},
    {"total", "Total", "金额"},
    {"earned", "Points earned", "获得积分"},
    {"redeemed", "Points redeemed", "使用积分"},
    {"lines", "Items", "商品数"},
    {"surveys", "Surveys", "满意度评价"},
    {"scale", "Scale", "量表"},
    {"score", "Score", "评分"},
    {"complaints", "Complaints", "投诉"},
    {"filed", "Filed", "投诉时间"},
    {"category", "Category", "类别"},
    {"description", "Description", "内容"},
    {"step", "Step", "处理步骤"},
    {"compensation", "Compensation", "补偿"},
    {"compensate", "Goodwill points", "补偿积分"},
    {"none_yet", "None.", "暂无。"},
    {"latest", "latest", "最近"},
    {"k_earn", "Earned", "消费积分"},
    {"k_redeem", "Redeemed", "兑换"},
    {"k_expire", "Expired", "过期"},
    {"k_bonus", "Bonus", "奖励"},
    {"k_returned", "Returned (refund)", "退货返还"},
    {"k_reversal", "Reversed (refund)", "退货扣回"},
    {"k_merge_in", "Merged in", "合并转入"},
    {"k_merge_out", "Merged out", "合并转出"},
    {"k_adjust", "Head-office adjustment", "总部调整"},
};

std::string word(const std::string& lang, const std::string& key) { return pageWord(kWords, lang, key); }

json words(const std::string& lang) { return pageWords(kWords, lang); }

constexpr std::size_t kShown = 50;  ///< rows of each profile section

/// A refused form: the error page in the dashboard's frame, with the refusal's status.
void refusedPage(DashboardAccess& access, const DashboardViewer& who, const httplib::Request& req, httplib::Response& res,
                 const Error& e) {
  const HttpProblem refused = problemFor(e);
  json view = access.frame(req, who, access.language(req), "/dashboard/members", "member_search");
  view["message"] = refused.detail;
  access.html(res, renderTemplate("error", view), refused.status);
}

const Error kAdminsOnly{errc::kForbidden, "", "adjusting points is for admins"};

/// A form's points and reason as the API's body.
json formBody(const httplib::Request& req) {
  json body = {{"reason", req.get_param_value("reason")}};
  // A whole number is sent as one; anything else as the text typed (refused, naming points).
  const std::string p = req.get_param_value("points");
  std::int64_t n = 0;
  const char* first = p.data() + (p.rfind('+', 0) == 0 ? 1 : 0);
  const auto [end, ec] = std::from_chars(first, p.data() + p.size(), n);
  body["points"] = ec == std::errc() && end == p.data() + p.size() && first != end ? json(n) : json(p);
  if (!req.get_param_value("adjustment_id").empty()) body["adjustment_id"] = req.get_param_value("adjustment_id");
  return body;
}

/// The search as `who` may see it: phones masked unless granted; a read of members' personal
/// data is audited with how many it showed (never with the query: it may be a phone number).
void showTo(HqService& service, const DashboardViewer& who, json& out) {
  if (const std::int64_t shown = protectPersonalData(out, who.seesAll()); shown > 0) {
    service.auditAccess(who.actor(), audit::kMembersExport, "member search", shown);
  }
}

/// How long a search brings the search keys up to date before it answers from those it has
/// (checked between chunks, so about that long: a chunk may wait for uploads' turns). A
/// day's changes take a few chunks; a first fill of a million members kept the first search
/// waiting 19 s on SQLite and 43 s on PostgreSQL when it did it all. The leader's refresher
/// goes on with it in the background.
constexpr std::chrono::milliseconds kSearchCatchUp{1000};
/// The count of members the keys have not caught up with stops here (the answer says "at least").
constexpr std::int64_t kBehindCountedUpTo = 100'000;

std::chrono::milliseconds searchCatchUp() {
  // A test's hook (tests/hq/analytics/test_members.cpp): a search with the keys still behind.
  return testHookMilliseconds("LOYALTY_HQ_TEST_SEARCH_CATCH_UP_MS").value_or(kSearchCatchUp);
}

/// The search, with "keys_behind": how many members changed since the keys were brought up to
/// date (0 when they are; kBehindCountedUpTo means at least that many).
json searchFor(HqService& service, const MemberSearch& s) {
  // A chunk per turn of the writing connection: a first fill of a large chain does not hold up
  // this instance's uploads (and never waits for the store-wide lock theirs hold).
  const auto until = std::chrono::steady_clock::now() + searchCatchUp();
  bool behind = true;
  while (behind && std::chrono::steady_clock::now() < until) {
    behind = service.onWriter([](SqlConnection& c) { return refreshMemberSearchKeys(c); });
  }
  return service.onReader([&](SqlConnection& c) { return searchMembers(c, s, behind ? kBehindCountedUpTo : 0); });
}

/// The members the search keys lack as the page shows them ("100,000+" at the count's end);
/// false when none.
json behindText(std::int64_t n) {
  if (n <= 0) return false;
  return groupThousands(std::to_string(n)) + (n >= kBehindCountedUpTo ? "+" : "");
}

/// /dashboard/members: the search form and, with q, the members found (links to their pages).
Result<json> searchPage(HqService& service, DashboardAccess& access, const DashboardViewer& who, const httplib::Request& req) {
  const std::string lang = access.language(req);
  json view = access.frame(req, who, lang, "/dashboard/members", "member_search");
  view["m"] = words(lang);
  view["own_filter"] = true;
  view["lang"] = lang;
  view["q"] = req.get_param_value("q");
  view["results"] = false;
  if (req.get_param_value("q").empty()) return view;
  auto s = parseMemberSearch([&req](const char* k) { return forms::param(req, k); });
  if (!s) return s.error();
  json out = searchFor(service, *s);
  showTo(service, who, out);
  StoreTimes times(service);
  json rows = json::array();
  for (const auto& m : out["members"]) {
    rows.push_back({{"path", urlEncode(jsonText(m["member_id"]))}, {"member_id", m["member_id"]}, {"name", m["name"]},
                    {"card_no", m["card_no"]}, {"phone", m["phone"]}, {"tier", m["tier"]}, {"balance", shownNumber(m["balance"])},
                    {"lifetime_spend", shownMoney(m["lifetime_spend"])}, {"store", m["enrolled_store"]},
                    {"enrolled", times.local(m["enrolled_store"], m["enrolled_at"]).substr(0, 10)}});
  }
  const std::int64_t total = out["total"].get<std::int64_t>();
  const auto href = [&](std::int64_t offset) {
    return "/dashboard/members?lang=" + lang + "&q=" + urlEncode(s->q) + "&limit=" + std::to_string(s->limit) +
           "&offset=" + std::to_string(offset);
  };
  const json links = pageLinks(href, s->offset, static_cast<std::int64_t>(out["members"].size()), total, s->limit);
  view["results"] = {{"rows", std::move(rows)},
                     {"empty", out["members"].empty()},
                     {"shown", out["members"].size()},
                     {"total", total},
                     {"masked", !who.seesAll()},
                     {"keys_behind", behindText(out["keys_behind"].get<std::int64_t>())},
                     {"prev_href", links["prev"]},
                     {"next_href", links["next"]}};
  return view;
}

std::string signedPoints(const json& p) { return groupThousands((p.get<std::int64_t>() > 0 ? "+" : "") + p.dump()); }

}  // namespace

json member360View(HqService& service, StoreTimes& times, const DashboardViewer& who, const std::string& lang, const std::string& memberId) {
  // Everything head office holds on the person (the data-subject export: one place that reads
  // it), shown newest first, and head office's adjustments with their reasons.
  auto doc = service.onWriter([&](SqlConnection& c) { return memberExport(c, memberId, nowSeconds()); });
  if (!doc) return false;
  std::vector<std::string> records = {memberId};
  for (const auto& m : (*doc)["merged_records"]) records.push_back(jsonText(m["member_id"]));
  const json adjustments = service.onReader([&](SqlConnection& c) { return memberAdjustments(c, records); });
  std::map<std::string, json> byId;
  for (const auto& a : adjustments) byId[jsonText(a["adjustment_id"])] = a;

  // Times in the store's local time: a sale's, a refund's or a complaint's store; the member's
  // home store for what has none (head office's adjustments).
  const json home = (*doc)["profile"]["enrolled_store"];
  json storeOfEvent = json::object();
  for (const char* list : {"sales", "refunds"}) {
    for (const auto& r : (*doc)[list]) storeOfEvent[jsonText(r["event_id"])] = r["store_id"];
  }
  const auto newest = [](json list, const char* at) {
    std::stable_sort(list.begin(), list.end(), [at](const json& a, const json& b) { return jsonText(a[at]) > jsonText(b[at]); });
    return list;
  };
  json ledger = json::array();
  for (const auto& e : newest((*doc)["ledger"], "at")) {
    if (ledger.size() == kShown) break;
    const auto a = byId.find(jsonText(e["event_id"]));
    ledger.push_back({{"at", times.local(storeOfEvent.value(jsonText(e["event_id"]), json(nullptr)), e["at"], home)},
                      {"kind", word(lang, "k_" + jsonText(e["kind"]))}, {"points", signedPoints(e["points"])},
                      {"reason", a == byId.end() ? "" : jsonText(a->second["reason"])}, {"actor", a == byId.end() ? "" : jsonText(a->second["actor"])}});
  }
  json sales = json::array();
  for (const auto& s : newest((*doc)["sales"], "at")) {
    if (sales.size() == kShown) break;
    sales.push_back({{"at", times.local(s["store_id"], s["at"], home)}, {"store", jsonText(s["store_id"])}, {"total", shownMoney(s["total"])},
                     {"earned", shownNumber(s["points_earned"])}, {"redeemed", shownNumber(s["points_redeemed"])},
                     {"lines", shownNumber(s["lines"].size())}});
  }
  json surveys = json::array();
  for (const auto& s : newest((*doc)["surveys"], "at")) {
    if (surveys.size() == kShown) break;
    surveys.push_back({{"at", times.local(s["store_id"], s["at"], home)}, {"store", jsonText(s["store_id"])}, {"scale", jsonText(s["scale"])}, {"score", jsonText(s["score"])}});
  }
  json complaints = json::array();
  for (const auto& c : newest((*doc)["complaints"], "filed_at")) {
    if (complaints.size() == kShown) break;
    const std::string id = jsonText(c["complaint_id"]);
    json given = json::array();
    for (const auto& a : adjustments) {
      if (jsonText(a["complaint_id"]) == id) {
        given.push_back({{"points", signedPoints(a["points"])}, {"reason", jsonText(a["reason"])}, {"at", times.local(c["store_id"], a["at"], home)},
                         {"actor", jsonText(a["actor"])}});
      }
    }
    complaints.push_back({{"complaint_id", id}, {"filed", times.local(c["store_id"], c["filed_at"], home)}, {"store", jsonText(c["store_id"])},
                          {"category", jsonText(c["category"])}, {"description", jsonText(c["description"])}, {"step", jsonText(c["step"])},
                          {"compensation", std::move(given)}});
  }
  return {{"m", words(lang)},
          {"member_path", urlEncode(memberId)},
          {"admin", who.role == Role::kAdmin},
          {"ledger", std::move(ledger)},
          {"sales", std::move(sales)},
          {"sales_count", shownNumber((*doc)["sales"].size())},
          {"has_surveys", !surveys.empty()},
          {"surveys", std::move(surveys)},
          {"has_complaints", !complaints.empty()},
          {"complaints", std::move(complaints)}};
}

void registerMemberRoutes(httplib::Server& s, HqService& service, DashboardAccess access) {
  // [SECTION] API
  s.Get("/api/v1/members", [&service, access](const httplib::Request& req, httplib::Response& res) {
    auto who = access.api(req, res);
    if (!who) return;
    auto q = parseMemberSearch([&req](const char* k) { return forms::param(req, k); });
    if (!q) return sendError(res, q.error());
    json out = searchFor(service, *q);
    showTo(service, *who, out);
    sendJson(res, out);
  });

  s.Post(R"(/api/v1/admin/members/([^/]+)/points)", [&service, access](const httplib::Request& req, httplib::Response& res) {
    auto who = access.api(req, res);
    if (!who) return;
    if (who->role != Role::kAdmin) return sendError(res, kAdminsOnly);
    auto body = sync::parseRequestJson(req.body);
    if (!body) return sendError(res, body.error());
    auto a = parsePointsAdjustment(*body, req.matches[1].str(), std::nullopt);
    if (!a) return sendError(res, a.error());
    auto out = service.adjustPoints(*a, who->actor());
    if (!out) return sendError(res, out.error());
    sendJson(res, *out);
  });

  s.Post(R"(/api/v1/admin/complaints/([^/]+)/compensation)", [&service, access](const httplib::Request& req, httplib::Response& res) {
    auto who = access.api(req, res);
    if (!who) return;
    if (who->role != Role::kAdmin) return sendError(res, kAdminsOnly);
    auto body = sync::parseRequestJson(req.body);
    if (!body) return sendError(res, body.error());
    auto a = parsePointsAdjustment(*body, "", req.matches[1].str());
    if (!a) return sendError(res, a.error());
    auto out = service.adjustPoints(*a, who->actor());
    if (!out) return sendError(res, out.error());
    sendJson(res, *out);
  });

  // [SECTION] Dashboard pages and forms (a form's CSRF token is checked by access.api)
  s.Get("/dashboard/members", [&service, access](const httplib::Request& req, httplib::Response& res) mutable {
    auto who = access.session(req);
    if (!who) return access.signIn(req, res);
    auto view = searchPage(service, access, *who, req);
    if (!view) return refusedPage(access, *who, req, res, view.error());
    access.html(res, renderTemplate("members", *view), 200);
  });

  const auto form = [&service, access](bool compensation) {
    return [&service, access, compensation](const httplib::Request& req, httplib::Response& res) mutable {
      auto who = access.session(req);
      if (!who) return seeOther(res, "/dashboard/login");
      if (!access.api(req, res)) return;  // the form's CSRF token
      if (who->role != Role::kAdmin) return refusedPage(access, *who, req, res, kAdminsOnly);
      const std::string member = req.matches[1].str();
      std::optional<std::string> complaint;
      if (compensation) complaint = req.get_param_value("complaint_id");
      auto a = parsePointsAdjustment(formBody(req), member, complaint);
      if (!a) return refusedPage(access, *who, req, res, a.error());
      auto out = service.adjustPoints(*a, who->actor());
      if (!out) return refusedPage(access, *who, req, res, out.error());
      seeOther(res, "/dashboard/members/" + urlEncode(member) + "?lang=" + access.language(req));
    };
  };
  s.Post(R"(/dashboard/members/([^/]+)/points)", form(false));
  s.Post(R"(/dashboard/members/([^/]+)/compensation)", form(true));
}

}  // namespace loyalty::hq
