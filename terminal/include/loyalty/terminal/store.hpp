#pragma once
/// @brief Opening a terminal's data directory: the database file, migrations, identity.

#include <cstdint>
#include <optional>
#include <string>

#include "loyalty/db/database.hpp"

namespace loyalty::terminal {

/// Creates DIR if needed and makes it its owner's alone (0700), however it was made.
void prepareDataDirectory(const std::string& dataDir);

/// Creates DIR if needed, opens DIR/terminal.db and migrates it to the current schema.
db::Database openTerminalDatabase(const std::string& dataDir);

struct Identity {
  std::string storeId;
  std::string terminalId;
};

/// The store and terminal ids recorded in the database. A given id is recorded if none is yet;
/// one that differs from the recorded id is refused once events were written under the old one
/// (changing identity would corrupt the per-terminal event sequence). Throws std::runtime_error.
Identity resolveIdentity(db::Database& db, const std::optional<std::string>& storeId,
                         const std::optional<std::string>& terminalId);

/// The value stored under `key` in the terminal's meta table.
std::optional<std::string> metaValue(db::Database& db, const std::string& key);
/// Stores `value` under `key` in the terminal's meta table (inside the caller's transaction, if any).
void setMetaValue(db::Database& db, const std::string& key, const std::string& value);

/// Whether this terminal has recorded any event (its identity is then fixed).
bool hasOutboxEvents(db::Database& db);

/// Events not yet acknowledged by head office. The outbox sequence is contiguous from 1 (verify
/// proves it), so this is a difference of two numbers, not a count over the outbox.
std::int64_t outboxPending(db::Database& db);

}  // namespace loyalty::terminal
