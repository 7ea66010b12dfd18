#include "loyalty/hq/aggregates.hpp"

#include <map>
#include <vector>

namespace loyalty::hq {

namespace {

// [SECTION] Schema

constexpr const char* kTables = R"SQL(
CREATE TABLE agg_sales(
  day TEXT NOT NULL, hour TEXT NOT NULL, store_id {{ID}} NOT NULL, terminal_id {{ID}} NOT NULL, member BIGINT NOT NULL,
  sales BIGINT NOT NULL, gross BIGINT NOT NULL, refunds BIGINT NOT NULL, refunded BIGINT NOT NULL,
  PRIMARY KEY(day, hour, store_id, terminal_id, member));
CREATE TABLE agg_member_month(
  month TEXT NOT NULL, member_id {{ID}} NOT NULL, sales BIGINT NOT NULL, net BIGINT NOT NULL, visits BIGINT NOT NULL,
  first_day TEXT, last_day TEXT, PRIMARY KEY(month, member_id){{INCLUDE}});
CREATE INDEX agg_member_month_member ON agg_member_month(member_id);
CREATE TABLE agg_member(
  member_id {{ID}} PRIMARY KEY, sales BIGINT NOT NULL, net BIGINT NOT NULL, visits BIGINT NOT NULL,
  first_day TEXT, last_day TEXT);
CREATE TABLE agg_product(
  day TEXT NOT NULL, store_id {{ID}} NOT NULL, sku {{ID}} NOT NULL, description {{ID}} NOT NULL, sales BIGINT NOT NULL,
  qty BIGINT NOT NULL, amount BIGINT NOT NULL, PRIMARY KEY(day, store_id, sku));
CREATE TABLE agg_points(
  day TEXT NOT NULL, store_id {{ID}} NOT NULL, kind TEXT NOT NULL, entries BIGINT NOT NULL, credited BIGINT NOT NULL,
  debited BIGINT NOT NULL, PRIMARY KEY(day, store_id, kind));
)SQL";

/// A store's rows (and a month's, in agg_member_month) are read together: on PostgreSQL the key
/// carries every column (index-only scans: measured 0.2 s against 0.7 s for one store's 290,000
/// rows scattered over a 4.6M-row table; a quarter of agg_member_month, 790,000 rows of 6.4M,
/// 0.2 s against 1.5 s, each month's rows being spread over every page of the table), on SQLite
/// agg_member_store is stored in key order.
constexpr const char* kMemberStoreTables = R"SQL(
CREATE TABLE agg_member_store(
  store_id {{ID}} NOT NULL, member_id {{ID}} NOT NULL, sales BIGINT NOT NULL, net BIGINT NOT NULL, visits BIGINT NOT NULL,
  first_day TEXT, last_day TEXT, PRIMARY KEY(store_id, member_id){{INCLUDE}}){{WITHOUT_ROWID}};
CREATE INDEX agg_member_store_member ON agg_member_store(member_id);
)SQL";

constexpr const char* kCohortTables = R"SQL(
CREATE TABLE agg_enrolment(day TEXT NOT NULL, store_id {{ID}} NOT NULL, members BIGINT NOT NULL, PRIMARY KEY(day, store_id));
CREATE TABLE agg_cohort(
  enrol_day TEXT NOT NULL, store_id {{ID}} NOT NULL, month TEXT NOT NULL, members BIGINT NOT NULL,
  PRIMARY KEY(enrol_day, store_id, month));
)SQL";

/// The members a cohort counts: enrolled, not merged away (`m` is members).
constexpr const char* kCohortMember = "m.enrolled = 1 AND m.merged_into IS NULL";

bool isPg(SqlConnection& c) { return c.backend() == "postgresql"; }

constexpr const char* kMemberColumnsIncluded = " INCLUDE (sales, net, visits, first_day, last_day)";

/// `sql` with its {{INCLUDE}} and {{WITHOUT_ROWID}} marks filled for `c`'s backend.
std::string keyedTables(SqlConnection& c, std::string sql) {
  const auto put = [&](const std::string& mark, const std::string& text) {
    if (const auto at = sql.find(mark); at != std::string::npos) sql.replace(at, mark.size(), text);
  };
  put("{{INCLUDE}}", isPg(c) ? kMemberColumnsIncluded : "");
  put("{{WITHOUT_ROWID}}", isPg(c) ? "" : " WITHOUT ROWID");
  return schemaForBackend(sql, c.backend());
}

