#include <catch2/catch.hpp>
#include <string>

#include "loyalty/core/phone.hpp"

using loyalty::isSupportedRegion;
using loyalty::maskPhone;
using loyalty::normalizePhone;
using loyalty::phoneRegion;

namespace {

struct ValidCase {
  const char* input;
  const char* region;
  const char* e164;
};

struct InvalidCase {
  const char* input;
  const char* region;
  const char* messagePart;
};

void checkValid(const ValidCase& c) {
  INFO(c.input << " in " << c.region);
  const auto result = normalizePhone(c.input, c.region);
  if (!result) INFO("refused: " << result.error().message);
  REQUIRE(result.hasValue());
  CHECK(*result == c.e164);
}

void checkRefused(const InvalidCase& c) {
  INFO(c.input << " in " << c.region);
  const auto result = normalizePhone(c.input, c.region);
  REQUIRE_FALSE(result.hasValue());
  INFO(result.error().message);
  CHECK(result.error().code == "invalid_argument");
  CHECK(result.error().field == "phone");
  CHECK(result.error().message.rfind("phone: ", 0) == 0);
  CHECK(result.error().message.find(c.messagePart) != std::string::npos);
}

}  // namespace

TEST_CASE("Chinese numbers in the ways cashiers type them become E.164", "[core]") {
  const ValidCase cases[] = {
      {"13812345678", "CN", "+8613812345678"},
      {"138-1234-5678", "CN", "+8613812345678"},
      {"138 1234 5678", "CN", "+8613812345678"},
      {" 138.1234.5678 ", "CN", "+8613812345678"},
      {"+86 138 1234 5678", "CN", "+8613812345678"},
      {"(+86) 138-1234-5678", "CN", "+8613812345678"},
      {"0086 13812345678", "CN", "+8613812345678"},
      {"+86 138 1234 5678", "HK", "+8613812345678"},
      {"0086 199 1234 5678", "US", "+8619912345678"},
      // Full-width digits and plus from a Chinese input method.
      {"\xEF\xBC\x8B\xEF\xBC\x98\xEF\xBC\x96 \xEF\xBC\x91\xEF\xBC\x93\xEF\xBC\x98"
       "\xEF\xBC\x91\xEF\xBC\x92\xEF\xBC\x93\xEF\xBC\x94\xEF\xBC\x95\xEF\xBC\x96"
       "\xEF\xBC\x97\xEF\xBC\x98",
       "CN", "+8613812345678"},
      {"010 1234 5678", "CN", "+861012345678"},
      {"(010) 1234-5678", "CN", "+861012345678"},
      {"021-6123-4567", "CN", "+862161234567"},
      {"0755 8888 1234", "CN", "+8675588881234"},
      {"0571-8765432", "CN", "+865718765432"},
      {"+86 (0)10 1234 5678", "GB", "+861012345678"},
      {"400 123 4567", "CN", "+864001234567"},
  };
  for (const ValidCase& c : cases) checkValid(c);
}

