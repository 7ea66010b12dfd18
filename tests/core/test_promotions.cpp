#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "loyalty/core/promotions.hpp"

using namespace loyalty;

namespace {

Money m(const char* s) { return *Money::parse(s, "m"); }
Multiplier x(const char* s) { return *Multiplier::parse(s, "x"); }
Date day(int y, unsigned month, unsigned d) {
  return Date{std::chrono::year{y}, std::chrono::month{month}, std::chrono::day{d}};
}

const Date kSaleDay = day(2026, 6, 15);

PricedLine line(const char* sku, std::int64_t qty, const char* unitPrice,
                std::optional<std::string> category = std::nullopt) {
  PricedLine l;
  l.sku = sku;
  l.category = std::move(category);
  l.qty = qty;
  l.unitPrice = *UnitPrice::parse(unitPrice, "unit_price");
  l.amount = *lineAmount(qty, l.unitPrice, "line");
  return l;
}

/// One line worth exactly `amount`, enough for threshold tests.
std::vector<PricedLine> goods(const char* amount) { return {line("GOODS", 1, amount)}; }

Promotion spendOff(const char* id, const char* threshold, const char* amount, bool repeat = false) {
  Promotion p;
  p.id = id;
  p.kind = Promotion::Kind::kSpendDiscount;
  p.threshold = m(threshold);
  p.amount = m(amount);
  p.repeat = repeat;
  return p;
}

Promotion spendGift(const char* id, const char* threshold, const char* giftSku) {
  Promotion p;
  p.id = id;
  p.kind = Promotion::Kind::kSpendGift;
  p.threshold = m(threshold);
  p.giftSku = giftSku;
  return p;
}

Promotion memberOff(const char* id, const char* percent, std::vector<std::string> skus,
                    std::vector<std::string> categories = {}, const char* minTier = "") {
  Promotion p;
  p.id = id;
  p.kind = Promotion::Kind::kMemberDiscount;
  p.membersOnly = true;
  p.percent = percent;
  p.skus = std::move(skus);
  p.categories = std::move(categories);
  p.minTier = minTier;
  return p;
}

Promotion pointsTimes(const char* id, const char* multiplier) {
  Promotion p;
  p.id = id;
  p.kind = Promotion::Kind::kPointsMultiplier;
  p.multiplier = x(multiplier);
  return p;
}

ProgrammeRules rulesWith(std::vector<Promotion> promotions, bool multiply = false) {
  ProgrammeRules rules;
  rules.promotions = std::move(promotions);
  rules.stacking.multiplyMultipliers = multiply;
  return rules;
}

PromotionContext member(Date today = kSaleDay, std::size_t tierIndex = 0,
                        std::optional<Date> birthday = std::nullopt) {
  PromotionContext ctx;
  ctx.today = today;
  ctx.isMember = true;
  ctx.tierIndex = tierIndex;
  ctx.birthday = birthday;
  return ctx;
}

PromotionContext guest(Date today = kSaleDay) {
  PromotionContext ctx;
  ctx.today = today;
  return ctx;
}

/// A combined promotion multiplier, which may exceed what one promotion can be written as.
Multiplier combined(const char* s) {
  return Multiplier::fromTenThousandths(UnitPrice::parse(s, "multiplier")->tenThousandths());
}

std::vector<std::string> appliedIds(const PromotionOutcome& outcome) {
  std::vector<std::string> ids;
  for (const auto& effect : outcome.applied) ids.push_back(effect.id);
  return ids;
}

}  // namespace

