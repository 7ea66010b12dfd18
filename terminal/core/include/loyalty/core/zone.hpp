#pragma once
/// @brief A time zone as data (UTC offsets and the instants they change) and local days from it.

#include <cstdint>
#include <vector>

#include "loyalty/core/time.hpp"

namespace loyalty {

/// A zone's offsets from UTC over time. Pure data, so day-based rules stay pure functions of
/// (instant, zone); loyalty_zones (zones/) builds it from the system's zone database.
struct ZoneRules {
  std::int32_t initialOffsetSeconds = 0;           ///< before the first transition
  std::vector<std::int64_t> transitions;           ///< UTC seconds, ascending
  std::vector<std::int32_t> offsetsAfter;          ///< offset in force from transitions[i] on

  static ZoneRules utc() { return {}; }
  /// Offset from UTC at instant `t` (the last known offset continues after the table ends).
  std::int32_t offsetAt(Timestamp t) const;
  /// The local calendar day of instant `t`.
  Date localDate(Timestamp t) const;
};

}  // namespace loyalty
