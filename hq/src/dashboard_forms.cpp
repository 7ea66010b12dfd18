#include "loyalty/hq/dashboard_forms.hpp"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <string_view>

#include <nlohmann/json.hpp>

#include "loyalty/core/text.hpp"

namespace loyalty::hq::forms {

using nlohmann::json;

std::optional<std::string> param(const httplib::Request& req, const char* key) {
  if (!req.has_param(key)) return std::nullopt;
  return req.get_param_value(key);
}

Result<RowPage> listPage(const httplib::Request& req, std::int64_t defaultLimit) {
  RowPage page{0, defaultLimit};
  if (auto ok = parsePage(param(req, "limit"), param(req, "offset"), page); !ok) return ok.error();
  return page;
}

std::optional<std::string> bearerToken(const httplib::Request& req) {
  const std::string h = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (h.size() <= kBearer.size() || h.compare(0, kBearer.size(), kBearer) != 0) return std::nullopt;
  return h.substr(kBearer.size());
}

std::string cookie(const httplib::Request& req, const std::string& name) {
  const std::string h = req.get_header_value("Cookie");
  std::size_t p = 0;
  while (p < h.size()) {
    while (p < h.size() && (h[p] == ' ' || h[p] == ';')) ++p;
    const std::size_t end = h.find(';', p);
    const std::string item = h.substr(p, end == std::string::npos ? std::string::npos : end - p);
    const std::size_t eq = item.find('=');
    if (eq != std::string::npos && item.substr(0, eq) == name) return item.substr(eq + 1);
    if (end == std::string::npos) break;
    p = end + 1;
  }
  return {};
}

std::string ReportCall::key() const {
  return json{name, filter.range.from, filter.range.to, filter.stores, filter.offset, filter.limit,
              asOf ? json(*asOf) : json(nullptr), group, period, churnDays}
      .dump();
}

Result<ReportCall> parseCall(const std::string& name, const httplib::Request& req) {
  // Text parameters end up in the cache key, JSON text: bytes that are not UTF-8 are refused
  // here by name (they made key() throw: 503, retry later).
  for (const char* k : {"store", "group", "period"}) {
    if (const auto v = param(req, k); v && !isValidUtf8(*v)) return invalidArgument(k, std::string(k) + " is not valid UTF-8");
  }
  ReportCall c;
  c.name = name;
  auto f = parseReportFilter(param(req, "from"), param(req, "to"), param(req, "store"));
  if (!f) return f.error();
  if (auto page = parsePage(param(req, "limit"), param(req, "offset"), *f); !page) return page.error();
  // Member lists come in pages: without `limit`, the first kListPageDefault rows (the answer's
  // "page" says so; totals count the whole list).
  if (!param(req, "limit")) f->limit = kListPageDefault;
  c.filter = std::move(*f);
  if (auto a = param(req, "as_of")) {
    if (!parseDate(*a, "as_of")) return invalidArgument("as_of", "as_of must be a date YYYY-MM-DD");
    c.asOf = *a;
  }
  c.group = param(req, "group").value_or("day");
  c.period = param(req, "period").value_or("all");
  if (name == "churn") {
    auto days = wholeNumber(param(req, "churn_days"), "churn_days", 90, 1, 3650);
    if (!days) return days.error();
    c.churnDays = *days;
  }
  return c;
}

ComplaintUpdate complaintUpdate(const httplib::Request& req) {
  const auto opt = [&](const char* k) -> std::optional<std::string> {
    const std::string v = req.get_param_value(k);
    return v.empty() ? std::nullopt : std::optional<std::string>(v);
  };
  return ComplaintUpdate{opt("step"), opt("owner"), opt("due"), opt("note")};
}

SignInForm signInForm(const httplib::Request& req) {
  return {req.get_param_value("user"), req.get_param_value("password")};
}

std::string safeNext(const std::string& next) {
  // A path and a query of unreserved characters, "%XX" escapes and / ? = &, so no control
  // character (cpp-httplib drops a Location header holding CR or LF), backslash or quote.
  const bool plain = std::all_of(next.begin(), next.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("-._~%/?=&").find(c) != std::string_view::npos;
  });
  if (!plain || next.rfind("/dashboard", 0) != 0 || next.find("//") != std::string::npos) return "/dashboard";
  return next;
}

}  // namespace loyalty::hq::forms
