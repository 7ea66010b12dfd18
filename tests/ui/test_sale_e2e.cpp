// End to end under Xvfb, as a cashier sells: a product scanned on the member's panel opens the
// sale with it (scanned again: two), the member's price shown; a product found by its pinyin
// initials and its quantity raised; points pay part of it (all the member has, above the
// supervisor limit, so a supervisor types their PIN); the receipt shows the points paid and the
// customer answers the survey on their display. Checked in the database after.
#include <catch2/catch.hpp>

#include <filesystem>
#include <thread>

#include "../support/temp_dir.hpp"
#include "counter_driver.hpp"
#include "loyalty/terminal/member_repository.hpp"
#include "loyalty/terminal/store.hpp"

using namespace loyalty;
using namespace std::chrono_literals;

using test::Driver;
using test::queryInt;
using test::runTerminal;

TEST_CASE("Counter app under Xvfb: scan for a member, member price, points as payment, receipt, survey", "[ui][e2e]") {
  if (!test::haveProgram("Xvfb") || !test::haveProgram("xdotool") || !test::haveProgram("import")) {
    WARN("XVFB NOT FOUND: Xvfb, xdotool or import missing; the window test is skipped");
    return;
  }
  test::TempDir dir;
  const std::string data = dir.str() + "/store";
  // 会员价: members pay 20 % less for the water.
  const std::string config = dir.write("terminal.toml", R"toml(
[[promotion]]
id = "water-member-price"
kind = "member_discount"
percent = "20"
skus = ["WATER-550"]
)toml");
  runTerminal({"staff", "add", "--data", data, "--id", "7", "--name", "李娜"}, "1234\n");
  runTerminal({"staff", "add", "--data", data, "--id", "9", "--name", "王经理", "--role", "supervisor"}, "246813\n");
  runTerminal({"exec", "--data", data, "--config", config},
              R"({"id":1,"op":"product_put","sku":"WATER-550","name":"农夫山泉 550ml","price":"2.00","barcode":"6921168509256"})" "\n"
              R"({"id":2,"op":"product_put","sku":"OIL-5L","name":"金龙鱼油 5L","price":"89.90","barcode":"6948195800019"})" "\n"
              R"({"id":3,"op":"enroll","phone":"138 0013 8000","name":"王小明","consent_marketing":true})" "\n"
              R"({"id":4,"op":"sale","sale_id":"SEED-1","member":"13800138000","lines":[{"sku":"GIFTCARD","qty":1,"unit_price":"2500.00"}]})" "\n");

  const std::string shots = LOYALTY_SCREENSHOT_DIR;
  std::filesystem::create_directories(shots);
  test::Xvfb x(1824, 768, dir.str() + "/xvfb.log");
  const std::string tapMap = dir.str() + "/taps.txt";
  std::vector<std::string> env{"DISPLAY=" + x.display()};
  if (std::getenv("LOYALTY_SANITIZED")) env.push_back("ASAN_OPTIONS=detect_leaks=0");
  test::Spawned app({test::terminalBinary(), "--data", data, "--config", config, "--windowed", "--size", "1024x768",
                     "--customer-display", "--lang", "zh-CN", "--tap-map", tapMap},
                    env, dir.str() + "/app.log");
  Driver d{x, tapMap, shots, 0, "sale-"};
  const std::string customer = tapMap + ".customer";

  d.tap("login-key-7");
  d.tap("login-key-ok");
  for (const char* k : {"login-key-1", "login-key-2", "login-key-3", "login-key-4"}) d.tap(k);
  d.tap("login-key-ok");
  d.waitFor("lookup-number");
  d.typeSlowly("8000");
  d.waitFor("result-0");
  d.tap("result-0");
  d.waitFor("member-sale");
  d.waitIn(customer, "customer-balance=2500");

  // The water's barcode scanned on the member's panel: the sale opens with it; again: two.
  d.scan("6921168509256");
  d.waitFor("sale-line-del-0");
  d.scan("6921168509256");
  d.waitFor("sale-line-price-0=3.20");  // 2 × 2.00, the member's 20 % off
  d.screenshot("scanned-member-price");

  // The oil by its pinyin initials in the product search, three of it.
  d.tap("sale-search");
  d.typeSlowly("jly");
  d.tap("sale-product-0");
  d.waitFor("sale-line-del-1");
  d.tap("sale-line-plus-1");
  d.tap("sale-line-plus-1");
  d.waitFor("sale-line-price-1=269.70");
  d.waitFor("sale-to-pay=272.90");
  d.screenshot("products");

  // All the member's points pay: 2500, above the supervisor limit (2000): the supervisor's PIN.
  d.tap("sale-points-all");
  d.waitFor("sale-points-value=25.00");
  d.waitFor("sale-to-pay=247.90");
  d.tap("sale-pin");
  for (const char* k : {"sale-key-2", "sale-key-4", "sale-key-6", "sale-key-8", "sale-key-1", "sale-key-3"}) d.tap(k);
  d.screenshot("points-and-supervisor-pin");
  d.tap("sale-key-ok");
  d.waitFor("receipt-points-paid=2500");
  d.waitFor("receipt-total=247.90");
  d.screenshot("receipt");
  d.tap("survey-4", customer);
  d.screenshot("survey-answered");
  d.tap("receipt-member");
  d.waitFor("member-sale", "receipt-member");
  REQUIRE(app.stop() == 0);

  db::Database db = terminal::openTerminalDatabase(data);
  const auto member = terminal::MemberRepository(db).byPhone("+8613800138000");
  REQUIRE(member);
  const std::string sale = "(SELECT sale_id FROM sales WHERE sale_id != 'SEED-1')";
  CHECK(queryInt(db, "SELECT COUNT(*) FROM sales WHERE sale_id != 'SEED-1' AND member_id = '" + member->memberId +
                         "' AND total = 24790 AND points_redeemed = 2500") == 1);
  CHECK(queryInt(db, "SELECT COUNT(*) FROM sale_lines WHERE sale_id = " + sale + " AND sku = 'WATER-550' AND qty = 2") == 1);
  CHECK(queryInt(db, "SELECT COUNT(*) FROM sale_lines WHERE sale_id = " + sale + " AND sku = 'OIL-5L' AND qty = 3") == 1);
  CHECK(queryInt(db, "SELECT COUNT(*) FROM sale_lines WHERE sku LIKE 'ITEM-%'") == 0);
  CHECK(queryInt(db, "SELECT COUNT(*) FROM surveys WHERE score = 4 AND sale_id = " + sale) == 1);
  // The points paid with are gone, those earned on the 247.90 paid are there.
  const std::int64_t earned = queryInt(db, "SELECT points_earned FROM sales WHERE sale_id = " + sale);
  CHECK(earned >= 247);
  CHECK(member->balance == 2500 - 2500 + earned);
  runTerminal({"verify", "--data", data});
}