TEST_CASE("spend discount threshold met exactly, one cent short, and repeating", "[core]") {
  struct Case {
    const char* spend;
    bool repeat;
    const char* expected;
  };
  const Case cases[] = {
      {"300.00", false, "30.00"},  {"299.99", false, "0.00"},  {"899.99", false, "30.00"},
      {"299.99", true, "0.00"},    {"300.00", true, "30.00"},  {"599.99", true, "30.00"},
      {"600.00", true, "60.00"},   {"900.00", true, "90.00"},
  };
  for (const Case& c : cases) {
    INFO("spend " << c.spend << " repeat " << c.repeat);
    const auto rules = rulesWith({spendOff("off30", "300.00", "30.00", c.repeat)});
    const auto outcome = evaluatePromotions(goods(c.spend), guest(), rules);
    CHECK(outcome.subtotal == m(c.spend));
    CHECK(outcome.discount == m(c.expected));
    if (m(c.expected).minor() > 0) {
      REQUIRE(outcome.applied.size() == 1);
      CHECK(outcome.applied[0].kind == "spend_discount");
      CHECK(outcome.applied[0].effect == "-" + std::string(c.expected));
      CHECK(outcome.applied[0].discount == m(c.expected));
    } else {
      CHECK(outcome.applied.empty());
    }
  }
}

TEST_CASE("two spend discounts apply sequentially in file order on the spend left", "[core]") {
  struct Case {
    const char* spend;
    bool bigFirst;
    const char* expected;
    std::vector<std::string> applied;
  };
  const std::vector<Case> cases = {
      {"300.00", true, "30.00", {"off30"}},             // 270 left, below 280
      {"309.99", true, "30.00", {"off30"}},             // 279.99 left
      {"310.00", true, "50.00", {"off30", "off20"}},    // 280 left meets the second
      {"300.00", false, "20.00", {"off20"}},            // 280 left, below 300
      {"320.00", false, "50.00", {"off20", "off30"}},   // 300 left meets the second
  };
  for (const Case& c : cases) {
    INFO("spend " << c.spend << " big first " << c.bigFirst);
    const Promotion big = spendOff("off30", "300.00", "30.00");
    const Promotion small = spendOff("off20", "280.00", "20.00");
    const auto rules = c.bigFirst ? rulesWith({big, small}) : rulesWith({small, big});
    const auto outcome = evaluatePromotions(goods(c.spend), guest(), rules);
    CHECK(outcome.discount == m(c.expected));
    CHECK(appliedIds(outcome) == c.applied);
    CHECK(spendDiscountFor(m(c.spend), guest(), rules) == m(c.expected));
  }
}

TEST_CASE("member discount by tier below at and above min_tier", "[core]") {
  struct Case {
    bool isMember;
    std::size_t tierIndex;
    const char* minTier;
    const char* expected;
  };
  // Default tiers: member 0, silver 1, gold 2, platinum 3.
  const Case cases[] = {
      {true, 0, "silver", "0.00"}, {true, 1, "silver", "2.99"},   {true, 3, "silver", "2.99"},
      {false, 3, "silver", "0.00"}, {true, 0, "", "2.99"},       {false, 0, "", "0.00"},
      {true, 3, "diamond", "0.00"},  // names no tier: nobody reaches it
  };
  for (const Case& c : cases) {
    INFO("member " << c.isMember << " tier " << c.tierIndex << " min " << c.minTier);
    const auto rules = rulesWith({memberOff("oil5", "5", {"OIL-5L"}, {}, c.minTier)});
    PromotionContext ctx = member(kSaleDay, c.tierIndex);
    ctx.isMember = c.isMember;
    const auto outcome =
        evaluatePromotions({line("OIL-5L", 1, "59.80"), line("WATER", 2, "3.00")}, ctx, rules);
    CHECK(outcome.discount == m(c.expected));
    CHECK(outcome.lines[0].discount == m(c.expected));
    CHECK(outcome.lines[1].discount == Money{});
    if (m(c.expected).minor() > 0) {
      REQUIRE(outcome.applied.size() == 1);
      CHECK(outcome.applied[0].kind == "member_discount");
      CHECK(outcome.applied[0].effect == "-5% on OIL-5L (-2.99)");
    }
  }
}

