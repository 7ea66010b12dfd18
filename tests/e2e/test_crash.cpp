// Crash safety through the real binary: a terminal killed with SIGKILL at random points, over and
// over, must keep every operation it acknowledged and must never leave one half-written.
//
// The workload is planned so that every request is valid whatever the kills do: a request that was
// sent but not answered is sent again, unchanged, at the head of the next batch, and it must then
// succeed (a replay if it had committed, a first commit if it had not). Because the terminal works
// through its input in order and unanswered requests are always a suffix of everything sent, the
// operations found committed in the database must always be a prefix of the planned sequence.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "../support/child_process.hpp"
#include "../support/temp_dir.hpp"
#include "loyalty/db/database.hpp"
#include "loyalty/terminal/counter_service.hpp"
#include "loyalty/terminal/outbox.hpp"
#include "loyalty/terminal/store.hpp"

using loyalty::test::ChildProcess;
using loyalty::test::TempDir;
using nlohmann::json;

namespace {

constexpr int kRounds = 30;
constexpr int kMembers = 20;
constexpr std::uint64_t kDefaultSeed = 20260301;
// Kept below what a pipe holds (64 KiB at ~300 bytes a line), so writing a batch never blocks
// and the kill timer starts when the whole batch is in flight.
constexpr std::size_t kMaxBatch = 90;
// Well under the supervisor-PIN threshold (2000), so no redemption needs a PIN.
constexpr std::int64_t kMaxRedeemPoints = 400;
constexpr std::int64_t kMaxPointsPaidAtSale = 300;

std::uint64_t crashSeed() {
  if (const char* text = std::getenv("LOYALTY_CRASH_SEED")) return std::stoull(text);
  return kDefaultSeed;
}

std::string money(std::int64_t minor) {
  const std::string cents = std::to_string(minor % 100);
  return std::to_string(minor / 100) + "." + (cents.size() == 1 ? "0" : "") + cents;
}

/// Minor units of a decimal money string from a result ("12.30", "-3.00").
std::int64_t minorUnits(const json& text) {
  const std::string s = text.get<std::string>();
  const bool negative = !s.empty() && s[0] == '-';
  const std::string digits = negative ? s.substr(1) : s;
  const auto dot = digits.find('.');
  std::int64_t value = std::stoll(digits.substr(0, dot)) * 100;
  if (dot != std::string::npos) {
    std::string fraction = digits.substr(dot + 1);
    fraction.resize(2, '0');
    value += std::stoll(fraction);
  }
  return negative ? -value : value;
}

enum class Kind { kSale, kRedeem, kRefund };

const char* idempotencyOp(Kind kind) {
  switch (kind) {
    case Kind::kSale:
      return "sale";
    case Kind::kRedeem:
      return "redeem";
    case Kind::kRefund:
      return "refund";
  }
  return "";
}

struct PlannedLine {
  std::string sku;
  std::int64_t qty = 0;
  std::int64_t refundPlanned = 0;  ///< quantity already covered by issued refunds
};

/// One sale, redemption or refund, from planning until the terminal acknowledges it.
struct Operation {
  Kind kind = Kind::kSale;
  std::string key;                 ///< sale_id, redemption_id or refund_id: the idempotency key
  json request;                    ///< sent verbatim on every attempt, so a retry has the same content
  std::optional<int> member;       ///< index into the members; for a refund, the refunded sale's
  std::size_t refundedSale = 0;    ///< refund: index of the sale operation
  std::vector<PlannedLine> lines;  ///< sale: its lines
  bool wholeRefundIssued = false;  ///< sale: "refund what is left" is issued, so nothing more is planned
  bool reversalReserved = false;   ///< sale: its points were taken off the member's guaranteed points
  bool acknowledged = false;
  json result;  ///< what the terminal answered, once acknowledged
};

struct Member {
  std::string id;
  /// A floor under the member's balance at any point where a request not yet issued could run:
  /// earnings count once acknowledged, every issued debit (redemption, points paid at a sale, the
  /// reversal a refund may bring) counts as soon as it is issued. Requests run in issue order, so a
  /// redemption planned within this floor can never meet insufficient_points, however often the
  /// terminal dies around it.
  std::int64_t guaranteedPoints = 0;
};

/// Plans the sales, redemptions and refunds, and keeps what was sent and what was acknowledged.
class Workload {
 public:
  Workload(std::uint64_t seed, std::vector<std::string> memberIds) : m_rng(seed) {
    for (auto& id : memberIds) m_members.push_back({std::move(id), 0});
  }

  const std::vector<Operation>& operations() const { return m_ops; }
  const std::vector<Member>& members() const { return m_members; }
  std::size_t firstUnacknowledged() const { return m_firstUnacknowledged; }
  std::mt19937_64& rng() { return m_rng; }

  /// Adds this round's new operations after the ones still waiting for an answer.
  void planRound(int round) {
    const std::size_t pending = m_ops.size() - m_firstUnacknowledged;
    const std::size_t room = kMaxBatch > pending ? kMaxBatch - pending : 0;
    const std::size_t count = std::min(room, uniform<std::size_t>(15, 45));
    for (std::size_t n = 0; n < count; ++n) {
      const std::string suffix = std::to_string(round) + "-" + std::to_string(n);
      const int pick = uniform(0, 99);
      if (pick >= 60 && pick < 80 && planRedemption("RD-" + suffix)) continue;
      if (pick >= 80 && planRefund("RF-" + suffix)) continue;
      planSale("S-" + suffix);
    }
  }

