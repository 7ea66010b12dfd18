#include "loyalty/terminal/integrity_repository.hpp"

namespace loyalty::terminal {

StoreCounts IntegrityRepository::counts() {
  auto q = m_db.query(
      "SELECT (SELECT COUNT(*) FROM members WHERE erased_at IS NULL) AS members, "
      "(SELECT COUNT(*) FROM members) AS all_members, "
      "(SELECT COUNT(*) FROM sales) AS sales, (SELECT COUNT(*) FROM ledger) AS ledger, "
      "(SELECT COUNT(*) FROM outbox) AS outbox");
  q.step();
  return StoreCounts{q.int64("members"), q.int64("all_members"), q.int64("sales"), q.int64("ledger"), q.int64("outbox")};
}

std::vector<std::string> IntegrityRepository::problems() {
  std::vector<std::string> problems;
  const auto collect = [&](const char* sql, const std::string& what) {
    auto q = m_db.query(sql);
    while (q.step()) problems.push_back(what + ": " + q.text("problem"));
  };
  collect("SELECT m.member_id || ' cached ' || m.balance || ' ledger ' || COALESCE(SUM(l.points), 0) AS problem "
          "FROM members m LEFT JOIN ledger l USING (member_id) GROUP BY m.member_id "
          "HAVING m.balance != COALESCE(SUM(l.points), 0) LIMIT 20",
          "balance differs from the ledger sum");
  collect("SELECT entry_id AS problem FROM (SELECT entry_id, balance_after, SUM(points) OVER "
          "(PARTITION BY member_id ORDER BY entry_id) AS running FROM ledger) WHERE running != balance_after LIMIT 20",
          "ledger balance_after is not the running sum at entry");
  collect("SELECT m.member_id || ' cached ' || m.lifetime_spend AS problem FROM members m "
          "WHERE m.lifetime_spend != COALESCE((SELECT SUM(total) FROM sales s WHERE s.member_id = m.member_id), 0) "
          "- COALESCE((SELECT SUM(f.amount) FROM refunds f JOIN sales s USING (sale_id) WHERE s.member_id = m.member_id), 0) "
          "LIMIT 20",
          "lifetime spend differs from sales minus refunds");
  collect("SELECT 'seq ' || MIN(seq) || '..' || MAX(seq) || ' holds ' || COUNT(*) || ' events' AS problem FROM outbox "
          "HAVING COUNT(*) > 0 AND (MIN(seq) != 1 OR MAX(seq) - MIN(seq) + 1 != COUNT(*))",
          "outbox sequence has gaps");
  collect("SELECT type || ': ' || n || ' events for ' || rows || ' rows' AS problem FROM ("
          "SELECT 'member.enrolled' AS type, (SELECT COUNT(*) FROM outbox WHERE type = 'member.enrolled') AS n, "
          "(SELECT COUNT(*) FROM members WHERE enrolled_terminal != '') AS rows UNION ALL "  // '': from head office
          "SELECT 'sale.recorded', (SELECT COUNT(*) FROM outbox WHERE type = 'sale.recorded'), (SELECT COUNT(*) FROM sales) "
          "UNION ALL SELECT 'sale.refunded', (SELECT COUNT(*) FROM outbox WHERE type = 'sale.refunded'), "
          "(SELECT COUNT(*) FROM refunds) UNION ALL SELECT 'points.redeemed', "
          "(SELECT COUNT(*) FROM outbox WHERE type = 'points.redeemed'), (SELECT COUNT(*) FROM redemptions)) "
          "WHERE n != rows",
          "outbox events do not match the rows they record");
  collect("SELECT m.member_id || ' balance ' || m.balance || ' lots ' || COALESCE(SUM(l.remaining), 0) AS problem "
          "FROM members m LEFT JOIN lots l USING (member_id) GROUP BY m.member_id "
          "HAVING COALESCE(SUM(l.remaining), 0) != MAX(m.balance, 0) LIMIT 20",
          "earn lots do not hold the positive balance");
  collect("SELECT 'points.adjusted: ' || (SELECT COUNT(*) FROM outbox WHERE type = 'points.adjusted') || "
          "' events for ' || (SELECT COUNT(*) FROM ledger WHERE kind IN ('bonus', 'expire')) || ' entries' AS problem "
          "WHERE (SELECT COUNT(*) FROM outbox WHERE type = 'points.adjusted') != "
          "(SELECT COUNT(*) FROM ledger WHERE kind IN ('bonus', 'expire'))",
          "outbox events do not match the rows they record");
  return problems;
}

}  // namespace loyalty::terminal