TEST_CASE("member discount matches by category and never touches returned lines", "[core]") {
  const auto rules = rulesWith({memberOff("oil-cat", "10", {}, {"oil"})});
  auto lines = std::vector<PricedLine>{line("OIL-1L", 2, "15.00", "oil"), line("CHIPS", 1, "6.00", "snack"),
                                       line("NOCAT", 1, "9.00"), line("OIL-4L", -1, "50.00", "oil"),
                                       line("OIL-4L", 1, "50.00", "oil")};
  lines[1].discount = m("1.00");  // a stale figure in the input is replaced, not added to
  const auto outcome = evaluatePromotions(lines, member(), rules);
  CHECK(outcome.lines[0].discount == m("3.00"));
  CHECK(outcome.lines[1].discount == Money{});
  CHECK(outcome.lines[2].discount == Money{});
  CHECK(outcome.lines[3].discount == Money{});  // the returned oil
  CHECK(outcome.lines[4].discount == m("5.00"));
  CHECK(outcome.subtotal == m("45.00"));
  CHECK(outcome.discount == m("8.00"));
  REQUIRE(outcome.applied.size() == 1);
  CHECK(outcome.applied[0].effect == "-10% on OIL-1L, OIL-4L (-8.00)");
}

TEST_CASE("member discount percent rounds half away from zero per line", "[core]") {
  struct Case {
    const char* amount;
    const char* percent;
    const char* expected;
  };
  const Case cases[] = {
      {"0.10", "5", "0.01"},      // 0.005
      {"0.09", "5", "0.00"},      // 0.0045
      {"0.30", "5", "0.02"},      // 0.015
      {"10.10", "12.5", "1.26"},  // 1.2625
      {"10.20", "12.5", "1.28"},  // 1.275
      {"33.33", "33.3333", "11.11"},
      {"19.99", "100", "19.99"},
  };
  for (const Case& c : cases) {
    INFO(c.amount << " at " << c.percent << "%");
    const auto rules = rulesWith({memberOff("p", c.percent, {"GOODS"})});
    const auto outcome = evaluatePromotions(goods(c.amount), member(), rules);
    CHECK(outcome.discount == m(c.expected));
    CHECK(outcome.applied.size() == (m(c.expected).minor() > 0 ? 1u : 0u));
  }
  const auto rules = rulesWith({memberOff("half", "12.5", {"GOODS"})});
  CHECK(evaluatePromotions(goods("10.10"), member(), rules).applied[0].effect ==
        "-12.5% on GOODS (-1.26)");
}

TEST_CASE("several member discounts apply sequentially on what is left of the line", "[core]") {
  const auto rules = rulesWith({memberOff("a", "10", {"GOODS"}), memberOff("b", "10", {"GOODS"})});
  const auto outcome = evaluatePromotions(goods("100.00"), member(), rules);
  CHECK(outcome.lines[0].discount == m("19.00"));
  CHECK(outcome.discount == m("19.00"));
  REQUIRE(outcome.applied.size() == 2);
  CHECK(outcome.applied[0].discount == m("10.00"));
  CHECK(outcome.applied[1].discount == m("9.00"));
}

TEST_CASE("spend thresholds count goods after member discounts", "[core]") {
  const auto rules = rulesWith({memberOff("oil", "5", {"OIL"}), spendOff("off30", "300.00", "30.00"),
                                spendGift("gift", "500.00", "GIFT-TOWEL")});
  // 316.00 of oil less 5% = 300.20: meets 300 after the member discount.
  auto outcome = evaluatePromotions({line("OIL", 1, "316.00")}, member(), rules);
  CHECK(outcome.discount == m("45.80"));
  // 315.00 less 5% = 299.25: the same goods no longer reach the threshold.
  outcome = evaluatePromotions({line("OIL", 1, "315.00")}, member(), rules);
  CHECK(outcome.discount == m("15.75"));
  CHECK(appliedIds(outcome) == std::vector<std::string>{"oil"});
  // A guest pays full price and therefore reaches the threshold with 315.00.
  outcome = evaluatePromotions({line("OIL", 1, "315.00")}, guest(), rules);
  CHECK(outcome.discount == m("30.00"));
}

