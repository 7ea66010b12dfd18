#pragma once
/// @brief The Counter service's configuration as the app derives it from a registered store.

#include <optional>

#include "loyalty/terminal/counter_service.hpp"
#include "loyalty/terminal/store.hpp"

namespace loyalty::test {

/// The configuration the app derives from a registered store's identity (store and terminal id).
inline terminal::CounterConfig registeredConfig(db::Database& db) {
  const terminal::Identity id = terminal::resolveIdentity(db, std::nullopt, std::nullopt);
  terminal::CounterConfig config;
  config.store.id = id.storeId;
  config.terminalId = id.terminalId;
  return config;
}

}  // namespace loyalty::test
