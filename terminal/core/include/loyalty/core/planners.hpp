#pragma once
/// @brief What a counter operation does, decided without I/O: the sale, the refund, the expiry
/// of lots, the monthly tier review and the lots a ledger entry opens or draws on.
///
/// Each planner takes the state the caller loaded (a member's tier and balance, a sale as it was
/// recorded) and the programme, and returns the figures and rows to write, or a refusal naming the
/// field. The terminal's CounterService loads the state, calls a planner and writes its plan in
/// one transaction; head office can call the same functions with the programme it publishes.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "loyalty/core/lifecycle.hpp"
#include "loyalty/core/money.hpp"
#include "loyalty/core/promotions.hpp"
#include "loyalty/core/result.hpp"
#include "loyalty/core/rules.hpp"
#include "loyalty/core/time.hpp"

namespace loyalty {

// [SECTION] Sale

/// The member a sale is for, as loaded before the sale (after what was due was settled).
struct SaleMember {
  std::size_t tierIndex = 0;          ///< the tier held before the sale (index into the programme's tiers)
  std::optional<Date> birthday;
  std::int64_t balance = 0;           ///< signed ledger sum
  /// Net spend of the rolling window ending on the sale's day, before this sale; nullopt when
  /// the member holds the top tier (no upgrade to look for).
  std::optional<Money> windowSpend;
  bool referralBonusDue = false;      ///< referred by a member, and the referrer's bonus not paid yet
};

/// The promotions a refund must re-evaluate (满减/满赠): the sale's context and those promotions
/// as they were when it was recorded (head office may change the programme in between).
struct SavedPromotions {
  PromotionContext context;
  std::vector<Promotion> promotions;  ///< the spend_discount and spend_gift promotions only
  std::vector<std::string> gifts;     ///< gift SKUs the sale gave
};

struct SalePlan {
  std::vector<PricedLine> lines;          ///< the input lines with member discounts filled in
  std::vector<std::string> giftSkus;      ///< zero-price gift lines after the priced ones
  std::vector<AppliedPromotionEffect> applied;
  Money subtotal, discount, total;        ///< discount: promotions and points paid with
  Money refundable;                       ///< what the positive lines were paid, after member discounts
  Money spendDiscount;                    ///< the 满减 part of the discount
  std::int64_t points = 0;                ///< earned (> 0) or taken back by a return (< 0); 0 without member
  std::int64_t redeemPoints = 0;          ///< points paid with
  std::optional<SavedPromotions> saved;   ///< set when a spend promotion applied
  std::optional<std::size_t> tierReached; ///< the tier this sale upgrades the member to
  bool payReferralBonus = false;          ///< the referrer's bonus is due now (once)
};

/// Prices a sale: promotions, member discounts, points paid with and earned, the tier upgrade the
/// sale brings and the referral bonus it triggers. `lines` are priced (amount = qty × price);
/// refusals name "redeem_points" or "lines".
Result<SalePlan> planSale(std::vector<PricedLine> lines, std::int64_t redeemPoints,
                          const std::optional<SaleMember>& member, const ProgrammeRules& rules, Date today);

// [SECTION] Refund

/// A sale as recorded, with what was already refunded of it.
struct RecordedSale {
  std::string saleId;
  Money total, refundable, refundedGoods, refundedAmount, spendDiscount;
  std::int64_t pointsEarned = 0, pointsRedeemed = 0, pointsReversed = 0, redeemedReturned = 0;
  std::optional<SavedPromotions> saved;
};

struct RecordedLine {
  std::int64_t lineNo = 0;
  std::string sku;
  std::int64_t qty = 0;
  UnitPrice unitPrice;
  std::int64_t refundedQty = 0;
  Money discount;  ///< the line's member discount
};

/// How many of a recorded line a refund can still take back: gifts (zero price) and returned goods
/// (negative qty) are never refunded.
std::int64_t refundableQty(const RecordedLine& line);

struct RefundWanted {
  std::string sku;
  std::int64_t qty = 0;
};

struct RefundedLine {
  std::int64_t lineNo = 0;
  std::string sku;
  std::int64_t qty = 0;          ///< refunded now
  std::int64_t refundedQty = 0;  ///< refunded in all, this refund included
};

struct RefundPlan {
  std::vector<RefundedLine> lines;  ///< the lines this refund touches, in line order
  Money amount;                     ///< paid back now
  Money goodsRefunded, amountRefunded;  ///< cumulative, this refund included
  Money clawback;                   ///< 满减 benefit taken back because the threshold broke
  std::vector<std::string> giftsToReturn;
  std::int64_t pointsReversed = 0;  ///< earned points taken back now
  std::int64_t pointsReturned = 0;  ///< points paid with given back now
  std::int64_t redeemedReturned = 0;  ///< cumulative
};

/// Refunds `wanted` (nullopt: everything not yet refunded) of a recorded sale, proportionally to
/// what was paid, taking back a broken 满减 and listing broken 满赠 gifts. Gifts are never refunded.
/// `rules` is today's programme (its promotions are replaced by the sale's saved ones).
Result<RefundPlan> planRefund(const RecordedSale& sale, std::span<const RecordedLine> lines,
                              const std::optional<std::vector<RefundWanted>>& wanted, const ProgrammeRules& rules);

// [SECTION] What falls due: expiry and the monthly tier review

/// A lot past its last day, with what it still holds.
struct DueLot {
  std::int64_t lotId = 0;
  std::int64_t remaining = 0;
  Date expiresOn;
};

struct ExpiryEntry {
  std::int64_t points = 0;  ///< negative
  std::string refId;        ///< "lot:<id>"
  std::string reason;
};

/// One 'expire' ledger entry per due lot, in the order given (oldest expiry first, so the FIFO
/// debit of each entry takes exactly its lot).
std::vector<ExpiryEntry> planExpiry(std::span<const DueLot> due);

// The monthly review is due, and looks at the window, of lifecycle.hpp's tierReviewDue and
// reviewTierWindow: the one tier rule head office applies too.
struct TierReview {
  std::size_t tierIndex = 0;  ///< the tier after the review (never higher than before)
  bool downgraded = false;
  std::string month;          ///< YYYY-MM, the month reviewed
};

/// The review only lowers a tier (tierAfterReview); upgrades happen at the crossing sale.
TierReview planTierReview(std::size_t tierIndex, Money windowSpend, std::span<const Tier> tiers, Date today);

// [SECTION] Lots

/// Points moved here by head office never expire here (their store expires them).
inline constexpr Date kNeverExpires{std::chrono::year{9999}, std::chrono::month{12}, std::chrono::day{31}};

/// What a ledger entry moving the balance from `before` to `after` does to the member's lots.
struct LotChange {
  std::int64_t open = 0;   ///< points of a new lot (credits beyond a debt)
  Date expiresOn;          ///< of the new lot
  std::int64_t take = 0;   ///< points taken from open lots (debits down to zero)
  bool newestFirst = false;  ///< take from the lots expiring last (head office taking its points back)
};

/// `fromHeadOffice`: an 'adjust' entry of reconciliation with head office.
LotChange planLotChange(std::int64_t before, std::int64_t after, bool fromHeadOffice, Date today,
                        const ExpiryRule& expiry);

}  // namespace loyalty
