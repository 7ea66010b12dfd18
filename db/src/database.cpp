#include "loyalty/db/database.hpp"

#include <chrono>
#include <thread>

#include "loyalty/db/background_checkpoints.hpp"
#include "wal_writes.hpp"

namespace loyalty::db {
namespace {

[[noreturn]] void fail(sqlite3* db, int rc, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  throw DbError(msg, db ? sqlite3_extended_errcode(db) : rc);
}

/// How long a commit that reached the bound waits for another connection's checkpoint (as long
/// as a connection's default busy timeout).
constexpr std::chrono::milliseconds kBackstopWait{5000};

}  // namespace

void Database::Closer::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

Database::Database(const std::string& path, OpenOptions options) {
  sqlite3* raw = nullptr;
  const int flags = (options.readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, detail::walWritesVfsName());
  m_db.reset(raw);
  if (rc != SQLITE_OK) fail(raw, rc, "cannot open database " + path);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, options.busyTimeoutMs);
  if (!options.readOnly) exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;");
  exec("PRAGMA cache_size=-" + std::to_string(options.cacheKiB));
}

Database::~Database() {
  // Statements must be finalised before the connection closes.
  m_cache.clear();
}

void Database::exec(std::string_view sql) {
  char* err = nullptr;
  const std::string text(sql);
  const int rc = sqlite3_exec(m_db.get(), text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw DbError("SQL failed (" + msg + "): " + text.substr(0, 200), sqlite3_extended_errcode(m_db.get()));
  }
}

Query Database::query(std::string_view sql) {
  auto it = m_cache.find(sql);
  if (it == m_cache.end()) {
    it = m_cache.emplace(std::string(sql), std::make_unique<Statement>(m_db.get(), sql)).first;
  } else if (it->second->m_inUse) {
    auto own = std::make_unique<Statement>(m_db.get(), sql);
    Statement& statement = *own;
    return Query(statement, std::move(own));
  }
  // A cached statement not in use was reset and cleared by the Query that used it last.
  return Query(*it->second, nullptr);
}

// [SECTION] Checkpoints off the commit path

int Database::onWalCommit(void* state, sqlite3* db, const char* schema, int pages) {
  auto& wal = *static_cast<WalState*>(state);
  int& pending = wal.pages[schema];
  pending = pages;
  if (pages < wal.boundPages) {
    if (wal.grown && pages >= wal.wakePages && std::string_view(schema) == "main") wal.grown();
    return SQLITE_OK;
  }
  // As SQLite's own automatic checkpoint does from this hook, with a larger limit. A PASSIVE
  // checkpoint that a reader holds back copies what it can; the next commit tries again.
  // Another connection's checkpoint (the background thread's) makes it answer BUSY at once,
  // busy handler or not, and that one does not copy what is committed while it runs: this one
  // waits for it (a few milliseconds at a time, for at most kBackstopWait) and copies the rest,
  // or the WAL would grow by every commit made while checkpoints overlap.
  const auto giveUp = std::chrono::steady_clock::now() + kBackstopWait;
  int log = 0, copied = 0;
  int rc = sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
  while (rc == SQLITE_BUSY && std::chrono::steady_clock::now() < giveUp) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    rc = sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
  }
  if (rc == SQLITE_OK) pending = log - copied;
  return SQLITE_OK;  // the commit is durable in the WAL whatever the checkpoint did
}

void Database::deferCheckpoints(int boundPages) {
  if (boundPages < 1) throw std::invalid_argument("deferCheckpoints: boundPages must be at least 1");
  if (!m_wal) m_wal = std::make_unique<WalState>();
  m_wal->boundPages = boundPages;
  // Replaces SQLite's automatic checkpoint (which is itself a WAL hook) on every database of
  // the connection, attached ones included.
  sqlite3_wal_hook(m_db.get(), &Database::onWalCommit, m_wal.get());
}

void Database::deferCheckpoints(int boundPages, int wakePages, std::function<void()> grown) {
  if (wakePages < 1 || wakePages > boundPages) throw std::invalid_argument("deferCheckpoints: wakePages must be 1..boundPages");
  deferCheckpoints(boundPages);
  m_wal->wakePages = wakePages;
  m_wal->grown = std::move(grown);
}

