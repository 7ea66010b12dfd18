#include "loyalty/core/phone.hpp"

#include <phonenumbers/logger.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <bitset>
#include <cstddef>
#include <optional>
#include <set>
#include <utility>

#include "phone_shapes.hpp"

namespace loyalty {
namespace {

namespace pn = i18n::phonenumbers;
using phone_shapes::quoted;

// [SECTION] libphonenumber
//
// libphonenumber's metadata decides which countries, prefixes and numbers exist; phone_shapes
// words its refusals for the numbers cashiers meet most.

const pn::PhoneNumberUtil& numbers() {
  static const pn::PhoneNumberUtil* const util = [] {
    pn::PhoneNumberUtil* instance = pn::PhoneNumberUtil::GetInstance();
    // It would log parse failures of customers' input to stderr; ours are values.
    instance->SetLogger(new pn::NullLogger());
    return instance;
  }();
  return *util;
}

/// Premium-rate lines and voicemail access numbers are never a customer's phone.
bool isCustomerReachable(pn::PhoneNumberUtil::PhoneNumberType type) {
  return type != pn::PhoneNumberUtil::PREMIUM_RATE && type != pn::PhoneNumberUtil::VOICEMAIL &&
         type != pn::PhoneNumberUtil::UNKNOWN;
}

std::string e164Of(const pn::PhoneNumber& number) {
  std::string text;
  numbers().Format(number, pn::PhoneNumberUtil::E164, &text);
  return text;
}

std::string nationalSignificantNumber(const pn::PhoneNumber& number) {
  std::string nsn;
  numbers().GetNationalSignificantNumber(number, &nsn);
  return nsn;
}

/// The trunk prefix dialled before national numbers of `countryCode` ("0"), "" if none.
std::string trunkPrefix(int countryCode) {
  std::string region;
  numbers().GetRegionCodeForCountryCode(countryCode, &region);
  std::string prefix;
  numbers().GetNddPrefixForRegion(region, /*strip_non_digits=*/true, &prefix);
  return prefix;
}

std::optional<pn::PhoneNumber> parseE164(const std::string& text) {
  pn::PhoneNumber number;
  if (numbers().Parse(text, "ZZ", &number) != pn::PhoneNumberUtil::NO_PARSING_ERROR) return std::nullopt;
  return number;
}

// [SECTION] Small text helpers

/// E.164 caps a number at 15 digits; anything much longer is not worth echoing to a cashier.
constexpr std::size_t kMaxInputLength = 64;

bool isDigit(char c) { return c >= '0' && c <= '9'; }

std::string upperAscii(std::string_view text) {
  std::string upper(text);
  for (char& c : upper) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return upper;
}

std::string digitsOnly(std::string_view text) {
  std::string digits;
  for (char c : text) {
    if (isDigit(c)) digits += c;
  }
  return digits;
}

// [SECTION] Deciding and explaining

/// A number as read: libphonenumber's parse (if it parsed) and the digits written after the
/// country code, which is what an explanation talks about.
struct Candidate {
  std::optional<pn::PhoneNumber> number;
  std::string countryCode;
  std::string nationalDigits;
};

/// The E.164 form of `candidate` if it is a number a customer can have: valid in
/// libphonenumber's metadata, or of a familiar shape in a range the metadata does not list
/// (phone_shapes.hpp says why) and of a length the country uses.
std::optional<std::string> acceptedForm(const Candidate& candidate) {
  if (!candidate.number) return std::nullopt;
  const pn::PhoneNumber& number = *candidate.number;
  if (numbers().IsValidNumber(number)) {
    if (!isCustomerReachable(numbers().GetNumberType(number))) return std::nullopt;
    return e164Of(number);
  }
  const auto nsn = phone_shapes::nationalNumber(candidate.countryCode, trunkPrefix(number.country_code()),
                                                candidate.nationalDigits);
  if (!nsn) return std::nullopt;
  const std::string e164 = "+" + candidate.countryCode + *nsn;
  const auto reparsed = parseE164(e164);
  if (!reparsed || !numbers().IsPossibleNumber(*reparsed)) return std::nullopt;
  return e164;
}

std::string regionOfCountryCode(int countryCode) {
  std::string region;
  numbers().GetRegionCodeForCountryCode(countryCode, &region);
  return region;
}

/// For numbers phone_shapes does not explain: what libphonenumber can tell.
Error explainFromMetadata(const Candidate& candidate, std::string_view input, const std::string& field) {
  const std::string region = regionOfCountryCode(candidate.number->country_code());
  const pn::PhoneNumber& number = *candidate.number;
  if (numbers().IsValidNumber(number)) {
    return invalidArgument(
        field, field + ": " + quoted(input) + " is a premium-rate or service number, not a customer's phone");
  }
  std::string text = field + ": " + quoted(input) + " is not a valid phone number of region " + region;
  auto reason = numbers().IsPossibleNumberWithReason(number);
  const char* kind = "";
  if (reason == pn::PhoneNumberUtil::IS_POSSIBLE) {
    // The length fits some kind of number there; say how it misses the everyday kind.
    reason = numbers().IsPossibleNumberForTypeWithReason(number, pn::PhoneNumberUtil::MOBILE);
    kind = " for a mobile number";
  }
  switch (reason) {
    case pn::PhoneNumberUtil::TOO_SHORT:
      text += std::string(" (too short") + kind + ")";
      break;
    case pn::PhoneNumberUtil::TOO_LONG:
      text += std::string(" (too long") + kind + ")";
      break;
    case pn::PhoneNumberUtil::INVALID_LENGTH:
      text += std::string(" (wrong number of digits") + kind + ")";
      break;
    default:
      break;
  }
  pn::PhoneNumber example;
  if (numbers().GetExampleNumberForType(region, pn::PhoneNumberUtil::MOBILE, &example)) {
    std::string formatted;
    numbers().Format(example, pn::PhoneNumberUtil::INTERNATIONAL, &formatted);
    text += "; a mobile number there looks like " + formatted;
  }
  return invalidArgument(field, text);
}

Error explainRefusal(const Candidate& candidate, std::string_view input, const std::string& field) {
  if (candidate.nationalDigits.size() < phone_shapes::kMinNationalDigits || !candidate.number) {
    return invalidArgument(field, field + ": " + quoted(input) + " is too short for a phone number");
  }
  const std::string trunk = trunkPrefix(candidate.number->country_code());
  if (auto shaped = phone_shapes::explainRefusal(candidate.countryCode, trunk, candidate.nationalDigits,
                                                 input, field)) {
    return *shaped;
  }
  return explainFromMetadata(candidate, input, field);
}

Result<std::string> decide(const Candidate& candidate, std::string_view input, const std::string& field) {
  if (auto e164 = acceptedForm(candidate)) return *e164;
  return explainRefusal(candidate, input, field);
}

// [SECTION] Reading what was typed

struct DialString {
  bool hasPlus = false;
  std::string digits;
};

/// Chinese input methods readily produce full-width digits and punctuation; they mean the
/// same as their ASCII forms.
struct WideCharacter {
  std::string_view utf8;
  char ascii;
};

constexpr WideCharacter kWideCharacters[] = {
    {"\xEF\xBC\x90", '0'}, {"\xEF\xBC\x91", '1'}, {"\xEF\xBC\x92", '2'}, {"\xEF\xBC\x93", '3'},
    {"\xEF\xBC\x94", '4'}, {"\xEF\xBC\x95", '5'}, {"\xEF\xBC\x96", '6'}, {"\xEF\xBC\x97", '7'},
    {"\xEF\xBC\x98", '8'}, {"\xEF\xBC\x99", '9'}, {"\xEF\xBC\x8B", '+'}, {"\xEF\xBC\x8D", '-'},
    {"\xEF\xBC\x88", '('}, {"\xEF\xBC\x89", ')'}, {"\xEF\xBC\x8E", '.'}, {"\xE3\x80\x80", ' '},
    {"\xC2\xA0", ' '},     {"\xE2\x80\x93", '-'},
};

bool isSeparator(char c) {
  return c == ' ' || c == '\t' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/';
}

bool isAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/// Our own reading of the input before libphonenumber sees it: it would take letters as a
/// vanity number ("1-800-FLOWERS") or an extension ("ext 12"), which a cashier did not mean.
Result<DialString> readDialString(std::string_view input, const std::string& field) {
  if (input.size() > kMaxInputLength) {
    return invalidArgument(field, field + ": too long for a phone number");
  }
  DialString dial;
  for (std::size_t pos = 0; pos < input.size();) {
    char c = input[pos];
    std::size_t width = 1;
    if (static_cast<unsigned char>(c) >= 0x80) {
      c = '\0';
      for (const WideCharacter& wide : kWideCharacters) {
        if (input.substr(pos).starts_with(wide.utf8)) {
          c = wide.ascii;
          width = wide.utf8.size();
          break;
        }
      }
      if (c == '\0') {
        return invalidArgument(
            field, field + ": " + quoted(input) + " contains characters that are not part of a phone number");
      }
    }
    pos += width;
    if (isDigit(c)) {
      dial.digits += c;
    } else if (c == '+') {
      if (dial.hasPlus || !dial.digits.empty()) {
        return invalidArgument(field,
                               field + ": '+' may only come once, before the country code: " + quoted(input));
      }
      dial.hasPlus = true;
    } else if (isAsciiLetter(c)) {
      return invalidArgument(field, field + ": letters are not allowed in a phone number: " + quoted(input));
    } else if (!isSeparator(c)) {
      return invalidArgument(field, field + ": " + quoted(input) + " contains '" + std::string(1, c) +
                                        "', which is not part of a phone number");
    }
  }
  if (dial.digits.empty()) {
    const bool blank = !dial.hasPlus && input.find_first_not_of(" \t") == std::string_view::npos;
    return invalidArgument(field, blank ? field + ": the phone number is empty"
                                        : field + ": " + quoted(input) + " has no digits");
  }
  return dial;
}

/// Digits after '+' or an international prefix: country code, then the national number.
Result<std::string> readInternational(std::string_view digits, std::string_view input,
                                      const std::string& field) {
  pn::PhoneNumber number;
  const auto error = numbers().Parse("+" + std::string(digits), "ZZ", &number);
  if (error == pn::PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR) {
    return invalidArgument(
        field, field + ": " + quoted(input) + " does not start with a country code this system supports");
  }
  if (error == pn::PhoneNumberUtil::TOO_LONG_NSN) {
    return invalidArgument(field, field + ": " + quoted(input) + " is too long for a phone number");
  }
  if (error != pn::PhoneNumberUtil::NO_PARSING_ERROR) {
    return invalidArgument(field, field + ": " + quoted(input) + " is too short for a phone number");
  }
  const std::string countryCode = std::to_string(number.country_code());
  return decide({number, countryCode, std::string(digits.substr(countryCode.size()))}, input, field);
}

/// A number written without '+' or an international prefix: read in the home region.
Result<std::string> readNational(int homeCountryCode, std::string_view digits, std::string_view input,
                                 const std::string& field) {
  const std::string countryCode = std::to_string(homeCountryCode);
  Candidate candidate{std::nullopt, countryCode, std::string(digits)};
  pn::PhoneNumber number;
  if (numbers().Parse("+" + countryCode + std::string(digits), "ZZ", &number) ==
      pn::PhoneNumberUtil::NO_PARSING_ERROR) {
    candidate.number = number;
  }
  if (auto e164 = acceptedForm(candidate)) return *e164;
  // "86 138..." is a common way to write a Chinese mobile, but without '+' it is ambiguous;
  // refuse it, yet show the cashier how to write it. Only for the home country code: any
  // digits look like some foreign number, and suggesting one would mislead.
  if (digits.starts_with(countryCode)) {
    if (auto international = readInternational(digits, input, field)) {
      return invalidArgument(field, field + ": " + quoted(input) +
                                        " looks like an international number without '+'; "
                                        "write it as " +
                                        *international);
    }
  }
  return explainRefusal(candidate, input, field);
}

std::string hideMiddle(std::string_view digits) {
  const std::size_t keepFront = digits.size() >= 8 ? 3 : 2;
  const std::size_t keepBack = digits.size() >= 8 ? 4 : 2;
  if (digits.size() <= keepFront + keepBack) return std::string(digits.size(), '*');
  return std::string(digits.substr(0, keepFront)) + std::string(digits.size() - keepFront - keepBack, '*') +
         std::string(digits.substr(digits.size() - keepBack));
}

/// A stored number as this module writes it: '+' and digits only.
bool looksLikeE164(std::string_view text) {
  if (text.size() < 2 || text.front() != '+') return false;
  for (char c : text.substr(1)) {
    if (!isDigit(c)) return false;
  }
  return true;
}

}  // namespace

Result<std::string> normalizePhone(std::string_view input, std::string_view defaultRegion,
                                   std::string_view field) {
  const std::string fieldName(field);
  if (!isSupportedRegion(defaultRegion)) {
    return invalidArgument("phone_region", "phone_region: " + quoted(defaultRegion) +
                                               " is not a supported region; use a code such as "
                                               "CN, HK, TW, US or GB");
  }
  const std::string home = upperAscii(defaultRegion);
  const auto dial = readDialString(input, fieldName);
  if (!dial) return dial.error();
  const std::string& digits = dial->digits;
  if (dial->hasPlus) return readInternational(digits, input, fieldName);

  // The home region's international prefix first ("0011" in AU also begins with "00"), then
  // "00", which people write everywhere.
  std::optional<Result<std::string>> firstAttempt;
  pn::PhoneNumber number;
  if (numbers().ParseAndKeepRawInput(digits, home, &number) == pn::PhoneNumberUtil::NO_PARSING_ERROR &&
      number.country_code_source() == pn::PhoneNumber::FROM_NUMBER_WITH_IDD) {
    const std::string countryCode = std::to_string(number.country_code());
    auto attempt = decide({number, countryCode, nationalSignificantNumber(number)}, input, fieldName);
    if (attempt) return attempt;
    firstAttempt = std::move(attempt);
  }
  if (digits.starts_with("00")) {
    auto attempt = readInternational(std::string_view(digits).substr(2), input, fieldName);
    if (attempt) return attempt;
    if (!firstAttempt) firstAttempt = std::move(attempt);
  }
  if (firstAttempt) return *firstAttempt;
  return readNational(numbers().GetCountryCodeForRegion(home), digits, input, fieldName);
}

bool isSupportedRegion(std::string_view region) {
  static const std::set<std::string> regions = [] {
    std::set<std::string> supported;
    numbers().GetSupportedRegions(&supported);
    return supported;
  }();
  return region.size() == 2 && regions.contains(upperAscii(region));
}

std::string phoneRegion(std::string_view e164) {
  if (!looksLikeE164(e164)) return "";
  const auto number = parseE164(std::string(e164));
  if (!number) return "";
  const std::string countryCode = std::to_string(number->country_code());
  const Candidate candidate{number, countryCode, std::string(e164.substr(1 + countryCode.size()))};
  if (acceptedForm(candidate) != e164) return "";
  std::string region;
  numbers().GetRegionCodeForNumber(*number, &region);
  // A number in a range the metadata does not list has no region of its own there: it
  // belongs to the country code's main region.
  if (region.empty() || region == "ZZ") return regionOfCountryCode(number->country_code());
  return region;
}

namespace {

/// The country calling code `digits` (an E.164 number without its '+') starts with, and how many
/// digits it has; {0, 0} if none. Calling codes are prefix-free and at most 3 digits, so this
/// needs no parse (a parse costs regexes, and lookups and masks run for every row shown).
std::pair<int, std::size_t> callingCodeOf(std::string_view digits) {
  static const std::bitset<1000> known = [] {
    std::set<int> codes;
    numbers().GetSupportedCallingCodes(&codes);
    std::bitset<1000> bits;
    for (int c : codes) {
      if (c > 0 && c < 1000) bits.set(static_cast<std::size_t>(c));
    }
    return bits;
  }();
  int code = 0;
  for (std::size_t n = 1; n <= 3 && n < digits.size(); ++n) {
    if (!isDigit(digits[n - 1])) return {0, 0};
    code = code * 10 + (digits[n - 1] - '0');
    if (known.test(static_cast<std::size_t>(code))) return {code, n};
  }
  return {0, 0};
}

}  // namespace

std::optional<std::string> phoneLookupKey(std::string_view input, std::string_view homeRegion) {
  const std::size_t start = input.find_first_not_of(' ');
  if (start == std::string_view::npos) return std::nullopt;
  std::string digits = digitsOnly(input);
  std::string key;
  if (input[start] == '+') {
    key = "+" + digits;
  } else if (digits.starts_with("00")) {
    key = "+" + digits.substr(2);
  } else {
    const std::string region = upperAscii(homeRegion);
    const int code = numbers().GetCountryCodeForRegion(region);
    if (code == 0) return std::nullopt;
    std::string trunk;
    numbers().GetNddPrefixForRegion(region, /*strip_non_digits=*/true, &trunk);
    if (!trunk.empty() && digits.starts_with(trunk)) digits.erase(0, trunk.size());
    key = "+" + std::to_string(code) + digits;
  }
  if (key.size() < 6 || key.size() > 16) return std::nullopt;  // '+' and 5..15 digits
  return key;
}

bool possiblePhone(std::string_view e164) {
  // Lengths from the metadata only: no regex.
  if (!looksLikeE164(e164)) return false;
  const auto [code, codeDigits] = callingCodeOf(e164.substr(1));
  if (code == 0 || e164.size() <= 1 + codeDigits || e164.size() > 16) return false;
  const std::string national(e164.substr(1 + codeDigits));
  pn::PhoneNumber number;
  number.set_country_code(code);
  number.set_national_number(std::stoull(national));
  const std::size_t zeros = national.find_first_not_of('0');
  if (zeros > 0 && zeros != std::string::npos) {
    number.set_italian_leading_zero(true);
    number.set_number_of_leading_zeros(static_cast<int>(zeros));
  }
  return numbers().IsPossibleNumber(number);
}

std::string maskPhone(std::string_view e164, std::string_view homeRegion) {
  const auto [code, codeDigits] = looksLikeE164(e164) ? callingCodeOf(e164.substr(1)) : std::pair<int, std::size_t>{0, 0};
  if (code == 0) {
    // Not a number this module wrote; still never show it whole.
    return (e164.starts_with('+') ? "+" : "") + hideMiddle(digitsOnly(e164));
  }
  const std::string masked = hideMiddle(e164.substr(1 + codeDigits));
  if (code == numbers().GetCountryCodeForRegion(upperAscii(homeRegion))) return masked;
  return "+" + std::to_string(code) + " " + masked;
}

}  // namespace loyalty
