// End to end under Xvfb, as a cashier: a refund of one line of a two-line sale (the receipt
// number typed on the touch keypad, the preview, one line kept, the confirmation) and an exchange
// (the receipt typed on a keyboard, the line taken to the sale screen, the new item paid, the
// difference shown). Results checked in the database; screenshots in build/screenshots/refund-*.png.
#include <catch2/catch.hpp>

#include <filesystem>

#include "../support/temp_dir.hpp"
#include "counter_driver.hpp"
#include "loyalty/terminal/member_repository.hpp"
#include "loyalty/terminal/store.hpp"

using namespace loyalty;
using test::Driver;
using test::queryInt;
using test::runTerminal;

TEST_CASE("Counter app under Xvfb: refund one line of a two-line sale, then an exchange", "[ui][e2e]") {
  if (!test::haveProgram("Xvfb") || !test::haveProgram("xdotool") || !test::haveProgram("import")) {
    WARN("XVFB NOT FOUND: Xvfb, xdotool or import missing; the window test is skipped");
    return;
  }
  test::TempDir dir;
  const std::string data = dir.str() + "/store";
  runTerminal({"staff", "add", "--data", data, "--id", "7", "--name", "李娜"}, "1234\n");
  runTerminal(
      {"exec", "--data", data},
      R"({"id":1,"op":"enroll","phone":"138 0013 8000","name":"王小明","consent_marketing":true})" "\n"
      R"({"id":2,"op":"sale","sale_id":"T3-S1","member":"13800138000","staff_id":"7","lines":[)"
      R"({"sku":"TEA","description":"绿茶","qty":2,"unit_price":"30.00"},)"
      R"({"sku":"POT","description":"茶壶","qty":1,"unit_price":"150.00"}]})" "\n"
      R"({"id":3,"op":"sale","sale_id":"T3-S2","member":"13800138000","staff_id":"7","lines":[)"
      R"({"sku":"SHOE-41","description":"跑鞋 41码","qty":1,"unit_price":"200.00"}]})" "\n");

  const std::string shots = LOYALTY_SCREENSHOT_DIR;
  std::filesystem::create_directories(shots);
  test::Xvfb x(1824, 768, dir.str() + "/xvfb.log");
  const std::string tapMap = dir.str() + "/taps.txt";
  const std::string customer = tapMap + ".customer";
  std::vector<std::string> env{"DISPLAY=" + x.display()};
  if (std::getenv("LOYALTY_SANITIZED")) env.push_back("ASAN_OPTIONS=detect_leaks=0");
  test::Spawned app({test::terminalBinary(), "--data", data, "--windowed", "--size", "1024x768", "--customer-display",
                     "--lang", "zh-CN", "--tap-map", tapMap},
                    env, dir.str() + "/app.log");
  Driver d{x, tapMap, shots, 0, "refund-"};

  d.waitFor("login-key-ok");
  d.typeSlowly("7");
  d.key("Return");
  d.typeSlowly("1234");
  d.key("Return");

  // The receipt number, letters and '-' included, on the touch keypad.
  d.tap("go-refund");
  for (const char* k : {"refund-key-T", "refund-key-3", "refund-key-dash", "refund-key-S", "refund-key-1"}) d.tap(k);
  d.screenshot("receipt-typed");
  d.tap("refund-submit");
  d.waitFor("refund-amount=210.00");  // everything, to start with
  d.screenshot("preview-whole");
  // The pot stays with the customer: only the teas come back.
  d.tap("refund-line-1-minus");
  d.waitFor("refund-amount=60.00");
  d.screenshot("preview-one-line");
  d.tap("refund-review");
  d.waitFor("refund-confirm");
  d.screenshot("review");
  d.tap("refund-confirm");
  d.waitFor("refund-result");
  d.waitIn(customer, "customer-refund");
  d.screenshot("done");

  // An exchange: the shoes come back, a bigger size goes out; the customer pays the difference.
  d.tap("refund-another");
  d.waitFor("refund-submit");
  d.typeSlowly("T3-S2");
  d.key("Return");
  d.waitFor("refund-amount=200.00");
  d.tap("refund-exchange");
  d.waitFor("exchange-cancel");
  d.typeSlowly("230");
  d.screenshot("exchange-sale");
  d.tap("sale-key-ok");
  d.waitFor("refund-result", "exchange-cancel");
  d.screenshot("exchange-done");
  d.tap("refund-done");
  REQUIRE(app.stop() == 0);

  db::Database db = terminal::openTerminalDatabase(data);
  CHECK(queryInt(db, "SELECT COUNT(*) FROM refunds WHERE sale_id = 'T3-S1' AND amount = 6000 AND points_reversed = 60") == 1);
  CHECK(queryInt(db, "SELECT refunded_qty FROM sale_lines WHERE sale_id = 'T3-S1' AND sku = 'TEA'") == 2);
  CHECK(queryInt(db, "SELECT refunded_qty FROM sale_lines WHERE sale_id = 'T3-S1' AND sku = 'POT'") == 0);
  // One key: the exchange's refund and its sale share the id.
  CHECK(queryInt(db, "SELECT COUNT(*) FROM refunds r JOIN sales s ON s.sale_id = r.refund_id "
                     "WHERE r.sale_id = 'T3-S2' AND r.amount = 20000 AND s.total = 23000") == 1);
  const auto member = terminal::MemberRepository(db).byPhone("+8613800138000");
  REQUIRE(member);
  CHECK(member->balance == 210 + 200 - 60 - 200 + 230);
}
