#pragma once
/// @brief Fleet updates on the wire (docs/sync-protocol.md, "Fleet updates"): what head office
/// signs for a release, the offer a terminal gets, the report a terminal sends with every
/// request (its version, update state and backlog), and Debian's version order, which both
/// sides use to decide what is newer.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "loyalty/core/result.hpp"

namespace loyalty::sync {

/// The one package head office offers to terminals.
inline constexpr const char* kTerminalPackage = "loyalty-terminal";

/// Request headers a terminal adds to its protocol requests (optional: an older terminal sends
/// none, an older head office ignores them).
namespace header {
inline constexpr const char* kTerminalVersion = "Loyalty-Terminal-Version";  ///< the installed package's version
inline constexpr const char* kTerminalArch = "Loyalty-Terminal-Arch";        ///< its Debian architecture
inline constexpr const char* kUpdateState = "Loyalty-Update-State";          ///< one of kUpdateStates
inline constexpr const char* kOutboxPending = "Loyalty-Outbox-Pending";      ///< events not yet acknowledged
}  // namespace header

/// idle: nothing under way; staged: a verified package waits for the updater; installing;
/// installed: the last update passed its health check; rolled_back: it did not, the previous
/// package is back; failed: the updater could not install (the detail says why).
inline constexpr const char* kUpdateStates[] = {"idle", "staged", "installing", "installed", "rolled_back", "failed"};
bool isUpdateState(std::string_view s);

/// Debian's version order (epoch, upstream, revision; `~` sorts before everything): <0, 0, >0.
int compareVersions(std::string_view a, std::string_view b);

/// A Debian version (at most 64 characters, starts with a digit). Refusals name `field`.
Status checkVersion(std::string_view v, const std::string& field);
/// A Debian package name: lower-case letters, digits, + - . (at least 2 characters).
Status checkPackageName(std::string_view v, const std::string& field);
/// A Debian architecture name (amd64, arm64, all, ...).
Status checkArchitecture(std::string_view v, const std::string& field);

/// What head office's ed25519 signature covers: the package's identity and the SHA-256 of the
/// whole .deb file.
struct ReleaseManifest {
  std::string package;
  std::string version;
  std::string architecture;
  std::string sha256;  ///< lower-case hex
  std::int64_t size = 0;

  bool operator==(const ReleaseManifest&) const = default;
};

/// The exact bytes that are signed: "loyalty-release-v1\n" then `key=value\n` for package,
/// version, architecture, sha256 and size, in that order.
std::string signedText(const ReleaseManifest& m);

/// GET /api/v1/terminal/release: the newest release offered to the asking terminal.
struct ReleaseOffer {
  ReleaseManifest manifest;
  std::string signature;  ///< ed25519 over signedText(manifest), base64
  std::string publicKey;  ///< head office's release key, base64 (a terminal pins the first it sees)
  std::string url;        ///< path of the download route

  bool operator==(const ReleaseOffer&) const = default;
};

nlohmann::json toJson(const ReleaseOffer& offer);
/// `{"release": {...}}` or `{"release": null}` (nothing offered); refusals name the field.
Result<std::optional<ReleaseOffer>> decodeReleaseAnswer(const nlohmann::json& j);

/// What a terminal reports about itself on each request; every part optional.
struct TerminalReport {
  std::optional<std::string> version;
  std::optional<std::string> architecture;
  std::optional<std::string> updateState;
  std::optional<std::int64_t> pending;

  bool empty() const { return !version && !architecture && !updateState && !pending; }
  bool operator==(const TerminalReport&) const = default;
};

/// "Name: value" lines for the request.
std::vector<std::string> toHeaderLines(const TerminalReport& r);
/// Reads the headers through `get` (nullopt: absent); a present but malformed one is refused
/// with the header's name as the field.
Result<TerminalReport> decodeTerminalReport(const std::function<std::optional<std::string>(const char*)>& get);

}  // namespace loyalty::sync
