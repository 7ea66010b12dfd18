#pragma once
// A small hand-made head-office dataset written straight into HqStore's schema, so each
// report's SQL can be checked against figures worked out by hand.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "loyalty/hq/aggregates.hpp"
#include "loyalty/hq/analytics.hpp"
#include "loyalty/hq/sql.hpp"
#include "loyalty/hq/store.hpp"

namespace loyalty::test {

class AnalyticsData {
 public:
  explicit AnalyticsData(std::unique_ptr<hq::SqlConnection> c) : m_store(std::move(c)) {
    m_store.createSchema(Timestamp(std::chrono::seconds(1'790'000'000)));
  }
  hq::SqlConnection& sql() { return m_store.connection(); }
  hq::HqStore& store() { return m_store; }

  void terminal(const std::string& t, const std::string& store) {
    sql().query("INSERT INTO terminals(terminal_id, store_id, timezone, created_at) VALUES ($1, $2, 'UTC', '2026-01-01T00:00:00Z')",
                {t, store});
  }
  void member(const std::string& id, const std::string& enrolledAt, const std::string& store, bool consent = false,
              const std::optional<std::string>& referrer = std::nullopt, std::int64_t balance = 0) {
    sql().query("INSERT INTO members(member_id, enrolled, card_no, phone, name, consent_marketing, consent_version, enrolled_at, "
                "enrolled_store, referrer_id, balance, change_no) VALUES ($1, 1, $2, '+8613800000000', $3, $4, $5, $6, $7, $8, $9, 0)",
                {id, "9" + id, "Name " + id, std::int64_t{consent ? 1 : 0},
                 consent ? hq::SqlValue(std::string("v1")) : hq::SqlValue(nullptr), enrolledAt, store,
                 referrer ? hq::SqlValue(*referrer) : hq::SqlValue(nullptr), balance});
    hq::countInCohorts(sql(), id, 1);  // what ingest does for an enrolment
  }
  /// A sale of `minor` at `at` (RFC 3339, UTC) with one line of `sku`.
  void sale(const std::string& terminal, const std::string& store, const std::optional<std::string>& member,
            const std::string& at, std::int64_t minor, const std::string& sku = "SKU1", std::int64_t qty = 1) {
    const std::string id = "ev" + std::to_string(++m_n);
    sql().query("INSERT INTO sales(event_id, sale_id, terminal_id, store_id, member_id, at, day, subtotal, discount, total, "
                "points_earned, points_redeemed, lines) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $8, 0, 0, 1)",
                {id, "s" + id, terminal, store, member ? hq::SqlValue(*member) : hq::SqlValue(nullptr), at, at.substr(0, 10), minor});
    hq::aggregateSale(sql(), {at.substr(0, 10), at.substr(11, 2), store, terminal, member, minor});
    sql().query("INSERT INTO sale_lines(event_id, line_no, sku, description, category, qty, unit_price, amount) "
                "VALUES ($1, 1, $2, $3, NULL, $4, '1.00', $5)",
                {id, sku, "desc " + sku, qty, minor});
    hq::aggregateLines(sql(), at.substr(0, 10), store, {{sku, "desc " + sku, qty, minor}});
    event(terminal, "sale.recorded", at, "{}", id);
  }
  void refund(const std::string& terminal, const std::string& store, const std::optional<std::string>& member,
              const std::string& at, std::int64_t minor) {
    const std::string id = "ev" + std::to_string(++m_n);
    sql().query("INSERT INTO refunds(event_id, refund_id, sale_id, terminal_id, store_id, member_id, at, day, amount, "
                "points_reversed, points_returned) VALUES ($1, $2, 'x', $3, $4, $5, $6, $7, $8, 0, 0)",
                {id, "r" + id, terminal, store, member ? hq::SqlValue(*member) : hq::SqlValue(nullptr), at, at.substr(0, 10), minor});
    hq::aggregateRefund(sql(), {at.substr(0, 10), at.substr(11, 2), store, terminal, member, minor});
    event(terminal, "sale.refunded", at, "{}", id);
  }
  std::string event(const std::string& terminal, const std::string& type, const std::string& at, const std::string& payload,
                    std::optional<std::string> id = std::nullopt) {
    const std::string eid = id ? *id : "ev" + std::to_string(++m_n);
    sql().query("INSERT INTO events(event_id, terminal_id, seq, type, at, payload, fingerprint, received_at, known) "
                "VALUES ($1, $2, $3, $4, $5, $6, 'fp', $5, 1)",
                {eid, terminal, ++m_seq, type, at, payload});
    return eid;
  }
  void survey(const std::string& terminal, const std::string& store, const std::string& at, const std::string& scale, int score) {
    const nlohmann::json p = {{"survey_id", "sv" + std::to_string(m_n + 1)}, {"scale", scale}, {"score", score},
                              {"store_id", store}, {"terminal_id", terminal}};
    const std::string id = event(terminal, "survey.answered", at, p.dump());
    // What ingest writes for it: the answer on its store's local day (these terminals are UTC).
    sql().query("INSERT INTO survey_answers(event_id, terminal_id, store_id, day, scale, score) VALUES ($1, $2, $3, $4, $5, $6)",
                {id, terminal, store, at.substr(0, 10), scale, std::int64_t{score}});
  }
  void complaint(const std::string& terminal, const std::string& store, const std::string& at, const std::string& id,
                 const std::string& category, const std::string& text) {
    const nlohmann::json p = {{"complaint_id", id}, {"member_id", nullptr}, {"category", category}, {"description", text},
                              {"store_id", store}, {"terminal_id", terminal}};
    event(terminal, "complaint.filed", at, p.dump());
  }
  void ledger(const std::string& eventId, const std::string& member, const std::string& kind, std::int64_t points,
              const std::string& at) {
    sql().query("INSERT INTO ledger(event_id, member_id, kind, points, at) VALUES ($1, $2, $3, $4, $5)",
                {eventId, member, kind, points, at});
    const auto st = sql().query("SELECT t.store_id FROM events e JOIN terminals t ON t.terminal_id = e.terminal_id WHERE e.event_id = $1",
                                {eventId});
    hq::aggregatePoints(sql(), at.substr(0, 10), st.empty() ? std::string() : st.text(0, 0), kind, points);
  }
  /// Every aggregate row as text, in key order: what ingest maintained, to compare with a rebuild.
  static std::string dumpAggregates(hq::SqlConnection& c) {
    std::string out;
    const char* tables[][2] = {{"agg_sales", "day, hour, store_id, terminal_id, member"},
                               {"agg_member_month", "month, member_id"},
                               {"agg_member", "member_id"},
                               {"agg_member_store", "store_id, member_id"},
                               {"agg_points", "day, store_id, kind"},
                               {"agg_product", "day, store_id, sku"},
                               {"agg_enrolment", "day, store_id"},
                               {"agg_cohort", "enrol_day, store_id, month"}};
    for (const auto& t : tables) {
      const auto r = c.query(std::string("SELECT * FROM ") + t[0] + " ORDER BY " + t[1]);
      out += std::string(t[0]) + "\n";
      for (std::size_t i = 0; i < r.size(); ++i) {
        for (std::size_t k = 0; k < r.rows[i].size(); ++k) out += (r.isNull(i, k) ? std::string("NULL") : r.text(i, k)) + "|";
        out += "\n";
      }
    }
    return out;
  }
  /// The aggregates as they are, then as a rebuild from the raw tables makes them.
  static std::pair<std::string, std::string> aggregatesAndRebuild(hq::SqlConnection& c) {
    const std::string kept = dumpAggregates(c);
    hq::SqlTransaction tx(c);
    hq::rebuildAggregates(c);
    tx.commit();
    return {kept, dumpAggregates(c)};
  }

  /// The id of the last event written.
  std::string lastEvent() const { return "ev" + std::to_string(m_n); }

 private:
  hq::HqStore m_store;
  std::int64_t m_n = 0;
  std::int64_t m_seq = 0;
};

}  // namespace loyalty::test
