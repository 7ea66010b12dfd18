// `loyalty-terminal backup` and `restore` through the real binary: backups taken while another
// process sells restore to a store `verify` finds clean; a restore refuses foreign, damaged and
// truncated files, a wrong or missing at-rest key and a running counter, changing nothing; a WAL
// left by a killed counter is never replayed into the restored file; --keep-days prunes only this
// program's timestamped backups.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "../support/exec_client.hpp"
#include "../support/temp_dir.hpp"

using nlohmann::json;
using namespace loyalty::test;
namespace fs = std::filesystem;

namespace {

struct Ran {
  int exit = -1;
  std::string out;  ///< stdout and stderr, in order
  json first() const { return json::parse(out.substr(0, out.find('\n'))); }
};

Ran terminal(const std::vector<std::string>& args) {
  std::vector<std::string> argv{terminalBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess p(argv, Stderr::kToStdout);
  p.closeStdin();
  Ran r;
  while (auto line = p.readLine(std::chrono::seconds(120))) r.out += *line + "\n";
  r.exit = p.wait();
  return r;
}

std::string bytesOf(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const char* kPhone = "13812345678";

void enrol(Exec& exec) {
  ok(exec.call({{"op", "enroll"}, {"phone", kPhone}, {"name", "王小明"}, {"consent_marketing", true}}));
}

json sale(Exec& exec, int n) {
  return exec.call({{"op", "sale"},
                    {"sale_id", "INV-" + std::to_string(n)},
                    {"member", kPhone},
                    {"lines", json::array({{{"sku", "OIL-5L"}, {"qty", 1}, {"unit_price", "59.90"}}})}});
}

/// A data directory holding the key `from` was sealed with (a new counter, the key put back).
fs::path dirWithKeyOf(const fs::path& parent, const std::string& name, const fs::path& from) {
  const fs::path dir = parent / name;
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
  fs::copy_file(from / "at-rest.key", dir / "at-rest.key");
  return dir;
}

}  // namespace

TEST_CASE("backup: taken while another process sells, each backup restores to a store verify finds clean", "[e2e][backup]") {
  TempDir dir;
  const fs::path data = dir.path() / "data";
  {
    Exec exec(data.string());
    enrol(exec);
    exec.finish();
  }
  // A second process sells without pause while the backups are taken.
  std::atomic<bool> stop{false};
  std::atomic<int> sold{0};
  std::thread seller([&] {
    Exec exec(data.string());
    for (int n = 1; !stop; ++n) {
      if (sale(exec, n)["ok"] != true) break;
      ++sold;
    }
    exec.finish();
  });
  std::vector<fs::path> backups;
  for (int i = 0; i < 3; ++i) {
    // Each backup starts once the seller has sold more since the previous one.
    const int seen = sold;
    while (sold == seen) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    backups.push_back(dir.path() / ("b" + std::to_string(i) + ".backup"));
    const Ran made = terminal({"backup", "--data", data.string(), "--out", backups.back().string()});
    INFO(made.out);
    REQUIRE(made.exit == 0);
    CHECK(made.first()["sealed"] == true);
    CHECK(made.out.find("useless without it") != std::string::npos);
  }
  stop = true;
  seller.join();

  std::int64_t lastSeq = 0;
  for (std::size_t i = 0; i < backups.size(); ++i) {
    struct stat st {};
    REQUIRE(::stat(backups[i].c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    const fs::path target = dirWithKeyOf(dir.path(), "restored" + std::to_string(i), data);
    const Ran restored = terminal({"restore", "--data", target.string(), "--from", backups[i].string()});
    INFO(restored.out);
    REQUIRE(restored.exit == 0);
    const json r = restored.first();
    CHECK(r["verify"]["problems"] == json::array());
    CHECK(r["store_id"] == "S001");
    // One enrolment and a whole number of sales: every event with its business rows.
    CHECK(r["verify"]["outbox_events"] == r["outbox_seq"]);
    CHECK(r["outbox_seq"].get<std::int64_t>() >= lastSeq);
    lastSeq = r["outbox_seq"];
    // The restored counter sells on from where the backup was.
    Exec exec(target.string());
    CHECK(ok(exec.call({{"op", "stats"}}))["sales"] == lastSeq - 1);
    CHECK(sale(exec, 100000)["ok"] == true);
    CHECK(ok(exec.call({{"op", "verify"}}))["problems"] == json::array());
    exec.finish();
    for (const auto& entry : fs::directory_iterator(target)) {
      CHECK(entry.path().filename().string().rfind(".restore-", 0) == std::string::npos);
    }
  }
}

TEST_CASE("restore: a foreign, damaged or cut file, a wrong or missing key and a running counter are refused, changing nothing",
          "[e2e][backup]") {
  TempDir dir;
  const fs::path data = dir.path() / "data";
  const fs::path other = dir.path() / "other";
  const fs::path backup = dir.path() / "a.backup";
  {
    Exec exec(data.string());
    enrol(exec);
    CHECK(sale(exec, 1)["ok"] == true);
    exec.finish();
  }
  REQUIRE(terminal({"backup", "--data", data.string(), "--out", backup.string()}).exit == 0);
  {
    Exec exec(other.string());  // another counter: its own key, one member
    enrol(exec);
    exec.finish();
  }
  const std::string before = bytesOf(other / "terminal.db");
  const auto refused = [&](const fs::path& from, const std::string& why) {
    const Ran r = terminal({"restore", "--data", other.string(), "--from", from.string()});
    INFO(r.out);
    CHECK(r.exit == 1);
    CHECK(r.out.find(why) != std::string::npos);
    CHECK(bytesOf(other / "terminal.db") == before);
  };

  refused(data / "terminal.db", "is not a backup file of loyalty-terminal");
  {  // a header edited after it was written
    std::string text = bytesOf(backup);
    text.replace(text.find("program loyalty-terminal"), 24, "program loyalty-hq      ");
    std::ofstream(dir.path() / "hq.backup", std::ios::binary) << text;
    refused(dir.path() / "hq.backup", "damaged: its header does not match its checksum");
  }
  {  // one byte changed inside the database
    std::string text = bytesOf(backup);
    text[text.size() - 5000] ^= 0x01;
    std::ofstream(dir.path() / "flipped.backup", std::ios::binary) << text;
    refused(dir.path() / "flipped.backup", "does not match its checksum");
  }
  {  // cut short
    const std::string text = bytesOf(backup);
    std::ofstream(dir.path() / "cut.backup", std::ios::binary) << text.substr(0, text.size() / 2);
    refused(dir.path() / "cut.backup", "damaged: cut short");
  }
  {  // bytes after the last part
    std::ofstream(dir.path() / "long.backup", std::ios::binary) << bytesOf(backup) << "x";
    refused(dir.path() / "long.backup", "damaged: bytes after its last part");
  }
  refused(backup, "is not the key the members in");  // the directory's key is not the backup's
  {  // no key at all
    const fs::path empty = dir.path() / "empty";
    const Ran r = terminal({"restore", "--data", empty.string(), "--from", backup.string()});
    CHECK(r.exit == 1);
    CHECK(r.out.find("does not exist: put that terminal's key file there first") != std::string::npos);
    CHECK_FALSE(fs::exists(empty / "terminal.db"));
  }
  {  // a counter has the databases open
    const fs::path busy = dirWithKeyOf(dir.path(), "busy", data);
    REQUIRE(terminal({"restore", "--data", busy.string(), "--from", backup.string()}).exit == 0);
    Exec running(busy.string());
    CHECK(sale(running, 2)["ok"] == true);
    const std::string live = bytesOf(busy / "terminal.db");
    const Ran r = terminal({"restore", "--data", busy.string(), "--from", backup.string()});
    INFO(r.out);
    CHECK(r.exit == 1);
    CHECK(r.out.find("is in use by another process") != std::string::npos);
    CHECK(bytesOf(busy / "terminal.db") == live);
    CHECK(ok(running.call({{"op", "verify"}}))["problems"] == json::array());
    running.finish();
  }
}

TEST_CASE("restore: the WAL a killed counter left behind is not replayed into the restored database", "[e2e][backup]") {
  TempDir dir;
  const fs::path data = dir.path() / "data";
  const fs::path backup = dir.path() / "a.backup";
  {
    Exec exec(data.string());
    enrol(exec);
    exec.finish();
  }
  REQUIRE(terminal({"backup", "--data", data.string(), "--out", backup.string()}).exit == 0);
  {
    // Sales after the backup, committed to the WAL only: the process dies before any checkpoint.
    ChildProcess exec({terminalBinary(), "exec", "--data", data.string()});
    for (int n = 1; n <= 3; ++n) {
      REQUIRE(exec.write(json{{"op", "sale"}, {"sale_id", "INV-" + std::to_string(n)}, {"member", kPhone},
                              {"lines", json::array({{{"sku", "A"}, {"qty", 1}, {"unit_price", "10.00"}}})}}
                             .dump() +
                         "\n"));
      REQUIRE(exec.readLine());
    }
    exec.killHard();
  }
  REQUIRE(fs::file_size(data / "terminal.db-wal") > 0);
  const Ran r = terminal({"restore", "--data", data.string(), "--from", backup.string()});
  INFO(r.out);
  REQUIRE(r.exit == 0);
  CHECK(r.first()["verify"]["problems"] == json::array());
  CHECK(r.first()["outbox_seq"] == 1);
  CHECK_FALSE(fs::exists(data / "terminal.db-wal"));
  Exec exec(data.string());
  const json lookup = ok(exec.call({{"op", "lookup"}, {"query", kPhone}}));
  CHECK(lookup["matches"][0]["points"] == 0);
  CHECK(ok(exec.call({{"op", "stats"}}))["outbox_pending"] == 1);
  exec.finish();
}

TEST_CASE("backup --dir --keep-days: a timestamped 0600 file, and only this program's older backups removed", "[e2e][backup]") {
  TempDir dir;
  const fs::path data = dir.path() / "data";
  const fs::path backups = dir.path() / "backups";
  {
    Exec exec(data.string());
    enrol(exec);
    exec.finish();
  }
  fs::create_directories(backups);
  const std::vector<std::string> kept{"loyalty-hq-20200101T000000Z.backup", "notes.txt", "loyalty-terminal-latest.backup"};
  for (const auto& name : kept) std::ofstream(backups / name) << "x";
  std::ofstream(backups / "loyalty-terminal-20200101T000000Z.backup") << "x";
  const Ran made = terminal({"backup", "--data", data.string(), "--dir", backups.string(), "--keep-days", "7"});
  INFO(made.out);
  REQUIRE(made.exit == 0);
  const json m = made.first();
  CHECK(m["pruned"] == json::array({(backups / "loyalty-terminal-20200101T000000Z.backup").string()}));
  const fs::path file = m["backup"].get<std::string>();
  CHECK(file.parent_path() == backups);
  CHECK(file.filename().string().rfind("loyalty-terminal-20", 0) == 0);
  REQUIRE(fs::exists(file));
  CHECK((fs::status(file).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
  for (const auto& name : kept) CHECK(fs::exists(backups / name));
  // A second run the same day keeps the first.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  REQUIRE(terminal({"backup", "--data", data.string(), "--dir", backups.string(), "--keep-days", "7"}).exit == 0);
  CHECK(fs::exists(file));

  const Ran noDir = terminal({"backup", "--data", data.string(), "--out", (dir.path() / "x").string(), "--keep-days", "7"});
  CHECK(noDir.exit != 0);
  CHECK(noDir.out.find("--keep-days requires --dir") != std::string::npos);
  const Ran nothing = terminal({"backup", "--data", data.string()});
  CHECK(nothing.exit == 2);
  CHECK(nothing.out.find("give --out FILE or --dir DIR") != std::string::npos);
  const Ran missing = terminal({"backup", "--data", (dir.path() / "nothing").string(), "--out", (dir.path() / "y").string()});
  CHECK(missing.exit == 1);
  CHECK(missing.out.find("--data:") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path() / "nothing"));
}
