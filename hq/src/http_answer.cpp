#include "loyalty/hq/http_answer.hpp"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "loyalty/hq/store.hpp"
#include "loyalty/sync/codec.hpp"

namespace loyalty::hq {

namespace wire = loyalty::sync;

HttpProblem problemFor(const Error& e) {
  std::string detail = e.field.empty() || e.message.find(e.field) != std::string::npos ? e.message : e.field + ": " + e.message;
  if (e.code == hqerr::kUnauthenticated) return {wire::problem::kUnauthenticated, 401, std::move(detail)};
  if (e.code == errc::kForbidden) return {wire::problem::kForbidden, 403, std::move(detail)};
  if (e.code == errc::kNotFound) return {wire::problem::kNotFound, 404, std::move(detail)};
  if (e.code == hqerr::kGone) return {wire::problem::kGone, 410, std::move(detail)};
  if (e.code == errc::kConflict || e.code == errc::kAlreadyExists) return {wire::problem::kConflict, 409, std::move(detail)};
  if (e.code == errc::kInsufficientPoints) return {wire::problem::kInsufficientPoints, 409, std::move(detail)};
  return {wire::problem::kBadRequest, 400, std::move(detail)};
}

void sendProblem(httplib::Response& res, const HttpProblem& p) {
  res.status = p.status;
  res.set_content(wire::dumpJson(wire::toJson(wire::Problem::make(p.code, p.status, p.detail))), wire::kProblemContentType);
}

void sendJson(httplib::Response& res, const nlohmann::json& body, int status) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(wire::dumpJson(body), "application/json");
}

Result<nlohmann::json> requestObject(std::string_view body) {
  auto parsed = wire::parseRequestJson(body);
  if (parsed && !parsed->is_object()) return invalidArgument("body", "the body is a JSON object");
  return parsed;
}

Status refuseNulParameters(const httplib::Request& req) {
  for (const auto& [name, value] : req.params) {
    if (name.find('\0') == std::string::npos && value.find('\0') == std::string::npos) continue;
    // The JSON rule's path and message: a name holding it written with the escape, a long one cut.
    return wire::refuseNulCharacters(nlohmann::json::object({{name, value}}), "");
  }
  return loyalty::Ok{};
}

}  // namespace loyalty::hq