TEST_CASE("spend gift counts the spend after all discounts and is given once", "[core]") {
  struct Case {
    const char* spend;
    bool gift;
  };
  const Case cases[] = {{"530.00", true}, {"529.99", false}, {"2000.00", true}, {"499.99", false}};
  const auto rules = rulesWith({spendOff("off30", "300.00", "30.00"), spendGift("towel", "500.00", "GIFT-TOWEL")});
  for (const Case& c : cases) {
    INFO("spend " << c.spend);
    const auto outcome = evaluatePromotions(goods(c.spend), guest(), rules);
    CHECK(outcome.giftSkus == (c.gift ? std::vector<std::string>{"GIFT-TOWEL"} : std::vector<std::string>{}));
    if (c.gift) {
      REQUIRE(outcome.applied.size() == 2);
      CHECK(outcome.applied[1].kind == "spend_gift");
      CHECK(outcome.applied[1].effect == "gift GIFT-TOWEL");
      CHECK(outcome.applied[1].discount == Money{});
    }
    CHECK(giftsFor(m(c.spend), guest(), rules) == outcome.giftSkus);
  }
}

TEST_CASE("points multipliers stack by max or multiply", "[core]") {
  struct Case {
    std::vector<const char*> multipliers;
    bool multiply;
    const char* expected;
    std::size_t listed;
  };
  const std::vector<Case> cases = {
      {{}, false, "1.0", 0},
      {{"2.0", "1.5"}, false, "2.0", 1},
      {{"1.5", "2.0"}, false, "2.0", 1},
      {{"2.0", "1.5"}, true, "3.0", 2},
      // Exact product 3.629370375 rounded down once; rounding after each factor gives 3.6292.
      {{"1.5555", "1.5555", "1.5"}, true, "3.6293", 3},
      {{"100", "100", "100"}, true, "10000", 3},  // capped at kMaxCombinedMultiplier
  };
  for (const Case& c : cases) {
    INFO("multiply " << c.multiply << " expected " << c.expected);
    std::vector<Promotion> promotions;
    for (const char* multiplier : c.multipliers) {
      promotions.push_back(pointsTimes(multiplier, multiplier));
    }
    const auto rules = rulesWith(promotions, c.multiply);
    const auto outcome = evaluatePromotions(goods("10.00"), member(), rules);
    CHECK(outcome.pointsMultiplier == combined(c.expected));
    CHECK(outcome.applied.size() == c.listed);
    CHECK(evaluatePromotions(goods("10.00"), guest(), rules).pointsMultiplier == x("1.0"));
    CHECK(evaluatePromotions(goods("10.00"), guest(), rules).applied.empty());
  }
  const auto outcome =
      evaluatePromotions(goods("10.00"), member(), rulesWith({pointsTimes("a", "1.5"), pointsTimes("b", "2")}));
  REQUIRE(outcome.applied.size() == 1);
  CHECK(outcome.applied[0].id == "b");
  CHECK(outcome.applied[0].kind == "points_multiplier");
  CHECK(outcome.applied[0].effect == "points x2.0");
}

TEST_CASE("date windows include both ends and either end may be open", "[core]") {
  struct Case {
    std::optional<Date> from, to;
    Date today;
    bool active;
  };
  const std::optional<Date> none;
  const Case cases[] = {
      {day(2027, 2, 6), day(2027, 2, 12), day(2027, 2, 5), false},
      {day(2027, 2, 6), day(2027, 2, 12), day(2027, 2, 6), true},
      {day(2027, 2, 6), day(2027, 2, 12), day(2027, 2, 12), true},
      {day(2027, 2, 6), day(2027, 2, 12), day(2027, 2, 13), false},
      {day(2027, 2, 6), none, day(2099, 1, 1), true},
      {day(2027, 2, 6), none, day(2027, 2, 5), false},
      {none, day(2027, 2, 12), day(2000, 1, 1), true},
      {none, day(2027, 2, 12), day(2027, 2, 13), false},
  };
  for (const Case& c : cases) {
    INFO("today " << formatDate(c.today));
    Promotion festival = pointsTimes("spring-festival", "2.0");
    Promotion discount = spendOff("off30", "300.00", "30.00");
    for (Promotion* p : {&festival, &discount}) p->from = c.from, p->to = c.to;
    const auto outcome = evaluatePromotions(goods("300.00"), member(c.today), rulesWith({festival, discount}));
    CHECK(outcome.pointsMultiplier == (c.active ? x("2.0") : x("1.0")));
    CHECK(outcome.discount == (c.active ? m("30.00") : Money{}));
  }
}

