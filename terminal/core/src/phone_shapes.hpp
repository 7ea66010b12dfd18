#pragma once
/// @brief The shapes of the numbers cashiers meet most, in words (internal to phone.cpp).
///
/// libphonenumber decides which numbers exist; these shapes only word its refusals the way a
/// cashier can act on ("a Chinese mobile number has 11 digits starting with 13 to 19 (got 10
/// digits)"), and keep accepting a number of a familiar shape in a range the installed
/// metadata does not list yet (distributions ship it years old, and refusing a customer's
/// new number at the counter costs more than storing an unallocated one).

#include <optional>
#include <string>
#include <string_view>

#include "loyalty/core/result.hpp"

namespace loyalty::phone_shapes {

/// The national significant number `digits` (what follows the country code as written, a
/// trunk prefix such as 0 included or not) reads as, if it has one of the shapes described for
/// `countryCode`; nullopt otherwise or when no shapes are described for it.
std::optional<std::string> nationalNumber(std::string_view countryCode, std::string_view trunkPrefix,
                                          std::string_view digits);

/// Why `digits` is not a number of `countryCode`, in words a cashier can act on; nullopt when
/// no shapes are described for the country code or the digits have one of them.
std::optional<Error> explainRefusal(std::string_view countryCode, std::string_view trunkPrefix,
                                    std::string_view digits, std::string_view input,
                                    const std::string& field);

/// The name messages use for numbers of `countryCode` ("Chinese"), or "" if none is described.
std::string_view adjective(std::string_view countryCode);

/// Below this, naming the kind of number the digits resemble would be guesswork.
inline constexpr std::size_t kMinNationalDigits = 4;

std::string quoted(std::string_view text);

}  // namespace loyalty::phone_shapes
