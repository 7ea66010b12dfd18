#include <catch2/catch.hpp>

#include <filesystem>

#include "loyalty/db/database.hpp"
#include "loyalty/db/migrations.hpp"

using namespace loyalty::db;

namespace {

/// A fresh database file in a temp directory, removed afterwards.
struct TempDb {
  std::filesystem::path dir;
  TempDb() {
    dir = std::filesystem::temp_directory_path() / ("loyalty-db-test-" + std::to_string(::getpid()) + "-" +
                                                     std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    std::filesystem::create_directories(dir);
  }
  ~TempDb() { std::filesystem::remove_all(dir); }
  std::string path() const { return (dir / "t.db").string(); }
};

std::int64_t scalar(Database& db, const char* sql) {
  auto& st = db.prepare(sql);
  st.step();
  const auto v = st.getInt(0);
  st.reset();
  return v;
}

std::string text(Database& db, const char* sql) {
  auto& st = db.prepare(sql);
  st.step();
  auto v = st.getText(0);
  st.reset();
  return v;
}

constexpr Migration kMigrations[] = {
    {1, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"},
    {2, "ALTER TABLE t ADD COLUMN n INTEGER NOT NULL DEFAULT 0"},
};

}  // namespace

TEST_CASE("a database opens with WAL, synchronous=FULL and foreign keys, set explicitly", "[db]") {
  TempDb tmp;
  Database db(tmp.path());
  CHECK(text(db, "PRAGMA journal_mode") == "wal");
  CHECK(scalar(db, "PRAGMA synchronous") == 2);  // FULL
  CHECK(scalar(db, "PRAGMA foreign_keys") == 1);
}

TEST_CASE("migrations apply in order once and record the version", "[db]") {
  TempDb tmp;
  {
    Database db(tmp.path());
    CHECK(schemaVersion(db) == 0);
    CHECK(migrate(db, std::span(kMigrations).first(1)) == 1);
    db.prepare("INSERT INTO t(v) VALUES ('a')").run();
  }
  Database db(tmp.path());
  CHECK(migrate(db, kMigrations) == 2);
  CHECK(migrate(db, kMigrations) == 2);  // idempotent
  CHECK(scalar(db, "SELECT n FROM t") == 0);
  CHECK(scalar(db, "SELECT COUNT(*) FROM schema_version") == 1);
}

TEST_CASE("a database newer than the program is refused, not damaged", "[db]") {
  TempDb tmp;
  Database db(tmp.path());
  migrate(db, kMigrations);
  CHECK_THROWS_AS(migrate(db, std::span(kMigrations).first(1)), DbError);
  CHECK(schemaVersion(db) == 2);
}

TEST_CASE("a failing migration leaves the previous version intact", "[db]") {
  TempDb tmp;
  Database db(tmp.path());
  const Migration broken[] = {kMigrations[0], {2, "ALTER TABLE t ADD COLUMN x INTEGER; SELECT * FROM nowhere;"}};
  CHECK_THROWS(migrate(db, broken));
  CHECK(schemaVersion(db) == 1);
  CHECK(migrate(db, kMigrations) == 2);  // the column x was rolled back with it
}

TEST_CASE("a transaction rolls back unless committed - nested ones are savepoints", "[db]") {
  TempDb tmp;
  Database db(tmp.path());
  migrate(db, kMigrations);
  {
    Transaction tx(db);
    db.prepare("INSERT INTO t(v) VALUES (?)").bind(1, "lost").run();
  }
  CHECK(scalar(db, "SELECT COUNT(*) FROM t") == 0);
  {
    Transaction outer(db);
    db.prepare("INSERT INTO t(v) VALUES (?)").bind(1, "kept").run();
    {
      Transaction inner(db);
      db.prepare("INSERT INTO t(v) VALUES (?)").bind(1, "inner lost").run();
    }
    {
      Transaction inner(db);
      db.prepare("INSERT INTO t(v) VALUES (?)").bind(1, "inner kept").run();
      inner.commit();
    }
    outer.commit();
  }
  CHECK(scalar(db, "SELECT COUNT(*) FROM t") == 2);
  CHECK(scalar(db, "SELECT COUNT(*) FROM t WHERE v LIKE '%lost'") == 0);
}

TEST_CASE("constraint violations surface as DbError with the constraint code", "[db]") {
  TempDb tmp;
  Database db(tmp.path());
  migrate(db, kMigrations);
  try {
    db.prepare("INSERT INTO t(v) VALUES (NULL)").run();
    FAIL("expected a constraint error");
  } catch (const DbError& e) {
    CHECK(e.isConstraint());
  }
  // The cached statement is usable again afterwards.
  db.prepare("INSERT INTO t(v) VALUES (?)").bind(1, "ok").run();
  CHECK(scalar(db, "SELECT COUNT(*) FROM t") == 1);
}

TEST_CASE("statements bind and read optional values and UTF-8 text", "[db]") {
  TempDb tmp;
  Database db(tmp.path());
  migrate(db, kMigrations);
  db.prepare("INSERT INTO t(v, n) VALUES (?, ?)").bind(1, "王小明").bind(2, std::optional<std::int64_t>{}.value_or(7)).run();
  auto& st = db.prepare("SELECT v, n, NULL FROM t");
  REQUIRE(st.step());
  CHECK(st.getText(0) == "王小明");
  CHECK(st.getInt(1) == 7);
  CHECK_FALSE(st.getOptText(2).has_value());
  st.reset();
}
