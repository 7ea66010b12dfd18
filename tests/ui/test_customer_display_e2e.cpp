// End to end under Xvfb: the customer display as a customer meets it. Idle with today's
// promotions; the member's QR e-card on request, read back off the screen module by module (and
// decoded with zbarimg where zbar-tools is installed); an NPS question answered by tapping, then
// the configured dimensions (one skipped); the thank-you screen; idle again. The answer is
// checked in terminal.db; screenshots go to build/screenshots/display-*.png.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "../support/temp_dir.hpp"
#include "counter_driver.hpp"
#include "loyalty/core/card.hpp"
#include "loyalty/terminal/store.hpp"
#include "loyalty/ui/qr.hpp"

using namespace loyalty;
using namespace std::chrono_literals;
using test::Driver;
using test::runTerminal;

namespace {

/// The rectangle the app drew `id` in (screen pixels), from its tap map.
std::array<int, 4> rectOf(const std::string& tapMap, const std::string& id) {
  std::ifstream in(tapMap);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string name;
    std::array<int, 4> r{};
    if (f >> name >> r[0] >> r[1] >> r[2] >> r[3] && name == id) return r;
  }
  FAIL("no " << id << " in " << tapMap);
  return {};
}

/// The screen's pixels in `r` as 8-bit grey, row by row (a root-window capture cropped).
std::vector<unsigned char> greyPixels(const test::Xvfb& x, const std::string& dir, const std::array<int, 4>& r,
                                      const std::string& png) {
  const std::string raw = dir + "/qr.gray";
  const std::string crop = std::to_string(r[2]) + "x" + std::to_string(r[3]) + "+" + std::to_string(r[0]) + "+" +
                           std::to_string(r[1]);
  REQUIRE(x.run("import -window root -crop " + crop + " +repage '" + png + "'"));
  REQUIRE(x.run("convert '" + png + "' -colorspace Gray -depth 8 'gray:" + raw + "'"));
  std::ifstream in(raw, std::ios::binary);
  std::vector<unsigned char> pixels((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(pixels.size() == static_cast<std::size_t>(r[2]) * static_cast<std::size_t>(r[3]));
  return pixels;
}

}  // namespace

TEST_CASE("Customer display under Xvfb: promotions, QR e-card, NPS and dimensions, thanks", "[ui][e2e]") {
  if (!test::haveProgram("Xvfb") || !test::haveProgram("xdotool") || !test::haveProgram("import") ||
      !test::haveProgram("convert")) {
    WARN("XVFB NOT FOUND: Xvfb, xdotool or imagemagick missing; the window test is skipped");
    return;
  }
  test::TempDir dir;
  const std::string data = dir.str() + "/store";
  runTerminal({"staff", "add", "--data", data, "--id", "7", "--name", "李娜"}, "1234\n");
  const std::string enrolled = runTerminal(
      {"exec", "--data", data}, R"({"id":1,"op":"enroll","phone":"138 0013 8000","name":"王小明","consent_marketing":true})" "\n");
  const auto result = nlohmann::json::parse(enrolled.substr(0, enrolled.find('\n')))["result"];
  const std::string memberId = result["member_id"], cardNo = result["card_no"];
  const std::string config = dir.write("terminal.toml",
                                       "[survey]\n"
                                       "scale = \"nps10\"\n"
                                       "dimensions = [\"reliability\", \"empathy\", \"环境\"]\n"
                                       "[[promotion]]\n"
                                       "id = \"spend300-off30\"\n"
                                       "kind = \"spend_discount\"\n"
                                       "threshold = \"300.00\"\n"
                                       "amount = \"30.00\"\n"
                                       "[[promotion]]\n"
                                       "id = \"double-points\"\n"
                                       "kind = \"points_multiplier\"\n"
                                       "multiplier = \"2.0\"\n"
                                       "[[promotion]]\n"
                                       "id = \"last-year\"\n"
                                       "kind = \"spend_gift\"\n"
                                       "threshold = \"100.00\"\n"
                                       "gift_sku = \"GIFT-TOWEL\"\n"
                                       "to = 2020-12-31\n");

  const std::string shots = LOYALTY_SCREENSHOT_DIR;
  std::filesystem::create_directories(shots);
  test::Xvfb x(1824, 768, dir.str() + "/xvfb.log");
  const std::string tapMap = dir.str() + "/taps.txt";
  const std::string customer = tapMap + ".customer";
  std::vector<std::string> env{"DISPLAY=" + x.display()};
  if (std::getenv("LOYALTY_SANITIZED")) env.push_back("ASAN_OPTIONS=detect_leaks=0");
  test::Spawned app({test::terminalBinary(), "--data", data, "--config", config, "--windowed", "--size", "1024x768",
                     "--customer-display", "--lang", "zh-CN", "--tap-map", tapMap},
                    env, dir.str() + "/app.log");
  Driver d{x, tapMap, shots, 0, "display-"};

  d.tap("login-key-7");
  d.tap("login-key-ok");
  for (const char* k : {"login-key-1", "login-key-2", "login-key-3", "login-key-4"}) d.tap(k);
  d.tap("login-key-ok");

  // Idle: today's promotions (the one that ended in 2020 is not advertised).
  d.waitIn(customer, "customer-promotion-1");
  CHECK(test::readTapMap(customer).count("customer-promotion-2") == 0);
  d.screenshot("idle-promotions");

  // The member at the counter asks for their e-card on the customer display.
  d.waitFor("lookup-number");
  d.type("8000");
  d.tap("result-0");
  d.waitFor("member-sale");
  d.tap("customer-show-card", customer);
  d.waitIn(customer, "customer-qr");
  d.screenshot("qr-card");
  {
    const auto r = rectOf(customer, "customer-qr");
    const auto pixels = greyPixels(x, dir.str(), r, shots + "/display-qr-only.png");
    const ui::QrCode expected = ui::encodeQr(memberQrPayload(cardNo));
    REQUIRE(expected.size > 0);
    const int cells = expected.size + 8;  // four light modules of quiet zone on each side
    REQUIRE(r[2] == r[3]);
    REQUIRE(r[2] % cells == 0);  // whole pixels per module: a reader sees sharp edges
    const int modulePx = r[2] / cells;
    REQUIRE(modulePx >= 4);
    int wrong = 0;
    for (int y = -4; y < expected.size + 4; ++y) {
      for (int xm = -4; xm < expected.size + 4; ++xm) {
        const int px = (xm + 4) * modulePx + modulePx / 2, py = (y + 4) * modulePx + modulePx / 2;
        const bool dark = pixels[static_cast<std::size_t>(py * r[2] + px)] < 128;
        const bool inCode = xm >= 0 && y >= 0 && xm < expected.size && y < expected.size;
        if (dark != (inCode && expected.isDark(xm, y))) ++wrong;
      }
    }
    CHECK(wrong == 0);
    // The three finder patterns, read off the screen: a dark ring, a light ring, a dark 3×3 core.
    for (const auto& [fx, fy] : {std::pair{0, 0}, std::pair{expected.size - 7, 0}, std::pair{0, expected.size - 7}}) {
      for (int j = 0; j < 7; ++j) {
        for (int i = 0; i < 7; ++i) {
          const int ring = std::min({i, j, 6 - i, 6 - j});
          const int px = (fx + i + 4) * modulePx + modulePx / 2, py = (fy + j + 4) * modulePx + modulePx / 2;
          CHECK((pixels[static_cast<std::size_t>(py * r[2] + px)] < 128) == (ring != 1));
        }
      }
    }
    if (test::haveProgram("zbarimg")) {
      test::ChildProcess zbar({"zbarimg", "--raw", "-q", shots + "/display-qr-only.png"}, test::Stderr::kToStdout);
      zbar.closeStdin();
      // A decoder's answer is a second opinion: the module-by-module check above is the test.
      // (Once, on a clean machine, zbarimg printed nothing for a capture it decodes afterwards.)
      if (const auto line = zbar.readLine()) {
        CHECK(*line == "LOYALTY:M1:" + cardNo);
      } else {
        WARN("zbarimg read no code from display-qr-only.png");
      }
      zbar.wait();
    } else {
      WARN("zbarimg not installed (zbar-tools): the QR code was checked module by module only");
    }
  }
  d.tap("customer-card-close", customer);
  d.waitIn(customer, "customer-show-card");

  // A sale, then the survey on the customer display: NPS 0-10, then each dimension.
  d.tap("member-sale");
  for (const char* k : {"sale-key-1", "sale-key-2", "sale-key-8", "sale-key-dot", "sale-key-5", "sale-key-0"}) d.tap(k);
  d.tap("sale-key-ok");
  d.waitFor("receipt-member");
  d.waitIn(customer, "survey-10");
  CHECK(test::readTapMap(customer).count("survey-0") == 1);
  d.screenshot("nps-question");
  d.tap("survey-9", customer);
  d.tap("dimension-0-4", customer);
  d.waitIn(customer, "dimension-1-5");
  d.screenshot("dimension-question");
  d.tap("dimension-skip", customer);
  d.waitIn(customer, "dimension-2-1");
  d.screenshot("dimension-own-wording");
  d.tap("dimension-2-5", customer);
  d.waitIn(customer, "customer-thanks");
  d.screenshot("thanks");
  {
    db::Database reader(data + "/terminal.db", db::OpenOptions{true});
    auto q = reader.query("SELECT member_id, scale, score, dimensions FROM surveys");
    REQUIRE(q.step());
    CHECK(q.text("member_id") == memberId);
    CHECK(q.text("scale") == "nps10");
    CHECK(q.int64("score") == 9);
    CHECK(nlohmann::json::parse(q.text("dimensions")) == nlohmann::json{{"reliability", 4}, {"环境", 5}});
    CHECK_FALSE(q.step());
  }

  // The cashier is done with this customer: the display is idle again.
  d.tap("receipt-done");
  d.waitIn(customer, "customer-idle");
  CHECK(test::readTapMap(customer).count("customer-promotion-0") == 1);
  d.screenshot("idle-again");
}
