#include "loyalty/terminal/ledger_repository.hpp"

#include <algorithm>

namespace loyalty::terminal {

std::int64_t LedgerRepository::balance(const std::string& memberId) {
  auto q = m_db.query("SELECT balance FROM members WHERE member_id = ?").bind(1, memberId);
  if (!q.step()) throw db::DbError("ledger entry for a missing member " + memberId, SQLITE_CONSTRAINT);
  return q.int64("balance");
}

std::int64_t LedgerRepository::appendEntry(const LedgerEntry& e, std::int64_t balanceAfter) {
  m_db.query("INSERT INTO ledger(member_id, at, kind, points, sale_id, ref_id, balance_after) "
             "VALUES (?, ?, ?, ?, ?, ?, ?)")
      .bind(1, e.memberId).bind(2, e.at).bind(3, e.kind).bind(4, e.points).bind(5, e.saleId)
      .bind(6, e.refId).bind(7, balanceAfter)
      .run();
  return m_db.lastInsertRowid();
}

std::int64_t LedgerRepository::append(const LedgerEntry& e, std::int64_t balanceAfter) {
  const std::int64_t entryId = appendEntry(e, balanceAfter);
  setBalance(e.memberId, balanceAfter);
  return entryId;
}

void LedgerRepository::setBalance(const std::string& memberId, std::int64_t balance) {
  m_db.query("UPDATE members SET balance = ? WHERE member_id = ?").bind(1, balance).bind(2, memberId).run();
}

void LedgerRepository::openLot(std::int64_t entryId, const std::string& memberId, Date earnedOn, Date expiresOn,
                               std::int64_t points) {
  m_db.query("INSERT INTO lots(entry_id, member_id, earned_on, expires_on, points, remaining) "
             "VALUES (?, ?, ?, ?, ?, ?)")
      .bind(1, entryId).bind(2, memberId).bind(3, formatDate(earnedOn)).bind(4, formatDate(expiresOn))
      .bind(5, points).bind(6, points)
      .run();
}

std::vector<LotRemaining> LedgerRepository::lotsToDraw(const std::string& memberId, std::int64_t points,
                                                       bool newestFirst) {
  auto open = m_db.query(newestFirst ? "SELECT lot_id, remaining FROM lots WHERE member_id = ? AND remaining > 0 "
                                      "ORDER BY expires_on DESC, lot_id DESC"
                                    : "SELECT lot_id, remaining FROM lots WHERE member_id = ? AND remaining > 0 "
                                      "ORDER BY expires_on, lot_id")
                  .bind(1, memberId);
  std::vector<LotRemaining> lots;
  std::int64_t held = 0;
  while (held < points && open.step()) {
    lots.push_back({open.int64("lot_id"), open.int64("remaining")});
    held += lots.back().remaining;
  }
  return lots;
}

void LedgerRepository::draw(const std::vector<LotTake>& takes) {
  for (const LotTake& t : takes) {
    m_db.query("UPDATE lots SET remaining = remaining - ? WHERE lot_id = ?").bind(1, t.take).bind(2, t.lotId).run();
  }
}

std::int64_t LedgerRepository::refill(std::int64_t lotId, const std::string& memberId, std::int64_t points) {
  auto q = m_db.query("SELECT points - remaining AS room FROM lots WHERE lot_id = ? AND member_id = ?").bind(1, lotId).bind(2, memberId);
  if (!q.step()) return 0;
  const std::int64_t put = std::min(points, q.int64("room"));
  if (put > 0) m_db.query("UPDATE lots SET remaining = remaining + ? WHERE lot_id = ?").bind(1, put).bind(2, lotId).run();
  return std::max<std::int64_t>(put, 0);
}

bool LedgerRepository::hasEntry(const std::string& memberId, const std::string& refId) {
  return m_db.query("SELECT 1 FROM ledger WHERE member_id = ? AND ref_id = ? LIMIT 1").bind(1, memberId).bind(2, refId).step();
}

std::vector<DueLot> LedgerRepository::dueLots(const std::string& memberId, Date today) {
  std::vector<DueLot> due;
  auto q = m_db.query("SELECT lot_id, remaining, expires_on FROM lots WHERE member_id = ? AND remaining > 0 "
                      "AND expires_on < ? ORDER BY expires_on, lot_id")
               .bind(1, memberId)
               .bind(2, formatDate(today));
  while (q.step()) {
    due.push_back({q.int64("lot_id"), q.int64("remaining"), *parseDate(q.text("expires_on"), "expires_on")});
  }
  return due;
}

bool LedgerRepository::hasDueLots(const std::string& memberId, Date today) {
  return m_db.query("SELECT 1 FROM lots WHERE member_id = ? AND remaining > 0 AND expires_on < ? LIMIT 1")
      .bind(1, memberId)
      .bind(2, formatDate(today))
      .step();
}

ExpiringPoints LedgerRepository::expiring(const std::string& memberId, Date from, Date to) {
  auto q = m_db.query("SELECT COALESCE(SUM(remaining), 0) AS points, MIN(expires_on) AS first FROM lots "
                      "WHERE member_id = ? AND remaining > 0 AND expires_on >= ? AND expires_on <= ?")
               .bind(1, memberId)
               .bind(2, formatDate(from))
               .bind(3, formatDate(to));
  q.step();
  ExpiringPoints out;
  out.points = q.int64("points");
  if (auto first = q.optText("first")) {
    if (auto d = parseDate(*first, "expires_on")) out.first = *d;
  }
  return out;
}

std::vector<LedgerLine> LedgerRepository::history(const std::string& memberId, int limit) {
  auto q = m_db.query("SELECT at, kind, points, sale_id, balance_after FROM ledger WHERE member_id = ? "
                      "ORDER BY entry_id DESC LIMIT ?")
               .bind(1, memberId)
               .bind(2, limit);
  std::vector<LedgerLine> entries;
  while (q.step()) {
    entries.push_back({q.text("at"), q.text("kind"), q.int64("points"), q.optText("sale_id"), q.int64("balance_after")});
  }
  return entries;
}

std::int64_t LedgerRepository::entryCount(const std::string& memberId) {
  auto q = m_db.query("SELECT COUNT(*) AS n FROM ledger WHERE member_id = ?").bind(1, memberId);
  q.step();
  return q.int64("n");
}

std::vector<std::string> LedgerRepository::membersWithSomethingDue(Date today, const std::string& entryTier,
                                                                   int limit, const std::string& afterId) {
  auto q = m_db.query(
                   "SELECT member_id FROM (SELECT member_id FROM lots WHERE remaining > 0 AND expires_on < ?1 "
                   "UNION SELECT member_id FROM members WHERE tier != ?2 AND COALESCE(tier_reviewed_month, '') < ?3) "
                   "WHERE member_id > ?4 ORDER BY member_id LIMIT ?5")
               .bind(1, formatDate(today))
               .bind(2, entryTier)
               .bind(3, reviewMonthOf(today))
               .bind(4, afterId)
               .bind(5, limit);
  std::vector<std::string> ids;
  while (q.step()) ids.push_back(q.text("member_id"));
  return ids;
}

}  // namespace loyalty::terminal
