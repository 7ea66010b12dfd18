// Fleet updates, the terminal's side: which package runs, what it reports, and the check that
// downloads, verifies and stages a release (docs/fleet-updates.md).
#include <sodium.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "loyalty/sysio/files.hpp"
#include "loyalty/terminal/update.hpp"

namespace loyalty::terminal::update {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kBase64 = sodium_base64_VARIANT_ORIGINAL;

std::optional<std::string> fromBase64(std::string text, std::size_t expected) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  std::string out(expected, '\0');
  std::size_t n = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr, &n, nullptr,
                        kBase64) != 0 ||
      n != expected) {
    return std::nullopt;
  }
  return out;
}

std::string sha256Hex(const std::string& bytes) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

std::optional<std::string> optString(const json& j, const char* key) {
  if (j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
  return std::nullopt;
}

}  // namespace

std::string buildVersion() { return LOYALTY_VERSION; }

std::optional<Installation> installedPackage(const fs::path& root) {
  std::ifstream in(root / "var/lib/dpkg/status");
  if (!in) return std::nullopt;
  std::string line, package, status, version, arch;
  const auto found = [&] { return package == sync::kTerminalPackage && status == "install ok installed" && !version.empty(); };
  while (std::getline(in, line)) {
    if (line.empty()) {
      if (found()) break;
      package = status = version = arch = "";
      continue;
    }
    const auto field = [&](const char* name) -> std::optional<std::string> {
      const std::string prefix = std::string(name) + ": ";
      if (line.rfind(prefix, 0) != 0) return std::nullopt;
      return line.substr(prefix.size());
    };
    for (auto [name, value] : {std::pair{"Package", &package}, {"Status", &status}, {"Version", &version}, {"Architecture", &arch}}) {
      if (auto v = field(name)) *value = *v;
    }
  }
  if (!found()) return std::nullopt;
  return Installation{root, version, arch};
}

std::optional<Installation> currentInstallation() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return std::nullopt;
  const std::string path = exe.string();
  const std::string suffix = "/usr/bin/loyalty-terminal";
  if (path.size() < suffix.size() || path.compare(path.size() - suffix.size(), suffix.size(), suffix) != 0) return std::nullopt;
  const std::string root = path.substr(0, path.size() - suffix.size());
  return installedPackage(root.empty() ? fs::path("/") : fs::path(root));
}

fs::path stagingDir(const fs::path& dataDir) { return dataDir / "update"; }
fs::path updaterDir(const fs::path& root) { return root / "var/lib/loyalty-update"; }

UpdateState readState(const fs::path& root) {
  UpdateState s;
  const auto text = sysio::readFile(updaterDir(root) / "state.json");
  if (!text) return s;
  const json j = json::parse(*text, nullptr, false);
  if (!j.is_object()) return s;
  if (auto v = optString(j, "state"); v && sync::isUpdateState(*v)) s.state = *v;
  s.version = optString(j, "version");
  s.previous = optString(j, "previous");
  s.failedVersion = optString(j, "failed_version");
  s.detail = optString(j, "detail");
  s.at = optString(j, "at");
  return s;
}

sync::TerminalReport terminalReport(const std::optional<Installation>& installation, const fs::path& dataDir, std::int64_t pending) {
  sync::TerminalReport r;
  r.pending = pending;
  if (!installation) {
    r.version = buildVersion();
    return r;
  }
  r.version = installation->version;
  r.architecture = installation->architecture;
  std::error_code ec;
  r.updateState = fs::exists(stagingDir(dataDir) / "staged.json", ec) ? std::string("staged") : readState(installation->root).state;
  return r;
}