  /// Every request not yet acknowledged, one JSON line each, in issue order.
  std::string pendingBatch() const {
    std::string text;
    for (std::size_t i = m_firstUnacknowledged; i < m_ops.size(); ++i) text += m_ops[i].request.dump() + "\n";
    return text;
  }

  /// Records the answer to the first unacknowledged request (answers come in request order).
  void acknowledgeNext(const json& response) {
    REQUIRE(m_firstUnacknowledged < m_ops.size());
    Operation& op = m_ops[m_firstUnacknowledged];
    INFO("request " << op.request.dump() << "\nresponse " << response.dump());
    REQUIRE(response.value("id", json()) == op.request["id"]);
    // Every request is valid by construction, so a refusal is a bug, most of all for a retry.
    REQUIRE(response.value("ok", false) == true);
    op.acknowledged = true;
    op.result = response["result"];
    if (op.kind == Kind::kSale && op.member) {
      m_members[static_cast<std::size_t>(*op.member)].guaranteedPoints +=
          std::max<std::int64_t>(op.result.value("points_earned", std::int64_t{0}), 0);
    }
    ++m_firstUnacknowledged;
  }

 private:
  template <class T>
  T uniform(T low, T high) {
    return std::uniform_int_distribution<T>(low, high)(m_rng);
  }
  bool chance(double p) { return std::bernoulli_distribution(p)(m_rng); }

  Member& member(int index) { return m_members[static_cast<std::size_t>(index)]; }

  void planSale(const std::string& saleId) {
    Operation op;
    op.kind = Kind::kSale;
    op.key = saleId;
    json lines = json::array();
    std::int64_t goods = 0;
    const int lineCount = uniform(1, 4);
    for (int i = 0; i < lineCount; ++i) {
      const std::string sku = std::string("SKU-") + static_cast<char>('A' + i);
      const std::int64_t qty = uniform<std::int64_t>(1, 5);
      const std::int64_t priceMinor = uniform<std::int64_t>(50, 5000);
      goods += qty * priceMinor;
      json line = {{"sku", sku}, {"qty", qty}, {"unit_price", money(priceMinor)}};
      if (chance(0.3)) line["description"] = "毛巾 towel";
      lines.push_back(std::move(line));
      op.lines.push_back({sku, qty, 0});
    }
    if (chance(0.1)) {
      // A return without receipt inside a sale: a negative line that refunds never touch.
      const std::int64_t priceMinor = uniform<std::int64_t>(1, goods / 2);
      lines.push_back({{"sku", "RETURN"}, {"qty", -1}, {"unit_price", money(priceMinor)}});
      op.lines.push_back({"RETURN", -1, 0});
      goods -= priceMinor;
    }
    op.request = {{"id", "sale:" + saleId}, {"op", "sale"}, {"sale_id", saleId}, {"lines", std::move(lines)}};
    if (chance(0.85)) {
      const int m = uniform(0, kMembers - 1);
      op.member = m;
      op.request["member"] = member(m).id;
      const std::int64_t affordable = std::min({member(m).guaranteedPoints, kMaxPointsPaidAtSale, goods});
      if (affordable > 0 && chance(0.25)) {
        // 100 points buy 1.00, so paying `points` takes `points` minor units off: never above `goods`.
        const std::int64_t points = uniform<std::int64_t>(1, affordable);
        op.request["redeem_points"] = points;
        member(m).guaranteedPoints -= points;
      }
    }
    m_ops.push_back(std::move(op));
  }

  bool planRedemption(const std::string& redemptionId) {
    std::vector<int> able;
    for (int m = 0; m < kMembers; ++m) {
      if (member(m).guaranteedPoints > 0) able.push_back(m);
    }
    if (able.empty()) return false;
    const int m = able[uniform<std::size_t>(0, able.size() - 1)];
    const std::int64_t points =
        uniform<std::int64_t>(1, std::min(member(m).guaranteedPoints, kMaxRedeemPoints));
    member(m).guaranteedPoints -= points;
    Operation op;
    op.kind = Kind::kRedeem;
    op.key = redemptionId;
    op.member = m;
    op.request = {{"id", "redeem:" + redemptionId},
                  {"op", "redeem"},
                  {"redemption_id", redemptionId},
                  {"member", member(m).id},
                  {"points", points}};
    m_ops.push_back(std::move(op));
    return true;
  }

