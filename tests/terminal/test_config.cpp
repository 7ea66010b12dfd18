#include <catch2/catch.hpp>

#include "loyalty/terminal/config.hpp"

using namespace loyalty;
using namespace loyalty::terminal;

namespace {

TerminalSettings good(const std::string& text) {
  auto r = parseConfig(text, "t.toml");
  if (auto* e = std::get_if<ConfigError>(&r)) FAIL(e->toString());
  return std::get<TerminalSettings>(r);
}

ConfigError bad(const std::string& text) {
  auto r = parseConfig(text, "t.toml");
  REQUIRE(std::holds_alternative<ConfigError>(r));
  return std::get<ConfigError>(r);
}

}  // namespace

TEST_CASE("an empty configuration gives the documented defaults", "[terminal]") {
  const TerminalSettings s = good("");
  CHECK(s.store.language == "zh-CN");
  CHECK(s.store.phoneRegion == "CN");
  CHECK(s.store.timezone == "UTC");
  CHECK(s.rules.earnPointsPerUnit == 1);
  CHECK(s.rules.redeemPointsPerUnit == 100);
  CHECK(s.rules.supervisorPinAbovePoints == 2000);
  CHECK(s.rules.offlineRedeemAllowance == 500);
  REQUIRE(s.rules.tiers.size() == 4);
  CHECK(s.rules.tiers[1].name == "silver");
  CHECK(s.rules.tiers[1].threshold.toString() == "2000.00");
  CHECK(s.rules.tiers[3].multiplier.tenThousandths() == 20000);
  CHECK(s.rules.promotions.empty());
}

TEST_CASE("the shipped example configuration is valid", "[terminal]") {
  auto r = loadConfig(std::string(LOYALTY_SOURCE_DIR) + "/packaging/config/terminal.example.toml");
  if (auto* e = std::get_if<ConfigError>(&r)) FAIL(e->toString());
  const auto& s = std::get<TerminalSettings>(r);
  CHECK(s.rules.promotions.size() == 5);
  CHECK(s.rules.promotions[3].weekday == 3);
  CHECK(s.rules.tiers.size() == 4);
}

TEST_CASE("settings are read with their types", "[terminal]") {
  const TerminalSettings s = good(R"(
[store]
id = "S042"
timezone = "Asia/Shanghai"
phone_region = "GB"
[loyalty]
expiry = "months:24"
earn_points_per_unit = 2
[stacking]
multipliers = "multiply"
)");
  CHECK(s.storeIdSet);
  CHECK(s.store.id == "S042");
  CHECK(s.store.phoneRegion == "GB");
  CHECK(s.rules.expiry.kind == ExpiryRule::Kind::kMonths);
  CHECK(s.rules.expiry.months == 24);
  CHECK(s.rules.earnPointsPerUnit == 2);
  CHECK(s.rules.stacking.multiplyMultipliers);
}

TEST_CASE("unknown keys and bad values are refused with line and key", "[terminal]") {
  struct Case {
    const char* text;
    int line;
    const char* key;
  };
  const Case cases[] = {
      {"[store]\nlanguage = \"fr\"\n", 2, "store.language"},
      {"[store]\nlangauge = \"en\"\n", 2, "store.langauge"},
      {"[shop]\nid = \"x\"\n", 1, "shop"},
      {"[store]\ntimezone = \"Mars/Base\"\n", 2, "store.timezone"},
      {"[store]\nphone_region = \"XX\"\n", 2, "store.phone_region"},
      {"[loyalty]\n\nearn_points_per_unit = \"1\"\n", 3, "loyalty.earn_points_per_unit"},
      {"[loyalty]\nexpiry = \"months:0\"\n", 2, "loyalty.expiry"},
      {"[loyalty]\nredeem_points_per_unit = 0\n", 2, "loyalty.redeem_points_per_unit"},
      {"[[tier]]\nname = \"member\"\nthreshold = 0\n", 3, "tier[0].threshold"},
      {"[[tier]]\nname = \"member\"\nthreshold = \"0\"\n[[tier]]\nname = \"gold\"\nthreshold = \"0\"\n", 4, "tier[1].threshold"},
      {"[[promotion]]\nid = \"p\"\nkind = \"lottery\"\n", 1, "promotion[0].kind"},
      {"[[promotion]]\nid = \"p\"\nkind = \"spend_discount\"\nthreshold = \"300\"\n", 1, "promotion[0].amount"},
      {"[[promotion]]\nid = \"p\"\nkind = \"spend_gift\"\nthreshold = \"300\"\ngift_sku = \"G\"\nmultiplier = \"2\"\n", 6,
       "promotion[0].multiplier"},
      {"[[promotion]]\nid = \"p\"\nkind = \"points_multiplier\"\nmultiplier = \"2\"\nfrom = \"2026-01-01\"\n", 5,
       "promotion[0].from"},
      {"[[promotion]]\nid = \"p\"\nkind = \"points_multiplier\"\nmultiplier = \"2\"\nweekday = 8\n", 5, "promotion[0].weekday"},
      {"[stacking]\nmultipliers = \"sum\"\n", 2, "stacking.multipliers"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    const ConfigError e = bad(c.text);
    CHECK(e.file == "t.toml");
    CHECK(e.line == c.line);
    CHECK(e.key == c.key);
    CHECK_FALSE(e.reason.empty());
  }
}

TEST_CASE("TOML syntax errors name the line", "[terminal]") {
  const ConfigError e = bad("[store]\nid = \n");
  CHECK(e.line == 2);
  CHECK(e.toString().starts_with("t.toml:2: "));
}

TEST_CASE("The survey section sets the customer display's question and its dimensions, strictly", "[terminal]") {
  const TerminalSettings defaults = good("");
  CHECK(defaults.survey.scale == "csat5");
  CHECK(defaults.survey.dimensions.empty());
  const TerminalSettings s = good(
      "[survey]\nscale = \"nps10\"\n"
      "dimensions = [\"tangibles\", \"reliability\", \"responsiveness\", \"assurance\", \"empathy\"]\n");
  CHECK(s.survey.scale == "nps10");
  CHECK(s.survey.dimensions ==
        std::vector<std::string>{"tangibles", "reliability", "responsiveness", "assurance", "empathy"});
  CHECK(good("[survey]\ndimensions = [\"环境\"]\n").survey.dimensions == std::vector<std::string>{"环境"});

  const ConfigError scale = bad("[survey]\nscale = \"stars\"\n");
  CHECK(scale.key == "survey.scale");
  CHECK(scale.line == 2);
  CHECK(bad("[survey]\ndimensions = [\"courtesy\", \"courtesy\"]\n").key == "survey.dimensions");
  CHECK(bad("[survey]\ndimensions = [\"\"]\n").key == "survey.dimensions");
  CHECK(bad("[survey]\ndimensions = [\" padded\"]\n").key == "survey.dimensions");
  CHECK(bad("[survey]\ndimensions = [\"" + std::string(33, 'x') + "\"]\n").key == "survey.dimensions");
  CHECK(bad("[survey]\ndimensions = [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]\n").key == "survey.dimensions");
  CHECK(bad("[survey]\ndimensions = [1]\n").key == "survey.dimensions");
  CHECK(bad("[survey]\nquestions = 3\n").key == "survey.questions");
}
