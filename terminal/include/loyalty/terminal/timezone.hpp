#pragma once
/// @brief Loading a named time zone ("Asia/Shanghai") from the system's zone database.

#include <string>

#include "loyalty/core/result.hpp"
#include "loyalty/core/zone.hpp"

namespace loyalty::terminal {

/// Reads /usr/share/zoneinfo/NAME (TZif, version 1 to 4; 64-bit data when present). "UTC" needs
/// no file. Refuses unknown names and malformed files with invalid_argument on "timezone".
/// Offsets after the file's last transition stay as they were then (Debian's files list
/// transitions to 2037).
Result<ZoneRules> loadZone(const std::string& name, const std::string& zoneinfoDir = "/usr/share/zoneinfo");

}  // namespace loyalty::terminal
