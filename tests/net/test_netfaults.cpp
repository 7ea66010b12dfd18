// Network faults on real interfaces (issue 16 item 2; docs/reliability.md, "Network").
//
// Two loyalty-hq instances serve one PostgreSQL the test starts. Three terminals, each a real
// `loyalty-terminal exec` process (and `sync --once` runs) in its own network namespace, reach
// head office through a veth pair into a hub namespace, where a fault-injecting TCP proxy
// forwards their TLS untouched to either head office. Each schedule (seeded) enrols members at
// one terminal, then has all three compete for their points (online and offline redemptions,
// sales paying with points, earnings) and sync, while nft rules in the terminals' namespaces cut
// or drop their traffic and the proxy delays, stalls, cuts, truncates, swallows and resets their
// connections. After the network heals and every terminal has synced, the books must balance:
// no duplicates, head office's balances exactly the sum of what the terminals did, every
// terminal's seqs contiguous at head office, overspend within the offline allowance, every
// overdraft recorded as points debt, and every terminal showing head office's figures.
//
// LOYALTY_NETFAULT_SCHEDULES (default 12) schedules run; LOYALTY_NETFAULT_SEED sets the first
// seed (schedule i uses seed + i; default: from the clock). A failure prints its seed and plan;
// LOYALTY_NETFAULT_SEED=<seed> LOYALTY_NETFAULT_SCHEDULES=1 runs that schedule again (the faults
// and operations are the same; their timing against the processes is not exactly).
// LOYALTY_NETFAULT_WORKERS=N runs N schedule workers at once (default 1), each with its own rig:
// PostgreSQL, two head offices, namespaces and proxies, so no worker shares another's faults or
// books; the rigs live for the whole run, the schedules share nothing but their rig's terminals.
// LOYALTY_NETFAULT_REPORT=FILE writes a JSON summary of the run (every 100 schedules and at the
// end); LOYALTY_NETFAULT_RESULTS=FILE puts the same summary into that file's "network" runs and
// sums all runs there (bench/results/reliability.json). LOYALTY_NETFAULT_SECONDS stops starting
// schedules after that long; SIGTERM or SIGINT does so at once (the report is still written).

#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../hq/support/hq_fixture.hpp"
#include "fault_proxy.hpp"
#include "net_lab.hpp"

namespace {

using loyalty::test::ChildProcess;
using loyalty::test::HqInstance;
using loyalty::test::Stderr;
using loyalty::test::TempDir;
using loyalty::test::net::Block;
using loyalty::test::net::ConnFault;
using loyalty::test::net::FaultProxy;
using loyalty::test::net::NetLab;
using nlohmann::json;
using ojson = nlohmann::ordered_json;  // the results file keeps its keys in order
using Clock = std::chrono::steady_clock;

constexpr int kTerminals = 3;
constexpr int kProxyPort = 4433;
constexpr int kHealAtMs = 500;        // every fault of a schedule is gone by then
constexpr std::int64_t kAllowance = 500;  // [loyalty] offline_redeem_allowance, the default

/// A check that failed: the schedule's report says which and why.
struct Violation : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void expect(bool ok, const std::string& what) {
  if (!ok) throw Violation(what);
}

std::int64_t envInt(const char* name, std::int64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return std::stoll(v);
}

std::string utcTime() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string loadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string load;
  std::getline(in, load);
  return load;
}

/// Writes `text` to a temporary file beside `file`, then renames it over `file`: a run killed
/// while writing leaves the previous version whole.
void writeFileAtomically(const std::string& file, const std::string& text) {
  const std::string tmp = file + ".tmp" + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  std::filesystem::rename(tmp, file);
}

constexpr std::int64_t kTargetSchedules = 10000;  // issue 16 item 2

/// Puts `run` into the "network" section's list of runs of the results file `file` (replacing
/// the entry of the same run written earlier) and sums every run into its "total", so runs
/// accumulate across sessions. A file that is there but not JSON is left alone.
void recordRun(const std::string& file, const ojson& run) {
  ojson all = ojson::object();
  if (std::ifstream in(file); in) {
    try {
      in >> all;
    } catch (const ojson::exception& e) {
      std::cout << "netfaults: " << file << " is not JSON, not written: " << e.what() << std::endl;
      return;
    }
  }
  if (!all.is_object()) return;
  ojson& net = all["network"];
  if (!net.is_object()) net = ojson::object();
  ojson& runs = net["runs"];
  if (!runs.is_array()) runs = ojson::array();
  bool replaced = false;
  for (auto& r : runs) {
    if (r.is_object() && r.value("run", std::string()) == run.at("run").get<std::string>()) {
      r = run;
      replaced = true;
    }
  }
  if (!replaced) runs.push_back(run);
  std::int64_t passed = 0, failed = 0;
  double seconds = 0;
  for (const auto& r : runs) {
    passed += r.value("schedules_passed", std::int64_t{0});
    failed += r.value("violations", std::int64_t{0});
    seconds += r.value("seconds", 0.0);
  }
  net["total"] = {{"runs", runs.size()},
                  {"schedules_passed", passed},
                  {"violations", failed},
                  {"seconds", std::round(seconds * 10) / 10},
                  {"target_schedules", kTargetSchedules},
                  {"target_met", passed >= kTargetSchedules && failed == 0}};
  writeFileAtomically(file, all.dump(2) + "\n");
}

// Set by SIGTERM or SIGINT during the long run: no new schedule starts, the report is written.
volatile std::sig_atomic_t g_stopRequested = 0;
void requestStop(int) { g_stopRequested = 1; }

std::string utcDay() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

// [SECTION] A terminal in its namespace

struct SyncOutcome {
  int exit = -1;
  std::int64_t pending = -1;
  std::string output;
};

class Terminal {
 public:
  Terminal(NetLab& lab, int k) : m_lab(lab), m_k(k) {}

  int index() const { return m_k; }
  std::string dataDir() const { return m_dir.str(); }
  std::string id() const { return "T" + std::to_string(m_k); }
  std::string store() const { return "S" + std::to_string(m_k); }

  void registerWith(HqInstance& hq) {
    const std::string code = hq.addTerminal(store(), id());
    loyalty::test::net::runOrThrow({loyalty::test::terminalBinary(), "register", "--data", dataDir(), "--hq",
                                    "https://" + NetLab::hubAddress(m_k) + ":" + std::to_string(kProxyPort), "--ca", hq.caFile(),
                                    "--code", code},
                                   m_lab.terminalNsPath(m_k));
    // Started after registering: exec asks head office before redeeming only when registered.
    m_exec = std::make_unique<ChildProcess>(std::vector<std::string>{loyalty::test::terminalBinary(), "exec", "--data", dataDir()},
                                            Stderr::kDiscard, m_lab.terminalNsPath(m_k));
  }

  /// One exec request; the terminal answers every line (a redemption waits at most 2 s for HQ).
  json call(json request) {
    request["id"] = m_nextId++;
    if (!m_exec->write(request.dump() + "\n")) throw Violation(id() + ": exec has gone");
    auto line = m_exec->readLine(std::chrono::seconds(30));
    if (!line) throw Violation(id() + ": exec did not answer " + request.dump());
    json r = json::parse(*line);
    if (r.at("id") != request["id"]) throw Violation(id() + ": exec answered out of order");
    return r;
  }

