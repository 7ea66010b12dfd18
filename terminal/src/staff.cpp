#include "loyalty/terminal/staff.hpp"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "loyalty/core/text.hpp"
#include "loyalty/terminal/staff_repository.hpp"

namespace loyalty::terminal {
namespace {

void ensureSodium() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
}

}  // namespace

Status checkStaffIdText(const std::string& staffId) {
  const bool printable = std::none_of(staffId.begin(), staffId.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
  });
  if (staffId.empty() || staffId.size() > 32 || !printable || !isValidUtf8(staffId)) {
    return invalidArgument("staff_id", "a staff id has 1 to 32 printable characters");
  }
  return Ok{};
}

Status checkStaffId(db::Database& db, const std::optional<std::string>& staffId) {
  if (!staffId) return Ok{};
  if (auto s = checkStaffIdText(*staffId); !s) return s;
  StaffRepository staff(db);
  const auto account = staff.byId(*staffId);
  if (!(account && account->active) && staff.any()) {
    return invalidArgument("staff_id", "staff_id \"" + *staffId + "\" is not an active staff account of this terminal");
  }
  return Ok{};
}

Result<StaffMember> addStaff(db::Database& db, const std::string& staffId, const std::string& name,
                             const std::string& role, const std::string& pin) {
  if (auto s = checkStaffIdText(staffId); !s) return s.error();
  if (trim(name).empty() || !isValidUtf8(name)) return invalidArgument("name", "the staff member's name is missing");
  if (role != "cashier" && role != "supervisor") {
    return invalidArgument("role", "role is \"cashier\" or \"supervisor\"");
  }
  const std::string digits = digitsOf(pin);
  if (digits != pin || pin.size() < 4 || pin.size() > 8) {
    return invalidArgument("pin", "a PIN has 4 to 8 digits");
  }
  // A supervisor's PIN authorises spending points: too few digits are tried out quickly.
  if (role == "supervisor" && pin.size() < kMinSupervisorPinDigits) {
    return invalidArgument("pin", "a supervisor's PIN has " + std::to_string(kMinSupervisorPinDigits) + " to 8 digits");
  }
  ensureSodium();
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(hash, pin.c_str(), pin.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    throw std::runtime_error("out of memory hashing a PIN");
  }
  db::Transaction tx(db);
  StaffRepository staff(db);
  if (staff.byId(staffId)) return Error{errc::kAlreadyExists, "staff_id", "staff id " + staffId + " exists"};
  staff.insert({staffId, std::string(trim(name)), role, std::string(hash), 0, true});
  tx.commit();
  return StaffMember{staffId, std::string(trim(name)), role};
}

Result<StaffMember> signIn(db::Database& db, const std::string& staffId, const std::string& pin) {
  if (auto s = checkStaffIdText(staffId); !s) return s.error();
  if (pin.empty() || pin.size() > 8 || digitsOf(pin) != pin) return invalidArgument("pin", "a PIN has 4 to 8 digits");
  ensureSodium();
  StaffRepository staff(db);
  const auto account = staff.byId(staffId);
  if (!account) return Error{errc::kNotFound, "staff_id", "no staff account " + staffId};
  const StaffMember who{staffId, account->name, account->role};
  const std::string& hash = account->pinHash;
  const int failed = account->failedAttempts;
  if (!account->active) return Error{errc::kForbidden, "staff_id", "the account " + staffId + " is disabled"};
  if (failed >= kMaxFailedPinAttempts) {
    return Error{errc::kForbidden, "staff_id", "the account " + staffId + " is locked after " +
                                                   std::to_string(kMaxFailedPinAttempts) +
                                                   " wrong PINs: ask a supervisor to unlock it"};
  }
  const bool right = crypto_pwhash_str_verify(hash.c_str(), pin.c_str(), pin.size()) == 0;
  if (right && failed == 0) return who;
  db::Transaction tx(db);
  if (right) {
    staff.resetFailures(staffId);
  } else {
    staff.countFailure(staffId);
  }
  tx.commit();
  if (right) return who;
  const int left = kMaxFailedPinAttempts - failed - 1;
  if (left == 0) {
    return Error{errc::kForbidden, "pin", "wrong PIN: the account " + staffId + " is now locked"};
  }
  return Error{errc::kForbidden, "pin", "wrong PIN, " + std::to_string(left) + " tries left"};
}

Status unlockStaff(db::Database& db, const std::string& staffId) {
  db::Transaction tx(db);
  if (!StaffRepository(db).unlock(staffId)) return Error{errc::kNotFound, "staff_id", "no staff account " + staffId};
  tx.commit();
  return Ok{};
}

Result<StaffMember> authoriseSupervisor(db::Database& db, const std::string& pin) {
  // A supervisor PIN from before the 6-digit rule is never accepted: it is quick to crack from a
  // copied database. Refused before any check, so it counts as no try either.
  if (pin.size() < kMinSupervisorPinDigits || pin.size() > 8 || digitsOf(pin) != pin) {
    return Error{errc::kForbidden, "supervisor_pin",
                 "a supervisor's PIN has " + std::to_string(kMinSupervisorPinDigits) +
                     " to 8 digits; a supervisor with a shorter one needs a new account (staff add)"};
  }
  ensureSodium();
  struct Candidate {
    StaffMember who;
    std::string hash;
    int failed = 0;
  };
  std::vector<Candidate> open;
  bool anyLocked = false;
  StaffRepository staff(db);
  for (StaffAccount& a : staff.activeSupervisors()) {
    if (a.failedAttempts >= kMaxFailedPinAttempts) {
      anyLocked = true;
      continue;
    }
    open.push_back({{a.staffId, a.name, a.role}, std::move(a.pinHash), a.failedAttempts});
  }
  const std::string locked = "supervisor overrides are locked after " + std::to_string(kMaxFailedPinAttempts) +
                             " wrong PINs: `loyalty-terminal staff unlock --id ID` restores a supervisor";
  if (open.empty()) return Error{errc::kForbidden, "supervisor_pin", anyLocked ? locked : "this terminal has no supervisor"};
  for (const Candidate& c : open) {
    if (crypto_pwhash_str_verify(c.hash.c_str(), pin.c_str(), pin.size()) != 0) continue;
    if (c.failed > 0) {
      db::Transaction tx(db);
      staff.resetFailures(c.who.staffId);
      tx.commit();
    }
    return c.who;
  }
  // Whose PIN it was meant to be is unknown: it is a wrong try against every supervisor.
  db::Transaction tx(db);
  int left = 0;
  for (const Candidate& c : open) {
    staff.countFailure(c.who.staffId);
    left = std::max(left, kMaxFailedPinAttempts - c.failed - 1);
  }
  tx.commit();
  if (left == 0) return Error{errc::kForbidden, "supervisor_pin", "wrong PIN: " + locked};
  return Error{errc::kForbidden, "supervisor_pin",
               "that is not a supervisor's PIN (" + std::to_string(left) + " tries left before supervisor overrides lock)"};
}

}  // namespace loyalty::terminal

namespace loyalty::terminal {

Status unlockBySupervisor(db::Database& db, const std::string& staffId, const std::string& supervisorPin) {
  if (auto s = checkStaffIdText(staffId); !s) return s.error();
  if (auto who = authoriseSupervisor(db, supervisorPin); !who) return who.error();
  return unlockStaff(db, staffId);
}

}  // namespace loyalty::terminal
