// Soak: several real terminals (`loyalty-terminal exec` and `sync` on their own SQLite stores) and a
// real `loyalty-hq serve` over HTTPS on loopback, killed with SIGKILL at random points, cycle after
// cycle. A cycle is one kill, a check, and the restart of what was killed (a terminal's restart is
// its next session, which starts with `verify` and sends again what the kill left unanswered):
//
// * at the terminal (every cycle): every operation acknowledged since the last check is in the
//   store exactly once (its row, one ledger entry), every refused one is absent, the touched
//   members' balances equal their ledger sums; `verify` is clean at every restart;
// * at head office (every cycle that touched it): no operation arrived twice, the touched
//   members' balances equal their ledger sums;
// * in full (every kFullCheckEvery cycles and at the end, after syncing everything): the set of
//   operations at each terminal and at head office is exactly the set acknowledged, head office's
//   balance of each member is the sum of the terminals' own ledger entries for them, and every
//   terminal shows that balance.
//
// Requests that were sent but not answered before a kill are sent again, unchanged, when the
// terminal restarts, so every operation ends acknowledged (applied, or refused with a business
// reason such as insufficient_points) and the model knows exactly what must exist.
//
// LOYALTY_SOAK_SECONDS (default 45) bounds the run; LOYALTY_SOAK_SEED repeats one;
// LOYALTY_SOAK_WORLDS (default 1) runs that many independent worlds at once, each in its own thread
// with its own head office, terminals, data directories and seed (the seed + its index), since
// most of a cycle is spent waiting for processes; with LOYALTY_SOAK_RESULTS the run is added to
// that JSON file's "soak" section ("runs", "total"), rewritten every LOYALTY_SOAK_WRITE_EVERY
// seconds (default 60) while it runs (make soak).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <ctime>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "loyalty/db/database.hpp"
#include "loyalty/hq/sql.hpp"
#include "pg_cluster.hpp"
#include "sync_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kTerminals = 3;
constexpr int kFullCheckEvery = 100;

// [SECTION] Where the kills land

enum Point { kSale, kRedeem, kRefund, kEnrol, kHousekeeping, kIdle, kUpload, kPull, kHqIngest, kHqReport, kPoints };

const char* pointName(int p) {
  static const char* names[] = {"sale",     "redemption",        "refund",    "enrolment",        "housekeeping",
                                "terminal_idle", "upload", "change_feed_apply", "hq_ingest", "hq_report_refresh"};
  return names[p];
}

Point pointOfKind(const std::string& kind) {
  if (kind == "sale") return kSale;
  if (kind == "redeem") return kRedeem;
  if (kind == "refund") return kRefund;
  if (kind == "enroll") return kEnrol;
  return kHousekeeping;
}

/// Adds the wall time of its scope to `into`.
class Timed {
 public:
  explicit Timed(double& into) : m_into(into), m_start(Clock::now()) {}
  ~Timed() { m_into += std::chrono::duration<double>(Clock::now() - m_start).count(); }
  Timed(const Timed&) = delete;
  Timed& operator=(const Timed&) = delete;

 private:
  double& m_into;
  Clock::time_point m_start;
};

struct Stats {
  std::int64_t cycles = 0, fullChecks = 0, operations = 0, acknowledged = 0, refused = 0, lost = 0, duplicated = 0;
  std::int64_t kills[kPoints] = {};
  std::int64_t missed[kPoints] = {};  ///< the process had already finished when the kill came
  std::int64_t onlineRedemptions = 0, offlineRedemptions = 0, hqEvents = 0;
  double elapsed = 0;  ///< the world's run time so far (set when published)
  double cycleSeconds = 0, fullCheckSeconds = 0;
  double pointSeconds[kPoints] = {};  ///< wall time of the cycles that killed at each point
  // Where the cycles' wall time goes (the full checks apart): disjoint parts.
  double execSeconds = 0;      ///< `exec` sessions: spawn, verify, the operations (kill jitter apart)
  double syncSeconds = 0;      ///< `sync --once` runs to completion
  double hqStartSeconds = 0;   ///< head office restarts until it accepts connections
  double hqReportSeconds = 0;  ///< the report asked for after a restart (TLS and the report)
  double checkSeconds = 0;     ///< the incremental checks' queries
  double waitSeconds = 0;      ///< chosen waits before a kill, kill jitter, waits for killed processes
  std::vector<std::string> problems;
};

// [SECTION] One terminal as the harness knows it

struct Op {
  std::string key;   ///< sale_id, redemption_id, refund_id, the phone for an enrolment
  std::string kind;  ///< the exec op
  json request;      ///< sent verbatim on every attempt
  int member = -1;   ///< index into the terminal's members, when the op has one
  bool retried = false;
};

struct Expected {
  std::string kind;
  bool committed = false;
  std::string memberId;
  std::int64_t points = 0;  ///< earned, redeemed or reversed: whether a ledger entry must exist
};

struct TerminalModel {
  std::unique_ptr<Terminal> store = std::make_unique<Terminal>();
  std::string id;
  std::vector<std::string> members;
  std::vector<std::pair<std::string, std::string>> refundable;  ///< (sale_id, first sku), not refunded yet
  std::deque<Op> unanswered;
  std::map<std::string, Expected> expected;  ///< every operation acknowledged, by key
  std::vector<std::string> toCheck;          ///< acknowledged since the last check
  std::int64_t ledgerSeen = 0;               ///< ledger entry_id read so far
  std::map<std::string, int> ledgerEntries;  ///< "kind|ref_id|sign" -> entries
  std::map<std::string, std::int64_t> ownEffects;  ///< member -> sum of this terminal's own entries
  std::int64_t pending = 0;                  ///< outbox events not acknowledged by head office
  std::int64_t hqSeqSeen = 0;                ///< head office's events of this terminal read so far
  int next = 0;
  std::string dbPath() const { return store->dataDir() + "/terminal.db"; }
};

std::string money(std::int64_t minor) {
  const std::string cents = std::to_string(minor % 100);
  return std::to_string(minor / 100) + "." + (cents.size() == 1 ? "0" : "") + cents;
}

