// `loyalty-hq backup` and `restore` through the real binary: a SQLite head office backed up while
// it serves and writes restores into a new directory that serves HTTPS with the restored TLS
// files; a running server, the terminal's backups and a damaged file are refused; PostgreSQL is
// refused with a pointer to pg_dump, and the documented pg_dump / pg_restore procedure works.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/settings.hpp"
#include "support/hq_fixture.hpp"

using namespace loyalty;
using namespace loyalty::test;
namespace fs = std::filesystem;

namespace {

std::pair<int, std::string> hqRun(const std::vector<std::string>& args) {
  std::vector<std::string> argv{hqBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv, Stderr::kToStdout);
}

std::string bytesOf(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::int64_t terminals(hq::SqlConnection& c) { return c.query("SELECT COUNT(*) FROM terminals").integer(0, 0); }

/// The PostgreSQL client programs of the server the fixture runs.
std::string pgBin(const std::string& program) {
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql")) {
    if (fs::exists(e.path() / "bin" / program)) return (e.path() / "bin" / program).string();
  }
  FAIL("no " << program);
  return {};
}

}  // namespace

TEST_CASE("hq backup: taken while the server serves and the CLI writes, restored into a new directory that serves",
          "[hq][backup]") {
  HqInstance hq("sqlite");
  hq.start();
  TempDir dir;
  std::atomic<bool> stop{false};
  std::atomic<int> added{0};
  std::thread writer([&] {
    for (int n = 0; !stop; ++n) {
      if (hqRun({"terminal", "add", "--data", hq.dataDir(), "--store", "S1", "--terminal", "T" + std::to_string(n)}).first != 0) break;
      ++added;
    }
  });
  while (added < 1) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const fs::path file = dir.path() / "hq.backup";
  const auto [status, out] = hqRun({"backup", "--data", hq.dataDir(), "--out", file.string()});
  stop = true;
  writer.join();
  INFO(out);
  REQUIRE(status == 0);
  CHECK(json::parse(out.substr(0, out.find('\n')))["parts"] ==
        json::array({"hq.db", "hq.toml", "tls/ca.pem", "tls/ca.key", "tls/server.pem", "tls/server.key",
                     "release/release.key", "release/release.pub"}));
  CHECK((fs::status(file).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));

  SECTION("the server still has the directory: restore is refused and changes nothing") {
    const std::string before = bytesOf(fs::path(hq.dataDir()) / "hq.toml");
    const auto [rc, text] = hqRun({"restore", "--data", hq.dataDir(), "--from", file.string()});
    INFO(text);
    CHECK(rc != 0);
    CHECK(text.find("hq.db is in use by another process") != std::string::npos);
    CHECK(bytesOf(fs::path(hq.dataDir()) / "hq.toml") == before);
    CHECK(getJsonChecked(hq, "/healthz").at("status") == "ok");
  }
  SECTION("a new directory: the store, settings and certificates come back and serve") {
    const fs::path target = dir.path() / "restored";
    const auto [rc, text] = hqRun({"restore", "--data", target.string(), "--from", file.string()});
    INFO(text);
    REQUIRE(rc == 0);
    CHECK(bytesOf(target / "tls" / "ca.pem") == bytesOf(fs::path(hq.caFile())));
    // The release signing key terminals pin comes back too (docs/fleet-updates.md).
    CHECK(bytesOf(target / "release" / "release.key") == bytesOf(fs::path(hq.dataDir()) / "release" / "release.key"));
    CHECK((fs::status(target).permissions() & fs::perms::all) == fs::perms::owner_all);
    CHECK((fs::status(target / "tls" / "server.key").permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write));
    auto restored = hq::openSqlite((target / "hq.db").string());
    const std::int64_t count = terminals(*restored);
    CHECK(count >= 1);
    CHECK(count <= terminals(*hq.sql()));
    CHECK(restored->query("PRAGMA integrity_check").text(0, 0) == "ok");
    const auto trail = hq::auditEntries(*restored, "2000-01-01", "2999-12-31", 1000, 0);
    REQUIRE_FALSE(trail.empty());
    CHECK(trail.back().action == hq::audit::kBackupRestore);
    CHECK(trail.back().subject == file.string());
    // The original records that its data left as a backup.
    const auto original = hq::auditEntries(*hq.sql(), "2000-01-01", "2999-12-31", 1000, 0);
    CHECK(std::any_of(original.begin(), original.end(), [](const auto& e) { return e.action == hq::audit::kBackupCreate; }));
    restored.reset();

    const int port = freePort();
    ChildProcess server({hqBinary(), "serve", "--data", target.string(), "--listen", "127.0.0.1:" + std::to_string(port)},
                        Stderr::kInherit);
    REQUIRE(server.readLine(std::chrono::seconds(30)));
    httplib::SSLClient client("127.0.0.1", port);
    client.set_ca_cert_path(hq.caFile().c_str());
    client.enable_server_certificate_verification(true);
    const auto res = client.Get("/healthz");
    REQUIRE(res);
    CHECK(res->status == 200);
    server.killHard();
  }
}

