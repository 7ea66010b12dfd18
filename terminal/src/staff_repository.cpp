#include "loyalty/terminal/staff_repository.hpp"

namespace loyalty::terminal {

namespace {

StaffAccount read(const db::Statement& st) {
  return {st.getText(0), st.getText(1), st.getText(2), st.getText(3), static_cast<int>(st.getInt(4)), st.getInt(5) != 0};
}

}  // namespace

std::optional<StaffAccount> StaffRepository::byId(const std::string& staffId) {
  auto& st = m_db.prepare("SELECT staff_id, name, role, pin_hash, failed_attempts, active FROM staff WHERE staff_id = ?");
  st.bind(1, staffId);
  std::optional<StaffAccount> found;
  if (st.step()) found = read(st);
  st.reset();
  return found;
}

bool StaffRepository::any() {
  auto& st = m_db.prepare("SELECT EXISTS (SELECT 1 FROM staff)");
  st.step();
  const bool any = st.getInt(0) != 0;
  st.reset();
  return any;
}

void StaffRepository::insert(const StaffAccount& a) {
  m_db.prepare("INSERT INTO staff(staff_id, name, role, pin_hash) VALUES (?, ?, ?, ?)")
      .bind(1, a.staffId).bind(2, a.name).bind(3, a.role).bind(4, a.pinHash)
      .run();
}

std::vector<StaffAccount> StaffRepository::activeSupervisors() {
  auto& st = m_db.prepare("SELECT staff_id, name, role, pin_hash, failed_attempts, active FROM staff "
                          "WHERE active = 1 AND role = 'supervisor'");
  std::vector<StaffAccount> out;
  while (st.step()) out.push_back(read(st));
  st.reset();
  return out;
}

void StaffRepository::resetFailures(const std::string& staffId) {
  m_db.prepare("UPDATE staff SET failed_attempts = 0 WHERE staff_id = ?").bind(1, staffId).run();
}

void StaffRepository::countFailure(const std::string& staffId) {
  m_db.prepare("UPDATE staff SET failed_attempts = failed_attempts + 1 WHERE staff_id = ?").bind(1, staffId).run();
}

bool StaffRepository::unlock(const std::string& staffId) {
  resetFailures(staffId);
  return m_db.changes() != 0;
}

}  // namespace loyalty::terminal
