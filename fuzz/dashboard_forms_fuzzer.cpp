// Harness: what head office's dashboard and analytics API read from a request
// (loyalty/hq/dashboard_forms.hpp): report parameters and filters (parseCall over
// parseReportFilter, parsePage, wholeNumber), the complaint form and its checks, the sign-in
// form, cookies and the redirect target after a sign-in link.
//
// An input is three lines: the query string, the form body (application/x-www-form-urlencoded)
// and the Cookie header. Both are decoded by cpp-httplib as the server does (query and form
// fields end up in the same params).
//
// Properties, besides "no crash, no sanitizer report, no exception":
//  * a parsed report call has a cache key, a range with from <= to, at most 100 store ids and a
//    page within the documented bounds;
//  * an accepted complaint update changes something and stays within its lengths;
//  * a cookie's value is a part of the Cookie header without ';';
//  * the redirect target is a dashboard path on this site, without control characters.
#include <httplib.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "loyalty/hq/dashboard_forms.hpp"
#include "support.hpp"

namespace {

using namespace loyalty;
using namespace loyalty::hq;

const char* const kReports[] = {"summary", "sales",        "abc",        "abc-follow-up", "rfm",    "churn",
                                "retention", "referrals", "satisfaction", "complaints",    "points", "campaign"};

void reportCalls(const httplib::Request& req) {
  for (const char* name : kReports) {
    const auto call = forms::parseCall(name, req);
    if (!call) {
      fuzz::require(!call.error().field.empty() && !call.error().message.empty(), "a refused parameter is named",
                    call.error().message);
      continue;
    }
    const ReportFilter& f = call->filter;
    const std::string key = call->key();  // throws on what JSON cannot hold
    fuzz::require(!key.empty(), "a report call has a cache key");
    fuzz::require(f.range.from <= f.range.to, "a filter's range runs forwards", f.range.from + " " + f.range.to);
    fuzz::require(f.stores.size() <= 100, "a filter names at most 100 stores");
    fuzz::require(f.limit == -1 || (f.limit >= 1 && f.limit <= 100000), "a page's limit is 1 to 100000",
                  std::to_string(f.limit));
    fuzz::require(f.offset >= 0 && f.offset <= 100000000, "a page's offset is 0 to 100000000", std::to_string(f.offset));
    fuzz::require(call->churnDays >= 1 && call->churnDays <= 3650, "churn_days is 1 to 3650");
  }
}

void complaintForm(const httplib::Request& req) {
  const ComplaintUpdate u = forms::complaintUpdate(req);
  if (!checkComplaintUpdate(u)) return;
  fuzz::require(u.step || u.owner || u.due || u.note, "an accepted update changes something");
  fuzz::require(!u.owner || u.owner->size() <= 128, "an accepted owner is at most 128 bytes");
  fuzz::require(!u.note || u.note->size() <= 4000, "an accepted note is at most 4000 bytes");
}

void cookies(const httplib::Request& req) {
  const std::string header = req.get_header_value("Cookie");
  for (const char* name : {"lhq_session", "lhq_login_csrf", "lhq_lang"}) {
    const std::string v = forms::cookie(req, name);
    fuzz::require(v.find(';') == std::string::npos && header.find(v) != std::string::npos,
                  "a cookie's value is a part of the header without ';'", v);
  }
}

void signIn(const httplib::Request& req) {
  const forms::SignInForm form = forms::signInForm(req);
  if (form.plausible()) {
    fuzz::require(!form.user.empty() && form.user.size() <= 64 && form.password.size() <= 1024,
                  "only a plausible sign-in is looked up");
  }
}

void redirectTarget(const httplib::Request& req) {
  const std::string next = forms::safeNext(req.get_param_value("next"));
  fuzz::require(next.starts_with("/dashboard"), "the redirect target is a dashboard path", next);
  fuzz::require(next.find("//") == std::string::npos && next.find('\\') == std::string::npos,
                "the redirect target stays on this site", next);
  for (const unsigned char c : next) {
    fuzz::require(c >= 0x20 && c != 0x7f, "the redirect target has no control characters", next);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = fuzz::lines(std::string_view(reinterpret_cast<const char*>(data), size), 3);
  httplib::Request req;
  if (parts.size() > 0) httplib::detail::parse_query_text(std::string(parts[0]), req.params);
  if (parts.size() > 1) httplib::detail::parse_query_text(std::string(parts[1]), req.params);
  if (parts.size() > 2) req.headers.emplace("Cookie", std::string(parts[2]));
  reportCalls(req);
  complaintForm(req);
  cookies(req);
  signIn(req);
  redirectTarget(req);
  return 0;
}