  /// Sends a request without waiting for its answer (a kill may come first).
  void send(json request) {
    request["id"] = m_nextId++;
    if (!m_exec->write(request.dump() + "\n")) throw Violation(id() + ": exec has gone");
  }

  /// SIGKILLs the exec process and starts it again (its start releases attempts the kill cut short).
  void restartExec() {
    m_exec->killHard();
    m_exec = std::make_unique<ChildProcess>(std::vector<std::string>{loyalty::test::terminalBinary(), "exec", "--data", dataDir()},
                                            Stderr::kDiscard, m_lab.terminalNsPath(m_k));
    if (!call({{"op", "stats"}}).value("ok", false)) throw Violation(id() + ": exec did not start again");  // up, attempts ended
  }

  SyncOutcome syncOnce() {
    ChildProcess p({loyalty::test::terminalBinary(), "sync", "--data", dataDir(), "--once"}, Stderr::kToStdout,
                   m_lab.terminalNsPath(m_k));
    p.closeStdin();
    SyncOutcome o;
    const auto deadline = Clock::now() + std::chrono::seconds(120);
    while (auto line = p.readLine(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()))) {
      o.output += *line + "\n";
      if (!line->empty() && line->front() == '{') {
        try {
          o.pending = json::parse(*line).value("pending", std::int64_t{-1});
        } catch (const json::exception&) {
        }
      }
    }
    if (Clock::now() >= deadline) {
      p.killHard();
      throw Violation(id() + ": sync --once took over 120 s");
    }
    o.exit = p.wait();
    return o;
  }

  // What this terminal did, from its own answers: the events it made and their effect on points.
  std::int64_t events = 0;
  std::map<std::string, std::int64_t> effects;  ///< member -> points
  std::int64_t enrolments = 0, sales = 0, redemptions = 0, offlineRedeemed = 0;
  std::int64_t releases = 0;  ///< points.redemption_released events counted into `events` so far

 private:
  NetLab& m_lab;
  int m_k;
  TempDir m_dir;
  std::unique_ptr<ChildProcess> m_exec;
  std::int64_t m_nextId = 1;
};

// [SECTION] A schedule

struct Step {
  enum class Kind { kRedeem, kSale, kSalePayingPoints, kSync } kind;
  int member = 0;  ///< index into the schedule's members
  std::int64_t points = 0;
  std::int64_t price = 0;  ///< whole currency units
  int atMs = 0;            ///< not before this time into the faulty phase
};

struct FaultEvent {
  int atMs = 0;
  int terminal = 1;
  enum class Kind { kBlock, kHeal, kProxyFaults, kProxyStanding, kProxyClear, kCutAll } kind;
  Block block = Block::kCut;
  std::vector<ConnFault> faults;
};

struct Plan {
  std::uint64_t seed = 0;
  int home = 1;
  std::vector<std::int64_t> startPrices;  ///< one sale each member makes on enrolment
  std::vector<std::vector<Step>> scripts;  ///< per terminal
  std::vector<FaultEvent> faults;          ///< by time

  std::string describe() const {
    std::ostringstream s;
    s << "seed " << seed << ", members enrolled at T" << home << " with sales of";
    for (auto p : startPrices) s << " " << p << ".00";
    s << "\n";
    for (std::size_t t = 0; t < scripts.size(); ++t) {
      s << "  T" << t + 1 << ":";
      for (const auto& st : scripts[t]) {
        s << " +" << st.atMs << "ms";
        switch (st.kind) {
          case Step::Kind::kRedeem: s << " redeem(m" << st.member << "," << st.points << ")"; break;
          case Step::Kind::kSale: s << " sale(m" << st.member << "," << st.price << ")"; break;
          case Step::Kind::kSalePayingPoints:
            s << " sale(m" << st.member << "," << st.price << ",pay " << st.points << ")";
            break;
          case Step::Kind::kSync: s << " sync"; break;
        }
      }
      s << "\n";
    }
    for (const auto& f : faults) {
      s << "  +" << f.atMs << "ms T" << f.terminal << ": ";
      switch (f.kind) {
        case FaultEvent::Kind::kBlock: s << loyalty::test::net::describe(f.block); break;
        case FaultEvent::Kind::kHeal: s << "nft heal"; break;
        case FaultEvent::Kind::kProxyClear: s << "proxy clean"; break;
        case FaultEvent::Kind::kCutAll: s << "proxy resets live connections"; break;
        case FaultEvent::Kind::kProxyStanding: s << "proxy standing " << loyalty::test::net::describe(f.faults.at(0)); break;
        case FaultEvent::Kind::kProxyFaults:
          s << "proxy next";
          for (const auto& c : f.faults) s << " [" << loyalty::test::net::describe(c) << "]";
          break;
      }
      s << "\n";
    }
    return s.str();
  }
};

ConnFault randomConnFault(std::mt19937_64& rng) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  ConnFault f;
  switch (pick(0, 7)) {
    case 0: f = {ConnFault::Kind::kDelay, pick(5, 60), 0}; break;
    case 1: f = {ConnFault::Kind::kStall, pick(100, 1200), static_cast<std::size_t>(pick(0, 3000))}; break;
    case 2: f = {ConnFault::Kind::kCutRequest, 0, static_cast<std::size_t>(pick(0, 4000))}; break;
    case 3: f = {ConnFault::Kind::kResetRequest, 0, static_cast<std::size_t>(pick(0, 4000))}; break;
    case 4: f = {ConnFault::Kind::kTruncateResponse, 0, static_cast<std::size_t>(pick(0, 6000))}; break;
    // Past the handshake (a few hundred bytes up) the client's bytes are its request: swallowing
    // what follows loses an answer to a request head office acted on, so the terminal sends it again.
    case 5: f = {ConnFault::Kind::kSwallowResponse, 0, static_cast<std::size_t>(pick(600, 2500))}; break;
    case 6: f = {ConnFault::Kind::kRefuse, 0, 0}; break;
    default: f = {ConnFault::Kind::kPass, 0, 0}; break;
  }
  return f;
}

