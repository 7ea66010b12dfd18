// Checkpoints off the commit path (Database::deferCheckpoints): commits only append to the WAL,
// the owner copies it back when idle, and the WAL stays bounded when there is no idle time.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>

#include "loyalty/db/background_checkpoints.hpp"
#include "loyalty/db/database.hpp"

using namespace loyalty::db;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path dir;
  TempDir() {
    dir = fs::temp_directory_path() / ("loyalty-checkpoint-test-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    fs::create_directories(dir);
  }
  ~TempDir() { fs::remove_all(dir); }
  std::string path() const { return (dir / "t.db").string(); }
  std::uintmax_t dbBytes() const { return fs::file_size(dir / "t.db"); }
  std::uintmax_t walBytes() const {
    const fs::path wal = dir / "t.db-wal";
    return fs::exists(wal) ? fs::file_size(wal) : 0;
  }
};

/// One durable transaction writing a row of `bytes` bytes (a sale writes several pages).
void commitRow(Database& db, int bytes) {
  Transaction tx(db);
  db.query("INSERT INTO t(v) VALUES (?)").bind(1, std::string(static_cast<std::size_t>(bytes), 'x')).run();
  tx.commit();
}

std::int64_t rows(Database& db) {
  auto q = db.query("SELECT COUNT(*) AS n FROM t");
  q.step();
  return q.int64("n");
}

std::int64_t pragmaWalAutocheckpoint(Database& db) {
  auto q = db.query("PRAGMA wal_autocheckpoint");
  q.step();
  return q.int64("wal_autocheckpoint");
}

constexpr std::uintmax_t kPage = 4096;
constexpr std::uintmax_t kFrame = kPage + 24;  // a WAL frame: its header and the page

}  // namespace

