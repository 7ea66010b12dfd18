#pragma once
/// @brief Event payloads of the known event types (docs/sync-wire.md, "Events").

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loyalty/core/money.hpp"

namespace loyalty::sync {

/// What an event does to its member's balance (docs/sync-wire.md, "points effect").
struct PointsEffect {
  std::string memberId;
  std::int64_t points = 0;  ///< signed
  bool operator==(const PointsEffect&) const = default;
};

/// Fields every payload carries.
struct PayloadOrigin {
  std::string storeId;
  std::string terminalId;
  bool operator==(const PayloadOrigin&) const = default;
};

struct MemberEnrolled {
  PayloadOrigin origin;
  std::string memberId;
  std::string cardNo;
  std::string phone;
  std::string name;
  std::optional<std::string> birthday;
  std::optional<std::string> language;
  bool consentMarketing = false;
  std::optional<std::string> consentVersion;
  std::optional<std::string> referrerId;
  std::optional<std::string> staffId;  ///< who enrolled them; the consent at enrolment is theirs
  bool operator==(const MemberEnrolled&) const = default;
};

/// A change of a member's details or consent at a counter; only the fields that changed are
/// present (at least one). The envelope's `at` is when the change was made.
struct MemberUpdated {
  PayloadOrigin origin;
  std::string memberId;
  std::optional<std::string> staffId;
  std::optional<std::string> cardNo;
  std::optional<std::string> phone;  ///< E.164
  std::optional<std::string> name;
  /// Absent: unchanged; null on the wire (an empty inner optional): cleared; else YYYY-MM-DD.
  std::optional<std::optional<std::string>> birthday;
  std::optional<std::string> language;
  std::optional<bool> consentMarketing;
  std::optional<std::string> consentVersion;  ///< the consent text's version; present exactly with consentMarketing

  /// The wire names of the fields this update changes ("name", "consent_marketing" ...), for
  /// change logs that must not keep the values.
  std::vector<std::string> changedFields() const;
  bool operator==(const MemberUpdated&) const = default;
};

struct SaleLine {
  std::string sku;
  std::optional<std::string> description;
  std::int64_t qty = 0;
  std::string unitPrice;  ///< decimal, up to 4 places
  Money amount;
  std::optional<std::string> category;
  std::optional<Money> discount;  ///< the line's member discount, when it has one
  bool gift = false;              ///< a 满赠 gift at zero price
  bool operator==(const SaleLine&) const = default;
};

struct SaleRecorded {
  PayloadOrigin origin;
  std::string saleId;
  std::optional<std::string> memberId;
  std::vector<SaleLine> lines;
  Money subtotal, discount, total;
  std::int64_t pointsEarned = 0;
  std::int64_t pointsRedeemed = 0;
  nlohmann::json promotions = nlohmann::json::array();  ///< [{id, kind, effect}], kept as sent
  std::optional<std::string> redeemAuthorised;  ///< with points paid: "online" | "offline" | "local"
  std::optional<std::string> staffId;
  std::optional<std::string> tier;  ///< the tier the sale upgraded the member to
  bool operator==(const SaleRecorded&) const = default;
};

struct PointsRedeemed {
  PayloadOrigin origin;
  std::string redemptionId;
  std::string memberId;
  std::int64_t points = 0;
  std::optional<std::string> rewardId;
  std::optional<std::string> authorised;  ///< "online" | "offline" | "local"
  std::optional<std::string> staffId;
  bool operator==(const PointsRedeemed&) const = default;
};

/// points.redemption_released: an authorisation attempt the terminal ended without recording
/// the redemption (refused after all, no answer in time, cancelled, or cut by a restart).
struct RedemptionReleased {
  PayloadOrigin origin;
  std::string redemptionId;  ///< the redemption's id, or the sale's for points paid in a sale
  std::string memberId;
  std::int64_t points = 0;
  std::string reason;  ///< what ended the attempt, for people reading the event (not a code)
  bool operator==(const RedemptionReleased&) const = default;
};

struct RefundLine {
  std::int64_t lineNo = 0;
  std::string sku;
  std::int64_t qty = 0;
  bool operator==(const RefundLine&) const = default;
};

struct SaleRefunded {
  PayloadOrigin origin;
  std::string refundId;
  std::string saleId;
  std::optional<std::string> memberId;
  std::vector<RefundLine> lines;
  Money amount;
  std::int64_t pointsReversed = 0;
  std::int64_t pointsReturned = 0;
  std::optional<std::string> staffId;
  bool operator==(const SaleRefunded&) const = default;
};

struct PointsAdjusted {
  PayloadOrigin origin;
  std::string memberId;
  std::string kind;  ///< "bonus" | "expire" | "adjust"
  std::int64_t points = 0;  ///< signed
  std::string refId;
  std::string reason;
  std::optional<std::string> referredMemberId;  ///< kind "bonus": the referred member it rewards
  bool operator==(const PointsAdjusted&) const = default;
};

struct SurveyAnswered {
  PayloadOrigin origin;
  std::string surveyId;
  std::optional<std::string> saleId;
  std::optional<std::string> memberId;
  std::string scale;  ///< "csat5" | "nps10"
  std::int64_t score = 0;
  std::optional<std::string> staffId;
  /// Per-dimension scores 1-5 (the terminal's configured questions), by dimension name.
  std::map<std::string, std::int64_t> dimensions;
  bool operator==(const SurveyAnswered&) const = default;
};

struct ComplaintFiled {
  PayloadOrigin origin;
  std::string complaintId;
  std::optional<std::string> memberId;
  std::string category;
  std::string description;
  std::optional<std::string> staffId;
  bool operator==(const ComplaintFiled&) const = default;
};

}  // namespace loyalty::sync
