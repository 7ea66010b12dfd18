#pragma once
// A fault-injecting TCP proxy for the network fault tests (docs/reliability.md, "Network").
//
// It accepts on a listening socket it is given (made in whichever network namespace the caller
// chose) and forwards each connection to one of several upstream ports on 127.0.0.1 of the
// namespace the proxy's own threads run in (the test's). Bytes pass through unchanged (TLS
// included); what a connection suffers is decided when it is accepted, from a queue of faults
// the test fills per schedule: latency, a stall, a cut or a reset part-way through the request,
// a response truncated or swallowed after the server processed the request, or a refusal.
// cutAll() breaks every live connection at once (a link failing mid-transfer).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace loyalty::test::net {

struct ConnFault {
  enum class Kind {
    kPass,              ///< forwarded untouched
    kDelay,             ///< every chunk, both ways, waits `ms` first
    kStall,             ///< after `bytes` client bytes, nothing moves for `ms`, then it goes on
    kCutRequest,        ///< after `bytes` client bytes, both sides closed (FIN)
    kResetRequest,      ///< after `bytes` client bytes, the client gets a reset (RST)
    kTruncateResponse,  ///< after `bytes` server bytes, both sides closed (FIN)
    kSwallowResponse,   ///< the request goes through; once the client has sent `bytes` (past
                        ///< the TLS handshake: the request is on its way) server bytes are
                        ///< dropped, then the client is reset: the server acted, the client
                        ///< never hears it
    kRefuse,            ///< accepted and reset at once, never forwarded
  };
  Kind kind = Kind::kPass;
  int ms = 0;
  std::size_t bytes = 0;
};

std::string describe(const ConnFault& f);

struct ProxyStats {
  std::uint64_t connections = 0;
  std::uint64_t faulted = 0;
  std::uint64_t bytesUp = 0;
  std::uint64_t bytesDown = 0;
};

class FaultProxy {
 public:
  /// Takes ownership of `listenFd` (bound and listening). `upstreamPorts` are on 127.0.0.1;
  /// each connection goes to one of them, picked by a generator seeded with `seed`.
  FaultProxy(int listenFd, std::vector<int> upstreamPorts, std::uint64_t seed);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  /// The next accepted connections take these faults, in order; later ones pass.
  void queueFaults(std::vector<ConnFault> faults);
  /// Every connection accepted from now on suffers `f` (until clearFaults()).
  void setStanding(const ConnFault& f);
  /// Back to a clean network: no queued or standing fault (live connections keep theirs).
  void clearFaults();
  /// Resets every live connection now.
  void cutAll();
  ProxyStats stats() const;

 private:
  struct Conn;
  void acceptLoop();
  void serve(int client, ConnFault fault, int upstreamPort);
  ConnFault nextFault();

  int m_listen;
  std::vector<int> m_upstreams;
  std::mt19937_64 m_rng;
  mutable std::mutex m_mutex;
  std::deque<ConnFault> m_queue;
  ConnFault m_standing;
  std::atomic<std::uint64_t> m_cutGeneration{0};
  std::atomic<bool> m_stop{false};
  std::atomic<std::uint64_t> m_connections{0}, m_faulted{0}, m_bytesUp{0}, m_bytesDown{0};
  std::vector<std::thread> m_workers;  ///< guarded by m_mutex
  std::thread m_acceptor;
};

}  // namespace loyalty::test::net
