#pragma once
/// @brief A few connections to one storage, each lent to one caller at a time. Head office's
/// reports run on such a lane of their own: a report that takes seconds holds up neither the
/// change feed nor member reads (the reader), and several reports (one dashboard page's, or two
/// analysts') run at once, up to the number of connections; a caller beyond it waits for one.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "loyalty/hq/sql.hpp"

namespace loyalty::hq {

/// The queue in front of a lane (a connection used by one request at a time): how many times it
/// was taken, and how long callers waited for it in all (/metrics).
struct LaneWaits {
  std::int64_t uses = 0;
  double waitedSeconds = 0;
};

/// A mutex (std::lock_guard takes it) that counts its uses and the time callers waited for it.
/// Taking it free reads no clock.
class TimedMutex {
 public:
  void lock() {
    if (!m_mutex.try_lock()) {
      const auto t0 = std::chrono::steady_clock::now();
      m_mutex.lock();
      m_waitedNs.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count(),
                           std::memory_order_relaxed);
    }
    m_uses.fetch_add(1, std::memory_order_relaxed);
  }
  void unlock() { m_mutex.unlock(); }
  LaneWaits waits() const {
    return {m_uses.load(std::memory_order_relaxed), static_cast<double>(m_waitedNs.load(std::memory_order_relaxed)) / 1e9};
  }

 private:
  std::mutex m_mutex;
  std::atomic<std::int64_t> m_uses{0};
  std::atomic<std::int64_t> m_waitedNs{0};
};

class ConnectionPool {
 public:
  /// Takes `connections` (at least one; throws std::invalid_argument otherwise).
  explicit ConnectionPool(std::vector<std::unique_ptr<SqlConnection>> connections);
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  /// Runs `fn(SqlConnection&)` on a connection no one else is using, waiting for one if all are
  /// lent; the connection is given back however `fn` ends (an exception included).
  template <class F>
  auto run(F&& fn) {
    Lease lease(*this);
    return std::forward<F>(fn)(lease.connection());
  }
  /// Leases so far, and how long callers waited for a free connection.
  LaneWaits waits();

 private:
  class Lease {
   public:
    explicit Lease(ConnectionPool& pool) : m_pool(pool), m_connection(pool.take()) {}
    ~Lease() { m_pool.giveBack(m_connection); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    SqlConnection& connection() { return *m_connection; }

   private:
    ConnectionPool& m_pool;
    SqlConnection* m_connection;
  };

  SqlConnection* take();
  void giveBack(SqlConnection* c);

  std::vector<std::unique_ptr<SqlConnection>> m_all;
  std::mutex m_mutex;
  std::condition_variable m_returned;
  std::vector<SqlConnection*> m_idle;  ///< guarded by m_mutex
  LaneWaits m_waits;                   ///< guarded by m_mutex
};

}  // namespace loyalty::hq
