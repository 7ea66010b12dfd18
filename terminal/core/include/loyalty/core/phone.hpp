#pragma once
/// @brief Phone numbers: normalisation to E.164 by region, validation, masking for staff.

#include <optional>
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

/// The E.164 form `input` has if it is a whole phone number typed as people do ('+' or "00" and
/// the country code, or a national number with or without the trunk prefix), read off its
/// digits without validating it: for finding a stored (hence validated) number fast. nullopt
/// when the digits cannot form an E.164 number (fewer than 4 after the country code, more than
/// 15 in all). A number this does not map as normalizePhone would simply finds no member here;
/// callers fall back to normalizePhone.
std::optional<std::string> phoneLookupKey(std::string_view input, std::string_view homeRegion);

/// Whether `e164` ('+' and digits) has a length its country's numbering plan allows: a cheap
/// first check (no parse) before normalizePhone where most inputs are not phones.
bool possiblePhone(std::string_view e164);

/// True if `region` is a region libphonenumber has a numbering plan for (any case).
bool isSupportedRegion(std::string_view region);

/// The region (ISO alpha-2) of a normalised E.164 number, or "" if unknown.
std::string phoneRegion(std::string_view e164);

/// For staff who may not see full numbers: the national number with its middle hidden,
/// "138****5678" for "+8613812345678" when homeRegion is "CN"; numbers of other regions keep
/// their country code: "+44 770***0123" (first 3 and last 4 digits shown).
std::string maskPhone(std::string_view e164, std::string_view homeRegion);

}  // namespace loyalty
