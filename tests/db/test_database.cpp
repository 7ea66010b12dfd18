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

/// The first column of the first row of `sql`.
std::int64_t scalar(Database& db, const std::string& sql) {
  auto q = db.query("SELECT (" + sql + ") AS v");
  q.step();
  return q.int64("v");
}

/// A pragma's value: its one column has the pragma's name.
std::string pragmaText(Database& db, const std::string& name) {
  auto q = db.query("PRAGMA " + name);
  q.step();
  return q.text(name);
}

std::int64_t pragmaInt(Database& db, const std::string& name) {
  auto q = db.query("PRAGMA " + name);
  q.step();
  return q.int64(name);
}

constexpr Migration kMigrations[] = {
    {1, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"},
    {2, "ALTER TABLE t ADD COLUMN n INTEGER NOT NULL DEFAULT 0"},
};

}  // namespace

TEST_CASE("a database opens with WAL, synchronous=FULL and foreign keys, set explicitly", "[db]") {
  TempDb tmp;
  Database db(tmp.path());
  CHECK(pragmaText(db, "journal_mode") == "wal");
  CHECK(pragmaInt(db, "synchronous") == 2);  // FULL
  CHECK(pragmaInt(db, "foreign_keys") == 1);
}

TEST_CASE("migrations apply in order once and record the version", "[db]") {
  TempDb tmp;
  {
    Database db(tmp.path());
    CHECK(schemaVersion(db) == 0);
    CHECK(migrate(db, std::span(kMigrations).first(1)) == 1);
    db.query("INSERT INTO t(v) VALUES ('a')").run();
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
    db.query("INSERT INTO t(v) VALUES (?)").bind(1, "lost").run();
  }
  CHECK(scalar(db, "SELECT COUNT(*) FROM t") == 0);
  {
    Transaction outer(db);
    db.query("INSERT INTO t(v) VALUES (?)").bind(1, "kept").run();
    {
      Transaction inner(db);
      db.query("INSERT INTO t(v) VALUES (?)").bind(1, "inner lost").run();
    }
    {
      Transaction inner(db);
      db.query("INSERT INTO t(v) VALUES (?)").bind(1, "inner kept").run();
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
    db.query("INSERT INTO t(v) VALUES (NULL)").run();
    FAIL("expected a constraint error");
  } catch (const DbError& e) {
    CHECK(e.isConstraint());
  }
  // The cached statement is usable again afterwards.
  db.query("INSERT INTO t(v) VALUES (?)").bind(1, "ok").run();
  CHECK(scalar(db, "SELECT COUNT(*) FROM t") == 1);
}

TEST_CASE("statements bind and read optional values and UTF-8 text", "[db]") {
  TempDb tmp;
  Database db(tmp.path());
  migrate(db, kMigrations);
  db.query("INSERT INTO t(v, n) VALUES (?, ?)").bind(1, "王小明").bind(2, std::optional<std::int64_t>{}.value_or(7)).run();
  auto q = db.query("SELECT v, n, NULL AS missing FROM t");
  REQUIRE(q.step());
  CHECK(q.text("v") == "王小明");
  CHECK(q.int64("n") == 7);
  CHECK_FALSE(q.optText("missing").has_value());
}

TEST_CASE("a table rebuild that orphans rows is refused, naming the table, and changes nothing", "[db]") {
  TempDb tmp;
  Database db(tmp.path());
  constexpr Migration kRebuild[] = {
      {1, "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
          "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id));"
          "INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1, 1);"},
      {2, "CREATE TABLE parent_new (id INTEGER PRIMARY KEY); DROP TABLE parent;"
          "ALTER TABLE parent_new RENAME TO parent;",
       nullptr, true},
  };
  CHECK_THROWS_WITH(migrate(db, kRebuild), Catch::Contains("leaves rows of child without the row they reference"));
  CHECK(schemaVersion(db) == 1);
  CHECK(scalar(db, "SELECT COUNT(*) FROM parent") == 1);
}
