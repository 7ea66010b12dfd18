#pragma once
// What the benchmarks that drive a real `loyalty-hq serve` share: commands run to their end,
// a server on a free loopback port, an HTTPS client trusting the data dir's CA, /proc memory
// figures. Processes are the tests' (tests/support/child_process.hpp, via the sync fixture).

#include <signal.h>
#include <unistd.h>

#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "pg_cluster.hpp"
#include "sync_fixture.hpp"  // freePort, run, ChildProcess

namespace loyalty::bench {

using loyalty::test::freePort;

/// Runs a command to its end (setup steps: init, token create, initdb); its stdout without the
/// trailing newlines, or an exception when it fails.
inline std::string run(const std::vector<std::string>& argv) {
  const auto r = loyalty::test::run(argv, "", std::chrono::seconds(600));
  if (r.exit != 0) throw std::runtime_error(argv[0] + " " + (argv.size() > 1 ? argv[1] : "") + " failed with " + std::to_string(r.exit));
  std::string out = r.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

/// The number on a "key: number" line of /proc/PID/<file> (-1 when there is none).
inline std::int64_t procField(pid_t pid, const std::string& file, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stoll(line.substr(key.size() + 1));
  }
  return -1;
}

/// CPU seconds a process has used so far, user and system (/proc/PID/stat utime + stime).
inline double procCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i >= 14) ticks += std::stod(field);  // fields 14 and 15: utime, stime
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// kB value of a /proc/PID/status line (VmRSS, VmHWM).
inline std::int64_t procStatusKb(pid_t pid, const std::string& key) { return procField(pid, "status", key); }

/// `loyalty-hq serve` on a free loopback port (it prints the address it listens on).
struct Server {
  std::unique_ptr<loyalty::test::ChildProcess> child;
  int port = 0;
  void start(const std::string& bin, const std::string& data) {
    child = std::make_unique<loyalty::test::ChildProcess>(
        std::vector<std::string>{bin, "serve", "--data", data, "--listen", "127.0.0.1:0"});
    auto line = child->readLine();
    if (!line) throw std::runtime_error("loyalty-hq serve did not start");
    port = std::stoi(line->substr(line->rfind(':') + 1));
  }
  pid_t pid() const { return child->pid(); }
  void stop() {
    kill(child->pid(), SIGTERM);
    child->wait();
  }
};

inline std::unique_ptr<httplib::SSLClient> client(const std::string& ca, int port) {
  auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", port);
  c->set_ca_cert_path(ca.c_str());
  c->enable_server_certificate_verification(true);
  c->set_read_timeout(std::chrono::seconds(600));
  c->set_keep_alive(true);
  // As the terminals' libcurl (TCP_NODELAY is its default): without it a request written in two
  // parts (headers, then the body) waits for the server's delayed acknowledgement, up to 40 ms.
  c->set_tcp_nodelay(true);
  return c;
}

using loyalty::test::PgCluster;

/// A throw-away PostgreSQL cluster for a benchmark (the tests' own, tests/support/pg_cluster.hpp),
/// with room for its working set.
inline std::unique_ptr<PgCluster> benchPostgres(const std::string& more = "") {
  return std::make_unique<PgCluster>(PgCluster::OnTmpfs::kNothing, 0, " -c shared_buffers=256MB" + more);
}

}  // namespace loyalty::bench
