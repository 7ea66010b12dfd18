#pragma once
/// @brief A time zone as data (UTC offsets and the instants they change) and local days from it.

#include <cstdint>
#include <string_view>
#include <vector>

#include "loyalty/core/result.hpp"
#include "loyalty/core/time.hpp"

namespace loyalty {

/// A zone's offsets from UTC over time, as read from the system's zone database. Pure data, so
/// day-based rules stay pure functions of (instant, zone).
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

/// Parses the bytes of a TZif file (RFC 8536, versions 1 to 4; the 64-bit data when present).
/// Pure: the shells read the file. Refuses anything malformed or truncated with
/// invalid_argument on "timezone" (the message says what is wrong, not which zone).
/// Offsets after the file's last transition stay as they were then.
Result<ZoneRules> parseTzif(std::string_view bytes);

}  // namespace loyalty
