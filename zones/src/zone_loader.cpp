#include "loyalty/zones/zone_loader.hpp"

#include <date/tz.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <limits>

namespace loyalty::zones {
namespace {

/// Far before any zone's first transition (local mean time until the 19th century).
constexpr std::chrono::seconds kDistantPast{std::numeric_limits<std::int64_t>::min() / 4};

ZoneRules rulesOf(const date::time_zone& zone) {
  ZoneRules rules;
  date::sys_info info = zone.get_info(date::sys_seconds{kDistantPast});
  rules.initialOffsetSeconds = static_cast<std::int32_t>(info.offset.count());
  // Each period ends where the next begins; the last one ends at date/tz's end of time.
  while (true) {
    const date::sys_seconds change = info.end;
    const date::sys_info next = zone.get_info(change);
    if (next.end <= change) break;
    rules.transitions.push_back(change.time_since_epoch().count());
    rules.offsetsAfter.push_back(static_cast<std::int32_t>(next.offset.count()));
    info = next;
  }
  return rules;
}

}  // namespace

Result<ZoneRules> loadZone(const std::string& name) {
  if (name == "UTC") return ZoneRules::utc();
  const auto bad = [&](const std::string& why) {
    return invalidArgument("timezone", "time zone \"" + name + "\" " + why);
  };
  if (name.empty() || name.front() == '/' || name.find("..") != std::string::npos)
    return bad("is not a zone name");
  try {
    return rulesOf(*date::locate_zone(name));
  } catch (const std::exception&) {
    // date/tz throws for a name it does not list, and for a zone file it cannot read.
    return bad("is not in the zone database");
  }
}

}  // namespace loyalty::zones
