#pragma once
/// @brief Exact money: Money in integer minor units, UnitPrice in 1/10000, decimal strings.

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "loyalty/core/result.hpp"

namespace loyalty {

/// An amount of money in minor units (分, pence). Never floating point.
class Money {
 public:
  constexpr Money() = default;
  static constexpr Money fromMinor(std::int64_t minor) { return Money(minor); }

  /// Parses "12.50", "-3", "0.5" (at most 2 decimals, optional leading '-', no exponent, no
  /// spaces, no thousands separators). `field` names the input in the error.
  static Result<Money> parse(std::string_view text, std::string_view field);

  constexpr std::int64_t minor() const { return m_minor; }
  /// "12.50", "-0.05", "0.00".
  std::string toString() const;

  constexpr Money operator+(Money o) const { return Money(m_minor + o.m_minor); }
  constexpr Money operator-(Money o) const { return Money(m_minor - o.m_minor); }
  constexpr Money operator-() const { return Money(-m_minor); }
  constexpr Money& operator+=(Money o) { m_minor += o.m_minor; return *this; }
  constexpr Money& operator-=(Money o) { m_minor -= o.m_minor; return *this; }
  constexpr auto operator<=>(const Money&) const = default;

 private:
  constexpr explicit Money(std::int64_t minor) : m_minor(minor) {}
  std::int64_t m_minor = 0;
};

/// A unit price in 1/10000 of the currency unit (at most 4 decimals, may be negative).
class UnitPrice {
 public:
  constexpr UnitPrice() = default;
  static constexpr UnitPrice fromTenThousandths(std::int64_t v) { return UnitPrice(v); }
  static Result<UnitPrice> parse(std::string_view text, std::string_view field);

  constexpr std::int64_t tenThousandths() const { return m_value; }
  /// Shortest form with at least 2 decimals: "2.55", "0.001" -> "0.001", "25" -> "25.00".
  std::string toString() const;
  constexpr auto operator<=>(const UnitPrice&) const = default;

 private:
  constexpr explicit UnitPrice(std::int64_t v) : m_value(v) {}
  std::int64_t m_value = 0;
};

/// qty × unit_price rounded half away from zero to minor units; refused on overflow.
Result<Money> lineAmount(std::int64_t qty, UnitPrice price, std::string_view field);

/// round(amount × numerator / denominator) half away from zero, exact (128-bit intermediate).
/// denominator must be positive.
std::int64_t mulDivRound(std::int64_t amount, std::int64_t numerator, std::int64_t denominator);

/// floor(amount × numerator / denominator), exact (128-bit intermediate). denominator > 0.
std::int64_t mulDivFloor(std::int64_t amount, std::int64_t numerator, std::int64_t denominator);

/// Largest absolute amount accepted anywhere (10^13 minor units, 100 billion): far above any
/// real sale, far below int64 overflow when summed.
inline constexpr std::int64_t kMaxAbsMinor = 10'000'000'000'000;

}  // namespace loyalty
