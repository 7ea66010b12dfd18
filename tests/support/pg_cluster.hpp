#pragma once
// A throw-away PostgreSQL server for the tests and benchmarks that need a real one (head office's
// PostgreSQL back end): its own initdb in a temporary directory, a free loopback port. Needs the
// loyalty_hq library (hq::openPostgres). A step that fails throws std::runtime_error naming it
// (a test reports it as its failure).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "loyalty/hq/sql.hpp"
#include "temp_dir.hpp"
#include "tmpfs_mount.hpp"

namespace loyalty::test {

/// A throw-away PostgreSQL cluster: initdb in a temp dir, pg_ctl -w on a free port, stopped
/// in the destructor. initdb refuses root, so as root it runs as the `postgres` user.
class PgCluster {
 public:
  /// What goes on a tmpfs of its own (root only; mounted and unmounted by this object): nothing,
  /// the whole data directory (tables and pg_wal), or only pg_wal (then in 1 MiB segments, so a
  /// full one soon needs a new segment file).
  enum class OnTmpfs { kNothing, kDataDirectory, kWal };

  /// `settings`: server settings of this cluster's own, as postgres options (" -c shared_buffers=256MB").
  explicit PgCluster(OnTmpfs onTmpfs = OnTmpfs::kNothing, std::size_t tmpfsBytes = 0, std::string settings = "")
      : m_options(std::move(settings)) {
    m_bindir = trimmed(output({"/bin/sh", "-c", "pg_config --bindir"}));
    if (!std::filesystem::exists(m_bindir + "/initdb")) {
      // Debian's pg_config (libpq-dev) may point elsewhere than the server's binaries.
      for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql")) {
        if (std::filesystem::exists(e.path() / "bin" / "initdb")) m_bindir = (e.path() / "bin").string();
      }
    }
    need(std::filesystem::exists(m_bindir + "/initdb"), "no initdb beside pg_config --bindir or under /usr/lib/postgresql");
    m_port = loopbackPort();
    const std::string data = m_dir.str() + "/data";
    const std::string wal = m_dir.str() + "/wal";
    std::vector<std::string> initdb = {m_bindir + "/initdb", "-D", data, "-A", "trust", "-U", "postgres", "--locale=C", "-E", "UTF8", "--no-sync"};
    std::string mounted;
    if (onTmpfs == OnTmpfs::kDataDirectory) mounted = data;
    if (onTmpfs == OnTmpfs::kWal) {
      mounted = wal;
      initdb.insert(initdb.end(), {"--waldir", wal, "--wal-segsize", "1"});
      m_options += " -c min_wal_size=2MB";  // few segments kept for reuse: a full disk is soon felt
    }
    if (!mounted.empty()) {
      std::filesystem::create_directory(mounted);
      m_disk = std::make_unique<TmpfsMount>(tmpfsBytes, mounted);
    }
    if (geteuid() == 0) {
      const passwd* pw = getpwnam("postgres");
      need(pw != nullptr, "no postgres user to run initdb as (initdb refuses root)");
      need(chown(m_dir.str().c_str(), pw->pw_uid, pw->pw_gid) == 0, "chown of the cluster's directory to postgres");
      if (m_disk) need(chown(mounted.c_str(), pw->pw_uid, pw->pw_gid) == 0, "chown of the tmpfs to postgres");
      m_prefix = {"/usr/sbin/runuser", "-u", "postgres", "--"};
    }
    need(run(initdb) == 0, "initdb failed");
    need(start(), "pg_ctl start failed; its log:\n" + log());
  }
  ~PgCluster() { stop(); }  // also when it stopped by itself: a restarting postmaster may be back

  /// The tmpfs under the data directory (nullptr when the cluster is on the ordinary disk).
  TmpfsMount* disk() { return m_disk.get(); }
  /// Starts the server (after stop(), or after it stopped by itself); true once it accepts connections.
  bool start() {
    m_running = run({m_bindir + "/pg_ctl", "-D", m_dir.str() + "/data", "-l", m_dir.str() + "/log", "-w", "-o",
                     "-p " + std::to_string(m_port) + " -k " + m_dir.str() + " -c listen_addresses=127.0.0.1 -c fsync=on" + m_options,
                     "start"}) == 0;
    return m_running;
  }
  /// Stops the server (fast shutdown), or takes note that it has stopped by itself.
  void stop() {
    run({m_bindir + "/pg_ctl", "-D", m_dir.str() + "/data", "-m", "fast", "-w", "stop"});
    m_running = false;
  }
  /// True while the server's postmaster runs (pg_ctl status).
  bool running() { return run({m_bindir + "/pg_ctl", "-D", m_dir.str() + "/data", "status"}) == 0; }
  /// The server's log so far.
  std::string log() const {
    std::ifstream in(m_dir.path() / "log");
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  std::string dsn(const std::string& db = "postgres") const {
    return "host=127.0.0.1 port=" + std::to_string(m_port) + " user=postgres dbname=" + db + " connect_timeout=5";
  }
  /// A fresh database for one head office.
  std::string createDatabase(const std::string& name) {
    hq::openPostgres(dsn())->execScript("CREATE DATABASE " + name);
    return dsn(name);
  }

 private:
  static void need(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error("test PostgreSQL: " + what);
  }
  static std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }
  static std::string output(const std::vector<std::string>& argv) {
    ChildProcess p(argv);
    p.closeStdin();
    std::string out;
    while (auto line = p.readLine(std::chrono::seconds(120))) out += *line + "\n";
    p.wait();
    return out;
  }
  int run(std::vector<std::string> argv) {
    std::vector<std::string> full = m_prefix;
    full.insert(full.end(), argv.begin(), argv.end());
    ChildProcess p(full);
    p.closeStdin();
    while (p.readLine(std::chrono::seconds(120))) {
    }
    return p.wait();
  }
  static int loopbackPort() {
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    close(s);
    return ntohs(a.sin_port);
  }

  TempDir m_dir;
  std::unique_ptr<TmpfsMount> m_disk;  // unmounted before m_dir goes, after the server stopped
  std::string m_bindir;
  std::vector<std::string> m_prefix;
  std::string m_options;  ///< server settings of this cluster's own
  int m_port = 0;
  bool m_running = false;
};

}  // namespace loyalty::test
