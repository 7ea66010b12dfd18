#pragma once
/// @brief The points ledger, the cached balance it keeps on the member, and the earn lots that
/// hold the positive part of the balance.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "loyalty/core/lifecycle.hpp"
#include "loyalty/core/planners.hpp"
#include "loyalty/core/time.hpp"
#include "loyalty/db/database.hpp"

namespace loyalty::terminal {

struct LedgerEntry {
  std::string memberId;
  std::string at;  ///< RFC 3339
  std::string kind;  ///< "earn", "redeem", "reversal", "bonus", "expire", "adjust"
  std::int64_t points = 0;
  std::optional<std::string> saleId;
  std::string refId;
};

/// One line of a member's history, newest first.
struct LedgerLine {
  std::string at, kind;
  std::int64_t points = 0;
  std::optional<std::string> saleId;
  std::int64_t balanceAfter = 0;
};

/// Points expiring within a horizon (the reminder greeting).
struct ExpiringPoints {
  std::int64_t points = 0;
  std::optional<Date> first;
};

/// Reads and writes the ledger and lots on one connection; writes run inside the caller's
/// transaction.
class LedgerRepository {
 public:
  explicit LedgerRepository(db::Database& db) : m_db(db) {}

  /// The member's cached balance (erased members included: their ledger stays).
  std::int64_t balance(const std::string& memberId);
  /// Appends the entry with its balance_after and moves the cached balance; returns the entry id.
  std::int64_t append(const LedgerEntry& entry, std::int64_t balanceAfter);
  /// Appends the entry with its balance_after only: the caller moves the cached balance in the
  /// same transaction (a sale does it with its visit, one write of the member's row).
  std::int64_t appendEntry(const LedgerEntry& entry, std::int64_t balanceAfter);
  /// Moves the member's cached balance to what their last entry left.
  void setBalance(const std::string& memberId, std::int64_t balance);
  void openLot(std::int64_t entryId, const std::string& memberId, Date earnedOn, Date expiresOn, std::int64_t points);
  /// Open lots of the member holding at least `points` (fewer if they hold less), in the order
  /// they are drawn on: expiring first, or expiring last when `newestFirst`.
  std::vector<LotRemaining> lotsToDraw(const std::string& memberId, std::int64_t points, bool newestFirst);
  void draw(const std::vector<LotTake>& takes);
  /// Puts up to `points` back into the member's lot `lotId` (as far as it held them); how many.
  std::int64_t refill(std::int64_t lotId, const std::string& memberId, std::int64_t points);
  /// Whether the member has a ledger entry written by `refId`.
  bool hasEntry(const std::string& memberId, const std::string& refId);

  /// Lots with points left whose last day is before `today`, oldest expiry first.
  std::vector<DueLot> dueLots(const std::string& memberId, Date today);
  bool hasDueLots(const std::string& memberId, Date today);
  ExpiringPoints expiring(const std::string& memberId, Date from, Date to);

  std::vector<LedgerLine> history(const std::string& memberId, int limit);
  std::int64_t entryCount(const std::string& memberId);

  /// Members with lots due by `today` or a tier review still to do this month, ids after
  /// `afterId` in order, at most `limit`.
  std::vector<std::string> membersWithSomethingDue(Date today, const std::string& entryTier, int limit,
                                                   const std::string& afterId);

 private:
  db::Database& m_db;
};

}  // namespace loyalty::terminal
