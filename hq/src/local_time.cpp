#include "loyalty/hq/local_time.hpp"

#include <cstdio>

#include "loyalty/logging/logging.hpp"
#include "loyalty/zones/zone_loader.hpp"

#include <chrono>

namespace loyalty::hq {

Timestamp nowSeconds() { return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()); }

LocalStamp localStamp(const ZoneRules& zone, Timestamp t) {
  const Timestamp local = t + std::chrono::seconds{zone.offsetAt(t)};
  const auto day = std::chrono::floor<std::chrono::days>(local);
  const auto hour = std::chrono::duration_cast<std::chrono::hours>(local - day).count();
  std::string hh = std::to_string(hour);
  if (hh.size() < 2) hh.insert(0, "0");
  return {formatDate(Date{day}), hh};
}

std::string localMinute(const ZoneRules& zone, Timestamp t) {
  const Timestamp local = t + std::chrono::seconds{zone.offsetAt(t)};
  const auto day = std::chrono::floor<std::chrono::days>(local);
  const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(local - day).count();
  char hm[8];
  std::snprintf(hm, sizeof hm, "%02d:%02d", static_cast<int>(minutes / 60), static_cast<int>(minutes % 60));
  return formatDate(Date{day}) + " " + hm;
}

Result<ZoneRules> loadZoneRules(const std::string& name) { return zones::loadZone(name); }

Result<ZoneRules> ZoneCache::load(const std::string& name) {
  if (const auto it = m_zones.find(name); it != m_zones.end()) return it->second;
  auto rules = loadZoneRules(name);
  if (rules) m_zones.emplace(name, *rules);
  return rules;
}

const ZoneRules& ZoneCache::get(const std::string& name) {
  static const ZoneRules kUtc = ZoneRules::utc();
  if (const auto it = m_zones.find(name); it != m_zones.end()) return it->second;
  if (m_fallen.contains(name)) return kUtc;
  auto rules = loadZoneRules(name);
  if (!rules) {
    m_fallen.insert(name);
    logging::log().warn("{}; its stores' local days are computed as UTC days", rules.error().message);
    return kUtc;
  }
  return m_zones.emplace(name, std::move(*rules)).first->second;
}

}  // namespace loyalty::hq
