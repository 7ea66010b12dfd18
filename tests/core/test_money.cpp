#include <catch2/catch.hpp>

#include "loyalty/core/money.hpp"

using loyalty::lineAmount;
using loyalty::Money;
using loyalty::UnitPrice;

TEST_CASE("money parses exact decimal strings", "[core]") {
  struct Case {
    const char* text;
    std::int64_t minor;
    const char* formatted;
  };
  const Case cases[] = {{"12.50", 1250, "12.50"}, {"12.5", 1250, "12.50"}, {"0", 0, "0.00"},
                        {"-3.00", -300, "-3.00"}, {"-0.05", -5, "-0.05"}, {"+7", 700, "7.00"},
                        {"1000000.01", 100000001, "1000000.01"}, {"0.1", 10, "0.10"}};
  for (const Case& c : cases) {
    INFO(c.text);
    auto m = Money::parse(c.text, "amount");
    REQUIRE(m.hasValue());
    CHECK(m->minor() == c.minor);
    CHECK(m->toString() == c.formatted);
  }
}

TEST_CASE("money refuses floats, too many decimals, junk and overflow, naming the field", "[core]") {
  for (const char* bad : {"", "12.505", "1e3", "12,50", " 12.50", "12.", ".5", "abc", "--1", "1.2.3",
                          "99999999999999999999", "100000000000.01", "12.50 "}) {
    INFO(bad);
    auto m = Money::parse(bad, "unit_price");
    REQUIRE_FALSE(m.hasValue());
    CHECK(m.error().code == "invalid_argument");
    CHECK(m.error().field == "unit_price");
  }
}

TEST_CASE("unit prices take up to 4 decimals and print in shortest form", "[core]") {
  CHECK(UnitPrice::parse("0.0010", "p")->tenThousandths() == 10);
  CHECK(UnitPrice::parse("2.55", "p")->toString() == "2.55");
  CHECK(UnitPrice::parse("0.001", "p")->toString() == "0.001");
  CHECK(UnitPrice::parse("25", "p")->toString() == "25.00");
  CHECK_FALSE(UnitPrice::parse("1.00001", "p").hasValue());
}

TEST_CASE("line amounts round half away from zero, negatives included", "[core]") {
  struct Case {
    std::int64_t qty;
    const char* price;
    std::int64_t minor;
  };
  const Case cases[] = {
      {1, "0.005", 1},     // 0.5 pence -> 1
      {-1, "0.005", -1},   // -0.5 pence -> -1, not 0
      {3, "0.001", 0},     // 0.3 pence -> 0
      {5, "0.001", 1},     // 0.5 pence -> 1
      {-5, "0.001", -1},
      {1, "-0.005", -1},
      {6, "2.55", 1530},
      {80995, "2.08", 16846960},
      {-80995, "2.08", -16846960},
      {7, "0.0015", 1},    // 1.05 pence -> 1
      {3, "0.0025", 1},    // 0.75 pence -> 1
  };
  for (const Case& c : cases) {
    INFO(c.qty << " x " << c.price);
    auto amount = lineAmount(c.qty, *UnitPrice::parse(c.price, "p"), "line");
    REQUIRE(amount.hasValue());
    CHECK(amount->minor() == c.minor);
  }
}

TEST_CASE("a line amount too large to be real is refused", "[core]") {
  auto price = UnitPrice::parse("99999999999", "p");
  REQUIRE(price.hasValue());
  auto amount = lineAmount(1'000'000, *price, "lines[0].unit_price");
  REQUIRE_FALSE(amount.hasValue());
  CHECK(amount.error().field == "lines[0].unit_price");
}