void Database::checkpointInBackground(int wakePages) {
  const char* file = sqlite3_db_filename(m_db.get(), "main");
  if (!file || !*file) throw std::invalid_argument("checkpointInBackground: the connection has no database file");
  m_background = BackgroundCheckpoints::of(file);
  deferCheckpoints(kDeferredCheckpointBoundPages, wakePages, [b = m_background.get()] { b->wake(); });
}

bool Database::checkpointNow(const std::string& schema) {
  int log = 0, copied = 0;
  const int rc = sqlite3_wal_checkpoint_v2(m_db.get(), schema.c_str(), SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return false;
  if (rc != SQLITE_OK) fail(m_db.get(), rc, "checkpoint " + schema);
  return true;
}

bool Database::checkpointWhenIdle() {
  if (!m_wal || inTransaction()) return false;
  bool ran = false;
  for (auto& [schema, pending] : m_wal->pages) {
    if (pending == 0) continue;
    int log = 0, copied = 0;
    const int rc = sqlite3_wal_checkpoint_v2(m_db.get(), schema.c_str(), SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
    if (rc != SQLITE_OK) continue;  // e.g. SQLITE_BUSY: another connection is checkpointing it
    pending = log - copied;
    ran = true;
  }
  return ran;
}

int Database::walPages(const std::string& schema) const {
  if (!m_wal) return 0;
  const auto it = m_wal->pages.find(schema);
  return it == m_wal->pages.end() ? 0 : it->second;
}

std::int64_t Database::lastInsertRowid() const { return sqlite3_last_insert_rowid(m_db.get()); }
int Database::changes() const { return sqlite3_changes(m_db.get()); }
bool Database::inTransaction() const { return sqlite3_get_autocommit(m_db.get()) == 0; }

Statement::Statement(sqlite3* db, std::string_view sql) : m_db(db) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  m_stmt.reset(raw);
  if (rc != SQLITE_OK) fail(db, rc, "cannot prepare: " + std::string(sql.substr(0, 200)));
}

Statement& Statement::bind(int index, std::int64_t value) {
  const int rc = sqlite3_bind_int64(m_stmt.get(), index, value);
  if (rc != SQLITE_OK) fail(m_db, rc, "bind");
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  const int rc = sqlite3_bind_text(m_stmt.get(), index, value.data(), static_cast<int>(value.size()),
                                   SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) fail(m_db, rc, "bind");
  return *this;
}

Statement& Statement::bindUnowned(int index, std::string_view value) {
  const int rc = sqlite3_bind_text(m_stmt.get(), index, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
  if (rc != SQLITE_OK) fail(m_db, rc, "bind");
  return *this;
}

Statement& Statement::bindBlob(int index, std::string_view bytes) {
  const int rc = sqlite3_bind_blob(m_stmt.get(), index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) fail(m_db, rc, "bind");
  return *this;
}

Statement& Statement::bindNull(int index) {
  const int rc = sqlite3_bind_null(m_stmt.get(), index);
  if (rc != SQLITE_OK) fail(m_db, rc, "bind");
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(m_stmt.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const std::string sql = sqlite3_sql(m_stmt.get());
  sqlite3_reset(m_stmt.get());
  fail(m_db, rc, "step failed: " + sql.substr(0, 200));
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() noexcept {
  sqlite3_reset(m_stmt.get());
  sqlite3_clear_bindings(m_stmt.get());
}

std::int64_t Statement::getInt(int col) const { return sqlite3_column_int64(m_stmt.get(), col); }

std::string Statement::getText(int col) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt.get(), col));
  const int len = sqlite3_column_bytes(m_stmt.get(), col);
  return text ? std::string(text, static_cast<std::size_t>(len)) : std::string();
}

std::optional<std::string> Statement::getOptText(int col) const {
  if (isNull(col)) return std::nullopt;
  return getText(col);
}

std::optional<std::int64_t> Statement::getOptInt(int col) const {
  if (isNull(col)) return std::nullopt;
  return getInt(col);
}

std::string Statement::getBlob(int col) const { return std::string(getBlobView(col)); }

std::string_view Statement::getBlobView(int col) const {
  const auto* bytes = static_cast<const char*>(sqlite3_column_blob(m_stmt.get(), col));
  const int len = sqlite3_column_bytes(m_stmt.get(), col);
  return bytes ? std::string_view(bytes, static_cast<std::size_t>(len)) : std::string_view();
}

std::optional<std::string> Statement::getOptBlob(int col) const {
  if (isNull(col)) return std::nullopt;
  return getBlob(col);
}

bool Statement::isNull(int col) const { return sqlite3_column_type(m_stmt.get(), col) == SQLITE_NULL; }

int Statement::columnIndex(std::string_view name) const {
  const int count = columnCount();
  // A schema change may re-prepare a statement with other columns ("SELECT *"): count again.
  if (m_columnNames.size() != static_cast<std::size_t>(count)) {
    m_columnNames.clear();
    for (int c = 0; c < count; ++c) {
      const char* n = sqlite3_column_name(m_stmt.get(), c);
      m_columnNames.emplace_back(n ? n : "");
    }
  }
  int found = -1;
  for (int c = 0; c < count; ++c) {
    if (m_columnNames[static_cast<std::size_t>(c)] != name) continue;
    if (found >= 0) {
      throw DbError("column \"" + std::string(name) + "\" is returned twice (give it an alias): " +
                        std::string(sqlite3_sql(m_stmt.get())).substr(0, 200),
                    SQLITE_MISUSE);
    }
    found = c;
  }
  if (found < 0) {
    throw DbError("no column \"" + std::string(name) + "\" in: " + std::string(sqlite3_sql(m_stmt.get())).substr(0, 200),
                  SQLITE_RANGE);
  }
  return found;
}

Query::Query(Statement& statement, std::unique_ptr<Statement> own) : m_statement(&statement), m_own(std::move(own)) {
  m_statement->m_inUse = true;
}

Query::Query(Query&& other) noexcept
    : m_statement(std::exchange(other.m_statement, nullptr)), m_own(std::move(other.m_own)) {}

Query::~Query() {
  if (!m_statement) return;
  m_statement->reset();
  m_statement->m_inUse = false;
}

Transaction::Transaction(Database& db) : m_db(db) {
  if (db.inTransaction()) {
    m_savepoint = "sp_" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
    db.exec("SAVEPOINT " + m_savepoint);
  } else {
    db.query("BEGIN IMMEDIATE").run();  // prepared once per connection, as COMMIT below
  }
}

Transaction::~Transaction() {
  if (m_done) return;
  // Never throw from a destructor: a failed rollback leaves SQLite to roll back on close.
  const std::string sql = m_savepoint.empty()
                              ? std::string("ROLLBACK")
                              : "ROLLBACK TO " + m_savepoint + "; RELEASE " + m_savepoint;
  sqlite3_exec(m_db.handle(), sql.c_str(), nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  if (m_savepoint.empty()) {
    m_db.query("COMMIT").run();
  } else {
    m_db.exec("RELEASE " + m_savepoint);
  }
  m_done = true;
}

ReadTransaction::ReadTransaction(Database& db) : m_db(db) {
  if (!db.inTransaction()) {
    db.exec("BEGIN DEFERRED");
    m_owns = true;
  }
}

ReadTransaction::~ReadTransaction() {
  if (m_owns) sqlite3_exec(m_db.handle(), "COMMIT", nullptr, nullptr, nullptr);
}

bool hasTable(Database& db, std::string_view table, std::string_view schema) {
  return db.query("SELECT 1 FROM \"" + std::string(schema) + "\".sqlite_schema WHERE type = 'table' AND name = ?")
      .bind(1, std::string(table))
      .step();
}

void useTemporaryDirectory(const std::string& dir) {
  char* previous = sqlite3_temp_directory;
  sqlite3_temp_directory = sqlite3_mprintf("%s", dir.c_str());
  sqlite3_free(previous);
}

}  // namespace loyalty::db
