#pragma once
/// @brief SQLite RAII: Database (connection + pragmas), Query (a statement use that resets
/// itself, columns read by name), Transaction.

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace loyalty::db {

/// A broken environment (disk full, corrupt file, SQL bug): exceptional, not a business refusal.
class DbError : public std::runtime_error {
 public:
  DbError(const std::string& what, int code) : std::runtime_error(storageNote(code) + what), m_code(code) {}
  int code() const { return m_code; }
  /// SQLITE_CONSTRAINT and its extended codes.
  bool isConstraint() const { return (m_code & 0xFF) == SQLITE_CONSTRAINT; }
  /// The disk is full or failed a read, write or sync (SQLITE_FULL, SQLITE_IOERR and extended
  /// codes): the statement's transaction rolled back; it may succeed once space or the disk is back.
  bool isStorageFailure() const { return (m_code & 0xFF) == SQLITE_FULL || (m_code & 0xFF) == SQLITE_IOERR; }

 private:
  // Said first, in words a cashier or an operator can act on: the UI and the exec answer show
  // this message as it is.
  static std::string storageNote(int code) {
    if ((code & 0xFF) == SQLITE_FULL) return "the disk is full, nothing was saved (free space and try again): ";
    if ((code & 0xFF) == SQLITE_IOERR) return "the disk failed to read or write, nothing was saved: ";
    return {};
  }
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
class Query;
class BackgroundCheckpoints;

/// One connection. Opens with WAL, synchronous=FULL, foreign keys on and a busy timeout, all
/// set explicitly (never the build's defaults), through a VFS that writes each WAL frame in one
/// call (db/src/wal_writes.hpp). Caches prepared statements by SQL text.
class Database {
 public:
  explicit Database(const std::string& path, OpenOptions options = {});
  Database(Database&&) noexcept = default;
  Database& operator=(Database&&) noexcept = default;
  ~Database();

  /// Runs one or more statements without results.
  void exec(std::string_view sql);
  /// One use of the statement cached for `sql`: bind, step, read columns by name; it resets the
  /// statement and clears its bindings when it goes out of scope. Reading rows of a statement
  /// while another use of the same SQL is open gets a statement of its own.
  ///   auto q = db.query("SELECT name, points FROM members WHERE member_id = ?").bind(1, id);
  ///   if (q.step()) points = q.int64("points");
  ///   db.query("DELETE FROM meta WHERE key = ?").bind(1, key).run();
  Query query(std::string_view sql);

  std::int64_t lastInsertRowid() const;
  int changes() const;

  /// Takes WAL checkpoints off the commit path. SQLite's own (wal_autocheckpoint, 1000 pages)
  /// runs inside the commit that takes the WAL past the limit, so that one commit also writes
  /// pages back into the database file and syncs it. After this call a commit only appends to
  /// the WAL, and checkpoints there only once the WAL holds `boundPages` (a backstop under
  /// continuous load, so the WAL never grows without bound); the connection's owner calls
  /// checkpointWhenIdle() when it has nothing else to do. Durability is unchanged: a commit is
  /// synced to the WAL before it returns, checkpointed or not.
  void deferCheckpoints(int boundPages = kDeferredCheckpointBoundPages);
  /// As deferCheckpoints(boundPages), for an owner that checkpoints on another thread: after
  /// each commit that leaves the main database's WAL with `wakePages` or more (below the
  /// bound), `grown` is called from the committing thread, e.g. to wake a thread that
  /// checkpoints on a connection of its own (checkpointNow()). It must not touch this connection.
  void deferCheckpoints(int boundPages, int wakePages, std::function<void()> grown);
  /// Deferred checkpoints (the bound stays the backstop) copied back by the file's
  /// BackgroundCheckpoints thread, which the commits wake once the WAL holds `wakePages`; it
  /// lives at least as long as this connection.
  void checkpointInBackground(int wakePages = kBackgroundWakePages);
  /// The thread checkpointInBackground() wakes, or nullptr.
  const BackgroundCheckpoints* backgroundCheckpoints() const { return m_background.get(); }
  /// A PASSIVE checkpoint of `schema`, whichever connection grew its WAL: copies back what no
  /// reader's snapshot still needs, never waits. False if another checkpoint held it (busy).
  bool checkpointNow(const std::string& schema = "main");
  /// A PASSIVE checkpoint (it never waits for readers or writers) of every database of this
  /// connection whose WAL this connection grew since its last checkpoint; true if one ran.
  bool checkpointWhenIdle();
  /// Pages in the WAL of `schema` after this connection's last commit or checkpoint there
  /// (0 after a checkpoint that copied them all back). Known only after deferCheckpoints().
  int walPages(const std::string& schema = "main") const;
  /// The default backstop: 4096 pages (16 MiB at 4 KiB pages), about 300 sales.
  static constexpr int kDeferredCheckpointBoundPages = 4096;
  /// The WAL size that wakes the background thread: SQLite's own automatic checkpoint's 1000 pages.
  static constexpr int kBackgroundWakePages = 1000;
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
  /// What the WAL hook knows (on the heap: SQLite keeps its address while the Database moves).
  struct WalState {
    int boundPages = 0;
    int wakePages = 0;
    std::function<void()> grown;  ///< called once the WAL holds wakePages (below boundPages)
    std::map<std::string, int, std::less<>> pages;  ///< per schema: WAL pages not known to be copied back
  };
  static int onWalCommit(void* state, sqlite3* db, const char* schema, int pages);
  std::shared_ptr<BackgroundCheckpoints> m_background;  // before m_wal: outlives the hook that wakes it
  std::unique_ptr<WalState> m_wal;  // before m_db: outlives the connection whose hook points at it
  std::unique_ptr<sqlite3, Closer> m_db;
  /// Looked up by the SQL's text as given, without copying it (a sale runs dozens of statements).
  struct SqlHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view sql) const noexcept { return std::hash<std::string_view>{}(sql); }
  };
  std::unordered_map<std::string, std::unique_ptr<Statement>, SqlHash, std::equal_to<>> m_cache;
  std::unordered_map<std::string, std::shared_ptr<const void>> m_clientData;
};