TEST_CASE("deferred checkpoints: commits stay in the WAL until the owner is idle, then go back", "[db]") {
  TempDir tmp;
  Database db(tmp.path());
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  db.deferCheckpoints(100'000);
  CHECK(pragmaWalAutocheckpoint(db) == 0);  // SQLite's own checkpoint inside a commit is off
  db.checkpointWhenIdle();
  const std::uintmax_t before = tmp.dbBytes();

  // 1,200 one-page commits: SQLite's automatic checkpoint would have run inside one of them.
  for (int i = 0; i < 1'200; ++i) commitRow(db, 3'000);
  CHECK(db.walPages() >= 1'200);
  CHECK(tmp.dbBytes() == before);  // nothing copied back yet
  CHECK(tmp.walBytes() >= 1'200 * kFrame);
  {
    Database other(tmp.path());  // committed is committed: another connection reads it all
    CHECK(rows(other) == 1'200);
  }

  CHECK(db.checkpointWhenIdle());
  CHECK(db.walPages() == 0);
  CHECK(tmp.dbBytes() >= before + 1'200 * kPage);  // the rows are in the database file now
  CHECK_FALSE(db.checkpointWhenIdle());            // nothing left to copy: nothing runs

  // The next commit starts the WAL again from its beginning: it does not grow past its size.
  const std::uintmax_t walSize = tmp.walBytes();
  for (int i = 0; i < 100; ++i) commitRow(db, 3'000);
  CHECK(tmp.walBytes() == walSize);
  CHECK(db.walPages() >= 100);
  CHECK(db.walPages() < 1'200);
}

TEST_CASE("deferred checkpoints: with no idle time the WAL stays within its bound", "[db]") {
  TempDir tmp;
  Database db(tmp.path());
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  constexpr int kBound = 64;
  constexpr int kOneCommit = 8;  // the most pages one commit below writes (rows, overflow, parents, page 1)
  db.deferCheckpoints(kBound);
  std::uintmax_t largest = 0;
  for (int i = 0; i < 2'000; ++i) {
    commitRow(db, 3'000 + (i % 3) * 4'000);  // one to three pages (and an overflow page or two) a commit
    CHECK(db.walPages() <= kBound + kOneCommit);
    largest = std::max(largest, tmp.walBytes());
  }
  // 2,000 commits wrote more than 4,000 pages; the WAL never held more than the bound and one commit.
  CHECK(largest <= 32 + (kBound + kOneCommit) * kFrame);
  CHECK(rows(db) == 2'000);
  CHECK(tmp.dbBytes() > 2'000 * kPage);  // the backstop copied pages back as it went
}

TEST_CASE("deferred checkpoints: a reader holding an old snapshot delays the copy, never loses it", "[db]") {
  TempDir tmp;
  Database db(tmp.path());
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  db.deferCheckpoints(100'000);
  commitRow(db, 100);
  Database reader(tmp.path());
  {
    const ReadTransaction snapshot(reader);
    CHECK(rows(reader) == 1);
    for (int i = 0; i < 50; ++i) commitRow(db, 3'000);
    db.checkpointWhenIdle();  // copies only what the reader's snapshot allows
    CHECK(db.walPages() > 0);
    CHECK(rows(reader) == 1);  // the reader still sees its snapshot
  }
  CHECK(db.checkpointWhenIdle());  // the reader is done: the rest goes back
  CHECK(db.walPages() == 0);
  CHECK(rows(reader) == 51);
}

TEST_CASE("deferred checkpoints cover attached databases too", "[db]") {
  TempDir tmp;
  const std::string other = (tmp.dir / "other.db").string();
  { Database make(other); }
  Database db(tmp.path());
  db.exec("ATTACH DATABASE '" + other + "' AS other");
  db.exec("CREATE TABLE other.t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  db.deferCheckpoints(100'000);
  db.checkpointWhenIdle();
  for (int i = 0; i < 20; ++i) {
    Transaction tx(db);
    db.query("INSERT INTO other.t(v) VALUES (?)").bind(1, std::string(3'000, 'y')).run();
    tx.commit();
  }
  CHECK(db.walPages("other") >= 20);
  CHECK(db.checkpointWhenIdle());
  CHECK(db.walPages("other") == 0);
}

TEST_CASE("deferred checkpoints: a commit that grows the WAL wakes another thread, which copies it back", "[db]") {
  TempDir tmp;
  Database db(tmp.path());
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  constexpr int kWake = 100;
  int wakes = 0;
  db.deferCheckpoints(100'000, kWake, [&] { ++wakes; });
  db.checkpointWhenIdle();
  const std::uintmax_t before = tmp.dbBytes();
  int commits = 0;
  while (db.walPages() < kWake) {
    commitRow(db, 3'000);
    ++commits;
    if (db.walPages() < kWake) CHECK(wakes == 0);  // below the wake size: nobody is told
  }
  CHECK(wakes == 1);  // the commit that took the WAL there
  for (int i = 0; i < 10; ++i) commitRow(db, 3'000);
  commits += 10;
  CHECK(wakes == 11);              // and every commit from then until a checkpoint
  CHECK(tmp.dbBytes() == before);  // the commits themselves copied nothing back

  // What the woken thread does: a checkpoint on a connection of its own.
  Database checkpointer(tmp.path());
  CHECK(checkpointer.checkpointNow());
  CHECK(tmp.dbBytes() >= before + static_cast<std::uintmax_t>(commits) * kPage);
  CHECK(rows(checkpointer) == commits);
  // The WAL was copied back whole: the next commit starts it again from its beginning.
  const std::uintmax_t walSize = tmp.walBytes();
  wakes = 0;
  for (int i = 0; i < 10; ++i) commitRow(db, 3'000);
  CHECK(tmp.walBytes() == walSize);
  CHECK(wakes == 0);
  CHECK_THROWS_AS(db.deferCheckpoints(10, 11, [] {}), std::invalid_argument);
}

TEST_CASE("background checkpoints: one thread per file copies back what its connections commit", "[db]") {
  TempDir tmp;
  Database a(tmp.path());
  a.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  a.checkpointInBackground(100);
  Database b(tmp.path());
  b.checkpointInBackground(100);
  REQUIRE(a.backgroundCheckpoints() != nullptr);
  CHECK(a.backgroundCheckpoints() == b.backgroundCheckpoints());  // one per file
  CHECK(pragmaWalAutocheckpoint(a) == 0);
  const std::uintmax_t before = tmp.dbBytes();

  for (int i = 0; i < 150; ++i) commitRow(i % 2 ? a : b, 3'000);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (a.backgroundCheckpoints()->checkpoints() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(a.backgroundCheckpoints()->checkpoints() > 0);
  CHECK(tmp.dbBytes() >= before + 100 * kPage);  // copied back by the thread, not by a commit
  CHECK(rows(b) == 150);

  // A file of its own gets a thread of its own.
  TempDir other;
  Database c(other.path());
  c.checkpointInBackground();
  CHECK(c.backgroundCheckpoints() != a.backgroundCheckpoints());
  CHECK_THROWS_AS(Database(":memory:").checkpointInBackground(), std::invalid_argument);
}