TEST_CASE("numbers of other regions, national and international, become E.164", "[core]") {
  const ValidCase cases[] = {
      {"9123 4567", "HK", "+85291234567"},
      {"+852 2123 4567", "CN", "+85221234567"},
      {"00852 5123 4567", "CN", "+85251234567"},
      {"6612 3456", "MO", "+85366123456"},
      {"+853 2812 3456", "CN", "+85328123456"},
      {"0912 345 678", "TW", "+886912345678"},
      {"(02) 2345-6789", "TW", "+886223456789"},
      {"+886 912 345 678", "CN", "+886912345678"},
      {"002 86 138 1234 5678", "TW", "+8613812345678"},
      {"9123 4567", "SG", "+6591234567"},
      {"+65 6123 4567", "CN", "+6561234567"},
      {"(212) 555-0123", "US", "+12125550123"},
      {"212.555.0123", "US", "+12125550123"},
      {"1-212-555-0123", "US", "+12125550123"},
      {"+1 212 555 0123", "CN", "+12125550123"},
      {"011 44 20 7946 0958", "US", "+442079460958"},
      {"416-555-0123", "CA", "+14165550123"},
      {"416-555-0123", "US", "+14165550123"},
      {"020 7946 0958", "GB", "+442079460958"},
      {"(020) 7946-0958", "GB", "+442079460958"},
      {"+44 (0)20 7946 0958", "CN", "+442079460958"},
      {"+44 20 7946 0958", "CN", "+442079460958"},
      {"07700 900123", "GB", "+447700900123"},
      {"0044 7700 900123", "CN", "+447700900123"},
      {"016977 3456", "GB", "+44169773456"},
      {"030 12345678", "DE", "+493012345678"},
      {"030/1234567", "DE", "+49301234567"},
      {"0151 23456789", "DE", "+4915123456789"},
      {"+49 (0)89 1234567", "CN", "+49891234567"},
      {"06 12 34 56 78", "FR", "+33612345678"},
      {"01.23.45.67.89", "FR", "+33123456789"},
      {"+33 (0)6 12 34 56 78", "CN", "+33612345678"},
      {"06 1234 5678", "IT", "+390612345678"},
      {"+39 06 1234 5678", "CN", "+390612345678"},
      {"333 123 4567", "IT", "+393331234567"},
      {"0039 333 1234567", "CN", "+393331234567"},
      {"090-1234-5678", "JP", "+819012345678"},
      {"03-1234-5678", "JP", "+81312345678"},
      {"+81 90 1234 5678", "CN", "+819012345678"},
      {"010 86 138 1234 5678", "JP", "+8613812345678"},
      {"010-1234-5678", "KR", "+821012345678"},
      {"02-123-4567", "KR", "+8221234567"},
      {"02-1234-5678", "KR", "+82212345678"},
      {"031-123-4567", "KR", "+82311234567"},
      {"001 86 138 1234 5678", "KR", "+8613812345678"},
      {"0412 345 678", "AU", "+61412345678"},
      {"(02) 9876 5432", "AU", "+61298765432"},
      {"0011 86 138 1234 5678", "AU", "+8613812345678"},
      {"98765 43210", "IN", "+919876543210"},
      {"098765 43210", "IN", "+919876543210"},
      {"011 2345 6789", "IN", "+911123456789"},
      {"612 34 56 78", "ES", "+34612345678"},
      {"+34 912 345 678", "CN", "+34912345678"},
      {"06 12345678", "NL", "+31612345678"},
      {"020 123 4567", "NL", "+31201234567"},
      {"087 123 4567", "IE", "+353871234567"},
      {"01 234 5678", "IE", "+35312345678"},
      {"021 123 4567", "NZ", "+64211234567"},
      {"09 123 4567", "NZ", "+6491234567"},
      {"012-345 6789", "MY", "+60123456789"},
      {"011-2345 6789", "MY", "+601123456789"},
      {"03-1234 5678", "MY", "+60312345678"},
      {"081 234 5678", "TH", "+66812345678"},
      {"02 123 4567", "TH", "+6621234567"},
      {"091 234 5678", "VN", "+84912345678"},
      {"024 3123 4567", "VN", "+842431234567"},
      {"0917 123 4567", "PH", "+639171234567"},
      {"02 8123 4567", "PH", "+63281234567"},
      {"0812-3456-7890", "ID", "+6281234567890"},
      {"021 1234 5678", "ID", "+622112345678"},
      {"8 (912) 345-67-89", "RU", "+79123456789"},
      {"+7 495 123-45-67", "CN", "+74951234567"},
      {"8 800 123 45 67", "RU", "+78001234567"},
      {"8 10 86 138 1234 5678", "RU", "+8613812345678"},
      {"8 701 234 5678", "KZ", "+77012345678"},
      {"(11) 91234-5678", "BR", "+5511912345678"},
      {"011 3123 4567", "BR", "+551131234567"},
      {"55 1234 5678", "MX", "+525512345678"},
      {"+52 1 55 1234 5678", "CN", "+525512345678"},
      {"050 123 4567", "AE", "+971501234567"},
      {"04 123 4567", "AE", "+97141234567"},
      {"050 123 4567", "SA", "+966501234567"},
      {"011 234 5678", "SA", "+966112345678"},
      {"078 123 45 67", "CH", "+41781234567"},
      {"044 668 18 00", "CH", "+41446681800"},
      {"0664 1234567", "AT", "+436641234567"},
      {"01 234 5678", "AT", "+4312345678"},
      {"0470 12 34 56", "BE", "+32470123456"},
      {"02 123 45 67", "BE", "+3221234567"},
      {"070-123 45 67", "SE", "+46701234567"},
      {"08-123 456 78", "SE", "+46812345678"},
      {"412 34 567", "NO", "+4741234567"},
      {"22 12 34 56", "NO", "+4722123456"},
      {"20 12 34 56", "DK", "+4520123456"},
      {"512 345 678", "PL", "+48512345678"},
      {"+48 22 123 45 67", "CN", "+48221234567"},
      {"912 345 678", "PT", "+351912345678"},
      {"21 123 4567", "PT", "+351211234567"},
      {"082 123 4567", "ZA", "+27821234567"},
      {"021 123 4567", "ZA", "+27211234567"},
  };
  for (const ValidCase& c : cases) checkValid(c);
}

