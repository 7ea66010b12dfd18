#include "loyalty/terminal/day_figures_repository.hpp"

namespace loyalty::terminal {

DayFigures DayFiguresRepository::between(Timestamp fromAt, Timestamp toAt) {
  // One statement, one snapshot: every figure is over the instants [?1, ?2).
  auto q = m_db.query(
                   "SELECT s.sales, s.member_sales, s.total, s.earned, s.redeemed + r.points AS redeemed, "
                   "f.refunds, f.refunded, f.reversed, m.enrolments, c.complaints, v.surveys, v.csat, v.csat_sum FROM "
                   "(SELECT COUNT(*) AS sales, COUNT(member_id) AS member_sales, COALESCE(SUM(total), 0) AS total, "
                   " COALESCE(SUM(points_earned), 0) AS earned, COALESCE(SUM(points_redeemed), 0) AS redeemed "
                   " FROM sales WHERE at >= ?1 AND at < ?2) s, "
                   "(SELECT COALESCE(SUM(points), 0) AS points FROM redemptions WHERE at >= ?1 AND at < ?2) r, "
                   "(SELECT COUNT(*) AS refunds, COALESCE(SUM(amount), 0) AS refunded, "
                   " COALESCE(SUM(points_reversed), 0) AS reversed FROM refunds "
                   " WHERE at >= ?1 AND at < ?2) f, "
                   "(SELECT COUNT(*) AS enrolments FROM members WHERE enrolled_at >= ?1 AND enrolled_at < ?2) m, "
                   "(SELECT COUNT(*) AS complaints FROM complaints WHERE at >= ?1 AND at < ?2) c, "
                   "(SELECT COUNT(*) AS surveys, COUNT(CASE WHEN scale = 'csat5' THEN 1 END) AS csat, "
                   " COALESCE(SUM(CASE WHEN scale = 'csat5' THEN score END), 0) AS csat_sum "
                   " FROM surveys WHERE at >= ?1 AND at < ?2) v")
               .bind(1, formatRfc3339(fromAt))
               .bind(2, formatRfc3339(toAt));
  q.step();
  DayFigures d;
  d.sales = q.int64("sales");
  d.memberSales = q.int64("member_sales");
  d.total = Money::fromMinor(q.int64("total"));
  d.pointsEarned = q.int64("earned");
  d.pointsRedeemed = q.int64("redeemed");
  d.refunds = q.int64("refunds");
  d.refunded = Money::fromMinor(q.int64("refunded"));
  d.net = Money::fromMinor(q.int64("total") - q.int64("refunded"));
  d.pointsReversed = q.int64("reversed");
  d.enrolments = q.int64("enrolments");
  d.complaints = q.int64("complaints");
  d.surveys = q.int64("surveys");
  const std::int64_t csat = q.int64("csat");
  d.surveyAverage = csat > 0 ? static_cast<double>(q.int64("csat_sum")) / static_cast<double>(csat) : 0.0;
  d.byStaff = byStaff(fromAt, toAt);
  return d;
}

std::vector<StaffDayFigures> DayFiguresRepository::byStaff(Timestamp fromAt, Timestamp toAt) {
  // Each source summed per staff id over the instants [?1, ?2), then added up; names from the
  // staff accounts (the credentials file). Refunds count for whoever processed them.
  auto q = m_db.query(
                   "SELECT a.staff_id AS staff_id, COALESCE(st.name, '') AS name, SUM(a.sales) AS sales, SUM(a.total) AS total, "
                   "SUM(a.refunds) AS refunds, SUM(a.refunded) AS refunded, SUM(a.earned) AS earned, "
                   "SUM(a.reversed) AS reversed, SUM(a.redeemed) AS redeemed, SUM(a.enrolments) AS enrolments FROM ("
                   "SELECT staff_id, COUNT(*) AS sales, SUM(total) AS total, 0 AS refunds, 0 AS refunded, "
                   " SUM(points_earned) AS earned, 0 AS reversed, SUM(points_redeemed) AS redeemed, 0 AS enrolments "
                   " FROM sales WHERE at >= ?1 AND at < ?2 GROUP BY staff_id "
                   "UNION ALL SELECT staff_id, 0, 0, COUNT(*), SUM(amount), 0, SUM(points_reversed), 0, 0 "
                   " FROM refunds WHERE at >= ?1 AND at < ?2 GROUP BY staff_id "
                   "UNION ALL SELECT staff_id, 0, 0, 0, 0, 0, 0, SUM(points), 0 "
                   " FROM redemptions WHERE at >= ?1 AND at < ?2 GROUP BY staff_id "
                   "UNION ALL SELECT enrolled_staff, 0, 0, 0, 0, 0, 0, 0, COUNT(*) "
                   " FROM members WHERE enrolled_at >= ?1 AND enrolled_at < ?2 GROUP BY enrolled_staff"
                   ") a LEFT JOIN credentials.staff st ON st.staff_id = a.staff_id "
                   "GROUP BY a.staff_id ORDER BY a.staff_id IS NULL, a.staff_id")
               .bind(1, formatRfc3339(fromAt))
               .bind(2, formatRfc3339(toAt));
  std::vector<StaffDayFigures> out;
  while (q.step()) {
    StaffDayFigures s;
    s.staffId = q.optText("staff_id");
    s.name = q.text("name");
    s.sales = q.int64("sales");
    s.total = Money::fromMinor(q.int64("total"));
    s.refunds = q.int64("refunds");
    s.refunded = Money::fromMinor(q.int64("refunded"));
    s.net = Money::fromMinor(q.int64("total") - q.int64("refunded"));
    s.pointsEarned = q.int64("earned");
    s.pointsReversed = q.int64("reversed");
    s.pointsRedeemed = q.int64("redeemed");
    s.enrolments = q.int64("enrolments");
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace loyalty::terminal