Plan makePlan(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  Plan p;
  p.seed = seed;
  p.home = pick(1, kTerminals);
  const int members = pick(1, 2);
  for (int m = 0; m < members; ++m) p.startPrices.push_back(pick(200, 900));
  p.scripts.resize(kTerminals);
  for (auto& script : p.scripts) {
    const int steps = pick(2, 5);
    for (int i = 0; i < steps; ++i) {
      Step st{};
      st.member = pick(0, members - 1);
      switch (pick(0, 5)) {
        case 0:
        case 1: st.kind = Step::Kind::kRedeem; st.points = pick(50, 450); break;
        case 2: st.kind = Step::Kind::kSale; st.price = pick(5, 300); break;
        case 3: st.kind = Step::Kind::kSalePayingPoints; st.price = pick(20, 200); st.points = pick(50, 400); break;
        default: st.kind = Step::Kind::kSync; break;
      }
      st.atMs = pick(0, 450);
      script.push_back(st);
    }
    std::sort(script.begin(), script.end(), [](const Step& a, const Step& b) { return a.atMs < b.atMs; });
  }
  // Faults over the first 0.45 s (the first at once); each terminal's link and proxy listener change a few times.
  const int changes = pick(3, 10);
  for (int i = 0; i < changes; ++i) {
    FaultEvent f{};
    f.atMs = i == 0 ? 0 : pick(0, 450);
    f.terminal = pick(1, kTerminals);
    switch (pick(0, 6)) {
      case 0: f.kind = FaultEvent::Kind::kBlock; f.block = Block::kCut; break;
      case 1: f.kind = FaultEvent::Kind::kBlock; f.block = pick(0, 1) ? Block::kDropOut : Block::kDropIn; break;
      case 2: f.kind = FaultEvent::Kind::kHeal; break;
      case 3:
        f.kind = FaultEvent::Kind::kProxyFaults;
        for (int n = pick(1, 4); n > 0; --n) f.faults.push_back(randomConnFault(rng));
        break;
      case 4: f.kind = FaultEvent::Kind::kProxyStanding; f.faults.push_back(randomConnFault(rng)); break;
      case 5: f.kind = FaultEvent::Kind::kCutAll; break;
      default: f.kind = FaultEvent::Kind::kProxyClear; break;
    }
    p.faults.push_back(f);
  }
  std::sort(p.faults.begin(), p.faults.end(), [](const FaultEvent& a, const FaultEvent& b) { return a.atMs < b.atMs; });
  return p;
}

// [SECTION] The rig: PostgreSQL, two head offices, the namespaces, three proxies, three terminals

class Rig {
 public:
  /// `worker` > 0 names the namespaces of one of several rigs in this process.
  explicit Rig(int worker = 0) : m_hq("postgresql", {"--host", hostList()}), m_lab(kTerminals, worker) {
    for (int i = 0; i < 2; ++i) {
      m_servers.push_back(std::make_unique<ChildProcess>(
          std::vector<std::string>{loyalty::test::hqBinary(), "serve", "--data", m_hq.dataDir(), "--listen", "127.0.0.1:0"},
          Stderr::kDiscard));
      auto line = m_servers.back()->readLine(std::chrono::seconds(30));
      if (!line || line->rfind("listening on https://", 0) != 0) throw std::runtime_error("loyalty-hq serve did not start");
      m_ports.push_back(std::stoi(line->substr(line->rfind(':') + 1)));
    }
    for (int k = 1; k <= kTerminals; ++k) {
      m_proxies.push_back(std::make_unique<FaultProxy>(m_lab.listenInHub(k, kProxyPort), m_ports, 7919u * static_cast<unsigned>(k)));
      m_terminals.push_back(std::make_unique<Terminal>(m_lab, k));
    }
    for (auto& t : m_terminals) t->registerWith(m_hq);
    m_sql = m_hq.sql();
    m_reportSql = m_hq.sql();
  }

  /// How many redemptions the terminals' events say were authorised `how` ("online", "offline").
  /// On a connection of its own: the run's report asks while the rig's worker runs schedules.
  std::uint64_t redemptionsAuthorised(const std::string& how) {
    const auto r = m_reportSql->query("SELECT COUNT(*) FROM events WHERE type = 'points.redeemed' AND payload LIKE $1",
                                      {std::string("%\"authorised\":\"") + how + "\"%"});
    return static_cast<std::uint64_t>(r.integer(0, 0));
  }

  Terminal& terminal(int k) { return *m_terminals.at(static_cast<std::size_t>(k - 1)); }
  FaultProxy& proxy(int k) { return *m_proxies.at(static_cast<std::size_t>(k - 1)); }
  NetLab& lab() { return m_lab; }
  HqInstance& hq() { return m_hq; }
  loyalty::hq::SqlConnection& sql() { return *m_sql; }

  void healAll() {
    for (int k = 1; k <= kTerminals; ++k) {
      m_lab.heal(k);
      proxy(k).clearFaults();
    }
  }

  /// Each terminal runs `f(k)` on its own thread; the first exception is rethrown.
  template <class F>
  void onEachTerminal(F f) {
    std::vector<std::thread> threads;
    std::mutex m;
    std::exception_ptr first;
    for (int k = 1; k <= kTerminals; ++k) {
      threads.emplace_back([&, k] {
        try {
          f(k);
        } catch (...) {
          std::lock_guard lock(m);
          if (!first) first = std::current_exception();
        }
      });
    }
    for (auto& t : threads) t.join();
    if (first) std::rethrow_exception(first);
  }

  std::uint64_t connections() const {
    std::uint64_t n = 0;
    for (const auto& p : m_proxies) n += p->stats().connections;
    return n;
  }
  std::uint64_t faultedConnections() const {
    std::uint64_t n = 0;
    for (const auto& p : m_proxies) n += p->stats().faulted;
    return n;
  }

 private:
  static std::string hostList() {
    std::string hosts = "localhost,127.0.0.1";
    for (int k = 1; k <= kTerminals; ++k) hosts += "," + NetLab::hubAddress(k);
    return hosts;
  }

  HqInstance m_hq;
  std::vector<std::unique_ptr<ChildProcess>> m_servers;
  std::vector<int> m_ports;
  NetLab m_lab;  // after the servers: torn down first, while they still run
  std::vector<std::unique_ptr<FaultProxy>> m_proxies;
  std::vector<std::unique_ptr<Terminal>> m_terminals;
  std::unique_ptr<loyalty::hq::SqlConnection> m_sql;
  std::unique_ptr<loyalty::hq::SqlConnection> m_reportSql;
};

// [SECTION] Running one schedule

struct RunTotals {
  std::uint64_t schedules = 0, syncRuns = 0, failedSyncs = 0, failedUploads = 0, failedPulls = 0, redemptionsOnline = 0, redemptionsOffline = 0,
                refusedLimit = 0, refusedPoints = 0, overdrafts = 0, overdraftPoints = 0, healRounds = 0;
  std::set<std::string> days;

  RunTotals& operator+=(const RunTotals& o) {
    schedules += o.schedules;
    syncRuns += o.syncRuns;
    failedSyncs += o.failedSyncs;
    failedUploads += o.failedUploads;
    failedPulls += o.failedPulls;
    redemptionsOnline += o.redemptionsOnline;
    redemptionsOffline += o.redemptionsOffline;
    refusedLimit += o.refusedLimit;
    refusedPoints += o.refusedPoints;
    overdrafts += o.overdrafts;
    overdraftPoints += o.overdraftPoints;
    healRounds += o.healRounds;
    days.insert(o.days.begin(), o.days.end());
    return *this;
  }
};

std::string nextPhone(std::uint64_t n) {
  // Valid CN mobiles, one per member of the run: 139 + 8 digits.
  std::string digits = std::to_string(10000000 + n % 90000000);
  return "+86139" + digits;
}

class ScheduleRunner {
 public:
  explicit ScheduleRunner(Rig& rig, int worker = 0)
      : m_rig(rig), m_phones((static_cast<std::uint64_t>(getpid()) * 100 + static_cast<std::uint64_t>(worker)) * 100000) {}

  /// The member checks again over every member of the run so far (the schedules check their own).
  void checkAllMembers(RunTotals& totals) { checkMembers(totals, m_members); }


