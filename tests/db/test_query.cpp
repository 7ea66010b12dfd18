// Query: one use of a cached statement that resets itself, with columns read by name.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "loyalty/db/database.hpp"

using namespace loyalty::db;

namespace {

/// An in-memory database with two rows, (1, 'a', NULL, x'00ff') and (2, 'b', 7, NULL).
Database twoRows() {
  Database db(":memory:");
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, n INTEGER, data BLOB);"
          "INSERT INTO t VALUES (1, 'a', NULL, x'00ff'), (2, 'b', 7, NULL);");
  return db;
}

/// A statement still stepping over a table locks it against DROP on the same connection:
/// true when nothing holds `t` any more.
bool tableFree(Database& db) {
  db.exec("SAVEPOINT probe");
  bool free = true;
  try {
    db.exec("DROP TABLE t");
  } catch (const DbError& e) {
    if ((e.code() & 0xFF) != SQLITE_LOCKED) throw;
    free = false;
  }
  db.exec("ROLLBACK TO probe; RELEASE probe");
  return free;
}

}  // namespace

TEST_CASE("a query reads columns by name, NULLs as empty optionals", "[db]") {
  Database db = twoRows();
  auto q = db.query("SELECT id, name, n AS count, data FROM t ORDER BY id");
  REQUIRE(q.step());
  CHECK(q.int64("id") == 1);
  CHECK(q.text("name") == "a");
  CHECK(q.isNull("count"));
  CHECK_FALSE(q.optInt64("count").has_value());
  CHECK(q.blob("data") == std::string("\x00\xff", 2));
  CHECK(q.blobView("data").size() == 2);
  REQUIRE(q.step());
  CHECK(q.optInt64("count") == 7);
  CHECK(q.optText("name") == "b");
  CHECK_FALSE(q.optBlob("data").has_value());
  CHECK_FALSE(q.step());
}

TEST_CASE("a column the statement does not return, or returns twice, is an error naming it", "[db]") {
  Database db = twoRows();
  auto q = db.query("SELECT id, name FROM t");
  REQUIRE(q.step());
  CHECK_THROWS_WITH(q.text("nme"), Catch::Contains("no column \"nme\""));
  auto twice = db.query("SELECT a.id, b.id FROM t a JOIN t b ON a.id = b.id");
  REQUIRE(twice.step());
  CHECK_THROWS_WITH(twice.int64("id"), Catch::Contains("column \"id\" is returned twice"));
}

TEST_CASE("a query resets its statement and clears its bindings when its scope ends", "[db]") {
  Database db = twoRows();
  const std::string sql = "SELECT id, ?1 AS tag FROM t ORDER BY id";
  {
    auto q = db.query(sql).bind(1, "first");
    REQUIRE(q.step());  // one row read, one left: the statement is still active
    CHECK(q.text("tag") == "first");
    CHECK_FALSE(tableFree(db));
  }
  CHECK(tableFree(db));
  // The same cached statement again: from the first row, with no binding left over.
  auto q = db.query(sql);
  REQUIRE(q.step());
  CHECK(q.int64("id") == 1);
  CHECK(q.isNull("tag"));
}

TEST_CASE("a query left by an exception is reset too", "[db]") {
  Database db = twoRows();
  try {
    auto q = db.query("SELECT id FROM t");
    REQUIRE(q.step());
    throw std::runtime_error("a reader gave up half-way");
  } catch (const std::runtime_error&) {
  }
  CHECK(tableFree(db));
}

TEST_CASE("statements run on a temporary query and leave nothing bound", "[db]") {
  Database db = twoRows();
  db.query("INSERT INTO t(id, name, n) VALUES (?, ?, ?)").bind(1, 3).bind(2, std::string("c")).bind(3, std::optional<std::int64_t>{}).run();
  db.query("UPDATE t SET data = ? WHERE id = ?").bindBlob(1, std::string("xy")).bind(2, 3).run();
  auto q = db.query("SELECT name, n, data FROM t WHERE id = ?").bind(1, 3);
  REQUIRE(q.step());
  CHECK(q.text("name") == "c");
  CHECK_FALSE(q.optInt64("n"));
  CHECK(q.blob("data") == "xy");
  CHECK(tableFree(db) == false);  // q is still open here
}

TEST_CASE("the same SQL used again while a use of it is open gets a statement of its own", "[db]") {
  Database db = twoRows();
  const std::string sql = "SELECT id, name FROM t WHERE id >= ? ORDER BY id";
  std::vector<std::string> pairs;
  auto outer = db.query(sql).bind(1, 1);
  while (outer.step()) {
    auto inner = db.query(sql).bind(1, outer.int64("id"));
    while (inner.step()) pairs.push_back(outer.text("name") + inner.text("name"));
  }
  CHECK(pairs == std::vector<std::string>{"aa", "ab", "bb"});
}

TEST_CASE("a moved query keeps its row and resets once", "[db]") {
  Database db = twoRows();
  auto first = db.query("SELECT name FROM t ORDER BY id");
  REQUIRE(first.step());
  Query moved = std::move(first);
  CHECK(moved.text("name") == "a");
  REQUIRE(moved.step());
  CHECK(moved.text("name") == "b");
}
