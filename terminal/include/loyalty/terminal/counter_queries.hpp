#pragma once
/// @brief What the counter app reads besides members: the reward catalogue and the figures of
/// the store's local day. Each call is one read snapshot. Not thread-safe: use it on the thread
/// that owns the connection.

#include <cstdint>
#include <utility>
#include <vector>

#include "loyalty/core/local_day.hpp"
#include "loyalty/core/zone.hpp"
#include "loyalty/db/database.hpp"
#include "loyalty/terminal/reward_repository.hpp"
#include "loyalty/terminal/day_figures_repository.hpp"

namespace loyalty::terminal {

/// The figures of one store-local day.
struct LocalDayFigures {
  Date day;
  DayFigures figures;
};

class CounterQueries {
 public:
  /// `zone` is the store's time zone (CounterConfig::zone); kept by value.
  CounterQueries(db::Database& db, ZoneRules zone) : m_db(db), m_zone(std::move(zone)) {}

  std::vector<CatalogueReward> catalogue();
  /// The figures of the store's local day that contains `now` (midnight to midnight in the
  /// store's zone, whatever the machine's zone).
  LocalDayFigures dayFigures(Timestamp now);
  /// The characters beyond ASCII of the names of up to `limit` members after the one whose rowid
  /// is `afterRowid`, with how many times each occurs; `lastRowid` is the last member read (for
  /// the next call), 0 when none was left. The counter app reads the store's names in such slices
  /// at start, between lookups, so their glyphs are drawn from the start.
  struct NameCharacters {
    std::vector<std::pair<char32_t, std::int64_t>> counts;
    std::int64_t lastRowid = 0;
  };
  NameCharacters nameCharacters(std::int64_t afterRowid, std::int64_t limit);

 private:
  db::Database& m_db;
  ZoneRules m_zone;
};

}  // namespace loyalty::terminal
