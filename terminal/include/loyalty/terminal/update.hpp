#pragma once
/// @brief Fleet updates on the terminal (docs/fleet-updates.md): which package this program runs
/// from, the check on the sync schedule (ask head office, download, verify the signature and
/// that the version is higher, stage it for the updater), and the root-run updater that
/// installs a staged package with dpkg, restarts the app, checks it is healthy and rolls back
/// to the kept previous package when it is not.

#include <chrono>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "loyalty/core/result.hpp"
#include "loyalty/sync/client/https_client.hpp"
#include "loyalty/sync/release.hpp"

namespace loyalty::terminal::update {

/// The version this program was built as (the CMake project version).
std::string buildVersion();

/// The installed loyalty-terminal package under a root.
struct Installation {
  std::filesystem::path root;  ///< "/" on a device; a test's directory otherwise
  std::string version;
  std::string architecture;
};

/// loyalty-terminal as `root`/var/lib/dpkg/status lists it installed, if it does.
std::optional<Installation> installedPackage(const std::filesystem::path& root);
/// The package this program runs from: when it runs as ROOT/usr/bin/loyalty-terminal and
/// dpkg under ROOT lists the package installed. A build-tree program has none (and never
/// updates itself).
std::optional<Installation> currentInstallation();

// [SECTION] Files

/// DATA/update/: staged.deb + staged.json (the offer) written by the terminal, and the release
/// key it pinned (release.pub).
std::filesystem::path stagingDir(const std::filesystem::path& dataDir);
/// ROOT/var/lib/loyalty-update/: the updater's own (root's) directory: state.json (readable by
/// all), the key it trusts and the packages kept for rollback.
std::filesystem::path updaterDir(const std::filesystem::path& root);

/// The updater's record, ROOT/var/lib/loyalty-update/state.json.
struct UpdateState {
  std::string state = "idle";  ///< sync::kUpdateStates
  std::optional<std::string> version;        ///< the package being or last installed
  std::optional<std::string> previous;       ///< what was installed before it
  std::optional<std::string> failedVersion;  ///< a version that was rolled back: never staged again
  std::optional<std::string> detail;
  std::optional<std::string> at;
};
UpdateState readState(const std::filesystem::path& root);

/// What the terminal reports with its requests: the installed version (else the build
/// version), architecture, update state (staged while a package waits) and backlog.
sync::TerminalReport terminalReport(const std::optional<Installation>& installation, const std::filesystem::path& dataDir,
                                    std::int64_t pending);

// [SECTION] The check (the terminal's user, on the sync schedule)

/// Ed25519 over the manifest's signed text with `publicKey` (base64), then the bytes' SHA-256 and
/// size against the manifest. Refusals say which check failed.
Status verifyPackage(const sync::ReleaseOffer& offer, const std::string& publicKey, const std::string& bytes);

struct CheckOutcome {
  std::string result;  ///< "none", "current", "staged", "already_staged", "refused"
  std::string detail;
  nlohmann::json toJson() const { return {{"update", result}, {"detail", detail}}; }
};

/// Asks head office for this terminal's release; a higher version that verifies (against the
/// key pinned in DATA/update/release.pub, pinned from the first offer) is downloaded and staged.
/// Never stages a lower or equal version, another package or architecture, or a version the
/// updater rolled back.
Result<CheckOutcome, sync::Failure> checkForUpdate(sync::HttpsClient& client, const std::filesystem::path& dataDir,
                                                   const Installation& installation);

// [SECTION] The updater (root)

struct ApplyOptions {
  std::filesystem::path dataDir = "/var/lib/loyalty-terminal";
  std::filesystem::path root = "/";
  /// The app's unit, restarted after an install and checked to stay active ("" or "none": none).
  std::string unit = "loyalty-kiosk.service";
  /// The key trusted; default ROOT/etc/loyalty/release.pub, else the one pinned at the first
  /// update in the updater's directory.
  std::optional<std::filesystem::path> keyFile;
  std::chrono::seconds healthTimeout{60};
};

/// `loyalty-terminal update apply`: installs a staged package if it verifies and is higher than
/// the installed one; health check (dpkg lists it installed, the unit stays active, the new
/// program answers `exec` as the data directory's owner); else reinstalls the kept previous
/// package. Prints one JSON line; returns the exit code (0 nothing to do or installed, 1 rolled
/// back or failed, 2 bad options).
int runApply(const ApplyOptions& options, std::ostream& out, std::ostream& err);

/// `loyalty-terminal update keep FILE.deb`: keeps the installed version's package for rollback
/// (an image or a manual install calls it once; the updater keeps what it installs itself).
int runKeep(const std::filesystem::path& root, const std::filesystem::path& deb, std::ostream& out, std::ostream& err);

}  // namespace loyalty::terminal::update
