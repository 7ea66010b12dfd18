#pragma once
/// @brief What the counter app reads besides members: the reward catalogue and the figures of
/// the store's local day. Each call is one read snapshot. Not thread-safe: use it on the thread
/// that owns the connection.

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

 private:
  db::Database& m_db;
  ZoneRules m_zone;
};

}  // namespace loyalty::terminal
