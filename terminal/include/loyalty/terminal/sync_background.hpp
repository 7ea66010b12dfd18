#pragma once
/// @brief The app's background sync: the SyncEngine thread with its own read connection to the
/// terminal's database. It reads the outbox there; every write (a change-feed page, head
/// office's acknowledgement of uploaded events) is handed to the store's one writer.

#include <memory>
#include <string>

#include "loyalty/sync/client/sync_engine.hpp"
#include "loyalty/terminal/counter_service.hpp"
#include "loyalty/terminal/store_writer.hpp"
#include "loyalty/terminal/sync_store.hpp"

namespace loyalty::terminal {

class BackgroundSync {
 public:
  /// Opens DIR/terminal.db a second time, read-only (writes there fail), and starts the engine;
  /// nullptr when the terminal is not registered with head office. `writer` runs the writes
  /// and must outlive the returned object (or refuse with WriterClosed once it stops).
  static std::unique_ptr<BackgroundSync> start(const std::string& dataDir, StoreWriter& writer,
                                               sync::SyncEngineOptions options = {});
  /// As above, for a program without a store worker (tests, benchmarks): the writes go to a
  /// second connection of its own, on the engine's thread.
  static std::unique_ptr<BackgroundSync> start(const std::string& dataDir, const CounterConfig& config,
                                               sync::SyncEngineOptions options = {});
  ~BackgroundSync();
  BackgroundSync(const BackgroundSync&) = delete;
  BackgroundSync& operator=(const BackgroundSync&) = delete;

  /// A sale or other event was written: upload it now (unless backing off).
  void nudge() { m_engine->nudge(); }
  sync::SyncStatus status() const { return m_engine->status(); }
  sync::SyncEngine& engine() { return *m_engine; }

 private:
  class Outbox;
  class Changes;
  BackgroundSync(db::Database read, StoreWriter& writer, std::unique_ptr<StoreWriter> own);
  /// `writer`, or (when null) a DirectWriter over a second connection with `config`.
  static std::unique_ptr<BackgroundSync> launch(const std::string& dataDir, StoreWriter* writer,
                                                const CounterConfig* config, sync::SyncEngineOptions options);

  std::unique_ptr<StoreWriter> m_ownWriter;  // only without a store worker
  db::Database m_read;
  std::unique_ptr<Outbox> m_outbox;
  std::unique_ptr<Changes> m_changes;
  std::unique_ptr<sync::SyncEngine> m_engine;  // stopped first in the destructor
};

}  // namespace loyalty::terminal
