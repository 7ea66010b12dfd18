#include "loyalty/ui/app_backend.hpp"

#include "loyalty/terminal/feedback.hpp"
#include "loyalty/terminal/housekeeping.hpp"
#include "loyalty/terminal/sync_background.hpp"
#include "loyalty/terminal/sync_link.hpp"

namespace loyalty::ui {

namespace {

using namespace loyalty::terminal;

class AppBackend final : public StoreBackend {
 public:
  AppBackend(db::Database db, CounterConfig config, std::string dataDir, AppBackendOptions options)
      : m_db(std::move(db)), m_config(std::move(config)), m_dataDir(std::move(dataDir)), m_options(std::move(options)),
        m_counter(m_db, m_config, m_ids), m_feedback(m_db, m_config.store.id, m_config.terminalId, m_ids, m_config.survey.dimensions),
        m_queries(m_db, m_config.zone), m_authoriser(makeRedemptionAuthoriser(m_db)) {
    // The counter's reads are index lookups: 8 MB of SQLite cache (32 MB by default) keeps the
    // upper levels of the indexes of a million members, and the app within its memory budget
    // (the file's pages are in the kernel's cache either way).
    m_db.exec("PRAGMA cache_size=-8192");
    // Registered with head office: redemptions are authorised online.
    m_counter.setAuthoriser(m_authoriser.get());
    // Attempts a crash left between asking head office and recording the redemption end first.
    m_counter.releaseInterruptedAttempts(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
  }
  ~AppBackend() override {
    // Background work first: it may be waiting on the worker, which refuses it now.
    m_housekeeping.reset();
    m_sync.reset();
  }

  db::Database& database() override { return m_db; }
  CounterService& counter() override { return m_counter; }
  FeedbackService& feedback() override { return m_feedback; }
  CounterQueries& queries() override { return m_queries; }
  StoreInfo info() const override {
    const CounterConfig& c = m_config;
    return {m_dataDir, c.store.id, c.terminalId, c.store.language, c.store.currency, c.consentTextVersion,
            c.rules.supervisorPinAbovePoints, c.rules.redeemPointsPerUnit, c.survey.scale, c.survey.dimensions};
  }
  void startBackground(StoreWriter& writer) override {
    // The outbox and change feed are kept in step with head office on the sync thread (its own
    // read connection); its writes, and the daily housekeeping's, come back to `writer`.
    m_sync = BackgroundSync::start(m_dataDir, writer, m_options.sync);
    if (m_options.housekeeping) m_housekeeping = std::make_unique<DailyHousekeeping>(writer, m_config.zone);
  }

 private:
  db::Database m_db;
  CounterConfig m_config;
  std::string m_dataDir;
  AppBackendOptions m_options;
  RandomIds m_ids;
  CounterService m_counter;
  FeedbackService m_feedback;
  CounterQueries m_queries;
  std::unique_ptr<HttpsRedemptionAuthoriser> m_authoriser;
  std::unique_ptr<BackgroundSync> m_sync;  // nullptr: not registered
  std::unique_ptr<DailyHousekeeping> m_housekeeping;
};

}  // namespace

std::unique_ptr<StoreBackend> openAppBackend(db::Database db, CounterConfig config, std::string dataDir,
                                             AppBackendOptions options) {
  return std::make_unique<AppBackend>(std::move(db), std::move(config), std::move(dataDir), std::move(options));
}

}  // namespace loyalty::ui
