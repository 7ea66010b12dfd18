#include "loyalty/terminal/day_figures_repository.hpp"

namespace loyalty::terminal {

std::int64_t DayFiguresRepository::scalar(const char* sql, const std::string& from, const std::string& to) {
  auto& st = m_db.prepare(sql);
  st.bind(1, from).bind(2, to);
  st.step();
  const std::int64_t v = st.isNull(0) ? 0 : st.getInt(0);
  st.reset();
  return v;
}

DayFigures DayFiguresRepository::between(Timestamp fromAt, Timestamp toAt) {
  const std::string from = formatRfc3339(fromAt), to = formatRfc3339(toAt);
  DayFigures d;
  auto& st = m_db.prepare(
      "SELECT COUNT(*), COUNT(member_id), COALESCE(SUM(total), 0), COALESCE(SUM(points_earned), 0), "
      "COALESCE(SUM(points_redeemed), 0) FROM sales WHERE at >= ? AND at < ?");
  st.bind(1, from).bind(2, to);
  st.step();
  d.sales = st.getInt(0);
  d.memberSales = st.getInt(1);
  d.total = Money::fromMinor(st.getInt(2));
  d.pointsEarned = st.getInt(3);
  d.pointsRedeemed = st.getInt(4);
  st.reset();
  d.pointsRedeemed += scalar("SELECT SUM(points) FROM redemptions WHERE at >= ? AND at < ?", from, to);
  d.refunds = scalar("SELECT COUNT(*) FROM refunds WHERE at >= ? AND at < ?", from, to);
  d.refunded = Money::fromMinor(scalar("SELECT SUM(amount) FROM refunds WHERE at >= ? AND at < ?", from, to));
  d.enrolments = scalar("SELECT COUNT(*) FROM members WHERE enrolled_at >= ? AND enrolled_at < ?", from, to);
  d.complaints = scalar("SELECT COUNT(*) FROM complaints WHERE at >= ? AND at < ?", from, to);
  auto& sv = m_db.prepare(
      "SELECT COUNT(*), COUNT(CASE WHEN scale = 'csat5' THEN 1 END), "
      "COALESCE(SUM(CASE WHEN scale = 'csat5' THEN score END), 0) FROM surveys WHERE at >= ? AND at < ?");
  sv.bind(1, from).bind(2, to);
  sv.step();
  d.surveys = sv.getInt(0);
  const std::int64_t csat = sv.getInt(1);
  d.surveyAverage = csat > 0 ? static_cast<double>(sv.getInt(2)) / static_cast<double>(csat) : 0.0;
  sv.reset();
  return d;
}

}  // namespace loyalty::terminal
