#pragma once
/// @brief Head office's audit trail: who read or exported members' personal data, erasures,
/// points adjustments, changes to tokens, users and terminals, and every sign-in
/// (GET /api/v1/admin/audit, docs/security.md).
///
/// Entries are appended in the same transaction as what they record where there is one, so an
/// erasure without its entry (or the reverse) cannot exist. Never updated, never deleted.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "loyalty/core/time.hpp"
#include "loyalty/hq/sql.hpp"

namespace loyalty::hq {

/// What an entry records (the `action` of the audit API).
namespace audit {
inline constexpr const char* kMemberRead = "member.read";          ///< a member's personal data shown
inline constexpr const char* kMemberExport = "member.export";      ///< a data-subject export
inline constexpr const char* kMemberErase = "member.erase";
inline constexpr const char* kMemberMerge = "member.merge";
inline constexpr const char* kMembersExport = "export";            ///< a list or report with members leaves head office
inline constexpr const char* kPointsAdjust = "points.adjust";
inline constexpr const char* kPointsAdjustRejected = "points.adjust.rejected";
inline constexpr const char* kEventRejected = "event.rejected";    ///< a terminal's event refused for good (wrong store)
inline constexpr const char* kTokenCreate = "token.create";
inline constexpr const char* kTokenRevoke = "token.revoke";
inline constexpr const char* kUserSet = "user.set";
inline constexpr const char* kUserDisable = "user.disable";
inline constexpr const char* kTerminalAdd = "terminal.add";
inline constexpr const char* kTerminalRevoke = "terminal.revoke";
inline constexpr const char* kTerminalRegister = "terminal.register";
inline constexpr const char* kCertRenew = "cert.renew";
inline constexpr const char* kReleasePublish = "release.publish";  ///< a terminal package offered (docs/fleet-updates.md)
inline constexpr const char* kTierReview = "tier.review";        ///< a monthly review run (loyalty-hq housekeeping)
inline constexpr const char* kTierChange = "tier.change";        ///< a member's tier lowered by that review
inline constexpr const char* kBackupCreate = "backup.create";    ///< a backup file of the whole store written
inline constexpr const char* kBackupRestore = "backup.restore";  ///< the store replaced by a backup
inline constexpr const char* kReservationRelease = "reservation.release";  ///< a held reservation given back by an administrator
inline constexpr const char* kProductsPut = "products.put";  ///< head office's catalogue added to or changed
inline constexpr const char* kFollowupPlan = "followups.plan";        ///< a month's follow-up visits planned (followups.hpp)
inline constexpr const char* kFollowupContact = "followups.contact";  ///< a contact with a member logged
inline constexpr const char* kFollowupAssign = "followups.assign";    ///< follow-ups given to a head-office user
inline constexpr const char* kFollowupRules = "followups.rules";      ///< the visit frequencies per ABC class changed
inline constexpr const char* kProgrammePublish = "programme.publish";  ///< the programme (rates, tiers, promotions) sent to terminals
inline constexpr const char* kSignIn = "signin";
inline constexpr const char* kSignInFailed = "signin.failed";
// Complaint care (complaints.hpp)
inline constexpr const char* kComplaintFile = "complaint.file";                ///< a complaint filed at head office
inline constexpr const char* kComplaintUpdate = "complaint.update";            ///< a complaint's step, owner, due time or note
inline constexpr const char* kComplaintSatisfaction = "complaint.satisfaction";  ///< the check after closing recorded
}  // namespace audit

struct AuditEntry {
  std::string at;     ///< RFC 3339, UTC
  std::string actor;  ///< "user:NAME", "token:NAME", "terminal:ID", "cli:USER", "address:IP"
  std::string action;
  std::optional<std::string> subject;  ///< a member id, token name, user, terminal ...
  std::optional<std::int64_t> rows;    ///< how many records an export or list carried
  std::optional<std::string> detail;   ///< a short free text (a reason, a refusal)
};

/// Creates the audit table on a database that lacks it (idempotent, cheap when present).
void ensureAuditSchema(SqlConnection& c);

/// The start's upgrade step: the index a page of the audit trail is read through (by time, then
/// in the order of recording), in place of an earlier release's index of the time alone.
void indexAuditByTime(SqlConnection& c);

/// Appends one entry (inside the caller's transaction when there is one).
void recordAudit(SqlConnection& c, const AuditEntry& entry);

/// Entries whose UTC day is within [from, to] (YYYY-MM-DD, inclusive), oldest first (or newest
/// first): by their time, then in the order they were recorded.
std::vector<AuditEntry> auditEntries(SqlConnection& c, const std::string& from, const std::string& to,
                                     std::int64_t limit, std::int64_t offset, bool newestFirst = false);

/// The actor name of a command run on the head-office host ("cli:" and the login name).
std::string commandLineActor();

}  // namespace loyalty::hq
