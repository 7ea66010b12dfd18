// Members' personal data over HTTPS: the member read, the data-subject export, erasure and the
// audit trail (docs/sync-wire.md "Personal data").
#include <httplib.h>

#include <memory>

#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/dashboard_forms.hpp"
#include "loyalty/hq/http_answer.hpp"
#include "loyalty/hq/local_time.hpp"
#include "loyalty/hq/privacy.hpp"
#include "loyalty/hq/service.hpp"
#include "loyalty/sync/codec.hpp"

namespace loyalty::hq {

using nlohmann::json;

using forms::param;

void registerPrivacyRoutes(httplib::Server& s, PrivacyRoutes routes) {
  auto ctx = std::make_shared<PrivacyRoutes>(std::move(routes));

  s.Get(R"(/api/v1/members/([^/]+))", [ctx](const httplib::Request& req, httplib::Response& res) {
    auto who = ctx->require(req, res, {Role::kAdmin, Role::kAnalyst});
    if (!who) return;
    const std::string id = req.matches[1].str();
    auto out = ctx->service.member(id);
    if (!out) return sendError(res, out.error());
    protectPersonalData(*out, seesPersonalData(who->role, who->pii));
    ctx->service.auditAccess(actorOf(*who), audit::kMemberRead, id, std::nullopt);
    sendJson(res, *out);
  });

  s.Get(R"(/api/v1/members/([^/]+)/export)", [ctx](const httplib::Request& req, httplib::Response& res) {
    auto who = ctx->require(req, res, {Role::kAdmin});
    if (!who) return;
    const std::string id = req.matches[1].str();
    auto out = ctx->service.memberExport(id, actorOf(*who));
    if (!out) return sendError(res, out.error());
    res.set_header("Content-Disposition", "attachment; filename=\"member-export.json\"");
    sendJson(res, *out);
  });

  s.Post(R"(/api/v1/admin/members/([^/]+)/erase)", [ctx](const httplib::Request& req, httplib::Response& res) {
    auto who = ctx->require(req, res, {Role::kAdmin});
    if (!who) return;
    auto body = sync::parseRequestJson(req.body);
    if (!body) return sendError(res, body.error());
    if (!body->is_object()) return sendError(res, invalidArgument("body", "the body is a JSON object {\"reason\": \"...\"}"));
    const auto reason = body->find("reason");
    if (reason == body->end() || !reason->is_string()) {
      return sendError(res, invalidArgument("reason", "a string saying why the member's data is erased is required"));
    }
    auto out = ctx->service.eraseMember(req.matches[1].str(), reason->get<std::string>(), actorOf(*who));
    if (!out) return sendError(res, out.error());
    sendJson(res, {{"member_id", out->memberId}, {"erased_at", out->erasedAt}, {"records", out->records}});
  });

  s.Get("/api/v1/admin/audit", [ctx](const httplib::Request& req, httplib::Response& res) {
    if (!ctx->require(req, res, {Role::kAdmin})) return;
    auto out = ctx->service.auditListing(param(req, "from"), param(req, "to"), param(req, "limit"), param(req, "offset"),
                                         param(req, "order"));
    if (!out) return sendError(res, out.error());
    sendJson(res, *out);
  });
}

}  // namespace loyalty::hq
