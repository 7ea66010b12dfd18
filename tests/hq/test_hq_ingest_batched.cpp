// Ingest applies a batch's writes per table (multi-row statements, aggregates summed per key,
// member counters once per member). This test uploads varied batches (enrolments, sales with
// lines, redemptions settling a reservation and overdrawing, refunds, a member known first by
// points from another store, duplicates, a gap, a conflict, refused claims, an erased member, a
// tier upgrade and a monthly review) and compares every answer and the resulting tables with
// what the per-event path produced: tests/fixtures/hq/ingest_reference.json, recorded from it
// (LOYALTY_RECORD_INGEST_REFERENCE=1 writes the file instead of comparing).
#include <cstdlib>
#include <fstream>
#include <map>

#include "loyalty/hq/aggregates.hpp"
#include "support/hq_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;

#define HQ_BACKENDS SqliteBackend, PostgresBackend

namespace {

json postJson(HqInstance& hq, const std::string& path, const std::string& token, const json& body) {
  auto res = hq.client()->Post(path.c_str(), bearer(token), body.dump(), "application/json");
  REQUIRE(res);
  INFO(path << ": " << res->body);
  REQUIRE(res->status == 200);
  return json::parse(res->body);
}

json refundEvent(const std::string& terminal, const std::string& store, std::int64_t seq, const std::string& saleId,
                 const std::optional<std::string>& member, const std::string& amount, std::int64_t reversed, std::int64_t returned) {
  return {{"event_id", terminal + "-e" + std::to_string(seq)}, {"seq", seq}, {"type", "sale.refunded"}, {"at", "2026-11-23T15:00:00Z"},
          {"payload", {{"refund_id", terminal + "-r" + std::to_string(seq)}, {"sale_id", saleId},
                       {"member_id", member ? json(*member) : json(nullptr)}, {"store_id", store}, {"terminal_id", terminal},
                       {"lines", {{{"line_no", 1}, {"sku", "A"}, {"qty", 1}}}}, {"amount", amount},
                       {"points_reversed", reversed}, {"points_returned", returned}}}};
}

json adjustEvent(const std::string& terminal, const std::string& store, std::int64_t seq, const std::string& member,
                 const std::string& kind, std::int64_t points) {
  return {{"event_id", terminal + "-e" + std::to_string(seq)}, {"seq", seq}, {"type", "points.adjusted"}, {"at", "2026-11-24T08:00:00Z"},
          {"payload", {{"member_id", member}, {"kind", kind}, {"points", points}, {"ref_id", "ref-" + std::to_string(seq)},
                       {"reason", "test"}, {"store_id", store}, {"terminal_id", terminal}}}};
}

/// A redemption made offline without a manager's authorisation.
json unauthorisedRedeem(const std::string& terminal, const std::string& store, std::int64_t seq, const std::string& member,
                        std::int64_t points, const std::string& redemptionId) {
  json e = redeemEvent(terminal, store, seq, member, points, redemptionId, "");
  e["payload"]["authorised"] = nullptr;
  return e;
}

json updateEvent(const std::string& terminal, const std::string& store, std::int64_t seq, const std::string& member) {
  return {{"event_id", terminal + "-e" + std::to_string(seq)}, {"seq", seq}, {"type", "member.updated"}, {"at", "2026-11-24T09:00:00Z"},
          {"payload", {{"member_id", member}, {"phone", "+8613911112222"}, {"consent_marketing", true}, {"consent_version", "2026-01"},
                       {"store_id", store}, {"terminal_id", terminal}}}};
}

/// A sale with two lines of one product and one of another.
json sale3(const std::string& terminal, const std::string& store, std::int64_t seq, const std::optional<std::string>& member,
           std::int64_t earned, const std::string& at) {
  json e = saleEvent(terminal, store, seq, member, "600.00", earned, 0, at);
  e["payload"]["lines"] = {{{"sku", "A"}, {"description", "apple"}, {"qty", 2}, {"unit_price", "100.00"}, {"amount", "200.00"}},
                           {{"sku", "B"}, {"description", nullptr}, {"qty", 1}, {"unit_price", "150.00"}, {"amount", "150.00"}},
                           {{"sku", "A"}, {"description", "Apple"}, {"qty", 1}, {"unit_price", "250.00"}, {"amount", "250.00"}}};
  return e;
}

/// What the batches leave in the tables ingest writes, rows sorted; wall-clock columns left out.
json tables(HqInstance& hq) {
  const auto sql = hq.sql();
  const std::vector<std::string> selects = {
      "SELECT event_id, terminal_id, seq, type, at, payload, fingerprint, known FROM events",
      "SELECT conflict_no, event_id, terminal_id, seq, type, at, payload, reason FROM event_conflicts",
      "SELECT member_id, enrolled, card_no, phone, name, birthday, language, consent_marketing, consent_version, enrolled_at, "
      "enrolled_store, referrer_id, balance, lifetime_spend, tier, merged_into, change_no, tier_reviewed_month, "
      "CASE WHEN erased_at IS NULL THEN 0 ELSE 1 END FROM members",
      "SELECT event_id, member_id, kind, points, at, day FROM ledger",
      "SELECT event_id, sale_id, terminal_id, store_id, member_id, at, day, subtotal, discount, total, points_earned, "
      "points_redeemed, lines, hour, staff_id FROM sales",
      "SELECT event_id, line_no, sku, description, category, qty, unit_price, amount FROM sale_lines",
      "SELECT event_id, refund_id, sale_id, terminal_id, store_id, member_id, at, day, amount, points_reversed, "
      "points_returned, hour FROM refunds",
      "SELECT redemption_id, terminal_id, member_id, points, settled_event FROM reservations",
      "SELECT event_id, member_id, points, authorised, at FROM overdrafts",
      "SELECT event_id, redemption_id, terminal_id, store_id, member_id, day, points FROM redemptions",
      "SELECT member_id, at, consent_marketing, consent_version, store_id, terminal_id, event_id, source FROM member_consents",
      "SELECT member_id, at, store_id, terminal_id, fields, event_id FROM member_changes",
      "SELECT event_id, terminal_id, seq, type, reason FROM rejected_events",
      "SELECT actor, action, subject, detail FROM audit_log WHERE actor LIKE 'terminal:%'",
      "SELECT day, hour, store_id, terminal_id, member, sales, gross, refunds, refunded FROM agg_sales",
      "SELECT month, member_id, sales, net, visits, first_day, last_day FROM agg_member_month",
      "SELECT member_id, sales, net, visits, first_day, last_day FROM agg_member",
      "SELECT store_id, member_id, sales, net, visits, first_day, last_day FROM agg_member_store",
      "SELECT day, store_id, sku, description, sales, qty, amount FROM agg_product",
      "SELECT day, store_id, kind, entries, credited, debited FROM agg_points",
      "SELECT day, store_id, members FROM agg_enrolment",
      "SELECT enrol_day, store_id, month, members FROM agg_cohort",
      "SELECT name, value FROM counters WHERE name = 'change_no'",
      "SELECT terminal_id, applied_through FROM terminals"};
  json out = json::object();
  for (const auto& select : selects) {
    const auto r = sql->query(select);
    std::vector<std::string> rows;
    for (const auto& row : r.rows) {
      json cells = json::array();
      for (const auto& cell : row) cells.push_back(cell ? json(*cell) : json(nullptr));
      rows.push_back(cells.dump());
    }
    std::sort(rows.begin(), rows.end());
    json sorted = json::array();
    for (const auto& row : rows) sorted.push_back(json::parse(row));
    out[select.substr(select.find(" FROM ") + 6)] = sorted;
  }
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE("ingest per batch answers and writes exactly what the per-event path did", "[hq]", HQ_BACKENDS) {
  HqInstance hq(TestType::kName);
  hq.start();
  const std::string ta = hq.registerTerminal("S1", "TA");
  const std::string tb = hq.registerTerminal("S2", "TB", "Asia/Shanghai");
  auto cfg = hq.client()->Put("/api/v1/admin/config", bearer(hq.adminToken()),
                              json{{"toml", "[[tier]]\nname = \"member\"\nthreshold = \"0\"\nmultiplier = \"1.0\"\n"
                                            "[[tier]]\nname = \"silver\"\nthreshold = \"500.00\"\nmultiplier = \"1.2\"\n"
                                            "[[tier]]\nname = \"gold\"\nthreshold = \"900.00\"\nmultiplier = \"1.5\"\n"}}
                                  .dump(),
                              "application/json");
  REQUIRE(cfg);
  REQUIRE(cfg->status == 200);

  json answers = json::array();
  const auto upload = [&](const std::string& token, const std::string& terminal, json events) {
    answers.push_back(postJson(hq, "/api/v1/events", token, batch(terminal, std::move(events))));
  };
  upload(ta, "TA", {enrolEvent("TA", "S1", 1, "M1"), enrolEvent("TA", "S1", 2, "M2"), enrolEvent("TA", "S1", 3, "M3"),
                    saleEvent("TA", "S1", 4, std::string("M1"), "100.00", 100)});
  postJson(hq, "/api/v1/redemptions", ta, {{"redemption_id", "R1"}, {"member_id", "M1"}, {"points", 40}});
  postJson(hq, "/api/v1/admin/members/M3/erase", hq.adminToken(), {{"reason", "asked"}});

  json invalid = saleEvent("TA", "S1", 19, std::string("M4"), "1.00", 1);
  invalid["payload"]["total"] = 1.0;
  json changed = saleEvent("TA", "S1", 7, std::string("M4"), "21.00", 21);
  json varied = {
      saleEvent("TA", "S1", 7, std::string("M4"), "20.00", 20),  // sent before its enrolment, applied after it
      enrolEvent("TA", "S1", 5, "M4"),
      sale3("TA", "S1", 6, std::string("M1"), 600, "2026-11-23T11:00:00Z"),  // crosses silver
      unauthorisedRedeem("TA", "S1", 8, "M1", 40, "R1"),                   // settles the reservation
      redeemEvent("TA", "S1", 9, "M2", 500, "R9", "offline"),                  // overdraws
      refundEvent("TA", "S1", 10, "TA-s6", std::string("M1"), "100.00", 100, 0),
      saleEvent("TA", "S1", 11, std::nullopt, "5.00", 0),
      saleEvent("TA", "S1", 12, std::string("M5"), "30.00", 30, 0, "2026-11-23T23:30:00Z"),  // M5 unknown yet
      sale3("TA", "S1", 13, std::string("M1"), 700, "2026-12-02T10:00:00Z"),  // a new month: review, then gold
      enrolEvent("TA", "S1", 14, "M3"),                                       // erased: refused
      adjustEvent("TA", "S1", 15, "M1", "bonus", 5000),                       // an invented bonus: refused
      updateEvent("TA", "S1", 16, "M2"),
      saleEvent("TA", "S1", 17, std::string("M1"), "1.00", 1, 0, "2026-12-02T12:00:00Z"),
      saleEvent("TA", "S1", 6, std::string("M1"), "1.00", 1),  // another event at an applied seq: conflict
      sale3("TA", "S1", 6, std::string("M1"), 600, "2026-11-23T11:00:00Z"),  // sent twice in the batch
      enrolEvent("TA", "S1", 18, "M5"),  // the member 12 made known
      invalid,
      saleEvent("TA", "S1", 21, std::string("M1"), "3.00", 3),  // after the invalid one: a gap
  };
  upload(ta, "TA", varied);
  upload(ta, "TA", varied);  // sent again: duplicates, the same refusals
  json fromB = {
      saleEvent("TB", "S2", 1, std::string("M6"), "50.00", 50),  // known first here, enrolled at S1 later
      saleEvent("TB", "S2", 2, std::string("M1"), "80.00", 80, 0, "2026-12-02T16:30:00Z"),
      refundEvent("TB", "S2", 3, "TB-s1", std::string("M6"), "10.00", 10, 0),
      unauthorisedRedeem("TB", "S2", 4, "M1", 20, "R1"),  // another terminal's reservation: not settled
      saleEvent("TB", "S2", 5, std::string("M3"), "4.00", 4),
  };
  fromB[4]["event_id"] = "TA-e7";  // an event id TA used: a conflict
  upload(tb, "TB", fromB);
  upload(ta, "TA", {enrolEvent("TA", "S1", 19, "M6"), changed, saleEvent("TA", "S1", 20, std::string("M6"), "9.00", 9)});

  const json actual = {{"answers", answers}, {"tables", tables(hq)}};
  {
    // Every member given a change number has its place in the change feed's log, and only that
    // one (the reference holds members.change_no).
    const auto c = hq.sql();
    CHECK(c->query("SELECT member_id FROM members m WHERE change_no > 0 AND NOT EXISTS (SELECT 1 FROM member_feed f WHERE "
                   "f.member_id = m.member_id AND f.change_no = m.change_no)")
              .empty());
    CHECK(c->query("SELECT COUNT(*) FROM member_feed").integer(0, 0) ==
          c->query("SELECT COUNT(*) FROM members WHERE change_no > 0").integer(0, 0));
  }
  const std::string path = std::string(LOYALTY_SOURCE_DIR) + "/tests/fixtures/hq/ingest_reference.json";
  if (std::getenv("LOYALTY_RECORD_INGEST_REFERENCE")) {
    std::ofstream(path + "." + TestType::kName) << actual.dump(1) << "\n";
    return;
  }
  std::ifstream in(path);
  REQUIRE(in);
  const json expected = json::parse(in);
  CHECK(actual.at("answers").dump(1) == expected.at("answers").dump(1));
  for (const auto& [table, rows] : expected.at("tables").items()) {
    INFO(table);
    CHECK(actual.at("tables").at(table).dump(1) == rows.dump(1));
  }
}

namespace {

/// The member aggregates (visits, first and last days) as rows of text, in key order.
std::string memberAggregates(loyalty::hq::SqlConnection& c) {
  std::string out;
  for (const char* select : {"SELECT month, member_id, sales, net, visits, first_day, last_day FROM agg_member_month "
                             "ORDER BY month, member_id",
                             "SELECT member_id, sales, net, visits, first_day, last_day FROM agg_member ORDER BY member_id",
                             "SELECT store_id, member_id, sales, net, visits, first_day, last_day FROM agg_member_store "
                             "ORDER BY store_id, member_id"}) {
    const auto r = c.query(select);
    for (std::size_t i = 0; i < r.size(); ++i) {
      for (std::size_t k = 0; k < r.rows[i].size(); ++k) out += (r.isNull(i, k) ? std::string("NULL") : r.text(i, k)) + "|";
      out += "\n";
    }
  }
  return out;
}

json saleAt(const std::string& terminal, const std::string& store, std::int64_t seq, const std::string& member,
            const std::string& day) {
  return saleEvent(terminal, store, seq, member, "10.00", 10, 0, day + "T10:00:00Z");
}

}  // namespace

TEMPLATE_TEST_CASE("ingest counts a visit for a sale on a day between a member's first and last sale days", "[hq]", HQ_BACKENDS) {
  // Visits are read from the members' first and last sale days; a day strictly between them
  // (a terminal uploading older sales) is looked up in the sales, anywhere and per store.
  HqInstance hq(TestType::kName);
  hq.start();
  const std::string ta = hq.registerTerminal("S1", "TA");
  const std::string tb = hq.registerTerminal("S2", "TB");
  const auto upload = [&](const std::string& token, const std::string& terminal, json events) {
    const json answer = postJson(hq, "/api/v1/events", token, batch(terminal, std::move(events)));
    for (const auto& r : answer.at("results")) CHECK(r.at("status") == "applied");
  };
  json refund = refundEvent("TA", "S1", 4, "TA-s2", std::string("M3"), "1.00", 0, 0);
  refund["at"] = "2026-11-21T15:00:00Z";
  upload(ta, "TA", {enrolEvent("TA", "S1", 1, "M1"), saleAt("TA", "S1", 2, "M1", "2026-11-20"), saleAt("TA", "S1", 3, "M1", "2026-11-25"),
                    refund});  // M3: a refund only, no sale day yet
  upload(tb, "TB", {saleAt("TB", "S2", 1, "M1", "2026-11-22")});  // between, at another store
  upload(ta, "TA", {saleAt("TA", "S1", 5, "M1", "2026-11-22"),   // a visit at S1, not anywhere
                    saleAt("TA", "S1", 6, "M1", "2026-11-25"),   // the last day: no visit
                    saleAt("TA", "S1", 7, "M1", "2026-11-19"),   // before the first: a visit
                    saleAt("TA", "S1", 8, "M1", "2026-11-23"),   // between, none that day: a visit
                    saleAt("TA", "S1", 9, "M1", "2026-11-23"),   // the same day again: no visit
                    saleAt("TA", "S1", 10, "M3", "2026-11-21")});  // after a refund only: a visit
  upload(tb, "TB", {saleAt("TB", "S2", 2, "M1", "2026-11-23")});  // between at S2: a visit there only

  const auto sql = hq.sql();
  const std::string kept = memberAggregates(*sql);
  {
    loyalty::hq::SqlTransaction tx(*sql);
    loyalty::hq::rebuildAggregates(*sql);
    tx.commit();
  }
  CHECK(kept == memberAggregates(*sql));
  const auto visits = [&](const std::string& select) { return sql->query(select).integer(0, 0); };
  CHECK(visits("SELECT visits FROM agg_member WHERE member_id = 'M1'") == 5);
  CHECK(visits("SELECT visits FROM agg_member_store WHERE store_id = 'S1' AND member_id = 'M1'") == 5);
  CHECK(visits("SELECT visits FROM agg_member_store WHERE store_id = 'S2' AND member_id = 'M1'") == 2);
  CHECK(visits("SELECT visits FROM agg_member WHERE member_id = 'M3'") == 1);
}

TEMPLATE_TEST_CASE("ingest stores text exactly as sent, whatever characters it holds", "[hq]", HQ_BACKENDS) {
  // PostgreSQL receives a batch's rows as one array per column: quotes, backslashes, commas,
  // braces, the word NULL and an empty string must come back as they were sent.
  HqInstance hq(TestType::kName);
  hq.start();
  const std::string ta = hq.registerTerminal("S1", "TA");
  const std::vector<std::string> texts = {"say \"hi\", {friend}", "C:\\till\\", "NULL", "", "\"", "\\\"", "王小明 {,}"};
  json events = json::array();
  json enrol = enrolEvent("TA", "S1", 1, "M\"1\\,");
  enrol["payload"]["name"] = texts[0];
  events.push_back(enrol);
  json sale = saleEvent("TA", "S1", 2, std::string("M\"1\\,"), "7.00", 7);
  sale["payload"]["lines"] = json::array();
  for (std::size_t i = 0; i < texts.size(); ++i) {
    sale["payload"]["lines"].push_back({{"sku", texts[i].empty() ? "-" : texts[i]}, {"description", texts[i]}, {"qty", 1},
                                        {"unit_price", "1.00"}, {"amount", "1.00"}});
  }
  events.push_back(sale);
  const json answer = postJson(hq, "/api/v1/events", ta, batch("TA", events));
  for (const auto& r : answer.at("results")) CHECK(r.at("status") == "applied");

  const auto sql = hq.sql();
  CHECK(sql->query("SELECT name FROM members WHERE member_id = $1", {std::string("M\"1\\,")}).text(0, 0) == texts[0]);
  const auto lines = sql->query("SELECT description, sku, event_id FROM sale_lines ORDER BY line_no");
  REQUIRE(lines.size() == texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    INFO(texts[i]);
    CHECK(lines.text(i, 0) == texts[i]);
    CHECK(lines.text(i, 1) == (texts[i].empty() ? "-" : texts[i]));
    CHECK(lines.text(i, 2) == "TA-e2");
  }
  CHECK(json::parse(sql->query("SELECT payload FROM events WHERE event_id = 'TA-e2'").text(0, 0)) == sale["payload"]);
  CHECK(sql->query("SELECT member_id FROM ledger").text(0, 0) == "M\"1\\,");
}

TEMPLATE_TEST_CASE("ingest writes every row of a batch once and in order, whatever the batch's size", "[hq]", HQ_BACKENDS) {
  // SQLite writes a table's rows in statements of 64, 8 and 1 rows: sizes on either side of
  // those, and one batch of the protocol's 1,000, each row exactly once.
  HqInstance hq(TestType::kName);
  hq.start();
  const std::string token = hq.registerTerminal("S1", "TA");
  constexpr int kMembers = 70;  // more than one statement's worth of member rows too
  json enrolments = json::array();
  for (int m = 1; m <= kMembers; ++m) enrolments.push_back(enrolEvent("TA", "S1", m, "M" + std::to_string(m)));
  uploadApplied(hq, token, "TA", std::move(enrolments));
  std::int64_t seq = kMembers, sales = 0, earned = 0;
  std::map<std::string, std::int64_t> balances;
  for (const int size : {1, 7, 8, 9, 63, 64, 65, 73, 1000}) {
    json events = json::array();
    for (int i = 0; i < size; ++i) {
      ++seq;
      const std::string member = "M" + std::to_string(seq % kMembers + 1);
      const std::int64_t points = seq % 13 + 1;
      events.push_back(saleEvent("TA", "S1", seq, member, std::to_string(points) + ".00", points));
      balances[member] += points;
      earned += points;
      ++sales;
    }
    uploadApplied(hq, token, "TA", std::move(events));
  }
  auto sql = hq.sql();
  CHECK(sql->query("SELECT COUNT(*), SUM(total), MIN(seq), MAX(seq) FROM sales JOIN events USING (event_id)").rows ==
        std::vector<std::vector<std::optional<std::string>>>{
            {std::to_string(sales), std::to_string(earned * 100), std::to_string(kMembers + 1), std::to_string(seq)}});
  CHECK(sql->query("SELECT COUNT(*) FROM events").integer(0, 0) == seq);
  CHECK(sql->query("SELECT COUNT(*) FROM sale_lines").integer(0, 0) == sales);
  CHECK(sql->query("SELECT COUNT(*), SUM(points) FROM ledger").integer(0, 1) == earned);
  CHECK(sql->query("SELECT SUM(sales), SUM(net) FROM agg_member").integer(0, 0) == sales);
  CHECK(sql->query("SELECT SUM(sales), SUM(gross) FROM agg_sales").integer(0, 1) == earned * 100);
  const auto members = sql->query("SELECT member_id, balance, lifetime_spend FROM members ORDER BY member_id");
  REQUIRE(members.size() == kMembers);
  for (std::size_t i = 0; i < members.size(); ++i) {
    INFO(members.text(i, 0));
    CHECK(members.integer(i, 1) == balances[members.text(i, 0)]);
    CHECK(members.integer(i, 2) == balances[members.text(i, 0)] * 100);
  }
  if (std::string(TestType::kName) == "sqlite") {
    // Written in the order applied: the events' insertion order is their seq order.
    const auto order = sql->query("SELECT seq FROM events ORDER BY rowid");
    REQUIRE(order.size() == static_cast<std::size_t>(seq));
    for (std::size_t i = 0; i < order.size(); ++i) REQUIRE(order.integer(i, 0) == static_cast<std::int64_t>(i + 1));
  }
}

TEMPLATE_TEST_CASE("a member's spend over the tier window is read from indexes that hold the amounts", "[hq]", HQ_BACKENDS) {
  // Every member an upload's sales name has their net spend over the tier window summed
  // (hq/src/store.cpp loadMembers, tiers.cpp netSpend): the indexes on (member_id, at) carry the
  // amount, so no table row is read per earlier sale or refund.
  HqInstance hq(TestType::kName);
  hq.start();
  const auto sql = hq.sql();
  const auto columns = [&](const std::string& index) {
    const auto r = sql->backend() == "sqlite"
                       ? sql->query("SELECT name FROM pragma_index_info($1) ORDER BY seqno", {index})
                       : sql->query("SELECT a.attname FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
                                    "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
                                    "WHERE i.indexrelid = to_regclass($1) ORDER BY k.n",
                                    {index});
    std::string out;
    for (std::size_t i = 0; i < r.size(); ++i) out += (i ? ", " : "") + r.text(i, 0);
    return out;
  };
  CHECK(columns("sales_member_spend") == "member_id, at, total");
  CHECK(columns("refunds_member_spend") == "member_id, at, amount");
  CHECK(columns("sales_member").empty());  // the earlier releases', without the amount
  CHECK(columns("refunds_member").empty());
  if (sql->backend() == "sqlite") {
    // The upload's own statement (one per window, members as a list of keys).
    const auto plan = sql->query("EXPLAIN QUERY PLAN SELECT member_id, SUM(total) FROM sales WHERE at >= $1 AND at < $2 AND "
                                 "member_id IN ($3, $4) GROUP BY member_id",
                                 {std::string("2025-11-24T16:00:00Z"), std::string("2026-11-24T16:00:00Z"), std::string("M1"),
                                  std::string("M2")});
    CHECK(plan.text(0, 3).find("COVERING INDEX sales_member_spend") != std::string::npos);
  }
}
