#include <catch2/catch.hpp>

#include "loyalty/terminal/timezone.hpp"

using namespace loyalty;
using loyalty::terminal::loadZone;

namespace {
Timestamp at(const char* s) { return *parseRfc3339(s, "at"); }
std::string day(const ZoneRules& z, const char* s) { return formatDate(z.localDate(at(s))); }
}  // namespace

TEST_CASE("a store in Shanghai has its own day, eight hours ahead of UTC", "[terminal]") {
  auto z = loadZone("Asia/Shanghai");
  REQUIRE(z.hasValue());
  CHECK(z->offsetAt(at("2026-11-23T00:00:00Z")) == 8 * 3600);
  CHECK(day(*z, "2026-12-31T15:59:59Z") == "2026-12-31");
  CHECK(day(*z, "2026-12-31T16:00:00Z") == "2027-01-01");
}

TEST_CASE("London changes offset at the summer-time transitions", "[terminal]") {
  auto z = loadZone("Europe/London");
  REQUIRE(z.hasValue());
  CHECK(z->offsetAt(at("2011-03-27T00:59:59Z")) == 0);
  CHECK(z->offsetAt(at("2011-03-27T01:00:00Z")) == 3600);
  CHECK(z->offsetAt(at("2011-10-30T00:59:59Z")) == 3600);
  CHECK(z->offsetAt(at("2011-10-30T01:00:00Z")) == 0);
  CHECK(day(*z, "2011-06-30T23:30:00Z") == "2011-07-01");
  CHECK(day(*z, "2011-12-31T23:30:00Z") == "2011-12-31");
}

TEST_CASE("New York is behind UTC, so its day starts later", "[terminal]") {
  auto z = loadZone("America/New_York");
  REQUIRE(z.hasValue());
  CHECK(day(*z, "2026-01-01T04:59:59Z") == "2025-12-31");
  CHECK(day(*z, "2026-01-01T05:00:00Z") == "2026-01-01");
}

TEST_CASE("UTC needs no file and unknown or unsafe names are refused", "[terminal]") {
  auto utc = loadZone("UTC");
  REQUIRE(utc.hasValue());
  CHECK(day(*utc, "2026-12-31T23:59:59Z") == "2026-12-31");
  for (const char* name : {"Mars/Olympus_Mons", "", "../../etc/passwd", "/etc/localtime"}) {
    INFO(name);
    auto z = loadZone(name);
    REQUIRE_FALSE(z.hasValue());
    CHECK(z.error().field == "timezone");
  }
}
