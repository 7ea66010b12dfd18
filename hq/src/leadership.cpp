#include "loyalty/hq/leadership.hpp"

#include "loyalty/logging/logging.hpp"

namespace loyalty::hq {

namespace {

/// What pg_stat_activity shows for the leadership connection, so any instance (and an operator
/// with psql) can name the leader.
constexpr const char* kApplicationPrefix = "loyalty-hq ";

/// The lock as pg_locks shows a one-number advisory key: high half, low half, objsubid 1.
std::string lockRow() {
  return "locktype = 'advisory' AND granted AND classid = 0 AND objid = " + std::to_string(Leadership::kLockKey) + " AND objsubid = 1";
}

}  // namespace

Leadership::Leadership(std::unique_ptr<SqlConnection> c, Options o, OnChange onChange)
    : m_c(std::move(c)), m_options(std::move(o)), m_onChange(std::move(onChange)) {
  if (m_c->backend() != "postgresql") {
    m_c.reset();
    m_leader = m_options.instance;  // nothing to log: a lone instance, as always on SQLite
    m_leading = true;
    m_taken = 1;
    return;
  }
  // The first try before the constructor returns: a lone instance leads before its background
  // jobs start, so they need not wait a round for it.
  setLeading(holdsLock());
  m_thread = std::thread([this] {
    std::unique_lock lock(m_mutex);
    while (!m_stop) {
      m_wake.wait_for(lock, m_options.checkEvery, [&] { return m_stop; });
      if (m_stop) break;
      lock.unlock();
      setLeading(holdsLock());
      lock.lock();
    }
  });
}

Leadership::~Leadership() { stop(); }

void Leadership::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_wake.notify_all();
  if (m_thread.joinable()) m_thread.join();
}

std::optional<std::string> Leadership::leader() const {
  std::lock_guard lock(m_mutex);
  return m_leader;
}

bool Leadership::holdsLock() {
  try {
    bool held = false;
    if (m_leading) {
      // Asking for the lock again would stack a second hold on it: look it up instead.
      held = m_c->query("SELECT COUNT(*) FROM pg_locks WHERE pid = pg_backend_pid() AND " + lockRow()).integer(0, 0) > 0;
    } else {
      // The name first: a reconnected session starts without it.
      const auto r = m_c->query("SELECT set_config('application_name', $1, false), pg_try_advisory_lock(" +
                                    std::to_string(kLockKey) + ")",
                                {kApplicationPrefix + m_options.instance});
      held = r.text(0, 1) == "t";
    }
    std::optional<std::string> leader;
    if (held) {
      leader = m_options.instance;
    } else {
      // pg_stat_activity has none of the lock's column names: lockRow() reads pg_locks'.
      const auto r = m_c->query("SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE " + lockRow());
      if (!r.empty()) {
        std::string name = r.text(0, 0);
        if (name.rfind(kApplicationPrefix, 0) == 0) name.erase(0, std::string_view(kApplicationPrefix).size());
        leader = std::move(name);
      }
    }
    std::lock_guard lock(m_mutex);
    m_leader = std::move(leader);
    return held;
  } catch (const std::exception& e) {
    // A lost connection is a lost session, and with it the lock: the next try reconnects.
    if (m_leading) logging::log().error("leadership: cannot check the lock: {}", e.what());
    std::lock_guard lock(m_mutex);
    m_leader.reset();
    return false;
  }
}

void Leadership::setLeading(bool now) {
  if (now == m_leading) return;
  m_leading = now;
  if (now) {
    ++m_taken;
    logging::log().info("leadership: {} took the lead: it runs the background work (report refresh, outreach sending)",
                        m_options.instance);
  } else {
    logging::log().warn("leadership: {} lost the lead: its background work stops; another instance takes over",
                        m_options.instance);
  }
  if (m_onChange) m_onChange(now);
}

}  // namespace loyalty::hq
