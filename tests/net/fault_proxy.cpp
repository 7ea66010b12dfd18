#include "fault_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>

namespace loyalty::test::net {

namespace {

using Clock = std::chrono::steady_clock;

/// Closes with RST instead of FIN (SO_LINGER 0).
void closeWithReset(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}

bool sendAll(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

int connectLoopback(int port) {
  const int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(s);
    return -1;
  }
  const int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return s;
}


}  // namespace

std::string describe(const ConnFault& f) {
  using K = ConnFault::Kind;
  const std::string b = std::to_string(f.bytes), ms = std::to_string(f.ms);
  switch (f.kind) {
    case K::kPass: return "pass";
    case K::kDelay: return "delay " + ms + "ms";
    case K::kStall: return "stall " + ms + "ms after " + b + "B up";
    case K::kCutRequest: return "cut after " + b + "B up";
    case K::kResetRequest: return "reset after " + b + "B up";
    case K::kTruncateResponse: return "truncate after " + b + "B down";
    case K::kSwallowResponse: return "swallow answers after " + b + "B up";
    case K::kRefuse: return "refuse";
  }
  return "?";
}

FaultProxy::FaultProxy(int listenFd, std::vector<int> upstreamPorts, std::uint64_t seed)
    : m_listen(listenFd), m_upstreams(std::move(upstreamPorts)), m_rng(seed) {
  m_acceptor = std::thread([this] { acceptLoop(); });
}

FaultProxy::~FaultProxy() {
  m_stop = true;
  m_acceptor.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(m_mutex);
    workers.swap(m_workers);
  }
  for (auto& w : workers) w.join();
  close(m_listen);
}

void FaultProxy::queueFaults(std::vector<ConnFault> faults) {
  std::lock_guard lock(m_mutex);
  for (auto& f : faults) m_queue.push_back(f);
}

void FaultProxy::setStanding(const ConnFault& f) {
  std::lock_guard lock(m_mutex);
  m_standing = f;
}

void FaultProxy::clearFaults() {
  std::lock_guard lock(m_mutex);
  m_queue.clear();
  m_standing = ConnFault{};
}

void FaultProxy::cutAll() { ++m_cutGeneration; }

ProxyStats FaultProxy::stats() const { return {m_connections, m_faulted, m_bytesUp, m_bytesDown}; }

ConnFault FaultProxy::nextFault() {
  std::lock_guard lock(m_mutex);
  if (!m_queue.empty()) {
    const ConnFault f = m_queue.front();
    m_queue.pop_front();
    return f;
  }
  return m_standing;
}

void FaultProxy::acceptLoop() {
  // Finished workers are joined as new ones start, so a long run does not pile up threads.
  std::vector<std::pair<std::thread, std::shared_ptr<std::atomic<bool>>>> live;
  while (!m_stop) {
    pollfd p{m_listen, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    const int client = accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    const int one = 1;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const ConnFault fault = nextFault();
    int port = 0;
    {
      std::lock_guard lock(m_mutex);
      port = m_upstreams[std::uniform_int_distribution<std::size_t>(0, m_upstreams.size() - 1)(m_rng)];
    }
    ++m_connections;
    if (fault.kind != ConnFault::Kind::kPass) ++m_faulted;
    auto done = std::make_shared<std::atomic<bool>>(false);
    live.emplace_back(std::thread([this, client, fault, port, done] {
                        serve(client, fault, port);
                        *done = true;
                      }),
                      done);
    for (auto it = live.begin(); it != live.end();) {
      if (*it->second) {
        it->first.join();
        it = live.erase(it);
      } else {
        ++it;
      }
    }
  }
  std::lock_guard lock(m_mutex);
  for (auto& [t, done] : live) m_workers.push_back(std::move(t));
}

void FaultProxy::serve(int client, ConnFault fault, int upstreamPort) {
  using K = ConnFault::Kind;
  if (fault.kind == K::kRefuse) {
    closeWithReset(client);
    return;
  }
  const int server = connectLoopback(upstreamPort);
  if (server < 0) {
    closeWithReset(client);
    return;
  }
  const std::uint64_t generation = m_cutGeneration;
  // Waits `ms`; false when the connection is cut (or the proxy stops) meanwhile.
  const auto sleepMs = [&](int ms) {
    const auto until = Clock::now() + std::chrono::milliseconds(ms);
    while (Clock::now() < until) {
      if (m_cutGeneration != generation || m_stop) return false;
      std::this_thread::sleep_for(std::min<Clock::duration>(std::chrono::milliseconds(5), until - Clock::now()));
    }
    return true;
  };
  std::size_t up = 0, down = 0;
  bool clientOpen = true, serverOpen = true;  // still reading from each side
  bool stalled = false, swallowing = false;
  auto lastServerByte = Clock::now();
  enum class End { kFin, kReset } end = End::kFin;
  char buf[16384];
  while ((clientOpen || serverOpen) && !m_stop) {
    if (m_cutGeneration != generation) {
      end = End::kReset;
      break;
    }
    if (swallowing && (!serverOpen || Clock::now() - lastServerByte > std::chrono::milliseconds(300))) {
      end = End::kReset;
      break;
    }
    pollfd p[2] = {{clientOpen ? client : -1, POLLIN, 0}, {serverOpen ? server : -1, POLLIN, 0}};
    if (poll(p, 2, 20) <= 0) continue;
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t n = ::recv(client, buf, sizeof buf, 0);
      if (n <= 0) {
        if (n < 0) {
          end = End::kReset;
          break;
        }
        clientOpen = false;
        shutdown(server, SHUT_WR);
      } else {
        std::size_t len = static_cast<std::size_t>(n);
        bool cutNow = false;
        if ((fault.kind == K::kCutRequest || fault.kind == K::kResetRequest) && up + len >= fault.bytes) {
          len = fault.bytes - std::min(fault.bytes, up);
          cutNow = true;
        }
        if (fault.kind == K::kDelay && !sleepMs(fault.ms)) {
          end = End::kReset;
          break;
        }
        if (fault.kind == K::kStall && !stalled && up + len >= fault.bytes) {
          stalled = true;
          if (!sleepMs(fault.ms)) {
            end = End::kReset;
            break;
          }
        }
        if (len > 0 && !sendAll(server, buf, len)) {
          end = End::kReset;
          break;
        }
        up += len;
        m_bytesUp += len;
        if (cutNow) {
          end = fault.kind == K::kResetRequest ? End::kReset : End::kFin;
          break;
        }
      }
    }
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t n = ::recv(server, buf, sizeof buf, 0);
      if (n <= 0) {
        serverOpen = false;
        if (n < 0 || swallowing) {
          end = End::kReset;
          break;
        }
        shutdown(client, SHUT_WR);
      } else {
        lastServerByte = Clock::now();
        std::size_t len = static_cast<std::size_t>(n);
        bool cutNow = false;
        if (fault.kind == K::kTruncateResponse && down + len >= fault.bytes) {
          len = fault.bytes - std::min(fault.bytes, down);
          cutNow = true;
        }
        if (fault.kind == K::kSwallowResponse && up >= fault.bytes) swallowing = true;
        if (swallowing) len = 0;
        if (fault.kind == K::kDelay && !sleepMs(fault.ms)) {
          end = End::kReset;
          break;
        }
        if (len > 0 && !sendAll(client, buf, len)) {
          end = End::kReset;
          break;
        }
        down += len;
        m_bytesDown += len;
        if (cutNow) break;
      }
    }
  }
  if (end == End::kReset) {
    closeWithReset(client);
    closeWithReset(server);
  } else {
    close(client);
    close(server);
  }
}

}  // namespace loyalty::test::net
