#include "loyalty/terminal/integrity_repository.hpp"

namespace loyalty::terminal {

StoreCounts IntegrityRepository::counts() {
  auto& st = m_db.prepare(
      "SELECT (SELECT COUNT(*) FROM members WHERE erased_at IS NULL), (SELECT COUNT(*) FROM members), "
      "(SELECT COUNT(*) FROM sales), (SELECT COUNT(*) FROM ledger), (SELECT COUNT(*) FROM outbox)");
  st.step();
  StoreCounts c{st.getInt(0), st.getInt(1), st.getInt(2), st.getInt(3), st.getInt(4)};
  st.reset();
  return c;
}

std::vector<std::string> IntegrityRepository::problems() {
  std::vector<std::string> problems;
  const auto collect = [&](const char* sql, const std::string& what) {
    auto& st = m_db.prepare(sql);
    while (st.step()) problems.push_back(what + ": " + st.getText(0));
    st.reset();
  };
  collect("SELECT m.member_id || ' cached ' || m.balance || ' ledger ' || COALESCE(SUM(l.points), 0) "
          "FROM members m LEFT JOIN ledger l USING (member_id) GROUP BY m.member_id "
          "HAVING m.balance != COALESCE(SUM(l.points), 0) LIMIT 20",
          "balance differs from the ledger sum");
  collect("SELECT entry_id FROM (SELECT entry_id, balance_after, SUM(points) OVER "
          "(PARTITION BY member_id ORDER BY entry_id) AS running FROM ledger) WHERE running != balance_after LIMIT 20",
          "ledger balance_after is not the running sum at entry");
  collect("SELECT m.member_id || ' cached ' || m.lifetime_spend FROM members m "
          "WHERE m.lifetime_spend != COALESCE((SELECT SUM(total) FROM sales s WHERE s.member_id = m.member_id), 0) "
          "- COALESCE((SELECT SUM(f.amount) FROM refunds f JOIN sales s USING (sale_id) WHERE s.member_id = m.member_id), 0) "
          "LIMIT 20",
          "lifetime spend differs from sales minus refunds");
  collect("SELECT 'seq ' || MIN(seq) || '..' || MAX(seq) || ' holds ' || COUNT(*) || ' events' FROM outbox "
          "HAVING COUNT(*) > 0 AND (MIN(seq) != 1 OR MAX(seq) - MIN(seq) + 1 != COUNT(*))",
          "outbox sequence has gaps");
  collect("SELECT type || ': ' || n || ' events for ' || rows || ' rows' FROM ("
          "SELECT 'member.enrolled' AS type, (SELECT COUNT(*) FROM outbox WHERE type = 'member.enrolled') AS n, "
          "(SELECT COUNT(*) FROM members WHERE enrolled_terminal != '') AS rows UNION ALL "  // '': from head office
          "SELECT 'sale.recorded', (SELECT COUNT(*) FROM outbox WHERE type = 'sale.recorded'), (SELECT COUNT(*) FROM sales) "
          "UNION ALL SELECT 'sale.refunded', (SELECT COUNT(*) FROM outbox WHERE type = 'sale.refunded'), "
          "(SELECT COUNT(*) FROM refunds) UNION ALL SELECT 'points.redeemed', "
          "(SELECT COUNT(*) FROM outbox WHERE type = 'points.redeemed'), (SELECT COUNT(*) FROM redemptions)) "
          "WHERE n != rows",
          "outbox events do not match the rows they record");
  collect("SELECT m.member_id || ' balance ' || m.balance || ' lots ' || COALESCE(SUM(l.remaining), 0) "
          "FROM members m LEFT JOIN lots l USING (member_id) GROUP BY m.member_id "
          "HAVING COALESCE(SUM(l.remaining), 0) != MAX(m.balance, 0) LIMIT 20",
          "earn lots do not hold the positive balance");
  collect("SELECT 'points.adjusted: ' || (SELECT COUNT(*) FROM outbox WHERE type = 'points.adjusted') || "
          "' events for ' || (SELECT COUNT(*) FROM ledger WHERE kind IN ('bonus', 'expire')) || ' entries' "
          "WHERE (SELECT COUNT(*) FROM outbox WHERE type = 'points.adjusted') != "
          "(SELECT COUNT(*) FROM ledger WHERE kind IN ('bonus', 'expire'))",
          "outbox events do not match the rows they record");
  return problems;
}

}  // namespace loyalty::terminal
