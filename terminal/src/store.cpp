#include "loyalty/terminal/store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <stdexcept>

#include "loyalty/terminal/at_rest.hpp"
#include "loyalty/terminal/schema.hpp"

namespace loyalty::terminal {
namespace {

namespace fs = std::filesystem;

/// The first schema version with members' personal data sealed.
constexpr int kSealedVersion = 5;

/// The data directory exists and only its owner may enter it (0700), however it was made.
void prepareDirectory(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create data directory " + dir.string() + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) {
    throw std::runtime_error("cannot make data directory " + dir.string() + " private (mode 0700): " +
                             std::strerror(errno));
  }
}

/// An existing file becomes readable by its owner only (0600).
void restrict(const fs::path& file) {
  if (::chmod(file.c_str(), 0600) != 0 && errno != ENOENT) {
    throw std::runtime_error("cannot make " + file.string() + " private (mode 0600): " + std::strerror(errno));
  }
}

/// A database file and the WAL, shared-memory and journal files SQLite keeps beside it: existing
/// ones are made 0600, and the database is created 0600 before SQLite opens it (SQLite gives the
/// files it creates later the database's mode).
void prepareDatabaseFile(const fs::path& file) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) restrict(file.string() + suffix);
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + file.string() + ": " + std::strerror(errno));
  ::close(fd);
}

std::optional<std::string> storedKeyCheck(db::Database& db) {
  auto q = db.query("SELECT value FROM main.meta WHERE key = 'at_rest_key_check'");
  if (!q.step()) return std::nullopt;
  return q.text("value");
}

/// The keys for this database: the key file must exist once the database holds sealed data, and
/// must be the key it was sealed with (never a new one, which would leave every member unreadable).
void loadKeys(db::Database& db, const fs::path& dataDir, const fs::path& dbFile, int version) {
  const fs::path keyFile = atRestKeyFile(dataDir);
  if (keyFile == dataDir / "at-rest.key") restrict(keyFile);
  const std::optional<std::string> check = db::hasTable(db, "meta") ? storedKeyCheck(db) : std::nullopt;
  const bool sealedData = check || version >= kSealedVersion;
  auto keys = loadAtRestKeys(keyFile, !sealedData);
  if (!keys) {
    throw std::runtime_error("the at-rest key " + keyFile.string() + " is missing, but " + dbFile.string() +
                             " holds members sealed with it: restore that file (or set LOYALTY_AT_REST_KEY_FILE "
                             "to where it is); a new key would leave them unreadable");
  }
  if (check && *check != keys->keyCheck()) {
    throw std::runtime_error("the at-rest key " + keyFile.string() + " is not the key " + dbFile.string() +
                             " was sealed with: restore the right key file");
  }
  setAtRestKeys(db, std::move(keys));
}

/// DIR/credentials.db, attached as `credentials`: the staff and hq_link tables live there, so the
/// many unqualified `staff`/`hq_link` in the code find them once terminal.db no longer has them.
void attachCredentials(db::Database& db, const fs::path& file) {
  prepareDatabaseFile(file);
  db.query("ATTACH DATABASE ? AS credentials").bind(1, file.string()).run();
  db.exec("PRAGMA credentials.journal_mode=WAL; PRAGMA credentials.synchronous=FULL;");
  db::migrate(db, credentialsMigrations(), "credentials");
}

}  // namespace

void prepareDataDirectory(const std::string& dataDir) { prepareDirectory(dataDir); }

db::Database openTerminalDatabase(const std::string& dataDir) {
  const fs::path dir(dataDir);
  prepareDirectory(dir);
  const fs::path dbFile = dir / "terminal.db";
  prepareDatabaseFile(dbFile);
  db::Database database(dbFile.string());
  const int before = db::schemaVersion(database);
  loadKeys(database, dir, dbFile, before);
  attachCredentials(database, dir / "credentials.db");
  if (before > 0 && before < kSealedVersion) {
    // Copied in a transaction of its own before version 5 drops them from terminal.db: a
    // transaction over two WAL files is atomic per file only.
    db::Transaction tx(database);
    moveVersion4Credentials(database);
    tx.commit();
  }
  db::migrate(database, terminalMigrations());  // version 5 records the key check
  if (before > 0 && before < kSealedVersion) {
    // The upgrade zeroed what it removed; free pages from before it may still hold old rows, and
    // the WAL older pages. Rebuild the file (temporary copy on disk, not in memory) and reset the WAL.
    database.exec("PRAGMA temp_store=FILE; VACUUM main; PRAGMA temp_store=MEMORY;");
    Scrub scrub(database);
    if (!scrub.checkpoint()) {
      std::clog << "loyalty-terminal: " << dbFile.string()
                << ": another process kept the WAL from being reset after the upgrade; its old pages are reused\n";
    }
  }
  return database;
}

std::optional<std::string> metaValue(db::Database& db, const std::string& key) {
  auto q = db.query("SELECT value FROM meta WHERE key = ?").bind(1, key);
  if (!q.step()) return std::nullopt;
  return q.text("value");
}

void setMetaValue(db::Database& db, const std::string& key, const std::string& value) {
  db.query("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
      .bind(1, key)
      .bind(2, value)
      .run();
}

bool hasOutboxEvents(db::Database& db) { return db.query("SELECT 1 FROM outbox LIMIT 1").step(); }

namespace {

std::string settle(db::Database& db, const std::string& key, const std::optional<std::string>& wanted,
                   const std::string& fallback, bool hasEvents) {
  const auto stored = metaValue(db, key);
  if (wanted && wanted->empty()) throw std::runtime_error(key + " must not be empty");
  if (stored && wanted && *stored != *wanted && hasEvents) {
    throw std::runtime_error("this terminal's " + key + " is " + *stored + "; it cannot become " + *wanted +
                             " after events were recorded");
  }
  const std::string value = wanted.value_or(stored.value_or(fallback));
  if (!stored || *stored != value) setMetaValue(db, key, value);
  return value;
}

}  // namespace

Identity resolveIdentity(db::Database& db, const std::optional<std::string>& storeId,
                         const std::optional<std::string>& terminalId) {
  db::Transaction tx(db);
  const bool hasEvents = hasOutboxEvents(db);
  Identity id{settle(db, "store_id", storeId, "S001", hasEvents), settle(db, "terminal_id", terminalId, "T1", hasEvents)};
  tx.commit();
  return id;
}

std::int64_t outboxPending(db::Database& db) {
  auto q = db.query(
      "SELECT COALESCE((SELECT MAX(seq) FROM outbox), 0) - "
      "(SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'outbox_acked_through') AS pending");
  q.step();
  return q.int64("pending");
}

}  // namespace loyalty::terminal
