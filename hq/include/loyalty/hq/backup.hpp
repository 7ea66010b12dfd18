#pragma once
/// @brief Backing up and restoring head office's SQLite data directory (hq.db, hq.toml, tls/) as
/// one checksummed file while the server runs. PostgreSQL is backed up with pg_dump
/// (docs/operations.md).

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "loyalty/core/result.hpp"
#include "loyalty/hq/settings.hpp"

namespace loyalty::hq {

/// The program name head office's backups carry (and the prefix of timestamped backup files).
inline constexpr const char* kHqBackupProgram = "loyalty-hq";

struct HqBackup {
  std::filesystem::path file;
  std::vector<std::string> parts;             ///< what it holds: hq.db, hq.toml, tls/...
  std::vector<std::filesystem::path> pruned;  ///< older backups removed (--keep-days)
};

/// Copies DIR/hq.db (SQLite's online backup API: one consistent snapshot while the server writes),
/// hq.toml and the TLS files (the CA key too when it is kept in DIR) into the new file `out`
/// (mode 0600; an existing file is refused). Audited as `backup.create`. Refused for a PostgreSQL
/// backend (pg_dump backs it up) and a directory without head office's database.
Result<HqBackup> backupHq(const DataDir& dir, const std::filesystem::path& out, std::chrono::system_clock::time_point now);

/// The same into `backupDir` (made 0700 if missing) as loyalty-hq-YYYYMMDDTHHMMSSZ.backup, then
/// removes this program's timestamped backups there older than `keepDays` days (0: none removed).
Result<HqBackup> backupHqInto(const DataDir& dir, const std::filesystem::path& backupDir, int keepDays,
                              std::chrono::system_clock::time_point now);

struct HqRestore {
  std::string createdAt;  ///< when the backup was taken (RFC 3339, UTC)
  std::vector<std::string> parts;
};

/// Puts the backup `from` into DIR (made 0700 if missing): refused, nothing changed, if `from` is
/// not a whole loyalty-hq backup, its database is not one this program can use, or a process (the
/// server) has DIR/hq.db open. Each file is replaced atomically (rename), the old WAL never
/// replayed into the new database. Audited as `backup.restore` in the restored database.
Result<HqRestore> restoreHq(const DataDir& dir, const std::filesystem::path& from);

}  // namespace loyalty::hq
