#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "loyalty/core/card.hpp"
#include "loyalty/core/text.hpp"
#include "loyalty/core/time.hpp"

using namespace loyalty;

TEST_CASE("Luhn check digits", "[core]") {
  CHECK(luhnCheckDigit("7992739871") == '3');
  CHECK(luhnValid("79927398713"));
  CHECK_FALSE(luhnValid("79927398714"));
  CHECK(luhnValid("4111111111111111"));
  CHECK_FALSE(luhnValid("4111111111111112"));
  CHECK_FALSE(luhnValid("41111a1111111111"));
}

TEST_CASE("card numbers are read as people type them and refused when mistyped", "[core]") {
  CHECK(*parseCardNumber("4111 1111 1111 1111", "card_no") == "4111111111111111");
  CHECK(*parseCardNumber("4111-1111-1111-1111", "card_no") == "4111111111111111");
  auto typo = parseCardNumber("4111 1111 1111 1121", "card_no");
  REQUIRE_FALSE(typo.hasValue());
  CHECK(typo.error().field == "card_no");
  CHECK_FALSE(parseCardNumber("12345", "card_no").hasValue());
  CHECK_FALSE(parseCardNumber("4111x1111", "card_no").hasValue());
}

TEST_CASE("issued card numbers are 16 digits, valid, and differ by random input", "[core]") {
  for (std::uint64_t r : {0ULL, 1ULL, 123456789ULL, ~0ULL}) {
    const std::string card = issueCardNumber(r);
    CHECK(card.size() == 16);
    CHECK(card[0] == '8');
    CHECK(luhnValid(card));
  }
  CHECK(issueCardNumber(1) != issueCardNumber(2));
}

TEST_CASE("member QR payload round-trips and rejects foreign codes", "[core]") {
  const std::string card = issueCardNumber(42);
  CHECK(cardFromQrPayload(memberQrPayload(card)) == card);
  CHECK_FALSE(cardFromQrPayload("https://example.invalid/x").has_value());
  CHECK_FALSE(cardFromQrPayload("LOYALTY:M1:1234567890123").has_value());  // bad check digit
}

TEST_CASE("names normalise for search and yield given-name keys", "[core]") {
  CHECK(normalizeName("  John   SMITH ") == "john smith");
  CHECK(normalizeName("ＡＢＣ　王") == "abc 王");
  const auto keys = nameSearchKeys("王小明");
  CHECK(keys == std::vector<std::string>{"王小明", "小明"});
  const auto compound = nameSearchKeys("欧阳娜娜");
  CHECK(std::find(compound.begin(), compound.end(), "娜娜") != compound.end());
  CHECK(nameSearchKeys("王伟") == std::vector<std::string>{"王伟"});
  CHECK(nameSearchKeys("john smith") == std::vector<std::string>{"john smith", "smith"});
}

TEST_CASE("prefix upper bound brackets every continuation", "[core]") {
  const std::string p = "王";
  const std::string ub = prefixUpperBound(p);
  for (const char* s : {"王", "王小明", "王\xF4\x8F\xBF\xBF", "王a"}) {
    CHECK(std::string(s) >= p);
    CHECK(std::string(s) < ub);
  }
  CHECK(std::string("珍") >= ub);  // a later character (U+73CD > U+738B) is outside
}

TEST_CASE("UTF-8 validation", "[core]") {
  CHECK(isValidUtf8("王小明 abc"));
  CHECK_FALSE(isValidUtf8("\xC0\xAF"));          // overlong
  CHECK_FALSE(isValidUtf8("\xED\xA0\x80"));      // surrogate
  CHECK_FALSE(isValidUtf8("\xE7\x8E"));          // truncated
  CHECK(utf8Length("王小明") == 3);
}

TEST_CASE("RFC 3339 times with offsets become UTC", "[core]") {
  CHECK(formatRfc3339(*parseRfc3339("2026-11-23T08:30:00Z", "at")) == "2026-11-23T08:30:00Z");
  CHECK(formatRfc3339(*parseRfc3339("2026-11-23T16:30:00+08:00", "at")) == "2026-11-23T08:30:00Z");
  CHECK(formatRfc3339(*parseRfc3339("2026-01-01T00:30:00.123+01:00", "at")) == "2025-12-31T23:30:00Z");
  for (const char* bad : {"2026-11-23", "2026-11-23T08:30:00", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                          "2026-11-23T24:00:00Z", "yesterday", "2026-11-23T08:30:00+0800"}) {
    INFO(bad);
    auto t = parseRfc3339(bad, "at");
    REQUIRE_FALSE(t.hasValue());
    CHECK(t.error().field == "at");
  }
}

TEST_CASE("dates must be real calendar days", "[core]") {
  CHECK(formatDate(*parseDate("2024-02-29", "birthday")) == "2024-02-29");
  CHECK_FALSE(parseDate("2023-02-29", "birthday").hasValue());
  CHECK_FALSE(parseDate("1990-1-5", "birthday").hasValue());
}

TEST_CASE("times and dates are written as the printf formats %04d-%02u-%02uT%02d:%02d:%02dZ and %04d-%02u-%02u write them", "[core]") {
  using namespace std::chrono;
  const auto reference = [](Timestamp t, bool time) {
    const auto day = floor<days>(t);
    const Date d{day};
    const hh_mm_ss<seconds> tod{t - day};
    char buf[64];
    if (time) {
      std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(d.year()), static_cast<unsigned>(d.month()),
                    static_cast<unsigned>(d.day()), static_cast<int>(tod.hours().count()), static_cast<int>(tod.minutes().count()),
                    static_cast<int>(tod.seconds().count()));
    } else {
      std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()), static_cast<unsigned>(d.month()),
                    static_cast<unsigned>(d.day()));
    }
    return std::string(buf);
  };
  std::vector<Timestamp> times;
  // Every day of 1999 to 2001 at a moving time of day, and edges: year 0, 9999, 10000, before 0.
  for (Timestamp t = sys_days{Date{year{1999}, month{1}, day{1}}}; t < sys_days{Date{year{2002}, month{1}, day{1}}};
       t += hours{24} + seconds{3'607}) {
    times.push_back(t);
  }
  for (const int y : {-1, 0, 9, 999, 1900, 2026, 2200, 9999, 10000, 32767}) {
    times.push_back(sys_days{Date{year{y}, month{1}, day{1}}});
    times.push_back(sys_days{Date{year{y}, month{12}, day{31}}} + hours{23} + minutes{59} + seconds{59});
  }
  for (const Timestamp t : times) {
    INFO(t.time_since_epoch().count());
    CHECK(formatRfc3339(t) == reference(t, true));
    CHECK(formatDate(Date{floor<days>(t)}) == reference(t, false));
  }
}
