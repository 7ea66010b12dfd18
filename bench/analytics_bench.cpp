// Head-office analytics at scale: fills an HQ database (SQLite file or PostgreSQL DSN) with
// synthetic members and sales in bulk SQL, then times every report (Reports, the code the
// server runs) and records the process's peak resident memory. JSON on stdout.
//
//   analytics-bench --backend sqlite --path DIR/hq.sqlite --members 100000 --sales 1000000
//   analytics-bench --backend postgresql --dsn "host=... dbname=..." --members ... --sales ...
//   --reuse: the database is already filled; --serve: then also time pages and reports through
//   a real `loyalty-hq serve` on it (and record the server's peak memory).
//   --only abc,summary_edges: time only the named reports (while working on one of them).
//   LOYALTY_HQ_BIN=PATH: the server --serve starts (default: this build's loyalty-hq).
//   ANALYTICS_BENCH_ANSWERS=DIR: each report's answer also written to DIR/NAME.json (to compare
//   two builds' answers on the same database).
// On PostgreSQL each run opens new connections, whose backends map shared memory as they first
// touch it: time on a server with huge pages (docs/operations.md; the output's
// postgresql_settings records the setting), or the first reports of a run carry that cost.
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_process.hpp"
#include "loyalty/hq/aggregates.hpp"
#include "loyalty/hq/analytics.hpp"
#include "loyalty/hq/charts.hpp"
#include "loyalty/hq/settings.hpp"
#include "loyalty/hq/store.hpp"

using namespace loyalty;
using namespace loyalty::hq;
using nlohmann::json;

