#include "loyalty/hq/number_format.hpp"

#include <cstdio>

namespace loyalty::hq {

std::string groupThousands(std::string_view plain) {
  std::size_t start = (!plain.empty() && (plain[0] == '-' || plain[0] == '+')) ? 1 : 0;
  const std::size_t dot = plain.find('.');
  const std::size_t intEnd = dot == std::string_view::npos ? plain.size() : dot;
  if (intEnd <= start) return std::string(plain);
  for (std::size_t i = start; i < plain.size(); ++i) {
    const char c = plain[i];
    if (!(c >= '0' && c <= '9') && !(i == dot)) return std::string(plain);
  }
  std::string out(plain.substr(0, start));
  const std::size_t digits = intEnd - start;
  for (std::size_t i = 0; i < digits; ++i) {
    if (i > 0 && (digits - i) % 3 == 0) out += ',';
    out += plain[start + i];
  }
  out += plain.substr(intEnd);
  return out;
}

namespace {

std::string plainText(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number_float()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f", v.get<double>());
    std::string s = buf;
    // Keep what the report gave (one decimal stays one decimal): trim trailing zeros, not the point's last digit.
    while (s.size() > 1 && s.back() == '0' && s.find('.') != std::string::npos && s[s.size() - 2] != '.') s.pop_back();
    return s;
  }
  return v.dump();
}

}  // namespace

std::string shownNumber(const nlohmann::json& v) {
  if (v.is_null()) return "—";
  return groupThousands(plainText(v));
}

std::string shownMoney(const nlohmann::json& v) {
  if (v.is_null()) return "—";
  const std::string s = groupThousands(plainText(v));
  if (!s.empty() && s[0] == '-') return "-¥" + s.substr(1);
  return "¥" + s;
}

}  // namespace loyalty::hq
