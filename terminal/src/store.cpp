#include "loyalty/terminal/store.hpp"

#include <filesystem>
#include <stdexcept>

#include "loyalty/terminal/schema.hpp"

namespace loyalty::terminal {

db::Database openTerminalDatabase(const std::string& dataDir) {
  std::error_code ec;
  std::filesystem::create_directories(dataDir, ec);
  if (ec) throw std::runtime_error("cannot create data directory " + dataDir + ": " + ec.message());
  db::Database database((std::filesystem::path(dataDir) / "terminal.db").string());
  db::migrate(database, terminalMigrations());
  return database;
}

namespace {

std::optional<std::string> metaValue(db::Database& db, const std::string& key) {
  auto& st = db.prepare("SELECT value FROM meta WHERE key = ?");
  st.bind(1, key);
  std::optional<std::string> v;
  if (st.step()) v = st.getText(0);
  st.reset();
  return v;
}

std::string settle(db::Database& db, const std::string& key, const std::optional<std::string>& wanted,
                   const std::string& fallback, bool hasEvents) {
  const auto stored = metaValue(db, key);
  if (wanted && wanted->empty()) throw std::runtime_error(key + " must not be empty");
  if (stored && wanted && *stored != *wanted && hasEvents) {
    throw std::runtime_error("this terminal's " + key + " is " + *stored + "; it cannot become " + *wanted +
                             " after events were recorded");
  }
  const std::string value = wanted.value_or(stored.value_or(fallback));
  if (!stored || *stored != value) {
    db.prepare("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
        .bind(1, key).bind(2, value).run();
  }
  return value;
}

}  // namespace

Identity resolveIdentity(db::Database& db, const std::optional<std::string>& storeId,
                         const std::optional<std::string>& terminalId) {
  db::Transaction tx(db);
  auto& st = db.prepare("SELECT EXISTS (SELECT 1 FROM outbox)");
  st.step();
  const bool hasEvents = st.getInt(0) != 0;
  st.reset();
  Identity id{settle(db, "store_id", storeId, "S001", hasEvents), settle(db, "terminal_id", terminalId, "T1", hasEvents)};
  tx.commit();
  return id;
}

std::int64_t outboxPending(db::Database& db) {
  auto& st = db.prepare(
      "SELECT COALESCE((SELECT MAX(seq) FROM outbox), 0) - "
      "(SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'outbox_acked_through')");
  st.step();
  const std::int64_t n = st.getInt(0);
  st.reset();
  return n;
}

}  // namespace loyalty::terminal
