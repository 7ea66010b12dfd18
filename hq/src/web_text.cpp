#include "loyalty/hq/web_text.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "loyalty/hq/number_format.hpp"

namespace loyalty::hq {

std::string htmlEscape(std::string_view text) {
  std::string o;
  o.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string urlEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string o;
  o.reserve(value.size());
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~') {
      o += ch;
    } else {
      o += '%';
      o += kHex[c >> 4];
      o += kHex[c & 0x0f];
    }
  }
  return o;
}

nlohmann::json pageLinks(const std::function<std::string(std::int64_t offset)>& href, std::int64_t offset, std::int64_t shownRows,
                         std::int64_t total, std::int64_t size) {
  using nlohmann::json;
  return {{"shown", shownRows},
          {"any", shownRows > 0},
          {"total", shownNumber(total)},
          {"first", shownNumber(shownRows == 0 ? 0 : offset + 1)},
          {"last", shownNumber(shownRows == 0 ? 0 : offset + shownRows)},
          {"prev", offset > 0 ? json(href(std::max<std::int64_t>(0, offset - size))) : json(false)},
          {"next", offset + shownRows < total ? json(href(offset + size)) : json(false)}};
}

}  // namespace loyalty::hq
