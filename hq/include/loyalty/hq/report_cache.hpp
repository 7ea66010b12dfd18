#pragma once
/// @brief Results of slow reports kept for the dashboard (and for API calls that say `max_age`),
/// refreshed in the background on a connection of their own.
///
/// Ranking a million members (all-time ABC, RFM, churn) takes around a second at best;
/// a dashboard page must answer in a fraction of one. So a report that took longer than
/// `slow` to compute is kept, and served again:
/// * while the data it was computed from is unchanged (`dataMark`: what every upload and every
///   member change moves), exactly as a recomputation would give it;
/// * while it is younger than the caller's `maxAge`, even though sales arrived since; the answer
///   says when it was computed so the page can say "as of".
/// A background thread recomputes the kept results whose data changed, every `refreshEvery`,
/// so the dashboard finds them fresh; results nobody asked for in an hour are dropped, except
/// the pinned ones (the dashboard's default views, computed once at start).
///
/// A fast report is only ever served as a recomputation would give it (kept only when pinned,
/// and then served only while its data is unchanged).
///
/// With `keepAcrossRestarts`, the refresher also writes each pinned result it computes to the
/// database (table report_results) and, on its first round, reads back those of the last run:
/// after a restart the dashboard's default views are served by the rules above from the last
/// run's answers (their data mark and time are kept with them) while the refresher computes
/// its own, instead of waiting for a million members to be ranked again.
///
/// Several instances on one PostgreSQL (docs/operations.md): each keeps its own results, and
/// each serves one only by the rules above against the data mark it reads from the shared
/// database in the same request, so an instance never serves a result older than a single
/// server would, whichever instance took the upload. Only the leading instance's refresher
/// computes (`leading`); a follower's refresher instead adopts the pinned results the leader
/// wrote to report_results, under the same rules, so the dashboard's default views are warm on
/// every instance while they are ranked once.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "loyalty/core/result.hpp"
#include "loyalty/core/time.hpp"
#include "loyalty/hq/connection_pool.hpp"
#include "loyalty/hq/sql.hpp"

namespace loyalty::hq {

class ReportCache {
 public:
  /// Computes one report on the connection it is given (the caller's, or the refresher's).
  using Compute = std::function<Result<nlohmann::json>(SqlConnection&)>;

  struct Options {
    std::chrono::seconds maxAge{600};           ///< default age limit of a kept result
    std::chrono::milliseconds slow{250};        ///< results that took at least this long are kept
    std::chrono::seconds refreshEvery{120};     ///< how often the refresher looks for changed data
    std::size_t maxEntries = 64;                ///< beyond it, the least recently asked is dropped
    std::size_t maxBytes = std::size_t{8} << 20;  ///< a bigger answer (a whole member list) is not kept
    bool keepAcrossRestarts = false;            ///< pinned results go to report_results and back
    std::string generation;                     ///< results written by another generation are not read
  };

  struct Answer {
    nlohmann::json body;
    Timestamp computedAt;
    bool kept = false;     ///< served from a kept result
    bool pending = false;  ///< no body: the refresher is computing it (Wait::kBriefly only)
  };

  /// Whether a request for a report the refresher owes waits for its answer (an API call),
  /// after a moment (kPageWait) hears that it is being computed (a dashboard page, which says so
  /// and reloads itself), or computes it at once (a report quick to compute, the refresher
  /// having slower ones to get through first); kWhileComputing waits only while the refresher
  /// is computing this very report, and computes one it has yet to reach at once (a page pinned
  /// after others, whose first view right after a first start would otherwise wait for theirs).
  enum class Wait { kForRefresher, kBriefly, kNever, kWhileComputing };
  static constexpr std::chrono::milliseconds kPageWait{200};

  explicit ReportCache(Options o);
  ~ReportCache();
  ReportCache(const ReportCache&) = delete;
  ReportCache& operator=(const ReportCache&) = delete;

  const Options& options() const { return m_options; }

  /// The answer for `key` (a canonical form of the report and every parameter that shapes it):
  /// a kept result if it is good by the rules above, else `compute` run on a connection of
  /// `lane`. The data mark is read there too; no connection is held while waiting for the
  /// refresher. `maxAge` defaults to the option's. With Wait::kBriefly, a report the refresher
  /// is computing (or has yet to compute for the first time, pinned) and no kept result serves
  /// is waited for kPageWait at most: then the answer is `pending`, without a body. With
  /// Wait::kNever it is computed at once unless a kept result serves.
  Result<Answer> get(const std::string& key, ConnectionPool& lane, const Compute& compute,
                     std::optional<std::chrono::seconds> maxAge = std::nullopt, Wait wait = Wait::kForRefresher);

  /// Asks the refresher to compute `key` and keep it fresh whether or not anyone asks for it.
  void pin(const std::string& key, Compute compute);

  /// Whether this instance leads the background work (leadership.hpp); unset: always.
  using Leading = std::function<bool()>;

