#include "loyalty/core/planners.hpp"

#include <algorithm>

namespace loyalty {

namespace {

constexpr std::int64_t kMaxPoints = 1'000'000'000;  // per operation (sync::kMaxEventPoints)

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

// [SECTION] Sale

Result<SalePlan> planSale(std::vector<PricedLine> lines, std::int64_t redeemPoints,
                          const std::optional<SaleMember>& member, const ProgrammeRules& rules, Date today) {
  SalePlan plan;
  plan.redeemPoints = redeemPoints;
  Money subtotal;
  for (const PricedLine& l : lines) subtotal += l.amount;
  const std::size_t tierBefore = member ? member->tierIndex : 0;
  const PromotionContext ctx{today, member.has_value(), tierBefore, member ? member->birthday : std::nullopt};
  PromotionOutcome promo;
  if (rules.promotions.empty()) {
    promo.lines = std::move(lines);
    promo.subtotal = subtotal;
  } else {
    promo = evaluatePromotions(std::move(lines), ctx, rules);
  }
  Money memberDiscount;
  for (const PricedLine& l : promo.lines) {
    memberDiscount += l.discount;
    if (l.amount > Money{}) plan.refundable += l.amount - l.discount;
  }
  plan.spendDiscount = promo.discount - memberDiscount;
  const Money pointsPaid = pointsValue(redeemPoints, rules.redeemPointsPerUnit);
  if (redeemPoints > 0 && pointsPaid > subtotal - promo.discount) {
    return invalidArgument("redeem_points", "the points are worth more than the sale after promotions (" +
                                                (subtotal - promo.discount).toString() + ")");
  }
  plan.subtotal = subtotal;
  plan.discount = promo.discount + pointsPaid;
  plan.total = subtotal - plan.discount;
  if (member) {
    plan.points = plan.total > Money{}
                      ? salePoints(plan.total, rules.earnPointsPerUnit, rules.tiers[tierBefore].multiplier,
                                   promo.pointsMultiplier)
                      : -returnReversalPoints(plan.total, rules.earnPointsPerUnit);
    if (plan.points > kMaxPoints || plan.points < -kMaxPoints) {
      return invalidArgument("lines", "the sale earns more points than one sale may");
    }
    if (redeemPoints > 0) {
      if (auto s = checkRedemption(member->balance, redeemPoints, "redeem_points"); !s) return s.error();
    }
    // The sale that crosses a threshold earns at the tier held before it; then the upgrade.
    if (member->windowSpend && saleMayRaiseTier(tierBefore, plan.total, rules.tiers)) {
      const std::size_t reached =
          tierAfterSale(tierBefore, plan.total, *member->windowSpend + plan.total, rules.tiers);
      if (reached > tierBefore) plan.tierReached = reached;
    }
    // 转介绍: the referrer's bonus, once, at the referred member's first positive sale.
    plan.payReferralBonus = plan.total > Money{} && member->referralBonusDue;
  }
  const bool spendPromotion = std::any_of(promo.applied.begin(), promo.applied.end(), [](const auto& a) {
    return a.kind == "spend_discount" || a.kind == "spend_gift";
  });
  if (spendPromotion) {
    SavedPromotions saved{ctx, {}, promo.giftSkus};
    // No birthday: spend promotions never depend on it, and it would be a member's birthday in clear.
    saved.context.birthday.reset();
    for (const Promotion& p : rules.promotions) {
      if (p.kind == Promotion::Kind::kSpendDiscount || p.kind == Promotion::Kind::kSpendGift) {
        saved.promotions.push_back(p);
      }
    }
    plan.saved = std::move(saved);
  }
  plan.lines = std::move(promo.lines);
  plan.giftSkus = std::move(promo.giftSkus);
  plan.applied = std::move(promo.applied);
  return plan;
}

// [SECTION] Refund

namespace {

/// Gifts (zero price) and returned goods (negative qty) are not refunded.
bool refundable(const RecordedLine& l) { return l.qty > 0 && l.unitPrice.tenThousandths() != 0; }

/// Marks what the refund takes from each line (RecordedLine::refundedQty becomes the new total).
Status pickLines(std::vector<RecordedLine>& lines, const std::optional<std::vector<RefundWanted>>& wanted,
                 const std::string& saleId) {
  if (!wanted) {
    for (RecordedLine& l : lines) {
      if (refundable(l)) l.refundedQty = l.qty;
    }
    return Ok{};
  }
  for (std::size_t i = 0; i < wanted->size(); ++i) {
    const RefundWanted& want = (*wanted)[i];
    std::int64_t left = want.qty;
    bool onSale = false;
    for (RecordedLine& l : lines) {
      if (l.sku != want.sku || !refundable(l)) continue;
      onSale = true;
      const std::int64_t take = std::min(left, l.qty - l.refundedQty);
      l.refundedQty += take;
      left -= take;
    }
    const std::string f = "lines[" + std::to_string(i) + "]";
    if (!onSale) return invalidArgument(f + ".sku", "sku " + want.sku + " is not on sale " + saleId);
    if (left > 0) {
      return invalidArgument(f + ".qty", "only " + std::to_string(want.qty - left) + " of " + want.sku +
                                             " are left to refund on this sale");
    }
  }
  return Ok{};
}

}  // namespace

std::int64_t refundableQty(const RecordedLine& l) { return refundable(l) ? l.qty - l.refundedQty : 0; }

Result<RefundPlan> planRefund(const RecordedSale& sale, std::span<const RecordedLine> recorded,
                              const std::optional<std::vector<RefundWanted>>& wanted, const ProgrammeRules& rules) {
  std::vector<RecordedLine> after(recorded.begin(), recorded.end());
  if (auto s = pickLines(after, wanted, sale.saleId); !s) return s.error();
  RefundPlan plan;
  Money goodsNow;
  for (std::size_t i = 0; i < after.size(); ++i) {
    const RecordedLine& was = recorded[i];
    const RecordedLine& now = after[i];
    if (now.refundedQty == was.refundedQty) continue;
    // Cumulative amounts after the line's member discount, so partial refunds of one line add up
    // to exactly what was paid for it.
    const auto net = [&](std::int64_t q) {
      return *lineAmount(q, was.unitPrice, "qty") - Money::fromMinor(mulDivRound(was.discount.minor(), q, was.qty));
    };
    goodsNow += net(now.refundedQty) - net(was.refundedQty);
    plan.lines.push_back({was.lineNo, was.sku, now.refundedQty - was.refundedQty, now.refundedQty});
  }
  if (plan.lines.empty()) {
    return invalidArgument(wanted ? "lines" : "sale_id", "nothing is left to refund on sale " + sale.saleId);
  }

  const Money refundable = sale.refundable;
  const Money goodsCum = sale.refundedGoods + goodsNow;
  const Money paid = std::max(sale.total, Money{});
  Money amountCum = proportionalShare(paid, goodsCum, refundable);
  // 满减/满赠 broken by this refund: what the kept goods no longer earn comes off the refund
  // (beyond the share of the discount the refunded goods already carry).
  if (sale.saved) {
    ProgrammeRules then = rules;
    then.promotions = sale.saved->promotions;
    const PromotionContext& ctx = sale.saved->context;
    const Money kept = refundable - goodsCum;
    const Money lost = sale.spendDiscount - spendDiscountFor(kept, ctx, then);
    const Money clawCum = std::max(lost - proportionalShare(sale.spendDiscount, goodsCum, refundable), Money{});
    amountCum = std::max(amountCum - clawCum, sale.refundedAmount);
    const std::vector<std::string> keptBefore = giftsFor(refundable - sale.refundedGoods, ctx, then);
    const std::vector<std::string> keptNow = giftsFor(kept, ctx, then);
    for (const std::string& g : sale.saved->gifts) {
      if (contains(keptBefore, g) && !contains(keptNow, g)) plan.giftsToReturn.push_back(g);
    }
  }
  plan.goodsRefunded = goodsCum;
  plan.amountRefunded = amountCum;
  plan.amount = amountCum - sale.refundedAmount;
  plan.pointsReversed =
      refundReversalPoints(std::max<std::int64_t>(sale.pointsEarned, 0), paid, amountCum, sale.pointsReversed);
  plan.redeemedReturned =
      mulDivFloor(sale.pointsRedeemed, goodsCum.minor(), std::max<std::int64_t>(refundable.minor(), 1));
  plan.pointsReturned = plan.redeemedReturned - sale.redeemedReturned;
  // The benefit taken back: what proportional refunding alone would have paid now, minus what is paid.
  const Money proportionalNow =
      proportionalShare(paid, goodsCum, refundable) - proportionalShare(paid, sale.refundedGoods, refundable);
  plan.clawback = std::max(proportionalNow - plan.amount, Money{});
  return plan;
}

// [SECTION] Expiry and tier review

std::vector<ExpiryEntry> planExpiry(std::span<const DueLot> due) {
  std::vector<ExpiryEntry> out;
  out.reserve(due.size());
  for (const DueLot& d : due) {
    out.push_back({-d.remaining, "lot:" + std::to_string(d.lotId),
                   "points earned until " + formatDate(d.expiresOn) + " expired"});
  }
  return out;
}

TierReview planTierReview(std::size_t tierIndex, Money windowSpend, std::span<const Tier> tiers, Date today) {
  const std::size_t after = tierAfterReview(tierIndex, windowSpend, tiers);
  return {after, after < tierIndex, reviewMonthOf(today)};
}

// [SECTION] Lots

LotChange planLotChange(std::int64_t before, std::int64_t after, bool fromHeadOffice, Date today,
                        const ExpiryRule& expiry) {
  LotChange c;
  // Lots hold the positive part of the balance: credits beyond a debt open a lot, debits take
  // from the lots that expire first.
  if (const std::int64_t credit = lotCredit(before, after); credit > 0) {
    c.open = credit;
    c.expiresOn = fromHeadOffice ? kNeverExpires : lotExpiresOn(today, expiry);
  } else if (const std::int64_t debit = lotDebit(before, after); debit > 0) {
    c.take = debit;
    c.newestFirst = fromHeadOffice;  // head office taking points back takes its own lots first
  }
  return c;
}

}  // namespace loyalty
