#include "loyalty/db/migrations.hpp"

#include <string>

namespace loyalty::db {

int schemaVersion(Database& db) {
  db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  auto& st = db.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_version");
  st.step();
  const auto v = static_cast<int>(st.getInt(0));
  st.reset();
  return v;
}

int migrate(Database& db, std::span<const Migration> migrations) {
  int current = schemaVersion(db);
  const int known = migrations.empty() ? 0 : migrations.back().version;
  if (current > known) {
    throw DbError("database schema version " + std::to_string(current) +
                      " is newer than this program knows (" + std::to_string(known) +
                      "): upgrade the program",
                  SQLITE_MISMATCH);
  }
  for (const Migration& m : migrations) {
    if (m.version <= current) continue;
    if (m.version != current + 1) {
      throw DbError("migrations are not contiguous at version " + std::to_string(m.version),
                    SQLITE_MISMATCH);
    }
    Transaction tx(db);
    db.exec(m.sql);
    db.prepare("DELETE FROM schema_version").run();
    db.prepare("INSERT INTO schema_version(version) VALUES (?)").bind(1, m.version).run();
    tx.commit();
    current = m.version;
  }
  return current;
}

}  // namespace loyalty::db
