// The fault-injecting proxy itself (tests/net/fault_proxy.hpp), on loopback sockets with a real
// upstream: each fault does what the network fault schedules count on.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "fault_proxy.hpp"

namespace {

using loyalty::test::net::ConnFault;
using loyalty::test::net::FaultProxy;
using Clock = std::chrono::steady_clock;

int listenLoopback(int& port) {
  const int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(listen(s, 16) == 0);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return s;
}

int connectTo(int port) {
  const int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  REQUIRE(connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return s;
}

/// An upstream that reads a request of `requestBytes`, counts it, then answers `answer`.
class Upstream {
 public:
  Upstream(std::size_t requestBytes, std::string answer) : m_fd(listenLoopback(m_port)) {
    m_thread = std::thread([this, requestBytes, answer] {
      while (!m_stop) {
        pollfd p{m_fd, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0) continue;
        const int c = accept(m_fd, nullptr, nullptr);
        std::string got;
        char buf[4096];
        while (got.size() < requestBytes) {
          const ssize_t n = recv(c, buf, sizeof buf, 0);
          if (n <= 0) break;
          got.append(buf, static_cast<std::size_t>(n));
        }
        if (got.size() >= requestBytes) {
          ++m_served;
          send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
        }
        close(c);
      }
    });
  }
  ~Upstream() {
    m_stop = true;
    m_thread.join();
    close(m_fd);
  }
  int port() const { return m_port; }
  int served() const { return m_served; }

 private:
  int m_port = 0;
  int m_fd;
  std::atomic<bool> m_stop{false};
  std::atomic<int> m_served{0};
  std::thread m_thread;
};

struct Exchange {
  std::string answer;
  bool reset = false;  ///< the connection ended with an error (RST), not a clean end
  double seconds = 0;
};

Exchange exchange(int port, const std::string& request) {
  const auto began = Clock::now();
  const int s = connectTo(port);
  Exchange e;
  if (send(s, request.data(), request.size(), MSG_NOSIGNAL) < 0) e.reset = true;
  char buf[4096];
  for (;;) {
    pollfd p{s, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) break;
    const ssize_t n = recv(s, buf, sizeof buf, 0);
    if (n < 0) e.reset = true;
    if (n <= 0) break;
    e.answer.append(buf, static_cast<std::size_t>(n));
  }
  close(s);
  e.seconds = std::chrono::duration<double>(Clock::now() - began).count();
  return e;
}

}  // namespace

TEST_CASE("Fault proxy: passes bytes through, and each fault cuts, delays, truncates, swallows or refuses as told",
          "[net][proxy]") {
  const std::string request(3000, 'q'), answer(5000, 'a');
  Upstream up(request.size(), answer);
  int port = 0;
  const int listenFd = listenLoopback(port);
  FaultProxy proxy(listenFd, {up.port()}, 1);

  SECTION("clean") {
    const Exchange e = exchange(port, request);
    CHECK(e.answer == answer);
    CHECK(!e.reset);
    CHECK(up.served() == 1);
  }
  SECTION("a request cut part-way never reaches the server as a whole") {
    proxy.queueFaults({{ConnFault::Kind::kCutRequest, 0, 1000}, {ConnFault::Kind::kResetRequest, 0, 10}});
    CHECK(exchange(port, request).answer.empty());
    const Exchange reset = exchange(port, request);
    CHECK(reset.answer.empty());
    CHECK(reset.reset);
    CHECK(up.served() == 0);
    CHECK(exchange(port, request).answer == answer);  // the queue is spent: clean again
  }
  SECTION("a truncated answer stops at the byte count; a swallowed one reaches the server but not the client") {
    proxy.queueFaults({{ConnFault::Kind::kTruncateResponse, 0, 1234}, {ConnFault::Kind::kSwallowResponse, 0, 100}});
    CHECK(exchange(port, request).answer == answer.substr(0, 1234));
    const Exchange swallowed = exchange(port, request);
    CHECK(swallowed.answer.empty());
    CHECK(swallowed.reset);
    CHECK(up.served() == 2);
  }
  SECTION("delays and stalls slow a connection down without changing a byte") {
    proxy.queueFaults({{ConnFault::Kind::kStall, 400, 0}});
    const Exchange stalled = exchange(port, request);
    CHECK(stalled.answer == answer);
    CHECK(stalled.seconds >= 0.39);
    proxy.setStanding({ConnFault::Kind::kDelay, 100, 0});
    const Exchange delayed = exchange(port, request);
    CHECK(delayed.answer == answer);
    CHECK(delayed.seconds >= 0.19);  // one chunk each way at least
    proxy.clearFaults();
  }
  SECTION("a refused connection is reset before anything is forwarded") {
    proxy.queueFaults({{ConnFault::Kind::kRefuse, 0, 0}});
    const Exchange e = exchange(port, request);
    CHECK(e.answer.empty());
    CHECK(up.served() == 0);
  }
  SECTION("cutAll resets connections that are live") {
    proxy.setStanding({ConnFault::Kind::kStall, 3000, 0});
    std::thread cutter([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      proxy.cutAll();
    });
    const Exchange e = exchange(port, request);
    cutter.join();
    CHECK(e.answer.empty());
    CHECK(e.reset);
    CHECK(e.seconds < 2.5);
  }
}
