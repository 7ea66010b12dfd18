#pragma once
/// @brief The app's background sync: its own connection to the terminal's database, its own
/// Counter service (for balance reconciliation) and the SyncEngine thread.

#include <memory>
#include <string>

#include "loyalty/sync/client/sync_engine.hpp"
#include "loyalty/terminal/counter_service.hpp"
#include "loyalty/terminal/sync_store.hpp"

namespace loyalty::terminal {

class BackgroundSync {
 public:
  /// Opens DIR/terminal.db a second time and starts the engine; nullptr when the terminal is
  /// not registered with head office.
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
  BackgroundSync(db::Database db, const CounterConfig& config);

  db::Database m_db;
  RandomIds m_ids;
  CounterService m_service;
  TerminalOutbox m_outbox;
  TerminalChangeSink m_sink;
  std::unique_ptr<sync::SyncEngine> m_engine;  // stopped first in the destructor
};

}  // namespace loyalty::terminal
