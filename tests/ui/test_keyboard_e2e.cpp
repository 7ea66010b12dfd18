// End to end under Xvfb, as a cashier at a touchscreen without a system input method: a member
// enrolled as 张三丰 with the name typed on the on-screen pinyin keyboard (z-h-a-n-g, a
// candidate, ...), then found in the lookup by typing "zsf" on it. Screenshots go to
// build/screenshots/keyboard-*.png.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "../support/temp_dir.hpp"
#include "counter_driver.hpp"
#include "loyalty/core/text.hpp"
#include "loyalty/terminal/feedback.hpp"
#include "loyalty/terminal/member_repository.hpp"
#include "loyalty/terminal/store.hpp"

using namespace loyalty;
using namespace std::chrono_literals;
using test::Driver;
using test::runTerminal;

namespace {

/// Taps each letter of `letters` on the on-screen keyboard.
void tapLetters(Driver& d, const std::string& letters) {
  for (const char c : letters) d.tap(std::string("kbd-") + c);
}

/// Taps the candidate `word` once the keyboard has read `pinyin`, paging on (▶) until it shows.
void choose(Driver& d, const std::string& pinyin, const std::string& word) {
  d.waitFor("kbd-pinyin=" + pinyin);
  for (int page = 0; page < 8; ++page) {
    const auto map = test::readTapMap(d.tapMap);
    if (map.count("kbd-word-" + word)) break;
    d.tap("kbd-next");
    std::this_thread::sleep_for(300ms);
  }
  d.tap("kbd-word-" + word);
}

/// How many hanzi tesseract reads on the candidate keys after the first in screenshot `png`
/// (none when the font lacks their glyphs and they are drawn as '?'); -1 without the tools.
int hanziOnCandidates(const test::Xvfb& x, const Driver& d, const std::string& png, const std::string& dir) {
  if (!test::haveProgram("tesseract") || !test::haveProgram("convert")) return -1;
  const auto map = test::readTapMap(d.tapMap);
  const auto [left, y] = map.at("kbd-cand-1");
  const auto right = map.at("kbd-prev").first;
  const std::string crop = std::to_string(right - left) + "x56+" + std::to_string(left - 45) + "+" +
                           std::to_string(y - 28);
  const std::string out = dir + "/candidates";
  REQUIRE(x.run("convert '" + png + "' -crop " + crop + " +repage -negate -scale 200% '" + out + ".png'"));
  REQUIRE(x.run("tesseract '" + out + ".png' '" + out + "' -l chi_sim --psm 7"));
  std::ifstream in(out + ".txt");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  INFO("tesseract read: " << text);
  int hanzi = 0;
  for (const char32_t c : utf8CodePoints(text)) hanzi += c >= 0x4E00 && c <= 0x9FFF;
  return hanzi;
}

}  // namespace

