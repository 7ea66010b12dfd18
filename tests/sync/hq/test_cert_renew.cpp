// `loyalty-hq cert renew` against a real registered terminal: a new server certificate from the
// same CA keeps terminals working without registering again, with the CA key kept offline.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/crypto.hpp"
#include "loyalty/hq/settings.hpp"
#include "sync_fixture.hpp"

using namespace loyalty;
using namespace loyalty::test;
using nlohmann::json;
namespace fs = std::filesystem;

TEST_CASE("cert renew: the server restarted with a renewed certificate is trusted by registered terminals", "[sync][e2e]") {
  TempDir offline;
  const std::string caKey = offline.str() + "/ca.key";
  Hq hq({"--ca-key-out", caKey});
  // The CA's key is where it was asked to go, and nowhere in the data directory.
  struct stat st {};
  REQUIRE(stat(caKey.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const std::string caKeyPem = slurp(caKey);
  for (const auto& entry : fs::recursive_directory_iterator(hq.dataDir())) {
    CHECK(entry.path().filename() != "ca.key");
    if (entry.is_regular_file()) CHECK(slurp(entry.path()).find(caKeyPem) == std::string::npos);
  }

  hq.start();
  Terminal terminal;
  REQUIRE(terminal.registerWith(hq, hq.addTerminal("S1", "T1")).exit == 0);
  REQUIRE(terminal.execOne(sale("S-1", std::nullopt, "10.00")).at("ok") == true);
  REQUIRE(terminal.syncOnce().exit == 0);
  const std::string before = slurp(hq.tlsDir() / "server.pem");

  // Without the CA key, renewal says what it needs.
  const RunResult refused = run({hqBinary(), "cert", "renew", "--data", hq.dataDir()});
  CHECK(refused.exit != 0);
  CHECK(refused.err.find("--ca-key") != std::string::npos);

  // The same key: a public-key pin stays valid.
  const std::string kept = hq.command({"cert", "renew", "--ca-key", caKey, "--days", "30"});
  CHECK(kept.find("unchanged") != std::string::npos);
  const std::string renewed = slurp(hq.tlsDir() / "server.pem");
  CHECK(renewed != before);
  CHECK(hq::publicKeyPin(renewed) == hq::publicKeyPin(before));
  CHECK(hq::certificateHosts(renewed) == std::vector<std::string>{"localhost", "127.0.0.1"});

  // A new key: the pin changes; the terminal (which trusts the CA) does not notice.
  const std::string rotated = hq.command({"cert", "renew", "--ca-key", caKey, "--new-key"});
  CHECK(rotated.find("CHANGED") != std::string::npos);
  const std::string newPin = hq::publicKeyPin(slurp(hq.tlsDir() / "server.pem"));
  CHECK(newPin != hq::publicKeyPin(before));
  hq.killHard();
  hq.start();
  REQUIRE(terminal.execOne(sale("S-2", std::nullopt, "20.00")).at("ok") == true);
  const RunResult synced = terminal.syncOnce();
  INFO(synced.err);
  CHECK(synced.exit == 0);
  CHECK(hq.get("/api/v1/reports/summary").at("sales") == 2);
  // The server serves the new certificate: the old pin no longer matches, the new one does.
  sync::HttpsClient oldPin({hq.url(), slurp(hq.caFile()), hq::publicKeyPin(before), hq.adminToken()});
  auto stale = oldPin.getJson("/api/v1/reports/summary");
  REQUIRE_FALSE(stale);
  CHECK(stale.error().kind == sync::FailureKind::kTls);
  sync::HttpsClient pinned({hq.url(), slurp(hq.caFile()), newPin, hq.adminToken()});
  CHECK(pinned.getJson("/api/v1/reports/summary"));

  const hq::DataDir dir{hq.dataDir()};
  auto settings = hq::loadSettings(dir);
  REQUIRE(settings);
  CHECK(hq::openStorage(dir, *settings)->query("SELECT COUNT(*) FROM audit_log WHERE action = 'cert.renew'").integer(0, 0) == 2);
}
