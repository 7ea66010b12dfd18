#include "loyalty/hq/analytics.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>

#include "loyalty/core/lifecycle.hpp"
#include "loyalty/core/money.hpp"
#include "loyalty/hq/aggregates.hpp"
#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/followups.hpp"
#include "loyalty/hq/local_time.hpp"
#include "loyalty/hq/privacy.hpp"
#include "loyalty/logging/logging.hpp"
#include "loyalty/sync/codec.hpp"
#include "loyalty/sync/event_types.hpp"

namespace loyalty::hq {

using nlohmann::json;

namespace {

// [SECTION] Schema

constexpr const char* kAnalyticsSchema = R"SQL(
CREATE TABLE IF NOT EXISTS complaint_cases(
  complaint_id {{ID}} PRIMARY KEY, source TEXT NOT NULL, store_id {{ID}}, terminal_id {{ID}}, member_id {{ID}},
  category TEXT NOT NULL, description TEXT NOT NULL, staff_id TEXT, filed_at TEXT NOT NULL, step TEXT NOT NULL,
  owner TEXT, due_at TEXT, updated_at TEXT NOT NULL, history_count BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS complaint_cases_filed ON complaint_cases(filed_at);
CREATE INDEX IF NOT EXISTS complaint_cases_step ON complaint_cases(step, due_at);
CREATE INDEX IF NOT EXISTS complaint_cases_member ON complaint_cases(member_id);
CREATE TABLE IF NOT EXISTS complaint_history(
  complaint_id {{ID}} NOT NULL, entry_no BIGINT NOT NULL, at TEXT NOT NULL, actor TEXT NOT NULL,
  from_step TEXT, to_step TEXT NOT NULL, owner TEXT, due_at TEXT, note TEXT,
  PRIMARY KEY(complaint_id, entry_no));
CREATE TABLE IF NOT EXISTS dashboard_users(
  name {{ID}} PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL, created_at TEXT NOT NULL,
  disabled_at TEXT);
CREATE TABLE IF NOT EXISTS dashboard_sessions(
  session_hash TEXT PRIMARY KEY, name {{ID}} NOT NULL, role TEXT NOT NULL, csrf TEXT NOT NULL,
  created_at TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dashboard_tickets(
  ticket_hash TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, expires_at TEXT NOT NULL, used_at TEXT);
CREATE TABLE IF NOT EXISTS survey_answers(
  event_id {{ID}} PRIMARY KEY, terminal_id {{ID}} NOT NULL, store_id {{ID}} NOT NULL, day TEXT NOT NULL,
  scale TEXT NOT NULL, score BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS survey_answers_day ON survey_answers(day, store_id);
CREATE TABLE IF NOT EXISTS report_results(
  report_key TEXT PRIMARY KEY, generation TEXT NOT NULL, mark TEXT NOT NULL, computed_at TEXT NOT NULL,
  slow BIGINT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_type_at ON events(type, at);
CREATE INDEX IF NOT EXISTS refunds_store_member ON refunds(store_id, day, member_id, amount);
CREATE INDEX IF NOT EXISTS members_referrer ON members(referrer_id);
CREATE INDEX IF NOT EXISTS members_enrolled_at ON members(enrolled_at);
)SQL";

// [SECTION] SQL building: parameters bound in order, dialect differences in one place.

class Q : public SqlParams {
 public:
  explicit Q(SqlConnection& c) : m_pg(c.backend() == "postgresql") {}

  bool postgres() const { return m_pg; }

  /// An open end adds no predicate: with a bound parameter the planner cannot tell that
  /// "0000-01-01".."9999-12-31" is everything and would walk the day index row by row
  /// (measured: 15.6 s instead of 0.18 s for a full scan of 1M sales on SQLite).
  std::string dayIn(const std::string& col, const ReportFilter& f) {
    const bool openFrom = f.range.from <= DayRange{}.from, openTo = f.range.to >= DayRange{}.to;
    if (openFrom && openTo) return "(1 = 1)";
    if (openFrom) return "(" + col + " <= " + p(f.range.to) + ")";
    if (openTo) return "(" + col + " >= " + p(f.range.from) + ")";
    return "(" + col + " >= " + p(f.range.from) + " AND " + col + " <= " + p(f.range.to) + ")";
  }
  std::string storeIn(const std::string& col, const ReportFilter& f) {
    if (f.stores.empty()) return "(1 = 1)";
    std::string s = "(" + col + " IN (";
    for (std::size_t i = 0; i < f.stores.size(); ++i) s += (i ? ", " : "") + p(f.stores[i]);
    return s + "))";
  }
  /// Days since 1970-01-01 of a 'YYYY-MM-DD...' text expression.
  std::string epochDay(const std::string& e) const {
    return m_pg ? "(CAST(substr(" + e + ", 1, 10) AS DATE) - DATE '1970-01-01')"
                : "CAST(julianday(substr(" + e + ", 1, 10)) - 2440587.5 AS INTEGER)";
  }
  /// A top-level field of a JSON text column, as text.
  std::string jsonText(const std::string& col, const std::string& field) const {
    return jsonTextExpr(m_pg ? "postgresql" : "sqlite", col, field);
  }
  /// The sum of a BIGINT expression, as a BIGINT. PostgreSQL's SUM(BIGINT) adds up in 128 bits
  /// and returns NUMERIC, which the reports then cast back; sum_bigint (ensureReportFunctions)
  /// adds up in BIGINT, as SQLite's SUM does. Measured in psql on abc_edges' temporary table
  /// (684,101 members from 1.38M rows, 1M members / 10M sales): 1.39-1.41 s against 1.52-1.59 s.
  /// It fails as soon as a running sum leaves BIGINT's range (9.2e18 minor units), where SUM
  /// failed only if the final sum did. Its argument is cast to BIGINT, so the call resolves to
  /// that aggregate exactly, whatever else of the name a schema on the search path holds.
  std::string sum(const std::string& e) const { return m_pg ? "sum_bigint(CAST(" + e + " AS BIGINT))" : "SUM(" + e + ")"; }
  /// Year*12 + month of a 'YYYY-MM...' text expression.
  static std::string monthNo(const std::string& e) {
    return "(CAST(substr(" + e + ", 1, 4) AS BIGINT) * 12 + CAST(substr(" + e + ", 6, 2) AS BIGINT))";
  }

 private:
  bool m_pg;
};

std::string money(std::int64_t minor) { return Money::fromMinor(minor).toString(); }

/// Whole days from `a` to `b` (YYYY-MM-DD).
std::int64_t daysBetween(const std::string& a, const std::string& b) {
  const auto da = parseDate(a.substr(0, 10), "date");
  const auto db = parseDate(b.substr(0, 10), "date");
  if (!da || !db) throw std::runtime_error("not a date: " + a + " / " + b);
  return (std::chrono::sys_days(*db) - std::chrono::sys_days(*da)).count();
}

/// SQL: the day number (days since 1970-01-01) of `day`, bound as a BIGINT: a report's as_of in
/// tests over every member row, where PostgreSQL would parse a bound day's text on every row.
std::string boundDayNumber(Q& q, const std::string& day) { return "CAST(" + q.p(daysBetween("1970-01-01", day)) + " AS BIGINT)"; }

/// The mean of `n` values summing to `sum`, rounded to two decimals; null without values.
json average2(std::int64_t sum, std::int64_t n) {
  if (n == 0) return nullptr;
  return static_cast<double>((sum * 100 + n / 2) / n) / 100.0;
}

/// A percentage with one decimal from a ratio of integers, as a JSON number.
double percent(std::int64_t num, std::int64_t den) {
  if (den == 0) return 0.0;
  const std::int64_t tenths = (num * 1000 + (num >= 0 ? den / 2 : -den / 2)) / den;
  return static_cast<double>(tenths) / 10.0;
}

json optJson(const SqlRows& r, std::size_t i, std::size_t c) { return r.isNull(i, c) ? json(nullptr) : json(r.text(i, c)); }

/// A text cell, "" for NULL (ids and names of members a report row may not have).
std::string opt(const SqlRows& r, std::size_t i, std::size_t c) { return r.isNull(i, c) ? std::string() : r.text(i, c); }

/// The classes' contact frequencies (followups.hpp: the course's, or as configured) and the
/// longest gap between contacts each allows: a month's days shared by its visits.
struct ClassRules {
  std::array<VisitRule, 3> visits;
  int intervalDays(int k) const { return visits[k].visitsPerMonth > 0 ? 30 / visits[k].visitsPerMonth : 36500; }
};
constexpr const char* kClassNames[] = {"A", "B", "C"};

}  // namespace

// [SECTION] Schema and filters

void ensureReportFunctions(SqlConnection& c) {
  if (c.backend() != "postgresql") return;
  const auto present = [&] {
    return !c.query("SELECT 1 FROM pg_proc WHERE proname = 'sum_bigint' AND pronamespace = to_regnamespace(current_schema()) "
                    "AND prokind = 'a' AND proargtypes = CAST('20' AS oidvector)")  // 20: BIGINT
                .empty();
  };
  if (present()) return;
  try {
    // int8pl fails on an overflow; strict, so NULLs are skipped and no rows give NULL, as SUM.
    c.execScript("CREATE AGGREGATE sum_bigint(BIGINT) (SFUNC = int8pl, STYPE = BIGINT, COMBINEFUNC = int8pl, PARALLEL = SAFE)");
  } catch (const SqlError&) {
    // Another instance starting at the same time may have made it first (outside a transaction;
    // inside one, as the schema upgrade's, the look fails too and the first error stands).
    bool made = false;
    try {
      made = present();
    } catch (const SqlError&) {
    }
    if (!made) throw;
  }
}

namespace {

/// The index reports read one store's or several stores' sales by. On PostgreSQL in member order
/// (a store set's sales merged per member, see memberRaw); on SQLite in day order: there, with
/// the member-ordered one, its planner read two stores' sales in member order through the table
/// (churn for two stores at 100,000 members 1.3-1.8 s against 0.22 s; the store comparison over
/// a range 0.37-0.46 s against 0.07-0.11 s).
IndexDefinition storeSalesIndex(SqlConnection& c) {
  return c.backend() == "postgresql" ? IndexDefinition{"sales_store_by_member", "sales(store_id, member_id, day, total)"}
                                     : IndexDefinition{"sales_store_member", "sales(store_id, day, member_id, total)"};
}

/// The index the sales of a range of days are read by. On PostgreSQL it carries the store too,
/// last: one store's few days are read along it, the store checked in the index, instead of along
/// the store's whole part of sales_store_by_member (a day at a store of 500,000 sales in 8-10 ms
/// against 42-47 ms, a week 13-16 ms against 42 ms: bounded by the chain's sales those days, not
/// by the store's history). Last, so that the key's order (day, then member) is the one every
/// other reader of days has. SQLite keeps sales_day: it reads one store's days along
/// sales_store_member.
IndexDefinition daySalesIndex(SqlConnection& c) {
  return c.backend() == "postgresql" ? IndexDefinition{"sales_day_store", "sales(day, member_id, total, store_id)"}
                                     : IndexDefinition{"sales_day", "sales(day, member_id, total)"};
}

}  // namespace

void createAnalyticsSchema(SqlConnection& c) {
  c.execScript(schemaForBackend(kAnalyticsSchema, c.backend()));
  // A database with an earlier release's index has it replaced by its start-up step (which
  // says so in the log).
  if (!hasIndex(c, "sales_store_member")) createIndexes(c, {storeSalesIndex(c)});
  if (!hasIndex(c, "sales_day")) createIndexes(c, {daySalesIndex(c)});
  ensureReportFunctions(c);
  ensureAggregates(c);
}

void ensureAnalyticsSchema(SqlConnection& c) {
  if (c.hasTable("complaint_cases") && c.hasTable("dashboard_tickets") && c.hasTable("survey_answers") &&
      c.hasTable("report_results") && aggregatesPresent(c)) {
    ensureReportFunctions(c);  // else createAnalyticsSchema below makes them
    // A member's complaints (an erasure scrubs them, an export lists them): an earlier release
    // read them by scanning every complaint. IF NOT EXISTS: a tool opening the store may get
    // here beside a starting instance.
    if (!hasIndex(c, "complaint_cases_member")) {
      c.execScript("CREATE INDEX IF NOT EXISTS complaint_cases_member ON complaint_cases(member_id)");
    }
    return;
  }
  SqlTransaction tx(c);
  const bool backfillSurveys = !c.hasTable("survey_answers");
  createAnalyticsSchema(c);
  if (backfillSurveys) {
    // Answers ingested before the table existed: each on its terminal's local day.
    Q q(c);
    const auto r = c.query("SELECT e.event_id, e.terminal_id, t.store_id, t.timezone, e.at, " + q.jsonText("e.payload", "scale") +
                           ", CAST(" + q.jsonText("e.payload", "score") + " AS BIGINT) FROM events e "
                           "JOIN terminals t ON t.terminal_id = e.terminal_id WHERE e.type = 'survey.answered'");
    ZoneCache zones;
    for (std::size_t i = 0; i < r.size(); ++i) {
      const auto at = parseRfc3339(r.text(i, 4), "at");
      if (!at || r.isNull(i, 5) || r.isNull(i, 6)) continue;  // applied events always have both
      c.query("INSERT INTO survey_answers(event_id, terminal_id, store_id, day, scale, score) VALUES ($1, $2, $3, $4, $5, $6)",
              {r.text(i, 0), r.text(i, 1), r.text(i, 2), localStamp(zones.get(r.text(i, 3)), *at).day, r.text(i, 5),
               r.integer(i, 6)});
    }
  }
  tx.commit();
}

void indexSurveysByMember(SqlConnection& c) {
  const std::vector<IndexDefinition> byMember = {{"survey_answers_member", "survey_answers(member_id)"}};
  if (!hasColumn(c, "survey_answers", "member_id")) {
    c.execScript(schemaForBackend("ALTER TABLE survey_answers ADD COLUMN member_id {{ID}}", c.backend()));
    if (c.query("SELECT 1 FROM survey_answers LIMIT 1").empty()) {  // a new store: nothing to fill or say
      createIndexes(c, byMember);
      c.execScript("DROP INDEX IF EXISTS events_survey_member");
      return;
    }
    logging::log().info("filling survey_answers.member_id (once): this reads every stored survey answer");
    // The payload's member, in SQL. On PostgreSQL jsonTextExpr reads NULL for a payload holding an
    // escaped NUL (its cast to JSON fails on one; an earlier release stored them): those are
    // decoded here instead.
    c.query("UPDATE survey_answers SET member_id = x.member FROM (SELECT event_id, " + jsonTextExpr(c.backend(), "payload", "member_id") +
                " AS member FROM events WHERE type = $1) AS x WHERE x.event_id = survey_answers.event_id AND x.member IS NOT NULL",
            {std::string(sync::kSurveyAnswered)});
    const auto held = c.query("SELECT e.event_id, e.payload FROM events e JOIN survey_answers s ON s.event_id = e.event_id "
                              "WHERE e.type = $1 AND " + containsText(c.backend(), "e.payload", "$2"),
                              {std::string(sync::kSurveyAnswered), std::string("\\u0000")});
    for (std::size_t i = 0; i < held.size(); ++i) {
      auto body = sync::parseJson(held.text(i, 1));
      auto p = body ? sync::decodeSurveyAnswered(*body) : Result<sync::SurveyAnswered>(body.error());
      if (p && p->memberId) c.query("UPDATE survey_answers SET member_id = $2 WHERE event_id = $1", {held.text(i, 0), *p->memberId});
    }
  }
  // An earlier release read them on SQLite along an expression index of the events.
  replaceIndexes(c, byMember, c.backend() == "sqlite" ? std::vector<std::string>{"events_survey_member"} : std::vector<std::string>{},
                 "every survey answer");
}

void indexSalesForStores(SqlConnection& c) {
  if (c.backend() != "postgresql") return;
  // An earlier release's (store_id, day, member_id, total) read several stores' sales in day
  // order, to be sorted by member for every report of a store set.
  replaceIndexes(c, {storeSalesIndex(c)}, {"sales_store_member"}, "every sale");
  // Its sales_day (day, member_id, total) lacked the store.
  replaceIndexes(c, {daySalesIndex(c)}, {"sales_day"}, "every sale");
}

std::string utcDay(Timestamp t) { return formatRfc3339(t).substr(0, 10); }

Result<ReportFilter> parseReportFilter(const std::optional<std::string>& from, const std::optional<std::string>& to,
                                       const std::optional<std::string>& stores) {
  ReportFilter f;
  if (from && !from->empty()) {
    if (auto d = parseDate(*from, "from"); !d) return invalidArgument("from", "from must be a date YYYY-MM-DD");
    f.range.from = *from;
  }
  if (to && !to->empty()) {
    if (auto d = parseDate(*to, "to"); !d) return invalidArgument("to", "to must be a date YYYY-MM-DD");
    f.range.to = *to;
  }
  if (f.range.from > f.range.to) return invalidArgument("from", "from must not be after to");
  if (stores && !stores->empty()) {
    std::size_t start = 0;
    while (start <= stores->size()) {
      const std::size_t comma = stores->find(',', start);
      const std::string s = stores->substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!validId(s)) return invalidArgument("store", "store is a comma-separated list of store ids");
      f.stores.push_back(s);
      if (f.stores.size() > 100) return invalidArgument("store", "at most 100 stores");
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return f;
}

const std::vector<std::string>& complaintSteps() {
  static const std::vector<std::string> steps = {"received",          "acknowledged", "investigated",
                                                 "solution_proposed", "resolved",     "followed_up"};
  return steps;
}

// [SECTION] Where per-member figures come from

namespace {

/// Days are validated dates (request parameters) or stored ones.
Date dateOf(const std::string& day) { return *parseDate(day.substr(0, 10), "day"); }

std::string addDays(const std::string& day, int n) {
  return formatDate(Date{std::chrono::sys_days(dateOf(day)) + std::chrono::days(n)});
}

std::string firstOfMonth(const std::string& day) { return formatDate(monthStart(dateOf(day))); }

std::string lastOfMonth(const std::string& day) {
  return addDays(formatDate(addMonthsClamped(monthStart(dateOf(day)), 1)), -1);
}

/// The days of the first and last sale or refund ("" when there is none).
std::pair<std::string, std::string> dataBounds(SqlConnection& c) {
  const auto r = c.query("SELECT MIN(day), MAX(day) FROM agg_sales");
  if (r.empty() || r.isNull(0, 0)) return {"", ""};
  return {r.text(0, 0), r.text(0, 1)};
}

/// A part of the member key space, [from, to) ("" leaves that end open): the rows of one part are
/// added up per member on their own (memberRows).
struct MemberSlice {
  std::string from, to;
};

/// SQL: " AND member_id in the slice", or "" for the whole key space.
std::string inSlice(Q& q, const MemberSlice& slice) {
  return (slice.from.empty() ? "" : " AND member_id >= " + q.p(slice.from)) + (slice.to.empty() ? "" : " AND member_id < " + q.p(slice.to));
}

/// Per-member figures of the raw sales and refunds in `f`'s days and stores (visits counted
/// when `visits`, else possibly NULL: counting distinct days is a sort per member). Columns of
/// agg_member_month's types (BIGINT, not PostgreSQL's NUMERIC of a SUM): parts of a period put
/// together with UNION ALL are then one set the planner merges in member order (memberSource).
/// (Grouping per member and day first, then per member, instead of COUNT(DISTINCT day) was
/// measured slower on PostgreSQL: two hash tables of a million rows, 11.9 s against 4.5 s for
/// two stores' million sales on the loaded host.)
std::string memberRaw(Q& q, const ReportFilter& f, bool visits, const MemberSlice& slice) {
  const std::string sd = q.dayIn("day", f), ss = q.storeIn("store_id", f);
  const auto perMember = [&](const std::string& days, const std::string& from) {
    return "SELECT member_id, COUNT(*) AS sales, " + q.sum("total") + " AS net, " + days + " AS visits, MIN(day) AS first_day, "
           "MAX(day) AS last_day FROM " + from + " GROUP BY member_id UNION ALL SELECT member_id, CAST(0 AS BIGINT), -" +
           q.sum("amount") + ", CAST(0 AS BIGINT), CAST(NULL AS TEXT), CAST(NULL AS TEXT) FROM refunds WHERE member_id IS NOT NULL AND " +
           sd + " AND " + ss + inSlice(q, slice) + " GROUP BY member_id";
  };
  if (q.postgres() && f.stores.size() > 1) {
    // Each store's sales in member and day order, read along sales_store_by_member's key and
    // merged by member (merge append): no sort of the stores' sales (two stores' million sales
    // in the bench). The distinct count of days is what keeps the plan so: the planner cannot
    // hash it, and without it, guessing 200 members from the subqueries, it hashed the merged
    // rows in parallel and sorted the groups (1.3 s against 0.73 s in psql). So the days are
    // counted here even when `visits` is not asked for. A store named twice is read once.
    std::string parts;
    std::set<std::string> seen;
    for (const auto& store : f.stores) {
      if (!seen.insert(store).second) continue;
      parts += std::string(parts.empty() ? "" : " UNION ALL ") +
               "SELECT * FROM (SELECT member_id, day, total FROM sales WHERE member_id IS NOT NULL AND store_id = " + q.p(store) +
               " AND " + sd + inSlice(q, slice) + " ORDER BY member_id, day) s" + std::to_string(seen.size());
    }
    return perMember("COUNT(DISTINCT day)", "(" + parts + ") s");
  }
  return perMember(visits ? "COUNT(DISTINCT day)" : "CAST(NULL AS BIGINT)",
                   "sales WHERE member_id IS NOT NULL AND " + sd + " AND " + ss + inSlice(q, slice));
}

/// The parts' rows added up per member. On PostgreSQL the rows are put in member order first:
/// the planner would hash them, which took 1.25 s for a quarter's 790,000 agg_member_month rows
/// against 0.7 s sorted and grouped in order.
std::string memberGrouped(SqlConnection& c, const std::string& parts) {
  const Q q(c);
  const std::string rows = q.postgres() ? "SELECT * FROM (" + parts + ") p ORDER BY member_id" : parts;
  return "SELECT member_id, " + q.sum("sales") + " AS sales, " + q.sum("net") + " AS net, " + q.sum("visits") +
         " AS visits, MIN(first_day) AS first_day, MAX(last_day) AS last_day FROM (" + rows + ") u GROUP BY member_id";
}

/// Where a period's per-member figures come from: `sql` SELECTs (member_id, sales, net,
/// visits, first_day, last_day) over the filter's days up to `upTo` (inclusive, "" for no
/// limit), for members with a sale or a refund in them; one row a member when `single`, else
/// rows of parts of the period to add up per member (memberGrouped). All time comes from
/// agg_member (one store: agg_member_store), whole months from agg_member_month, the days at
/// the edges and other store filters from the raw tables (visits add up because the parts'
/// days do not overlap).
/// Several stores over all time read agg_member_store too, but only for callers that do not
/// need `visits` (NULL there): a day with visits at two of the stores would count twice.
/// `plain` is set when the SELECT is agg_member as it is: no parameters, cheap to scan several
/// times. Reading a part of a table through an index is not: for one month of agg_member_month
/// (half a million rows) ABC by cuts took 2.5 s against 1.1 s in one window statement, for one
/// store of agg_member_store (290,000 rows) 2.2 s against 0.75 s.
struct MemberSource {
  std::string sql;
  bool single = true;
  bool plain = false;
  /// Its large parts are read along an index led by the member (agg_member_month's months,
  /// several stores' sales_store_by_member, agg_member_store), so a slice of the member key space
  /// reads only its own part of them (memberRows). Raw days of the chain or of one store are
  /// read along an index led by the day: every slice would read them all again, so raw days
  /// alone are not sliced; raw days at the edges of whole months (and a store set's refunds,
  /// few) are read again by each slice, which the months' share pays for (measured with four
  /// months and 31 edge days; one month and two months of edge days not timed).
  bool sliceable = false;
};

/// A range of days within the data [first, last] as whole months and the days at its edges:
/// [from, fullFrom) and (fullTo, to] are raw days, [fullFrom, fullTo] whole months (none when
/// fullFrom > fullTo). No data lies outside [first, last]: an open end reaches to that end's
/// month boundary.
struct MonthSpan {
  std::string from, to, fullFrom, fullTo;
};

MonthSpan monthSpan(const DayRange& range, const std::string& first, const std::string& last) {
  MonthSpan m;
  m.from = range.from <= first ? firstOfMonth(first) : range.from;
  m.to = range.to >= last ? lastOfMonth(last) : range.to;
  m.fullFrom = m.from == firstOfMonth(m.from) ? m.from : addDays(lastOfMonth(m.from), 1);
  m.fullTo = m.to == lastOfMonth(m.to) ? m.to : addDays(firstOfMonth(m.to), -1);
  return m;
}

MemberSource memberSource(Q& q, SqlConnection& c, const ReportFilter& f, const std::string& upTo, bool visits = true,
                          const MemberSlice& slice = {}) {
  ReportFilter r = f;
  if (!upTo.empty() && upTo < r.range.to) r.range.to = upTo;
  if (f.rawTables || r.range.from > r.range.to) return {memberRaw(q, r, visits, slice), false};
  const auto [first, last] = dataBounds(c);
  if (first.empty()) return {memberRaw(q, r, visits, slice), false};
  const bool fromStart = r.range.from <= first, toEnd = r.range.to >= last;
  if (fromStart && toEnd) {
    if (f.stores.size() == 1) {
      return {"SELECT member_id, sales, net, visits, first_day, last_day FROM agg_member_store WHERE store_id = " + q.p(f.stores[0])};
    }
    if (f.stores.size() > 1 && !visits) {
      return {"SELECT member_id, sales, net, CAST(NULL AS BIGINT) AS visits, first_day, last_day FROM agg_member_store WHERE " +
                  q.storeIn("store_id", f) + inSlice(q, slice),
              false, false, q.postgres()};
    }
    if (f.stores.empty()) return {"SELECT member_id, sales, net, visits, first_day, last_day FROM agg_member", true, true};
  }
  if (!f.stores.empty()) return {memberRaw(q, r, visits, slice), false, false, q.postgres() && f.stores.size() > 1};
  const auto [from, to, fullFrom, fullTo] = monthSpan(r.range, first, last);
  if (fullFrom > fullTo) return {memberRaw(q, r, visits, slice), false};
  const bool oneMonth = fullFrom.substr(0, 7) == fullTo.substr(0, 7);
  std::string parts;
  if (q.postgres() && !oneMonth) {
    // One part a month, each in member order: rows added up per member (memberGrouped) are
    // then merged (PostgreSQL's merge append), not sorted all together. Measured on the loaded
    // host (load 28-33), four months and two edges: 5.2 s against 8.3 s for the adding up
    // alone; abc_edges 18.2-19.6 s against 19.4-22.8 s (bench/results/analytics.json). Each
    // month is a subquery with its own ORDER BY: the planner then reads it in the order of
    // agg_member_month's key (month, member_id) instead of sorting it (it does not see that
    // order through a plain UNION ALL branch): a quarter added up in 1.03-1.06 s against
    // 1.23-1.30 s in a query at load 5 (abc_quarter's server CPU 1.26-1.34 s against 1.33-1.40 s).
    std::size_t n = 0;
    for (std::string m = fullFrom; m <= fullTo; m = formatDate(addMonthsClamped(monthStart(dateOf(m)), 1))) {
      parts += (parts.empty() ? "" : " UNION ALL ") +
               std::string("SELECT * FROM (SELECT member_id, sales, net, visits, first_day, last_day FROM agg_member_month "
                           "WHERE month = ") +
               q.p(m.substr(0, 7)) + inSlice(q, slice) + " ORDER BY member_id) m" + std::to_string(++n);
    }
  } else if (oneMonth) {
    parts = "SELECT member_id, sales, net, visits, first_day, last_day FROM agg_member_month WHERE month = " + q.p(fullFrom.substr(0, 7)) +
            inSlice(q, slice);
  } else {
    parts = "SELECT member_id, sales, net, visits, first_day, last_day FROM agg_member_month WHERE month >= " +
            q.p(fullFrom.substr(0, 7)) + " AND month <= " + q.p(fullTo.substr(0, 7));
  }
  if (from == fullFrom && to == fullTo && oneMonth) return {parts};  // one row a member
  if (from < fullFrom) {
    ReportFilter edge = r;
    edge.range = {from, addDays(fullFrom, -1)};
    parts += " UNION ALL " + memberRaw(q, edge, visits, slice);
  }
  if (to > fullTo) {
    ReportFilter edge = r;
    edge.range = {addDays(fullTo, 1), to};
    parts += " UNION ALL " + memberRaw(q, edge, visits, slice);
  }
  return {parts, false, false, q.postgres()};
}

/// Where the member key space is cut into slices of about as many buyers each (memberRows): one
/// slice more than the parallel workers PostgreSQL may give a statement
/// (max_parallel_workers_per_gather), at most four, at the quantiles of its statistics' histogram
/// of agg_member's member ids. None on SQLite, without workers, or before the first statistics.
std::vector<std::string> memberCuts(SqlConnection& c) {
  if (c.backend() != "postgresql") return {};
  const auto r = c.query(
      "SELECT b[1 + (array_length(b, 1) - 1) * k / n] FROM (SELECT CAST(CAST(histogram_bounds AS TEXT) AS TEXT[]) AS b "
      "FROM pg_stats s JOIN pg_namespace n ON n.nspname = s.schemaname JOIN pg_class c ON c.relnamespace = n.oid "
      "AND c.relname = s.tablename WHERE c.oid = to_regclass('agg_member') AND s.attname = 'member_id' AND NOT s.inherited) h, "
      "(SELECT LEAST(CAST(current_setting('max_parallel_workers_per_gather') AS INTEGER) + 1, 4) AS n) w, "
      "generate_series(1, n - 1) k ORDER BY k");
  std::vector<std::string> cuts;
  for (std::size_t i = 0; i < r.size(); ++i) {
    // Strictly increasing in byte order (member ids are COLLATE "C"); never "", an open end.
    if (!r.isNull(i, 0) && !r.text(i, 0).empty() && (cuts.empty() || r.text(i, 0) > cuts.back())) cuts.push_back(r.text(i, 0));
  }
  return cuts;
}

/// memberSource of one slice of a sliceable source. The caller's transaction keeps the data's
/// bounds, so the source is the one its whole was; a source of one row a member ignores the
/// slice, so it would be read once a slice: refused.
MemberSource slicedSource(Q& q, SqlConnection& c, const ReportFilter& f, const std::string& upTo, bool visits, const MemberSlice& slice) {
  MemberSource s = memberSource(q, c, f, upTo, visits, slice);
  if (!s.sliceable) throw std::logic_error("a member source of one row a member read by slices");
  return s;
}

/// `part` of each slice of the member key space cut at `cuts`, put together with UNION ALL.
std::string overSlices(const std::vector<std::string>& cuts, const std::function<std::string(const MemberSlice&)>& part) {
  std::string sql;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const MemberSlice slice{i == 0 ? "" : cuts[i - 1], i == cuts.size() ? "" : cuts[i]};
    sql += (i == 0 ? "" : " UNION ALL ") + std::string("SELECT * FROM (") + part(slice) + ") slice" + std::to_string(i);
  }
  return sql;
}

/// `each` of memberSource's SELECT: of the whole source, or on PostgreSQL, where the source is
/// sliceable and the statistics give cuts (memberCuts), of each slice's source (slicedSource), put
/// together with UNION ALL. `q` takes the parameters of the SQL returned; `whole`, when given, is
/// set to the whole source.
std::string perSlice(Q& q, SqlConnection& c, const ReportFilter& f, const std::string& upTo, bool visits,
                     const std::function<std::string(const MemberSource&)>& each, MemberSource* whole = nullptr) {
  Q wholeQ = q;
  const MemberSource s = memberSource(wholeQ, c, f, upTo, visits);
  if (whole) *whole = s;
  const auto cuts = s.sliceable ? memberCuts(c) : std::vector<std::string>{};
  if (cuts.empty()) {
    q = std::move(wholeQ);
    return each(s);
  }
  return overSlices(cuts, [&](const MemberSlice& slice) { return each(slicedSource(q, c, f, upTo, visits, slice)); });
}

/// memberSource as one row a member (`single` set): its SELECT as it is when that is one row a
/// member already, else its parts added up per member (memberGrouped). On PostgreSQL the parts
/// are added up slice by slice of the member key space (memberCuts), each slice a branch of a
/// UNION ALL: PostgreSQL runs the branches side by side in its parallel workers (Parallel
/// Append), where the parts merged in member order (one sequence) ran in one process. Measured
/// in psql at 1M members / 10M sales on this 2-core host, the lifecycle over a range cutting
/// months (four months and two edges, 684,101 members): 3.45-3.58 s whole in one, 2.60-2.70 s in
/// two or three slices (bench/results/analytics.json member_slices_r38).
MemberSource memberRows(Q& q, SqlConnection& c, const ReportFilter& f, const std::string& upTo, bool visits) {
  MemberSource whole;
  MemberSource out{perSlice(q, c, f, upTo, visits, [&](const MemberSource& s) { return s.single ? s.sql : memberGrouped(c, s.sql); }, &whole)};
  out.plain = whole.plain;
  return out;
}

/// The member rows ABC and RFM rank (no visits), and whether they are cheap to scan several
/// times (`plain`: ranked by cuts). On PostgreSQL, rows added up per member over several parts
/// are written to a temporary table first (dropped at commit; the caller's transaction is a
/// Kind::kReadScratch one) and ranked by cuts from there: adding up a quarter of
/// agg_member_month took 0.8 s, and the window functions after it, three sorts for RFM,
/// took longer than that again. So are one month's or one store's rows (a part of a table read
/// through its key, too slow to read again for every cut): RFM's three sorts of one month's
/// 270,000 members cost more than writing them once and ranking them by cuts (one month's
/// customers page: 1.26 s of server CPU against 2.2 s, its ABC 0.36-0.39 s against 0.73 s).
/// `statistics`: columns of the temporary table to ANALYZE once it is written, for a caller whose
/// plans need them (without, the planner guesses a few thousand rows): RFM narrows its ties by
/// grouping the members of its largest buckets of `sales`, which it then sorted (a quarter's
/// 522,000 members, 465,000 of them in those buckets: 0.39 s, hashed 0.17 s, after an ANALYZE of
/// the whole table of 0.11 s). ABC's plans were no better with statistics, and it paid for them.
std::string rankedMembers(Q& q, SqlConnection& c, const ReportFilter& f, bool* plain, const std::string& statistics = "") {
  const MemberSource s = memberRows(q, c, f, "", false);
  *plain = s.plain;
  if (s.plain || c.backend() != "postgresql") return s.sql;
  // CREATE TABLE AS, not CREATE and INSERT: it writes the rows in bulk (abc_edges' 684,101 members
  // in 1.44-1.48 s against 1.55-1.62 s for the same SELECT, in psql). Its columns' types are the
  // SELECT's, so they are cast to the ones the ranking reads.
  c.query("CREATE TEMPORARY TABLE report_members ON COMMIT DROP AS SELECT CAST(member_id AS TEXT) COLLATE \"C\" AS member_id, "
          "CAST(sales AS BIGINT) AS sales, CAST(net AS BIGINT) AS net, CAST(last_day AS TEXT) AS last_day FROM (" + s.sql + ") g",
          q.values);
  if (!statistics.empty()) c.execScript("ANALYZE report_members(" + statistics + ")");
  q.values.clear();  // the table is read without them
  *plain = true;
  return "SELECT member_id, sales, net, CAST(NULL AS BIGINT) AS visits, CAST(NULL AS TEXT) AS first_day, last_day "
         "FROM report_members";
}

/// memberRows with visits; `plain` (when given) set as memberSource's.
std::string memberPeriod(Q& q, SqlConnection& c, const ReportFilter& f, const std::string& upTo, bool* plain = nullptr) {
  const MemberSource s = memberRows(q, c, f, upTo, true);
  if (plain) *plain = s.plain;
  return s.sql;
}

/// LIMIT/OFFSET of a member list page (sql.hpp).
std::string pageClause(Q& q, const ReportFilter& f) { return hq::pageClause(q, q.postgres() ? "postgresql" : "sqlite", f.page()); }

// [SECTION] Ranking members without sorting them all
//
// ABC classes and RFM quintiles only depend on where a member falls in an order (spend, last
// visit, ...; ties by member id ascending). Sorting a million members takes seconds on
// PostgreSQL (1.5 s for ABC's sort and window functions alone, three sorts for RFM; the whole
// reports took 3.6 s and 5.4 s, 0.9 s and 1.6 s by cuts). So when the member rows are cheap to
// scan again (all time: agg_member as it is; on PostgreSQL, every other source, written to a
// temporary table by rankedMembers), members are counted per bucket of the ordering value (a
// scan and a hash, no sort); the counts tell which bucket holds each cut and at which place;
// one more scan orders only those buckets' members (in a bucket of many tied members, only
// those sharing the cut member's id prefix: narrowPlaces) to name the member at each cut; and
// every member's class then comes from comparing its (value, member id) with the cuts. On
// SQLite other sources (one month, one store, added-up rows) keep the window-function SQL,
// which gives the same answers (the tests compare both, and quintiles with ones worked out
// from the whole list).

/// An order of member rows: by `value`, ties by member_id ascending.
struct RankOrder {
  std::string value;   ///< a column of the member rows
  std::string bucket;  ///< `value` itself, or a coarser expression of it in the same order
  bool integer = false;
  bool descending = false;
  RankOrder exact() const { return {value, value, integer, descending}; }
};

/// The members at or before a place in a RankOrder.
struct Cut {
  enum class Kind { kNone, kBefore, kKey, kAll };
  Kind kind = Kind::kNone;
  std::string value;     ///< kBefore: members with a value strictly before this one; kKey: the cut member's value
  std::string memberId;  ///< kKey: the member at the cut
};

std::string bindValue(Q& q, const RankOrder& o, const std::string& v) { return o.integer ? q.p(std::stoll(v)) : q.t(v); }

/// SQL: the row lies at or before the cut.
std::string within(Q& q, const RankOrder& o, const Cut& c) {
  if (c.kind == Cut::Kind::kNone) return "(1 = 0)";
  if (c.kind == Cut::Kind::kAll) return "(1 = 1)";
  const std::string v = bindValue(q, o, c.value);
  const std::string before = "(" + o.value + (o.descending ? " > " : " < ") + v;
  if (c.kind == Cut::Kind::kBefore) return before + ")";
  return before + " OR (" + o.value + " = " + v + " AND member_id <= " + q.p(c.memberId) + "))";
}

struct Bucket {
  std::string key;     ///< the bucket (of the order asked for)
  std::string within;  ///< the bucket of the coarser order it was refined from (= key otherwise)
  std::int64_t members = 0;
  std::int64_t weight = 0;  ///< sum of the weight column
};

/// Members (and the sum of `weight`) per bucket of `o`, in its order. With `coarse`: only the
/// rows in `onlyBuckets` of that coarser order, each bucket saying which one it lies in.
std::vector<Bucket> bucketCounts(SqlConnection& c, const std::string& rows, const RankOrder& o, const std::string& weight,
                                 const RankOrder* coarse = nullptr, const std::vector<std::string>& onlyBuckets = {}) {
  Q q(c);
  const std::string parent = coarse ? coarse->bucket : o.bucket;
  std::string sql = "SELECT " + o.bucket + ", " + parent + ", COUNT(*), " + q.sum(weight) + " FROM (" + rows + ") x";
  if (coarse) {
    sql += " WHERE " + coarse->bucket + " IN (";
    for (std::size_t i = 0; i < onlyBuckets.size(); ++i) sql += (i ? ", " : "") + bindValue(q, *coarse, onlyBuckets[i]);
    sql += ")";
  }
  sql += " GROUP BY " + o.bucket + ", " + parent + " ORDER BY 1" + (o.descending ? " DESC" : "");
  const auto r = c.query(sql, q.values);
  std::vector<Bucket> out(r.size());
  for (std::size_t i = 0; i < r.size(); ++i) out[i] = {r.text(i, 0), r.text(i, 1), r.integer(i, 2), r.integer(i, 3)};
  return out;
}

/// bucketCounts of several orders of the same rows at once. On PostgreSQL one scan with GROUPING
/// SETS, a hash table per order: RFM's three orders of a million members (agg_member) counted in
/// 0.28-0.29 s against 0.61-0.94 s for three scans, in psql. SQLite has no grouping sets: one
/// query per order there (and for orders that share a bucket expression).
std::vector<std::vector<Bucket>> bucketCountsOf(SqlConnection& c, const std::string& rows, const std::vector<RankOrder>& orders,
                                                const std::string& weight) {
  std::vector<std::vector<Bucket>> out(orders.size());
  bool distinct = true;
  for (std::size_t i = 0; i < orders.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) distinct = distinct && orders[i].bucket != orders[j].bucket;
  }
  if (c.backend() != "postgresql" || orders.size() < 2 || !distinct) {
    for (std::size_t i = 0; i < orders.size(); ++i) out[i] = bucketCounts(c, rows, orders[i], weight);
    return out;
  }
  // GROUPING(b0, b1, ...) has a bit per order, the first the highest, set where the row is not
  // grouped by it: the rows of order i have every bit but its own. Within an order's rows the
  // other orders' columns are NULL, so ordering by all of them in turn orders each by its own.
  const std::size_t n = orders.size();
  std::string columns, sets, grouping, order;
  for (std::size_t i = 0; i < n; ++i) {
    columns += orders[i].bucket + ", ";
    sets += (i ? ", (" : "(") + orders[i].bucket + ")";
    grouping += (i ? ", " : "") + orders[i].bucket;
    order += ", " + orders[i].bucket + (orders[i].descending ? " DESC" : "");
  }
  const auto r = c.query("SELECT " + columns + "COUNT(*), " + Q(c).sum(weight) + ", GROUPING(" + grouping + ") AS g FROM (" +
                         rows + ") x GROUP BY GROUPING SETS (" + sets + ") ORDER BY g" + order);
  const std::int64_t all = (std::int64_t{1} << n) - 1;
  for (std::size_t row = 0; row < r.size(); ++row) {
    const std::int64_t g = r.integer(row, n + 2);
    for (std::size_t i = 0; i < n; ++i) {
      if (g != (all ^ (std::int64_t{1} << (n - 1 - i)))) continue;
      const std::string key = r.text(row, i);
      out[i].push_back({key, key, r.integer(row, n), r.integer(row, n + 1)});
    }
  }
  return out;
}

/// A place in a RankOrder: the `pos`-th member (1-based) of a bucket, or of the members of a
/// bucket whose id starts with `prefix` (narrowPlaces).
struct Place {
  std::string bucket;
  std::int64_t pos = 0;
  std::string prefix;
};

/// How long an id prefix narrowPlaces groups by (characters), and the bucket size from which
/// it does.
constexpr int kPrefixLength = 4;
constexpr std::int64_t kNarrowFrom = 20000;

std::string idPrefix() { return "substr(member_id, 1, " + std::to_string(kPrefixLength) + ")"; }

/// The members at the places of several orders of the same rows (`places[d]` in `orders[d]`):
/// only the asked buckets' members are numbered in their order, and of a narrowed place only the
/// members of its bucket with its id prefix. One scan of the rows: with several orders, the rows
/// in any order's asked buckets are set aside first and each order numbers its own among them
/// (RFM's three orders, each a scan of a million members before).
std::vector<std::vector<Cut>> membersAtOf(SqlConnection& c, const std::string& rows, const std::vector<RankOrder>& orders,
                                          const std::vector<std::vector<Place>>& places) {
  std::vector<std::vector<Cut>> out(orders.size());
  Q q(c);
  // Per order: its rows' filter, and its SELECT before and after the rows it reads.
  struct Branch {
    std::string filter, head, tail;
  };
  std::vector<Branch> branches;
  for (std::size_t d = 0; d < orders.size(); ++d) {
    out[d].resize(places[d].size());
    if (places[d].empty()) continue;
    const RankOrder& o = orders[d];
    // Members are numbered within their bucket, and within their id prefix in narrowed buckets.
    std::string narrowed;
    for (const auto& p : places[d]) {
      if (!p.prefix.empty()) narrowed += (narrowed.empty() ? "" : ", ") + bindValue(q, o, p.bucket);
    }
    const std::string part = narrowed.empty() ? "CAST('' AS TEXT)"
                                              : "CASE WHEN " + o.bucket + " IN (" + narrowed + ") THEN " + idPrefix() + " ELSE '' END";
    std::string filter, pick;
    for (std::size_t i = 0; i < places[d].size(); ++i) {
      const Place& p = places[d][i];
      filter += (i ? " OR " : "") + std::string("(") + o.bucket + " = " + bindValue(q, o, p.bucket) +
                (p.prefix.empty() ? "" : " AND " + idPrefix() + " = " + q.t(p.prefix)) + ")";
      pick += (i ? " OR " : "") + std::string("(b = ") + bindValue(q, o, p.bucket) + " AND s = " + q.t(p.prefix) +
              " AND pos = " + q.p(p.pos) + ")";
    }
    branches.push_back({filter,
                        "SELECT " + std::to_string(d) + " AS o, CAST(b AS TEXT) AS b, s, pos, CAST(v AS TEXT) AS v, member_id "
                        "FROM (SELECT " + o.bucket + " AS b, " + part + " AS s, " + o.value + " AS v, member_id, "
                        "ROW_NUMBER() OVER (PARTITION BY " + o.bucket + ", " + part + " ORDER BY " + o.value +
                        (o.descending ? " DESC" : "") + ", member_id) AS pos FROM ",
                        " WHERE " + filter + ") t WHERE " + pick});
  }
  if (branches.empty()) return out;
  std::string sql;
  if (branches.size() == 1) {
    sql = branches[0].head + "(" + rows + ") x" + branches[0].tail;
  } else {
    std::string any;
    for (const Branch& b : branches) {
      any += (any.empty() ? "(" : " OR (") + b.filter + ")";
      sql += (sql.empty() ? "" : " UNION ALL ") + b.head + "x" + b.tail;
    }
    sql = "WITH x AS MATERIALIZED (SELECT * FROM (" + rows + ") r WHERE " + any + ") " + sql;
  }
  const auto r = c.query(sql, q.values);
  for (std::size_t i = 0; i < r.size(); ++i) {
    const auto d = static_cast<std::size_t>(r.integer(i, 0));
    for (std::size_t k = 0; k < places[d].size(); ++k) {
      const Place& p = places[d][k];
      if (r.text(i, 1) == p.bucket && opt(r, i, 2) == p.prefix && r.integer(i, 3) == p.pos) {
        out[d][k] = {Cut::Kind::kKey, r.text(i, 4), r.text(i, 5)};
      }
    }
  }
  for (const auto& cuts : out) {
    for (const auto& cut : cuts) {
      if (cut.kind != Cut::Kind::kKey) throw std::runtime_error("ranking: no member at a cut (the data changed under the read?)");
    }
  }
  return out;
}

/// membersAtOf for one order.
std::vector<Cut> membersAt(SqlConnection& c, const std::string& rows, const RankOrder& o, const std::vector<Place>& places) {
  return membersAtOf(c, rows, {o}, {places})[0];
}

/// Places in a large bucket of an order without a coarser bucket (one value per bucket, ties in
/// member id order, as RFM's number of sales: 200,000 members may share one) are narrowed to
/// the members whose id starts as the place's member's (ids in byte order: those with one
/// prefix are together in the order), counted per prefix in one scan: membersAt then sorts a
/// few hundred members instead of the bucket (RFM over a million members: sorting the 250,000
/// members of the four buckets holding the sales cuts took 0.72-1.09 s, counting them per
/// prefix 0.23-0.32 s and the narrowed membersAt 0.16-0.19 s, at load 9).
void narrowPlaces(SqlConnection& c, const std::string& rows, const RankOrder& o, const std::vector<Bucket>& buckets,
                  std::vector<Place>& places) {
  if (o.bucket != o.value) return;
  Q q(c);
  std::string in;
  std::vector<std::string> large;
  for (const auto& p : places) {
    const auto b = std::find_if(buckets.begin(), buckets.end(), [&](const Bucket& x) { return x.key == p.bucket; });
    if (b == buckets.end() || b->members < kNarrowFrom) continue;
    if (std::find(large.begin(), large.end(), p.bucket) != large.end()) continue;
    large.push_back(p.bucket);
    in += (in.empty() ? "" : ", ") + bindValue(q, o, p.bucket);
  }
  if (large.empty()) return;
  const auto r = c.query("SELECT " + o.bucket + ", " + idPrefix() + ", COUNT(*) FROM (" + rows + ") x WHERE " + o.bucket + " IN (" +
                             in + ") GROUP BY " + o.bucket + ", " + idPrefix(),
                         q.values);
  std::map<std::string, std::map<std::string, std::int64_t>> counts;  // bucket -> prefix (byte order) -> members
  for (std::size_t i = 0; i < r.size(); ++i) counts[r.text(i, 0)][opt(r, i, 1)] = r.integer(i, 2);
  for (auto& p : places) {
    const auto b = counts.find(p.bucket);
    if (b == counts.end() || b->second.count("")) continue;  // an empty id cannot mark a narrowed place
    std::int64_t before = 0;
    for (const auto& [prefix, n] : b->second) {
      if (p.pos <= before + n) {
        p.prefix = prefix;
        p.pos -= before;
        break;
      }
      before += n;
    }
  }
}

/// The cuts after ranks 1..n of members of each order (`ranks[d]` of the members counted in
/// `buckets[d]` in `orders[d]`; rank 0: nobody), found for all the orders in one membersAtOf.
std::vector<std::vector<Cut>> rankCutsOf(SqlConnection& c, const std::string& rows, const std::vector<RankOrder>& orders,
                                         const std::vector<std::vector<Bucket>>& buckets,
                                         const std::vector<std::vector<std::int64_t>>& ranks) {
  std::vector<std::vector<Place>> places(orders.size());
  std::vector<std::vector<std::size_t>> placeOf(orders.size());
  for (std::size_t d = 0; d < orders.size(); ++d) {
    placeOf[d].assign(ranks[d].size(), SIZE_MAX);
    for (std::size_t k = 0; k < ranks[d].size(); ++k) {
      if (ranks[d][k] <= 0) continue;
      std::int64_t before = 0;
      for (const auto& b : buckets[d]) {
        if (ranks[d][k] <= before + b.members) {
          placeOf[d][k] = places[d].size();
          places[d].push_back({b.key, ranks[d][k] - before, ""});
          break;
        }
        before += b.members;
      }
      if (placeOf[d][k] == SIZE_MAX) throw std::runtime_error("ranking: a rank beyond the members");
    }
    narrowPlaces(c, rows, orders[d], buckets[d], places[d]);
  }
  const auto found = membersAtOf(c, rows, orders, places);
  std::vector<std::vector<Cut>> out(orders.size());
  for (std::size_t d = 0; d < orders.size(); ++d) {
    out[d].resize(ranks[d].size());
    for (std::size_t k = 0; k < ranks[d].size(); ++k) {
      if (placeOf[d][k] != SIZE_MAX) out[d][k] = found[d][placeOf[d][k]];
    }
  }
  return out;
}

/// Where the running total of the (positive) values, in the order, passes a share of the sum.
struct WeightedCut {
  Cut cut;
  std::int64_t members = 0;  ///< members within
  std::int64_t sum = 0;      ///< their values' total
};

/// For each percentage: the members whose running total including them is <= pct % of the
/// sum of all (`o.value` is the weight; the member who crosses the line is outside).
/// `coarse` are bucketCounts(rows, o, o.value).
std::vector<WeightedCut> weightedCuts(SqlConnection& c, const std::string& rows, const RankOrder& o,
                                      const std::vector<Bucket>& coarse, const std::vector<int>& pcts) {
  std::int64_t total = 0, members = 0;
  for (const auto& b : coarse) total += b.weight, members += b.members;
  // The coarse bucket each line falls in, with the members and sum before it.
  std::vector<WeightedCut> out(pcts.size(), WeightedCut{{Cut::Kind::kAll, "", ""}, members, total});
  std::vector<const Bucket*> crossing(pcts.size(), nullptr);
  std::vector<std::int64_t> membersBefore(pcts.size(), 0), sumBefore(pcts.size(), 0);
  std::vector<std::string> refine;
  for (std::size_t k = 0; k < pcts.size(); ++k) {
    for (const auto& b : coarse) {
      if ((sumBefore[k] + b.weight) * 100 > total * pcts[k]) {
        crossing[k] = &b;
        if (std::find(refine.begin(), refine.end(), b.key) == refine.end()) refine.push_back(b.key);
        break;
      }
      membersBefore[k] += b.members;
      sumBefore[k] += b.weight;
    }
  }
  if (refine.empty()) return out;
  // The exact values in those buckets: within one value the running total grows by the value
  // per member, so the number of members within is a division.
  const RankOrder ex = o.exact();
  const auto fine = o.bucket == o.value ? coarse : bucketCounts(c, rows, ex, o.value, &o, refine);
  std::vector<Place> places;
  std::vector<std::size_t> placeOf(pcts.size(), SIZE_MAX);
  for (std::size_t k = 0; k < pcts.size(); ++k) {
    if (!crossing[k]) continue;
    std::int64_t before = membersBefore[k], sum = sumBefore[k];
    for (const auto& v : fine) {
      if (v.within != crossing[k]->key) continue;
      if ((sum + v.weight) * 100 > total * pcts[k]) {
        const std::int64_t value = v.weight / v.members;
        const std::int64_t n = (total * pcts[k] - sum * 100) / (value * 100);  // 0 <= n < v.members
        out[k].members = before + n;
        out[k].sum = sum + n * value;
        if (n == 0) {
          out[k].cut = {Cut::Kind::kBefore, v.key, ""};
        } else {
          placeOf[k] = places.size();
          places.push_back({v.key, n, ""});
        }
        break;
      }
      before += v.members;
      sum += v.weight;
    }
  }
  const auto found = membersAt(c, rows, ex, places);
  for (std::size_t k = 0; k < pcts.size(); ++k) {
    if (placeOf[k] != SIZE_MAX) out[k].cut = found[placeOf[k]];
  }
  return out;
}

/// The members of `rows` in `groups` groups of (nearly) equal size along the order: the member
/// of rank r (1-based) of n in group (r - 1) * groups / n (the Pareto chart's rule,
/// docs/reports.md); each non-empty group's members and sum of `o.value`, in group order.
/// `buckets` are bucketCounts(rows, o, o.value): a bucket wholly inside one group is added from
/// its counts, and only the members of buckets a group's end falls inside are numbered (in their
/// bucket, as membersAtOf does), not every member (at a million members, 50 groups: a sort of
/// the whole order and a window function over it before).
std::vector<Bucket> equalGroups(SqlConnection& c, const std::string& rows, const RankOrder& o, const std::vector<Bucket>& buckets,
                                std::int64_t groups) {
  std::int64_t n = 0;
  for (const auto& b : buckets) n += b.members;
  if (n == 0) return {};
  std::map<std::int64_t, Bucket> byGroup;
  const auto groupOf = [&](std::int64_t rank) { return (rank - 1) * groups / n; };
  Q q(c);
  std::string before, in;
  std::int64_t ranked = 0;
  for (const auto& b : buckets) {
    if (groupOf(ranked + 1) == groupOf(ranked + b.members)) {
      Bucket& g = byGroup[groupOf(ranked + 1)];
      g.members += b.members;
      g.weight += b.weight;
    } else {
      const std::string key = bindValue(q, o, b.key);
      before += " WHEN " + key + " THEN CAST(" + q.p(ranked) + " AS BIGINT)";
      in += (in.empty() ? "" : ", ") + key;
    }
    ranked += b.members;
  }
  if (!in.empty()) {
    const std::string rank = "(CASE b" + before + " END + pos)";
    const std::string group = "(" + rank + " - 1) * " + q.p(groups) + " / " + q.p(n);
    const auto r = c.query("SELECT " + group + ", COUNT(*), " + q.sum("v") + " FROM (SELECT " + o.bucket + " AS b, " + o.value +
                               " AS v, ROW_NUMBER() OVER (PARTITION BY " + o.bucket + " ORDER BY " + o.value +
                               (o.descending ? " DESC" : "") + ", member_id) AS pos FROM (" + rows + ") x WHERE " + o.bucket +
                               " IN (" + in + ")) t GROUP BY 1",
                           q.values);
    for (std::size_t i = 0; i < r.size(); ++i) {
      Bucket& g = byGroup[r.integer(i, 0)];
      g.members += r.integer(i, 1);
      g.weight += r.integer(i, 2);
    }
  }
  std::vector<Bucket> out;
  for (auto& [group, g] : byGroup) {
    g.key = g.within = std::to_string(group);
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace

Result<std::int64_t> wholeNumber(const std::optional<std::string>& v, const char* field, std::int64_t def, std::int64_t lo,
                                 std::int64_t hi) {
  if (!v) return def;
  if (v->empty() || v->size() > 9 || v->find_first_not_of("0123456789") != std::string::npos) {
    return invalidArgument(field, std::string(field) + " is a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
  }
  const std::int64_t n = std::stoll(*v);
  if (n < lo || n > hi) return invalidArgument(field, std::string(field) + " is from " + std::to_string(lo) + " to " + std::to_string(hi));
  return n;
}

ExportRows::ExportRows(bool limitGiven, std::int64_t& limit) : m_whole(!limitGiven) {
  if (m_whole) limit = kListPageMax + 1;
}

std::optional<Error> ExportRows::refusal(std::size_t rows) const {
  if (!m_whole || rows <= static_cast<std::size_t>(kListPageMax)) return std::nullopt;
  return invalidArgument("limit", "the list has more than " + std::to_string(kListPageMax) +
                                      " rows: export it in pages, limit (1 to " + std::to_string(kListPageMax) + ") and offset");
}

Result<Ok> parsePage(const std::optional<std::string>& limit, const std::optional<std::string>& offset, RowPage& page) {
  auto l = wholeNumber(limit, "limit", page.limit, 1, kListPageMax);
  if (!l) return l.error();
  auto o = wholeNumber(offset, "offset", page.offset, 0, 100000000);
  if (!o) return o.error();
  page = {*o, *l};
  return Ok{};
}

Result<Ok> parsePage(const std::optional<std::string>& limit, const std::optional<std::string>& offset, ReportFilter& f) {
  RowPage page = f.page();
  if (auto ok = parsePage(limit, offset, page); !ok) return ok.error();
  f.offset = page.offset;
  f.limit = page.limit;
  return Ok{};
}

json pageJson(const RowPage& page) {
  return {{"offset", page.offset}, {"limit", page.limit < 0 ? json(nullptr) : json(page.limit)}};
}

bool reportRowsPaged(const std::string& name) {
  return name == "sales" || name == "satisfaction" || name == "complaints" || name == "staff";
}

void pageReportRows(json& report, const ReportFilter& f) {
  json& rows = report["rows"];
  if (!rows.is_array()) return;
  const auto total = static_cast<std::int64_t>(rows.size());
  const std::int64_t first = std::min(f.offset, total), last = f.limit < 0 ? total : std::min(f.offset + f.limit, total);
  json page = json::array();
  for (std::int64_t i = first; i < last; ++i) page.push_back(std::move(rows[static_cast<std::size_t>(i)]));
  rows = std::move(page);
  report["rows_total"] = total;
  report["page"] = pageJson(f.page());
}

std::string Reports::latestDay() { return dataBounds(m_c).second; }

namespace {

/// Who each listed member is, so a list names people rather than ids: fills "name", "phone"
/// and "store" (where they enrolled) of every row from members by member_id, 500 ids a query.
/// Lists are pages (LIMIT), so this is a few queries.
void addMemberDetails(SqlConnection& c, json& rows) {
  std::map<std::string, std::vector<json*>> byId;
  for (auto& row : rows) byId[row["member_id"].get<std::string>()].push_back(&row);
  for (auto& [id, list] : byId) {
    for (json* row : list) {
      if (!row->contains("name")) (*row)["name"] = "";
      (*row)["phone"] = "";
      (*row)["store"] = nullptr;
    }
  }
  auto it = byId.begin();
  SqlTransaction tx(c, SqlTransaction::Kind::kRead);
  while (it != byId.end()) {
    Q q(c);
    std::string in;
    std::vector<std::string> ids;
    for (; it != byId.end() && ids.size() < 500; ++it) {
      in += (in.empty() ? "" : ", ") + q.p(it->first);
      ids.push_back(it->first);
    }
    // Always 500 parameters (padded with an id no member has): one SQL text for every page, so
    // PostgreSQL prepares it once (test_report_pages).
    for (std::size_t pad = ids.size(); pad < 500; ++pad) in += ", " + q.p(std::string());
    const auto r = c.query("SELECT member_id, name, phone, enrolled_store FROM members WHERE member_id IN (" + in + ")", q.values);
    for (std::size_t i = 0; i < r.size(); ++i) {
      for (json* row : byId[r.text(i, 0)]) {
        (*row)["name"] = opt(r, i, 1);
        (*row)["phone"] = opt(r, i, 2);
        (*row)["store"] = optJson(r, i, 3);
      }
    }
  }
  tx.commit();
}

}  // namespace

/// Days without any sale after which the data counts as ended (defaultAsOf).
constexpr int kStaleDataDays = 31;

std::string Reports::defaultAsOf(const ReportFilter& f, Timestamp now) {
  std::string today = utcDay(now);
  const std::string last = latestDay();
  if (last > today) today = last;
  // Sales that stopped more than a month ago (a history imported, a closed chain's data): counted
  // to their last day, not to today (otherwise every member is "at risk").
  else if (!last.empty() && last < addDays(today, -kStaleDataDays)) today = last;
  return f.range.to < today ? f.range.to : today;
}

// [SECTION] Summary, sales, ABC (with store filters)

json Reports::summary(const ReportFilter& f) {
  Q q(m_c);
  const std::string sql =
      "SELECT COALESCE(SUM(sales), 0), COALESCE(SUM(gross - refunded), 0), COALESCE(SUM(member * sales), 0), "
      "COALESCE(SUM(member * (gross - refunded)), 0), COALESCE(SUM(refunds), 0), COALESCE(SUM(refunded), 0) FROM agg_sales "
      "WHERE " + q.dayIn("day", f) + " AND " + q.storeIn("store_id", f);
  SqlTransaction tx(m_c, SqlTransaction::Kind::kRead);
  const auto r = m_c.query(sql, q.values);
  Q qm(m_c);
  // A member bought in the period when one of its parts has a sale (no part has fewer than
  // none): counting them needs no sums. On PostgreSQL the parts are merged in member order and
  // grouped (months come in key order, see memberSource) rather than sorted all together by
  // COUNT(DISTINCT): the edges' 684,101 members in 1.8-2.0 s against 2.2-2.4 s on the loaded
  // host. Counted slice by slice of the member key space where memberRows adds parts up so (a
  // count a slice, added up here).
  const std::string counts = perSlice(qm, m_c, f, "", false, [&](const MemberSource& s) {
    if (s.single) return "SELECT COUNT(*) FROM (" + s.sql + ") mp WHERE sales > 0";
    if (!qm.postgres()) return "SELECT COUNT(DISTINCT member_id) FROM (" + s.sql + ") mp WHERE sales > 0";
    return "SELECT COUNT(*) FROM (SELECT member_id FROM (SELECT * FROM (" + s.sql +
           ") mp WHERE sales > 0 ORDER BY member_id) u GROUP BY member_id) g";
  });
  const auto m = m_c.query(counts, qm.values);
  tx.commit();
  std::int64_t members = 0;
  for (std::size_t i = 0; i < m.size(); ++i) members += m.integer(i, 0);
  return {{"sales", r.integer(0, 0)},
          {"net_revenue", money(r.integer(0, 1))},
          {"members", members},
          {"member_sales", r.integer(0, 2)},
          {"member_revenue", money(r.integer(0, 3))},
          {"non_member_sales", r.integer(0, 0) - r.integer(0, 2)},
          {"non_member_revenue", money(r.integer(0, 1) - r.integer(0, 3))},
          {"refunds", r.integer(0, 4)},
          {"refunded", money(r.integer(0, 5))}};
}

std::map<std::string, Reports::MemberFigures> Reports::memberFigures(const ReportFilter& f, By by) {
  const bool byStore = by == By::kStore;
  // A row's store, or the month of its store-local day.
  const std::string key = byStore ? "store_id" : "substr(day, 1, 7)";
  std::map<std::string, MemberFigures> out;
  SqlTransaction tx(m_c, SqlTransaction::Kind::kRead);
  {
    Q q(m_c);
    const auto r = m_c.query("SELECT " + key + ", SUM(member * (gross - refunded)) FROM agg_sales WHERE " + q.dayIn("day", f) +
                                 " AND " + q.storeIn("store_id", f) + " GROUP BY " + key,
                             q.values);
    for (std::size_t i = 0; i < r.size(); ++i) out[r.text(i, 0)].memberRevenue = r.integer(i, 1);
  }
  {
    // retention()'s cohorts: a month's enrolments at the stores asked for, listed when there are
    // any; for a store, its own months' added up.
    Q q(m_c);
    const std::string where = " FROM agg_enrolment WHERE " + q.dayIn("day", f) + " AND " + q.storeIn("store_id", f);
    const std::string sql =
        byStore ? "SELECT store_id, SUM(n) FROM (SELECT store_id, SUM(members) AS n" + where +
                      " GROUP BY store_id, substr(day, 1, 7) HAVING SUM(members) > 0) c GROUP BY store_id"
                : "SELECT substr(day, 1, 7), SUM(members)" + where + " GROUP BY substr(day, 1, 7) HAVING SUM(members) > 0";
    const auto r = m_c.query(sql, q.values);
    for (std::size_t i = 0; i < r.size(); ++i) out[r.text(i, 0)].enrolled = r.integer(i, 1);
  }
  // Members with a sale: where summary() reads them for one store or month (memberSource): a
  // store's over all the data from agg_member_store, a whole month's (every store) from
  // agg_member_month, any other days from the raw sales.
  const auto [first, last] = dataBounds(m_c);
  const auto rawBuyers = [&](const ReportFilter& days) {
    Q q(m_c);
    const auto r = m_c.query("SELECT " + key + ", COUNT(DISTINCT member_id) FROM sales WHERE member_id IS NOT NULL AND " +
                                 q.dayIn("day", days) + " AND " + q.storeIn("store_id", days) + " GROUP BY " + key,
                             q.values);
    for (std::size_t i = 0; i < r.size(); ++i) out[r.text(i, 0)].buyers = r.integer(i, 1);
  };
  if (first.empty() || f.rawTables || f.range.from > f.range.to) {
    rawBuyers(f);
  } else if (byStore && f.range.from <= first && f.range.to >= last) {
    Q q(m_c);
    const auto r = m_c.query("SELECT store_id, COUNT(*) FROM agg_member_store WHERE sales > 0 AND " + q.storeIn("store_id", f) +
                                 " GROUP BY store_id",
                             q.values);
    for (std::size_t i = 0; i < r.size(); ++i) out[r.text(i, 0)].buyers = r.integer(i, 1);
  } else if (byStore || !f.stores.empty()) {
    rawBuyers(f);
  } else {
    const auto [from, to, fullFrom, fullTo] = monthSpan(f.range, first, last);
    if (fullFrom > fullTo) {
      rawBuyers(f);
    } else {
      Q q(m_c);
      const auto r = m_c.query("SELECT month, COUNT(*) FROM agg_member_month WHERE month >= " + q.p(fullFrom.substr(0, 7)) +
                                   " AND month <= " + q.p(fullTo.substr(0, 7)) + " AND sales > 0 GROUP BY month",
                               q.values);
      for (std::size_t i = 0; i < r.size(); ++i) out[r.text(i, 0)].buyers = r.integer(i, 1);
      ReportFilter edge = f;
      if (from < fullFrom) edge.range = {from, addDays(fullFrom, -1)}, rawBuyers(edge);
      if (to > fullTo) edge.range = {addDays(fullTo, 1), to}, rawBuyers(edge);
    }
  }
  tx.commit();
  return out;
}

Result<json> Reports::sales(const ReportFilter& f, const std::string& group) {
  Q q(m_c);
  std::string sql;
  if (group == "product") {
    // Refunds carry no line amounts at head office: product rows are gross line sales.
    sql = "SELECT sku, MIN(description), SUM(sales), SUM(qty), SUM(amount) FROM agg_product WHERE " + q.dayIn("day", f) +
          " AND " + q.storeIn("store_id", f) + " GROUP BY sku ORDER BY SUM(amount) DESC, sku";
    SqlTransaction tx(m_c, SqlTransaction::Kind::kRead);
    const auto r = m_c.query(sql, q.values);
    tx.commit();
    json rows = json::array();
    for (std::size_t i = 0; i < r.size(); ++i) {
      rows.push_back({{"product", r.text(i, 0)}, {"description", r.text(i, 1)}, {"sales", r.integer(i, 2)},
                      {"qty", r.integer(i, 3)}, {"amount", money(r.integer(i, 4))}});
    }
    return json{{"group", group}, {"rows", std::move(rows)}};
  }
  std::string key;
  if (group == "day") key = "day";
  else if (group == "hour") key = "hour";
  else if (group == "store") key = "store_id";
  else if (group == "terminal") key = "terminal_id";
  else if (group == "member") key = "CASE WHEN member = 1 THEN 'member' ELSE 'non_member' END";
  else return Error{errc::kBadRequest, "group", "group is day, hour, store, terminal, product or member"};
  sql = "SELECT " + key + " AS k, SUM(sales), SUM(gross - refunded), SUM(refunds), SUM(gross) FROM agg_sales WHERE " +
        q.dayIn("day", f) + " AND " + q.storeIn("store_id", f) + " GROUP BY " + key + " ORDER BY 1";
  SqlTransaction tx(m_c, SqlTransaction::Kind::kRead);
  const auto r = m_c.query(sql, q.values);
  tx.commit();
  json rows = json::array();
  for (std::size_t i = 0; i < r.size(); ++i) {
    const std::int64_t n = r.integer(i, 1);
    rows.push_back({{group, r.text(i, 0)},
                    {"sales", n},
                    {"refunds", r.integer(i, 3)},
                    {"gross_revenue", money(r.integer(i, 4))},
                    {"net_revenue", money(r.integer(i, 2))},
                    {"average_sale", money(n == 0 ? 0 : r.integer(i, 4) / n)}});
  }
  return json{{"group", group}, {"rows", std::move(rows)}};
}

namespace {

struct AbcRow {
  int cls = 0;  ///< 0 A, 1 B, 2 C
  std::string memberId, card, name, lastDay;
  std::int64_t spend = 0, cum = 0;
};

struct AbcFigures {
  std::int64_t counts[3] = {0, 0, 0}, spend[3] = {0, 0, 0}, followUps = 0, total = 0;
  std::vector<AbcRow> members, followUp;
};

/// Follow-up: the last visit on or before as_of minus the class's interval (text compare).
std::string followUpDue(Q& q, const ClassRules& rules, const std::string& cls, const std::string& lastDay, const std::string& asOf) {
  return "(" + lastDay + " <= CASE " + cls + " WHEN 0 THEN " + q.t(addDays(asOf, -rules.intervalDays(0))) + " WHEN 1 THEN " +
         q.t(addDays(asOf, -rules.intervalDays(1))) + " ELSE " + q.t(addDays(asOf, -rules.intervalDays(2))) + " END)";
}

/// ABC's ranking of member source `mp` (its parameters bound in `q`) with window functions: the
/// WITH list of `mp` (the members with spend), `tot` (their total) and `ranked` (spend, running
/// total `cum`, rank `rn`; ties by member id), whose rows kAbcClassOfRanked classes.
std::string abcRankedWith(Q& q, const std::string& mp) {
  return "WITH mp AS MATERIALIZED (SELECT member_id, net, last_day FROM (" + mp + ") x WHERE net > 0), "
         "tot AS (SELECT " + q.sum("net") + " AS total FROM mp), "
         "ranked AS (SELECT member_id, net AS spend, last_day, " +
         q.sum("net") + " OVER (ORDER BY net DESC, member_id ASC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum, "
         "ROW_NUMBER() OVER (ORDER BY net DESC, member_id ASC) AS rn FROM mp)";
}
/// A `ranked` row's class (0 A, 1 B, 2 C) with `tot` joined: DOMAIN.md's rule, A while the running
/// share is within 55 %, B within 85 %.
constexpr const char* kAbcClassOfRanked =
    "CASE WHEN cum * 100 <= tot.total * 55 THEN 0 WHEN cum * 100 <= tot.total * 85 THEN 1 ELSE 2 END";

/// ABC over any member source `mp` (its parameters bound in `q`): one statement ranking every
/// member with window functions.
AbcFigures abcRanked(SqlConnection& c, Q& q, const std::string& mp, const ReportFilter& f, const std::string& asOf,
                     const ClassRules& rules) {
  // Class totals (kind 0), the members page (1) and the follow-up page (2). A customer's rank
  // orders both lists: classes are contiguous in it, so A comes first.
  const std::string cols = "p.rn, p.cls, p.member_id, p.spend, p.cum, p.total, p.last_day, m.card_no, m.name";
  const std::string page = pageClause(q, f);
  const std::string sql =
      abcRankedWith(q, mp) + ", "
      "classed AS MATERIALIZED (SELECT k.*, CASE WHEN " + followUpDue(q, rules, "k.cls", "k.last_day", asOf) + " THEN 1 ELSE 0 END AS fu FROM ("
      "SELECT ranked.*, tot.total, " + kAbcClassOfRanked + " AS cls FROM ranked, tot) k) "
      "SELECT 0 AS kind, 0 AS rn, cls, NULL AS member_id, SUM(spend) AS spend, COUNT(*) AS cum, SUM(fu) AS total, NULL AS last_day, "
      "NULL AS card_no, NULL AS name FROM classed GROUP BY cls "
      "UNION ALL SELECT 1, " + cols + " FROM (SELECT * FROM classed ORDER BY rn" + page + ") p "
      "LEFT JOIN members m ON m.member_id = p.member_id "
      "UNION ALL SELECT 2, " + cols + " FROM (SELECT * FROM classed WHERE fu = 1 ORDER BY rn" + page + ") p "
      "LEFT JOIN members m ON m.member_id = p.member_id ORDER BY 1, 2, 3";
  const auto r = c.query(sql, q.values);
  AbcFigures a;
  for (std::size_t i = 0; i < r.size(); ++i) {
    const int k = static_cast<int>(r.integer(i, 2));
    if (r.integer(i, 0) == 0) {
      a.spend[k] = r.integer(i, 4);
      a.counts[k] = r.integer(i, 5);
      a.followUps += r.integer(i, 6);
      a.total += r.integer(i, 4);
      continue;
    }
    AbcRow row{k, r.text(i, 3), opt(r, i, 8), opt(r, i, 9), r.text(i, 7), r.integer(i, 4), r.integer(i, 5)};
    (r.integer(i, 0) == 1 ? a.members : a.followUp).push_back(std::move(row));
  }
  return a;
}

/// ABC by cuts of the spend order over a plain member source `mp`: `rows` the members with
/// spend; `cuts` where the running share reaches 55 % and 85 % (DOMAIN.md's rule).
struct AbcCuts {
  std::string rows;
  RankOrder spend{"net", "net / 1000", true, true};
  std::vector<Bucket> buckets;
  std::vector<WeightedCut> cuts;

  AbcCuts(SqlConnection& c, const std::string& mp) : rows("SELECT member_id, net, last_day FROM (" + mp + ") mp WHERE net > 0") {
    buckets = bucketCounts(c, rows, spend, "net");
    cuts = weightedCuts(c, rows, spend, buckets, {55, 85});
  }
  /// The classes' sizes and spend, and the total spend (from the bucket counts and the cuts).
  AbcFigures totals() const {
    AbcFigures a;
    std::int64_t members = 0;
    for (const auto& b : buckets) members += b.members, a.total += b.weight;
    a.counts[0] = cuts[0].members;
    a.counts[1] = cuts[1].members - cuts[0].members;
    a.counts[2] = members - cuts[1].members;
    a.spend[0] = cuts[0].sum;
    a.spend[1] = cuts[1].sum - cuts[0].sum;
    a.spend[2] = a.total - cuts[1].sum;
    return a;
  }
  /// A row's class (0 A, 1 B, 2 C), its parameters bound in `q`.
  std::string classOf(Q& q) const {
    return "CASE WHEN " + within(q, spend, cuts[0].cut) + " THEN 0 WHEN " + within(q, spend, cuts[1].cut) + " THEN 1 ELSE 2 END";
  }
};

/// ABC from cuts in the spend order (see "Ranking members without sorting them all"): class
/// sizes and spend from the bucket counts, the follow-up count in one scan, each page by a
/// partial sort of its first offset+limit members.
/// `mp` is a member source without parameters.
AbcFigures abcByCuts(SqlConnection& c, const std::string& mp, const ReportFilter& f, const std::string& asOf,
                     const ClassRules& rules) {
  const AbcCuts abc(c, mp);
  const std::string& rows = abc.rows;
  const auto& cuts = abc.cuts;
  AbcFigures a = abc.totals();
  const auto classOf = [&](Q& q) { return abc.classOf(q); };
  {
    Q q(c);
    const std::string cls = classOf(q);
    const auto r = c.query("SELECT COUNT(*) FROM (SELECT " + cls + " AS k, last_day FROM (" + rows + ") x) c WHERE " +
                               followUpDue(q, rules, "k", "last_day", asOf), q.values);
    a.followUps = r.integer(0, 0);
  }
  const auto classOfRank = [&](std::int64_t rank) { return rank <= cuts[0].members ? 0 : rank <= cuts[1].members ? 1 : 2; };
  {
    // The first offset+limit members are the top of the order: their running total is the real one.
    Q q(c);
    const std::string top = f.limit >= 0 ? " LIMIT " + q.p(f.offset + f.limit) : "";
    const auto r = c.query(
        "SELECT t.rn, t.member_id, t.net, t.cum, t.last_day, m.card_no FROM (SELECT member_id, net, last_day, " +
            q.sum("net") + " OVER (ORDER BY net DESC, member_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum, "
        "ROW_NUMBER() OVER (ORDER BY net DESC, member_id) AS rn FROM (SELECT member_id, net, last_day FROM (" + rows +
            ") x ORDER BY net DESC, member_id" + top + ") x) t LEFT JOIN members m ON m.member_id = t.member_id WHERE t.rn > " +
            q.p(f.offset) + " ORDER BY t.rn",
        q.values);
    for (std::size_t i = 0; i < r.size(); ++i) {
      a.members.push_back({classOfRank(r.integer(i, 0)), r.text(i, 1), opt(r, i, 5), "", r.text(i, 4), r.integer(i, 2), r.integer(i, 3)});
    }
  }
  {
    Q q(c);
    const std::string cls = classOf(q);
    const std::string inner = "SELECT " + cls + " AS k, member_id, net, last_day FROM (" + rows + ") x";
    const std::string due = followUpDue(q, rules, "k", "last_day", asOf);
    const auto r = c.query("SELECT p.k, p.member_id, p.net, p.last_day, m.card_no, m.name FROM (SELECT * FROM (" + inner +
                               ") c WHERE " + due + " ORDER BY net DESC, member_id" + pageClause(q, f) +
                               ") p LEFT JOIN members m ON m.member_id = p.member_id ORDER BY p.net DESC, p.member_id",
                           q.values);
    for (std::size_t i = 0; i < r.size(); ++i) {
      a.followUp.push_back({static_cast<int>(r.integer(i, 0)), r.text(i, 1), opt(r, i, 4), opt(r, i, 5), r.text(i, 3), r.integer(i, 2), 0});
    }
  }
  return a;
}

}  // namespace

json Reports::abc(const ReportFilter& f, const std::string& asOf) {
  SqlTransaction tx(m_c, SqlTransaction::Kind::kReadScratch);
  bool plain = false;
  Q q(m_c);
  const ClassRules rules{visitRules(m_c)};
  const std::string mp = rankedMembers(q, m_c, f, &plain);
  const AbcFigures a = plain ? abcByCuts(m_c, mp, f, asOf, rules) : abcRanked(m_c, q, mp, f, asOf, rules);
  tx.commit();
  json members = json::array();
  for (const auto& m : a.members) {
    members.push_back({{"member_id", m.memberId},
                       {"card_no", m.card},
                       {"class", kClassNames[m.cls]},
                       {"spend", money(m.spend)},
                       {"cumulative_share", percent(m.cum, a.total)}});
  }
  json followUp = json::array();
  for (const auto& m : a.followUp) {
    followUp.push_back({{"member_id", m.memberId}, {"card_no", m.card}, {"name", m.name}, {"class", kClassNames[m.cls]},
                        {"last_visit", m.lastDay}, {"days_since_visit", daysBetween(m.lastDay, asOf)},
                        {"contact_frequency", frequencyName(rules.visits[m.cls])}});
  }
  json classes = json::array();
  for (int k = 0; k < 3; ++k) {
    classes.push_back({{"class", kClassNames[k]}, {"members", a.counts[k]}, {"spend", money(a.spend[k])},
                       {"contact_frequency", frequencyName(rules.visits[k])}, {"contacts_per_month", rules.visits[k].visitsPerMonth},
                       {"contact_interval_days", rules.intervalDays(k)}, {"channel", rules.visits[k].channel}});
  }
  json visitsPerMonth = json::object();
  for (const auto& v : rules.visits) visitsPerMonth[v.cls] = v.visitsPerMonth;
  addMemberDetails(m_c, members);
  addMemberDetails(m_c, followUp);
  return {{"as_of", asOf},
          {"counts", {{"A", a.counts[0]}, {"B", a.counts[1]}, {"C", a.counts[2]}}},
          {"classes", std::move(classes)},
          {"visits_per_month", std::move(visitsPerMonth)},
          {"members_total", a.counts[0] + a.counts[1] + a.counts[2]},
          {"follow_up_total", a.followUps},
          {"page", pageJson(f.page())},
          {"members", std::move(members)},
          {"follow_up", std::move(followUp)}};
}

void Reports::abcClasses(const ReportFilter& f, std::int64_t pageSize,
                         const std::function<void(const std::vector<std::pair<std::string, std::string>>&)>& page) {
  if (pageSize < 1) throw std::invalid_argument("abcClasses: a page holds at least one member");
  // The classes into a temporary table of this connection (one ranking, in one snapshot), then
  // read from it a page at a time after the snapshot ends: `page` may take its time (a plan
  // waits for the writer), and a snapshot held that long would keep SQLite's log from being
  // checkpointed (an erasure's scrub waits for that) and PostgreSQL's vacuum from cleaning up.
  const bool pg = m_c.backend() == "postgresql";
  const std::string table = pg ? "pg_temp.abc_classes" : "temp.abc_classes";
  m_c.execScript("DROP TABLE IF EXISTS " + table);  // one left by a failure on this connection
  const struct Drop {
    SqlConnection& c;
    const std::string& table;
    ~Drop() {
      try {
        c.execScript("DROP TABLE IF EXISTS " + table);
      } catch (const std::exception&) {  // the next call drops it first
      }
    }
  } drop{m_c, table};
  {
    SqlTransaction tx(m_c, SqlTransaction::Kind::kReadScratch);
    bool plain = false;
    Q q(m_c);
    const std::string mp = rankedMembers(q, m_c, f, &plain);
    std::string classes;
    std::vector<SqlValue> params;
    if (plain) {
      // A plain source carries no parameters (abcByCuts reads it without them).
      if (!q.values.empty()) throw std::logic_error("abcClasses: a plain member source with parameters");
      const AbcCuts abc(m_c, mp);
      Q qc(m_c);
      classes = "SELECT member_id, " + abc.classOf(qc) + " AS cls FROM (" + abc.rows + ") x";
      params = qc.values;
    } else {
      classes = abcRankedWith(q, mp) + " SELECT ranked.member_id, " + kAbcClassOfRanked + " AS cls FROM ranked, tot";
      params = q.values;
    }
    m_c.query("CREATE TEMPORARY TABLE abc_classes AS " + classes, params);
    m_c.execScript(pg ? "CREATE INDEX ON pg_temp.abc_classes(member_id)" : "CREATE INDEX temp.abc_classes_member ON abc_classes(member_id)");
    tx.commit();
  }
  std::string after;
  for (;;) {
    const auto r = m_c.query("SELECT member_id, cls FROM " + table + " WHERE member_id > $1 ORDER BY member_id LIMIT $2", {after, pageSize});
    if (r.empty()) break;
    std::vector<std::pair<std::string, std::string>> members;
    members.reserve(r.size());
    for (std::size_t i = 0; i < r.size(); ++i) members.emplace_back(r.text(i, 0), kClassNames[r.integer(i, 1)]);
    after = members.back().first;
    page(members);
    if (static_cast<std::int64_t>(r.size()) < pageSize) break;
  }
}

// [SECTION] RFM

json Reports::rfm(const ReportFilter& f, const std::string& asOf) {
  Q q(m_c);
  SqlTransaction tx(m_c, SqlTransaction::Kind::kReadScratch);
  bool plain = false;
  const std::string mp = rankedMembers(q, m_c, f, &plain, "sales");
  // Quintiles as NTILE(5) in ascending order of "goodness" (ties broken by member id so the
  // scores are deterministic): 5 = most recent / most frequent / highest spend.
  std::string scored;  // member_id, last_day, frequency, monetary, r, f, m
  if (!plain) {
    scored = "SELECT member_id, last_day, sales AS frequency, net AS monetary, "
             "NTILE(5) OVER (ORDER BY last_day ASC, member_id ASC) AS r, "
             "NTILE(5) OVER (ORDER BY sales ASC, member_id ASC) AS f, "
             "NTILE(5) OVER (ORDER BY net ASC, member_id ASC) AS m FROM (" + mp + ") mp WHERE sales > 0";
  } else {
    // NTILE(5) from cuts: the first n % 5 tiles hold one member more than the others; a
    // member's tile is 1 + the number of tile ends before it.
    const std::string rows = "SELECT member_id, last_day, sales, net FROM (" + mp + ") mp WHERE sales > 0";
    const std::vector<RankOrder> orders = {{"last_day", "last_day", false, false}, {"sales", "sales", true, false},
                                           {"net", "net / 1000", true, false}};
    const auto counted = bucketCountsOf(m_c, rows, orders, "0");
    std::vector<std::vector<std::int64_t>> ends(orders.size());
    for (std::size_t d = 0; d < orders.size(); ++d) {
      std::int64_t n = 0;
      for (const auto& b : counted[d]) n += b.members;
      for (std::int64_t k = 1; k <= 4; ++k) ends[d].push_back(k * (n / 5) + std::min<std::int64_t>(k, n % 5));
    }
    const auto cutsOf = rankCutsOf(m_c, rows, orders, counted, ends);
    std::string tiles;
    for (std::size_t d = 0; d < 3; ++d) {
      const auto& cuts = cutsOf[d];
      tiles += ", CASE";
      for (std::size_t k = 0; k < cuts.size(); ++k) tiles += " WHEN " + within(q, orders[d], cuts[k]) + " THEN " + std::to_string(k + 1);
      tiles += d == 0 ? " ELSE 5 END AS r" : d == 1 ? " ELSE 5 END AS f" : " ELSE 5 END AS m";
    }
    scored = "SELECT member_id, last_day, sales AS frequency, net AS monetary" + tiles + " FROM (" + mp + ") mp WHERE sales > 0";
  }
  // Segments are counted per (r, f, m) first, so each score is worked out once a member; the
  // cut version is cheaper to compute again for the page than to keep (no sort behind it).
  const auto segmentOf = [](const std::string& t) {
    return "CASE WHEN " + t + "r >= 4 AND " + t + "f >= 4 AND " + t + "m >= 4 THEN 'champions' "
           "WHEN " + t + "r >= 3 AND " + t + "f >= 4 THEN 'loyal' "
           "WHEN " + t + "r = 5 AND " + t + "f <= 2 THEN 'new' "
           "WHEN " + t + "r >= 4 AND " + t + "f <= 3 THEN 'potential_loyalists' "
           "WHEN " + t + "r <= 2 AND " + t + "f >= 4 AND " + t + "m >= 4 THEN 'cant_lose' "
           "WHEN " + t + "r <= 2 AND " + t + "f >= 3 THEN 'at_risk' "
           "WHEN " + t + "r = 1 AND " + t + "f <= 2 THEN 'lost' "
           "WHEN " + t + "r <= 2 THEN 'hibernating' "
           "ELSE 'need_attention' END";
  };
  const std::string sql =
      "WITH g AS " + std::string(plain ? "NOT MATERIALIZED" : "MATERIALIZED") + " (" + scored + "), "
      "rfm AS (SELECT r, f, m, COUNT(*) AS n, SUM(monetary) AS monetary FROM g GROUP BY r, f, m) "
      "SELECT 0 AS kind, NULL AS member_id, NULL AS card_no, NULL AS last_day, SUM(n) AS frequency, SUM(monetary) AS monetary, "
      "0 AS r, 0 AS f, 0 AS m, segment FROM (SELECT " + segmentOf("") + " AS segment, n, monetary FROM rfm) sg GROUP BY segment "
      "UNION ALL SELECT 1, p.member_id, m.card_no, p.last_day, p.frequency, p.monetary, p.r, p.f, p.m, " + segmentOf("p.") + " "
      "FROM (SELECT * FROM g ORDER BY member_id" + pageClause(q, f) + ") p LEFT JOIN members m ON m.member_id = p.member_id "
      "ORDER BY 1, 2";
  const auto r = m_c.query(sql, q.values);
  tx.commit();
  static const std::vector<std::string> order = {"champions", "loyal", "new", "potential_loyalists", "need_attention",
                                                 "cant_lose", "at_risk", "hibernating", "lost"};
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> seg;
  json members = json::array();
  std::int64_t total = 0;
  for (std::size_t i = 0; i < r.size(); ++i) {
    const std::string segment = r.text(i, 9);
    if (r.integer(i, 0) == 0) {
      seg[segment] = {r.integer(i, 4), r.integer(i, 5)};
      total += r.integer(i, 4);
      continue;
    }
    const auto rs = r.integer(i, 6), fs = r.integer(i, 7), ms = r.integer(i, 8);
    members.push_back({{"member_id", r.text(i, 1)},
                       {"card_no", opt(r, i, 2)},
                       {"last_visit", r.text(i, 3)},
                       {"recency_days", daysBetween(r.text(i, 3), asOf)},
                       {"frequency", r.integer(i, 4)},
                       {"monetary", money(r.integer(i, 5))},
                       {"r", rs},
                       {"f", fs},
                       {"m", ms},
                       {"rfm", std::to_string(rs) + std::to_string(fs) + std::to_string(ms)},
                       {"segment", segment}});
  }
  json segments = json::array();
  for (const auto& name : order) {
    const auto it = seg.find(name);
    segments.push_back({{"segment", name},
                        {"members", it == seg.end() ? 0 : it->second.first},
                        {"monetary", money(it == seg.end() ? 0 : it->second.second)}});
  }
  addMemberDetails(m_c, members);
  return {{"as_of", asOf}, {"segments", std::move(segments)}, {"members_total", total}, {"page", pageJson(f.page())},
          {"members", std::move(members)}};
}

// [SECTION] Churn

namespace {

/// SQL over member rows (visits, first_day and last_day: days, up to `asOf`): the days since the
/// last visit are at least `k` usual intervals, k·(last − first)/(visits − 1). In whole numbers
/// and without a division: (a − last)·(visits − 1) ≥ k·(last − first), a being as_of's day number,
/// is a·(visits − 1) + k·first ≥ (visits − 1 + k)·last: one reading of each day, and as_of's a
/// number already (parsing a day is most of such a test's cost on PostgreSQL, which parsed a
/// bound as_of on every row too: four days a member took 0.95 s of the lifecycle report's 3.1 s
/// at a million members, bench/results/analytics.json lifecycle_r34).
std::string intervalsSince(Q& q, const std::string& asOf, int k) {
  const std::string ks = std::to_string(k);
  return "(" + boundDayNumber(q, asOf) + " * (visits - 1) + " + ks + " * " +
         q.epochDay("first_day") + " >= (visits - 1 + " + ks + ") * " + q.epochDay("last_day") + ")";
}

/// The churn rule's two tests over member rows as intervalsSince's: at risk after twice the
/// usual interval without a visit, or after `days` days (a text comparison with the day `days`
/// before as_of: no day numbers).
std::string atRiskByInterval(Q& q, const std::string& asOf) { return "(visits >= 2 AND " + intervalsSince(q, asOf, 2) + ")"; }
std::string atRiskByDays(Q& q, const std::string& asOf, std::int64_t days) {
  return "(last_day <= " + q.t(addDays(asOf, -static_cast<int>(days))) + ")";
}

/// The churn rule: either test, the days' (no day numbers) first.
std::string atRisk(Q& q, const std::string& asOf, std::int64_t days) {
  return "(" + atRiskByDays(q, asOf, days) + " OR " + atRiskByInterval(q, asOf) + ")";
}

}  // namespace

json Reports::churn(const ReportFilter& f, const std::string& asOf, std::int64_t churnDays) {
  Q q(m_c);
  SqlTransaction tx(m_c, SqlTransaction::Kind::kRead);
  const std::string mp = memberPeriod(q, m_c, f, asOf);
  // Every member of the period is tested, so the test parses as few days as it can (atRisk's
  // tests; parsing a day is most of its cost: 0.2 s per million on PostgreSQL). The page alone
  // gets since and span. Measured on the 1M-member PostgreSQL bench (host at load 7-9): all-time
  // churn took 0.76 s of server CPU against 1.9 s, two stores 1.8 s against 2.5 s.
  const std::string asOfNo = boundDayNumber(q, asOf);
  const std::string intervalTest = atRiskByInterval(q, asOf), daysTest = atRiskByDays(q, asOf, churnDays);
  const std::string pLast = q.epochDay("p.last_day"), pFirst = q.epochDay("p.first_day");
  // Merged-away members have no sales of their own (a merge moves them to the survivor).
  const std::string sql =
      "WITH k AS MATERIALIZED (SELECT member_id, visits, net, first_day, last_day, CASE WHEN " + intervalTest +
      " THEN 'interval' ELSE 'days' END AS reason FROM (" + mp + ") mp WHERE sales > 0 AND (" + daysTest + " OR " + intervalTest + ")) "
      // Most valuable first (their spend in the period), then the longest absence (the earliest
      // last visit), so the page's first rows are the ones worth a call.
      "SELECT 0 AS kind, reason AS member_id, NULL AS card_no, NULL AS name, COUNT(*) AS visits, NULL AS first_day, "
      "NULL AS last_day, 0 AS span, 0 AS since, reason, 0 AS consent, NULL AS tier, 0 AS net, NULL AS phone, NULL AS store "
      "FROM k GROUP BY reason "
      "UNION ALL SELECT 1, p.member_id, m.card_no, m.name, p.visits, p.first_day, p.last_day, " + pLast + " - " + pFirst + ", " +
      asOfNo + " - " + pLast + ", p.reason, COALESCE(m.consent_marketing, 0), m.tier, p.net, m.phone, m.enrolled_store FROM "
      "(SELECT * FROM k ORDER BY net DESC, last_day, member_id" + pageClause(q, f) + ") p LEFT JOIN members m "
      "ON m.member_id = p.member_id ORDER BY 1, 13 DESC, 9 DESC, 2";
  const auto r = m_c.query(sql, q.values);
  tx.commit();
  json members = json::array();
  std::int64_t byInterval = 0, total = 0;
  for (std::size_t i = 0; i < r.size(); ++i) {
    const std::string reason = r.text(i, 9);
    if (r.integer(i, 0) == 0) {
      total += r.integer(i, 4);
      if (reason == "interval") byInterval = r.integer(i, 4);
      continue;
    }
    const std::int64_t visits = r.integer(i, 4);
    const std::int64_t span = r.integer(i, 7);
    members.push_back({{"member_id", r.text(i, 1)},
                       {"card_no", opt(r, i, 2)},
                       {"name", opt(r, i, 3)},
                       {"tier", opt(r, i, 11)},
                       {"phone", opt(r, i, 13)},
                       {"store", opt(r, i, 14)},
                       {"spend", money(r.integer(i, 12))},
                       {"visits", visits},
                       {"first_visit", r.text(i, 5)},
                       {"last_visit", r.text(i, 6)},
                       {"usual_interval_days", visits >= 2 ? json(static_cast<double>(span * 10 / (visits - 1)) / 10.0) : json(nullptr)},
                       {"days_since_visit", r.integer(i, 8)},
                       {"reason", reason},
                       {"consent_marketing", r.integer(i, 10) != 0}});
  }
  return {{"as_of", asOf},
          {"churn_days", churnDays},
          {"at_risk", total},
          {"by_reason", {{"interval", byInterval}, {"days", total - byInterval}}},
          {"page", pageJson(f.page())},
          {"members", std::move(members)}};
}

// [SECTION] Retention cohorts

json Reports::retention(const ReportFilter& f) {
  Q q(m_c);
  // The cohort aggregates: members enrolled per day and store, and of those the ones who
  // bought in each month since (agg_enrolment, agg_cohort).
  const std::string sql =
      "WITH sizes AS (SELECT substr(day, 1, 7) AS cohort, SUM(members) AS n FROM agg_enrolment WHERE " + q.dayIn("day", f) +
      " AND " + q.storeIn("store_id", f) + " GROUP BY substr(day, 1, 7) HAVING SUM(members) > 0), "
      "act AS (SELECT substr(enrol_day, 1, 7) AS cohort, " + Q::monthNo("month") + " - " + Q::monthNo("enrol_day") +
      " AS k, SUM(members) AS n FROM agg_cohort WHERE " + q.dayIn("enrol_day", f) + " AND " + q.storeIn("store_id", f) +
      " GROUP BY substr(enrol_day, 1, 7), " + Q::monthNo("month") + " - " + Q::monthNo("enrol_day") + " HAVING SUM(members) > 0) "
      "SELECT sizes.cohort, sizes.n, act.k, act.n FROM sizes LEFT JOIN act ON act.cohort = sizes.cohort "
      "ORDER BY sizes.cohort, act.k";
  SqlTransaction tx(m_c, SqlTransaction::Kind::kRead);
  const auto r = m_c.query(sql, q.values);
  tx.commit();
  json cohorts = json::array();
  for (std::size_t i = 0; i < r.size();) {
    const std::string cohort = r.text(i, 0);
    const std::int64_t size = r.integer(i, 1);
    json active = json::array();
    json rate = json::array();
    for (; i < r.size() && r.text(i, 0) == cohort; ++i) {
      if (r.isNull(i, 2)) continue;
      const std::int64_t k = r.integer(i, 2);
      while (static_cast<std::int64_t>(active.size()) < k) {
        active.push_back(0);
        rate.push_back(0.0);
      }
      active.push_back(r.integer(i, 3));
      rate.push_back(percent(r.integer(i, 3), size));
    }
    cohorts.push_back({{"cohort", cohort}, {"members", size}, {"active", std::move(active)}, {"retention", std::move(rate)}});
  }
  return {{"cohorts", std::move(cohorts)}};
}

// [SECTION] Referrals

json Reports::referrals(const ReportFilter& f) {
  Q q(m_c);
  // Referred members' purchases over all time, net of refunds (agg_member).
  const std::string sql =
      "WITH r AS (SELECT m.member_id, m.referrer_id FROM members m WHERE m.enrolled = 1 AND m.referrer_id IS NOT NULL AND " +
      q.dayIn("substr(m.enrolled_at, 1, 10)", f) + " AND " + q.storeIn("m.enrolled_store", f) + "), "
      "g AS MATERIALIZED (SELECT r.referrer_id, COUNT(*) AS referred, SUM(CASE WHEN a.sales > 0 THEN 1 ELSE 0 END) AS converted, "
      "COALESCE(SUM(a.net), 0) AS spend FROM r LEFT JOIN agg_member a ON a.member_id = r.member_id GROUP BY r.referrer_id) "
      "SELECT 0 AS kind, NULL AS referrer_id, NULL AS card_no, NULL AS name, COUNT(*) AS referred, "
      "COALESCE(SUM(converted), 0) AS converted, 0 AS spend FROM g "
      "UNION ALL SELECT 1, p.referrer_id, ref.card_no, ref.name, p.referred, p.converted, p.spend FROM (SELECT * FROM g "
      "ORDER BY referred DESC, referrer_id" + pageClause(q, f) + ") p LEFT JOIN members ref ON ref.member_id = p.referrer_id "
      "ORDER BY 1, 5 DESC, 2";
  Q q2(m_c);
  const std::string totals = "SELECT COUNT(*), COALESCE(SUM(CASE WHEN referrer_id IS NULL THEN 0 ELSE 1 END), 0) FROM members "
                             "WHERE enrolled = 1 AND " + q2.dayIn("substr(enrolled_at, 1, 10)", f) + " AND " +
                             q2.storeIn("enrolled_store", f);
  SqlTransaction tx(m_c, SqlTransaction::Kind::kRead);
  const auto r = m_c.query(sql, q.values);
  const auto t = m_c.query(totals, q2.values);
  tx.commit();
  json rows = json::array();
  std::int64_t converted = 0, referrers = 0;
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (r.integer(i, 0) == 0) {
      referrers = r.integer(i, 4);
      converted = r.integer(i, 5);
      continue;
    }
    rows.push_back({{"referrer_id", r.text(i, 1)}, {"card_no", opt(r, i, 2)},
                    {"name", opt(r, i, 3)}, {"referred", r.integer(i, 4)},
                    {"converted", r.integer(i, 5)}, {"referred_spend", money(r.integer(i, 6))}});
  }
  const std::int64_t enrolled = t.integer(0, 0), referred = t.integer(0, 1);
  return {{"enrolled", enrolled},
          {"referred", referred},
          {"referred_share", percent(referred, enrolled)},
          {"converted", converted},
          {"referrers", referrers},
          {"page", pageJson(f.page())},
          {"rows", std::move(rows)}};
}

// [SECTION] Satisfaction

Result<json> Reports::satisfaction(const ReportFilter& f, const std::string& period) {
  std::string key;
  if (period == "all") key = "'all'";
  else if (period == "month") key = "substr(day, 1, 7)";
  else if (period == "day") key = "day";
  else return Error{errc::kBadRequest, "period", "period is all, month or day"};
  Q q(m_c);
  // Days are the store's local days, fixed at ingest (survey_answers).
  const std::string sql = "SELECT store_id, " + key + " AS period, scale, score, COUNT(*) FROM survey_answers WHERE " +
                          q.dayIn("day", f) + " AND " + q.storeIn("store_id", f) + " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2";
  SqlTransaction tx(m_c, SqlTransaction::Kind::kRead);
  const auto r = m_c.query(sql, q.values);
  tx.commit();
  struct Acc {
    std::int64_t csatN = 0, csatSum = 0, satisfied = 0, npsN = 0, promoters = 0, passives = 0, detractors = 0;
    void add(const std::string& s, std::int64_t score, std::int64_t n) {
      if (s == "csat5") {
        csatN += n;
        csatSum += score * n;
        if (score >= 4) satisfied += n;
      } else if (s == "nps10") {
        npsN += n;
        if (score >= 9) promoters += n;
        else if (score >= 7) passives += n;
        else detractors += n;
      }
    }
    json toJson() const {
      return {{"csat_responses", csatN},
              {"csat", percent(satisfied, csatN)},
              {"csat_average", csatN == 0 ? json(0.0) : average2(csatSum, csatN)},
              {"nps_responses", npsN},
              {"promoters", promoters},
              {"passives", passives},
              {"detractors", detractors},
              {"nps", npsN == 0 ? 0.0 : static_cast<double>(((promoters - detractors) * 1000 + (promoters >= detractors ? npsN / 2 : -(npsN / 2))) / npsN) / 10.0}};
    }
  };
  std::map<std::pair<std::string, std::string>, Acc> by;
  std::map<std::string, Acc> byPeriod;
  Acc all;
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (r.isNull(i, 2) || r.isNull(i, 3)) continue;
    const auto s = r.text(i, 2);
    const auto score = r.integer(i, 3), n = r.integer(i, 4);
    by[{r.text(i, 0), r.text(i, 1)}].add(s, score, n);
    byPeriod[r.text(i, 1)].add(s, score, n);
    all.add(s, score, n);
  }
  json rows = json::array();
  for (const auto& [k, acc] : by) {
    json row = {{"store", k.first}, {"period", k.second}};
    row.update(acc.toJson());
    rows.push_back(std::move(row));
  }
  json periods = json::array();
  for (const auto& [k, acc] : byPeriod) {
    json row = {{"period", k}};
    row.update(acc.toJson());
    periods.push_back(std::move(row));
  }
  return json{{"period", period},
              {"total", all.toJson()},
              {"periods", std::move(periods)},
              {"rows", std::move(rows)},
              {"dimensions", surveyDimensions(f)}};
}

json Reports::surveyDimensions(const ReportFilter& f) {
  Q q(m_c);
  const std::string sql = "SELECT store_id, dimension, COUNT(*), SUM(score) FROM survey_dimensions WHERE " + q.dayIn("day", f) +
                          " AND " + q.storeIn("store_id", f) + " GROUP BY store_id, dimension ORDER BY store_id, dimension";
  SqlTransaction tx(m_c, SqlTransaction::Kind::kRead);
  const auto r = m_c.query(sql, q.values);
  tx.commit();
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> all;  // dimension -> (answers, sum)
  json stores = json::array();
  for (std::size_t i = 0; i < r.size(); ++i) {
    const std::int64_t n = r.integer(i, 2), sum = r.integer(i, 3);
    stores.push_back({{"store", r.text(i, 0)}, {"dimension", r.text(i, 1)}, {"responses", n}, {"average", average2(sum, n)}});
    auto& [an, asum] = all[r.text(i, 1)];
    an += n;
    asum += sum;
  }
  json total = json::array();
  for (const auto& [name, acc] : all) {
    total.push_back({{"dimension", name}, {"responses", acc.first}, {"average", average2(acc.second, acc.first)}});
  }
  return {{"total", std::move(total)}, {"stores", std::move(stores)}};
}

// [SECTION] Staff

json Reports::staff(const ReportFilter& f) {
  Q q(m_c);
  // Each source summed per (store, staff), then added up: a staff member's refunds are the ones
  // they processed, enrolments count on the enrolling store's UTC day (as the cohorts do), every
  // other fact on its store-local day. Staff ids are the terminals' (NULL: not recorded).
  const std::string complaintStaff = q.jsonText("e.payload", "staff_id");
  const std::string sql =
      "SELECT store_id, staff_id, CAST(SUM(sales) AS BIGINT), CAST(SUM(revenue) AS BIGINT), CAST(SUM(refunds) AS BIGINT), "
      "CAST(SUM(refunded) AS BIGINT), CAST(SUM(earned) AS BIGINT), CAST(SUM(redeemed) AS BIGINT), "
      "CAST(SUM(enrolments) AS BIGINT), CAST(SUM(redemptions) AS BIGINT), CAST(SUM(surveys) AS BIGINT), "
      "CAST(SUM(csat_n) AS BIGINT), CAST(SUM(csat_sum) AS BIGINT), CAST(SUM(complaints) AS BIGINT) FROM ("
      "SELECT store_id, staff_id, COUNT(*) AS sales, SUM(total) AS revenue, 0 AS refunds, 0 AS refunded, "
      "SUM(points_earned) AS earned, SUM(points_redeemed) AS redeemed, 0 AS enrolments, 0 AS redemptions, 0 AS surveys, "
      "0 AS csat_n, 0 AS csat_sum, 0 AS complaints FROM sales WHERE " + q.dayIn("day", f) + " AND " + q.storeIn("store_id", f) +
      " GROUP BY store_id, staff_id "
      "UNION ALL SELECT store_id, staff_id, 0, 0, COUNT(*), SUM(amount), 0, 0, 0, 0, 0, 0, 0, 0 FROM refunds WHERE " +
      q.dayIn("day", f) + " AND " + q.storeIn("store_id", f) + " GROUP BY store_id, staff_id "
      "UNION ALL SELECT store_id, staff_id, 0, 0, 0, 0, 0, SUM(points), 0, COUNT(*), 0, 0, 0, 0 FROM redemptions WHERE " +
      q.dayIn("day", f) + " AND " + q.storeIn("store_id", f) + " GROUP BY store_id, staff_id "
      "UNION ALL SELECT enrolled_store, enrolled_staff, 0, 0, 0, 0, 0, 0, COUNT(*), 0, 0, 0, 0, 0 FROM members WHERE enrolled = 1 AND " +
      q.dayIn("substr(enrolled_at, 1, 10)", f) + " AND " + q.storeIn("enrolled_store", f) + " GROUP BY enrolled_store, enrolled_staff "
      "UNION ALL SELECT store_id, staff_id, 0, 0, 0, 0, 0, 0, 0, 0, COUNT(*), COUNT(CASE WHEN scale = 'csat5' THEN 1 END), "
      "SUM(CASE WHEN scale = 'csat5' THEN score ELSE 0 END), 0 FROM survey_answers WHERE " + q.dayIn("day", f) + " AND " +
      q.storeIn("store_id", f) + " GROUP BY store_id, staff_id "
      "UNION ALL SELECT t.store_id, " + complaintStaff + ", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, COUNT(*) FROM events e "
      "JOIN terminals t ON t.terminal_id = e.terminal_id WHERE e.type = 'complaint.filed' AND " +
      q.dayIn("substr(e.at, 1, 10)", f) + " AND " + q.storeIn("t.store_id", f) + " GROUP BY t.store_id, " + complaintStaff +
      ") a GROUP BY store_id, staff_id ORDER BY store_id, staff_id IS NULL, staff_id";
  SqlTransaction tx(m_c, SqlTransaction::Kind::kRead);
  const auto r = m_c.query(sql, q.values);
  tx.commit();
  json rows = json::array();
  for (std::size_t i = 0; i < r.size(); ++i) {
    const std::int64_t revenue = r.integer(i, 3), refunded = r.integer(i, 5);
    rows.push_back({{"store", r.text(i, 0)},
                    {"staff_id", optJson(r, i, 1)},
                    {"sales", r.integer(i, 2)},
                    {"net_revenue", money(revenue - refunded)},
                    {"refunds", r.integer(i, 4)},
                    {"refunded", money(refunded)},
                    {"points_earned", r.integer(i, 6)},
                    {"points_redeemed", r.integer(i, 7)},
                    {"enrolments", r.integer(i, 8)},
                    {"redemptions", r.integer(i, 9)},
                    {"surveys", r.integer(i, 10)},
                    {"csat_responses", r.integer(i, 11)},
                    {"average_score", average2(r.integer(i, 12), r.integer(i, 11))},
                    {"complaints", r.integer(i, 13)}});
  }
  return {{"rows", std::move(rows)}};
}

// [SECTION] Complaints

json Reports::complaints(const ReportFilter& f, Timestamp now) {
  Q q(m_c);
  const std::string nowP = q.p(formatRfc3339(now));
  // Cases in the workflow, plus counter complaints not imported yet (they count as received).
  const std::string sql =
      "WITH allc AS (SELECT complaint_id, source, store_id, member_id, category, description, filed_at, step, owner, due_at, "
      "updated_at FROM complaint_cases UNION ALL "
      "SELECT " + q.jsonText("e.payload", "complaint_id") + ", 'counter', t.store_id, " + q.jsonText("e.payload", "member_id") +
      ", " + q.jsonText("e.payload", "category") + ", " + q.jsonText("e.payload", "description") +
      ", e.at, 'received', NULL, NULL, e.at FROM events e JOIN terminals t ON t.terminal_id = e.terminal_id "
      "WHERE e.type = 'complaint.filed' AND NOT EXISTS (SELECT 1 FROM complaint_cases c WHERE c.complaint_id = " +
      q.jsonText("e.payload", "complaint_id") + ")) "
      "SELECT complaint_id, source, store_id, member_id, category, description, filed_at, step, owner, due_at, updated_at, "
      "CASE WHEN step <> 'followed_up' AND due_at IS NOT NULL AND due_at < " + nowP + " THEN 1 ELSE 0 END "
      "FROM allc WHERE " + q.dayIn("substr(filed_at, 1, 10)", f) + " AND " + q.storeIn("store_id", f) +
      " ORDER BY filed_at, complaint_id";
  SqlTransaction tx(m_c, SqlTransaction::Kind::kRead);
  const auto r = m_c.query(sql, q.values);
  tx.commit();
  std::map<std::string, std::int64_t> byStep;
  for (const auto& s : complaintSteps()) byStep[s] = 0;
  std::int64_t overdue = 0, open = 0;
  json rows = json::array();
  for (std::size_t i = 0; i < r.size(); ++i) {
    const std::string step = r.text(i, 7);
    ++byStep[step];
    if (step != "followed_up") ++open;
    const bool late = r.integer(i, 11) != 0;
    if (late) ++overdue;
    rows.push_back({{"complaint_id", optJson(r, i, 0)}, {"source", r.text(i, 1)}, {"store", optJson(r, i, 2)},
                    {"member_id", optJson(r, i, 3)}, {"category", optJson(r, i, 4)}, {"description", optJson(r, i, 5)},
                    {"filed_at", r.text(i, 6)}, {"step", step},
                    {"step_no", static_cast<std::int64_t>(std::find(complaintSteps().begin(), complaintSteps().end(), step) -
                                                          complaintSteps().begin()) + 1},
                    {"owner", optJson(r, i, 8)}, {"due_at", optJson(r, i, 9)}, {"updated_at", r.text(i, 10)},
                    {"overdue", late}});
  }
  json steps = json::array();
  for (const auto& s : complaintSteps()) steps.push_back({{"step", s}, {"complaints", byStep[s]}});
  return {{"as_of", formatRfc3339(now)},
          {"total", static_cast<std::int64_t>(rows.size())},
          {"open", open},
          {"overdue", overdue},
          {"steps", std::move(steps)},
          {"rows", std::move(rows)}};
}

std::int64_t Reports::importCounterComplaints(Timestamp now) {
  Q q(m_c);
  const std::string id = q.jsonText("e.payload", "complaint_id");
  const std::string from =
      " FROM events e JOIN terminals t ON t.terminal_id = e.terminal_id WHERE e.type = 'complaint.filed' AND " + id +
      " IS NOT NULL AND NOT EXISTS (SELECT 1 FROM complaint_cases c WHERE c.complaint_id = " + id + ")";
  // Most calls (every view of a member's page, of a complaint, of the complaints report) find
  // nothing new: they look first, without the store-wide writer lock, and take it only to import.
  if (m_c.query("SELECT 1" + from + " LIMIT 1", q.values).empty()) return 0;
  const std::string sql = "SELECT " + id + ", e.terminal_id, t.store_id, " + q.jsonText("e.payload", "member_id") + ", " +
                          q.jsonText("e.payload", "category") + ", " + q.jsonText("e.payload", "description") + ", " +
                          q.jsonText("e.payload", "staff_id") + ", e.at" + from + " ORDER BY e.at";
  SqlTransaction tx(m_c);
  const auto r = m_c.query(sql, q.values);
  std::int64_t added = 0;
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (r.isNull(i, 0)) continue;
    const std::string filed = r.text(i, 7);
    auto at = parseRfc3339(filed, "at");
    const std::string filedUtc = at ? formatRfc3339(*at) : filed;
    const std::string due = at ? formatRfc3339(*at + std::chrono::hours(48)) : filed;
    const auto ins = m_c.query(
        "INSERT INTO complaint_cases(complaint_id, source, store_id, terminal_id, member_id, category, description, staff_id, "
        "filed_at, step, owner, due_at, updated_at, history_count) VALUES ($1, 'counter', $2, $3, $4, $5, $6, $7, $8, "
        "'received', NULL, $9, $10, 1) ON CONFLICT (complaint_id) DO NOTHING RETURNING 1",
        {r.text(i, 0), r.text(i, 2), r.text(i, 1), r.isNull(i, 3) ? SqlValue(nullptr) : SqlValue(r.text(i, 3)),
         r.isNull(i, 4) ? SqlValue(std::string("other")) : SqlValue(r.text(i, 4)),
         r.isNull(i, 5) ? SqlValue(std::string()) : SqlValue(r.text(i, 5)),
         r.isNull(i, 6) ? SqlValue(nullptr) : SqlValue(r.text(i, 6)), filedUtc, due, formatRfc3339(now)});
    if (ins.empty()) continue;
    m_c.query("INSERT INTO complaint_history(complaint_id, entry_no, at, actor, from_step, to_step, owner, due_at, note) "
              "VALUES ($1, 1, $2, $3, NULL, 'received', NULL, $4, 'filed at the counter')",
              {r.text(i, 0), filedUtc, "terminal " + r.text(i, 1), due});
    ++added;
  }
  tx.commit();
  return added;
}

namespace {
Result<std::string> checkedDue(const std::optional<std::string>& due) {
  if (!due) return std::string();
  auto t = parseRfc3339(*due, "due");
  if (!t) return invalidArgument("due", "due is an RFC 3339 time such as 2026-11-25T18:00:00Z");
  return formatRfc3339(*t);
}
Result<Ok> checkText(const std::optional<std::string>& v, const char* field, std::size_t max) {
  if (v && v->size() > max) return invalidArgument(field, std::string(field) + " is at most " + std::to_string(max) + " bytes");
  return Ok{};
}
}  // namespace

Result<json> Reports::fileComplaint(const ComplaintFiling& c, const std::string& actor, Timestamp now) {
  if (!validId(c.complaintId)) return invalidArgument("complaint_id", "complaint_id is 1 to 128 printable characters without spaces");
  if (c.storeId && !validId(*c.storeId)) return invalidArgument("store", "store is a store id");
  if (c.memberId && !validId(*c.memberId)) return invalidArgument("member_id", "member_id is a member id");
  if (c.category.empty() || c.category.size() > 64) return invalidArgument("category", "category is 1 to 64 bytes");
  if (c.description.empty() || c.description.size() > 4000) return invalidArgument("description", "description is 1 to 4000 bytes");
  if (auto ok = checkText(c.owner, "owner", 128); !ok) return ok.error();
  auto due = checkedDue(c.due);
  if (!due) return due.error();
  const std::string at = formatRfc3339(now);
  const std::string dueAt = due->empty() ? formatRfc3339(now + std::chrono::hours(48)) : *due;
  {
    SqlTransaction tx(m_c);
    if (auto gone = refuseNoteOnErased(m_c, c.memberId.value_or(""), "member_id", "complaint " + c.complaintId)) return *gone;
    const auto ins = m_c.query(
        "INSERT INTO complaint_cases(complaint_id, source, store_id, terminal_id, member_id, category, description, staff_id, "
        "filed_at, step, owner, due_at, updated_at, history_count) VALUES ($1, 'hq', $2, NULL, $3, $4, $5, NULL, $6, "
        "'received', $7, $8, $6, 1) ON CONFLICT (complaint_id) DO NOTHING RETURNING 1",
        {c.complaintId, c.storeId ? SqlValue(*c.storeId) : SqlValue(nullptr), c.memberId ? SqlValue(*c.memberId) : SqlValue(nullptr),
         c.category, c.description, at, c.owner ? SqlValue(*c.owner) : SqlValue(nullptr), dueAt});
    if (ins.empty()) return Error{errc::kConflict, "complaint_id", "complaint " + c.complaintId + " already exists"};
    m_c.query("INSERT INTO complaint_history(complaint_id, entry_no, at, actor, from_step, to_step, owner, due_at, note) "
              "VALUES ($1, 1, $2, $3, NULL, 'received', $4, $5, 'filed at head office')",
              {c.complaintId, at, actor, c.owner ? SqlValue(*c.owner) : SqlValue(nullptr), dueAt});
    recordAudit(m_c, {at, actor, audit::kComplaintFile, c.complaintId, std::nullopt, c.category});
    tx.commit();
  }
  return complaint(c.complaintId);
}

Result<Ok> checkComplaintUpdate(const ComplaintUpdate& u) {
  if (auto ok = checkText(u.owner, "owner", 128); !ok) return ok.error();
  if (auto ok = checkText(u.note, "note", 4000); !ok) return ok.error();
  if (auto due = checkedDue(u.due); !due) return due.error();
  const auto& steps = complaintSteps();
  if (u.step && std::find(steps.begin(), steps.end(), *u.step) == steps.end()) {
    return invalidArgument("step", "step is one of received, acknowledged, investigated, solution_proposed, resolved, followed_up");
  }
  if (!u.step && !u.owner && !u.due && !u.note) return invalidArgument("step", "nothing to change: give step, owner, due or note");
  return Ok{};
}

Result<json> Reports::updateComplaint(const std::string& complaintId, const ComplaintUpdate& u, const std::string& actor,
                                      Timestamp now) {
  if (auto ok = checkComplaintUpdate(u); !ok) return ok.error();
  const auto due = checkedDue(u.due);
  const auto& steps = complaintSteps();
  importCounterComplaints(now);
  {
    SqlTransaction tx(m_c);
    const auto cur = m_c.query("SELECT step, owner, due_at, history_count, COALESCE(member_id, '') FROM complaint_cases "
                               "WHERE complaint_id = $1",
                               {complaintId});
    if (cur.empty()) return Error{errc::kNotFound, "complaint_id", "no complaint " + complaintId};
    if (u.note) {
      if (auto gone = refuseNoteOnErased(m_c, cur.text(0, 4), "note", "complaint " + complaintId)) return *gone;
    }
    const std::string from = cur.text(0, 0);
    if (from == steps.back()) {
      return Error{errc::kConflict, "step", "complaint " + complaintId + " is closed (" + from + "): it can no longer be changed"};
    }
    const std::string to = u.step.value_or(from);
    const auto fromNo = std::find(steps.begin(), steps.end(), from) - steps.begin();
    const auto toNo = std::find(steps.begin(), steps.end(), to) - steps.begin();
    if (toNo != fromNo && toNo != fromNo + 1) {
      return Error{errc::kConflict, "step",
                   "complaint " + complaintId + " is at step " + from + "; it can only move to the next step" +
                       (fromNo + 1 < static_cast<long>(steps.size()) ? " (" + steps[static_cast<std::size_t>(fromNo + 1)] + ")" : "")};
    }
    const SqlValue owner = u.owner ? SqlValue(*u.owner) : (cur.isNull(0, 1) ? SqlValue(nullptr) : SqlValue(cur.text(0, 1)));
    const SqlValue dueAt = u.due ? SqlValue(*due) : (cur.isNull(0, 2) ? SqlValue(nullptr) : SqlValue(cur.text(0, 2)));
    const std::int64_t entry = cur.integer(0, 3) + 1;
    const std::string at = formatRfc3339(now);
    m_c.query("UPDATE complaint_cases SET step = $2, owner = $3, due_at = $4, updated_at = $5, history_count = $6 "
              "WHERE complaint_id = $1",
              {complaintId, to, owner, dueAt, at, entry});
    m_c.query("INSERT INTO complaint_history(complaint_id, entry_no, at, actor, from_step, to_step, owner, due_at, note) "
              "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
              {complaintId, entry, at, actor, from, to, owner, dueAt, u.note ? SqlValue(*u.note) : SqlValue(nullptr)});
    recordAudit(m_c, {at, actor, audit::kComplaintUpdate, complaintId, std::nullopt, from == to ? to : from + " -> " + to});
    tx.commit();
  }
  return complaint(complaintId);
}

Result<json> Reports::complaint(const std::string& complaintId) {
  SqlTransaction tx(m_c, SqlTransaction::Kind::kRead);
  const auto c = m_c.query(
      "SELECT complaint_id, source, store_id, member_id, category, description, filed_at, step, owner, due_at, updated_at "
      "FROM complaint_cases WHERE complaint_id = $1",
      {complaintId});
  if (c.empty()) return Error{errc::kNotFound, "complaint_id", "no complaint " + complaintId + " in the workflow"};
  const auto h = m_c.query(
      "SELECT entry_no, at, actor, from_step, to_step, owner, due_at, note FROM complaint_history WHERE complaint_id = $1 "
      "ORDER BY entry_no",
      {complaintId});
  tx.commit();
  json history = json::array();
  for (std::size_t i = 0; i < h.size(); ++i) {
    history.push_back({{"entry", h.integer(i, 0)}, {"at", h.text(i, 1)}, {"actor", h.text(i, 2)}, {"from_step", optJson(h, i, 3)},
                       {"to_step", h.text(i, 4)}, {"owner", optJson(h, i, 5)}, {"due_at", optJson(h, i, 6)},
                       {"note", optJson(h, i, 7)}});
  }
  return json{{"complaint_id", c.text(0, 0)}, {"source", c.text(0, 1)}, {"store", optJson(c, 0, 2)},
              {"member_id", optJson(c, 0, 3)}, {"category", c.text(0, 4)}, {"description", c.text(0, 5)},
              {"filed_at", c.text(0, 6)}, {"step", c.text(0, 7)}, {"owner", optJson(c, 0, 8)}, {"due_at", optJson(c, 0, 9)},
              {"updated_at", c.text(0, 10)}, {"history", std::move(history)}};
}

// [SECTION] Points

json Reports::points(const ReportFilter& f) {
  Q q(m_c);
  // Ledger entries in the period (agg_points); with a store filter, those caused by that
  // store's events.
  const std::string sql = "SELECT kind, SUM(credited), SUM(debited), SUM(entries) FROM agg_points WHERE " +
                          q.dayIn("day", f) + " AND " + q.storeIn("store_id", f) + " GROUP BY kind ORDER BY kind";
  Q q2(m_c);
  const std::string liab =
      "SELECT COALESCE(SUM(CASE WHEN balance > 0 THEN balance ELSE 0 END), 0), "
      "COALESCE(SUM(CASE WHEN balance > 0 THEN 1 ELSE 0 END), 0), "
      "COALESCE(SUM(CASE WHEN balance < 0 THEN -balance ELSE 0 END), 0), "
      "COALESCE(SUM(CASE WHEN balance < 0 THEN 1 ELSE 0 END), 0) FROM members WHERE merged_into IS NULL AND " +
      q2.storeIn("enrolled_store", f);
  Q q3(m_c);
  const std::string od = "SELECT COALESCE(o.authorised, 'unknown'), COUNT(*), COALESCE(SUM(o.points), 0) FROM overdrafts o "
                         "JOIN events e ON e.event_id = o.event_id JOIN terminals t ON t.terminal_id = e.terminal_id WHERE " +
                         q3.dayIn("substr(o.at, 1, 10)", f) + " AND " + q3.storeIn("t.store_id", f) +
                         " GROUP BY COALESCE(o.authorised, 'unknown') ORDER BY 1";
  SqlTransaction tx(m_c, SqlTransaction::Kind::kRead);
  const auto r = m_c.query(sql, q.values);
  const auto l = m_c.query(liab, q2.values);
  const auto o = m_c.query(od, q3.values);
  tx.commit();
  std::int64_t issued = 0, redeemed = 0, expired = 0, reversed = 0, adjustedOut = 0;
  json kinds = json::array();
  for (std::size_t i = 0; i < r.size(); ++i) {
    const std::string kind = r.text(i, 0);
    const std::int64_t plus = r.integer(i, 1), minus = r.integer(i, 2);
    if (kind == "earn" || kind == "bonus" || kind == "returned" || kind == "adjust") issued += plus;
    if (kind == "redeem") redeemed += minus;
    else if (kind == "expire") expired += minus;
    else if (kind == "reversal") reversed += minus;
    else if (kind == "adjust" || kind == "bonus") adjustedOut += minus;
    kinds.push_back({{"kind", kind}, {"entries", r.integer(i, 3)}, {"credited", plus}, {"debited", minus}});
  }
  json overdrafts = json::array();
  std::int64_t odCount = 0, odPoints = 0;
  for (std::size_t i = 0; i < o.size(); ++i) {
    odCount += o.integer(i, 1);
    odPoints += o.integer(i, 2);
    overdrafts.push_back({{"authorised", o.text(i, 0)}, {"count", o.integer(i, 1)}, {"points", o.integer(i, 2)}});
  }
  const std::int64_t outstanding = l.integer(0, 0);
  return {{"issued", issued},
          {"redeemed", redeemed},
          {"expired", expired},
          {"reversed", reversed},
          {"adjusted_out", adjustedOut},
          {"outstanding", outstanding},
          {"outstanding_members", l.integer(0, 1)},
          {"liability", money(outstanding)},  // 100 points = 1.00
          {"debt_points", l.integer(0, 2)},
          {"debt_members", l.integer(0, 3)},
          {"overdrafts", odCount},
          {"overdraft_points", odPoints},
          {"overdrafts_by_authorisation", std::move(overdrafts)},
          {"rows", std::move(kinds)}};
}

// [SECTION] Campaign list

json Reports::campaignMembers(const ReportFilter& f) {
  Q q(m_c);
  const std::string sql =
      "SELECT member_id, card_no, name, phone, COALESCE(language, ''), tier, COALESCE(consent_version, ''), enrolled_store, "
      "substr(enrolled_at, 1, 10) FROM members WHERE enrolled = 1 AND merged_into IS NULL AND erased_at IS NULL "
      "AND consent_marketing = 1 AND " +
      q.dayIn("substr(enrolled_at, 1, 10)", f) + " AND " + q.storeIn("enrolled_store", f);
  SqlTransaction tx(m_c, SqlTransaction::Kind::kRead);
  const std::vector<SqlValue> filterParams = q.values;  // the count takes no page
  const auto r = m_c.query(sql + " ORDER BY member_id" + pageClause(q, f), q.values);
  const std::int64_t total = f.limit < 0 && f.offset == 0
                                 ? static_cast<std::int64_t>(r.size())
                                 : m_c.query("SELECT COUNT(*) FROM (" + sql + ") c", filterParams).integer(0, 0);
  tx.commit();
  json rows = json::array();
  for (std::size_t i = 0; i < r.size(); ++i) {
    rows.push_back({{"member_id", r.text(i, 0)}, {"card_no", r.text(i, 1)}, {"name", r.text(i, 2)}, {"phone", r.text(i, 3)},
                    {"language", r.text(i, 4)}, {"tier", r.text(i, 5)}, {"consent_version", r.text(i, 6)},
                    {"enrolled_store", r.text(i, 7)}, {"enrolled", r.text(i, 8)}});
  }
  return {{"members", total}, {"page", pageJson(f.page())}, {"rows", std::move(rows)}};
}


// [SECTION] Charts: the Pareto curve, lifecycle stages and the "due to buy" list
// (charts.hpp draws them; docs/reports.md "Charts")

json Reports::pareto(const ReportFilter& f, const std::string& asOf, std::int64_t bins) {
  Q q(m_c);
  SqlTransaction tx(m_c, SqlTransaction::Kind::kReadScratch);
  bool plain = false;
  const std::string mp = rankedMembers(q, m_c, f, &plain);
  // Customers in spend order (ties by member id, as ABC), cut into `bins` groups of (nearly)
  // equal size: each group's members and spend. The classes by ABC's own ranking (one rule, one
  // place): its cuts, or its window functions where ABC ranks by them.
  std::vector<Bucket> groups;
  AbcFigures classes;
  if (plain) {
    const AbcCuts abc(m_c, mp);
    classes = abc.totals();
    groups = equalGroups(m_c, abc.rows, abc.spend, abc.buckets, bins);
  } else {
    const auto r = m_c.query(abcRankedWith(q, mp) + ", k AS MATERIALIZED (SELECT spend, " + kAbcClassOfRanked + " AS cls, (rn - 1) * " +
                                 q.p(bins) + " / (SELECT COUNT(*) FROM mp) AS bin FROM ranked, tot) "
                                 "SELECT 0 AS kind, bin, COUNT(*), " + q.sum("spend") + " FROM k GROUP BY bin "
                                 "UNION ALL SELECT 1, cls, COUNT(*), " + q.sum("spend") + " FROM k GROUP BY cls ORDER BY 1, 2",
                             q.values);
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (r.integer(i, 0) == 0) {
        groups.push_back({r.text(i, 1), r.text(i, 1), r.integer(i, 2), r.integer(i, 3)});
        continue;
      }
      const auto k = static_cast<std::size_t>(r.integer(i, 1));
      classes.counts[k] = r.integer(i, 2);
      classes.spend[k] = r.integer(i, 3);
    }
  }
  tx.commit();
  std::int64_t total = 0, n = 0;
  for (const auto& g : groups) total += g.weight, n += g.members;
  json out = json::array();
  std::int64_t cum = 0, ranked = 0;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    cum += groups[i].weight;
    ranked += groups[i].members;
    out.push_back({{"bin", static_cast<std::int64_t>(i) + 1}, {"members", groups[i].members}, {"spend", money(groups[i].weight)},
                   {"spend_share", percent(groups[i].weight, total)}, {"cumulative_members_share", percent(ranked, n)},
                   {"cumulative_share", percent(cum, total)}});
  }
  // The course's ideal mix of core customers beside the actual one.
  static constexpr std::int64_t kIdeal[] = {20, 40, 40};
  json mix = json::array();
  for (int k = 0; k < 3; ++k) {
    mix.push_back({{"class", kClassNames[k]}, {"members", classes.counts[k]}, {"share", percent(classes.counts[k], n)},
                   {"ideal_share", kIdeal[k]}, {"spend", money(classes.spend[k])}, {"spend_share", percent(classes.spend[k], total)}});
  }
  return {{"as_of", asOf}, {"members", n}, {"spend", money(total)}, {"cuts", {{"A", 55}, {"B", 85}}},
          {"mix", std::move(mix)}, {"bins", std::move(out)}};
}

namespace {

const std::vector<std::string>& lifecycleStages() {
  static const std::vector<std::string> s = {"prospect", "first_purchase", "repeat", "loyal", "advocate", "lapsed"};
  return s;
}

/// CTE `adv`: the advocates, members who brought in a member who bought (referrals of all
/// time). Written aside once, so that every stage test reads it as a set: PostgreSQL's choice
/// between a set and a lookup per member went by its guess of how many member rows there are,
/// and for rows added up over months and days it guessed 67 (684,101 at a million members:
/// 375,648 lookups, 1.7 s of a range's lifecycle report). Said to hold referred members only,
/// it reads them by members_referrer (a tenth of the members in the bench) instead of joining
/// every member to agg_member (0.4 s against 1.0 s at a million).
std::string advocates() {
  return "adv AS MATERIALIZED (SELECT r.referrer_id FROM members r JOIN agg_member a ON a.member_id = r.member_id "
         "WHERE r.referrer_id IS NOT NULL AND a.sales > 0)";
}

/// The lifecycle rule over member rows (rows `t`: member_id, visits, first_day, last_day; visits 0
/// for a member without a purchase; CTE `adv` from advocates()), in its order: a member is in the
/// first stage whose test holds: prospect, lapsed (at risk), advocate, loyal (5 visits or more),
/// repeat (2 or more), else first purchase (its test empty).
struct StageRule {
  std::string stage, test;
};
std::vector<StageRule> stageRules(Q& q, const std::string& asOf, std::int64_t churnDays) {
  return {{"prospect", "t.visits = 0"},
          {"lapsed", atRisk(q, asOf, churnDays)},
          {"advocate", "t.member_id IN (SELECT referrer_id FROM adv)"},
          {"loyal", "t.visits >= 5"},
          {"repeat", "t.visits >= 2"},
          {"first_purchase", ""}};
}

/// SQL: the stage of a member row under `rules`.
std::string stageOf(const std::vector<StageRule>& rules) {
  std::string s = "CASE";
  for (const auto& r : rules) s += r.test.empty() ? " ELSE '" + r.stage + "'" : " WHEN " + r.test + " THEN '" + r.stage + "'";
  return s + " END";
}

/// SQL: the member row is in `stage` (one of `rules`): no earlier test holds, its own does. For
/// one stage's page, cheaper than comparing stageOf with it: only the tests up to that stage's
/// run (stageOf = 'lapsed' looked every buyer not lapsed up among the advocates). The lapsed
/// page's filter at a million members, in psql: 0.2 s, against 0.8 s with the advocates' set
/// (0.23 s) built for it (bench/results/analytics.json lifecycle_r35).
std::string inStage(const std::vector<StageRule>& rules, const std::string& stage) {
  std::string s = "(1 = 1";
  for (const auto& r : rules) {
    if (r.stage == stage) return s + (r.test.empty() ? "" : " AND (" + r.test + ")") + ")";
    s += " AND (" + r.test + ") IS NOT TRUE";  // as CASE reads a NULL test: not taken
  }
  throw std::logic_error("not a lifecycle stage: " + stage);
}

}  // namespace

json Reports::lifecycle(const ReportFilter& f, const std::string& asOf, std::int64_t churnDays, const std::string& stage) {
  Q q(m_c);
  SqlTransaction tx(m_c, SqlTransaction::Kind::kRead);
  bool plain = false;
  const std::string mp = memberPeriod(q, m_c, f, asOf, &plain);
  const auto rules = stageRules(q, asOf, churnDays);
  const std::string stageSql = stageOf(rules);
  // `b`: the buyers (sales in the period up to as_of); `pr`, the prospects: every member known by
  // then, enrolled at the filter's stores, who bought nothing in it (a few, written aside for
  // their count and their page). agg_member as it is is read again for each use rather than
  // written aside (on PostgreSQL, at a million members, the written copy spilled to disk and was
  // sorted for the prospects).
  const std::string buyers = "b AS " + std::string(plain ? "NOT " : "") +
                             "MATERIALIZED (SELECT member_id, visits, net, first_day, last_day FROM (" + mp + ") x WHERE sales > 0), "
                             "pr AS MATERIALIZED (SELECT m.member_id FROM members m WHERE m.enrolled = 1 AND m.merged_into IS NULL "
                             "AND m.erased_at IS NULL AND substr(m.enrolled_at, 1, 10) <= " + q.t(asOf) + " AND " +
                             q.storeIn("m.enrolled_store", f) + " AND NOT EXISTS (SELECT 1 FROM b WHERE b.member_id = m.member_id))";
  // The page, by spend (prospects spent 0; ties by member id): the first offset + limit buyers
  // of the stage asked for and the first offset + limit prospects, then the page of those. The
  // stages are not written aside for the page (a million rows written and read again: 0.8 s):
  // worked out for the counts, again for the page's rows, and for one stage's page its tests
  // (inStage) again for every buyer.
  const RowPage page = f.page();
  const std::string upTo = pageClause(q, m_c.backend(), RowPage{0, page.limit < 0 ? -1 : page.offset + page.limit});
  std::string listed;
  if (stage != "prospect") {
    listed = "SELECT * FROM (SELECT member_id, visits, net, first_day, last_day FROM b t" +
             (stage.empty() ? "" : " WHERE " + inStage(rules, stage)) + " ORDER BY net DESC, member_id" + upTo + ") l1";
  }
  if (stage.empty() || stage == "prospect") {
    listed += std::string(listed.empty() ? "" : " UNION ALL ") +
              "SELECT * FROM (SELECT member_id, 0 AS visits, 0 AS net, NULL AS first_day, NULL AS last_day FROM pr ORDER BY member_id" +
              upTo + ") l2";
  }
  const std::string sql =
      "WITH " + buyers + ", " + advocates() +
      " SELECT 0 AS kind, stage, COUNT(*) AS n, NULL AS member_id, NULL AS card_no, NULL AS name, NULL AS phone, NULL AS tier, "
      "NULL AS store, 0 AS visits, 0 AS net, NULL AS last_day, 0 AS since FROM (SELECT " + stageSql + " AS stage FROM b t) s "
      "GROUP BY stage UNION ALL SELECT 0, 'prospect', COUNT(*), NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, 0 FROM pr "
      "UNION ALL SELECT 1, p.stage, 0, p.member_id, m.card_no, m.name, m.phone, m.tier, m.enrolled_store, p.visits, "
      "p.net, p.last_day, p.since FROM (SELECT t.member_id, t.visits, t.net, t.last_day, " + stageSql + " AS stage, " +
      boundDayNumber(q, asOf) + " - " + q.epochDay("t.last_day") + " AS since FROM (SELECT * FROM (" + listed +
      ") l ORDER BY net DESC, member_id" + pageClause(q, f) + ") t) p LEFT JOIN members m ON m.member_id = p.member_id "
      "ORDER BY 1, 11 DESC, 4";
  const auto r = m_c.query(sql, q.values);
  tx.commit();
  std::map<std::string, std::int64_t> counts;
  json members = json::array();
  std::int64_t total = 0;
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (r.integer(i, 0) == 0) {
      counts[r.text(i, 1)] += r.integer(i, 2);
      total += r.integer(i, 2);
      continue;
    }
    const bool bought = r.integer(i, 9) > 0;
    members.push_back({{"member_id", r.text(i, 3)}, {"card_no", opt(r, i, 4)}, {"name", opt(r, i, 5)}, {"phone", opt(r, i, 6)},
                       {"tier", opt(r, i, 7)}, {"store", opt(r, i, 8)}, {"stage", r.text(i, 1)}, {"visits", r.integer(i, 9)},
                       {"spend", money(r.integer(i, 10))}, {"last_visit", bought ? json(r.text(i, 11)) : json(nullptr)},
                       {"days_since_visit", bought ? json(r.integer(i, 12)) : json(nullptr)}});
  }
  json stages = json::array();
  for (const auto& s : lifecycleStages()) stages.push_back({{"stage", s}, {"members", counts[s]}, {"share", percent(counts[s], total)}});
  return {{"as_of", asOf}, {"churn_days", churnDays}, {"members_total", total}, {"stages", std::move(stages)},
          {"stage", stage.empty() ? json(nullptr) : json(stage)}, {"page", pageJson(f.page())}, {"members", std::move(members)}};
}

json Reports::dueToBuy(const ReportFilter& f, const std::string& asOf, std::int64_t churnDays) {
  Q q(m_c);
  SqlTransaction tx(m_c, SqlTransaction::Kind::kRead);
  const std::string mp = memberPeriod(q, m_c, f, asOf);
  const std::string asOfNo = boundDayNumber(q, asOf);
  // Due: the usual interval ((last - first) / (visits - 1)) has passed since the last visit,
  // and the churn warning (twice that, or churn_days) has not yet taken them over. The usual
  // interval and the days since the last visit are worked out for the page's rows only.
  const std::string sql =
      "WITH k AS MATERIALIZED (SELECT member_id, visits, net, first_day, last_day FROM (" + mp + ") mp WHERE sales > 0 AND "
      "visits >= 2 AND " + intervalsSince(q, asOf, 1) + " AND NOT " + atRisk(q, asOf, churnDays) + ") "
      "SELECT 0 AS kind, NULL AS member_id, NULL AS card_no, NULL AS name, NULL AS phone, NULL AS tier, NULL AS store, "
      "COUNT(*) AS visits, 0 AS net, NULL AS last_day, 0 AS span, 0 AS since, 0 AS consent FROM k "
      "UNION ALL SELECT 1, p.member_id, m.card_no, m.name, m.phone, m.tier, m.enrolled_store, p.visits, p.net, p.last_day, " +
      q.epochDay("p.last_day") + " - " + q.epochDay("p.first_day") + ", " + asOfNo + " - " + q.epochDay("p.last_day") +
      ", COALESCE(m.consent_marketing, 0) FROM (SELECT * FROM k ORDER BY net DESC, member_id" + pageClause(q, f) +
      ") p LEFT JOIN members m ON m.member_id = p.member_id ORDER BY 1, 9 DESC, 2";
  const auto r = m_c.query(sql, q.values);
  tx.commit();
  json members = json::array();
  std::int64_t total = 0;
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (r.integer(i, 0) == 0) {
      total = r.integer(i, 7);
      continue;
    }
    const std::int64_t visits = r.integer(i, 7), span = r.integer(i, 10), since = r.integer(i, 11);
    // Tenths of a day, rounded down, as the churn report gives the usual interval.
    const std::int64_t interval10 = span * 10 / (visits - 1);
    const std::string last = r.text(i, 9);
    members.push_back({{"member_id", r.text(i, 1)}, {"card_no", opt(r, i, 2)}, {"name", opt(r, i, 3)}, {"phone", opt(r, i, 4)},
                       {"tier", opt(r, i, 5)}, {"store", opt(r, i, 6)}, {"visits", visits}, {"spend", money(r.integer(i, 8))},
                       {"last_visit", last}, {"usual_interval_days", static_cast<double>(interval10) / 10.0},
                       {"due_day", addDays(last, static_cast<int>((interval10 + 9) / 10))},
                       {"days_since_visit", since}, {"consent_marketing", r.integer(i, 12) != 0}});
  }
  return {{"as_of", asOf}, {"churn_days", churnDays}, {"due", total}, {"page", pageJson(f.page())}, {"members", std::move(members)}};
}

}  // namespace loyalty::hq
