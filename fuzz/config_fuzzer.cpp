// Harness: the terminal's configuration reader (parseConfig, docs/configuration.md), which
// reads both the local TOML file and the programme head office pushes through the change feed.
//
// Properties, besides "no crash, no sanitizer report, no exception out of the reader":
//  * a refusal names a line (0 or more) and gives a reason;
//  * an accepted configuration can run: its time zone loads (the program relies on the reader
//    having checked it), and its tiers rise from a threshold of zero.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "loyalty/terminal/config.hpp"
#include "loyalty/terminal/timezone.hpp"
#include "support.hpp"

using namespace loyalty;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = terminal::parseConfig(text, "fuzz.toml");
  if (const auto* error = std::get_if<terminal::ConfigError>(&parsed)) {
    fuzz::require(error->line >= 0 && !error->reason.empty() && error->file == "fuzz.toml",
                  "a refusal names the file, a line and a reason", error->toString());
    return 0;
  }
  const auto& settings = std::get<terminal::TerminalSettings>(parsed);
  if (auto zone = terminal::loadZone(settings.store.timezone); !zone) {
    fuzz::fail("an accepted configuration's time zone loads", settings.store.timezone + ": " + zone.error().message);
  }
  const auto& tiers = settings.rules.tiers;
  fuzz::require(!tiers.empty() && tiers.front().threshold == Money{}, "an accepted programme's first tier starts at 0");
  for (std::size_t i = 1; i < tiers.size(); ++i) {
    fuzz::require(tiers[i - 1].threshold < tiers[i].threshold, "an accepted programme's tiers rise",
                  tiers[i - 1].name + " then " + tiers[i].name);
  }
  return 0;
}
