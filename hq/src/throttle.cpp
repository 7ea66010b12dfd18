#include "loyalty/hq/throttle.hpp"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>

#include "loyalty/hq/crypto.hpp"

namespace loyalty::hq {

namespace {

constexpr const char* kThrottleSchema = R"SQL(
CREATE TABLE IF NOT EXISTS auth_failures(
  throttle_key TEXT PRIMARY KEY, failures BIGINT NOT NULL, window_start TEXT NOT NULL, locked_until TEXT);
)SQL";

}  // namespace

ThrottleRules ThrottleRules::from(const Settings& s) {
  return {s.signinMaxFailuresPerAccount, s.signinMaxFailuresPerAddress, std::chrono::seconds(s.signinLockoutSeconds)};
}

void ensureThrottleSchema(SqlConnection& c) {
  if (c.hasTable("auth_failures")) return;
  c.execScript(kThrottleSchema);
}

// [SECTION] Throttle

Throttle::Throttle(std::unique_ptr<SqlConnection> connection, ThrottleRules rules) : m_c(std::move(connection)), m_rules(rules) {
  ensureThrottleSchema(*m_c);
}

std::int64_t Throttle::limitOf(const std::string& key) const {
  return key.rfind("user:", 0) == 0 ? m_rules.accountFailures : m_rules.addressFailures;
}

std::optional<std::chrono::seconds> Throttle::lockedFor(const std::vector<std::string>& keys, Timestamp now) {
  std::string in;
  std::vector<SqlValue> params{formatRfc3339(now)};
  for (const auto& k : keys) {
    params.emplace_back(k);
    in += (in.empty() ? "$" : ", $") + std::to_string(params.size());
  }
  if (in.empty()) return std::nullopt;
  std::lock_guard lock(m_mutex);
  const auto r = m_c->query("SELECT MAX(locked_until) FROM auth_failures WHERE throttle_key IN (" + in + ") AND locked_until > $1",
                            params);
  if (r.empty() || r.isNull(0, 0)) return std::nullopt;
  const auto until = parseRfc3339(r.text(0, 0), "locked_until");
  if (!until) return std::nullopt;
  return std::max(std::chrono::seconds(1), *until - now);
}

std::optional<std::chrono::seconds> Throttle::failed(const std::vector<std::string>& keys, Timestamp now) {
  {
    std::lock_guard lock(m_mutex);
    const std::string at = formatRfc3339(now), windowOpen = formatRfc3339(now - m_rules.window),
                      lockUntil = formatRfc3339(now + m_rules.window);
    // Each statement on its own, with no transaction around them: each is right across
    // instances by itself and no other write depends on these rows, so a failure does not wait
    // for uploads (the store-wide writer lock), and holds no row while it locks another (the
    // sweep below, with another instance counting a key it deletes, could otherwise deadlock).
    // A key counted before a later statement fails stays counted: a failure is never lost.
    for (const auto& key : keys) {
      // One statement, so instances counting the same key at once lose no failure. A window
      // that began before `windowOpen` is over: the count starts again from this failure.
      m_c->query(
          "INSERT INTO auth_failures(throttle_key, failures, window_start, locked_until) "
          "VALUES ($1, 1, $2, CASE WHEN 1 >= $4 THEN CAST($5 AS TEXT) ELSE NULL END) "
          "ON CONFLICT (throttle_key) DO UPDATE SET "
          "failures = CASE WHEN auth_failures.window_start <= $3 THEN 1 ELSE auth_failures.failures + 1 END, "
          "window_start = CASE WHEN auth_failures.window_start <= $3 THEN $2 ELSE auth_failures.window_start END, "
          "locked_until = CASE WHEN (CASE WHEN auth_failures.window_start <= $3 THEN 1 ELSE auth_failures.failures + 1 END) >= $4 "
          "THEN CAST($5 AS TEXT) ELSE auth_failures.locked_until END",
          {key, at, windowOpen, limitOf(key), lockUntil});
    }
    // Counters whose window and lock are over mean nothing any more (at most once a minute).
    if (now - m_lastSweep >= std::chrono::minutes(1)) {
      m_c->query("DELETE FROM auth_failures WHERE window_start <= $1 AND (locked_until IS NULL OR locked_until <= $2)",
                 {windowOpen, at});
      m_lastSweep = now;
    }
  }
  return lockedFor(keys, now);
}

void Throttle::forget(const std::string& key) {
  std::lock_guard lock(m_mutex);
  m_c->query("DELETE FROM auth_failures WHERE throttle_key = $1", {key});
}

// [SECTION] Passwords

PasswordVerifier::PasswordVerifier() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium cannot start");
}

bool PasswordVerifier::verify(const std::optional<std::string>& hash, std::string_view password) {
  m_slots.acquire();
  std::call_once(m_dummyMade, [this] {
    // Same algorithm and limits as real accounts (setDashboardUser): the same work to verify.
    const std::string dummyPassword = randomToken();
    char dummy[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(dummy, dummyPassword.data(), dummyPassword.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
      m_slots.release();
      throw std::runtime_error("out of memory hashing a password");
    }
    m_dummy = dummy;
  });
  const bool match = crypto_pwhash_str_verify(hash ? hash->c_str() : m_dummy.c_str(), password.data(), password.size()) == 0;
  m_slots.release();
  ++m_count;
  return hash.has_value() && match;
}

std::int64_t PasswordVerifier::verifications() const { return m_count.load(); }

}  // namespace loyalty::hq
