// The root-run updater (`loyalty-terminal update apply|keep`, docs/fleet-updates.md): installs a
// staged, verified package with dpkg, restarts the app, checks its health and rolls back to the
// kept previous package when it is not healthy.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <ostream>
#include <sstream>
#include <thread>

#include "loyalty/core/time.hpp"
#include "loyalty/sysio/files.hpp"
#include "loyalty/sysio/process.hpp"
#include "loyalty/terminal/update.hpp"

namespace loyalty::terminal::update {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using sysio::RunResult;

RunResult run(std::vector<std::string> argv, std::chrono::seconds timeout) {
  sysio::RunOptions o;
  o.argv = std::move(argv);
  o.timeout = timeout;
  return sysio::runProgram(o);
}

std::string nowText() { return formatRfc3339(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())); }

void saveState(const fs::path& root, const UpdateState& s) {
  json j = {{"state", s.state}, {"at", nowText()}};
  if (s.version) j["version"] = *s.version;
  if (s.previous) j["previous"] = *s.previous;
  if (s.failedVersion) j["failed_version"] = *s.failedVersion;
  if (s.detail) j["detail"] = *s.detail;
  sysio::writeFileAtomic(updaterDir(root) / "state.json", j.dump() + "\n", sysio::kReadable);
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
      run({"dpkg-deb", "--showformat=${Package}\\n${Version}\\n${Architecture}\\n", "--show", deb.string()}, std::chrono::seconds(60));
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
      active = run({"systemctl", "is-active", "--quiet", o.unit}, std::chrono::seconds(10)).exitCode == 0;
      if (!active) std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    std::this_thread::sleep_for(std::chrono::seconds(5));
    if (!active || run({"systemctl", "is-active", "--quiet", o.unit}, std::chrono::seconds(10)).exitCode != 0) {
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
  if (auto k = sysio::readFile(keyFile)) key = std::move(*k);
  sysio::RunOptions health;
  health.argv = {(o.root / "usr/bin/loyalty-terminal").string(), "exec", "--data", o.dataDir.string()};
  health.input = "{\"id\":\"health\",\"op\":\"stats\"}\n";
  health.timeout = o.healthTimeout;
  health.as = as;
  if (key) {
    health.fd3 = std::move(key);
    health.env.emplace_back("LOYALTY_AT_REST_KEY_FILE", "/dev/fd/3");
  }
  const RunResult r = sysio::runProgram(health);
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
  run({"systemctl", "restart", o.unit}, std::chrono::seconds(90));
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
  const auto bytes = sysio::readFile(deb);
  if (!bytes) {
    err << "update keep: cannot read " << deb.string() << '\n';
    return 1;
  }
  sysio::writeFileAtomic(keptPackage(root, installed->version, installed->architecture), *bytes, sysio::kPrivate);
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
  const auto stagedText = sysio::readFile(staging / "staged.json");
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
  if (auto k = sysio::readFile(provisioned)) key = k->substr(0, k->find('\n'));
  else if (o.keyFile) return refuse("the release key " + provisioned.string() + " cannot be read");
  else if (auto p = sysio::readFile(pinned)) key = p->substr(0, p->find('\n'));
  else {
    key = offer.publicKey;
    sysio::writeFileAtomic(pinned, key + "\n", sysio::kReadable);
  }

  // Verify a copy of root's own: the staged file stays the terminal user's to change.
  const fs::path incoming = dir / "packages" / "incoming.deb";
  std::error_code ec;
  fs::remove(incoming, ec);
  const auto bytes = sysio::readFile(staging / "staged.deb");
  if (!bytes) return refuse("the staged package is missing");
  sysio::writeFileAtomic(incoming, *bytes, sysio::kPrivate);
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
  const RunResult install = run(dpkgInstall(o.root, incoming), std::chrono::seconds(600));
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
  const RunResult back = run(dpkgInstall(o.root, previous), std::chrono::seconds(600));
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
