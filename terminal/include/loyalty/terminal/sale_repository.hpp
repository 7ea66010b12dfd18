#pragma once
/// @brief Sales and refunds with their lines, the answers kept for replays of their keys, and the
/// net spend a tier is reckoned on.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "loyalty/core/money.hpp"
#include "loyalty/core/planners.hpp"
#include "loyalty/core/time.hpp"
#include "loyalty/db/database.hpp"

namespace loyalty::terminal {

/// What an idempotency key was used for and the answer given (empty until written).
struct StoredAnswer {
  std::string fingerprint;
  std::string result;
};

struct NewSale {
  std::string saleId;
  std::optional<std::string> memberId;
  std::string at;
  Money subtotal, discount, total, refundable, spendDiscount;
  std::int64_t pointsEarned = 0, pointsRedeemed = 0;
  std::optional<SavedPromotions> saved;
  std::string fingerprint;             ///< the content; the row keeps its digest
  std::string result;                  ///< the answer given (JSON), kept for replays
  std::optional<std::string> staffId;  ///< who made it
};

struct NewSaleLine {
  std::string sku;
  std::optional<std::string> description;
  std::int64_t qty = 0;
  UnitPrice unitPrice;
  Money amount;
  std::optional<std::string> category;
  Money discount;
};

struct NewRefund {
  std::string refundId, saleId, at;
  Money amount;
  std::int64_t pointsReversed = 0;
  std::string fingerprint;
  std::optional<std::string> staffId;  ///< who processed it
};

/// A recorded sale and whose it is.
struct SaleForRefund {
  RecordedSale sale;
  std::optional<std::string> memberId;
};

/// A recorded line as the receipt shows it.
struct ReceiptLine {
  RecordedLine line;
  std::optional<std::string> description;
  Money amount;
};

/// Reads and writes sales and refunds on one connection; writes run inside the caller's
/// transaction.
class SaleRepository {
 public:
  explicit SaleRepository(db::Database& db) : m_db(db) {}

  std::optional<StoredAnswer> saleAnswer(const std::string& saleId);
  /// Whether a sale's stored fingerprint (saleAnswer) is of the content `fingerprint`. The row
  /// keeps a digest of it (a sale's content names every line: about 1 KB for 20 lines, written
  /// and synced with every sale); rows written before keep the text itself, and still match.
  static bool sameSaleContent(const std::string& stored, const std::string& fingerprint);
  std::optional<StoredAnswer> refundAnswer(const std::string& refundId);
  void rememberRefundAnswer(const std::string& refundId, const std::string& resultJson);

  /// The sale with its answer (the row is written once: a wide row rewritten costs CPU in every
  /// sale) and its lines, numbered from 1 in this order. The lines take consecutive rowids of
  /// sale_lines, whose range the sale's row names (first_line, last_line): readers find a sale's
  /// lines by that range, so sale_lines needs no index, and appends only ever fill its last page.
  void insert(const NewSale& sale, const std::vector<NewSaleLine>& lines);

  /// The sale with what was refunded of it and the spend promotions it was recorded with.
  std::optional<SaleForRefund> forRefund(const std::string& saleId);
  std::vector<RecordedLine> lines(const std::string& saleId);
  /// The same lines with what the receipt shows of them (a refund preview).
  std::vector<ReceiptLine> receiptLines(const std::string& saleId);
  /// Records the refund, its lines and the sale's new cumulative figures.
  void recordRefund(const NewRefund& refund, const RefundPlan& plan);

  /// Net spend (sales − refunds) of the member recorded in [begin, end).
  Money netSpend(const std::string& memberId, Timestamp begin, Timestamp end);
  std::int64_t saleCount(const std::string& memberId);

 private:
  std::optional<StoredAnswer> answer(const char* sql, const std::string& key);

  db::Database& m_db;
};

}  // namespace loyalty::terminal
