#pragma once
/// @brief What the dashboard and the analytics API read from a request (query parameters, form
/// fields, cookies), as pure functions: the routes call them, and so does fuzz/ (docs/fuzzing.md).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "loyalty/core/result.hpp"
#include "loyalty/hq/analytics.hpp"

namespace httplib {
struct Request;
}

namespace loyalty::hq::forms {

/// A query parameter or form field (cpp-httplib puts both in the request's params); absent: nullopt.
std::optional<std::string> param(const httplib::Request& req, const char* key);

/// A list's page from `limit` (1..kListPageMax; absent: `defaultLimit`) and `offset`; errors name
/// the parameter.
Result<RowPage> listPage(const httplib::Request& req, std::int64_t defaultLimit = kListPageMax);

/// The value of cookie `name` in the Cookie header, "" when absent.
std::string cookie(const httplib::Request& req, const std::string& name);

/// The token of an `Authorization: Bearer ...` header; nullopt when the request has none.
std::optional<std::string> bearerToken(const httplib::Request& req);

/// A report request, parsed: enough to run it again later (the report cache's refresher).
struct ReportCall {
  std::string name;
  ReportFilter filter;
  std::optional<std::string> asOf;  ///< absent: Reports::defaultAsOf when run
  std::string group;                ///< sales
  std::string period;               ///< satisfaction
  std::int64_t churnDays = 90;

  /// The same report and parameters give the same key.
  std::string key() const;
  std::string asOfOn(Reports& r, Timestamp now) const { return asOf ? *asOf : r.defaultAsOf(filter, now); }
};

/// Report `name`'s parameters: from, to, store, limit, offset, as_of, group, period, churn_days.
Result<ReportCall> parseCall(const std::string& name, const httplib::Request& req);

/// The dashboard's complaint form (step, owner, due, note): an empty field is left unchanged.
ComplaintUpdate complaintUpdate(const httplib::Request& req);

/// The sign-in form.
struct SignInForm {
  std::string user;
  std::string password;
  /// Whether any account could match: a user name of 1 to 64 bytes, a password of at most 1024.
  bool plausible() const { return !user.empty() && user.size() <= 64 && password.size() <= 1024; }
};
SignInForm signInForm(const httplib::Request& req);

/// Only same-site paths of the dashboard as redirect targets; anything else is "/dashboard".
std::string safeNext(const std::string& next);

}  // namespace loyalty::hq::forms
