#include "loyalty/core/pinyin.hpp"

#include <algorithm>
#include <cstdint>

#include "loyalty/core/text.hpp"

namespace loyalty {
namespace {

struct PinyinRun {
  char32_t first;
  std::uint32_t count;
  std::uint32_t offset;
};

#include "pinyin_table.inc"

/// Surnames read differently from the character's usual reading (百家姓 readings).
struct SurnameReading {
  char32_t cp;
  std::string_view reading;
};
constexpr SurnameReading kSurnames[] = {
    {U'\u5355', "shan"},  // 单
    {U'\u66FE', "zeng"},  // 曾
    {U'\u89E3', "xie"},   // 解
    {U'\u4EC7', "qiu"},   // 仇
    {U'\u533A', "ou"},    // 区
    {U'\u6734', "piao"},  // 朴
    {U'\u67E5', "zha"},   // 查
    {U'\u7FDF', "zhai"},  // 翟
    {U'\u7F2A', "miao"},  // 缪
    {U'\u8983', "qin"},   // 覃
    {U'\u4E50', "yue"},   // 乐
    {U'\u76D6', "ge"},    // 盖
    {U'\u79CD', "chong"}, // 种
    {U'\u5458', "yun"},   // 员
    {U'\u53EC', "shao"},  // 召
    {U'\u7E41', "po"},    // 繁
    {U'\u90C7', "xun"},   // 郇
};

/// More combinations than this are not enumerated (a long text of polyphonic characters).
constexpr std::size_t kMaxCombinations = 4096;

bool isAsciiAlnum(char32_t cp) { return (cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9'); }

char32_t lowerAscii(char32_t cp) { return (cp >= 'A' && cp <= 'Z') ? cp - 'A' + 'a' : cp; }

}  // namespace

std::vector<std::string_view> pinyinReadings(char32_t cp) {
  std::vector<std::string_view> out;
  const auto run = std::upper_bound(std::begin(kRuns), std::end(kRuns), cp,
                                    [](char32_t c, const PinyinRun& r) { return c < r.first; });
  if (run == std::begin(kRuns)) return out;
  const PinyinRun& r = *std::prev(run);
  if (cp - r.first >= r.count) return out;
  const std::uint16_t entry = kRunEntries[r.offset + (cp - r.first)];
  if (entry == 0) return out;
  const std::uint16_t* set = &kReadingSets[entry - 1];
  out.reserve(set[0]);
  for (std::uint16_t i = 1; i <= set[0]; ++i) out.push_back(kSyllables[set[i]]);
  return out;
}

std::vector<PinyinSpelling> pinyinSpellings(std::string_view name, std::size_t maxSpellings) {
  // Each position: its possible readings (a kept ASCII character is one "reading" of itself,
  // with no initial of its own beyond the character).
  struct Position {
    std::vector<std::string_view> readings;
    std::string literal;  ///< an ASCII letter or digit kept as it is
  };
  std::vector<Position> positions;
  bool anyHan = false;
  bool first = true;
  for (char32_t cp : utf8CodePoints(name)) {
    cp = lowerAscii(cp);
    if (isAsciiAlnum(cp)) {
      positions.push_back({{}, std::string(1, static_cast<char>(cp))});
      first = false;
      continue;
    }
    std::vector<std::string_view> readings = pinyinReadings(cp);
    if (readings.empty()) continue;
    if (first) {
      for (const SurnameReading& s : kSurnames) {
        if (s.cp != cp) continue;
        std::erase(readings, s.reading);
        readings.insert(readings.begin(), s.reading);
      }
    }
    first = false;
    anyHan = true;
    positions.push_back({std::move(readings), {}});
  }
  std::vector<PinyinSpelling> out;
  if (!anyHan || maxSpellings == 0) return out;

  // Every combination, up to kMaxCombinations, ranked by how unusual its readings are (the sum
  // of the readings' ranks): the usual reading of every character first.
  struct Combination {
    std::vector<std::uint8_t> choice;
    std::size_t rank = 0;
  };
  std::vector<Combination> combinations{{std::vector<std::uint8_t>(positions.size(), 0), 0}};
  for (std::size_t p = 0; p < positions.size(); ++p) {
    const std::size_t n = std::max<std::size_t>(1, positions[p].readings.size());
    const std::size_t existing = combinations.size();
    for (std::size_t k = 1; k < n && combinations.size() < kMaxCombinations; ++k) {
      for (std::size_t c = 0; c < existing && combinations.size() < kMaxCombinations; ++c) {
        Combination next = combinations[c];
        next.choice[p] = static_cast<std::uint8_t>(k);
        next.rank += k;
        combinations.push_back(std::move(next));
      }
    }
  }
  std::stable_sort(combinations.begin(), combinations.end(),
                   [](const Combination& a, const Combination& b) { return a.rank < b.rank; });
  for (const Combination& c : combinations) {
    if (out.size() >= maxSpellings) break;
    PinyinSpelling s;
    for (std::size_t p = 0; p < positions.size(); ++p) {
      if (positions[p].readings.empty()) {
        s.full += positions[p].literal;
        s.initials += positions[p].literal;
      } else {
        const std::string_view reading = positions[p].readings[c.choice[p]];
        s.full += reading;
        s.initials += reading.front();  // zh, ch, sh type as z, c, s
      }
    }
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::string> pinyinSearchKeys(std::string_view normalizedName) {
  std::vector<std::string> keys;
  for (PinyinSpelling& s : pinyinSpellings(normalizedName)) {
    for (std::string* k : {&s.full, &s.initials}) {
      if (std::find(keys.begin(), keys.end(), *k) == keys.end()) keys.push_back(std::move(*k));
    }
  }
  return keys;
}

std::vector<std::string> memberNameKeys(std::string_view normalizedName) {
  std::vector<std::string> keys = nameSearchKeys(normalizedName);
  for (std::string& k : pinyinSearchKeys(normalizedName)) {
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(std::move(k));
  }
  return keys;
}

}  // namespace loyalty
