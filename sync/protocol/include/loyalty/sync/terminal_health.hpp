#pragma once
/// @brief How a terminal is doing, sent with its protocol requests for head office's fleet page
/// (docs/fleet-updates.md): its clock when the request left (head office derives the clock skew)
/// and the last sync failure it saw. Optional headers: an older terminal sends none, an older
/// head office ignores them.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "loyalty/core/result.hpp"
#include "loyalty/core/time.hpp"

namespace loyalty::sync {

namespace header {
inline constexpr const char* kTerminalClock = "Loyalty-Terminal-Clock";  ///< RFC 3339, the terminal's clock
inline constexpr const char* kLastError = "Loyalty-Last-Error";          ///< the last sync failure (absent: none)
/// On head office's answers to a terminal: head office's clock (RFC 3339) as it answers. The
/// terminal learns from it how far its own clock is ahead (docs/reliability.md, "Clocks").
inline constexpr const char* kHeadOfficeClock = "Loyalty-Head-Office-Clock";
}  // namespace header

/// The longest last error sent (longer ones are cut).
inline constexpr std::size_t kMaxLastErrorBytes = 240;

struct TerminalHealth {
  std::optional<Timestamp> clock;
  std::optional<std::string> lastError;
};

/// "Loyalty-Terminal-Clock: ..." for a request leaving now.
std::string clockHeaderLine(Timestamp now);
/// "Loyalty-Last-Error: ..." with the message made safe for a header (printable ASCII, others
/// as '?', cut to kMaxLastErrorBytes).
std::string lastErrorHeaderLine(const std::string& message);

/// How far a terminal's clock is ahead of head office's by an answer's Loyalty-Head-Office-Clock
/// header (`value`), read at `localNow`; nullopt when the header is absent or malformed. Network
/// time only makes the terminal look behind, never ahead.
std::optional<std::chrono::seconds> clockAheadOf(const std::optional<std::string>& value, Timestamp localNow);

/// Reads the headers through `get` (nullopt: absent); a malformed one is refused with the
/// header's name as the field.
Result<TerminalHealth> decodeTerminalHealth(const std::function<std::optional<std::string>(const char*)>& get);

}  // namespace loyalty::sync
