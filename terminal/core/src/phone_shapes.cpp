#include "phone_shapes.hpp"

#include <cstddef>

namespace loyalty::phone_shapes {
namespace {

// [SECTION] Shapes
//
// For each country calling code cashiers meet often: per kind of number the leading digits and
// the length of the national significant number (NSN: the digits after the country code,
// without the trunk prefix). Leading-digit patterns are '|'-separated alternatives; each is a
// sequence of a digit, 'x' (any digit) or a class such as [3-9] or [2-58]. A number fits one if
// it begins with it. Trunk and international prefixes come from libphonenumber.

struct Country {
  std::string_view countryCode;
  std::string_view adjective;  ///< for messages: "a Chinese mobile number"
};

constexpr Country kCountries[] = {
    {"86", "Chinese"},       {"852", "Hong Kong"},  {"853", "Macau"},     {"886", "Taiwanese"},
    {"65", "Singaporean"},   {"1", "US/Canadian"},  {"44", "British"},    {"49", "German"},
    {"33", "French"},        {"39", "Italian"},     {"81", "Japanese"},   {"82", "South Korean"},
    {"61", "Australian"},    {"91", "Indian"},      {"34", "Spanish"},    {"31", "Dutch"},
    {"353", "Irish"},        {"64", "New Zealand"}, {"60", "Malaysian"},  {"66", "Thai"},
    {"84", "Vietnamese"},    {"63", "Philippine"},  {"62", "Indonesian"}, {"7", "Russian or Kazakh"},
    {"55", "Brazilian"},     {"52", "Mexican"},     {"971", "UAE"},       {"966", "Saudi"},
    {"41", "Swiss"},         {"43", "Austrian"},    {"32", "Belgian"},    {"46", "Swedish"},
    {"47", "Norwegian"},     {"45", "Danish"},      {"48", "Polish"},     {"351", "Portuguese"},
    {"27", "South African"},
};

struct NumberType {
  std::string_view countryCode;
  std::string_view kind;  ///< "mobile", "landline"...; "" where the shapes do not tell them apart
  std::string_view leadingDigits;
  std::size_t minDigits;
  std::size_t maxDigits;
  std::string_view rule;  ///< completes "... has 11 digits " in messages
};

// Within a country, the first type is the one messages favour when several are equally close, so
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

// [SECTION] Matching

/// Takes the text up to the next `separator` off the front of `rest`.
std::string_view takePart(std::string_view& rest, char separator) {
  const std::size_t end = rest.find(separator);
  const std::string_view part = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
  return part;
}

char toUpperAscii(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

const Country* countryFor(std::string_view countryCode) {
  for (const Country& country : kCountries) {
    if (country.countryCode == countryCode) return &country;
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

/// How a national significant number fares against the shapes of a country: valid, or which type it comes
/// closest to (that is the one a message should explain).
struct Assessment {
  bool valid = false;
  const NumberType* closest = nullptr;
  bool leadingFits = false;  ///< closest's leading digits fit, or the number ends before them
  std::size_t depth = 0;
  int score = -1;
};

Assessment assess(std::string_view countryCode, std::string_view nsn) {
  Assessment best;
  for (const NumberType& type : kNumberTypes) {
    if (type.countryCode != countryCode) continue;
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

/// One way of reading digits as a national number: as written, or without the trunk prefix.
struct Reading {
  std::string_view nsn;
  std::string_view trunkPrefix;  ///< the prefix that was dropped, if any
  Assessment assessment;
};

/// Trunk prefixes are optional (people drop the 0, or write "+44 (0)20..."), so both readings
/// are tried; the stripped reading only wins a diagnosis if it gets strictly closer.
Reading readNationalDigits(std::string_view countryCode, std::string_view trunk, std::string_view digits) {
  Reading best{digits, {}, assess(countryCode, digits)};
  if (best.assessment.valid || trunk.empty() || !digits.starts_with(trunk)) return best;
  const std::string_view stripped = digits.substr(trunk.size());
  Reading reading{stripped, trunk, assess(countryCode, stripped)};
  if (reading.assessment.valid || reading.assessment.score > best.assessment.score) return reading;
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

std::size_t countNumberTypes(const Country& country) {
  std::size_t count = 0;
  for (const NumberType& type : kNumberTypes) {
    if (type.countryCode == country.countryCode) ++count;
  }
  return count;
}

/// Why `reading` is not a number of `country`, in words a cashier can act on.
Error explainMismatch(const Country& country, const Reading& reading, std::string_view input,
                      const std::string& field) {
  if (reading.nsn.size() < kMinNationalDigits) {
    return invalidArgument(field, field + ": " + quoted(input) + " is too short for a phone number");
  }
  const Assessment& assessment = reading.assessment;
  const NumberType& closest = *assessment.closest;
  if (!assessment.leadingFits && assessment.depth == 0 && countNumberTypes(country) > 1) {
    // Not even the first digit fits any kind of number: list the shapes the country has.
    std::string text = field + ": " + quoted(input) + " is not " + withArticle(country.adjective) +
                       " number" + trunkNote(reading) + ":";
    const char* separator = " ";
    for (const NumberType& type : kNumberTypes) {
      if (type.countryCode != country.countryCode) continue;
      text += separator;
      text += type.kind.empty() ? "numbers" : std::string(type.kind) + " numbers";
      text += " have " + describeType(type);
      separator = "; ";
    }
    return invalidArgument(field, text);
  }
  const std::string kind = closest.kind.empty() ? "" : " " + std::string(closest.kind);
  std::string text = field + ": " + withArticle(country.adjective) + kind + " number has " +
                     describeType(closest) + trunkNote(reading);
  const std::size_t count = reading.nsn.size();
  if (assessment.leadingFits || count < closest.minDigits || count > closest.maxDigits) {
    text += " (got " + std::to_string(count) + (count == 1 ? " digit)" : " digits)");
  } else {
    text += " (this one starts with " + std::string(reading.nsn.substr(0, assessment.depth + 1)) + ")";
  }
  return invalidArgument(field, text);
}

}  // namespace

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string_view adjective(std::string_view countryCode) {
  const Country* country = countryFor(countryCode);
  return country ? country->adjective : std::string_view{};
}

std::optional<std::string> nationalNumber(std::string_view countryCode, std::string_view trunkPrefix,
                                          std::string_view digits) {
  if (!countryFor(countryCode)) return std::nullopt;
  const Reading reading = readNationalDigits(countryCode, trunkPrefix, digits);
  if (!reading.assessment.valid) return std::nullopt;
  return std::string(reading.nsn);
}

std::optional<Error> explainRefusal(std::string_view countryCode, std::string_view trunkPrefix,
                                    std::string_view digits, std::string_view input,
                                    const std::string& field) {
  const Country* country = countryFor(countryCode);
  if (!country) return std::nullopt;
  const Reading reading = readNationalDigits(countryCode, trunkPrefix, digits);
  if (reading.assessment.valid) return std::nullopt;
  return explainMismatch(*country, reading, input, field);
}

}  // namespace loyalty::phone_shapes
