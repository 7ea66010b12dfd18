// loyalty-hq: the head-office server and its administration commands. The composition root of
// loyalty_hq (docs/architecture.md).
#include <signal.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/backup.hpp"
#include "loyalty/hq/credentials.hpp"
#include "loyalty/hq/crypto.hpp"
#include "loyalty/hq/dashboard.hpp"
#include "loyalty/hq/fleet.hpp"
#include "loyalty/hq/local_time.hpp"
#include "loyalty/hq/server.hpp"
#include "loyalty/hq/settings.hpp"
#include "loyalty/hq/store.hpp"
#include "loyalty/logging/logging.hpp"
#include "loyalty/sysio/files.hpp"

namespace fs = std::filesystem;
using namespace loyalty;
using namespace loyalty::hq;

namespace {

int fail(const std::string& message, int code = 1) {
  std::cerr << "loyalty-hq: " << message << "\n";
  return code;
}

int failWith(const Error& e) { return fail(e.field.empty() ? e.message : e.field + ": " + e.message, e.code == errc::kInvalidArgument ? 2 : 1); }

HqStore openStore(const DataDir& dir) {
  auto settings = loadSettings(dir);
  if (!settings) throw std::runtime_error(settings.error().message);
  HqStore store(openStorage(dir, *settings));
  store.checkSchema();
  return store;
}

std::vector<std::string> splitHosts(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const auto& item : in) {
    std::size_t start = 0;
    while (start <= item.size()) {
      const std::size_t comma = item.find(',', start);
      const std::string h = item.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!h.empty()) out.push_back(h);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

std::chrono::seconds days(int n) { return std::chrono::hours(24) * n; }

/// A data directory whose only entry is hq.toml: the settings a package (or its admin) prepared.
bool holdsOnlySettings(const DataDir& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir.root, ec);
  if (ec || it == fs::directory_iterator{} || it->path().filename() != dir.settingsFile().filename()) return false;
  return ++it == fs::directory_iterator{};
}

int runInit(const DataDir& dir, const std::string& backend, const std::string& dsn, bool storageGiven,
            const std::vector<std::string>& hostArgs, const std::string& caKeyOut) {
  if (backend != "sqlite" && backend != "postgresql") return fail("--backend must be sqlite or postgresql", 2);
  if (backend == "postgresql" && dsn.empty()) return fail("--dsn is required with --backend postgresql", 2);
  if (backend == "sqlite" && !dsn.empty()) return fail("--dsn is only for --backend postgresql", 2);
  const auto hosts = splitHosts(hostArgs);
  if (hosts.empty()) return fail("--host needs at least one name", 2);
  std::error_code ec;
  Settings settings;
  settings.backend = backend;
  settings.dsn = dsn;
  const bool prepared = holdsOnlySettings(dir);
  if (prepared) {
    // The package links DATA/hq.toml to /etc/loyalty/hq.toml: storage comes from there, once.
    if (storageGiven) {
      return fail("--backend/--dsn: " + dir.settingsFile().string() + " already sets [storage]; edit it instead", 2);
    }
    auto loaded = loadSettings(dir);
    if (!loaded) return failWith(loaded.error());
    settings = *loaded;
  } else if (fs::exists(dir.root) && !fs::is_empty(dir.root, ec)) {
    return fail(dir.root.string() + " already exists and is not empty; refusing to overwrite it");
  }
  // The CA key signs every server certificate terminals trust: it may live off the server.
  const fs::path caKeyFile = caKeyOut.empty() ? dir.caKey() : fs::weakly_canonical(fs::absolute(caKeyOut));
  if (!caKeyOut.empty()) {
    const auto root = fs::weakly_canonical(fs::absolute(dir.root)).string() + "/";
    if (caKeyFile.string().rfind(root, 0) == 0) return fail("--ca-key-out must be outside the data directory", 2);
    if (fs::exists(caKeyFile)) return fail("--ca-key-out: " + caKeyFile.string() + " exists; refusing to overwrite it", 2);
  }
  fs::create_directories(dir.tlsDir());
  fs::permissions(dir.root, fs::perms::owner_all, fs::perm_options::replace);
  fs::permissions(dir.tlsDir(), fs::perms::owner_all, fs::perm_options::replace);
  HqStore store(openStorage(dir, settings));
  store.createSchema(nowSeconds());
  if (!prepared) saveSettings(dir, settings);

  const KeyAndCert ca = makeCertificateAuthority("loyalty-hq private CA", 3650);
  const auto t = std::chrono::system_clock::now();
  const KeyAndCert server = issueServerCertificate(ca, hosts, t - kCertificateBackdate, t + std::chrono::hours(24) * 825);
  sysio::writeFileAtomic(caKeyFile, ca.keyPem);
  sysio::writeFileAtomic(dir.caCert(), ca.certPem);
  sysio::writeFileAtomic(dir.serverKey(), server.keyPem);
  sysio::writeFileAtomic(dir.serverCert(), server.certPem + ca.certPem);
  fs::permissions(dir.caCert(), fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read,
                  fs::perm_options::replace);
  const std::string releaseKey = ensureReleaseKey(dir);  // signs the terminal packages it publishes
  const fs::path adminToken = dir.root / "admin.token";
  sysio::writeFileAtomic(adminToken,
                   store.createApiToken(Role::kAdmin, "admin", nowSeconds(), days(kDefaultTokenDays), commandLineActor()) + "\n");

  std::cout << "settings:    " << dir.settingsFile().string() << "\n";
  if (settings.backend == "sqlite") std::cout << "database:    " << dir.sqliteFile().string() << "\n";
  else std::cout << "database:    postgresql (" << settings.dsn << ")\n";
  std::cout << "ca:          " << dir.caCert().string() << "  (give this to terminals)\n"
            << "ca key:      " << caKeyFile.string()
            << (caKeyOut.empty() ? "\n" : "  (keep it offline: `loyalty-hq cert renew --ca-key FILE` needs it)\n")
            << "server cert: " << dir.serverCert().string() << "\n"
            << "server key:  " << dir.serverKey().string() << "\n"
            << "server pin:  " << publicKeyPin(server.certPem) << "  (optional public-key pin)\n"
            << "admin token: " << adminToken.string() << "\n"
            << "release key: " << releaseKeyFile(dir).string() << "  (public: " << releaseKey << ")\n";
  return 0;
}

int runServe(const DataDir& dir, const std::string& listen) {
  logging::setUp("loyalty-hq");
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return fail("--listen is HOST:PORT, e.g. 127.0.0.1:8443", 2);
  const std::string host = listen.substr(0, colon);
  int port = 0;
  try {
    std::size_t used = 0;
    port = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1 || port < 0 || port > 65535) throw std::invalid_argument("port");
  } catch (const std::exception&) {
    return fail("--listen: the port is a number from 0 to 65535", 2);
  }
  auto settings = loadSettings(dir);
  if (!settings) return failWith(settings.error());
  useSqliteTempDir(dir, *settings);

