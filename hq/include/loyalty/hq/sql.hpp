#pragma once
/// @brief One SQL connection interface over SQLite and PostgreSQL, so head office's logic and
/// its SQL are written once and behave the same on both backends.
///
/// SQL uses `$1, $2 ...` placeholders (PostgreSQL style; translated for SQLite) and only the
/// common dialect: BIGINT/TEXT columns, ON CONFLICT, RETURNING, CTEs, window functions.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace loyalty::hq {

class SqlConnection;

/// Schema text for a backend: `{{ID}}` becomes an identifier column type that orders byte-wise
/// on both backends (ABC ties are broken by member id, and the two must agree), `{{SERIAL}}`
/// an auto-numbered primary key.
std::string schemaForBackend(std::string sql, std::string_view backend);

/// An SQL expression for a top-level field of a JSON text column, as text (NULL when absent).
/// `field` is a constant of the caller's, never input. On PostgreSQL NULL too for a text holding
/// `\u0000` anywhere, whose cast to JSON fails (an earlier release stored such payloads; uploads
/// refuse them now): one such row no longer fails the whole statement; a caller that must read
/// those decodes them itself. Its text is the expression of the index events_member (privacy.cpp),
/// which a query must write the same to be served by it: keep it as it is (its guard is not
/// containsText's `> 0` turned round, which the index would not match).
std::string jsonTextExpr(std::string_view backend, const std::string& column, const std::string& field);

/// An SQL condition: text `column` holds `needle` (an SQL expression: a placeholder or a constant
/// of the caller's) anywhere: instr on SQLite, strpos on PostgreSQL.
std::string containsText(std::string_view backend, const std::string& column, const std::string& needle);

/// "VALUES ($1, $2), ($3, $4)" for `rows` rows of `width` values each: a multi-row INSERT's
/// placeholders, numbered in the order the values are bound.
std::string valuesList(std::size_t rows, std::size_t width);

/// True if `table` has `column` (for adding columns to an older database).
bool hasColumn(SqlConnection& c, const std::string& table, const std::string& column);
/// True if an index of that name exists (PostgreSQL: one the search path finds).
bool hasIndex(SqlConnection& c, const std::string& name);

/// An index an upgrade builds: its name and what follows "ON" ("sales(member_id, at, total)"; a
/// partial index's WHERE with it).
struct IndexDefinition {
  std::string name, on;
};

/// An upgrade step's indexes in place of others: when any of `build` is missing or any of
/// `replaced` is present, builds the missing ones, then drops those of `replaced` there, in the
/// caller's transaction. `reads` says in the log what the building reads ("every sale and
/// refund"); with nothing to build, why the others go. Idempotent: nothing (a catalogue read
/// an index) once done. Names and definitions are the caller's constants, never input.
void replaceIndexes(SqlConnection& c, const std::vector<IndexDefinition>& build, const std::vector<std::string>& replaced,
                    const std::string& reads);

/// A new store's share of the same indexes: each made (CREATE INDEX IF NOT EXISTS), with nothing
/// in the log. Names and definitions are the caller's constants.
void createIndexes(SqlConnection& c, const std::vector<IndexDefinition>& indexes);

/// PostgreSQL: fills the new pages of each of `tables` only to `percentFull` %, so that a row's
/// next version (an update of columns no index holds) fits on its page: a HOT update, no new
/// index entries (pages filled later keep the room; earlier ones as they are). One catalogue
/// query for all of them, then an ALTER TABLE only for those that lack the setting (none, once
/// done: the schema check at each start costs one statement). Idempotent; nothing on SQLite,
/// which updates rows in place.
void keepRoomForUpdates(SqlConnection& c, const std::vector<std::string>& tables, int percentFull);

/// A broken environment or an SQL bug (not a business refusal).
class SqlError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  SqlError(const std::string& what, bool storageFailure) : std::runtime_error(what), m_storage(storageFailure) {}
  /// The database's disk is full or failing (SQLite's FULL/IOERR, PostgreSQL's classes 53 and
  /// 58): the transaction rolled back and the request may succeed once the disk is back.
  bool isStorageFailure() const { return m_storage; }

 private:
  bool m_storage = false;
};

using SqlValue = std::variant<std::nullptr_t, std::int64_t, std::string>;

/// A statement's parameters, bound in the order its text names them: `p(v)` binds `v` and
/// answers its placeholder ("$3").
struct SqlParams {
  std::vector<SqlValue> values;
  std::string p(SqlValue v);
  /// A text parameter in a select list (PostgreSQL cannot infer its type there).
  std::string t(std::string v) { return "CAST(" + p(std::move(v)) + " AS TEXT)"; }
};

/// A page of a list: rows offset+1 .. offset+limit in the list's order; limit < 0: to the end.
/// Every list an answer holds is read as one.
struct RowPage {
  std::int64_t offset = 0;
  std::int64_t limit = -1;
};

/// " LIMIT $n OFFSET $m" of `page`, both bound (the statement's text is the same for every page,
/// so each backend prepares it once); "" for the whole list. No limit with an offset: NULL on
/// PostgreSQL, -1 on SQLite. `backend` is the connection's.
std::string pageClause(SqlParams& q, std::string_view backend, const RowPage& page);

