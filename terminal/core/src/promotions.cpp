#include "loyalty/core/promotions.hpp"

#include <algorithm>
#include <limits>
#include <utility>

namespace loyalty {
namespace {

// 128-bit intermediates keep multiplier products and points exact; __extension__ tells
// -Wpedantic that the non-standard type is intended.
__extension__ typedef __int128 Int128;

using std::chrono::sys_days;

const char* kindName(Promotion::Kind kind) {
  switch (kind) {
    case Promotion::Kind::kSpendDiscount: return "spend_discount";
    case Promotion::Kind::kSpendGift: return "spend_gift";
    case Promotion::Kind::kMemberDiscount: return "member_discount";
    case Promotion::Kind::kPointsMultiplier: return "points_multiplier";
  }
  return "unknown";
}

bool withinWindow(const Promotion& promotion, Date today) {
  if (promotion.from && sys_days{today} < sys_days{*promotion.from}) return false;
  if (promotion.to && sys_days{*promotion.to} < sys_days{today}) return false;
  return true;
}

bool isActive(const Promotion& promotion, const PromotionContext& ctx) {
  if (promotion.membersOnly && !ctx.isMember) return false;
  return withinWindow(promotion, ctx.today);
}

/// The member's tier reaches the promotion's minimum tier; a name no tier carries reaches no one.
bool tierReaches(const Promotion& promotion, const PromotionContext& ctx, const ProgrammeRules& rules) {
  if (promotion.minTier.empty()) return true;
  const auto found = std::find_if(rules.tiers.begin(), rules.tiers.end(),
                                  [&](const Tier& tier) { return tier.name == promotion.minTier; });
  if (found == rules.tiers.end()) return false;
  return ctx.tierIndex >= static_cast<std::size_t>(found - rules.tiers.begin());
}

bool lineMatches(const Promotion& promotion, const PricedLine& line) {
  const auto contains = [](const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  return contains(promotion.skus, line.sku) ||
         (line.category && contains(promotion.categories, *line.category));
}

/// The percent in 1/10000 of a percent ("12.5" -> 125000), or 0 when it is not a usable
/// percentage. Read like a multiplier (exact, 4 decimals), as the config loader does.
std::int64_t percentTenThousandths(const Promotion& promotion) {
  auto parsed = Multiplier::parse(promotion.percent, "percent");
  if (!parsed) return 0;
  const std::int64_t value = parsed->tenThousandths();
  return value > 0 && value <= 100 * Multiplier::kScale ? value : 0;
}

/// A 1/10000-scaled decimal written with its significant decimals, at least `minDecimals`.
std::string formatTenThousandths(std::int64_t value, std::size_t minDecimals) {
  std::string fraction = std::to_string(value % Multiplier::kScale);
  fraction.insert(0, 4 - fraction.size(), '0');
  while (fraction.size() > minDecimals && fraction.back() == '0') fraction.pop_back();
  return std::to_string(value / Multiplier::kScale) + (fraction.empty() ? "" : "." + fraction);
}

/// The day a birthday is celebrated in `year`: Feb 29 falls back to Feb 28 in a non-leap year.
sys_days anniversaryIn(std::chrono::year year, Date birthday) {
  const Date inYear{year, birthday.month(), birthday.day()};
  if (inYear.ok()) return sys_days{inYear};
  return sys_days{year / birthday.month() / std::chrono::last};
}

sys_days mondayOf(sys_days day) {
  const unsigned isoWeekday = std::chrono::weekday{day}.iso_encoding();  // 1 = Monday
  return day - std::chrono::days{isoWeekday - 1};
}

bool birthdayMatches(const std::string& kind, Date birthday, Date today) {
  if (kind == "month") return birthday.month() == today.month();
  const sys_days todayDays{today};
  if (kind == "day") return anniversaryIn(today.year(), birthday) == todayDays;
  if (kind == "week") {
    // Days of the same ISO week share their Monday. The week around New Year spans two
    // calendar years, so last and next year's anniversaries are candidates too.
    const sys_days thisMonday = mondayOf(todayDays);
    for (int offset : {-1, 0, 1}) {
      if (mondayOf(anniversaryIn(today.year() + std::chrono::years{offset}, birthday)) == thisMonday) {
        return true;
      }
    }
    return false;
  }
  return false;  // an unknown birthday rule is refused by config; here it matches no one
}

/// Window, weekday and birthday: every condition the promotion gives must hold.
bool multiplierHolds(const Promotion& promotion, const PromotionContext& ctx) {
  if (!ctx.isMember || !isActive(promotion, ctx)) return false;
  if (promotion.weekday &&
      static_cast<unsigned>(*promotion.weekday) !=
          std::chrono::weekday{sys_days{ctx.today}}.iso_encoding()) {
    return false;
  }
  if (!promotion.birthday.empty()) {
    if (!ctx.birthday) return false;
    if (!birthdayMatches(promotion.birthday, *ctx.birthday, ctx.today)) return false;
  }
  return true;
}

struct SpendDiscountStep {
  const Promotion* promotion;
  Money discount;
};

/// The spend discounts, in file order, each on the spend left after the previous ones and
/// together never more than `cap` (what the customer would otherwise pay).
std::vector<SpendDiscountStep> spendDiscountSteps(Money eligibleSpend, Money cap,
                                                  const PromotionContext& ctx,
                                                  const ProgrammeRules& rules) {
  std::vector<SpendDiscountStep> steps;
  Money spendLeft = eligibleSpend;
  Money capLeft = cap;
  for (const Promotion& promotion : rules.promotions) {
    if (promotion.kind != Promotion::Kind::kSpendDiscount || !isActive(promotion, ctx)) continue;
    // A threshold or amount of zero or less is refused by config; it would divide by zero here.
    if (promotion.threshold.minor() <= 0 || promotion.amount.minor() <= 0) continue;
    if (spendLeft < promotion.threshold || capLeft.minor() <= 0) continue;
    const std::int64_t times =
        promotion.repeat ? spendLeft.minor() / promotion.threshold.minor() : 1;
    // times × amount cannot overflow once it is known to stay below the cap.
    const std::int64_t wanted = times > capLeft.minor() / promotion.amount.minor()
                                    ? capLeft.minor()
                                    : times * promotion.amount.minor();
    const Money discount = Money::fromMinor(std::min(wanted, capLeft.minor()));
    if (discount.minor() <= 0) continue;
    steps.push_back({&promotion, discount});
    spendLeft -= discount;
    capLeft -= discount;
  }
  return steps;
}

Money totalOf(const std::vector<SpendDiscountStep>& steps) {
  Money total;
  for (const SpendDiscountStep& step : steps) total += step.discount;
  return total;
}

std::vector<const Promotion*> qualifyingGifts(Money spendAfterDiscounts, const PromotionContext& ctx,
                                              const ProgrammeRules& rules) {
  std::vector<const Promotion*> gifts;
  for (const Promotion& promotion : rules.promotions) {
    if (promotion.kind != Promotion::Kind::kSpendGift || !isActive(promotion, ctx)) continue;
    if (promotion.threshold.minor() <= 0 || spendAfterDiscounts < promotion.threshold) continue;
    gifts.push_back(&promotion);
  }
  return gifts;
}

/// The exact product of the multipliers, rounded down to 4 decimals once, capped.
Multiplier multiplyExactly(const std::vector<const Promotion*>& active) {
  constexpr Int128 kScale = Multiplier::kScale;
  // A guard of 24 decimals keeps the product exact for up to 6 factors; beyond that only
  // digits past the 24th decimal are dropped, far below the 4 decimals kept.
  constexpr Int128 kMaxGuardScale = Int128{1'000'000'000'000} * 1'000'000'000'000;
  Int128 value = kScale;  // 1.0 at `scale`
  Int128 scale = kScale;
  for (const Promotion* promotion : active) {
    value *= std::clamp(promotion->multiplier.tenThousandths(), std::int64_t{0}, kMaxCombinedMultiplier);
    scale *= kScale;
    if (scale > kMaxGuardScale) {
      value /= kScale;
      scale /= kScale;
    }
    value = std::min(value, Int128{kMaxCombinedMultiplier} * (scale / kScale));
  }
  return Multiplier::fromTenThousandths(static_cast<std::int64_t>(value / (scale / kScale)));
}

}  // namespace

PromotionOutcome evaluatePromotions(std::vector<PricedLine> lines, const PromotionContext& ctx,
                                    const ProgrammeRules& rules) {
  PromotionOutcome outcome;
  outcome.lines = std::move(lines);
  for (PricedLine& line : outcome.lines) {
    line.discount = Money{};
    outcome.subtotal += line.amount;
  }

  // 1. Member discounts, sequential: each on what the previous ones left of the line.
  Money memberDiscounts;
  if (ctx.isMember) {
    for (const Promotion& promotion : rules.promotions) {
      if (promotion.kind != Promotion::Kind::kMemberDiscount) continue;
      if (!withinWindow(promotion, ctx.today) || !tierReaches(promotion, ctx, rules)) continue;
      const std::int64_t percent = percentTenThousandths(promotion);
      if (percent == 0) continue;
      Money taken;
      std::vector<std::string> discountedSkus;
      for (PricedLine& line : outcome.lines) {
        if (line.amount.minor() <= 0 || !lineMatches(promotion, line)) continue;
        const Money remaining = line.amount - line.discount;
        const Money discount = Money::fromMinor(
            mulDivRound(remaining.minor(), percent, 100 * Multiplier::kScale));
        if (discount.minor() <= 0) continue;
        line.discount += discount;
        taken += discount;
        if (std::find(discountedSkus.begin(), discountedSkus.end(), line.sku) == discountedSkus.end()) {
          discountedSkus.push_back(line.sku);
        }
      }
      if (taken.minor() <= 0) continue;
      std::string skuList;
      for (const std::string& sku : discountedSkus) skuList += (skuList.empty() ? "" : ", ") + sku;
      outcome.applied.push_back({promotion.id, kindName(promotion.kind),
                                 "-" + formatTenThousandths(percent, 0) + "% on " + skuList + " (" +
                                     (-taken).toString() + ")",
                                 taken});
      memberDiscounts += taken;
    }
  }

  // 2. and 3. Spend promotions, on the positive lines after member discounts, only for a sale
  // that is a sale (net after member discounts above zero).
  Money eligibleSpend;
  for (const PricedLine& line : outcome.lines) {
    if (line.amount.minor() > 0) eligibleSpend += line.amount - line.discount;
  }
  const Money netAfterMemberDiscounts = outcome.subtotal - memberDiscounts;
  Money spendDiscounts;
  if (netAfterMemberDiscounts.minor() > 0) {
    const auto steps = spendDiscountSteps(eligibleSpend, netAfterMemberDiscounts, ctx, rules);
    for (const SpendDiscountStep& step : steps) {
      outcome.applied.push_back({step.promotion->id, kindName(step.promotion->kind),
                                 (-step.discount).toString(), step.discount});
    }
    spendDiscounts = totalOf(steps);
    for (const Promotion* gift : qualifyingGifts(eligibleSpend - spendDiscounts, ctx, rules)) {
      outcome.giftSkus.push_back(gift->giftSku);
      outcome.applied.push_back({gift->id, kindName(gift->kind), "gift " + gift->giftSku, Money{}});
    }
  }
  outcome.discount = memberDiscounts + spendDiscounts;

  // 4. Points multipliers.
  std::vector<const Promotion*> activeMultipliers;
  for (const Promotion& promotion : rules.promotions) {
    if (promotion.kind == Promotion::Kind::kPointsMultiplier && multiplierHolds(promotion, ctx)) {
      activeMultipliers.push_back(&promotion);
    }
  }
  std::vector<const Promotion*> counted;
  if (rules.stacking.multiplyMultipliers) {
    counted = activeMultipliers;
    if (!counted.empty()) outcome.pointsMultiplier = multiplyExactly(counted);
  } else if (!activeMultipliers.empty()) {
    // max_element returns the first of equal largest ones: the earliest in the file is listed.
    const Promotion* largest = *std::max_element(
        activeMultipliers.begin(), activeMultipliers.end(),
        [](const Promotion* a, const Promotion* b) { return a->multiplier < b->multiplier; });
    counted = {largest};
    outcome.pointsMultiplier = std::min(largest->multiplier,
                                        Multiplier::fromTenThousandths(kMaxCombinedMultiplier));
  }
  for (const Promotion* promotion : counted) {
    outcome.applied.push_back({promotion->id, kindName(promotion->kind),
                               "points x" + formatTenThousandths(promotion->multiplier.tenThousandths(), 1),
                               Money{}});
  }
  return outcome;
}

Money spendDiscountFor(Money keptGoods, const PromotionContext& ctx, const ProgrammeRules& rules) {
  if (keptGoods.minor() <= 0) return Money{};
  return totalOf(spendDiscountSteps(keptGoods, keptGoods, ctx, rules));
}

std::vector<std::string> giftsFor(Money keptGoods, const PromotionContext& ctx,
                                  const ProgrammeRules& rules) {
  std::vector<std::string> gifts;
  if (keptGoods.minor() <= 0) return gifts;
  const Money spendAfterDiscounts = keptGoods - spendDiscountFor(keptGoods, ctx, rules);
  for (const Promotion* gift : qualifyingGifts(spendAfterDiscounts, ctx, rules)) {
    gifts.push_back(gift->giftSku);
  }
  return gifts;
}

std::int64_t salePoints(Money netPaid, std::int64_t pointsPerUnit, Multiplier tier,
                        Multiplier promotion) {
  if (netPaid.minor() <= 0 || pointsPerUnit <= 0) return 0;
  if (tier.tenThousandths() <= 0 || promotion.tenThousandths() <= 0) return 0;
  // One exact product, one floor: net (minor units) / 100 × points × tier / 10^4 × promotion / 10^4.
  // Each pair of int64 factors fits in 128 bits; only absurd rates could overflow the whole
  // product, and they saturate rather than wrap.
  constexpr Int128 kMaxPoints = std::numeric_limits<std::int64_t>::max();
  const Int128 netPoints = Int128{netPaid.minor()} * pointsPerUnit;
  const Int128 multipliers = Int128{tier.tenThousandths()} * promotion.tenThousandths();
  constexpr Int128 kProductLimit = Int128{1} << 126;
  if (netPoints > kProductLimit / multipliers) return static_cast<std::int64_t>(kMaxPoints);
  const Int128 points =
      netPoints * multipliers / (Int128{100} * Multiplier::kScale * Multiplier::kScale);
  return static_cast<std::int64_t>(std::min(points, kMaxPoints));
}

std::vector<Promotion> promotionsRunningOn(Date today, const ProgrammeRules& rules) {
  std::vector<Promotion> out;
  const unsigned weekday = std::chrono::weekday{sys_days{today}}.iso_encoding();
  for (const Promotion& promotion : rules.promotions) {
    if (!withinWindow(promotion, today) || !promotion.birthday.empty()) continue;
    if (promotion.weekday && static_cast<unsigned>(*promotion.weekday) != weekday) continue;
    out.push_back(promotion);
  }
  return out;
}

std::string multiplierText(Multiplier multiplier) { return formatTenThousandths(multiplier.tenThousandths(), 1); }

}  // namespace loyalty
