#pragma once
/// @brief Head-office analytics (DOMAIN.md "客户分析"): every report computed in SQL over
/// SqlConnection (same SQL on SQLite and PostgreSQL), the complaint workflow (six steps, owner,
/// due time, history) and the consent-only campaign list. Shapes: docs/reports.md.
///
/// Reports read in one snapshot (a read transaction); workflow changes are one write
/// transaction each. Not thread-safe: one Reports per connection (the server holds its lock).

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loyalty/core/result.hpp"
#include "loyalty/core/time.hpp"
#include "loyalty/hq/sql.hpp"
#include "loyalty/hq/store.hpp"

namespace loyalty::hq {

/// Creates the analytics tables and indexes (complaint cases and history, dashboard users and
/// sessions, an index on events(type, at)). Called from HqStore::createSchema inside its
/// transaction; ensureAnalyticsSchema() adds them to an older database (idempotent).
void createAnalyticsSchema(SqlConnection& c);
void ensureAnalyticsSchema(SqlConnection& c);
/// Each survey answer's member (survey_answers.member_id, from its payload) and the index a
/// member's page and export read them by: an earlier release scanned every answer's payload
/// (seconds at a million answers, on the writer). A start-up step (after the staff columns),
/// filling the column once; also part of a new store.
void indexSurveysByMember(SqlConnection& c);
/// On PostgreSQL, a store's sales in member order, with the day and total (sales_store_by_member):
/// reports of a store set read each store's along it and merge them by member; and the days'
/// index with the store (sales_day_store: day, member, total, store), which one store's few days
/// are read along. They replace an earlier release's sales_store_member (store, day, member,
/// total) and sales_day (day, member, total), which SQLite keeps; a start-up step, building them
/// once (a new store gets them with its analytics schema).
void indexSalesForStores(SqlConnection& c);
/// The functions report queries call (on PostgreSQL an aggregate, sum_bigint), created where
/// they are missing in `c`'s schema: by the two above, and on a reports replica's connection
/// (storage.reports_dsn), which a logical replica made before them lacks (it copies no DDL).
/// Cheap when they are there (one catalogue read); nothing on SQLite.
void ensureReportFunctions(SqlConnection& c);

/// Which sales a report looks at: an inclusive day range and optionally some stores.
struct ReportFilter {
  DayRange range;
  std::vector<std::string> stores;  ///< empty: every store
  /// A page of a report's member list (abc members and follow-up, rfm, churn, referrals,
  /// campaign): rows offset+1 .. offset+limit in the list's order; limit < 0: all of them.
  std::int64_t offset = 0;
  std::int64_t limit = -1;
  RowPage page() const { return {offset, limit}; }
  /// Per-member figures straight from the raw sales and refunds, not the pre-aggregates: what
  /// the aggregates are checked against (tests). Requests never set it.
  bool rawTables = false;
};

/// Parses `from`, `to` (YYYY-MM-DD) and `store` (comma-separated ids) as the API takes them.
Result<ReportFilter> parseReportFilter(const std::optional<std::string>& from, const std::optional<std::string>& to,
                                       const std::optional<std::string>& stores);

/// A whole-number request parameter in lo..hi; absent: `def`. Errors name `field`.
Result<std::int64_t> wholeNumber(const std::optional<std::string>& v, const char* field, std::int64_t def, std::int64_t lo,
                                 std::int64_t hi);

/// A member list's rows in one answer: what a request naming no `limit` gets (no answer holds
/// a large chain's whole list: 966,667 ABC rows took 16 s and 1.7 GB to build), and the most a
/// request (or an export) may ask for: a 100,000-row page took the server to 578 MB, over the
/// 256 MB head office may use; a longer list is read in pages (`offset`).
inline constexpr std::int64_t kListPageDefault = 1000;
inline constexpr std::int64_t kListPageMax = 10000;

/// An export's rows: with `limit`, the page asked for; without, the whole list when it has at
/// most kListPageMax rows, and refused (naming `limit`) when longer rather than cut short: a longer
/// list is exported in pages (`limit` and `offset`). The one rule of every export.
class ExportRows {
 public:
  /// `limitGiven`: the request names `limit`. Without it, `limit` (the list's filter) is set one row
  /// past a page's most, so that a longer list shows.
  ExportRows(bool limitGiven, std::int64_t& limit);
  /// The refusal of a whole list that came back with `rows` rows, when longer than a page's most.
  std::optional<Error> refusal(std::size_t rows) const;

