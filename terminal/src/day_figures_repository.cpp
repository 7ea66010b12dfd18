#include "loyalty/terminal/day_figures_repository.hpp"

namespace loyalty::terminal {

DayFigures DayFiguresRepository::between(Timestamp fromAt, Timestamp toAt) {
  // One statement, one snapshot: every figure is over the instants [?1, ?2).
  auto q = m_db.query(
                   "SELECT s.sales, s.member_sales, s.total, s.earned, s.redeemed + r.points AS redeemed, "
                   "f.refunds, f.refunded, m.enrolments, c.complaints, v.surveys, v.csat, v.csat_sum FROM "
                   "(SELECT COUNT(*) AS sales, COUNT(member_id) AS member_sales, COALESCE(SUM(total), 0) AS total, "
                   " COALESCE(SUM(points_earned), 0) AS earned, COALESCE(SUM(points_redeemed), 0) AS redeemed "
                   " FROM sales WHERE at >= ?1 AND at < ?2) s, "
                   "(SELECT COALESCE(SUM(points), 0) AS points FROM redemptions WHERE at >= ?1 AND at < ?2) r, "
                   "(SELECT COUNT(*) AS refunds, COALESCE(SUM(amount), 0) AS refunded FROM refunds "
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
  d.enrolments = q.int64("enrolments");
  d.complaints = q.int64("complaints");
  d.surveys = q.int64("surveys");
  const std::int64_t csat = q.int64("csat");
  d.surveyAverage = csat > 0 ? static_cast<double>(q.int64("csat_sum")) / static_cast<double>(csat) : 0.0;
  return d;
}

}  // namespace loyalty::terminal
