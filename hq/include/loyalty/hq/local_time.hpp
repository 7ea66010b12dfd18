#pragma once
/// @brief Stores' local time at head office: zones loaded from the system's zone database
/// (by loyalty_zones, the terminal's loader), and an instant's local day and hour in a store's zone.
///
/// The store's time zone (terminals.timezone, default UTC) decides its local days in reports
/// (docs/sync-protocol.md).

#include <map>
#include <set>
#include <string>

#include "loyalty/core/result.hpp"
#include "loyalty/core/time.hpp"
#include "loyalty/core/zone.hpp"

namespace loyalty::hq {

/// An instant in a store's local time.
struct LocalStamp {
  std::string day;   ///< YYYY-MM-DD
  std::string hour;  ///< "00".."23"
};

LocalStamp localStamp(const ZoneRules& zone, Timestamp t);

/// An instant as people read it in a zone: "YYYY-MM-DD HH:MM" (the dashboard's times).
std::string localMinute(const ZoneRules& zone, Timestamp t);

/// The system clock now, in whole seconds (what head office stamps and compares).
Timestamp nowSeconds();

/// The zone NAME (zones::loadZone). "UTC" needs no database. Unknown or unsafe names are
/// refused with invalid_argument on "timezone".
Result<ZoneRules> loadZoneRules(const std::string& name);

/// Zones by name, each read once. Not thread-safe (one per HqStore / per job).
class ZoneCache {
 public:
  /// The zone, or UTC when it cannot be loaded (said once per name on stderr: terminals are
  /// added with a checked zone, so this is a database edited by hand or a zone file removed).
  const ZoneRules& get(const std::string& name);
  /// The zone, or the reason it cannot be used (nothing cached on failure).
  Result<ZoneRules> load(const std::string& name);

 private:
  std::map<std::string, ZoneRules, std::less<>> m_zones;
  std::set<std::string, std::less<>> m_fallen;  ///< names that could not be loaded (warned once)
};

}  // namespace loyalty::hq
