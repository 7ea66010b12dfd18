#pragma once
/// @brief Points ledger maths: earning, refund reversals, returns, debt, redemption checks.

#include <cstdint>
#include <string_view>

#include "loyalty/core/money.hpp"
#include "loyalty/core/result.hpp"

namespace loyalty {

/// An exact decimal multiplier in 1/10000 ("1.2" -> 12000); never floating point.
class Multiplier {
 public:
  static constexpr std::int64_t kScale = 10'000;
  constexpr Multiplier() = default;
  static constexpr Multiplier fromTenThousandths(std::int64_t v) { return Multiplier(v); }
  /// "1.0", "1.25", "2": at most 4 decimals, between 0 and 100.
  static Result<Multiplier> parse(std::string_view text, std::string_view field);
  constexpr std::int64_t tenThousandths() const { return m_value; }
  constexpr Multiplier operator*(Multiplier o) const {
    return Multiplier(m_value * o.m_value / kScale);
  }
  constexpr auto operator<=>(const Multiplier&) const = default;

 private:
  constexpr explicit Multiplier(std::int64_t v) : m_value(v) {}
  std::int64_t m_value = kScale;
};

/// Points for a sale: floor(net paid × points per 1.00 × multiplier), floored once; nothing for
/// a non-positive amount.
std::int64_t earnedPoints(Money netPaid, std::int64_t pointsPerUnit, Multiplier multiplier);

/// Points a return without a receipt takes back: floor(|amount| × base rate). No multipliers:
/// the sale it came from is unknown, so the base rate is the fair, provable figure.
std::int64_t returnReversalPoints(Money returned, std::int64_t pointsPerUnit);

/// Points to reverse now for a refund with receipt, so that partial refunds add up exactly to
/// the original earning once the whole sale is refunded:
/// floor(earned × refundedSoFar / total) − alreadyReversed, refundedSoFar including this refund.
std::int64_t refundReversalPoints(std::int64_t earned, Money total, Money refundedSoFar,
                                  std::int64_t alreadyReversed);

/// The share of `amount` that `part` is of `whole`, rounded half away from zero; used
/// cumulatively (share of the running total minus what was already given back) so the parts
/// add up exactly to `amount`.
Money proportionalShare(Money amount, Money part, Money whole);

/// The discount `points` buy at `pointsPerUnit` points for 1.00 (floored to minor units).
Money pointsValue(std::int64_t points, std::int64_t pointsPerUnit);

/// A signed ledger sum shown as the two non-negative figures staff and receipts use.
struct BalanceView {
  std::int64_t points = 0;  ///< spendable, never negative
  std::int64_t debt = 0;    ///< unpaid points debt (after refunds of spent points)
};
BalanceView splitBalance(std::int64_t ledgerSum);

/// May a member with this ledger sum redeem `points`? Refused while in debt, and never below 0.
Status checkRedemption(std::int64_t ledgerSum, std::int64_t points, std::string_view field);

}  // namespace loyalty
