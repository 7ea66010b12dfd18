#include "ingest_writes.hpp"

#include <algorithm>
#include <stdexcept>

namespace loyalty::hq {

namespace {

/// Rows per statement: a few fixed sizes, so each table prepares at most this many statements.
constexpr std::size_t kChunks[] = {256, 32, 4, 1};

/// "VALUES ($1, $2), ($3, $4)" for `rows` rows of `width` values.
std::string valuesList(std::size_t rows, std::size_t width) {
  std::string out = "VALUES ";
  std::size_t n = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    out += r ? ", (" : "(";
    for (std::size_t c = 0; c < width; ++c) out += (c ? ", $" : "$") + std::to_string(++n);
    out += ")";
  }
  return out;
}

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

/// Runs `statement(rows)` over `values` (rows of `types.size()` columns), where `rows` is a row
/// source whose columns are column1, column2, ... in order. PostgreSQL: one statement, each
/// column one array parameter (unnest keeps the rows' order): the server plans and executes it
/// once for the batch, at about half the cost of many-row VALUES lists with a parameter per
/// value. SQLite (in process, no round trips to save): VALUES lists of kChunks rows.
template <class Statement>
void writeRows(SqlConnection& c, const std::string& types, const std::vector<SqlValue>& values, Statement&& statement) {
  const std::size_t width = types.size();
  if (values.empty()) return;
  if (c.backend() == "postgresql") {
    std::string arrays, names;
    std::vector<SqlValue> params;
    for (std::size_t i = 0; i < width; ++i) {
      arrays += (i ? ", CAST($" : "CAST($") + std::to_string(i + 1) + (types[i] == 'i' ? " AS BIGINT[])" : " AS TEXT[])");
      names += (i ? ", column" : "column") + std::to_string(i + 1);
      params.push_back(columnArray(values, width, i, types[i]));
    }
    c.exec(statement("SELECT * FROM unnest(" + arrays + ") AS u(" + names + ")"), params);
    return;
  }
  const std::size_t rows = values.size() / width;
  std::size_t done = 0;
  for (const std::size_t chunk : kChunks) {
    while (rows - done >= chunk) {
      const auto from = values.begin() + static_cast<std::ptrdiff_t>(done * width);
      c.exec(statement(valuesList(chunk, width)), std::vector<SqlValue>(from, from + static_cast<std::ptrdiff_t>(chunk * width)));
      done += chunk;
    }
  }
}

/// `head rows tail`: an INSERT of rows (`tail`: an ON CONFLICT clause or nothing).
void insertRows(SqlConnection& c, const std::string& head, const std::string& types, const std::string& tail,
                const std::vector<SqlValue>& values) {
  writeRows(c, types, values, [&](const std::string& rows) { return head + " " + rows + tail; });
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

void pushFigures(std::vector<SqlValue>& v, const MemberFigures& f) {
  v.insert(v.end(), {f.sales, f.net, f.visits, optional(f.firstDay), optional(f.lastDay)});
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
    : m_head(std::move(head)), m_types(std::move(types)), m_width(m_types.size()), m_tail(std::move(tail)) {}

void RowBuffer::add(std::vector<SqlValue> row) {
  if (row.size() != m_width) throw std::logic_error("ingest writes: a row of " + std::to_string(row.size()) + " values for " + m_head);
  m_values.insert(m_values.end(), std::make_move_iterator(row.begin()), std::make_move_iterator(row.end()));
}

void RowBuffer::flush(SqlConnection& c) {
  if (m_values.empty()) return;
  insertRows(c, m_head, m_types, m_tail, m_values);
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
               "ttitttttt") {}

void IngestWrites::flush(SqlConnection& c) {
  newMembers.flush(c);
  if (!members.empty()) {
    std::vector<SqlValue> v;
    v.reserve(members.size() * 4);
    for (const auto& [id, d] : members) {
      v.insert(v.end(), {id, d.balance, d.spend, d.changeNo ? SqlValue(*d.changeNo) : SqlValue(nullptr)});
    }
    writeRows(c, "tiii", v, [](const std::string& rows) {
      return "UPDATE members SET balance = balance + v.column2, lifetime_spend = lifetime_spend + v.column3, "
             "change_no = COALESCE(v.column4, change_no) FROM (" + rows + ") AS v WHERE member_id = v.column1";
    });
    members.clear();
  }
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

  std::vector<SqlValue> v;
  if (!aggSales.empty()) {
    for (const auto& [k, n] : aggSales) {
      v.insert(v.end(), {std::get<0>(k), std::get<1>(k), std::get<2>(k), std::get<3>(k), std::get<4>(k), n[0], n[1], n[2], n[3]});
    }
    insertRows(c, "INSERT INTO agg_sales(day, hour, store_id, terminal_id, member, sales, gross, refunds, refunded)", "ttttiiiii",
              " ON CONFLICT (day, hour, store_id, terminal_id, member) DO UPDATE SET "
              "sales = agg_sales.sales + excluded.sales, gross = agg_sales.gross + excluded.gross, "
              "refunds = agg_sales.refunds + excluded.refunds, refunded = agg_sales.refunded + excluded.refunded",
              v);
    aggSales.clear();
    v.clear();
  }
  if (!memberMonth.empty()) {
    for (const auto& [k, f] : memberMonth) {
      v.insert(v.end(), {k.first, k.second});
      pushFigures(v, f);
    }
    insertRows(c, "INSERT INTO agg_member_month(month, member_id, sales, net, visits, first_day, last_day)", "ttiiitt",
              memberUpsertTail("agg_member_month", "month, member_id"), v);
    memberMonth.clear();
    v.clear();
  }
  if (!member.empty()) {
    for (const auto& [k, f] : member) {
      v.push_back(k);
      pushFigures(v, f);
    }
    insertRows(c, "INSERT INTO agg_member(member_id, sales, net, visits, first_day, last_day)", "tiiitt",
              memberUpsertTail("agg_member", "member_id"), v);
    member.clear();
    v.clear();
  }
  if (!memberStore.empty()) {
    for (const auto& [k, f] : memberStore) {
      v.insert(v.end(), {k.first, k.second});
      pushFigures(v, f);
    }
    insertRows(c, "INSERT INTO agg_member_store(store_id, member_id, sales, net, visits, first_day, last_day)", "ttiiitt",
              memberUpsertTail("agg_member_store", "store_id, member_id"), v);
    memberStore.clear();
    v.clear();
  }
  if (!products.empty()) {
    for (const auto& [k, p] : products) {
      v.insert(v.end(), {std::get<0>(k), std::get<1>(k), std::get<2>(k), std::get<0>(p), std::get<1>(p), std::get<2>(p),
                         std::get<3>(p)});
    }
    insertRows(c, "INSERT INTO agg_product(day, store_id, sku, description, sales, qty, amount)", "ttttiii",
              " ON CONFLICT (day, store_id, sku) DO UPDATE SET sales = agg_product.sales + excluded.sales, "
              "qty = agg_product.qty + excluded.qty, amount = agg_product.amount + excluded.amount, description = CASE WHEN "
              "excluded.description < agg_product.description THEN excluded.description ELSE agg_product.description END",
              v);
    products.clear();
    v.clear();
  }
  if (!points.empty()) {
    for (const auto& [k, n] : points) v.insert(v.end(), {std::get<0>(k), std::get<1>(k), std::get<2>(k), n[0], n[1], n[2]});
    insertRows(c, "INSERT INTO agg_points(day, store_id, kind, entries, credited, debited)", "tttiii",
              " ON CONFLICT (day, store_id, kind) DO UPDATE SET entries = agg_points.entries + excluded.entries, "
              "credited = agg_points.credited + excluded.credited, debited = agg_points.debited + excluded.debited",
              v);
    points.clear();
    v.clear();
  }
  if (!enrolments.empty()) {
    for (const auto& [k, n] : enrolments) v.insert(v.end(), {k.first, k.second, n});
    insertRows(c, "INSERT INTO agg_enrolment(day, store_id, members)", "tti",
              " ON CONFLICT (day, store_id) DO UPDATE SET members = agg_enrolment.members + excluded.members", v);
    enrolments.clear();
    v.clear();
  }
  if (!cohorts.empty()) {
    for (const auto& [k, n] : cohorts) v.insert(v.end(), {std::get<0>(k), std::get<1>(k), std::get<2>(k), n});
    insertRows(c, "INSERT INTO agg_cohort(enrol_day, store_id, month, members)", "ttti",
              " ON CONFLICT (enrol_day, store_id, month) DO UPDATE SET members = agg_cohort.members + excluded.members", v);
    cohorts.clear();
    v.clear();
  }
}

}  // namespace loyalty::hq
