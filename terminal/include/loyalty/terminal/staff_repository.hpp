#pragma once
/// @brief The staff table (in credentials.db): accounts with their argon2id PIN hashes and
/// failed-PIN counts. The rules (PIN form, locking, argon2) are in staff.hpp.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "loyalty/db/database.hpp"

namespace loyalty::terminal {

struct StaffAccount {
  std::string staffId, name, role, pinHash;
  int failedAttempts = 0;
  bool active = true;
};

/// Reads and writes staff accounts on one connection; writes run inside the caller's transaction.
class StaffRepository {
 public:
  explicit StaffRepository(db::Database& db) : m_db(db) {}

  std::optional<StaffAccount> byId(const std::string& staffId);
  /// Whether the terminal has any staff account at all.
  bool any();
  void insert(const StaffAccount& account);
  /// The active supervisors, locked ones included.
  std::vector<StaffAccount> activeSupervisors();
  void resetFailures(const std::string& staffId);
  void countFailure(const std::string& staffId);
  /// False if there is no such account.
  bool unlock(const std::string& staffId);

 private:
  db::Database& m_db;
};

}  // namespace loyalty::terminal