TEST_CASE("Counter app under Xvfb: a Chinese name typed on the on-screen pinyin keyboard", "[ui][e2e]") {
  if (!test::haveProgram("Xvfb") || !test::haveProgram("xdotool") || !test::haveProgram("import")) {
    WARN("XVFB NOT FOUND: Xvfb, xdotool or import missing; the window test is skipped");
    return;
  }
  test::TempDir dir;
  const std::string data = dir.str() + "/store";
  runTerminal({"staff", "add", "--data", data, "--id", "7", "--name", "李娜"}, "1234\n");
  // Another member whose name starts the same way: the lookup must tell them apart.
  runTerminal({"exec", "--data", data},
              R"({"id":1,"op":"enroll","phone":"138 0013 8000","name":"张三","consent_marketing":false})" "\n");
  const std::string shots = LOYALTY_SCREENSHOT_DIR;
  std::filesystem::create_directories(shots);
  test::Xvfb x(1024, 768, dir.str() + "/xvfb.log");
  const std::string tapMap = dir.str() + "/taps.txt";
  std::vector<std::string> env{"DISPLAY=" + x.display()};
  if (std::getenv("LOYALTY_SANITIZED")) env.push_back("ASAN_OPTIONS=detect_leaks=0");
  test::Spawned app({test::terminalBinary(), "--data", data, "--windowed", "--size", "1024x768", "--lang", "zh-CN",
                     "--tap-map", tapMap},
                    env, dir.str() + "/app.log");
  Driver d{x, tapMap, shots, 0, "keyboard-"};

  d.tap("login-key-7");
  d.tap("login-key-ok");
  for (const char* k : {"login-key-1", "login-key-2", "login-key-3", "login-key-4"}) d.tap(k);
  d.tap("login-key-ok");

  // Enrolment: the phone on the keypad, the name on the on-screen keyboard.
  d.tap("go-enroll");
  for (const char c : std::string("13912345678")) d.tap(std::string("enroll-key-") + c);
  d.tap("enroll-name");
  d.waitFor("kbd-z");
  // z-h-a-n-g: the candidates for "zhang"; 张 keeps the keyboard on for more pinyin.
  tapLetters(d, "zhang");
  d.waitFor("kbd-pinyin=zhang");
  std::this_thread::sleep_for(1500ms);  // the candidates' glyphs join the font (a rebuild)
  d.screenshot("zhang-candidates");
  // The candidates are drawn in hanzi, not '?': their glyphs joined the font.
  if (const int hanzi = hanziOnCandidates(x, d, shots + "/keyboard-01-zhang-candidates.png", dir.str()); hanzi >= 0) {
    CHECK(hanzi >= 3);
  } else {
    WARN("tesseract or convert missing: the candidates' glyphs are not read back");
  }
  choose(d, "zhang", "张");
  tapLetters(d, "san");
  choose(d, "san", "三");
  // A typo fixed with Backspace: it edits the pinyin, not the hanzi already chosen.
  tapLetters(d, "fenx");
  d.waitFor("kbd-pinyin=fenx");
  d.tap("kbd-back");
  tapLetters(d, "g");
  d.waitFor("kbd-pinyin=feng");
  std::this_thread::sleep_for(1500ms);
  d.screenshot("feng-candidates");
  if (const int hanzi = hanziOnCandidates(x, d, shots + "/keyboard-02-feng-candidates.png", dir.str()); hanzi >= 0) {
    CHECK(hanzi >= 3);
  }
  choose(d, "feng", "丰");
  d.waitFor("kbd-1", "kbd-pinyin=feng");  // nothing left to compose: the digits are back
  d.screenshot("name-typed");
  d.tap("kbd-enter");  // the keyboard's OK: on to the birthday, and the keyboard goes
  d.waitFor("enroll-submit", "kbd-z");
  d.tap("enroll-submit");
  d.waitFor("member-sale");
  d.screenshot("enrolled");

  // The lookup: "zsf" typed on the on-screen keyboard finds 张三丰 by the initials of its pinyin
  // (and not 张三), while the keyboard offers hanzi for the same letters.
  d.tap("member-done");
  d.tap("lookup-name");
  tapLetters(d, "zsf");
  d.waitFor("kbd-pinyin=zsf");
  d.waitFor("result-0", "result-1");  // one match: 张三 is not a zsf
  std::this_thread::sleep_for(1500ms);
  d.screenshot("lookup-zsf");
  d.tap("result-0");
  d.waitFor("member-sale");
  d.screenshot("found");

  // A complaint about them, described on the keyboard: the form stays above it.
  d.tap("member-complaint");
  d.waitFor("kbd-p");
  tapLetters(d, "paidui");
  choose(d, "paidui", "排队");
  d.waitFor("kbd-1", "kbd-pinyin=paidui");
  d.screenshot("complaint");
  d.tap("complaint-submit");
  std::this_thread::sleep_for(1s);  // filed by the store worker
  d.screenshot("complaint-filed");
  REQUIRE(app.stop() == 0);

  db::Database db = terminal::openTerminalDatabase(data);
  const auto member = terminal::MemberRepository(db).byPhone("+8613912345678");
  REQUIRE(member);
  CHECK(member->name == "张三丰");
  auto q = db.query("SELECT complaint_id FROM complaints WHERE member_id = ?").bind(1, member->memberId);
  REQUIRE(q.step());
  terminal::RandomIds ids;
  terminal::FeedbackService feedback(db, "S001", "T1", ids);
  CHECK(feedback.complaintDescription(q.text("complaint_id")) == "排队");
}