  void run(const Plan& plan, RunTotals& totals) {
    const std::string dayBefore = utcDay();
    const auto t0 = Clock::now();
    // 1. Clean network: members enrol at the home terminal with a sale, and every terminal learns them.
    Terminal& home = m_rig.terminal(plan.home);
    std::vector<std::string> members;
    for (std::size_t m = 0; m < plan.startPrices.size(); ++m) {
      const json enrolled = home.call({{"op", "enroll"}, {"phone", nextPhone(m_phones++)}, {"name", "Net Member"},
                                       {"consent_marketing", false}});
      expect(enrolled.value("ok", false), "enrol failed: " + enrolled.dump());
      const std::string id = enrolled["result"]["member_id"];
      home.events += 1;
      home.enrolments += 1;
      m_members.push_back(id);
      members.push_back(id);
      sale(home, id, plan.startPrices[m], 0, totals);
    }
    expect(home.syncOnce().exit == 0, "home terminal could not sync on a clean network");
    m_rig.onEachTerminal([&](int k) {
      if (k != plan.home) expect(m_rig.terminal(k).syncOnce().exit == 0, "T" + std::to_string(k) + " could not pull on a clean network");
    });

    // 2. Faults while the terminals compete for the members' points.
    std::atomic<bool> done{false};
    const auto start = Clock::now();
    // Sleeps until `atMs` into the faulty phase (or until the terminals are done), in short steps.
    const auto waitUntil = [&](int atMs) {
      const auto at = start + std::chrono::milliseconds(atMs);
      while (!done && Clock::now() < at) std::this_thread::sleep_until(std::min(at, Clock::now() + std::chrono::milliseconds(10)));
    };
    std::thread timeline([&] {
      for (const auto& f : plan.faults) {
        waitUntil(f.atMs);
        if (done) break;
        applyFault(f);
      }
      // The network heals at kHealAtMs even while the terminals still work: what a fault left
      // hanging (a dropped SYN, a stalled transfer) recovers the way TCP recovers.
      waitUntil(kHealAtMs);
      m_rig.healAll();
    });
    try {
      m_rig.onEachTerminal([&](int k) {
        Terminal& t = m_rig.terminal(k);
        for (const auto& st : plan.scripts[static_cast<std::size_t>(k - 1)]) {
          std::this_thread::sleep_until(start + std::chrono::milliseconds(st.atMs));
          step(t, st, members.at(static_cast<std::size_t>(st.member)), totals);
        }
      });
    } catch (...) {
      done = true;
      timeline.join();
      throw;
    }
    done = true;
    timeline.join();

    const auto t1 = Clock::now();
    // 3. Heal, then sync until every terminal has nothing pending, then one more round of pulls.
    m_rig.healAll();
    bool settled = false;
    for (int round = 1; round <= 8 && !settled; ++round) {
      ++totals.healRounds;
      std::atomic<bool> allClean{true};
      m_rig.onEachTerminal([&](int k) {
        const SyncOutcome o = m_rig.terminal(k).syncOnce();
        if (o.exit != 0 || o.pending != 0) allClean = false;
      });
      settled = allClean;
    }
    expect(settled, "terminals did not settle within 8 sync rounds after the network healed");
    m_rig.onEachTerminal([&](int k) {
      const SyncOutcome o = m_rig.terminal(k).syncOnce();
      expect(o.exit == 0 && o.pending == 0, "T" + std::to_string(k) + " final pull failed: " + o.output);
    });
    const auto t2 = Clock::now();
    totals.days.insert(dayBefore);
    totals.days.insert(utcDay());
    check(totals, members);
    ++totals.schedules;
    if (std::getenv("LOYALTY_NETFAULT_VERBOSE")) {
      const auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
      std::cout << "schedule " << plan.seed << ": setup+faults " << ms(t1 - t0) << " ms (faulty phase from " << ms(start - t0)
                << "), heal " << ms(t2 - t1) << " ms, checks " << ms(Clock::now() - t2) << " ms" << std::endl;
    }
  }

 private:
  void sale(Terminal& t, const std::string& member, std::int64_t price, std::int64_t payPoints, RunTotals& totals) {
    json r = {{"op", "sale"}, {"sale_id", t.id() + "-s" + std::to_string(m_keys++)}, {"member", member},
              {"lines", json::array({{{"sku", "FUEL"}, {"qty", 1}, {"unit_price", std::to_string(price) + ".00"}}})}};
    if (payPoints > 0) r["redeem_points"] = payPoints;
    const json a = t.call(r);
    if (!a.value("ok", false)) {
      const std::string code = a["error"].value("code", "");
      expect(payPoints > 0 && (code == "insufficient_points" || code == "limit_exceeded" || code == "forbidden"),
             t.id() + ": sale refused: " + a.dump());
      (code == "limit_exceeded" ? totals.refusedLimit : totals.refusedPoints) += 1;
      return;
    }
    const json& res = a["result"];
    t.events += 1;
    t.sales += 1;
    t.effects[member] += res.at("points_earned").get<std::int64_t>() - res.at("points_redeemed").get<std::int64_t>();
  }

  void step(Terminal& t, const Step& st, const std::string& member, RunTotals& totals) {
    switch (st.kind) {
      case Step::Kind::kSync: {
        const SyncOutcome o = t.syncOnce();
        ++totals.syncRuns;
        if (o.exit != 0) ++totals.failedSyncs;
        if (o.output.find("sync: upload: ") != std::string::npos) ++totals.failedUploads;
        if (o.output.find("sync: pull: ") != std::string::npos && o.output.find("sync: pull: not attempted") == std::string::npos) {
          ++totals.failedPulls;
        }
        return;
      }
      case Step::Kind::kSale: sale(t, member, st.price, 0, totals); return;
      case Step::Kind::kSalePayingPoints: sale(t, member, st.price, st.points, totals); return;
      case Step::Kind::kRedeem: break;
    }
    const json a = t.call({{"op", "redeem"}, {"redemption_id", t.id() + "-r" + std::to_string(m_keys++)}, {"member", member},
                           {"points", st.points}});
    if (!a.value("ok", false)) {
      const std::string code = a["error"].value("code", "");
      expect(code == "insufficient_points" || code == "limit_exceeded", t.id() + ": redemption refused: " + a.dump());
      (code == "limit_exceeded" ? totals.refusedLimit : totals.refusedPoints) += 1;
      return;
    }
    t.events += 1;
    t.redemptions += 1;
    t.effects[member] -= a["result"].at("points").get<std::int64_t>();
  }

  void applyFault(const FaultEvent& f) {
    FaultProxy& proxy = m_rig.proxy(f.terminal);
    switch (f.kind) {
      case FaultEvent::Kind::kBlock: m_rig.lab().block(f.terminal, f.block); break;
      case FaultEvent::Kind::kHeal: m_rig.lab().heal(f.terminal); break;
      case FaultEvent::Kind::kProxyFaults: proxy.queueFaults(f.faults); break;
      case FaultEvent::Kind::kProxyStanding: proxy.setStanding(f.faults.at(0)); break;
      case FaultEvent::Kind::kProxyClear: proxy.clearFaults(); break;
      case FaultEvent::Kind::kCutAll: proxy.cutAll(); break;
    }
  }

  std::int64_t scalar(const std::string& sql, const std::vector<loyalty::hq::SqlValue>& params = {}) {
    const auto r = m_rig.sql().query(sql, params);
    return r.empty() || r.isNull(0, 0) ? 0 : r.integer(0, 0);
  }

