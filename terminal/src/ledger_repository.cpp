#include "loyalty/terminal/ledger_repository.hpp"

namespace loyalty::terminal {

std::int64_t LedgerRepository::balance(const std::string& memberId) {
  auto& st = m_db.prepare("SELECT balance FROM members WHERE member_id = ?");
  st.bind(1, memberId);
  if (!st.step()) {
    st.reset();
    throw db::DbError("ledger entry for a missing member " + memberId, SQLITE_CONSTRAINT);
  }
  const std::int64_t b = st.getInt(0);
  st.reset();
  return b;
}

std::int64_t LedgerRepository::append(const LedgerEntry& e, std::int64_t balanceAfter) {
  m_db.prepare("INSERT INTO ledger(member_id, at, kind, points, sale_id, ref_id, balance_after) "
               "VALUES (?, ?, ?, ?, ?, ?, ?)")
      .bind(1, e.memberId).bind(2, e.at).bind(3, e.kind).bind(4, e.points).bind(5, e.saleId)
      .bind(6, e.refId).bind(7, balanceAfter)
      .run();
  const std::int64_t entryId = m_db.lastInsertRowid();
  m_db.prepare("UPDATE members SET balance = ? WHERE member_id = ?").bind(1, balanceAfter).bind(2, e.memberId).run();
  return entryId;
}

void LedgerRepository::openLot(std::int64_t entryId, const std::string& memberId, Date earnedOn, Date expiresOn,
                               std::int64_t points) {
  m_db.prepare("INSERT INTO lots(entry_id, member_id, earned_on, expires_on, points, remaining) "
               "VALUES (?, ?, ?, ?, ?, ?)")
      .bind(1, entryId).bind(2, memberId).bind(3, formatDate(earnedOn)).bind(4, formatDate(expiresOn))
      .bind(5, points).bind(6, points)
      .run();
}

std::vector<LotRemaining> LedgerRepository::lotsToDraw(const std::string& memberId, std::int64_t points,
                                                       bool newestFirst) {
  auto& open = m_db.prepare(newestFirst
                                ? "SELECT lot_id, remaining FROM lots WHERE member_id = ? AND remaining > 0 "
                                  "ORDER BY expires_on DESC, lot_id DESC"
                                : "SELECT lot_id, remaining FROM lots WHERE member_id = ? AND remaining > 0 "
                                  "ORDER BY expires_on, lot_id");
  open.bind(1, memberId);
  std::vector<LotRemaining> lots;
  std::int64_t held = 0;
  while (held < points && open.step()) {
    lots.push_back({open.getInt(0), open.getInt(1)});
    held += lots.back().remaining;
  }
  open.reset();
  return lots;
}

void LedgerRepository::draw(const std::vector<LotTake>& takes) {
  auto& take = m_db.prepare("UPDATE lots SET remaining = remaining - ? WHERE lot_id = ?");
  for (const LotTake& t : takes) take.bind(1, t.take).bind(2, t.lotId).run();
}

std::vector<DueLot> LedgerRepository::dueLots(const std::string& memberId, Date today) {
  std::vector<DueLot> due;
  auto& st = m_db.prepare("SELECT lot_id, remaining, expires_on FROM lots WHERE member_id = ? AND remaining > 0 "
                          "AND expires_on < ? ORDER BY expires_on, lot_id");
  st.bind(1, memberId).bind(2, formatDate(today));
  while (st.step()) due.push_back({st.getInt(0), st.getInt(1), *parseDate(st.getText(2), "expires_on")});
  st.reset();
  return due;
}

bool LedgerRepository::hasDueLots(const std::string& memberId, Date today) {
  auto& st = m_db.prepare("SELECT 1 FROM lots WHERE member_id = ? AND remaining > 0 AND expires_on < ? LIMIT 1");
  st.bind(1, memberId).bind(2, formatDate(today));
  const bool due = st.step();
  st.reset();
  return due;
}

ExpiringPoints LedgerRepository::expiring(const std::string& memberId, Date from, Date to) {
  auto& st = m_db.prepare("SELECT COALESCE(SUM(remaining), 0), MIN(expires_on) FROM lots "
                          "WHERE member_id = ? AND remaining > 0 AND expires_on >= ? AND expires_on <= ?");
  st.bind(1, memberId).bind(2, formatDate(from)).bind(3, formatDate(to));
  st.step();
  ExpiringPoints out;
  out.points = st.getInt(0);
  if (auto first = st.getOptText(1)) {
    if (auto d = parseDate(*first, "expires_on")) out.first = *d;
  }
  st.reset();
  return out;
}

std::vector<LedgerLine> LedgerRepository::history(const std::string& memberId, int limit) {
  auto& st = m_db.prepare("SELECT at, kind, points, sale_id, balance_after FROM ledger WHERE member_id = ? "
                          "ORDER BY entry_id DESC LIMIT ?");
  st.bind(1, memberId).bind(2, limit);
  std::vector<LedgerLine> entries;
  while (st.step()) entries.push_back({st.getText(0), st.getText(1), st.getInt(2), st.getOptText(3), st.getInt(4)});
  st.reset();
  return entries;
}

std::int64_t LedgerRepository::entryCount(const std::string& memberId) {
  auto& st = m_db.prepare("SELECT COUNT(*) FROM ledger WHERE member_id = ?");
  st.bind(1, memberId);
  st.step();
  const std::int64_t n = st.getInt(0);
  st.reset();
  return n;
}

std::vector<std::string> LedgerRepository::membersWithSomethingDue(Date today, const std::string& entryTier,
                                                                   int limit, const std::string& afterId) {
  auto& st = m_db.prepare(
      "SELECT member_id FROM (SELECT member_id FROM lots WHERE remaining > 0 AND expires_on < ?1 "
      "UNION SELECT member_id FROM members WHERE tier != ?2 AND COALESCE(tier_reviewed_month, '') < ?3) "
      "WHERE member_id > ?4 ORDER BY member_id LIMIT ?5");
  st.bind(1, formatDate(today)).bind(2, entryTier).bind(3, reviewMonthOf(today)).bind(4, afterId).bind(5, limit);
  std::vector<std::string> ids;
  while (st.step()) ids.push_back(st.getText(0));
  st.reset();
  return ids;
}

}  // namespace loyalty::terminal