/// Whether agg_member_month's key carries its columns where it should (PostgreSQL); databases
/// from before had the plain key.
bool memberMonthKeyCovers(SqlConnection& c) {
  if (!isPg(c)) return true;
  return !c.query("SELECT 1 FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname = 'agg_member_month' "
                  "AND t.relnamespace = to_regnamespace(current_schema()) AND i.indisprimary AND i.indnatts > i.indnkeyatts")
              .empty();
}

/// Per-member figures from the raw tables, per `key` (an expression of a sale or refund row:
/// its month, its store) and member, optionally for one member: the SELECT that fills
/// agg_member_month and agg_member_store (visits: distinct sale days within the key).
std::string memberFromRaw(const std::string& key, const std::string& memberFilter) {
  return "SELECT k, member_id, SUM(n), SUM(net), SUM(v), MIN(fd), MAX(ld) FROM ("
         "SELECT " + key + " AS k, member_id, COUNT(*) AS n, SUM(total) AS net, 1 AS v, day AS fd, day AS ld FROM sales "
         "WHERE member_id IS NOT NULL" + memberFilter + " GROUP BY " + key + ", member_id, day "
         "UNION ALL SELECT " + key + " AS k, member_id, 0 AS n, -SUM(amount) AS net, 0 AS v, NULL AS fd, NULL AS ld FROM refunds "
         "WHERE member_id IS NOT NULL" + memberFilter + " GROUP BY " + key + ", member_id) x GROUP BY k, member_id";
}
std::string memberMonthsFromRaw(const std::string& memberFilter) { return memberFromRaw("substr(day, 1, 7)", memberFilter); }
std::string memberStoresFromRaw(const std::string& memberFilter) { return memberFromRaw("store_id", memberFilter); }

const char* kMemberStoreColumns = "INSERT INTO agg_member_store(store_id, member_id, sales, net, visits, first_day, last_day) ";

const char* kMemberTotalsFromMonths =
    "SELECT member_id, SUM(sales), SUM(net), SUM(visits), MIN(first_day), MAX(last_day) FROM agg_member_month";

/// first_day/last_day: the earlier/later of two possibly-NULL days (SQLite's two-argument MIN
/// is NULL when either is; PostgreSQL has LEAST; this is the same on both).
std::string upsertMember(const std::string& table, const std::string& keys, const std::string& keyParams) {
  return "INSERT INTO " + table + "(" + keys + ", sales, net, visits, first_day, last_day) VALUES (" + keyParams +
         ") ON CONFLICT (" + keys + ") DO UPDATE SET sales = " + table + ".sales + excluded.sales, net = " + table +
         ".net + excluded.net, visits = " + table + ".visits + excluded.visits, first_day = CASE WHEN " + table +
         ".first_day IS NULL OR excluded.first_day < " + table + ".first_day THEN excluded.first_day ELSE " + table +
         ".first_day END, last_day = CASE WHEN " + table + ".last_day IS NULL OR excluded.last_day > " + table +
         ".last_day THEN excluded.last_day ELSE " + table + ".last_day END";
}

void addToSales(SqlConnection& c, const AggregateFacts& f, std::int64_t sales, std::int64_t gross, std::int64_t refunds,
                std::int64_t refunded) {
  c.exec("INSERT INTO agg_sales(day, hour, store_id, terminal_id, member, sales, gross, refunds, refunded) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (day, hour, store_id, terminal_id, member) DO UPDATE SET "
          "sales = agg_sales.sales + excluded.sales, gross = agg_sales.gross + excluded.gross, "
          "refunds = agg_sales.refunds + excluded.refunds, refunded = agg_sales.refunded + excluded.refunded",
          {f.day, f.hour, f.storeId, f.terminalId, std::int64_t{f.memberId ? 1 : 0}, sales, gross, refunds, refunded});
}

