// chain-day-bench: a day of trade of a whole chain against several head-office instances.
//
// Starts a PostgreSQL cluster of its own (initdb in a temporary directory, a free loopback port),
// `loyalty-hq init` on it (a fresh CA) and `--instances` `loyalty-hq serve` processes on that one
// database, registers `--terminals` terminals through the instances' register endpoint, then
// drives every terminal from this one process over real TLS, terminals spread over the
// instances round robin, through a bounded pool of keep-alive connections (`--connections` per
// instance, one thread each). Each terminal trades its day as the counter does: `--sales` sales
// (members and walk-ins, lines of real products and prices from the Online Retail data set),
// enrolments, online redemptions (POST /api/v1/redemptions, then the points.redeemed event that
// settles it, uploaded at once) for members whose points head office has acknowledged, an outbox
// uploaded every `--upload-every` sales (the first time after 1 to that many, drawn per terminal,
// so that the terminals do not all upload after the same sale; `--lockstep`: all after that
// many) in contiguous sequence (retrying transport errors, 429 and 5xx with backoff and full
// jitter, honouring Retry-After) and the change feed pulled `--pulls` times a day, after sales
// offset per terminal (`--lockstep`: all after the same sales), and at the day's close (the
// members it learns are its later customers).
//
// Measured: upload latency per batch, online redemption latency, change-feed page latency,
// errors by kind (every non-2xx answer, transport error and event result other than applied),
// events/s, each instance's peak RSS (VmHWM); where the time went: each instance's own request
// times and waits for its database lanes (/metrics), what the database's sessions were doing
// (pg_stat_activity sampled every --sample-ms, by lane) and the WAL written and synced. At the
// end head office's totals are checked exactly against what the terminals sent: sales, net
// revenue, member sales and revenue, buying members, enrolled members, the sum of balances
// (earned - redeemed), every member's balance (SQL) and a sample through the API, every event
// stored once, every reservation settled. Any difference, any error or a missed target fails
// the run (exit status 1).
// Writes JSON to --out (runs of other sizes already there are kept) and progress to stderr.
// How long: the full 1,000 x 300 day took 43 minutes unpaced on a 2-core machine shared with
// other builds (load 7 to 27), 20 x 20 (the ctest smoke run) about 15 s; --day-seconds paces it
// (`make bench` paces the full day over 4,320 s, ten times a real chain's rate).

#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <httplib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "loyalty/core/money.hpp"
#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/local_time.hpp"
#include "loyalty/hq/server.hpp"
#include "loyalty/hq/settings.hpp"
#include "loyalty/hq/sql.hpp"
#include "loyalty/hq/store.hpp"
#include "bench_process.hpp"
#include "metrics_text.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using loyalty::Money;

using namespace loyalty::bench;

namespace {

// [SECTION] Settings, figures

struct Options {
  int terminals = 1000;
  int sales = 300;
  int instances = 3;
  int connections = 8;
  int terminalsPerStore = 4;
  int uploadEvery = 10;
  bool lockstep = false;  ///< every terminal's first upload after uploadEvery sales (else 1..uploadEvery)
  int pulls = 2;
  double daySeconds = 0;  ///< 0: as fast as head office takes it
  double memberShare = 0.6;
  double enrolShare = 0.04;
  double redeemShare = 0.05;
  std::uint64_t seed = 17;
  std::string out = "bench/results/chain-day.json";
  std::string work = LOYALTY_BENCH_WORK_DIR;
  std::string hq = LOYALTY_HQ_BIN;
  std::string dataset = LOYALTY_DEFAULT_DATASET;
  std::string pgSettings;  ///< more settings for the PostgreSQL cluster (" -c name=value ...")
  int sampleMs = 50;       ///< how often the database's sessions are sampled over the day
};

double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
double msSince(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

std::string loadAverages() {
  std::ifstream in("/proc/loadavg");
  std::string line;
  std::getline(in, line);
  return line;
}

void progress(const std::string& s) { std::cerr << "chain-day: " << s << std::endl; }

/// The `q` quantile of `sorted` (not empty), as the bench has always taken it: the value at q * n.
double quantile(const std::vector<double>& sorted, double q) {
  return sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(q * static_cast<double>(sorted.size())))];
}

/// Latencies (ms) of one kind of request and when each began, merged from the workers at the end.
struct Latencies {
  std::vector<double> ms;
  std::vector<Clock::time_point> began;
  void add(Clock::time_point at, double took) {
    began.push_back(at);
    ms.push_back(took);
  }
  void merge(const Latencies& o) {
    ms.insert(ms.end(), o.ms.begin(), o.ms.end());
    began.insert(began.end(), o.began.begin(), o.began.end());
  }
  /// Per `width` seconds of the day from `from`: how many began then, and their p50/p99/max.
  json series(Clock::time_point from, double width) const {
    std::map<int, std::vector<double>> slots;
    for (std::size_t i = 0; i < ms.size(); ++i) {
      slots[static_cast<int>(std::chrono::duration<double>(began[i] - from).count() / width)].push_back(ms[i]);
    }
    json out = json::array();
    for (auto& [slot, v] : slots) {
      std::sort(v.begin(), v.end());
      out.push_back({{"from_s", slot * width}, {"count", v.size()}, {"p50_ms", quantile(v, 0.5)}, {"p99_ms", quantile(v, 0.99)},
                     {"max_ms", v.back()}});
    }
    return out;
  }
  json summary() const {
    json j = {{"count", ms.size()}};
    if (ms.empty()) return j;
    std::vector<double> s = ms;
    std::sort(s.begin(), s.end());
    double sum = 0;
    for (double v : s) sum += v;
    j["p50_ms"] = quantile(s, 0.50);
    j["p95_ms"] = quantile(s, 0.95);
    j["p99_ms"] = quantile(s, 0.99);
    j["max_ms"] = s.back();
    j["mean_ms"] = sum / static_cast<double>(s.size());
    return j;
  }
};

/// What each worker thread measures (merged at the end: no lock on the hot path).
struct Figures {
  Latencies upload, redemption, pull;
  Latencies lag;  ///< paced: how late steps started after they were due
  std::map<std::string, std::int64_t> errors;  ///< by kind
  std::int64_t retries = 0;
  std::int64_t reopened = 0;  ///< idle keep-alive connections opened afresh
  std::int64_t uploadedBytes = 0, pulledBytes = 0, pulledChanges = 0, eventsAcked = 0;
  std::int64_t eventsPerBatchSum = 0;
  void merge(const Figures& o) {
    upload.merge(o.upload);
    redemption.merge(o.redemption);
    pull.merge(o.pull);
    lag.merge(o.lag);
    for (const auto& e : o.errors) errors[e.first] += e.second;
    retries += o.retries;
    reopened += o.reopened;
    uploadedBytes += o.uploadedBytes;
    pulledBytes += o.pulledBytes;
    pulledChanges += o.pulledChanges;
    eventsAcked += o.eventsAcked;
    eventsPerBatchSum += o.eventsPerBatchSum;
  }
};

