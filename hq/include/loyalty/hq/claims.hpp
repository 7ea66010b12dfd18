#pragma once
/// @brief What head office believes of a terminal beyond a well-formed payload: every event's
/// origin is the uploading terminal's registration, and a points adjustment is one a terminal
/// makes (an expiry of points it credited, the configured referral bonus). Refused events are
/// kept for review (docs/sync-wire.md, "Rejections").

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loyalty/core/result.hpp"
#include "loyalty/hq/sql.hpp"
#include "loyalty/hq/store.hpp"  // hq::Ok
#include "loyalty/sync/payloads.hpp"
#include "loyalty/sync/protocol.hpp"

namespace loyalty::hq {

/// Error code of a final refusal: `field` is the result's reason (sync::kReasonWrongStore,
/// sync::kReasonAdjustment), `message` the sentence kept for review.
inline constexpr const char* kRefusedClaim = "refused_claim";

Error refusedClaim(const char* reason, std::string detail);

/// Creates the review and referral tables on a database that lacks them (idempotent).
void ensureClaimsSchema(SqlConnection& c);

/// `store_id` and `terminal_id` of a payload, where present, must be the terminal's own.
Result<Ok> checkOrigin(const nlohmann::json& payload, const std::string& storeId, const std::string& terminalId);

/// Referral bonuses a terminal may pay: the programme's default and the amount of every
/// programme head office has published (a terminal may pay under the one it had last).
std::vector<std::int64_t> referralBonusAmounts(SqlConnection& c);

/// The member ids an adjustment names, resolved through merges by the caller.
struct AdjustedMembers {
  std::string member;                             ///< whose points change
  std::optional<std::string> referred;            ///< `referred_member_id`, if given
  std::optional<std::string> referrerOfReferred;  ///< that member's referrer at enrolment, if any
};

/// The store-local days of an adjustment: the event's (by the terminal's clock) and head
/// office's as it receives it, in the same store's zone.
struct AdjustmentDays {
  std::string event;       ///< YYYY-MM-DD
  std::string headOffice;  ///< YYYY-MM-DD
};

/// Whether `terminalId` may make adjustment `a`:
/// `expire`: negative, dated no later than head office's own day (a terminal whose clock ran
/// ahead expires points early: refused, and the terminal puts them back), at most what head
/// office recorded this terminal crediting the member (or a member merged into it) and not yet
/// expiring; `bonus`: a configured amount, for a referred member whose referrer is this member,
/// once per referred member; `adjust`: never (a terminal's reconciliation writes no event).
Result<Ok> checkAdjustment(SqlConnection& c, const std::string& terminalId, const AdjustedMembers& members,
                           const sync::PointsAdjusted& a, const AdjustmentDays& days,
                           const std::vector<std::int64_t>& bonusAmounts);

/// Remembers that `referredMember`'s referral bonus was paid (by event `eventId`).
void recordReferralBonus(SqlConnection& c, const std::string& referredMember, const std::string& referrer,
                         const std::string& eventId, const std::string& terminalId, const std::string& at);

/// A refused event, kept for review.
struct RejectedEvent {
  const sync::EventEnvelope& event;
  std::string terminalId;
  std::string fingerprint;
  std::string reason;
  std::string detail;
  std::string receivedAt;
};
void keepRejected(SqlConnection& c, const RejectedEvent& r);

/// The earlier refusal of `eventId`: (terminal, fingerprint, reason), if there was one.
struct PriorRejection {
  std::string terminalId;
  std::string fingerprint;
  std::string reason;
};
std::optional<PriorRejection> priorRejection(SqlConnection& c, const std::string& eventId);

std::int64_t rejectedEventCount(SqlConnection& c);

}  // namespace loyalty::hq