  bool planRefund(const std::string& refundId) {
    // Only acknowledged sales: they are certainly committed, and their points are known.
    std::vector<std::size_t> refundable;
    for (std::size_t i = 0; i < m_firstUnacknowledged; ++i) {
      const Operation& s = m_ops[i];
      if (s.kind != Kind::kSale || s.wholeRefundIssued) continue;
      if (std::any_of(s.lines.begin(), s.lines.end(),
                      [](const PlannedLine& l) { return l.qty > l.refundPlanned; })) {
        refundable.push_back(i);
      }
    }
    if (refundable.empty()) return false;
    const std::size_t saleIndex = refundable[uniform<std::size_t>(0, refundable.size() - 1)];
    Operation& sale = m_ops[saleIndex];
    Operation op;
    op.kind = Kind::kRefund;
    op.key = refundId;
    op.member = sale.member;
    op.refundedSale = saleIndex;
    op.request = {
        {"id", "refund:" + refundId}, {"op", "refund"}, {"refund_id", refundId}, {"sale_id", sale.key}};
    if (chance(0.25)) {
      sale.wholeRefundIssued = true;
      for (PlannedLine& l : sale.lines) l.refundPlanned = std::max(l.qty, std::int64_t{0});
    } else {
      std::vector<std::size_t> open;
      for (std::size_t l = 0; l < sale.lines.size(); ++l) {
        if (sale.lines[l].qty > sale.lines[l].refundPlanned) open.push_back(l);
      }
      PlannedLine& line = sale.lines[open[uniform<std::size_t>(0, open.size() - 1)]];
      const std::int64_t qty = uniform<std::int64_t>(1, line.qty - line.refundPlanned);
      line.refundPlanned += qty;
      op.request["lines"] = json::array({{{"sku", line.sku}, {"qty", qty}}});
    }
    if (sale.member && !sale.reversalReserved) {
      // All refunds of a sale together reverse at most what it earned.
      sale.reversalReserved = true;
      member(*sale.member).guaranteedPoints -=
          std::max<std::int64_t>(sale.result.value("points_earned", std::int64_t{0}), 0);
    }
    m_ops.push_back(std::move(op));
    return true;
  }

  std::mt19937_64 m_rng;
  std::vector<Member> m_members;
  std::vector<Operation> m_ops;
  std::size_t m_firstUnacknowledged = 0;
};

// [SECTION] What the database holds after a kill

struct SaleRow {
  std::optional<std::string> memberId;
  std::int64_t subtotal = 0, discount = 0, total = 0, pointsEarned = 0, pointsRedeemed = 0;
  std::int64_t refundedAmount = 0, pointsReversed = 0, redeemedReturned = 0;
};

struct RefundRow {
  std::string saleId;
  std::int64_t amount = 0, pointsReversed = 0;
};

struct RedemptionRow {
  std::string memberId;
  std::int64_t points = 0;
};

struct LedgerRow {
  std::int64_t entryId = 0;
  std::string memberId, kind;
  std::int64_t points = 0;
  std::optional<std::string> saleId;
  std::string refId;
  std::int64_t balanceAfter = 0;
};

struct MemberRow {
  std::int64_t balance = 0;
  std::int64_t ledgerSum = 0;
};

struct Snapshot {
  std::vector<std::string> integrity;
  std::vector<std::string> foreignKeyViolations;
  std::map<std::string, SaleRow> sales;
  std::map<std::string, std::int64_t> saleLineCount;
  std::map<std::pair<std::string, std::int64_t>, std::int64_t> saleLineRefundedQty;
  std::map<std::string, RefundRow> refunds;
  std::map<std::string, std::int64_t> refundLineCount, refundLineQty;
  std::map<std::pair<std::string, std::int64_t>, std::int64_t> refundedQtyBySaleLine;
  std::map<std::string, RedemptionRow> redemptions;
  std::vector<LedgerRow> ledger;
  std::map<std::string, MemberRow> members;
  /// Events per type per the key their payload names (sale_id, refund_id or redemption_id).
  std::map<std::string, std::map<std::string, int>> events;
  std::int64_t outboxCount = 0, outboxMinSeq = 0, outboxMaxSeq = 0;
  std::map<std::pair<std::string, std::string>, json> idempotency;
};

template <class OnRow>
void eachRow(loyalty::db::Database& db, const char* sql, OnRow&& onRow) {
  auto q = db.query(sql);
  while (q.step()) onRow(q);
}

Snapshot readSnapshot(loyalty::db::Database& db) {
  using loyalty::db::Query;
  Snapshot s;
  eachRow(db, "PRAGMA integrity_check", [&](const Query& q) { s.integrity.push_back(q.text("integrity_check")); });
  eachRow(db, "PRAGMA foreign_key_check", [&](const Query& q) {
    s.foreignKeyViolations.push_back(q.text("table") + " rowid " + q.optText("rowid").value_or("?") + " -> " +
                                     q.text("parent"));
  });
  eachRow(db,
          "SELECT sale_id, member_id, subtotal, discount, total, points_earned, points_redeemed, "
          "refunded_amount, points_reversed, redeemed_returned FROM sales",
          [&](const Query& q) {
            s.sales[q.text("sale_id")] = {q.optText("member_id"),      q.int64("subtotal"),
                                          q.int64("discount"),         q.int64("total"),
                                          q.int64("points_earned"),    q.int64("points_redeemed"),
                                          q.int64("refunded_amount"),  q.int64("points_reversed"),
                                          q.int64("redeemed_returned")};
          });
  eachRow(db, "SELECT sale_id, line_no, refunded_qty FROM sale_lines", [&](const Query& q) {
    ++s.saleLineCount[q.text("sale_id")];
    s.saleLineRefundedQty[{q.text("sale_id"), q.int64("line_no")}] = q.int64("refunded_qty");
  });
  eachRow(db, "SELECT refund_id, sale_id, amount, points_reversed FROM refunds", [&](const Query& q) {
    s.refunds[q.text("refund_id")] = {q.text("sale_id"), q.int64("amount"), q.int64("points_reversed")};
  });
  eachRow(db,
          "SELECT l.refund_id, f.sale_id, l.line_no, l.qty FROM refund_lines l LEFT JOIN refunds f USING "
          "(refund_id)",
          [&](const Query& q) {
            ++s.refundLineCount[q.text("refund_id")];
            s.refundLineQty[q.text("refund_id")] += q.int64("qty");
            s.refundedQtyBySaleLine[{q.optText("sale_id").value_or("?"), q.int64("line_no")}] += q.int64("qty");
          });
  eachRow(db, "SELECT redemption_id, member_id, points FROM redemptions", [&](const Query& q) {
    s.redemptions[q.text("redemption_id")] = {q.text("member_id"), q.int64("points")};
  });
  eachRow(db,
          "SELECT entry_id, member_id, kind, points, sale_id, ref_id, balance_after FROM ledger ORDER BY "
          "entry_id",
          [&](const Query& q) {
            s.ledger.push_back({q.int64("entry_id"), q.text("member_id"), q.text("kind"), q.int64("points"),
                                q.optText("sale_id"), q.text("ref_id"), q.int64("balance_after")});
          });
  // The ledger sum straight from SQL, independent of any code in the terminal.
  eachRow(db,
          "SELECT m.member_id, m.balance, (SELECT COALESCE(SUM(l.points), 0) FROM ledger l "
          "WHERE l.member_id = m.member_id) AS ledger_sum FROM members m",
          [&](const Query& q) {
            s.members[q.text("member_id")] = {q.int64("balance"), q.int64("ledger_sum")};
          });
  eachRow(db, "SELECT event_id, type, payload FROM outbox", [&](const Query& q) {
    const std::string type = q.text("type");
    const json payload = json::parse(
        loyalty::terminal::openOutboxPayload(db, q.text("event_id"), type, q.blob("payload")), nullptr, false);
    const char* keyField = type == "sale.recorded"     ? "sale_id"
                           : type == "sale.refunded"   ? "refund_id"
                           : type == "points.redeemed" ? "redemption_id"
                                                       : "member_id";
    const std::string key =
        payload.is_object() ? payload.value(keyField, std::string("?")) : "<unparsable payload>";
    ++s.events[type][key];
  });
  eachRow(db,
          "SELECT COUNT(*) AS n, COALESCE(MIN(seq), 0) AS min_seq, COALESCE(MAX(seq), 0) AS max_seq FROM outbox",
          [&](const Query& q) {
            s.outboxCount = q.int64("n");
            s.outboxMinSeq = q.int64("min_seq");
            s.outboxMaxSeq = q.int64("max_seq");
          });
  eachRow(db, "SELECT op, key, result FROM idempotency", [&](const Query& q) {
    s.idempotency[{q.text("op"), q.text("key")}] = json::parse(q.text("result"), nullptr, false);
  });
  return s;
}

/// Collects every broken expectation of one inspection, so a failure reports all of them at once.
class Problems {
 public:
  void expect(bool holds, const std::string& what) {
    if (!holds) m_list.push_back(what);
  }
  bool empty() const { return m_list.empty(); }
  std::string report() const {
    std::string text;
    for (std::size_t i = 0; i < m_list.size() && i < 40; ++i) text += "  " + m_list[i] + "\n";
    if (m_list.size() > 40) text += "  ... and " + std::to_string(m_list.size() - 40) + " more\n";
    return text;
  }

