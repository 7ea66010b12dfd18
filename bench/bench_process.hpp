#pragma once
// What the benchmarks that drive a real `loyalty-hq serve` share: commands run to their end,
// a server on a free loopback port, an HTTPS client trusting the data dir's CA, /proc memory
// figures. Processes are the tests' (tests/support/child_process.hpp, via the sync fixture).

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

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

/// kB value of a /proc/PID/status line (VmRSS, VmHWM).
inline std::int64_t procStatusKb(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stoll(line.substr(key.size() + 1));
  }
  return -1;
}

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
  return c;
}

/// A throw-away PostgreSQL cluster for a benchmark: initdb in `dir` (which the postgres user must
/// reach when run as root), pg_ctl -w on a free loopback port, stopped in the destructor.
class PgCluster {
 public:
  explicit PgCluster(const std::filesystem::path& dir) : m_dir(dir) {
    m_bindir = run({"/bin/sh", "-c", "pg_config --bindir"});
    if (!std::filesystem::exists(m_bindir + "/initdb")) {
      for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql")) {
        if (std::filesystem::exists(e.path() / "bin" / "initdb")) m_bindir = (e.path() / "bin").string();
      }
    }
    std::filesystem::create_directories(dir);
    if (geteuid() == 0) {
      const passwd* pw = getpwnam("postgres");
      if (!pw || chown(dir.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("no postgres user to run initdb as");
      m_prefix = {"/usr/sbin/runuser", "-u", "postgres", "--"};
    }
    m_port = freePort();
    pg({m_bindir + "/initdb", "-D", (dir / "data").string(), "-A", "trust", "-U", "postgres", "--locale=C", "-E", "UTF8"});
    pg({m_bindir + "/pg_ctl", "-D", (dir / "data").string(), "-l", (dir / "log").string(), "-w", "-o",
        "-p " + std::to_string(m_port) + " -k " + dir.string() + " -c listen_addresses=127.0.0.1 -c shared_buffers=256MB", "start"});
    m_running = true;
  }
  ~PgCluster() {
    if (m_running) {
      try {
        pg({m_bindir + "/pg_ctl", "-D", (m_dir / "data").string(), "-m", "fast", "-w", "stop"});
      } catch (...) {
      }
    }
    std::error_code ignored;
    std::filesystem::remove_all(m_dir, ignored);
  }
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  std::string dsn(const std::string& db) const {
    return "host=127.0.0.1 port=" + std::to_string(m_port) + " user=postgres dbname=" + db;
  }

 private:
  void pg(std::vector<std::string> argv) {
    std::vector<std::string> full = m_prefix;
    full.insert(full.end(), argv.begin(), argv.end());
    run(full);
  }
  std::filesystem::path m_dir;
  std::string m_bindir;
  std::vector<std::string> m_prefix;
  int m_port = 0;
  bool m_running = false;
};

}  // namespace loyalty::bench