TEST_CASE("the default region may be written in lower case", "[core]") {
  checkValid({"13812345678", "cn", "+8613812345678"});
}

TEST_CASE("a short Chinese mobile is refused with a message a cashier can act on", "[core]") {
  const auto result = normalizePhone("138-1234-567", "CN");
  REQUIRE_FALSE(result.hasValue());
  CHECK(result.error().message ==
        "phone: a Chinese mobile number has 11 digits starting with 13 to 19 (got 10 digits)");
}

TEST_CASE("a dropped digit after a trunk prefix is explained without the prefix", "[core]") {
  const auto result = normalizePhone("07700 90012", "GB");
  REQUIRE_FALSE(result.hasValue());
  CHECK(result.error().message ==
        "phone: a British mobile number has 10 digits starting with 7, not counting the leading 0 "
        "(got 9 digits)");
}

TEST_CASE("malformed and implausible numbers are refused", "[core]") {
  const InvalidCase cases[] = {
      {"", "CN", "empty"},
      {"   ", "CN", "empty"},
      {"+", "CN", "no digits"},
      {"12", "CN", "too short"},
      {"+86", "CN", "too short"},
      {"()-", "CN", "no digits"},
      {"1381234567a", "CN", "letters"},
      {"1-800-FLOWERS", "US", "letters"},
      {"13812345678 ext 12", "CN", "letters"},
      {"138#1234#5678", "CN", "'#'"},
      {"138\xE2\x98\x8E 1234 5678", "CN", "not part of a phone number"},
      {"138+12345678", "CN", "'+'"},
      {"++8613812345678", "CN", "'+'"},
      {"12345678901", "CN", "starts with 12"},
      {"1381234567890", "CN", "got 13 digits"},
      {"86 13812345678", "CN", "write it as +8613812345678"},
      {"8613812345678", "CN", "without '+'"},
      {"+86 138 1234 56789", "CN", "got 12 digits"},
      {"0086 138 1234", "CN", "got 7 digits"},
      {"+999 1234 5678", "CN", "country code"},
      {"+0 138 1234 5678", "CN", "country code"},
      {"020 7946 095", "GB", "got 9 digits"},
      {"+44 20 7946 0958 1", "CN", "got 11 digits"},
      {"+44 9000 123456", "CN", "is not a British number"},
      {"(212) 155-0123", "US", "starts with 2121"},
      {"+1 112 555 0123", "CN", "(this one starts with 1)"},
      {"555-0123", "US", "got 7 digits"},
      {"+852 1234 5678", "CN", "(this one starts with 1)"},
      {"9123 456", "HK", "got 7 digits"},
      {"+39 1234 5678", "CN", "mobile numbers have 9 or 10 digits starting with 3"},
      {"0901 234 567", "JP", "mobile number has 10 digits"},
      {"+81 90 1234 567", "CN", "got 9 digits"},
      {"+7 612 345 6789", "CN", "Russian or Kazakh"},
      {"98765 4321", "IN", "got 9 digits"},
  };
  for (const InvalidCase& c : cases) checkRefused(c);
}

TEST_CASE("a Chinese number with 86 but no + is refused with the correct form", "[core]") {
  const auto result = normalizePhone("86 13812345678", "CN");
  REQUIRE_FALSE(result.hasValue());
  CHECK(result.error().message ==
        "phone: \"86 13812345678\" looks like an international number without '+'; write it as "
        "+8613812345678");
}

TEST_CASE("errors name the field the caller passed", "[core]") {
  const auto result = normalizePhone("12", "CN", "referrer");
  REQUIRE_FALSE(result.hasValue());
  CHECK(result.error().code == "invalid_argument");
  CHECK(result.error().field == "referrer");
  CHECK(result.error().message.rfind("referrer: ", 0) == 0);
}

