#include "loyalty/core/local_day.hpp"

namespace loyalty {

Timestamp startOfLocalDay(Date day, const ZoneRules& zone) {
  const Timestamp asUtc{std::chrono::sys_days{day}};
  const std::chrono::seconds first{zone.offsetAt(asUtc)};
  return asUtc - std::chrono::seconds{zone.offsetAt(asUtc - first)};
}

LocalDay localDayOf(Timestamp t, const ZoneRules& zone) {
  const Date day = zone.localDate(t);
  const Date next{std::chrono::sys_days{day} + std::chrono::days{1}};
  return {day, startOfLocalDay(day, zone), startOfLocalDay(next, zone)};
}

}  // namespace loyalty
