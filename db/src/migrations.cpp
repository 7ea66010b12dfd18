#include "loyalty/db/migrations.hpp"

#include <string>

namespace loyalty::db {
namespace {

std::string versionTable(std::string_view schema) {
  return "\"" + std::string(schema) + "\".schema_version";
}

/// Foreign keys off for a table rebuild (a no-op inside a transaction, so set before it begins),
/// back on when the migration ends, however it ends.
class ForeignKeysOff {
 public:
  ForeignKeysOff(Database& db, bool active) : m_db(db), m_active(active) {
    if (m_active) m_db.exec("PRAGMA foreign_keys=OFF");
  }
  ForeignKeysOff(const ForeignKeysOff&) = delete;
  ForeignKeysOff& operator=(const ForeignKeysOff&) = delete;
  ~ForeignKeysOff() {
    if (m_active) sqlite3_exec(m_db.handle(), "PRAGMA foreign_keys=ON", nullptr, nullptr, nullptr);
  }

 private:
  Database& m_db;
  bool m_active;
};

}  // namespace

int schemaVersion(Database& db, std::string_view schema) {
  const std::string table = versionTable(schema);
  db.exec("CREATE TABLE IF NOT EXISTS " + table + " (version INTEGER NOT NULL)");
  auto q = db.query("SELECT COALESCE(MAX(version), 0) AS version FROM " + table);
  q.step();
  return static_cast<int>(q.int64("version"));
}

int migrate(Database& db, std::span<const Migration> migrations, std::string_view schema) {
  int current = schemaVersion(db, schema);
  const int known = migrations.empty() ? 0 : migrations.back().version;
  if (current > known) {
    throw DbError("database schema version " + std::to_string(current) +
                      " is newer than this program knows (" + std::to_string(known) +
                      "): upgrade the program",
                  SQLITE_MISMATCH);
  }
  const std::string table = versionTable(schema);
  for (const Migration& m : migrations) {
    if (m.version <= current) continue;
    if (m.version != current + 1) {
      throw DbError("migrations are not contiguous at version " + std::to_string(m.version),
                    SQLITE_MISMATCH);
    }
    const ForeignKeysOff keysOff(db, m.rebuildsTables);
    Transaction tx(db);
    db.exec(m.sql);
    if (m.step) m.step(db);
    if (m.rebuildsTables) {
      auto check = db.query("PRAGMA foreign_key_check");
      if (check.step()) {
        const std::string orphans = check.text("table");
        throw DbError("migration " + std::to_string(m.version) + " leaves rows of " + orphans +
                          " without the row they reference",
                      SQLITE_CONSTRAINT_FOREIGNKEY);
      }
    }
    db.query("DELETE FROM " + table).run();
    db.query("INSERT INTO " + table + "(version) VALUES (?)").bind(1, m.version).run();
    tx.commit();
    current = m.version;
  }
  return current;
}

}  // namespace loyalty::db
