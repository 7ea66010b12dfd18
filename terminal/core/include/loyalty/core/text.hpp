#pragma once
/// @brief Text helpers for member names and search: UTF-8 checks, normalisation, search keys.

#include <string>
#include <string_view>
#include <vector>

namespace loyalty {

/// True if `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool isValidUtf8(std::string_view s);

/// Number of code points in well-formed UTF-8.
std::size_t utf8Length(std::string_view s);

/// The code points of UTF-8 text, up to the first malformed byte.
std::vector<char32_t> utf8CodePoints(std::string_view s);

/// The form names are compared in: trimmed, inner white space folded to one space, full-width
/// ASCII (Ａ, ０, ideographic space) folded to ASCII, ASCII letters lower-cased.
std::string normalizeName(std::string_view name);

/// Keys under which a member is found by name prefix (all normalised): the whole name, every
/// later word ("john smith" -> "smith"), and for Chinese-style names the given name without a
/// one-character surname and every later suffix of 2+ characters ("王小明" -> "小明").
std::vector<std::string> nameSearchKeys(std::string_view normalizedName);

/// A string greater than every string that starts with `prefix` and no other, so
/// `key >= prefix AND key < prefixUpperBound(prefix)` is an index range scan in SQLite.
std::string prefixUpperBound(std::string_view prefix);

/// The ASCII digits of `s` in order.
std::string digitsOf(std::string_view s);

/// True if `s` is non-empty and has only digits and the separators people type between them
/// (space, '-', '.', '(', ')', '+').
bool looksLikeNumber(std::string_view s);

/// `s` with leading and trailing ASCII white space removed.
std::string_view trim(std::string_view s);

}  // namespace loyalty
