// End to end under Xvfb, as a cashier with a keyboard, a hardware keypad and a keyboard-wedge
// scanner: keys reach the focused field on every screen, Backspace/Escape/Ctrl+A correct it,
// stray keys never spoil a scan, an open sale never carries over to the next customer, and the
// customer display follows the cart and the balance. Results are checked in the database;
// screenshots go to build/screenshots/input-*.png.
#include <catch2/catch.hpp>

#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "../support/temp_dir.hpp"
#include "counter_driver.hpp"
#include "loyalty/terminal/member_repository.hpp"
#include "loyalty/terminal/store.hpp"

using namespace loyalty;
using namespace std::chrono_literals;
using test::Driver;
using test::queryInt;
using test::runTerminal;

namespace {

bool haveXvfbTools() {
  if (test::haveProgram("Xvfb") && test::haveProgram("xdotool") && test::haveProgram("import")) return true;
  WARN("XVFB NOT FOUND: Xvfb, xdotool or import missing; the window test is skipped");
  return false;
}

/// A store with two members (王小明 silver with 3596 points, 李雷 with 0) and staff 7 / PIN 1234,
/// supervisor 9 / PIN 246813; returns the card numbers by name.
std::map<std::string, std::string> seedStore(const std::string& data, const std::string& extra = "") {
  runTerminal({"staff", "add", "--data", data, "--id", "7", "--name", "李娜"}, "1234\n");
  runTerminal({"staff", "add", "--data", data, "--id", "9", "--name", "王经理", "--role", "supervisor"}, "246813\n");
  const std::string out = runTerminal(
      {"exec", "--data", data},
      R"({"id":1,"op":"enroll","phone":"138 0013 8000","name":"王小明","consent_marketing":true})" "\n"
      R"({"id":2,"op":"enroll","phone":"139 1111 2222","name":"李雷","consent_marketing":false})" "\n"
      R"({"id":3,"op":"sale","sale_id":"SEED-1","member":"13800138000","lines":[{"sku":"OIL","qty":40,"unit_price":"89.90"}]})" "\n" +
          extra);
  std::map<std::string, std::string> cards;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("result") && j["result"].is_object() && j["result"].contains("card_no")) {
      cards[j["result"]["name"].get<std::string>()] = j["result"]["card_no"].get<std::string>();
    }
  }
  REQUIRE(cards.size() >= 2);
  return cards;
}

std::int64_t balanceOf(const std::string& data, const std::string& phone) {
  db::Database db = terminal::openTerminalDatabase(data);
  const auto m = terminal::MemberRepository(db).byPhone(phone);
  REQUIRE(m);
  return m->balance;
}

struct Counter {
  test::TempDir dir;
  std::string data = dir.str() + "/store";
  std::string tapMap = dir.str() + "/taps.txt";
  std::string customer = tapMap + ".customer";
};

}  // namespace

