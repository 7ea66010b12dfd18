#pragma once
/// @brief A few connections to one storage, each lent to one caller at a time. Head office's
/// reports run on such a lane of their own: a report that takes seconds holds up neither the
/// change feed nor member reads (the reader), and several reports (one dashboard page's, or two
/// analysts') run at once, up to the number of connections; a caller beyond it waits for one.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "loyalty/hq/sql.hpp"

namespace loyalty::hq {

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
};

}  // namespace loyalty::hq
