#include "loyalty/core/phone.hpp"

#include <cstddef>
#include <optional>
#include <utility>

namespace loyalty {
namespace {

// [SECTION] Numbering plans
//
// A deliberately small subset of what libphonenumber knows: per country calling code, the
// trunk prefix dialled before national numbers, and for each kind of number the leading digits
// and the length of the national significant number (NSN: the digits after the country code,
// without the trunk prefix). Enough to catch the typos a cashier makes, not to route calls.

struct NumberingPlan {
  std::string_view countryCode;
  std::string_view regions;        ///< ISO 3166-1 codes sharing the plan, space-separated
  std::string_view adjective;      ///< for messages: "a Chinese mobile number"
  std::string_view trunkPrefixes;  ///< '|'-separated; an empty list means none
  /// Besides "00", which is accepted everywhere because that is how most people write it.
  std::string_view internationalPrefixes;
};

/// Leading-digit patterns are '|'-separated alternatives; each is a sequence of a digit, 'x'
/// (any digit) or a class such as [3-9] or [2-58]. A number fits one if it begins with it.
struct NumberType {
  std::string_view countryCode;
  std::string_view kind;  ///< "mobile", "landline"...; "" where the plan does not tell them apart
  std::string_view leadingDigits;
  std::size_t minDigits;
  std::size_t maxDigits;
  std::string_view rule;  ///< completes "... has 11 digits " in messages
};

constexpr NumberingPlan kPlans[] = {
    {"86", "CN", "Chinese", "0", ""},
    {"852", "HK", "Hong Kong", "", ""},
    {"853", "MO", "Macau", "", ""},
    {"886", "TW", "Taiwanese", "0", "002"},
    {"65", "SG", "Singaporean", "", ""},
    // NANP numbers are often written with a leading 1 (the country code, dialled as a prefix
    // for long distance); it behaves exactly like a trunk prefix, so it is handled as one.
    {"1", "US CA", "US/Canadian", "1", "011"},
    {"44", "GB", "British", "0", ""},
    {"49", "DE", "German", "0", ""},
    {"33", "FR", "French", "0", ""},
    {"39", "IT", "Italian", "", ""},  // Italian landlines keep their 0, even after +39.
    {"81", "JP", "Japanese", "0", "010"},
    {"82", "KR", "South Korean", "0", "001|002"},
    {"61", "AU", "Australian", "0", "0011"},
    {"91", "IN", "Indian", "0", ""},
    {"34", "ES", "Spanish", "", ""},
    {"31", "NL", "Dutch", "0", ""},
    {"353", "IE", "Irish", "0", ""},
    {"64", "NZ", "New Zealand", "0", ""},
    {"60", "MY", "Malaysian", "0", ""},
    {"66", "TH", "Thai", "0", ""},
    {"84", "VN", "Vietnamese", "0", ""},
    {"63", "PH", "Philippine", "0", ""},
    {"62", "ID", "Indonesian", "0", ""},
    {"7", "RU KZ", "Russian or Kazakh", "8", "810"},
    {"55", "BR", "Brazilian", "0", ""},
    // "01" is the old national prefix and "1" the old mobile marker after +52 (both gone since
    // 2019 but still printed on cards and in address books).
    {"52", "MX", "Mexican", "01|1", ""},
    {"971", "AE", "UAE", "0", ""},
    {"966", "SA", "Saudi", "0", ""},
    {"41", "CH", "Swiss", "0", ""},
    {"43", "AT", "Austrian", "0", ""},
    {"32", "BE", "Belgian", "0", ""},
    {"46", "SE", "Swedish", "0", ""},
    {"47", "NO", "Norwegian", "", ""},
    {"45", "DK", "Danish", "", ""},
    {"48", "PL", "Polish", "", ""},
    {"351", "PT", "Portuguese", "", ""},
    {"27", "ZA", "South African", "0", ""},
};

// Within a plan, the first type is the one messages favour when several are equally close, so
// the everyday kind (mobiles) comes first.
constexpr NumberType kNumberTypes[] = {
    {"86", "mobile", "1[3-9]", 11, 11, "starting with 13 to 19"},
    {"86", "landline", "10|2", 10, 10, "when the area code is 10 or 2x"},
    {"86", "landline", "[3-9]", 10, 11, "when the area code is 3xx to 9xx"},
    {"852", "", "[235-9]", 8, 8, "starting with 2, 3 or 5 to 9"},
    {"853", "mobile", "6", 8, 8, "starting with 6"},
    {"853", "landline", "28", 8, 8, "starting with 28"},
    {"886", "mobile", "9", 9, 9, "starting with 9"},
    {"886", "landline", "[2-8]", 8, 9, "starting with an area code 2 to 8"},
    {"65", "", "[3689]", 8, 8, "starting with 3, 6, 8 or 9"},
    {"1", "", "[2-9]xx[2-9]", 10, 10, "with area code and local number each starting with 2 to 9"},
    {"44", "mobile", "7", 10, 10, "starting with 7"},
    {"44", "landline", "1", 9, 10, "starting with 1"},
    {"44", "landline", "2", 10, 10, "starting with 2"},
    {"44", "non-geographic", "[358]", 10, 10, "starting with 3, 5 or 8"},
    {"49", "mobile", "1[5-7]", 10, 11, "starting with 15, 16 or 17"},
    {"49", "landline", "[2-9]", 6, 13, "starting with an area code 2 to 9"},
    {"33", "", "[1-9]", 9, 9, "starting with 1 to 9"},
    {"39", "mobile", "3", 9, 10, "starting with 3"},
    {"39", "landline", "0", 6, 11, "starting with 0"},
    {"81", "mobile", "[789]0", 10, 10, "starting with 70, 80 or 90"},
    {"81", "IP phone", "50", 10, 10, "starting with 50"},
    {"81", "landline", "[1-9][1-9]", 9, 9, "starting with the area code"},
    {"82", "mobile", "1[016-9]", 9, 10, "starting with 10, 11 or 16 to 19"},
    {"82", "landline", "2", 8, 9, "in Seoul (area code 2)"},
    {"82", "landline", "[3-6][1-5]", 9, 10, "starting with an area code 31 to 65"},
    {"82", "IP phone", "70", 10, 10, "starting with 70"},
    {"61", "mobile", "4", 9, 9, "starting with 4"},
    {"61", "landline", "[2378]", 9, 9, "starting with an area code 2, 3, 7 or 8"},
    {"91", "mobile", "[6-9]", 10, 10, "starting with 6 to 9"},
    {"91", "landline", "[1-8]", 10, 10, "starting with the area code"},
    {"34", "mobile", "[67]", 9, 9, "starting with 6 or 7"},
    {"34", "landline", "[89]", 9, 9, "starting with 8 or 9"},
    {"31", "mobile", "6", 9, 9, "starting with 6"},
    {"31", "landline", "[1-578]", 9, 9, "starting with an area code 1 to 5, 7 or 8"},
    {"353", "mobile", "8[3-9]", 9, 9, "starting with 83 to 89"},
    {"353", "landline", "[1-79]", 7, 9, "starting with an area code 1 to 7 or 9"},
    {"64", "mobile", "2", 8, 10, "starting with 2"},
    {"64", "landline", "[34679]", 8, 8, "starting with an area code 3, 4, 6, 7 or 9"},
    {"60", "mobile", "1", 9, 10, "starting with 1"},
    {"60", "landline", "[3-9]", 8, 9, "starting with an area code 3 to 9"},
    {"66", "mobile", "[689]", 9, 9, "starting with 6, 8 or 9"},
    {"66", "landline", "[2-57]", 8, 8, "starting with an area code 2 to 5 or 7"},
    {"84", "mobile", "[35789]", 9, 9, "starting with 3, 5, 7, 8 or 9"},
    {"84", "landline", "2", 10, 10, "starting with 2"},
    {"63", "mobile", "9", 10, 10, "starting with 9"},
    {"63", "landline", "[2-8]", 8, 9, "starting with an area code 2 to 8"},
    {"62", "mobile", "8", 9, 12, "starting with 8"},
    {"62", "landline", "[2-79]", 7, 11, "starting with an area code 2 to 7 or 9"},
    {"7", "mobile", "9", 10, 10, "starting with 9"},
    {"7", "landline", "[348]", 10, 10, "starting with 3, 4 or 8"},
    {"7", "", "7", 10, 10, "starting with 7 (Kazakhstan)"},
    {"55", "mobile", "[1-9][1-9]9", 11, 11, "made of a 2-digit area code and 9 digits starting with 9"},
    {"55", "landline", "[1-9][1-9][2-5]", 10, 10,
     "made of a 2-digit area code and 8 digits starting with 2 to 5"},
    {"52", "", "[2-9]", 10, 10, "starting with 2 to 9"},
    {"971", "mobile", "5", 9, 9, "starting with 5"},
    {"971", "landline", "[2-46-9]", 8, 8, "starting with an area code 2 to 4 or 6 to 9"},
    {"966", "mobile", "5", 9, 9, "starting with 5"},
    {"966", "landline", "1", 9, 9, "starting with 1"},
    {"41", "", "[2-9]", 9, 9, "starting with 2 to 9"},
    {"43", "mobile", "6[5-9]", 10, 13, "starting with 65 to 69"},
    {"43", "landline", "[1-57-9]|6[1-4]", 5, 13, "starting with the area code"},
    {"32", "mobile", "4[5-9]", 9, 9, "starting with 45 to 49"},
    {"32", "landline", "[1-9]", 8, 8, "starting with the area code"},
    {"46", "mobile", "7[02369]", 9, 9, "starting with 70, 72, 73, 76 or 79"},
    {"46", "landline", "[1-689]", 7, 9, "starting with the area code"},
    {"47", "mobile", "[49]", 8, 8, "starting with 4 or 9"},
    {"47", "landline", "[235-8]", 8, 8, "starting with 2, 3 or 5 to 8"},
    {"45", "", "[2-9]", 8, 8, "starting with 2 to 9"},
    {"48", "", "[1-9]", 9, 9, "starting with 1 to 9"},
    {"351", "mobile", "9", 9, 9, "starting with 9"},
    {"351", "landline", "2", 9, 9, "starting with 2"},
    {"27", "mobile", "[6-8]", 9, 9, "starting with 6, 7 or 8"},
    {"27", "landline", "[1-5]", 9, 9, "starting with an area code 1 to 5"},
};

/// +1 numbers are Canadian by area code; the rest of the NANP this module supports is the US.
/// Needs updating when Canada opens a new overlay code.
constexpr std::string_view kCanadianAreaCodes =
    "204 226 236 249 250 263 289 306 343 354 365 367 368 382 403 416 418 428 431 437 438 450 "
    "468 474 506 514 519 548 579 581 584 587 604 613 639 647 672 683 705 709 742 753 778 780 "
    "782 807 819 825 867 873 879 902 905";

/// Below this, naming the kind of number the digits resemble would be guesswork.
constexpr std::size_t kMinNationalDigits = 4;

/// E.164 caps a number at 15 digits; anything much longer is not worth echoing to a cashier.
constexpr std::size_t kMaxInputLength = 64;

// [SECTION] Small text helpers

/// Takes the text up to the next `separator` off the front of `rest`.
std::string_view takePart(std::string_view& rest, char separator) {
  const std::size_t end = rest.find(separator);
  const std::string_view part = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
  return part;
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

char toUpperAscii(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (toUpperAscii(a[i]) != toUpperAscii(b[i])) return false;
  }
  return true;
}

bool listContains(std::string_view list, std::string_view item, char separator) {
  for (std::string_view rest = list; !rest.empty();) {
    if (equalsIgnoringCase(takePart(rest, separator), item)) return true;
  }
  return false;
}

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string digitsOnly(std::string_view text) {
  std::string digits;
  for (char c : text) {
    if (isDigit(c)) digits += c;
  }
  return digits;
}

// [SECTION] Plan lookup and matching

const NumberingPlan* planForRegion(std::string_view region) {
  if (region.size() != 2) return nullptr;
  for (const NumberingPlan& plan : kPlans) {
    if (listContains(plan.regions, region, ' ')) return &plan;
  }
  return nullptr;
}

/// The plan whose country code begins `digits`; country codes are prefix-free, so at most one.
const NumberingPlan* planForCountryCode(std::string_view digits) {
  for (const NumberingPlan& plan : kPlans) {
    if (digits.starts_with(plan.countryCode)) return &plan;
  }
  return nullptr;
}

bool tokenAccepts(std::string_view token, char digit) {
  if (token == "x") return true;
  if (token.size() == 1) return token[0] == digit;
  const std::string_view members = token.substr(1, token.size() - 2);
  for (std::size_t i = 0; i < members.size();) {
    if (i + 2 < members.size() && members[i + 1] == '-') {
      if (digit >= members[i] && digit <= members[i + 2]) return true;
      i += 3;
    } else {
      if (digit == members[i]) return true;
      ++i;
    }
  }
  return false;
}

struct LeadingMatch {
  bool complete = false;  ///< the number begins with one of the alternatives
  std::size_t depth = 0;  ///< how many leading digits matched, at best
};

LeadingMatch matchLeadingDigits(std::string_view nsn, std::string_view pattern) {
  LeadingMatch best;
  for (std::string_view rest = pattern; !rest.empty();) {
    const std::string_view alternative = takePart(rest, '|');
    std::size_t depth = 0;
    bool complete = true;
    for (std::size_t pos = 0; pos < alternative.size();) {
      const std::size_t tokenEnd = alternative[pos] == '[' ? alternative.find(']', pos) + 1 : pos + 1;
      if (depth >= nsn.size() || !tokenAccepts(alternative.substr(pos, tokenEnd - pos), nsn[depth])) {
        complete = false;
        break;
      }
      ++depth;
      pos = tokenEnd;
    }
    if (complete) return {true, depth};
    if (depth > best.depth) best.depth = depth;
  }
  return best;
}

/// How a national significant number fares against a plan: valid, or which type it comes
/// closest to (that is the one a message should explain).
struct Assessment {
  bool valid = false;
  const NumberType* closest = nullptr;
  bool leadingFits = false;  ///< closest's leading digits fit, or the number ends before them
  std::size_t depth = 0;
  int score = -1;
};

Assessment assess(const NumberingPlan& plan, std::string_view nsn) {
  Assessment best;
  for (const NumberType& type : kNumberTypes) {
    if (type.countryCode != plan.countryCode) continue;
    const LeadingMatch match = matchLeadingDigits(nsn, type.leadingDigits);
    if (match.complete && nsn.size() >= type.minDigits && nsn.size() <= type.maxDigits) {
      return {true, &type, true, match.depth, 1000};
    }
    const bool leadingFits = match.complete || match.depth == nsn.size();
    const int score = (leadingFits ? 100 : 0) + static_cast<int>(match.depth);
    if (score > best.score) best = {false, &type, leadingFits, match.depth, score};
  }
  return best;
}

/// One way of reading digits as a national number: as written, or without a trunk prefix.
struct Reading {
  std::string_view nsn;
  std::string_view trunkPrefix;  ///< the prefix that was dropped, if any
  Assessment assessment;
};

/// Trunk prefixes are optional (people drop the 0, or write "+44 (0)20..."), so both readings
/// are tried; a stripped reading only wins a diagnosis if it gets strictly closer.
Reading readNationalDigits(const NumberingPlan& plan, std::string_view digits) {
  Reading best{digits, {}, assess(plan, digits)};
  if (best.assessment.valid) return best;
  for (std::string_view rest = plan.trunkPrefixes; !rest.empty();) {
    const std::string_view trunk = takePart(rest, '|');
    if (!digits.starts_with(trunk)) continue;
    const std::string_view stripped = digits.substr(trunk.size());
    const Reading reading{stripped, trunk, assess(plan, stripped)};
    if (reading.assessment.valid) return reading;
    if (reading.assessment.score > best.assessment.score) best = reading;
  }
  return best;
}

// [SECTION] Messages

std::string withArticle(std::string_view words) {
  const char first = toUpperAscii(words.empty() ? ' ' : words.front());
  const bool vowel = first == 'A' || first == 'E' || first == 'I' || first == 'O';
  return (vowel ? "an " : "a ") + std::string(words);
}

std::string describeDigitCount(std::size_t minDigits, std::size_t maxDigits) {
  if (minDigits == maxDigits) return std::to_string(minDigits) + " digits";
  const char* joiner = maxDigits == minDigits + 1 ? " or " : " to ";
  return std::to_string(minDigits) + joiner + std::to_string(maxDigits) + " digits";
}

std::string describeType(const NumberType& type) {
  return describeDigitCount(type.minDigits, type.maxDigits) + " " + std::string(type.rule);
}

std::string trunkNote(const Reading& reading) {
  if (reading.trunkPrefix.empty()) return "";
  return ", not counting the leading " + std::string(reading.trunkPrefix);
}

std::size_t countNumberTypes(const NumberingPlan& plan) {
  std::size_t count = 0;
  for (const NumberType& type : kNumberTypes) {
    if (type.countryCode == plan.countryCode) ++count;
  }
  return count;
}

/// Why `reading` is not a valid number of `plan`, in words a cashier can act on.
Error explainMismatch(const NumberingPlan& plan, const Reading& reading, std::string_view input,
                      const std::string& field) {
  if (reading.nsn.size() < kMinNationalDigits) {
    return invalidArgument(field, field + ": " + quoted(input) + " is too short for a phone number");
  }
  const Assessment& assessment = reading.assessment;
  const NumberType& closest = *assessment.closest;
  if (!assessment.leadingFits && assessment.depth == 0 && countNumberTypes(plan) > 1) {
    // Not even the first digit fits any kind of number: list what the plan allows.
    std::string text = field + ": " + quoted(input) + " is not " + withArticle(plan.adjective) + " number" +
                       trunkNote(reading) + ":";
    const char* separator = " ";
    for (const NumberType& type : kNumberTypes) {
      if (type.countryCode != plan.countryCode) continue;
      text += separator;
      text += type.kind.empty() ? "numbers" : std::string(type.kind) + " numbers";
      text += " have " + describeType(type);
      separator = "; ";
    }
    return invalidArgument(field, text);
  }
  const std::string kind = closest.kind.empty() ? "" : " " + std::string(closest.kind);
  std::string text = field + ": " + withArticle(plan.adjective) + kind + " number has " +
                     describeType(closest) + trunkNote(reading);
  const std::size_t count = reading.nsn.size();
  if (assessment.leadingFits || count < closest.minDigits || count > closest.maxDigits) {
    text += " (got " + std::to_string(count) + (count == 1 ? " digit)" : " digits)");
  } else {
    text += " (this one starts with " + std::string(reading.nsn.substr(0, assessment.depth + 1)) + ")";
  }
  return invalidArgument(field, text);
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
  const NumberingPlan* plan = planForCountryCode(digits);
  if (!plan) {
    return invalidArgument(
        field, field + ": " + quoted(input) + " does not start with a country code this system supports");
  }
  const Reading reading = readNationalDigits(*plan, digits.substr(plan->countryCode.size()));
  if (!reading.assessment.valid) return explainMismatch(*plan, reading, input, field);
  return "+" + std::string(plan->countryCode) + std::string(reading.nsn);
}

/// A number written without '+' or an international prefix: read in the home plan.
Result<std::string> readNational(const NumberingPlan& plan, std::string_view digits, std::string_view input,
                                 const std::string& field) {
  const Reading reading = readNationalDigits(plan, digits);
  if (reading.assessment.valid) return "+" + std::string(plan.countryCode) + std::string(reading.nsn);
  // "86 138..." is a common way to write a Chinese mobile, but without '+' it is ambiguous;
  // refuse it, yet show the cashier how to write it. Only for the home country code: any
  // digits look like some foreign number, and suggesting one would mislead.
  if (digits.starts_with(plan.countryCode)) {
    if (auto international = readInternational(digits, input, field)) {
      return invalidArgument(field, field + ": " + quoted(input) +
                                        " looks like an international number without '+'; "
                                        "write it as " +
                                        *international);
    }
  }
  return explainMismatch(plan, reading, input, field);
}

// [SECTION] Splitting a stored E.164 number

struct E164Parts {
  const NumberingPlan* plan = nullptr;
  std::string_view nationalNumber;
};

std::optional<E164Parts> splitE164(std::string_view e164) {
  if (e164.size() < 2 || e164.front() != '+') return std::nullopt;
  const std::string_view digits = e164.substr(1);
  for (char c : digits) {
    if (!isDigit(c)) return std::nullopt;
  }
  const NumberingPlan* plan = planForCountryCode(digits);
  if (!plan) return std::nullopt;
  return E164Parts{plan, digits.substr(plan->countryCode.size())};
}

std::string hideMiddle(std::string_view digits) {
  const std::size_t keepFront = digits.size() >= 8 ? 3 : 2;
  const std::size_t keepBack = digits.size() >= 8 ? 4 : 2;
  if (digits.size() <= keepFront + keepBack) return std::string(digits.size(), '*');
  return std::string(digits.substr(0, keepFront)) + std::string(digits.size() - keepFront - keepBack, '*') +
         std::string(digits.substr(digits.size() - keepBack));
}

}  // namespace

Result<std::string> normalizePhone(std::string_view input, std::string_view defaultRegion,
                                   std::string_view field) {
  const std::string fieldName(field);
  const NumberingPlan* home = planForRegion(defaultRegion);
  if (!home) {
    return invalidArgument("phone_region", "phone_region: " + quoted(defaultRegion) +
                                               " is not a supported region; use a code such as "
                                               "CN, HK, TW, US or GB");
  }
  const auto dial = readDialString(input, fieldName);
  if (!dial) return dial.error();
  const std::string_view digits = dial->digits;
  if (dial->hasPlus) return readInternational(digits, input, fieldName);

  // Region-specific international prefixes first: "0011" (AU) also begins with "00".
  const std::string prefixes = home->internationalPrefixes.empty()
                                   ? std::string("00")
                                   : std::string(home->internationalPrefixes) + "|00";
  std::optional<Result<std::string>> firstAttempt;
  for (std::string_view rest = prefixes; !rest.empty();) {
    const std::string_view prefix = takePart(rest, '|');
    if (!digits.starts_with(prefix)) continue;
    auto attempt = readInternational(digits.substr(prefix.size()), input, fieldName);
    if (attempt) return attempt;
    if (!firstAttempt) firstAttempt = std::move(attempt);
  }
  if (firstAttempt) return *firstAttempt;
  return readNational(*home, digits, input, fieldName);
}

bool isSupportedRegion(std::string_view region) { return planForRegion(region) != nullptr; }

std::string phoneRegion(std::string_view e164) {
  const auto parts = splitE164(e164);
  if (!parts || !assess(*parts->plan, parts->nationalNumber).valid) return "";
  const std::string_view nsn = parts->nationalNumber;
  if (parts->plan->countryCode == "1") {
    return listContains(kCanadianAreaCodes, nsn.substr(0, 3), ' ') ? "CA" : "US";
  }
  if (parts->plan->countryCode == "7") return nsn[0] == '6' || nsn[0] == '7' ? "KZ" : "RU";
  std::string_view regions = parts->plan->regions;
  return std::string(takePart(regions, ' '));
}

std::string maskPhone(std::string_view e164, std::string_view homeRegion) {
  const auto parts = splitE164(e164);
  if (!parts) {
    // Not a number this module wrote; still never show it whole.
    return (e164.starts_with('+') ? "+" : "") + hideMiddle(digitsOnly(e164));
  }
  const std::string masked = hideMiddle(parts->nationalNumber);
  if (parts->plan == planForRegion(homeRegion)) return masked;
  return "+" + std::string(parts->plan->countryCode) + " " + masked;
}

}  // namespace loyalty
