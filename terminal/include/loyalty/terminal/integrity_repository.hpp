#pragma once
/// @brief Counts over the whole store and the checks `verify` runs on it (cached balances
/// against the ledger, spend against sales, lots against balances, the outbox against the rows
/// its events record).

#include <cstdint>
#include <string>
#include <vector>

#include "loyalty/db/database.hpp"

namespace loyalty::terminal {

struct StoreCounts {
  std::int64_t members = 0;        ///< not erased
  std::int64_t allMembers = 0;     ///< erased included
  std::int64_t sales = 0;
  std::int64_t ledgerEntries = 0;
  std::int64_t outboxEvents = 0;
};

class IntegrityRepository {
 public:
  explicit IntegrityRepository(db::Database& db) : m_db(db) {}

  StoreCounts counts();
  /// Every inconsistency found, as "what: detail" sentences (at most 20 of each kind).
  std::vector<std::string> problems();

 private:
  db::Database& m_db;
};

}  // namespace loyalty::terminal
