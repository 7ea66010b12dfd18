#include "loyalty/terminal/timezone.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace loyalty::terminal {
namespace {

std::int64_t readBigEndian(const std::string& data, std::size_t pos, std::size_t width) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i) v = (v << 8) | static_cast<unsigned char>(data[pos + i]);
  if (width == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  return static_cast<std::int64_t>(v);
}

struct Counts {
  std::size_t isUt, isStd, leap, time, type, chars;
};

bool readCounts(const std::string& data, std::size_t pos, Counts& c) {
  if (pos + 44 > data.size() || data.compare(pos, 4, "TZif") != 0) return false;
  const auto n = [&](std::size_t k) { return static_cast<std::size_t>(readBigEndian(data, pos + 20 + 4 * k, 4)); };
  c = {n(0), n(1), n(2), n(3), n(4), n(5)};
  return c.type > 0 && c.type < 256 && c.time < 100000;
}

std::size_t blockSize(const Counts& c, std::size_t timeWidth) {
  return c.time * timeWidth + c.time + c.type * 6 + c.chars + c.leap * (timeWidth + 4) + c.isStd + c.isUt;
}

}  // namespace

Result<ZoneRules> loadZone(const std::string& name, const std::string& zoneinfoDir) {
  if (name == "UTC") return ZoneRules::utc();
  const auto bad = [&](const std::string& why) { return invalidArgument("timezone", "time zone \"" + name + "\" " + why); };
  if (name.empty() || name.front() == '/' || name.find("..") != std::string::npos) return bad("is not a zone name");
  std::ifstream in(std::filesystem::path(zoneinfoDir) / name, std::ios::binary);
  if (!in) return bad("is not in the zone database");
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  Counts c{};
  if (!readCounts(data, 0, c)) return bad("is not a TZif file");
  std::size_t pos = 44;
  std::size_t width = 4;
  if (data.size() > 4 && data[4] >= '2') {
    // Version 2+: skip the 32-bit block; the 64-bit one follows with its own header.
    pos += blockSize(c, 4);
    if (!readCounts(data, pos, c)) return bad("has a broken second header");
    pos += 44;
    width = 8;
  }
  if (pos + blockSize(c, width) > data.size()) return bad("is truncated");

  ZoneRules rules;
  const std::size_t typesAt = pos + c.time * width;
  const std::size_t infoAt = typesAt + c.time;
  const auto offsetOfType = [&](std::size_t type) {
    return static_cast<std::int32_t>(readBigEndian(data, infoAt + type * 6, 4));
  };
  // Type 0 is the one in force before the first transition (RFC 8536, section 3.2).
  rules.initialOffsetSeconds = offsetOfType(0);
  for (std::size_t i = 0; i < c.time; ++i) {
    const auto type = static_cast<unsigned char>(data[typesAt + i]);
    if (type >= c.type) return bad("has a transition to an unknown type");
    rules.transitions.push_back(readBigEndian(data, pos + i * width, width));
    rules.offsetsAfter.push_back(offsetOfType(type));
  }
  if (!std::is_sorted(rules.transitions.begin(), rules.transitions.end())) return bad("has unordered transitions");
  return rules;
}

}  // namespace loyalty::terminal
