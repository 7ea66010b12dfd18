#pragma once
// Network namespaces for the network fault tests: a hub namespace and one namespace per
// terminal, joined by a veth pair each (10.213.K.2 at terminal K, 10.213.K.1 in the hub), with an
// nftables table in every terminal namespace to cut (TCP reset) or drop its traffic to the hub.
// Everything lives in namespaces this object made; deleting them in the destructor removes the
// veth pairs and the nft tables with them. Namespaces left by a test process that died (SIGKILL)
// are removed by the next one: their names carry the pid of the process that made them. Several
// labs may live in one process at once (one per schedule worker): each has its own hub and
// terminal namespaces, named with its worker number, so the same addresses serve every lab and
// a fault in one never reaches another.

#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"

namespace loyalty::test::net {

/// Runs a command to completion; throws with its output if it fails.
/// `netns`: a network namespace file the command runs in (none: this process's).
inline std::string runOrThrow(const std::vector<std::string>& argv, const std::string& netns = {}) {
  ChildProcess p(argv, Stderr::kToStdout, netns);
  p.closeStdin();
  std::string out;
  while (auto line = p.readLine(std::chrono::seconds(30))) out += *line + "\n";
  if (const int status = p.wait(); status != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    throw std::runtime_error("command failed (" + std::to_string(status) + "): " + cmd + "\n" + out);
  }
  return out;
}

/// True when this process may make network namespaces and has the tools for them.
inline bool netLabAvailable() {
  return geteuid() == 0 && std::filesystem::exists("/usr/sbin/ip") && std::filesystem::exists("/usr/sbin/nft") &&
         std::filesystem::exists("/usr/bin/nsenter");
}

enum class Block {
  kCut,      ///< packets to the hub are answered with a TCP reset at once
  kDropOut,  ///< packets to the hub vanish (connects and requests hang, then time out)
  kDropIn,   ///< packets from the hub vanish (requests arrive, answers do not)
};

inline const char* describe(Block b) {
  switch (b) {
    case Block::kCut: return "nft cut";
    case Block::kDropOut: return "nft drop out";
    case Block::kDropIn: return "nft drop in";
  }
  return "?";
}

class NetLab {
 public:
  static constexpr const char* kPrefix = "lnf";

  explicit NetLab(int terminals, int worker = 0) : m_terminals(terminals) {
    removeStale();
    const std::string tag = std::string(kPrefix) + std::to_string(getpid()) + (worker > 0 ? "w" + std::to_string(worker) : "");
    m_hub = tag + "h";
    try {
      runOrThrow({"/usr/sbin/ip", "netns", "add", m_hub});
      m_made.push_back(m_hub);
      for (int k = 1; k <= terminals; ++k) {
        const std::string ns = tag + "t" + std::to_string(k);
        runOrThrow({"/usr/sbin/ip", "netns", "add", ns});
        m_made.push_back(ns);
        m_ns.push_back(ns);
        const std::string hubIf = "nf" + std::to_string(k);
        runOrThrow({"/usr/sbin/ip", "-n", ns, "link", "add", "nf0", "type", "veth", "peer", "name", hubIf, "netns", m_hub});
        runOrThrow({"/usr/sbin/ip", "-n", ns, "addr", "add", terminalAddress(k) + "/24", "dev", "nf0"});
        runOrThrow({"/usr/sbin/ip", "-n", ns, "link", "set", "nf0", "up"});
        runOrThrow({"/usr/sbin/ip", "-n", ns, "link", "set", "lo", "up"});
        runOrThrow({"/usr/sbin/ip", "-n", m_hub, "addr", "add", hubAddress(k) + "/24", "dev", hubIf});
        runOrThrow({"/usr/sbin/ip", "-n", m_hub, "link", "set", hubIf, "up"});
        nft(k, {"add", "table", "inet", "netfault"});
        nft(k, {"add", "chain", "inet", "netfault", "out", "{", "type", "filter", "hook", "output", "priority", "0", ";", "}"});
        nft(k, {"add", "chain", "inet", "netfault", "in", "{", "type", "filter", "hook", "input", "priority", "0", ";", "}"});
      }
    } catch (...) {
      teardown();
      throw;
    }
  }
  ~NetLab() { teardown(); }
  NetLab(const NetLab&) = delete;
  NetLab& operator=(const NetLab&) = delete;

