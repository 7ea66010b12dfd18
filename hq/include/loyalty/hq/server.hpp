#pragma once
/// @brief loyalty-hq's HTTPS API (docs/sync-protocol.md, docs/sync-wire.md).

#include <memory>
#include <string>

#include "loyalty/hq/settings.hpp"

namespace loyalty::hq {

/// The HTTPS server over DIR's storage and TLS material. Requests are served by a thread pool;
/// writes go through one storage connection, reads through another.
class HqServer {
 public:
  HqServer(const DataDir& dir, const Settings& settings);
  ~HqServer();
  HqServer(const HqServer&) = delete;
  HqServer& operator=(const HqServer&) = delete;

  /// Binds `host:port` (port 0: any free port); returns the port. Throws when it cannot.
  int bind(const std::string& host, int port);
  /// Serves until stop(); requests in flight complete first.
  void run();
  /// Safe from any thread.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace loyalty::hq
