#pragma once
/// @brief Pinyin to hanzi: Debian's libgooglepinyin (the Android pinyin engine) behind a small
/// value-style interface, for the on-screen keyboard (keyboard.hpp).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "loyalty/core/result.hpp"

namespace ime_pinyin {
class MatrixSearch;
}

namespace loyalty::ui {

/// Where libgooglepinyin0 installs its system dictionary (a path of the Debian package, found
/// from its pkg-config file at build time); LOYALTY_PINYIN_DICT overrides it.
std::string defaultPinyinDictPath();

/// One decoder over the system dictionary. Not thread-safe, and one per process: the library
/// keeps its spelling table in a process-wide singleton. It learns nothing (no user dictionary):
/// the names typed at a counter are members' personal data and stay out of files beside the
/// store's database.
class PinyinEngine {
 public:
  /// Opens the dictionary (about 1 MB read; do it off the UI thread).
  static Result<std::unique_ptr<PinyinEngine>> open(const std::string& dictPath);
  ~PinyinEngine();
  PinyinEngine(const PinyinEngine&) = delete;
  PinyinEngine& operator=(const PinyinEngine&) = delete;

  /// Longest pinyin the engine decodes at once (letters beyond it are not taken).
  static constexpr std::size_t kMaxLetters = 26;

  /// The words for `letters` (lower-case pinyin: full syllables, initials or a mix, e.g.
  /// "zhangsanfeng", "zsf"), best first: whole-input words, then shorter ones for its start.
  /// Answered from the last search when `letters` did not change.
  const std::vector<std::string>& candidates(std::string_view letters);
  /// How many of `letters` candidate `index` stands for ("张" in "zhangsanfeng": 5).
  std::size_t lettersOf(std::string_view letters, std::size_t index);
  /// `letters` split into the syllables the engine reads, with apostrophes ("zhang'san'feng").
  std::string syllables(std::string_view letters);

 private:
  PinyinEngine();
  void search(std::string_view letters);

  std::unique_ptr<ime_pinyin::MatrixSearch> m_search;
  std::string m_letters;  ///< what m_candidates answer
  std::vector<std::string> m_candidates;
};

}  // namespace loyalty::ui
