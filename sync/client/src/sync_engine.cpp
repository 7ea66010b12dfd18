#include "loyalty/sync/client/sync_engine.hpp"

#include <memory>
#include <random>

#include "loyalty/sync/terminal_health.hpp"

namespace loyalty::sync {

SyncEngine::SyncEngine(HqEndpoint endpoint, OutboxSource& outbox, ChangeSink& sink, SyncEngineOptions options)
    : m_endpoint(std::move(endpoint)), m_outbox(outbox), m_sink(sink), m_options(std::move(options)) {
  if (!m_options.random) {
    auto gen = std::make_shared<std::mt19937_64>((std::uint64_t{std::random_device{}()} << 32) ^
                                                 std::random_device{}());
    m_options.random = [gen] { return (*gen)(); };
  }
}

SyncEngine::~SyncEngine() { stop(); }

void SyncEngine::start() {
  if (m_thread.joinable()) return;
  m_thread = std::jthread([this](std::stop_token stop) { run(stop); });
}

void SyncEngine::stop() {
  if (!m_thread.joinable()) return;
  m_thread.request_stop();
  m_wake.notify_all();
  m_thread.join();
}

void SyncEngine::nudge() {
  {
    std::lock_guard lock(m_mutex);
    m_nudged = true;
  }
  m_wake.notify_all();
}

SyncStatus SyncEngine::status() const {
  std::lock_guard lock(m_mutex);
  return m_status;
}

void SyncEngine::run(std::stop_token stop) {
  Backoff backoff(m_options.backoff, m_options.random);
  std::optional<HttpsClient> client;
  while (!stop.stop_requested()) {
    std::chrono::milliseconds wait = m_options.interval;
    SyncStatus snapshot;
    {
      std::lock_guard lock(m_mutex);
      m_nudged = false;
    }
    try {
      if (!client) {
        client.emplace(m_endpoint, m_options.timeouts, m_options.now);
        client->setCancel([&stop] { return stop.stop_requested(); });
      }
      // What was uploaded is visible at once (the UI's pending count), not after the pull.
      const auto uploaded = [&](const UploadReport& up) {
        std::lock_guard lock(m_mutex);
        m_status.uploaded += up.uploaded;
        m_status.pending = m_outbox.pendingCount();
      };
      if (m_options.reportHeaders) {
        std::vector<std::string> lines = m_options.reportHeaders();
        // The last round's failure, for head office's fleet page (none after a clean round).
        std::string lastError;
        {
          std::lock_guard lock(m_mutex);
          lastError = m_status.lastError;
        }
        if (!lastError.empty()) lines.push_back(lastErrorHeaderLine(lastError));
        client->setExtraHeaders(std::move(lines));
      }
      const RoundReport round =
          syncRound(*client, m_outbox, m_sink, m_options.upload, m_options.pageLimit, uploaded);
      if (stop.stop_requested()) break;
      if (m_options.afterRound && !round.failure()) m_options.afterRound(*client);
      std::lock_guard lock(m_mutex);
      ++m_status.rounds;
      m_status.pulled += round.pull.changes;
      m_status.pending = round.pending;
      if (const Failure* f = round.failure()) {
        // Online only if HQ answered; a refused event or a bad page still means HQ is there.
        m_status.online = f->kind == FailureKind::kRefused || f->kind == FailureKind::kBadResponse;
        m_status.lastError = f->message;
        wait = backoff.failure(f->retryAfter);
      } else {
        m_status.online = true;
        m_status.lastError.clear();
        m_status.lastSyncAt = m_options.now();
        backoff.success();
      }
      m_status.failures = backoff.failures();
      m_status.nextAttemptIn = wait;
      snapshot = m_status;
    } catch (const std::exception& e) {
      // A broken local environment (disk, database): keep the app running and try later.
      std::lock_guard lock(m_mutex);
      m_status.online = false;
      m_status.lastError = std::string("sync stopped by a local error: ") + e.what();
      wait = backoff.failure();
      m_status.failures = backoff.failures();
      m_status.nextAttemptIn = wait;
      snapshot = m_status;
    }
    if (m_onRound) m_onRound(snapshot);
    std::unique_lock lock(m_mutex);
    const bool backingOff = snapshot.failures > 0;
    m_wake.wait_for(lock, stop, wait, [&] { return m_nudged && !backingOff; });
  }
}

}  // namespace loyalty::sync
