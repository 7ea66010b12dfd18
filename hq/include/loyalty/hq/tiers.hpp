#pragma once
/// @brief Head office's tiers, by the same core rule as the terminal's (lifecycle.hpp): the
/// programme it publishes, rolling 12-month net spend over store-local days, upgrades at the
/// crossing sale and the downgrade review on the first local day of each month.
///
/// * The programme is the newest published version the strict reader accepts (a version it
///   refuses is not in force at the terminals either), else the defaults.
/// * Local days: at ingest, those of the store whose terminal sent the event (the days that
///   terminal judged by); for a merge and for `loyalty-hq housekeeping`, those of the member's
///   home store (enrolled_store; UTC when head office knows no terminal of it).
/// * The review of a month happens at the member's first event dated in it (as the terminal
///   reviews at the member's first operation of the month) and, for members with no event, by
///   `loyalty-hq housekeeping`, run daily. Either way members.tier_reviewed_month records it.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "loyalty/core/lifecycle.hpp"
#include "loyalty/core/rules.hpp"
#include "loyalty/core/zone.hpp"
#include "loyalty/hq/local_time.hpp"
#include "loyalty/hq/sql.hpp"

namespace loyalty::hq {

/// Adds members.tier_reviewed_month to a database that lacks it (idempotent, cheap when present).
void ensureTierSchema(SqlConnection& c);

/// The programme head office publishes, read once per published version.
class PublishedProgramme {
 public:
  /// The programme in force (see the header); reads the config version, parses on a change.
  const ProgrammeRules& current(SqlConnection& c);

 private:
  std::int64_t m_version = -1;
  ProgrammeRules m_rules;
};

/// A member's tier as it was and as it is after a step.
struct TierMove {
  std::string from;
  std::string to;
  bool changed() const { return from != to; }
};

/// The monthly review of `memberId` on local day `today` (a no-op when not due): down to the
/// tier their spend over reviewTierWindow reaches, never up; records the month reviewed.
/// nullopt when the review was not due.
std::optional<TierMove> reviewMemberTier(SqlConnection& c, const ProgrammeRules& rules, const std::string& memberId,
                                         Date today, const ZoneRules& zone);

/// After `addedSpend` (a sale's total; a merge's moved spend) on local day `today`: up to the tier
/// the spend over saleTierWindow reaches, never down; an upgrade records the month as reviewed.
TierMove raiseMemberTier(SqlConnection& c, const ProgrammeRules& rules, const std::string& memberId, Money addedSpend,
                         Date today, const ZoneRules& zone);

/// The time zone of the member's home store (enrolled_store), UTC when unknown.
const ZoneRules& homeZone(SqlConnection& c, ZoneCache& zones, const std::string& memberId);

/// What a housekeeping run did.
struct TierReviewRun {
  std::int64_t reviewed = 0;
  std::int64_t downgraded = 0;
  std::vector<std::string> changedMembers;  ///< downgraded (each already in the change feed)
};

}  // namespace loyalty::hq
