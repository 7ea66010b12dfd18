// PostgreSQL backend of SqlConnection: libpq's C API behind RAII handles, prepared statements
// cached by SQL text, text-format parameters and results.
#include <libpq-fe.h>
#include <poll.h>

#include <memory>
#include <optional>
#include <vector>
#include <unordered_map>

#include "loyalty/hq/sql.hpp"
#include "loyalty/hq/sql_unavailable.hpp"

namespace loyalty::hq {
namespace {

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultClear {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultClear>;

/// Every writer takes this advisory lock first, so batches from all processes (server, CLI)
/// apply one after another, exactly like SQLite's BEGIN IMMEDIATE.
constexpr const char* kWriterLock = "SELECT pg_advisory_xact_lock(7531)";
constexpr const char* kBeginWrite = "BEGIN ISOLATION LEVEL READ COMMITTED";

class PgConnection final : public SqlConnection {
 public:
  PgConnection(const std::string& dsn, const std::string& application) : m_conn(connect(dsn, application)) {
    if (!m_conn) throw SqlError("PostgreSQL: out of memory connecting");
    if (PQstatus(m_conn.get()) != CONNECTION_OK) {
      throw SqlError("PostgreSQL: cannot connect (" + std::string(PQerrorMessage(m_conn.get())) + ")");
    }
    settings();
  }

  std::string_view backend() const override { return "postgresql"; }

  void execScript(std::string_view sql) override {
    reviveIfLost();
    flush();
    PgResult r(PQexec(m_conn.get(), std::string(sql).c_str()));
    check(r.get(), sql);
  }

  SqlRows query(std::string_view sql, const std::vector<SqlValue>& params) override {
    reviveIfLost();
    Pending q{&prepared(sql), textOf(params)};
    PgResult r = m_pending.empty() ? execute(q) : pipeline(&q);
    check(r.get(), sql);
    SqlRows out;
    const int rows = PQntuples(r.get());
    const int cols = PQnfields(r.get());
    out.rows.reserve(static_cast<std::size_t>(rows));
    for (int i = 0; i < rows; ++i) {
      std::vector<std::optional<std::string>> row;
      row.reserve(static_cast<std::size_t>(cols));
      for (int c = 0; c < cols; ++c) {
        if (PQgetisnull(r.get(), i, c)) row.emplace_back(std::nullopt);
        else row.emplace_back(std::string(PQgetvalue(r.get(), i, c), static_cast<std::size_t>(PQgetlength(r.get(), i, c))));
      }
      out.rows.push_back(std::move(row));
    }
    return out;
  }

  void exec(std::string_view sql, const std::vector<SqlValue>& params) override {
    reviveIfLost();
    const std::string& name = prepared(sql);
    m_pending.push_back({&name, textOf(params)});
    // Bounded: the statements' parameters stay small, and the server's answers to one pipeline
    // (a few dozen bytes each) always fit the socket buffers while this side is still sending.
    if (m_pending.size() >= kMaxPending) flush();
  }

  bool hasTable(std::string_view name) override {
    return !query("SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1",
                  {std::string(name)})
                .empty();
  }

  // Writes read committed state after each lock they wait for (a statement's snapshot is taken
  // when it starts): said here, so a server or role whose default isolation is higher does not
  // change what the locks protect.
  void beginWrite() override {
    execScript(kBeginWrite);
    execScript(kWriterLock);
  }
  void beginRowWrite() override { execScript(kBeginWrite); }
  void lockRow(RowSpace space, std::string_view key) override {
    // Two keys: the space (members, terminals) and the key's 32-bit hash. Two keys that share
    // a hash only wait for each other; the store-wide lock (kWriterLock) is another key space.
    query("SELECT pg_advisory_xact_lock(CAST($1 AS INTEGER), hashtext($2))", {static_cast<std::int64_t>(space), std::string(key)});
  }
  void beginRead() override { execScript("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); }
  void beginReadScratch() override { execScript("BEGIN ISOLATION LEVEL REPEATABLE READ"); }
  void commit() override { execScript("COMMIT"); }
  void rollback() noexcept override {
    m_pending.clear();  // never sent: nothing to undo
    if (PQtransactionStatus(m_conn.get()) != PQTRANS_IDLE) PgResult(PQexec(m_conn.get(), "ROLLBACK"));
  }

 private:
  /// `dsn` as given (key=value pairs or a URI: expand_dbname reads it), named `application`
  /// unless it names itself; PQreset reconnects with the same.
  static PGconn* connect(const std::string& dsn, const std::string& application) {
    const char* keys[] = {"dbname", "fallback_application_name", nullptr};
    const char* values[] = {dsn.c_str(), application.c_str(), nullptr};
    return PQconnectdbParams(keys, values, 1);
  }

  /// A statement held back by exec(): its prepared name and its parameters as text.
  struct Pending {
    const std::string* name;
    std::vector<std::optional<std::string>> params;
  };
  static constexpr std::size_t kMaxPending = 1000;

  /// The prepared statement's name for `sql`, preparing it at its first use.
  const std::string& prepared(std::string_view sql) {
    const std::string key(sql);
    auto it = m_prepared.find(key);
    if (it != m_prepared.end()) return it->second;
    flush();  // statements held back come first, as written
    const std::string name = "s" + std::to_string(m_prepared.size());
    PgResult p(PQprepare(m_conn.get(), name.c_str(), key.c_str(), 0, nullptr));
    check(p.get(), sql);
    return m_prepared.emplace(key, name).first->second;
  }

  static std::vector<std::optional<std::string>> textOf(const std::vector<SqlValue>& params) {
    std::vector<std::optional<std::string>> text(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (const auto* n = std::get_if<std::int64_t>(&params[i])) text[i] = std::to_string(*n);
      else if (const auto* s = std::get_if<std::string>(&params[i])) text[i] = *s;
    }
    return text;
  }

  static std::vector<const char*> valuesOf(const Pending& q) {
    std::vector<const char*> values(q.params.size(), nullptr);
    for (std::size_t i = 0; i < q.params.size(); ++i) {
      if (q.params[i]) values[i] = q.params[i]->c_str();
    }
    return values;
  }

  PgResult execute(const Pending& q) {
    const auto values = valuesOf(q);
    return PgResult(PQexecPrepared(m_conn.get(), q.name->c_str(), static_cast<int>(values.size()), values.data(), nullptr,
                                   nullptr, 0));
  }

  /// Sends the statements held back, then `last` if given, in one pipeline (one round trip), and
  /// returns `last`'s result. The first failure is thrown (the statements after it were skipped
  /// by the server; the transaction is then rolled back by its owner).
  PgResult pipeline(const Pending* last) {
    std::vector<Pending> batch;
    batch.swap(m_pending);
    if (last) batch.push_back(*last);
    PGconn* conn = m_conn.get();
    if (PQenterPipelineMode(conn) != 1) check(nullptr, "enter pipeline mode");
    bool sent = true;
    for (const Pending& q : batch) {
      const auto values = valuesOf(q);
      if (PQsendQueryPrepared(conn, q.name->c_str(), static_cast<int>(values.size()), values.data(), nullptr, nullptr, 0) != 1) {
        sent = false;
        break;
      }
    }
    if (!sent || PQpipelineSync(conn) != 1) {
      const std::string message = PQerrorMessage(conn);
      m_prepared.clear();
      PQreset(conn);  // a half-sent pipeline leaves the connection unusable
      throw SqlError("PostgreSQL: " + message + " [pipelined statements]");
    }
    PgResult answer;
    PgResult failure;
    std::size_t failed = batch.size();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      PgResult r(PQgetResult(conn));
      for (PGresult* rest = PQgetResult(conn); rest != nullptr; rest = PQgetResult(conn)) PQclear(rest);
      const auto status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
      if (failed == batch.size() && status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        failed = i;
        failure = std::move(r);
      } else if (last && i + 1 == batch.size()) {
        answer = std::move(r);
      }
    }
    for (PGresult* r = PQgetResult(conn); r != nullptr; r = PQgetResult(conn)) {
      const bool synced = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
      PQclear(r);
      if (synced) break;
    }
    PQexitPipelineMode(conn);
    if (failed < batch.size()) check(failure.get(), "pipelined statement " + std::to_string(failed + 1) + " of " + std::to_string(batch.size()));
    return answer;
  }

  /// A connection whose server went away (a restart, a crash of another backend, an
  /// administrator's termination) has its socket readable: the server's last words or end of
  /// file. Found here, before this request's first statement, it is reconnected and
  /// nothing is lost; otherwise the request's first statement would fail on it. Every connection
  /// of an instance (writer, reader, counter lane) finds out on its own next use, not only the
  /// one whose request failed first.
  void reviveIfLost() {
    PGconn* conn = m_conn.get();
    if (!m_pending.empty()) return;
    if (PQstatus(conn) == CONNECTION_OK) {
      if (PQtransactionStatus(conn) != PQTRANS_IDLE) return;
      // The server's last words (a notice) and its end of file are two reads: read until
      // nothing more is waiting, or the end is seen.
      for (int reads = 0;; ++reads) {
        pollfd p{PQsocket(conn), POLLIN, 0};
        if (p.fd < 0 || ::poll(&p, 1, 0) <= 0 || reads == 8) return;  // nothing (more) arrived: still connected
        if (PQconsumeInput(conn) != 1 || PQstatus(conn) != CONNECTION_OK) break;
      }
    }
    reconnect();  // lost now, or an earlier reconnection found the server still down
  }

  /// A new session in place of a lost one: nothing prepared, nothing held back, the settings
  /// sent again. If the server is still down the connection stays lost, for the next try.
  void reconnect() {
    PQreset(m_conn.get());
    m_prepared.clear();
    m_pending.clear();
    if (PQstatus(m_conn.get()) == CONNECTION_OK) settings();
  }

  /// The session's settings (again after a reconnection: a new session starts without them).
  /// One round trip for all of them (one simple-query message holding the three SETs).
  void settings() {
    execScript(
        "SET client_min_messages = warning; "
        // Report queries run for well under a second on pre-aggregates; PostgreSQL's JIT compiles
        // for longer than that (measured: 1.5 s with JIT, 0.6 s without, on a month's members).
        "SET jit = off; "
        // A report's temporary table of per-member rows (half a million at 1M members) stays in
        // memory instead of temporary files; only allocated when a temporary table is used.
        "SET temp_buffers = '128MB'");
  }

  /// Sends what exec() held back (before any other statement, and before commit).
  void flush() {
    if (!m_pending.empty()) pipeline(nullptr);
  }

  void check(PGresult* r, std::string_view sql) {
    const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return;
    std::string message = r ? PQresultErrorMessage(r) : PQerrorMessage(m_conn.get());
    const bool lost = PQstatus(m_conn.get()) == CONNECTION_BAD;
    if (lost) reconnect();  // for the next request; this one fails
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    // SQLSTATE classes 53 (insufficient resources: disk full) and 58 (system error: I/O error);
    // 57P (the server shuts down, crashed or is starting: a PANIC on a full pg_wal ends there).
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    const std::string_view code = state ? state : "";
    const bool storage = code.starts_with("53") || code.starts_with("58");
    const std::string what = "PostgreSQL: " + message + " [" + std::string(sql.substr(0, 120)) + "]";
    if (lost || code.starts_with("57P")) throw SqlUnavailable(what);
    throw SqlError(what, storage);
  }

  std::unique_ptr<PGconn, ConnCloser> m_conn;
  std::unordered_map<std::string, std::string> m_prepared;
  std::vector<Pending> m_pending;  ///< exec()'s statements not sent yet
};

}  // namespace

std::unique_ptr<SqlConnection> openPostgres(const std::string& dsn, const std::string& application) {
  return std::make_unique<PgConnection>(dsn, application);
}

}  // namespace loyalty::hq
