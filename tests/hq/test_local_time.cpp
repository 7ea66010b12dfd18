// Stores' local time at head office: localStamp (day and hour) and the zone loader/cache.
#include <catch2/catch.hpp>

#include "loyalty/hq/local_time.hpp"

using namespace loyalty;
using namespace loyalty::hq;

namespace {
Timestamp at(const char* s) { return *parseRfc3339(s, "at"); }
}  // namespace

TEST_CASE("localStamp gives the store's local day and hour", "[hq][zone]") {
  const auto sh = loadZoneRules("Asia/Shanghai");
  REQUIRE(sh.hasValue());
  const LocalStamp s = localStamp(*sh, at("2026-03-01T17:30:00Z"));
  CHECK(s.day == "2026-03-02");
  CHECK(s.hour == "01");
  const LocalStamp u = localStamp(ZoneRules::utc(), at("2026-03-01T17:30:00Z"));
  CHECK(u.day == "2026-03-01");
  CHECK(u.hour == "17");
  CHECK(localStamp(ZoneRules::utc(), at("2026-03-01T00:00:00Z")).hour == "00");
  CHECK(localStamp(ZoneRules::utc(), at("2026-03-01T23:59:59Z")).hour == "23");

  const auto ny = loadZoneRules("America/New_York");
  REQUIRE(ny.hasValue());
  // Summer time started at 07:00 UTC on March 8, 2026 (02:00 EST became 03:00 EDT).
  CHECK(localStamp(*ny, at("2026-03-08T06:59:59Z")).hour == "01");
  CHECK(localStamp(*ny, at("2026-03-08T07:00:00Z")).hour == "03");
  CHECK(localStamp(*ny, at("2026-01-01T04:59:59Z")).day == "2025-12-31");
}

TEST_CASE("zones head office cannot load are refused, or fall back to UTC in the cache", "[hq][zone]") {
  CHECK(loadZoneRules("UTC").hasValue());
  for (const char* name : {"Mars/Olympus_Mons", "", "../../etc/passwd", "/etc/localtime", "Asia", "zone1970.tab"}) {
    INFO(name);
    auto z = loadZoneRules(name);
    REQUIRE_FALSE(z.hasValue());
    CHECK(z.error().field == "timezone");
  }
  ZoneCache cache;
  CHECK_FALSE(cache.load("Mars/Olympus_Mons").hasValue());
  const ZoneRules& fallback = cache.get("Mars/Olympus_Mons");
  CHECK(fallback.transitions.empty());
  CHECK(fallback.initialOffsetSeconds == 0);
  const ZoneRules& sh = cache.get("Asia/Shanghai");
  CHECK(&sh == &cache.get("Asia/Shanghai"));  // read once
  CHECK(sh.offsetAt(at("2026-03-01T00:00:00Z")) == 8 * 3600);
}