/// Returns the member's sales in the day's month, this one included. `visits` opens a visit
/// day for the member, `storeVisits` one at the store.
std::int64_t addToMember(SqlConnection& c, const std::string& memberId, const std::string& storeId, const std::string& day,
                         std::int64_t sales, std::int64_t net, std::int64_t visits, std::int64_t storeVisits, bool isSale) {
  const SqlValue d = isSale ? SqlValue(day) : SqlValue(nullptr);
  const auto month = c.query(upsertMember("agg_member_month", "month, member_id", "$1, $2, $3, $4, $5, $6, $6") + " RETURNING sales",
                             {day.substr(0, 7), memberId, sales, net, visits, d});
  c.exec(upsertMember("agg_member", "member_id", "$1, $2, $3, $4, $5, $5"), {memberId, sales, net, visits, d});
  c.exec(upsertMember("agg_member_store", "store_id, member_id", "$1, $2, $3, $4, $5, $6, $6"),
          {storeId, memberId, sales, net, storeVisits, d});
  return month.integer(0, 0);
}

/// Adds to agg_cohort the rows `select` makes: (enrol_day, store_id, month, members).
std::string addToCohorts(const std::string& select) {
  return "INSERT INTO agg_cohort(enrol_day, store_id, month, members) " + select +
         " ON CONFLICT (enrol_day, store_id, month) DO UPDATE SET members = agg_cohort.members + excluded.members";
}

/// The cohort tables from members and agg_member_month (emptied first).
void rebuildCohorts(SqlConnection& c) {
  c.execScript("DELETE FROM agg_enrolment; DELETE FROM agg_cohort");
  c.query(std::string("INSERT INTO agg_enrolment(day, store_id, members) SELECT substr(m.enrolled_at, 1, 10), m.enrolled_store, "
                      "COUNT(*) FROM members m WHERE ") + kCohortMember + " GROUP BY substr(m.enrolled_at, 1, 10), m.enrolled_store");
  c.query(std::string("INSERT INTO agg_cohort(enrol_day, store_id, month, members) SELECT substr(m.enrolled_at, 1, 10), "
                      "m.enrolled_store, a.month, COUNT(*) FROM members m JOIN agg_member_month a ON a.member_id = m.member_id "
                      "WHERE ") + kCohortMember + " AND a.sales > 0 AND a.month >= substr(m.enrolled_at, 1, 7) "
                      "GROUP BY substr(m.enrolled_at, 1, 10), m.enrolled_store, a.month");
}

}  // namespace

// [SECTION] Schema and rebuild

bool aggregatesPresent(SqlConnection& c) {
  return c.hasTable("agg_product") && c.hasTable("agg_cohort") && c.hasTable("agg_member_store") && hasColumn(c, "ledger", "day") &&
         memberMonthKeyCovers(c);
}

void ensureAggregates(SqlConnection& c) {
  if (!hasColumn(c, "sales", "hour")) c.execScript("ALTER TABLE sales ADD COLUMN hour TEXT");
  if (!hasColumn(c, "refunds", "hour")) c.execScript("ALTER TABLE refunds ADD COLUMN hour TEXT");
  if (!hasColumn(c, "ledger", "day")) c.execScript("ALTER TABLE ledger ADD COLUMN day TEXT");
  const bool cohortsNew = !c.hasTable("agg_cohort");
  if (cohortsNew) c.execScript(schemaForBackend(kCohortTables, c.backend()));
  const bool storesNew = !c.hasTable("agg_member_store");
  if (storesNew) c.execScript(keyedTables(c, kMemberStoreTables));
  if (!c.hasTable("agg_product")) {
    c.execScript(keyedTables(c, kTables));
    rebuildAggregates(c);
    return;
  }
  if (!memberMonthKeyCovers(c)) {
    c.execScript(std::string("ALTER TABLE agg_member_month DROP CONSTRAINT agg_member_month_pkey, "
                             "ADD CONSTRAINT agg_member_month_pkey PRIMARY KEY (month, member_id)") + kMemberColumnsIncluded);
  }
  // A database from before the cohort or the member-store tables.
  if (cohortsNew) rebuildCohorts(c);
  if (storesNew) c.query(kMemberStoreColumns + memberStoresFromRaw(""));
}

void keepRoomInAggregates(SqlConnection& c) {
  // Not agg_member_month nor agg_member_store: their keys carry every column on PostgreSQL
  // (index-only reads), so each update is a new index entry whatever the room.
  keepRoomForUpdates(c, {"agg_member", "agg_sales", "agg_product", "agg_points", "agg_enrolment", "agg_cohort"}, 80);
}

