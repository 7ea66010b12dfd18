#include <catch2/catch.hpp>

#include "loyalty/core/points.hpp"

using namespace loyalty;

namespace {
Money m(const char* s) { return *Money::parse(s, "m"); }
Multiplier x(const char* s) { return *Multiplier::parse(s, "x"); }
}  // namespace

TEST_CASE("earning floors once per sale after multipliers", "[core]") {
  CHECK(earnedPoints(m("12.99"), 1, x("1.0")) == 12);
  CHECK(earnedPoints(m("12.99"), 1, x("1.2")) == 15);  // 15.588
  CHECK(earnedPoints(m("9.99"), 1, x("1.5")) == 14);   // 14.985
  CHECK(earnedPoints(m("0.99"), 1, x("1.0")) == 0);
  CHECK(earnedPoints(m("100.00"), 2, x("2.0")) == 400);
  CHECK(earnedPoints(m("-5.00"), 1, x("1.0")) == 0);
  CHECK(earnedPoints(m("0.00"), 1, x("2.0")) == 0);
}

TEST_CASE("returns without receipt reverse the base rate, floored", "[core]") {
  CHECK(returnReversalPoints(m("-12.99"), 1) == 12);
  CHECK(returnReversalPoints(m("-0.50"), 1) == 0);
  CHECK(returnReversalPoints(m("-100.00"), 2) == 200);
}

TEST_CASE("partial refund reversals sum exactly to the original earning", "[core]") {
  // A sale of 100.00 that earned 151 points (multiplier 1.51), refunded in awkward pieces.
  const std::int64_t earned = 151;
  const Money total = m("100.00");
  const char* pieces[] = {"33.33", "33.33", "0.01", "11.11", "22.22"};
  Money refunded;
  std::int64_t reversed = 0;
  for (const char* p : pieces) {
    refunded += m(p);
    const std::int64_t now = refundReversalPoints(earned, total, refunded, reversed);
    CHECK(now >= 0);
    reversed += now;
  }
  CHECK(refunded == total);
  CHECK(reversed == earned);
}

TEST_CASE("refund reversal over many random-sized pieces always ends at the earning", "[core]") {
  for (std::int64_t earned : {1, 7, 99, 1000, 123457}) {
    for (std::int64_t totalMinor : {1, 3, 999, 100000, 7777777}) {
      const Money total = Money::fromMinor(totalMinor);
      std::int64_t reversed = 0;
      std::int64_t step = totalMinor / 7 + 1;
      for (std::int64_t done = 0; done < totalMinor;) {
        done = std::min(totalMinor, done + step);
        reversed += refundReversalPoints(earned, total, Money::fromMinor(done), reversed);
        REQUIRE(reversed <= earned);
      }
      CHECK(reversed == earned);
    }
  }
}

TEST_CASE("proportional money shares add up to the amount", "[core]") {
  const Money paid = m("99.99");
  const Money goods = m("120.00");
  Money given;
  Money done;
  for (const char* p : {"40.00", "40.00", "40.00"}) {
    done += m(p);
    const Money cumulative = proportionalShare(paid, done, goods);
    given = cumulative;
  }
  CHECK(given == paid);
}

TEST_CASE("debt shows as points debt and blocks redemption until repaid", "[core]") {
  CHECK(splitBalance(120).points == 120);
  CHECK(splitBalance(120).debt == 0);
  CHECK(splitBalance(-30).points == 0);
  CHECK(splitBalance(-30).debt == 30);

  auto blocked = checkRedemption(-30, 10, "points");
  REQUIRE_FALSE(blocked.hasValue());
  CHECK(blocked.error().code == "insufficient_points");

  CHECK(checkRedemption(100, 100, "points").hasValue());
  auto over = checkRedemption(100, 101, "points");
  REQUIRE_FALSE(over.hasValue());
  CHECK(over.error().code == "insufficient_points");
  CHECK(checkRedemption(100, 0, "points").error().code == "invalid_argument");
}

TEST_CASE("points buy discount at the redeem rate", "[core]") {
  CHECK(pointsValue(100, 100) == m("1.00"));
  CHECK(pointsValue(150, 100) == m("1.50"));
  CHECK(pointsValue(1, 100) == m("0.01"));
  CHECK(pointsValue(1, 200) == m("0.00"));
}

TEST_CASE("multipliers are exact decimals", "[core]") {
  CHECK(x("1.2").tenThousandths() == 12000);
  CHECK(x("2").tenThousandths() == 20000);
  CHECK_FALSE(Multiplier::parse("1.00001", "x").hasValue());
  CHECK_FALSE(Multiplier::parse("-1", "x").hasValue());
  CHECK_FALSE(Multiplier::parse("1.5e0", "x").hasValue());
}