// [SECTION] Products

struct Product {
  std::string sku, name, price;
  std::int64_t minor = 0;
};

/// Splits one CSV record (quoted fields may hold commas and doubled quotes).
std::vector<std::string> csvFields(const std::string& line) {
  std::vector<std::string> f(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') f.back() += '"', ++i;
      else if (c == '"') quoted = false;
      else f.back() += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      f.emplace_back();
    } else if (c != '\r' && c != '\n') {
      f.back() += c;
    }
  }
  return f;
}

/// The first `wanted` distinct products with a positive price from the Online Retail data set
/// (InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,...); a small made-up
/// catalogue when the file is not there.
std::vector<Product> loadProducts(const std::string& path, std::size_t wanted, std::string& source) {
  std::vector<Product> out;
  source = "the Online Retail data set";
  if (gzFile f = gzopen(path.c_str(), "rb")) {
    std::set<std::string> seen;
    char buf[4096];
    bool header = true;
    while (out.size() < wanted && gzgets(f, buf, sizeof buf)) {
      if (header) {
        header = false;
        continue;
      }
      const auto fields = csvFields(buf);
      if (fields.size() < 6 || fields[1].empty() || fields[2].empty() || seen.count(fields[1])) continue;
      const auto price = Money::parse(fields[5], "UnitPrice");
      if (!price || price->minor() <= 0 || price->minor() > 100000) continue;
      seen.insert(fields[1]);
      out.push_back({fields[1], fields[2], price->toString(), price->minor()});
    }
    gzclose(f);
  }
  if (out.empty()) {
    source = "made up (no data set at " + path + ")";
    progress("no data set at " + path + ": a made-up catalogue of 50 products");
    for (int i = 1; i <= 50; ++i) out.push_back({"P" + std::to_string(i), "Product " + std::to_string(i),
                                                  Money::fromMinor(95 + 37 * i).toString(), 95 + 37 * i});
  }
  return out;
}

// [SECTION] The chain's members as the terminals know them

/// Per member: what the terminals sent (the totals head office must show) and what head office
/// has acknowledged (a lower bound of its balance: points reserved online never exceed it).
struct MemberBook {
  std::int64_t earned = 0, redeemed = 0;    ///< in events created
  std::int64_t confirmed = 0, reserved = 0;  ///< earned in acknowledged events; reserved online
  std::int64_t sales = 0;
  std::string store;
};

class Members {
 public:
  int enrol(const std::string& store) {
    std::lock_guard lock(m_mutex);
    m_books.push_back({});
    m_books.back().store = store;
    return static_cast<int>(m_books.size());  // member numbers from 1: M1, M2, ...
  }
  void sold(int member, std::int64_t earned) {
    std::lock_guard lock(m_mutex);
    auto& b = m_books[static_cast<std::size_t>(member - 1)];
    b.earned += earned;
    ++b.sales;
  }
  void redeemed(int member, std::int64_t points) {
    std::lock_guard lock(m_mutex);
    m_books[static_cast<std::size_t>(member - 1)].redeemed += points;
  }
  void confirmed(int member, std::int64_t earned) {
    std::lock_guard lock(m_mutex);
    m_books[static_cast<std::size_t>(member - 1)].confirmed += earned;
  }
  /// Books up to `most` points (whole hundreds, at least 100) for an online redemption; 0 when
  /// the member has fewer acknowledged points than that.
  std::int64_t book(int member, std::int64_t most) {
    std::lock_guard lock(m_mutex);
    auto& b = m_books[static_cast<std::size_t>(member - 1)];
    const std::int64_t points = std::min(most, (b.confirmed - b.reserved) / 100 * 100);
    if (points < 100) return 0;
    b.reserved += points;
    return points;
  }
  void unbook(int member, std::int64_t points) {
    std::lock_guard lock(m_mutex);
    m_books[static_cast<std::size_t>(member - 1)].reserved -= points;
  }
  bool known(int member) {
    std::lock_guard lock(m_mutex);
    return member >= 1 && static_cast<std::size_t>(member) <= m_books.size();
  }
  std::string storeOf(int member) {
    std::lock_guard lock(m_mutex);
    return m_books[static_cast<std::size_t>(member - 1)].store;
  }
  std::vector<MemberBook> snapshot() {
    std::lock_guard lock(m_mutex);
    return m_books;
  }

 private:
  std::mutex m_mutex;
  std::vector<MemberBook> m_books;
};

/// Expected head-office totals, summed by the terminals as they create events.
struct Totals {
  std::int64_t sales = 0, revenue = 0, memberSales = 0, memberRevenue = 0, enrolments = 0, redemptions = 0,
               redeemedPoints = 0, events = 0;
  void add(const Totals& o) {
    sales += o.sales;
    revenue += o.revenue;
    memberSales += o.memberSales;
    memberRevenue += o.memberRevenue;
    enrolments += o.enrolments;
    redemptions += o.redemptions;
    redeemedPoints += o.redeemedPoints;
    events += o.events;
  }
};

// [SECTION] One terminal

struct Pending {
  std::int64_t seq;
  std::string event;  ///< the event's JSON
  int member;         ///< 0: none
  std::int64_t earned;
};

/// A counter: its outbox, cursor and the members it knows. Only one worker drives it at a time
/// (a terminal is in its instance's queue once).
struct Terminal {
  std::string id, store, token;
  std::size_t instance = 0;
  std::int64_t seq = 0, acked = 0;
  std::deque<Pending> outbox;
  int salesDone = 0;
  std::string cursor;
  std::vector<int> known;
  std::unordered_set<int> knownSet;
  std::mt19937_64 rng;
  Totals totals;
  bool failed = false;  ///< gave up (an error it cannot retry): the run fails
  std::string day;      ///< YYYY-MM-DD of trade
  double phase = 0;     ///< paced: where in its first sale's slot the terminal starts, [0, 1)
  int firstStep = 0;    ///< sales before its first upload (then every uploadEvery)
  int pullOffset = 0;   ///< its pulls come after the sales n with (n + pullOffset) % (sales / pulls) == 0
};

/// Sales between a terminal's pulls of the change feed.
int pullEvery(const Options& o) { return std::max(1, o.sales / std::max(1, o.pulls)); }

/// The sales a terminal makes before its next upload.
int stepSales(const Options& o, const Terminal& t) {
  return std::min(o.sales, t.salesDone + (t.salesDone == 0 ? t.firstStep : o.uploadEvery)) - t.salesDone;
}

struct Instance {
  Server server;
};

/// A worker's keep-alive connection to its instance. Head office closes a connection idle for
/// 5 s (cpp-httplib's keep-alive timeout; its header deadline is longer); as libcurl does for a
/// terminal, a connection idle for nearly that long is not reused but opened afresh (counted),
/// instead of failing its next request.
class Connection {
 public:
  Connection(std::unique_ptr<httplib::SSLClient> client, std::chrono::seconds idleLimit)
      : m_client(std::move(client)), m_idleLimit(idleLimit) {}
  httplib::SSLClient& use(Figures& f) {
    const auto now = Clock::now();
    if (m_used && now - m_last > m_idleLimit) {
      m_client->stop();
      ++f.reopened;
    }
    m_used = true;
    m_last = now;
    return *m_client;
  }

