// PostgreSQL backend of SqlConnection: libpq's C API behind RAII handles, prepared statements
// cached by SQL text, text-format parameters and results.
#include <libpq-fe.h>

#include <memory>
#include <unordered_map>

#include "loyalty/hq/sql.hpp"

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

class PgConnection final : public SqlConnection {
 public:
  explicit PgConnection(const std::string& dsn) : m_conn(PQconnectdb(dsn.c_str())) {
    if (!m_conn) throw SqlError("PostgreSQL: out of memory connecting");
    if (PQstatus(m_conn.get()) != CONNECTION_OK) {
      throw SqlError("PostgreSQL: cannot connect (" + std::string(PQerrorMessage(m_conn.get())) + ")");
    }
    execScript("SET client_min_messages = warning");
    // Report queries run for well under a second on pre-aggregates; PostgreSQL's JIT compiles
    // for longer than that (measured: 1.5 s with JIT, 0.6 s without, on a month's members).
    execScript("SET jit = off");
    // A report's temporary table of per-member rows (half a million at 1M members) stays in
    // memory instead of temporary files; only allocated when a temporary table is used.
    execScript("SET temp_buffers = '128MB'");
  }

  std::string_view backend() const override { return "postgresql"; }

  void execScript(std::string_view sql) override {
    PgResult r(PQexec(m_conn.get(), std::string(sql).c_str()));
    check(r.get(), sql);
  }

  SqlRows query(std::string_view sql, const std::vector<SqlValue>& params) override {
    const std::string key(sql);
    auto it = m_prepared.find(key);
    if (it == m_prepared.end()) {
      const std::string name = "s" + std::to_string(m_prepared.size());
      PgResult p(PQprepare(m_conn.get(), name.c_str(), key.c_str(), 0, nullptr));
      check(p.get(), sql);
      it = m_prepared.emplace(key, name).first;
    }
    std::vector<std::string> text(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (const auto* n = std::get_if<std::int64_t>(&params[i])) text[i] = std::to_string(*n);
      else if (const auto* s = std::get_if<std::string>(&params[i])) text[i] = *s;
      else continue;
      values[i] = text[i].c_str();
    }
    PgResult r(PQexecPrepared(m_conn.get(), it->second.c_str(), static_cast<int>(params.size()), values.data(),
                              nullptr, nullptr, 0));
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

  bool hasTable(std::string_view name) override {
    return !query("SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1",
                  {std::string(name)})
                .empty();
  }

  void beginWrite() override {
    execScript("BEGIN");
    execScript(kWriterLock);
  }
  void beginRead() override { execScript("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); }
  void beginReadScratch() override { execScript("BEGIN ISOLATION LEVEL REPEATABLE READ"); }
  void commit() override { execScript("COMMIT"); }
  void rollback() noexcept override {
    if (PQtransactionStatus(m_conn.get()) != PQTRANS_IDLE) PgResult(PQexec(m_conn.get(), "ROLLBACK"));
  }

 private:
  void check(PGresult* r, std::string_view sql) {
    const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return;
    std::string message = r ? PQresultErrorMessage(r) : PQerrorMessage(m_conn.get());
    if (PQstatus(m_conn.get()) == CONNECTION_BAD) {
      // A lost server: reconnect for the next request; this one fails.
      PQreset(m_conn.get());
      m_prepared.clear();
    }
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    throw SqlError("PostgreSQL: " + message + " [" + std::string(sql.substr(0, 120)) + "]");
  }

  std::unique_ptr<PGconn, ConnCloser> m_conn;
  std::unordered_map<std::string, std::string> m_prepared;
};

}  // namespace

std::unique_ptr<SqlConnection> openPostgres(const std::string& dsn) { return std::make_unique<PgConnection>(dsn); }

}  // namespace loyalty::hq