  /// The invariants: head office's and the terminals' books over everything the run did so far,
  /// the member checks over the schedule's own members (no other schedule touches them; the
  /// runs check every member again with checkAllMembers).
  void check(RunTotals& totals, const std::vector<std::string>& members) {
    // No duplicates: one row per sale and redemption id, no conflicting or refused events.
    expect(scalar("SELECT COUNT(*) FROM (SELECT sale_id FROM sales GROUP BY sale_id HAVING COUNT(*) > 1) d") == 0,
           "a sale is counted twice at head office");
    expect(scalar("SELECT COUNT(*) FROM (SELECT redemption_id FROM redemptions GROUP BY redemption_id HAVING COUNT(*) > 1) d") == 0,
           "a redemption is counted twice at head office");
    expect(scalar("SELECT COUNT(*) FROM event_conflicts") == 0, "head office kept a conflicting event");
    // Every online authorisation attempt ended in its terminal's event: nothing is held any more,
    // and no redemption or sale a terminal recorded was also released.
    expect(scalar("SELECT COUNT(*) FROM reservations WHERE after_seq IS NOT NULL AND settled_event IS NULL AND released_at IS NULL") == 0,
           "head office still holds a reservation whose attempt ended");
    expect(scalar("SELECT COUNT(*) FROM reservations r WHERE released_at IS NOT NULL AND (EXISTS (SELECT 1 FROM redemptions d WHERE "
                  "d.redemption_id = r.redemption_id) OR EXISTS (SELECT 1 FROM sales s WHERE s.sale_id = r.redemption_id))") == 0,
           "a recorded redemption was released");
    // Per terminal: seqs 1..N contiguous, N = the events the terminal made (its operations' and the
    // releases of attempts it did not record), each kind counted once.
    for (int k = 1; k <= kTerminals; ++k) {
      Terminal& t = m_rig.terminal(k);
      const std::string id = t.id();
      const auto r = m_rig.sql().query("SELECT COUNT(*), COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0) FROM events WHERE terminal_id = $1", {id});
      const std::int64_t count = r.integer(0, 0), lo = r.integer(0, 1), hi = r.integer(0, 2);
      t.events += scalar("SELECT COUNT(*) FROM events WHERE terminal_id = $1 AND type = 'points.redemption_released'", {id}) - t.releases;
      t.releases = scalar("SELECT COUNT(*) FROM events WHERE terminal_id = $1 AND type = 'points.redemption_released'", {id});
      expect(count == t.events, id + ": head office holds " + std::to_string(count) + " events, the terminal made " + std::to_string(t.events));
      expect(count == 0 || (lo == 1 && hi == count), id + ": seqs not contiguous: " + std::to_string(count) + " events span " +
                                                         std::to_string(lo) + ".." + std::to_string(hi));
      expect(scalar("SELECT COUNT(*) FROM sales WHERE terminal_id = $1", {id}) == t.sales, id + ": sales at head office differ");
      expect(scalar("SELECT COUNT(*) FROM redemptions WHERE terminal_id = $1", {id}) == t.redemptions,
             id + ": redemptions at head office differ");
      expect(scalar("SELECT applied_through FROM terminals WHERE terminal_id = $1", {id}) == t.events,
             id + ": head office's applied_through is not the terminal's last seq");
    }
    checkMembers(totals, members);
    for (int k = 1; k <= kTerminals; ++k) {
      const json s = m_rig.terminal(k).call({{"op", "stats"}});
      expect(s["result"].value("outbox_pending", -1) == 0, "T" + std::to_string(k) + " still has events pending");
    }
  }

  // Exact totals per member; overspend within allowance x terminals x days; overdrafts as debt.
  void checkMembers(RunTotals& totals, const std::vector<std::string>& members) {
    const std::int64_t bound = kAllowance * kTerminals * static_cast<std::int64_t>(totals.days.size());
    for (const auto& member : members) {
      std::int64_t expected = 0;
      for (int k = 1; k <= kTerminals; ++k) {
        const auto& e = m_rig.terminal(k).effects;
        if (auto it = e.find(member); it != e.end()) expected += it->second;
      }
      const std::int64_t balance = scalar("SELECT balance FROM members WHERE member_id = $1", {member});
      const std::int64_t ledger = scalar("SELECT SUM(points) FROM ledger WHERE member_id = $1", {member});
      const std::int64_t overdrawn = scalar("SELECT SUM(points) FROM overdrafts WHERE member_id = $1", {member});
      const std::int64_t debt = balance < 0 ? -balance : 0;
      const std::string who = "member " + member + ": ";
      expect(balance == expected, who + "head office's balance " + std::to_string(balance) + " is not the terminals' sum " + std::to_string(expected));
      expect(ledger == balance, who + "ledger sum " + std::to_string(ledger) + " differs from the balance " + std::to_string(balance));
      expect(overdrawn <= bound, who + "overdrafts " + std::to_string(overdrawn) + " exceed allowance x terminals x days = " + std::to_string(bound));
      expect(debt <= overdrawn, who + "debt " + std::to_string(debt) + " not covered by recorded overdrafts " + std::to_string(overdrawn));
      // Every terminal shows head office's figures: the balance, and any debt as points debt.
      for (int k = 1; k <= kTerminals; ++k) {
        const json a = m_rig.terminal(k).call({{"op", "member"}, {"member", member}});
        expect(a.value("ok", false), who + "unknown at T" + std::to_string(k) + ": " + a.dump());
        const json& m = a["result"];
        const std::int64_t points = m.at("points"), pointsDebt = m.at("points_debt");
        expect(points - pointsDebt == balance && pointsDebt == debt,
               who + "T" + std::to_string(k) + " shows points " + std::to_string(points) + " debt " + std::to_string(pointsDebt) +
                   ", head office " + std::to_string(balance));
      }
      if (overdrawn > 0 && m_overdrawn.insert(member).second) {
        ++totals.overdrafts;
        totals.overdraftPoints += static_cast<std::uint64_t>(overdrawn);
      }
    }
  }

  Rig& m_rig;
  std::vector<std::string> m_members;
  std::set<std::string> m_overdrawn;
  std::uint64_t m_phones;
  std::uint64_t m_keys = 1;
};

}  // namespace

