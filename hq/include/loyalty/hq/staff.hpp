#pragma once
/// @brief Who served: the staff member (`staff_id`, the terminal's signed-in staff) head office
/// keeps with sales, refunds, redemptions, enrolments and survey answers, and the answers'
/// per-dimension scores; their schema and the migration of an older database.
///
/// Where the facts live: `sales.staff_id`, `refunds.staff_id`, `survey_answers.staff_id`,
/// `members.enrolled_staff`, the table `redemptions` (one row per points.redeemed event, on its
/// store-local day) and `survey_dimensions` (one row per answered dimension). Complaints keep
/// theirs in their event (and in `complaint_cases` once imported). Reports::staff reads them.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "loyalty/hq/sql.hpp"

namespace loyalty::hq {

/// Adds the staff columns and tables to a new database, inside the caller's transaction
/// (HqStore::createSchema, after the analytics tables).
void createStaffSchema(SqlConnection& c);

/// The same for an older database, in a write transaction of its own, filling the new columns
/// and tables from the events head office kept (their payloads, each on its terminal's local
/// day). Cheap when nothing is missing; call after ensureAnalyticsSchema (survey_answers).
void ensureStaffSchema(SqlConnection& c);

/// A points.redeemed event as the staff figures count it.
struct RedemptionFacts {
  std::string eventId;
  std::string redemptionId;
  std::string terminalId;
  std::string storeId;
  std::string memberId;
  std::string day;  ///< store-local YYYY-MM-DD
  std::int64_t points = 0;
  std::optional<std::string> staffId;
};

/// Ingest: one redemption (inside the batch's transaction).
void recordRedemption(SqlConnection& c, const RedemptionFacts& r);

/// Ingest: a survey answer's per-dimension scores (inside the batch's transaction).
void recordSurveyDimensions(SqlConnection& c, const std::string& eventId, const std::string& storeId, const std::string& day,
                            const std::map<std::string, std::int64_t>& dimensions);

}  // namespace loyalty::hq