void rebuildAggregates(SqlConnection& c) {
  c.execScript("DELETE FROM agg_sales; DELETE FROM agg_member_month; DELETE FROM agg_member; DELETE FROM agg_member_store; "
               "DELETE FROM agg_points; DELETE FROM agg_product");
  c.query("INSERT INTO agg_product(day, store_id, sku, description, sales, qty, amount) "
          "SELECT s.day, s.store_id, l.sku, MIN(COALESCE(l.description, '')), COUNT(DISTINCT l.event_id), SUM(l.qty), "
          "SUM(l.amount) FROM sale_lines l JOIN sales s ON s.event_id = l.event_id GROUP BY s.day, s.store_id, l.sku");
  c.query("INSERT INTO agg_sales(day, hour, store_id, terminal_id, member, sales, gross, refunds, refunded) "
          "SELECT day, h, store_id, terminal_id, mf, SUM(n), SUM(g), SUM(rn), SUM(ra) FROM ("
          "SELECT day, COALESCE(hour, substr(at, 12, 2)) AS h, store_id, terminal_id, "
          "CASE WHEN member_id IS NULL THEN 0 ELSE 1 END AS mf, 1 AS n, total AS g, 0 AS rn, 0 AS ra FROM sales "
          "UNION ALL SELECT day, COALESCE(hour, substr(at, 12, 2)), store_id, terminal_id, "
          "CASE WHEN member_id IS NULL THEN 0 ELSE 1 END, 0, 0, 1, amount FROM refunds) x "
          "GROUP BY day, h, store_id, terminal_id, mf");
  c.query("INSERT INTO agg_member_month(month, member_id, sales, net, visits, first_day, last_day) " + memberMonthsFromRaw(""));
  c.query(std::string("INSERT INTO agg_member(member_id, sales, net, visits, first_day, last_day) ") + kMemberTotalsFromMonths +
          " GROUP BY member_id");
  c.query(kMemberStoreColumns + memberStoresFromRaw(""));
  // Ledger entries count for the store whose terminal sent the event (none for head office's).
  c.query("INSERT INTO agg_points(day, store_id, kind, entries, credited, debited) "
          "SELECT COALESCE(l.day, substr(l.at, 1, 10)), COALESCE(t.store_id, ''), l.kind, COUNT(*), "
          "SUM(CASE WHEN l.points > 0 THEN l.points ELSE 0 END), SUM(CASE WHEN l.points < 0 THEN -l.points ELSE 0 END) "
          "FROM ledger l LEFT JOIN events e ON e.event_id = l.event_id LEFT JOIN terminals t ON t.terminal_id = e.terminal_id "
          "GROUP BY COALESCE(l.day, substr(l.at, 1, 10)), COALESCE(t.store_id, ''), l.kind");
  rebuildCohorts(c);
}

void rebuildMemberAggregates(SqlConnection& c, const std::string& memberId) {
  c.query("DELETE FROM agg_member_month WHERE member_id = $1", {memberId});
  c.query("DELETE FROM agg_member WHERE member_id = $1", {memberId});
  c.query("DELETE FROM agg_member_store WHERE member_id = $1", {memberId});
  c.query(kMemberStoreColumns + memberStoresFromRaw(" AND member_id = $1"), {memberId});
  c.query("INSERT INTO agg_member_month(month, member_id, sales, net, visits, first_day, last_day) " +
              memberMonthsFromRaw(" AND member_id = $1"),
          {memberId});
  c.query(std::string("INSERT INTO agg_member(member_id, sales, net, visits, first_day, last_day) ") + kMemberTotalsFromMonths +
              " WHERE member_id = $1 GROUP BY member_id",
          {memberId});
}

// [SECTION] Kept in step by ingest

