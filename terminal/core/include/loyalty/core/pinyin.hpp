#pragma once
/// @brief Pinyin of Chinese text for search: every reading of each Han character (Unicode's
/// Unihan readings), the usual readings of surnames, whole spellings and initials.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace loyalty {

/// The readings of one code point without tones (u-umlaut written v), the most common first;
/// empty for a code point that is not a Han character with a Mandarin reading.
std::vector<std::string_view> pinyinReadings(char32_t cp);

/// One way to read a text: its whole pinyin ("zhangsanfeng") and its initials ("zsf"; zh, ch
/// and sh count as z, c and s, as pinyin keyboards type them).
struct PinyinSpelling {
  std::string full;
  std::string initials;
  bool operator==(const PinyinSpelling&) const = default;
};

/// How a name may be read: every combination of its characters' readings, the most usual
/// first, at most `maxSpellings`. A name's first character, when it is a surname read
/// differently as one (单 shan, 曾 zeng, 解 xie, 仇 qiu, 区 ou, ...), is read as the surname
/// first. ASCII letters and digits are kept as they are (lower-cased); other characters
/// (spaces, the middle dot of transliterated names) are skipped. Empty when the text has no
/// Han character with a reading.
std::vector<PinyinSpelling> pinyinSpellings(std::string_view name, std::size_t maxSpellings = 8);

/// The keys under which a normalised name (normalizeName) is found by pinyin: each spelling's
/// whole pinyin and initials, each once; empty for a name without Han characters.
std::vector<std::string> pinyinSearchKeys(std::string_view normalizedName);

/// Every key a member is found under by name, at the counter and at head office: the name's own
/// keys (nameSearchKeys) and its pinyin (full and initials), each once.
std::vector<std::string> memberNameKeys(std::string_view normalizedName);

}  // namespace loyalty