TEST_CASE("Network faults: terminals in namespaces behind nft and a faulty proxy keep exact books with two head offices",
          "[net][faults]") {
  if (!loyalty::test::net::netLabAvailable()) {
    WARN("NETNS UNAVAILABLE: needs root, ip, nft and nsenter");
    return;
  }
  const auto schedules = envInt("LOYALTY_NETFAULT_SCHEDULES", 12);
  const int workers = static_cast<int>(std::clamp<std::int64_t>(envInt("LOYALTY_NETFAULT_WORKERS", 1), 1, 32));
  const auto firstSeed = static_cast<std::uint64_t>(
      envInt("LOYALTY_NETFAULT_SEED", static_cast<std::int64_t>(std::chrono::system_clock::now().time_since_epoch().count() % 1000000007)));
  std::cout << "netfaults: " << schedules << " schedules from seed " << firstSeed << " on " << workers << " worker(s)" << std::endl;
  const std::string startedUtc = utcTime();
  const std::string loadStart = loadAverage();

  // One rig per worker, built here one after another (their fixtures assert on this thread).
  const auto setupStarted = Clock::now();
  std::vector<std::unique_ptr<Rig>> rigs;
  std::vector<std::unique_ptr<ScheduleRunner>> runners;
  for (int w = 0; w < workers; ++w) {
    rigs.push_back(std::make_unique<Rig>(workers > 1 ? w + 1 : 0));
    runners.push_back(std::make_unique<ScheduleRunner>(*rigs.back(), w));
  }
  const double setupSeconds = std::chrono::duration<double>(Clock::now() - setupStarted).count();

  const auto started = Clock::now();
  std::mutex mutex;  // guards everything below the workers share
  std::vector<RunTotals> snapshots(static_cast<std::size_t>(workers));  // each worker's totals after its last schedule
  std::string failure;
  std::uint64_t schedulesFailed = 0;
  std::vector<json> loadSamples;
  std::atomic<std::int64_t> next{0};
  std::atomic<bool> stop{false};

  const auto report = [&](bool final) {  // with `mutex` held
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    RunTotals totals;
    std::uint64_t connections = 0, faulted = 0;
    for (std::size_t w = 0; w < snapshots.size(); ++w) {
      totals += snapshots[w];
      totals.redemptionsOnline += rigs[w]->redemptionsAuthorised("online");
      totals.redemptionsOffline += rigs[w]->redemptionsAuthorised("offline");
      connections += rigs[w]->connections();
      faulted += rigs[w]->faultedConnections();
    }
    const std::string load = loadAverage();
    loadSamples.push_back({{"after_seconds", std::round(seconds)}, {"loadavg", load}});
    std::ostringstream summary;
    summary << "netfaults: " << totals.schedules << " schedules passed in " << seconds << " s on " << workers << " worker(s) ("
            << (seconds > 0 ? 60.0 * static_cast<double>(totals.schedules) / seconds : 0.0) << " a minute, load " << load
            << "); connections " << connections << " (" << faulted << " faulted by the proxy), sync runs under faults "
            << totals.syncRuns << " (" << totals.failedSyncs << " failed: " << totals.failedUploads << " in upload, "
            << totals.failedPulls << " in pull), redemptions online " << totals.redemptionsOnline
            << " offline " << totals.redemptionsOffline << ", refused (limit) " << totals.refusedLimit << " (points) "
            << totals.refusedPoints << ", members overdrawn " << totals.overdrafts << " (" << totals.overdraftPoints << " points)";
    std::cout << summary.str() << std::endl;
    const char* file = std::getenv("LOYALTY_NETFAULT_REPORT");
    const char* results = std::getenv("LOYALTY_NETFAULT_RESULTS");
    if ((!file || !*file) && (!results || !*results)) return;
    const ojson out = {{"run", startedUtc + " seed " + std::to_string(firstSeed)},
                       {"started", startedUtc},
                       {"written", utcTime()},
                       {"complete", final},
                       {"first_seed", firstSeed},
                       {"schedules_asked", schedules},
                       {"schedules_passed", totals.schedules},
                       {"schedules_failed", schedulesFailed},
                       {"violations", schedulesFailed},
                       {"workers", workers},
                       {"setup_seconds", std::round(setupSeconds * 10) / 10},
                       {"seconds", std::round(seconds * 10) / 10},
                       {"seconds_per_schedule", totals.schedules ? std::round(1000 * seconds / static_cast<double>(totals.schedules)) / 1000 : 0.0},
                       {"schedules_per_minute", seconds > 0 ? std::round(600.0 * static_cast<double>(totals.schedules) / seconds) / 10 : 0.0},
                       {"terminals", kTerminals},
                       {"head_offices", 2},
                       {"connections_through_proxy", connections},
                       {"connections_faulted_by_proxy", faulted},
                       {"sync_runs_under_faults", totals.syncRuns},
                       {"failed_syncs_under_faults", totals.failedSyncs},
                       {"failed_uploads_under_faults", totals.failedUploads},
                       {"failed_pulls_under_faults", totals.failedPulls},
                       {"heal_sync_rounds", totals.healRounds},
                       {"redemptions_online", totals.redemptionsOnline},
                       {"redemptions_offline", totals.redemptionsOffline},
                       {"redemptions_refused_limit", totals.refusedLimit},
                       {"redemptions_refused_points", totals.refusedPoints},
                       {"members_overdrawn", totals.overdrafts},
                       {"overdraft_points", totals.overdraftPoints},
                       {"loadavg_start", loadStart},
                       {"loadavg", ojson(loadSamples)},
                       {"failure", failure}};
    if (file && *file) writeFileAtomically(file, out.dump(2) + "\n");
    if (results && *results) recordRun(results, out);
  };

  // SIGTERM or SIGINT ends a long run early: no new schedule starts, the report is written.
  g_stopRequested = 0;
  struct sigaction onStop {}, oldTerm {}, oldInt {};
  onStop.sa_handler = requestStop;
  sigemptyset(&onStop.sa_mask);
  sigaction(SIGTERM, &onStop, &oldTerm);
  sigaction(SIGINT, &onStop, &oldInt);

  const auto budget = std::chrono::seconds(envInt("LOYALTY_NETFAULT_SECONDS", 0));
  const auto work = [&](std::size_t w) {
    ScheduleRunner& runner = *runners[w];
    Rig& rig = *rigs[w];
    RunTotals totals;
    std::uint64_t mine = 0;
    while (!stop && !g_stopRequested) {
      if (budget.count() > 0 && Clock::now() - started > budget) break;
      const std::int64_t i = next++;
      if (i >= schedules) break;
      // Schedule i has seed firstSeed + i whichever worker runs it.
      const Plan plan = makePlan(firstSeed + static_cast<std::uint64_t>(i));
      std::string error;
      try {
        runner.run(plan, totals);
        if (++mine % 100 == 0) runner.checkAllMembers(totals);
      } catch (const std::exception& e) {
        error = std::string(e.what()) + "\nschedule " + plan.describe() + "re-run: LOYALTY_NETFAULT_SEED=" + std::to_string(plan.seed) +
                " LOYALTY_NETFAULT_SCHEDULES=1";
        try {
          rig.healAll();
        } catch (const std::exception&) {
        }
      }
      std::lock_guard lock(mutex);
      snapshots[w] = totals;
      if (!error.empty()) {
        ++schedulesFailed;
        if (failure.empty()) failure = error;
        stop = true;  // the other workers end their schedules and stop: the failure is what matters
      }
      std::uint64_t done = schedulesFailed;
      for (const auto& s : snapshots) done += s.schedules;
      if (error.empty() && done % 100 == 0) report(false);
    }
    // Every member of the worker's run, checked once more at its end.
    if (!stop) {
      try {
        runner.checkAllMembers(totals);
      } catch (const std::exception& e) {
        std::lock_guard lock(mutex);
        ++schedulesFailed;
        if (failure.empty()) failure = std::string("final check of every member: ") + e.what();
        stop = true;
      }
    }
    std::lock_guard lock(mutex);
    snapshots[w] = totals;
  };
  std::vector<std::thread> threads;
  for (std::size_t w = 0; w < rigs.size(); ++w) threads.emplace_back(work, w);
  for (auto& t : threads) t.join();
  sigaction(SIGTERM, &oldTerm, nullptr);
  sigaction(SIGINT, &oldInt, nullptr);
  {
    std::lock_guard lock(mutex);
    report(true);
  }
  INFO(failure);
  CHECK(failure.empty());
}