 private:
  bool m_whole;
};

/// Parses `limit` (1..kListPageMax) and `offset` (0..100000000) into `page`; absent ones keep
/// their value. Errors name the parameter.
Result<Ok> parsePage(const std::optional<std::string>& limit, const std::optional<std::string>& offset, RowPage& page);
/// The same into a report's filter.
Result<Ok> parsePage(const std::optional<std::string>& limit, const std::optional<std::string>& offset, ReportFilter& f);
/// An answer's "page": {"offset", "limit"} (limit null: to the end).
nlohmann::json pageJson(const RowPage& page);

/// The reports whose `rows` grow with the data but are not member lists: sales (by product,
/// day, terminal, ...), satisfaction (by store and day), complaints (every one), staff (by store
/// and staff member). The dashboard's pages and the complaints list read them whole; their API
/// answers and exports carry a page of `rows` (pageReportRows).
bool reportRowsPaged(const std::string& name);

/// Cuts `report`'s `rows` to the page `f` names (`offset`, `limit`; no limit: to the end) and
/// says so: "rows_total" (every row) and "page".
void pageReportRows(nlohmann::json& report, const ReportFilter& f);

/// Complaint steps, in order (DOMAIN.md): received → acknowledged → investigated →
/// solution_proposed → resolved → followed_up.
const std::vector<std::string>& complaintSteps();

/// One change to a complaint at head office. Absent fields keep their value.
struct ComplaintUpdate {
  std::optional<std::string> step;   ///< the same step or the next one
  std::optional<std::string> owner;
  std::optional<std::string> due;    ///< RFC 3339
  std::optional<std::string> note;
};

/// Checks an update's fields before any row is read: owner (128 bytes) and note (4000 bytes),
/// due (RFC 3339), step (a known one), and that something changes.
Result<Ok> checkComplaintUpdate(const ComplaintUpdate& u);

/// A complaint filed at head office (phone call, letter) rather than at a counter.
struct ComplaintFiling {
  std::string complaintId;
  std::optional<std::string> storeId;
  std::optional<std::string> memberId;
  std::string category;
  std::string description;
  std::optional<std::string> owner;
  std::optional<std::string> due;  ///< default: filed + 48 h
};

class Reports {
 public:
  explicit Reports(SqlConnection& c) : m_c(c) {}

  /// The latest store-local day with a sale or refund ("" when there is none).
  std::string latestDay();
  /// The day reports count to when the request names none: `to` if before today, else today,
  /// which is the later of the UTC day at `now` and latestDay() (a store east of UTC is already
  /// on the next day in the UTC evening).
  std::string defaultAsOf(const ReportFilter& f, Timestamp now);

