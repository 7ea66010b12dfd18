#include "loyalty/hq/connection_pool.hpp"

#include <stdexcept>

namespace loyalty::hq {

ConnectionPool::ConnectionPool(std::vector<std::unique_ptr<SqlConnection>> connections) : m_all(std::move(connections)) {
  if (m_all.empty()) throw std::invalid_argument("a connection pool needs at least one connection");
  for (const auto& c : m_all) {
    if (!c) throw std::invalid_argument("a connection pool was given no connection");
    m_idle.push_back(c.get());
  }
}

SqlConnection* ConnectionPool::take() {
  std::unique_lock lock(m_mutex);
  if (m_idle.empty()) {
    const auto t0 = std::chrono::steady_clock::now();
    m_returned.wait(lock, [&] { return !m_idle.empty(); });
    m_waits.waitedSeconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  ++m_waits.uses;
  SqlConnection* c = m_idle.back();
  m_idle.pop_back();
  return c;
}

void ConnectionPool::giveBack(SqlConnection* c) {
  {
    std::lock_guard lock(m_mutex);
    m_idle.push_back(c);
  }
  m_returned.notify_one();
}

LaneWaits ConnectionPool::waits() {
  std::lock_guard lock(m_mutex);
  return m_waits;
}

}  // namespace loyalty::hq