TEST_CASE("member day multiplier holds on its weekday and within its window", "[core]") {
  Promotion memberDay = pointsTimes("member-day", "2.0");
  memberDay.weekday = 3;  // Wednesday
  struct Case {
    Date today;
    bool active;
  };
  const Case cases[] = {{day(2026, 11, 25), true}, {day(2026, 11, 24), false}, {day(2026, 12, 2), true}};
  for (const Case& c : cases) {
    INFO(formatDate(c.today));
    CHECK(evaluatePromotions(goods("1.00"), member(c.today), rulesWith({memberDay})).pointsMultiplier ==
          (c.active ? x("2.0") : x("1.0")));
  }
  // Weekday and window must both hold.
  memberDay.to = day(2026, 11, 30);
  CHECK(evaluatePromotions(goods("1.00"), member(day(2026, 11, 25)), rulesWith({memberDay})).pointsMultiplier == x("2.0"));
  CHECK(evaluatePromotions(goods("1.00"), member(day(2026, 12, 2)), rulesWith({memberDay})).pointsMultiplier == x("1.0"));
  // Sunday is 7.
  memberDay.to.reset();
  memberDay.weekday = 7;
  CHECK(evaluatePromotions(goods("1.00"), member(day(2026, 5, 24)), rulesWith({memberDay})).pointsMultiplier == x("2.0"));
}

TEST_CASE("birthday multiplier by day week and month", "[core]") {
  struct Case {
    const char* kind;
    std::optional<Date> birthday;
    Date today;
    bool active;
  };
  const Case cases[] = {
      {"day", day(1990, 5, 20), day(2026, 5, 20), true},
      {"day", day(1990, 5, 20), day(2026, 5, 21), false},
      {"day", day(2000, 2, 29), day(2027, 2, 28), true},   // non-leap year: celebrated on Feb 28
      {"day", day(2000, 2, 29), day(2027, 3, 1), false},
      {"day", day(2000, 2, 29), day(2028, 2, 28), false},  // leap year: Feb 29 itself
      {"day", day(2000, 2, 29), day(2028, 2, 29), true},
      {"week", day(1990, 5, 20), day(2026, 5, 18), true},  // Monday of the week
      {"week", day(1990, 5, 20), day(2026, 5, 24), true},  // Sunday of the week
      {"week", day(1990, 5, 20), day(2026, 5, 25), false},  // next Monday
      {"week", day(1990, 12, 30), day(2027, 1, 1), true},   // ISO week 2026-W53
      {"week", day(1990, 1, 2), day(2026, 12, 31), true},   // 2027-01-02 is in 2026-W53
      {"week", day(1990, 1, 5), day(2026, 12, 31), false},  // 2027-01-05 is in 2027-W01
      {"week", day(1990, 12, 31), day(2021, 1, 3), true},   // 2020-W53 ends on 3 Jan
      {"week", day(1990, 12, 31), day(2021, 1, 4), false},
      {"week", day(2000, 2, 29), day(2027, 2, 22), true},   // Feb 28 2027 is that Sunday
      {"week", day(2000, 2, 29), day(2027, 3, 1), false},
      {"month", day(1990, 5, 31), day(2026, 5, 1), true},
      {"month", day(1990, 5, 31), day(2026, 6, 1), false},
      {"month", day(2000, 2, 29), day(2027, 2, 1), true},
      {"month", std::nullopt, day(2026, 5, 1), false},      // unknown birthday
  };
  for (const Case& c : cases) {
    INFO(c.kind << " on " << formatDate(c.today));
    Promotion birthday = pointsTimes("birthday", "2.0");
    birthday.birthday = c.kind;
    const auto outcome = evaluatePromotions(goods("1.00"), member(c.today, 0, c.birthday), rulesWith({birthday}));
    CHECK(outcome.pointsMultiplier == (c.active ? x("2.0") : x("1.0")));
  }
}