 private:
  std::unique_ptr<httplib::SSLClient> m_client;
  std::chrono::seconds m_idleLimit;
  bool m_used = false;
  Clock::time_point m_last;
};

class Driver {
 public:
  Driver(const Options& o, const std::vector<Product>& products) : m_o(o), m_products(products) {}

  Members members;

  /// One step of a terminal: trade until its next upload (or the end of its day), then upload.
  /// False when the terminal's day is over.
  bool step(Terminal& t, Connection& c, Figures& f) {
    const int until = t.salesDone + stepSales(m_o, t);
    bool redeemedNow = false;
    while (t.salesDone < until && !redeemedNow) {
      if (m_o.pulls > 0 && (t.salesDone + t.pullOffset) % pullEvery(m_o) == 0) pull(t, c, f);
      redeemedNow = sell(t, c, f);
      ++t.salesDone;
    }
    upload(t, c, f);
    if (t.salesDone >= m_o.sales) {
      if (m_o.pulls > 0) pull(t, c, f);  // the day's close: the terminal ends with head office's state
      return false;
    }
    return !t.failed;
  }

 private:
  std::string at(const Terminal& t) const {
    // The day's trade from 08:00 to 20:00 UTC, one sale after another.
    const int minute = 8 * 60 + (t.salesDone * 12 * 60) / std::max(1, m_o.sales);
    char buf[32];
    std::snprintf(buf, sizeof buf, "T%02d:%02d:%02dZ", minute / 60, minute % 60, static_cast<int>(t.seq % 60));
    return t.day + buf;
  }

  void push(Terminal& t, const std::string& type, json payload, int member, std::int64_t earned) {
    ++t.seq;
    ++t.totals.events;
    json e = {{"event_id", t.id + "-e" + std::to_string(t.seq)}, {"seq", t.seq}, {"type", type}, {"at", at(t)},
              {"payload", std::move(payload)}};
    t.outbox.push_back({t.seq, e.dump(), member, earned});
  }

  void enrolEvent(Terminal& t, int member) {
    const std::string id = "M" + std::to_string(member);
    push(t, "member.enrolled",
         {{"member_id", id}, {"card_no", "8" + std::to_string(100000000 + member)},
          {"phone", "+86139" + std::to_string(10000000 + member)}, {"name", "Member " + id}, {"birthday", nullptr},
          {"language", nullptr}, {"consent_marketing", false}, {"consent_version", nullptr}, {"referrer_id", nullptr},
          {"store_id", t.store}, {"terminal_id", t.id}},
         0, 0);
  }

  /// One customer at the counter. True when they redeemed points online (the terminal then
  /// uploads at once, which settles the reservation).
  bool sell(Terminal& t, Connection& c, Figures& f) {
    std::uniform_real_distribution<double> u(0, 1);
    int member = 0;
    if (u(t.rng) < m_o.enrolShare) {
      member = members.enrol(t.store);
      ++t.totals.enrolments;
      enrolEvent(t, member);
      t.known.push_back(member);
      t.knownSet.insert(member);
    } else if (!t.known.empty() && u(t.rng) < m_o.memberShare) {
      member = t.known[std::uniform_int_distribution<std::size_t>(0, t.known.size() - 1)(t.rng)];
    }
    bool redeemed = false;
    if (member != 0 && u(t.rng) < m_o.redeemShare) redeemed = redeem(t, c, f, member);

    json lines = json::array();
    std::int64_t total = 0;
    const int n = std::uniform_int_distribution<int>(1, 4)(t.rng);
    for (int i = 0; i < n; ++i) {
      const Product& p = m_products[std::uniform_int_distribution<std::size_t>(0, m_products.size() - 1)(t.rng)];
      const int qty = std::uniform_int_distribution<int>(1, 3)(t.rng);
      const std::int64_t amount = p.minor * qty;
      total += amount;
      lines.push_back({{"sku", p.sku}, {"description", p.name}, {"qty", qty}, {"unit_price", p.price},
                       {"amount", Money::fromMinor(amount).toString()}});
    }
    const std::int64_t earned = member != 0 ? total / 100 : 0;  // 1 point per 1.00
    const std::string sum = Money::fromMinor(total).toString();
    const std::string saleId = t.id + "-s" + std::to_string(t.seq + 1);
    push(t, "sale.recorded",
         {{"sale_id", saleId}, {"member_id", member != 0 ? json("M" + std::to_string(member)) : json(nullptr)},
          {"store_id", t.store}, {"terminal_id", t.id}, {"lines", std::move(lines)}, {"subtotal", sum}, {"discount", "0.00"},
          {"total", sum}, {"points_earned", earned}, {"points_redeemed", 0}},
         member, earned);
    ++t.totals.sales;
    t.totals.revenue += total;
    if (member != 0) {
      ++t.totals.memberSales;
      t.totals.memberRevenue += total;
      members.sold(member, earned);
    }
    return redeemed;
  }

