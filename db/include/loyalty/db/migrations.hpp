#pragma once
/// @brief Numbered schema migrations recorded in a schema_version table.

#include <span>
#include <string_view>

#include "loyalty/db/database.hpp"

namespace loyalty::db {

struct Migration {
  int version;           ///< 1, 2, 3 ... contiguous
  std::string_view sql;  ///< applied in one transaction with the version bump
};

/// Applies every migration newer than the database's schema_version, each in its own
/// transaction. Refuses (DbError) a database newer than this program knows.
/// Returns the resulting version.
int migrate(Database& db, std::span<const Migration> migrations);

/// The version recorded in the database (0 for a new one).
int schemaVersion(Database& db);

}  // namespace loyalty::db
