#include "ingest_writes.hpp"

#include <span>
#include <stdexcept>

#include "loyalty/hq/member_feed.hpp"

namespace loyalty::hq {

namespace {

/// Rows per SQLite statement: a few fixed sizes, so each table prepares at most this many
/// statements, once per connection. 64 rows, not 256: preparing a statement is quadratic in its
/// numbered parameters (SQLite looks each one up in a list of those seen), and the 256-row ones
/// (up to 3,840 parameters) took 3% of a 20,000-event upload; a batch of 1,000 rows is now 20
/// statements a table.
constexpr std::size_t kChunkRows[] = {64, 8, 1};

/// One column's values as a PostgreSQL array, each checked against the column's declared type.
SqlValue columnArray(const std::vector<SqlValue>& values, std::size_t width, std::size_t column, char type) {
  std::vector<SqlValue> cells;
  cells.reserve(values.size() / width);
  for (std::size_t i = column; i < values.size(); i += width) {
    const SqlValue& v = values[i];
    const bool fits = std::holds_alternative<std::nullptr_t>(v) || (type == 'i' ? std::holds_alternative<std::int64_t>(v)
                                                                                : std::holds_alternative<std::string>(v));
    if (!fits) throw std::logic_error("ingest writes: column " + std::to_string(column + 1) + " is not of its declared type");
    cells.push_back(v);
  }
  return pgArray(cells);
}

/// PostgreSQL's statement over `values` (rows of `types.size()` columns): one statement, each
/// column one array parameter (unnest keeps the rows' order), `rows` in `head rows tail` a row
/// source whose columns are column1, column2, ... in order. The server plans and executes it
/// once for the batch, at about half the cost of many-row VALUES lists with a parameter per value.
void writePgRows(SqlConnection& c, const std::string& head, const std::string& types, const std::string& tail,
                 const std::vector<SqlValue>& values) {
  const std::size_t width = types.size();
  std::string arrays, names;
  std::vector<SqlValue> params;
  for (std::size_t i = 0; i < width; ++i) {
    arrays += (i ? ", CAST($" : "CAST($") + std::to_string(i + 1) + (types[i] == 'i' ? " AS BIGINT[])" : " AS TEXT[])");
    names += (i ? ", column" : "column") + std::to_string(i + 1);
    params.push_back(columnArray(values, width, i, types[i]));
  }
  c.exec(head + " SELECT * FROM unnest(" + arrays + ") AS u(" + names + ")" + tail, params);
}

SqlValue optional(const std::optional<std::string>& s) { return s ? SqlValue(*s) : SqlValue(nullptr); }

/// The upsert of a per-member aggregate table (as aggregates.cpp's, over many rows).
std::string memberUpsertTail(const std::string& table, const std::string& keys) {
  return " ON CONFLICT (" + keys + ") DO UPDATE SET sales = " + table + ".sales + excluded.sales, net = " + table +
         ".net + excluded.net, visits = " + table + ".visits + excluded.visits, first_day = CASE WHEN " + table +
         ".first_day IS NULL OR excluded.first_day < " + table + ".first_day THEN excluded.first_day ELSE " + table +
         ".first_day END, last_day = CASE WHEN " + table + ".last_day IS NULL OR excluded.last_day > " + table +
         ".last_day THEN excluded.last_day ELSE " + table + ".last_day END";
}

}  // namespace

std::string pgArray(const std::vector<SqlValue>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    if (const auto* n = std::get_if<std::int64_t>(&values[i])) {
      out += std::to_string(*n);
    } else if (const auto* s = std::get_if<std::string>(&values[i])) {
      out += '"';
      for (const char ch : *s) {
        if (ch == '"' || ch == '\\') out += '\\';
        out += ch;
      }
      out += '"';
    } else {
      out += "NULL";
    }
  }
  return out + "}";
}

RowBuffer::RowBuffer(std::string head, std::string types, std::string tail)
    : m_head(std::move(head)), m_types(std::move(types)), m_width(m_types.size()), m_tail(std::move(tail)),
      m_texts(std::size(kChunkRows)) {}

void RowBuffer::checkWidth(std::size_t n) const {
  if (n != m_width) throw std::logic_error("ingest writes: a row of " + std::to_string(n) + " values for " + m_head);
}

const std::string& RowBuffer::sqliteText(std::size_t chunk) {
  std::string& text = m_texts.at(chunk);
  if (text.empty()) text = m_head + " " + valuesList(kChunkRows[chunk], m_width) + m_tail;
  return text;
}

