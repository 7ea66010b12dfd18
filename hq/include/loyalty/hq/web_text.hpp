#pragma once
/// @brief Text that goes into the dashboard's HTML and into URLs, encoded in one place: every
/// value a page or a redirect shows or links to goes through these.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace loyalty::hq {

/// Escapes text for HTML content and for quoted attribute values (& < > " ').
std::string htmlEscape(std::string_view text);

/// Percent-encodes one path segment or one query value: every byte but A-Z a-z 0-9 - . _ ~
/// (so "/", "?", "#", "&", quotes and spaces cannot change where a link or a form goes).
std::string urlEncode(std::string_view value);

/// Where a page of a list is and the links around it, for a template: {"shown" (rows on it), "any"
/// (whether it has any: a template shows "showing a–b of n" inside {{#any}}),
/// "first", "last", "total" (as shown: "1,201"), "prev", "next" (`href` of the offset, or false
/// at either end)}; first and last 0 on a page without rows (past the end). `size`: rows a page
/// holds; `shownRows`: on this one.
nlohmann::json pageLinks(const std::function<std::string(std::int64_t offset)>& href, std::int64_t offset, std::int64_t shownRows,
                         std::int64_t total, std::int64_t size);

}  // namespace loyalty::hq