TEST_CASE("Counter app under Xvfb: keyboard, keypad and scanner reach the right field", "[ui][e2e]") {
  if (!haveXvfbTools()) return;
  Counter c;
  const auto cards = seedStore(c.data);
  const std::string shots = LOYALTY_SCREENSHOT_DIR;
  std::filesystem::create_directories(shots);
  test::Xvfb x(1824, 768, c.dir.str() + "/xvfb.log");
  std::vector<std::string> env{"DISPLAY=" + x.display()};
  if (std::getenv("LOYALTY_SANITIZED")) env.push_back("ASAN_OPTIONS=detect_leaks=0");
  test::Spawned app({test::terminalBinary(), "--data", c.data, "--windowed", "--size", "1024x768", "--customer-display",
                     "--lang", "zh-CN", "--tap-map", c.tapMap},
                    env, c.dir.str() + "/app.log");
  Driver d{x, c.tapMap, shots, 0, "input-"};

  // Sign in from the keyboard: a wrong key corrected with Backspace.
  d.waitFor("login-key-ok");
  d.typeSlowly("78");
  d.key("BackSpace Return");
  d.typeSlowly("1234");
  d.key("Return");

  // Lookup: Backspace, Escape and Ctrl+A correct the number; Return opens the one match.
  d.waitFor("lookup-number");
  d.typeSlowly("80001");
  d.key("BackSpace");
  d.key("Escape");  // everything gone: what follows is a new number
  d.typeSlowly("1111");
  d.key("ctrl+a");
  d.typeSlowly("80001");
  d.key("BackSpace");
  d.screenshot("lookup-typed");
  d.key("Return");
  d.waitFor("member-sale");
  d.waitIn(c.customer, "customer-balance=3596");

  // A stray key on the member panel, then a scanned QR: the other member opens at once.
  d.typeSlowly("7");
  std::this_thread::sleep_for(1s);
  d.scan("LOYALTY:M1:" + cards.at("李雷"));
  d.waitIn(c.customer, "customer-balance=0");
  d.waitFor("member-sale", "lookup-number");
  d.screenshot("scanned-member");

  // Back to 王小明 by scanning his card number; a sale typed on the keyboard and the number
  // keypad, a line deleted, the cart and total on the customer display.
  d.scan(cards.at("王小明"));
  d.waitIn(c.customer, "customer-balance=3596");
  d.tap("member-sale");
  d.waitFor("sale-key-ok");
  d.typeSlowly("99");
  d.key("Return");  // a line of 99.00
  d.typeSlowly("128.5");
  d.key("Return");  // a line of 128.50
  d.tap("sale-line-del-0");  // the 99.00 goes
  d.key("KP_2 KP_Decimal KP_5");
  d.waitIn(c.customer, "customer-cart-total=131.00");
  d.screenshot("sale-keyboard-and-keypad");
  d.tap("sale-key-ok");
  d.waitFor("receipt-member");
  d.tap("survey-skip", c.customer);
  d.tap("receipt-member");

  // Points for cash from the keyboard, then above the threshold with the supervisor's PIN typed.
  d.waitFor("member-redeem", "receipt-member");
  d.tap("member-redeem");
  d.tap("redeem-tab-points");
  d.typeSlowly("500");
  d.key("Return");
  d.waitFor("redeem-confirm");
  d.key("Return");
  d.waitFor("member-redeem", "redeem-confirm");
  d.tap("member-redeem");
  d.tap("redeem-tab-points");
  d.typeSlowly("2500");
  d.key("Return");
  d.waitFor("redeem-pin-key-1");
  d.typeSlowly("246813");
  d.screenshot("redeem-pin-typed");
  d.key("Return");
  d.waitFor("member-redeem", "redeem-confirm");
  // 3596 + 157 (131.00 at silver's 1.2) - 500 - 2500: the customer display says the balance now.
  d.waitIn(c.customer, "customer-balance=753");
  d.screenshot("customer-balance-after-redeem");

  // Enrolment from the keyboard: Return moves to the next field and never leaves the form.
  d.tap("nav-lookup");
  d.tap("go-enroll");
  d.typeSlowly("13912345678");
  d.key("Return");
  d.typeSlowly("19900101");
  d.key("Return");
  d.tap("enroll-name");
  d.typeSlowly("Lucy Li");
  d.screenshot("enroll-typed");
  d.tap("enroll-submit");
  d.waitFor("member-sale");

  // Refund: the receipt number typed without tapping its field first.
  std::string saleId;
  {
    db::Database reader(c.data + "/terminal.db", db::OpenOptions{true});
    auto q = reader.query("SELECT sale_id FROM sales WHERE sale_id != 'SEED-1'");
    REQUIRE(q.step());
    saleId = q.text("sale_id");
  }
  d.tap("nav-lookup");
  d.tap("go-refund");
  d.waitFor("refund-submit");
  d.typeSlowly(saleId);
  d.tap("refund-submit");
  d.tap("refund-review");  // the preview: every line, to start with
  d.tap("refund-confirm");
  d.waitFor("refund-result");
  d.waitIn(c.customer, "customer-refund");
  d.screenshot("refund-customer-display");
  d.tap("refund-done");
  REQUIRE(app.stop() == 0);

  db::Database db = terminal::openTerminalDatabase(c.data);
  CHECK(queryInt(db, "SELECT COUNT(*) FROM sales WHERE sale_id != 'SEED-1' AND total = 13100") == 1);
  CHECK(queryInt(db, "SELECT COUNT(*) FROM redemptions WHERE points = 500") == 1);
  CHECK(queryInt(db, "SELECT COUNT(*) FROM redemptions WHERE points = 2500") == 1);
  CHECK(queryInt(db, "SELECT COUNT(*) FROM refunds WHERE sale_id = '" + saleId + "'") == 1);
  const auto lucy = terminal::MemberRepository(db).byPhone("+8613912345678");
  REQUIRE(lucy);
  CHECK(lucy->name == "Lucy Li");
  CHECK(lucy->birthday == std::optional<std::string>("1990-01-01"));
}

