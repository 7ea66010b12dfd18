#include "loyalty/core/points.hpp"

#include <algorithm>
#include <string>

namespace loyalty {

Result<Multiplier> Multiplier::parse(std::string_view text, std::string_view field) {
  // A multiplier is written like a unit price: reuse its exact 4-decimal parser.
  auto value = UnitPrice::parse(text, field);
  if (!value) return value.error();
  const std::int64_t v = value->tenThousandths();
  if (v < 0 || v > 100 * kScale) {
    return invalidArgument(std::string(field), "a multiplier is between 0 and 100");
  }
  return Multiplier(v);
}

std::int64_t earnedPoints(Money netPaid, std::int64_t pointsPerUnit, Multiplier multiplier) {
  if (netPaid.minor() <= 0) return 0;
  return mulDivFloor(netPaid.minor(), pointsPerUnit * multiplier.tenThousandths(),
                     100 * Multiplier::kScale);
}

std::int64_t returnReversalPoints(Money returned, std::int64_t pointsPerUnit) {
  const std::int64_t magnitude = returned.minor() < 0 ? -returned.minor() : returned.minor();
  return mulDivFloor(magnitude, pointsPerUnit, 100);
}

std::int64_t refundReversalPoints(std::int64_t earned, Money total, Money refundedSoFar,
                                  std::int64_t alreadyReversed) {
  if (total.minor() <= 0 || earned <= 0) return 0;
  const std::int64_t refunded = std::clamp(refundedSoFar.minor(), std::int64_t{0}, total.minor());
  return mulDivFloor(earned, refunded, total.minor()) - alreadyReversed;
}

Money proportionalShare(Money amount, Money part, Money whole) {
  if (whole.minor() == 0) return Money{};
  return Money::fromMinor(mulDivRound(amount.minor(), part.minor(), whole.minor()));
}

Money pointsValue(std::int64_t points, std::int64_t pointsPerUnit) {
  return Money::fromMinor(mulDivFloor(points, 100, pointsPerUnit));
}

BalanceView splitBalance(std::int64_t ledgerSum) {
  return ledgerSum >= 0 ? BalanceView{ledgerSum, 0} : BalanceView{0, -ledgerSum};
}

Status checkRedemption(std::int64_t ledgerSum, std::int64_t points, std::string_view field) {
  if (points <= 0) return invalidArgument(std::string(field), "points to redeem must be positive");
  if (ledgerSum < 0) {
    return Error{errc::kInsufficientPoints, std::string(field),
                 "the member owes " + std::to_string(-ledgerSum) +
                     " points from a refund; redemptions resume once the debt is repaid"};
  }
  if (points > ledgerSum) {
    return Error{errc::kInsufficientPoints, std::string(field),
                 "the member has " + std::to_string(ledgerSum) + " points, " +
                     std::to_string(points) + " requested"};
  }
  return Ok{};
}

}  // namespace loyalty