namespace {

/// Syncs every terminal until none has anything pending, then once more so all hold the last word.
void settle(Rig& rig) {
  rig.healAll();
  bool settled = false;
  for (int round = 1; round <= 8 && !settled; ++round) {
    std::atomic<bool> clean{true};
    rig.onEachTerminal([&](int k) {
      const SyncOutcome o = rig.terminal(k).syncOnce();
      if (o.exit != 0 || o.pending != 0) clean = false;
    });
    settled = clean;
  }
  REQUIRE(settled);
  rig.onEachTerminal([&](int k) { expect(rig.terminal(k).syncOnce().exit == 0, "final pull"); });
}

std::int64_t hqScalar(Rig& rig, const std::string& sql, const std::vector<loyalty::hq::SqlValue>& params = {}) {
  const auto r = rig.sql().query(sql, params);
  return r.empty() || r.isNull(0, 0) ? 0 : r.integer(0, 0);
}

json ok(Terminal& t, const json& request) {
  const json a = t.call(request);
  INFO(t.id() << " " << request.dump() << " -> " << a.dump());
  REQUIRE(a.value("ok", false));
  return a["result"];
}

json sale(const std::string& id, const std::string& member, const std::string& price) {
  return {{"op", "sale"}, {"sale_id", id}, {"member", member},
          {"lines", json::array({{{"sku", "FUEL"}, {"qty", 1}, {"unit_price", price}}})}};
}

}  // namespace

TEST_CASE("Network faults: an upload whose answer is lost counts once, and offline redemptions in a partition become points debt",
          "[net][faults]") {
  if (!loyalty::test::net::netLabAvailable()) {
    WARN("NETNS UNAVAILABLE: needs root, ip, nft and nsenter");
    return;
  }
  Rig rig;
  Terminal& t1 = rig.terminal(1);
  Terminal& t2 = rig.terminal(2);
  Terminal& t3 = rig.terminal(3);
  const std::string member = ok(t1, {{"op", "enroll"}, {"phone", "13912345678"}, {"name", "Wang Fang"}, {"consent_marketing", false}})["member_id"];
  REQUIRE(ok(t1, sale("T1-s1", member, "300.00"))["points_earned"] == 300);
  REQUIRE(t1.syncOnce().exit == 0);
  REQUIRE(t2.syncOnce().exit == 0);
  REQUIRE(t3.syncOnce().exit == 0);

  // Head office applies the upload, its answer never arrives: the terminal sends it again.
  REQUIRE(ok(t1, sale("T1-s2", member, "300.00"))["points_earned"] == 300);
  rig.proxy(1).queueFaults({{ConnFault::Kind::kSwallowResponse, 0, 1200}});
  const SyncOutcome lost = t1.syncOnce();
  INFO(lost.output);
  CHECK(lost.exit != 0);
  CHECK(hqScalar(rig, "SELECT COUNT(*) FROM events WHERE terminal_id = 'T1'") == 3);  // applied all the same
  const SyncOutcome again = t1.syncOnce();
  CHECK(again.exit == 0);
  CHECK(again.pending == 0);
  CHECK(hqScalar(rig, "SELECT COUNT(*) FROM events WHERE terminal_id = 'T1'") == 3);
  CHECK(hqScalar(rig, "SELECT COUNT(*) FROM sales WHERE sale_id = 'T1-s2'") == 1);
  CHECK(hqScalar(rig, "SELECT COUNT(*) FROM event_conflicts") == 0);
  CHECK(hqScalar(rig, "SELECT balance FROM members WHERE member_id = $1", {member}) == 600);

  // A partition: nft resets every terminal's connections; each redeems what it believes is there.
  for (int k = 1; k <= kTerminals; ++k) rig.lab().block(k, Block::kCut);
  CHECK(ok(t1, {{"op", "redeem"}, {"redemption_id", "T1-r1"}, {"member", member}, {"points", 400}})["balance"] == 200);
  // Offline, a member may redeem 500 points a day at each terminal, points left or not.
  CHECK(t1.call({{"op", "redeem"}, {"redemption_id", "T1-r2"}, {"member", member}, {"points", 150}})["error"]["code"] ==
        "limit_exceeded");
  CHECK(ok(t2, {{"op", "redeem"}, {"redemption_id", "T2-r1"}, {"member", member}, {"points", 300}})["balance"] == 0);
  CHECK(ok(t3, {{"op", "redeem"}, {"redemption_id", "T3-r1"}, {"member", member}, {"points", 200}})["balance"] == 100);
  // T3's second one: 300 of its 500-point offline allowance for the member today.
  CHECK(ok(t3, {{"op", "redeem"}, {"redemption_id", "T3-r2"}, {"member", member}, {"points", 100}})["balance"] == 0);
  const json none = t2.call({{"op", "redeem"}, {"redemption_id", "T2-r2"}, {"member", member}, {"points", 50}});
  CHECK(none["error"]["code"] == "insufficient_points");
  settle(rig);

  // 600 earned, 1000 redeemed: 400 overdrawn, all of it points debt, within 500 x 3 terminals.
  CHECK(hqScalar(rig, "SELECT balance FROM members WHERE member_id = $1", {member}) == -400);
  CHECK(hqScalar(rig, "SELECT SUM(points) FROM overdrafts WHERE member_id = $1", {member}) == 400);
  CHECK(hqScalar(rig, "SELECT COUNT(*) FROM events WHERE type = 'points.redeemed' AND payload LIKE '%\"authorised\":\"offline\"%'") == 4);
  for (int k = 1; k <= kTerminals; ++k) {
    const json m = ok(rig.terminal(k), {{"op", "member"}, {"member", member}});
    CHECK(m["points"] == 0);
    CHECK(m["points_debt"] == 400);
  }
  // The debt is repaid by earnings first, and blocks redemptions until then.
  REQUIRE(ok(t2, sale("T2-s1", member, "50.00"))["points_earned"] == 50);
  CHECK(t2.call({{"op", "redeem"}, {"redemption_id", "T2-r3"}, {"member", member}, {"points", 10}})["error"]["code"] ==
        "insufficient_points");
  settle(rig);
  CHECK(hqScalar(rig, "SELECT balance FROM members WHERE member_id = $1", {member}) == -350);
  CHECK(ok(t1, {{"op", "member"}, {"member", member}})["points_debt"] == 350);
}