/// A prepared statement; bind by 1-based index, step, read columns by 0-based index or by name.
/// Reach it through Database::query(), which resets it for you.
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
  /// Binds text without copying it: the caller keeps `value`'s bytes alive and unchanged until
  /// this use of the statement ends (its reset), e.g. values it holds for the whole statement.
  Statement& bindUnowned(int index, std::string_view value);
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
  void reset() noexcept;

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
  /// The index of the result column called `name` (its alias, or the column's own name).
  /// Throws DbError for a name the statement does not return, or returns twice: the SQL and
  /// the code reading it disagree, which is a bug.
  int columnIndex(std::string_view name) const;

 private:
  friend class Database;
  friend class Query;
  struct Finalizer {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  sqlite3* m_db;
  std::unique_ptr<sqlite3_stmt, Finalizer> m_stmt;
  mutable std::vector<std::string> m_columnNames;  ///< filled at the first read by name
  bool m_inUse = false;                            ///< a Query holds it
};

/// One use of a prepared statement (from Database::query): resets the statement and clears its
/// bindings when it goes out of scope, however the scope ends. Move-only; must not outlive the
/// Database. Binds by 1-based index; reads the current row's columns by name.
class Query {
 public:
  Query(Query&& other) noexcept;
  Query& operator=(Query&&) = delete;
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  ~Query();

  /// Binds any type Statement::bind takes (integers, bool, text, optionals of them).
  template <class T>
  Query& bind(int index, const T& value) & {
    m_statement->bind(index, value);
    return *this;
  }
  /// The same on a temporary, so that `auto q = db.query(sql).bind(1, x);` keeps the use.
  template <class T>
  Query&& bind(int index, const T& value) && {
    m_statement->bind(index, value);
    return std::move(*this);
  }
  Query& bindNull(int index) & {
    m_statement->bindNull(index);
    return *this;
  }
  /// Statement::bindUnowned: `value` must outlive this use.
  Query& bindUnowned(int index, std::string_view value) & {
    m_statement->bindUnowned(index, value);
    return *this;
  }
  Query&& bindNull(int index) && {
    m_statement->bindNull(index);
    return std::move(*this);
  }
  /// Binds bytes (or NULL for an empty optional) as a BLOB.
  template <class Bytes>
  Query& bindBlob(int index, const Bytes& bytes) & {
    m_statement->bindBlob(index, bytes);
    return *this;
  }
  template <class Bytes>
  Query&& bindBlob(int index, const Bytes& bytes) && {
    m_statement->bindBlob(index, bytes);
    return std::move(*this);
  }

  /// Advances; true while a row is available.
  bool step() { return m_statement->step(); }
  /// Steps a statement that returns no rows (INSERT/UPDATE/DELETE).
  void run() { m_statement->run(); }

  std::int64_t int64(std::string_view column) const { return m_statement->getInt(index(column)); }
  std::optional<std::int64_t> optInt64(std::string_view column) const { return m_statement->getOptInt(index(column)); }
  std::string text(std::string_view column) const { return m_statement->getText(index(column)); }
  std::optional<std::string> optText(std::string_view column) const { return m_statement->getOptText(index(column)); }
  std::string blob(std::string_view column) const { return m_statement->getBlob(index(column)); }
  /// The column's bytes without a copy: valid until the next step or the end of this use.
  std::string_view blobView(std::string_view column) const { return m_statement->getBlobView(index(column)); }
  std::optional<std::string> optBlob(std::string_view column) const { return m_statement->getOptBlob(index(column)); }
  bool isNull(std::string_view column) const { return m_statement->isNull(index(column)); }

  /// For readers of any result shape (a generic SQL layer): the columns by position.
  int columnCount() const { return m_statement->columnCount(); }
  std::optional<std::string> optTextAt(int col) const { return m_statement->getOptText(col); }

 private:
  friend class Database;
  Query(Statement& statement, std::unique_ptr<Statement> own);
  int index(std::string_view column) const { return m_statement->columnIndex(column); }

  Statement* m_statement;              ///< nullptr once moved from
  std::unique_ptr<Statement> m_own;    ///< set when the cached statement was already in use
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

/// Whether `schema` ("main" or an attached database's name) has a table named `table`.
bool hasTable(Database& db, std::string_view table, std::string_view schema = "main");

/// Where SQLite writes the temporary files (sorts and temporary tables spilled to disk) of every
/// connection of this process, instead of SQLITE_TMPDIR, TMPDIR or /var/tmp. Process-wide, read by
/// SQLite without a lock: call it before the first connection opens.
void useTemporaryDirectory(const std::string& dir);

}  // namespace loyalty::db
