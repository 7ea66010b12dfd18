#include "loyalty/core/lifecycle.hpp"

#include <algorithm>

#include "loyalty/core/local_day.hpp"

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

InstantWindow instantsOf(const DayWindow& window, const ZoneRules& zone) {
  return {startOfLocalDay(window.first, zone), startOfLocalDay(Date{sys_days{window.last} + days{1}}, zone)};
}

std::string reviewMonthOf(Date day) { return formatDate(day).substr(0, 7); }

DayWindow saleTierWindow(Date today) { return {rollingWindowStart(today), today}; }

bool saleMayRaiseTier(std::size_t tierBefore, Money saleTotal, std::span<const Tier> tiers) {
  return saleTotal > Money{} && tierBefore + 1 < tiers.size();
}

std::size_t tierAfterSale(std::size_t tierBefore, Money saleTotal, Money rollingSpend, std::span<const Tier> tiers) {
  if (!saleMayRaiseTier(tierBefore, saleTotal, tiers)) return tierBefore;
  return std::max(tierBefore, tierIndexFor(rollingSpend, tiers));
}

bool tierReviewDue(std::size_t current, std::string_view reviewedMonth, Date today) {
  return current > 0 && reviewedMonth < reviewMonthOf(today);
}

DayWindow reviewTierWindow(Date today) {
  const Date lastDay{sys_days{monthStart(today)} - days{1}};
  return {rollingWindowStart(lastDay), lastDay};
}

std::size_t tierAfterReview(std::size_t current, Money reviewSpend, std::span<const Tier> tiers) {
  return std::min(current, tierIndexFor(reviewSpend, tiers));
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
