#pragma once
/// @brief Member card numbers (digits with a Luhn check digit) and the member QR payload.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "loyalty/core/result.hpp"

namespace loyalty {

/// The Luhn check digit for `payload` (digits only).
char luhnCheckDigit(std::string_view payload);

/// True if `number` is all digits and its last digit is the Luhn check digit of the rest.
bool luhnValid(std::string_view number);

/// Accepts "8123 4567 8901 2345" or with dashes; 12 to 19 digits with a valid check digit.
Result<std::string> parseCardNumber(std::string_view input, std::string_view field);

/// A new 16-digit card number "8" + 14 digits from `random` + check digit. Uniqueness is the
/// store's job (it retries on a clash); randomness keeps offline terminals from colliding.
std::string issueCardNumber(std::uint64_t random);

/// What the member QR code encodes: "LOYALTY:M1:" followed by the card number.
std::string memberQrPayload(std::string_view cardNo);

/// The card number inside a member QR payload, if `payload` is one (and its card is valid).
std::optional<std::string> cardFromQrPayload(std::string_view payload);

}  // namespace loyalty