void RowBuffer::flush(SqlConnection& c) {
  if (m_values.empty()) return;
  if (c.backend() == "postgresql") {
    writePgRows(c, m_head, m_types, m_tail, m_values);
  } else {
    // In process, no round trips to save: VALUES lists of kChunkRows rows, bound straight from
    // the buffer.
    const std::span<const SqlValue> all(m_values);
    const std::size_t rows = m_values.size() / m_width;
    std::size_t done = 0;
    for (std::size_t chunk = 0; chunk < std::size(kChunkRows); ++chunk) {
      const std::size_t n = kChunkRows[chunk];
      for (; rows - done >= n; done += n) c.execValues(sqliteText(chunk), all.subspan(done * m_width, n * m_width));
    }
  }
  m_values.clear();
}

void MemberFigures::add(std::int64_t s, std::int64_t n, std::int64_t v, const std::optional<std::string>& day) {
  sales += s;
  net += n;
  visits += v;
  if (day && (!firstDay || *day < *firstDay)) firstDay = day;
  if (day && (!lastDay || *day > *lastDay)) lastDay = day;
}

IngestWrites::IngestWrites()
    : newMembers("INSERT INTO members(member_id, enrolled, card_no, phone, name, birthday, language, consent_marketing, "
                 "consent_version, enrolled_at, enrolled_store, referrer_id, enrolled_staff, consent_at, consent_store, change_no)",
                 "titttttittttttti", " ON CONFLICT (member_id) DO NOTHING"),
      events("INSERT INTO events(event_id, terminal_id, seq, type, at, payload, fingerprint, received_at, known)", "ttittttti"),
      sales("INSERT INTO sales(event_id, sale_id, terminal_id, store_id, member_id, at, day, subtotal, discount, total, "
            "points_earned, points_redeemed, lines, hour, staff_id)",
            "tttttttiiiiiitt"),
      saleLines("INSERT INTO sale_lines(event_id, line_no, sku, description, category, qty, unit_price, amount)", "titttiti"),
      refunds("INSERT INTO refunds(event_id, refund_id, sale_id, terminal_id, store_id, member_id, at, day, amount, "
              "points_reversed, points_returned, hour, staff_id)",
              "ttttttttiiitt"),
      ledger("INSERT INTO ledger(event_id, member_id, kind, points, at, day)", "tttitt"),
      overdrafts("INSERT INTO overdrafts(event_id, member_id, points, authorised, at)", "ttitt",
                 " ON CONFLICT (event_id, member_id) DO NOTHING"),
      redemptions("INSERT INTO redemptions(event_id, redemption_id, terminal_id, store_id, member_id, day, points, staff_id)", "ttttttit",
                  " ON CONFLICT (event_id) DO NOTHING"),
      consents("INSERT INTO member_consents(member_id, at, consent_marketing, consent_version, store_id, terminal_id, staff_id, "
               "event_id, source)",
               "ttitttttt"),
      memberUpdates("UPDATE members SET balance = balance + v.column2, lifetime_spend = lifetime_spend + v.column3, "
                    "change_no = COALESCE(v.column4, change_no) FROM (",
                    "tiii", ") AS v WHERE member_id = v.column1"),
      memberFeedDrop(kMemberFeedDropHead, "t", kMemberFeedDropTail),
      memberFeed(kMemberFeedInsert, "it"),
      aggSalesRows("INSERT INTO agg_sales(day, hour, store_id, terminal_id, member, sales, gross, refunds, refunded)", "ttttiiiii",
                   " ON CONFLICT (day, hour, store_id, terminal_id, member) DO UPDATE SET "
                   "sales = agg_sales.sales + excluded.sales, gross = agg_sales.gross + excluded.gross, "
                   "refunds = agg_sales.refunds + excluded.refunds, refunded = agg_sales.refunded + excluded.refunded"),
      aggMemberMonthRows("INSERT INTO agg_member_month(month, member_id, sales, net, visits, first_day, last_day)", "ttiiitt",
                         memberUpsertTail("agg_member_month", "month, member_id")),
      aggMemberRows("INSERT INTO agg_member(member_id, sales, net, visits, first_day, last_day)", "tiiitt",
                    memberUpsertTail("agg_member", "member_id")),
      aggMemberStoreRows("INSERT INTO agg_member_store(store_id, member_id, sales, net, visits, first_day, last_day)", "ttiiitt",
                         memberUpsertTail("agg_member_store", "store_id, member_id")),
      aggProductRows("INSERT INTO agg_product(day, store_id, sku, description, sales, qty, amount)", "ttttiii",
                     " ON CONFLICT (day, store_id, sku) DO UPDATE SET sales = agg_product.sales + excluded.sales, "
                     "qty = agg_product.qty + excluded.qty, amount = agg_product.amount + excluded.amount, description = CASE WHEN "
                     "excluded.description < agg_product.description THEN excluded.description ELSE agg_product.description END"),
      aggPointsRows("INSERT INTO agg_points(day, store_id, kind, entries, credited, debited)", "tttiii",
                    " ON CONFLICT (day, store_id, kind) DO UPDATE SET entries = agg_points.entries + excluded.entries, "
                    "credited = agg_points.credited + excluded.credited, debited = agg_points.debited + excluded.debited"),
      aggEnrolmentRows("INSERT INTO agg_enrolment(day, store_id, members)", "tti",
                       " ON CONFLICT (day, store_id) DO UPDATE SET members = agg_enrolment.members + excluded.members"),
      aggCohortRows("INSERT INTO agg_cohort(enrol_day, store_id, month, members)", "ttti",
                    " ON CONFLICT (enrol_day, store_id, month) DO UPDATE SET members = agg_cohort.members + excluded.members") {}

