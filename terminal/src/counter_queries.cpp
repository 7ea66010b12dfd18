#include "loyalty/terminal/counter_queries.hpp"

namespace loyalty::terminal {

std::vector<CatalogueReward> CounterQueries::catalogue() {
  const db::ReadTransaction snapshot(m_db);
  return RewardRepository(m_db).activeRewards();
}

LocalDayFigures CounterQueries::dayFigures(Timestamp now) {
  const LocalDay day = localDayOf(now, m_zone);
  const db::ReadTransaction snapshot(m_db);
  return {day.day, DayFiguresRepository(m_db).between(day.from, day.to)};
}

}  // namespace loyalty::terminal
