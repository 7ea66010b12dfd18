#pragma once
/// @brief Throttling of failed sign-ins (dashboard passwords) and failed credentials (bearer
/// tokens, registration codes), per account and per address, and password checks that take the
/// same time whether or not the user exists.
///
/// Failures are counted in the database (table auth_failures), so head-office instances on one
/// PostgreSQL share them: a key that reaches its limit within the window is locked for the
/// window, and every attempt under it is answered 429 with Retry-After, right or wrong.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <semaphore>
#include <string>
#include <string_view>
#include <vector>

#include "loyalty/core/time.hpp"
#include "loyalty/hq/settings.hpp"
#include "loyalty/hq/sql.hpp"

namespace loyalty::hq {

struct ThrottleRules {
  std::int64_t accountFailures = 10;    ///< failed sign-ins of one user name
  std::int64_t addressFailures = 100;   ///< failed sign-ins and credentials from one IP address
  std::chrono::seconds window{900};     ///< failures count within it; a lock lasts as long

  static ThrottleRules from(const Settings& settings);
};

/// Creates the failure counters' table on a database that lacks it (idempotent).
void ensureThrottleSchema(SqlConnection& c);

class Throttle {
 public:
  /// Uses its own connection (checked on every request that carries a credential).
  Throttle(std::unique_ptr<SqlConnection> connection, ThrottleRules rules);

  static std::string accountKey(std::string_view userName) { return "user:" + std::string(userName); }
  static std::string addressKey(std::string_view address) { return "address:" + std::string(address); }

  /// How long until every one of `keys` may try again; nullopt when none is locked.
  std::optional<std::chrono::seconds> lockedFor(const std::vector<std::string>& keys, Timestamp now);
  /// Counts one failure against each key; a key reaching its limit is locked for the window.
  /// Returns lockedFor(keys) afterwards.
  std::optional<std::chrono::seconds> failed(const std::vector<std::string>& keys, Timestamp now);
  /// Forgets a key's failures (an account after its owner signed in).
  void forget(const std::string& key);

 private:
  std::int64_t limitOf(const std::string& key) const;

  std::mutex m_mutex;
  std::unique_ptr<SqlConnection> m_c;
  const ThrottleRules m_rules;
  Timestamp m_lastSweep{};
};

/// Verifies argon2id password hashes, a few at a time (each takes ~64 MiB and ~100 ms), and
/// verifies a dummy hash for users that do not exist, so both take the same time. The dummy is
/// made by the first verification, whatever its user (so the first costs the same either way),
/// not at start: a restart after a crash does not wait for an argon2 hash.
class PasswordVerifier {
 public:
  PasswordVerifier();

  /// True if `password` matches `hash`; with no hash, verifies against the dummy and is false.
  bool verify(const std::optional<std::string>& hash, std::string_view password);
  /// Verifications done since start (for /metrics).
  std::int64_t verifications() const;

 private:
  std::once_flag m_dummyMade;
  std::string m_dummy;
  std::counting_semaphore<> m_slots{2};
  std::atomic<std::int64_t> m_count{0};
};

}  // namespace loyalty::hq
