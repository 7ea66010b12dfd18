#pragma once
// Runs a program with pipes to its stdin and stdout, for tests that speak to the real binary.

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace loyalty::test {

/// The loyalty-terminal binary under test (set by CMake in the test environment).
inline std::string terminalBinary() {
  const char* bin = std::getenv("LOYALTY_TERMINAL_BIN");
  if (!bin) throw std::runtime_error("LOYALTY_TERMINAL_BIN is not set (run the tests through ctest)");
  return bin;
}

/// Where the child's stderr goes.
enum class Stderr { kDiscard, kInherit, kToStdout };

class ChildProcess {
 public:
  /// `netns`, if given, is a network namespace file (e.g. /run/netns/NAME) the child enters before
  /// it runs argv (as nsenter --net would, without a process of its own).
  explicit ChildProcess(const std::vector<std::string>& argv, Stderr err = Stderr::kDiscard, const std::string& netns = {}) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    // Built before fork: the child of a threaded test only execs.
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    m_pid = fork();
    if (m_pid < 0) throw std::runtime_error("fork failed");
    if (m_pid == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      if (err == Stderr::kDiscard) {
        const int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
      } else if (err == Stderr::kToStdout) {
        dup2(out[1], 2);
      }
      if (!netns.empty()) {
        const int ns = open(netns.c_str(), O_RDONLY | O_CLOEXEC);
        if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) _exit(126);
      }
      execv(args[0], args.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    m_stdin = in[1];
    m_stdout = out[0];
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() {
    closeStdin();
    if (m_stdout >= 0) close(m_stdout);
    if (m_pid > 0 && !m_exited) {
      kill(m_pid, SIGKILL);
      waitpid(m_pid, nullptr, 0);
    }
  }

  /// Writes all of `data`; false if the child has gone.
  bool write(const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::write(m_stdin, data.data() + done, data.size() - done);
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }

  /// The next line from stdout without its newline; nullopt at end of output or after timeout.
  std::optional<std::string> readLine(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto nl = m_buffer.find('\n');
      if (nl != std::string::npos) {
        std::string line = m_buffer.substr(0, nl);
        m_buffer.erase(0, nl + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{m_stdout, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[65536];
      const ssize_t n = ::read(m_stdout, buf, sizeof buf);
      if (n <= 0) return std::nullopt;
      m_buffer.append(buf, static_cast<std::size_t>(n));
    }
  }

  pid_t pid() const { return m_pid; }

  void closeStdin() {
    if (m_stdin >= 0) close(m_stdin);
    m_stdin = -1;
  }

  /// True while the child has not exited; reaps it once it has.
  bool running() {
    if (m_exited) return false;
    int status = 0;
    if (waitpid(m_pid, &status, WNOHANG) != m_pid) return true;
    m_exited = true;
    m_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }

  void killHard() {
    if (!m_exited) kill(m_pid, SIGKILL);  // never signal a reaped pid: it may be another process's now
    wait();
  }

  /// Waits for exit; returns the exit status (or 128 + signal).
  int wait() {
    if (m_exited) return m_status;
    int status = 0;
    waitpid(m_pid, &status, 0);
    m_exited = true;
    m_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return m_status;
  }

 private:
  pid_t m_pid = -1;
  int m_stdin = -1;
  int m_stdout = -1;
  std::string m_buffer;
  bool m_exited = false;
  int m_status = 0;
};

}  // namespace loyalty::test
