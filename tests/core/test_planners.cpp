#include <catch2/catch.hpp>

#include <optional>
#include <vector>

#include "loyalty/core/planners.hpp"

using namespace loyalty;

namespace {

Money m(const char* s) { return *Money::parse(s, "m"); }
Date day(int y, unsigned month, unsigned d) {
  return Date{std::chrono::year{y}, std::chrono::month{month}, std::chrono::day{d}};
}

PricedLine line(const char* sku, std::int64_t qty, const char* price) {
  const UnitPrice p = *UnitPrice::parse(price, "price");
  return {sku, std::nullopt, qty, p, *lineAmount(qty, p, "price"), Money{}};
}

/// 满减: 10.00 off from 100.00 spent.
Promotion spendTenOffHundred() {
  Promotion p;
  p.id = "P-100-10";
  p.kind = Promotion::Kind::kSpendDiscount;
  p.threshold = m("100.00");
  p.amount = m("10.00");
  return p;
}

SaleMember member(std::size_t tier, std::int64_t balance, std::optional<Money> windowSpend = std::nullopt) {
  SaleMember s;
  s.tierIndex = tier;
  s.balance = balance;
  s.windowSpend = windowSpend;
  return s;
}

}  // namespace

TEST_CASE("planSale: totals, points, tier upgrade and referral, table", "[core]") {
  const ProgrammeRules rules;  // 1 point per 1.00, 100 points pay 1.00, default tiers
  const Date today = day(2026, 11, 23);
  struct Row {
    const char* name;
    std::vector<PricedLine> lines;
    std::int64_t redeem;
    std::optional<SaleMember> member;
    const char* total;
    std::int64_t points;
    std::optional<std::size_t> tierReached;
  };
  const Row rows[] = {
      {"no member: no points", {line("A", 2, "25.00")}, 0, std::nullopt, "50.00", 0, std::nullopt},
      {"entry tier earns 1 per 1.00", {line("A", 1, "100.00")}, 0, member(0, 0, m("0.00")), "100.00", 100, std::nullopt},
      {"silver earns x1.2", {line("A", 1, "100.00")}, 0, member(1, 0, m("0.00")), "100.00", 120, std::nullopt},
      {"crossing 2000.00 upgrades, earning at the tier before",
       {line("A", 1, "100.00")}, 0, member(0, 0, m("1950.00")), "100.00", 100, std::size_t{1}},
      {"threshold exactly met upgrades", {line("A", 1, "50.00")}, 0, member(0, 0, m("1950.00")), "50.00", 50, std::size_t{1}},
      {"window spend unknown: no upgrade", {line("A", 1, "5000.00")}, 0, member(0, 0), "5000.00", 5000, std::nullopt},
      {"points paid with come off before earning", {line("A", 1, "100.00")}, 500, member(0, 800, m("0")), "95.00", 95, std::nullopt},
      {"a return takes back at the base rate", {line("A", -1, "30.00")}, 0, member(2, 100, m("0")), "-30.00", -30, std::nullopt},
  };
  for (const Row& r : rows) {
    INFO(r.name);
    auto plan = planSale(r.lines, r.redeem, r.member, rules, today);
    REQUIRE(plan);
    CHECK(plan->total == m(r.total));
    CHECK(plan->points == r.points);
    CHECK(plan->tierReached == r.tierReached);
    CHECK(plan->redeemPoints == r.redeem);
    CHECK_FALSE(plan->saved);
    CHECK_FALSE(plan->payReferralBonus);
  }
}

