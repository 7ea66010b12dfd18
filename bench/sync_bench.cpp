// loyalty-sync-bench: sync figures against a real loyalty-hq on 127.0.0.1 (issue 6, item 10):
// sale-to-HQ latency with the background engine online, upload rate, and the change-feed pull
// rate seen from a terminal. Writes JSON (bench/results/sync.json by default).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>

#include "registered_config.hpp"
#include "sync_fixture.hpp"
#include "loyalty/sync/client/engine.hpp"
#include "loyalty/terminal/store.hpp"
#include "loyalty/terminal/sync_background.hpp"
#include "loyalty/terminal/sync_link.hpp"
#include "loyalty/terminal/sync_store.hpp"

using namespace loyalty;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

/// Splits the pull's time between HQ + transfer and applying pages on the terminal.
class TimedSink final : public sync::ChangeSink {
 public:
  explicit TimedSink(sync::ChangeSink& inner) : m_inner(inner) {}
  std::string cursor() override { return m_inner.cursor(); }
  void applyPage(const sync::ChangePage& page) override {
    const auto start = Clock::now();
    m_inner.applyPage(page);
    applyMs += ms(Clock::now() - start);
  }
  double applyMs = 0;

 private:
  sync::ChangeSink& m_inner;
};

Timestamp nowSeconds() { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); }

/// A registered terminal's store opened as the app opens it: database, identity, service. The
/// service copies its configuration, so the members are initialised in declaration order.
struct Counter {
  explicit Counter(const std::string& dataDir) : db(terminal::openTerminalDatabase(dataDir)), config(test::registeredConfig(db)) {}
  db::Database db;
  terminal::CounterConfig config;
  terminal::RandomIds ids;
  terminal::CounterService service{db, config, ids};
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"loyalty-sync-bench"};
  std::string out = "bench/results/sync.json", revision = "unknown";
  int latencySales = 200, members = 20000;
  app.add_option("--out", out);
  app.add_option("--revision", revision);
  app.add_option("--latency-sales", latencySales)->check(CLI::Range(10, 100000));
  app.add_option("--members", members, "members in the change feed")->check(CLI::Range(100, 10000000));
  CLI11_PARSE(app, argc, argv);
  setenv("LOYALTY_TERMINAL_BIN", LOYALTY_TERMINAL_BIN_PATH, 0);

  test::Hq hq;
  hq.start();

  // [SECTION] Upload rate: `members` enrolments through exec, then one sync --once.
  test::Terminal source;
  if (source.registerWith(hq, hq.addTerminal("S001", "T1")).exit != 0)
    throw std::runtime_error("register failed");
  std::string input;
  for (int i = 0; i < members; ++i) {
    input += json{{"id", i},
                  {"op", "enroll"},
                  {"phone", "139" + std::to_string(10000000 + i)},
                  {"name", "Member " + std::to_string(i)},
                  {"consent_marketing", true}}
                 .dump() +
             "\n";
  }
  if (test::run({test::terminalBinary(), "exec", "--data", source.dataDir()}, input,
                std::chrono::seconds(3600))
          .exit != 0) {
    throw std::runtime_error("exec failed");
  }
  const auto upStart = Clock::now();
  const test::RunResult up = source.syncOnce();
  const double upSeconds = ms(Clock::now() - upStart) / 1000.0;
  if (up.exit != 0) throw std::runtime_error("sync failed: " + up.err);
  std::cerr << "uploaded " << members << " events in " << upSeconds << " s\n";

  // [SECTION] Pull rate: a new terminal pulls the whole feed in-process (HTTPS + apply).
  test::Terminal fresh;
  if (fresh.registerWith(hq, hq.addTerminal("S002", "T2")).exit != 0)
    throw std::runtime_error("register failed");
  double pullSeconds = 0, applySeconds = 0;
  std::int64_t pulled = 0, pages = 0;
  {
    Counter counter(fresh.dataDir());
    terminal::TerminalChangeSink terminalSink(counter.db, counter.service, nowSeconds);
    TimedSink sink(terminalSink);
    sync::HttpsClient client(terminal::loadHqLink(counter.db)->endpoint());
    const auto start = Clock::now();
    auto report = sync::pullChanges(client, sink);
    applySeconds = sink.applyMs / 1000.0;
    pullSeconds = ms(Clock::now() - start) / 1000.0;
    if (!report) throw std::runtime_error(report.error().message);
    pulled = report->changes;
    pages = report->pages;
  }
  std::cerr << "pulled " << pulled << " changes in " << pullSeconds << " s (applying: " << applySeconds
            << " s)\n";

  // [SECTION] Sale-to-HQ latency: the background engine, nudged after each sale, online.
  std::vector<double> latencies;
  {
    Counter counter(fresh.dataDir());
    auto& service = counter.service;
    auto engine = terminal::BackgroundSync::start(fresh.dataDir(), counter.config);
    while (engine->status().rounds == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    for (int i = 0; i < latencySales; ++i) {
      const std::int64_t before = engine->status().uploaded;
      terminal::SaleRequest r;
      r.saleId = "lat-" + std::to_string(i);
      r.lines = {{"SKU-1", std::nullopt, 1, "9.90", std::nullopt}};
      r.at = nowSeconds();
      const auto start = Clock::now();
      if (!service.sale(r)) throw std::runtime_error("sale failed");
      engine->nudge();
      while (engine->status().uploaded <= before) std::this_thread::sleep_for(std::chrono::microseconds(200));
      latencies.push_back(ms(Clock::now() - start));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a counter, not a batch job
    }
  }
  const json result = {
      {"benchmark", "sync"},
      {"revision", revision},
      {"machine", "2 cores shared; HQ (SQLite backend) and terminal on the same host, HTTPS over 127.0.0.1"},
      {"sale_to_hq_latency_ms",
       {{"samples", latencySales},
        {"p50", percentile(latencies, 0.5)},
        {"p95", percentile(latencies, 0.95)},
        {"max", *std::max_element(latencies.begin(), latencies.end())},
        {"target_ms", 2000},
        {"what", "sale committed on the terminal until HQ's acknowledgement is stored (HQ committed it)"}}},
      {"upload",
       {{"events", members},
        {"seconds", upSeconds},
        {"events_per_s", members / upSeconds},
        {"what", "sync --once of member.enrolled events, batches of 500, gzip"}}},
      {"pull",
       {{"changes", pulled},
        {"pages", pages},
        {"seconds", pullSeconds},
        {"changes_per_s", static_cast<double>(pulled) / pullSeconds},
        {"apply_seconds", applySeconds},
        {"what",
         "new terminal pulls the whole feed: member snapshots inserted with search keys and "
         "balances reconciled, one transaction per page of 500"}}}};
  std::ofstream(out) << result.dump(2) << '\n';
  std::cout << result.dump(2) << '\n';
  return 0;
}
