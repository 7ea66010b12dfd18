#include "loyalty/terminal/counter_queries.hpp"

#include <unordered_map>

#include "loyalty/core/text.hpp"

namespace loyalty::terminal {

std::vector<CatalogueReward> CounterQueries::catalogue() {
  const db::ReadTransaction snapshot(m_db);
  return RewardRepository(m_db).activeRewards();
}

CounterQueries::NameCharacters CounterQueries::nameCharacters(std::int64_t afterRowid, std::int64_t limit) {
  const db::ReadTransaction snapshot(m_db);
  std::unordered_map<char32_t, std::int64_t> counts;
  NameCharacters out;
  auto q = m_db.query("SELECT rowid, name FROM members WHERE rowid > ? ORDER BY rowid LIMIT ?").bind(1, afterRowid).bind(2, limit);
  while (q.step()) {
    out.lastRowid = q.int64("rowid");
    for (const char32_t c : utf8CodePoints(q.text("name"))) {
      if (c >= 0x80) ++counts[c];
    }
  }
  out.counts.assign(counts.begin(), counts.end());
  return out;
}

LocalDayFigures CounterQueries::dayFigures(Timestamp now) {
  const LocalDay day = localDayOf(now, m_zone);
  const db::ReadTransaction snapshot(m_db);
  return {day.day, DayFiguresRepository(m_db).between(day.from, day.to)};
}

}  // namespace loyalty::terminal
