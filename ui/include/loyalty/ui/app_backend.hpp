#pragma once
/// @brief The counter app's store as the store worker opens it: the write connection, the
/// Counter and Feedback services, the catalogue and day figures, online redemption when
/// registered, and the background work (sync with head office, daily housekeeping) whose writes
/// come back to the worker.

#include <memory>
#include <string>

#include "loyalty/sync/client/sync_engine.hpp"
#include "loyalty/terminal/counter_service.hpp"
#include "loyalty/ui/store_worker.hpp"

namespace loyalty::ui {

struct AppBackendOptions {
  sync::SyncEngineOptions sync;  ///< the background sync's pace (tests make it quick)
  bool housekeeping = true;      ///< the daily run (expiry, tier reviews)
};

/// `db` is DIR/terminal.db (opened and migrated), `config` the store's resolved configuration
/// (its zone included).
std::unique_ptr<StoreBackend> openAppBackend(db::Database db, terminal::CounterConfig config, std::string dataDir,
                                             AppBackendOptions options = {});

}  // namespace loyalty::ui
