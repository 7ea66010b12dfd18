#pragma once
/// @brief Staff accounts: PINs stored as argon2id hashes, supervisor authorisation.

#include <cstddef>
#include <optional>
#include <string>

#include "loyalty/core/result.hpp"
#include "loyalty/db/database.hpp"

namespace loyalty::terminal {

struct StaffMember {
  std::string staffId;
  std::string name;
  std::string role;  ///< "cashier" or "supervisor"
};

/// Fewest digits of a supervisor's PIN (cashiers: 4).
inline constexpr std::size_t kMinSupervisorPinDigits = 6;

/// The form of a staff id: 1 to 32 printable characters (invalid_argument naming `staff_id`).
Status checkStaffIdText(const std::string& staffId);

/// The `staff_id` an operation names as the signed-in staff member: absent, or well formed and,
/// when this terminal has staff accounts, one of its active accounts (invalid_argument naming
/// `staff_id` otherwise). A terminal without accounts (scripts, imports) takes any well-formed id:
/// its till software signs staff in.
Status checkStaffId(db::Database& db, const std::optional<std::string>& staffId);

/// Adds a staff account; the PIN (4 to 8 digits, a supervisor's at least
/// kMinSupervisorPinDigits) is hashed with argon2id.
Result<StaffMember> addStaff(db::Database& db, const std::string& staffId, const std::string& name,
                             const std::string& role, const std::string& pin);

/// Wrong PINs in a row after which an account is locked until a supervisor unlocks it.
inline constexpr int kMaxFailedPinAttempts = 5;

/// Counter sign-in: checks `pin` against the account `staffId`. A wrong PIN counts against the
/// account (forbidden, with the tries left); at kMaxFailedPinAttempts the account is locked and
/// even the right PIN is refused until unlockStaff. A right PIN resets the count.
Result<StaffMember> signIn(db::Database& db, const std::string& staffId, const std::string& pin);

/// Clears the failed-PIN count of `staffId` (not_found if there is no such account).
Status unlockStaff(db::Database& db, const std::string& staffId);

/// The counter's unlock: a supervisor's PIN (authoriseSupervisor) clears the failed-PIN count of
/// `staffId`. The PIN is checked first; a wrong one counts against the supervisors.
Status unlockBySupervisor(db::Database& db, const std::string& staffId, const std::string& supervisorPin);

/// A supervisor's override: the active, unlocked supervisor whose PIN this is. A wrong PIN
/// counts as a failed attempt against every supervisor it was tried on (they lock at
/// kMaxFailedPinAttempts, as at sign-in, and unlockStaff restores one); the right PIN resets
/// that supervisor's count. The PINs are checked with argon2id (slow on purpose): call it
/// outside a write transaction; the count it writes is committed even when the caller refuses.
Result<StaffMember> authoriseSupervisor(db::Database& db, const std::string& pin);

}  // namespace loyalty::terminal
