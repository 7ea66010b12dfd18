#pragma once
/// @brief How head office answers over HTTP, for every route (protocol, privacy, dashboard API):
/// JSON bodies, and refusals as problem+json (docs/sync-wire.md "Problems") with the one mapping
/// from a business refusal (`Error`) to a status.

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "loyalty/core/result.hpp"

namespace httplib {
struct Request;
struct Response;
}

namespace loyalty::hq {

/// A refusal that becomes a problem+json response: a code of sync::problem, its status, a
/// sentence for the caller.
struct HttpProblem {
  const char* code;
  int status;
  std::string detail;
};

/// unauthenticated 401, forbidden 403, not_found 404, gone 410, conflict, already_exists and
/// insufficient_points 409, anything else 400. The detail names the field when the message
/// does not already.
HttpProblem problemFor(const Error& e);

void sendProblem(httplib::Response& res, const HttpProblem& p);
inline void sendError(httplib::Response& res, const Error& e) { sendProblem(res, problemFor(e)); }

/// A request's JSON body that must be an object: what sync::parseRequestJson refuses (invalid
/// JSON, U+0000 in a string) with its own message, anything but an object as field "body".
Result<nlohmann::json> requestObject(std::string_view body);

/// The request's parameters as read so far (its query; once a handler runs, a form body's
/// fields too): refused, naming the field, when a name or value holds U+0000, which PostgreSQL
/// cannot store and its client library would cut a value at.
Status refuseNulParameters(const httplib::Request& req);

/// A JSON answer; never cached (answers may carry members' personal data).
void sendJson(httplib::Response& res, const nlohmann::json& body, int status = 200);

}  // namespace loyalty::hq