  /// The answer's Retry-After in ms (capped), or the backoff with full jitter for `attempt`.
  static std::chrono::milliseconds backoff(const httplib::Result& r, int attempt, std::mt19937_64& rng) {
    if (r && r->has_header("Retry-After")) {
      const std::string v = r->get_header_value("Retry-After");
      if (!v.empty() && v.size() < 4 && v.find_first_not_of("0123456789") == std::string::npos) {
        return std::chrono::milliseconds(std::min(10'000, std::stoi(v) * 1000));
      }
    }
    const std::int64_t cap = std::min<std::int64_t>(2000, 50LL << std::min(attempt, 10));
    return std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(0, cap)(rng));
  }

  static bool retryable(const httplib::Result& r) {
    return !r || r->status == 429 || r->status == 500 || r->status == 502 || r->status == 503 || r->status == 504;
  }

  static void countError(Figures& f, const std::string& what, const httplib::Result& r) {
    ++f.errors[what + (r ? " http " + std::to_string(r->status) : " transport " + httplib::to_string(r.error()))];
  }

  bool redeem(Terminal& t, Connection& c, Figures& f, int member) {
    const std::int64_t points = members.book(member, 100 * std::uniform_int_distribution<std::int64_t>(1, 5)(t.rng));
    if (points == 0) return false;
    const std::string redemptionId = t.id + "-r" + std::to_string(t.seq + 1);
    const std::string body =
        json{{"redemption_id", redemptionId}, {"member_id", "M" + std::to_string(member)}, {"points", points}}.dump();
    for (int attempt = 0; attempt < 8; ++attempt) {
      const auto t0 = Clock::now();
      auto r = c.use(f).Post("/api/v1/redemptions", bearer(t.token), body, "application/json");
      const double ms = msSince(t0);
      if (r && r->status == 200) {
        f.redemption.add(t0, ms);
        push(t, "points.redeemed",
             {{"redemption_id", redemptionId}, {"member_id", "M" + std::to_string(member)}, {"points", points},
              {"reward_id", nullptr}, {"store_id", t.store}, {"terminal_id", t.id}, {"authorised", "online"}},
             0, 0);
        members.redeemed(member, points);
        ++t.totals.redemptions;
        t.totals.redeemedPoints += points;
        return true;
      }
      countError(f, "redemption", r);
      if (!retryable(r)) break;
      ++f.retries;
      std::this_thread::sleep_for(backoff(r, attempt, t.rng));
    }
    members.unbook(member, points);  // declined: the customer pays in money
    return false;
  }

  void upload(Terminal& t, Connection& c, Figures& f) {
    int attempt = 0;
    while (!t.outbox.empty() && !t.failed) {
      std::string body = "{\"terminal_id\":" + json(t.id).dump() + ",\"events\":[";
      std::size_t n = 0;
      for (const auto& p : t.outbox) {
        if (n == 1000) break;  // the protocol's most per request
        if (n++) body += ',';
        body += p.event;
      }
      body += "]}";
      const auto t0 = Clock::now();
      auto r = c.use(f).Post("/api/v1/events", bearer(t.token), body, "application/json");
      const double ms = msSince(t0);
      if (!r || r->status != 200) {
        countError(f, "upload", r);
        if (!retryable(r) || ++attempt > 20) {
          t.failed = true;
          ++f.errors["upload gave up"];
          return;
        }
        ++f.retries;
        std::this_thread::sleep_for(backoff(r, attempt, t.rng));
        continue;
      }
      const json answer = json::parse(r->body, nullptr, false);
      if (!answer.is_object() || !answer.contains("acked_through") || !answer.contains("results")) {
        ++f.errors["upload unreadable answer"];
        t.failed = true;
        return;
      }
      f.upload.add(t0, ms);
      f.uploadedBytes += static_cast<std::int64_t>(body.size());
      f.eventsPerBatchSum += static_cast<std::int64_t>(n);
      for (const auto& res : answer["results"]) {
        const std::string status = res.value("status", "");
        // Duplicates follow a retried request whose answer was lost: harmless by design.
        if (status != "applied" && status != "duplicate") ++f.errors["event " + status + " " + res.value("reason", "")];
      }
      const std::int64_t through = answer["acked_through"].get<std::int64_t>();
      if (through <= t.acked) {
        ++f.errors["upload acknowledged nothing"];
        t.failed = true;
        return;
      }
      while (!t.outbox.empty() && t.outbox.front().seq <= through) {
        const Pending& p = t.outbox.front();
        if (p.member != 0 && p.earned > 0) members.confirmed(p.member, p.earned);
        ++f.eventsAcked;
        t.outbox.pop_front();
      }
      t.acked = through;
      attempt = 0;
    }
  }

  void pull(Terminal& t, Connection& c, Figures& f) {
    for (int attempt = 0;;) {
      const auto t0 = Clock::now();
      auto r = c.use(f).Get(("/api/v1/changes?limit=1000&cursor=" + t.cursor).c_str(), bearer(t.token));
      const double ms = msSince(t0);
      if (!r || r->status != 200) {
        countError(f, "pull", r);
        if (!retryable(r) || ++attempt > 20) return;  // the next pull starts from the same cursor
        ++f.retries;
        std::this_thread::sleep_for(backoff(r, attempt, t.rng));
        continue;
      }
      f.pull.add(t0, ms);
      f.pulledBytes += static_cast<std::int64_t>(r->body.size());
      const json page = json::parse(r->body, nullptr, false);
      if (!page.is_object() || !page.contains("changes") || !page.contains("next_cursor")) {
        ++f.errors["pull unreadable answer"];
        return;
      }
      f.pulledChanges += static_cast<std::int64_t>(page["changes"].size());
      for (const auto& ch : page["changes"]) {
        if (ch.value("type", "") != "member" || !ch.contains("member")) continue;
        const std::string id = ch["member"].value("member_id", "");
        if (id.size() < 2 || id[0] != 'M') continue;
        const int member = std::atoi(id.c_str() + 1);
        // Customers shop at their own store, and now and then at another.
        const bool local = ch["member"].value("enrolled_store", "") == t.store;
        if (!members.known(member) || t.knownSet.count(member) || (!local && t.rng() % 20 != 0)) continue;
        t.known.push_back(member);
        t.knownSet.insert(member);
      }
      t.cursor = page["next_cursor"].get<std::string>();
      if (!page.value("has_more", false)) return;
    }
  }

  static httplib::Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

  const Options& m_o;
  const std::vector<Product>& m_products;
};

/// Yesterday's date (UTC): a whole day of trade in the past, whatever the time of the run.
std::string yesterday() {
  const auto d = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now()) - std::chrono::days(1);
  const std::chrono::year_month_day ymd{d};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return buf;
}

std::string readAdminToken(const fs::path& dataDir) {
  std::ifstream in(dataDir / "admin.token");
  std::string t;
  std::getline(in, t);
  return t;
}

/// Samples the database's sessions every `every` over the day, from a connection of its own
/// (pg_stat_activity: each head-office connection names its lane, "loyalty-hq writer"): what
/// each lane was doing, and which statements the waits were in. A share of the samples is a
/// share of the time.
class SessionSampler {
 public:
  SessionSampler(const std::string& dsn, std::chrono::milliseconds every)
      : m_c(loyalty::hq::openPostgres(dsn, "chain-day-bench sampler")), m_every(every), m_wal0(wal()) {
    m_thread = std::thread([this] { loop(); });
  }
  ~SessionSampler() { stop(); }
  SessionSampler(const SessionSampler&) = delete;
  SessionSampler& operator=(const SessionSampler&) = delete;

  /// Stops sampling; what each lane was doing (shares of its samples), the statements most often
  /// seen waiting or running, and the WAL written over the day.
  json finish() {
    stop();
    json lanes = json::object();
    for (const auto& [lane, states] : m_states) {
      std::int64_t all = 0;
      for (const auto& [state, n] : states) all += n;
      json shares = json::object();
      for (const auto& [state, n] : states) shares[state] = static_cast<double>(n) / static_cast<double>(all);
      lanes[lane] = {{"sessions_sampled", all}, {"share", shares}};
    }
    std::vector<std::pair<std::int64_t, std::string>> top;
    for (const auto& [what, n] : m_statements) top.emplace_back(n, what);
    std::sort(top.rbegin(), top.rend());
    json statements = json::array();
    for (std::size_t i = 0; i < std::min<std::size_t>(25, top.size()); ++i) {
      statements.push_back({{"samples", top[i].first}, {"lane | state | statement", top[i].second}});
    }
    json w = wal();
    for (auto& [k, v] : w.items()) {
      if (v.is_number() && m_wal0.contains(k) && m_wal0[k].is_number()) v = v.get<double>() - m_wal0[k].get<double>();
    }
    return {{"sample_ms", m_every.count()}, {"samples", m_samples}, {"lanes", lanes}, {"busiest_statements", statements},
            {"wal_over_the_day", w}};
  }

