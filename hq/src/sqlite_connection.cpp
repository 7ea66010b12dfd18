// SQLite backend of SqlConnection, on the project's db library (pragmas, statement cache).
#include <span>
#include <unordered_map>

#include "loyalty/db/database.hpp"
#include "loyalty/hq/sql.hpp"

namespace loyalty::hq {
namespace {

/// "$1" -> "?1": SQLite's numbered parameters bind by exactly that index.
std::string translate(std::string_view sql) {
  std::string out(sql);
  for (std::size_t i = 0; i + 1 < out.size(); ++i) {
    if (out[i] == '$' && out[i + 1] >= '0' && out[i + 1] <= '9') out[i] = '?';
  }
  return out;
}

class SqliteConnection final : public SqlConnection {
 public:
  // secure_delete: what is deleted or overwritten is zeroed in the file, so an erased member's
  // data (docs/security.md) and replaced report results leave no copy in free space.
  // Checkpoints in the background: an upload's commit only appends to the WAL (synced), and the
  // next request does not wait for its pages to be written back into the file and synced.
  explicit SqliteConnection(const std::string& path) : m_db(path) {
    m_db.exec("PRAGMA secure_delete=ON");
    m_db.checkpointInBackground();
  }

  std::string_view backend() const override { return "sqlite"; }

  void execScript(std::string_view sql) override { wrap([&] { m_db.exec(sql); }); }

  SqlRows query(std::string_view sql, const std::vector<SqlValue>& params) override {
    SqlRows out;
    wrap([&] {
      auto q = bound(sql, params);
      const int columns = q.columnCount();
      while (q.step()) {
        std::vector<std::optional<std::string>> row;
        row.reserve(static_cast<std::size_t>(columns));
        for (int c = 0; c < columns; ++c) row.push_back(q.optTextAt(c));
        out.rows.push_back(std::move(row));
      }
    });
    return out;
  }

  // In process: nothing to save by holding a statement back; no rows are copied out.
  void exec(std::string_view sql, const std::vector<SqlValue>& params) override { execValues(sql, params); }

  void execValues(std::string_view sql, std::span<const SqlValue> params) override {
    wrap([&] {
      auto q = bound(sql, params);
      while (q.step()) {
      }
    });
  }

  bool hasTable(std::string_view name) override {
    return !query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1", {std::string(name)}).empty();
  }

  void beginWrite() override { execScript("BEGIN IMMEDIATE"); }
  void beginRead() override {
    execScript("BEGIN DEFERRED");
    // A deferred transaction takes its snapshot at the first read: take it now.
    query("SELECT 1 FROM sqlite_master LIMIT 1", {});
  }
  void commit() override { execScript("COMMIT"); }
  void rollback() noexcept override {
    try {
      if (m_db.inTransaction()) m_db.exec("ROLLBACK");
    } catch (...) {
    }
  }

 private:
  /// The cached statement for `sql` with `params` bound.
  db::Query bound(std::string_view sql, std::span<const SqlValue> params) {
    auto it = m_translated.find(sql);
    if (it == m_translated.end()) it = m_translated.emplace(std::string(sql), translate(sql)).first;
    auto q = m_db.query(it->second);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i + 1);
      if (const auto* n = std::get_if<std::int64_t>(&params[i])) q.bind(index, *n);
      else if (const auto* s = std::get_if<std::string>(&params[i])) q.bindUnowned(index, *s);  // params outlive q
      else q.bindNull(index);
    }
    return q;
  }

  template <class F>
  void wrap(F&& f) {
    try {
      f();
    } catch (const db::DbError& e) {
      throw SqlError(e.what(), e.isStorageFailure());
    }
  }

  db::Database m_db;
  /// Looked up by the SQL's text as given, without copying it.
  struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view sql) const noexcept { return std::hash<std::string_view>{}(sql); }
  };
  std::unordered_map<std::string, std::string, TextHash, std::equal_to<>> m_translated;
};

}  // namespace

std::unique_ptr<SqlConnection> openSqlite(const std::string& path) {
  try {
    return std::make_unique<SqliteConnection>(path);
  } catch (const db::DbError& e) {
    throw SqlError(e.what(), e.isStorageFailure());
  }
}

}  // namespace loyalty::hq
