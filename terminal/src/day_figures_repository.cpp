#include "loyalty/terminal/day_figures_repository.hpp"

namespace loyalty::terminal {

std::int64_t DayFiguresRepository::scalar(const char* sql, const std::string& from, const std::string& to) {
  auto q = m_db.query(sql).bind(1, from).bind(2, to);
  q.step();
  return q.isNull("v") ? 0 : q.int64("v");
}

DayFigures DayFiguresRepository::between(Timestamp fromAt, Timestamp toAt) {
  const std::string from = formatRfc3339(fromAt), to = formatRfc3339(toAt);
  DayFigures d;
  {
    auto q = m_db.query(
                     "SELECT COUNT(*) AS sales, COUNT(member_id) AS member_sales, COALESCE(SUM(total), 0) AS total, "
                     "COALESCE(SUM(points_earned), 0) AS earned, COALESCE(SUM(points_redeemed), 0) AS redeemed "
                     "FROM sales WHERE at >= ? AND at < ?")
                 .bind(1, from)
                 .bind(2, to);
    q.step();
    d.sales = q.int64("sales");
    d.memberSales = q.int64("member_sales");
    d.total = Money::fromMinor(q.int64("total"));
    d.pointsEarned = q.int64("earned");
    d.pointsRedeemed = q.int64("redeemed");
  }
  d.pointsRedeemed += scalar("SELECT SUM(points) AS v FROM redemptions WHERE at >= ? AND at < ?", from, to);
  d.refunds = scalar("SELECT COUNT(*) AS v FROM refunds WHERE at >= ? AND at < ?", from, to);
  d.refunded = Money::fromMinor(scalar("SELECT SUM(amount) AS v FROM refunds WHERE at >= ? AND at < ?", from, to));
  d.enrolments = scalar("SELECT COUNT(*) AS v FROM members WHERE enrolled_at >= ? AND enrolled_at < ?", from, to);
  d.complaints = scalar("SELECT COUNT(*) AS v FROM complaints WHERE at >= ? AND at < ?", from, to);
  auto sv = m_db.query(
                    "SELECT COUNT(*) AS surveys, COUNT(CASE WHEN scale = 'csat5' THEN 1 END) AS csat, "
                    "COALESCE(SUM(CASE WHEN scale = 'csat5' THEN score END), 0) AS csat_sum "
                    "FROM surveys WHERE at >= ? AND at < ?")
                .bind(1, from)
                .bind(2, to);
  sv.step();
  d.surveys = sv.int64("surveys");
  const std::int64_t csat = sv.int64("csat");
  d.surveyAverage = csat > 0 ? static_cast<double>(sv.int64("csat_sum")) / static_cast<double>(csat) : 0.0;
  return d;
}

}  // namespace loyalty::terminal
