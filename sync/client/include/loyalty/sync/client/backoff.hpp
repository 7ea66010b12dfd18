#pragma once
/// @brief Retry delays: exponential backoff with full jitter, honouring Retry-After.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

namespace loyalty::sync {

struct BackoffPolicy {
  std::chrono::milliseconds base{1000};
  std::chrono::milliseconds cap{std::chrono::minutes(5)};
};

/// After n consecutive failures the next delay is uniform in [0, min(cap, base * 2^n)]
/// ("full jitter"), so terminals that lost head office together do not return together.
/// A server's Retry-After is a lower bound, clamped to the cap so that a misconfigured server
/// cannot silence a terminal for longer than the cap.
class Backoff {
 public:
  /// `random` returns uniformly distributed 64-bit values (injected for tests).
  Backoff(BackoffPolicy policy, std::function<std::uint64_t()> random);

  /// Records a failure and returns how long to wait before the next attempt.
  std::chrono::milliseconds failure(std::optional<std::chrono::milliseconds> retryAfter = std::nullopt);
  /// Records a success: the next failure starts from `base` again.
  void success() { m_failures = 0; }
  int failures() const { return m_failures; }
  /// The upper bound of the jitter window after `failures` failures.
  std::chrono::milliseconds ceiling(int failures) const;

 private:
  BackoffPolicy m_policy;
  std::function<std::uint64_t()> m_random;
  int m_failures = 0;
};

/// Parses an HTTP Retry-After value: delta-seconds ("120") or an IMF-fixdate
/// ("Wed, 21 Oct 2026 07:28:00 GMT") relative to `now`. nullopt when it is neither;
/// a date in the past is zero.
std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now);

}  // namespace loyalty::sync