TEST_CASE("planSale: refusals name the field", "[core]") {
  const ProgrammeRules rules;
  const Date today = day(2026, 11, 23);
  auto few = planSale({line("A", 1, "100.00")}, 500, member(0, 400), rules, today);
  REQUIRE_FALSE(few);
  CHECK(few.error().field == "redeem_points");

  ProgrammeRules promo = rules;
  promo.promotions.push_back(spendTenOffHundred());
  // 100.00 less 10.00 of 满减 leaves 90.00: 95.00 of points is too much.
  auto over = planSale({line("A", 1, "100.00")}, 9500, member(0, 10'000), promo, today);
  REQUIRE_FALSE(over);
  CHECK(over.error().field == "redeem_points");
  CHECK(over.error().message.find("after promotions (90.00)") != std::string::npos);
}

TEST_CASE("planSale: a spend promotion is saved for refunds, the referral bonus is paid on a positive sale", "[core]") {
  ProgrammeRules rules;
  rules.promotions.push_back(spendTenOffHundred());
  SaleMember referred = member(0, 0, m("0"));
  referred.referralBonusDue = true;
  referred.birthday = day(1990, 11, 23);
  auto plan = planSale({line("A", 2, "60.00")}, 0, referred, rules, day(2026, 11, 23));
  REQUIRE(plan);
  CHECK(plan->subtotal == m("120.00"));
  CHECK(plan->discount == m("10.00"));
  CHECK(plan->spendDiscount == m("10.00"));
  CHECK(plan->refundable == m("120.00"));
  CHECK(plan->total == m("110.00"));
  CHECK(plan->points == 110);
  CHECK(plan->payReferralBonus);
  REQUIRE(plan->saved);
  CHECK(plan->saved->promotions.size() == 1);
  CHECK(plan->saved->context.isMember);
  CHECK_FALSE(plan->saved->context.birthday);  // never kept in clear with the sale

  auto returned = planSale({line("A", -1, "60.00")}, 0, referred, rules, day(2026, 11, 23));
  REQUIRE(returned);
  CHECK_FALSE(returned->payReferralBonus);
}

namespace {

/// A sale "S1" of `total`, all of it refundable, that earned `points`.
RecordedSale recordedSale(const char* total, std::int64_t points) {
  RecordedSale sale;
  sale.saleId = "S1";
  sale.total = m(total);
  sale.refundable = m(total);
  sale.pointsEarned = points;
  return sale;
}

}  // namespace

TEST_CASE("planRefund: proportional amounts and points, table", "[core]") {
  const ProgrammeRules rules;
  const RecordedSale sale = recordedSale("100.00", 100);
  const std::vector<RecordedLine> lines = {{1, "A", 2, *UnitPrice::parse("30.00", "p"), 0, Money{}},
                                           {2, "B", 1, *UnitPrice::parse("40.00", "p"), 0, Money{}},
                                           {3, "GIFT", 1, UnitPrice{}, 0, Money{}}};
  struct Row {
    const char* name;
    std::optional<std::vector<RefundWanted>> wanted;
    const char* amount;
    std::int64_t reversed;
    std::size_t lines;
  };
  const Row rows[] = {
      {"one of two A", std::vector<RefundWanted>{{"A", 1}}, "30.00", 30, 1},
      {"A and B", std::vector<RefundWanted>{{"A", 2}, {"B", 1}}, "100.00", 100, 2},
      {"everything (the gift is not refunded)", std::nullopt, "100.00", 100, 2},
  };
  for (const Row& r : rows) {
    INFO(r.name);
    auto plan = planRefund(sale, lines, r.wanted, rules);
    REQUIRE(plan);
    CHECK(plan->amount == m(r.amount));
    CHECK(plan->pointsReversed == r.reversed);
    CHECK(plan->lines.size() == r.lines);
    CHECK(plan->clawback == Money{});
  }

  // What was refunded before counts: the rest of A after one was refunded.
  RecordedSale after = sale;
  after.refundedGoods = m("30.00");
  after.refundedAmount = m("30.00");
  after.pointsReversed = 30;
  std::vector<RecordedLine> partly = lines;
  partly[0].refundedQty = 1;
  auto rest = planRefund(after, partly, std::nullopt, rules);
  REQUIRE(rest);
  CHECK(rest->amount == m("70.00"));
  CHECK(rest->pointsReversed == 70);
  CHECK(rest->goodsRefunded == m("100.00"));
  REQUIRE(rest->lines.size() == 2);
  CHECK(rest->lines[0].qty == 1);
  CHECK(rest->lines[0].refundedQty == 2);
}

TEST_CASE("planRefund: refusals name the field", "[core]") {
  const ProgrammeRules rules;
  const RecordedSale sale = recordedSale("60.00", 0);
  const std::vector<RecordedLine> lines = {{1, "A", 2, *UnitPrice::parse("30.00", "p"), 0, Money{}}};
  CHECK(planRefund(sale, lines, std::vector<RefundWanted>{{"Z", 1}}, rules).error().field == "lines[0].sku");
  CHECK(planRefund(sale, lines, std::vector<RefundWanted>{{"A", 3}}, rules).error().field == "lines[0].qty");
  std::vector<RecordedLine> done = lines;
  done[0].refundedQty = 2;
  auto nothing = planRefund(sale, done, std::nullopt, rules);
  REQUIRE_FALSE(nothing);
  CHECK(nothing.error().field == "sale_id");
  CHECK(nothing.error().message == "nothing is left to refund on sale S1");
}

TEST_CASE("planRefund: breaking a 满减 takes its benefit back", "[core]") {
  ProgrammeRules rules;
  rules.promotions.push_back(spendTenOffHundred());
  auto sold = planSale({line("A", 1, "60.00"), line("B", 1, "60.00")}, 0, member(0, 0, m("0")), rules, day(2026, 11, 23));
  REQUIRE(sold);
  RecordedSale sale;
  sale.saleId = "S1";
  sale.total = sold->total;  // 110.00
  sale.refundable = sold->refundable;
  sale.spendDiscount = sold->spendDiscount;
  sale.pointsEarned = sold->points;
  sale.saved = sold->saved;
  const std::vector<RecordedLine> lines = {{1, "A", 1, *UnitPrice::parse("60.00", "p"), 0, Money{}},
                                           {2, "B", 1, *UnitPrice::parse("60.00", "p"), 0, Money{}}};
  ProgrammeRules changed;  // head office dropped the promotion since: the sale's own one counts
  auto plan = planRefund(sale, lines, std::vector<RefundWanted>{{"B", 1}}, changed);
  REQUIRE(plan);
  // Proportionally 55.00; 60.00 kept no longer reaches 100.00, so the 10.00 off goes: 5.00 of it
  // is the refunded half's own share, the other 5.00 comes off the refund.
  CHECK(plan->amount == m("50.00"));
  CHECK(plan->clawback == m("5.00"));
  CHECK(plan->pointsReversed == 50);
}

TEST_CASE("planExpiry, tier review and lot changes", "[core]") {
  const std::vector<DueLot> due = {{7, 120, day(2025, 12, 31)}, {9, 5, day(2026, 1, 14)}};
  const auto entries = planExpiry(due);
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].points == -120);
  CHECK(entries[0].refId == "lot:7");
  CHECK(entries[0].reason == "points earned until 2025-12-31 expired");
  CHECK(entries[1].refId == "lot:9");

  const Date today = day(2026, 11, 5);
  CHECK_FALSE(tierReviewDue(0, "", today));  // the entry tier has nothing to lose
  CHECK(tierReviewDue(2, "", today));
  CHECK(tierReviewDue(2, "2026-10", today));
  CHECK_FALSE(tierReviewDue(2, "2026-11", today));
  const DayWindow window = reviewTierWindow(today);
  CHECK(window.first == day(2025, 11, 1));
  CHECK(window.last == day(2026, 10, 31));
  CHECK(saleTierWindow(today).first == day(2025, 11, 6));

  const auto tiers = ProgrammeRules::defaultTiers();
  struct Review {
    std::size_t held;
    const char* spend;
    std::size_t after;
    bool downgraded;
  };
  const Review reviews[] = {{2, "2500.00", 1, true}, {2, "20000.00", 2, false}, {3, "100.00", 0, true},
                            {1, "60000.00", 1, false}};  // never up at the review
  for (const Review& r : reviews) {
    INFO(r.held << " " << r.spend);
    const TierReview t = planTierReview(r.held, m(r.spend), tiers, today);
    CHECK(t.tierIndex == r.after);
    CHECK(t.downgraded == r.downgraded);
    CHECK(t.month == "2026-11");
  }

  const ExpiryRule endOfNextYear;
  struct Lots {
    std::int64_t before, after;
    bool fromHeadOffice;
    std::int64_t open, take;
    bool newestFirst;
  };
  const Lots lots[] = {{0, 100, false, 100, 0, false},  {-50, 100, false, 100, 0, false},
                       {-50, -10, false, 0, 0, false},  {100, 30, false, 0, 70, false},
                       {20, -30, false, 0, 20, false},  {0, 40, true, 40, 0, false},
                       {100, 60, true, 0, 40, true}};
  for (const Lots& l : lots) {
    INFO(l.before << " -> " << l.after);
    const LotChange c = planLotChange(l.before, l.after, l.fromHeadOffice, today, endOfNextYear);
    CHECK(c.open == l.open);
    CHECK(c.take == l.take);
    CHECK(c.newestFirst == l.newestFirst);
    if (c.open > 0) CHECK(c.expiresOn == (l.fromHeadOffice ? kNeverExpires : day(2027, 12, 31)));
  }
}