TEST_CASE("hq restore: the terminal's backups and damaged files are refused, and loyalty-terminal refuses head office's",
          "[hq][backup]") {
  HqInstance hq("sqlite");
  TempDir dir;
  const fs::path hqFile = dir.path() / "hq.backup";
  REQUIRE(hqRun({"backup", "--data", hq.dataDir(), "--out", hqFile.string()}).first == 0);
  const fs::path counter = dir.path() / "counter";
  {
    ChildProcess exec({terminalBinary(), "exec", "--data", counter.string()});
    exec.closeStdin();
    REQUIRE(exec.wait() == 0);
  }
  const fs::path terminalFile = dir.path() / "terminal.backup";
  REQUIRE(runCommand({terminalBinary(), "backup", "--data", counter.string(), "--out", terminalFile.string()}).first == 0);

  const fs::path target = dir.path() / "target";
  auto [rc, text] = hqRun({"restore", "--data", target.string(), "--from", terminalFile.string()});
  CHECK(rc != 0);
  CHECK(text.find("is a backup of loyalty-terminal, not of loyalty-hq") != std::string::npos);
  CHECK_FALSE(fs::exists(target / "hq.db"));

  std::string bytes = bytesOf(hqFile);
  bytes[bytes.size() / 2] ^= 0x20;
  std::ofstream(dir.path() / "flipped.backup", std::ios::binary) << bytes;
  std::tie(rc, text) = hqRun({"restore", "--data", target.string(), "--from", (dir.path() / "flipped.backup").string()});
  CHECK(rc != 0);
  CHECK(text.find("does not match its checksum") != std::string::npos);
  CHECK_FALSE(fs::exists(target / "hq.db"));

  std::tie(rc, text) = runCommand({terminalBinary(), "restore", "--data", counter.string(), "--from", hqFile.string()}, Stderr::kToStdout);
  CHECK(rc == 1);
  CHECK(text.find("is a backup of loyalty-hq, not of loyalty-terminal") != std::string::npos);

  // Retention works the same for head office.
  const fs::path backups = dir.path() / "backups";
  fs::create_directories(backups);
  std::ofstream(backups / "loyalty-hq-20200101T000000Z.backup") << "x";
  std::ofstream(backups / "loyalty-terminal-20200101T000000Z.backup") << "x";
  std::tie(rc, text) = hqRun({"backup", "--data", hq.dataDir(), "--dir", backups.string(), "--keep-days", "30"});
  INFO(text);
  CHECK(rc == 0);
  CHECK_FALSE(fs::exists(backups / "loyalty-hq-20200101T000000Z.backup"));
  CHECK(fs::exists(backups / "loyalty-terminal-20200101T000000Z.backup"));
}

TEST_CASE("hq backup on PostgreSQL: refused with a pointer to pg_dump, and the documented pg_dump and pg_restore bring it back",
          "[hq][backup][postgresql]") {
  HqInstance hq("postgresql");
  hq.addTerminal("S1", "T1");
  hq.addTerminal("S1", "T2");
  TempDir dir;
  auto [rc, text] = hqRun({"backup", "--data", hq.dataDir(), "--out", (dir.path() / "x.backup").string()});
  CHECK(rc != 0);
  CHECK(text.find("back it up with pg_dump") != std::string::npos);

  // docs/operations.md: pg_dump --format=custom, then pg_restore into an empty database.
  const hq::DataDir source{hq.dataDir()};
  auto settings = hq::loadSettings(source);
  REQUIRE(settings);
  const fs::path dump = dir.path() / "hq.dump";
  std::tie(rc, text) = runCommand({pgBin("pg_dump"), "--format=custom", "--file=" + dump.string(), "--dbname=" + settings->dsn},
                                  Stderr::kToStdout);
  INFO(text);
  REQUIRE(rc == 0);
  const std::string newDsn = settings->dsn.substr(0, settings->dsn.find("dbname=")) + "dbname=hq_restored connect_timeout=5";
  hq::openPostgres(settings->dsn)->execScript("CREATE DATABASE hq_restored");
  std::tie(rc, text) = runCommand({pgBin("pg_restore"), "--no-owner", "--exit-on-error", "--dbname=" + newDsn, dump.string()},
                                  Stderr::kToStdout);
  INFO(text);
  REQUIRE(rc == 0);

  // A head office pointed at the restored database sees the same terminals and works.
  const fs::path restoredDir = dir.path() / "hq";
  fs::copy(hq.dataDir(), restoredDir, fs::copy_options::recursive);
  hq::Settings restored = *settings;
  restored.dsn = newDsn;
  hq::saveSettings(hq::DataDir{restoredDir}, restored);
  CHECK(terminals(*hq::openPostgres(newDsn)) == 2);
  std::tie(rc, text) = hqRun({"terminal", "revoke", "--data", restoredDir.string(), "--terminal", "T2"});
  INFO(text);
  CHECK(rc == 0);
}
