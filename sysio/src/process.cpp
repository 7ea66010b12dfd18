#include "loyalty/sysio/process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

extern char** environ;

namespace loyalty::sysio {

namespace {

constexpr std::size_t kMaxOutput = 65536;

/// The child's environment: ours with options.env put in (built before fork: the child of a
/// threaded program may only make async-signal-safe calls).
std::vector<std::string> environmentFor(const RunOptions& o) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('='));
    const bool replaced = std::any_of(o.env.begin(), o.env.end(), [&](const auto& kv) { return kv.first == name; });
    if (!replaced) env.push_back(entry);
  }
  for (const auto& [name, value] : o.env) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

RunResult runProgram(const RunOptions& o) {
  RunResult r;
  if (o.argv.empty()) return r;
  std::vector<std::string> argvText = o.argv;
  std::vector<std::string> envText = environmentFor(o);
  const std::vector<char*> argv = pointers(argvText);
  const std::vector<char*> envp = pointers(envText);

  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return r;
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return r;
  }
  const int devNull = o.captureStderr ? -1 : ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::dup2(in[0], STDIN_FILENO) < 0 || ::dup2(out[1], STDOUT_FILENO) < 0 ||
        ::dup2(o.captureStderr ? out[1] : devNull, STDERR_FILENO) < 0) {
      ::_exit(126);
    }
    if (o.as && (::setgroups(0, nullptr) != 0 || ::setgid(o.as->second) != 0 || ::setuid(o.as->first) != 0)) ::_exit(126);
    if (o.fd3) {
      int key[2];  // made after the user change, so the new user may open /dev/fd/3
      if (::pipe(key) != 0 ||
          ::write(key[1], o.fd3->data(), o.fd3->size()) != static_cast<ssize_t>(o.fd3->size())) {
        ::_exit(126);
      }
      ::close(key[1]);
      if (key[0] != 3 && ::dup2(key[0], 3) != 3) ::_exit(126);
    }
    ::execvpe(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  if (devNull >= 0) ::close(devNull);
  ::close(in[0]);
  ::close(out[1]);
  if (pid < 0) {
    ::close(in[1]);
    ::close(out[0]);
    return r;
  }
  // A program that exits without reading its input must not kill us with SIGPIPE.
  struct sigaction ignore {}, previous {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &previous);
  std::size_t written = 0;
  while (written < o.input.size()) {
    const ssize_t n = ::write(in[1], o.input.data() + written, o.input.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  ::close(in[1]);
  ::sigaction(SIGPIPE, &previous, nullptr);

  const auto deadline = std::chrono::steady_clock::now() + o.timeout;
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) break;
    pollfd p{out[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    const ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (r.output.size() < kMaxOutput) r.output.append(buf, std::min<std::size_t>(static_cast<std::size_t>(n), kMaxOutput - r.output.size()));
  }
  ::close(out[0]);
  int status = 0;
  // Output closed but still running, or the deadline passed: give it until the deadline.
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return r;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      r.output += "\n(killed after " + std::to_string(o.timeout.count()) + " s)";
      return r;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace loyalty::sysio