class Soak {
 public:
  /// `pg`: head office on that PostgreSQL server; else on SQLite.
  /// `pg`: head office on that PostgreSQL server (database `database`); else on SQLite. `stop`,
  /// shared by the worlds of a run: set by the first to find a problem, it ends the others.
  Soak(std::uint64_t seed, double seconds, PgCluster* pg, const std::string& database, std::atomic<bool>& stop)
      : m_rng(seed), m_seconds(seconds), m_stop(stop), m_dsn(pg ? pg->createDatabase(database) : ""),
        m_hq(pg ? std::vector<std::string>{"--backend", "postgresql", "--dsn", m_dsn} : std::vector<std::string>{}) {
    // Reports recomputed every second, so a kill of head office often lands in a refresh.
    std::ofstream(m_hq.dataDir() + "/hq.toml", std::ios::app) << "\n[reports]\nrefresh_seconds = 1\n";
    m_hq.start();
    m_hqSql = m_dsn.empty() ? loyalty::hq::openSqlite(m_hq.dataDir() + "/hq.db") : loyalty::hq::openPostgres(m_dsn);
    for (int i = 0; i < kTerminals; ++i) {
      auto t = std::make_unique<TerminalModel>();
      t->id = "T" + std::to_string(i + 1);
      const RunResult reg = t->store->registerWith(m_hq, m_hq.addTerminal("S00" + std::to_string(i + 1), t->id));
      if (reg.exit != 0) throw std::runtime_error("register failed: " + reg.err);
      m_terminals.push_back(std::move(t));
    }
  }

  Stats run() {
    const auto start = Clock::now();
    for (auto& t : m_terminals) {
      std::vector<Op> ops;
      for (int i = 0; i < 6; ++i) ops.push_back(enrolment(*t));
      session(*t, ops, false);
      checkTerminal(*t);
    }
    fullCheck();
    publish(start);
    while (m_stats.problems.empty() && !m_stop.load() && seconds(start) < m_seconds) {
      const auto cycleStart = Clock::now();
      cycle();
      m_stats.cycleSeconds += seconds(cycleStart);
      m_stats.pointSeconds[m_lastPoint] += seconds(cycleStart);
      ++m_stats.cycles;
      if (m_stats.cycles % 500 == 0) {
        std::cout << "soak: " << m_stats.cycles << " cycles, " << m_stats.acknowledged << " acknowledged, "
                  << static_cast<int>(seconds(start)) << " s" << std::endl;
      }
      if (m_stats.problems.empty() && m_stats.cycles % kFullCheckEvery == 0) {
        const auto checkStart = Clock::now();
        fullCheck();
        m_stats.fullCheckSeconds += seconds(checkStart);
      }
      if (!m_stats.problems.empty()) m_stop = true;
      publish(start);
    }
    if (m_stats.problems.empty()) fullCheck();
    if (!m_stats.problems.empty()) m_stop = true;
    m_elapsed = seconds(start);
    publish(start);
    return m_stats;
  }
  double elapsed() const { return m_elapsed; }
  /// The figures as of the last finished cycle (read by the thread that writes partial results).
  Stats published() const {
    std::lock_guard lock(m_publishMutex);
    return m_published;
  }

  /// A copy of every data directory, to look into a problem after the run.
  void keepData(const std::filesystem::path& to) const {
    m_hq.killHard();
    const auto options = std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing;
    std::filesystem::create_directories(to);
    std::filesystem::copy(m_hq.dataDir(), to / "hq", options);  // with PostgreSQL, its settings only
    for (const auto& t : m_terminals) std::filesystem::copy(t->store->dataDir(), to / t->id, options);
    std::cout << "soak: data directories kept in " << to << std::endl;
  }

 private:
  static double seconds(Clock::time_point since) {
    return std::chrono::duration<double>(Clock::now() - since).count();
  }
  template <class T>
  T uniform(T low, T high) {
    return std::uniform_int_distribution<T>(low, high)(m_rng);
  }
  bool chance(double p) { return std::bernoulli_distribution(p)(m_rng); }
  void publish(Clock::time_point start) {
    std::lock_guard lock(m_publishMutex);
    m_published = m_stats;
    m_published.elapsed = seconds(start);
  }
  void problem(const std::string& text) {
    if (m_stats.problems.size() < 20) m_stats.problems.push_back(text);
  }

  // [SECTION] Planning operations

  Op enrolment(TerminalModel& t) {
    // 139, the terminal's number, a counter: unique across the chain, a valid CN mobile.
    char phone[32];
    std::snprintf(phone, sizeof phone, "139%02d%06d", terminalIndex(t) + 1, t.next++);
    return {phone, "enroll",
            {{"op", "enroll"}, {"phone", phone}, {"name", "会员" + std::to_string(t.next)}, {"consent_marketing", chance(0.5)}}};
  }
  int terminalIndex(const TerminalModel& t) const {
    for (std::size_t i = 0; i < m_terminals.size(); ++i)
      if (m_terminals[i].get() == &t) return static_cast<int>(i);
    return 0;
  }

  Op plan(TerminalModel& t, Point focus) {
    const std::string n = t.id + "-" + std::to_string(t.next++);
    Point kind = focus;
    if (focus == kIdle || chance(0.35)) {
      const int pick = uniform(0, 99);
      kind = pick < 45 ? kSale : pick < 65 ? kRedeem : pick < 82 ? kRefund : pick < 94 ? kEnrol : kHousekeeping;
    }
    if (t.members.empty()) kind = kEnrol;
    if (kind == kRefund && t.refundable.empty()) kind = kSale;
    switch (kind) {
      case kEnrol:
        return enrolment(t);
      case kRedeem: {
        const int m = uniform<int>(0, static_cast<int>(t.members.size()) - 1);
        return {"RD-" + n, "redeem", {{"op", "redeem"}, {"redemption_id", "RD-" + n}, {"member", t.members[m]},
                                       {"points", uniform<std::int64_t>(1, 300)}}, m};
      }
      case kRefund: {
        const std::size_t pick = uniform<std::size_t>(0, t.refundable.size() - 1);
        const auto [saleId, sku] = t.refundable[pick];
        t.refundable.erase(t.refundable.begin() + static_cast<std::ptrdiff_t>(pick));
        json request = {{"op", "refund"}, {"refund_id", "RF-" + n}, {"sale_id", saleId}};
        if (chance(0.5)) request["lines"] = json::array({{{"sku", sku}, {"qty", 1}}});
        return {"RF-" + n, "refund", request};
      }
      case kHousekeeping:
        return {"HK-" + n, "housekeeping", {{"op", "housekeeping"}}};
      default: {
        json lines = json::array();
        for (int i = 0, count = uniform(1, 4); i < count; ++i) {
          lines.push_back({{"sku", "SKU-" + std::to_string(uniform(1, 40))},
                           {"qty", uniform(1, 3)},
                           {"unit_price", money(uniform<std::int64_t>(100, 30000))}});
        }
        json request = {{"op", "sale"}, {"sale_id", "S-" + n}, {"lines", lines}};
        int m = -1;
        if (chance(0.75)) {
          m = uniform<int>(0, static_cast<int>(t.members.size()) - 1);
          request["member"] = t.members[m];
          if (chance(0.1)) request["redeem_points"] = uniform<std::int64_t>(1, 50);
        }
        return {"S-" + n, "sale", request, m};
      }
    }
  }