  // SIGTERM/SIGINT are taken by one thread with sigwait, so the server stops cleanly: the
  // listening socket closes, requests in flight finish, storage closes.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGTERM);
  sigaddset(&stopSignals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  HqServer server(dir, *settings);
  const int bound = server.bind(host, port);
  std::jthread waiter([&] {
    int sig = 0;
    sigwait(&stopSignals, &sig);
    if (sig == SIGTERM || sig == SIGINT) logging::log().info("stopping (signal {})", sig);
    server.stop();
  });
  std::cout << "listening on https://" << host << ":" << bound << std::endl;
  server.run();
  // Wake the waiter if the server stopped by itself.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  logging::log().info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"loyalty-hq: head office for loyalty terminals"};
  app.require_subcommand(1);
  std::string data;

  auto* init = app.add_subcommand(
      "init", "create the data directory (empty, or holding only hq.toml whose [storage] it uses), storage, private CA and server certificate");
  std::string backend = "sqlite", dsn;
  std::vector<std::string> hosts{"localhost,127.0.0.1"};
  init->add_option("--data", data, "data directory")->required();
  init->add_option("--backend", backend, "sqlite or postgresql")->check(CLI::IsMember({"sqlite", "postgresql"}));
  init->add_option("--dsn", dsn, "PostgreSQL connection string (libpq)");
  init->add_option("--host", hosts, "host names and IPs for the server certificate (comma-separated)");
  std::string caKeyOut;
  init->add_option("--ca-key-out", caKeyOut, "write the CA's private key to this file, outside the data directory");

  auto* serve = app.add_subcommand("serve", "serve the HTTPS API");
  std::string listen = "127.0.0.1:8443";
  serve->add_option("--data", data, "data directory")->required();
  serve->add_option("--listen", listen, "HOST:PORT (port 0 picks a free one)");

  auto* terminal = app.add_subcommand("terminal", "manage terminals");
  terminal->require_subcommand(1);
  auto* tadd = terminal->add_subcommand("add", "create or re-provision a terminal; prints a one-time code");
  std::string storeId, terminalId, zone = "UTC";
  tadd->add_option("--data", data, "data directory")->required();
  tadd->add_option("--store", storeId, "store id")->required();
  tadd->add_option("--terminal", terminalId, "terminal id")->required();
  tadd->add_option("--timezone", zone, "the store's time zone");
  auto* trevoke = terminal->add_subcommand("revoke", "revoke a terminal's credential");
  trevoke->add_option("--data", data, "data directory")->required();
  trevoke->add_option("--terminal", terminalId, "terminal id")->required();

  auto* token = app.add_subcommand("token", "manage API tokens");
  token->require_subcommand(1);
  auto* tcreate = token->add_subcommand("create", "print a new admin or analyst bearer token");
  std::string role, name;
  tcreate->add_option("--data", data, "data directory")->required();
  tcreate->add_option("--role", role, "admin or analyst")->required()->check(CLI::IsMember({"admin", "analyst"}));
  tcreate->add_option("--name", name, "who the token is for");
  bool pii = false;
  tcreate->add_flag("--pii", pii, "an analyst token that sees full phone numbers and birthdays (admins always do)");
  int expiresDays = kDefaultTokenDays;
  tcreate->add_option("--expires-days", expiresDays, "days until the token expires (default 90)")->check(CLI::Range(1, 3650));

  auto* member = app.add_subcommand("member", "manage members");
  member->require_subcommand(1);
  auto* mmerge = member->add_subcommand("merge", "merge duplicate member FROM into INTO");
  std::string from, into;
  mmerge->add_option("--data", data, "data directory")->required();
  mmerge->add_option("--from", from, "member id that goes away")->required();
  mmerge->add_option("--into", into, "member id that stays")->required();
  auto* merase = member->add_subcommand("erase", "erase a member's personal data everywhere (terminals drop it at their next sync)");
  std::string eraseId, eraseReason;
  merase->add_option("--data", data, "data directory")->required();
  merase->add_option("--member", eraseId, "member id")->required();
  merase->add_option("--reason", eraseReason, "why (kept in the audit trail)")->required();

  auto* reservation = app.add_subcommand("reservation", "online redemptions' reservations head office holds");
  reservation->require_subcommand(1);
  auto* rlist = reservation->add_subcommand("list", "the reservations held now, oldest first (JSON)");
  rlist->add_option("--data", data, "data directory")->required();
  auto* rrelease = reservation->add_subcommand(
      "release", "give back a held reservation whose terminal will not come back to settle or release it (audited)");
  std::string releaseId, releaseReason;
  rrelease->add_option("--data", data, "data directory")->required();
  rrelease->add_option("--redemption", releaseId, "the redemption id (or the sale id of points paid in a sale)")->required();
  rrelease->add_option("--reason", releaseReason, "why (kept in the audit trail)")->required();

  auto* housekeeping = app.add_subcommand(
      "housekeeping", "the monthly tier review of members due (run daily; downgrades reach terminals in the change feed)");
  std::string housekeepingAt;
  housekeeping->add_option("--data", data, "data directory")->required();
  housekeeping->add_option("--at", housekeepingAt, "review as of this instant (RFC 3339; default now)");

  auto* backup = app.add_subcommand("backup", "copy the SQLite store, hq.toml and tls/ into one file (0600) while serving");
  std::string backupOut, backupDir, restoreFrom;
  int keepDays = 0;
  backup->add_option("--data", data, "data directory")->required();
  auto* backupOutOption = backup->add_option("--out", backupOut, "the backup file to write (must not exist)");
  auto* backupDirOption =
      backup->add_option("--dir", backupDir, "write DIR/loyalty-hq-YYYYMMDDTHHMMSSZ.backup instead")->excludes(backupOutOption);
  backup->add_option("--keep-days", keepDays, "with --dir: remove this program's backups there older than N days")
      ->check(CLI::Range(1, 3650))
      ->needs(backupDirOption);
  auto* restore = app.add_subcommand("restore", "put a backup into the data directory (the server stopped)");
  restore->add_option("--data", data, "data directory")->required();
  restore->add_option("--from", restoreFrom, "a file written by loyalty-hq backup")->required();

  auto analyticsCommand = addAnalyticsCommands(app);
  auto credentialCommand = addCredentialCommands(app);  // after the `token` and `user` commands it extends
  auto fleetCommand = addFleetCommands(app);
  CLI11_PARSE(app, argc, argv);
  const DataDir dir{data};
  try {
    if (init->parsed()) return runInit(dir, backend, dsn, init->count("--backend") + init->count("--dsn") > 0, hosts, caKeyOut);
    if (serve->parsed()) return runServe(dir, listen);
    if (backup->parsed()) {
      if (backupOut.empty() && backupDir.empty()) return fail("backup: give --out FILE or --dir DIR", 2);
      const auto at = std::chrono::system_clock::now();
      auto made = backupDir.empty() ? backupHq(dir, backupOut, at) : backupHqInto(dir, backupDir, keepDays, at);
      if (!made) return failWith(made.error());
      nlohmann::json pruned = nlohmann::json::array();
      for (const auto& file : made->pruned) pruned.push_back(file.string());
      std::cout << nlohmann::json{{"backup", made->file.string()}, {"parts", made->parts}, {"pruned", pruned}}.dump() << std::endl;
      return 0;
    }
    if (restore->parsed()) {
      auto restored = restoreHq(dir, restoreFrom);
      if (!restored) return failWith(restored.error());
      openStore(dir);  // the restored store opens as the server will open it
      std::cout << nlohmann::json{{"restored", restoreFrom}, {"created_at", restored->createdAt}, {"parts", restored->parts}}.dump()
                << std::endl;
      return 0;
    }
    if (auto rc = analyticsCommand()) return *rc;
    if (auto rc = credentialCommand()) return *rc;
    if (auto rc = fleetCommand()) return *rc;
    HqStore store = openStore(dir);
    if (tadd->parsed()) {
      auto code = store.addTerminal(storeId, terminalId, zone, nowSeconds(), commandLineActor());
      if (!code) return failWith(code.error());
      std::cout << *code << std::endl;
    } else if (trevoke->parsed()) {
      auto r = store.revokeTerminal(terminalId, nowSeconds(), commandLineActor());
      if (!r) return failWith(r.error());
      std::cerr << "loyalty-hq: terminal " << terminalId << " revoked\n";
    } else if (tcreate->parsed()) {
      const Timestamp now = nowSeconds();
      const std::string secret = store.createApiToken(role == "admin" ? Role::kAdmin : Role::kAnalyst, name.empty() ? role : name,
                                                     now, days(expiresDays), commandLineActor(), pii);
      std::cout << secret << std::endl;
      std::cerr << "loyalty-hq: token " << tokenId(sha256Hex(secret)) << " expires at " << formatRfc3339(now + days(expiresDays))
                << "\n";
    } else if (housekeeping->parsed()) {
      Timestamp at = nowSeconds();
      if (!housekeepingAt.empty()) {
        auto parsed = parseRfc3339(housekeepingAt, "at");
        if (!parsed) return failWith(parsed.error());
        at = *parsed;
      }
      const TierReviewRun run = store.reviewTiers(at, commandLineActor());
      std::cout << nlohmann::json{{"tiers_reviewed", run.reviewed}, {"tiers_downgraded", run.downgraded}}.dump() << std::endl;
    } else if (mmerge->parsed()) {
      auto r = store.merge(from, into, nowSeconds());
      if (!r) return failWith(r.error());
      std::cerr << "loyalty-hq: member " << from << " merged into " << into << "\n";
    } else if (rlist->parsed()) {
      std::cout << store.heldReservations(nowSeconds()).dump() << std::endl;
    } else if (rrelease->parsed()) {
      auto r = store.releaseByAdmin(releaseId, releaseReason, nowSeconds(), commandLineActor());
      if (!r) return failWith(r.error());
      std::cout << r->dump() << std::endl;
    } else if (merase->parsed()) {
      auto r = store.eraseMember(eraseId, eraseReason, commandLineActor(), nowSeconds());
      if (!r) return failWith(r.error());
      std::cout << nlohmann::json{{"member_id", r->memberId}, {"erased_at", r->erasedAt}, {"records", r->records}}.dump()
                << std::endl;
    }
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  return 0;
}
