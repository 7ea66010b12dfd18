// Phones of regions the old hand-written numbering plans lacked, through `loyalty-terminal exec`.
#include <catch2/catch.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "../support/exec_client.hpp"
#include "../support/temp_dir.hpp"

using loyalty::test::error;
using loyalty::test::Exec;
using loyalty::test::ok;
using loyalty::test::TempDir;
using nlohmann::json;

namespace {

std::string writeConfig(const TempDir& dir, const std::string& region) {
  return dir.write("terminal.toml", "[store]\nphone_region = \"" + region + "\"\n");
}

}  // namespace

TEST_CASE("exec: a store in Kenya enrols, finds and sells to members by their Kenyan phones", "[e2e]") {
  TempDir dir;
  Exec exec(dir, {"--config", writeConfig(dir, "KE")});
  const json m = ok(exec.call(
      {{"op", "enroll"}, {"phone", "0712 123456"}, {"name", "Wanjiru Kamau"}, {"consent_marketing", true}}));
  CHECK(m["phone_masked"] == "712**3456");
  // A visitor's Turkish mobile, written internationally, keeps its country code when masked.
  const json visitor = ok(exec.call({{"op", "enroll"},
                                     {"phone", "+90 532 123 45 67"},
                                     {"name", "Ayse Yilmaz"},
                                     {"consent_marketing", false}}));
  CHECK(visitor["phone_masked"] == "+90 532***4567");
  ok(exec.call({{"op", "sale"},
                {"sale_id", "K1"},
                {"member", "+254 712 123456"},
                {"lines", {{{"sku", "A"}, {"qty", 1}, {"unit_price", "20.00"}}}}}));
  const json found = ok(exec.call({{"op", "lookup"}, {"query", "3456"}}));
  REQUIRE(found["matches"].size() == 1);
  CHECK(found["matches"][0]["member_id"] == m["member_id"]);

  // A Kenyan mobile one digit short is refused on its field, and nothing is added.
  const json refused = error(exec.call(
      {{"op", "enroll"}, {"phone", "0712 12345"}, {"name", "Otieno"}, {"consent_marketing", true}}));
  CHECK(refused["code"] == "invalid_argument");
  CHECK(refused["field"] == "phone");
  CHECK(refused["message"].get<std::string>().find("region KE") != std::string::npos);
  CHECK(ok(exec.call({{"op", "stats"}}))["members"] == 2);
}

TEST_CASE("exec: a store in Nigeria accepts Nigerian numbers in the national form", "[e2e]") {
  TempDir dir;
  Exec exec(dir, {"--config", writeConfig(dir, "NG")});
  const json m = ok(exec.call(
      {{"op", "enroll"}, {"phone", "0802 123 4567"}, {"name", "Chidi Okafor"}, {"consent_marketing", true}}));
  CHECK(m["phone_masked"] == "802***4567");
  const json again = error(exec.call({{"op", "enroll"},
                                      {"phone", "+234 802 123 4567"},
                                      {"name", "Chidi Okafor"},
                                      {"consent_marketing", true}}));
  CHECK(again["field"] == "phone");
}
