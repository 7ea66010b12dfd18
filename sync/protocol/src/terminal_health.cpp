#include "loyalty/sync/terminal_health.hpp"

#include <algorithm>

namespace loyalty::sync {

namespace {
bool printable(char c) { return c >= 0x20 && c < 0x7f; }
}  // namespace

std::string clockHeaderLine(Timestamp now) { return std::string(header::kTerminalClock) + ": " + formatRfc3339(now); }

std::string lastErrorHeaderLine(const std::string& message) {
  std::string safe = message.substr(0, kMaxLastErrorBytes);
  std::replace_if(safe.begin(), safe.end(), [](char c) { return !printable(c); }, '?');
  while (!safe.empty() && safe.back() == ' ') safe.pop_back();
  if (safe.empty()) safe = "?";
  return std::string(header::kLastError) + ": " + safe;
}

std::optional<std::chrono::seconds> clockAheadOf(const std::optional<std::string>& value, Timestamp localNow) {
  if (!value) return std::nullopt;
  auto hq = parseRfc3339(*value, header::kHeadOfficeClock);
  if (!hq) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::seconds>(localNow - *hq);
}

Result<TerminalHealth> decodeTerminalHealth(const std::function<std::optional<std::string>(const char*)>& get) {
  TerminalHealth h;
  if (auto v = get(header::kTerminalClock)) {
    auto t = parseRfc3339(*v, header::kTerminalClock);
    if (!t) return invalidArgument(header::kTerminalClock, "the terminal's clock as an RFC 3339 time such as 2026-12-02T08:00:00Z");
    h.clock = *t;
  }
  if (auto v = get(header::kLastError)) {
    if (v->empty() || v->size() > kMaxLastErrorBytes || !std::all_of(v->begin(), v->end(), printable)) {
      return invalidArgument(header::kLastError, "1 to 240 printable ASCII characters");
    }
    h.lastError = std::move(*v);
  }
  return h;
}

}  // namespace loyalty::sync