TEST_CASE("an unsupported default region is refused on phone_region", "[core]") {
  for (const char* region : {"XX", "", "CHN", "C"}) {
    INFO(region);
    const auto result = normalizePhone("+8613812345678", region);
    REQUIRE_FALSE(result.hasValue());
    CHECK(result.error().code == "invalid_argument");
    CHECK(result.error().field == "phone_region");
  }
}

TEST_CASE("supported regions", "[core]") {
  for (const char* region :
       {"CN", "HK", "MO", "TW", "SG", "US", "CA", "GB", "DE", "FR", "IT", "JP", "KR", "AU",
        "IN", "ES", "NL", "IE", "NZ", "MY", "TH", "VN", "PH", "ID", "RU", "KZ", "BR", "MX",
        "AE", "SA", "CH", "AT", "BE", "SE", "NO", "DK", "PL", "PT", "ZA", "cn"}) {
    INFO(region);
    CHECK(isSupportedRegion(region));
  }
  for (const char* region : {"", "XX", "UK", "CHN", "C", "US CA"}) {
    INFO(region);
    CHECK_FALSE(isSupportedRegion(region));
  }
}

TEST_CASE("staff see phones with the middle hidden", "[core]") {
  struct Case {
    const char* e164;
    const char* home;
    const char* masked;
  };
  const Case cases[] = {
      {"+8613812345678", "CN", "138****5678"},
      {"+8613812345678", "cn", "138****5678"},
      {"+8613812345678", "HK", "+86 138****5678"},
      {"+447700900123", "CN", "+44 770***0123"},
      {"+447700900123", "GB", "770***0123"},
      {"+85291234567", "HK", "912*4567"},
      {"+85291234567", "CN", "+852 912*4567"},
      {"+12125550123", "US", "212***0123"},
      // Same country code, so dialled as a national number from the US.
      {"+14165550123", "US", "416***0123"},
      {"+14165550123", "CN", "+1 416***0123"},
      {"+3531234567", "IE", "12***67"},
      {"+3531234567", "CN", "+353 12***67"},
      // Not E.164 as this module writes it: still never shown whole.
      {"+999123456789", "CN", "+999*****6789"},
      {"13812345678", "CN", "138****5678"},
  };
  for (const Case& c : cases) {
    INFO(c.e164 << " at home in " << c.home);
    CHECK(maskPhone(c.e164, c.home) == c.masked);
  }
}

TEST_CASE("the region of a normalised number", "[core]") {
  struct Case {
    const char* e164;
    const char* region;
  };
  const Case cases[] = {
      {"+8613812345678", "CN"},
      {"+85291234567", "HK"},
      {"+85366123456", "MO"},
      {"+886912345678", "TW"},
      {"+6591234567", "SG"},
      {"+12125550123", "US"},
      {"+14165550123", "CA"},
      {"+16045550123", "CA"},
      {"+15145550123", "CA"},
      {"+13105550123", "US"},
      {"+79123456789", "RU"},
      {"+74951234567", "RU"},
      {"+77012345678", "KZ"},
      {"+442079460958", "GB"},
      {"+390612345678", "IT"},
      {"+819012345678", "JP"},
      {"+27821234567", "ZA"},
      // Unknown, malformed or not a valid number.
      {"+999123456", ""},
      {"13812345678", ""},
      {"", ""},
      {"+", ""},
      {"+86123", ""},
      {"+86 13812345678", ""},
  };
  for (const Case& c : cases) {
    INFO(c.e164);
    CHECK(phoneRegion(c.e164) == c.region);
  }
}

TEST_CASE("every normalised number maps back to a region and to itself", "[core]") {
  const ValidCase cases[] = {
      {"0912 345 678", "TW", "+886912345678"},
      {"07700 900123", "GB", "+447700900123"},
      {"8 701 234 5678", "KZ", "+77012345678"},
      {"416-555-0123", "US", "+14165550123"},
  };
  for (const ValidCase& c : cases) {
    INFO(c.input);
    const auto e164 = normalizePhone(c.input, c.region);
    REQUIRE(e164.hasValue());
    const std::string region = phoneRegion(*e164);
    CHECK_FALSE(region.empty());
    const auto again = normalizePhone(*e164, region);
    REQUIRE(again.hasValue());
    CHECK(*again == *e164);
  }
}

