#pragma once
// A private X server (Xvfb on a display number it picks itself) and programs run on it, for the
// tests that open real windows. Skips cleanly when Xvfb/xdotool/import are not installed.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace loyalty::test {

inline bool haveProgram(const char* name) {
  return std::system((std::string("command -v ") + name + " >/dev/null 2>&1").c_str()) == 0;
}

/// A child process with extra environment; SIGTERM then SIGKILL when it goes out of scope.
class Spawned {
 public:
  Spawned(const std::vector<std::string>& argv, const std::vector<std::string>& env,
          const std::string& logPath) {
    m_pid = fork();
    if (m_pid < 0) throw std::runtime_error("fork failed");
    if (m_pid == 0) {
      const int log = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (log >= 0) {
        dup2(log, 1);
        dup2(log, 2);
      }
      // Every frame the app draws where it changed is compared with the same frame drawn whole;
      // a difference makes it exit with status 6 (the tests' REQUIRE(app.stop() == 0)).
      static char check[] = "LOYALTY_UI_DAMAGE_CHECK=1";
      putenv(check);
      for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
  }
  Spawned(const Spawned&) = delete;
  Spawned& operator=(const Spawned&) = delete;
  ~Spawned() { stop(); }

  bool running() {
    if (m_done) return false;
    int status = 0;
    if (waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_done = true;
      m_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return false;
    }
    return true;
  }
  /// SIGTERM, up to 10 s, then SIGKILL; returns the exit status.
  int stop() {
    if (m_done) return m_status;
    kill(m_pid, SIGTERM);
    for (int i = 0; i < 100 && running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!m_done) {
      kill(m_pid, SIGKILL);
      int status = 0;
      waitpid(m_pid, &status, 0);
      m_done = true;
      m_status = 128 + SIGKILL;
    }
    return m_status;
  }

 private:
  pid_t m_pid = -1;
  bool m_done = false;
  int m_status = 0;
};

/// Xvfb on the first free display number (it picks and reports it through -displayfd).
class Xvfb {
 public:
  Xvfb(int width, int height, const std::string& logPath) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    m_pid = fork();
    if (m_pid == 0) {
      close(fds[0]);
      const int log = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (log >= 0) dup2(log, 2);
      const std::string screen = std::to_string(width) + "x" + std::to_string(height) + "x24";
      const std::string fd = std::to_string(fds[1]);
      execlp("Xvfb", "Xvfb", "-displayfd", fd.c_str(), "-screen", "0", screen.c_str(), "-nolisten", "tcp",
             "-noreset", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    std::string number;
    char c = 0;
    while (::read(fds[0], &c, 1) == 1 && c != '\n') number.push_back(c);
    close(fds[0]);
    if (number.empty()) throw std::runtime_error("Xvfb did not start (see " + logPath + ")");
    m_display = ":" + number;
  }
  ~Xvfb() {
    kill(m_pid, SIGTERM);
    waitpid(m_pid, nullptr, 0);
  }
  Xvfb(const Xvfb&) = delete;
  Xvfb& operator=(const Xvfb&) = delete;
  const std::string& display() const { return m_display; }

  /// Runs a command line with DISPLAY set; true on exit status 0.
  bool run(const std::string& command) const {
    return std::system(("DISPLAY=" + m_display + " " + command + " >/dev/null 2>&1").c_str()) == 0;
  }

 private:
  pid_t m_pid = -1;
  std::string m_display;
};

/// The app's tap map: id -> centre of the widget in screen pixels.
inline std::map<std::string, std::pair<int, int>> readTapMap(const std::string& path) {
  std::map<std::string, std::pair<int, int>> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id;
    int x = 0, y = 0, w = 0, h = 0;
    if (f >> id >> x >> y >> w >> h) out[id] = {x + w / 2, y + h / 2};
  }
  return out;
}

}  // namespace loyalty::test
