#include <catch2/catch.hpp>

#include <vector>

#include "loyalty/core/lifecycle.hpp"

using namespace loyalty;

namespace {

Money m(const char* s) { return *Money::parse(s, "m"); }
Date day(int y, unsigned month, unsigned d) {
  return Date{std::chrono::year{y}, std::chrono::month{month}, std::chrono::day{d}};
}

}  // namespace

TEST_CASE("tierIndexFor: the highest tier whose threshold is met, threshold exactly met counts") {
  const auto tiers = ProgrammeRules::defaultTiers();
  struct Row {
    const char* spend;
    std::size_t tier;
  };
  const Row rows[] = {{"-50.00", 0},   {"0.00", 0},     {"1999.99", 0},  {"2000.00", 1}, {"2000.01", 1},
                      {"9999.99", 1},  {"10000.00", 2}, {"49999.99", 2}, {"50000.00", 3}, {"999999.00", 3}};
  for (const Row& r : rows) {
    INFO(r.spend);
    CHECK(tierIndexFor(m(r.spend), tiers) == r.tier);
  }
  CHECK(tierIndexByName("gold", tiers) == std::optional<std::size_t>(2));
  CHECK_FALSE(tierIndexByName("diamond", tiers).has_value());
}

TEST_CASE("rollingWindowStart: twelve months back, the day after, leap days handled") {
  CHECK(rollingWindowStart(day(2026, 11, 23)) == day(2025, 11, 24));
  CHECK(rollingWindowStart(day(2027, 1, 1)) == day(2026, 1, 2));
  CHECK(rollingWindowStart(day(2026, 12, 31)) == day(2026, 1, 1));
  CHECK(rollingWindowStart(day(2028, 2, 29)) == day(2027, 3, 1));
  CHECK(rollingWindowStart(day(2029, 2, 28)) == day(2028, 2, 29));
  CHECK(monthStart(day(2026, 11, 23)) == day(2026, 11, 1));
}

TEST_CASE("addMonthsClamped: month ends clamp, years roll") {
  CHECK(addMonthsClamped(day(2026, 1, 31), 1) == day(2026, 2, 28));
  CHECK(addMonthsClamped(day(2028, 1, 31), 1) == day(2028, 2, 29));
  CHECK(addMonthsClamped(day(2026, 11, 30), 3) == day(2027, 2, 28));
  CHECK(addMonthsClamped(day(2026, 6, 15), 24) == day(2028, 6, 15));
  CHECK(addMonthsClamped(day(2026, 3, 31), -1) == day(2026, 2, 28));
}

TEST_CASE("lotExpiresOn: end of next year by default, N months otherwise") {
  const ExpiryRule endOfNextYear;
  CHECK(lotExpiresOn(day(2026, 1, 1), endOfNextYear) == day(2027, 12, 31));
  CHECK(lotExpiresOn(day(2026, 12, 31), endOfNextYear) == day(2027, 12, 31));
  CHECK(lotExpiresOn(day(2028, 2, 29), endOfNextYear) == day(2029, 12, 31));
  ExpiryRule months{ExpiryRule::Kind::kMonths, 24};
  CHECK(lotExpiresOn(day(2026, 1, 15), months) == day(2028, 1, 14));
  months.months = 1;
  CHECK(lotExpiresOn(day(2026, 1, 31), months) == day(2026, 2, 27));
  CHECK(lotExpiresOn(day(2026, 12, 1), months) == day(2026, 12, 31));
  months.months = 12;
  CHECK(lotExpiresOn(day(2028, 2, 29), months) == day(2029, 2, 27));
}

TEST_CASE("lotCredit and lotDebit keep lots equal to the positive part of the balance") {
  struct Row {
    std::int64_t before, after, credit, debit;
  };
  const Row rows[] = {
      {0, 100, 100, 0},    // plain earning
      {-30, 100, 100, 0},  // debt repaid first: lots get what is left
      {-30, 20, 20, 0},    {-30, -10, 0, 0},  // still in debt: nothing to lots
      {100, 40, 0, 60},    // redemption
      {100, -20, 0, 100},  // reversal into debt: lots empty, the rest is debt
      {-20, -50, 0, 0},    {0, 0, 0, 0},
  };
  for (const Row& r : rows) {
    INFO(r.before << " -> " << r.after);
    CHECK(lotCredit(r.before, r.after) == r.credit);
    CHECK(lotDebit(r.before, r.after) == r.debit);
  }
}

TEST_CASE("consumeFifo takes the oldest lots first and never more than they hold") {
  const std::vector<LotRemaining> lots{{1, 50}, {2, 0}, {3, 30}, {4, 100}};
  CHECK(consumeFifo(lots, 0).empty());
  CHECK(consumeFifo(lots, 20) == std::vector<LotTake>{{1, 20}});
  CHECK(consumeFifo(lots, 50) == std::vector<LotTake>{{1, 50}});
  CHECK(consumeFifo(lots, 60) == std::vector<LotTake>{{1, 50}, {3, 10}});
  CHECK(consumeFifo(lots, 500) == std::vector<LotTake>{{1, 50}, {3, 30}, {4, 100}});
}