TEST_CASE("regions beyond the old 37 numbering plans are supported, national and international", "[core]") {
  for (const char* region : {"KE", "NG", "TR", "EG", "PK", "UA", "IL", "AR", "CO", "ke"}) {
    INFO(region);
    CHECK(isSupportedRegion(region));
  }
  const ValidCase cases[] = {
      {"0712 123456", "KE", "+254712123456"},
      {"0802 123 4567", "NG", "+2348021234567"},
      {"0532 123 45 67", "TR", "+905321234567"},
      {"0100 123 4567", "EG", "+201001234567"},
      {"0301 2345678", "PK", "+923012345678"},
      {"050 123 4567", "UA", "+380501234567"},
      {"050-234-5678", "IL", "+972502345678"},
      {"011 15-2345-6789", "AR", "+5491123456789"},
      {"321 1234567", "CO", "+573211234567"},
      {"+254 712 123456", "CN", "+254712123456"},
      {"00254 712 123456", "CN", "+254712123456"},
      {"00 90 532 123 45 67", "DE", "+905321234567"},
  };
  for (const ValidCase& c : cases) checkValid(c);
}

TEST_CASE("numbers of regions beyond the old plans map back to their region and are masked", "[core]") {
  CHECK(phoneRegion("+254712123456") == "KE");
  CHECK(phoneRegion("+905321234567") == "TR");
  CHECK(phoneRegion("+254712") == "");
  CHECK(maskPhone("+254712123456", "KE") == "712**3456");
  CHECK(maskPhone("+254712123456", "CN") == "+254 712**3456");
  const auto again = normalizePhone("+254712123456", phoneRegion("+254712123456"));
  REQUIRE(again.hasValue());
  CHECK(*again == "+254712123456");
}

TEST_CASE("a wrong number of a region beyond the old plans is refused naming the field and the region",
          "[core]") {
  const InvalidCase cases[] = {
      {"0712 12345", "KE", "is not a valid phone number of region KE (too short for a mobile number)"},
      {"0712 1234567", "KE", "(too long for a mobile number)"},
      {"+254 712 12345", "CN", "region KE"},
      {"0712 12345", "KE", "a mobile number there looks like +254 712 123456"},
      {"0712", "KE", "too short"},
      {"1-900-FLOWERS", "KE", "letters"},
  };
  for (const InvalidCase& c : cases) checkRefused(c);
}

TEST_CASE("premium-rate lines are refused: they are never a customer's phone", "[core]") {
  // Valid numbers in libphonenumber's metadata, of a kind no customer can be reached on.
  checkRefused({"0909 879 0000", "GB", "is not a British number"});
  checkRefused({"+1 900 234 5678", "CN", "is a premium-rate or service number, not a customer's phone"});
}

TEST_CASE("phoneLookupKey reads a typed whole number's E.164 form off its digits", "[core]") {
  using loyalty::phoneLookupKey;
  struct Case {
    const char* input;
    const char* home;
    std::optional<std::string> key;
  };
  const Case cases[] = {
      {"13812345678", "CN", "+8613812345678"},
      {"138 1234 5678", "cn", "+8613812345678"},
      {"+86 138-1234-5678", "GB", "+8613812345678"},
      {"0086 13812345678", "GB", "+8613812345678"},
      {"07700 900123", "GB", "+447700900123"},      // the trunk prefix goes
      {"0712 123456", "KE", "+254712123456"},
      {"5678", "CN", "+865678"},                    // a key, which finds nobody (see possiblePhone)
      {"6214830000000003", "CN", std::nullopt},     // a card number: 18 digits are no E.164 number
      {"12", "CN", std::nullopt},
      {"13812345678", "XX", std::nullopt},          // no country code for that region
  };
  for (const Case& c : cases) {
    INFO(c.input << " at home in " << c.home);
    CHECK(phoneLookupKey(c.input, c.home) == c.key);
  }
  CHECK_FALSE(loyalty::possiblePhone("+865678"));  // the last 4 digits: no Chinese number is that short
  CHECK(loyalty::possiblePhone("+8613812345678"));
  CHECK(loyalty::possiblePhone("+390612345678"));  // Italy keeps its leading zero
  CHECK_FALSE(loyalty::possiblePhone("+999123456"));
  CHECK_FALSE(loyalty::possiblePhone("13812345678"));
  // Wherever it gives a key for a valid number, it is the number normalizePhone gives.
  for (const char* typed : {"13812345678", "+44 7700 900123", "0712 123456"}) {
    const char* home = typed[0] == '0' ? "KE" : "CN";
    auto normal = loyalty::normalizePhone(typed, home);
    REQUIRE(normal);
    CHECK(phoneLookupKey(typed, home) == *normal);
  }
}
