#include "loyalty/hq/report_cache.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <tuple>
#include <vector>

#include "loyalty/hq/analytics.hpp"
#include "loyalty/hq/local_time.hpp"
#include "loyalty/logging/logging.hpp"
#include "loyalty/sync/codec.hpp"

namespace loyalty::hq {

namespace {

using Clock = std::chrono::steady_clock;

/// Results nobody asked for in this long are dropped (pinned ones stay).
constexpr auto kForgetAfter = std::chrono::hours(1);
/// How long the refresher's chore steps before a round's reports get their turn (ReportCache::Chore).
constexpr auto kChoreRound = std::chrono::seconds(5);
/// After a chore step failed, the next round comes this long after, doubling with each failure
/// in a row up to refreshEvery: a passing fault (SQLite busy past its timeout, a connection
/// lost) costs a fill seconds, not refreshEvery.
constexpr auto kChoreRetryFirst = std::chrono::seconds(1);

/// Whether `j` serialises to more than `limit` bytes, give or take its punctuation; stops
/// counting once it is (a whole member list is not written out just to measure it).
bool largerThan(const nlohmann::json& j, std::size_t limit) {
  std::size_t n = 0;
  const std::function<bool(const nlohmann::json&)> walk = [&](const nlohmann::json& v) {
    if (v.is_string()) n += v.get_ref<const std::string&>().size() + 2;
    else if (v.is_object()) {
      for (const auto& [k, x] : v.items()) {
        n += k.size() + 4;
        if (walk(x)) return true;
      }
    } else if (v.is_array()) {
      for (const auto& x : v) {
        n += 1;
        if (walk(x)) return true;
      }
    } else {
      n += 8;
    }
    return n > limit;
  };
  return walk(j);
}

/// The erasure count in a data mark (its last part).
std::string_view erasuresOf(std::string_view mark) {
  const auto slash = mark.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : mark.substr(slash + 1);
}

}  // namespace

ReportCache::ReportCache(Options o) : m_options(o) {}

ReportCache::~ReportCache() { stop(); }

std::string ReportCache::dataMark(SqlConnection& c) {
  const auto r = c.query("SELECT (SELECT COALESCE(SUM(applied_through), 0) FROM terminals), "
                         "(SELECT value FROM counters WHERE name = 'change_no'), "
                         "(SELECT value FROM counters WHERE name = 'erasures')");
  // The day too: reports count recency and follow-ups to today unless told another day. The
  // erasures last: see erasuresOf.
  return r.text(0, 0) + "/" + (r.isNull(0, 1) ? std::string("0") : r.text(0, 1)) + "/" + utcDay(nowSeconds()) + "/" +
         (r.isNull(0, 2) ? std::string("0") : r.text(0, 2));
}

Result<ReportCache::Answer> ReportCache::get(const std::string& key, ConnectionPool& lane, const Compute& compute,
                                             std::optional<std::chrono::seconds> maxAge, Wait wait) {
  const auto limit = maxAge.value_or(m_options.maxAge);
  const std::string mark = lane.run([](SqlConnection& c) { return dataMark(c); });
  {
    std::unique_lock lock(m_mutex);
    Timestamp at{};
    // Bounded either way: a refresher stuck on a lost connection must not hold requests up for long.
    const bool whileComputing = wait == Wait::kWhileComputing;
    std::chrono::milliseconds longest{0};
    if (wait == Wait::kForRefresher || whileComputing) longest = std::chrono::seconds(60);
    if (wait == Wait::kBriefly) longest = kPageWait;
    const auto until = Clock::now() + longest;
    if (auto body = awaitKept(lock, key, mark, limit, &at, until, whileComputing)) return Answer{*body, at, true};
    if (wait == Wait::kBriefly) {
      const auto it = m_entries.find(key);
      if (it != m_entries.end() && !m_stop && refresherOwes(it->second)) return Answer{nullptr, nowSeconds(), false, true};
    }
  }
  const Timestamp now = nowSeconds();
  const auto started = Clock::now();
  Result<nlohmann::json> out = lane.run(compute);
  if (!out) return out.error();
  if (Clock::now() - started >= m_options.slow) keep(key, compute, *out, now, mark, true, true);
  return Answer{std::move(*out), now, false};
}

bool ReportCache::servable(const Entry& e, const std::string& mark, std::chrono::seconds limit) const {
  // A result computed before a member's erasure may name them: never served after it, however young.
  return e.body && (e.mark == mark || (e.slow && limit.count() > 0 && nowSeconds() - e.computedAt <= limit &&
                                       erasuresOf(e.mark) == erasuresOf(mark)));
}

bool ReportCache::refresherOwes(const Entry& e) const {
  return e.computing || (!e.body && e.pinned && !e.tried && m_refresherRunning);
}

std::shared_ptr<const nlohmann::json> ReportCache::awaitKept(std::unique_lock<std::mutex>& lock, const std::string& key,
                                                             const std::string& mark, std::chrono::seconds limit, Timestamp* at,
                                                             Clock::time_point until, bool onlyComputing) {
  m_computed.wait_until(lock, until, [&] {
    const auto it = m_entries.find(key);
    if (it == m_entries.end() || m_stop) return true;
    return servable(it->second, mark, limit) || !(onlyComputing ? it->second.computing : refresherOwes(it->second));
  });
  const auto it = m_entries.find(key);
  if (it == m_entries.end() || !servable(it->second, mark, limit)) return nullptr;
  it->second.askedAt = Clock::now();
  *at = it->second.computedAt;
  return it->second.body;
}

bool ReportCache::keep(const std::string& key, const Compute& compute, nlohmann::json body, Timestamp at, std::string mark,
                       bool slow, bool asked) {
  if (largerThan(body, m_options.maxBytes)) return false;
  auto shared = std::make_shared<const nlohmann::json>(std::move(body));
  std::lock_guard lock(m_mutex);
  auto [it, fresh] = m_entries.try_emplace(key);
  Entry& e = it->second;
  if (fresh) {
    e.compute = compute;
    e.askedAt = Clock::now();
  }
  if (asked) e.askedAt = Clock::now();
  e.body = std::move(shared);
  e.restored = false;
  e.written = false;
  e.computedAt = at;
  e.mark = std::move(mark);
  e.slow = slow;
  while (m_entries.size() > m_options.maxEntries) {
    auto oldest = m_entries.end();
    for (auto i = m_entries.begin(); i != m_entries.end(); ++i) {
      if (i->second.pinned || i->first == key) continue;
      if (oldest == m_entries.end() || i->second.askedAt < oldest->second.askedAt) oldest = i;
    }
    if (oldest == m_entries.end()) break;
    m_entries.erase(oldest);
  }
  return true;
}

void ReportCache::pin(const std::string& key, Compute compute) {
  std::lock_guard lock(m_mutex);
  Entry& e = m_entries[key];
  e.compute = std::move(compute);
  if (!e.pinned) e.pinOrder = ++m_pins;
  e.pinned = true;
  e.askedAt = Clock::now();
  m_pending = true;
  m_wake.notify_all();
}

void ReportCache::restore(SqlConnection& c) {
  const auto r = c.query("SELECT report_key, mark, computed_at, slow, body FROM report_results WHERE generation = $1",
                         {m_options.generation});
  std::vector<std::string> unused;
  for (std::size_t i = 0; i < r.size(); ++i) {
    const std::string key = r.text(i, 0);
    const auto at = parseRfc3339(r.text(i, 2), "computed_at");
    auto parsed = sync::parseJson(r.text(i, 4), sync::kMaxResponseBytes);
    auto body = std::make_shared<nlohmann::json>(parsed ? std::move(*parsed) : nlohmann::json(nlohmann::json::value_t::discarded));
    std::lock_guard lock(m_mutex);
    const auto it = m_entries.find(key);
    if (it == m_entries.end() || !it->second.pinned || !at || body->is_discarded()) {
      unused.push_back(key);
      continue;
    }
    Entry& e = it->second;
    if (e.body) continue;  // already computed by this run
    e.body = std::move(body);
    e.mark = r.text(i, 1);
    e.computedAt = *at;
    e.slow = r.integer(i, 3) != 0;
    e.restored = true;
    e.written = true;
  }
  m_computed.notify_all();
  SqlTransaction tx(c);
  c.query("DELETE FROM report_results WHERE generation <> $1", {m_options.generation});
  for (const auto& key : unused) c.query("DELETE FROM report_results WHERE report_key = $1", {key});
  tx.commit();
}

void ReportCache::save(SqlConnection& c, const std::string& key) {
  std::shared_ptr<const nlohmann::json> body;
  std::string mark;
  Timestamp at{};
  bool slow = false;
  {
    std::lock_guard lock(m_mutex);
    const auto it = m_entries.find(key);
    if (it == m_entries.end() || !it->second.pinned || !it->second.body) return;
    body = it->second.body;
    mark = it->second.mark;
    at = it->second.computedAt;
    slow = it->second.slow;
  }
  SqlTransaction tx(c);
  c.query("DELETE FROM report_results WHERE report_key = $1", {key});
  c.query("INSERT INTO report_results(report_key, generation, mark, computed_at, slow, body) VALUES ($1, $2, $3, $4, $5, $6)",
          {key, m_options.generation, mark, formatRfc3339(at), std::int64_t{slow ? 1 : 0}, body->dump()});
  tx.commit();
  std::lock_guard lock(m_mutex);
  if (const auto it = m_entries.find(key); it != m_entries.end() && it->second.body == body) it->second.written = true;
}

void ReportCache::refreshOnce(SqlConnection& c, SqlConnection* reads) {
  // Reports and their data marks come from where reports read; report_results lives in storage.
  SqlConnection& source = reads ? *reads : c;
  if (m_options.keepAcrossRestarts && !m_restored) {
    m_restored = true;
    try {
      restore(c);
    } catch (const std::exception&) {
      // Unreadable results of the last run: this run computes its own, as without them.
    }
  }
  const std::string mark = dataMark(source);
  // Pinned results first, in the order they were pinned (a page's own reports before those of
  // pages pinned after it), then the others.
  std::vector<std::tuple<std::uint64_t, std::string, Compute>> due;
  {
    std::lock_guard lock(m_mutex);
    const auto now = Clock::now();
    for (auto it = m_entries.begin(); it != m_entries.end();) {
      const Entry& e = it->second;
      if (!e.pinned && now - e.askedAt > kForgetAfter) {
        it = m_entries.erase(it);
        continue;
      }
      // Also a pinned result a page computed (for this data, or the data before), not yet
      // written for the next run: written, or computed again when its data changed.
      const bool unwritten = e.pinned && e.body && !e.written && m_options.keepAcrossRestarts;
      if (!e.current(mark) || unwritten) {
        due.emplace_back(e.pinned ? e.pinOrder : UINT64_MAX, it->first, e.compute);
      }
      ++it;
    }
  }
  std::stable_sort(due.begin(), due.end(), [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
  // Writes a pinned result to report_results, for the next run (and the other instances).
  const auto saved = [&](const std::string& key) {
    if (!m_options.keepAcrossRestarts) return;
    try {
      save(c, key);
    } catch (const std::exception&) {
      // Not written (a busy or lost database): the result still serves this run.
    }
  };
  for (const auto& [order, key, compute] : due) {
    bool computedMeanwhile = false;
    {
      std::lock_guard lock(m_mutex);
      if (m_stop) return;
      const auto it = m_entries.find(key);
      computedMeanwhile = it != m_entries.end() && it->second.current(mark);
    }
    if (computedMeanwhile) {
      // Computed for this round's data by a page (that did not wait for the round to reach
      // it): not computed again, written as the round's own.
      saved(key);
      continue;
    }
    const auto done = [&, key = key] {
      std::lock_guard lock(m_mutex);
      if (auto it = m_entries.find(key); it != m_entries.end()) {
        it->second.computing = false;
        it->second.tried = true;
      }
      m_computed.notify_all();
    };
    {
      std::lock_guard lock(m_mutex);
      if (auto it = m_entries.find(key); it != m_entries.end()) it->second.computing = true;
    }
    try {
      const Timestamp at = nowSeconds();
      const std::string before = dataMark(source);
      const auto started = Clock::now();
      auto out = compute(source);
      if (out && keep(key, compute, std::move(*out), at, before, Clock::now() - started >= m_options.slow, false)) saved(key);
    } catch (...) {
      done();
      throw;
    }
    done();
  }
}

void ReportCache::adoptOnce(SqlConnection& c) {
  const auto r = c.query("SELECT report_key, computed_at FROM report_results WHERE generation = $1", {m_options.generation});
  std::vector<std::string> newer;
  {
    std::lock_guard lock(m_mutex);
    for (std::size_t i = 0; i < r.size(); ++i) {
      const auto it = m_entries.find(r.text(i, 0));
      const auto at = parseRfc3339(r.text(i, 1), "computed_at");
      if (it != m_entries.end() && it->second.pinned && at && (!it->second.body || it->second.computedAt < *at)) {
        newer.push_back(it->first);
      }
    }
  }
  for (const auto& key : newer) {
    const auto row = c.query("SELECT mark, computed_at, slow, body FROM report_results WHERE report_key = $1 AND generation = $2",
                             {key, m_options.generation});
    if (row.empty()) continue;  // replaced by a newer generation meanwhile
    const auto at = parseRfc3339(row.text(0, 1), "computed_at");
    auto parsed = sync::parseJson(row.text(0, 3), sync::kMaxResponseBytes);
    if (!at || !parsed) continue;
    auto body = std::make_shared<const nlohmann::json>(std::move(*parsed));
    std::lock_guard lock(m_mutex);
    const auto it = m_entries.find(key);
    if (it == m_entries.end() || (it->second.body && it->second.computedAt >= *at)) continue;
    Entry& e = it->second;
    e.body = std::move(body);
    e.mark = row.text(0, 0);
    e.computedAt = *at;
    e.slow = row.integer(0, 2) != 0;
    e.restored = true;
    e.written = true;
  }
  std::lock_guard lock(m_mutex);
  // Requests stop waiting for this refresher: it computes nothing while it follows.
  for (auto& entry : m_entries) entry.second.tried = true;
  m_computed.notify_all();
}

void ReportCache::wake() {
  std::lock_guard lock(m_mutex);
  m_pending = true;
  m_wake.notify_all();
}

void ReportCache::startRefresher(std::unique_ptr<SqlConnection> c, Leading leading, std::unique_ptr<SqlConnection> reads,
                                 Chore chore) {
  {
    std::lock_guard lock(m_mutex);
    m_refresherRunning = true;
  }
  m_thread = std::thread([this, conn = std::move(c), leading = std::move(leading), reads = std::move(reads), chore = std::move(chore)] {
    // When the reports were last refreshed (or adopted): while the chore has more waiting,
    // rounds follow each other at once, and refresh them only when asked (a pin, the lead
    // taken) or refreshEvery after the last time.
    std::optional<Clock::time_point> reported;
    // Chore steps failed in a row, the pause before the next try, and when a failure was last
    // logged (at most once per refreshEvery: a fault that comes and goes does not fill the log).
    std::int64_t failures = 0;
    Clock::duration retry = kChoreRetryFirst;
    std::optional<Clock::time_point> warned;
    bool unresolved = false;  ///< a failure was logged, and no step has gone through since
    bool retrying = false;    ///< this round is a quick retry of a failed step: not a round's start
    std::unique_lock lock(m_mutex);
    while (!m_stop) {
      bool asked = m_pending;
      m_pending = false;
      lock.unlock();
      bool more = false, failed = false;
      if (!chore || (leading && !leading())) {
        failures = 0;  // a later lead's failures are its own
        retry = kChoreRetryFirst;
        retrying = unresolved = false;
      } else {
        try {
          // Steps 0.1 s apart while more is waiting, for up to kChoreRound (or until a report is
          // asked for): a first fill of a large chain's member search keys goes on round after
          // round, the reports refreshed between them as usual.
          const auto until = Clock::now() + kChoreRound;
          for (bool first = !retrying;; first = false) {
            more = chore(*conn, first);
            if (unresolved) {
              logging::log().info("the leader's background steps go on after {} failed in a row", failures);
              unresolved = false;
            }
            failures = 0;
            retry = kChoreRetryFirst;
            retrying = false;
            if (!more) break;
            std::unique_lock pause(m_mutex);
            if (m_wake.wait_for(pause, std::chrono::milliseconds(100), [&] { return m_stop || m_pending; }) ||
                Clock::now() >= until) {
              break;
            }
          }
        } catch (const std::exception& e) {
          failed = true;
          retrying = retry < m_options.refreshEvery;  // retries refreshEvery apart are rounds
          ++failures;
          if (!warned || Clock::now() - *warned >= m_options.refreshEvery) {
            logging::log().warn("a background step of the leader failed ({} in a row; retried in {} s): {}", failures,
                                std::chrono::duration_cast<std::chrono::seconds>(std::min<Clock::duration>(retry, m_options.refreshEvery))
                                    .count(),
                                e.what());
            warned = Clock::now();
            unresolved = true;
          }
        }
      }
      {
        std::lock_guard asking(m_mutex);
        asked = asked || m_pending;
        m_pending = false;
      }
      // A failed step's quick retries are not rounds of reports: those stay refreshEvery apart.
      if ((!more && !failed) || asked || !reported || Clock::now() - *reported >= m_options.refreshEvery) {
        try {
          if (!leading || leading()) {
            refreshOnce(*conn, reads.get());
            ++m_leaderRounds;
          } else {
            adoptOnce(*conn);
          }
        } catch (const std::exception&) {
          // A lost connection or a failing report: the next round tries again; requests
          // compute live meanwhile.
        }
        reported = Clock::now();
      }
      lock.lock();
      // The chore with more waiting: the next round at once (its steps pause between themselves);
      // after a failed step, a retry soon.
      Clock::duration next = m_options.refreshEvery;
      if (more) next = Clock::duration::zero();
      if (failed) {
        next = std::min<Clock::duration>(retry, m_options.refreshEvery);
        retry = std::min<Clock::duration>(retry * 2, m_options.refreshEvery);
      }
      m_wake.wait_for(lock, next, [&] { return m_stop || m_pending; });
    }
  });
}

void ReportCache::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
    m_refresherRunning = false;
  }
  m_wake.notify_all();
  m_computed.notify_all();
  if (m_thread.joinable()) m_thread.join();
}

}  // namespace loyalty::hq
