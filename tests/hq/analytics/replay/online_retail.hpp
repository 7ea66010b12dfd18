#pragma once
// The real UCI Online Retail year (shared/data/online_retail.csv.gz) as the replay tests use it:
// the CSV read into invoices whose totals are worked out here in integer pence, without the
// project's Money code, and those invoices replayed into head office as one terminal's events
// (one member per customer, enrolled with their first invoice and without marketing consent;
// one sale.recorded per invoice; a cancellation, whose total is negative, as a sale.refunded),
// ingested in batches of 1,000 through HqStore::ingest, the code behind POST /api/v1/events.
#include <catch2/catch.hpp>

#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "loyalty/core/time.hpp"
#include "loyalty/hq/store.hpp"
#include "loyalty/sync/codec.hpp"
#include "loyalty/terminal/csv.hpp"

namespace loyalty::test {

/// Head office's store, terminal and time zone of the replayed shop.
inline constexpr const char* kRetailStore = "UK1";
inline constexpr const char* kRetailTerminal = "T1";
inline constexpr const char* kRetailZone = "Europe/London";

/// A programme with one promotion, spend 100.00 save 5.00, running June to November 2011: the
/// shop ran none, so no sale of the year took it up.
inline constexpr const char* kRetailPromotionId = "spend100-off5";
inline constexpr const char* kRetailProgramme =
    "[[promotion]]\nid = \"spend100-off5\"\nkind = \"spend_discount\"\nthreshold = \"100.00\"\namount = \"5.00\"\n"
    "from = 2011-06-01\nto = 2011-11-30\n";

/// LOYALTY_DATASET when set, else where the build was told the data set is.
inline std::string onlineRetailPath() {
  if (const char* p = std::getenv("LOYALTY_DATASET"); p && *p) return p;
  return LOYALTY_DEFAULT_DATASET;
}

/// "2.55" → 2550 thousandths of a pound.
inline std::int64_t retailThousandths(std::string s) {
  const bool neg = !s.empty() && s[0] == '-';
  if (neg) s.erase(0, 1);
  const auto dot = s.find('.');
  std::string frac = dot == std::string::npos ? "" : s.substr(dot + 1);
  if (frac.size() > 3) FAIL("UnitPrice " << s << " has more than 3 decimals");
  while (frac.size() < 3) frac += '0';
  const std::int64_t v = std::stoll(s.substr(0, dot)) * 1000 + std::stoll(frac);
  return neg ? -v : v;
}

/// 123456 → "1234.56", as head office's reports write money.
inline std::string pounds(std::int64_t pence) {
  const std::int64_t m = pence < 0 ? -pence : pence;
  char b[40];
  std::snprintf(b, sizeof b, "%s%lld.%02lld", pence < 0 ? "-" : "", static_cast<long long>(m / 100), static_cast<long long>(m % 100));
  return b;
}

/// 1179 → "1,179", as the dashboard's pages and charts show counts.
inline std::string grouped(std::int64_t n) {
  std::string s = std::to_string(n < 0 ? -n : n);
  for (std::size_t at = s.size(); at > 3;) s.insert(at -= 3, ",");
  return (n < 0 ? "-" : "") + s;
}

/// 27945902 → "¥279,489.02", as the dashboard's pages show money.
inline std::string yuan(std::int64_t pence) {
  std::string p = pounds(pence < 0 ? -pence : pence);
  for (std::size_t at = p.find('.'); at > 3; at -= 3) p.insert(at - 3, ",");
  return (pence < 0 ? "-¥" : "¥") + p;
}

/// An invoice's time ("2011-06-01T10:09:00Z") as the shop's clock in London showed it
/// ("2011-06-01 11:09"): British Summer Time, UTC+1, from 27 March to 30 October 2011, the only
/// change of the year.
inline std::string retailLocalTime(const std::string& at) {
  const Timestamp t = *parseRfc3339(at, "at");
  const bool summer = t >= *parseRfc3339("2011-03-27T01:00:00Z", "at") && t < *parseRfc3339("2011-10-30T01:00:00Z", "at");
  const std::string local = formatRfc3339(t + std::chrono::hours(summer ? 1 : 0));
  return local.substr(0, 10) + " " + local.substr(11, 5);
}

/// "1970-01-02" → 1: days since 1970-01-01.
inline std::int64_t retailDayNumber(const std::string& day) {
  namespace c = std::chrono;
  return c::sys_days(c::year_month_day(c::year(std::stoi(day.substr(0, 4))), c::month(static_cast<unsigned>(std::stoi(day.substr(5, 2)))),
                                       c::day(static_cast<unsigned>(std::stoi(day.substr(8, 2))))))
      .time_since_epoch()
      .count();
}

/// "2011-12-09" moved by `by` days.
inline std::string retailDay(const std::string& from, std::int64_t by) {
  namespace c = std::chrono;
  const c::year_month_day ymd{c::sys_days(c::days(retailDayNumber(from) + by))};
  char b[16];
  std::snprintf(b, sizeof b, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return b;
}

struct RetailInvoice {
  std::string number, at, day, customer;  ///< at: RFC 3339; customer "" for a guest
  std::int64_t pence = 0;                 ///< the lines' amounts, each rounded to a penny; < 0 for a cancellation

  bool refund() const { return pence < 0; }
};

/// The year's invoices in time order without the bad-debt adjustments ("A...", bookkeeping, not
/// sales); nullopt when the file is absent, with the warning ctest counts as a skip.
inline std::optional<std::vector<RetailInvoice>> readOnlineRetail() {
  const std::string path = onlineRetailPath();
  if (!std::filesystem::exists(path)) {
    WARN("DATASET NOT FOUND: " << path);
    return std::nullopt;
  }
  gzFile gz = gzopen(path.c_str(), "rb");
  REQUIRE(gz != nullptr);
  std::string text;
  std::vector<char> buf(1 << 20);
  int n = 0;
  while ((n = gzread(gz, buf.data(), static_cast<unsigned>(buf.size()))) > 0) text.append(buf.data(), static_cast<std::size_t>(n));
  gzclose(gz);
  REQUIRE(n == 0);

  std::istringstream in(std::move(text));
  terminal::CsvReader csv(in);
  std::vector<std::string> f;
  REQUIRE(csv.next(f));
  std::vector<RetailInvoice> invoices;
  std::unordered_map<std::string, std::size_t> byNumber;
  while (csv.next(f)) {
    if (f.size() != 8) FAIL("line " << csv.line() << " has " << f.size() << " fields");
    const auto found = byNumber.try_emplace(f[0], invoices.size());
    if (found.second) {
      // The shop's wall clock, taken as the sale's time at head office.
      invoices.push_back({f[0], f[4].substr(0, 10) + "T" + f[4].substr(11, 8) + "Z", f[4].substr(0, 10), f[6], 0});
    }
    const std::int64_t tenths = std::stoll(f[3]) * retailThousandths(f[5]);  // tenths of a penny
    const std::int64_t mag = ((tenths < 0 ? -tenths : tenths) + 5) / 10;
    invoices[found.first->second].pence += tenths < 0 ? -mag : mag;
  }
  std::erase_if(invoices, [](const RetailInvoice& i) { return i.number[0] == 'A'; });
  std::stable_sort(invoices.begin(), invoices.end(), [](const RetailInvoice& a, const RetailInvoice& b) { return a.at < b.at; });
  return invoices;
}

/// One customer's year as the CSV has it.
struct RetailCustomer {
  std::int64_t sales = 0;    ///< invoices (a zero total included)
  std::int64_t refunds = 0;  ///< cancellations
  std::int64_t net = 0;      ///< sales minus cancellations, pence
  std::string lastSale;      ///< the day of the last sale, "" when none
};

inline std::map<std::string, RetailCustomer> retailCustomers(const std::vector<RetailInvoice>& invoices) {
  std::map<std::string, RetailCustomer> out;
  for (const auto& i : invoices) {
    if (i.customer.empty()) continue;
    RetailCustomer& c = out[i.customer];
    c.net += i.pence;
    if (i.refund()) {
      ++c.refunds;
    } else {
      ++c.sales;
      c.lastSale = std::max(c.lastSale, i.day);
    }
  }
  return out;
}

/// The customer with the highest net spend (the first by id on a tie).
inline std::string retailTopCustomer(const std::map<std::string, RetailCustomer>& customers) {
  std::string top;
  for (const auto& [id, c] : customers) {
    if (top.empty() || c.net > customers.at(top).net) top = id;
  }
  return top;
}

/// The first customer by id with one invoice and no cancellation.
inline std::string retailOneInvoiceCustomer(const std::map<std::string, RetailCustomer>& customers) {
  for (const auto& [id, c] : customers) {
    if (c.sales == 1 && c.refunds == 0) return id;
  }
  FAIL("no customer with a single invoice");
  return "";
}

/// The customers whose last sale was before `day`, by id (those with only cancellations never
/// bought).
inline std::vector<std::string> retailLastBoughtBefore(const std::map<std::string, RetailCustomer>& customers, const std::string& day) {
  std::vector<std::string> out;
  for (const auto& [id, c] : customers) {
    if (!c.lastSale.empty() && c.lastSale < day) out.push_back(id);
  }
  return out;
}

/// Sales and cancellations on days `from`..`to`, as the reports count them.
struct RetailTotals {
  std::int64_t sales = 0, refunds = 0, gross = 0, refunded = 0;  ///< counts, and pence

  std::int64_t net() const { return gross - refunded; }
};

inline RetailTotals retailTotals(const std::vector<RetailInvoice>& invoices, const std::string& from, const std::string& to) {
  RetailTotals t;
  for (const auto& i : invoices) {
    if (i.day < from || i.day > to) continue;
    if (i.refund()) {
      ++t.refunds;
      t.refunded -= i.pence;
    } else {
      ++t.sales;
      t.gross += i.pence;
    }
  }
  return t;
}

/// ABC over days `from`..`to` (DOMAIN.md): the customers with a positive net spend, most first
/// (ties by id); A while the running share of their total is at most 55 %, B to 85 %, C after.
struct RetailAbc {
  struct Rank {
    std::string customer;
    std::int64_t spend = 0;
    char cls = 'C';
  };
  std::vector<Rank> ranked;
  std::int64_t total = 0;  ///< pence
  std::map<char, std::int64_t> counts;

  /// Follow-up visits a month for these classes (the course's A 3, B 2, C 1).
  std::int64_t followupVisits() const { return 3 * counts.at('A') + 2 * counts.at('B') + counts.at('C'); }
};

inline RetailAbc retailAbc(const std::vector<RetailInvoice>& invoices, const std::string& from, const std::string& to) {
  std::map<std::string, std::int64_t> spend;
  for (const auto& i : invoices) {
    if (!i.customer.empty() && i.day >= from && i.day <= to) spend[i.customer] += i.pence;
  }
  RetailAbc out;
  out.counts = {{'A', 0}, {'B', 0}, {'C', 0}};
  for (const auto& [customer, pence] : spend) {
    if (pence > 0) {
      out.ranked.push_back({customer, pence, 'C'});
      out.total += pence;
    }
  }
  std::sort(out.ranked.begin(), out.ranked.end(),
            [](const RetailAbc::Rank& a, const RetailAbc::Rank& b) {
              return a.spend != b.spend ? a.spend > b.spend : a.customer < b.customer;
            });
  std::int64_t running = 0;
  for (auto& r : out.ranked) {
    running += r.spend;
    r.cls = running * 100 <= out.total * 55 ? 'A' : running * 100 <= out.total * 85 ? 'B' : 'C';
    ++out.counts[r.cls];
  }
  return out;
}

/// Lifecycle stages as of `asOf` from each customer's sale days (docs/reports.md "Charts"):
/// prospect without a sale; lapsed when the days since the last sale reach twice the usual
/// interval or `churnDays`; else loyal from 5 sale days, repeat from 2, first_purchase. Due to
/// buy: not lapsed, and the usual interval has passed.
struct RetailLifecycle {
  std::map<std::string, std::int64_t> stages;
  std::int64_t due = 0;

  std::int64_t members(const std::string& stage) const {
    const auto it = stages.find(stage);
    return it == stages.end() ? 0 : it->second;
  }
};

inline RetailLifecycle retailLifecycle(const std::vector<RetailInvoice>& invoices, const std::string& asOf, std::int64_t churnDays) {
  std::map<std::string, std::set<std::string>> saleDays;  // every customer, with the days they bought on
  for (const auto& i : invoices) {
    if (i.customer.empty()) continue;
    auto& days = saleDays[i.customer];
    if (!i.refund()) days.insert(i.day);
  }
  RetailLifecycle out;
  for (const auto& [customer, days] : saleDays) {
    if (days.empty()) {
      ++out.stages["prospect"];
      continue;
    }
    const auto n = static_cast<std::int64_t>(days.size());
    const std::int64_t span = retailDayNumber(*days.rbegin()) - retailDayNumber(*days.begin());
    const std::int64_t since = retailDayNumber(asOf) - retailDayNumber(*days.rbegin());
    const bool lapsed = (n >= 2 && since * (n - 1) >= 2 * span) || since >= churnDays;
    ++out.stages[lapsed ? "lapsed" : n >= 5 ? "loyal" : n >= 2 ? "repeat" : "first_purchase"];
    if (!lapsed && n >= 2 && since * (n - 1) >= span) ++out.due;
  }
  return out;
}

/// Event number `seq` of the shop's terminal `terminal`, as the terminal uploads it.
inline nlohmann::json retailEvent(const std::string& terminal, std::int64_t seq, const std::string& type, const std::string& at,
                                  nlohmann::json payload) {
  payload["store_id"] = kRetailStore;
  payload["terminal_id"] = terminal;
  return {{"event_id", terminal + "-" + std::to_string(seq)}, {"seq", seq}, {"type", type}, {"at", at}, {"payload", std::move(payload)}};
}

/// The shop's terminal kRetailTerminal's events into `store`, in batches of 1,000, each required
/// to be applied whole. The terminal is added to the store first (not registered: its events go
/// straight to HqStore::ingest).
class RetailUpload {
 public:
  RetailUpload(hq::HqStore& store, Timestamp now) : m_store(store), m_now(now) {
    REQUIRE(store.addTerminal(kRetailStore, kRetailTerminal, kRetailZone, now, "cli:test"));
  }
  RetailUpload(const RetailUpload&) = delete;
  RetailUpload& operator=(const RetailUpload&) = delete;

  void add(const std::string& type, const std::string& at, nlohmann::json payload) {
    m_events.push_back(retailEvent(kRetailTerminal, ++m_seq, type, at, std::move(payload)));
    if (m_events.size() == 1000) flush();
  }
  void flush() {
    if (m_events.empty()) return;
    auto req = sync::decodeUploadRequest(nlohmann::json{{"terminal_id", kRetailTerminal}, {"events", m_events}});
    REQUIRE(req);
    auto res = m_store.ingest(*req, m_now);
    REQUIRE(res);
    REQUIRE(res->ackedThrough == m_seq);
    m_events = nlohmann::json::array();
  }

  /// The year: each customer enrolled (card "9" + id, phone "+44770" + id, name "Customer " +
  /// id, no marketing consent) with their first invoice, then every invoice. Flushed.
  void year(const std::vector<RetailInvoice>& invoices) {
    std::set<std::string> enrolled;
    for (const auto& i : invoices) {
      if (!i.customer.empty() && enrolled.insert(i.customer).second) {
        add("member.enrolled", i.at,
            {{"member_id", i.customer}, {"card_no", "9" + i.customer}, {"phone", "+44770" + i.customer},
             {"name", "Customer " + i.customer}, {"birthday", nullptr}, {"language", "en"}, {"consent_marketing", false},
             {"consent_version", nullptr}, {"referrer_id", nullptr}});
      }
      const nlohmann::json member = i.customer.empty() ? nlohmann::json(nullptr) : nlohmann::json(i.customer);
      if (!i.refund()) {
        const std::string amount = pounds(i.pence);
        add("sale.recorded", i.at,
            {{"sale_id", i.number}, {"member_id", member},
             {"lines", {{{"sku", "INVOICE"}, {"description", nullptr}, {"qty", 1}, {"unit_price", amount}, {"amount", amount}}}},
             {"subtotal", amount}, {"discount", "0.00"}, {"total", amount}, {"points_earned", i.customer.empty() ? 0 : i.pence / 100},
             {"points_redeemed", 0}});
      } else {
        add("sale.refunded", i.at,
            {{"refund_id", i.number}, {"sale_id", i.number}, {"member_id", member}, {"lines", nlohmann::json::array()},
             {"amount", pounds(-i.pence)}, {"points_reversed", 0}, {"points_returned", 0}});
      }
    }
    flush();
  }

 private:
  hq::HqStore& m_store;
  Timestamp m_now;
  nlohmann::json m_events = nlohmann::json::array();
  std::int64_t m_seq = 0;
};

}  // namespace loyalty::test
