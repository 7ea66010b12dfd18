#pragma once
/// @brief Numbered schema migrations recorded in a schema_version table.

#include <span>
#include <string_view>

#include "loyalty/db/database.hpp"

namespace loyalty::db {

struct Migration {
  int version;           ///< 1, 2, 3 ... contiguous
  std::string_view sql;  ///< applied in one transaction with the version bump
  /// What SQL cannot express (e.g. re-encoding every row), run after `sql` in the same transaction.
  void (*step)(Database&) = nullptr;
  /// Rebuilds a table that other tables reference (SQLite's way to drop a UNIQUE column): foreign
  /// keys are not enforced while it runs, and PRAGMA foreign_key_check must pass before it commits.
  bool rebuildsTables = false;
};

/// Applies every migration newer than the version recorded in `schema` (the main database or an
/// attached one), each in its own transaction. Refuses (DbError) a database newer than this
/// program knows. Returns the resulting version. Migrations of an attached database name their
/// tables with the schema (`CREATE TABLE schema.t`): unqualified, SQLite creates them in main.
int migrate(Database& db, std::span<const Migration> migrations, std::string_view schema = "main");

/// The version recorded in `schema` (0 for a new database).
int schemaVersion(Database& db, std::string_view schema = "main");

}  // namespace loyalty::db
