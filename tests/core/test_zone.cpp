// parseTzif: the pure TZif reader, on the system's zone files (read here, in the test) and on
// garbage, truncated and corrupted bytes.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "loyalty/core/zone.hpp"

using namespace loyalty;

namespace {

std::string zoneBytes(const std::string& name) {
  std::ifstream in(std::filesystem::path("/usr/share/zoneinfo") / name, std::ios::binary);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Timestamp at(const char* s) { return *parseRfc3339(s, "at"); }

std::uint32_t be32(const std::string& d, std::size_t pos) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(d[pos + i]);
  return v;
}

void refused(const std::string& bytes, const std::string& why) {
  INFO(why);
  auto z = parseTzif(bytes);
  REQUIRE_FALSE(z.hasValue());
  CHECK(z.error().field == "timezone");
  CHECK(z.error().message.find(why) != std::string::npos);
}

}  // namespace

TEST_CASE("parseTzif reads Shanghai and London from the zone database's bytes", "[core][zone]") {
  auto sh = parseTzif(zoneBytes("Asia/Shanghai"));
  REQUIRE(sh.hasValue());
  CHECK(sh->offsetAt(at("2026-03-01T17:30:00Z")) == 8 * 3600);
  CHECK(formatDate(sh->localDate(at("2026-03-01T17:30:00Z"))) == "2026-03-02");
  CHECK(formatDate(sh->localDate(at("2026-03-01T15:59:59Z"))) == "2026-03-01");

  auto london = parseTzif(zoneBytes("Europe/London"));
  REQUIRE(london.hasValue());
  CHECK(london->offsetAt(at("2026-03-29T00:59:59Z")) == 0);
  CHECK(london->offsetAt(at("2026-03-29T01:00:00Z")) == 3600);
  CHECK(london->transitions.size() == london->offsetsAfter.size());
}

TEST_CASE("parseTzif reads a version 1 file (32-bit data only)", "[core][zone]") {
  // The first block of a v2+ file is a complete v1 file once its version byte says so.
  std::string v1 = zoneBytes("America/New_York");
  REQUIRE(v1.size() > 44);
  v1[4] = '\0';
  auto z = parseTzif(v1);
  REQUIRE(z.hasValue());
  CHECK(z->offsetAt(at("2026-01-15T12:00:00Z")) == -5 * 3600);
  CHECK(z->offsetAt(at("2026-07-15T12:00:00Z")) == -4 * 3600);
  CHECK(formatDate(z->localDate(at("2026-01-01T04:59:59Z"))) == "2025-12-31");
}

TEST_CASE("parseTzif refuses garbage, truncated and corrupted input naming the timezone field", "[core][zone]") {
  refused("", "not a TZif file");
  refused("hello, world", "not a TZif file");
  refused(std::string(200, '\0'), "not a TZif file");
  std::string tzif = "TZif" + std::string(40, '\0');  // a header with no types at all
  refused(tzif, "not a TZif file");

  const std::string good = zoneBytes("Europe/London");
  for (const std::size_t keep : {std::size_t{44}, std::size_t{100}, good.size() / 2}) {
    INFO(keep);
    CHECK_FALSE(parseTzif(good.substr(0, keep)).hasValue());
  }
  // The 64-bit block cut short after its header.
  const std::size_t timeCnt = be32(good, 32), typeCnt = be32(good, 36), charCnt = be32(good, 40);
  const std::size_t leapCnt = be32(good, 28), stdCnt = be32(good, 24), utCnt = be32(good, 20);
  const std::size_t second = 44 + timeCnt * 5 + typeCnt * 6 + charCnt + leapCnt * 8 + stdCnt + utCnt;
  REQUIRE(good.compare(second, 4, "TZif") == 0);
  refused(good.substr(0, second + 44 + 10), "truncated");
  std::string broken = good;
  broken[second] = 'X';
  refused(broken, "broken second header");

  // A huge count must not wrap the size arithmetic into "fits".
  std::string huge = good;
  for (std::size_t i = 0; i < 4; ++i) huge[40 + i] = '\xff';
  refused(huge, "not a TZif file");

  // A transition to a type the file does not define.
  std::string v1 = good;
  v1[4] = '\0';
  REQUIRE(timeCnt > 0);
  v1[44 + timeCnt * 4] = static_cast<char>(typeCnt);
  refused(v1, "unknown type");
}
