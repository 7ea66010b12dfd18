// End to end: the real app under Xvfb, driven by xdotool taps and typing through
// login -> lookup -> member -> sale -> receipt (+ survey on the customer display) -> redeem
// (a gift, then one above the supervisor threshold), the result checked in the database.
// Screenshots of each screen go to build/screenshots/.
#include <catch2/catch.hpp>

#include <filesystem>
#include <thread>

#include "../support/temp_dir.hpp"
#include "counter_driver.hpp"
#include "loyalty/terminal/feedback.hpp"
#include "loyalty/terminal/member_repository.hpp"
#include "loyalty/terminal/store.hpp"

using namespace loyalty;
using namespace std::chrono_literals;

using test::Driver;
using test::queryInt;
using test::runTerminal;

TEST_CASE("Counter app under Xvfb: sign in, find, sell, survey, redeem", "[ui][e2e]") {
  if (!test::haveProgram("Xvfb") || !test::haveProgram("xdotool") || !test::haveProgram("import")) {
    WARN("XVFB NOT FOUND: Xvfb, xdotool or import missing; the window test is skipped");
    return;
  }
  test::TempDir dir;
  const std::string data = dir.str() + "/store";
  runTerminal({"gen-members", "--data", data, "--count", "2000", "--seed", "5"});
  runTerminal({"staff", "add", "--data", data, "--id", "7", "--name", "李娜"}, "1234\n");
  runTerminal({"staff", "add", "--data", data, "--id", "9", "--name", "王经理", "--role", "supervisor"}, "246813\n");
  runTerminal({"exec", "--data", data},
              R"({"id":1,"op":"reward_put","reward_id":"MUG","name":"保温杯","points":300})" "\n"
              R"({"id":2,"op":"reward_put","reward_id":"OIL","name":"金龙鱼食用油 5L","points":2500})" "\n"
              R"({"id":3,"op":"reward_put","reward_id":"WASH","name":"洗车券","points":150})" "\n"
              R"({"id":4,"op":"enroll","phone":"138 0013 8000","name":"王小明","consent_marketing":true})" "\n"
              R"({"id":5,"op":"sale","sale_id":"SEED-1","member":"13800138000","lines":[{"sku":"OIL","qty":40,"unit_price":"89.90"}]})" "\n");

  const std::string shots = LOYALTY_SCREENSHOT_DIR;
  std::filesystem::create_directories(shots);
  test::Xvfb x(1824, 768, dir.str() + "/xvfb.log");
  const std::string tapMap = dir.str() + "/taps.txt";
  std::vector<std::string> env{"DISPLAY=" + x.display()};
  // Under `make sanitize` Mesa and SDL keep allocations until exit that LeakSanitizer would call
  // leaks; our own code's leaks are the headless tests' business.
  if (std::getenv("LOYALTY_SANITIZED")) env.push_back("ASAN_OPTIONS=detect_leaks=0");
  test::Spawned app({test::terminalBinary(), "--data", data, "--windowed", "--size", "1024x768", "--customer-display",
                     "--lang", "zh-CN", "--tap-map", tapMap},
                    env, dir.str() + "/app.log");
  Driver d{x, tapMap, shots, 0, ""};

  // Sign in on the keypad: staff 7, PIN 1234.
  d.tap("login-key-7");
  d.tap("login-key-ok");
  for (const char* k : {"login-key-1", "login-key-2", "login-key-3", "login-key-4"}) d.tap(k);
  d.screenshot("login");
  d.tap("login-key-ok");

  // Lookup: the last four digits typed on the keyboard (as a scanner would), one match.
  d.waitFor("lookup-number");
  d.type("8000");
  d.waitFor("result-0");
  d.screenshot("lookup");
  d.tap("result-0");

  d.waitFor("member-sale");
  d.screenshot("member");
  d.tap("member-sale");

  // Sale of 128.50 on the keypad.
  for (const char* k : {"sale-key-1", "sale-key-2", "sale-key-8", "sale-key-dot", "sale-key-5", "sale-key-0"}) d.tap(k);
  d.screenshot("sale");
  d.tap("sale-key-ok");
  d.waitFor("receipt-member");
  d.screenshot("receipt-and-survey");
  d.tap("survey-4", tapMap + ".customer");
  d.screenshot("survey-answered");
  d.tap("receipt-member");

  // Redeem a gift from the catalogue.
  d.waitFor("member-redeem", "receipt-member");
  d.tap("member-redeem");
  d.waitFor("reward-MUG");
  d.screenshot("redeem-catalogue");
  d.tap("reward-MUG");
  d.tap("redeem-confirm");
  d.waitFor("member-redeem", "redeem-confirm");
  d.screenshot("member-after-redeem");

  // Above the threshold: a supervisor's PIN.
  d.tap("member-redeem");
  d.tap("reward-OIL");
  d.waitFor("redeem-pin-key-2");
  for (const char* k : {"redeem-pin-key-2", "redeem-pin-key-4", "redeem-pin-key-6", "redeem-pin-key-8", "redeem-pin-key-1",
                        "redeem-pin-key-3"}) {
    d.tap(k);
  }
  d.screenshot("redeem-supervisor");
  d.tap("redeem-confirm");
  d.waitFor("member-redeem", "redeem-confirm");

  // A complaint about the member, from the member panel.
  d.tap("member-complaint");
  d.tap("complaint-cat-waiting");
  d.tap("complaint-description");
  d.type("waited 20 minutes at pump 3");
  d.tap("complaint-submit");
  d.screenshot("complaint");

  // Refund by receipt: the receipt number typed into the refund screen.
  std::string saleId;
  {
    db::Database reader(data + "/terminal.db", db::OpenOptions{true});
    auto q = reader.query("SELECT sale_id FROM sales WHERE sale_id != 'SEED-1'");
    REQUIRE(q.step());
    saleId = q.text("sale_id");
  }
  d.tap("nav-lookup");
  d.tap("go-refund");
  d.tap("refund-receipt");
  d.type(saleId);
  d.tap("refund-submit");
  d.tap("refund-review");  // the preview: every line, to start with
  d.tap("refund-confirm");
  d.waitFor("refund-result");
  d.screenshot("refund");

  // Enrolment with a phone number that is not one: the error is next to the field.
  d.tap("refund-done");
  d.tap("go-enroll");
  for (const char* k : {"enroll-key-1", "enroll-key-3", "enroll-key-8"}) d.tap(k);
  d.tap("enroll-name");
  d.type("Lucy Li");
  d.tap("enroll-submit");
  d.screenshot("enroll-error");
  d.tap("enroll-cancel");

  d.tap("nav-dayend");
  d.screenshot("end-of-day");

  // The language switches at run time.
  d.tap("nav-settings");
  d.tap("lang-en");
  d.waitFor("settings-back");
  d.screenshot("settings-english");
  REQUIRE(app.stop() == 0);

  db::Database db = terminal::openTerminalDatabase(data);
  // Phones are sealed at rest: the member is found the way the counter finds them.
  const auto member = terminal::MemberRepository(db).byPhone("+8613800138000");
  REQUIRE(member);
  const std::string id = "'" + member->memberId + "'";
  CHECK(queryInt(db, "SELECT COUNT(*) FROM sales WHERE member_id = " + id +
                     " AND total = 12850 AND points_earned = 154") == 1);
  CHECK(queryInt(db, "SELECT COUNT(*) FROM redemptions WHERE reward_id = 'MUG' AND points = 300") == 1);
  CHECK(queryInt(db, "SELECT COUNT(*) FROM redemptions WHERE reward_id = 'OIL' AND points = 2500") == 1);
  // The seeded 3,596.00 made the member silver, so the 128.50 sale earned at 1.2: 154 points;
  // the refund took them back.
  CHECK(member->tier == "silver");
  CHECK(member->balance == 3596 + 154 - 300 - 2500 - 154);
  CHECK(queryInt(db, "SELECT COUNT(*) FROM refunds WHERE amount = 12850 AND points_reversed = 154") == 1);
  CHECK(queryInt(db, "SELECT COUNT(*) FROM complaints WHERE member_id = " + id +
                     " AND category = 'waiting' AND staff_id = '7'") == 1);
  {
    std::string complaintId;
    {
      auto q = db.query("SELECT complaint_id FROM complaints WHERE member_id = ?").bind(1, member->memberId);
      REQUIRE(q.step());
      complaintId = q.text("complaint_id");
    }
    terminal::RandomIds ids;
    terminal::FeedbackService feedback(db, "S001", "T1", ids);
    CHECK(feedback.complaintDescription(complaintId) == "waited 20 minutes at pump 3");
  }
  CHECK(queryInt(db, "SELECT COUNT(*) FROM members WHERE name = 'Lucy Li'") == 0);
  CHECK(queryInt(db, "SELECT COUNT(*) FROM surveys WHERE score = 4 AND scale = 'csat5' AND sale_id IS NOT NULL") == 1);
  CHECK(queryInt(db, "SELECT COUNT(*) FROM outbox WHERE type = 'survey.answered'") == 1);
  // Every record the cashier made carries them (the end of day per cashier reads it).
  CHECK(queryInt(db, "SELECT COUNT(*) FROM sales WHERE staff_id = '7' AND total = 12850") == 1);
  CHECK(queryInt(db, "SELECT COUNT(*) FROM sales WHERE sale_id = 'SEED-1' AND staff_id IS NULL") == 1);
  CHECK(queryInt(db, "SELECT COUNT(*) FROM refunds WHERE staff_id = '7'") == 1);
  CHECK(queryInt(db, "SELECT COUNT(*) FROM redemptions WHERE staff_id = '7'") == 2);
  CHECK(queryInt(db, "SELECT COUNT(*) FROM surveys WHERE staff_id = '7'") == 1);
  runTerminal({"verify", "--data", data});
}
