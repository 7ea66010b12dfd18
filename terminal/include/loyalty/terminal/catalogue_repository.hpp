#pragma once
/// @brief The reward catalogue as the counter offers it (table rewards).

#include <cstdint>
#include <string>
#include <vector>

#include "loyalty/db/database.hpp"

namespace loyalty::terminal {

struct CatalogueReward {
  std::string rewardId;
  std::string name;
  std::int64_t points = 0;
};

class CatalogueRepository {
 public:
  explicit CatalogueRepository(db::Database& db) : m_db(db) {}
  /// The active rewards, cheapest first (then by id).
  std::vector<CatalogueReward> active();

 private:
  db::Database& m_db;
};

}  // namespace loyalty::terminal
