// The root-run updater (`loyalty-terminal update apply|keep`, docs/fleet-updates.md): installs a
// staged, verified package with dpkg, restarts the app, checks its health and rolls back to the
// kept previous package when it is not healthy.
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <ostream>
#include <sstream>
#include <thread>

#include "loyalty/core/time.hpp"
#include "loyalty/terminal/update.hpp"

namespace loyalty::terminal::update {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct RunResult {
  int exitCode = -1;  ///< -1: did not finish (timed out, killed, could not start)
  std::string output;  ///< stdout and stderr, at most 64 KiB
};

/// Runs a program without a shell, with `input` on its stdin, for at most `timeout`; as
/// `uid`/`gid` when given (the health check runs as the data directory's owner). `atRestKey`,
/// read by root, reaches the program through a pipe on fd 3 (LOYALTY_AT_REST_KEY_FILE=/dev/fd/3):
/// the service user cannot read the key file itself, as its unit gets it as a credential.
RunResult runProgram(const std::vector<std::string>& argv, const std::string& input, std::chrono::seconds timeout,
                     std::optional<std::pair<uid_t, gid_t>> as = std::nullopt,
                     const std::optional<std::string>& atRestKey = std::nullopt) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) return {};
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    return {};
  }
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    if (as && (setgroups(0, nullptr) != 0 || setgid(as->second) != 0 || setuid(as->first) != 0)) _exit(126);
    if (atRestKey) {
      int key[2];  // made after the uid change, so the new user may open /dev/fd/3
      if (pipe(key) != 0 || write(key[1], atRestKey->data(), atRestKey->size()) != static_cast<ssize_t>(atRestKey->size())) _exit(126);
      close(key[1]);
      if (dup2(key[0], 3) != 3) _exit(126);
      setenv("LOYALTY_AT_REST_KEY_FILE", "/dev/fd/3", 1);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  RunResult r;
  if (pid < 0) {
    close(in[1]);
    close(out[0]);
    return r;
  }
  signal(SIGPIPE, SIG_IGN);
  if (!input.empty()) (void)!write(in[1], input.data(), input.size());
  close(in[1]);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) break;
    pollfd p{out[0], POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    const ssize_t n = read(out[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (r.output.size() < 65536) r.output.append(buf, static_cast<std::size_t>(n));
  }
  close(out[0]);
  int status = 0;
  if (waitpid(pid, &status, WNOHANG) == 0) {
    // Output closed but still running, or the deadline passed: give it until the deadline.
    while (std::chrono::steady_clock::now() < deadline && waitpid(pid, &status, WNOHANG) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (waitpid(pid, &status, WNOHANG) == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      r.output += "\n(killed after " + std::to_string(timeout.count()) + " s)";
      return r;
    }
  }
  r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::optional<std::string> readWhole(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void writeFile(const fs::path& path, const std::string& content, fs::perms mode) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
  }
  fs::permissions(tmp, mode, fs::perm_options::replace);
  fs::rename(tmp, path);
}

constexpr auto kReadable = fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read;

std::string nowText() { return formatRfc3339(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())); }

void saveState(const fs::path& root, const UpdateState& s) {
  json j = {{"state", s.state}, {"at", nowText()}};
  if (s.version) j["version"] = *s.version;
  if (s.previous) j["previous"] = *s.previous;
  if (s.failedVersion) j["failed_version"] = *s.failedVersion;
  if (s.detail) j["detail"] = *s.detail;
  writeFile(updaterDir(root) / "state.json", j.dump() + "\n", kReadable);
}

/// Where the package of `version` is kept for rollback.
fs::path keptPackage(const fs::path& root, const std::string& version, const std::string& arch) {
  std::string v = version;
  for (char& c : v) {
    if (c == ':') c = '%';  // as apt names files of versions with an epoch
  }
  return updaterDir(root) / "packages" / (std::string(sync::kTerminalPackage) + "_" + v + "_" + arch + ".deb");
}

/// The fields dpkg-deb reads from a package: package, version, architecture.
std::optional<std::array<std::string, 3>> packageFields(const fs::path& deb) {
  const RunResult r =
      runProgram({"dpkg-deb", "--showformat=${Package}\\n${Version}\\n${Architecture}\\n", "--show", deb.string()}, "", std::chrono::seconds(60));
  if (r.exitCode != 0) return std::nullopt;
  std::istringstream in(r.output);
  std::array<std::string, 3> f;
  for (auto& s : f) std::getline(in, s);
  return f;
}

std::vector<std::string> dpkgInstall(const fs::path& root, const fs::path& deb) {
  std::vector<std::string> argv{"dpkg"};
  if (root != "/") argv.push_back("--root=" + root.string());
  for (const char* a : {"--force-confdef", "--force-confold", "-i"}) argv.emplace_back(a);
  argv.push_back(deb.string());
  return argv;
}

/// The installed program answers `exec` on the terminal's data, as the data's owner.
std::optional<std::string> healthProblem(const ApplyOptions& o, const std::string& version) {
  const auto installed = installedPackage(o.root);
  if (!installed || installed->version != version) return "dpkg does not list " + version + " as installed";
  const bool unit = !o.unit.empty() && o.unit != "none";
  if (unit) {
    // Active now and still active a few seconds later (a crashing app restarts in a loop).
    bool active = false;
    const auto deadline = std::chrono::steady_clock::now() + o.healthTimeout;
    while (!active && std::chrono::steady_clock::now() < deadline) {
      active = runProgram({"systemctl", "is-active", "--quiet", o.unit}, "", std::chrono::seconds(10)).exitCode == 0;
      if (!active) std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    std::this_thread::sleep_for(std::chrono::seconds(5));
    if (!active || runProgram({"systemctl", "is-active", "--quiet", o.unit}, "", std::chrono::seconds(10)).exitCode != 0) {
      return o.unit + " does not stay active";
    }
  }
  struct stat st {};
  std::optional<std::pair<uid_t, gid_t>> as;
  if (stat(o.dataDir.c_str(), &st) == 0 && geteuid() == 0 && st.st_uid != 0) as = std::make_pair(st.st_uid, st.st_gid);
  // The at-rest key as the app's unit passes it (a credential), when there is one.
  std::optional<std::string> key;
  const char* keyEnv = std::getenv("LOYALTY_AT_REST_KEY_FILE");
  const fs::path keyFile = keyEnv && *keyEnv ? fs::path(keyEnv) : o.root / "etc/loyalty/credentials/terminal-at-rest.key";
  if (auto k = readWhole(keyFile)) key = std::move(*k);
  const RunResult r = runProgram({(o.root / "usr/bin/loyalty-terminal").string(), "exec", "--data", o.dataDir.string()},
                                 "{\"id\":\"health\",\"op\":\"stats\"}\n", o.healthTimeout, as, key);
  const auto line = r.output.substr(0, r.output.find('\n'));
  const json answer = json::parse(line, nullptr, false);
  if (r.exitCode != 0 || !answer.is_object() || answer.value("ok", false) != true) {
    std::string said = r.output.substr(0, 300);
    while (!said.empty() && (said.back() == '\n' || said.back() == '\r')) said.pop_back();
    return "the installed program does not answer exec (exit " + std::to_string(r.exitCode) + "): " + said;
  }
  return std::nullopt;
}

void restartUnit(const ApplyOptions& o) {
  if (o.unit.empty() || o.unit == "none") return;
  runProgram({"systemctl", "restart", o.unit}, "", std::chrono::seconds(90));
}

}  // namespace

int runKeep(const fs::path& root, const fs::path& deb, std::ostream& out, std::ostream& err) {
  const auto installed = installedPackage(root);
  if (!installed) {
    err << "update keep: " << sync::kTerminalPackage << " is not installed under " << root.string() << '\n';
    return 1;
  }
  const auto f = packageFields(deb);
  if (!f || (*f)[0] != sync::kTerminalPackage || (*f)[1] != installed->version || (*f)[2] != installed->architecture) {
    err << "update keep: " << deb.string() << " is not the installed package (" << sync::kTerminalPackage << " "
        << installed->version << " " << installed->architecture << ")\n";
    return 2;
  }
  fs::create_directories(updaterDir(root) / "packages");
  fs::permissions(updaterDir(root) / "packages", fs::perms::owner_all, fs::perm_options::replace);
  const auto bytes = readWhole(deb);
  if (!bytes) {
    err << "update keep: cannot read " << deb.string() << '\n';
    return 1;
  }
  writeFile(keptPackage(root, installed->version, installed->architecture), *bytes, fs::perms::owner_read | fs::perms::owner_write);
  out << json{{"kept", installed->version}}.dump() << '\n';
  return 0;
}

int runApply(const ApplyOptions& o, std::ostream& out, std::ostream& err) {
  const fs::path staging = stagingDir(o.dataDir);
  const fs::path dir = updaterDir(o.root);
  const auto report = [&](const std::string& result, const std::string& detail, int code) {
    out << json{{"update", result}, {"detail", detail}}.dump() << '\n';
    if (code != 0) err << "update apply: " << detail << '\n';
    return code;
  };
  const auto stagedText = readWhole(staging / "staged.json");
  if (!stagedText) return report("none", "nothing is staged", 0);
  fs::create_directories(dir / "packages");
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec,
                  fs::perm_options::replace);
  fs::permissions(dir / "packages", fs::perms::owner_all, fs::perm_options::replace);
  UpdateState state = readState(o.root);
  // Whatever happens next, the staged files are used once: a refused package is not retried.
  const auto discardStaged = [&] {
    std::error_code ec;
    fs::remove(staging / "staged.json", ec);
    fs::remove(staging / "staged.deb", ec);
  };
  const auto refuse = [&](const std::string& why) {
    discardStaged();
    state.state = "failed";
    state.detail = why;
    saveState(o.root, state);
    return report("failed", why, 1);
  };

  const json j = json::parse(*stagedText, nullptr, false);
  auto decoded = sync::decodeReleaseAnswer(json{{"release", j}});
  if (!decoded || !*decoded) return refuse("the staged release description is malformed");
  const sync::ReleaseOffer offer = **decoded;
  const sync::ReleaseManifest& m = offer.manifest;

  // The key this updater trusts: provisioned, else pinned here at the first update (root's own).
  const fs::path provisioned = o.keyFile.value_or(o.root / "etc/loyalty/release.pub");
  const fs::path pinned = dir / "release.pub";
  std::string key;
  if (auto k = readWhole(provisioned)) key = k->substr(0, k->find('\n'));
  else if (o.keyFile) return refuse("the release key " + provisioned.string() + " cannot be read");
  else if (auto p = readWhole(pinned)) key = p->substr(0, p->find('\n'));
  else {
    key = offer.publicKey;
    writeFile(pinned, key + "\n", kReadable);
  }

  // Verify a copy of root's own: the staged file stays the terminal user's to change.
  const fs::path incoming = dir / "packages" / "incoming.deb";
  std::error_code ec;
  fs::remove(incoming, ec);
  const auto bytes = readWhole(staging / "staged.deb");
  if (!bytes) return refuse("the staged package is missing");
  writeFile(incoming, *bytes, fs::perms::owner_read | fs::perms::owner_write);
  if (auto s = verifyPackage(offer, key, *bytes); !s) return refuse("refused " + m.version + ": " + s.error().message);
  const auto fields = packageFields(incoming);
  if (!fields || (*fields)[0] != m.package || (*fields)[1] != m.version || (*fields)[2] != m.architecture) {
    return refuse("refused " + m.version + ": the package's control fields are not the signed ones");
  }
  if (m.package != sync::kTerminalPackage) return refuse("refused: the package is not " + std::string(sync::kTerminalPackage));
  const auto installed = installedPackage(o.root);
  if (!installed) return refuse(std::string(sync::kTerminalPackage) + " is not installed under " + o.root.string());
  if (sync::compareVersions(m.version, installed->version) <= 0) {
    return refuse("refused " + m.version + ": not higher than the installed " + installed->version);
  }
  if (m.architecture != installed->architecture && m.architecture != "all") return refuse("refused " + m.version + ": another architecture");
  const fs::path previous = keptPackage(o.root, installed->version, installed->architecture);
  if (!fs::exists(previous)) {
    const fs::path cached = o.root / "var/cache/apt/archives" / previous.filename();
    if (fs::exists(cached)) fs::copy_file(cached, previous, fs::copy_options::overwrite_existing);
  }
  if (!fs::exists(previous)) {
    return refuse("no package of the installed " + installed->version +
                  " is kept to roll back to: run `loyalty-terminal update keep FILE.deb` once");
  }
  discardStaged();

  state = UpdateState{"installing", m.version, installed->version, state.failedVersion, std::nullopt, std::nullopt};
  saveState(o.root, state);
  const RunResult install = runProgram(dpkgInstall(o.root, incoming), "", std::chrono::seconds(600));
  std::optional<std::string> problem;
  if (install.exitCode != 0) problem = "dpkg could not install " + m.version + ": " + install.output.substr(0, 300);
  if (!problem) {
    restartUnit(o);
    problem = healthProblem(o, m.version);
  }
  if (!problem) {
    fs::rename(incoming, keptPackage(o.root, m.version, m.architecture));
    // Keep the new package and the one before it, nothing older.
    for (const auto& e : fs::directory_iterator(dir / "packages")) {
      if (e.path() != previous && e.path() != keptPackage(o.root, m.version, m.architecture)) fs::remove(e.path(), ec);
    }
    state = UpdateState{"installed", m.version, installed->version, std::nullopt, std::nullopt, std::nullopt};
    saveState(o.root, state);
    return report("installed", m.version + " installed and healthy (was " + installed->version + ")", 0);
  }
  // Roll back: the kept package again (dpkg -i takes a lower version), and the app restarted.
  const RunResult back = runProgram(dpkgInstall(o.root, previous), "", std::chrono::seconds(600));
  fs::remove(incoming, ec);
  restartUnit(o);
  state = UpdateState{back.exitCode == 0 ? "rolled_back" : "failed", installed->version, m.version, m.version,
                      *problem + (back.exitCode == 0 ? "" : "; the rollback failed too: " + back.output.substr(0, 300)), std::nullopt};
  saveState(o.root, state);
  return report(state.state, m.version + " was unhealthy (" + *problem + "); " +
                                 (back.exitCode == 0 ? "rolled back to " + installed->version : "ROLLBACK FAILED"),
                1);
}

}  // namespace loyalty::terminal::update