TEST_CASE("Counter app under Xvfb: a cancelled sale never reaches the next customer", "[ui][e2e]") {
  if (!haveXvfbTools()) return;
  Counter c;
  const auto cards = seedStore(c.data);
  const std::string shots = LOYALTY_SCREENSHOT_DIR;
  std::filesystem::create_directories(shots);
  test::Xvfb x(1824, 768, c.dir.str() + "/xvfb.log");
  std::vector<std::string> env{"DISPLAY=" + x.display()};
  if (std::getenv("LOYALTY_SANITIZED")) env.push_back("ASAN_OPTIONS=detect_leaks=0");
  test::Spawned app({test::terminalBinary(), "--data", c.data, "--windowed", "--size", "1024x768", "--customer-display",
                     "--lang", "zh-CN", "--tap-map", c.tapMap},
                    env, c.dir.str() + "/app.log");
  Driver d{x, c.tapMap, shots, 0, "cancel-"};
  const auto signIn = [&] {
    d.waitFor("login-key-ok");
    d.typeSlowly("7");
    d.key("Return");
    d.typeSlowly("1234");
    d.key("Return");
    d.waitFor("go-sale-anon");
  };
  signIn();

  // Cancel with a cart asks; "discard" empties it.
  d.tap("go-sale-anon");
  d.typeSlowly("50");
  d.key("Return");
  d.tap("sale-cancel");
  d.waitFor("confirm-yes");
  d.screenshot("cancel-asks");
  d.tap("confirm-yes");
  d.tap("go-sale-anon");
  d.typeSlowly("1");
  d.tap("sale-key-ok");
  d.waitFor("receipt-done");
  d.tap("receipt-done");

  // Sign-out with a cart asks too; the next cashier's sale has only their own line.
  d.tap("go-sale-anon");
  d.typeSlowly("77");
  d.key("Return");
  d.tap("nav-signout");
  d.tap("confirm-yes");
  signIn();
  d.tap("go-sale-anon");
  d.typeSlowly("2");
  d.tap("sale-key-ok");
  d.waitFor("receipt-done");
  d.tap("receipt-done");

  // A member's card scanned mid-sale asks: first "ignore" keeps the sale as it was, then the
  // member joins the sale and earns its points.
  d.tap("go-sale-anon");
  d.typeSlowly("10");
  d.key("Return");
  d.scan(cards.at("李雷"));
  d.waitFor("scan-ignore");
  d.screenshot("scan-mid-sale-asks");
  d.tap("scan-ignore");
  d.waitFor("sale-key-ok");
  d.scan("LOYALTY:M1:" + cards.at("李雷"));
  d.tap("scan-join");
  d.waitIn(c.customer, "customer-balance=0");
  d.waitIn(c.customer, "customer-cart-total=10.00");
  d.screenshot("scan-joined-sale");
  d.tap("sale-key-ok");
  d.waitFor("receipt-member");
  d.tap("survey-skip", c.customer);
  d.tap("receipt-done");
  REQUIRE(app.stop() == 0);

  db::Database db = terminal::openTerminalDatabase(c.data);
  CHECK(queryInt(db, "SELECT COUNT(*) FROM sales WHERE sale_id != 'SEED-1'") == 3);
  CHECK(queryInt(db, "SELECT COUNT(*) FROM sales WHERE member_id IS NULL AND total = 100") == 1);
  CHECK(queryInt(db, "SELECT COUNT(*) FROM sales WHERE member_id IS NULL AND total = 200") == 1);
  CHECK(queryInt(db, "SELECT COUNT(*) FROM sales WHERE total IN (5000, 7700, 5100, 7900)") == 0);
  CHECK(queryInt(db, "SELECT COUNT(*) FROM sales WHERE member_id IS NOT NULL AND sale_id != 'SEED-1' AND total = 1000") == 1);
  CHECK(balanceOf(c.data, "+8613911112222") == 10);
}