// The defect this once kept visible ([!shouldfail]): a terminal that redeemed online and was then
// cut off for longer than [redemptions] reservation_minutes lost its reservation at head office,
// which approved the same points online elsewhere, beyond the offline allowance. Terminals now
// send after_seq: head office holds the reservation until the terminal's own event settles it.
TEST_CASE("Network faults: an online redemption outliving reservation_minutes behind a cut keeps its points, and double spending stays within the allowance",
          "[net][faults]") {
  if (!loyalty::test::net::netLabAvailable()) {
    WARN("NETNS UNAVAILABLE: needs root, ip, nft and nsenter");
    return;
  }
  Rig rig;
  Terminal& t1 = rig.terminal(1);
  Terminal& t2 = rig.terminal(2);
  const std::string member = ok(t1, {{"op", "enroll"}, {"phone", "13912345679"}, {"name", "Li Lei"}, {"consent_marketing", false}})["member_id"];
  REQUIRE(ok(t1, sale("T1-s1", member, "2000.00"))["points_earned"] == 2000);
  REQUIRE(t1.syncOnce().exit == 0);
  REQUIRE(t2.syncOnce().exit == 0);

  REQUIRE(ok(t1, {{"op", "redeem"}, {"redemption_id", "T1-r1"}, {"member", member}, {"points", 2000}})["balance"] == 0);
  REQUIRE(hqScalar(rig, "SELECT COUNT(*) FROM reservations WHERE redemption_id = 'T1-r1' AND settled_event IS NULL") == 1);
  rig.lab().block(1, Block::kCut);
  // T1 stays cut off past reservation_minutes (time travel at head office instead of waiting).
  // query(), not exec(): the PostgreSQL connection holds exec()'s statements back until its next query.
  rig.sql().query("UPDATE reservations SET expires_at = '2000-01-01T00:00:00Z' WHERE redemption_id = 'T1-r1'");
  // Head office still holds T1's points: T2 is refused online...
  const json twice = t2.call({{"op", "redeem"}, {"redemption_id", "T2-r1"}, {"member", member}, {"points", 2000}});
  INFO(twice.dump());
  CHECK(twice["error"]["code"] == "insufficient_points");
  // ...and, cut off too, may spend only its offline allowance.
  rig.lab().block(2, Block::kCut);
  CHECK(ok(t2, {{"op", "redeem"}, {"redemption_id", "T2-r2"}, {"member", member}, {"points", 500}})["balance"] == 1500);
  CHECK(t2.call({{"op", "redeem"}, {"redemption_id", "T2-r3"}, {"member", member}, {"points", 1}})["error"]["code"] ==
        "limit_exceeded");
  settle(rig);

  CHECK(hqScalar(rig, "SELECT COUNT(*) FROM events WHERE type = 'points.redeemed' AND payload LIKE '%\"authorised\":\"online\"%'") == 1);
  CHECK(hqScalar(rig, "SELECT COUNT(*) FROM reservations WHERE redemption_id = 'T1-r1' AND settled_event IS NOT NULL") == 1);
  const std::int64_t overdrawn = hqScalar(rig, "SELECT SUM(points) FROM overdrafts WHERE member_id = $1", {member});
  CHECK(overdrawn == 500);
  CHECK(hqScalar(rig, "SELECT balance FROM members WHERE member_id = $1", {member}) == -overdrawn);  // recorded as debt
  CHECK(overdrawn <= kAllowance * kTerminals);
}

TEST_CASE("Network faults: an online redemption whose answer is lost ends in one event: settled when recorded offline, released when refused or cut by a kill",
          "[net][faults]") {
  if (!loyalty::test::net::netLabAvailable()) {
    WARN("NETNS UNAVAILABLE: needs root, ip, nft and nsenter");
    return;
  }
  Rig rig;
  Terminal& t1 = rig.terminal(1);
  const std::string member = ok(t1, {{"op", "enroll"}, {"phone", "13912345670"}, {"name", "Zhao Min"}, {"consent_marketing", false}})["member_id"];
  REQUIRE(ok(t1, sale("T1-s1", member, "1000.00"))["points_earned"] == 1000);
  REQUIRE(t1.syncOnce().exit == 0);
  const auto redeem = [&](const std::string& id, std::int64_t points) {
    return json{{"op", "redeem"}, {"redemption_id", id}, {"member", member}, {"points", points}};
  };
  const auto reservation = [&](const std::string& id) {
    return hqScalar(rig, "SELECT COUNT(*) FROM reservations WHERE redemption_id = $1", {id});
  };
  const auto waitForReservation = [&](const std::string& id) {
    const auto until = Clock::now() + std::chrono::seconds(10);
    while (reservation(id) == 0 && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return reservation(id) == 1;
  };
  // How many bytes a fresh exec sends head office for one redemption (TLS handshake and request):
  // answers are swallowed from a little before that on, after head office has the request.
  t1.restartExec();
  const std::uint64_t before = rig.proxy(1).stats().bytesUp;
  REQUIRE(ok(t1, redeem("T1-r0", 100))["balance"] == 900);
  const std::uint64_t oneRequest = rig.proxy(1).stats().bytesUp - before;
  REQUIRE(oneRequest > 200);
  const ConnFault swallow{ConnFault::Kind::kSwallowResponse, 0, static_cast<std::size_t>(oneRequest - 100)};

  // No answer in time: recorded offline under the same id, which settles what head office reserved.
  t1.restartExec();
  rig.proxy(1).queueFaults({swallow});
  CHECK(ok(t1, redeem("T1-r1", 300))["balance"] == 600);
  CHECK(waitForReservation("T1-r1"));
  // No answer in time, then refused at the counter (beyond the 500-point offline allowance): released.
  t1.restartExec();
  rig.proxy(1).queueFaults({swallow});
  CHECK(t1.call(redeem("T1-r2", 300))["error"]["code"] == "limit_exceeded");
  CHECK(waitForReservation("T1-r2"));
  // Killed while waiting for the answer: released when exec starts again. (Head office holds 700
  // of the 1000 points for the three above until T1 syncs: 300 are left to reserve.)
  t1.restartExec();
  rig.proxy(1).queueFaults({swallow});
  t1.send(redeem("T1-r3", 250));
  CHECK(waitForReservation("T1-r3"));
  t1.restartExec();
  CHECK(hqScalar(rig, "SELECT COUNT(*) FROM reservations WHERE settled_event IS NULL AND released_at IS NULL AND "
                      "redemption_id IN ('T1-r1', 'T1-r2', 'T1-r3')") == 3);  // held, though no answer arrived
  settle(rig);

  CHECK(hqScalar(rig, "SELECT COUNT(*) FROM reservations WHERE redemption_id IN ('T1-r0', 'T1-r1') AND settled_event IS NOT NULL") == 2);
  CHECK(hqScalar(rig, "SELECT COUNT(*) FROM reservations WHERE redemption_id IN ('T1-r2', 'T1-r3') AND released_at IS NOT NULL "
                      "AND settled_event IS NULL") == 2);
  CHECK(hqScalar(rig, "SELECT COUNT(*) FROM events WHERE type = 'points.redemption_released'") == 2);
  CHECK(hqScalar(rig, "SELECT COUNT(*) FROM events WHERE type = 'points.redemption_released' AND payload LIKE '%stopped before%'") == 1);
  CHECK(hqScalar(rig, "SELECT COUNT(*) FROM ledger WHERE member_id = $1 AND kind = 'redeem'", {member}) == 2);
  CHECK(hqScalar(rig, "SELECT balance FROM members WHERE member_id = $1", {member}) == 600);
  CHECK(hqScalar(rig, "SELECT COUNT(*) FROM event_conflicts") == 0);
  CHECK(ok(t1, {{"op", "member"}, {"member", member}})["points"] == 600);
  const json held = nlohmann::json::parse(rig.hq().cli({"reservation", "list", "--data", rig.hq().dataDir()}));
  CHECK(held.at("reservations").empty());
}
