#include "loyalty/terminal/sync_background.hpp"

#include "loyalty/terminal/store.hpp"
#include "loyalty/terminal/sync_link.hpp"
#include "loyalty/terminal/update.hpp"

namespace loyalty::terminal {

namespace {

Timestamp now() { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); }

}  // namespace

/// The outbox seen from the engine's thread: reads on the read connection, the acknowledgement
/// written by the writer.
class BackgroundSync::Outbox final : public sync::OutboxSource {
 public:
  Outbox(db::Database& read, StoreWriter& writer) : m_reads(read), m_writer(writer) {}
  std::string terminalId() override { return m_reads.terminalId(); }
  std::int64_t ackedThrough() override { return m_reads.ackedThrough(); }
  std::vector<sync::EventEnvelope> eventsAfter(std::int64_t afterSeq, std::size_t limit) override {
    return m_reads.eventsAfter(afterSeq, limit);
  }
  void setAckedThrough(std::int64_t seq) override {
    m_writer.write([seq](db::Database& db, CounterService&) { TerminalOutbox(db).setAckedThrough(seq); });
  }
  void acknowledge(std::int64_t seq, const std::vector<sync::EventResult>& results) override {
    m_writer.write([&](db::Database& db, CounterService& service) { TerminalOutbox(db, &service).acknowledge(seq, results); });
  }
  void noteClockAhead(std::chrono::seconds ahead) override {
    m_writer.write([ahead](db::Database& db, CounterService& service) { TerminalOutbox(db, &service).noteClockAhead(ahead); });
  }
  std::int64_t pendingCount() override { return m_reads.pendingCount(); }

 private:
  TerminalOutbox m_reads;
  StoreWriter& m_writer;
};

/// Where pulled pages go: applied by the writer, with its Counter service (balance
/// reconciliation), in one transaction per page as before.
class BackgroundSync::Changes final : public sync::ChangeSink {
 public:
  explicit Changes(StoreWriter& writer) : m_writer(writer) {}
  std::string cursor() override {
    std::string cursor;
    m_writer.write([&](db::Database& db, CounterService& service) {
      cursor = TerminalChangeSink(db, service, now).cursor();
    });
    return cursor;
  }
  void applyPage(const sync::ChangePage& page) override {
    m_writer.write([&](db::Database& db, CounterService& service) {
      TerminalChangeSink(db, service, now).applyPage(page);
    });
  }

 private:
  StoreWriter& m_writer;
};

BackgroundSync::BackgroundSync(db::Database read, StoreWriter& writer, std::unique_ptr<StoreWriter> own)
    : m_ownWriter(std::move(own)), m_read(std::move(read)),
      m_outbox(std::make_unique<Outbox>(m_read, writer)), m_changes(std::make_unique<Changes>(writer)) {}

BackgroundSync::~BackgroundSync() {
  if (m_engine) m_engine->stop();
}

std::unique_ptr<BackgroundSync> BackgroundSync::launch(const std::string& dataDir, StoreWriter* writer,
                                                       const CounterConfig* config, sync::SyncEngineOptions options) {
  db::Database read = openTerminalDatabase(dataDir);
  const auto link = loadHqLink(read);
  if (!link) return nullptr;
  read.exec("PRAGMA query_only = ON");  // this connection only reads: the writer writes
  std::unique_ptr<StoreWriter> own;
  if (!writer) {
    own = std::make_unique<DirectWriter>(openTerminalDatabase(dataDir), *config);
    writer = own.get();
  }
  std::unique_ptr<BackgroundSync> self(new BackgroundSync(std::move(read), *writer, std::move(own)));
  // Each round tells head office this terminal's version, update state and backlog; a program
  // installed from a package also checks for an update (at most every few minutes).
  const auto installation = update::currentInstallation();
  if (!options.reportHeaders) {
    options.reportHeaders = [outbox = self->m_outbox.get(), installation, dataDir] {
      return sync::toHeaderLines(update::terminalReport(installation, dataDir, outbox->pendingCount()));
    };
  }
  if (!options.afterRound && installation) {
    options.afterRound = [installation, dataDir, last = std::optional<std::chrono::steady_clock::time_point>()](
                             sync::HttpsClient& client) mutable {
      const auto t = std::chrono::steady_clock::now();
      if (last && t - *last < std::chrono::minutes(5)) return;
      last = t;
      try {
        (void)update::checkForUpdate(client, dataDir, *installation);  // the outcome shows in the next report
      } catch (const std::exception&) {
        // A full disk or an unwritable data directory: sync goes on; the next check retries.
      }
    };
  }
  self->m_engine = std::make_unique<sync::SyncEngine>(link->endpoint(), *self->m_outbox, *self->m_changes,
                                                      std::move(options));
  self->m_engine->start();
  return self;
}

std::unique_ptr<BackgroundSync> BackgroundSync::start(const std::string& dataDir, StoreWriter& writer,
                                                      sync::SyncEngineOptions options) {
  return launch(dataDir, &writer, nullptr, std::move(options));
}

std::unique_ptr<BackgroundSync> BackgroundSync::start(const std::string& dataDir, const CounterConfig& config,
                                                      sync::SyncEngineOptions options) {
  return launch(dataDir, nullptr, &config, std::move(options));
}

}  // namespace loyalty::terminal
