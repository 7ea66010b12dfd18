// Releases at head office on both storage backends: publish (signed, audited, refusals change
// nothing), the offer by store, architecture and rollout percentage, terminals' reports.
#include <sodium.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>

#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/fleet.hpp"
#include "loyalty/hq/local_time.hpp"
#include "loyalty/hq/store.hpp"
#include "support/hq_fixture.hpp"

using namespace loyalty;
using namespace loyalty::hq;
using loyalty::test::PgCluster;
using loyalty::test::TempDir;
using nlohmann::json;

namespace {

/// A loyalty-terminal (or other) package built with dpkg-deb.
std::filesystem::path buildPackage(const TempDir& dir, const std::string& version, const std::string& arch,
                                   const std::string& name = "loyalty-terminal") {
  const auto root = std::filesystem::path(dir.str()) / ("pkg-" + name + "-" + version + "-" + arch);
  std::filesystem::create_directories(root / "DEBIAN");
  std::filesystem::create_directories(root / "usr/share/doc");
  std::ofstream(root / "usr/share/doc/release.txt") << "build " << version << "\n";
  std::ofstream(root / "DEBIAN/control") << "Package: " << name << "\nVersion: " << version << "\nArchitecture: " << arch
                                         << "\nMaintainer: Loyalty <loyalty@example.invalid>\nDescription: test build\n";
  const auto deb = std::filesystem::path(dir.str()) / (name + "_" + version + "_" + arch + ".deb");
  const auto [status, out] = loyalty::test::runCommand({"/usr/bin/dpkg-deb", "--root-owner-group", "-Zgzip", "--build", root.string(), deb.string()});
  REQUIRE(status == 0);
  return deb;
}

}  // namespace

TEST_CASE("the rollout bucket is stable per terminal and proportional", "[hq]") {
  int in = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string id = "T" + std::to_string(i);
    const bool at10 = inRollout("1.2.0", id, 10);
    CHECK(at10 == inRollout("1.2.0", id, 10));  // the same answer every time
    if (at10) CHECK(inRollout("1.2.0", id, 50));  // raising the percentage only adds terminals
    in += at10 ? 1 : 0;
  }
  CHECK(in > 120);
  CHECK(in < 280);
  CHECK(inRollout("1.2.0", "T1", 100));
}

