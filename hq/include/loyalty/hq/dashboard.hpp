#pragma once
/// @brief loyalty-hq's analytics over HTTPS: the reports API beyond summary/sales/abc, the
/// complaint workflow API, CSV/XLSX exports and the server-rendered dashboard (zh-CN / en,
/// inline SVG charts, session cookie login with CSRF tokens). Shapes: docs/reports.md.

#include <functional>
#include <optional>
#include <string>

#include "loyalty/core/result.hpp"
#include "loyalty/hq/sql.hpp"
#include "loyalty/hq/store.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}

namespace loyalty::hq {

class Throttle;
class PasswordVerifier;
class HqService;

/// Registers every analytics route on `server`; they read and write through `service`, like
/// the server's own routes. Dashboard pages (and API calls with `max_age`) take slow reports
/// from the service's cache, and the dashboard's default views are pinned in it. Sign-ins are
/// throttled by `throttle` and checked by `passwords`.
/// `started` is told of each request a handler identifies the sender of (ConnectionGuard::handlerStarted).
void registerAnalyticsRoutes(httplib::Server& server, HqService& service, Throttle& throttle, PasswordVerifier& passwords,
                             std::function<void(const httplib::Request&)> started);

/// An address under /dashboard that no route serves answers an HTML page in the reader's language
/// (lang parameter, cookie, Accept-Language) rather than the API's JSON problem. Returns false
/// (and leaves `res` alone) for any other address.
bool dashboardNotFound(const httplib::Request& req, httplib::Response& res);

/// Creates or replaces a dashboard account (role "admin" or "analyst"); the password is kept
/// only as an argon2id hash (libsodium, INTERACTIVE limits). At least 10 bytes. A disabled
/// account is enabled again; its open sessions end. `actor` is named in the audit trail. `pii`:
/// an analyst who sees full phones and birthdays (admins always do).
Result<Ok> setDashboardUser(SqlConnection& c, const std::string& name, const std::string& role, const std::string& password,
                            Timestamp now, const std::string& actor, bool pii = false);

}  // namespace loyalty::hq

namespace CLI {
class App;
}

namespace loyalty::hq {

/// Adds `loyalty-hq user set --data DIR --name NAME --role admin|analyst [--pii]` (the password is
/// read from the first line of stdin) to the command line. The returned function runs the
/// command if it was the one parsed and returns its exit status, otherwise nullopt.
std::function<std::optional<int>()> addAnalyticsCommands(CLI::App& app);

}  // namespace loyalty::hq
