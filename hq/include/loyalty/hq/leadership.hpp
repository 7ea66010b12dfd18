#pragma once
/// @brief Which of several `loyalty-hq serve` instances on one database does the background
/// work (the report refresher, the outreach sender): the one that leads.
///
/// On PostgreSQL the leader is the instance whose dedicated connection holds a session advisory
/// lock (pg_try_advisory_lock). Followers try to take it every `checkEvery`; the leader checks
/// every `checkEvery` that its session still holds it. When the leader dies its session ends,
/// PostgreSQL releases the lock, and a follower takes it at its next try: within `checkEvery`
/// plus the time PostgreSQL needs to see the connection gone (at once for a killed process on
/// a reachable host). A leader that loses its connection steps down at its next check.
///
/// On SQLite there is one instance: it always leads.
///
/// Leadership is not a fence: a leader that has just lost its session may finish the round it
/// had begun while a follower starts one. The work it guards is idempotent (outreach claims its
/// messages under the writer lock with a lease; refreshed reports are recomputable and written
/// one at a time), so leadership saves duplicated work and sends, never correctness.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "loyalty/hq/sql.hpp"

namespace loyalty::hq {

class Leadership {
 public:
  struct Options {
    std::chrono::milliseconds checkEvery{2000};  ///< how often followers try and the leader checks
    std::string instance;                        ///< this instance's name in logs and in pg_stat_activity
  };
  /// Called on the leadership thread when this instance takes (true) or loses (false) the lead.
  using OnChange = std::function<void(bool leading)>;

  /// `c` is a connection of its own (its session holds the lock on PostgreSQL); on SQLite the
  /// instance leads at once and `c` is closed.
  Leadership(std::unique_ptr<SqlConnection> c, Options o, OnChange onChange = {});
  ~Leadership();
  Leadership(const Leadership&) = delete;
  Leadership& operator=(const Leadership&) = delete;

  /// Whether this instance leads now (as of its last check).
  bool leading() const { return m_leading.load(); }
  /// How many times this instance took the lead since it started.
  std::int64_t taken() const { return m_taken.load(); }
  const std::string& instance() const { return m_options.instance; }
  /// The leading instance's name as last seen by this one (PostgreSQL; this one's when it leads).
  std::optional<std::string> leader() const;

  /// Stops checking (also done by the destructor); the lock goes with the connection.
  void stop();

  /// The advisory lock's key (the writers' transaction lock is 7531).
  static constexpr std::int64_t kLockKey = 7532;

 private:
  /// One try (follower) or check (leader); false when the session does not hold the lock.
  bool holdsLock();
  void setLeading(bool now);

  std::unique_ptr<SqlConnection> m_c;
  Options m_options;
  OnChange m_onChange;
  std::atomic<bool> m_leading{false};
  std::atomic<std::int64_t> m_taken{0};
  mutable std::mutex m_mutex;  ///< m_leader, m_stop
  std::optional<std::string> m_leader;
  bool m_stop = false;
  std::condition_variable m_wake;
  std::thread m_thread;  ///< last: started once the rest is ready
};

}  // namespace loyalty::hq
