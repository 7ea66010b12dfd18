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
// LOYALTY_SOAK_SECONDS (default 45) bounds the run; LOYALTY_SOAK_SEED repeats one; with
// LOYALTY_SOAK_RESULTS the figures go into that JSON file's "soak" section (make soak).
#include <catch2/catch.hpp>

#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
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

struct Stats {
  std::int64_t cycles = 0, fullChecks = 0, operations = 0, acknowledged = 0, refused = 0, lost = 0, duplicated = 0;
  std::int64_t kills[kPoints] = {};
  std::int64_t missed[kPoints] = {};  ///< the process had already finished when the kill came
  std::int64_t onlineRedemptions = 0, offlineRedemptions = 0, hqEvents = 0;
  double cycleSeconds = 0, fullCheckSeconds = 0;
  double pointSeconds[kPoints] = {};  ///< wall time of the cycles that killed at each point
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
  Soak(std::uint64_t seed, double seconds, PgCluster* pg)
      : m_rng(seed), m_seconds(seconds), m_dsn(pg ? pg->createDatabase("soak") : ""),
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
    while (m_stats.problems.empty() && seconds(start) < m_seconds) {
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
    }
    if (m_stats.problems.empty()) fullCheck();
    m_elapsed = seconds(start);
    if (const char* keep = std::getenv("LOYALTY_SOAK_KEEP_DIR"); keep && !m_stats.problems.empty()) keepData(keep);
    return m_stats;
  }
  double elapsed() const { return m_elapsed; }

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
      std::this_thread::sleep_for(std::chrono::microseconds(uniform(0, 4000)));
      child.killHard();
    } else {
      child.closeStdin();
    }
    // Answers written before the kill are answers: the till saw them.
    while (auto line = child.readLine(std::chrono::seconds(60))) take(*line);
    if (!kill && child.wait() != 0) problem(t.id + ": exec exited " + std::to_string(child.wait()));
    if (answered < batch.size()) at = pointOfKind(batch[answered].kind);
    for (std::size_t i = answered; i < batch.size(); ++i) t.unanswered.push_back(batch[i]);
    return at;
  }

  /// `loyalty-terminal sync --once` to completion; its wall time.
  double syncOnce(TerminalModel& t, bool mustSucceed) {
    const auto start = Clock::now();
    const RunResult r = t.store->syncOnce();
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
      sync.wait();
      m_hq.start();
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
      reader.join();
      // Until the reports are seen to finish, their length is not known: wait longer next time.
      m_estimate[kHqReport] = landed ? std::max(m_estimate[kHqReport], 0.05) * 1.2 : 0.8 * m_estimate[kHqReport] + 0.2 * took;
      m_hq.start();
      try {
        m_hq.get("/api/v1/reports/summary");
      } catch (const std::exception& e) {
        problem(std::string("reports after a restart: ") + e.what());
      }
      checkHq();
    }
  }

  void sleepWithin(Point p) {
    const double est = m_estimate[p] > 0 ? m_estimate[p] : 0.05;
    std::this_thread::sleep_for(std::chrono::microseconds(uniform<std::int64_t>(0, static_cast<std::int64_t>(est * 1.2e6))));
  }
  void countKill(Point p, bool landed) {
    ++(landed ? m_stats.kills : m_stats.missed)[p];
    m_lastPoint = p;
  }

  // [SECTION] Checks

  /// Incremental: what was acknowledged since the last check is at the terminal exactly once.
  void checkTerminal(TerminalModel& t) {
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
  double m_elapsed = 0;
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

/// Writes the "soak" section's entry for `backend` in the reliability results, keeping the other
/// fault families' sections and the other back end's entry.
void record(const std::string& file, const std::string& backend, const Stats& s, double seconds, std::uint64_t seed,
            const std::string& loadBefore) {
  json all = json::object();
  if (std::ifstream in(file); in) {
    try {
      in >> all;
    } catch (const json::exception&) {
      all = json::object();
    }
    if (!all.is_object()) all = json::object();
  }
  json kills = json::object(), missed = json::object();
  std::int64_t total = 0;
  for (int p = 0; p < kPoints; ++p) {
    kills[pointName(p)] = s.kills[p];
    missed[pointName(p)] = s.missed[p];
    total += s.kills[p];
  }
  if (!all.contains("soak") || !all["soak"].is_object()) all["soak"] = json::object();
  all["soak"][backend] = {{"cycles", s.cycles},
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
                 {"terminals", kTerminals},
                 {"seed", seed},
                 {"problems", s.problems},
                 {"loadavg_before", loadBefore},
                 {"loadavg_after", loadAverage()},
                 {"cores", std::thread::hardware_concurrency()}};
  std::ofstream(file, std::ios::trunc) << all.dump(2) << "\n";
}

/// Runs the soak for LOYALTY_SOAK_SECONDS (else `defaultSeconds`) with head office on `pg` (else
/// SQLite) and checks that nothing was lost or duplicated.
void soakTest(double defaultSeconds, PgCluster* pg) {
  signal(SIGPIPE, SIG_IGN);  // writing to a terminal the test killed must not kill the test
  const char* secondsText = std::getenv("LOYALTY_SOAK_SECONDS");
  const double seconds = secondsText ? std::stod(secondsText) : defaultSeconds;
  const char* seedText = std::getenv("LOYALTY_SOAK_SEED");
  const std::uint64_t seed = seedText ? std::stoull(seedText) : std::random_device{}();
  const std::string loadBefore = loadAverage();
  const std::string backend = pg ? "postgresql" : "sqlite";
  std::cout << "soak (" << backend << "): seed " << seed << " (LOYALTY_SOAK_SEED repeats it), " << seconds << " s" << std::endl;

  Soak soak(seed, seconds, pg);
  const Stats s = soak.run();
  std::cout << "soak: " << s.cycles << " cycles, " << s.operations << " operations, " << s.acknowledged
            << " acknowledged, " << s.lost << " lost, " << s.duplicated << " duplicated, " << s.fullChecks
            << " full checks in " << soak.elapsed() << " s (cycles " << s.cycleSeconds << " s, full checks "
            << s.fullCheckSeconds << " s)" << std::endl;
  for (int p = 0; p < kPoints; ++p)
    std::cout << "  kills at " << pointName(p) << ": " << s.kills[p] << " (+" << s.missed[p] << " after it ended), "
              << s.pointSeconds[p] << " s" << std::endl;
  if (const char* file = std::getenv("LOYALTY_SOAK_RESULTS")) record(file, backend, s, soak.elapsed(), seed, loadBefore);
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
