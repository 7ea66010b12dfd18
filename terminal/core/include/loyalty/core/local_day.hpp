#pragma once
/// @brief A store-local calendar day as the span of instants it covers, in the store's zone.

#include "loyalty/core/time.hpp"
#include "loyalty/core/zone.hpp"

namespace loyalty {

/// The instant a local day begins in `zone` (the offset in force just before local midnight).
Timestamp startOfLocalDay(Date day, const ZoneRules& zone);

/// A local day and the instants [from, to) it covers (23 or 25 hours across a DST change).
struct LocalDay {
  Date day;
  Timestamp from;
  Timestamp to;
};

/// The local day containing instant `t` in `zone`.
LocalDay localDayOf(Timestamp t, const ZoneRules& zone);

}  // namespace loyalty
