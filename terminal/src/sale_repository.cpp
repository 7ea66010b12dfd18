#include "loyalty/terminal/sale_repository.hpp"

#include <sodium.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "loyalty/db/row_batches.hpp"

namespace loyalty::terminal {

using nlohmann::json;

namespace {

/// The columns of a sale line's INSERT.
constexpr std::size_t kLineColumns = 10;

/// The sales.promo_context column: the context and the spend promotions of the sale, as JSON.
std::string savedPromotionsJson(const SavedPromotions& saved) {
  json promos = json::array();
  for (const Promotion& p : saved.promotions) {
    promos.push_back({{"id", p.id},
                      {"kind", p.kind == Promotion::Kind::kSpendDiscount ? "spend_discount" : "spend_gift"},
                      {"from", p.from ? json(formatDate(*p.from)) : json(nullptr)},
                      {"to", p.to ? json(formatDate(*p.to)) : json(nullptr)},
                      {"members_only", p.membersOnly},
                      {"threshold", p.threshold.toString()},
                      {"amount", p.amount.toString()},
                      {"repeat", p.repeat},
                      {"gift_sku", p.giftSku}});
  }
  // No birthday: spend promotions never depend on it, and it would be a member's birthday in clear.
  return json{{"today", formatDate(saved.context.today)},
              {"member", saved.context.isMember},
              {"tier", saved.context.tierIndex},
              {"promotions", std::move(promos)},
              {"gifts", saved.gifts}}
      .dump();
}

SavedPromotions readSavedPromotions(const std::string& text) {
  const json j = json::parse(text);
  SavedPromotions out;
  out.context.today = *parseDate(j.at("today").get<std::string>(), "today");
  out.context.isMember = j.at("member").get<bool>();
  out.context.tierIndex = j.at("tier").get<std::size_t>();
  for (const json& p : j.at("promotions")) {
    Promotion promo;
    promo.id = p.at("id").get<std::string>();
    promo.kind = p.at("kind") == "spend_discount" ? Promotion::Kind::kSpendDiscount : Promotion::Kind::kSpendGift;
    if (!p.at("from").is_null()) promo.from = *parseDate(p.at("from").get<std::string>(), "from");
    if (!p.at("to").is_null()) promo.to = *parseDate(p.at("to").get<std::string>(), "to");
    promo.membersOnly = p.at("members_only").get<bool>();
    promo.threshold = *Money::parse(p.at("threshold").get<std::string>(), "threshold");
    promo.amount = *Money::parse(p.at("amount").get<std::string>(), "amount");
    promo.repeat = p.at("repeat").get<bool>();
    promo.giftSku = p.at("gift_sku").get<std::string>();
    out.promotions.push_back(std::move(promo));
  }
  out.gifts = j.at("gifts").get<std::vector<std::string>>();
  return out;
}

/// "b2:" and the BLAKE2b-256 of the content in hex: a digest cannot be mistaken for a content
/// text, which always holds separators (0x1d) a digest never has.
std::string contentDigest(const std::string& content) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
  unsigned char hash[crypto_generichash_BYTES];
  crypto_generichash(hash, sizeof hash, reinterpret_cast<const unsigned char*>(content.data()), content.size(), nullptr, 0);
  char hex[sizeof hash * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
  return std::string("b2:") + hex;
}

}  // namespace

// [SECTION] Answers kept for replays

bool SaleRepository::sameSaleContent(const std::string& stored, const std::string& fingerprint) {
  return stored == contentDigest(fingerprint) || stored == fingerprint;
}

std::optional<StoredAnswer> SaleRepository::answer(const char* sql, const std::string& key) {
  auto q = m_db.query(sql).bind(1, key);
  if (!q.step()) return std::nullopt;
  return StoredAnswer{q.text("fingerprint"), q.text("result")};
}

std::optional<StoredAnswer> SaleRepository::saleAnswer(const std::string& saleId) {
  return answer("SELECT fingerprint, result FROM sales WHERE sale_id = ?", saleId);
}

std::optional<StoredAnswer> SaleRepository::refundAnswer(const std::string& refundId) {
  return answer("SELECT fingerprint, result FROM refunds WHERE refund_id = ?", refundId);
}

void SaleRepository::rememberRefundAnswer(const std::string& refundId, const std::string& resultJson) {
  m_db.query("UPDATE refunds SET result = ? WHERE refund_id = ?").bind(1, resultJson).bind(2, refundId).run();
}

// [SECTION] Sales

void SaleRepository::insert(const NewSale& s, const std::vector<NewSaleLine>& lines) {
  if (lines.empty()) throw std::invalid_argument("a sale is recorded with at least one line");
  // The lines take the next rowids, consecutive (one writer, one transaction): the sale's row,
  // written first since they refer to it, names their range.
  std::int64_t firstLine = 1;
  {
    auto q = m_db.query("SELECT COALESCE(MAX(line_ref), 0) + 1 AS next FROM sale_lines");
    q.step();
    firstLine = q.int64("next");
  }
  const std::int64_t lastLine = firstLine + static_cast<std::int64_t>(lines.size()) - 1;
  m_db.query("INSERT INTO sales(sale_id, member_id, at, subtotal, discount, total, points_earned, "
             "points_redeemed, refundable, spend_discount, promo_context, fingerprint, result, staff_id, "
             "first_line, last_line) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
      .bind(1, s.saleId).bind(2, s.memberId).bind(3, s.at)
      .bind(4, s.subtotal.minor()).bind(5, s.discount.minor()).bind(6, s.total.minor()).bind(7, s.pointsEarned)
      .bind(8, s.pointsRedeemed).bind(9, s.refundable.minor()).bind(10, s.spendDiscount.minor())
      .bind(11, s.saved ? std::optional(savedPromotionsJson(*s.saved)) : std::nullopt)
      .bind(12, contentDigest(s.fingerprint)).bind(13, s.result).bind(14, s.staffId)
      .bind(15, firstLine).bind(16, lastLine)
      .run();
  // A few statements for all the lines (16, 4 and 1 rows at a time), not one per line.
  static const auto kInsertLines = db::rowBatchTexts([](std::size_t rows) {
    return db::placeholderGroupsSql("INSERT INTO sale_lines(line_ref, sale_id, line_no, sku, description, qty, "
                                    "unit_price, amount, category, discount) VALUES ",
                                    kLineColumns, rows);
  });
  db::forEachRowBatch(lines.size(), kInsertLines, [&](const std::string& sql, std::size_t first, std::size_t count) {
    auto q = m_db.query(sql);
    for (std::size_t i = first; i < first + count; ++i) {
      const NewSaleLine& l = lines[i];
      const int c = static_cast<int>((i - first) * kLineColumns);
      const auto lineNo = static_cast<std::int64_t>(i + 1);
      q.bind(c + 1, firstLine + lineNo - 1).bind(c + 2, s.saleId).bind(c + 3, lineNo).bind(c + 4, l.sku)
          .bind(c + 5, l.description).bind(c + 6, l.qty).bind(c + 7, l.unitPrice.tenThousandths())
          .bind(c + 8, l.amount.minor()).bind(c + 9, l.category).bind(c + 10, l.discount.minor());
    }
    q.run();
  });
}

// [SECTION] Refunds

std::optional<SaleForRefund> SaleRepository::forRefund(const std::string& saleId) {
  auto q = m_db.query(
                   "SELECT sale_id, member_id, total, points_earned, points_redeemed, refundable, refunded_goods, "
                   "refunded_amount, points_reversed, redeemed_returned, spend_discount, promo_context FROM sales "
                   "WHERE sale_id = ?")
               .bind(1, saleId);
  if (!q.step()) return std::nullopt;
  SaleForRefund f;
  RecordedSale& s = f.sale;
  s.saleId = q.text("sale_id");
  f.memberId = q.optText("member_id");
  s.total = Money::fromMinor(q.int64("total"));
  s.pointsEarned = q.int64("points_earned");
  s.pointsRedeemed = q.int64("points_redeemed");
  s.refundable = Money::fromMinor(q.int64("refundable"));
  s.refundedGoods = Money::fromMinor(q.int64("refunded_goods"));
  s.refundedAmount = Money::fromMinor(q.int64("refunded_amount"));
  s.pointsReversed = q.int64("points_reversed");
  s.redeemedReturned = q.int64("redeemed_returned");
  s.spendDiscount = Money::fromMinor(q.int64("spend_discount"));
  if (auto ctx = q.optText("promo_context")) s.saved = readSavedPromotions(*ctx);
  return f;
}

std::vector<RecordedLine> SaleRepository::lines(const std::string& saleId) {
  auto q = m_db.query("SELECT line_no, sku, qty, unit_price, refunded_qty, discount FROM sale_lines "
                      "WHERE line_ref BETWEEN (SELECT first_line FROM sales WHERE sale_id = ?1) "
                      "AND (SELECT last_line FROM sales WHERE sale_id = ?1) AND sale_id = ?1 ORDER BY line_ref")
               .bind(1, saleId);
  std::vector<RecordedLine> out;
  while (q.step()) {
    out.push_back({q.int64("line_no"), q.text("sku"), q.int64("qty"),
                   UnitPrice::fromTenThousandths(q.int64("unit_price")), q.int64("refunded_qty"),
                   Money::fromMinor(q.int64("discount"))});
  }
  return out;
}

std::vector<ReceiptLine> SaleRepository::receiptLines(const std::string& saleId) {
  auto q = m_db.query("SELECT line_no, sku, description, qty, unit_price, amount, refunded_qty, discount "
                      "FROM sale_lines "
                      "WHERE line_ref BETWEEN (SELECT first_line FROM sales WHERE sale_id = ?1) "
                      "AND (SELECT last_line FROM sales WHERE sale_id = ?1) AND sale_id = ?1 ORDER BY line_ref")
               .bind(1, saleId);
  std::vector<ReceiptLine> out;
  while (q.step()) {
    out.push_back({{q.int64("line_no"), q.text("sku"), q.int64("qty"),
                    UnitPrice::fromTenThousandths(q.int64("unit_price")), q.int64("refunded_qty"),
                    Money::fromMinor(q.int64("discount"))},
                   q.optText("description"),
                   Money::fromMinor(q.int64("amount"))});
  }
  return out;
}

void SaleRepository::recordRefund(const NewRefund& r, const RefundPlan& plan) {
  m_db.query("INSERT INTO refunds(refund_id, sale_id, at, amount, points_reversed, fingerprint, result, staff_id) "
             "VALUES (?,?,?,?,?,?,'',?)")
      .bind(1, r.refundId).bind(2, r.saleId).bind(3, r.at).bind(4, r.amount.minor()).bind(5, r.pointsReversed)
      .bind(6, r.fingerprint).bind(7, r.staffId)
      .run();
  for (const RefundedLine& l : plan.lines) {
    m_db.query("INSERT INTO refund_lines(refund_id, line_no, qty) VALUES (?,?,?)")
        .bind(1, r.refundId).bind(2, l.lineNo).bind(3, l.qty).run();
    m_db.query("UPDATE sale_lines SET refunded_qty = ?2 WHERE line_ref BETWEEN (SELECT first_line FROM sales "
               "WHERE sale_id = ?1) AND (SELECT last_line FROM sales WHERE sale_id = ?1) AND sale_id = ?1 AND line_no = ?3")
        .bind(1, r.saleId).bind(2, l.refundedQty).bind(3, l.lineNo).run();
  }
  m_db.query("UPDATE sales SET refunded_goods = ?, refunded_amount = ?, points_reversed = points_reversed + ?, "
             "redeemed_returned = ? WHERE sale_id = ?")
      .bind(1, plan.goodsRefunded.minor()).bind(2, plan.amountRefunded.minor()).bind(3, plan.pointsReversed)
      .bind(4, plan.redeemedReturned).bind(5, r.saleId)
      .run();
}

// [SECTION] Spend

Money SaleRepository::netSpend(const std::string& memberId, Timestamp begin, Timestamp end) {
  auto q = m_db.query(
                   "SELECT COALESCE((SELECT SUM(total) FROM sales WHERE member_id = ?1 AND at >= ?2 AND at < ?3), 0) - "
                   "COALESCE((SELECT SUM(f.amount) FROM sales s JOIN refunds f USING (sale_id) "
                   "WHERE s.member_id = ?1 AND f.at >= ?2 AND f.at < ?3), 0) AS spend")
               .bind(1, memberId)
               .bind(2, formatRfc3339(begin))
               .bind(3, formatRfc3339(end));
  q.step();
  return Money::fromMinor(q.int64("spend"));
}

std::int64_t SaleRepository::saleCount(const std::string& memberId) {
  auto q = m_db.query("SELECT COUNT(*) AS n FROM sales WHERE member_id = ?").bind(1, memberId);
  q.step();
  return q.int64("n");
}

}  // namespace loyalty::terminal