 private:
  void stop() {
    if (!m_thread.joinable()) return;
    {
      std::lock_guard lock(m_mutex);
      m_stopping = true;
    }
    m_wake.notify_all();
    m_thread.join();
  }

  json wal() {
    // pg_stat_wal (PostgreSQL 14 and later); its times stay 0 unless track_wal_io_timing is on.
    const auto r = m_c->query("SELECT wal_records, wal_bytes, wal_buffers_full, wal_write, wal_sync, wal_write_time, wal_sync_time "
                              "FROM pg_stat_wal");
    json out = json::object();
    const char* names[] = {"records", "bytes", "buffers_full", "writes", "syncs", "write_ms", "sync_ms"};
    for (int c = 0; c < 7; ++c) out[names[c]] = std::atof(r.text(0, c).c_str());
    return out;
  }

  void loop() {
    std::unique_lock lock(m_mutex);
    while (!m_wake.wait_for(lock, m_every, [&] { return m_stopping; })) {
      const auto r = m_c->query(
          "SELECT application_name, state, COALESCE(wait_event_type || ':' || wait_event, ''), "
          "left(regexp_replace(query, '\\s+', ' ', 'g'), 90) FROM pg_stat_activity "
          "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'");
      ++m_samples;
      for (std::size_t i = 0; i < r.size(); ++i) {
        const std::string lane = r.text(i, 0).empty() ? "(unnamed)" : r.text(i, 0);
        const std::string state = r.isNull(i, 1) ? "" : r.text(i, 1);
        const std::string wait = r.text(i, 2);
        // Idle sessions wait for their client's next statement: ClientRead says nothing more.
        const std::string what = state == "active" ? (wait.empty() ? "active (running)" : "active, waiting " + wait) : state;
        ++m_states[lane][what];
        if (state != "idle") ++m_statements[lane + " | " + what + " | " + r.text(i, 3)];
      }
    }
  }

  std::unique_ptr<loyalty::hq::SqlConnection> m_c;
  std::chrono::milliseconds m_every;
  json m_wal0;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_stopping = false;
  std::int64_t m_samples = 0;
  std::map<std::string, std::map<std::string, std::int64_t>> m_states;  ///< lane -> what it was doing -> samples
  std::map<std::string, std::int64_t> m_statements;                   ///< lane | what | statement -> samples
  std::thread m_thread;
};

// [SECTION] The run

