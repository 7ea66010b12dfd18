#pragma once
// The cashier's hands for the Xvfb tests: taps by widget id (the app's tap map), typing and keys
// with xdotool, screenshots; and the terminal's sub-commands to set a store up.

#include <catch2/catch.hpp>

#include <filesystem>
#include <thread>

#include "../support/child_process.hpp"
#include "loyalty/terminal/store.hpp"
#include "xvfb_session.hpp"

namespace loyalty::test {

using namespace std::chrono_literals;

inline std::string runTerminal(const std::vector<std::string>& args, const std::string& input = "") {
  std::vector<std::string> argv{test::terminalBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  test::ChildProcess p(argv, test::Stderr::kToStdout);
  p.write(input);
  p.closeStdin();
  std::string out;
  while (auto line = p.readLine()) out += *line + "\n";
  INFO(out);
  REQUIRE(p.wait() == 0);
  return out;
}

struct Driver {
  const test::Xvfb& x;
  std::string tapMap;
  std::string shots;
  int shot = 0;
  std::string prefix;  ///< screenshot names: prefix + number + name

  /// Waits until the app drew `id` (and no longer draws `gone`, when given); its centre.
  std::pair<int, int> waitFor(const std::string& id, const std::string& gone = "") {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto map = test::readTapMap(tapMap);
      if (map.count(id) && (gone.empty() || !map.count(gone))) return map.at(id);
      std::this_thread::sleep_for(50ms);
    }
    FAIL("the app never showed " << id << (gone.empty() ? "" : " without " + gone));
    return {};
  }
  /// Waits until `id` is drawn in the window whose tap map is `map` (e.g. the customer display).
  std::pair<int, int> waitIn(const std::string& map, const std::string& id) {
    const auto saved = tapMap;
    tapMap = map;
    const auto at = waitFor(id);
    tapMap = saved;
    return at;
  }
  /// A person's tap: on `id` once it has stopped moving (a screen's first frame may be laid out
  /// again, e.g. when its text brings new glyphs into the font atlas), the finger down a moment
  /// after it landed. Tapped at once where it was first drawn, taps on the customer display were
  /// lost now and then (3 runs of 15 of its test, never the same tap; none of 12 since; which of
  /// the two waits mends it was not traced).
  void tap(const std::string& id, const std::string& map = "") {
    auto at = map.empty() ? waitFor(id) : waitIn(map, id);
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    for (;;) {
      std::this_thread::sleep_for(80ms);
      const auto again = map.empty() ? waitFor(id) : waitIn(map, id);
      if (again == at || std::chrono::steady_clock::now() > deadline) break;
      at = again;
    }
    REQUIRE(x.run("xdotool mousemove " + std::to_string(at.first) + " " + std::to_string(at.second) + " sleep 0.05 click 1"));
    std::this_thread::sleep_for(120ms);
  }
  void type(const std::string& text) { REQUIRE(x.run("xdotool type --delay 40 '" + text + "'")); }
  /// A person at a keyboard: well over the scanner's key gap between keys.
  void typeSlowly(const std::string& text) {
    REQUIRE(x.run("xdotool type --delay 120 '" + text + "'"));
    std::this_thread::sleep_for(150ms);
  }
  /// A keyboard-wedge scanner: the code in a burst, then Return.
  void scan(const std::string& code) {
    REQUIRE(x.run("xdotool type --delay 3 '" + code + "\r'"));  // one burst, Return (CR) included
    std::this_thread::sleep_for(200ms);
  }
  void key(const std::string& k) {
    REQUIRE(x.run("xdotool key --delay 120 " + k));
    std::this_thread::sleep_for(150ms);
  }
  void screenshot(const std::string& name) {
    std::this_thread::sleep_for(300ms);  // the frame after the last change
    char number[16];
    std::snprintf(number, sizeof number, "%02d-", ++shot);
    const std::string path = shots + "/" + prefix + number + name + ".png";
    REQUIRE(x.run("import -window root '" + path + "'"));
    REQUIRE(std::filesystem::file_size(path) > 10'000);
  }
};

inline std::int64_t queryInt(db::Database& db, const std::string& sql) {
  auto q = db.query("SELECT (" + sql + ") AS v");
  REQUIRE(q.step());
  return q.int64("v");
}

}  // namespace loyalty::test
