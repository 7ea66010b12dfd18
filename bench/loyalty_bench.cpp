// loyalty-bench: how fast the terminal store is at the size of a large chain's member base.
//
// Sections (all through CounterService, the code the counter runs):
//   1. lookup latency by exact phone, last 4 digits, card number and 2-character name prefix;
//   2. sale commit throughput (one durable transaction per sale) against a raw SQLite baseline
//      (one-row INSERT per commit, same pragmas, same disk), measured in alternating blocks;
//   3. replay of shared/data/online_retail.csv.gz, one durable transaction per invoice;
//   4. database size after a checkpoint, per member and per sale;
//   5. peak RSS.
// Writes JSON (stable key names) to --out and readable progress to stderr.

#include <sqlite3.h>
#include <sys/resource.h>
#include <time.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "loyalty/core/pinyin.hpp"
#include "loyalty/core/text.hpp"
#include "loyalty/core/time.hpp"
#include "loyalty/db/database.hpp"
#include "loyalty/terminal/counter_service.hpp"
#include "loyalty/terminal/csv.hpp"
#include "loyalty/terminal/member_import.hpp"
#include "loyalty/terminal/store.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace loyalty::bench {
namespace {

using terminal::CounterConfig;
using terminal::CounterService;
using terminal::RandomIds;
using terminal::SaleLineInput;
using terminal::SaleRequest;

/// Bump when the generated store's content changes, so a reused --store is rebuilt.
constexpr int kStoreFormat = 2;
constexpr std::int64_t kBatch = 5'000;           // operations per outer transaction in set-up
constexpr int kLookupLimit = 20;
constexpr std::size_t kMaxSaleLines = 1'000;     // CounterService refuses longer sales
constexpr const char* kMarkerFile = "bench-store.json";
/// SQLite's own automatic checkpoint threshold. Not after every invoice: the commit that follows
/// a checkpoint which emptied the WAL starts it again and syncs its header, a second sync.
constexpr int kIdleCheckpointPages = 1'000;

struct Options {
  std::string out;
  std::int64_t members = 1'000'000;
  std::int64_t sales = 1'000'000;
  std::string store;
  std::string dataset = LOYALTY_BENCH_DATASET;
  std::int64_t queries = 5'000;
  std::int64_t commits = 2'000;
  std::int64_t block = 100;
  std::uint64_t seed = 42;
  bool keep = false;
  std::string revision;  ///< of the code measured (bench/run.sh passes `git describe`)
  std::set<std::string> sections = {"lookup", "commit", "promotions", "replay"};
  /// "deferred": as the counter app's store worker (db::Database::deferCheckpoints: none inside
  /// a commit until the WAL passes its bound); "background": as head office's connections
  /// (checkpointInBackground: copied back on a thread of their own once the WAL holds 1000
  /// pages; slower for a sale a commit, measured: the checkpoint's sync of the file competes with
  /// every sale's sync of the WAL); "sqlite": SQLite's automatic checkpoint (1000 pages, inside
  /// a commit), as before. For A/B runs of one build.
  std::string checkpoints = "deferred";
  /// The replay runs the counter app's idle checkpoint (db::Database::checkpointWhenIdle, which
  /// its store worker runs whenever its queue is empty) between invoices once the WAL holds
  /// kIdleCheckpointPages, timed apart from the sales: a real counter is idle between customers.
  /// Off: no idle moment at all (every checkpoint runs at the WAL's bound inside some sale).
  bool idleCheckpoints = false;
};

/// The store's connection set up as the counter app's store worker sets up its own.
void setCheckpoints(db::Database& db, const Options& o) {
  if (o.checkpoints == "deferred") db.deferCheckpoints();
  if (o.checkpoints == "background") db.checkpointInBackground();
}

// [SECTION] Small helpers

__attribute__((format(printf, 1, 2))) std::string fmt(const char* format, ...) {
  char buf[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buf, sizeof buf, format, args);
  va_end(args);
  return buf;
}

void say(const std::string& line) { std::cerr << line << std::endl; }

double secondsOf(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
double microsOf(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

/// Rounds for the JSON, so committed results do not carry meaningless digits.
double round1(double v) { return std::round(v * 10.0) / 10.0; }
double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

std::int64_t peakRssBytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<std::int64_t>(ru.ru_maxrss) * 1024;  // Linux reports KiB
}

/// CPU time of this thread: unlike wall time, not inflated while other processes hold the CPU.
double threadCpuMicros() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) * 1e-3;
}

/// The 1-minute load average: how busy the (shared) machine was around a measurement.
double loadAverage() {
  std::ifstream in("/proc/loadavg");
  double load = -1;
  in >> load;
  return load;
}

double mib(std::int64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

std::int64_t fileSize(const fs::path& p) {
  std::error_code ec;
  const auto size = fs::file_size(p, ec);
  return ec ? 0 : static_cast<std::int64_t>(size);
}

void removeDatabaseFiles(const fs::path& db) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(db.string() + suffix, ec);
}

/// Removes a directory tree when it goes out of scope, unless released.
class DirCleanup {
 public:
  explicit DirCleanup(fs::path dir, bool active = true) : m_dir(std::move(dir)), m_active(active) {}
  DirCleanup(const DirCleanup&) = delete;
  DirCleanup& operator=(const DirCleanup&) = delete;
  ~DirCleanup() {
    std::error_code ec;
    if (m_active) fs::remove_all(m_dir, ec);
  }

 private:
  fs::path m_dir;
  bool m_active;
};

fs::path makeTempDir(const fs::path& parent, const std::string& stem) {
  fs::create_directories(parent);
  std::string pattern = (parent / (stem + "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot create a directory under " + parent.string());
  return pattern;
}

/// Nearest-rank percentiles of latencies given in microseconds.
json latencyJson(std::vector<double> us, const char* unit) {
  json j = {{"count", us.size()}};
  if (us.empty()) return j;
  std::sort(us.begin(), us.end());
  const auto pct = [&](double q) {
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(us.size())));
    rank = std::clamp<std::size_t>(rank, 1, us.size());
    return us[rank - 1];
  };
  double sum = 0;
  for (double v : us) sum += v;
  const double scale = std::string(unit) == "ms" ? 1e-3 : 1.0;
  const std::string u = unit;
  j["p50_" + u] = round3(pct(0.50) * scale);
  j["p90_" + u] = round3(pct(0.90) * scale);
  j["p99_" + u] = round3(pct(0.99) * scale);
  j["max_" + u] = round3(us.back() * scale);
  j["mean_" + u] = round3(sum / static_cast<double>(us.size()) * scale);
  return j;
}

json rateJson(std::int64_t count, double seconds) {
  return {{"count", count},
          {"seconds", round3(seconds)},
          {"per_second", seconds > 0 ? round1(static_cast<double>(count) / seconds) : 0.0}};
}

Timestamp at(int y, unsigned m, unsigned d, int h) {
  using namespace std::chrono;
  return sys_days{year{y} / month{m} / day{d}} + hours{h};
}

