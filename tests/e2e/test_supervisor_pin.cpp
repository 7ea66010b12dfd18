// Supervisor overrides through the real binary: wrong PINs count against every supervisor and
// lock overrides like sign-in does; `staff unlock` restores them; supervisor PINs have 6+ digits.
#include <catch2/catch.hpp>

#include "../support/child_process.hpp"
#include "../support/exec_client.hpp"
#include "../support/temp_dir.hpp"

using namespace loyalty::test;
using nlohmann::json;

namespace {

/// A `loyalty-terminal staff ...` command with `input` on stdin; (exit status, stdout and stderr).
std::pair<int, std::string> staff(const TempDir& dir, std::vector<std::string> args, const std::string& input = "") {
  std::vector<std::string> argv{terminalBinary(), "staff"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--data", dir.str()});
  ChildProcess p(argv, Stderr::kToStdout);
  p.write(input);
  p.closeStdin();
  std::string out;
  while (auto line = p.readLine()) out += *line + "\n";
  return {p.wait(), out};
}

json redeem(const std::string& id, const std::string& pin) {
  return {{"op", "redeem"}, {"redemption_id", id}, {"member", "13800001111"}, {"points", 2100}, {"supervisor_pin", pin}};
}

}  // namespace

TEST_CASE("wrong supervisor PINs lock overrides until staff unlock, and supervisor PINs need 6 digits", "[e2e]") {
  TempDir dir;
  {
    Exec e(dir);
    ok(e.call({{"op", "enroll"}, {"phone", "13800001111"}, {"name", "Wang"}, {"consent_marketing", false}}));
    ok(e.call({{"op", "sale"}, {"sale_id", "S1"}, {"member", "13800001111"},
               {"lines", {{{"sku", "A"}, {"qty", 1}, {"unit_price", "20000.00"}}}}}));
    REQUIRE(e.finish() == 0);
  }
  const auto [shortStatus, shortOut] = staff(dir, {"add", "--id", "9", "--name", "Boss", "--role", "supervisor"}, "2468\n");
  CHECK(shortStatus != 0);
  CHECK(shortOut.find("pin") != std::string::npos);
  CHECK(shortOut.find("6") != std::string::npos);
  CHECK(staff(dir, {"add", "--id", "7", "--name", "Cashier", "--role", "cashier"}, "1234\n").first == 0);
  REQUIRE(staff(dir, {"add", "--id", "9", "--name", "Boss", "--role", "supervisor"}, "246801\n").first == 0);
  REQUIRE(staff(dir, {"add", "--id", "8", "--name", "Deputy", "--role", "supervisor"}, "135702\n").first == 0);

  Exec e(dir);
  // A PIN under 6 digits (a supervisor's from before the rule, still in an upgraded store)
  // authorises nothing, and is no try: six of them lock nothing.
  for (int i = 0; i < 6; ++i) {
    const json err = error(e.call(redeem("L" + std::to_string(i), "2468")));
    CHECK(err["field"] == "supervisor_pin");
    CHECK(err["message"].get<std::string>().find("6 to 8 digits") != std::string::npos);
  }
  // Four wrong tries, then the right PIN: it works and starts the count again.
  for (int i = 0; i < 4; ++i) {
    const json err = error(e.call(redeem("W" + std::to_string(i), "000000")));
    CHECK(err["code"] == "forbidden");
    CHECK(err["field"] == "supervisor_pin");
  }
  ok(e.call(redeem("R1", "246801")));
  // The other supervisor's count started again with a right PIN of theirs too.
  ok(e.call(redeem("R2", "135702")));
  for (int i = 0; i < 4; ++i) error(e.call(redeem("X" + std::to_string(i), "111111")));
  ok(e.call(redeem("R3", "135702")));
  ok(e.call(redeem("R4", "246801")));

  // Five wrong tries in a row lock every supervisor: even the right PIN is refused.
  for (int i = 0; i < 4; ++i) error(e.call(redeem("Y" + std::to_string(i), "222222")));
  const json fifth = error(e.call(redeem("Y4", "222222")));
  CHECK(fifth["message"].get<std::string>().find("locked") != std::string::npos);
  const json locked = error(e.call(redeem("R5", "246801")));
  CHECK(locked["code"] == "forbidden");
  CHECK(locked["message"].get<std::string>().find("locked") != std::string::npos);
  REQUIRE(e.finish() == 0);

  // The refused redemptions changed nothing else: 20000 earned, four of 2100 redeemed.
  Exec after(dir);
  CHECK(ok(after.call({{"op", "member"}, {"member", "13800001111"}}))["points"] == 20000 - 4 * 2100);
  REQUIRE(after.finish() == 0);

  CHECK(staff(dir, {"unlock", "--id", "9"}).first == 0);
  Exec unlocked(dir);
  ok(unlocked.call(redeem("R6", "246801")));
  // The other supervisor stays locked: their PIN authorises nothing.
  CHECK(error(unlocked.call(redeem("R7", "135702")))["code"] == "forbidden");
  REQUIRE(unlocked.finish() == 0);
}