TEST_CASE("releases and terminal reports on SQLite and PostgreSQL", "[hq][db]") {
  const bool pg = GENERATE(false, true);
  CAPTURE(pg);
  TempDir tmp;
  std::unique_ptr<PgCluster> cluster;
  const DataDir dir{std::filesystem::path(tmp.str()) / "hq"};
  std::filesystem::create_directories(dir.root);
  const auto open = [&]() -> std::unique_ptr<SqlConnection> {
    if (!pg) return openSqlite((dir.root / "hq.db").string());
    return openPostgres(cluster->dsn("hq"));
  };
  if (pg) {
    cluster = std::make_unique<PgCluster>();
    cluster->createDatabase("hq");
  }
  HqStore store(open());
  store.createSchema(nowSeconds());
  REQUIRE(store.addTerminal("S1", "T1", "UTC", nowSeconds(), "cli:test"));
  REQUIRE(store.addTerminal("S2", "T2", "UTC", nowSeconds(), "cli:test"));
  for (int i = 3; i <= 40; ++i) REQUIRE(store.addTerminal("S2", "T" + std::to_string(i), "UTC", nowSeconds(), "cli:test"));
  auto c = open();
  ensureAuditSchema(*c);
  ensureFleetSchema(*c);

  const auto v1 = buildPackage(tmp, "1.0.0", "amd64");
  const auto v2 = buildPackage(tmp, "1.1.0~rc1", "amd64");
  const auto other = buildPackage(tmp, "1.0.0", "amd64", "loyalty-hq");

  auto wrongPackage = publishRelease(dir, *c, other, {}, "cli:test", nowSeconds());
  REQUIRE_FALSE(wrongPackage);
  CHECK(wrongPackage.error().field == "Package");
  auto unknownStore = publishRelease(dir, *c, v1, {{"NOWHERE"}, 100}, "cli:test", nowSeconds());
  REQUIRE_FALSE(unknownStore);
  CHECK(unknownStore.error().field == "stores");
  CHECK_FALSE(publishRelease(dir, *c, v1, {{}, 0}, "cli:test", nowSeconds()));
  CHECK(c->query("SELECT COUNT(*) FROM releases").integer(0, 0) == 0);

  auto r1 = publishRelease(dir, *c, v1, {}, "cli:test", nowSeconds());
  REQUIRE(r1);
  CHECK(r1->manifest.version == "1.0.0");
  CHECK(std::filesystem::exists(dir.root / "releases" / (r1->manifest.sha256 + ".deb")));
  CHECK((std::filesystem::status(releaseKeyFile(dir)).permissions() & std::filesystem::perms::all) ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  const std::string pub = ensureReleaseKey(dir);
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sig[crypto_sign_BYTES];
  size_t n = 0;
  REQUIRE(sodium_base642bin(pk, sizeof pk, pub.data(), pub.size(), nullptr, &n, nullptr, sodium_base64_VARIANT_ORIGINAL) == 0);
  REQUIRE(sodium_base642bin(sig, sizeof sig, r1->signature.data(), r1->signature.size(), nullptr, &n, nullptr,
                            sodium_base64_VARIANT_ORIGINAL) == 0);
  const std::string text = sync::signedText(r1->manifest);
  CHECK(crypto_sign_verify_detached(sig, reinterpret_cast<const unsigned char*>(text.data()), text.size(), pk) == 0);
  CHECK(c->query("SELECT COUNT(*) FROM audit_log WHERE action = 'release.publish'").integer(0, 0) == 1);

  // A newer version for store S2 only, to half of its terminals.
  auto r2 = publishRelease(dir, *c, v2, {{"S2"}, 50}, "cli:test", nowSeconds());
  REQUIRE(r2);
  std::ofstream(v1, std::ios::app) << "altered";
  auto conflict = publishRelease(dir, *c, v1, {}, "cli:test", nowSeconds());
  REQUIRE_FALSE(conflict);
  CHECK(conflict.error().code == errc::kConflict);

  Fleet fleet(dir, open());
  auto t1 = fleet.offer("T1", "amd64");
  REQUIRE(t1);
  REQUIRE(*t1);
  CHECK((*t1)->manifest.version == "1.0.0");  // S1 is not targeted by 1.1.0~rc1
  CHECK((*t1)->publicKey == pub);
  auto none = fleet.offer("T1", "arm64");
  REQUIRE(none);
  CHECK_FALSE(*none);
  int newer = 0;
  for (int i = 2; i <= 40; ++i) {
    const std::string id = "T" + std::to_string(i);
    auto o = fleet.offer(id, "amd64");
    REQUIRE(o);
    REQUIRE(*o);
    const bool gotNew = (*o)->manifest.version == "1.1.0~rc1";
    CHECK(gotNew == inRollout("1.1.0~rc1", id, 50));
    newer += gotNew ? 1 : 0;
    CHECK(bool(fleet.packageFile(id, "amd64", (*o)->manifest.sha256)));
  }
  CHECK(newer > 0);
  CHECK(newer < 39);
  CHECK_FALSE(fleet.packageFile("T1", "amd64", r2->manifest.sha256));  // not offered to T1

  fleet.noteReport("T1", {"1.0.0", "amd64", "idle", 3}, nowSeconds());
  fleet.noteReport("T2", {}, nowSeconds());  // an older terminal: only seen
  const json all = fleet.terminals({});
  const auto list = all["terminals"];
  REQUIRE(list.size() == 40);
  CHECK(all["total"] == 40);
  CHECK(all["states"] == json{{"active", 0}, {"waiting", 40}, {"revoked", 0}});  // none registered yet
  CHECK(all["page"] == json{{"offset", 0}, {"limit", nullptr}});
  CHECK(list[0]["terminal_id"] == "T1");
  CHECK(list[0]["version"] == "1.0.0");
  CHECK(list[0]["update_state"] == "idle");
  CHECK(list[0]["backlog"] == 3);
  CHECK(list[0]["last_seen"].is_string());
  const auto t2 = std::find_if(list.begin(), list.end(), [](const auto& t) { return t["terminal_id"] == "T2"; });
  CHECK((*t2)["version"].is_null());
  CHECK((*t2)["last_seen"].is_string());
  CHECK(fleet.releases({})["releases"].size() == 2);

  // Pages of the list, one store's or all, in its order (store, then terminal id as bytes:
  // S2's are T10 .. T19, T2, T20 ... T40, T5 ... T9), with the whole filtered list's count.
  const json page = fleet.terminals({"S2", {5, 3}});
  REQUIRE(page["terminals"].size() == 3);
  CHECK(page["terminals"][0]["terminal_id"] == "T15");
  CHECK(page["terminals"][2]["terminal_id"] == "T17");
  CHECK(page["total"] == 39);
  CHECK(page["states"]["waiting"] == 39);
  CHECK(page["page"] == json{{"offset", 5}, {"limit", 3}});
  const json rest = fleet.terminals({"S2", {37, -1}});  // an offset without a limit: to the end
  REQUIRE(rest["terminals"].size() == 2);
  CHECK(rest["terminals"][0]["terminal_id"] == "T8");
  CHECK(rest["terminals"][1]["terminal_id"] == "T9");
  CHECK(fleet.terminals({std::nullopt, {40, 10}})["terminals"].empty());
  CHECK(fleet.terminals({"S9", {}})["total"] == 0);
  const json newest = fleet.releases({0, 1});
  REQUIRE(newest["releases"].size() == 1);
  CHECK(newest["releases"][0]["version"] == "1.1.0~rc1");
  CHECK(newest["total"] == 2);
  CHECK(fleet.releases({1, 10})["releases"][0]["version"] == "1.0.0");
}
