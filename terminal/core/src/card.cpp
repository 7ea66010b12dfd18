#include "loyalty/core/card.hpp"

#include "loyalty/core/text.hpp"

namespace loyalty {
namespace {
constexpr std::string_view kQrPrefix = "LOYALTY:M1:";
}

char luhnCheckDigit(std::string_view payload) {
  int sum = 0;
  bool doubleIt = true;  // the digit left of the check digit is doubled
  for (auto it = payload.rbegin(); it != payload.rend(); ++it) {
    int d = *it - '0';
    if (doubleIt) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    doubleIt = !doubleIt;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

bool luhnValid(std::string_view number) {
  if (number.size() < 2) return false;
  for (char c : number) {
    if (c < '0' || c > '9') return false;
  }
  return luhnCheckDigit(number.substr(0, number.size() - 1)) == number.back();
}

Result<std::string> parseCardNumber(std::string_view input, std::string_view field) {
  const std::string f(field);
  for (char c : input) {
    if (!((c >= '0' && c <= '9') || c == ' ' || c == '-')) {
      return invalidArgument(f, "a card number has only digits");
    }
  }
  const std::string digits = digitsOf(input);
  if (digits.size() < 12 || digits.size() > 19) {
    return invalidArgument(f, "a card number has 12 to 19 digits (got " +
                                  std::to_string(digits.size()) + ")");
  }
  if (!luhnValid(digits)) {
    return invalidArgument(f, "card number " + digits + " fails its check digit: mistyped?");
  }
  return digits;
}

std::string issueCardNumber(std::uint64_t random) {
  const std::string digits = std::to_string(random % 100'000'000'000'000ULL);
  const std::string body = "8" + std::string(14 - digits.size(), '0') + digits;
  return body + luhnCheckDigit(body);
}

std::string memberQrPayload(std::string_view cardNo) { return std::string(kQrPrefix) + std::string(cardNo); }

std::optional<std::string> cardFromQrPayload(std::string_view payload) {
  payload = trim(payload);
  if (!payload.starts_with(kQrPrefix)) return std::nullopt;
  const std::string_view card = payload.substr(kQrPrefix.size());
  if (card.size() < 12 || card.size() > 19 || !luhnValid(card)) return std::nullopt;
  return std::string(card);
}

}  // namespace loyalty
