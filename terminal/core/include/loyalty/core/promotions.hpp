#pragma once
/// @brief Promotions as a pure function over (sale lines, member, day, rules): 满减, 满赠,
/// 会员专属优惠 and points multipliers, with the stacking of docs/configuration.md.
///
/// Evaluation order (also the order of PromotionOutcome::applied):
///   1. member_discount   in file order, each on what remains of the line after the previous ones;
///   2. spend_discount    in file order, each on the spend left after the previous ones;
///   3. spend_gift        in file order, on the spend after all discounts;
///   4. points_multiplier combined by [stacking] multipliers ("max" or "multiply").
///
/// Decisions where DOMAIN.md and config.md are silent (what a real store expects):
/// * A promotion is active on `today` when from <= today <= to (either bound optional), and
///   members_only ones need a member. member_discount and points_multiplier are always for
///   members only, whatever members_only says: points and member prices belong to members.
/// * member_discount: a min_tier that names no tier of the rules matches nobody (config refuses
///   it anyway); empty min_tier means any member. A line matches when its sku is in `skus` or
///   its category is in `categories`; a promotion naming neither matches no line, so a
///   mistyped promotion cannot silently discount the whole store. A percent that does not read
///   as 0 < percent <= 100 is ignored for the same reason. The input lines' `discount` is
///   reset first, so evaluating twice gives the same answer.
/// * Only positive lines earn discounts and count towards thresholds; returned (negative) lines
///   in the same basket only decide whether the sale is a sale at all: when the net after member
///   discounts is <= 0 no spend promotion (discount or gift) applies.
/// * Spend discounts are capped so the customer never pays less than zero: together they never
///   exceed the net after member discounts. For a sale without returned lines this means the
///   total discount never exceeds the subtotal. A member discount on a bought line is kept even
///   when returned lines in the same basket push the subtotal below it (the member price of
///   what is bought does not depend on what is returned), so only there can the discount
///   exceed a (small or negative) subtotal.
/// * A promotion that ends up taking nothing (a member discount rounding to 0.00, a spend
///   discount capped to 0.00) is not listed: the receipt lists what changed the sale.
/// * A spend_gift gives its gift once however many times the threshold is met.
/// * points_multiplier: the date window, weekday and birthday conditions that are given must
///   all hold; one with none of them holds every day. With "max" only the largest active
///   multiplier is listed (the first in file order on a tie); with "multiply" every active one
///   is listed. "multiply" is the exact decimal product rounded down to 4 decimals once (not
///   after each factor), capped at kMaxCombinedMultiplier so that points stay exact integers.
/// * Birthday conditions use the birthday's anniversary: Feb 29 is celebrated on Feb 28 in a
///   non-leap year. "week" means the anniversary falls in the same ISO week (Monday to Sunday)
///   as today, looking at last year's, this year's and next year's anniversary, so a 30 Dec
///   birthday is in the week of 1 Jan. A member without a birthday never meets one.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "loyalty/core/money.hpp"
#include "loyalty/core/points.hpp"
#include "loyalty/core/rules.hpp"
#include "loyalty/core/time.hpp"

namespace loyalty {

struct PricedLine {
  std::string sku;
  std::optional<std::string> category;
  std::int64_t qty = 0;
  UnitPrice unitPrice;
  Money amount;    ///< qty × unit price, rounded half away from zero
  Money discount;  ///< member discount on this line (filled in by evaluatePromotions)
};

struct PromotionContext {
  Date today;                     ///< the store's local day of the sale
  bool isMember = false;
  std::size_t tierIndex = 0;      ///< index into ProgrammeRules::tiers (the tier held before the sale)
  std::optional<Date> birthday;
};

struct AppliedPromotionEffect {
  std::string id;
  std::string kind;    ///< "spend_discount", "spend_gift", "member_discount", "points_multiplier"
  std::string effect;  ///< "-30.00", "-5% on OIL-5L (-2.99)", "gift GIFT-TOWEL", "points x2.0"
  Money discount;      ///< what this promotion took off (zero for gifts and multipliers)
};

struct PromotionOutcome {
  std::vector<PricedLine> lines;       ///< the input lines with member discounts filled in
  std::vector<std::string> giftSkus;   ///< 满赠 gifts to add at zero price, in file order
  Money subtotal;                      ///< sum of line amounts before any discount
  Money discount;                      ///< member + spend discounts, >= 0
  Multiplier pointsMultiplier;         ///< combined promotion multiplier (1.0 if none), without the tier's
  std::vector<AppliedPromotionEffect> applied;  ///< in evaluation order
};

/// The largest combined promotion multiplier (10000×): far above any real programme, and small
/// enough that salePoints stays exact for every amount Money accepts.
inline constexpr std::int64_t kMaxCombinedMultiplier = 10'000 * Multiplier::kScale;

PromotionOutcome evaluatePromotions(std::vector<PricedLine> lines, const PromotionContext& ctx,
                                    const ProgrammeRules& rules);

/// The spend-threshold discount a sale keeps when only `keptGoods` (the amount of the goods not
/// refunded, after member discounts) remain, evaluated with the sale's original context. A
/// refund takes back (original spend discount − spendDiscountFor(kept goods)) so a partial
/// refund that breaks a 满减 does not keep its benefit. For the goods of the whole sale (no
/// returned lines) it equals the spend discount evaluatePromotions gave.
Money spendDiscountFor(Money keptGoods, const PromotionContext& ctx, const ProgrammeRules& rules);

/// The gift SKUs of the spend_gift promotions that still qualify for `keptGoods` (same meaning
/// as above; the spend discounts are taken off first, as in the sale). A gift of the original
/// sale missing here must be returned.
std::vector<std::string> giftsFor(Money keptGoods, const PromotionContext& ctx,
                                  const ProgrammeRules& rules);

/// Points for a sale: floor(net × pointsPerUnit × tier multiplier × promotion multiplier),
/// floored once over the exact product; nothing for a non-positive amount.
std::int64_t salePoints(Money netPaid, std::int64_t pointsPerUnit, Multiplier tier,
                        Multiplier promotion);

/// The promotions running on `today` for anyone who walks in (what the customer display's idle
/// screen advertises): the date window and the member-day weekday hold. Birthday multipliers
/// are each member's own and are left out. In file order.
std::vector<Promotion> promotionsRunningOn(Date today, const ProgrammeRules& rules);

/// A multiplier as promotions are worded: "2.0", "1.25".
std::string multiplierText(Multiplier multiplier);

}  // namespace loyalty