 private:
  std::vector<std::string> m_list;
};

std::string str(std::int64_t v) { return std::to_string(v); }

/// The ledger entries an operation wrote (ref_id = its key), in order.
std::vector<const LedgerRow*> entriesFor(const Snapshot& s, const std::string& refId) {
  std::vector<const LedgerRow*> found;
  for (const LedgerRow& e : s.ledger) {
    if (e.refId == refId) found.push_back(&e);
  }
  return found;
}

bool isCommitted(const Snapshot& s, const Operation& op) {
  switch (op.kind) {
    case Kind::kSale:
      return s.sales.contains(op.key);
    case Kind::kRedeem:
      return s.redemptions.contains(op.key);
    case Kind::kRefund:
      return s.refunds.contains(op.key);
  }
  return false;
}

/// The balance an acknowledged result reports must be the one its last ledger entry recorded.
void checkAcknowledgedBalance(Problems& p, const Operation& op,
                              const std::vector<const LedgerRow*>& entries) {
  if (entries.empty()) return;  // nothing written: the result shows the balance as it stood
  p.expect(op.result.value("balance", json()) == entries.back()->balanceAfter,
           op.key + ": acknowledged balance " + op.result.value("balance", json()).dump() +
               " but its ledger entry says " + str(entries.back()->balanceAfter));
}

void checkSale(Problems& p, const Snapshot& s, const Operation& op, const std::vector<Member>& members) {
  const SaleRow& row = s.sales.at(op.key);
  const std::optional<std::string> memberId =
      op.member ? std::optional(members[static_cast<std::size_t>(*op.member)].id) : std::nullopt;
  p.expect(row.memberId == memberId, op.key + ": stored for another member");
  const auto lines = s.saleLineCount.find(op.key);
  p.expect(lines != s.saleLineCount.end() && lines->second == static_cast<std::int64_t>(op.lines.size()),
           op.key + ": " + str(lines == s.saleLineCount.end() ? 0 : lines->second) + " sale_lines rows for " +
               str(static_cast<std::int64_t>(op.lines.size())) + " lines sent");
  const auto& recorded =
      s.events.count("sale.recorded") ? s.events.at("sale.recorded") : std::map<std::string, int>{};
  const auto event = recorded.find(op.key);
  p.expect(
      event != recorded.end() && event->second == 1,
      op.key + ": " + std::to_string(event == recorded.end() ? 0 : event->second) + " sale.recorded events");

  const auto entries = entriesFor(s, op.key);
  int earns = 0, redeems = 0;
  for (const LedgerRow* e : entries) {
    p.expect(memberId && e->memberId == *memberId,
             op.key + ": ledger entry " + str(e->entryId) + " for another member");
    p.expect(e->saleId == op.key, op.key + ": ledger entry " + str(e->entryId) + " names another sale");
    if (e->kind == "earn") {
      ++earns;
      p.expect(e->points == row.pointsEarned, op.key + ": earned " + str(e->points) + " in the ledger, " +
                                                  str(row.pointsEarned) + " in the sale");
    } else if (e->kind == "redeem") {
      ++redeems;
      p.expect(e->points == -row.pointsRedeemed, op.key + ": paid " + str(-e->points) +
                                                     " points in the ledger, " + str(row.pointsRedeemed) +
                                                     " in the sale");
    } else {
      p.expect(false, op.key + ": unexpected " + e->kind + " ledger entry " + str(e->entryId));
    }
  }
  p.expect(earns == (memberId && row.pointsEarned > 0 ? 1 : 0), op.key + ": " + std::to_string(earns) +
                                                                    " earn entries for " +
                                                                    str(row.pointsEarned) + " points earned");
  p.expect(redeems == (memberId && row.pointsRedeemed > 0 ? 1 : 0),
           op.key + ": " + std::to_string(redeems) + " redeem entries for " + str(row.pointsRedeemed) +
               " points paid");
  p.expect(
      row.pointsReversed <= std::max<std::int64_t>(row.pointsEarned, 0),
      op.key + ": reversed " + str(row.pointsReversed) + " of " + str(row.pointsEarned) + " points earned");

  // The sale's refund totals are the sums of its refunds, line by line too.
  std::int64_t refunded = 0, reversed = 0;
  for (const auto& [id, refund] : s.refunds) {
    if (refund.saleId != op.key) continue;
    refunded += refund.amount;
    reversed += refund.pointsReversed;
  }
  p.expect(row.refundedAmount == refunded, op.key + ": refunded_amount " + str(row.refundedAmount) +
                                               " but its refunds add up to " + str(refunded));
  p.expect(row.pointsReversed == reversed, op.key + ": points_reversed " + str(row.pointsReversed) +
                                               " but its refunds add up to " + str(reversed));
  for (std::size_t l = 0; l < op.lines.size(); ++l) {
    const std::pair<std::string, std::int64_t> line{op.key, static_cast<std::int64_t>(l + 1)};
    const auto stored = s.saleLineRefundedQty.find(line);
    const auto byRefunds = s.refundedQtyBySaleLine.find(line);
    const std::int64_t storedQty = stored == s.saleLineRefundedQty.end() ? 0 : stored->second;
    const std::int64_t refundQty = byRefunds == s.refundedQtyBySaleLine.end() ? 0 : byRefunds->second;
    p.expect(storedQty == refundQty, op.key + " line " + str(line.second) + ": refunded_qty " +
                                         str(storedQty) + " but its refund lines add up to " +
                                         str(refundQty));
  }

  if (!op.acknowledged) return;
  const json& r = op.result;
  p.expect(r.value("sale_id", std::string()) == op.key, op.key + ": acknowledged under another sale_id");
  p.expect(r.value("points_earned", json()) == row.pointsEarned,
           op.key + ": acknowledged " + r.value("points_earned", json()).dump() + " points earned, stored " +
               str(row.pointsEarned));
  p.expect(r.value("points_redeemed", json()) == row.pointsRedeemed,
           op.key + ": acknowledged " + r.value("points_redeemed", json()).dump() + " points paid, stored " +
               str(row.pointsRedeemed));
  p.expect(minorUnits(r.at("subtotal")) == row.subtotal && minorUnits(r.at("discount")) == row.discount &&
               minorUnits(r.at("total")) == row.total,
           op.key + ": acknowledged amounts " + r.dump() + " differ from the stored sale");
  if (memberId) {
    checkAcknowledgedBalance(p, op, entries);
  } else {
    p.expect(r.value("balance", json(0)).is_null(),
             op.key + ": a sale without member acknowledged a balance");
  }
}

void checkRedeem(Problems& p, const Snapshot& s, const Operation& op, const std::vector<Member>& members) {
  const RedemptionRow& row = s.redemptions.at(op.key);
  const std::string& memberId = members[static_cast<std::size_t>(*op.member)].id;
  p.expect(row.memberId == memberId, op.key + ": stored for another member");
  p.expect(row.points == op.request["points"].get<std::int64_t>(),
           op.key + ": stored " + str(row.points) + " points for " + op.request["points"].dump() + " asked");
  const auto& redeemed =
      s.events.count("points.redeemed") ? s.events.at("points.redeemed") : std::map<std::string, int>{};
  const auto event = redeemed.find(op.key);
  p.expect(event != redeemed.end() && event->second == 1,
           op.key + ": " + std::to_string(event == redeemed.end() ? 0 : event->second) +
               " points.redeemed events");
  const auto entries = entriesFor(s, op.key);
  p.expect(entries.size() == 1 && entries[0]->kind == "redeem" && entries[0]->points == -row.points &&
               entries[0]->memberId == memberId,
           op.key + ": " + std::to_string(entries.size()) + " ledger entries instead of one redeem of " +
               str(row.points));
  if (!op.acknowledged) return;
  p.expect(op.result.value("points", json()) == row.points, op.key + ": acknowledged " +
                                                                op.result.value("points", json()).dump() +
                                                                " points, stored " + str(row.points));
  checkAcknowledgedBalance(p, op, entries);
}

void checkRefund(Problems& p, const Snapshot& s, const Operation& op, const std::vector<Operation>& ops,
                 const std::vector<Member>& members) {
  const RefundRow& row = s.refunds.at(op.key);
  const Operation& sale = ops[op.refundedSale];
  p.expect(row.saleId == sale.key,
           op.key + ": stored against sale " + row.saleId + " instead of " + sale.key);
  const auto lineCount = s.refundLineCount.find(op.key);
  p.expect(lineCount != s.refundLineCount.end() && lineCount->second > 0,
           op.key + ": a refund without refund_lines");
  if (op.request.contains("lines")) {
    const std::int64_t asked = op.request["lines"][0]["qty"].get<std::int64_t>();
    const auto qty = s.refundLineQty.find(op.key);
    p.expect(qty != s.refundLineQty.end() && qty->second == asked,
             op.key + ": refund lines hold " + str(qty == s.refundLineQty.end() ? 0 : qty->second) + " of " +
                 str(asked) + " asked");
  }
  const auto& refunded =
      s.events.count("sale.refunded") ? s.events.at("sale.refunded") : std::map<std::string, int>{};
  const auto event = refunded.find(op.key);
  p.expect(
      event != refunded.end() && event->second == 1,
      op.key + ": " + std::to_string(event == refunded.end() ? 0 : event->second) + " sale.refunded events");
  const auto entries = entriesFor(s, op.key);
  std::int64_t reversed = 0;
  for (const LedgerRow* e : entries) {
    p.expect(e->kind == "reversal", op.key + ": unexpected " + e->kind + " ledger entry " + str(e->entryId));
    p.expect(sale.member && e->memberId == members[static_cast<std::size_t>(*sale.member)].id,
             op.key + ": ledger entry " + str(e->entryId) + " for another member");
    if (e->points < 0) reversed -= e->points;
  }
  p.expect(reversed == row.pointsReversed, op.key + ": reversed " + str(reversed) +
                                               " points in the ledger, " + str(row.pointsReversed) +
                                               " in the refund");
  if (!op.acknowledged) return;
  p.expect(minorUnits(op.result.at("amount")) == row.amount,
           op.key + ": acknowledged amount " + op.result.at("amount").dump() + ", stored " + str(row.amount));
  p.expect(op.result.value("points_reversed", json()) == row.pointsReversed,
           op.key + ": acknowledged " + op.result.value("points_reversed", json()).dump() +
               " points reversed, stored " + str(row.pointsReversed));
  if (sale.member) checkAcknowledgedBalance(p, op, entries);
}

std::string dataDir(const TempDir& dir) { return (dir.path() / "data").string(); }

/// Everything that must hold after any kill. Returns how many operations are committed.
std::size_t checkDatabase(const TempDir& dir, const Workload& workload, const std::string& when) {
  auto db = loyalty::terminal::openTerminalDatabase(dataDir(dir));
  const Snapshot s = readSnapshot(db);
  const auto& ops = workload.operations();
  const auto& members = workload.members();
  Problems p;

  p.expect(s.integrity == std::vector<std::string>{"ok"},
           "integrity_check: " + (s.integrity.empty() ? std::string("no answer") : s.integrity.front()));
  for (const std::string& v : s.foreignKeyViolations) p.expect(false, "foreign key violation: " + v);

  // Commits follow the request order, so the committed operations are exactly a prefix.
  std::size_t committed = 0;
  while (committed < ops.size() && isCommitted(s, ops[committed])) ++committed;
  for (std::size_t i = committed; i < ops.size(); ++i) {
    p.expect(!isCommitted(s, ops[i]),
             ops[i].key + " is committed although " + ops[committed].key + ", sent before it, is not");
  }
  if (committed < workload.firstUnacknowledged()) {
    p.expect(false, "acknowledged " + ops[committed].key + " is not in the database");
  }

  std::map<std::string, std::size_t> opByKey;
  for (std::size_t i = 0; i < ops.size(); ++i) opByKey[ops[i].key] = i;
  for (std::size_t i = 0; i < committed; ++i) {
    const Operation& op = ops[i];
    switch (op.kind) {
      case Kind::kSale:
        checkSale(p, s, op, members);
        break;
      case Kind::kRedeem:
        checkRedeem(p, s, op, members);
        break;
      case Kind::kRefund:
        checkRefund(p, s, op, ops, members);
        break;
    }
    // The stored answer is what a replay returns: it must be the very answer acknowledged.
    const auto stored = s.idempotency.find({idempotencyOp(op.kind), op.key});
    p.expect(stored != s.idempotency.end(), op.key + ": committed without its idempotency key");
    if (op.acknowledged && stored != s.idempotency.end()) {
      p.expect(stored->second == op.result, op.key + ": acknowledged " + op.result.dump() +
                                                " but a replay would answer " + stored->second.dump());
    }
  }

  // Nothing in the database that the workload did not send, nor any row without its other halves.
  const auto sent = [&](const std::string& key, Kind kind) {
    const auto it = opByKey.find(key);
    return it != opByKey.end() && ops[it->second].kind == kind;
  };
  for (const auto& [id, row] : s.sales) p.expect(sent(id, Kind::kSale), "sale " + id + " was never sent");
  for (const auto& [id, row] : s.redemptions)
    p.expect(sent(id, Kind::kRedeem), "redemption " + id + " was never sent");
  for (const auto& [id, row] : s.refunds)
    p.expect(sent(id, Kind::kRefund), "refund " + id + " was never sent");
  for (const auto& [id, n] : s.saleLineCount)
    p.expect(s.sales.contains(id), "sale_lines of a missing sale " + id);
  for (const auto& [id, n] : s.refundLineCount)
    p.expect(s.refunds.contains(id), "refund_lines of a missing refund " + id);
  for (const auto& [key, result] : s.idempotency) {
    const bool hasRow = key.first == "sale"     ? s.sales.contains(key.second)
                        : key.first == "redeem" ? s.redemptions.contains(key.second)
                        : key.first == "refund" ? s.refunds.contains(key.second)
                                                : false;
    p.expect(hasRow, "idempotency key " + key.first + " " + key.second + " without its " + key.first);
  }
  const auto eventsOf = [&](const char* type) {
    return s.events.count(type) ? s.events.at(type) : std::map<std::string, int>{};
  };
  for (const auto& [id, n] : eventsOf("sale.recorded"))
    p.expect(s.sales.contains(id), "sale.recorded for a missing sale " + id);
  for (const auto& [id, n] : eventsOf("sale.refunded"))
    p.expect(s.refunds.contains(id), "sale.refunded for a missing refund " + id);
  for (const auto& [id, n] : eventsOf("points.redeemed")) {
    p.expect(s.redemptions.contains(id), "points.redeemed for a missing redemption " + id);
  }
  p.expect(eventsOf("member.enrolled").size() == members.size(),
           "member.enrolled events do not match the members");
  for (const LedgerRow& e : s.ledger) {
    std::optional<std::string> owner;
    if (const auto sale = s.sales.find(e.refId); sale != s.sales.end()) {
      owner = sale->second.memberId;
    } else if (const auto redemption = s.redemptions.find(e.refId); redemption != s.redemptions.end()) {
      owner = redemption->second.memberId;
    } else if (const auto refund = s.refunds.find(e.refId); refund != s.refunds.end()) {
      if (const auto refundedSale = s.sales.find(refund->second.saleId); refundedSale != s.sales.end()) {
        owner = refundedSale->second.memberId;
      }
    } else {
      p.expect(false, "ledger entry " + str(e.entryId) + " refers to nothing: " + e.refId);
      continue;
    }
    p.expect(owner == e.memberId,
             "ledger entry " + str(e.entryId) + " (" + e.refId + ") is on another member's account");
  }
  p.expect(s.outboxCount == 0 || (s.outboxMinSeq == 1 && s.outboxMaxSeq == s.outboxCount),
           "outbox seq " + str(s.outboxMinSeq) + ".." + str(s.outboxMaxSeq) + " holds " + str(s.outboxCount) +
               " events");

  // Balances: the cached balance, the ledger sum and the business rows all tell the same story.
  std::map<std::string, std::int64_t> fromBusinessRows;
  for (const auto& [id, sale] : s.sales) {
    if (sale.memberId) {
      fromBusinessRows[*sale.memberId] +=
          sale.pointsEarned - sale.pointsRedeemed - sale.pointsReversed + sale.redeemedReturned;
    }
  }
  for (const auto& [id, redemption] : s.redemptions)
    fromBusinessRows[redemption.memberId] -= redemption.points;
  p.expect(s.members.size() == members.size(),
           str(static_cast<std::int64_t>(s.members.size())) + " members stored");
  for (const auto& [id, m] : s.members) {
    p.expect(m.balance == m.ledgerSum,
             "member " + id + ": balance " + str(m.balance) + ", ledger sum " + str(m.ledgerSum));
    p.expect(m.ledgerSum == fromBusinessRows[id], "member " + id + ": ledger sum " + str(m.ledgerSum) +
                                                      " but sales, refunds and redemptions make " +
                                                      str(fromBusinessRows[id]));
  }

  loyalty::terminal::RandomIds ids(1);
  loyalty::terminal::CounterService service(db, loyalty::terminal::CounterConfig{}, ids);
  for (const std::string& problem : service.verify().problems) p.expect(false, "verify: " + problem);

  if (!p.empty())
    FAIL("after " << when << " the database is not what the acknowledgements promise:\n" << p.report());
  return committed;
}

std::vector<std::string> terminalArgs(const TempDir& dir) {
  return {loyalty::test::terminalBinary(),        "exec", "--data", dataDir(dir), "--config",
          (dir.path() / "terminal.toml").string()};
}

/// Enrols the members in one clean run; returns their ids.
std::vector<std::string> enrolMembers(const TempDir& dir) {
  ChildProcess child(terminalArgs(dir));
  std::string batch;
  for (int i = 0; i < kMembers; ++i) {
    batch += json{{"id", i},
                  {"op", "enroll"},
                  {"phone", "1390000" + std::to_string(1000 + i)},
                  {"name", "会员 " + std::to_string(i)},
                  {"consent_marketing", i % 2 == 0}}
                 .dump() +
             "\n";
  }
  REQUIRE(child.write(batch));
  child.closeStdin();
  std::vector<std::string> ids;
  for (int i = 0; i < kMembers; ++i) {
    const auto line = child.readLine();
    REQUIRE(line.has_value());
    const json response = json::parse(*line);
    INFO(response.dump());
    REQUIRE(response["ok"] == true);
    ids.push_back(response["result"]["member_id"].get<std::string>());
  }
  REQUIRE(child.wait() == 0);
  return ids;
}

}  // namespace

