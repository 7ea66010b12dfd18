#pragma once
// What the benchmarks that drive a real `loyalty-hq serve` share: child processes, a server
// on a free loopback port, an HTTPS client trusting the data dir's CA, /proc memory figures.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "../tests/sync/hq/sync_fixture.hpp"  // freePort

namespace loyalty::bench {

using loyalty::test::freePort;

struct Child {
  pid_t pid = -1;
  int out = -1;
  std::string buffer;

  static Child spawn(const std::vector<std::string>& argv, bool quietStderr = true) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    Child c;
    c.pid = fork();
    if (c.pid == 0) {
      dup2(p[1], 1);
      if (quietStderr) {
        const int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
      }
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(p[1]);
    c.out = p[0];
    return c;
  }
  std::optional<std::string> readLine(int timeoutMs = 60000) {
    for (;;) {
      const auto nl = buffer.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer.substr(0, nl);
        buffer.erase(0, nl + 1);
        return line;
      }
      pollfd pfd{out, POLLIN, 0};
      if (poll(&pfd, 1, timeoutMs) <= 0) return std::nullopt;
      char buf[4096];
      const ssize_t n = read(out, buf, sizeof buf);
      if (n <= 0) return std::nullopt;
      buffer.append(buf, static_cast<std::size_t>(n));
    }
  }
  int wait() {
    int status = 0;
    waitpid(pid, &status, 0);
    if (out >= 0) close(out);
    out = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

inline std::string run(const std::vector<std::string>& argv) {
  Child c = Child::spawn(argv);
  std::string out;
  while (auto line = c.readLine(600000)) out += *line + "\n";
  if (const int st = c.wait(); st != 0) throw std::runtime_error(argv[0] + " " + (argv.size() > 1 ? argv[1] : "") + " failed with " + std::to_string(st));
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

/// kB value of a /proc/PID/status line (VmRSS, VmHWM).
inline std::int64_t procStatusKb(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stoll(line.substr(key.size() + 1));
  }
  return -1;
}

struct Server {
  Child child;
  int port = 0;
  void start(const std::string& bin, const std::string& data) {
    child = Child::spawn({bin, "serve", "--data", data, "--listen", "127.0.0.1:0"});
    auto line = child.readLine();
    if (!line) throw std::runtime_error("loyalty-hq serve did not start");
    port = std::stoi(line->substr(line->rfind(':') + 1));
  }
  void stop() {
    kill(child.pid, SIGTERM);
    child.wait();
  }
};

inline std::unique_ptr<httplib::SSLClient> client(const std::string& ca, int port) {
  auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", port);
  c->set_ca_cert_path(ca.c_str());
  c->enable_server_certificate_verification(true);
  c->set_read_timeout(std::chrono::seconds(600));
  c->set_keep_alive(true);
  return c;
}

}  // namespace loyalty::bench