  // [SECTION] Talking to the terminal

  /// Records what an answer says about the operation; a refusal no valid request may get is a problem.
  void acknowledge(TerminalModel& t, const Op& op, const json& response) {
    Expected e{op.kind, response.value("ok", false), "", 0};
    const json result = response.value("result", json::object());
    if (e.committed) {
      if (op.kind == "enroll") {
        e.memberId = result.at("member_id");
        t.members.push_back(e.memberId);
      } else if (op.kind == "sale") {
        if (op.member >= 0) e.memberId = t.members[static_cast<std::size_t>(op.member)];
        e.points = result.at("points_earned").get<std::int64_t>();
        if (op.member >= 0) t.refundable.emplace_back(op.key, op.request["lines"][0]["sku"].get<std::string>());
      } else if (op.kind == "redeem") {
        e.memberId = t.members[static_cast<std::size_t>(op.member)];
        e.points = result.at("points").get<std::int64_t>();
      } else if (op.kind == "refund") {
        e.points = result.at("points_reversed").get<std::int64_t>();
      }
    } else {
      const std::string code = response["error"].value("code", "");
      const bool business = code == "insufficient_points" || code == "limit_exceeded";
      // An enrolment that committed before a kill finds its phone taken when it is sent again.
      const bool enrolledBeforeKill = op.kind == "enroll" && op.retried && code == "already_exists";
      if (enrolledBeforeKill) {
        e.committed = true;
        const json found = t.store->execOne({{"id", 0}, {"op", "member"}, {"member", op.key}});
        if (found.value("ok", false)) {
          e.memberId = found["result"].at("member_id");
          t.members.push_back(e.memberId);
        } else {
          problem(t.id + ": the member enrolled before a kill is not found: " + found.dump());
        }
      } else if (!business) {
        problem(t.id + ": " + op.request.dump() + " refused: " + response.dump());
      } else {
        ++m_stats.refused;
      }
    }
    ++m_stats.acknowledged;
    if (op.kind == "housekeeping") return;
    t.expected[op.key] = e;
    t.toCheck.push_back(op.key);
  }

  std::string numbered(const Op& op, std::int64_t id) {
    json r = op.request;
    r["id"] = id;
    return r.dump() + "\n";
  }

  /// The terminal's restart: `verify` first (with `kill`; else last), the requests a kill left
  /// unanswered again, then `ops`. With `kill`, SIGKILLs the terminal at a random request and
  /// returns the point it was at.
  Point session(TerminalModel& t, const std::vector<Op>& ops, bool kill) {
    const auto sessionStart = Clock::now();
    double jitter = 0;
    std::vector<Op> batch(t.unanswered.begin(), t.unanswered.end());
    for (auto& op : batch) op.retried = true;
    t.unanswered.clear();
    batch.insert(batch.end(), ops.begin(), ops.end());
    m_stats.operations += static_cast<std::int64_t>(ops.size());
    ChildProcess child({terminalBinary(), "exec", "--data", t.store->dataDir()});
    const std::string verify = json({{"id", "verify"}, {"op", "verify"}}).dump() + "\n";
    std::string input = kill ? verify : "";
    for (std::size_t i = 0; i < batch.size(); ++i) input += numbered(batch[i], static_cast<std::int64_t>(i));
    if (!kill) input += verify;
    child.write(input);
    // Kill after reading this many answers (all of them: the terminal is idle, waiting for input).
    const std::size_t killAfter = kill ? (chance(0.1) ? batch.size() : uniform<std::size_t>(0, batch.size() - 1)) : batch.size();
    std::size_t answered = 0;
    const auto take = [&](const std::string& line) {
      const json response = json::parse(line);
      if (!response["id"].is_number()) {  // the verify that ends a restart
        if (!response["ok"].get<bool>() || !response["result"]["ok"].get<bool>()) problem(t.id + ": verify: " + line);
        return;
      }
      acknowledge(t, batch[answered], response);
      ++answered;
    };
    while (answered < killAfter) {
      auto line = child.readLine(std::chrono::seconds(60));
      if (!line) {
        problem(t.id + ": no answer from exec");
        break;
      }
      take(*line);
    }
    Point at = kIdle;
    if (kill) {
      {
        Timed waiting(jitter);
        std::this_thread::sleep_for(std::chrono::microseconds(uniform(0, 4000)));
      }
      child.killHard();
    } else {
      child.closeStdin();
    }
    // Answers written before the kill are answers: the till saw them.
    while (auto line = child.readLine(std::chrono::seconds(60))) take(*line);
    if (!kill && child.wait() != 0) problem(t.id + ": exec exited " + std::to_string(child.wait()));
    if (answered < batch.size()) at = pointOfKind(batch[answered].kind);
    for (std::size_t i = answered; i < batch.size(); ++i) t.unanswered.push_back(batch[i]);
    m_stats.waitSeconds += jitter;
    m_stats.execSeconds += seconds(sessionStart) - jitter;
    return at;
  }

  /// `loyalty-terminal sync --once` to completion; its wall time.
  double syncOnce(TerminalModel& t, bool mustSucceed) {
    const auto start = Clock::now();
    const RunResult r = t.store->syncOnce();
    m_stats.syncSeconds += seconds(start);
    if (mustSucceed && r.exit != 0) problem(t.id + ": sync failed: " + r.err);
    return seconds(start);
  }

