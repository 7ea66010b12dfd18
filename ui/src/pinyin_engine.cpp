#include "loyalty/ui/pinyin_engine.hpp"

#include <matrixsearch.h>

#include <algorithm>
#include <cstdlib>
#include <sys/stat.h>

namespace loyalty::ui {

namespace {

/// The engine's UTF-16 words as UTF-8.
std::string utf8Of(const ime_pinyin::char16* s) {
  std::string out;
  for (; *s; ++s) {
    char32_t c = *s;
    if (c >= 0xD800 && c <= 0xDBFF && s[1] >= 0xDC00 && s[1] <= 0xDFFF) {
      c = 0x10000 + ((c - 0xD800) << 10) + (static_cast<char32_t>(s[1]) - 0xDC00);
      ++s;
    }
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xE0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

/// What the engine is given: lower-case letters, at most kMaxLetters of them.
std::string spelling(std::string_view letters) {
  std::string out;
  for (const char c : letters.substr(0, PinyinEngine::kMaxLetters)) {
    if (c >= 'a' && c <= 'z') {
      out += c;
    } else if (c >= 'A' && c <= 'Z') {
      out += static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

}  // namespace

std::string defaultPinyinDictPath() {
  if (const char* env = std::getenv("LOYALTY_PINYIN_DICT"); env && *env) return env;
  return LOYALTY_PINYIN_DICT;
}

PinyinEngine::PinyinEngine() : m_search(std::make_unique<ime_pinyin::MatrixSearch>()) {}

PinyinEngine::~PinyinEngine() {
  if (m_search) m_search->close();
}

Result<std::unique_ptr<PinyinEngine>> PinyinEngine::open(const std::string& dictPath) {
  struct stat st {};
  if (::stat(dictPath.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Error{errc::kNotFound, "pinyin_dictionary",
                 "no pinyin dictionary at " + dictPath + " (package libgooglepinyin0)"};
  }
  std::unique_ptr<PinyinEngine> engine(new PinyinEngine());
  // An empty user dictionary name: the engine runs without one (it learns nothing; see the class).
  if (!engine->m_search->init(dictPath.c_str(), "")) {
    return Error{errc::kInvalidArgument, "pinyin_dictionary", "not a pinyin dictionary: " + dictPath};
  }
  engine->m_search->set_max_lens(kMaxLetters, kMaxLetters);
  return engine;
}

void PinyinEngine::search(std::string_view letters) {
  m_search->reset_search();
  m_search->search(letters.data(), letters.size());
}

const std::vector<std::string>& PinyinEngine::candidates(std::string_view letters) {
  const std::string s = spelling(letters);
  if (s == m_letters && !m_candidates.empty()) return m_candidates;
  m_letters = s;
  m_candidates.clear();
  if (s.empty()) return m_candidates;
  search(s);
  ime_pinyin::char16 word[kMaxLetters + 1];  // the whole-input sentence is the longest
  const std::size_t n = m_search->get_candidate_num();
  for (std::size_t i = 0; i < n; ++i) {
    if (!m_search->get_candidate(i, word, std::size(word))) break;
    std::string w = utf8Of(word);
    if (!w.empty()) m_candidates.push_back(std::move(w));
  }
  return m_candidates;
}

std::size_t PinyinEngine::lettersOf(std::string_view letters, std::size_t index) {
  const std::string s = spelling(letters);
  if (candidates(s).size() <= index) return 0;
  m_search->choose(index);
  const ime_pinyin::uint16* starts = nullptr;
  const std::size_t syllables = m_search->get_spl_start(starts);
  const std::size_t fixed = std::min(m_search->get_fixedlen(), syllables);
  const std::size_t covered = starts ? starts[fixed] : s.size();
  m_letters.clear();  // the decoder moved on with the choice: the next question searches afresh
  m_candidates.clear();
  return std::min<std::size_t>(covered, s.size());
}

std::string PinyinEngine::syllables(std::string_view letters) {
  const std::string s = spelling(letters);
  if (s.empty()) return {};
  candidates(s);
  const ime_pinyin::uint16* starts = nullptr;
  const std::size_t n = m_search->get_spl_start(starts);
  if (!starts || n == 0) return s;
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    if (i) out += '\'';
    out += s.substr(starts[i], starts[i + 1] - starts[i]);
  }
  if (starts[n] < s.size()) out += s.substr(starts[n]);
  return out;
}

}  // namespace loyalty::ui
