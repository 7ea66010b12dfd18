// The dashboard's figures as people read them: thousands separators, ¥, "—" for none.
#include <catch2/catch.hpp>

#include "loyalty/hq/number_format.hpp"

using namespace loyalty::hq;
using nlohmann::json;

TEST_CASE("numbers for people: thousands separators, yuan, none", "[analytics]") {
  CHECK(groupThousands("0") == "0");
  CHECK(groupThousands("999") == "999");
  CHECK(groupThousands("1000") == "1,000");
  CHECK(groupThousands("2109982") == "2,109,982");
  CHECK(groupThousands("-132454") == "-132,454");
  CHECK(groupThousands("1984379.25") == "1,984,379.25");
  CHECK(groupThousands("-6.5") == "-6.5");
  CHECK(groupThousands("abc") == "abc");
  CHECK(groupThousands("12a45") == "12a45");
  CHECK(groupThousands("") == "");
  CHECK(shownNumber(json(2057)) == "2,057");
  CHECK(shownNumber(json(-33.3)) == "-33.3");
  CHECK(shownNumber(json("12345")) == "12,345");
  CHECK(shownNumber(json(nullptr)) == "—");
  CHECK(shownMoney(json("77810.00")) == "¥77,810.00");
  CHECK(shownMoney(json("-1234.50")) == "-¥1,234.50");
  CHECK(shownMoney(json("0.00")) == "¥0.00");
  CHECK(shownMoney(json(nullptr)) == "—");
}
