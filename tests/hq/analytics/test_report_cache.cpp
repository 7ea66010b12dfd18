// The cache of slow reports (loyalty/hq/report_cache.hpp) over a real head-office SQLite file:
// when a kept result is served, when it is recomputed, what the refresher does.
#include <catch2/catch.hpp>

#include <spdlog/sinks/ostream_sink.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "analytics_backends.hpp"
#include "analytics_data.hpp"
#include "loyalty/hq/report_cache.hpp"
#include "loyalty/logging/logging.hpp"

using namespace loyalty;
using namespace loyalty::hq;
using loyalty::test::AnalyticsData;
using nlohmann::json;

namespace {

std::vector<std::unique_ptr<SqlConnection>> connections(loyalty::test::SqliteFile& file) {
  std::vector<std::unique_ptr<SqlConnection>> out;
  out.push_back(file.open());
  return out;
}

struct Fixture {
  loyalty::test::SqliteFile file;
  AnalyticsData data{file.open()};
  std::unique_ptr<SqlConnection> other = file.open();  ///< the refresher's own connection
  ConnectionPool lane{connections(file)};  ///< where reports run
  std::atomic<int> runs{0};

  Fixture() {
    data.terminal("T1", "S1");
    data.member("m1", "2026-01-02T08:00:00Z", "S1");
    data.sale("T1", "S1", "m1", "2026-01-05T10:00:00Z", 10000);
  }
  /// A report whose answer shows how many times it ran and what the data was.
  ReportCache::Compute compute() {
    return [this](SqlConnection& c) -> Result<json> {
      ++runs;
      return json{{"run", runs.load()}, {"sales", c.query("SELECT COUNT(*) FROM sales").integer(0, 0)}};
    };
  }
  /// What an upload does to the data mark.
  void upload() {
    data.sale("T1", "S1", "m1", "2026-01-06T10:00:00Z", 500);
    data.sql().query("UPDATE terminals SET applied_through = applied_through + 1");
  }
};

/// After one upload (f.upload()): the result kept for `key` from before it (one sale) is served
/// within a 600 s age limit; an age limit of 0 computes it again (two sales).
void keptWithinMaxAgeOnly(ReportCache& cache, const std::string& key, Fixture& f) {
  auto stale = cache.get(key, f.lane, f.compute(), std::chrono::seconds(600));
  REQUIRE(stale);
  CHECK(stale->kept);
  CHECK(stale->body["sales"] == 1);
  auto fresh = cache.get(key, f.lane, f.compute(), std::chrono::seconds(0));
  REQUIRE(fresh);
  CHECK_FALSE(fresh->kept);
  CHECK(fresh->body["sales"] == 2);
}

ReportCache::Options slowAfter(std::chrono::milliseconds slow) {
  ReportCache::Options o;
  o.slow = slow;
  return o;
}

/// Every result kept (slow after 0 ms), the refresher's rounds an hour apart unless something
/// makes it go on sooner.
ReportCache::Options hourlyRounds() {
  ReportCache::Options o = slowAfter(std::chrono::milliseconds(0));
  o.refreshEvery = std::chrono::seconds(3600);
  return o;
}

/// Whether `done` comes true within 20 s.
bool waitFor(const std::function<bool()>& done) {
  for (int i = 0; i < 400 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return done();
}

}  // namespace

TEST_CASE("report cache: a slow result is served again until its data changes and it is too old", "[analytics]") {
  Fixture f;
  ReportCache cache(slowAfter(std::chrono::milliseconds(0)));  // every result counts as slow
  auto first = cache.get("k", f.lane, f.compute());
  REQUIRE(first);
  CHECK_FALSE(first->kept);
  CHECK(first->body["run"] == 1);
  auto again = cache.get("k", f.lane, f.compute());
  REQUIRE(again);
  CHECK(again->kept);
  CHECK(again->body == first->body);
  CHECK(again->computedAt == first->computedAt);

  f.upload();
  // New sales: good enough within the age limit, recomputed when the caller wants it fresher.
  keptWithinMaxAgeOnly(cache, "k", f);
  CHECK(f.runs == 2);
  // The fresh result is the kept one now.
  auto kept = cache.get("k", f.lane, f.compute(), std::chrono::seconds(0));
  REQUIRE(kept);
  CHECK(kept->kept);
  CHECK(kept->body["run"] == 2);

  // Other keys are other results.
  CHECK_FALSE(cache.get("other", f.lane, f.compute())->kept);
}

TEST_CASE("report cache: fast results are not kept, nor answers too big to keep", "[analytics]") {
  Fixture f;
  ReportCache fast(slowAfter(std::chrono::hours(1)));
  CHECK_FALSE(fast.get("k", f.lane, f.compute())->kept);
  CHECK_FALSE(fast.get("k", f.lane, f.compute())->kept);
  CHECK(f.runs == 2);

  ReportCache::Options o = slowAfter(std::chrono::milliseconds(0));
  o.maxBytes = 10;
  ReportCache small(o);
  CHECK_FALSE(small.get("k", f.lane, f.compute())->kept);
  CHECK_FALSE(small.get("k", f.lane, f.compute())->kept);

  // Errors are answered and not kept.
  ReportCache failing(slowAfter(std::chrono::milliseconds(0)));
  const ReportCache::Compute bad = [](SqlConnection&) -> Result<json> { return invalidArgument("group", "bad group"); };
  auto e = failing.get("k", f.lane, bad);
  REQUIRE_FALSE(e);
  CHECK(e.error().field == "group");
  CHECK(failing.get("k", f.lane, f.compute())->body["run"] == 5);
}

TEST_CASE("report cache: the refresher computes pinned reports and recomputes kept ones whose data changed", "[analytics]") {
  Fixture f;
  ReportCache cache(slowAfter(std::chrono::milliseconds(0)));
  cache.pin("pinned", f.compute());
  cache.refreshOnce(*f.other);
  CHECK(f.runs == 1);
  auto p = cache.get("pinned", f.lane, f.compute(), std::chrono::seconds(0));
  REQUIRE(p);
  CHECK(p->kept);
  CHECK(f.runs == 1);

  cache.refreshOnce(*f.other);  // nothing changed: nothing to do
  CHECK(f.runs == 1);
  f.upload();
  cache.refreshOnce(*f.other);
  CHECK(f.runs == 2);
  auto after = cache.get("pinned", f.lane, f.compute(), std::chrono::seconds(0));
  REQUIRE(after);
  CHECK(after->kept);
  CHECK(after->body["sales"] == 2);

  // Pinned results are computed in the order they were pinned (a page's before the pages
  // pinned after it), before the others, whatever their keys.
  std::vector<std::string> order;
  const auto noting = [&](const std::string& key) -> ReportCache::Compute {
    return [&order, key](SqlConnection&) -> Result<json> {
      order.push_back(key);
      return json{{"key", key}};
    };
  };
  ReportCache ordered(slowAfter(std::chrono::milliseconds(0)));
  REQUIRE(ordered.get("a asked", f.lane, noting("a asked"), std::chrono::seconds(0)));
  order.clear();
  for (const char* key : {"z first", "b second", "m third"}) ordered.pin(key, noting(key));
  f.upload();
  ordered.refreshOnce(*f.other);
  CHECK(order == std::vector<std::string>{"z first", "b second", "m third", "a asked"});
}

TEST_CASE("report cache: the refresher thread picks up a pin at once and stops", "[analytics]") {
  Fixture f;
  ReportCache cache(hourlyRounds());
  cache.startRefresher(std::move(f.other));
  cache.pin("pinned", f.compute());
  for (int i = 0; i < 200 && f.runs == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(f.runs >= 1);
  cache.stop();
  const int runs = f.runs;
  cache.pin("later", f.compute());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(f.runs == runs);
}

TEST_CASE("report cache: a chore that always has more (a large chain's first fill of search keys) steps on, and holds up "
          "neither the first round's reports nor a report pinned meanwhile",
          "[analytics]") {
  Fixture f;
  ReportCache cache(hourlyRounds());
  std::atomic<int> steps{0}, roundStarts{0};
  cache.pin("first", f.compute());  // as the dashboard's views are, before the refresher starts
  cache.startRefresher(std::move(f.other), {}, nullptr, [&](SqlConnection&, bool roundStart) {
    ++steps;
    if (roundStart) ++roundStarts;
    return true;
  });
  // The first round's reports come after at most 5 s of steps (not refreshEvery, an hour here).
  CHECK(waitFor([&] { return f.runs >= 1; }));
  const int stepsThen = steps;
  CHECK(stepsThen >= 2);  // steps 0.1 s apart
  // A report pinned meanwhile cuts the round's steps short; the steps go on after it.
  cache.pin("second", f.compute());
  CHECK(waitFor([&] { return f.runs >= 2; }));
  CHECK(waitFor([&] { return steps > stepsThen + 5; }));
  CHECK(roundStarts >= 2);
  cache.stop();
  const int stepsStopped = steps;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(steps == stepsStopped);
}

TEST_CASE("report cache: a failing chore step is logged and tried again within seconds, not refreshEvery, without a round "
          "of reports at each try",
          "[analytics]") {
  Fixture f;
  ReportCache cache(hourlyRounds());
  std::ostringstream logged;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(logged);
  logging::log().sinks().push_back(sink);
  const struct Unhook {
    std::shared_ptr<spdlog::sinks::sink> sink;
    ~Unhook() { std::erase(logging::log().sinks(), sink); }
  } unhook{sink};
  std::atomic<int> calls{0}, steps{0};
  std::mutex startsMutex;
  std::vector<bool> starts;  // each call's roundStart
  cache.pin("first", f.compute());
  // Two failures (SQLite busy past its timeout, say), then steps with more waiting.
  cache.startRefresher(std::move(f.other), {}, nullptr, [&](SqlConnection&, bool roundStart) {
    {
      std::lock_guard lock(startsMutex);
      starts.push_back(roundStart);
    }
    if (++calls <= 2) throw std::runtime_error("database is locked");
    ++steps;
    return true;
  });
  // Retried 1 s and then 2 s after (an hour's refreshEvery here).
  CHECK(waitFor([&] { return steps >= 3; }));
  cache.stop();
  // The first round's reports once, not again at the retries; the retries are not rounds.
  CHECK(f.runs == 1);
  {
    std::lock_guard lock(startsMutex);
    REQUIRE(starts.size() >= 5);
    CHECK(starts[0]);
    CHECK_FALSE(starts[1]);
    CHECK_FALSE(starts[2]);
    CHECK_FALSE(starts[3]);
  }
  const std::string text = logged.str();
  CHECK(text.find("a background step of the leader failed (1 in a row; retried in 1 s): database is locked") != std::string::npos);
  CHECK(text.find("2 in a row") == std::string::npos);  // not logged at every failure
  CHECK(text.find("the leader's background steps go on after 2 failed in a row") != std::string::npos);
}

TEST_CASE("report cache: a request for a report the refresher is computing waits for its answer", "[analytics]") {
  Fixture f;
  ReportCache cache(slowAfter(std::chrono::milliseconds(0)));
  std::atomic<bool> started{false}, release{false}, answered{false};
  const ReportCache::Compute blocking = [&](SqlConnection& c) -> Result<json> {
    started = true;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return json{{"by", "refresher"}, {"sales", c.query("SELECT COUNT(*) FROM sales").integer(0, 0)}};
  };
  cache.startRefresher(std::move(f.other));
  cache.pin("customers", blocking);
  for (int i = 0; i < 400 && !started; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(started);
  Result<ReportCache::Answer> got = invalidArgument("none", "not answered");
  std::thread request([&] {
    got = cache.get("customers", f.lane, f.compute(), std::chrono::seconds(600));
    answered = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK_FALSE(answered);  // still waiting for the refresher, not computing a second copy
  release = true;
  request.join();
  REQUIRE(got);
  CHECK(got->kept);
  CHECK(got->body["by"] == "refresher");
  CHECK(f.runs == 0);
  cache.stop();
}

TEST_CASE("report cache: a page waits a moment only for the refresher's first result, then hears it is being computed", "[analytics]") {
  Fixture f;
  ReportCache cache(slowAfter(std::chrono::milliseconds(0)));
  std::atomic<bool> started{false}, release{false};
  const ReportCache::Compute blocking = [&](SqlConnection& c) -> Result<json> {
    started = true;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return json{{"by", "refresher"}, {"sales", c.query("SELECT COUNT(*) FROM sales").integer(0, 0)}};
  };
  cache.startRefresher(std::move(f.other));
  cache.pin("customers", blocking);
  for (int i = 0; i < 400 && !started; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(started);
  const auto t0 = std::chrono::steady_clock::now();
  auto now = cache.get("customers", f.lane, f.compute(), std::nullopt, ReportCache::Wait::kBriefly);
  REQUIRE(now);
  CHECK(now->pending);
  CHECK_FALSE(now->kept);
  CHECK(now->body.is_null());
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
  CHECK(f.runs == 0);  // nor computed a second copy
  // A report nobody pinned and the refresher does not owe is computed as always.
  auto other = cache.get("other", f.lane, f.compute(), std::nullopt, ReportCache::Wait::kBriefly);
  REQUIRE(other);
  CHECK_FALSE(other->pending);
  CHECK(other->body["sales"] == 1);
  release = true;
  // Once the refresher has it, the page gets it kept.
  Result<ReportCache::Answer> later = invalidArgument("none", "not answered");
  for (int i = 0; i < 400; ++i) {
    later = cache.get("customers", f.lane, f.compute(), std::nullopt, ReportCache::Wait::kBriefly);
    if (later && !later->pending) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(later);
  CHECK_FALSE(later->pending);
  CHECK(later->kept);
  CHECK(later->body["by"] == "refresher");
  cache.stop();
}

TEST_CASE("report cache: a chart page waits for the refresher only while it computes that very result", "[analytics]") {
  Fixture f;
  ReportCache cache(slowAfter(std::chrono::milliseconds(0)));
  std::atomic<bool> started{false}, release{false};
  std::atomic<int> refresherRuns{0};
  const ReportCache::Compute blocking = [&](SqlConnection& c) -> Result<json> {
    ++refresherRuns;
    started = true;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return json{{"by", "refresher"}, {"sales", c.query("SELECT COUNT(*) FROM sales").integer(0, 0)}};
  };
  cache.startRefresher(std::move(f.other));
  cache.pin("customers", blocking);  // pinned first: the refresher is on it
  cache.pin("charts", blocking);     // pinned after it: not reached yet
  for (int i = 0; i < 400 && !started; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(started);
  // Not waiting behind the customers page's report: computed at once, and kept.
  auto charts = cache.get("charts", f.lane, f.compute(), std::nullopt, ReportCache::Wait::kWhileComputing);
  REQUIRE(charts);
  CHECK_FALSE(charts->kept);
  CHECK(charts->body["sales"] == 1);
  CHECK(f.runs == 1);
  // The one being computed is waited for (no second copy).
  std::atomic<bool> answered{false};
  Result<ReportCache::Answer> customers = invalidArgument("none", "not answered");
  std::thread page([&] {
    customers = cache.get("customers", f.lane, f.compute(), std::nullopt, ReportCache::Wait::kWhileComputing);
    answered = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK_FALSE(answered);
  release = true;
  page.join();
  REQUIRE(customers);
  CHECK(customers->kept);
  CHECK(customers->body["by"] == "refresher");
  CHECK(f.runs == 1);
  // The round then finds the charts computed for its data: not computed again.
  for (int i = 0; i < 100; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  cache.stop();
  CHECK(refresherRuns == 1);
  auto kept = cache.get("charts", f.lane, f.compute(), std::nullopt, ReportCache::Wait::kWhileComputing);
  REQUIRE(kept);
  CHECK(kept->kept);
  CHECK(kept->body["sales"] == 1);
}

namespace {

/// Every result slow, kept across restarts by generation "g1".
ReportCache::Options keptAcrossRestarts() {
  ReportCache::Options o = slowAfter(std::chrono::milliseconds(0));
  o.keepAcrossRestarts = true;
  o.generation = "g1";
  return o;
}

/// A run before this one: it pinned `keys` and its refresher computed them once.
void lastRun(Fixture& f, const std::vector<std::string>& keys) {
  ReportCache before(keptAcrossRestarts());
  for (const auto& key : keys) before.pin(key, f.compute());
  before.refreshOnce(*f.other);
}

}  // namespace

TEST_CASE("report cache: a pinned result a page computed before the round reached it is written for the next run", "[analytics]") {
  Fixture f;
  ReportCache cache(keptAcrossRestarts());
  cache.pin("charts", f.compute());
  auto page = cache.get("charts", f.lane, f.compute(), std::nullopt, ReportCache::Wait::kWhileComputing);
  REQUIRE(page);
  CHECK(f.runs == 1);
  cache.refreshOnce(*f.other);
  CHECK(f.runs == 1);  // not computed again for the same data
  const auto row = f.data.sql().query("SELECT report_key, body FROM report_results");
  REQUIRE(row.size() == 1);
  CHECK(row.text(0, 0) == "charts");
  CHECK(json::parse(row.text(0, 1))["run"] == 1);
}

TEST_CASE("report cache: pinned results outlive a restart and answer until the refresher has its own", "[analytics]") {
  Fixture f;
  const ReportCache::Options o = keptAcrossRestarts();
  lastRun(f, {"customers", "gone"});  // "gone": pinned by that run only
  CHECK(f.runs == 2);
  CHECK(f.data.sql().query("SELECT COUNT(*) FROM report_results").integer(0, 0) == 2);

  // The next run: its refresher is slow to compute; a request gets the last run's answer.
  std::atomic<bool> started{false}, release{false};
  const ReportCache::Compute blocking = [&](SqlConnection& c) -> Result<json> {
    started = true;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return json{{"by", "refresher"}, {"sales", c.query("SELECT COUNT(*) FROM sales").integer(0, 0)}};
  };
  ReportCache after(o);
  after.pin("customers", blocking);
  after.startRefresher(f.file.open());
  auto restored = after.get("customers", f.lane, f.compute(), std::chrono::seconds(0));
  REQUIRE(restored);
  CHECK(restored->kept);
  CHECK(restored->body["run"] == 1);  // unchanged data: as good as a recomputation
  CHECK(f.runs == 2);
  for (int i = 0; i < 400 && !started; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(started);  // recomputed all the same: the last run may have computed it differently
  release = true;
  Result<ReportCache::Answer> own = invalidArgument("none", "not answered");
  for (int i = 0; i < 400; ++i) {
    own = after.get("customers", f.lane, f.compute(), std::chrono::seconds(0));
    if (own && own->body.contains("by")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(own);
  CHECK(own->body["by"] == "refresher");
  after.stop();
  // What this run pins is what is kept: the result it no longer pins is dropped.
  const auto rows = f.data.sql().query("SELECT report_key, body FROM report_results");
  REQUIRE(rows.size() == 1);
  CHECK(rows.text(0, 0) == "customers");
  CHECK(json::parse(rows.text(0, 1))["by"] == "refresher");
}

TEST_CASE("report cache: results of the last run serve only by the usual rules, and only the same generation's", "[analytics]") {
  Fixture f;
  ReportCache::Options o = keptAcrossRestarts();
  lastRun(f, {"customers"});
  // Data changed while the server was down: the last run's answer serves within max_age only.
  f.upload();
  {
    ReportCache cache(o);
    const ReportCache::Compute failing = [](SqlConnection&) -> Result<json> { return invalidArgument("x", "not now"); };
    cache.pin("customers", failing);
    cache.refreshOnce(*f.other);  // reads back, then fails to compute its own
    keptWithinMaxAgeOnly(cache, "customers", f);
  }
  // Another generation (another loyalty-hq version) neither reads them nor keeps them.
  o.generation = "g2";
  ReportCache other(o);
  const ReportCache::Compute failing = [](SqlConnection&) -> Result<json> { return invalidArgument("x", "not now"); };
  other.pin("customers", failing);
  other.refreshOnce(*f.other);
  auto live = other.get("customers", f.lane, f.compute(), std::chrono::seconds(600));
  REQUIRE(live);
  CHECK_FALSE(live->kept);
  CHECK(f.data.sql().query("SELECT COUNT(*) FROM report_results").integer(0, 0) == 0);
}
