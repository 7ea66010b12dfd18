#pragma once
/// @brief loyalty-hq's HTTPS API (docs/sync-protocol.md, docs/sync-wire.md).

#include <array>
#include <memory>
#include <string>

#include "loyalty/hq/settings.hpp"

namespace loyalty::hq {

/// A bound of /metrics' loyalty_hq_request_duration_seconds histogram: seconds, and its `le` label.
struct DurationBound {
  double seconds;
  const char* label;
};
inline constexpr std::array<DurationBound, 12> kRequestDurationBounds = {{{0.001, "0.001"},
                                                                          {0.0025, "0.0025"},
                                                                          {0.005, "0.005"},
                                                                          {0.01, "0.01"},
                                                                          {0.025, "0.025"},
                                                                          {0.05, "0.05"},
                                                                          {0.1, "0.1"},
                                                                          {0.25, "0.25"},
                                                                          {0.5, "0.5"},
                                                                          {1, "1"},
                                                                          {2.5, "2.5"},
                                                                          {10, "10"}}};

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
