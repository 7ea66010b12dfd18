// The online redemption check against a head office that does not answer (its packets dropped):
// the first redemption waits the timeout, the next ones within the hold-off are decided offline
// at once without a connection; a head office that refuses connections holds nothing off.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "loyalty/hq/crypto.hpp"
#include "loyalty/terminal/sync_link.hpp"

using namespace loyalty;

namespace {

/// A TCP listener on 127.0.0.1 that takes connections and never says a word.
class SilentListener {
 public:
  SilentListener() {
    m_fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(m_fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(m_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(m_fd, 16) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(m_fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    m_port = ntohs(a.sin_port);
    m_thread = std::thread([this] {
      for (;;) {
        const int c = ::accept(m_fd, nullptr, nullptr);
        if (c < 0) return;  // closed
        ++m_accepted;
        m_held.push_back(c);  // kept open, silent
      }
    });
  }
  ~SilentListener() {
    ::shutdown(m_fd, SHUT_RDWR);
    ::close(m_fd);
    m_thread.join();
    for (const int c : m_held) ::close(c);
  }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;

  int port() const { return m_port; }
  int accepted() const { return m_accepted; }

 private:
  int m_fd = -1;
  int m_port = 0;
  std::atomic<int> m_accepted{0};
  std::vector<int> m_held;
  std::thread m_thread;
};

terminal::HqLink linkTo(int port) {
  terminal::HqLink link;
  link.hqUrl = "https://127.0.0.1:" + std::to_string(port);
  link.caPem = hq::makeCertificateAuthority("test CA", 1).certPem;
  link.token = "t";
  link.storeId = "S001";
  link.terminalId = "T1";
  link.timezone = "UTC";
  return link;
}

/// A port nothing listens on (bound, then closed).
int closedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

TEST_CASE("Redemption check: a head office that does not answer is not asked again for a while", "[sync]") {
  SilentListener hq;
  terminal::HttpsRedemptionAuthoriser check(linkTo(hq.port()), std::chrono::milliseconds(300));
  CHECK(check.authorise("R1", "M1", 100, 0) == terminal::Authorisation::unreachable);
  CHECK(hq.accepted() == 1);
  CHECK(check.lastProblem().find("not asked again") == std::string::npos);  // the timeout itself
  // Within the hold-off: decided offline without a connection.
  for (int i = 0; i < 3; ++i) {
    CHECK(check.authorise("R" + std::to_string(i + 2), "M1", 100, 0) == terminal::Authorisation::unreachable);
    CHECK(check.lastProblem().find("not asked again") != std::string::npos);
  }
  CHECK(hq.accepted() == 1);
}

TEST_CASE("Redemption check: a refused connection holds nothing off", "[sync]") {
  terminal::HttpsRedemptionAuthoriser check(linkTo(closedPort()), std::chrono::milliseconds(300));
  for (int i = 0; i < 2; ++i) {
    CHECK(check.authorise("R" + std::to_string(i), "M1", 100, 0) == terminal::Authorisation::unreachable);
    CHECK(check.lastProblem().find("not asked again") == std::string::npos);
  }
}