  // [SECTION] One cycle: a kill, the restart, the check

  void cycle() {
    TerminalModel& t = *m_terminals[uniform<std::size_t>(0, m_terminals.size() - 1)];
    const int pick = uniform(0, 99);
    if (pick < 72) {
      const Point focus = static_cast<Point>(uniform(0, 4));
      std::vector<Op> ops;
      for (int i = 0, n = uniform(1, 8); i < n; ++i) ops.push_back(plan(t, focus));
      // The restart is the next session of this terminal; the check reads the store as it was left.
      countKill(session(t, ops, true), true);
      checkTerminal(t);
    } else if (pick < 88) {
      const Point at = t.pending > 0 ? kUpload : kPull;
      ChildProcess sync({terminalBinary(), "sync", "--data", t.store->dataDir(), "--once"});
      sleepWithin(at);
      countKill(at, sync.running());
      sync.killHard();
      m_estimate[at] = 0.8 * m_estimate[at] + 0.2 * syncOnce(t, true);
      checkTerminal(t);
      checkHq();
    } else if (pick < 94) {
      TerminalModel* busiest = &t;
      for (auto& other : m_terminals)
        if (other->pending > busiest->pending) busiest = other.get();
      if (busiest->pending == 0) {
        std::vector<Op> ops;
        for (int i = 0; i < 30; ++i) ops.push_back(plan(*busiest, kSale));
        session(*busiest, ops, false);
      }
      ChildProcess sync({terminalBinary(), "sync", "--data", busiest->store->dataDir(), "--once"});
      sleepWithin(kHqIngest);
      countKill(kHqIngest, sync.running());
      m_hq.killHard();
      {
        Timed timed(m_stats.waitSeconds);
        sync.wait();
      }
      startHq();
      m_estimate[kHqIngest] = 0.8 * m_estimate[kHqIngest] + 0.2 * syncOnce(*busiest, true);
      checkTerminal(*busiest);
      checkHq();
    } else {
      std::atomic<bool> busy{true};
      const auto start = Clock::now();
      std::atomic<double> took{0};
      std::thread reader([&] {
        for (int i = 0; i < 3; ++i) {
          const int day = 1 + static_cast<int>(m_reportRng() % 28);
          try {
            m_hq.get("/api/v1/reports/summary?from=2026-01-" + std::string(day < 10 ? "0" : "") + std::to_string(day) + "&to=2027-12-31");
            m_hq.get("/api/v1/reports/abc?from=2026-01-01&to=2027-12-" + std::string(day < 10 ? "0" : "") + std::to_string(day));
          } catch (const std::exception&) {
            break;  // head office was killed under it
          }
        }
        took = seconds(start);
        busy = false;
      });
      sleepWithin(kHqReport);
      const bool landed = busy.load();
      countKill(kHqReport, landed);
      m_hq.killHard();
      {
        Timed timed(m_stats.waitSeconds);
        reader.join();
      }
      // Until the reports are seen to finish, their length is not known: wait longer next time.
      m_estimate[kHqReport] = landed ? std::max(m_estimate[kHqReport], 0.05) * 1.2 : 0.8 * m_estimate[kHqReport] + 0.2 * took;
      startHq();
      try {
        Timed timed(m_stats.hqReportSeconds);
        m_hq.get("/api/v1/reports/summary");
      } catch (const std::exception& e) {
        problem(std::string("reports after a restart: ") + e.what());
      }
      checkHq();
    }
  }

  void sleepWithin(Point p) {
    Timed timed(m_stats.waitSeconds);
    const double est = m_estimate[p] > 0 ? m_estimate[p] : 0.05;
    std::this_thread::sleep_for(std::chrono::microseconds(uniform<std::int64_t>(0, static_cast<std::int64_t>(est * 1.2e6))));
  }
  void startHq() {
    Timed timed(m_stats.hqStartSeconds);
    m_hq.start();
  }
  void countKill(Point p, bool landed) {
    ++(landed ? m_stats.kills : m_stats.missed)[p];
    m_lastPoint = p;
  }

  // [SECTION] Checks

  /// Incremental: what was acknowledged since the last check is at the terminal exactly once.
  void checkTerminal(TerminalModel& t) {
    Timed timed(m_stats.checkSeconds);
    loyalty::db::Database db(t.dbPath());
    std::set<std::string> touched;
    {
      auto q = db.query("SELECT entry_id, member_id, kind, points, ref_id FROM ledger WHERE entry_id > ? ORDER BY entry_id")
                   .bind(1, t.ledgerSeen);
      while (q.step()) {
        t.ledgerSeen = q.int64("entry_id");
        const std::string ref = q.text("ref_id"), kind = q.text("kind"), member = q.text("member_id");
        touched.insert(member);
        if (ref.rfind("hq-sync:", 0) == 0) continue;  // head office's balance taken over, not an effect
        // A refund writes two reversals under its id: the points returned (+) and reversed (-).
        const std::string entry = kind + "|" + ref + (q.int64("points") < 0 ? "|-" : "|+");
        if (++t.ledgerEntries[entry] > 1) {
          ++m_stats.duplicated;
          problem(t.id + ": two ledger entries " + entry);
        }
        t.ownEffects[member] += q.int64("points");
      }
    }
    const auto count = [&](const char* sql, const std::string& key) {
      auto q = db.query(sql).bind(1, key);
      return q.step() ? q.int64("n") : 0;
    };
    for (const std::string& key : t.toCheck) {
      Expected& e = t.expected[key];
      std::int64_t rows = 0;
      std::string ledgerKind;
      if (e.kind == "enroll") {
        rows = e.memberId.empty() ? 0 : count("SELECT COUNT(*) AS n FROM members WHERE member_id = ?", e.memberId);
      } else if (e.kind == "sale") {
        rows = count("SELECT COUNT(*) AS n FROM sales WHERE sale_id = ?", key);
        ledgerKind = "earn|+";
      } else if (e.kind == "redeem") {
        rows = count("SELECT COUNT(*) AS n FROM redemptions WHERE redemption_id = ?", key);
        ledgerKind = "redeem|-";
      } else if (e.kind == "refund") {
        rows = count("SELECT COUNT(*) AS n FROM refunds WHERE refund_id = ?", key);
        ledgerKind = "reversal|-";
      }
      if (rows != (e.committed ? 1 : 0)) {
        ++(e.committed ? m_stats.lost : m_stats.duplicated);
        problem(t.id + ": " + e.kind + " " + key + (e.committed ? " acknowledged but missing" : " refused but present"));
      }
      if (!ledgerKind.empty()) {
        const auto bar = ledgerKind.find('|');
        const int entries = t.ledgerEntries[ledgerKind.substr(0, bar) + "|" + key + ledgerKind.substr(bar)];
        const int want = e.committed && e.points != 0 && (e.kind == "refund" || !e.memberId.empty()) ? 1 : 0;
        if (entries != want) problem(t.id + ": " + key + ": " + std::to_string(entries) + " " + ledgerKind + " entries, expected " + std::to_string(want));
      }
    }
    t.toCheck.clear();
    for (const std::string& member : touched) {
      auto q = db.query("SELECT m.balance AS b, (SELECT COALESCE(SUM(points), 0) FROM ledger WHERE member_id = m.member_id) AS s "
                        "FROM members m WHERE member_id = ?").bind(1, member);
      if (q.step() && q.int64("b") != q.int64("s")) problem(t.id + ": member " + member + " balance != ledger sum");
    }
    auto p = db.query("SELECT (SELECT COALESCE(MAX(seq), 0) FROM outbox) - "
                      "COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'outbox_acked_through'), 0) AS n");
    t.pending = p.step() ? p.int64("n") : 0;
  }

