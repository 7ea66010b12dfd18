#include "loyalty/terminal/staff_repository.hpp"

namespace loyalty::terminal {

namespace {

StaffAccount read(const db::Query& q) {
  return {q.text("staff_id"), q.text("name"), q.text("role"), q.text("pin_hash"),
          static_cast<int>(q.int64("failed_attempts")), q.int64("active") != 0};
}

}  // namespace

std::optional<StaffAccount> StaffRepository::byId(const std::string& staffId) {
  auto q = m_db.query("SELECT staff_id, name, role, pin_hash, failed_attempts, active FROM staff WHERE staff_id = ?")
               .bind(1, staffId);
  if (!q.step()) return std::nullopt;
  return read(q);
}

bool StaffRepository::any() {
  auto q = m_db.query("SELECT EXISTS (SELECT 1 FROM staff) AS any_staff");
  q.step();
  return q.int64("any_staff") != 0;
}

void StaffRepository::insert(const StaffAccount& a) {
  m_db.query("INSERT INTO staff(staff_id, name, role, pin_hash) VALUES (?, ?, ?, ?)")
      .bind(1, a.staffId).bind(2, a.name).bind(3, a.role).bind(4, a.pinHash)
      .run();
}

std::vector<StaffAccount> StaffRepository::activeSupervisors() {
  auto q = m_db.query("SELECT staff_id, name, role, pin_hash, failed_attempts, active FROM staff "
                      "WHERE active = 1 AND role = 'supervisor'");
  std::vector<StaffAccount> out;
  while (q.step()) out.push_back(read(q));
  return out;
}

void StaffRepository::resetFailures(const std::string& staffId) {
  m_db.query("UPDATE staff SET failed_attempts = 0 WHERE staff_id = ?").bind(1, staffId).run();
}

void StaffRepository::countFailure(const std::string& staffId) {
  m_db.query("UPDATE staff SET failed_attempts = failed_attempts + 1 WHERE staff_id = ?").bind(1, staffId).run();
}

bool StaffRepository::unlock(const std::string& staffId) {
  resetFailures(staffId);
  return m_db.changes() != 0;
}

}  // namespace loyalty::terminal
