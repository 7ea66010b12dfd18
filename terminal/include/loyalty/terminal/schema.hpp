#pragma once
/// @brief The terminal's numbered migrations: the member database and the credentials file.

#include <span>

#include "loyalty/db/migrations.hpp"

namespace loyalty::terminal {

/// DIR/terminal.db. Version 5's step needs the connection's at-rest keys and the credentials file
/// attached (openTerminalDatabase provides both).
std::span<const db::Migration> terminalMigrations();

/// DIR/credentials.db, attached to every connection as `credentials`.
std::span<const db::Migration> credentialsMigrations();

/// Copies version 4's staff and hq_link rows from terminal.db into the credentials file (version 5
/// then drops them there). Idempotent; does nothing once they are gone.
void moveVersion4Credentials(db::Database& db);

}  // namespace loyalty::terminal