Status verifyPackage(const sync::ReleaseOffer& offer, const std::string& publicKey, const std::string& bytes) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium cannot start");
  const auto key = fromBase64(publicKey, crypto_sign_PUBLICKEYBYTES);
  if (!key) return invalidArgument("key", "the release key is not a base64 ed25519 public key");
  const auto sig = fromBase64(offer.signature, crypto_sign_BYTES);
  if (!sig) return invalidArgument("signature", "the signature is not a base64 ed25519 signature");
  const std::string text = sync::signedText(offer.manifest);
  if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig->data()), reinterpret_cast<const unsigned char*>(text.data()),
                                  text.size(), reinterpret_cast<const unsigned char*>(key->data())) != 0) {
    return invalidArgument("signature", "the release's signature does not verify with head office's release key");
  }
  if (static_cast<std::int64_t>(bytes.size()) != offer.manifest.size) {
    return invalidArgument("size", "the package has " + std::to_string(bytes.size()) + " bytes, the signed release " +
                                       std::to_string(offer.manifest.size));
  }
  if (sha256Hex(bytes) != offer.manifest.sha256) {
    return invalidArgument("sha256", "the package's SHA-256 is not the signed one: it was altered");
  }
  return Ok{};
}

Result<CheckOutcome, sync::Failure> checkForUpdate(sync::HttpsClient& client, const fs::path& dataDir, const Installation& installation) {
  auto answer = client.getJson("/api/v1/terminal/release");
  if (!answer) {
    if (answer.error().kind == sync::FailureKind::kRefused && answer.error().httpStatus == 404) {
      return CheckOutcome{"none", "head office offers no updates (an older version)"};
    }
    return answer.error();
  }
  auto decoded = sync::decodeReleaseAnswer(*answer);
  if (!decoded) {
    return sync::Failure{sync::FailureKind::kBadResponse, 200, "", std::nullopt,
                         "head office's release answer is malformed: " + decoded.error().field + ": " + decoded.error().message};
  }
  if (!*decoded) return CheckOutcome{"none", "no release is offered to this terminal"};
  const sync::ReleaseOffer& offer = **decoded;
  const sync::ReleaseManifest& m = offer.manifest;
  const auto refused = [](std::string why) { return CheckOutcome{"refused", std::move(why)}; };
  if (m.package != sync::kTerminalPackage) return refused("the offered package is " + m.package + ", not loyalty-terminal");
  if (m.architecture != installation.architecture && m.architecture != "all") {
    return refused("the offered package is for " + m.architecture + ", this terminal is " + installation.architecture);
  }
  if (sync::compareVersions(m.version, installation.version) <= 0) {
    return CheckOutcome{"current", "installed " + installation.version + ", offered " + m.version + ": never lower or the same"};
  }
  if (readState(installation.root).failedVersion == m.version) {
    return refused(m.version + " was rolled back on this terminal: waiting for a newer release");
  }
  const fs::path dir = stagingDir(dataDir);
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
  if (auto staged = sysio::readFile(dir / "staged.json")) {
    const json j = json::parse(*staged, nullptr, false);
    if (j.is_object() && j.value("sha256", "") == m.sha256) return CheckOutcome{"already_staged", m.version + " waits for the updater"};
  }
  // The key is pinned the first time one is seen over the registered, CA-checked connection.
  const fs::path pinFile = dir / "release.pub";
  std::string key = offer.publicKey;
  if (auto pinned = sysio::readFile(pinFile)) {
    key = pinned->substr(0, pinned->find('\n'));
    if (key != offer.publicKey) return refused("the release names another signing key than the one this terminal pinned");
  } else {
    if (auto s = verifyPackage(offer, key, ""); !s && s.error().field != "size") return refused(s.error().message);
    sysio::writeFileAtomic(pinFile, key + "\n");
  }
  auto download = client.get(offer.url);
  if (!download) return download.error();
  if (download->status != 200) {
    auto refusedAnswer = client.asJson("GET", offer.url, std::move(download));
    return refusedAnswer ? sync::Failure{sync::FailureKind::kBadResponse, 200, "", std::nullopt, "the download answered no package"}
                         : refusedAnswer.error();
  }
  if (auto s = verifyPackage(offer, key, download->body); !s) return refused(s.error().message);
  std::error_code ec;
  fs::remove(dir / "staged.json", ec);
  sysio::writeFileAtomic(dir / "staged.deb", download->body);
  sysio::writeFileAtomic(dir / "staged.json", sync::toJson(offer).dump() + "\n");
  return CheckOutcome{"staged", m.version + " verified and staged for the updater"};
}

}  // namespace loyalty::terminal::update
