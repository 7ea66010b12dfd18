#include "loyalty/sync/client/backoff.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <string>

namespace loyalty::sync {

Backoff::Backoff(BackoffPolicy policy, std::function<std::uint64_t()> random)
    : m_policy(policy), m_random(std::move(random)) {}

std::chrono::milliseconds Backoff::ceiling(int failures) const {
  std::int64_t ms = std::max<std::int64_t>(m_policy.base.count(), 1);
  for (int i = 0; i < failures && ms < m_policy.cap.count(); ++i) ms *= 2;
  return std::chrono::milliseconds(std::min<std::int64_t>(ms, m_policy.cap.count()));
}

std::chrono::milliseconds Backoff::failure(std::optional<std::chrono::milliseconds> retryAfter) {
  const auto window = static_cast<std::uint64_t>(ceiling(m_failures).count());
  if (m_failures < 64) ++m_failures;
  auto delay = std::chrono::milliseconds(static_cast<std::int64_t>(m_random() % (window + 1)));
  if (retryAfter) delay = std::max(delay, std::min(*retryAfter, m_policy.cap));
  return delay;
}

namespace {

std::optional<int> number(std::string_view s) {
  int v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

/// "Wed, 21 Oct 2026 07:28:00 GMT" (RFC 9110 IMF-fixdate; the obsolete forms are not sent by HQ).
std::optional<std::chrono::system_clock::time_point> parseImfFixdate(std::string_view s) {
  if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT") {
    return std::nullopt;
  }
  static constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto month = std::find(kMonths.begin(), kMonths.end(), s.substr(8, 3));
  const auto day = number(s.substr(5, 2));
  const auto year = number(s.substr(12, 4));
  const auto hh = number(s.substr(17, 2));
  const auto mm = number(s.substr(20, 2));
  const auto ss = number(s.substr(23, 2));
  if (month == kMonths.end() || !day || !year || !hh || !mm || !ss || *hh > 23 || *mm > 59 || *ss > 60) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{
      std::chrono::year(*year), std::chrono::month(static_cast<unsigned>(month - kMonths.begin() + 1)),
      std::chrono::day(static_cast<unsigned>(*day))};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_days(ymd) + std::chrono::hours(*hh) + std::chrono::minutes(*mm) +
         std::chrono::seconds(*ss);
}

}  // namespace

std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\r' || value.back() == '\n'))
    value.remove_suffix(1);
  if (!value.empty() &&
      std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    // Anything beyond a day is as good as "much later"; avoids overflow on absurd values.
    if (value.size() > 6) return std::chrono::milliseconds(std::chrono::hours(24));
    return std::chrono::milliseconds(std::chrono::seconds(*number(value)));
  }
  const auto at = parseImfFixdate(value);
  if (!at) return std::nullopt;
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(*at - now));
}

}  // namespace loyalty::sync
