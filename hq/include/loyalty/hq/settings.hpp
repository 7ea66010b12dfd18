#pragma once
/// @brief Head office's data directory: DIR/hq.toml (storage backend), DIR/hq.db, DIR/tls/.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "loyalty/core/result.hpp"
#include "loyalty/hq/sql.hpp"

namespace loyalty::hq {

struct Settings {
  std::string backend = "sqlite";  ///< "sqlite" | "postgresql"
  std::string dsn;                 ///< postgresql only
  /// storage.reports_dsn, postgresql only: where reports read (a replica), when set.
  std::string reportsDsn;
  // [reports]: slow reports kept for the dashboard (loyalty/hq/report_cache.hpp).
  std::int64_t reportMaxAgeSeconds = 600;   ///< reports.max_age_seconds, 0..86400 (0: kept results only while their data is unchanged)
  std::int64_t reportSlowMs = 250;          ///< reports.slow_ms, 0..600000
  std::int64_t reportRefreshSeconds = 120;  ///< reports.refresh_seconds, 1..86400
  /// reports.connections, 1..16: the storage connections reports run on, one report each at a
  /// time (beside the writer's and the reader's, which they never hold up). The customers page
  /// runs its three reports at once; more than the host's cores gains nothing.
  std::int64_t reportConnections = 3;
  /// [redemptions] reservation_minutes, 1..1440: how long an unsettled online reservation holds points.
  std::int64_t reservationMinutes = 10;
  /// [redemptions] hold_days, 1..365: how long a reservation the terminal promised to settle or
  /// release (after_seq) is held without hearing from it: the valve for a terminal that never returns.
  std::int64_t reservationHoldDays = 14;
  // [server]: connections (loyalty/hq/http_guard.hpp). Idle connections cost a parked thread
  // until their deadline; a chain whose terminals share one NAT address needs a higher cap.
  std::int64_t serverMaxWorkers = 256;               ///< server.max_workers, 8..4096
  std::int64_t serverMaxConnectionsPerAddress = 64;  ///< server.max_connections_per_address, 1..100000
  std::int64_t serverHeaderDeadlineSeconds = 10;     ///< server.header_deadline_seconds, 1..600: TLS handshake and request header
  std::int64_t serverRequestDeadlineSeconds = 120;   ///< server.request_deadline_seconds, 1..3600: a request's body
  /// server.leader_check_seconds, 1..60: how often an instance on PostgreSQL tries to take the
  /// lead of the background work, and the leader checks it still has it (leadership.hpp).
  std::int64_t serverLeaderCheckSeconds = 2;
  // [signin]: failed dashboard sign-ins and bearer tokens (loyalty/hq/throttle.hpp).
  std::int64_t signinMaxFailuresPerAccount = 10;   ///< signin.max_failures_per_account, 1..1000
  std::int64_t signinMaxFailuresPerAddress = 100;  ///< signin.max_failures_per_address, 1..100000
  std::int64_t signinLockoutSeconds = 900;         ///< signin.lockout_seconds, 1..86400: the counting window and the lock
};

struct DataDir {
  std::filesystem::path root;
  std::filesystem::path settingsFile() const { return root / "hq.toml"; }
  std::filesystem::path sqliteFile() const { return root / "hq.db"; }
  /// SQLite's temporary files while serving (openStorageForReports): kept within the data directory.
  std::filesystem::path sqliteTempDir() const { return root / "tmp"; }
  std::filesystem::path tlsDir() const { return root / "tls"; }
  std::filesystem::path caCert() const { return tlsDir() / "ca.pem"; }
  std::filesystem::path caKey() const { return tlsDir() / "ca.key"; }
  std::filesystem::path serverCert() const { return tlsDir() / "server.pem"; }
  std::filesystem::path serverKey() const { return tlsDir() / "server.key"; }
};

/// A test's hook read from the environment: `variable` as a whole number of milliseconds (0 or
/// more), nullopt when unset or empty; std::runtime_error naming the variable otherwise.
std::optional<std::chrono::milliseconds> testHookMilliseconds(const char* variable);

/// Reads DIR/hq.toml strictly: unknown keys and bad values are errors naming the key.
Result<Settings> loadSettings(const DataDir& dir);
/// Writes DIR/hq.toml (mode 0600: the DSN may hold a password).
void saveSettings(const DataDir& dir, const Settings& settings);

/// Opens the configured backend. `application`: what the connection is for, as PostgreSQL's
/// pg_stat_activity shows it ("loyalty-hq writer"; a DSN naming an application_name wins).
std::unique_ptr<SqlConnection> openStorage(const DataDir& dir, const Settings& settings,
                                           const std::string& application = "loyalty-hq");
/// openStorage's connection for reports and background work on a whole store. On SQLite, its
/// page cache is small (8 MiB, against 32) and its sorts and temporary tables spill to files
/// rather than memory (in DataDir::sqliteTempDir() under `serve`: useSqliteTempDir): in memory,
/// ranking a million members took head office to 243 MiB (nearly its whole 256 MB) and was no
/// faster for it (bench/results/analytics.json, "hq_memory_sqlite_1m_r28").
std::unique_ptr<SqlConnection> openStorageForReports(const DataDir& dir, const Settings& settings, const std::string& application);
/// On SQLite, makes DataDir::sqliteTempDir() (0700) SQLite's directory for temporary files, for
/// the whole process: a report's sort runs hold members' data, kept where the store is. Call
/// before the first connection opens (`serve` does). Nothing on PostgreSQL.
void useSqliteTempDir(const DataDir& dir, const Settings& settings);
/// The connection reports read from when `storage.reports_dsn` is set, else nullptr (they read
/// the storage). Throws SqlError naming storage.reports_dsn when it cannot connect.
std::unique_ptr<SqlConnection> openReportsStorage(const Settings& settings, const std::string& application = "loyalty-hq");
/// The reports' own connections (reports.connections of them, "loyalty-hq reports"): to
/// storage.reports_dsn when it is set, else to the storage (openStorageForReports).
std::vector<std::unique_ptr<SqlConnection>> openReportConnections(const DataDir& dir, const Settings& settings);

}  // namespace loyalty::hq