TEST_CASE("members_only promotions skip guests", "[core]") {
  Promotion discount = spendOff("members-off30", "300.00", "30.00");
  Promotion gift = spendGift("members-gift", "100.00", "GIFT-MUG");
  discount.membersOnly = gift.membersOnly = true;
  const auto rules = rulesWith({discount, gift});
  const auto forGuest = evaluatePromotions(goods("400.00"), guest(), rules);
  CHECK(forGuest.discount == Money{});
  CHECK(forGuest.giftSkus.empty());
  CHECK(spendDiscountFor(m("400.00"), guest(), rules) == Money{});
  const auto forMember = evaluatePromotions(goods("400.00"), member(), rules);
  CHECK(forMember.discount == m("30.00"));
  CHECK(forMember.giftSkus == std::vector<std::string>{"GIFT-MUG"});
}

TEST_CASE("spend discounts are clamped so the customer never pays below zero", "[core]") {
  // A discount larger than its threshold (config refuses it, the core still holds).
  auto outcome = evaluatePromotions(goods("20.00"), guest(), rulesWith({spendOff("big", "10.00", "50.00")}));
  CHECK(outcome.discount == m("20.00"));
  CHECK(outcome.applied[0].effect == "-20.00");
  // Repeating per cent: 30000 × 0.02 would be 600.00 on 300.00 of goods.
  outcome = evaluatePromotions(goods("300.00"), guest(), rulesWith({spendOff("cent", "0.01", "0.02", true)}));
  CHECK(outcome.discount == m("300.00"));
  // After the first takes everything, the second has nothing left to take and is not listed.
  outcome = evaluatePromotions(goods("100.00"), guest(),
                               rulesWith({spendOff("all", "100.00", "100.00"), spendOff("more", "0.01", "0.01")}));
  CHECK(outcome.discount == m("100.00"));
  CHECK(appliedIds(outcome) == std::vector<std::string>{"all"});
  // Returns in the basket: the threshold counts the bought goods, the clamp the net.
  outcome = evaluatePromotions({line("GOODS", 1, "300.00"), line("BACK", -1, "290.00")}, guest(),
                               rulesWith({spendOff("off30", "300.00", "30.00")}));
  CHECK(outcome.subtotal == m("10.00"));
  CHECK(outcome.discount == m("10.00"));
  outcome = evaluatePromotions({line("GOODS", 1, "300.00"), line("BACK", -1, "50.00")}, guest(),
                               rulesWith({spendOff("off30", "300.00", "30.00")}));
  CHECK(outcome.discount == m("30.00"));
}

TEST_CASE("a sale whose net is not positive gets no spend promotions", "[core]") {
  const auto rules = rulesWith({spendOff("off30", "300.00", "30.00"), spendGift("gift", "100.00", "GIFT-MUG"),
                                memberOff("oil", "10", {"OIL"})});
  const auto outcome =
      evaluatePromotions({line("OIL", 1, "300.00"), line("TV", -1, "400.00")}, member(), rules);
  CHECK(outcome.subtotal == m("-100.00"));
  CHECK(outcome.discount == m("30.00"));  // only the member price of the oil bought
  CHECK(outcome.giftSkus.empty());
  CHECK(appliedIds(outcome) == std::vector<std::string>{"oil"});
  CHECK(spendDiscountFor(m("0.00"), member(), rules) == Money{});
  CHECK(spendDiscountFor(m("-5.00"), member(), rules) == Money{});
  CHECK(giftsFor(m("-5.00"), member(), rules).empty());
}

TEST_CASE("spendDiscountFor claws back a spend discount a partial refund breaks", "[core]") {
  struct Case {
    bool repeat;
    const char* sold;
    const char* kept;
    const char* keptDiscount;
  };
  const Case cases[] = {
      {false, "400.00", "400.00", "30.00"},  // nothing refunded
      {false, "400.00", "350.00", "30.00"},  // stays above: keeps it
      {false, "400.00", "300.00", "30.00"},  // exactly at the threshold
      {false, "400.00", "299.99", "0.00"},   // one cent below: loses it
      {false, "400.00", "0.00", "0.00"},     // all refunded
      {true, "650.00", "650.00", "60.00"},
      {true, "650.00", "450.00", "30.00"},   // a repeating discount loses one step
      {true, "650.00", "600.00", "60.00"},
  };
  for (const Case& c : cases) {
    INFO("sold " << c.sold << " kept " << c.kept << " repeat " << c.repeat);
    const auto rules = rulesWith({spendOff("off30", "300.00", "30.00", c.repeat)});
    const Money saleDiscount = evaluatePromotions(goods(c.sold), member(), rules).discount;
    CHECK(spendDiscountFor(m(c.sold), member(), rules) == saleDiscount);
    CHECK(spendDiscountFor(m(c.kept), member(), rules) == m(c.keptDiscount));
  }
  // Evaluated with the sale's context: a promotion that ended since still counts for the refund.
  Promotion ended = spendOff("june", "300.00", "30.00");
  ended.to = day(2026, 6, 30);
  CHECK(spendDiscountFor(m("350.00"), member(day(2026, 6, 15)), rulesWith({ended})) == m("30.00"));
  CHECK(spendDiscountFor(m("350.00"), member(day(2026, 7, 1)), rulesWith({ended})) == Money{});
}

