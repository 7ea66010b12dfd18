// hq-bench: head office throughput and memory, per storage backend, in one run.
//
// For each backend (SQLite file; PostgreSQL started here with initdb + pg_ctl on a free port):
//   1. raw batched insert rate of the backend (HqStore::rawInsertProbe, 1,000 rows per
//      transaction), the ceiling ingest is compared with;
//   2. upload: `--events` sale/enrolment events POSTed to a real `loyalty-hq serve` over HTTPS
//      on 127.0.0.1 in batches of 1,000 (the protocol's limit), events/s; `--ids` names the
//      events and sales sequentially (the default), as time-ordered UUIDs (as terminals do) or
//      as random ones (as older terminals do); `--uploaders N` has N terminals send their
//      shares at once, each on its own connection (a chain's terminals upload side by side);
//   3. scale: the store is grown to `--members` members and `--sales` sales with set-based SQL,
//      then the server is restarted and measured: change-feed pull of every member (changes/s,
//      pages of 1,000), a summary report over every sale, and the server's RSS (current and
//      peak, from /proc) after each step;
//   4. member search at head office (which first brings its search keys up to date for up to a
//      second, as the server's refresher does in the background): the first search after the
//      fill (with how many members it still had to do, and how many its answer says the keys
//      still lack), one after a batch of sales changed up to 1,000 balances, one after nothing
//      changed;
//   5. the audit trail: `--audit` entries (one every 15 s from 2026-01-01, set-based SQL) read a
//      page of 100 at a time through the API as the audit page does: newest first, oldest
//      first, one month newest first, and the page at half the entries' offset.
// Writes JSON to --out and progress to stderr.

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "loyalty/core/money.hpp"
#include "loyalty/hq/members.hpp"
#include "loyalty/hq/settings.hpp"
#include "loyalty/hq/store.hpp"
#include "loyalty/terminal/counter_service.hpp"
#include "bench_process.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

using namespace loyalty::bench;

namespace {

double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

/// The host's one-minute load average: other work on the machine moves every rate, so each
/// rate is recorded with it (and compared as a ratio within one run).
double loadAverage() {
  std::ifstream in("/proc/loadavg");
  double one = 0;
  in >> one;
  return one;
}

void progress(const std::string& s) { std::cerr << "hq-bench: " << s << std::endl; }

// [SECTION] One backend

/// How the bench names its events and sales. "sequential": TA-1, TA-2, ... (the figures before
/// round 13); "uuid7": time-ordered, as the counter app's RandomIds makes them since round 13;
/// "uuid4": random, as it made them before (and as older terminals still send them).
class BenchIds {
 public:
  explicit BenchIds(std::string kind) : m_kind(std::move(kind)) {}
  const std::string& kind() const { return m_kind; }
  std::string next(const std::string& sequential) {
    if (m_kind == "sequential") return sequential;
    std::string u = m_random.uuid();  // tttttttt-tttt-7ccc-yxxx-xxxxxxxxxxxx
    if (m_kind == "uuid4") {
      char hi[17];
      std::snprintf(hi, sizeof hi, "%016llx", static_cast<unsigned long long>(m_random.random64()));
      u.replace(0, 8, hi, 8);
      u.replace(9, 4, hi + 8, 4);
      u.replace(15, 3, hi + 12, 3);
      u[14] = '4';
    }
    return u;
  }