/// Checkpoints the WAL into the main file (TRUNCATE) and reports main file + WAL sizes.
json storeSize(db::Database& db, const fs::path& file) {
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  const std::int64_t main = fileSize(file);
  const std::int64_t wal = fileSize(file.string() + "-wal");
  return {{"db_bytes", main}, {"wal_bytes", wal}, {"total_bytes", main + wal}};
}

/// Bytes per table and index (SQLite's dbstat), if this SQLite has it.
json objectSizes(db::Database& db) {
  try {
    auto q = db.query("SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name");
    json objects = json::object();
    while (q.step()) objects[q.text("name")] = q.int64("bytes");
    return objects;
  } catch (const db::DbError& e) {
    return json{{"unavailable", e.what()}};
  }
}

// [SECTION] Generated sales

/// A fixed catalogue of 500 items with prices from 1.00 to 99.99.
struct Catalogue {
  std::vector<std::string> sku, description, price;
  Catalogue() {
    for (int k = 0; k < 500; ++k) {
      sku.push_back(fmt("SKU%05d", k));
      description.push_back(fmt("Item %d", k));
      const int cents = 100 + (k * 7'919) % 9'900;
      price.push_back(fmt("%d.%02d", cents / 100, cents % 100));
    }
  }
};

SaleRequest makeSale(std::string saleId, std::optional<std::string> member, std::mt19937_64& gen,
                     const Catalogue& catalogue, Timestamp when) {
  SaleRequest r;
  r.saleId = std::move(saleId);
  r.member = std::move(member);
  r.at = when;
  const auto lines = 1 + gen() % 4;
  for (std::uint64_t i = 0; i < lines; ++i) {
    const auto k = gen() % catalogue.sku.size();
    SaleLineInput l;
    l.sku = catalogue.sku[k];
    l.description = catalogue.description[k];
    l.qty = static_cast<std::int64_t>(1 + gen() % 3);
    l.unitPrice = catalogue.price[k];
    r.lines.push_back(std::move(l));
  }
  return r;
}

// [SECTION] The 1M/1M store: build once, reuse with --store

struct Store {
  fs::path dir;
  bool temporary = false;
  bool reused = false;
  json marker;  ///< set-up rates and sizes recorded when it was built

  fs::path file() const { return dir / "terminal.db"; }
};

/// FNV-1a, 64 bits, as 16 hex digits: a stable fingerprint of the schema text.
std::string fnv1a(const std::string& text) {
  std::uint64_t h = 0xCBF29CE484222325ULL;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ULL;
  }
  return fmt("%016llx", static_cast<unsigned long long>(h));
}

/// Fingerprint of every table, index, view and trigger definition in a database.
std::string schemaHash(db::Database& db) {
  auto q = db.query("SELECT type || ' ' || name || ' ' || COALESCE(sql, '') AS definition FROM sqlite_schema ORDER BY type, name");
  std::string text;
  while (q.step()) text += q.text("definition") + '\n';
  return fnv1a(text);
}

/// The schema the terminal code creates today (a fresh store, migrated, then discarded).
std::string currentSchemaHash() {
  const fs::path dir = makeTempDir(LOYALTY_BENCH_WORK_DIR, "bench-schema");
  const DirCleanup cleanup(dir);
  auto db = terminal::openTerminalDatabase(dir.string());
  return schemaHash(db);
}

bool markerMatches(const json& m, const Options& o) {
  return m.value("format", 0) == kStoreFormat && m.value("complete", false) &&
         m.value("members_requested", std::int64_t{-1}) == o.members &&
         m.value("sales_requested", std::int64_t{-1}) == o.sales && m.value("seed", std::uint64_t{0}) == o.seed;
}

json buildStore(const Options& o, const fs::path& dir) {
  const fs::path file = dir / "terminal.db";
  removeDatabaseFiles(file);
  std::error_code ec;
  fs::remove(dir / kMarkerFile, ec);

  auto db = terminal::openTerminalDatabase(dir.string());
  RandomIds ids(o.seed);
  CounterService service(db, CounterConfig{}, ids);

  say(fmt("set-up: enrolling %lld generated members in batches of %lld ...", static_cast<long long>(o.members),
          static_cast<long long>(kBatch)));
  const auto m0 = Clock::now();
  const std::int64_t enrolled = terminal::generateMembers(service, db, o.members, o.seed, at(2025, 1, 1, 1));
  const double memberSeconds = secondsOf(Clock::now() - m0);
  say(fmt("set-up: %lld members in %.1f s (%.0f/s)", static_cast<long long>(enrolled), memberSeconds,
          static_cast<double>(enrolled) / memberSeconds));
  const json afterMembers = storeSize(db, file);

  say(fmt("set-up: recording %lld sales (90%% to members) in batches of %lld ...", static_cast<long long>(o.sales),
          static_cast<long long>(kBatch)));
  const Catalogue catalogue;
  std::mt19937_64 gen(o.seed ^ 0x5A1E5ULL);
  std::int64_t recorded = 0, refused = 0;
  std::string firstRefusal;
  const Timestamp salesStart = at(2025, 1, 2, 1);
  const auto s0 = Clock::now();
  for (std::int64_t start = 0; start < o.sales; start += kBatch) {
    db::Transaction tx(db);
    for (std::int64_t i = start; i < std::min(o.sales, start + kBatch); ++i) {
      std::optional<std::string> member;
      if (gen() % 10 != 0) member = terminal::generatedPhone(static_cast<std::int64_t>(gen() % static_cast<std::uint64_t>(o.members)));
      // Sequential receipt-style ids, as a till numbers its sales.
      auto result = service.sale(makeSale(fmt("B%08lld", static_cast<long long>(i)), std::move(member), gen, catalogue,
                                          salesStart + std::chrono::seconds{30 * i}));
      if (result) {
        ++recorded;
      } else {
        if (refused++ == 0) firstRefusal = result.error().field + ": " + result.error().message;
      }
    }
    tx.commit();
    if ((start / kBatch + 1) % 40 == 0) {
      say(fmt("set-up: %lld sales, %.0f/s", static_cast<long long>(start + kBatch),
              static_cast<double>(start + kBatch) / secondsOf(Clock::now() - s0)));
    }
  }
  const double saleSeconds = secondsOf(Clock::now() - s0);
  say(fmt("set-up: %lld sales in %.1f s (%.0f/s), %lld refused%s%s", static_cast<long long>(recorded), saleSeconds,
          static_cast<double>(recorded) / saleSeconds, static_cast<long long>(refused),
          firstRefusal.empty() ? "" : "; first: ", firstRefusal.c_str()));
  if (refused > 0) throw std::runtime_error("set-up sales were refused: " + firstRefusal);

  const json afterSales = storeSize(db, file);
  say("set-up: measuring table and index sizes (dbstat) ...");
  const json objects = objectSizes(db);

  const auto total = [](const json& s) { return s.at("total_bytes").get<std::int64_t>(); };
  json size = {{"after_members", afterMembers},
               {"after_sales", afterSales},
               {"bytes_per_member", enrolled > 0 ? round1(static_cast<double>(total(afterMembers)) / static_cast<double>(enrolled)) : 0.0},
               {"bytes_per_sale", recorded > 0 ? round1(static_cast<double>(total(afterSales) - total(afterMembers)) /
                                                        static_cast<double>(recorded))
                                               : 0.0},
               {"objects_bytes", objects}};
  json setupMembers = rateJson(enrolled, memberSeconds);
  setupMembers["batch"] = kBatch;
  json setupSales = rateJson(recorded, saleSeconds);
  setupSales["batch"] = kBatch;
  setupSales["member_share"] = 0.9;
  setupSales["lines_per_sale"] = "1-4";
  setupSales["sale_id_form"] = "B%08d";
  json marker = {{"format", kStoreFormat},
                 {"members_requested", o.members},
                 {"sales_requested", o.sales},
                 {"seed", o.seed},
                 {"complete", true},
                 {"setup", {{"members", setupMembers}, {"sales", setupSales}}},
                 {"size", size}};
  std::ofstream(dir / kMarkerFile) << marker.dump(2) << '\n';
  return marker;
}

