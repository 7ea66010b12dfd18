#include "loyalty/terminal/staff.hpp"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "loyalty/core/text.hpp"

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
  auto& st = db.prepare("SELECT (SELECT active FROM staff WHERE staff_id = ?), EXISTS (SELECT 1 FROM staff)");
  st.bind(1, *staffId);
  st.step();
  const bool active = !st.isNull(0) && st.getInt(0) != 0;
  const bool anyAccounts = st.getInt(1) != 0;
  st.reset();
  if (anyAccounts && !active) {
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
  auto& exists = db.prepare("SELECT 1 FROM staff WHERE staff_id = ?");
  exists.bind(1, staffId);
  const bool taken = exists.step();
  exists.reset();
  if (taken) return Error{errc::kAlreadyExists, "staff_id", "staff id " + staffId + " exists"};
  db.prepare("INSERT INTO staff(staff_id, name, role, pin_hash) VALUES (?, ?, ?, ?)")
      .bind(1, staffId).bind(2, std::string(trim(name))).bind(3, role).bind(4, std::string(hash))
      .run();
  tx.commit();
  return StaffMember{staffId, std::string(trim(name)), role};
}

Result<StaffMember> signIn(db::Database& db, const std::string& staffId, const std::string& pin) {
  if (auto s = checkStaffIdText(staffId); !s) return s.error();
  if (pin.empty() || pin.size() > 8 || digitsOf(pin) != pin) return invalidArgument("pin", "a PIN has 4 to 8 digits");
  ensureSodium();
  auto& st = db.prepare("SELECT name, role, pin_hash, failed_attempts, active FROM staff WHERE staff_id = ?");
  st.bind(1, staffId);
  if (!st.step()) {
    st.reset();
    return Error{errc::kNotFound, "staff_id", "no staff account " + staffId};
  }
  StaffMember who{staffId, st.getText(0), st.getText(1)};
  const std::string hash = st.getText(2);
  const auto failed = static_cast<int>(st.getInt(3));
  const bool active = st.getInt(4) != 0;
  st.reset();
  if (!active) return Error{errc::kForbidden, "staff_id", "the account " + staffId + " is disabled"};
  if (failed >= kMaxFailedPinAttempts) {
    return Error{errc::kForbidden, "staff_id", "the account " + staffId + " is locked after " +
                                                   std::to_string(kMaxFailedPinAttempts) +
                                                   " wrong PINs: ask a supervisor to unlock it"};
  }
  const bool right = crypto_pwhash_str_verify(hash.c_str(), pin.c_str(), pin.size()) == 0;
  if (right && failed == 0) return who;
  db::Transaction tx(db);
  db.prepare(right ? "UPDATE staff SET failed_attempts = 0 WHERE staff_id = ?"
                   : "UPDATE staff SET failed_attempts = failed_attempts + 1 WHERE staff_id = ?")
      .bind(1, staffId).run();
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
  db.prepare("UPDATE staff SET failed_attempts = 0 WHERE staff_id = ?").bind(1, staffId).run();
  if (db.changes() == 0) return Error{errc::kNotFound, "staff_id", "no staff account " + staffId};
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
  auto& st = db.prepare("SELECT staff_id, name, role, pin_hash, failed_attempts FROM staff WHERE active = 1 AND role = 'supervisor'");
  while (st.step()) {
    const auto failed = static_cast<int>(st.getInt(4));
    if (failed >= kMaxFailedPinAttempts) {
      anyLocked = true;
      continue;
    }
    open.push_back({{st.getText(0), st.getText(1), st.getText(2)}, st.getText(3), failed});
  }
  st.reset();
  const std::string locked = "supervisor overrides are locked after " + std::to_string(kMaxFailedPinAttempts) +
                             " wrong PINs: `loyalty-terminal staff unlock --id ID` restores a supervisor";
  if (open.empty()) return Error{errc::kForbidden, "supervisor_pin", anyLocked ? locked : "this terminal has no supervisor"};
  for (const Candidate& c : open) {
    if (crypto_pwhash_str_verify(c.hash.c_str(), pin.c_str(), pin.size()) != 0) continue;
    if (c.failed > 0) {
      db::Transaction tx(db);
      db.prepare("UPDATE staff SET failed_attempts = 0 WHERE staff_id = ?").bind(1, c.who.staffId).run();
      tx.commit();
    }
    return c.who;
  }
  // Whose PIN it was meant to be is unknown: it is a wrong try against every supervisor.
  db::Transaction tx(db);
  auto& count = db.prepare("UPDATE staff SET failed_attempts = failed_attempts + 1 WHERE staff_id = ?");
  int left = 0;
  for (const Candidate& c : open) {
    count.bind(1, c.who.staffId).run();
    left = std::max(left, kMaxFailedPinAttempts - c.failed - 1);
  }
  tx.commit();
  if (left == 0) return Error{errc::kForbidden, "supervisor_pin", "wrong PIN: " + locked};
  return Error{errc::kForbidden, "supervisor_pin",
               "that is not a supervisor's PIN (" + std::to_string(left) + " tries left before supervisor overrides lock)"};
}

}  // namespace loyalty::terminal
