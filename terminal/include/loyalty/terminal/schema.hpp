#pragma once
/// @brief The terminal database's numbered migrations.

#include <span>

#include "loyalty/db/migrations.hpp"

namespace loyalty::terminal {

std::span<const db::Migration> terminalMigrations();

}  // namespace loyalty::terminal
