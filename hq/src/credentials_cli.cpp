// `loyalty-hq token list|revoke`, `user disable|enable` and `cert renew`.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/credentials.hpp"
#include "loyalty/hq/crypto.hpp"
#include "loyalty/hq/local_time.hpp"
#include "loyalty/hq/settings.hpp"
#include "loyalty/hq/store.hpp"
#include "loyalty/sysio/files.hpp"

namespace fs = std::filesystem;

namespace loyalty::hq {

namespace {

struct Args {
  std::string data, id, name, caKey;
  std::vector<std::string> hosts;
  int days = 825;
  bool newKey = false;
};

int fail(const std::string& message, int code = 1) {
  std::cerr << "loyalty-hq: " << message << "\n";
  return code;
}

int failWith(const Error& e) {
  return fail(e.field.empty() ? e.message : e.field + ": " + e.message, e.code == errc::kInvalidArgument ? 2 : 1);
}

/// The data directory's storage, its schema checked (and brought up to date).
HqStore openChecked(const DataDir& dir) {
  auto settings = loadSettings(dir);
  if (!settings) throw std::runtime_error(settings.error().message);
  HqStore store(openStorage(dir, *settings));
  store.checkSchema();
  return store;
}

int listTokens(const DataDir& dir) {
  HqStore store = openChecked(dir);
  const auto cell = [](const std::optional<std::string>& v) { return v.value_or("-"); };
  std::cout << std::left << std::setw(14) << "ID" << std::setw(24) << "NAME" << std::setw(9) << "ROLE" << std::setw(22)
            << "CREATED" << std::setw(22) << "EXPIRES" << "REVOKED\n";
  for (const ApiTokenInfo& t : listApiTokens(store.connection())) {
    std::cout << std::setw(14) << t.id << std::setw(24) << t.name << std::setw(9) << t.role << std::setw(22) << t.createdAt
              << std::setw(22) << cell(t.expiresAt) << cell(t.revokedAt) << "\n";
  }
  return 0;
}

int revokeToken(const DataDir& dir, const Args& a) {
  HqStore store = openChecked(dir);
  const auto opt = [](const std::string& v) { return v.empty() ? std::nullopt : std::optional<std::string>(v); };
  auto r = revokeApiToken(store.connection(), opt(a.id), opt(a.name), commandLineActor(), nowSeconds());
  if (!r) return failWith(r.error());
  std::cerr << "loyalty-hq: token " << r->id << " (" << r->name << ", " << r->role << ") revoked at " << *r->revokedAt << "\n";
  return 0;
}

int setUserEnabled(const DataDir& dir, const Args& a, bool enabled) {
  HqStore store = openChecked(dir);
  auto r = enabled ? enableDashboardUser(store.connection(), a.name, commandLineActor(), nowSeconds())
                   : disableDashboardUser(store.connection(), a.name, commandLineActor(), nowSeconds());
  if (!r) return failWith(r.error());
  std::cerr << "loyalty-hq: dashboard account " << a.name << (enabled ? " enabled\n" : " disabled; its sessions ended\n");
  return 0;
}

/// A new server certificate from the same CA: terminals trust the CA, so they keep working.
int renewCertificate(const DataDir& dir, const Args& a) {
  if (a.days < 1 || a.days > 3650) return fail("--days is from 1 to 3650", 2);
  HqStore store = openChecked(dir);
  const fs::path caKeyFile = a.caKey.empty() ? dir.caKey() : fs::path(a.caKey);
  const auto caKey = sysio::readFile(caKeyFile);
  if (!caKey) {
    return fail(a.caKey.empty() ? "the CA's private key is not in " + dir.caKey().string() +
                                      " (kept offline with `init --ca-key-out`?): give it with --ca-key FILE"
                                : "--ca-key: cannot read " + a.caKey,
                2);
  }
  const auto caCert = sysio::readFile(dir.caCert());
  const auto current = sysio::readFile(dir.serverCert());
  const auto currentKey = sysio::readFile(dir.serverKey());
  if (!caCert || !current || !currentKey) return fail("the data directory's tls/ files are incomplete: " + dir.tlsDir().string());
  const std::vector<std::string> hosts = a.hosts.empty() ? certificateHosts(*current) : a.hosts;
  const auto t = std::chrono::system_clock::now();
  const auto until = t + std::chrono::hours(24) * a.days;
  const KeyAndCert ca{*caKey, *caCert};
  const KeyAndCert server = a.newKey ? issueServerCertificate(ca, hosts, t - kCertificateBackdate, until)
                                     : issueServerCertificate(ca, hosts, t - kCertificateBackdate, until, *currentKey);
  const std::string oldPin = publicKeyPin(*current), pin = publicKeyPin(server.certPem);
  if (a.newKey) sysio::writeFileAtomic(dir.serverKey(), server.keyPem);
  sysio::writeFileAtomic(dir.serverCert(), server.certPem + *caCert);
  std::string hostList;
  for (const auto& h : hosts) hostList += (hostList.empty() ? "" : ",") + h;
  const std::string validUntil = formatRfc3339(std::chrono::floor<std::chrono::seconds>(until));
  {
    SqlTransaction tx(store.connection());
    recordAudit(store.connection(), {formatRfc3339(nowSeconds()), commandLineActor(), audit::kCertRenew, hostList, std::nullopt,
                                     "valid until " + validUntil + (a.newKey ? ", new key, pin " : ", same key, pin ") + pin});
    tx.commit();
  }
  std::cout << "server cert: " << dir.serverCert().string() << "  (" << hostList << ", valid until " << validUntil << ")\n"
            << "server pin:  " << pin
            << (pin == oldPin ? "  (unchanged)\n"
                              : "  (CHANGED: terminals registered with --pin need the new pin; others trust the CA)\n")
            << "restart `loyalty-hq serve` to use it\n";
  return 0;
}

}  // namespace

std::function<std::optional<int>()> addCredentialCommands(CLI::App& app) {
  auto a = std::make_shared<Args>();
  auto* token = app.get_subcommand("token");
  auto* list = token->add_subcommand("list", "list API tokens: id, name, role, created, expires, revoked (never the secret)");
  list->add_option("--data", a->data, "data directory")->required();
  auto* revoke = token->add_subcommand("revoke", "revoke an API token at once, by id (see token list) or unique name");
  revoke->add_option("--data", a->data, "data directory")->required();
  auto* byId = revoke->add_option("--id", a->id, "the token's id");
  revoke->add_option("--name", a->name, "the token's name, if only one token has it")->excludes(byId);

  auto* user = app.get_subcommand("user");
  auto* disable = user->add_subcommand("disable", "disable a dashboard account; its sessions end at once");
  disable->add_option("--data", a->data, "data directory")->required();
  disable->add_option("--name", a->name, "user name")->required();
  auto* enable = user->add_subcommand("enable", "enable a disabled dashboard account again (same password)");
  enable->add_option("--data", a->data, "data directory")->required();
  enable->add_option("--name", a->name, "user name")->required();

  auto* cert = app.add_subcommand("cert", "manage head office's TLS certificate");
  cert->require_subcommand(1);
  auto* renew = cert->add_subcommand("renew", "issue a new server certificate from the same CA (restart serve to use it)");
  renew->add_option("--data", a->data, "data directory")->required();
  renew->add_option("--host", a->hosts, "host names and IPs (comma-separated; default: the current certificate's)")->delimiter(',');
  renew->add_option("--days", a->days, "validity in days (default 825)");
  renew->add_flag("--new-key", a->newKey, "a new server key too (a terminal's public-key pin then changes)");
  renew->add_option("--ca-key", a->caKey, "the CA's private key file, when it is kept outside the data directory");

  return [=]() -> std::optional<int> {
    const DataDir dir{a->data};
    try {
      if (list->parsed()) return listTokens(dir);
      if (revoke->parsed()) return revokeToken(dir, *a);
      if (disable->parsed()) return setUserEnabled(dir, *a, false);
      if (enable->parsed()) return setUserEnabled(dir, *a, true);
      if (renew->parsed()) return renewCertificate(dir, *a);
    } catch (const std::exception& e) {
      return fail(e.what());
    }
    return std::nullopt;
  };
}

}  // namespace loyalty::hq
