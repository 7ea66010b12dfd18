// zones::loadZone: the system's zone database (through date/tz) as core's ZoneRules values.
// The zone values keep the assertions the former TZif reader's tests made on the same files.
#include <date/tz.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "loyalty/zones/zone_loader.hpp"

using namespace loyalty;
using loyalty::zones::loadZone;

namespace {

Timestamp at(const char* s) { return *parseRfc3339(s, "at"); }

void refused(const std::string& name) {
  INFO(name);
  auto z = loadZone(name);
  REQUIRE_FALSE(z.hasValue());
  CHECK(z.error().code == "invalid_argument");
  CHECK(z.error().field == "timezone");
  CHECK(z.error().message.find("\"" + name + "\"") != std::string::npos);
}

}  // namespace

TEST_CASE("zones: Shanghai and London from the zone database", "[core][zone]") {
  auto sh = loadZone("Asia/Shanghai");
  REQUIRE(sh.hasValue());
  CHECK(sh->offsetAt(at("2026-03-01T17:30:00Z")) == 8 * 3600);
  CHECK(formatDate(sh->localDate(at("2026-03-01T17:30:00Z"))) == "2026-03-02");
  CHECK(formatDate(sh->localDate(at("2026-03-01T15:59:59Z"))) == "2026-03-01");

  auto london = loadZone("Europe/London");
  REQUIRE(london.hasValue());
  CHECK(london->offsetAt(at("2026-03-29T00:59:59Z")) == 0);
  CHECK(london->offsetAt(at("2026-03-29T01:00:00Z")) == 3600);
  CHECK(london->transitions.size() == london->offsetsAfter.size());
}

TEST_CASE("zones: New York's offsets and days", "[core][zone]") {
  auto z = loadZone("America/New_York");
  REQUIRE(z.hasValue());
  CHECK(z->offsetAt(at("2026-01-15T12:00:00Z")) == -5 * 3600);
  CHECK(z->offsetAt(at("2026-07-15T12:00:00Z")) == -4 * 3600);
  CHECK(formatDate(z->localDate(at("2026-01-01T04:59:59Z"))) == "2025-12-31");
}

TEST_CASE("zones: names that are not zones of the database are refused naming the timezone field",
          "[core][zone]") {
  // Paths, directories, and the database's files that are not zones.
  for (const char* name :
       {"", "Mars/Olympus_Mons", "../../etc/passwd", "/etc/localtime", "Asia", "zone1970.tab", "tzdata.zi",
        "leap-seconds.list", "Asia/Shanghai/", "asia/shanghai"}) {
    refused(name);
  }
  CHECK(loadZone("UTC")->transitions.empty());
}

TEST_CASE("zones: the values agree with date/tz every 7 hours from 1950 to 2037", "[core][zone]") {
  // Zones with half- and quarter-hour offsets, both hemispheres' summer time, and a zone that
  // changed its standard offset (Pyongyang, 2015 and 2018).
  for (const char* name : {"Asia/Shanghai", "Europe/London", "America/New_York", "Australia/Sydney",
                           "Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns", "Asia/Pyongyang"}) {
    INFO(name);
    const auto rules = loadZone(name);
    REQUIRE(rules.hasValue());
    const date::time_zone* zone = date::locate_zone(name);
    std::size_t mismatches = 0;
    const auto from = std::chrono::sys_days{std::chrono::year{1950} / 1 / 1};
    const auto to = std::chrono::sys_days{std::chrono::year{2037} / 1 / 1};
    for (auto t = Timestamp{from.time_since_epoch()}; t < Timestamp{to.time_since_epoch()};
         t += std::chrono::hours{7}) {
      const auto expected = zone->get_info(date::sys_seconds{t.time_since_epoch()}).offset.count();
      if (rules->offsetAt(t) != expected) ++mismatches;
    }
    CHECK(mismatches == 0);
  }
}
