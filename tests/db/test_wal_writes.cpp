// A Database's WAL writes are gathered and written once per commit (db/src/wal_writes.cpp).
// These tests hold it to what SQLite itself promises: a commit is in the file before another
// connection or process can see it (whatever `synchronous` says), a transaction larger than the
// page cache and the gathering limit commits or rolls back whole, and the file sees the writes in
// their order.
#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

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

}  // namespace

TEST_CASE("a commit is in the WAL file before another connection can see it, even unsynced", "[db][wal]") {
  loyalty::test::TempDir d;
  Database writer(file(d));
  writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
  // With synchronous=OFF SQLite never syncs the WAL, so nothing but the commit frame itself
  // tells the gathering layer to write: the reader must still find every row.
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
  {
    Database db(file(d));
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
  }
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 1;
    try {
      Database db(file(d));
      db.exec("PRAGMA synchronous=OFF");
      insertRows(db, 0, 300);  // about 80 pages: several gathered writes
      insertRows(db, 300, 1);
      code = 0;
    } catch (...) {
    }
    _exit(code);  // no close, no checkpoint: the WAL stays as written
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  Database db(file(d));
  CHECK(count(db, "SELECT COUNT(*) FROM t") == 301);
  CHECK(integrity(db) == "ok");
}

TEST_CASE("a transaction larger than the page cache and the gathering limit commits or rolls back whole", "[db][wal]") {
  loyalty::test::TempDir d;
  // 4 KiB pages and 64 KiB pages: frames of 4,120 and 65,560 bytes, so the gathered writes end
  // at many different offsets and lengths (the unix VFS cannot take a write of 128 KiB or more).
  for (const int pageSize : {4096, 65536}) {
    CAPTURE(pageSize);
    const std::string path = file(d, pageSize == 4096 ? "small.db" : "large.db");
    Database db(path, OpenOptions{.cacheKiB = 256});  // spills frames long before the commit
    db.exec("PRAGMA journal_mode=DELETE; PRAGMA page_size=" + std::to_string(pageSize) + "; PRAGMA journal_mode=WAL");
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
    db.exec("CREATE INDEX t_body ON t(body, id)");
    insertRows(db, 0, 6000);  // about 12 MB with the index: more than 1 MiB gathered, many times
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
