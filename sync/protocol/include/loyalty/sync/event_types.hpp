#pragma once
/// @brief Event type names of the sync protocol (docs/sync-protocol.md).

#include <string_view>

namespace loyalty::sync {

inline constexpr const char* kMemberEnrolled = "member.enrolled";
inline constexpr const char* kMemberUpdated = "member.updated";
inline constexpr const char* kSaleRecorded = "sale.recorded";
inline constexpr const char* kPointsRedeemed = "points.redeemed";
inline constexpr const char* kSaleRefunded = "sale.refunded";
inline constexpr const char* kPointsAdjusted = "points.adjusted";
inline constexpr const char* kSurveyAnswered = "survey.answered";
inline constexpr const char* kComplaintFiled = "complaint.filed";
/// The terminal did not record a redemption it asked head office to reserve (docs/sync-wire.md).
inline constexpr const char* kPointsRedemptionReleased = "points.redemption_released";

/// True for the types above; others are stored and reported by head office, never dropped.
inline bool isKnownEventType(std::string_view type) {
  for (const char* known : {kMemberEnrolled, kMemberUpdated, kSaleRecorded, kPointsRedeemed, kSaleRefunded,
                            kPointsAdjusted, kSurveyAnswered, kComplaintFiled, kPointsRedemptionReleased}) {
    if (type == known) return true;
  }
  return false;
}

}  // namespace loyalty::sync
