#pragma once
/// @brief Backups of SQLite databases: consistent copies taken while others write (SQLite's online
/// backup API), a checksummed one-file archive, atomic replacement of databases, and retention.

#include <chrono>
#include <functional>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "loyalty/db/database.hpp"

namespace loyalty::db {

/// One file inside a backup archive: its name there (letters, digits, '.', '_', '-', and '/'
/// between names) and the file on disk.
struct ArchivePart {
  std::string name;
  std::filesystem::path file;
};

/// What an archive says about itself: the program that wrote it and its fields (one-line values).
struct ArchiveHeader {
  std::string program;
  std::map<std::string, std::string> fields;
};

/// Writes a backup archive to `out`, which must not exist (an existing file is never replaced).
/// The databases are schemas of `source` (e.g. "main" and an attached "credentials", each with its
/// part name), copied with SQLite's online backup API inside one read transaction of `source`: one
/// consistent snapshot, taken while other connections go on writing (WAL readers never block
/// writers). `describe` fills the header's fields inside that transaction, so they describe the
/// same snapshot. `files` are added as they are. The archive is a text header (program, fields,
/// each part's size and BLAKE2b-256 hash, the header's own hash) and the parts' bytes, written to
/// a temporary file beside `out` (mode 0600), synced, linked into place and the directory synced:
/// `out` is whole or absent. A refusal (`out` exists, its directory cannot be written) is a
/// sentence naming the file; DbError for a broken database.
std::optional<std::string> writeBackup(Database& source, const std::vector<std::pair<std::string, std::string>>& databases,
                                       const std::vector<ArchivePart>& files, const std::string& program,
                                       const std::function<void(Database&, ArchiveHeader&)>& describe,
                                       const std::filesystem::path& out);

/// The parts of an archive extracted into temporary files (mode 0600); the files still there are
/// removed when it goes out of scope (a part moved into place is no longer there).
class ExtractedArchive {
 public:
  ExtractedArchive() = default;
  ExtractedArchive(ExtractedArchive&&) noexcept = default;
  ExtractedArchive& operator=(ExtractedArchive&&) noexcept = default;
  ~ExtractedArchive();

  ArchiveHeader header;
  std::vector<ArchivePart> parts;  ///< `file` is the extracted temporary file

  /// The extracted file of part `name`, or nullptr.
  const ArchivePart* part(std::string_view name) const;
};

/// Reads the archive `in`, written by `program`, extracting its parts into temporary files in
/// `extractDir` (use the directory the parts will be moved into, so a rename is atomic). Refused,
/// with a sentence saying why: not a backup archive, another program's, a newer format, damaged
/// (a hash that differs, truncated, trailing bytes).
std::variant<ExtractedArchive, std::string> readArchive(const std::filesystem::path& in, std::string_view program,
                                                        const std::filesystem::path& extractDir);

/// Whether `file` is a whole SQLite database (PRAGMA integrity_check): the reason if not.
std::optional<std::string> checkDatabaseFile(const std::filesystem::path& file);

/// A file moved into place by replaceFiles.
struct Replacement {
  std::filesystem::path from;  ///< a complete file in the same file system as `to`
  std::filesystem::path to;
  bool database = false;       ///< a SQLite database: taken exclusively first, its -wal/-shm handled
};

/// Moves each `from` over its `to` with rename(2), each file atomically. The databases among them
/// are first taken exclusively (SQLite's exclusive locking mode): if another connection has one
/// open (a running program), nothing is changed and the refusal names it. The replaced databases'
/// WAL is checkpointed and removed before the rename (a WAL left beside a new file would be
/// replayed into it), their -shm removed; the directories are synced after. Throws DbError or
/// std::filesystem::filesystem_error for a broken environment.
std::optional<std::string> replaceFiles(const std::vector<Replacement>& replacements);

/// The name of a timestamped backup: PREFIX-YYYYMMDDTHHMMSSZ.backup (UTC).
std::string timestampedBackupName(std::string_view prefix, std::chrono::system_clock::time_point at);

/// Removes the backups in `dir` named by timestampedBackupName with `prefix` whose time is more
/// than `keepDays` days before `now`; other files are never touched. Returns the removed files.
std::vector<std::filesystem::path> pruneBackups(const std::filesystem::path& dir, std::string_view prefix, int keepDays,
                                                std::chrono::system_clock::time_point now);

}  // namespace loyalty::db