TEST_CASE("giftsFor reports a gift a partial refund no longer earns", "[core]") {
  const auto rules = rulesWith({spendOff("off30", "300.00", "30.00"), spendGift("towel", "500.00", "GIFT-TOWEL"),
                                spendGift("mug", "200.00", "GIFT-MUG")});
  CHECK(giftsFor(m("600.00"), guest(), rules) == std::vector<std::string>{"GIFT-TOWEL", "GIFT-MUG"});
  CHECK(giftsFor(m("530.00"), guest(), rules) == std::vector<std::string>{"GIFT-TOWEL", "GIFT-MUG"});
  CHECK(giftsFor(m("529.99"), guest(), rules) == std::vector<std::string>{"GIFT-MUG"});
  CHECK(giftsFor(m("199.99"), guest(), rules).empty());
}

TEST_CASE("sale points multiply exactly and floor once", "[core]") {
  struct Case {
    const char* net;
    std::int64_t perUnit;
    const char* tier;
    const char* promotion;
    std::int64_t expected;
  };
  const Case cases[] = {
      {"99.99", 1, "1.2", "1.5", 179},           // 179.982; flooring per step would give 178
      {"13000.00", 1, "1.3333", "1.5001", 26001},  // 26001.08; a 4-decimal combined multiplier gives 26000
      {"100.00", 1, "1.0", "1.0", 100},
      {"0.99", 1, "1.0", "1.0", 0},
      {"100.00", 2, "2.0", "2.0", 800},
      {"0.00", 1, "2.0", "2.0", 0},
      {"-50.00", 1, "1.0", "1.0", 0},
      {"100000000000.00", 1, "100", "10000", 100'000'000'000'000'000},  // the largest figures still exact
  };
  for (const Case& c : cases) {
    INFO(c.net << " x " << c.perUnit << " x " << c.tier << " x " << c.promotion);
    CHECK(salePoints(m(c.net), c.perUnit, x(c.tier), combined(c.promotion)) == c.expected);
  }
}

TEST_CASE("the promotions running today: window and member day hold, birthdays are each member's own", "[core]") {
  Promotion june = spendOff("june", "300.00", "30.00");
  june.from = day(2026, 6, 1);
  june.to = day(2026, 6, 30);
  Promotion july = spendGift("july", "500.00", "GIFT-TOWEL");
  july.from = day(2026, 7, 1);
  Promotion monday = pointsTimes("member-day", "2.0");
  monday.weekday = 1;  // 2026-06-15 is a Monday
  Promotion tuesday = pointsTimes("tuesday", "1.5");
  tuesday.weekday = 2;
  Promotion birthday = pointsTimes("birthday", "3.0");
  birthday.birthday = "month";
  const ProgrammeRules rules = rulesWith({june, july, monday, tuesday, birthday});
  std::vector<std::string> ids;
  for (const Promotion& p : promotionsRunningOn(kSaleDay, rules)) ids.push_back(p.id);
  CHECK(ids == std::vector<std::string>{"june", "member-day"});
  ids.clear();
  for (const Promotion& p : promotionsRunningOn(day(2026, 7, 7), rules)) ids.push_back(p.id);
  CHECK(ids == std::vector<std::string>{"july", "tuesday"});
  CHECK(multiplierText(x("2")) == "2.0");
  CHECK(multiplierText(x("1.25")) == "1.25");
}