void IngestWrites::flush(SqlConnection& c) {
  newMembers.flush(c);
  for (const auto& [id, d] : members) {
    memberUpdates.add(id, d.balance, d.spend, d.changeNo ? SqlValue(*d.changeNo) : SqlValue(nullptr));
    if (d.changeNo) {
      memberFeedDrop.add(id);
      memberFeed.add(*d.changeNo, id);
    }
  }
  members.clear();
  memberFeedDrop.flush(c);  // by the numbers the members have until the update
  memberUpdates.flush(c);
  memberFeed.flush(c);
  events.flush(c);
  sales.flush(c);
  saleLines.flush(c);
  refunds.flush(c);
  ledger.flush(c);
  overdrafts.flush(c);
  redemptions.flush(c);
  consents.flush(c);
  for (const auto& s : settlements) {
    c.exec("UPDATE reservations SET settled_event = $2 WHERE redemption_id = $1 AND terminal_id = $3 AND settled_event IS NULL", s);
  }
  settlements.clear();

  for (const auto& [k, n] : aggSales) {
    aggSalesRows.add(std::get<0>(k), std::get<1>(k), std::get<2>(k), std::get<3>(k), std::get<4>(k), n[0], n[1], n[2], n[3]);
  }
  aggSales.clear();
  aggSalesRows.flush(c);
  for (const auto& [k, f] : memberMonth) {
    aggMemberMonthRows.add(k.first, k.second, f.sales, f.net, f.visits, optional(f.firstDay), optional(f.lastDay));
  }
  memberMonth.clear();
  aggMemberMonthRows.flush(c);
  for (const auto& [k, f] : member) aggMemberRows.add(k, f.sales, f.net, f.visits, optional(f.firstDay), optional(f.lastDay));
  member.clear();
  aggMemberRows.flush(c);
  for (const auto& [k, f] : memberStore) {
    aggMemberStoreRows.add(k.first, k.second, f.sales, f.net, f.visits, optional(f.firstDay), optional(f.lastDay));
  }
  memberStore.clear();
  aggMemberStoreRows.flush(c);
  for (const auto& [k, p] : products) {
    aggProductRows.add(std::get<0>(k), std::get<1>(k), std::get<2>(k), std::get<0>(p), std::get<1>(p), std::get<2>(p), std::get<3>(p));
  }
  products.clear();
  aggProductRows.flush(c);
  for (const auto& [k, n] : points) aggPointsRows.add(std::get<0>(k), std::get<1>(k), std::get<2>(k), n[0], n[1], n[2]);
  points.clear();
  aggPointsRows.flush(c);
  for (const auto& [k, n] : enrolments) aggEnrolmentRows.add(k.first, k.second, n);
  enrolments.clear();
  aggEnrolmentRows.flush(c);
  for (const auto& [k, n] : cohorts) aggCohortRows.add(std::get<0>(k), std::get<1>(k), std::get<2>(k), n);
  cohorts.clear();
  aggCohortRows.flush(c);
}

void IngestWrites::clear() {
  for (RowBuffer* r : {&newMembers, &events, &sales, &saleLines, &refunds, &ledger, &overdrafts, &redemptions, &consents, &memberUpdates,
                       &memberFeedDrop, &memberFeed, &aggSalesRows, &aggMemberMonthRows, &aggMemberRows, &aggMemberStoreRows, &aggProductRows,
                       &aggPointsRows, &aggEnrolmentRows, &aggCohortRows}) {
    r->clear();
  }
  settlements.clear();
  aggSales.clear();
  memberMonth.clear();
  member.clear();
  memberStore.clear();
  products.clear();
  points.clear();
  enrolments.clear();
  cohorts.clear();
  members.clear();
}

}  // namespace loyalty::hq