TEST_CASE("exec crash: SIGKILL at random points loses nothing acknowledged and leaves nothing half-written",
          "[e2e][crash]") {
  const std::uint64_t seed = crashSeed();
  std::cout << "crash test: seed " << seed << " (replay the same plan with LOYALTY_CRASH_SEED=" << seed
            << "; kill timing still varies)" << std::endl;
  INFO("LOYALTY_CRASH_SEED=" << seed);
  TempDir dir;
  {
    // The spec's offline allowance (500 points per member per day) is a different rule; lifted
    // here so that enforcing it can never turn a planned redemption into a refusal. So is the
    // supervisor's PIN for large refunds.
    std::ofstream config(dir.path() / "terminal.toml");
    config << "[loyalty]\noffline_redeem_allowance = 1000000000\nrefund_supervisor_above = \"1000000.00\"\n";
  }
  Workload workload(seed, enrolMembers(dir));
  const auto started = std::chrono::steady_clock::now();

  int killsWithBatchUnfinished = 0, killsBetweenCommits = 0;
  std::size_t replayedAnswers = 0;
  std::size_t committed = checkDatabase(dir, workload, "enrolment");
  for (int round = 1; round <= kRounds; ++round) {
    INFO("round " << round);
    workload.planRound(round);
    const std::size_t batchStart = workload.firstUnacknowledged();
    const std::size_t batchSize = workload.operations().size() - batchStart;
    const std::size_t committedBefore = committed;

    ChildProcess child(terminalArgs(dir));
    // All at once, so the terminal has commits in flight whenever the kill lands.
    REQUIRE(child.write(workload.pendingBatch()));
    std::size_t answered = 0;
    if (std::bernoulli_distribution(0.5)(workload.rng())) {
      // Kill after a random time, wherever the terminal is: starting, committing, or idle.
      const auto deadline =
          std::chrono::steady_clock::now() +
          std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 30)(workload.rng()));
      while (answered < batchSize) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        const auto line = child.readLine(left);
        if (!line) break;
        workload.acknowledgeNext(json::parse(*line));
        ++answered;
      }
    } else {
      // Kill right after a random number of answers: the next commit is usually under way.
      const std::size_t wanted = std::uniform_int_distribution<std::size_t>(0, batchSize)(workload.rng());
      while (answered < wanted) {
        const auto line = child.readLine(std::chrono::seconds(30));
        REQUIRE(line.has_value());
        workload.acknowledgeNext(json::parse(*line));
        ++answered;
      }
    }
    child.killHard();
    // Stdin stays open, so the terminal cannot have stopped on its own before the kill.
    REQUIRE(child.wait() == 128 + SIGKILL);

    for (std::size_t i = batchStart; i < batchStart + answered; ++i) {
      if (i < committedBefore) ++replayedAnswers;
    }
    committed = checkDatabase(dir, workload, "kill " + std::to_string(round));
    const bool unfinished = committed < workload.operations().size();
    if (unfinished) ++killsWithBatchUnfinished;
    if (unfinished && committed > committedBefore) ++killsBetweenCommits;
  }

  const std::size_t acknowledgedBetweenKills = workload.firstUnacknowledged();
  // One last, undisturbed run answers everything still pending: every retry must succeed.
  {
    ChildProcess child(terminalArgs(dir));
    REQUIRE(child.write(workload.pendingBatch()));
    child.closeStdin();
    const std::size_t committedBefore = committed;
    while (workload.firstUnacknowledged() < workload.operations().size()) {
      const std::size_t next = workload.firstUnacknowledged();
      const auto line = child.readLine(std::chrono::seconds(30));
      REQUIRE(line.has_value());
      workload.acknowledgeNext(json::parse(*line));
      if (next < committedBefore) ++replayedAnswers;
    }
    REQUIRE(child.wait() == 0);
  }
  committed = checkDatabase(dir, workload, "the final run");
  CHECK(committed == workload.operations().size());

  std::map<Kind, int> byKind;
  for (const Operation& op : workload.operations()) ++byKind[op.kind];
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "crash test: " << kRounds << " kills, " << killsWithBatchUnfinished
            << " with the batch unfinished, " << killsBetweenCommits
            << " of them between commits of a batch; " << workload.operations().size()
            << " operations acknowledged (" << byKind[Kind::kSale] << " sales, " << byKind[Kind::kRedeem]
            << " redemptions, " << byKind[Kind::kRefund] << " refunds; " << acknowledgedBetweenKills
            << " before the final run), " << replayedAnswers
            << " of them replays of a commit whose answer a kill had cut off; " << seconds << " s"
            << std::endl;
  // A run whose kills never landed between commits proved nothing about crashes.
  CHECK(killsBetweenCommits > 0);
}