 private:
  std::string m_kind;
  loyalty::terminal::RandomIds m_random{42};
};

json saleEvent(BenchIds& ids, const std::string& terminal, std::int64_t seq, std::int64_t memberNo, std::int64_t minor) {
  const std::string total = loyalty::Money::fromMinor(minor).toString();
  return {{"event_id", ids.next(terminal + "-" + std::to_string(seq))}, {"seq", seq}, {"type", "sale.recorded"}, {"at", "2026-11-23T09:00:00Z"},
          {"payload", {{"sale_id", ids.next(terminal + "-s" + std::to_string(seq))}, {"member_id", "B" + std::to_string(memberNo)},
                       {"store_id", "S1"}, {"terminal_id", terminal},
                       {"lines", {{{"sku", "SKU" + std::to_string(seq % 500)}, {"description", "item"}, {"qty", 1},
                                   {"unit_price", total}, {"amount", total}}}},
                       {"subtotal", total}, {"discount", "0.00"}, {"total", total}, {"points_earned", minor / 100},
                       {"points_redeemed", 0}}}};
}

json enrolEvent(BenchIds& ids, const std::string& terminal, std::int64_t seq, std::int64_t memberNo) {
  const std::string id = "B" + std::to_string(memberNo);
  return {{"event_id", ids.next(terminal + "-" + std::to_string(seq))}, {"seq", seq}, {"type", "member.enrolled"}, {"at", "2026-11-23T08:00:00Z"},
          {"payload", {{"member_id", id}, {"card_no", "8" + std::to_string(memberNo)}, {"phone", "+86138" + std::to_string(10000000 + memberNo)},
                       {"name", "Bench " + id}, {"birthday", nullptr}, {"language", nullptr}, {"consent_marketing", false},
                       {"consent_version", nullptr}, {"referrer_id", nullptr}, {"store_id", "S1"}, {"terminal_id", terminal}}}};
}

/// A query of the numbers 1..n as column x, in `c`'s dialect.
std::string series(const loyalty::hq::SqlConnection& c, const std::string& n) {
  return c.backend() == "postgresql"
             ? "SELECT x FROM generate_series(1, " + n + ") AS g(x)"
             : "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < " + n + ") SELECT x FROM g";
}

/// Grows the store with set-based SQL (no HTTP): members M1..Mn, sales spread over them.
void growStore(loyalty::hq::SqlConnection& c, std::int64_t members, std::int64_t sales) {
  const bool pg = c.backend() == "postgresql";
  const std::string cat = pg ? "CAST(x AS TEXT)" : "x";
  c.beginWrite();
  c.execScript("INSERT INTO members(member_id, enrolled, card_no, phone, name, consent_marketing, enrolled_at, enrolled_store, "
               "balance, lifetime_spend, tier, change_no) SELECT 'M' || " + cat + ", 1, '6' || " + cat + ", '+8613' || " + cat +
               ", 'Member ' || " + cat + ", 0, '2025-01-01T00:00:00Z', 'S1', 10, 1000, 'member', 1000000000 + x FROM (" +
               series(c, std::to_string(members)) + ") s");
  // The change feed's log (schema version 3; --hq may name an earlier build, without it).
  if (c.hasTable("member_feed")) {
    c.execScript("INSERT INTO member_feed(change_no, member_id) SELECT change_no, member_id FROM members WHERE change_no > 1000000000");
  }
  c.execScript("UPDATE counters SET value = 1000000000 + " + std::to_string(members) + " WHERE name = 'change_no'");
  c.commit();
  const std::int64_t chunk = 1'000'000;
  for (std::int64_t done = 0; done < sales; done += chunk) {
    const std::int64_t n = std::min(chunk, sales - done);
    const std::string x = "(x + " + std::to_string(done) + ")";
    const std::string xs = pg ? "CAST(" + x + " AS TEXT)" : x;
    c.beginWrite();
    c.execScript("INSERT INTO sales(event_id, sale_id, terminal_id, store_id, member_id, at, day, subtotal, discount, total, "
                 "points_earned, points_redeemed, lines) SELECT 'G' || " + xs + ", 'GS' || " + xs + ", 'TG', 'S1', "
                 "CASE WHEN " + x + " % 3 = 0 THEN NULL ELSE 'M' || " + (pg ? "CAST(" + x + " % " + std::to_string(members) + " + 1 AS TEXT)" : "(" + x + " % " + std::to_string(members) + " + 1)") +
                 " END, '2025-06-01T10:00:00Z', '2025-06-' || " + (pg ? "LPAD(CAST(" + x + " % 28 + 1 AS TEXT), 2, '0')" : "printf('%02d', " + x + " % 28 + 1)") +
                 ", 1000, 0, 1000 + " + x + " % 500, 10, 0, 1 FROM (" + series(c, std::to_string(n)) + ") s");
    c.commit();
    progress("  grown to " + std::to_string(done + n) + " sales");
  }
  if (pg) c.execScript("ANALYZE");
}

/// Fills the audit trail with `n` entries, one every 15 s from 2026-01-01 (a read of a member's
/// data each, as most entries are), with set-based SQL.
void growAudit(loyalty::hq::SqlConnection& c, std::int64_t n) {
  const bool pg = c.backend() == "postgresql";
  const std::int64_t chunk = 1'000'000;
  for (std::int64_t done = 0; done < n; done += chunk) {
    const std::string count = std::to_string(std::min(chunk, n - done)), first = std::to_string(done);
    const std::string at = pg ? "to_char(TIMESTAMP '2026-01-01' + (x + " + first + ") * INTERVAL '15 seconds', "
                                "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                              : "strftime('%Y-%m-%dT%H:%M:%SZ', '2026-01-01', '+' || ((x + " + first + ") * 15) || ' seconds')";
    const std::string member = pg ? "'M' || CAST((x + " + first + ") % 500000 + 1 AS TEXT)" : "'M' || ((x + " + first + ") % 500000 + 1)";
    c.beginWrite();
    c.execScript("INSERT INTO audit_log(at, actor, action, subject) SELECT " + at + ", 'user:bench', 'member.read', " + member +
                 " FROM (" + series(c, count) + ") s");
    c.commit();
  }
  if (pg) c.execScript("ANALYZE audit_log");
}

/// PostgreSQL's own account of the upload (its statistics survive the server's exit): WAL bytes
/// per event, rows inserted, updated and updated in place (HOT: no index entry) per table, and,
/// when the cluster preloads pg_stat_statements (--pg-settings), the statements that took the time.
struct PgUploadStats {
  std::unique_ptr<loyalty::hq::SqlConnection> c;
  std::string walBefore;
  bool statements = false;

