// End to end under Xvfb: a member's details and consent at the counter, as a cashier does it by
// touch and keyboard. Consent withdrawn with its text and version on screen; a new phone that
// another member has (the refusal opens that member); the same at enrolment; "show my data".
// Results are checked in the database; screenshots go to build/screenshots/details-*.png.
#include <catch2/catch.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "../support/temp_dir.hpp"
#include "counter_driver.hpp"
#include "loyalty/terminal/member_repository.hpp"
#include "loyalty/terminal/outbox.hpp"
#include "loyalty/terminal/store.hpp"

using namespace loyalty;
using namespace std::chrono_literals;
using test::Driver;
using test::queryInt;
using test::runTerminal;

TEST_CASE("Counter app under Xvfb: consent withdrawn, a phone change refused for a taken number", "[ui][e2e]") {
  if (!test::haveProgram("Xvfb") || !test::haveProgram("xdotool") || !test::haveProgram("import")) {
    WARN("XVFB NOT FOUND: Xvfb, xdotool or import missing; the window test is skipped");
    return;
  }
  test::TempDir dir;
  const std::string data = dir.str() + "/store";
  const std::string tapMap = dir.str() + "/taps.txt";
  const std::string customer = tapMap + ".customer";
  runTerminal({"staff", "add", "--data", data, "--id", "7", "--name", "李娜"}, "1234\n");
  runTerminal({"exec", "--data", data},
              R"({"id":1,"op":"enroll","phone":"138 0013 8000","name":"王小明","consent_marketing":true,"staff_id":"7"})" "\n"
              R"({"id":2,"op":"enroll","phone":"139 1111 2222","name":"李雷","consent_marketing":false})" "\n"
              R"({"id":3,"op":"sale","sale_id":"SEED-1","member":"13911112222","lines":[{"sku":"OIL","qty":1,"unit_price":"77.00"}]})" "\n");
  const std::string shots = LOYALTY_SCREENSHOT_DIR;
  std::filesystem::create_directories(shots);
  test::Xvfb x(1824, 768, dir.str() + "/xvfb.log");
  std::vector<std::string> env{"DISPLAY=" + x.display()};
  if (std::getenv("LOYALTY_SANITIZED")) env.push_back("ASAN_OPTIONS=detect_leaks=0");
  test::Spawned app({test::terminalBinary(), "--data", data, "--windowed", "--size", "1024x768", "--customer-display",
                     "--lang", "zh-CN", "--tap-map", tapMap},
                    env, dir.str() + "/app.log");
  Driver d{x, tapMap, shots, 0, "details-"};

  d.waitFor("login-key-ok");
  d.typeSlowly("7");
  d.key("Return");
  d.typeSlowly("1234");
  d.key("Return");
  d.waitFor("lookup-number");
  d.typeSlowly("13800138000");
  d.key("Return");
  d.tap("member-details");

  // Consent: the text and its version in front of the member, withdrawn by one tap.
  d.tap("details-tab-consent");
  d.waitFor("details-consent-on");
  d.screenshot("consent-given");
  d.tap("consent-withdraw");
  d.waitFor("details-consent-off");
  d.waitFor("consent-give");
  d.screenshot("consent-withdrawn");

  // A new phone typed on the keyboard that 李雷 has: refused in Chinese, with his member to open.
  d.tap("details-tab-details");
  d.tap("details-phone");
  d.typeSlowly("139 1111 2222");
  d.tap("details-save");
  d.waitFor("details-open-owner");
  d.screenshot("phone-taken");
  d.tap("details-open-owner");
  d.waitIn(customer, "customer-balance=77");
  d.waitFor("member-sale", "details-open-owner");
  d.screenshot("phone-owner-opened");

  // 李雷 gets a new number of his own, by the keypad.
  d.tap("member-details");
  d.tap("details-phone");
  for (const char k : std::string("13700001111")) d.tap(std::string("details-key-") + k);
  d.tap("details-save");
  d.waitFor("details-saved");
  d.screenshot("phone-changed");

  // The member's own copy of their data, readable on screen.
  d.tap("details-tab-data");
  d.waitFor("details-data");
  d.screenshot("my-data");
  // The same screens in English, switched at run time.
  d.tap("nav-lang");
  d.screenshot("my-data-en");
  d.tap("details-tab-consent");
  d.waitFor("details-consent-off");
  d.screenshot("consent-en");
  d.tap("details-tab-details");
  d.screenshot("details-en");
  d.tap("nav-lang");

  // Enrolment with 王小明's phone: refused, and his member opens from the refusal.
  d.tap("nav-lookup");
  d.tap("go-enroll");
  d.typeSlowly("13800138000");
  d.tap("enroll-name");
  d.typeSlowly("Wang");
  d.tap("enroll-submit");
  d.waitFor("enroll-open-owner");
  d.screenshot("enroll-phone-taken");
  d.tap("enroll-open-owner");
  d.waitFor("member-sale", "enroll-open-owner");
  d.screenshot("enroll-owner-opened");
  REQUIRE(app.stop() == 0);

  db::Database db = terminal::openTerminalDatabase(data);
  terminal::MemberRepository members(db);
  const auto wang = members.byPhone("+8613800138000");
  REQUIRE(wang);
  CHECK_FALSE(wang->consentMarketing);
  const auto decisions = members.consents(wang->memberId);
  REQUIRE(decisions.size() == 2);
  CHECK_FALSE(decisions.back().consentMarketing);
  CHECK(decisions.back().staffId == std::optional<std::string>("7"));
  CHECK(decisions.back().consentVersion.has_value());
  CHECK(queryInt(db, "SELECT COUNT(*) FROM members") == 2);  // the refused enrolment wrote nothing
  const auto li = members.byPhone("+8613700001111");  // 李雷's new number, and the old one gone
  REQUIRE(li);
  CHECK(li->name == "李雷");
  CHECK_FALSE(members.byPhone("+8613911112222").has_value());
  // Both changes reach head office as member.updated, each with the cashier who made it.
  auto events = db.query("SELECT event_id, type, payload FROM outbox WHERE type = 'member.updated' ORDER BY seq");
  int updates = 0;
  while (events.step()) {
    const auto payload = nlohmann::json::parse(
        terminal::openOutboxPayload(db, events.text("event_id"), events.text("type"), events.blob("payload")));
    INFO(payload.dump());
    CHECK(payload.value("staff_id", "") == "7");
    ++updates;
  }
  CHECK(updates == 2);
}