  static std::string eventKey(const std::string& type, const json& payload) {
    if (type == "member.enrolled") return payload.value("member_id", "");
    if (type == "sale.recorded") return payload.value("sale_id", "");
    if (type == "points.redeemed") return payload.value("redemption_id", "");
    if (type == "sale.refunded") return payload.value("refund_id", "");
    return "";
  }

  /// Incremental: no operation reached head office twice; touched balances equal ledger sums.
  void checkHq() {
    Timed timed(m_stats.checkSeconds);
    std::set<std::string> touched;
    for (auto& t : m_terminals) {
      const auto rows = m_hqSql->query("SELECT seq, type, payload FROM events WHERE terminal_id = $1 AND seq > $2 ORDER BY seq",
                                       {t->id, t->hqSeqSeen});
      for (std::size_t r = 0; r < rows.size(); ++r) {
        const std::int64_t seq = rows.integer(r, 0);
        if (seq != t->hqSeqSeen + 1) problem(t->id + ": head office's events jump from " + std::to_string(t->hqSeqSeen) + " to " + std::to_string(seq));
        t->hqSeqSeen = seq;
        ++m_stats.hqEvents;
        const std::string type = rows.text(r, 1);
        const json payload = json::parse(rows.text(r, 2));
        if (payload.contains("member_id") && payload["member_id"].is_string()) touched.insert(payload["member_id"]);
        if (type == "points.redeemed") {
          const std::string authorised = payload.value("authorised", "");
          if (authorised == "online") ++m_stats.onlineRedemptions;
          if (authorised == "offline") ++m_stats.offlineRedemptions;
        }
        const std::string key = eventKey(type, payload);
        if (key.empty()) continue;
        if (!m_hqKeys[t->id].insert(type + "|" + key).second) {
          ++m_stats.duplicated;
          problem("head office has " + type + " " + key + " twice");
        }
      }
    }
    for (const std::string& member : touched) {
      const auto rows = m_hqSql->query(
          "SELECT m.balance, (SELECT COALESCE(SUM(points), 0) FROM ledger WHERE member_id = m.member_id) FROM members m "
          "WHERE member_id = $1",
          {member});
      if (!rows.empty() && rows.integer(0, 0) != rows.integer(0, 1)) problem("head office: member " + member + " balance != ledger sum");
    }
  }

  /// Everything synced, then the sets and the balances compared in full.
  void fullCheck() {
    ++m_stats.fullChecks;
    for (auto& t : m_terminals) {
      session(*t, {}, false);  // whatever a kill left unanswered, answered
      checkTerminal(*t);
    }
    for (int round = 0; round < 2; ++round) {
      for (auto& t : m_terminals) {
        for (int attempt = 0; attempt < 8; ++attempt) {
          syncOnce(*t, false);
          checkTerminal(*t);
          if (t->pending == 0) break;
        }
        if (t->pending != 0) problem(t->id + ": " + std::to_string(t->pending) + " events still pending after syncing");
      }
    }
    checkHq();
    std::map<std::string, std::int64_t> hqBalance, effects;
    {
      const auto rows = m_hqSql->query(
          "SELECT member_id, balance, (SELECT COALESCE(SUM(points), 0) FROM ledger l WHERE l.member_id = m.member_id) FROM members m");
      for (std::size_t r = 0; r < rows.size(); ++r) {
        hqBalance[rows.text(r, 0)] = rows.integer(r, 1);
        if (rows.integer(r, 1) != rows.integer(r, 2)) problem("head office: member " + rows.text(r, 0) + " balance != ledger sum");
      }
    }
    for (auto& t : m_terminals) {
      for (const auto& [member, points] : t->ownEffects) effects[member] += points;
      const RunResult v = t->store->verify();
      if (v.exit != 0) problem(t->id + ": verify: " + v.out);
      // The sets: every acknowledged operation there, nothing else, at the terminal and at head office.
      std::map<std::string, std::set<std::string>> want;
      for (const auto& [key, e] : t->expected) {
        if (!e.committed) continue;
        if (e.kind == "enroll") want["member.enrolled"].insert(e.memberId);
        if (e.kind == "sale") want["sale.recorded"].insert(key);
        if (e.kind == "redeem") want["points.redeemed"].insert(key);
        if (e.kind == "refund") want["sale.refunded"].insert(key);
      }
      std::map<std::string, std::set<std::string>> hqHas;
      for (const std::string& typed : m_hqKeys[t->id]) {
        const auto bar = typed.find('|');
        hqHas[typed.substr(0, bar)].insert(typed.substr(bar + 1));
      }
      loyalty::db::Database db(t->dbPath());
      const std::map<std::string, const char*> local = {
          {"member.enrolled", "SELECT member_id AS k FROM members WHERE enrolled_terminal = ?"},
          {"sale.recorded", "SELECT sale_id AS k FROM sales WHERE ? IS NOT NULL"},
          {"points.redeemed", "SELECT redemption_id AS k FROM redemptions WHERE ? IS NOT NULL"},
          {"sale.refunded", "SELECT refund_id AS k FROM refunds WHERE ? IS NOT NULL"}};
      for (const auto& [type, sql] : local) {
        std::set<std::string> has;
        auto q = db.query(sql).bind(1, t->id);
        while (q.step()) has.insert(q.text("k"));
        compare(t->id + " store", type, want[type], has);
        compare("head office from " + t->id, type, want[type], hqHas[type]);
        auto o = db.query("SELECT COUNT(*) AS n FROM outbox WHERE type = ?").bind(1, type);
        if (o.step() && o.int64("n") != static_cast<std::int64_t>(want[type].size())) {
          ++m_stats.duplicated;
          problem(t->id + ": " + std::to_string(o.int64("n")) + " " + type + " events in the outbox for " +
                  std::to_string(want[type].size()) + " operations");
        }
      }
      // After the last pull every terminal shows head office's balance of every member.
      auto q = db.query("SELECT member_id, balance FROM members");
      std::size_t members = 0;
      while (q.step()) {
        ++members;
        const auto hqIt = hqBalance.find(q.text("member_id"));
        if (hqIt == hqBalance.end() || hqIt->second != q.int64("balance"))
          problem(t->id + ": member " + q.text("member_id") + " balance " + std::to_string(q.int64("balance")) +
                  " differs from head office's");
      }
      if (members != hqBalance.size()) problem(t->id + ": " + std::to_string(members) + " members, head office " + std::to_string(hqBalance.size()));
    }
    for (const auto& [member, balance] : hqBalance) {
      if (effects[member] != balance)
        problem("member " + member + ": head office balance " + std::to_string(balance) + " != the terminals' own effects " +
                std::to_string(effects[member]));
    }
  }

