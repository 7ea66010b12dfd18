// Head office on SQLite copies its WAL back into the database file on a thread of its own, woken
// by the commits: an upload's commit only appends to the WAL (synced), it never also writes pages
// back and syncs the file. Whatever is committed is there for every connection at every moment,
// and the WAL stays bounded under commits that leave the thread no time.
#include <chrono>
#include <filesystem>
#include <thread>

#include "support/hq_fixture.hpp"

using namespace loyalty::test;
namespace fs = std::filesystem;

namespace {

constexpr std::uintmax_t kPage = 4096;
constexpr std::uintmax_t kFrame = kPage + 24;

std::uintmax_t sizeOr0(const fs::path& p) { return fs::exists(p) ? fs::file_size(p) : 0; }

/// One transaction of `rows` rows of 3,000 bytes: a page each.
void commitRows(loyalty::hq::SqlConnection& c, int rows) {
  c.beginWrite();
  for (int i = 0; i < rows; ++i) c.exec("INSERT INTO t(v) VALUES ($1)", {std::string(3'000, 'x')});
  c.commit();
}

}  // namespace

TEST_CASE("hq on SQLite: the WAL goes back into the database file off the committing thread", "[hq]") {
  TempDir dir;
  const fs::path db = dir.path() / "hq.db";
  const fs::path wal = dir.path() / "hq.db-wal";
  auto c = loyalty::hq::openSqlite(db.string());
  auto other = loyalty::hq::openSqlite(db.string());  // a second connection of the process: the same thread serves both
  c->execScript("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  const std::uintmax_t before = sizeOr0(db);

  // 1,200 pages in 12 commits: past the 1,000 that wake the thread.
  for (int i = 0; i < 12; ++i) commitRows(*c, 100);
  CHECK(other->query("SELECT COUNT(*) FROM t").integer(0, 0) == 1'200);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (sizeOr0(db) < before + 1'000 * kPage && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(sizeOr0(db) >= before + 1'000 * kPage);  // copied back, though no commit ran a checkpoint

  // Commits back to back, from both connections: the WAL stays within the committing
  // connections' backstop (4,096 pages) and one commit, whether the thread keeps up or not.
  std::uintmax_t largest = 0;
  for (int i = 0; i < 120; ++i) {
    commitRows(i % 2 ? *other : *c, 100);
    largest = std::max(largest, sizeOr0(wal));
  }
  CHECK(largest <= 32 + (4'096 + 2 * 100 + 8) * kFrame);
  CHECK(c->query("SELECT COUNT(*) FROM t").integer(0, 0) == 13'200);

  // The last connection closed: SQLite's own final checkpoint leaves no WAL behind.
  c.reset();
  other.reset();
  CHECK_FALSE(fs::exists(wal));
  auto again = loyalty::hq::openSqlite(db.string());
  CHECK(again->query("SELECT COUNT(*) FROM t").integer(0, 0) == 13'200);
}
