// A terminal's health on the wire (its clock and last sync error): what it sends is always a
// valid header, and what head office accepts is checked, naming the header.
#include <catch2/catch.hpp>

#include <map>

#include "loyalty/sync/terminal_health.hpp"

using namespace loyalty;
using namespace loyalty::sync;

namespace {
std::function<std::optional<std::string>(const char*)> headers(std::map<std::string, std::string> h) {
  return [h = std::move(h)](const char* name) -> std::optional<std::string> {
    const auto it = h.find(name);
    if (it == h.end()) return std::nullopt;
    return it->second;
  };
}
/// The value of a "Name: value" line.
std::string valueOf(const std::string& line) { return line.substr(line.find(": ") + 2); }
}  // namespace

TEST_CASE("terminal health headers: the clock and a last error survive the trip, bad ones are refused", "[hq][sync]") {
  const Timestamp t = *parseRfc3339("2026-12-02T08:00:05Z", "t");
  const std::string clock = clockHeaderLine(t);
  CHECK(clock == "Loyalty-Terminal-Clock: 2026-12-02T08:00:05Z");
  // A message with a line break, non-ASCII text and more than the limit: one safe header line.
  const std::string line = lastErrorHeaderLine("upload: 连接失败\r\nX-Injected: 1 " + std::string(400, 'x'));
  const std::string value = valueOf(line);
  CHECK(value.size() <= kMaxLastErrorBytes);
  CHECK(value.find('\r') == std::string::npos);
  CHECK(value.find('\n') == std::string::npos);
  auto back = decodeTerminalHealth(headers({{header::kTerminalClock, valueOf(clock)}, {header::kLastError, value}}));
  REQUIRE(back);
  CHECK(back->clock == t);
  CHECK(back->lastError == value);

  auto none = decodeTerminalHealth(headers({}));
  REQUIRE(none);
  CHECK_FALSE(none->clock);
  CHECK_FALSE(none->lastError);

  auto badClock = decodeTerminalHealth(headers({{header::kTerminalClock, "yesterday"}}));
  REQUIRE_FALSE(badClock);
  CHECK(badClock.error().field == header::kTerminalClock);
  auto badError = decodeTerminalHealth(headers({{header::kLastError, std::string(300, 'e')}}));
  REQUIRE_FALSE(badError);
  CHECK(badError.error().field == header::kLastError);
  CHECK_FALSE(decodeTerminalHealth(headers({{header::kLastError, "tab\there"}})));
}
