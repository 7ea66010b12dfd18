// A Database writes each WAL frame (header and page) in one call (db/src/wal_writes.cpp).
// These tests hold it to what SQLite itself promises: a commit is in the file before another
// connection or process can see it (whatever `synchronous` says), a transaction larger than the
// page cache commits or rolls back whole, its rolled-back frames never reach the file after
// another connection's commit, and a commit that rewrote its own frames survives a crash.
#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "loyalty/db/database.hpp"
#include "../support/temp_dir.hpp"

using namespace loyalty::db;

namespace {

/// DIR/NAME for a database of the test.
std::string file(const loyalty::test::TempDir& d, const char* name = "t.db") { return (d.path() / name).string(); }

std::int64_t count(Database& db, const std::string& sql) {
  auto q = db.query("SELECT (" + sql + ") AS v");
  REQUIRE(q.step());
  return q.int64("v");
}

std::string integrity(Database& db) {
  auto q = db.query("PRAGMA integrity_check");
  REQUIRE(q.step());
  return q.text("integrity_check");
}

/// `rows` rows of about 1 KB each in one transaction.
void insertRows(Database& db, int from, int rows) {
  Transaction tx(db);
  for (int i = from; i < from + rows; ++i) {
    db.query("INSERT INTO t (id, body) VALUES (?, ?)").bind(1, i).bind(2, std::string(1000, static_cast<char>('a' + i % 26))).run();
  }
  tx.commit();
}

/// Runs `work` in a child process that then dies without closing anything (no checkpoint, the
/// WAL left as written), as a killed program does; fails the test unless `work` returned.
void inDyingChild(const std::function<void()>& work) {
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 1;
    try {
      work();
      code = 0;
    } catch (...) {
    }
    _exit(code);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
}

/// A database with the test table and nothing in it.
void createTable(const std::string& path) {
  Database db(path);
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
}

}  // namespace

TEST_CASE("a commit is in the WAL file before another connection can see it, even unsynced", "[db][wal]") {
  loyalty::test::TempDir d;
  Database writer(file(d));
  writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
  // With synchronous=OFF SQLite never syncs the WAL: the reader must still find every row.
  writer.exec("PRAGMA synchronous=OFF");
  Database reader(file(d));
  for (int round = 0; round < 50; ++round) {
    insertRows(writer, round * 10, 10);
    CHECK(count(reader, "SELECT COUNT(*) FROM t") == (round + 1) * 10);
  }
  CHECK(count(reader, "SELECT SUM(length(body)) FROM t") == 500 * 1000);
  CHECK(integrity(reader) == "ok");
}

TEST_CASE("a process that dies right after an unsynced commit leaves the commit in the file", "[db][wal]") {
  loyalty::test::TempDir d;
  createTable(file(d));
  inDyingChild([&] {
    Database db(file(d));
    db.exec("PRAGMA synchronous=OFF");
    insertRows(db, 0, 300);  // about 80 pages
    insertRows(db, 300, 1);
  });
  Database db(file(d));
  CHECK(count(db, "SELECT COUNT(*) FROM t") == 301);
  CHECK(integrity(db) == "ok");
}

TEST_CASE("a transaction larger than the page cache commits or rolls back whole", "[db][wal]") {
  loyalty::test::TempDir d;
  // 4 KiB pages and 64 KiB pages: frames of 4,120 and 65,560 bytes (the largest a frame gets;
  // the unix VFS cannot take a write of 128 KiB or more).
  for (const int pageSize : {4096, 65536}) {
    CAPTURE(pageSize);
    const std::string path = file(d, pageSize == 4096 ? "small.db" : "large.db");
    Database db(path, OpenOptions{.cacheKiB = 256});  // spills frames long before the commit
    db.exec("PRAGMA journal_mode=DELETE; PRAGMA page_size=" + std::to_string(pageSize) + "; PRAGMA journal_mode=WAL");
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
    db.exec("CREATE INDEX t_body ON t(body, id)");
    insertRows(db, 0, 6000);  // about 12 MB with the index: frames spilled long before the commit
    {
      Transaction tx(db);
      for (int i = 6000; i < 10000; ++i) {
        db.query("INSERT INTO t (id, body) VALUES (?, ?)").bind(1, i).bind(2, std::string(1000, '#')).run();
      }
      db.query("UPDATE t SET body = 'changed' WHERE id < 3000").run();
      // not committed: rolls back, after its frames were written past the last commit
    }
    insertRows(db, 6000, 500);  // overwrites the rolled-back frames, from the last commit on
    Database other(path);
    CHECK(count(other, "SELECT COUNT(*) FROM t") == 6500);
    CHECK(count(other, "SELECT COUNT(*) FROM t WHERE body = 'changed' OR body LIKE '#%'") == 0);
    CHECK(integrity(other) == "ok");
    other.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    CHECK(count(db, "SELECT SUM(length(body)) FROM t") == 6500 * 1000);
    CHECK(integrity(db) == "ok");
  }
}

TEST_CASE("a rolled-back transaction's early frames never land on another connection's commit", "[db][wal]") {
  loyalty::test::TempDir d;
  Database big(file(d), OpenOptions{.cacheKiB = 256});
  big.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
  insertRows(big, 0, 100);
  Database other(file(d));
  for (int round = 0; round < 3; ++round) {
    // The committed pages go back into the database file, so the rollback below has no reason to
    // read the WAL; its spilled frames start at the WAL's first frame.
    other.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    {
      Transaction tx(big);  // spills frames to the WAL, then rolls back
      for (int i = 0; i < 600; ++i) {
        big.query("INSERT INTO t (id, body) VALUES (?, ?)").bind(1, 100000 + i).bind(2, std::string(1000, '#')).run();
      }
    }
    insertRows(other, 1000 + round * 10, 10);  // written where the rolled-back frames were
    CHECK(count(big, "SELECT COUNT(*) FROM t") == 100 + (round + 1) * 10);  // big reads the WAL again
    CHECK(count(other, "SELECT COUNT(*) FROM t WHERE body LIKE '#%'") == 0);
  }
  CHECK(integrity(other) == "ok");
  other.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  CHECK(count(big, "SELECT COUNT(*) FROM t") == 130);
  CHECK(integrity(big) == "ok");
}

TEST_CASE("a commit that rewrote its own frames survives a crash right after it, even unsynced", "[db][wal]") {
  loyalty::test::TempDir d;
  createTable(file(d));
  inDyingChild([&] {
    Database db(file(d), OpenOptions{.cacheKiB = 256});
    db.exec("PRAGMA synchronous=OFF; PRAGMA wal_autocheckpoint=0");  // no read of the WAL after the commit
    Transaction tx(db);
    for (int i = 0; i < 3000; ++i) {  // spills the first pages to the WAL...
      db.query("INSERT INTO t (id, body) VALUES (?, ?)").bind(1, i).bind(2, std::string(1000, 'a')).run();
    }
    // ...which this changes again: the commit overwrites those frames and rewrites the
    // checksums of every frame from the first one it overwrote.
    db.query("UPDATE t SET body = 'changed' WHERE id < 50").run();
    tx.commit();
  });
  Database db(file(d));
  CHECK(count(db, "SELECT COUNT(*) FROM t") == 3000);
  CHECK(count(db, "SELECT COUNT(*) FROM t WHERE body = 'changed'") == 50);
  CHECK(integrity(db) == "ok");
}
