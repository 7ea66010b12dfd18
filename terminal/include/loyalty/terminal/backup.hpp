#pragma once
/// @brief Backing up and restoring a terminal's data directory (terminal.db and credentials.db)
/// as one checksummed file, while the counter app goes on selling.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "loyalty/core/result.hpp"

namespace loyalty::terminal {

/// The program name a terminal's backups carry (and the prefix of timestamped backup files).
inline constexpr const char* kBackupProgram = "loyalty-terminal";

struct TerminalBackup {
  std::filesystem::path file;
  std::string storeId, terminalId;  ///< empty when the terminal has none recorded yet
  std::int64_t outboxSeq = 0;       ///< the last event in the backup
  std::int64_t outboxAckedThrough = 0;
  bool sealed = false;              ///< members are sealed: the backup is useless without the at-rest key
  std::vector<std::filesystem::path> pruned;  ///< older backups removed (--keep-days)
};

/// Copies DATA/terminal.db and DATA/credentials.db into the new file `out` (mode 0600; an existing
/// file is refused), one consistent snapshot taken with SQLite's online backup API while other
/// processes write. The at-rest key is not in it (keep it apart): the backup records the key's
/// check so a restore can tell the right key. Refusals name the option (--data, --out).
Result<TerminalBackup> backupTerminal(const std::filesystem::path& dataDir, const std::filesystem::path& out,
                                      std::chrono::system_clock::time_point now);

/// The same into `dir` (made 0700 if missing) as loyalty-terminal-YYYYMMDDTHHMMSSZ.backup, then
/// removes this program's timestamped backups there older than `keepDays` days (0: none removed).
Result<TerminalBackup> backupTerminalInto(const std::filesystem::path& dataDir, const std::filesystem::path& dir,
                                          int keepDays, std::chrono::system_clock::time_point now);

struct TerminalRestore {
  std::string createdAt;  ///< when the backup was taken (RFC 3339, UTC)
  std::string storeId, terminalId;
  std::int64_t outboxSeq = 0;
};

/// Replaces DATA's databases by the backup `from`: refused (nothing changed) if `from` is not a
/// whole loyalty-terminal backup, is from a newer schema, the at-rest key at atRestKeyFile(DATA)
/// is missing or not the one the backup's members are sealed with, or a process has the
/// databases open. Each file is replaced atomically (rename), the old WAL never replayed into it.
Result<TerminalRestore> restoreTerminal(const std::filesystem::path& dataDir, const std::filesystem::path& from);

}  // namespace loyalty::terminal