Store prepareStore(const Options& o, const fs::path& dir, bool temporary, const std::string& schema) {
  Store s;
  s.dir = dir;
  s.temporary = temporary;
  if (!temporary) {
    fs::create_directories(s.dir);
    std::ifstream in(s.dir / kMarkerFile);
    if (in) {
      const json m = json::parse(in, nullptr, false);
      // Opened without migrating: a store made by older terminal code must be rebuilt, not reused.
      const auto storeSchema = [&] {
        db::Database db(s.file().string());
        return schemaHash(db);
      };
      if (!m.is_discarded() && markerMatches(m, o) && fs::exists(s.file()) && storeSchema() == schema) {
        s.reused = true;
        s.marker = m;
        say("store: reusing " + s.dir.string() + " (built earlier with the same size, seed and schema)");
        return s;
      }
      say("store: " + s.dir.string() + " holds another size, seed or schema; rebuilding it");
    }
  }
  say("store: building in " + s.dir.string());
  s.marker = buildStore(o, s.dir);
  return s;
}

// [SECTION] 1. Lookups

std::size_t utf8Len(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

/// The first `n` code points of `s`, or nullopt if it is shorter or not all multi-byte (Han).
std::optional<std::string> hanPrefix(const std::string& s, std::size_t n) {
  std::size_t pos = 0;
  for (std::size_t k = 0; k < n; ++k) {
    if (pos >= s.size() || static_cast<unsigned char>(s[pos]) < 0xE0) return std::nullopt;
    pos += utf8Len(static_cast<unsigned char>(s[pos]));
  }
  if (pos > s.size()) return std::nullopt;
  return s.substr(0, pos);
}

struct QuerySet {
  std::string key;
  std::vector<std::string> queries;
  /// Whether an answer is right for this query (every query is taken from a real member).
  bool (*check)(const std::string& query, const std::vector<terminal::MemberView>& found);
};

json runQueries(CounterService& service, const QuerySet& set, std::int64_t warmup) {
  // Warm-up: the first queries once, unmeasured (statement cache, code paths).
  for (std::int64_t i = 0; i < std::min<std::int64_t>(warmup, static_cast<std::int64_t>(set.queries.size())); ++i) {
    (void)service.lookup({set.queries[static_cast<std::size_t>(i)], kLookupLimit});
  }
  std::vector<double> us, cpuUs;
  us.reserve(set.queries.size());
  cpuUs.reserve(set.queries.size());
  std::int64_t right = 0, results = 0, refused = 0;
  const double load0 = loadAverage();
  for (const std::string& q : set.queries) {
    const double c0 = threadCpuMicros();
    const auto t0 = Clock::now();
    auto found = service.lookup({q, kLookupLimit});
    const auto t1 = Clock::now();
    const double c1 = threadCpuMicros();
    us.push_back(microsOf(t1 - t0));
    cpuUs.push_back(c1 - c0);
    if (!found) {
      ++refused;
      continue;
    }
    results += static_cast<std::int64_t>(found->size());
    if (set.check(q, *found)) ++right;
  }
  json j = latencyJson(us, "us");
  j["answered_right"] = right;
  j["refused"] = refused;
  j["mean_results"] = round1(static_cast<double>(results) / static_cast<double>(std::max<std::size_t>(us.size(), 1)));
  // The same queries in on-CPU time of this thread (wall time minus time preempted).
  const json cpu = latencyJson(cpuUs, "us");
  j["cpu_p50_us"] = cpu.value("p50_us", 0.0);
  j["cpu_p99_us"] = cpu.value("p99_us", 0.0);
  j["loadavg_1m"] = round1(std::max(load0, loadAverage()));
  say(fmt("lookup %-13s p50 %8.1f us  p99 %8.1f us  max %9.1f us  cpu p99 %7.1f us  (%lld queries, %lld answered right, "
          "%.1f results avg, load %.1f)",
          set.key.c_str(), j.value("p50_us", 0.0), j.value("p99_us", 0.0), j.value("max_us", 0.0),
          j.value("cpu_p99_us", 0.0), static_cast<long long>(us.size()), static_cast<long long>(right),
          j.value("mean_results", 0.0), j.value("loadavg_1m", 0.0)));
  return j;
}

/// Whether every member found reads as the pinyin query (whole or initials) asks.
bool readsAs(const std::string& q, const std::vector<terminal::MemberView>& found, bool initials) {
  return !found.empty() && std::all_of(found.begin(), found.end(), [&](const terminal::MemberView& m) {
    const auto spellings = pinyinSpellings(normalizeName(m.name));
    return std::any_of(spellings.begin(), spellings.end(), [&](const PinyinSpelling& s) {
      return (initials ? s.initials : s.full).starts_with(q);
    });
  });
}

json benchLookups(CounterService& service, db::Database& db, const Options& o) {
  std::mt19937_64 gen(o.seed ^ 0x100CULL);
  const auto n = static_cast<std::size_t>(o.queries);
  QuerySet phone{"exact_phone", {}, [](const std::string& q, const std::vector<terminal::MemberView>& f) {
                   return !f.empty() && f.front().phone == "+86" + q;
                 }};
  QuerySet last4{"last4", {}, [](const std::string& q, const std::vector<terminal::MemberView>& f) {
                   return !f.empty() && std::all_of(f.begin(), f.end(), [&](const terminal::MemberView& m) {
                     return m.phone.ends_with(q);
                   });
                 }};
  QuerySet card{"card", {}, [](const std::string& q, const std::vector<terminal::MemberView>& f) {
                  return f.size() == 1 && f.front().cardNo == q;
                }};
  QuerySet name{"name_prefix2", {}, [](const std::string&, const std::vector<terminal::MemberView>& f) {
                  return !f.empty();
                }};
  // Pinyin of a real member's name, whole ("zhangwei") and as initials ("zw").
  QuerySet pinyinFull{"pinyin_full", {}, [](const std::string& q, const std::vector<terminal::MemberView>& f) {
                        return readsAs(q, f, false);
                      }};
  QuerySet pinyinInitials{"pinyin_initials", {}, [](const std::string& q, const std::vector<terminal::MemberView>& f) {
                            return readsAs(q, f, true);
                          }};
  for (std::size_t i = 0; i < n; ++i) {
    const std::string p = terminal::generatedPhone(static_cast<std::int64_t>(gen() % static_cast<std::uint64_t>(o.members)));
    phone.queries.push_back(p);
    last4.queries.push_back(p.substr(p.size() - 4));
  }
  std::uint64_t maxRowid = 0;
  {
    auto q = db.query("SELECT MAX(rowid) AS max_rowid FROM members");
    q.step();
    maxRowid = static_cast<std::uint64_t>(q.int64("max_rowid"));
  }
  for (std::size_t tries = 0; (card.queries.size() < n || name.queries.size() < n) && tries < 100 * n; ++tries) {
    auto row = db.query("SELECT card_no, name FROM members WHERE rowid = ?")
                   .bind(1, static_cast<std::int64_t>(1 + gen() % maxRowid));
    if (row.step()) {
      if (card.queries.size() < n) card.queries.push_back(row.text("card_no"));
      if (name.queries.size() < n) {
        if (auto prefix = hanPrefix(row.text("name"), 2)) name.queries.push_back(*prefix);
        const auto spellings = pinyinSpellings(normalizeName(row.text("name")));
        if (!spellings.empty()) {
          pinyinFull.queries.push_back(spellings.front().full);
          pinyinInitials.queries.push_back(spellings.front().initials);
        }
      }
    }
  }

  json out = json::object();
  for (const QuerySet* set : {&phone, &last4, &card, &name, &pinyinFull, &pinyinInitials}) {
    out[set->key] = runQueries(service, *set, 200);
  }
  out["limit"] = kLookupLimit;
  return out;
}

// [SECTION] 2. Sale commits against a raw one-row-per-commit baseline

/// Pages this connection has written (to the WAL, in WAL mode) since the last call; resets.
std::int64_t pagesWritten(db::Database& db) {
  int current = 0, highwater = 0;
  sqlite3_db_status(db.handle(), SQLITE_DBSTATUS_CACHE_WRITE, &current, &highwater, 1);
  return current;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const std::size_t mid = v.size() / 2;
  return v.size() % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2.0;
}

json benchCommits(CounterService& service, db::Database& storeDb, const Store& store, const Options& o) {
  const fs::path rawFile = store.dir / "raw-baseline.db";
  removeDatabaseFiles(rawFile);
  std::vector<double> saleUs, rawUs, blockRatios;
  std::int64_t refused = 0, salePages = 0, rawPages = 0;
  double saleCpuUs = 0, rawCpuUs = 0;  // measured commits only
  std::string firstRefusal;
  {
    db::Database raw(rawFile.string());  // same pragmas as the store: WAL, synchronous=FULL
    setCheckpoints(raw, o);              // and the same checkpoints
    raw.exec("CREATE TABLE samples (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
    const Catalogue catalogue;
    std::mt19937_64 gen(o.seed ^ 0xC0FFEEULL);
    // Unique per run, so a reused store never sees an idempotent replay of an earlier run's id.
    const std::string run = std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    const Timestamp start = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    std::int64_t saleNo = 0, rawNo = 0;

    const auto oneSale = [&](std::vector<double>* sink) {
      const std::string phone =
          terminal::generatedPhone(static_cast<std::int64_t>(gen() % static_cast<std::uint64_t>(o.members)));
      const SaleRequest r = makeSale(fmt("C%s-%06lld", run.c_str(), static_cast<long long>(saleNo)), phone, gen, catalogue,
                                     start + std::chrono::seconds{saleNo});
      ++saleNo;
      const double c0 = threadCpuMicros();
      const auto t0 = Clock::now();
      auto result = service.sale(r);
      const auto t1 = Clock::now();
      if (sink) saleCpuUs += threadCpuMicros() - c0;
      if (!result && refused++ == 0) firstRefusal = result.error().field + ": " + result.error().message;
      if (sink) sink->push_back(microsOf(t1 - t0));
    };
    const auto oneRaw = [&](std::vector<double>* sink) {
      const std::string value = "sample " + std::to_string(rawNo++);
      const double c0 = threadCpuMicros();
      const auto t0 = Clock::now();
      db::Transaction tx(raw);
      raw.query("INSERT INTO samples (v) VALUES (?)").bind(1, value).run();
      tx.commit();
      const auto t1 = Clock::now();
      if (sink) rawCpuUs += threadCpuMicros() - c0;
      if (sink) sink->push_back(microsOf(t1 - t0));
    };

    for (int i = 0; i < 50; ++i) {  // warm-up, unmeasured
      oneSale(nullptr);
      oneRaw(nullptr);
    }
    (void)pagesWritten(storeDb);
    (void)pagesWritten(raw);
    std::int64_t done = 0;
    for (std::int64_t b = 0; done < o.commits; ++b) {
      const std::int64_t count = std::min(o.block, o.commits - done);
      const std::size_t saleFrom = saleUs.size(), rawFrom = rawUs.size();
      // Alternate which goes first, so drift on a shared disk hits both alike.
      for (int half = 0; half < 2; ++half) {
        const bool salesNow = (half == 0) == (b % 2 == 0);
        for (std::int64_t i = 0; i < count; ++i) {
          if (salesNow) {
            oneSale(&saleUs);
          } else {
            oneRaw(&rawUs);
          }
        }
      }
      double saleBlock = 0, rawBlock = 0;
      for (std::size_t i = saleFrom; i < saleUs.size(); ++i) saleBlock += saleUs[i];
      for (std::size_t i = rawFrom; i < rawUs.size(); ++i) rawBlock += rawUs[i];
      blockRatios.push_back(rawBlock / saleBlock);  // same count in both: rate ratio
      done += count;
    }
    salePages = pagesWritten(storeDb);
    rawPages = pagesWritten(raw);
  }
  removeDatabaseFiles(rawFile);

  double saleSum = 0, rawSum = 0;
  for (double v : saleUs) saleSum += v;
  for (double v : rawUs) rawSum += v;
  const double saleRate = static_cast<double>(saleUs.size()) / (saleSum * 1e-6);
  const double rawRate = static_cast<double>(rawUs.size()) / (rawSum * 1e-6);
  json sales = latencyJson(saleUs, "ms");
  sales["per_second"] = round1(saleRate);
  sales["refused"] = refused;
  sales["cpu_ms_mean"] = round3(saleCpuUs / 1000.0 / static_cast<double>(std::max<std::size_t>(saleUs.size(), 1)));
  sales["wal_pages_per_commit"] = round1(static_cast<double>(salePages) / static_cast<double>(std::max<std::size_t>(saleUs.size(), 1)));
  json rawJ = latencyJson(rawUs, "ms");
  rawJ["per_second"] = round1(rawRate);
  rawJ["cpu_ms_mean"] = round3(rawCpuUs / 1000.0 / static_cast<double>(std::max<std::size_t>(rawUs.size(), 1)));
  rawJ["wal_pages_per_commit"] = round1(static_cast<double>(rawPages) / static_cast<double>(std::max<std::size_t>(rawUs.size(), 1)));
  const double ratio = rawRate > 0 ? saleRate / rawRate : 0.0;
  const double blockMedian = median(blockRatios);
  const double load = loadAverage();
  say(fmt("commit sale          %8.1f/s  p50 %6.2f ms  p99 %6.2f ms  %5.1f WAL pages/commit  (%zu sales, one transaction each)",
          saleRate, sales.value("p50_ms", 0.0), sales.value("p99_ms", 0.0), sales.value("wal_pages_per_commit", 0.0),
          saleUs.size()));
  say(fmt("commit raw insert    %8.1f/s  p50 %6.2f ms  p99 %6.2f ms  %5.1f WAL pages/commit", rawRate,
          rawJ.value("p50_ms", 0.0), rawJ.value("p99_ms", 0.0), rawJ.value("wal_pages_per_commit", 0.0)));
  say(fmt("commit ratio sale/raw %.3f overall, %.3f median of %zu block pairs; cpu per commit sale %.3f ms, raw %.3f ms",
          ratio, blockMedian, blockRatios.size(), sales.value("cpu_ms_mean", 0.0), rawJ.value("cpu_ms_mean", 0.0)));
  if (refused > 0) say("commit: " + std::to_string(refused) + " sales refused; first: " + firstRefusal);
  return {{"sale", sales},
          {"raw_insert", rawJ},
          {"ratio", round3(ratio)},
          {"ratio_block_median", round3(blockMedian)},
          {"loadavg_1m", round1(load)},
          {"block_size", o.block},
          {"blocks_each", (o.commits + o.block - 1) / o.block},
          {"durability", "journal_mode=WAL, synchronous=FULL, one transaction per operation"}};
}

// [SECTION] 2b. Sales with five active promotions against the same sales without any

/// Five promotions of every kind, all active on every day of the run: 满减 with repeat, 满赠,
/// a member price on some SKUs, a holiday multiplier and a member day (today's weekday).
ProgrammeRules rulesWithPromotions(Timestamp start) {
  ProgrammeRules rules;
  const auto money = [](const char* text) { return *Money::parse(text, "bench"); };
  Promotion off;
  off.id = "spend100-off10";
  off.kind = Promotion::Kind::kSpendDiscount;
  off.threshold = money("100.00");
  off.amount = money("10.00");
  off.repeat = true;
  Promotion gift;
  gift.id = "spend200-gift";
  gift.kind = Promotion::Kind::kSpendGift;
  gift.threshold = money("200.00");
  gift.giftSku = "GIFT-TOWEL";
  Promotion memberPrice;
  memberPrice.id = "member-price";
  memberPrice.kind = Promotion::Kind::kMemberDiscount;
  memberPrice.percent = "5";
  for (int k = 0; k < 500; k += 5) memberPrice.skus.push_back(fmt("SKU%05d", k));
  Promotion holiday;
  holiday.id = "holiday-x2";
  holiday.kind = Promotion::Kind::kPointsMultiplier;
  holiday.multiplier = *Multiplier::parse("2.0", "bench");
  holiday.from = Date{std::chrono::year{2020}, std::chrono::January, std::chrono::day{1}};
  holiday.to = Date{std::chrono::year{2099}, std::chrono::December, std::chrono::day{31}};
  Promotion memberDay;
  memberDay.id = "member-day-x1.5";
  memberDay.kind = Promotion::Kind::kPointsMultiplier;
  memberDay.multiplier = *Multiplier::parse("1.5", "bench");
  memberDay.weekday = static_cast<int>(std::chrono::weekday{std::chrono::floor<std::chrono::days>(start)}.iso_encoding());
  rules.promotions = {off, gift, memberPrice, holiday, memberDay};
  return rules;
}

json benchPromotions(db::Database& db, const Options& o) {
  const Timestamp start = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  RandomIds plainIds, promoIds;
  CounterService plain(db, CounterConfig{}, plainIds);
  CounterConfig promoConfig;
  promoConfig.rules = rulesWithPromotions(start);
  CounterService promo(db, promoConfig, promoIds);
  const Catalogue catalogue;
  std::mt19937_64 gen(o.seed ^ 0x9E3779B9ULL);
  const std::string run = std::to_string(start.time_since_epoch().count());
  std::int64_t saleNo = 0, refused = 0, promotionsListed = 0;
  std::vector<double> plainUs, promoUs, blockRatios;
  const auto oneSale = [&](CounterService& service, std::vector<double>* sink) {
    const std::string phone =
        terminal::generatedPhone(static_cast<std::int64_t>(gen() % static_cast<std::uint64_t>(o.members)));
    const SaleRequest r = makeSale(fmt("P%s-%06lld", run.c_str(), static_cast<long long>(saleNo)), phone, gen, catalogue,
                                   start + std::chrono::seconds{saleNo});
    ++saleNo;
    const auto t0 = Clock::now();
    auto result = service.sale(r);
    const auto t1 = Clock::now();
    if (!result) ++refused;
    if (result && sink == &promoUs) promotionsListed += static_cast<std::int64_t>(result->promotions.size());
    if (sink) sink->push_back(microsOf(t1 - t0));
  };
  for (int i = 0; i < 50; ++i) {  // warm-up, unmeasured
    oneSale(plain, nullptr);
    oneSale(promo, nullptr);
  }
  for (std::int64_t b = 0, done = 0; done < o.commits; ++b) {
    const std::int64_t count = std::min(o.block, o.commits - done);
    double plainBlock = 0, promoBlock = 0;
    for (int half = 0; half < 2; ++half) {
      const bool plainNow = (half == 0) == (b % 2 == 0);  // alternate which goes first
      for (std::int64_t i = 0; i < count; ++i) oneSale(plainNow ? plain : promo, plainNow ? &plainUs : &promoUs);
    }
    for (std::size_t i = plainUs.size() - static_cast<std::size_t>(count); i < plainUs.size(); ++i) plainBlock += plainUs[i];
    for (std::size_t i = promoUs.size() - static_cast<std::size_t>(count); i < promoUs.size(); ++i) promoBlock += promoUs[i];
    blockRatios.push_back(plainBlock / promoBlock);
    done += count;
  }
  const auto rate = [](const std::vector<double>& us) {
    double sum = 0;
    for (double v : us) sum += v;
    return static_cast<double>(us.size()) / (sum * 1e-6);
  };
  const double plainRate = rate(plainUs), promoRate = rate(promoUs);
  json plainJ = latencyJson(plainUs, "ms");
  plainJ["per_second"] = round1(plainRate);
  json promoJ = latencyJson(promoUs, "ms");
  promoJ["per_second"] = round1(promoRate);
  promoJ["promotions_listed_per_sale"] = round3(static_cast<double>(promotionsListed) / static_cast<double>(promoUs.size()));
  const double ratio = promoRate / plainRate;
  say(fmt("sale, no promotions  %8.1f/s  p50 %6.2f ms  p99 %6.2f ms", plainRate, plainJ.value("p50_ms", 0.0),
          plainJ.value("p99_ms", 0.0)));
  say(fmt("sale, 5 promotions   %8.1f/s  p50 %6.2f ms  p99 %6.2f ms  (%.2f promotions listed per sale)", promoRate,
          promoJ.value("p50_ms", 0.0), promoJ.value("p99_ms", 0.0), promoJ.value("promotions_listed_per_sale", 0.0)));
  say(fmt("promotions ratio %.3f overall, %.3f median of %zu block pairs", ratio, median(blockRatios), blockRatios.size()));
  return {{"no_promotions", plainJ},
          {"five_promotions", promoJ},
          {"ratio", round3(ratio)},
          {"ratio_block_median", round3(median(blockRatios))},
          {"refused", refused},
          {"promotions", {"spend_discount (repeat)", "spend_gift", "member_discount (100 SKUs)",
                          "points_multiplier (date window)", "points_multiplier (member day)"}}};
}

// [SECTION] 3. Replay of the real data set

/// Counts the statements a connection starts (each run of a prepared statement, and each
/// statement of an exec), while it lives.
class StatementCounter {
 public:
  explicit StatementCounter(db::Database& db) : m_db(db) {
    sqlite3_trace_v2(m_db.handle(), SQLITE_TRACE_STMT, &StatementCounter::onTrace, this);
  }
  StatementCounter(const StatementCounter&) = delete;
  StatementCounter& operator=(const StatementCounter&) = delete;
  ~StatementCounter() { sqlite3_trace_v2(m_db.handle(), 0, nullptr, nullptr); }
  std::int64_t count() const { return m_count; }

 private:
  static int onTrace(unsigned, void* self, void*, void* sql) {
    // Triggers' statements report as "-- ..." comments: they are part of the statement that fired them.
    if (std::string_view(static_cast<const char*>(sql)).starts_with("--")) return 0;
    ++static_cast<StatementCounter*>(self)->m_count;
    return 0;
  }
  db::Database& m_db;
  std::int64_t m_count = 0;
};

/// "2011-06-01 12:05:00", UK wall-clock time (GMT, or BST from the last Sunday of March to the
/// last Sunday of October, changing at 01:00 GMT) -> UTC.
Timestamp ukLocalToUtc(const std::string& text) {
  using namespace std::chrono;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (std::sscanf(text.c_str(), "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &s) != 6) {
    throw std::runtime_error("bad InvoiceDate " + text);
  }
  const sys_seconds local = sys_days{year{y} / month{static_cast<unsigned>(mo)} / day{static_cast<unsigned>(d)}} +
                            hours{h} + minutes{mi} + seconds{s};
  const auto lastSunday = [&](unsigned m) { return sys_days{year{y} / month{m} / Sunday[last]}; };
  const sys_seconds bstStart = lastSunday(3) + hours{1};
  const sys_seconds bstEnd = lastSunday(10) + hours{1};
  const sys_seconds ifBst = local - hours{1};
  return ifBst >= bstStart && ifBst < bstEnd ? ifBst : local;
}

std::string gunzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) throw std::runtime_error("cannot open " + path);
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      gzclose(f);
      throw std::runtime_error("cannot decompress " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  gzclose(f);
  return out;
}

struct Invoice {
  std::string no;
  std::string customer;
  Timestamp at;
  std::vector<SaleLineInput> lines;
};

json benchReplay(const Options& o) {
  if (!fs::exists(o.dataset)) {
    say("replay: skipped, no data set at " + o.dataset);
    return {{"skipped", true}, {"note", "data set not found: " + o.dataset}};
  }
  say("replay: reading " + o.dataset);
  std::istringstream csv(gunzip(o.dataset));
  terminal::CsvReader reader(csv);
  std::vector<std::string> row;
  const std::vector<std::string> header = {"InvoiceNo", "StockCode", "Description", "Quantity",
                                           "InvoiceDate", "UnitPrice", "CustomerID", "Country"};
  if (!reader.next(row) || row != header) throw std::runtime_error("unexpected header in " + o.dataset);
  std::vector<Invoice> invoices;
  std::unordered_map<std::string, std::size_t> byNo;
  std::int64_t rows = 0;
  while (reader.next(row)) {
    if (row.size() != header.size()) throw std::runtime_error(fmt("line %zu: %zu fields", reader.line(), row.size()));
    ++rows;
    auto [it, fresh] = byNo.try_emplace(row[0], invoices.size());
    if (fresh) invoices.push_back({row[0], row[6], ukLocalToUtc(row[4]), {}});
    SaleLineInput line;
    line.sku = row[1];
    if (!row[2].empty()) line.description = row[2];
    line.qty = std::stoll(row[3]);
    line.unitPrice = row[5];
    invoices[it->second].lines.push_back(std::move(line));
  }

  const fs::path dir = makeTempDir(LOYALTY_BENCH_WORK_DIR, "bench-replay");
  const DirCleanup cleanup(dir);
  json out;
  {
    auto db = terminal::openTerminalDatabase(dir.string());
    setCheckpoints(db, o);
    RandomIds ids(o.seed);
    CounterService service(db, CounterConfig{}, ids);

    // One member per customer id, enrolled up front in one batch (set-up, not measured as replay).
    std::set<std::string> customers;
    for (const Invoice& inv : invoices) {
      if (!inv.customer.empty()) customers.insert(inv.customer);
    }
    std::map<std::string, std::string> phoneOf;
    const auto e0 = Clock::now();
    {
      db::Transaction tx(db);
      for (const std::string& c : customers) {
        terminal::EnrollRequest r;
        r.phone = terminal::generatedPhone(std::stoll(c));
        r.name = "Customer " + c;
        r.consentMarketing = false;
        r.at = at(2010, 11, 30, 9);
        auto enrolled = service.enroll(r);
        if (!enrolled) throw std::runtime_error("cannot enrol customer " + c + ": " + enrolled.error().message);
        phoneOf[c] = r.phone;
      }
      tx.commit();
    }
    const double enrolSeconds = secondsOf(Clock::now() - e0);

    say(fmt("replay: %lld rows, %zu invoices, %zu customers; replaying one transaction per invoice ...",
            static_cast<long long>(rows), invoices.size(), customers.size()));
    std::vector<double> us;
    std::int64_t replayed = 0, skippedAdjustments = 0, cancellations = 0, split = 0, saleCount = 0, refused = 0;
    std::int64_t revenueMinor = 0;
    std::vector<std::string> refusals;
    (void)pagesWritten(db);
    std::int64_t idleCheckpoints = 0;
    double idleSeconds = 0, idleCpuUs = 0;
    const StatementCounter statements(db);
    const double cpu0 = threadCpuMicros();
    const auto r0 = Clock::now();
    for (const Invoice& inv : invoices) {
      if (inv.no.starts_with("A")) {
        ++skippedAdjustments;
        continue;
      }
      if (inv.no.starts_with("C")) ++cancellations;
      // CounterService takes at most 1000 lines per sale; a longer invoice becomes several sales.
      const std::size_t parts = (inv.lines.size() + kMaxSaleLines - 1) / kMaxSaleLines;
      if (parts > 1) ++split;
      bool ok = true;
      for (std::size_t p = 0; p < parts; ++p) {
        SaleRequest r;
        r.saleId = p == 0 ? inv.no : inv.no + "#" + std::to_string(p + 1);
        if (!inv.customer.empty()) r.member = phoneOf.at(inv.customer);
        r.at = inv.at;
        const auto first = inv.lines.begin() + static_cast<std::ptrdiff_t>(p * kMaxSaleLines);
        r.lines.assign(first, first + static_cast<std::ptrdiff_t>(std::min(kMaxSaleLines, inv.lines.size() - p * kMaxSaleLines)));
        const auto t0 = Clock::now();
        auto result = service.sale(r);
        us.push_back(microsOf(Clock::now() - t0));
        ++saleCount;
        if (result) {
          revenueMinor += result->total.minor();
        } else {
          ok = false;
          ++refused;
          if (refusals.size() < 5) refusals.push_back(inv.no + ": " + result.error().field + ": " + result.error().message);
        }
      }
      if (ok) ++replayed;
      if (o.idleCheckpoints && db.walPages() >= kIdleCheckpointPages) {
        const double c0 = threadCpuMicros();
        const auto t0 = Clock::now();
        if (db.checkpointWhenIdle()) ++idleCheckpoints;
        idleSeconds += secondsOf(Clock::now() - t0);
        idleCpuUs += threadCpuMicros() - c0;
      }
    }
    const double wallSeconds = secondsOf(Clock::now() - r0);
    // With idle checkpoints, the time between customers they took is not the sales' time.
    const double replaySeconds = wallSeconds - idleSeconds;
    // CPU time of this thread (the kernel's part of writing and syncing included): what the
    // shared host's load moves least.
    const double cpuMsPerSale =
        (threadCpuMicros() - cpu0 - idleCpuUs) / 1000.0 / static_cast<double>(std::max<std::int64_t>(saleCount, 1));
    const double walPagesPerSale = static_cast<double>(pagesWritten(db)) / static_cast<double>(std::max<std::int64_t>(saleCount, 1));
    const double statementsPerSale = static_cast<double>(statements.count()) / static_cast<double>(std::max<std::int64_t>(saleCount, 1));
    const double load = loadAverage();
    const auto report = service.verify();

    json latency = latencyJson(us, "ms");
    out = {{"skipped", false},
           {"dataset", fs::path(o.dataset).filename().string()},
           {"rows", rows},
           {"invoices", invoices.size()},
           {"invoices_replayed", replayed},
           {"cancellations", cancellations},
           {"adjustments_skipped", skippedAdjustments},
           {"invoices_split_over_1000_lines", split},
           {"sales_committed", saleCount - refused},
           {"sales_refused", refused},
           {"refusals", refusals},
           {"members", customers.size()},
           {"member_enrol_seconds", round3(enrolSeconds)},
           {"seconds", round3(replaySeconds)},
           {"invoices_per_second", round1(static_cast<double>(replayed) / replaySeconds)},
           {"sale_latency", latency},
           {"wal_pages_per_sale", round1(walPagesPerSale)},
           {"cpu_ms_per_sale", round3(cpuMsPerSale)},
           {"statements_per_sale", round1(statementsPerSale)},
           {"revenue", Money::fromMinor(revenueMinor).toString()},
           {"verify_problems", report.problems.size()},
           {"loadavg_1m", round1(load)},
           {"checkpoints", o.idleCheckpoints ? "idle: between invoices once the WAL holds 1000 pages, timed apart from "
                                               "the sales (the counter app's store worker checkpoints when its queue is empty)"
                                             : o.checkpoints == "deferred"
                                                   ? "deferred: no idle moment, so each runs at the WAL's bound inside a sale"
                                             : o.checkpoints == "background"
                                                   ? "background: on a thread of their own, woken by the commit that takes the WAL past 1000 pages"
                                                   : "sqlite: automatic, inside the commit that reaches 1000 pages"},
           {"idle_checkpoints", idleCheckpoints},
           {"idle_checkpoint_seconds", round3(idleSeconds)},
           {"idle_checkpoint_cpu_ms_per_sale",
            round3(idleCpuUs / 1000.0 / static_cast<double>(std::max<std::int64_t>(saleCount, 1)))},
           {"invoices_per_second_with_idle_checkpoints", round1(static_cast<double>(replayed) / wallSeconds)},
           {"durability", "one transaction per sale, journal_mode=WAL, synchronous=FULL"}};
    say(fmt("replay: %lld invoices in %.1f s = %.1f invoices/s (p50 %.2f ms, p99 %.2f ms, %.1f WAL pages/sale, "
            "%.1f statements/sale, cpu %.3f ms/sale; %lld idle checkpoints, %.1f s), "
            "revenue %s, %zu refused, verify %s",
            static_cast<long long>(replayed), replaySeconds, static_cast<double>(replayed) / replaySeconds,
            latency.value("p50_ms", 0.0), latency.value("p99_ms", 0.0), walPagesPerSale, statementsPerSale, cpuMsPerSale,
            static_cast<long long>(idleCheckpoints), idleSeconds, Money::fromMinor(revenueMinor).toString().c_str(),
            static_cast<std::size_t>(refused), report.problems.empty() ? "ok" : report.problems.front().c_str()));
  }
  return out;
}

// [SECTION] Main

json target(const char* what, double value, double limit, bool pass) {
  return {{"what", what}, {"value", value}, {"limit", limit}, {"pass", pass}};
}

[[noreturn]] void usage(int code) {
  std::cerr << "usage: loyalty-bench --out FILE [--members N] [--sales N] [--store DIR] [--dataset FILE]\n"
               "                     [--queries N] [--commits N] [--block N] [--seed N] [--keep]\n"
               "                     [--sections lookup,commit,promotions,replay] [--revision TEXT]\n"
               "                     [--checkpoints background|deferred|sqlite] [--idle-checkpoints]\n"
               "  --store DIR   build the members/sales store in DIR, or reuse it if already built there\n"
               "                with the same --members/--sales/--seed (default: a temporary directory\n"
               "                under the build directory, removed afterwards unless --keep)\n";
  std::exit(code);
}

Options parseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(2);
      return argv[++i];
    };
    const auto number = [&]() -> std::int64_t {
      const std::string v = value();
      std::size_t used = 0;
      long long n = 0;
      try {
        n = std::stoll(v, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != v.size() || n < 1) {
        std::cerr << a << " needs a positive whole number, not \"" << v << "\"\n";
        std::exit(2);
      }
      return n;
    };
    if (a == "--out") o.out = value();
    else if (a == "--members") o.members = number();
    else if (a == "--sales") o.sales = number();
    else if (a == "--store") o.store = value();
    else if (a == "--dataset") o.dataset = value();
    else if (a == "--queries") o.queries = number();
    else if (a == "--commits") o.commits = number();
    else if (a == "--block") o.block = number();
    else if (a == "--seed") o.seed = static_cast<std::uint64_t>(number());
    else if (a == "--keep") o.keep = true;
    else if (a == "--idle-checkpoints") o.idleCheckpoints = true;
    else if (a == "--revision") o.revision = value();
    else if (a == "--sections") {
      o.sections.clear();
      std::stringstream list(value());
      for (std::string name; std::getline(list, name, ',');) {
        if (name != "lookup" && name != "commit" && name != "promotions" && name != "replay") {
          std::cerr << "--sections takes lookup, commit, promotions and/or replay, not \"" << name << "\"\n";
          std::exit(2);
        }
        o.sections.insert(name);
      }
    }
    else if (a == "--checkpoints") {
      o.checkpoints = value();
      if (o.checkpoints != "deferred" && o.checkpoints != "background" && o.checkpoints != "sqlite") {
        std::cerr << "--checkpoints takes background, deferred or sqlite, not \"" << o.checkpoints << "\"\n";
        std::exit(2);
      }
    }
    else if (a == "--help" || a == "-h") usage(0);
    else {
      std::cerr << "unknown option " << a << '\n';
      usage(2);
    }
  }
  if (o.out.empty()) usage(2);
  return o;
}