void aggregateSale(SqlConnection& c, const AggregateFacts& f) {
  addToSales(c, f, 1, f.amount, 0, 0);
  if (!f.memberId) return;
  // A visit is a distinct sale day: this sale opens one if it is the member's only sale that
  // day (anywhere, and at this store).
  const auto n = c.query("SELECT COUNT(*), COALESCE(SUM(CASE WHEN store_id = $3 THEN 1 ELSE 0 END), 0) FROM sales "
                         "WHERE member_id = $1 AND day = $2",
                         {*f.memberId, f.day, f.storeId});
  const std::string month = f.day.substr(0, 7);
  if (addToMember(c, *f.memberId, f.storeId, f.day, 1, f.amount, n.integer(0, 0) == 1 ? 1 : 0, n.integer(0, 1) == 1 ? 1 : 0,
                  true) != 1) {
    return;
  }
  // The member's first sale this month: one more active member in their cohort's month.
  c.exec(addToCohorts(std::string("SELECT substr(m.enrolled_at, 1, 10), m.enrolled_store, $2, 1 FROM members m "
                                   "WHERE m.member_id = $1 AND ") + kCohortMember + " AND substr(m.enrolled_at, 1, 7) <= $2"),
          {*f.memberId, month});
}

void countInCohorts(SqlConnection& c, const std::string& memberId, std::int64_t sign) {
  const std::string who = std::string("m.member_id = $1 AND ") + kCohortMember;
  c.query("INSERT INTO agg_enrolment(day, store_id, members) SELECT substr(m.enrolled_at, 1, 10), m.enrolled_store, "
          "CAST($2 AS BIGINT) FROM members m WHERE " + who + " ON CONFLICT (day, store_id) DO UPDATE SET "
          "members = agg_enrolment.members + excluded.members",
          {memberId, sign});
  c.query(addToCohorts("SELECT substr(m.enrolled_at, 1, 10), m.enrolled_store, a.month, CAST($2 AS BIGINT) FROM members m "
                       "JOIN agg_member_month a ON a.member_id = m.member_id WHERE " + who +
                       " AND a.sales > 0 AND a.month >= substr(m.enrolled_at, 1, 7)"),
          {memberId, sign});
  if (sign > 0) return;
  // Rows counting nobody are dropped, so the tables equal a rebuild.
  c.query("DELETE FROM agg_enrolment WHERE members = 0 AND day IN (SELECT substr(enrolled_at, 1, 10) FROM members "
          "WHERE member_id = $1)", {memberId});
  c.query("DELETE FROM agg_cohort WHERE members = 0 AND enrol_day IN (SELECT substr(enrolled_at, 1, 10) FROM members "
          "WHERE member_id = $1)", {memberId});
}

void aggregateLines(SqlConnection& c, const std::string& day, const std::string& storeId,
                    const std::vector<AggregateLine>& lines) {
  // One sale counts once per product however many of its lines carry it.
  std::map<std::string, AggregateLine> bySku;
  for (const auto& l : lines) {
    auto [it, fresh] = bySku.try_emplace(l.sku, l);
    if (fresh) continue;
    it->second.qty += l.qty;
    it->second.amount += l.amount;
    if (l.description < it->second.description) it->second.description = l.description;
  }
  for (const auto& [sku, l] : bySku) {
    c.exec("INSERT INTO agg_product(day, store_id, sku, description, sales, qty, amount) VALUES ($1, $2, $3, $4, 1, $5, $6) "
            "ON CONFLICT (day, store_id, sku) DO UPDATE SET sales = agg_product.sales + 1, qty = agg_product.qty + excluded.qty, "
            "amount = agg_product.amount + excluded.amount, description = CASE WHEN excluded.description < "
            "agg_product.description THEN excluded.description ELSE agg_product.description END",
            {day, storeId, sku, l.description, l.qty, l.amount});
  }
}

void aggregateRefund(SqlConnection& c, const AggregateFacts& f) {
  addToSales(c, f, 0, 0, 1, f.amount);
  if (f.memberId) addToMember(c, *f.memberId, f.storeId, f.day, 0, -f.amount, 0, 0, false);
}

void aggregatePoints(SqlConnection& c, const std::string& day, const std::string& storeId, const std::string& kind,
                     std::int64_t points) {
  c.exec("INSERT INTO agg_points(day, store_id, kind, entries, credited, debited) VALUES ($1, $2, $3, 1, $4, $5) "
          "ON CONFLICT (day, store_id, kind) DO UPDATE SET entries = agg_points.entries + 1, "
          "credited = agg_points.credited + excluded.credited, debited = agg_points.debited + excluded.debited",
          {day, storeId, kind, points > 0 ? points : std::int64_t{0}, points < 0 ? -points : std::int64_t{0}});
}

}  // namespace loyalty::hq