  void compare(const std::string& where, const std::string& type, const std::set<std::string>& want,
               const std::set<std::string>& has) {
    for (const auto& k : want) {
      if (!has.count(k)) {
        ++m_stats.lost;
        problem(where + ": " + type + " " + k + " acknowledged but missing");
      }
    }
    for (const auto& k : has) {
      if (!want.count(k)) {
        ++m_stats.duplicated;
        problem(where + ": " + type + " " + k + " present but never acknowledged");
      }
    }
  }

  std::mt19937_64 m_rng;
  std::mt19937 m_reportRng{1};
  double m_seconds;
  std::atomic<bool>& m_stop;
  double m_elapsed = 0;
  mutable std::mutex m_publishMutex;
  Stats m_published;
  std::string m_dsn;
  mutable Hq m_hq;  // killed to keep a consistent copy of its data
  std::unique_ptr<loyalty::hq::SqlConnection> m_hqSql;  ///< head office's store, read by the checks
  std::vector<std::unique_ptr<TerminalModel>> m_terminals;
  std::map<std::string, std::set<std::string>> m_hqKeys;  ///< terminal -> "type|key" at head office
  double m_estimate[kPoints] = {};
  Point m_lastPoint = kIdle;
  Stats m_stats;
};

std::string loadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string line;
  std::getline(in, line);
  return line;
}

