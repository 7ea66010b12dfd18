#include "loyalty/core/text.hpp"

#include <cstdint>

namespace loyalty {
namespace {

/// Decodes one code point at `i`; returns false on malformed input.
bool decode(std::string_view s, std::size_t& i, char32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  int extra = 0;
  char32_t min = 0;
  if (b0 < 0x80) {
    cp = b0;
    ++i;
    return true;
  } else if ((b0 & 0xE0) == 0xC0) {
    extra = 1, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    extra = 2, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    extra = 3, cp = b0 & 0x07, min = 0x10000;
  } else {
    return false;
  }
  if (i + static_cast<std::size_t>(extra) >= s.size()) return false;
  for (int k = 1; k <= extra; ++k) {
    const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
    if ((b & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  i += static_cast<std::size_t>(extra) + 1;
  return true;
}

void encode(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::vector<char32_t> codePoints(std::string_view s) {
  std::vector<char32_t> cps;
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    if (!decode(s, i, cp)) break;
    cps.push_back(cp);
  }
  return cps;
}

bool isHan(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2FA1F) || (cp >= 0xF900 && cp <= 0xFAFF);
}

bool isSpace(char32_t cp) {
  return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == 0x3000 || cp == 0xA0;
}

}  // namespace

bool isValidUtf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    if (!decode(s, i, cp)) return false;
  }
  return true;
}

std::size_t utf8Length(std::string_view s) { return codePoints(s).size(); }

std::vector<char32_t> utf8CodePoints(std::string_view s) { return codePoints(s); }

std::string normalizeName(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  bool pendingSpace = false;
  for (char32_t cp : codePoints(name)) {
    if (isSpace(cp)) {
      pendingSpace = !out.empty();
      continue;
    }
    if (cp >= 0xFF01 && cp <= 0xFF5E) cp = cp - 0xFF01 + 0x21;  // full-width ASCII
    if (cp >= 'A' && cp <= 'Z') cp = cp - 'A' + 'a';
    if (pendingSpace) out += ' ';
    pendingSpace = false;
    encode(cp, out);
  }
  return out;
}

std::vector<std::string> nameSearchKeys(std::string_view normalizedName) {
  std::vector<std::string> keys;
  if (normalizedName.empty()) return keys;
  keys.emplace_back(normalizedName);
  const std::vector<char32_t> cps = codePoints(normalizedName);
  bool allHan = true;
  for (char32_t cp : cps) allHan = allHan && isHan(cp);
  if (allHan) {
    // Chinese names have no spaces: let the given name (and later parts, for two-character
    // surnames such as 欧阳) be searched on its own.
    for (std::size_t start = 1; start + 2 <= cps.size(); ++start) {
      std::string key;
      for (std::size_t k = start; k < cps.size(); ++k) encode(cps[k], key);
      keys.push_back(std::move(key));
    }
    return keys;
  }
  for (std::size_t pos = normalizedName.find(' '); pos != std::string_view::npos;
       pos = normalizedName.find(' ', pos + 1)) {
    keys.emplace_back(normalizedName.substr(pos + 1));
  }
  return keys;
}

std::string prefixUpperBound(std::string_view prefix) {
  // Every well-formed UTF-8 continuation of `prefix` starts with a byte <= 0xF4 and, after
  // 0xF4, a byte <= 0x8F; so prefix + F4 90 bounds them all.
  return std::string(prefix) + "\xF4\x90";
}

std::string digitsOf(std::string_view s) {
  std::string d;
  for (char c : s) {
    if (c >= '0' && c <= '9') d += c;
  }
  return d;
}

bool looksLikeNumber(std::string_view s) {
  bool anyDigit = false;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      anyDigit = true;
    } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')' && c != '+') {
      return false;
    }
  }
  return anyDigit;
}

std::string_view trim(std::string_view s) {
  const auto isWs = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && isWs(s.front())) s.remove_prefix(1);
  while (!s.empty() && isWs(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace loyalty
