#pragma once
/// @brief The background sync engine the app runs: rounds on its own thread, backoff with full
/// jitter while head office is away, a status snapshot for the UI.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "loyalty/sync/client/backoff.hpp"
#include "loyalty/sync/client/engine.hpp"

namespace loyalty::sync {

/// What the UI shows about sync. A copy: safe to keep and read on any thread.
struct SyncStatus {
  bool online = false;       ///< the last attempt reached head office and completed
  std::int64_t pending = 0;  ///< outbox events not yet acknowledged
  std::string lastError;     ///< the last failure's sentence; empty after a clean round
  std::optional<std::chrono::system_clock::time_point> lastSyncAt;  ///< end of the last clean round
  std::int64_t rounds = 0;
  std::int64_t uploaded = 0;  ///< events acknowledged since the engine started
  std::int64_t pulled = 0;    ///< changes applied since the engine started
  int failures = 0;           ///< consecutive failed rounds
  std::chrono::milliseconds nextAttemptIn{0};
};

struct SyncEngineOptions {
  /// Pause between clean rounds (a nudge starts one at once).
  std::chrono::milliseconds interval{std::chrono::seconds(30)};
  BackoffPolicy backoff;
  /// Uniform 64-bit values for the jitter; default: a generator seeded from std::random_device.
  std::function<std::uint64_t()> random;
  std::function<std::chrono::system_clock::time_point()> now = std::chrono::system_clock::now;
  Timeouts timeouts;
  UploadOptions upload;
  int pageLimit = kDefaultChangeLimit;
  /// Header lines sent with each round's requests (the terminal's report), asked for at the
  /// start of every round on the engine's thread.
  std::function<std::vector<std::string>()> reportHeaders;
  /// Runs on the engine's thread after each round that reached head office, with the round's
  /// client (the fleet update check).
  std::function<void(HttpsClient&)> afterRound;
};

/// Runs sync rounds on its own std::jthread until stopped. `outbox` and `sink` are used only on
/// that thread: give them their own database connection. Nothing is deleted before head office
/// acknowledges it (uploadPending's rule), so stopping or crashing at any point loses nothing.
class SyncEngine {
 public:
  SyncEngine(HqEndpoint endpoint, OutboxSource& outbox, ChangeSink& sink, SyncEngineOptions options = {});
  ~SyncEngine();
  SyncEngine(const SyncEngine&) = delete;
  SyncEngine& operator=(const SyncEngine&) = delete;

  /// Called on the engine thread after each round with the new status (e.g. to post it to the
  /// UI's queue). Set before start().
  void onRound(std::function<void(const SyncStatus&)> callback) { m_onRound = std::move(callback); }

  void start();
  /// Stops and joins; a transfer in flight is aborted. Idempotent.
  void stop();
  /// Something new was written: start a round now, unless backing off from a failure.
  void nudge();
  SyncStatus status() const;

 private:
  void run(std::stop_token stop);

  HqEndpoint m_endpoint;
  OutboxSource& m_outbox;
  ChangeSink& m_sink;
  SyncEngineOptions m_options;
  std::function<void(const SyncStatus&)> m_onRound;
  mutable std::mutex m_mutex;
  std::condition_variable_any m_wake;
  bool m_nudged = false;
  SyncStatus m_status;
  std::jthread m_thread;  // last: stopped and joined before the members it uses go away
};

}  // namespace loyalty::sync