int run(const Options& o) {
  const auto wall0 = Clock::now();
  say(fmt("loyalty-bench: %lld members, %lld sales, SQLite %s", static_cast<long long>(o.members),
          static_cast<long long>(o.sales), sqlite3_libversion()));
  const fs::path storeDir = o.store.empty() ? makeTempDir(LOYALTY_BENCH_WORK_DIR, "bench-store") : fs::path(o.store);
  const bool temporary = o.store.empty();
  DirCleanup cleanup(storeDir, temporary && !o.keep);
  const std::string schema = currentSchemaHash();
  Store store = prepareStore(o, storeDir, temporary, schema);

  json lookups, commits, promotions, pragmas;
  {
    // Measure on a fresh connection, as the counter app would after start-up (the OS page cache
    // holds the file; SQLite's own page cache starts empty at its default size).
    auto db = terminal::openTerminalDatabase(store.dir.string());
    setCheckpoints(db, o);
    RandomIds ids;
    CounterService service(db, CounterConfig{}, ids);
    for (const char* name : {"page_size", "cache_size", "mmap_size", "wal_autocheckpoint", "synchronous"}) {
      auto q = db.query(std::string("PRAGMA ") + name);
      if (q.step()) pragmas[name] = q.int64(name);
    }
    if (o.sections.contains("lookup")) lookups = benchLookups(service, db, o);
    if (o.sections.contains("commit")) commits = benchCommits(service, db, store, o);
    if (o.sections.contains("promotions")) promotions = benchPromotions(db, o);
  }
  const std::int64_t rssStore = peakRssBytes();
  const json replay = o.sections.contains("replay") ? benchReplay(o) : json{{"skipped", true}, {"note", "not selected"}};
  const std::int64_t rss = peakRssBytes();

  const json& size = store.marker.at("size");
  say(fmt("size: %.1f MiB after members (%.0f B/member), %.1f MiB after sales (%.0f B/sale)",
          mib(size.at("after_members").at("total_bytes").get<std::int64_t>()), size.value("bytes_per_member", 0.0),
          mib(size.at("after_sales").at("total_bytes").get<std::int64_t>()), size.value("bytes_per_sale", 0.0)));
  say(fmt("memory: peak RSS %.1f MiB before the replay, %.1f MiB overall", mib(rssStore), mib(rss)));

  json targets = json::object();
  if (!lookups.is_null()) {
    const double phoneP99 = lookups.at("exact_phone").value("p99_us", 0.0);
    const double cardP99 = lookups.at("card").value("p99_us", 0.0);
    const double last4P99 = lookups.at("last4").value("p99_us", 0.0);
    const double nameP99 = lookups.at("name_prefix2").value("p99_us", 0.0);
    const double pinyinP99 = std::max(lookups.at("pinyin_full").value("p99_us", 0.0),
                                      lookups.at("pinyin_initials").value("p99_us", 0.0));
    targets["pinyin_p99_us_lt_5000"] =
        target("name pinyin lookup (full or initials) p99 < 5 ms", pinyinP99, 5000, pinyinP99 < 5000);
    targets["exact_phone_p99_us_lt_100"] = target("exact phone lookup p99 < 100 us", phoneP99, 100, phoneP99 < 100);
    targets["card_p99_us_lt_100"] = target("card number lookup p99 < 100 us", cardP99, 100, cardP99 < 100);
    targets["last4_p99_us_lt_5000"] = target("last-4-digits lookup p99 < 5 ms", last4P99, 5000, last4P99 < 5000);
    targets["name_prefix2_p99_us_lt_5000"] =
        target("2-character name prefix lookup p99 < 5 ms", nameP99, 5000, nameP99 < 5000);
  }
  if (!commits.is_null()) {
    const double ratio = commits.value("ratio", 0.0);
    targets["sale_commit_ratio_ge_0_5"] =
        target("durable sale commits >= half the raw one-row commit rate", ratio, 0.5, ratio >= 0.5);
  }
  if (!promotions.is_null()) {
    const double ratio = promotions.value("ratio", 0.0);
    targets["promotions_sale_ratio_ge_0_9"] =
        target("sales with 5 promotions within 10 % of sales without", ratio, 0.9, ratio >= 0.9);
  }
  bool all = true;
  for (const auto& [key, t] : targets.items()) {
    all = all && t.at("pass").get<bool>();
    say(fmt("target %-30s %s (%.3f vs %.1f)", key.c_str(), t.at("pass").get<bool>() ? "PASS" : "FAIL",
            t.at("value").get<double>(), t.at("limit").get<double>()));
  }

  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  json result = {
      {"schema", "loyalty-bench/1"},
      {"generated_at", formatRfc3339(now)},
      {"environment", {{"sqlite_version", sqlite3_libversion()}, {"cpus", std::thread::hardware_concurrency()}, {"store_pragmas", pragmas}, {"schema_hash", schema}, {"revision", o.revision}}},
      {"config",
       {{"members", o.members},
        {"sales", o.sales},
        {"queries_per_kind", o.queries},
        {"commits", o.commits},
        {"seed", o.seed},
        {"sections", o.sections},
        {"checkpoints", o.checkpoints},
        {"store_reused", store.reused}}},
      {"setup", store.marker.at("setup")},
      {"lookup", lookups},
      {"sale_commit", commits},
      {"promotions", promotions},
      {"replay", replay},
      {"size", size},
      {"memory", {{"peak_rss_bytes", rss}, {"peak_rss_before_replay_bytes", rssStore}}},
      {"targets", targets},
      {"all_targets_pass", all},
      {"wall_seconds", round1(secondsOf(Clock::now() - wall0))}};

  const fs::path out(o.out);
  if (out.has_parent_path()) fs::create_directories(out.parent_path());
  const fs::path tmp = out.string() + ".tmp";
  std::ofstream(tmp) << result.dump(2) << '\n';
  fs::rename(tmp, out);
  say("wrote " + out.string());

  if (!store.temporary || o.keep) say("store kept in " + store.dir.string());
  return 0;
}

}  // namespace
}  // namespace loyalty::bench

int main(int argc, char** argv) {
  try {
    return loyalty::bench::run(loyalty::bench::parseArgs(argc, argv));
  } catch (const std::exception& e) {
    std::cerr << "loyalty-bench: " << e.what() << '\n';
    return 1;
  }
}