  /// A step of other background work of the leader, run on the refresher's connection first in
  /// each of its rounds (`roundStart`: the round's first step): true while more is waiting.
  /// Steps follow 0.1 s apart, so that other writers get their turns (SQLite has one writer at
  /// a time), while more is waiting, for up to 5 s a round (or until a report is pinned or the
  /// lead taken); with more still waiting, the next round starts at once, and refreshes the
  /// reports only when asked or refreshEvery after the last time. A failing step is logged (at
  /// most once per refreshEvery, and when steps go through again) and tried again 1 s later, the
  /// pause doubling with each failure in a row up to refreshEvery; those quick retries are not
  /// rounds (`roundStart` false, the reports keep their own pace). stop() does not wait for the
  /// rest.
  using Chore = std::function<bool(SqlConnection&, bool roundStart)>;

  /// Starts the refresher on its own connection (the server's readers are not held up by it).
  /// Its rounds run `chore` and compute while `leading()` says so, and adopt the leader's
  /// results otherwise. With `reads` (storage.reports_dsn), data marks and reports are read
  /// there, and report_results is read and written on `c`.
  void startRefresher(std::unique_ptr<SqlConnection> c, Leading leading = {}, std::unique_ptr<SqlConnection> reads = nullptr,
                      Chore chore = {});
  /// Runs the refresher's next round now (this instance has just taken the lead).
  void wake();
  /// Rounds the refresher ran as the leader (computing), since start.
  std::int64_t leaderRounds() const { return m_leaderRounds.load(); }
  /// Stops and joins the refresher (also done by the destructor).
  void stop();

  /// Runs one round of the refresher on `c` now (tests; the thread runs the same). The first
  /// round with `keepAcrossRestarts` starts by reading back the last run's pinned results.
  void refreshOnce(SqlConnection& c, SqlConnection* reads = nullptr);
  /// A follower's round on `c`: adopts the pinned results the leader wrote that are newer than
  /// the ones kept here (read back as after a restart: recomputed if this instance leads later).
  void adoptOnce(SqlConnection& c);

  /// What changes whenever data the reports read changes: every terminal's applied sequence
  /// number (uploads), the change counter (enrolments, member edits, merges), the UTC day
  /// (reports count to today by default) and the count of members' erasures (a result from
  /// before an erasure is never served after it, whatever its age).
  static std::string dataMark(SqlConnection& c);

 private:
  struct Entry {
    Compute compute;
    std::shared_ptr<const nlohmann::json> body;  ///< null until first computed (pinned)
    Timestamp computedAt;
    std::string mark;
    std::chrono::steady_clock::time_point askedAt;
    bool slow = false;  ///< took at least options().slow: may be served older than its data
    bool pinned = false;
    std::uint64_t pinOrder = 0;  ///< pinned: in which order it was (the refresher computes them in that order)
    bool computing = false;  ///< the refresher is computing it now
    bool tried = false;      ///< the refresher has computed it (or failed to) at least once
    bool restored = false;   ///< read back from the last run, not yet computed by this one
    bool written = false;    ///< its body is the one in report_results (pinned, kept across restarts)
    /// Computed by this run for data `m` (a page's or the refresher's).
    bool current(const std::string& m) const { return body && mark == m && !restored; }
  };
  /// A kept result for `key` that may be served now for data `mark` and age limit `limit`.
  /// Waits (under `lock`) while there is none and the refresher is computing `key`, or has yet
  /// to compute it for the first time although it is pinned: its answer will do, and computing
  /// the same report twice at once only slows both down.
  /// Waits until `until` at most; with `onlyComputing`, only while the refresher computes it.
  std::shared_ptr<const nlohmann::json> awaitKept(std::unique_lock<std::mutex>& lock, const std::string& key,
                                                  const std::string& mark, std::chrono::seconds limit, Timestamp* at,
                                                  std::chrono::steady_clock::time_point until, bool onlyComputing = false);
  /// `e`'s kept result may be served for data `mark` and age limit `limit`.
  bool servable(const Entry& e, const std::string& mark, std::chrono::seconds limit) const;
  /// The refresher is computing `e` now, or has still to compute it for the first time.
  bool refresherOwes(const Entry& e) const;
  /// Reads back the pinned results of the last run (report_results) and drops the rest.
  void restore(SqlConnection& c);
  /// Writes a pinned result to report_results.
  void save(SqlConnection& c, const std::string& key);

  /// Keeps `body` for `key` unless it is too big (false).
  bool keep(const std::string& key, const Compute& compute, nlohmann::json body, Timestamp at, std::string mark, bool slow,
            bool asked);

  Options m_options;
  std::mutex m_mutex;  ///< guards m_entries and the flags; never held while a report computes
  std::map<std::string, Entry> m_entries;
  std::condition_variable m_wake;
  std::condition_variable m_computed;  ///< the refresher finished a computation
  bool m_refresherRunning = false;
  bool m_stop = false;
  bool m_pending = false;  ///< something was pinned since the refresher's last round
  std::uint64_t m_pins = 0;  ///< results pinned so far
  bool m_restored = false;  ///< restore() has run (keepAcrossRestarts); the refresher's own
  std::atomic<std::int64_t> m_leaderRounds{0};
  std::thread m_thread;
};

}  // namespace loyalty::hq
