#pragma once
/// @brief Fleet updates at head office: the ed25519 release key, publishing a signed
/// loyalty-terminal package (`loyalty-hq release publish`), offering it to terminals by store and
/// a stable per-terminal percentage, and what each terminal reports about itself (version,
/// update state, backlog, last seen) for GET /api/v1/admin/terminals (docs/fleet-updates.md).

#include <CLI/App.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loyalty/core/result.hpp"
#include "loyalty/core/time.hpp"
#include "loyalty/hq/settings.hpp"
#include "loyalty/hq/sql.hpp"
#include "loyalty/hq/store.hpp"
#include "loyalty/sync/release.hpp"
#include "loyalty/sync/terminal_health.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace loyalty::hq {

/// Packages larger than this are refused (a terminal reads an answer of at most 64 MiB).
inline constexpr std::int64_t kMaxReleaseBytes = 60 * 1024 * 1024;

/// Creates the releases and terminal_reports tables (idempotent, cheap when present).
void ensureFleetSchema(SqlConnection& c);

/// DIR/release/: the signing key (release.key, 0600) and its public half (release.pub), both
/// base64 of libsodium's ed25519 keys. Created by `init` and, for an older data directory, by
/// the first publish.
std::filesystem::path releaseKeyFile(const DataDir& dir);
std::filesystem::path releasePublicKeyFile(const DataDir& dir);
/// The public key (base64), creating the key pair when there is none.
std::string ensureReleaseKey(const DataDir& dir);

struct PublishOptions {
  std::vector<std::string> stores;  ///< empty: every store
  int percent = 100;                ///< 1..100 of the targeted terminals, stable per terminal
};

struct PublishedRelease {
  sync::ReleaseManifest manifest;
  std::string signature;
  std::vector<std::string> stores;
  int percent = 100;
  bool republished = false;  ///< the same package again: only its targeting changed
};

/// Reads the package's name, version and architecture (dpkg-deb), checks them (only
/// loyalty-terminal is offered to terminals), signs it, keeps a copy in DIR/releases/ and
/// records it, audited, in one transaction. Publishing the same file again changes its stores
/// and percentage (widening a rollout); the same version with other content is a conflict.
Result<PublishedRelease> publishRelease(const DataDir& dir, SqlConnection& c, const std::filesystem::path& deb,
                                        const PublishOptions& options, const std::string& actor, Timestamp now);

/// Whether `terminalId` is among the first `percent` of terminals for `version`.
bool inRollout(const std::string& version, const std::string& terminalId, int percent);

/// A terminal whose clock is further than this from head office's is flagged (`clock_skewed` in
/// the terminals API, marked on the terminals page, a warning in the log): its day-based rules
/// (expiry, birthdays, tier reviews, the offline allowance) may fall on the wrong day.
inline constexpr std::int64_t kClockSkewWarnSeconds = 60;

/// Which terminals a list shows: one store's or all, a page of them (by store, then terminal id).
struct TerminalList {
  std::optional<std::string> store;
  RowPage page;
};

/// The terminals `list` names, each with its store, version, update state, backlog, last
/// contact, clock skew (seconds, terminal minus head office) and whether it is beyond
/// kClockSkewWarnSeconds, last sync error and time zone: {"terminals": [...], "total" (the
/// filtered list's), "states": {"active", "waiting", "revoked"} (of the same), "page"}.
nlohmann::json listTerminals(SqlConnection& c, const TerminalList& list);

/// The server's side: offers, downloads and terminals' reports, on a connection of its own.
class Fleet {
 public:
  Fleet(DataDir dir, std::unique_ptr<SqlConnection> c);

  /// Keeps what a terminal said about itself (written at most once a minute unless it changed).
  void noteReport(const std::string& terminalId, const sync::TerminalReport& report, Timestamp now);
  /// Keeps the terminal's clock skew and last sync error (terminal_health.hpp headers).
  void noteHealth(const std::string& terminalId, const sync::TerminalHealth& health, Timestamp now);
  /// The newest release for the terminal's store, architecture and rollout bucket, if any.
  Result<std::optional<sync::ReleaseOffer>> offer(const std::string& terminalId, const std::string& architecture);
  /// The package file of a release offered to the terminal (not_found otherwise).
  Result<std::filesystem::path> packageFile(const std::string& terminalId, const std::string& architecture, const std::string& sha256);
  /// GET /api/v1/admin/terminals: listTerminals on the fleet's connection.
  nlohmann::json terminals(const TerminalList& list);
  /// A page of the published releases, newest first: {"releases", "total", "page"}.
  nlohmann::json releases(const RowPage& page);

 private:
  struct Seen {
    sync::TerminalReport report;
    Timestamp writtenAt;
  };
  DataDir m_dir;
  std::mutex m_mutex;  ///< one request at a time on m_c
  std::unique_ptr<SqlConnection> m_c;
  /// Guards m_seen and m_health: a request whose terminal has nothing new to note never waits
  /// for another's note being written. Taken alone, or inside m_mutex (never the other way).
  std::mutex m_seenMutex;
  std::map<std::string, Seen> m_seen;
  struct Health {
    std::optional<std::string> lastError;
    std::int64_t skew = 0;
    Timestamp writtenAt;
  };
  std::map<std::string, Health> m_health;
};

/// How the server checks a bearer token (its require()).
using RequireRole = std::function<std::optional<Principal>(const httplib::Request&, httplib::Response&, std::initializer_list<Role>)>;

/// A terminal list's request: `store` (absent or empty: every store; else an id as terminals are
/// added with), `limit` (1..kListPageMax; absent: `defaultLimit`) and `offset`. Errors name the
/// parameter.
Result<TerminalList> terminalListOf(const httplib::Request& req, std::int64_t defaultLimit);

/// GET /api/v1/terminal/release, GET /api/v1/terminal/release/{sha256}.deb (terminal),
/// GET /api/v1/admin/terminals and GET /api/v1/admin/releases (admin).
void registerFleetRoutes(httplib::Server& server, Fleet& fleet, RequireRole require);

struct DashboardAccess;
class HqService;
/// The dashboard's fleet page /dashboard/terminals (terminals_page.cpp): list, add, revoke.
void registerTerminalPages(httplib::Server& server, HqService& service, DashboardAccess access);

/// `loyalty-hq release publish|list|key`; the returned function runs the parsed one.
std::function<std::optional<int>()> addFleetCommands(CLI::App& app);

}  // namespace loyalty::hq
