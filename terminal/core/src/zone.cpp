#include "loyalty/core/zone.hpp"

#include <algorithm>
#include <string>

namespace loyalty {

std::int32_t ZoneRules::offsetAt(Timestamp t) const {
  const std::int64_t s = t.time_since_epoch().count();
  const auto it = std::upper_bound(transitions.begin(), transitions.end(), s);
  if (it == transitions.begin()) return initialOffsetSeconds;
  return offsetsAfter[static_cast<std::size_t>(it - transitions.begin()) - 1];
}

Date ZoneRules::localDate(Timestamp t) const {
  const Timestamp local = t + std::chrono::seconds{offsetAt(t)};
  return Date{std::chrono::floor<std::chrono::days>(local)};
}

// [SECTION] TZif (RFC 8536)

namespace {

std::uint64_t readUnsigned(std::string_view data, std::size_t pos, std::size_t width) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i) v = (v << 8) | static_cast<unsigned char>(data[pos + i]);
  return v;
}

std::int64_t readSigned(std::string_view data, std::size_t pos, std::size_t width) {
  const std::uint64_t v = readUnsigned(data, pos, width);
  if (width == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  return static_cast<std::int64_t>(v);
}

/// The six counts of a header (isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt).
struct Counts {
  std::size_t isUt, isStd, leap, time, type, chars;
};

constexpr std::size_t kHeaderSize = 44;
/// Far above any real zone (Debian's largest lists a few hundred transitions): the bound keeps
/// the block-size arithmetic exact on garbage counts.
constexpr std::size_t kMaxCount = 1'000'000;

bool readCounts(std::string_view data, std::size_t pos, Counts& c) {
  if (pos > data.size() || data.size() - pos < kHeaderSize || data.substr(pos, 4) != "TZif") return false;
  const auto n = [&](std::size_t k) { return static_cast<std::size_t>(readUnsigned(data, pos + 20 + 4 * k, 4)); };
  c = {n(0), n(1), n(2), n(3), n(4), n(5)};
  for (const std::size_t v : {c.isUt, c.isStd, c.leap, c.time, c.chars}) {
    if (v > kMaxCount) return false;
  }
  return c.type > 0 && c.type < 256;
}

std::size_t blockSize(const Counts& c, std::size_t timeWidth) {
  return c.time * timeWidth + c.time + c.type * 6 + c.chars + c.leap * (timeWidth + 4) + c.isStd + c.isUt;
}

}  // namespace

Result<ZoneRules> parseTzif(std::string_view data) {
  const auto bad = [](const std::string& why) { return invalidArgument("timezone", "the zone file " + why); };
  Counts c{};
  if (!readCounts(data, 0, c)) return bad("is not a TZif file");
  std::size_t pos = kHeaderSize;
  std::size_t width = 4;
  if (data[4] >= '2') {
    // Version 2+: skip the 32-bit block; the 64-bit one follows with its own header.
    pos += blockSize(c, 4);
    if (!readCounts(data, pos, c)) return bad("has a broken second header");
    pos += kHeaderSize;
    width = 8;
  }
  if (blockSize(c, width) > data.size() - pos) return bad("is truncated");

  ZoneRules rules;
  const std::size_t typesAt = pos + c.time * width;
  const std::size_t infoAt = typesAt + c.time;
  const auto offsetOfType = [&](std::size_t type) { return static_cast<std::int32_t>(readSigned(data, infoAt + type * 6, 4)); };
  for (std::size_t type = 0; type < c.type; ++type) {
    // RFC 8536 allows -89999..93599; anything beyond a day and a bit is garbage.
    if (const std::int32_t o = offsetOfType(type); o < -26 * 3600 || o > 26 * 3600) return bad("has an impossible UTC offset");
  }
  // Type 0 is the one in force before the first transition (RFC 8536, section 3.2).
  rules.initialOffsetSeconds = offsetOfType(0);
  rules.transitions.reserve(c.time);
  rules.offsetsAfter.reserve(c.time);
  for (std::size_t i = 0; i < c.time; ++i) {
    const auto type = static_cast<unsigned char>(data[typesAt + i]);
    if (type >= c.type) return bad("has a transition to an unknown type");
    rules.transitions.push_back(readSigned(data, pos + i * width, width));
    rules.offsetsAfter.push_back(offsetOfType(type));
  }
  if (!std::is_sorted(rules.transitions.begin(), rules.transitions.end())) return bad("has unordered transitions");
  return rules;
}

}  // namespace loyalty