  /// Same shape as the protocol's summary, with the store filter.
  nlohmann::json summary(const ReportFilter& f);
  /// group: day, hour, store, terminal, product, member (member vs non-member).
  Result<nlohmann::json> sales(const ReportFilter& f, const std::string& group);
  /// What summary() and retention() give for the filter narrowed to each one store (`by`
  /// kStore) or month (kMonth, "YYYY-MM") of it, for every store or month at once in three
  /// statements whatever their number: members who bought (a sale in it), their revenue and the
  /// members enrolled in it (the cohorts' sizes). Only keys with any of them are listed.
  enum class By { kStore, kMonth };
  struct MemberFigures {
    std::int64_t buyers = 0;         ///< summary()'s "members"
    std::int64_t memberRevenue = 0;  ///< summary()'s "member_revenue", minor units
    std::int64_t enrolled = 0;       ///< retention()'s cohort sizes added up
  };
  std::map<std::string, MemberFigures> memberFigures(const ReportFilter& f, By by);
  /// ABC classes (exact DOMAIN.md rule), contact frequency per class and the follow-up list.
  nlohmann::json abc(const ReportFilter& f, const std::string& asOf);
  /// Every member with spend in `f`'s range and their ABC class ("A", "B", "C") as abc() classes
  /// them, ranked once in one snapshot into a temporary table, then handed to `page` `pageSize`
  /// members at a time in member id order, outside any transaction (what a month's follow-up
  /// plan reads: no list of every member among head office's own objects).
  void abcClasses(const ReportFilter& f, std::int64_t pageSize,
                  const std::function<void(const std::vector<std::pair<std::string, std::string>>&)>& page);
  /// RFM quintile scores (5 best) and named segments; recency counted to `asOf`.
  nlohmann::json rfm(const ReportFilter& f, const std::string& asOf);
  /// Members at risk: no visit for twice their usual interval, or for `churnDays` days.
  nlohmann::json churn(const ReportFilter& f, const std::string& asOf, std::int64_t churnDays);
  /// Cohorts by enrolment month: members active in each month since.
  nlohmann::json retention(const ReportFilter& f);
  nlohmann::json referrals(const ReportFilter& f);
  /// CSAT (share of 4–5 on the 1–5 scale) and NPS per store and period (all, month, day), and
  /// the average of each survey dimension per store (over the whole range).
  Result<nlohmann::json> satisfaction(const ReportFilter& f, const std::string& period);
  /// Per store and staff member: sales, net revenue, refunds, points, enrolments, redemptions,
  /// survey answers and their CSAT average, complaints (docs/reports.md "Staff").
  nlohmann::json staff(const ReportFilter& f);
  /// Survey dimensions (survey.answered `dimensions`): {"total": [{dimension, responses,
  /// average}], "stores": [{store, dimension, responses, average}]}; average null without answers.
  nlohmann::json surveyDimensions(const ReportFilter& f);
  /// Complaints with their step, owner, due time and whether overdue at `now`.
  nlohmann::json complaints(const ReportFilter& f, Timestamp now);
  /// Points issued/redeemed/expired in the period, outstanding liability, debts, overdrafts.
  nlohmann::json points(const ReportFilter& f);
  /// Members who consented to marketing (only those), for campaigns.
  nlohmann::json campaignMembers(const ReportFilter& f);

  // [SECTION] Charts (docs/reports.md "Charts")
  /// The Pareto curve of ABC's customers in `bins` groups of equal size (spend, share, running
  /// share) and the actual class mix beside the course's ideal (A 20 %, B 40 %, C 40 %).
  nlohmann::json pareto(const ReportFilter& f, const std::string& asOf, std::int64_t bins);
  /// Each member's lifecycle stage as of `asOf` (prospect, first_purchase, repeat, loyal,
  /// advocate, lapsed), counts per stage and a page of members (of `stage` if not empty).
  nlohmann::json lifecycle(const ReportFilter& f, const std::string& asOf, std::int64_t churnDays, const std::string& stage);
  /// Members whose usual interval between visits has passed (not yet at risk of churn),
  /// highest spend first.
  nlohmann::json dueToBuy(const ReportFilter& f, const std::string& asOf, std::int64_t churnDays);

  // [SECTION] Complaint workflow (write transactions)
  /// Copies complaints filed at counters (complaint.filed events) into the workflow; returns
  /// how many were new. Idempotent.
  std::int64_t importCounterComplaints(Timestamp now);
  Result<nlohmann::json> fileComplaint(const ComplaintFiling& c, const std::string& actor, Timestamp now);
  Result<nlohmann::json> updateComplaint(const std::string& complaintId, const ComplaintUpdate& u,
                                         const std::string& actor, Timestamp now);
  Result<nlohmann::json> complaint(const std::string& complaintId);

 private:
  SqlConnection& m_c;
};

/// The ISO date of `t` (UTC).
std::string utcDay(Timestamp t);

}  // namespace loyalty::hq
