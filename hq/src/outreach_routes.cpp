// Outreach over HTTPS: the API (docs/outreach.md), the gateway's callbacks, the public opt-out
// page and the dashboard's /dashboard/outreach page (server-rendered, zh-CN and en, plain forms).
#include <httplib.h>
#include <openssl/crypto.h>

#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/dashboard_access.hpp"
#include "loyalty/hq/dashboard_forms.hpp"
#include "loyalty/hq/http_answer.hpp"
#include "loyalty/hq/local_time.hpp"
#include "loyalty/hq/number_format.hpp"
#include "loyalty/hq/outreach.hpp"
#include "loyalty/hq/page_words.hpp"
#include "loyalty/hq/privacy.hpp"
#include "loyalty/hq/service.hpp"
#include "loyalty/hq/templates.hpp"
#include "loyalty/hq/web_text.hpp"
#include "loyalty/sync/codec.hpp"

namespace loyalty::hq {

using nlohmann::json;

namespace {

// [SECTION] Words of the outreach pages (zh-CN / en)

using Word = PageWord;
constexpr Word kWords[] = {
    {"birthday", "Birthday", "生日祝福"},
    {"festival", "Festival", "节日问候"},
    {"points_expiring", "Points expiring", "积分到期提醒"},
    {"welcome_back", "Welcome back", "欢迎回来"},
    {"tier_upgrade", "Tier upgrade", "升级祝贺"},
    {"campaign", "Campaign", "营销活动"},
    {"status_title", "Messages", "消息状态"},
    {"queued", "Queued", "待发送"},
    {"sending", "Sending", "发送中"},
    {"sent", "Sent", "已发送"},
    {"delivered", "Delivered", "已送达"},
    {"failed", "Failed", "失败"},
    {"capped", "Over the frequency cap", "超出频次上限"},
    {"cancelled", "Cancelled (no consent)", "已取消（未授权）"},
    {"today", "Sent today / daily budget", "今日已发 / 每日预算"},
    {"gateway", "Gateway", "短信网关"},
    {"not_configured", "No gateway configured: nothing is sent (PUT /api/v1/admin/outreach/settings).",
     "未配置网关：不会发送任何消息（PUT /api/v1/admin/outreach/settings）。"},
    {"rules", "Quiet hours (store time) %s; at most %s messages per member in %s days; %s retries.",
     "免打扰时段（门店时间）%s；每位会员 %s 天内最多 %s 条；最多重试 %s 次。"},
    {"templates", "Templates", "消息模板"},
    {"kind", "Kind", "类型"},
    {"language", "Language", "语言"},
    {"body", "Text", "内容"},
    {"custom", "edited", "已修改"},
    {"placeholders", "Placeholders: {name} {greeting} {points} {date} {tier} {text} {opt_out}; an empty text restores the default.",
     "占位符：{name} {greeting} {points} {date} {tier} {text} {opt_out}；留空恢复默认内容。"},
    {"save", "Save", "保存"},
    {"preview_title", "Who gets what", "发送预览"},
    {"day", "Day", "日期"},
    {"festival_id", "Festival (optional)", "节日（可选）"},
    {"campaign_name", "Campaign name", "活动名称"},
    {"text", "Campaign text", "活动内容"},
    {"idle_days", "No visit for (days)", "未到店天数"},
    {"store", "Store", "门店"},
    {"preview", "Preview", "预览"},
    {"send", "Queue for sending", "确认发送"},
    {"decision", "Decision", "结果"},
    {"send_d", "will be sent", "将发送"},
    {"no_consent", "no marketing consent", "未授权营销"},
    {"no_phone", "no phone", "无手机号"},
    {"already", "already sent for this occasion", "本次已发送"},
    {"capped_d", "over the frequency cap", "超出频次上限"},
    {"name", "Name", "姓名"},
    {"card_no", "Card", "卡号"},
    {"phone", "Phone", "手机号"},
    {"message", "Message", "消息"},
    {"counts", "To send %s · no consent %s · no phone %s · already sent %s · over the cap %s",
     "将发送 %s · 未授权 %s · 无手机号 %s · 已发送过 %s · 超出频次 %s"},
    {"shown", "showing %s of %s", "显示 %s 条，共 %s 条"},
    {"latest", "Latest messages", "最近消息"},
    {"created", "Queued at (UTC)", "加入时间（UTC）"},
    {"attempts", "Attempts", "尝试次数"},
    {"error", "Last error", "最近错误"},
    {"status", "Status", "状态"},
    {"queued_note", "Queued %s messages.", "已加入发送队列 %s 条。"},
    {"masked", "Phone numbers are masked: this account is not granted personal data.", "手机号已隐藏：此账号未获个人信息权限。"},
    {"none", "No messages yet.", "暂无消息。"},
    {"optout_title", "Unsubscribe", "退订"},
    {"optout_ask", "Stop marketing messages from us?", "不再接收我们的营销消息？"},
    {"optout_button", "Unsubscribe", "确认退订"},
    {"optout_done", "You will receive no more marketing messages.", "退订成功，您将不再收到营销消息。"},
    {"optout_unknown", "This link is not valid or you already unsubscribed.", "链接无效，或您已退订。"},
};

std::string word(const std::string& lang, const std::string& key) { return pageWord(kWords, lang, key); }

json words(const std::string& lang) { return pageWords(kWords, lang); }

/// `pattern` with each %s replaced by the next value.
std::string format(std::string pattern, std::initializer_list<std::string> values) {
  std::size_t at = 0;
  for (const auto& v : values) {
    at = pattern.find("%s", at);
    if (at == std::string::npos) break;
    pattern.replace(at, 2, v);
    at += v.size();
  }
  return pattern;
}

std::string today() { return formatRfc3339(nowSeconds()).substr(0, 10); }

bool sameSecret(const std::string& a, const std::string& b) {
  return !b.empty() && a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

/// A JSON body's fields as parameters (numbers as their digits).
std::function<std::optional<std::string>(const char*)> bodyParams(const json& body) {
  return [body](const char* k) -> std::optional<std::string> {
    if (!body.is_object() || !body.contains(k) || body[k].is_null()) return std::nullopt;
    if (body[k].is_array()) {
      std::string joined;
      for (const auto& v : body[k]) joined += (joined.empty() ? "" : ",") + jsonText(v);
      return joined;
    }
    return jsonText(body[k]);
  };
}

std::function<std::optional<std::string>(const char*)> queryParams(const httplib::Request& req) {
  return [&req](const char* k) { return forms::param(req, k); };
}

Error forAdmins(const char* what) { return Error{errc::kForbidden, "", std::string(what) + " is for admins"}; }

/// The preview as `who` may see it: phones masked unless granted, the read audited.
void showTo(HqService& service, const DashboardViewer& who, json& preview) {
  if (const std::int64_t records = protectPersonalData(preview, who.seesAll()); records > 0) {
    service.auditAccess(who.actor(), audit::kMembersExport, "outreach.preview", records);
  }
}

json runNow(HqService& service, Timestamp at) {
  return runOutreach([&service](const std::function<void(SqlConnection&)>& fn) { service.onWriter([&](SqlConnection& c) { fn(c); }); }, at);
}

// [SECTION] Pages

void refusedPage(DashboardAccess& access, const DashboardViewer& who, const httplib::Request& req, httplib::Response& res, const Error& e) {
  const HttpProblem refused = problemFor(e);
  json view = access.frame(req, who, access.language(req), "/dashboard/outreach", "outreach");
  view["message"] = refused.detail;
  access.html(res, renderTemplate("error", view), refused.status);
}

json pageView(HqService& service, DashboardAccess& access, const DashboardViewer& who, const httplib::Request& req,
             const OutreachListing& listing) {
  const std::string lang = access.language(req);
  json view = access.frame(req, who, lang, "/dashboard/outreach", "outreach");
  const bool admin = who.role == Role::kAdmin;
  const json status = service.onReader([&](SqlConnection& c) { return outreachStatus(c, listing, nowSeconds()); });
  const OutreachSettings settings = service.onReader([](SqlConnection& c) { return outreachSettings(c); });
  const json templates = service.onReader([](SqlConnection& c) { return outreachTemplates(c); });
  json kpis = json::array();
  for (const char* st : {"queued", "sent", "delivered", "failed", "capped", "cancelled"}) {
    kpis.push_back({{"label", word(lang, st)}, {"key", st}, {"value", shownNumber(status["counts"][st])}});
  }
  kpis.push_back({{"label", word(lang, "today")}, {"key", "today"},
                  {"value", shownNumber(status["today"]["sent"]) + " / " + shownNumber(status["today"]["budget"])}});
  json messages = json::array();
  for (const auto& m : status["messages"]) {
    messages.push_back({{"member_path", urlEncode(jsonText(m["member_id"]))}, {"name", jsonText(m["name"])}, {"card_no", jsonText(m["card_no"])},
                        {"kind", word(lang, jsonText(m["kind"]))}, {"status", jsonText(m["status"])}, {"status_label", word(lang, jsonText(m["status"]))},
                        {"attempts", m["attempts"]}, {"created", jsonText(m["created_at"])}, {"error", jsonText(m["error"])}, {"text", jsonText(m["text"])}});
  }
  json tpl = json::array();
  for (const auto& t : templates) {
    tpl.push_back({{"kind", jsonText(t["kind"])}, {"kind_label", word(lang, jsonText(t["kind"]))}, {"language", jsonText(t["language"])},
                   {"body", jsonText(t["body"])}, {"custom", t["custom"]}});
  }
  const std::string kind = req.get_param_value("kind");
  json kinds = json::array();
  for (const char* k : kOutreachKinds) kinds.push_back({{"value", k}, {"label", word(lang, k)}, {"selected", kind == k}});
  json sel = json::object();
  for (const char* k : {"day", "festival", "campaign", "text", "idle_days", "store"}) sel[k] = req.get_param_value(k);
  if (jsonText(sel["day"]).empty()) sel["day"] = today();
  if (jsonText(sel["idle_days"]).empty()) sel["idle_days"] = "90";
  if (!kind.empty()) {
    auto r = parseOutreachRequest(queryParams(req), today());
    if (!r) {
      view["preview_error"] = r.error().message;
    } else {
      auto preview = service.onReader([&](SqlConnection& c) { return previewOutreach(c, *r, nowSeconds()); });
      if (!preview) {
        view["preview_error"] = preview.error().message;
      } else {
        showTo(service, who, *preview);
        json rows = json::array();
        for (const auto& p : (*preview)["recipients"]) {
          const std::string d = jsonText(p["decision"]);
          rows.push_back({{"member_path", urlEncode(jsonText(p["member_id"]))}, {"name", jsonText(p["name"])}, {"card_no", jsonText(p["card_no"])},
                          {"phone", jsonText(p["phone"])}, {"store", jsonText(p["store"])}, {"text", jsonText(p["text"])}, {"decision", d},
                          {"decision_label", word(lang, d == "send" || d == "capped" ? d + "_d" : d)}, {"send", d == "send"}});
        }
        const json& n = (*preview)["counts"];
        view["preview"] = {{"rows", std::move(rows)},
                           {"counts", format(word(lang, "counts"), {shownNumber(n["send"]), shownNumber(n["no_consent"]), shownNumber(n["no_phone"]),
                                                                      shownNumber(n["already"]), shownNumber(n["capped"])})},
                           {"shown", format(word(lang, "shown"), {shownNumber((*preview)["recipients"].size()), shownNumber((*preview)["total"])})},
                           {"can_send", admin && n["send"].get<std::int64_t>() > 0}};
      }
    }
  }
  view["o"] = words(lang);
  view["own_filter"] = true;
  view["lang"] = lang;
  view["kpis"] = std::move(kpis);
  view["configured"] = !settings.gatewayUrl.empty();
  view["rules_text"] = format(word(lang, "rules"), {settings.quietStart + "–" + settings.quietEnd,
                                                    lang == "zh" ? std::to_string(settings.capDays) : std::to_string(settings.capMessages),
                                                    lang == "zh" ? std::to_string(settings.capMessages) : std::to_string(settings.capDays),
                                                    std::to_string(settings.maxAttempts - 1)});
  view["templates"] = std::move(tpl);
  view["kinds"] = std::move(kinds);
  view["sel_kind"] = kind;
  view["sel"] = std::move(sel);
  view["messages"] = std::move(messages);
  view["empty"] = status["messages"].empty();
  view["admin"] = admin;
  view["masked"] = !who.seesAll();
  if (req.has_param("queued")) view["queued_note"] = format(word(lang, "queued_note"), {req.get_param_value("queued")});
  return view;
}

/// The public opt-out page: the language of the message the link came in.
void optOutPage(HqService& service, DashboardAccess& access, const httplib::Request& req, httplib::Response& res, bool withdraw) {
  const std::string token = req.matches[1].str();
  const auto lang = service.onReader([&](SqlConnection& c) -> std::string {
    const auto r = c.query("SELECT language FROM outreach_messages WHERE opt_out_token = $1", {token});
    return !r.empty() && r.text(0, 0) == "en" ? "en" : "zh";
  });
  const auto members = service.onReader([&](SqlConnection& c) { return optOutMembers(c, std::nullopt, token); });
  json view = {{"html_lang", lang == "zh" ? "zh-CN" : "en"}, {"o", words(lang)}, {"token", urlEncode(token)}};
  if (members.empty()) {
    view["message"] = word(lang, "optout_unknown");
  } else if (withdraw) {
    const auto done =
        service.onWriterStore([&](HqStore& store) { return store.withdrawConsent(members, "outreach.link", "optout:link", nowSeconds()); });
    view["message"] = word(lang, done ? "optout_done" : "optout_unknown");
  } else {
    view["ask"] = true;
  }
  access.html(res, renderTemplate("optout", view), 200);
}

}  // namespace

void registerOutreachRoutes(httplib::Server& s, HqService& service, DashboardAccess access) {
  // [SECTION] API
  s.Get("/api/v1/admin/outreach/settings", [&service, access](const httplib::Request& req, httplib::Response& res) {
    auto who = access.api(req, res);
    if (!who) return;
    if (who->role != Role::kAdmin) return sendError(res, forAdmins("the outreach settings"));
    sendJson(res, outreachSettingsView(service.onReader([](SqlConnection& c) { return outreachSettings(c); })));
  });

  s.Put("/api/v1/admin/outreach/settings", [&service, access](const httplib::Request& req, httplib::Response& res) {
    auto who = access.api(req, res);
    if (!who) return;
    if (who->role != Role::kAdmin) return sendError(res, forAdmins("the outreach settings"));
    auto body = sync::parseRequestJson(req.body);
    if (!body) return sendError(res, body.error());
    auto out = service.onWriter([&](SqlConnection& c) { return setOutreachSettings(c, *body, who->actor(), nowSeconds()); });
    if (!out) return sendError(res, out.error());
    sendJson(res, *out);
  });

  s.Get("/api/v1/outreach/templates", [&service, access](const httplib::Request& req, httplib::Response& res) {
    if (!access.api(req, res)) return;
    sendJson(res, {{"templates", service.onReader([](SqlConnection& c) { return outreachTemplates(c); })}});
  });

  s.Put(R"(/api/v1/admin/outreach/templates/([^/]+)/([^/]+))", [&service, access](const httplib::Request& req, httplib::Response& res) {
    auto who = access.api(req, res);
    if (!who) return;
    if (who->role != Role::kAdmin) return sendError(res, forAdmins("changing templates"));
    auto body = sync::parseRequestJson(req.body);
    if (!body) return sendError(res, body.error());
    if (!body->is_object() || !body->contains("body") || !(*body)["body"].is_string()) {
      return sendError(res, invalidArgument("body", "body (the template's text) is required"));
    }
    auto out = service.onWriter([&](SqlConnection& c) {
      return setOutreachTemplate(c, req.matches[1].str(), req.matches[2].str(), (*body)["body"].get<std::string>(), who->actor(), nowSeconds());
    });
    if (!out) return sendError(res, out.error());
    sendJson(res, *out);
  });

  s.Get("/api/v1/outreach/preview", [&service, access](const httplib::Request& req, httplib::Response& res) {
    auto who = access.api(req, res);
    if (!who) return;
    auto r = parseOutreachRequest(queryParams(req), today());
    if (!r) return sendError(res, r.error());
    auto out = service.onReader([&](SqlConnection& c) { return previewOutreach(c, *r, nowSeconds()); });
    if (!out) return sendError(res, out.error());
    showTo(service, *who, *out);
    sendJson(res, *out);
  });

  s.Post("/api/v1/admin/outreach/send", [&service, access](const httplib::Request& req, httplib::Response& res) {
    auto who = access.api(req, res);
    if (!who) return;
    if (who->role != Role::kAdmin) return sendError(res, forAdmins("sending messages"));
    auto body = sync::parseRequestJson(req.body);
    if (!body) return sendError(res, body.error());
    auto r = parseOutreachRequest(bodyParams(*body), today());
    if (!r) return sendError(res, r.error());
    auto out = queueOutreach([&service](auto&& page) { return service.onWriter(page); }, *r, who->actor(), nowSeconds());
    if (!out) return sendError(res, out.error());
    sendJson(res, *out, 201);
  });

  s.Get("/api/v1/outreach/messages", [&service, access](const httplib::Request& req, httplib::Response& res) {
    if (!access.api(req, res)) return;
    auto listing = parseOutreachListing([&req](const char* name) { return forms::param(req, name); });
    if (!listing) return sendError(res, listing.error());
    sendJson(res, service.onReader([&](SqlConnection& c) { return outreachStatus(c, *listing, nowSeconds()); }));
  });

  // One pass of the sender now (or as of `at`: a test or a catch-up), besides the background job.
  s.Post("/api/v1/admin/outreach/run", [&service, access](const httplib::Request& req, httplib::Response& res) {
    auto who = access.api(req, res);
    if (!who) return;
    if (who->role != Role::kAdmin) return sendError(res, forAdmins("running the sender"));
    Timestamp at = nowSeconds();
    if (!req.body.empty()) {
      auto body = requestObject(req.body);
      if (!body) return sendError(res, body.error());
      if (body->contains("at")) {
        if (!(*body)["at"].is_string()) return sendError(res, invalidArgument("at", "at is an RFC 3339 instant"));
        auto parsed = parseRfc3339((*body)["at"].get<std::string>(), "at");
        if (!parsed) return sendError(res, parsed.error());
        at = *parsed;
      }
    }
    sendJson(res, runNow(service, at));
  });

  // [SECTION] The gateway's callbacks: the secret path segment is their credential.
  const auto gatewayCall = [&service](const httplib::Request& req, httplib::Response& res) -> std::optional<std::pair<OutreachSettings, json>> {
    const OutreachSettings settings = service.onReader([](SqlConnection& c) { return outreachSettings(c); });
    if (!sameSecret(req.matches[1].str(), settings.callbackSecret)) {
      sendError(res, Error{errc::kNotFound, "", "no such resource"});
      return std::nullopt;
    }
    auto body = requestObject(req.body);
    if (!body) {
      sendError(res, body.error());
      return std::nullopt;
    }
    return std::pair{settings, std::move(*body)};
  };

  s.Post(R"(/api/v1/outreach/gateway/([^/]+)/status)", [&service, gatewayCall](const httplib::Request& req, httplib::Response& res) {
    auto call = gatewayCall(req, res);
    if (!call) return;
    auto out = service.onWriter([&](SqlConnection& c) { return recordDeliveryReport(c, call->first, call->second, nowSeconds()); });
    if (!out) return sendError(res, out.error());
    sendJson(res, *out);
  });

  s.Post(R"(/api/v1/outreach/gateway/([^/]+)/reply)", [&service, gatewayCall](const httplib::Request& req, httplib::Response& res) {
    auto call = gatewayCall(req, res);
    if (!call) return;
    const auto& settings = call->first;
    const auto& body = call->second;
    const json::json_pointer fromAt{settings.replyFromField}, textAt{settings.replyTextField};
    if (!body.contains(fromAt) || !body.at(fromAt).is_string()) return sendError(res, invalidArgument("from", "the reply has no sender at " + settings.replyFromField));
    if (!body.contains(textAt) || !body.at(textAt).is_string()) return sendError(res, invalidArgument("text", "the reply has no text at " + settings.replyTextField));
    if (!isOptOutReply(body.at(textAt).get<std::string>())) return sendJson(res, {{"opted_out", 0}});
    const auto members = service.onReader([&](SqlConnection& c) { return optOutMembers(c, body.at(fromAt).get<std::string>(), std::nullopt); });
    auto out = service.onWriterStore([&](HqStore& store) { return store.withdrawConsent(members, "outreach.reply", "gateway:reply", nowSeconds()); });
    if (!out) return sendError(res, out.error());
    sendJson(res, {{"opted_out", *out}});
  });

  // [SECTION] The opt-out link (public: its token is the member's own)
  s.Get(R"(/optout/([A-Za-z0-9_-]{1,64}))", [&service, access](const httplib::Request& req, httplib::Response& res) mutable {
    optOutPage(service, access, req, res, false);
  });
  s.Post(R"(/optout/([A-Za-z0-9_-]{1,64}))", [&service, access](const httplib::Request& req, httplib::Response& res) mutable {
    optOutPage(service, access, req, res, true);
  });

  // [SECTION] Dashboard page and forms (a form's CSRF token is checked by access.api)
  s.Get("/dashboard/outreach", [&service, access](const httplib::Request& req, httplib::Response& res) mutable {
    auto who = access.session(req);
    if (!who) return access.signIn(req, res);
    // The page lists the newest 50 messages (of `status` when given).
    auto listing = parseOutreachListing([&req](const char* name) { return name == std::string_view("status") ? forms::param(req, name) : std::nullopt; },
                                        OutreachListing{std::nullopt, 50, 0});
    if (!listing) return refusedPage(access, *who, req, res, listing.error());
    access.html(res, renderTemplate("outreach", pageView(service, access, *who, req, *listing)), 200);
  });

  s.Post("/dashboard/outreach/send", [&service, access](const httplib::Request& req, httplib::Response& res) mutable {
    auto who = access.session(req);
    if (!who) return seeOther(res, "/dashboard/login");
    if (!access.api(req, res)) return;
    if (who->role != Role::kAdmin) return refusedPage(access, *who, req, res, forAdmins("sending messages"));
    auto r = parseOutreachRequest(queryParams(req), today());
    if (!r) return refusedPage(access, *who, req, res, r.error());
    auto out = queueOutreach([&service](auto&& page) { return service.onWriter(page); }, *r, who->actor(), nowSeconds());
    if (!out) return refusedPage(access, *who, req, res, out.error());
    seeOther(res, "/dashboard/outreach?lang=" + access.language(req) + "&queued=" + jsonText((*out)["queued"]));
  });

  s.Post("/dashboard/outreach/templates", [&service, access](const httplib::Request& req, httplib::Response& res) mutable {
    auto who = access.session(req);
    if (!who) return seeOther(res, "/dashboard/login");
    if (!access.api(req, res)) return;
    if (who->role != Role::kAdmin) return refusedPage(access, *who, req, res, forAdmins("changing templates"));
    auto out = service.onWriter([&](SqlConnection& c) {
      return setOutreachTemplate(c, req.get_param_value("kind"), req.get_param_value("language"), req.get_param_value("body"), who->actor(),
                                 nowSeconds());
    });
    if (!out) return refusedPage(access, *who, req, res, out.error());
    seeOther(res, "/dashboard/outreach?lang=" + access.language(req));
  });
}

}  // namespace loyalty::hq
