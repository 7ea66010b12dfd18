#pragma once
/// @brief What the dashboard lends the pages and API routes of other files (follow-up visits):
/// who is asking (a bearer token or a signed-in session with its CSRF token), the page frame
/// (header, navigation, catalogue words, language) and how an HTML page is answered.

#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "loyalty/hq/privacy.hpp"
#include "loyalty/hq/store.hpp"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace loyalty::hq {

/// An admin or analyst, through a bearer token (csrf empty) or a dashboard session.
struct DashboardViewer {
  std::string name;
  Role role = Role::kAnalyst;
  std::string csrf;
  bool pii = false;

  bool seesAll() const { return seesPersonalData(role, pii); }
  /// The audit trail's name for them.
  std::string actor() const { return (csrf.empty() ? "token:" : "user:") + name; }
};

struct DashboardAccess {
  /// API access (admin or analyst; a session's change must carry its CSRF token); otherwise it
  /// has answered 401/403.
  std::function<std::optional<DashboardViewer>(const httplib::Request&, httplib::Response&)> api;
  /// A signed-in dashboard session (pages and forms), or nullopt (send to the sign-in page).
  std::function<std::optional<DashboardViewer>(const httplib::Request&)> session;
  /// "zh" or "en" for the request (parameter, cookie, Accept-Language).
  std::function<std::string(const httplib::Request&)> language;
  /// The frame every page shows (header.mustache's view) for `path`, titled by catalogue key.
  std::function<nlohmann::json(const httplib::Request&, const DashboardViewer&, const std::string& lang, const std::string& path,
                               const std::string& titleKey)>
      frame;
  /// Sends someone not signed in to the sign-in page, which brings them back to this page (a
  /// page's GET; forms send to the plain sign-in page).
  std::function<void(const httplib::Request&, httplib::Response&)> signIn;
  /// Answers an HTML page (no-store, the dashboard's CSP).
  std::function<void(httplib::Response&, const std::string& html, int status)> html;
};

}  // namespace loyalty::hq
