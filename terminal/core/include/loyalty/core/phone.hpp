#pragma once
/// @brief Phone numbers: normalisation to E.164 by region, validation, masking for staff.

#include <string>
#include <string_view>

#include "loyalty/core/result.hpp"

namespace loyalty {

/// Normalises a phone number as people write it ("138 1234 5678", "(020) 7946-0958",
/// "+44 20 7946 0958", "0086 138...") to E.164 ("+8613812345678").
/// Numbers without '+' (or an international prefix such as 00) are read in `defaultRegion`
/// (ISO 3166-1 alpha-2, e.g. "CN"); numbers with '+' are accepted for any supported country
/// whose numbering plan they fit (libphonenumber's metadata; premium-rate and voicemail numbers
/// are not a customer's phone). Anything else is refused with invalid_argument on `field`, in
/// words a cashier can act on.
Result<std::string> normalizePhone(std::string_view input, std::string_view defaultRegion,
                                   std::string_view field = "phone");

/// True if `region` is a region libphonenumber has a numbering plan for (any case).
bool isSupportedRegion(std::string_view region);

/// The region (ISO alpha-2) of a normalised E.164 number, or "" if unknown.
std::string phoneRegion(std::string_view e164);

/// For staff who may not see full numbers: the national number with its middle hidden,
/// "138****5678" for "+8613812345678" when homeRegion is "CN"; numbers of other regions keep
/// their country code: "+44 770***0123" (first 3 and last 4 digits shown).
std::string maskPhone(std::string_view e164, std::string_view homeRegion);

}  // namespace loyalty