json runChainDay(const Options& o) {
  json out = {{"config",
               {{"terminals", o.terminals}, {"sales_per_terminal", o.sales}, {"instances", o.instances},
                {"connections_per_instance", o.connections}, {"terminals_per_store", o.terminalsPerStore},
                {"upload_every_sales", o.uploadEvery}, {"first_upload_after", o.lockstep ? "upload_every_sales (lockstep)" : "1..upload_every_sales sales (staggered)"},
                {"pulls_after", o.lockstep ? "sales 0, sales/pulls, ... (lockstep)" : "a random offset per terminal (staggered)"},
                {"day_seconds", o.daySeconds}, {"pulls_per_day", o.pulls}, {"member_share", o.memberShare},
                {"enrol_share", o.enrolShare}, {"redeem_share", o.redeemShare}, {"seed", o.seed}}}};
  const auto setup0 = Clock::now();
  const fs::path work = fs::path(o.work) / ("chain-day-" + std::to_string(getpid()));
  fs::remove_all(work);
  fs::create_directories(work);
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } cleanup{work};

  std::string productSource;
  const auto products = loadProducts(o.dataset, 2000, productSource);
  progress(std::to_string(products.size()) + " products");
  out["config"]["products"] = {{"count", products.size()}, {"source", productSource}};

  const auto cluster = benchPostgres(o.pgSettings);
  const std::string dsn = cluster->createDatabase("chainday");
  const fs::path dataDir = work / "hq";
  run({o.hq, "init", "--data", dataDir.string(), "--backend", "postgresql", "--dsn", dsn});
  const loyalty::hq::DataDir dir{dataDir};
  const std::string ca = dir.caCert().string();
  const std::string adminToken = readAdminToken(dataDir);

  // Registration codes straight in the store (what `loyalty-hq terminal add` does, without a
  // process per terminal); the terminals exchange them through the instances below.
  std::vector<Terminal> terminals(static_cast<std::size_t>(o.terminals));
  std::vector<std::string> codes;
  {
    auto settings = loyalty::hq::loadSettings(dir);
    if (!settings) throw std::runtime_error("hq.toml: " + settings.error().message);
    loyalty::hq::HqStore store(loyalty::hq::openStorage(dir, *settings));
    const std::string day = yesterday();
    for (int k = 0; k < o.terminals; ++k) {
      Terminal& t = terminals[static_cast<std::size_t>(k)];
      t.id = "T" + std::to_string(k + 1);
      t.store = "S" + std::to_string(k / o.terminalsPerStore + 1);
      t.instance = static_cast<std::size_t>(k % o.instances);
      t.rng.seed(o.seed * 1'000'003 + static_cast<std::uint64_t>(k));
      t.day = day;
      auto code = store.addTerminal(t.store, t.id, "UTC", loyalty::hq::nowSeconds(), "chain-day-bench");
      if (!code) throw std::runtime_error("terminal add " + t.id + ": " + code.error().message);
      codes.push_back(*code);
    }
  }

  std::vector<Instance> instances(static_cast<std::size_t>(o.instances));
  for (auto& i : instances) i.server.start(o.hq, dataDir.string());
  progress(std::to_string(o.instances) + " instances on one PostgreSQL; registering " + std::to_string(o.terminals) + " terminals");

  const auto makeClient = [&](std::size_t instance) {
    auto c = client(ca, instances[instance].server.port);
    c->set_connection_timeout(std::chrono::seconds(10));
    c->set_read_timeout(std::chrono::seconds(120));
    return c;
  };
  {
    // Through every instance in turn, as terminals behind a load balancer would.
    std::atomic<std::size_t> next{0};
    std::mutex failedMutex;
    std::string failed;
    std::vector<std::thread> threads;
    for (std::size_t w = 0; w < std::min<std::size_t>(4, terminals.size()); ++w) {
      threads.emplace_back([&] {
        std::vector<std::unique_ptr<httplib::SSLClient>> clients;
        for (std::size_t i = 0; i < instances.size(); ++i) clients.push_back(makeClient(i));
        for (std::size_t k; (k = next.fetch_add(1)) < terminals.size();) {
          Terminal& t = terminals[k];
          auto r = clients[t.instance]->Post("/api/v1/register", json{{"code", codes[k]}}.dump(), "application/json");
          const json answer = r && r->status == 200 ? json::parse(r->body, nullptr, false) : json();
          if (!answer.is_object() || !answer.contains("token")) {
            std::lock_guard lock(failedMutex);
            failed = "register " + t.id + ": " + (r ? std::to_string(r->status) + " " + r->body : httplib::to_string(r.error()));
            return;
          }
          t.token = answer["token"].get<std::string>();
        }
      });
    }
    for (auto& th : threads) th.join();
    if (!failed.empty()) throw std::runtime_error(failed);
  }
  out["setup_seconds"] = secondsSince(setup0);
  progress("set up in " + std::to_string(secondsSince(setup0)) + " s; trading");

  // [SECTION] The day: per instance, a queue of terminals served by its connections' threads.
  // Paced (--day-seconds): each step is due when the last sale before its upload is made, the
  // terminal's sales spread evenly over the day from its own starting phase; a late step is
  // taken as soon as a connection is free (how late: "lag"). Unpaced: as fast as head office
  // takes them, terminals in turn.
  struct Item {
    Clock::time_point due;
    std::uint64_t order;
    std::size_t k;
    bool operator>(const Item& o) const { return due != o.due ? due > o.due : order > o.order; }
  };
  struct Queue {
    std::mutex m;
    std::condition_variable cv;
    std::priority_queue<Item, std::vector<Item>, std::greater<Item>> q;
    std::uint64_t order = 0;
    int inFlight = 0;
  };
  std::vector<Queue> queues(instances.size());
  Driver driver(o, products);
  Figures figures;
  std::mutex figuresMutex;
  std::atomic<std::int64_t> salesDone{0};
  const std::string loadBefore = loadAverages();
  SessionSampler sampler(cluster->dsn("chainday"), std::chrono::milliseconds(o.sampleMs));
  const auto drive0 = Clock::now();
  const auto dueOf = [&](const Terminal& t) {
    if (o.daySeconds == 0) return drive0;
    const int last = t.salesDone + stepSales(o, t) - 1;
    const double at = o.daySeconds * (last + t.phase) / o.sales;
    return drive0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(at));
  };
  for (std::size_t k = 0; k < terminals.size(); ++k) {
    terminals[k].phase = std::uniform_real_distribution<double>(0, 1)(terminals[k].rng);
    // A chain's counters do not all upload after the same sale of the day: in lockstep, paced,
    // every terminal's upload and the redemptions of its step fell in one sale's slot (14 s of
    // every 144 s at 1,000 x 40 in 576 s), and head office sat idle in between.
    terminals[k].firstStep = o.lockstep ? o.uploadEvery : std::uniform_int_distribution<int>(1, o.uploadEvery)(terminals[k].rng);
    // Nor do they pull after the same sale: in lockstep every terminal's mid-day pull (each the
    // members changed since the morning, several pages) fell in one sale's slot.
    if (!o.lockstep && o.pulls > 0) terminals[k].pullOffset = std::uniform_int_distribution<int>(0, pullEvery(o) - 1)(terminals[k].rng);
    Queue& q = queues[terminals[k].instance];
    q.q.push({dueOf(terminals[k]), q.order++, k});
  }
  {
    std::vector<std::thread> workers;
    for (std::size_t i = 0; i < instances.size(); ++i) {
      for (int w = 0; w < o.connections; ++w) {
        workers.emplace_back([&, i] {
          Queue& queue = queues[i];
          Connection c(makeClient(i), std::chrono::seconds(4));
          Figures mine;
          for (;;) {
            std::optional<Item> item;
            {
              std::unique_lock lock(queue.m);
              while (!item) {
                if (queue.q.empty()) {
                  if (queue.inFlight == 0) break;
                  queue.cv.wait(lock);
                } else if (const auto due = queue.q.top().due; due > Clock::now()) {
                  queue.cv.wait_until(lock, due);
                } else {
                  item = queue.q.top();
                  queue.q.pop();
                  ++queue.inFlight;
                }
              }
            }
            if (!item) break;
            if (o.daySeconds > 0) mine.lag.add(item->due, msSince(item->due));
            Terminal& t = terminals[item->k];
            const int before = t.salesDone;
            const bool again = driver.step(t, c, mine);
            salesDone += t.salesDone - before;
            {
              std::lock_guard lock(queue.m);
              --queue.inFlight;
              if (again) queue.q.push({dueOf(t), queue.order++, item->k});
            }
            queue.cv.notify_all();
          }
          std::lock_guard lock(figuresMutex);
          figures.merge(mine);
        });
      }
    }
    // Progress every 30 s while they trade.
    std::atomic<bool> trading{true};
    std::thread reporter([&] {
      const std::int64_t all = static_cast<std::int64_t>(terminals.size()) * o.sales;
      for (int tick = 0; trading; ++tick) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        if (tick % 150 == 149) {
          progress("  " + std::to_string(salesDone.load() * 100 / all) + "% of the day after " +
                   std::to_string(static_cast<int>(secondsSince(drive0))) + " s, load " + loadAverages());
        }
      }
    });
    for (auto& w : workers) w.join();
    trading = false;
    reporter.join();
  }
  const double driveSeconds = secondsSince(drive0);
  const std::string loadAfter = loadAverages();
  out["database"] = sampler.finish();
  progress("day traded in " + std::to_string(driveSeconds) + " s");

  Totals totals;
  int failedTerminals = 0, unsentTerminals = 0;
  for (const auto& t : terminals) {
    totals.add(t.totals);
    if (t.failed) ++failedTerminals;
    if (!t.outbox.empty()) ++unsentTerminals;
  }
  std::int64_t errorCount = 0;
  for (const auto& e : figures.errors) errorCount += e.second;
  out["drive"] = {{"seconds", driveSeconds},
                  {"events", totals.events},
                  {"events_acked", figures.eventsAcked},
                  {"events_per_s", static_cast<double>(figures.eventsAcked) / driveSeconds},
                  {"sales", totals.sales},
                  {"sales_per_s", static_cast<double>(totals.sales) / driveSeconds},
                  {"enrolments", totals.enrolments},
                  {"online_redemptions", totals.redemptions},
                  {"redeemed_points", totals.redeemedPoints},
                  {"load_average_before", loadBefore},
                  {"load_average_after", loadAfter}};
  out["upload"] = figures.upload.summary();
  out["upload"]["events_per_batch_mean"] =
      figures.upload.ms.empty() ? 0.0 : static_cast<double>(figures.eventsPerBatchSum) / static_cast<double>(figures.upload.ms.size());
  out["upload"]["mib"] = static_cast<double>(figures.uploadedBytes) / 1048576.0;
  out["online_redemption"] = figures.redemption.summary();
  // When in the day the slow ones came.
  out["by_30_s"] = {{"upload", figures.upload.series(drive0, 30)}, {"online_redemption", figures.redemption.series(drive0, 30)},
                    {"pull", figures.pull.series(drive0, 30)}};
  if (o.daySeconds > 0) out["lag"] = figures.lag.summary();
  out["pull"] = figures.pull.summary();
  out["pull"]["changes"] = figures.pulledChanges;
  out["pull"]["mib"] = static_cast<double>(figures.pulledBytes) / 1048576.0;
  out["errors"] = {{"total", errorCount}, {"by_kind", figures.errors}, {"retried_requests", figures.retries},
                   {"idle_connections_reopened", figures.reopened},
                   {"terminals_gave_up", failedTerminals}, {"terminals_with_unsent_events", unsentTerminals}};

  // [SECTION] Head office's totals against what the terminals sent
  json checks = json::array();
  bool exact = true;
  const auto check = [&](const std::string& what, const json& expected, const json& actual) {
    const bool ok = expected == actual;
    exact = exact && ok;
    checks.push_back({{"check", what}, {"expected", expected}, {"actual", actual}, {"ok", ok}});
    if (!ok) progress("MISMATCH " + what + ": expected " + expected.dump() + ", head office has " + actual.dump());
  };
  const auto books = driver.members.snapshot();
  std::int64_t buyers = 0, earned = 0, redeemed = 0;
  for (const auto& b : books) {
    if (b.sales > 0) ++buyers;
    earned += b.earned;
    redeemed += b.redeemed;
  }
  for (std::size_t i = 0; i < instances.size(); ++i) {
    auto c = makeClient(i);
    auto r = c->Get("/api/v1/reports/summary", httplib::Headers{{"Authorization", "Bearer " + adminToken}});
    const json s = r && r->status == 200 ? json::parse(r->body, nullptr, false) : json();
    const std::string at = "instance " + std::to_string(i + 1) + " summary ";
    check(at + "sales", totals.sales, s.value("sales", json()));
    check(at + "net_revenue", Money::fromMinor(totals.revenue).toString(), s.value("net_revenue", json()));
    check(at + "member_sales", totals.memberSales, s.value("member_sales", json()));
    check(at + "member_revenue", Money::fromMinor(totals.memberRevenue).toString(), s.value("member_revenue", json()));
    check(at + "members (buying)", buyers, s.value("members", json()));
  }
  {
    auto settings = loyalty::hq::loadSettings(dir);
    if (!settings) throw std::runtime_error("hq.toml: " + settings.error().message);
    auto sql = loyalty::hq::openStorage(dir, *settings);
    const auto one = [&](const std::string& q) { return sql->query(q).integer(0, 0); };
    check("events stored", totals.events, one("SELECT COUNT(*) FROM events"));
    check("distinct event ids", totals.events, one("SELECT COUNT(DISTINCT event_id) FROM events"));
    check("conflicting events", 0, one("SELECT COUNT(*) FROM event_conflicts"));
    check("rejected events", 0, one("SELECT COUNT(*) FROM rejected_events"));
    check("enrolled members", totals.enrolments, one("SELECT COUNT(*) FROM members WHERE enrolled = 1"));
    check("sum of balances = earned - redeemed", earned - redeemed, one("SELECT COALESCE(SUM(balance), 0) FROM members"));
    check("ledger sum = earned - redeemed", earned - redeemed, one("SELECT COALESCE(SUM(points), 0) FROM ledger"));
    check("online reservations", totals.redemptions, one("SELECT COUNT(*) FROM reservations"));
    check("reservations not settled", 0, one("SELECT COUNT(*) FROM reservations WHERE settled_event IS NULL"));
    check("terminals with every event applied", static_cast<std::int64_t>(terminals.size()), [&] {
      std::int64_t n = 0;
      const auto r = sql->query("SELECT terminal_id, applied_through FROM terminals");
      std::map<std::string, std::int64_t> through;
      for (std::size_t i = 0; i < r.size(); ++i) through[r.text(i, 0)] = r.integer(i, 1);
      for (const auto& t : terminals) n += through[t.id] == t.seq ? 1 : 0;
      return n;
    }());
    const auto balances = sql->query("SELECT member_id, balance FROM members WHERE enrolled = 1");
    std::int64_t wrong = 0;
    for (std::size_t i = 0; i < balances.size(); ++i) {
      const std::string id = balances.text(i, 0);
      const auto n = static_cast<std::size_t>(std::atoll(id.c_str() + 1));
      if (n < 1 || n > books.size() || books[n - 1].earned - books[n - 1].redeemed != balances.integer(i, 1)) ++wrong;
    }
    check("members whose balance differs (every member)", 0, wrong);
  }
  {
    // A sample through the API, spread over the instances.
    std::int64_t wrong = 0, asked = 0;
    const std::size_t step = std::max<std::size_t>(1, books.size() / 30);
    for (std::size_t n = 1; n <= books.size(); n += step, ++asked) {
      auto c = makeClient(static_cast<std::size_t>(asked) % instances.size());
      auto r = c->Get(("/api/v1/members/M" + std::to_string(n)).c_str(), httplib::Headers{{"Authorization", "Bearer " + adminToken}});
      const json m = r && r->status == 200 ? json::parse(r->body, nullptr, false) : json();
      if (!m.is_object() || m.value("balance", json()) != json(books[n - 1].earned - books[n - 1].redeemed)) ++wrong;
    }
    check("members whose balance differs (API sample of " + std::to_string(asked) + ")", 0, wrong);
  }
  out["checks"] = checks;
  out["totals"] = {{"sales", totals.sales}, {"net_revenue", Money::fromMinor(totals.revenue).toString()},
                   {"member_sales", totals.memberSales}, {"members_buying", buyers}, {"enrolments", totals.enrolments},
                   {"points_earned", earned}, {"points_redeemed", redeemed}};

  json rss = json::array();
  std::int64_t peakKib = 0;
  std::map<std::string, std::vector<double>> routeBuckets;  // route -> requests within each bound, all instances
  for (auto& i : instances) {
    const std::int64_t hwm = procStatusKb(i.server.pid(), "VmHWM");
    peakKib = std::max(peakKib, hwm);
    // The server's own view: time spent applying batches (waits for the writer lock included).
    auto r = client(ca, i.server.port)->Get("/metrics", httplib::Headers{{"Authorization", "Bearer " + adminToken}});
    const std::string metrics = r && r->status == 200 ? r->body : "";
    const auto metric = [&](const std::string& key) { return loyalty::test::metricValue(metrics, key); };
    const double batches = metric("loyalty_hq_ingest_seconds_count");
    // How long requests queued in the instance for a database lane busy with another request.
    json lanes = json::object();
    for (const char* lane : {"writer", "reader", "counter", "reports"}) {
      const std::string label = std::string("{lane=\"") + lane + "\"}";
      const double uses = metric("loyalty_hq_lane_uses_total" + label);
      lanes[lane] = {{"uses", uses},
                     {"wait_ms_per_use", uses > 0 ? 1000 * metric("loyalty_hq_lane_wait_seconds_total" + label) / uses : 0.0}};
    }
    for (const char* route : {"/api/v1/events", "/api/v1/redemptions", "/api/v1/changes"}) {
      auto& within = routeBuckets[route];
      within.resize(loyalty::hq::kRequestDurationBounds.size() + 1);
      for (std::size_t b = 0; b <= loyalty::hq::kRequestDurationBounds.size(); ++b) {
        const std::string le = b < loyalty::hq::kRequestDurationBounds.size() ? loyalty::hq::kRequestDurationBounds[b].label : "+Inf";
        within[b] += std::max(0.0, metric("loyalty_hq_request_duration_seconds_bucket{route=\"" + std::string(route) + "\",le=\"" + le + "\"}"));
      }
    }
    rss.push_back({{"peak_rss_kib", hwm}, {"rss_kib", procStatusKb(i.server.pid(), "VmRSS")}, {"batches_applied", batches},
                   {"ingest_ms_per_batch", batches > 0 ? 1000 * metric("loyalty_hq_ingest_seconds_sum") / batches : 0.0},
                   {"lanes", lanes},
                   {"connections_closed_by_deadline", metric("loyalty_hq_connections_closed_by_deadline_total")},
                   {"worker_threads", metric("loyalty_hq_worker_threads")}});
  }
  out["hq_instances"] = rss;
  // The instances' own timing (headers read to answer written; TLS and the driver's side not
  // included): the bound within which each share of the requests fell, all instances together.
  for (const auto& [route, within] : routeBuckets) {
    json q = {{"requests", within.back()}};
    for (const double share : {0.5, 0.95, 0.99}) {
      std::size_t b = 0;
      while (b < loyalty::hq::kRequestDurationBounds.size() && within[b] < share * within.back()) ++b;
      q["p" + std::to_string(static_cast<int>(share * 100)) + "_ms_at_most"] =
          b < loyalty::hq::kRequestDurationBounds.size() ? json(1000 * loyalty::hq::kRequestDurationBounds[b].seconds)
                                                          : json("over " + std::string(loyalty::hq::kRequestDurationBounds.back().label) + " s");
    }
    out["hq_request_ms"][route] = q;
  }
  for (auto& i : instances) i.server.stop();

  const auto p99 = out["online_redemption"].value("p99_ms", 1e9);
  out["targets"] = {{"online_redemption_p99_under_100ms", p99 < 100.0},
                    {"zero_errors", errorCount == 0 && failedTerminals == 0 && unsentTerminals == 0},
                    {"hq_totals_exact", exact},
                    {"hq_peak_rss_under_256mb", peakKib < 256 * 1024}};
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"chain-day-bench: a chain's day of trade against several loyalty-hq instances on PostgreSQL"};
  Options o;
  app.add_option("--terminals", o.terminals, "terminals driven (default 1000)")->check(CLI::Range(1, 100000));
  app.add_option("--sales", o.sales, "sales per terminal in the day (default 300)")->check(CLI::Range(1, 100000));
  app.add_option("--instances", o.instances, "loyalty-hq serve processes on the one PostgreSQL (default 3)")->check(CLI::Range(1, 16));
  app.add_option("--connections", o.connections, "keep-alive connections (threads) per instance (default 8)")->check(CLI::Range(1, 64));
  app.add_option("--terminals-per-store", o.terminalsPerStore, "terminals in each store (default 4)")->check(CLI::Range(1, 1000));
  app.add_option("--upload-every", o.uploadEvery, "sales between a terminal's uploads (default 10)")->check(CLI::Range(1, 1000));
  app.add_flag("--lockstep", o.lockstep,
               "every terminal's first upload after --upload-every sales and its pulls after the same sales, as before 2026-12-05 "
               "(default: the first upload after 1 to --upload-every sales, the pulls offset, at random per terminal)");
  app.add_option("--pulls", o.pulls, "change-feed pulls per terminal per day, 0: none (default 2)")->check(CLI::Range(0, 1000));
  app.add_option("--member-share", o.memberShare, "share of sales to known members (default 0.6)")->check(CLI::Range(0.0, 1.0));
  app.add_option("--enrol-share", o.enrolShare, "share of customers who enrol at the counter (default 0.04)")->check(CLI::Range(0.0, 1.0));
  app.add_option("--redeem-share", o.redeemShare, "share of member sales with an online redemption (default 0.05)")->check(CLI::Range(0.0, 1.0));
  app.add_option("--day-seconds", o.daySeconds, "the day paced over this many seconds; 0: as fast as head office takes it (default)")
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("--seed", o.seed, "random seed (default 17)");
  app.add_option("--out", o.out, "the JSON result file (runs of other sizes in it are kept)");
  app.add_option("--work", o.work, "where the temporary head-office data directory goes");
  app.add_option("--hq", o.hq, "the loyalty-hq to measure");
  app.add_option("--dataset", o.dataset, "online_retail.csv.gz: products and prices");
  app.add_option("--pg-settings", o.pgSettings, "more PostgreSQL settings, as postgres options (\" -c track_wal_io_timing=on\")");
  app.add_option("--sample-ms", o.sampleMs, "how often the database's sessions are sampled over the day, ms (default 50)")
      ->check(CLI::Range(5, 10000));
  CLI11_PARSE(app, argc, argv);
  signal(SIGPIPE, SIG_IGN);
  json run;
  try {
    run = runChainDay(o);
  } catch (const std::exception& e) {
    std::cerr << "chain-day: " << e.what() << "\n";
    return 1;
  }
  run["host"] = {{"cpus", std::thread::hardware_concurrency()}, {"transport", "HTTPS (TLS 1.2+) on 127.0.0.1, one driving process"}};
  std::ostringstream key;
  key << o.terminals << "x" << o.sales << (o.daySeconds > 0 ? " paced " : " unpaced");
  if (o.daySeconds > 0) key << o.daySeconds << " s";
  // Runs of other sizes, and the comparisons kept next to them in the file, stay; this run
  // replaces the run of its size. A file that is not a JSON object is left as it is, and the
  // run written next to it; the file is replaced whole (written aside, then renamed).
  json result = json::object();
  std::string out = o.out;
  if (std::ifstream previous(o.out); previous) {
    json before = json::parse(previous, nullptr, false);
    if (before.is_object()) {
      result = std::move(before);
    } else {
      out = o.out + ".new";
      std::cerr << "chain-day: " << o.out << " is not a JSON object: left as it is, this run written to " << out << "\n";
    }
  }
  result["generated_by"] = "bench/chain_day.cpp";
  if (!result.contains("runs") || !result["runs"].is_object()) result["runs"] = json::object();
  result["runs"][key.str()] = run;
  result["latest"] = key.str();
  std::ofstream(out + ".part") << result.dump(2) << "\n";
  std::filesystem::rename(out + ".part", out);
  std::cout << run.dump(2) << "\n";
  const json& t = run["targets"];
  // Correctness fails the run; latency and memory are figures of this host (reported, not fatal).
  if (!t["hq_totals_exact"].get<bool>() || !t["zero_errors"].get<bool>()) {
    std::cerr << "chain-day: FAILED: " << (t["hq_totals_exact"].get<bool>() ? "" : "head office's totals differ; ")
              << (t["zero_errors"].get<bool>() ? "" : "errors (see errors.by_kind)") << "\n";
    return 1;
  }
  return 0;
}
