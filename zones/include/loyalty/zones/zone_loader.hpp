#pragma once
/// @brief Loading a named time zone ("Asia/Shanghai") from the system's zone database.

#include <string>

#include "loyalty/core/result.hpp"
#include "loyalty/core/zone.hpp"

namespace loyalty::zones {

/// The zone NAME of the system's zone database (tzdata, read through date/tz) as the value
/// core's day rules take: its UTC offsets and the instants they change. "UTC" needs no
/// database. Names the database does not list (paths, directories, its other files) are
/// refused with invalid_argument on "timezone". Offsets after the database's last transition
/// stay as they were then (Debian's files list transitions to 2037).
Result<ZoneRules> loadZone(const std::string& name);

}  // namespace loyalty::zones
