// Refunds by line with a preview, the refund supervisor rule and exchanges through the real binary
// (docs/exec-cli.md, "Refund preview and exchange").
#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "../support/child_process.hpp"
#include "../support/exec_client.hpp"
#include "../support/temp_dir.hpp"

using nlohmann::json;
using loyalty::test::error;
using loyalty::test::Exec;
using loyalty::test::ok;
using loyalty::test::TempDir;
using loyalty::test::ChildProcess;
using loyalty::test::Stderr;
using loyalty::test::terminalBinary;

TEST_CASE("exec refund_preview, refund with supervisor_pin and exchange", "[e2e]") {
  TempDir dir;
  const std::string config = dir.write("terminal.toml", "[loyalty]\nrefund_supervisor_above = \"100.00\"\n");
  {
    ChildProcess staff({terminalBinary(), "staff", "add", "--data", dir.str(), "--id", "9", "--name", "Wang", "--role",
                        "supervisor"},
                       Stderr::kToStdout);
    staff.write("246813\n");
    staff.closeStdin();
    while (staff.readLine()) {
    }
    REQUIRE(staff.wait() == 0);
  }
  Exec e(dir, {"--config", config});
  const json m = ok(e.call({{"op", "enroll"}, {"phone", "13800138000"}, {"name", "王小明"}, {"consent_marketing", false}}));
  ok(e.call({{"op", "sale"}, {"sale_id", "S1"}, {"member", m["member_id"]},
             {"lines", {{{"sku", "TEA"}, {"description", "绿茶"}, {"qty", 2}, {"unit_price", "30.00"}},
                        {{"sku", "POT"}, {"qty", 1}, {"unit_price", "150.00"}}}}}));

  const json all = ok(e.call({{"op", "refund_preview"}, {"sale_id", "S1"}}));
  CHECK(all["member"]["name"] == "王小明");
  CHECK(all["sale_total"] == "210.00");
  REQUIRE(all["lines"].size() == 2);
  CHECK(all["lines"][0]["description"] == "绿茶");
  CHECK(all["lines"][0]["refundable_qty"] == 2);
  CHECK(all["amount"] == "210.00");
  CHECK(all["supervisor_required"] == true);
  const json tea = ok(e.call({{"op", "refund_preview"}, {"sale_id", "S1"}, {"lines", {{{"sku", "TEA"}, {"qty", 1}}}}}));
  CHECK(tea["amount"] == "30.00");
  CHECK(tea["points_reversed"] == 30);
  CHECK(tea["supervisor_required"] == false);
  CHECK(error(e.call({{"op", "refund_preview"}, {"sale_id", "S9"}}))["code"] == "not_found");

  // Above 100.00 the refund needs a supervisor's PIN; refused, nothing is written.
  const json pot = {{"op", "refund"}, {"refund_id", "F1"}, {"sale_id", "S1"}, {"lines", {{{"sku", "POT"}, {"qty", 1}}}}};
  const json refused = error(e.call(pot));
  CHECK(refused["code"] == "forbidden");
  CHECK(refused["field"] == "supervisor_pin");
  json withPin = pot;
  withPin["supervisor_pin"] = "246813";
  CHECK(ok(e.call(withPin))["amount"] == "150.00");

  // An exchange: one tea back, a better tea out; the customer pays the difference.
  const json x = ok(e.call({{"op", "exchange"}, {"exchange_id", "X1"}, {"sale_id", "S1"},
                            {"return_lines", {{{"sku", "TEA"}, {"qty", 1}}}},
                            {"new_lines", {{{"sku", "TEA-GOLD"}, {"qty", 1}, {"unit_price", "45.00"}}}},
                            {"staff_id", "9"}}));
  CHECK(x["refund"]["amount"] == "30.00");
  CHECK(x["sale"]["total"] == "45.00");
  CHECK(x["difference"] == "15.00");
  const json bad = error(e.call({{"op", "exchange"}, {"exchange_id", "X2"}, {"sale_id", "S1"},
                                 {"return_lines", {{{"sku", "TEA"}, {"qty", 1}}}},
                                 {"new_lines", {{{"sku", "TEA-GOLD"}, {"qty", 1}, {"unit_price", 45}}}}}));
  CHECK(bad["field"] == "new_lines[0].unit_price");
  CHECK(error(e.call({{"op", "exchange"}, {"exchange_id", "X2"}, {"sale_id", "S1"},
                      {"new_lines", {{{"sku", "A"}, {"qty", 1}, {"unit_price", "1.00"}}}}}))["field"] == "return_lines");
  const json left = ok(e.call({{"op", "refund_preview"}, {"sale_id", "S1"}}));
  CHECK(left["lines"][0]["refunded_qty"] == 1);
  CHECK(ok(e.call({{"op", "verify"}}))["ok"] == true);
}