std::string utcNow() {
  const std::time_t now = std::time(nullptr);
  char text[32];
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

/// The worlds' figures added up; problems named by world.
Stats sum(const std::vector<Stats>& worlds) {
  Stats all;
  for (std::size_t w = 0; w < worlds.size(); ++w) {
    const Stats& s = worlds[w];
    all.cycles += s.cycles;
    all.fullChecks += s.fullChecks;
    all.operations += s.operations;
    all.acknowledged += s.acknowledged;
    all.refused += s.refused;
    all.lost += s.lost;
    all.duplicated += s.duplicated;
    all.onlineRedemptions += s.onlineRedemptions;
    all.offlineRedemptions += s.offlineRedemptions;
    all.hqEvents += s.hqEvents;
    for (int p = 0; p < kPoints; ++p) {
      all.kills[p] += s.kills[p];
      all.missed[p] += s.missed[p];
      all.pointSeconds[p] += s.pointSeconds[p];
    }
    all.elapsed = std::max(all.elapsed, s.elapsed);
    all.cycleSeconds += s.cycleSeconds;
    all.fullCheckSeconds += s.fullCheckSeconds;
    all.execSeconds += s.execSeconds;
    all.syncSeconds += s.syncSeconds;
    all.hqStartSeconds += s.hqStartSeconds;
    all.hqReportSeconds += s.hqReportSeconds;
    all.checkSeconds += s.checkSeconds;
    all.waitSeconds += s.waitSeconds;
    for (const auto& p : s.problems) all.problems.push_back("world " + std::to_string(w + 1) + ": " + p);
  }
  return all;
}

/// CPU seconds used so far by this process (`who` RUSAGE_SELF) or its reaped children.
double cpuSeconds(int who) {
  rusage u{};
  getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct RunInfo {
  std::string id, backend, started, loadBefore, status;
  std::vector<std::uint64_t> seeds;
  int worlds = 1;
};

json runEntry(const RunInfo& run, const Stats& s) {
  json kills = json::object(), missed = json::object();
  std::int64_t total = 0;
  for (int p = 0; p < kPoints; ++p) {
    kills[pointName(p)] = s.kills[p];
    missed[pointName(p)] = s.missed[p];
    total += s.kills[p];
  }
  const auto rounded = [](double v) { return std::round(v * 10) / 10; };
  const double seconds = s.elapsed;
  return {{"run_id", run.id},
          {"status", run.status},
          {"backend", run.backend},
          {"started_utc", run.started},
          {"written_utc", utcNow()},
          {"worlds", run.worlds},
          {"seeds", run.seeds},
          {"cycles", s.cycles},
          {"kills", total},
          {"kills_per_point", kills},
          {"kills_after_exit_per_point", missed},
          {"operations", s.operations},
          {"acknowledged", s.acknowledged},
          {"refused_by_rule", s.refused},
          {"lost", s.lost},
          {"duplicated", s.duplicated},
          {"full_checks", s.fullChecks},
          {"hq_events", s.hqEvents},
          {"redemptions_online", s.onlineRedemptions},
          {"redemptions_offline", s.offlineRedemptions},
          {"seconds", static_cast<std::int64_t>(seconds)},
          {"cycles_per_minute", seconds > 0 ? static_cast<std::int64_t>(static_cast<double>(s.cycles) * 60 / seconds) : 0},
          {"world_seconds_spent",
           {{"exec", rounded(s.execSeconds)},
            {"sync", rounded(s.syncSeconds)},
            {"hq_start", rounded(s.hqStartSeconds)},
            {"hq_report_after_restart", rounded(s.hqReportSeconds)},
            {"checks", rounded(s.checkSeconds)},
            {"waits", rounded(s.waitSeconds)},
            {"full_checks", rounded(s.fullCheckSeconds)}}},
          {"cpu_seconds", {{"harness", rounded(cpuSeconds(RUSAGE_SELF))}, {"processes_ended", rounded(cpuSeconds(RUSAGE_CHILDREN))}}},
          {"terminals_per_world", kTerminals},
          {"problems", s.problems},
          {"loadavg_before", run.loadBefore},
          {"loadavg_after", loadAverage()},
          {"cores", std::thread::hardware_concurrency()}};
}

/// Writes this run's entry into the "soak" section of the results file (`runs`, by run_id) and the
/// total over every run recorded there. Several runs (the back ends) may write the file at once:
/// each read-modify-write holds a lock, and the file is replaced whole (rename), so a run cut off
/// while writing leaves the last complete version.
void record(const std::string& file, const json& entry) {
  const std::string lockPath = file + ".lock";
  const int lock = open(lockPath.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (lock >= 0) flock(lock, LOCK_EX);
  json all = json::object();
  if (std::ifstream in(file); in) {
    try {
      in >> all;
    } catch (const json::exception&) {
      all = json::object();
    }
    if (!all.is_object()) all = json::object();
  }
  json soak = all.contains("soak") && all["soak"].is_object() ? all["soak"] : json::object();
  json runs = soak.contains("runs") && soak["runs"].is_array() ? soak["runs"] : json::array();
  // Runs recorded before the results were kept per run: one entry per back end.
  for (const char* backend : {"sqlite", "postgresql"}) {
    if (soak.contains(backend) && soak[backend].is_object()) {
      json old = soak[backend];
      old["run_id"] = std::string(backend) + "-" + std::to_string(old.value("seed", std::uint64_t{0}));
      old["backend"] = backend;
      old["status"] = "finished";
      old["worlds"] = 1;
      runs.push_back(old);
      soak.erase(backend);
    }
  }
  bool replaced = false;
  for (auto& r : runs) {
    if (r.value("run_id", "") == entry["run_id"]) {
      r = entry;
      replaced = true;
    }
  }
  if (!replaced) runs.push_back(entry);
  json total = {{"runs", runs.size()}, {"cycles", 0}, {"kills", 0}, {"lost", 0}, {"duplicated", 0}, {"operations", 0}};
  json byBackend = json::object();
  for (const auto& r : runs) {
    for (const char* k : {"cycles", "kills", "lost", "duplicated", "operations"}) total[k] = total[k].get<std::int64_t>() + r.value(k, std::int64_t{0});
    const std::string backend = r.value("backend", "");
    byBackend[backend] = byBackend.value(backend, std::int64_t{0}) + r.value("cycles", std::int64_t{0});
  }
  total["cycles_by_backend"] = byBackend;
  total["goal_cycles"] = 100000;
  total["goal_reached"] = total["cycles"].get<std::int64_t>() >= 100000;
  soak["runs"] = runs;
  soak["total"] = total;
  all["soak"] = soak;
  const std::string temporary = file + ".writing";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << all.dump(2) << "\n";
  }
  std::filesystem::rename(temporary, file);
  if (lock >= 0) close(lock);  // releases the lock
}

/// Runs the soak for LOYALTY_SOAK_SECONDS (else `defaultSeconds`) with head office on `pg` (else
/// SQLite) in LOYALTY_SOAK_WORLDS independent worlds at once (default 1), and checks that nothing
/// was lost or duplicated. With LOYALTY_SOAK_RESULTS the run's figures are written there every
/// LOYALTY_SOAK_WRITE_EVERY seconds (default 60) while it runs, and at its end.
void soakTest(double defaultSeconds, PgCluster* pg) {
  signal(SIGPIPE, SIG_IGN);  // writing to a terminal the test killed must not kill the test
  const auto number = [](const char* name, double fallback) {
    const char* text = std::getenv(name);
    return text ? std::stod(text) : fallback;
  };
  const double seconds = number("LOYALTY_SOAK_SECONDS", defaultSeconds);
  const int worlds = static_cast<int>(number("LOYALTY_SOAK_WORLDS", 1));
  const double writeEvery = number("LOYALTY_SOAK_WRITE_EVERY", 60);
  REQUIRE(worlds >= 1);
  REQUIRE(worlds <= 16);
  const char* seedText = std::getenv("LOYALTY_SOAK_SEED");
  const std::uint64_t seed = seedText ? std::stoull(seedText) : std::random_device{}();
  const char* results = std::getenv("LOYALTY_SOAK_RESULTS");
  RunInfo run;
  run.backend = pg ? "postgresql" : "sqlite";
  run.started = utcNow();
  run.id = run.backend + "-" + std::to_string(seed) + "-" + run.started;
  run.loadBefore = loadAverage();
  run.worlds = worlds;
  run.status = "running";
  std::cout << "soak (" << run.backend << "): seed " << seed << " (LOYALTY_SOAK_SEED repeats it; world i uses seed + i - 1), "
            << worlds << " world(s), " << seconds << " s" << std::endl;

  std::atomic<bool> stop{false};
  std::vector<std::unique_ptr<Soak>> soaks;
  for (int w = 0; w < worlds; ++w) {
    run.seeds.push_back(seed + static_cast<std::uint64_t>(w));
    soaks.push_back(std::make_unique<Soak>(seed + static_cast<std::uint64_t>(w), seconds, pg, "soak" + std::to_string(w + 1), stop));
  }
  std::vector<Stats> finals(static_cast<std::size_t>(worlds));
  std::vector<std::string> failures(static_cast<std::size_t>(worlds));
  std::atomic<int> running{worlds};
  std::vector<std::thread> threads;
  for (int w = 0; w < worlds; ++w) {
    threads.emplace_back([&, w] {
      try {
        finals[static_cast<std::size_t>(w)] = soaks[static_cast<std::size_t>(w)]->run();
      } catch (const std::exception& e) {
        failures[static_cast<std::size_t>(w)] = e.what();
        stop = true;
      }
      --running;
    });
  }
  const auto snapshot = [&] {
    std::vector<Stats> now;
    for (const auto& soak : soaks) now.push_back(soak->published());
    return sum(now);
  };
  auto lastWrite = Clock::now();
  while (running.load() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (results && std::chrono::duration<double>(Clock::now() - lastWrite).count() >= writeEvery) {
      record(results, runEntry(run, snapshot()));
      lastWrite = Clock::now();
    }
  }
  for (auto& t : threads) t.join();
  if (const char* keep = std::getenv("LOYALTY_SOAK_KEEP_DIR")) {
    for (int w = 0; w < worlds; ++w) {
      const auto& f = finals[static_cast<std::size_t>(w)];
      if (!f.problems.empty() || !failures[static_cast<std::size_t>(w)].empty())
        soaks[static_cast<std::size_t>(w)]->keepData(std::filesystem::path(keep) / ("world-" + std::to_string(w + 1)));
    }
  }
  Stats s = snapshot();
  for (int w = 0; w < worlds; ++w)
    if (!failures[static_cast<std::size_t>(w)].empty()) s.problems.push_back("world " + std::to_string(w + 1) + ": " + failures[static_cast<std::size_t>(w)]);
  run.status = s.problems.empty() ? "finished" : "failed";
  std::cout << "soak: " << s.cycles << " cycles, " << s.operations << " operations, " << s.acknowledged << " acknowledged, "
            << s.lost << " lost, " << s.duplicated << " duplicated, " << s.fullChecks << " full checks in " << s.elapsed
            << " s, " << worlds << " world(s)" << std::endl;
  std::cout << "  world seconds: cycles " << s.cycleSeconds << " (exec " << s.execSeconds << ", sync " << s.syncSeconds
            << ", head office start " << s.hqStartSeconds << ", report after restart " << s.hqReportSeconds << ", checks "
            << s.checkSeconds << ", waits " << s.waitSeconds << "), full checks " << s.fullCheckSeconds << std::endl;
  std::cout << "  CPU seconds: harness " << cpuSeconds(RUSAGE_SELF) << ", processes it ran " << cpuSeconds(RUSAGE_CHILDREN)
            << "; load " << run.loadBefore << " -> " << loadAverage() << std::endl;
  for (int p = 0; p < kPoints; ++p)
    std::cout << "  kills at " << pointName(p) << ": " << s.kills[p] << " (+" << s.missed[p] << " after it ended), "
              << s.pointSeconds[p] << " s" << std::endl;
  if (results) record(results, runEntry(run, s));
  for (const auto& p : s.problems) UNSCOPED_INFO(p);
  CHECK(s.problems.empty());
  CHECK(s.lost == 0);
  CHECK(s.duplicated == 0);
  CHECK(s.cycles > 0);
}

}  // namespace

TEST_CASE("Soak: terminals and head office killed at random points lose and duplicate nothing", "[soak][sqlite][slow]") {
  soakTest(45, nullptr);
}

TEST_CASE("Soak with head office on PostgreSQL: killed at random points, nothing lost or duplicated",
          "[soak][postgresql][slow]") {
  PgCluster pg;
  soakTest(25, &pg);
}

TEST_CASE("Soak results: runs accumulate by id, earlier per-back-end figures are kept as runs, the total adds them up",
          "[soak][results]") {
  TempDir dir;
  const std::string file = (dir.path() / "reliability.json").string();
  {
    json before = {{"network", {{"schedules", 40}}},
                   {"soak",
                    {{"sqlite", {{"cycles", 7493}, {"kills", 6801}, {"lost", 0}, {"duplicated", 0}, {"operations", 25257}, {"seed", 42}}},
                     {"postgresql", {{"cycles", 1309}, {"kills", 1211}, {"lost", 0}, {"duplicated", 0}, {"operations", 4439}, {"seed", 7}}}}}};
    std::ofstream(file) << before.dump(2);
  }
  const auto entry = [](const std::string& id, std::int64_t cycles) {
    return json{{"run_id", id}, {"backend", "sqlite"}, {"status", "running"}, {"cycles", cycles}, {"kills", cycles},
                {"lost", 0}, {"duplicated", 0}, {"operations", 2 * cycles}};
  };
  const auto read = [&] {
    json all;
    std::ifstream(file) >> all;
    return all;
  };
  record(file, entry("sqlite-1-a", 100));
  json all = read();
  CHECK(all["network"]["schedules"] == 40);  // the other sections stay
  REQUIRE(all["soak"]["runs"].size() == 3);
  CHECK_FALSE(all["soak"].contains("sqlite"));
  CHECK(all["soak"]["runs"][0]["run_id"] == "sqlite-42");
  CHECK(all["soak"]["runs"][0]["cycles"] == 7493);
  CHECK(all["soak"]["runs"][1]["backend"] == "postgresql");
  CHECK(all["soak"]["total"]["cycles"] == 7493 + 1309 + 100);
  CHECK(all["soak"]["total"]["cycles_by_backend"]["postgresql"] == 1309);
  CHECK(all["soak"]["total"]["goal_reached"] == false);

  // The same run written again (partial figures, then its end) replaces its entry.
  record(file, entry("sqlite-1-a", 250));
  all = read();
  REQUIRE(all["soak"]["runs"].size() == 3);
  CHECK(all["soak"]["total"]["cycles"] == 7493 + 1309 + 250);

  // Two runs writing at once (the two back ends) lose nothing of each other's.
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 15; ++i) record(file, entry("run-" + std::to_string(w) + "-" + std::to_string(i), 3500));
    });
  }
  for (auto& t : writers) t.join();
  all = read();
  CHECK(all["soak"]["runs"].size() == 3 + 30);
  CHECK(all["soak"]["total"]["cycles"] == 7493 + 1309 + 250 + 30 * 3500);
  CHECK(all["soak"]["total"]["goal_reached"] == true);
  CHECK(all["soak"]["total"]["kills"] == 6801 + 1211 + 250 + 30 * 3500);
  CHECK_FALSE(std::filesystem::exists(file + ".writing"));
}
