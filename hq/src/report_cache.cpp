#include "loyalty/hq/report_cache.hpp"

#include <functional>
#include <vector>

#include "loyalty/hq/analytics.hpp"
#include "loyalty/hq/local_time.hpp"

namespace loyalty::hq {

namespace {

using Clock = std::chrono::steady_clock;

/// Results nobody asked for in this long are dropped (pinned ones stay).
constexpr auto kForgetAfter = std::chrono::hours(1);

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

}  // namespace

ReportCache::ReportCache(Options o) : m_options(o) {}

ReportCache::~ReportCache() { stop(); }

std::string ReportCache::dataMark(SqlConnection& c) {
  const auto r = c.query("SELECT (SELECT COALESCE(SUM(applied_through), 0) FROM terminals), "
                         "(SELECT value FROM counters WHERE name = 'change_no')");
  // The day too: reports count recency and follow-ups to today unless told another day.
  return r.text(0, 0) + "/" + (r.isNull(0, 1) ? std::string("0") : r.text(0, 1)) + "/" +
         utcDay(nowSeconds());
}

Result<ReportCache::Answer> ReportCache::get(const std::string& key, SqlConnection& c, std::mutex& cMutex,
                                             const Compute& compute, std::optional<std::chrono::seconds> maxAge) {
  const auto limit = maxAge.value_or(m_options.maxAge);
  std::string mark;
  {
    std::lock_guard lock(cMutex);
    mark = dataMark(c);
  }
  {
    std::unique_lock lock(m_mutex);
    awaitRefresher(lock, key);
  }
  const Timestamp now = nowSeconds();
  {
    std::lock_guard lock(m_mutex);
    if (auto it = m_entries.find(key); it != m_entries.end() && it->second.body) {
      Entry& e = it->second;
      if (e.mark == mark || (e.slow && limit.count() > 0 && now - e.computedAt <= limit)) {
        e.askedAt = Clock::now();
        return Answer{*e.body, e.computedAt, true};
      }
    }
  }
  const auto started = Clock::now();
  Result<nlohmann::json> out = [&] {
    std::lock_guard lock(cMutex);
    return compute(c);
  }();
  if (!out) return out.error();
  if (Clock::now() - started >= m_options.slow) keep(key, compute, *out, now, mark, true, true);
  return Answer{std::move(*out), now, false};
}

void ReportCache::awaitRefresher(std::unique_lock<std::mutex>& lock, const std::string& key) {
  // Bounded: a refresher stuck on a lost connection must not hold requests up for long.
  const auto until = Clock::now() + std::chrono::seconds(60);
  m_computed.wait_until(lock, until, [&] {
    const auto it = m_entries.find(key);
    if (it == m_entries.end() || m_stop) return true;
    const Entry& e = it->second;
    return !e.computing && (e.body || !e.pinned || e.tried || !m_refresherRunning);
  });
}

void ReportCache::keep(const std::string& key, const Compute& compute, nlohmann::json body, Timestamp at, std::string mark,
                       bool slow, bool asked) {
  if (largerThan(body, m_options.maxBytes)) return;
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
}

void ReportCache::pin(const std::string& key, Compute compute) {
  std::lock_guard lock(m_mutex);
  Entry& e = m_entries[key];
  e.compute = std::move(compute);
  e.pinned = true;
  e.askedAt = Clock::now();
  m_pending = true;
  m_wake.notify_all();
}

void ReportCache::refreshOnce(SqlConnection& c) {
  const std::string mark = dataMark(c);
  std::vector<std::pair<std::string, Compute>> due;
  {
    std::lock_guard lock(m_mutex);
    const auto now = Clock::now();
    for (auto it = m_entries.begin(); it != m_entries.end();) {
      const Entry& e = it->second;
      if (!e.pinned && now - e.askedAt > kForgetAfter) {
        it = m_entries.erase(it);
        continue;
      }
      if (!e.body || e.mark != mark) due.emplace_back(it->first, e.compute);
      ++it;
    }
  }
  for (const auto& [key, compute] : due) {
    {
      std::lock_guard lock(m_mutex);
      if (m_stop) return;
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
      const std::string before = dataMark(c);
      const auto started = Clock::now();
      auto out = compute(c);
      if (out) keep(key, compute, std::move(*out), at, before, Clock::now() - started >= m_options.slow, false);
    } catch (...) {
      done();
      throw;
    }
    done();
  }
}

void ReportCache::startRefresher(std::unique_ptr<SqlConnection> c) {
  {
    std::lock_guard lock(m_mutex);
    m_refresherRunning = true;
  }
  m_thread = std::thread([this, conn = std::move(c)] {
    std::unique_lock lock(m_mutex);
    while (!m_stop) {
      m_pending = false;
      lock.unlock();
      try {
        refreshOnce(*conn);
      } catch (const std::exception&) {
        // A lost connection or a failing report: the next round tries again; requests
        // compute live meanwhile.
      }
      lock.lock();
      m_wake.wait_for(lock, m_options.refreshEvery, [&] { return m_stop || m_pending; });
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
