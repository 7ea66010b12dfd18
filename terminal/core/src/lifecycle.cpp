#include "loyalty/core/lifecycle.hpp"

#include <algorithm>

namespace loyalty {

using std::chrono::days;
using std::chrono::sys_days;

std::size_t tierIndexFor(Money rollingSpend, std::span<const Tier> tiers) {
  std::size_t index = 0;
  for (std::size_t i = 0; i < tiers.size(); ++i) {
    if (tiers[i].threshold <= rollingSpend) index = i;
  }
  return index;
}

std::optional<std::size_t> tierIndexByName(std::string_view name, std::span<const Tier> tiers) {
  for (std::size_t i = 0; i < tiers.size(); ++i) {
    if (tiers[i].name == name) return i;
  }
  return std::nullopt;
}

namespace {

Date clampToMonth(std::chrono::year y, std::chrono::month m, std::chrono::day d) {
  const Date last{y / m / std::chrono::last};
  return d > last.day() ? last : Date{y / m / d};
}

}  // namespace

Date rollingWindowStart(Date today) {
  const Date yearBefore = clampToMonth(today.year() - std::chrono::years{1}, today.month(), today.day());
  return Date{sys_days{yearBefore} + days{1}};
}

Date monthStart(Date day) { return Date{day.year() / day.month() / std::chrono::day{1}}; }

Date addMonthsClamped(Date day, int months) {
  const std::chrono::year_month ym = day.year() / day.month() + std::chrono::months{months};
  return clampToMonth(ym.year(), ym.month(), day.day());
}

Date lotExpiresOn(Date earnedOn, const ExpiryRule& rule) {
  if (rule.kind == ExpiryRule::Kind::kMonths) {
    return Date{sys_days{addMonthsClamped(earnedOn, rule.months)} - days{1}};
  }
  return Date{(earnedOn.year() + std::chrono::years{1}) / std::chrono::December / std::chrono::day{31}};
}

std::int64_t lotCredit(std::int64_t before, std::int64_t after) {
  return std::max<std::int64_t>(std::max<std::int64_t>(after, 0) - std::max<std::int64_t>(before, 0), 0);
}

std::int64_t lotDebit(std::int64_t before, std::int64_t after) {
  return std::max<std::int64_t>(std::max<std::int64_t>(before, 0) - std::max<std::int64_t>(after, 0), 0);
}

std::vector<LotTake> consumeFifo(std::span<const LotRemaining> oldestFirst, std::int64_t points) {
  std::vector<LotTake> takes;
  for (const LotRemaining& lot : oldestFirst) {
    if (points <= 0) break;
    const std::int64_t take = std::min(points, lot.remaining);
    if (take <= 0) continue;
    takes.push_back({lot.lotId, take});
    points -= take;
  }
  return takes;
}

}  // namespace loyalty
