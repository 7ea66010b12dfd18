#pragma once
/// @brief SQLite RAII: Database (connection + pragmas), Statement, Transaction.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

namespace loyalty::db {

/// A broken environment (disk full, corrupt file, SQL bug): exceptional, not a business refusal.
class DbError : public std::runtime_error {
 public:
  DbError(const std::string& what, int code) : std::runtime_error(what), m_code(code) {}
  int code() const { return m_code; }
  /// SQLITE_CONSTRAINT and its extended codes.
  bool isConstraint() const { return (m_code & 0xFF) == SQLITE_CONSTRAINT; }

 private:
  int m_code;
};

struct OpenOptions {
  bool readOnly = false;
  int busyTimeoutMs = 5000;
  /// Page cache per connection. SQLite's default (2 MB) misses on most index pages of a store
  /// with a million members; 32 MB holds their upper levels and the hot leaves.
  int cacheKiB = 32 * 1024;
};

class Statement;

/// One connection. Opens with WAL, synchronous=FULL, foreign keys on and a busy timeout, all
/// set explicitly (never the build's defaults). Caches prepared statements by SQL text.
class Database {
 public:
  explicit Database(const std::string& path, OpenOptions options = {});
  Database(Database&&) noexcept = default;
  Database& operator=(Database&&) noexcept = default;
  ~Database();

  /// Runs one or more statements without results.
  void exec(std::string_view sql);
  /// A prepared statement from the cache, reset and with bindings cleared.
  Statement& prepare(std::string_view sql);

  std::int64_t lastInsertRowid() const;
  int changes() const;
  bool inTransaction() const;
  sqlite3* handle() const { return m_db.get(); }

  /// Keeps `data` with this connection for as long as it is open, under `name` (what SQLite 3.44
  /// calls client data): e.g. the keys a layer above derived for the files it opened.
  template <class T>
  void setClientData(const std::string& name, std::shared_ptr<const T> data) {
    m_clientData[name] = std::move(data);
  }
  /// What setClientData kept under `name` (the caller names the type it stored), or nullptr.
  template <class T>
  const T* clientData(const std::string& name) const {
    const auto it = m_clientData.find(name);
    return it == m_clientData.end() ? nullptr : static_cast<const T*>(it->second.get());
  }

 private:
  struct Closer {
    void operator()(sqlite3* db) const;
  };
  std::unique_ptr<sqlite3, Closer> m_db;
  std::unordered_map<std::string, std::unique_ptr<Statement>> m_cache;
  std::unordered_map<std::string, std::shared_ptr<const void>> m_clientData;
};

/// A prepared statement; bind by 1-based index, step, read columns by 0-based index.
class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, bool value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Statement& bindNull(int index);
  /// Binds bytes as a BLOB (compared byte-wise, never as text).
  Statement& bindBlob(int index, std::string_view bytes);
  Statement& bindBlob(int index, const std::string& bytes) { return bindBlob(index, std::string_view(bytes)); }
  Statement& bindBlob(int index, const std::optional<std::string>& bytes) {
    return bytes ? bindBlob(index, std::string_view(*bytes)) : bindNull(index);
  }
  template <class T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bindNull(index);
  }

  /// Advances; true while a row is available.
  bool step();
  /// Steps a statement that returns no rows (INSERT/UPDATE/DELETE).
  void run();
  void reset();

  std::int64_t getInt(int col) const;
  std::string getText(int col) const;
  std::optional<std::string> getOptText(int col) const;
  std::optional<std::int64_t> getOptInt(int col) const;
  std::string getBlob(int col) const;
  /// The column's bytes without a copy: valid until the next step or reset.
  std::string_view getBlobView(int col) const;
  std::optional<std::string> getOptBlob(int col) const;
  bool isNull(int col) const;
  int columnCount() const { return sqlite3_column_count(m_stmt.get()); }

 private:
  struct Finalizer {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  sqlite3* m_db;
  std::unique_ptr<sqlite3_stmt, Finalizer> m_stmt;
};

/// BEGIN IMMEDIATE (or a SAVEPOINT when already inside a transaction, so operations compose
/// into batches); rolls back in the destructor unless committed. Destructor never throws.
class Transaction {
 public:
  explicit Transaction(Database& db);
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  void commit();

 private:
  Database& m_db;
  std::string m_savepoint;  ///< empty for a top-level transaction
  bool m_done = false;
};

/// A read snapshot (BEGIN DEFERRED) for several statements that belong together: one set of
/// locks instead of one per statement. Ends in the destructor; does nothing when a transaction
/// is already open. Destructor never throws.
class ReadTransaction {
 public:
  explicit ReadTransaction(Database& db);
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;
  ~ReadTransaction();

 private:
  Database& m_db;
  bool m_owns = false;
};

}  // namespace loyalty::db