  int terminals() const { return m_terminals; }
  const std::string& hub() const { return m_hub; }
  const std::string& terminalNs(int k) const { return m_ns.at(static_cast<std::size_t>(k - 1)); }
  static std::string hubAddress(int k) { return "10.213." + std::to_string(k) + ".1"; }
  static std::string terminalAddress(int k) { return "10.213." + std::to_string(k) + ".2"; }

  /// Terminal K's namespace file, for ChildProcess (no nsenter process in between).
  std::string terminalNsPath(int k) const { return "/run/netns/" + terminalNs(k); }

  /// argv run inside terminal K's namespace.
  std::vector<std::string> inTerminal(int k, const std::vector<std::string>& argv) const {
    std::vector<std::string> full = {"/usr/bin/nsenter", "--net=/run/netns/" + terminalNs(k), "--"};
    full.insert(full.end(), argv.begin(), argv.end());
    return full;
  }

  /// A TCP socket listening on the hub's address towards terminal K (made inside the hub).
  int listenInHub(int k, int port) const {
    int fd = -1;
    std::string error;
    std::thread t([&] {
      // setns changes only this thread's namespace; the socket keeps it after the thread ends.
      const int ns = open(("/run/netns/" + m_hub).c_str(), O_RDONLY | O_CLOEXEC);
      if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) {
        error = "cannot enter " + m_hub;
        if (ns >= 0) close(ns);
        return;
      }
      close(ns);
      fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      const int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<std::uint16_t>(port));
      inet_pton(AF_INET, hubAddress(k).c_str(), &a.sin_addr);
      if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 64) != 0) {
        error = "cannot listen on " + hubAddress(k);
        close(fd);
        fd = -1;
      }
    });
    t.join();
    if (fd < 0) throw std::runtime_error(error);
    return fd;
  }

  /// Cuts or drops terminal K's traffic to (kDropIn: from) the hub until heal(K).
  void block(int k, Block how) {
    m_blocked.at(static_cast<std::size_t>(k - 1)) = true;
    if (how == Block::kCut) {
      nft(k, {"add", "rule", "inet", "netfault", "out", "ip", "daddr", hubAddress(k), "meta", "l4proto", "tcp", "reject", "with",
              "tcp", "reset"});
    } else if (how == Block::kDropOut) {
      nft(k, {"add", "rule", "inet", "netfault", "out", "ip", "daddr", hubAddress(k), "drop"});
    } else {
      nft(k, {"add", "rule", "inet", "netfault", "in", "ip", "saddr", hubAddress(k), "drop"});
    }
  }
  /// Removes terminal K's rules (one nft run; none when nothing was blocked since the last heal).
  void heal(int k) {
    auto& blocked = m_blocked.at(static_cast<std::size_t>(k - 1));
    if (!blocked) return;
    nft(k, {"flush", "chain", "inet", "netfault", "out", ";", "flush", "chain", "inet", "netfault", "in"});
    blocked = false;
  }

 private:
  void nft(int k, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/usr/sbin/nft"};
    argv.insert(argv.end(), args.begin(), args.end());
    runOrThrow(argv, terminalNsPath(k));
  }

  void teardown() noexcept {
    for (auto it = m_made.rbegin(); it != m_made.rend(); ++it) {
      try {
        runOrThrow({"/usr/sbin/ip", "netns", "del", *it});
      } catch (...) {
      }
    }
    m_made.clear();
  }

  /// Namespaces named by this test for a process that no longer exists.
  static void removeStale() {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/run/netns", ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind(kPrefix, 0) != 0) continue;
      std::size_t end = 3;
      while (end < name.size() && std::isdigit(static_cast<unsigned char>(name[end]))) ++end;
      if (end == 3 || end >= name.size() || (name[end] != 'h' && name[end] != 't' && name[end] != 'w')) continue;
      const pid_t pid = static_cast<pid_t>(std::stol(name.substr(3, end - 3)));
      if (kill(pid, 0) == 0 || errno != ESRCH) continue;
      try {
        runOrThrow({"/usr/sbin/ip", "netns", "del", name});
      } catch (...) {
      }
    }
  }

  int m_terminals;
  std::string m_hub;
  std::vector<std::string> m_ns;
  std::vector<std::string> m_made;
  std::vector<char> m_blocked = std::vector<char>(static_cast<std::size_t>(m_terminals), 0);  ///< rules added since the last heal
};

}  // namespace loyalty::test::net
