#include "loyalty/core/zone.hpp"

#include <algorithm>

namespace loyalty {

std::int32_t ZoneRules::offsetAt(Timestamp t) const {
  const std::int64_t s = t.time_since_epoch().count();
  const auto it = std::upper_bound(transitions.begin(), transitions.end(), s);
  if (it == transitions.begin()) return initialOffsetSeconds;
  return offsetsAfter[static_cast<std::size_t>(it - transitions.begin()) - 1];
}

Date ZoneRules::localDate(Timestamp t) const {
  const Timestamp local = t + std::chrono::seconds{offsetAt(t)};
  return Date{std::chrono::floor<std::chrono::days>(local)};
}

}  // namespace loyalty