  explicit PgUploadStats(const std::string& dsn) : c(loyalty::hq::openPostgres(dsn)) {
    statements = !c->query("SELECT 1 FROM pg_settings WHERE name = 'shared_preload_libraries' AND setting LIKE '%pg_stat_statements%'")
                      .empty();
    if (statements) {
      c->execScript("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
      c->query("SELECT pg_stat_statements_reset()");
    }
    c->query("SELECT pg_stat_reset()");
    walBefore = c->query("SELECT CAST(pg_current_wal_insert_lsn() AS TEXT)").text(0, 0);
  }

  /// After the server stopped (its sessions have flushed their statistics).
  json report(std::int64_t events) {
    json out;
    const auto wal = c->query("SELECT CAST(pg_wal_lsn_diff(pg_current_wal_insert_lsn(), CAST($1 AS pg_lsn)) AS BIGINT)", {walBefore});
    out["wal_bytes_per_event"] = static_cast<double>(wal.integer(0, 0)) / static_cast<double>(events);
    const auto t = c->query(
        "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del FROM pg_stat_user_tables "
        "WHERE n_tup_ins + n_tup_upd + n_tup_del > 0 ORDER BY relname");
    for (std::size_t i = 0; i < t.size(); ++i) {
      out["tables"][t.text(i, 0)] = {{"inserted", t.integer(i, 1)}, {"updated", t.integer(i, 2)}, {"hot_updated", t.integer(i, 3)},
                                     {"deleted", t.integer(i, 4)}};
    }
    if (!statements) return out;
    const auto s = c->query(
        "SELECT CAST(round(CAST(total_exec_time AS NUMERIC), 1) AS TEXT), calls, rows, shared_blks_hit + shared_blks_read, "
        "shared_blks_dirtied, CAST(wal_bytes AS BIGINT), wal_fpi, left(regexp_replace(query, '\\s+', ' ', 'g'), 160) "
        "FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 25");
    for (std::size_t i = 0; i < s.size(); ++i) {
      out["statements"].push_back({{"ms", std::stod(s.text(i, 0))}, {"calls", s.integer(i, 1)}, {"rows", s.integer(i, 2)},
                                   {"buffers", s.integer(i, 3)}, {"dirtied", s.integer(i, 4)}, {"wal_bytes", s.integer(i, 5)},
                                   {"wal_fpi", s.integer(i, 6)}, {"query", s.text(i, 7)}});
    }
    return out;
  }
};

json benchBackend(const std::string& backend, const std::string& bin, const fs::path& work, std::int64_t events,
                  std::int64_t probeRows, std::int64_t members, std::int64_t sales, const std::string& pgSettings,
                  const std::string& idKind, int uploaders, std::int64_t auditEntries) {
  json out;
  const fs::path dir = work / ("hq-" + backend);
  fs::remove_all(dir);
  std::unique_ptr<PgCluster> cluster;
  std::vector<std::string> init = {bin, "init", "--data", (dir / "hq").string()};
  if (backend == "postgresql") {
    cluster = benchPostgres(pgSettings);
    init.insert(init.end(), {"--backend", "postgresql", "--dsn", cluster->createDatabase("hqbench")});
  } else {
    fs::create_directories(dir);
  }
  run(init);
  const loyalty::hq::DataDir dataDir{dir / "hq"};
  const std::string ca = dataDir.caCert().string();
  auto settings = loyalty::hq::loadSettings(dataDir);
  // Uploading terminals TA, TA2, TA3, ... of store S1; TB (S2) pulls.
  std::vector<std::string> terminals, codes;
  for (int u = 0; u < uploaders; ++u) {
    terminals.push_back(u == 0 ? "TA" : "TA" + std::to_string(u + 1));
    codes.push_back(run({bin, "terminal", "add", "--data", dataDir.root.string(), "--store", "S1", "--terminal", terminals.back()}));
  }
  const std::string code2 = run({bin, "terminal", "add", "--data", dataDir.root.string(), "--store", "S2", "--terminal", "TB"});

  // 1. Raw batched insert rate.
  {
    loyalty::hq::HqStore store(loyalty::hq::openStorage(dataDir, *settings));
    const auto t0 = Clock::now();
    store.rawInsertProbe(probeRows, 1000);
    const double s = secondsSince(t0);
    out["raw_insert"] = {{"rows", probeRows}, {"rows_per_transaction", 1000}, {"seconds", s}, {"rows_per_s", static_cast<double>(probeRows) / s},
                         {"load_average", loadAverage()}};
    progress(backend + ": raw insert " + std::to_string(static_cast<std::int64_t>(static_cast<double>(probeRows) / s)) + " rows/s");
  }

  // 2. Upload over HTTPS.
  Server server;
  server.start(bin, dataDir.root.string());
  auto c = client(ca, server.port);
  const auto reg = [&](const std::string& cd) {
    auto r = c->Post("/api/v1/register", json{{"code", cd}}.dump(), "application/json");
    if (!r || r->status != 200) throw std::runtime_error("register failed");
    return json::parse(r->body).at("token").get<std::string>();
  };
  std::vector<std::string> tokens;
  for (const auto& cd : codes) tokens.push_back(reg(cd));
  const std::string tokenB = reg(code2);
  // Each terminal sends its share of the events, in order (its own seq 1, 2, ...), enrolling
  // members of its own (a twentieth of its events) and selling to them.
  std::vector<std::vector<std::string>> bodies(static_cast<std::size_t>(uploaders));
  BenchIds ids(idKind);
  std::int64_t benchMembers = 0, firstShare = 0, firstOwn = 0;  // the first terminal's events and members
  for (int u = 0; u < uploaders; ++u) {
    const std::int64_t share = events / uploaders + (u < events % uploaders ? 1 : 0);
    const std::int64_t own = std::max<std::int64_t>(1, share / 20), firstMember = benchMembers;
    benchMembers += own;
    if (u == 0) {
      firstShare = share;
      firstOwn = own;
    }
    for (std::int64_t seq = 0; seq < share;) {
      json batch = {{"terminal_id", terminals[static_cast<std::size_t>(u)]}, {"events", json::array()}};
      for (int i = 0; i < 1000 && seq < share; ++i) {
        ++seq;
        const std::string& t = terminals[static_cast<std::size_t>(u)];
        batch["events"].push_back(seq <= own ? enrolEvent(ids, t, seq, firstMember + seq)
                                             : saleEvent(ids, t, seq, firstMember + seq % own + 1, 100 + seq % 9000));
      }
      bodies[static_cast<std::size_t>(u)].push_back(batch.dump());
    }
  }
  std::unique_ptr<PgUploadStats> pgStats;
  if (cluster) pgStats = std::make_unique<PgUploadStats>(cluster->dsn("hqbench"));
  std::size_t bytes = 0;
  const double loadBefore = loadAverage();
  // The bytes the server process passes to write calls (/proc/PID/io wchar): on SQLite its WAL
  // frames and the pages its checkpoints copy back into the database file, on PostgreSQL next
  // to nothing (the database's own processes write: upload.postgresql.wal_bytes_per_event);
  // its answers add a few hundred bytes a batch.
  const std::int64_t writtenBefore = procField(server.pid(), "io", "wchar");
  std::vector<std::string> failures(static_cast<std::size_t>(uploaders));
  // Where the upload's time goes: one terminal's batches are a serial chain (its client sends,
  // the server answers, the next is sent), so the server's CPU per event against the wall time
  // per event says how much of the chain the server is.
  const double serverCpuBefore = procCpuSeconds(server.pid());
  const auto t0 = Clock::now();
  {
    std::vector<std::thread> threads;
    for (int u = 0; u < uploaders; ++u) {
      threads.emplace_back([&, u] {
        const auto own = static_cast<std::size_t>(u);
        auto cu = client(ca, server.port);
        const httplib::Headers auth = {{"Authorization", "Bearer " + tokens[own]}};
        for (const auto& body : bodies[own]) {
          auto r = cu->Post("/api/v1/events", auth, body, "application/json");
          if (!r || r->status != 200) {
            failures[own] = "upload failed: " + (r ? r->body : httplib::to_string(r.error()));
            return;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  const double up = secondsSince(t0);
  const double serverCpu = procCpuSeconds(server.pid()) - serverCpuBefore;
  for (const auto& f : failures) {
    if (!f.empty()) throw std::runtime_error(f);
  }
  for (const auto& own : bodies) {
    for (const auto& body : own) bytes += body.size();
  }
  out["upload"] = {{"events", events}, {"batch", 1000}, {"uploaders", uploaders}, {"ids", ids.kind()}, {"seconds", up},
                   {"events_per_s", static_cast<double>(events) / up},
                   {"mib_per_s", static_cast<double>(bytes) / up / 1048576.0},
                   {"vs_raw_insert", (static_cast<double>(events) / up) / out["raw_insert"]["rows_per_s"].get<double>()},
                   {"server_rss_kib", procStatusKb(server.pid(), "VmRSS")},
                   {"server_peak_rss_kib", procStatusKb(server.pid(), "VmHWM")},
                   {"server_written_bytes_per_event",
                    static_cast<double>(procField(server.pid(), "io", "wchar") - writtenBefore) / static_cast<double>(events)},
                   {"server_cpu_seconds", serverCpu},
                   {"server_cpu_us_per_event", serverCpu * 1e6 / static_cast<double>(events)},
                   {"load_average_before", loadBefore}, {"load_average_after", loadAverage()}};
  progress(backend + ": upload " + std::to_string(static_cast<std::int64_t>(static_cast<double>(events) / up)) + " events/s");
  server.stop();
  if (pgStats) {
    out["upload"]["postgresql"] = pgStats->report(events);
    pgStats.reset();
  }

  // 3. Scale, then pull, report and memory.
  {
    auto conn = loyalty::hq::openStorage(dataDir, *settings);
    const auto g0 = Clock::now();
    growStore(*conn, members, sales);
    out["scale"] = {{"members", members + benchMembers}, {"sales", sales + events - benchMembers}, {"grow_seconds", secondsSince(g0)}};
    const auto a0 = Clock::now();
    growAudit(*conn, auditEntries);
    out["scale"]["audit_entries"] = auditEntries;
    out["scale"]["audit_grow_seconds"] = secondsSince(a0);
  }
  server.start(bin, dataDir.root.string());
  c = client(ca, server.port);
  out["scale"]["rss_kib_after_start"] = procStatusKb(server.pid(), "VmRSS");
  const httplib::Headers authB = {{"Authorization", "Bearer " + tokenB}};
  std::string cursor;
  std::int64_t pulled = 0, pages = 0;
  const auto p0 = Clock::now();
  for (;;) {
    auto r = c->Get(("/api/v1/changes?limit=1000&cursor=" + cursor).c_str(), authB);
    if (!r || r->status != 200) throw std::runtime_error("pull failed");
    const json page = json::parse(r->body);
    pulled += static_cast<std::int64_t>(page["changes"].size());
    ++pages;
    cursor = page["next_cursor"].get<std::string>();
    if (!page["has_more"].get<bool>()) break;
  }
  const double pull = secondsSince(p0);
  out["pull"] = {{"changes", pulled}, {"pages", pages}, {"limit", 1000}, {"seconds", pull}, {"changes_per_s", static_cast<double>(pulled) / pull}};
  out["scale"]["rss_kib_after_pull"] = procStatusKb(server.pid(), "VmRSS");
  progress(backend + ": pull " + std::to_string(static_cast<std::int64_t>(static_cast<double>(pulled) / pull)) + " changes/s");
  const auto adminToken = [&] {
    std::ifstream in(dataDir.root / "admin.token");
    std::string t;
    std::getline(in, t);
    return t;
  }();
  const auto s0 = Clock::now();
  auto summary = c->Get("/api/v1/reports/summary", httplib::Headers{{"Authorization", "Bearer " + adminToken}});
  if (!summary || summary->status != 200) throw std::runtime_error("summary failed");
  out["scale"]["summary_seconds"] = secondsSince(s0);
  out["scale"]["summary"] = json::parse(summary->body);
  out["scale"]["rss_kib_after_summary"] = procStatusKb(server.pid(), "VmRSS");
  out["scale"]["peak_rss_kib"] = procStatusKb(server.pid(), "VmHWM");
  progress(backend + ": peak RSS " + std::to_string(out["scale"]["peak_rss_kib"].get<std::int64_t>()) + " KiB");

  // 4. Member search at head office, which first brings the search keys up to date with the
  // members changed since the last search, for up to a second: the first one after the fill,
  // one after a batch of sales changed the balances of up to 1,000 members, one after nothing.
  // The server's report refresher has been doing the same in the background since its start:
  // how many members the first search still had to do is recorded with it (read from the
  // change feed's log, as the server counts them), and how many its answer says are left.
  const std::int64_t behind =
      loyalty::hq::searchKeysBehind(*loyalty::hq::openStorage(dataDir, *settings), std::numeric_limits<std::int64_t>::max());
  // The search's seconds, and the keys_behind of its answer.
  const auto search = [&] {
    const auto q0 = Clock::now();
    auto r = c->Get("/api/v1/members?q=Bench%20B1", httplib::Headers{{"Authorization", "Bearer " + adminToken}});
    if (!r || r->status != 200) throw std::runtime_error("member search failed");
    const double seconds = secondsSince(q0);
    return std::pair{seconds, json::parse(r->body).value("keys_behind", std::int64_t{0})};
  };
  const auto [firstSearch, firstKeysBehind] = search();
  const std::int64_t changed = std::min<std::int64_t>(1000, firstOwn);
  {
    json more = {{"terminal_id", terminals[0]}, {"events", json::array()}};
    for (std::int64_t i = 1; i <= changed; ++i) more["events"].push_back(saleEvent(ids, terminals[0], firstShare + i, i, 100 + i));
    auto r = c->Post("/api/v1/events", httplib::Headers{{"Authorization", "Bearer " + tokens[0]}}, more.dump(), "application/json");
    if (!r || r->status != 200) throw std::runtime_error("upload before the search failed");
  }
  const double afterSales = search().first;
  const double unchanged = search().first;
  out["search"] = {{"members", members + benchMembers}, {"members_behind_at_first", behind}, {"first_seconds", firstSearch},
                   {"keys_behind_after_first", firstKeysBehind},
                   {"balance_changed_members", changed}, {"after_balance_changes_seconds", afterSales},
                   {"unchanged_seconds", unchanged}};
  progress(backend + ": member search " + std::to_string(firstSearch) + " s first, " + std::to_string(afterSales) + " s after " +
           std::to_string(changed) + " balance changes, " + std::to_string(unchanged) + " s after none");

  // 5. The audit trail, a page of 100 entries at a time, as the audit page reads it.
  const auto auditPage = [&](const std::string& query) {
    const auto q0 = Clock::now();
    auto r = c->Get(("/api/v1/admin/audit?limit=100" + query).c_str(), httplib::Headers{{"Authorization", "Bearer " + adminToken}});
    if (!r || r->status != 200) throw std::runtime_error("audit page failed: " + query);
    if (json::parse(r->body)["entries"].size() != 100) throw std::runtime_error("audit page short: " + query);
    return secondsSince(q0);
  };
  out["audit"] = {{"entries", auditEntries},
                  {"newest_first_seconds", auditPage("&order=desc")},
                  {"oldest_first_seconds", auditPage("")},
                  {"month_newest_first_seconds", auditPage("&order=desc&from=2026-01-01&to=2026-01-31")},
                  {"half_offset_seconds", auditPage("&offset=" + std::to_string(auditEntries / 2))}};
  progress(backend + ": audit newest page " + std::to_string(out["audit"]["newest_first_seconds"].get<double>()) + " s, month " +
           std::to_string(out["audit"]["month_newest_first_seconds"].get<double>()) + " s, half offset " +
           std::to_string(out["audit"]["half_offset_seconds"].get<double>()) + " s");
  server.stop();
  if (backend == "sqlite") out["scale"]["database_bytes"] = fs::file_size(dataDir.sqliteFile());
  fs::remove_all(dir);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hq-bench: loyalty-hq upload, pull and memory per backend"};
  std::string out = "bench/results/hq.json", work = LOYALTY_BENCH_WORK_DIR, bin = LOYALTY_HQ_BIN;
  std::vector<std::string> backends{"sqlite", "postgresql"};
  std::int64_t events = 100'000, probe = 100'000, members = 1'000'000, sales = 10'000'000, audit = 2'000'000;
  std::string pgSettings, idKind = "sequential";
  int uploaders = 1;
  app.add_option("--out", out);
  app.add_option("--work", work, "where the temporary stores go");
  app.add_option("--hq", bin, "the loyalty-hq to measure (another build's, for a before/after in one run)");
  app.add_option("--backend", backends)->check(CLI::IsMember({"sqlite", "postgresql"}));
  app.add_option("--events", events, "events uploaded over HTTPS");
  app.add_option("--probe", probe, "rows of the raw insert probe");
  app.add_option("--members", members, "members the store is grown to");
  app.add_option("--sales", sales, "sales the store is grown to");
  app.add_option("--audit", audit, "audit trail entries the store is grown to (at least 200,000: the month read is January 2026)")
      ->check(CLI::Range(std::int64_t{200'000}, std::int64_t{100'000'000}));
  app.add_option("--pg-settings", pgSettings,
                 "more settings of the bench's PostgreSQL, as server options (\" -c shared_preload_libraries=pg_stat_statements\")");
  app.add_option("--ids", idKind, "how events and sales are named: sequential (TA-1, TA-2, ...), uuid7 (time-ordered, as "
                 "terminals name them), uuid4 (random, as older terminals name them)")
      ->check(CLI::IsMember({"sequential", "uuid4", "uuid7"}));
  app.add_option("--uploaders", uploaders, "terminals uploading at once, each its share of --events in order on a connection of its own")
      ->check(CLI::Range(1, 64));
  CLI11_PARSE(app, argc, argv);
  signal(SIGPIPE, SIG_IGN);
  json result = {{"generated_by", "bench/hq_bench.cpp"},
                 {"environment", {{"cpus", std::thread::hardware_concurrency()}, {"transport", "HTTPS TLS1.2+ on 127.0.0.1, a client per uploading terminal"}}},
                 {"config", {{"events", events}, {"probe_rows", probe}, {"members", members}, {"sales", sales}, {"audit", audit}, {"ids", idKind},
                             {"uploaders", uploaders}}}};
  // Backends measured in earlier runs stay in the file; this run replaces the ones it measures.
  if (std::ifstream previous(out); previous) {
    const json before = json::parse(previous, nullptr, false);
    if (before.is_object() && before.contains("backends")) result["backends"] = before["backends"];
  }
  int status = 0;
  for (const auto& b : backends) {
    try {
      json r = benchBackend(b, bin, work, events, probe, members, sales, pgSettings, idKind, uploaders, audit);
      r["config"] = result["config"];
      result["backends"][b] = std::move(r);
    } catch (const std::exception& e) {
      std::cerr << "hq-bench: " << b << ": " << e.what() << "\n";
      status = 1;
    }
  }
  std::ofstream(out) << result.dump(2) << "\n";
  std::cout << result.dump(2) << "\n";
  return status;
}
