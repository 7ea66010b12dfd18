#pragma once
/// @brief Text that goes into the dashboard's HTML and into URLs, encoded in one place: every
/// value a page or a redirect shows or links to goes through these.

#include <string>
#include <string_view>

namespace loyalty::hq {

/// Escapes text for HTML content and for quoted attribute values (& < > " ').
std::string htmlEscape(std::string_view text);

/// Percent-encodes one path segment or one query value: every byte but A-Z a-z 0-9 - . _ ~
/// (so "/", "?", "#", "&", quotes and spaces cannot change where a link or a form goes).
std::string urlEncode(std::string_view value);

}  // namespace loyalty::hq
