#pragma once
/// @brief Pre-aggregates for head-office reports, kept in step with the raw tables inside each
/// ingest transaction, and rebuilt from the raw tables when they are missing (an older
/// database, a bulk load).
///
/// * `agg_sales`: per store-local day, hour, store, terminal and member/non-member: sales,
///   gross, refunds, refunded. Serves the summary's sums and every `sales` grouping but
///   product, at any day range and store filter.
/// * `agg_member_month` / `agg_member`: per member and month / all time: sales, net spend,
///   visit days (distinct sale days), first and last sale day. Serve ABC, RFM, churn and the
///   distinct-member counts for whole months and all time; the days at the edges of a range
///   are read from the raw tables.
/// * `agg_member_store`: the same per store and member over all time (visits: distinct sale
///   days at that store). Serves member reports over all time for one store, and summary, ABC
///   and RFM over all time for several (added up per member); churn over several stores and
///   store filters over other ranges read the raw tables (a day with visits at two stores is
///   one visit).
/// * `agg_product`: per day, store and SKU: sales holding it, quantity, line amounts.
/// * `agg_points`: per day, store and ledger kind: entries, points credited and debited.
/// * `agg_enrolment` / `agg_cohort`: per enrolment day and store, the members enrolled, and
///   of those the ones with a sale in each month from their enrolment month on: the retention
///   cohorts. Both count enrolled members that were not merged into another.
///
/// The raw tables stay the truth: `rebuildAggregates` recomputes every aggregate from them, and
/// the tests check that what ingest maintained equals a rebuild.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "loyalty/hq/sql.hpp"

namespace loyalty::hq {

/// Adds the aggregate tables and the columns they are rebuilt from (`sales.hour`,
/// `refunds.hour`, `ledger.day`) when missing, and rebuilds the aggregates if the tables were
/// new. Call inside a write transaction. Idempotent.
void ensureAggregates(SqlConnection& c);
bool aggregatesPresent(SqlConnection& c);
/// PostgreSQL: room on the pages of the aggregate tables whose updated columns no index holds
/// (keepRoomForUpdates), so that ingest's additions to their rows are HOT updates. Idempotent.
void keepRoomInAggregates(SqlConnection& c);

/// Recomputes every aggregate from sales, refunds and ledger (inside the caller's transaction).
void rebuildAggregates(SqlConnection& c);
/// Recomputes one member's rows of agg_member, agg_member_month and agg_member_store (after a
/// merge moved sales).
void rebuildMemberAggregates(SqlConnection& c, const std::string& memberId);

/// A sale or refund as the aggregates see it. `amount` is the sale total or the amount refunded.
struct AggregateFacts {
  std::string day;   ///< store-local YYYY-MM-DD
  std::string hour;  ///< store-local "00".."23"
  std::string storeId;
  std::string terminalId;
  std::optional<std::string> memberId;
  std::int64_t amount = 0;
};

/// Call after the sales row is inserted (the visit-day count reads it).
void aggregateSale(SqlConnection& c, const AggregateFacts& f);
/// Adds (sign +1) or takes away (-1) one member's part of agg_enrolment and agg_cohort, as the
/// members row and agg_member_month stand at the call. Ingest calls it once a member is
/// enrolled (+1), and around a merge: -1 for both members before, +1 after.
void countInCohorts(SqlConnection& c, const std::string& memberId, std::int64_t sign);
void aggregateRefund(SqlConnection& c, const AggregateFacts& f);

/// A sale line as agg_product sees it (description "" when absent).
struct AggregateLine {
  std::string sku;
  std::string description;
  std::int64_t qty = 0;
  std::int64_t amount = 0;
};
/// A sale's lines: per product, the sale counts once, quantities and amounts add up.
void aggregateLines(SqlConnection& c, const std::string& day, const std::string& storeId,
                    const std::vector<AggregateLine>& lines);
/// One ledger entry: `storeId` empty for entries no store caused (a merge at head office).
void aggregatePoints(SqlConnection& c, const std::string& day, const std::string& storeId, const std::string& kind,
                     std::int64_t points);

}  // namespace loyalty::hq