namespace {

double seconds(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// The host's load average as /proc/loadavg has it (figures are only compared within a run).
std::string loadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

long peakRssKb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

/// Rows 0..n-1 as a CTE named `g(n)`, generated inside the database.
std::string series(bool pg, std::int64_t n) {
  if (pg) return "g(n) AS (SELECT generate_series(CAST(0 AS BIGINT), " + std::to_string(n - 1) + ") AS n)";
  return "g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n + 1 < " + std::to_string(n) + ")";
}

/// 'YYYY-MM-DD' of 2025-01-01 plus an integer expression of days.
std::string dayPlus(bool pg, const std::string& e) {
  if (pg) return "to_char(DATE '2025-01-01' + CAST(" + e + " AS INTEGER), 'YYYY-MM-DD')";
  return "date('2025-01-01', '+' || (" + e + ") || ' days')";
}

std::string two(bool pg, const std::string& e) {
  if (pg) return "lpad(CAST(" + e + " AS TEXT), 2, '0')";
  return "printf('%02d', " + e + ")";
}

void fill(SqlConnection& c, std::int64_t members, std::int64_t sales) {
  const bool pg = c.backend() == "postgresql";
  const std::string rec = pg ? "WITH " : "WITH RECURSIVE ";
  // Bulk load: secondary indexes are dropped and rebuilt afterwards (sorting beats millions of
  // random B-tree inserts); their definitions are read from the database, not repeated here.
  const auto defs = c.query(pg ? "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexdef NOT LIKE "
                                 "'%UNIQUE%'"
                               : "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL");
  for (std::size_t i = 0; i < defs.size(); ++i) c.execScript("DROP INDEX " + defs.text(i, 0));
  SqlTransaction tx(c);
  c.query(rec + series(pg, 40) +
          " INSERT INTO terminals(terminal_id, store_id, timezone, created_at) SELECT 'T' || CAST(n AS TEXT), "
          "'S' || CAST(n % 20 AS TEXT), 'UTC', '2025-01-01T00:00:00Z' FROM g");
  // Members enrolled over 2025, a third consented, one in ten referred by an earlier member.
  c.query(rec + series(pg, members) +
          " INSERT INTO members(member_id, enrolled, card_no, phone, name, consent_marketing, enrolled_at, enrolled_store, "
          "referrer_id, balance, change_no) SELECT 'm' || CAST(n AS TEXT), 1, '9' || CAST(n AS TEXT), '+86138' || CAST(n AS TEXT), "
          "'Member ' || CAST(n AS TEXT), CASE WHEN n % 3 = 0 THEN 1 ELSE 0 END, " + dayPlus(pg, "n % 365") +
          " || 'T08:00:00Z', 'S' || CAST(n % 20 AS TEXT), CASE WHEN n % 10 = 1 AND n > 10 THEN 'm' || CAST(n / 2 AS TEXT) ELSE NULL END, "
          "(n * 37) % 5000 - 100, 0 FROM g");
  // Sales over 2025–2026 (730 days), one in five without a member; member spend is skewed.
  const std::string member = "CASE WHEN n % 5 = 0 THEN NULL ELSE 'm' || CAST(((n * 7919) % " + std::to_string(members) +
                             ") * ((n * 31) % 7 + 1) / 7 AS TEXT) END";
  const std::string day = dayPlus(pg, "(n * 13) % 730");
  c.query(rec + series(pg, sales) +
          " INSERT INTO sales(event_id, sale_id, terminal_id, store_id, member_id, at, day, subtotal, discount, total, "
          "points_earned, points_redeemed, lines) SELECT 'e' || CAST(n AS TEXT), 's' || CAST(n AS TEXT), 'T' || CAST(n % 40 AS TEXT), "
          "'S' || CAST(n % 20 AS TEXT), " + member + ", " + day + " || 'T' || " + two(pg, "(n * 7) % 14 + 7") +
          " || ':15:00Z', " + day + ", 100 + (n * 37) % 20000, 0, 100 + (n * 37) % 20000, (100 + (n * 37) % 20000) / 100, 0, 1 FROM g");
  c.query("INSERT INTO sale_lines(event_id, line_no, sku, description, category, qty, unit_price, amount) "
          "SELECT event_id, 1, 'SKU' || substr(event_id, length(event_id) - 1, 2), NULL, NULL, 1, '1.00', total FROM sales");
  c.query("INSERT INTO ledger(event_id, member_id, kind, points, at) SELECT event_id, member_id, 'earn', points_earned, at "
          "FROM sales WHERE member_id IS NOT NULL");
  // Refunds of one sale in fifty; surveys for one in a hundred; complaints one in a thousand.
  c.query("INSERT INTO refunds(event_id, refund_id, sale_id, terminal_id, store_id, member_id, at, day, amount, points_reversed, "
          "points_returned) SELECT 'r' || event_id, 'r' || sale_id, sale_id, terminal_id, store_id, member_id, at, day, total / 2, 0, 0 "
          "FROM sales WHERE CAST(substr(event_id, 2) AS BIGINT) % 50 = 7");
  c.query("INSERT INTO events(event_id, terminal_id, seq, type, at, payload, fingerprint, received_at, known) "
          "SELECT 'sv' || event_id, terminal_id, CAST(substr(event_id, 2) AS BIGINT), 'survey.answered', at, "
          "'{\"survey_id\":\"' || event_id || '\",\"scale\":\"' || CASE WHEN lines = 1 AND total % 2 = 0 THEN 'csat5' ELSE 'nps10' END || "
          "'\",\"score\":' || CAST(total % 6 AS TEXT) || '}', 'fp', at, 1 FROM sales WHERE CAST(substr(event_id, 2) AS BIGINT) % 100 = 3");
  c.query("INSERT INTO events(event_id, terminal_id, seq, type, at, payload, fingerprint, received_at, known) "
          "SELECT 'cf' || event_id, terminal_id, CAST(substr(event_id, 2) AS BIGINT) + 1, 'complaint.filed', at, "
          "'{\"complaint_id\":\"C' || event_id || '\",\"category\":\"service\",\"description\":\"slow\"}', 'fp', at, 1 "
          "FROM sales WHERE CAST(substr(event_id, 2) AS BIGINT) % 1000 = 5");
  tx.commit();
  for (std::size_t i = 0; i < defs.size(); ++i) c.execScript(defs.text(i, 1));
  c.execScript("ANALYZE");
}

/// The same database behind a real `loyalty-hq serve` (pinned and kept slow reports, its own
/// refresher connection): dashboard pages and reports over HTTPS on loopback, timed from this
/// client, and the server process's peak resident memory.
json serverPhase(const std::string& backend, const std::string& path, const std::string& dsn) {
  namespace fs = std::filesystem;
  // LOYALTY_HQ_BIN in the environment: another build's server (an A/B against an older one).
  const char* other = std::getenv("LOYALTY_HQ_BIN");
  const std::string bin = other && *other ? other : LOYALTY_HQ_BIN;
  const fs::path dir = fs::temp_directory_path() / ("analytics-bench-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const DataDir data{dir / "hq"};
  bench::run({bin, "init", "--data", data.root.string()});  // TLS material and a settings file
  Settings settings;
  if (backend == "postgresql") {
    settings.backend = "postgresql";
    settings.dsn = dsn;
  } else {
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(data.sqliteFile().string() + suffix);
    fs::create_symlink(fs::absolute(path), data.sqliteFile());
  }
  saveSettings(data, settings);
  const std::string token = bench::run({bin, "token", "create", "--data", data.root.string(), "--role", "analyst"});
  bench::Server server;
  server.start(bin, data.root.string());
  auto c = bench::client(data.caCert().string(), server.port);
  const httplib::Headers auth = {{"Authorization", "Bearer " + token}};
  json ms = json::object();
  const auto get = [&](const std::string& target, const httplib::Headers& h) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = c->Get(target, h);
    if (!r || r->status != 200) throw std::runtime_error("GET " + target + " failed");
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  const auto once = [&](const std::string& name, const std::string& target, const httplib::Headers& h) {
    ms[name] = std::round(get(target, h) * 10) / 10;
    std::cerr << "server " << name << ": " << ms[name] << " ms\n";
  };
  const auto median = [&](const std::string& name, const std::string& target, const httplib::Headers& h) {
    std::vector<double> v;
    for (int i = 0; i < 5; ++i) v.push_back(get(target, h));
    std::sort(v.begin(), v.end());
    ms[name] = std::round(v[2] * 10) / 10;
    std::cerr << "server " << name << " (median of 5): " << ms[name] << " ms\n";
  };
  // A dashboard session through a one-time sign-in link.
  auto ticket = c->Post("/api/v1/dashboard/tickets", auth, "{}", "application/json");
  if (!ticket || ticket->status != 201) throw std::runtime_error("no dashboard ticket");
  auto signIn = c->Get(json::parse(ticket->body).at("url").get<std::string>());
  std::string cookie;
  for (const auto& [k, v] : signIn->headers) {
    if (k == "Set-Cookie" && v.rfind("lhq_session=", 0) == 0) cookie = v.substr(0, v.find(';'));
  }
  if (cookie.empty()) throw std::runtime_error("no dashboard session");
  const httplib::Headers session = {{"Cookie", cookie}};
  // Right after start the refresher is still computing the pinned customers reports: the first
  // page does not wait for them (a moment only) but says which are being computed and reloads
  // itself; later ones are served kept. Also how long from the first request until it shows
  // them all.
  const auto firstAsked = std::chrono::steady_clock::now();
  once("page_customers_first", "/dashboard/customers", session);
  once("page_overview_first", "/dashboard", session);  // its summary is not left waiting behind the ranking
  for (bool pending = true; pending;) {
    auto r = c->Get("/dashboard/customers", session);
    if (!r || r->status != 200) throw std::runtime_error("GET /dashboard/customers failed");
    pending = r->body.find("_pending\"") != std::string::npos;
    if (pending) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ms["page_customers_complete_after_first_start"] =
      std::round(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - firstAsked).count() * 10) / 10;
  std::cerr << "server page_customers_complete_after_first_start: " << ms["page_customers_complete_after_first_start"] << " ms\n";
  median("page_customers", "/dashboard/customers", session);
  median("page_overview", "/dashboard", session);
  median("page_stores", "/dashboard/stores", session);
  median("page_satisfaction", "/dashboard/satisfaction", session);
  median("page_points", "/dashboard/points", session);
  // The chart pages: their default views are pinned, computed by the refresher after the
  // customers page's; a first view waits for one the refresher is computing and computes those
  // it has yet to reach (at once), later ones are kept.
  once("page_charts_first", "/dashboard/charts", session);
  median("page_charts", "/dashboard/charts", session);
  once("page_lifecycle_first", "/dashboard/lifecycle", session);
  median("page_lifecycle", "/dashboard/lifecycle", session);
  once("page_customers_one_month_first", "/dashboard/customers?from=2026-03-01&to=2026-03-31", session);
  median("page_customers_one_month", "/dashboard/customers?from=2026-03-01&to=2026-03-31", session);
  {
    // A load balancer's health check (answered on the connection that also serves terminals'
    // change pages and member reads) while another client's report is computed live: reports
    // run on connections of their own, so it need not wait for the report.
    auto second = bench::client(data.caCert().string(), server.port);
    double reportMs = 0;
    std::thread live([&] {
      const auto t0 = std::chrono::steady_clock::now();
      auto r = second->Get("/api/v1/reports/rfm?limit=99", auth);  // a key not asked before: computed
      if (r && r->status == 200) reportMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    once("healthz_during_live_report", "/healthz", {});
    live.join();
    ms["live_report_beside_healthz"] = std::round(reportMs * 10) / 10;
    std::cerr << "server live_report_beside_healthz: " << ms["live_report_beside_healthz"] << " ms\n";
  }
  for (const char* report : {"abc", "rfm", "churn"}) {
    const std::string target = std::string("/api/v1/reports/") + report + "?limit=100";
    once(std::string(report) + "_live", target, auth);
    once(std::string(report) + "_max_age_first", target + "&max_age=600", auth);
    median(std::string(report) + "_max_age", target + "&max_age=600", auth);
  }
  median("retention_live", "/api/v1/reports/retention", auth);
  median("summary_live", "/api/v1/reports/summary", auth);
  // The largest page a request may ask for (kListPageMax rows), as JSON and as an export: the
  // most memory one answer may take (a whole list is no longer answered).
  once("abc_largest_page", "/api/v1/reports/abc?limit=" + std::to_string(kListPageMax), auth);
  once("abc_export_largest_page", "/api/v1/exports/abc.csv?limit=" + std::to_string(kListPageMax), auth);
  const long peakMb = bench::procStatusKb(server.pid(), "VmHWM") / 1024;
  const long rssMb = bench::procStatusKb(server.pid(), "VmRSS") / 1024;
  server.stop();
  // A restart: the pinned results of the run before are read back (report_results), so the
  // first customers page does not wait for a million members to be ranked again, nor the chart
  // pages for their default views.
  server.start(bin, data.root.string());
  c = bench::client(data.caCert().string(), server.port);
  once("page_customers_after_restart", "/dashboard/customers", session);
  once("page_charts_after_restart", "/dashboard/charts", session);
  once("page_lifecycle_after_restart", "/dashboard/lifecycle", session);
  server.stop();
  fs::remove_all(dir);
  return {{"milliseconds", ms}, {"server_peak_rss_mb", peakMb}, {"server_rss_mb", rssMb}, {"loadavg_at_end", loadAverage()}};
}

}  // namespace

int main(int argc, char** argv) {
  std::string backend = "sqlite", path, dsn;
  std::string only;  // ",name,name," of the timings to run (all when empty)
  std::int64_t members = 10000, sales = 100000;
  bool reuse = false, serve = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--backend") backend = next();
    else if (a == "--path") path = next();
    else if (a == "--dsn") dsn = next();
    else if (a == "--members") members = std::stoll(next());
    else if (a == "--sales") sales = std::stoll(next());
    else if (a == "--reuse") reuse = true;
    else if (a == "--serve") serve = true;
    else if (a == "--only") only = "," + next() + ",";
    else {
      std::cerr << "analytics-bench: unknown option " << a << "\n";
      return 2;
    }
  }
  try {
    const auto open = [&] {
      auto conn = backend == "postgresql" ? openPostgres(dsn) : openSqlite(path);
      // A 1 GiB page cache for SQLite (its default is 2 MiB); PostgreSQL uses its server settings.
      if (backend == "sqlite") conn->execScript("PRAGMA cache_size = -1048576");
      return conn;
    };
    HqStore store(open());
    const std::string loadAtStart = loadAverage();
    double fillSeconds = 0, aggregateSeconds = 0, vacuumSeconds = 0;
    auto& c = store.connection();
    if (!reuse) {
      store.createSchema(std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()));
      fillSeconds = seconds([&] { fill(c, members, sales); });
      // A bulk load bypasses ingest: the pre-aggregates are rebuilt from the raw tables.
      aggregateSeconds = seconds([&] {
        SqlTransaction tx(c);
        rebuildAggregates(c);
        tx.commit();
        // Vacuumed, not only analysed: index-only scans of freshly written tables visit the
        // table for every row until their pages are marked all-visible (docs/reports.md).
        c.execScript(c.backend() == "postgresql" ? "VACUUM (ANALYZE)" : "ANALYZE");
      });
    } else {
      // A database from an older loyalty-hq: the upgrade the server makes at start (a no-op
      // when everything is there), its indexes included.
      const bool fresh = !aggregatesPresent(c);
      aggregateSeconds = seconds([&] { store.checkSchema(); });
      // New aggregate tables are read by index-only scans: vacuumed, not only analysed.
      if (fresh) vacuumSeconds = seconds([&] { c.execScript(c.backend() == "postgresql" ? "VACUUM (ANALYZE)" : "ANALYZE"); });
    }
    Reports r(store.connection());
    std::vector<std::unique_ptr<SqlConnection>> lane;  // two more connections, for the customers page
    lane.push_back(open());
    lane.push_back(open());
    ReportFilter all;
    ReportFilter month;
    month.range = {"2026-03-01", "2026-03-31"};
    ReportFilter oneStore;
    oneStore.stores = {"S3"};
    ReportFilter oneStoreDay;  // one store over a few days: its raw sales (S3 sells every tenth day)
    oneStoreDay.stores = {"S3"};
    oneStoreDay.range = {"2026-03-06", "2026-03-06"};
    ReportFilter oneStoreWeek = oneStoreDay;  // the same sale day of S3's, the chain's week around it
    oneStoreWeek.range = {"2026-03-02", "2026-03-08"};
    ReportFilter quarter;  // three whole months: their agg_member_month rows added up per member
    quarter.range = {"2026-01-01", "2026-03-31"};
    ReportFilter twoStores;
    twoStores.stores = {"S3", "S4"};
    ReportFilter edges;  // whole months inside, raw days at both ends
    edges.range = {"2025-10-15", "2026-03-14"};
    // What the dashboard and a paging client ask for: the first 100 rows of a member list.
    const auto paged = [](ReportFilter f, std::int64_t limit) {
      f.limit = limit;
      return f;
    };
    const auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    json timings = json::object();
    json sizes = json::object();
    const auto time = [&](const std::string& name, const std::function<json()>& f) {
      if (!only.empty() && only.find("," + name + ",") == std::string::npos) return;
      json out;
      const double s = seconds([&] { out = f(); });
      timings[name] = std::round(s * 1000) / 1000;
      sizes[name] = out.dump().size();
      if (const char* dir = std::getenv("ANALYTICS_BENCH_ANSWERS")) {
        std::ofstream(std::string(dir) + "/" + name + ".json") << out.dump(1) << "\n";
      }
      std::cerr << name << ": " << s << " s\n";
    };
    time("summary", [&] { return r.summary(all); });
    time("summary_one_month", [&] { return r.summary(month); });
    time("summary_one_store", [&] { return r.summary(oneStore); });
    time("sales_by_day", [&] { return *r.sales(all, "day"); });
    time("sales_by_hour", [&] { return *r.sales(all, "hour"); });
    time("sales_by_store", [&] { return *r.sales(all, "store"); });
    time("sales_by_member", [&] { return *r.sales(all, "member"); });
    time("sales_by_product", [&] { return *r.sales(all, "product"); });
    time("summary_edges", [&] { return r.summary(edges); });
    time("abc", [&] { return r.abc(paged(all, 100), "2026-12-31"); });
    time("abc_one_month", [&] { return r.abc(paged(month, 100), "2026-03-31"); });
    time("abc_edges", [&] { return r.abc(paged(edges, 100), "2026-03-31"); });
    time("abc_quarter", [&] { return r.abc(paged(quarter, 100), "2026-03-31"); });
    time("summary_quarter", [&] { return r.summary(quarter); });
    time("rfm_quarter", [&] { return r.rfm(paged(quarter, 100), "2026-03-31"); });
    time("abc_one_store", [&] { return r.abc(paged(oneStore, 100), "2026-12-31"); });
    time("abc_one_store_one_day", [&] { return r.abc(paged(oneStoreDay, 100), "2026-03-06"); });
    time("churn_one_store_one_week", [&] { return r.churn(paged(oneStoreWeek, 100), "2026-03-08", 90); });
    time("abc_two_stores", [&] { return r.abc(paged(twoStores, 100), "2026-12-31"); });
    time("summary_two_stores", [&] { return r.summary(twoStores); });
    time("rfm", [&] { return r.rfm(paged(all, 100), "2026-12-31"); });
    time("rfm_two_stores", [&] { return r.rfm(paged(twoStores, 100), "2026-12-31"); });
    time("churn_two_stores", [&] { return r.churn(paged(twoStores, 100), "2026-12-31", 90); });
    time("churn", [&] { return r.churn(paged(all, 100), "2026-12-31", 90); });
    time("retention", [&] { return r.retention(all); });
    time("referrals", [&] { return r.referrals(paged(all, 100)); });
    time("satisfaction", [&] { return *r.satisfaction(all, "month"); });
    time("complaints", [&] { return r.complaints(all, now); });
    time("points", [&] { return r.points(all); });
    time("campaign", [&] { return r.campaignMembers(paged(all, 100)); });
    // Dashboard pages: the reports each page runs (dashboard.cpp pageBody), all time.
    time("page_overview", [&] {
      json o = r.summary(all);
      o["d"] = *r.sales(all, "day");
      o["m"] = *r.sales(all, "member");
      return o;
    });
    time("page_overview_one_month", [&] {
      json o = r.summary(month);
      o["d"] = *r.sales(month, "day");
      o["m"] = *r.sales(month, "member");
      return o;
    });
    time("page_stores", [&] { return json{*r.sales(all, "store"), *r.sales(all, "hour")}; });
    // The customers page runs its three reports at once, each on a report connection of its own
    // (HqService's report lane); the _serial timings run them one after another on one connection,
    // as the page did before.
    const auto customersPage = [&](const ReportFilter& f, const std::string& asOf, bool atOnce) {
      if (!atOnce) return json{r.abc(paged(f, 1), asOf), r.rfm(paged(f, 1), asOf), r.churn(paged(f, 50), asOf, 90)};
      auto rfm = std::async(std::launch::async, [&] { return Reports(*lane[0]).rfm(paged(f, 1), asOf); });
      auto churn = std::async(std::launch::async, [&] { return Reports(*lane[1]).churn(paged(f, 50), asOf, 90); });
      json abc = r.abc(paged(f, 1), asOf);
      return json{std::move(abc), rfm.get(), churn.get()};
    };
    time("page_customers", [&] { return customersPage(all, "2026-12-31", true); });
    time("page_customers_serial", [&] { return customersPage(all, "2026-12-31", false); });
    time("page_customers_one_month", [&] { return customersPage(month, "2026-03-31", true); });
    time("page_customers_one_month_serial", [&] { return customersPage(month, "2026-03-31", false); });
    time("page_points", [&] { return r.points(all); });
    time("page_satisfaction", [&] { return *r.satisfaction(all, "all"); });
    // The charts (charts_routes.cpp): its page runs the Pareto chart, the trends and the store
    // comparison; the lifecycle page the stages and the due list, each with its first 50 rows.
    time("pareto", [&] { return r.pareto(all, "2026-12-31", 50); });
    time("trends", [&] { return trendsReport(r, all); });
    time("trends_edges", [&] { return trendsReport(r, edges); });
    time("store_comparison", [&] { return storeComparison(r, all); });
    time("store_comparison_edges", [&] { return storeComparison(r, edges); });
    time("page_charts", [&] { return json{r.pareto(all, "2026-12-31", 50), trendsReport(r, all), storeComparison(r, all)}; });
    time("lifecycle", [&] { return r.lifecycle(paged(all, 50), "2026-12-31", 90, ""); });
    time("due_to_buy", [&] { return r.dueToBuy(paged(all, 50), "2026-12-31", 90); });
    // The lifecycle page's other views: one stage, the prospects, a range cutting months, stores.
    time("lifecycle_lapsed", [&] { return r.lifecycle(paged(all, 50), "2026-12-31", 90, "lapsed"); });
    time("lifecycle_prospects", [&] { return r.lifecycle(paged(all, 50), "2026-12-31", 90, "prospect"); });
    time("lifecycle_edges", [&] { return r.lifecycle(paged(edges, 50), "2026-03-31", 90, ""); });
    time("lifecycle_one_store", [&] { return r.lifecycle(paged(oneStore, 50), "2026-12-31", 90, ""); });
    time("lifecycle_two_stores", [&] { return r.lifecycle(paged(twoStores, 50), "2026-12-31", 90, ""); });
    time("due_to_buy_edges", [&] { return r.dueToBuy(paged(edges, 50), "2026-03-31", 90); });
    const long pagedPeakMb = peakRssKb() / 1024;
    // The whole ABC member list in one response (what the abc route returned without `limit`
    // before it answered in pages of at most 10,000 rows): what that would cost.
    time("abc_all_rows", [&] { return r.abc(all, "2026-12-31"); });
    json result = {{"benchmark", "analytics"},
                   {"backend", backend},
                   {"members", members},
                   {"sales", sales},
                   {"fill_seconds", std::round(fillSeconds * 10) / 10},
                   {"aggregate_build_seconds", std::round(aggregateSeconds * 10) / 10},
                   {"vacuum_seconds", std::round(vacuumSeconds * 10) / 10},
                   {"loadavg_at_start", loadAtStart},
                   {"loadavg_after_reports", loadAverage()},
                   {"peak_rss_mb_paged", pagedPeakMb},
                   {"report_seconds", timings},
                   {"response_bytes", sizes},
                   {"peak_rss_mb", peakRssKb() / 1024}};
    if (backend == "postgresql") {
      // The server's settings the timings depend on (a new backend's first touches of shared
      // memory cost far more without huge pages: docs/operations.md).
      const auto set = c.query("SELECT current_setting('server_version'), current_setting('shared_buffers'), "
                               "current_setting('work_mem'), current_setting('huge_pages')");
      result["postgresql_settings"] = {{"server_version", set.text(0, 0)}, {"shared_buffers", set.text(0, 1)},
                                       {"work_mem", set.text(0, 2)}, {"huge_pages", set.text(0, 3)}};
    }
    if (serve) {
      // The first start computes the pinned reports itself (not from an earlier bench's results).
      c.execScript("DELETE FROM report_results");
      result["server"] = serverPhase(backend, path, dsn);
    }
    std::cout << result.dump(2) << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "analytics-bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
