#include "loyalty/terminal/sync_background.hpp"

#include "loyalty/terminal/store.hpp"
#include "loyalty/terminal/sync_link.hpp"

namespace loyalty::terminal {

BackgroundSync::BackgroundSync(db::Database db, const CounterConfig& config)
    : m_db(std::move(db)), m_service(m_db, config, m_ids), m_outbox(m_db), m_sink(m_db, m_service, [] {
        return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
      }) {}

BackgroundSync::~BackgroundSync() {
  if (m_engine) m_engine->stop();
}

std::unique_ptr<BackgroundSync> BackgroundSync::start(const std::string& dataDir, const CounterConfig& config,
                                                      sync::SyncEngineOptions options) {
  db::Database db = openTerminalDatabase(dataDir);
  const auto link = loadHqLink(db);
  if (!link) return nullptr;
  std::unique_ptr<BackgroundSync> self(new BackgroundSync(std::move(db), config));
  self->m_engine =
      std::make_unique<sync::SyncEngine>(link->endpoint(), self->m_outbox, self->m_sink, std::move(options));
  self->m_engine->start();
  return self;
}

}  // namespace loyalty::terminal