/// Rows as text cells (NULL = nullopt), the common denominator of both client libraries.
class SqlRows {
 public:
  std::vector<std::vector<std::optional<std::string>>> rows;

  bool empty() const { return rows.empty(); }
  std::size_t size() const { return rows.size(); }
  bool isNull(std::size_t r, std::size_t c) const { return !rows.at(r).at(c).has_value(); }
  std::string text(std::size_t r, std::size_t c) const;
  std::optional<std::string> optText(std::size_t r, std::size_t c) const { return rows.at(r).at(c); }
  std::int64_t integer(std::size_t r, std::size_t c) const;
  std::optional<std::int64_t> optInteger(std::size_t r, std::size_t c) const;
};

class SqlConnection {
 public:
  virtual ~SqlConnection() = default;
  /// "sqlite" or "postgresql".
  virtual std::string_view backend() const = 0;
  /// Runs statements without parameters or results (schema scripts).
  virtual void execScript(std::string_view sql) = 0;
  /// Runs one statement with parameters; rows if it returns any.
  virtual SqlRows query(std::string_view sql, const std::vector<SqlValue>& params = {}) = 0;
  /// Runs one statement whose result nobody reads (ingest's inserts and updates). A backend may
  /// hold it back and send it with the next statement (PostgreSQL: pipelined, one round trip for
  /// all of them); order is kept, so every later query, script, commit or rollback comes after
  /// it. An error surfaces at the latest at commit, and the transaction is rolled back as usual.
  virtual void exec(std::string_view sql, const std::vector<SqlValue>& params = {}) { query(sql, params); }
  /// exec() over values held elsewhere (ingest's row buffers), which a backend may bind without
  /// copying them.
  virtual void execValues(std::string_view sql, std::span<const SqlValue> params) {
    exec(sql, std::vector<SqlValue>(params.begin(), params.end()));
  }
  virtual bool hasTable(std::string_view name) = 0;
  /// A write transaction that excludes every other writer (all processes) until it ends.
  virtual void beginWrite() = 0;
  /// A write transaction that does not wait for writers of the whole store (beginWrite): it
  /// writes only rows that lockRow() guards, and every writer of those rows takes the same
  /// locks, or rows whose own lock suffices (PostgreSQL's, taken by UPDATE or SELECT ... FOR
  /// UPDATE: one outreach message's). Where the backend has one writer at a time anyway
  /// (SQLite), the same as beginWrite().
  virtual void beginRowWrite() { beginWrite(); }
  /// Within a transaction: waits until no other transaction holds `key` of `space`, and holds it
  /// until this one ends (PostgreSQL: a transaction-level advisory lock on the key's hash). A
  /// no-op where writers never run at once (SQLite).
  /// kDashboardName: the name dashboard sessions and sign-in tickets are opened under (a
  /// dashboard account's or an API token's), held by whatever opens them or ends them.
  /// kSearchKeys: head office's member search keys, held by whoever brings them up to date.
  enum class RowSpace { kMember = 7534, kTerminal = 7535, kDashboardName = 7536, kSearchKeys = 7537 };
  virtual void lockRow(RowSpace, std::string_view) {}
  /// A read snapshot: every query until commit() sees the same committed state.
  virtual void beginRead() = 0;
  /// A read snapshot in which temporary tables may also be written (ON COMMIT DROP ones: a
  /// report's intermediate rows). Where a read snapshot allows that, the same as beginRead().
  virtual void beginReadScratch() { beginRead(); }
  virtual void commit() = 0;
  virtual void rollback() noexcept = 0;
};

/// Commits or rolls back (destructor; never throws).
class SqlTransaction {
 public:
  enum class Kind { kWrite, kRowWrite, kRead, kReadScratch };
  explicit SqlTransaction(SqlConnection& c, Kind kind = Kind::kWrite) : m_c(c) {
    if (kind == Kind::kWrite) m_c.beginWrite();
    else if (kind == Kind::kRowWrite) m_c.beginRowWrite();
    else if (kind == Kind::kRead) m_c.beginRead();
    else m_c.beginReadScratch();
  }
  SqlTransaction(const SqlTransaction&) = delete;
  SqlTransaction& operator=(const SqlTransaction&) = delete;
  ~SqlTransaction() {
    if (!m_done) m_c.rollback();
  }
  void commit() {
    m_c.commit();
    m_done = true;
  }

 private:
  SqlConnection& m_c;
  bool m_done = false;
};

/// SQLite file (created if missing), WAL + synchronous=FULL through the project's db library.
std::unique_ptr<SqlConnection> openSqlite(const std::string& path);
/// PostgreSQL through libpq; `dsn` as libpq takes it ("host=... port=... dbname=..." or a URI).
/// The session shows as `application` in pg_stat_activity and the server's log, unless the DSN
/// names one itself (libpq's fallback_application_name).
std::unique_ptr<SqlConnection> openPostgres(const std::string& dsn, const std::string& application = "loyalty-hq");

}  // namespace loyalty::hq
