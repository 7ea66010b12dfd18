#pragma once
// Real processes for the sync tests and the benchmarks: a loyalty-hq server over HTTPS on
// 127.0.0.1 (its own data directory, a free port) and loyalty-terminal commands run to completion.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "temp_dir.hpp"
#include "loyalty/sync/client/https_client.hpp"

namespace loyalty::test {

inline std::string hqBinary() {
  const char* bin = std::getenv("LOYALTY_HQ_BIN");
  if (bin) return bin;
#ifdef LOYALTY_HQ_BIN_PATH
  return LOYALTY_HQ_BIN_PATH;
#else
  throw std::runtime_error("LOYALTY_HQ_BIN is not set");
#endif
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct RunResult {
  int exit = -1;
  std::string out;
  std::string err;
  nlohmann::json json() const { return nlohmann::json::parse(out.substr(0, out.find('\n'))); }
};

/// Runs a program to completion with `input` on stdin; stdout and stderr kept apart.
inline RunResult run(const std::vector<std::string>& argv, const std::string& input = "",
                     std::chrono::seconds timeout = std::chrono::seconds(120)) {
  TempDir io;
  const auto outPath = io.path() / "out", errPath = io.path() / "err", inPath = io.path() / "in";
  { std::ofstream(inPath, std::ios::binary) << input; }
  // Built before fork: the child of a threaded test (the soak runs worlds in threads) only execs.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int in = open(inPath.c_str(), O_RDONLY);
    const int out = open(outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = open(errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  // Woken by the exit itself (a pidfd polls readable when the child exits), not by a timer.
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      if (pidfd >= 0) close(pidfd);
      throw std::runtime_error("timed out: " + argv[0]);
    }
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      poll(&p, 1, 100);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  if (pidfd >= 0) close(pidfd);
  RunResult r;
  r.exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(outPath);
  r.err = slurp(errPath);
  return r;
}

/// A port free now, below the kernel's range for outgoing connections when it can: a server
/// restarted on it again and again (the soak restarts head office thousands of times) must not
/// find it taken by a client connection's local port in the meantime.
inline int freePort() {
  int low = 32768;
  if (std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range"); range) range >> low;
  static thread_local std::mt19937 pick(std::random_device{}());
  for (int attempt = 0; low > 20000 && attempt < 50; ++attempt) {
    const int port = std::uniform_int_distribution<int>(20000, low - 1)(pick);
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    const bool free = bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(s);
    if (free) return port;
  }
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind failed");
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

inline bool accepts(int port) {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(s);
  return ok;
}

/// A loyalty-hq data directory and, while started, its server process.
class Hq {
 public:
  explicit Hq(std::vector<std::string> initArgs = {}) : m_port(freePort()) {
    std::vector<std::string> argv = {hqBinary(), "init", "--data", dataDir()};
    argv.insert(argv.end(), initArgs.begin(), initArgs.end());
    const RunResult r = run(argv, "");
    if (r.exit != 0) throw std::runtime_error("loyalty-hq init failed: " + r.err + r.out);
    m_adminToken = command({"token", "create", "--role", "admin", "--name", "tests"});
  }
  ~Hq() { killHard(); }
  Hq(const Hq&) = delete;
  Hq& operator=(const Hq&) = delete;

  std::string dataDir() const { return (m_dir.path() / "hq").string(); }
  std::string caFile() const { return (m_dir.path() / "hq" / "tls" / "ca.pem").string(); }
  std::filesystem::path tlsDir() const { return m_dir.path() / "hq" / "tls"; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(m_port); }
  const std::string& adminToken() const { return m_adminToken; }
  int port() const { return m_port; }

  void start() {
    m_server = std::make_unique<ChildProcess>(
        std::vector<std::string>{hqBinary(), "serve", "--data", dataDir(), "--listen",
                                 "127.0.0.1:" + std::to_string(m_port)},
        Stderr::kDiscard);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!accepts(m_port)) {
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("loyalty-hq did not start listening");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  /// SIGKILL: no clean shutdown, like a power cut.
  void killHard() {
    if (m_server) m_server->killHard();
    m_server.reset();
  }
  bool running() const { return m_server != nullptr; }

  /// A loyalty-hq sub-command on this data directory; its stdout trimmed. Throws on failure.
  std::string command(std::vector<std::string> args) const {
    std::vector<std::string> argv = {hqBinary()};
    argv.push_back(args.front());
    args.erase(args.begin());
    // "terminal add" style: the second word is a sub-command too.
    if (!args.empty() && args.front().rfind("--", 0) != 0) {
      argv.push_back(args.front());
      args.erase(args.begin());
    }
    argv.push_back("--data");
    argv.push_back(dataDir());
    argv.insert(argv.end(), args.begin(), args.end());
    const RunResult r = run(argv);
    if (r.exit != 0) throw std::runtime_error("loyalty-hq " + argv[1] + " failed: " + r.err);
    std::string out = r.out;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) out.pop_back();
    return out;
  }

  std::string addTerminal(const std::string& store, const std::string& terminal) {
    return command({"terminal", "add", "--store", store, "--terminal", terminal});
  }

  /// POST with the admin token; throws unless 2xx.
  nlohmann::json post(const std::string& path, const nlohmann::json& body) const {
    sync::HttpsClient client({url(), slurp(caFile()), std::nullopt, m_adminToken});
    auto r = client.postJson(path, body, false);
    if (!r) throw std::runtime_error(r.error().message);
    return r.value();
  }

  /// GET with the admin token; throws unless 2xx.
  nlohmann::json get(const std::string& path) const {
    sync::HttpsClient client({url(), slurp(caFile()), std::nullopt, m_adminToken});
    auto r = client.getJson(path);
    if (!r) throw std::runtime_error(r.error().message);
    return r.value();
  }

 private:
  TempDir m_dir;
  int m_port;
  std::string m_adminToken;
  std::unique_ptr<ChildProcess> m_server;
};

/// Exec requests the sync tests send: an enrolment, and a one-line sale.
inline nlohmann::json enrol(const std::string& phone, const std::string& name) {
  return {{"id", phone}, {"op", "enroll"}, {"phone", phone}, {"name", name}, {"consent_marketing", true}};
}

inline nlohmann::json sale(const std::string& saleId, const std::optional<std::string>& member, const std::string& price) {
  nlohmann::json r = {{"id", saleId},
            {"op", "sale"},
            {"sale_id", saleId},
            {"lines", nlohmann::json::array({{{"sku", "SKU-1"}, {"qty", 1}, {"unit_price", price}}})}};
  if (member) r["member"] = *member;
  return r;
}

/// A terminal data directory driven through the loyalty-terminal binary.
class Terminal {
 public:
  std::string dataDir() const { return m_dir.str(); }

  RunResult registerWith(const Hq& hq, const std::string& code, const std::string& caFile = "") const {
    return run({terminalBinary(), "register", "--data", dataDir(), "--hq", hq.url(), "--ca",
                caFile.empty() ? hq.caFile() : caFile, "--code", code});
  }
  RunResult syncOnce() const { return run({terminalBinary(), "sync", "--data", dataDir(), "--once"}); }
  RunResult verify() const { return run({terminalBinary(), "verify", "--data", dataDir()}); }

  /// Runs exec with the requests (one JSON object each); returns the responses in order.
  std::vector<nlohmann::json> exec(const std::vector<nlohmann::json>& requests) const {
    std::string input;
    for (const auto& r : requests) input += r.dump() + "\n";
    const RunResult r = run({terminalBinary(), "exec", "--data", dataDir()}, input);
    if (r.exit != 0) throw std::runtime_error("exec failed: " + r.err);
    std::vector<nlohmann::json> out;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) out.push_back(nlohmann::json::parse(line));
    }
    return out;
  }
  nlohmann::json execOne(const nlohmann::json& request) const { return exec({request}).at(0); }

 private:
  TempDir m_dir;
};

}  // namespace loyalty::test
