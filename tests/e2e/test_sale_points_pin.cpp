// Points as payment inside a sale through the real binary: above supervisor_pin_above_points the
// sale needs `supervisor_pin` (the rule of redeem), and a refused sale writes nothing.
#include <catch2/catch.hpp>

#include "../support/child_process.hpp"
#include "../support/exec_client.hpp"
#include "../support/temp_dir.hpp"

using namespace loyalty::test;
using nlohmann::json;

namespace {

json sale(const std::string& id, std::int64_t points, const std::optional<std::string>& pin = std::nullopt) {
  json j = {{"op", "sale"}, {"sale_id", id}, {"member", "13800001111"}, {"redeem_points", points},
            {"lines", {{{"sku", "A"}, {"qty", 1}, {"unit_price", "100.00"}}}}};
  if (pin) j["supervisor_pin"] = *pin;
  return j;
}

}  // namespace

TEST_CASE("exec sale: points above the limit need a supervisor's PIN, and a refusal writes nothing", "[e2e]") {
  TempDir dir;
  {
    Exec e(dir);
    ok(e.call({{"op", "enroll"}, {"phone", "13800001111"}, {"name", "Wang"}, {"consent_marketing", false}}));
    ok(e.call({{"op", "sale"}, {"sale_id", "S0"}, {"member", "13800001111"},
               {"lines", {{{"sku", "A"}, {"qty", 1}, {"unit_price", "9000.00"}}}}}));
    REQUIRE(e.finish() == 0);
  }
  ChildProcess add({terminalBinary(), "staff", "add", "--id", "9", "--name", "Boss", "--role", "supervisor", "--data",
                    dir.str()},
                   Stderr::kToStdout);
  add.write("246801\n");
  add.closeStdin();
  while (add.readLine()) {
  }
  REQUIRE(add.wait() == 0);

  Exec e(dir);
  const json noPin = error(e.call(sale("S1", 2500)));
  CHECK(noPin["code"] == "forbidden");
  CHECK(noPin["field"] == "supervisor_pin");
  const json wrong = error(e.call(sale("S1", 2500, "000000")));
  CHECK(wrong["code"] == "forbidden");
  CHECK(ok(e.call({{"op", "stats"}}))["sales"] == 1);  // nothing written
  json stranger = sale("S2", 2500, "246801");
  stranger["member"] = "13900000000";
  CHECK(error(e.call(stranger))["code"] == "not_found");  // the member before the PIN
  const json paid = ok(e.call(sale("S1", 2500, "246801")));
  CHECK(paid["points_redeemed"] == 2500);
  CHECK(paid["total"] == "75.00");
  ok(e.call(sale("S3", 2000)));  // at the limit: no PIN
  REQUIRE(e.finish() == 0);
}
