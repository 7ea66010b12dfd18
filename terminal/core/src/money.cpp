#include "loyalty/core/money.hpp"

#include <cstdlib>

namespace loyalty {
namespace {

// 128-bit intermediates keep qty × price and amount × ratio exact; __extension__ tells
// -Wpedantic that the non-standard type is intended.
__extension__ typedef __int128 Int128;

/// Parses a plain decimal with at most `maxDecimals` fractional digits into an integer scaled
/// by 10^scale. Returns an error naming `field`.
Result<std::int64_t> parseScaled(std::string_view text, std::string_view field, int maxDecimals,
                                 int scale, std::int64_t maxAbs) {
  const std::string f(field);
  if (text.empty()) return invalidArgument(f, f + " is empty; write an amount such as \"12.50\"");
  std::size_t i = 0;
  bool negative = false;
  if (text[0] == '-' || text[0] == '+') {
    negative = text[0] == '-';
    i = 1;
  }
  std::int64_t whole = 0;
  int wholeDigits = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (++wholeDigits > 15) return invalidArgument(f, f + " is too large");
    whole = whole * 10 + (text[i] - '0');
  }
  std::int64_t frac = 0;
  int fracDigits = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      if (++fracDigits > maxDecimals) {
        return invalidArgument(f, f + " has more than " + std::to_string(maxDecimals) +
                                      " decimals: \"" + std::string(text) + "\"");
      }
      frac = frac * 10 + (text[i] - '0');
    }
    if (fracDigits == 0) {
      return invalidArgument(f, f + " needs digits after the decimal point: \"" +
                                    std::string(text) + "\"");
    }
  }
  if (i != text.size() || wholeDigits == 0) {
    return invalidArgument(f, f + " is not a decimal amount: \"" + std::string(text) + "\"");
  }
  for (int d = fracDigits; d < scale; ++d) frac *= 10;
  std::int64_t scaleFactor = 1;
  for (int d = 0; d < scale; ++d) scaleFactor *= 10;
  const Int128 value = static_cast<Int128>(whole) * scaleFactor + frac;
  if (value > maxAbs) return invalidArgument(f, f + " is too large: \"" + std::string(text) + "\"");
  const auto v = static_cast<std::int64_t>(value);
  return negative ? -v : v;
}

std::string formatScaled(std::int64_t value, int scale, int minDecimals) {
  std::string sign = value < 0 ? "-" : "";
  // Unsigned magnitude: safe for INT64_MIN too.
  const std::uint64_t mag =
      value < 0 ? std::uint64_t(0) - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
  std::uint64_t factor = 1;
  for (int d = 0; d < scale; ++d) factor *= 10;
  std::string frac = std::to_string(mag % factor);
  frac.insert(0, static_cast<std::size_t>(scale) - frac.size(), '0');
  while (static_cast<int>(frac.size()) > minDecimals && frac.back() == '0') frac.pop_back();
  return sign + std::to_string(mag / factor) + (frac.empty() ? "" : "." + frac);
}

std::int64_t roundHalfAwayFromZero(Int128 numerator, Int128 denominator) {
  const bool negative = (numerator < 0) != (denominator < 0);
  if (numerator < 0) numerator = -numerator;
  if (denominator < 0) denominator = -denominator;
  Int128 q = (numerator * 2 + denominator) / (denominator * 2);
  return static_cast<std::int64_t>(negative ? -q : q);
}

}  // namespace

Result<Money> Money::parse(std::string_view text, std::string_view field) {
  auto v = parseScaled(text, field, 2, 2, kMaxAbsMinor);
  if (!v) return v.error();
  return Money(*v);
}

std::string Money::toString() const { return formatScaled(m_minor, 2, 2); }

Result<UnitPrice> UnitPrice::parse(std::string_view text, std::string_view field) {
  auto v = parseScaled(text, field, 4, 4, kMaxAbsMinor * 100);
  if (!v) return v.error();
  return UnitPrice(*v);
}

std::string UnitPrice::toString() const { return formatScaled(m_value, 4, 2); }

Result<Money> lineAmount(std::int64_t qty, UnitPrice price, std::string_view field) {
  const Int128 product = static_cast<Int128>(qty) * price.tenThousandths();
  const std::int64_t minor = roundHalfAwayFromZero(product, 100);
  if (minor > kMaxAbsMinor || minor < -kMaxAbsMinor) {
    return invalidArgument(std::string(field), "line amount (qty × unit_price) is too large");
  }
  return Money::fromMinor(minor);
}

std::int64_t mulDivRound(std::int64_t amount, std::int64_t numerator, std::int64_t denominator) {
  return roundHalfAwayFromZero(static_cast<Int128>(amount) * numerator, denominator);
}

std::int64_t mulDivFloor(std::int64_t amount, std::int64_t numerator, std::int64_t denominator) {
  const Int128 p = static_cast<Int128>(amount) * numerator;
  Int128 q = p / denominator;
  if ((p % denominator != 0) && ((p < 0) != (denominator < 0))) --q;
  return static_cast<std::int64_t>(q);
}

}  // namespace loyalty