TEST_CASE("Counter app under Xvfb: fits 1280x800, lists scroll by dragging, the menu stays", "[ui][e2e]") {
  if (!haveXvfbTools()) return;
  Counter c;
  // 30 members whose numbers end in 0000: more matches than the list shows at once.
  std::string enrol;
  for (int i = 0; i < 30; ++i) {
    char line[160];
    std::snprintf(line, sizeof line,
                  R"({"id":%d,"op":"enroll","phone":"1390%03d0000","name":"会员%d","consent_marketing":false})" "\n",
                  100 + i, 100 + i, i);
    enrol += line;
  }
  seedStore(c.data, enrol);
  const std::string shots = LOYALTY_SCREENSHOT_DIR;
  std::filesystem::create_directories(shots);
  test::Xvfb x(1280, 800, c.dir.str() + "/xvfb.log");
  std::vector<std::string> env{"DISPLAY=" + x.display()};
  if (std::getenv("LOYALTY_SANITIZED")) env.push_back("ASAN_OPTIONS=detect_leaks=0");
  test::Spawned app({test::terminalBinary(), "--data", c.data, "--windowed", "--size", "1280x800", "--lang", "zh-CN",
                     "--tap-map", c.tapMap},
                    env, c.dir.str() + "/app.log");
  Driver d{x, c.tapMap, shots, 0, "fit-"};
  d.waitFor("login-key-ok");
  d.typeSlowly("7");
  d.key("Return");
  d.typeSlowly("1234");
  d.key("Return");

  // A finger drags the long result list up: it scrolls, and the drag opens nobody.
  d.waitFor("lookup-number");
  d.typeSlowly("0000");
  d.waitFor("result-19");  // a lookup lists 20 at most
  d.screenshot("results");
  const auto before = test::readTapMap(c.tapMap);
  const auto [lx, ly] = before.at("result-4");
  std::string drag = "xdotool mousemove " + std::to_string(lx) + " " + std::to_string(ly) + " mousedown 1";
  for (int step = 1; step <= 6; ++step) {
    drag += " sleep 0.1 mousemove " + std::to_string(lx) + " " + std::to_string(ly - step * 50);
  }
  drag += " sleep 0.2 mouseup 1";
  REQUIRE(d.x.run(drag));
  std::this_thread::sleep_for(700ms);
  const auto after = test::readTapMap(c.tapMap);
  REQUIRE(after.count("result-0"));
  CHECK(after.at("result-0").second < before.at("result-0").second - 100);
  CHECK_FALSE(after.count("member-sale"));
  d.screenshot("results-dragged");

  // Points for cash: all of it on the screen, the wheel does not scroll the menu away.
  d.key("Escape");
  d.typeSlowly("8000");
  d.key("Return");
  d.waitFor("member-redeem");
  d.tap("member-redeem");
  d.tap("redeem-tab-points");
  d.waitFor("redeem-key-ok");
  const auto nav = test::readTapMap(c.tapMap).at("nav-lookup");
  REQUIRE(d.x.run("xdotool mousemove " + std::to_string(nav.first) + " " + std::to_string(nav.second) +
                  " click 5 click 5 click 5 click 5"));
  std::this_thread::sleep_for(500ms);
  for (const char* id : {"redeem-key-ok", "redeem-cancel", "redeem-points"}) {
    std::ifstream in(c.tapMap);
    std::string line;
    bool seen = false;
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string name;
      int rx = 0, ry = 0, rw = 0, rh = 0;
      if (f >> name >> rx >> ry >> rw >> rh && name == id) {
        seen = true;
        INFO(id << " at y " << ry << " height " << rh);
        CHECK(ry + rh <= 800);
        CHECK(rh >= 48);
      }
    }
    CHECK(seen);
  }
  CHECK(test::readTapMap(c.tapMap).at("nav-lookup") == nav);
  d.screenshot("points-for-cash");
  REQUIRE(app.stop() == 0);
}
