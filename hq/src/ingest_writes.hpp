#pragma once
/// @brief The writes of one upload batch, held in memory and sent per table: one INSERT per table
/// over arrays of its columns (PostgreSQL: unnest) or multi-row INSERTs (SQLite), aggregate
/// upserts summed per key first, member counters once per member.
///
/// Ingest applies each event's rules in order as before; what an event writes goes here, and
/// what a rule reads back (a balance, a visit count, a month's sales) is kept in step in memory
/// (HqStore::Batch). flush() sends everything held; a rule that must read the tables itself
/// flushes first, so it sees what the per-event path would have seen.
///
/// Also the one way head office reads rows for many keys at once (selectIn), which ingest and
/// the member search keys use.

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "loyalty/hq/sql.hpp"

namespace loyalty::hq {

/// PostgreSQL's text form of an array, {"a","b\"c",NULL,7}: many values as one parameter
/// (`unnest(CAST($1 AS TEXT[]))`), so a statement's text and plan do not depend on how many
/// there are.
std::string pgArray(const std::vector<SqlValue>& values);

/// Runs `select` (ending in "IN (") over `keys` and hands every row to `row`. `fixed` are the
/// select's own parameters ($1 ...), before the keys; `tail` follows the key list's ")" (a
/// GROUP BY). PostgreSQL: the keys are one array parameter, `IN (SELECT unnest($n))`, a semi
/// join (index lookups or one hash of the keys), the same statement for any number of keys. A
/// list of parameters, once PostgreSQL settled on a generic plan (from the sixth batch on), was
/// a filter comparing every row scanned with every key, 30-60 ms a batch. SQLite: one statement per
/// 512 keys, the list padded to one of a few lengths (repeating its last key), so only a
/// handful of statements are ever prepared.
template <class Row>
void selectIn(SqlConnection& c, const std::string& select, const std::vector<SqlValue>& fixed,
              const std::vector<std::string>& keys, Row&& row, const std::string& tail = "") {
  if (keys.empty()) return;
  if (c.backend() == "postgresql") {
    std::vector<SqlValue> params = fixed;
    params.emplace_back(pgArray(std::vector<SqlValue>(keys.begin(), keys.end())));
    const auto r = c.query(select + "SELECT unnest(CAST($" + std::to_string(params.size()) + " AS TEXT[])))" + tail, params);
    for (std::size_t i = 0; i < r.size(); ++i) row(r, i);
    return;
  }
  constexpr std::size_t kChunk = 512;
  for (std::size_t from = 0; from < keys.size(); from += kChunk) {
    const std::size_t n = std::min(kChunk, keys.size() - from);
    const std::size_t slots = n <= 8 ? 8 : n <= 64 ? 64 : kChunk;
    std::string sql = select;
    std::vector<SqlValue> params = fixed;
    for (std::size_t i = 0; i < slots; ++i) {
      sql += (i ? ", $" : "$") + std::to_string(fixed.size() + i + 1);
      params.emplace_back(keys[from + std::min(i, n - 1)]);
    }
    const auto r = c.query(sql + ")" + tail, params);
    for (std::size_t i = 0; i < r.size(); ++i) row(r, i);
  }
}

/// Rows for one table, written in order by flush(). A buffer lives as long as its store's
/// connection (HqStore keeps its IngestWrites across batches), so each of its statement texts is
/// made once, at its first use, and is then the same string every batch: the connection's
/// statement cache finds it prepared.
class RowBuffer {
 public:
  /// `head`: what precedes the rows, "INSERT INTO t(a, b)" (or "UPDATE ... FROM (" with the
  /// rows' columns as column1, column2, ...); `types`: one letter per column, 't' TEXT or 'i'
  /// BIGINT (the types of PostgreSQL's column arrays); `tail`: what follows the rows (an ON
  /// CONFLICT clause).
  RowBuffer(std::string head, std::string types, std::string tail = "");
  /// One row: exactly one value per column.
  template <class... Values>
  void add(Values&&... values) {
    checkWidth(sizeof...(Values));
    (m_values.emplace_back(std::forward<Values>(values)), ...);
  }
  /// The value at `column` of the latest row added (to amend what an event wrote a moment ago).
  SqlValue& last(std::size_t column) { return m_values.at(m_values.size() - m_width + column); }
  bool empty() const { return m_values.empty(); }
  void flush(SqlConnection& c);
  void clear() { m_values.clear(); }

 private:
  void checkWidth(std::size_t n) const;
  /// The statement for kChunkRows[chunk] rows, made at its first use.
  const std::string& sqliteText(std::size_t chunk);

  std::string m_head;
  std::string m_types;
  std::size_t m_width;
  std::string m_tail;
  std::vector<SqlValue> m_values;  ///< rows one after another
  std::vector<std::string> m_texts;  ///< SQLite's statement per chunk size (index as kChunkRows)
};

/// Per-member figures (agg_member_month, agg_member, agg_member_store): sums and the first and
/// last sale day, NULL-ignoring as the upsert (aggregates.cpp) combines them.
struct MemberFigures {
  std::int64_t sales = 0, net = 0, visits = 0;
  std::optional<std::string> firstDay, lastDay;
  void add(std::int64_t s, std::int64_t n, std::int64_t v, const std::optional<std::string>& day);
};

/// One member's balance and spend deltas of the batch, and its change number when the batch ends.
struct MemberDelta {
  std::int64_t balance = 0, spend = 0;
  std::optional<std::int64_t> changeNo;
};

/// Everything a batch writes to the tables ingest keeps in step.
struct IngestWrites {
  IngestWrites();
  RowBuffer newMembers, events, sales, saleLines, refunds, ledger, overdrafts, redemptions, consents;
  /// What the maps below become at flush: one row per key; memberFeed, an entry per member given
  /// a change number, in place of the one memberFeedDrop deletes (member_feed.hpp).
  RowBuffer memberUpdates, memberFeedDrop, memberFeed, aggSalesRows, aggMemberMonthRows, aggMemberRows, aggMemberStoreRows, aggProductRows, aggPointsRows,
      aggEnrolmentRows, aggCohortRows;
  /// `UPDATE reservations SET settled_event ...`: the first settlement wins, so kept in order.
  std::vector<std::vector<SqlValue>> settlements;
  /// agg_sales: (day, hour, store, terminal, member flag) -> sales, gross, refunds, refunded.
  std::map<std::tuple<std::string, std::string, std::string, std::string, std::int64_t>, std::array<std::int64_t, 4>> aggSales;
  std::map<std::pair<std::string, std::string>, MemberFigures> memberMonth;  ///< (month, member)
  std::map<std::string, MemberFigures> member;                                ///< member
  std::map<std::pair<std::string, std::string>, MemberFigures> memberStore;  ///< (store, member)
  /// agg_product: (day, store, sku) -> least description, sales, qty, amount.
  std::map<std::tuple<std::string, std::string, std::string>, std::tuple<std::string, std::int64_t, std::int64_t, std::int64_t>>
      products;
  /// agg_points: (day, store, kind) -> entries, credited, debited.
  std::map<std::tuple<std::string, std::string, std::string>, std::array<std::int64_t, 3>> points;
  std::map<std::pair<std::string, std::string>, std::int64_t> enrolments;                  ///< (day, store)
  std::map<std::tuple<std::string, std::string, std::string>, std::int64_t> cohorts;       ///< (enrol day, store, month)
  std::map<std::string, MemberDelta> members;

  /// Sends everything held, in an order where members exist before rows name them.
  void flush(SqlConnection& c);
  /// Forgets everything held (what a batch that failed part way left).
  void clear();
};

}  // namespace loyalty::hq
