#pragma once
/// @brief The error of a database server that went away: head office's answer names it.

#include <string>

#include "loyalty/hq/sql.hpp"

namespace loyalty::hq {

/// The database server went away or is restarting (PostgreSQL: the connection was lost, or
/// SQLSTATE class 57P, e.g. after a PANIC on a full pg_wal): the next request reconnects. A
/// commit cut off this way may have happened, so a client sends its request again (idempotent).
class SqlUnavailable : public SqlError {
 public:
  explicit SqlUnavailable(const std::string& what) : SqlError(what, false) {}
};

}  // namespace loyalty::hq
