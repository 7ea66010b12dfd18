// End to end with real data: the UCI Online Retail year (shared/data/online_retail.csv.gz)
// uploaded to a real loyalty-hq as one terminal's events (one member per customer, one sale per
// invoice), then HQ's reports are compared with figures this file computes from the CSV on its
// own (integer pence; the project's Money code is not used for the expected side).
#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <sstream>
#include <unordered_map>

#include "loyalty/terminal/csv.hpp"
#include "support/hq_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;

namespace {

std::string datasetPath() {
  if (const char* p = std::getenv("LOYALTY_DATASET"); p && *p) return p;
  return LOYALTY_DEFAULT_DATASET;
}

std::optional<std::string> readGzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return std::nullopt;
  std::string text;
  std::vector<char> chunk(1 << 20);
  int got = 0;
  while ((got = gzread(f, chunk.data(), static_cast<unsigned>(chunk.size()))) > 0) text.append(chunk.data(), static_cast<std::size_t>(got));
  gzclose(f);
  if (got < 0) return std::nullopt;
  return text;
}

/// "2.55" -> 2550 thousandths of a pound (the file has at most 3 decimals).
std::int64_t thousandths(std::string_view t) {
  const bool neg = !t.empty() && t.front() == '-';
  if (neg) t.remove_prefix(1);
  const auto dot = t.find('.');
  std::int64_t whole = 0, frac = 0;
  std::from_chars(t.data(), t.data() + (dot == std::string_view::npos ? t.size() : dot), whole);
  std::size_t digits = 0;
  if (dot != std::string_view::npos) {
    for (const char c : t.substr(dot + 1)) {
      frac = frac * 10 + (c - '0');
      ++digits;
    }
  }
  for (; digits < 3; ++digits) frac *= 10;
  return (neg ? -1 : 1) * (whole * 1000 + frac);
}

std::int64_t linePence(std::int64_t qty, std::int64_t priceThousandths) {
  const std::int64_t tenths = qty * priceThousandths;
  const std::int64_t mag = ((tenths < 0 ? -tenths : tenths) + 5) / 10;
  return tenths < 0 ? -mag : mag;
}

std::string pence(std::int64_t p) {
  const std::int64_t m = p < 0 ? -p : p;
  return (p < 0 ? "-" : "") + std::to_string(m / 100) + (m % 100 < 10 ? ".0" : ".") + std::to_string(m % 100);
}

struct Invoice {
  std::string number, date, customer;
  json lines = json::array();
  std::int64_t total = 0;
};

/// "2011-06-01 10:30:00" as UTC (the report's days are UTC days in this version).
std::string utc(const std::string& s) { return s.substr(0, 10) + "T" + s.substr(11) + "Z"; }

}  // namespace

TEMPLATE_TEST_CASE("replay: the Online Retail year uploaded to HQ gives the CSV's revenue, counts and ABC classes",
                   "[hq][slow][e2e]", SqliteBackend, PostgresBackend) {
  auto text = readGzip(datasetPath());
  if (!text) {
    WARN("DATASET NOT FOUND: " << datasetPath());
    return;
  }
  std::istringstream in(std::move(*text));
  loyalty::terminal::CsvReader reader(in);
  std::vector<std::string> f;
  REQUIRE(reader.next(f));
  std::vector<Invoice> invoices;
  std::unordered_map<std::string, std::size_t> byNumber;
  while (reader.next(f)) {
    if (f.size() != 8) FAIL("line " << reader.line() << ": " << f.size() << " fields");
    const auto [it, isNew] = byNumber.try_emplace(f[0], invoices.size());
    if (isNew) invoices.push_back({f[0], f[4], f[6]});
    Invoice& inv = invoices[it->second];
    std::int64_t qty = 0;
    std::from_chars(f[3].data(), f[3].data() + f[3].size(), qty);
    const std::int64_t amount = linePence(qty, thousandths(f[5]));
    inv.total += amount;
    inv.lines.push_back({{"sku", f[1]}, {"description", f[2]}, {"qty", qty}, {"unit_price", f[5]}, {"amount", pence(amount)}});
  }
  // Adjustment invoices ("A...": bad-debt write-offs) are not sales.
  std::erase_if(invoices, [](const Invoice& i) { return i.number.front() == 'A'; });

  // Expected figures.
  std::int64_t revenue = 0, memberRevenue = 0, memberSales = 0;
  std::map<std::string, std::int64_t> spend;
  for (const auto& i : invoices) {
    revenue += i.total;
    if (i.customer.empty()) continue;
    ++memberSales;
    memberRevenue += i.total;
    spend[i.customer] += i.total;
  }
  std::vector<std::pair<std::int64_t, std::string>> ranked;
  std::int64_t positive = 0;
  for (const auto& [id, s] : spend) {
    if (s > 0) {
      ranked.push_back({-s, "C" + id});
      positive += s;
    }
  }
  std::sort(ranked.begin(), ranked.end());
  std::int64_t cum = 0, a = 0, b = 0, c = 0;
  for (const auto& [negSpend, id] : ranked) {
    cum += -negSpend;
    if (cum * 100 <= positive * 55) ++a;
    else if (cum * 100 <= positive * 85) ++b;
    else ++c;
  }

  HqInstance hq(TestType::kName);
  hq.start();
  const std::string token = hq.registerTerminal("UK1", "T1");
  std::int64_t seq = 0;
  json events = json::array();
  std::size_t bytes = 0;
  auto client = hq.client();
  const auto flush = [&] {
    if (events.empty()) return;
    const std::string body = batch("T1", events).dump();
    std::string gz;
    REQUIRE(httplib::detail::gzip_compressor().compress(body.data(), body.size(), true, [&](const char* d, size_t n) {
      gz.append(d, n);
      return true;
    }));
    httplib::Headers h = bearer(token);
    h.emplace("Content-Encoding", "gzip");
    auto r = client->Post("/api/v1/events", h, gz, "application/json");
    REQUIRE(r);
    if (r->status != 200) FAIL(r->body);
    const json res = json::parse(r->body);
    if (res.at("acked_through") != seq) FAIL(r->body.substr(0, 2000));
    events = json::array();
    bytes = 0;
  };
  const auto push = [&](json e) {
    bytes += e.dump().size();
    events.push_back(std::move(e));
    if (events.size() == 1000 || bytes > 6 * 1024 * 1024) flush();
  };
  std::map<std::string, bool> enrolled;
  for (const auto& i : invoices) {
    std::optional<std::string> member;
    if (!i.customer.empty()) {
      member = "C" + i.customer;
      if (!enrolled[i.customer]) {
        enrolled[i.customer] = true;
        json e = enrolEvent("T1", "UK1", ++seq, *member);
        e["event_id"] = "T1-e" + std::to_string(seq);
        e["payload"]["member_id"] = *member;
        push(e);
      }
    }
    ++seq;
    const std::int64_t points = i.total >= 0 ? i.total / 100 : -((-i.total) / 100);
    json e = saleEvent("T1", "UK1", seq, member, pence(i.total), points, 0, utc(i.date));
    e["payload"]["lines"] = i.lines;
    e["payload"]["subtotal"] = pence(i.total);
    push(e);
  }
  flush();

  const json summary = getJsonChecked(hq, "/api/v1/reports/summary");
  CHECK(summary.at("sales") == static_cast<std::int64_t>(invoices.size()));
  CHECK(summary.at("net_revenue") == pence(revenue));
  CHECK(summary.at("member_sales") == memberSales);
  CHECK(summary.at("member_revenue") == pence(memberRevenue));
  CHECK(summary.at("members") == static_cast<std::int64_t>(spend.size()));
  const json abc = getJsonChecked(hq, "/api/v1/reports/abc");
  CHECK(abc.at("counts") == json{{"A", a}, {"B", b}, {"C", c}});
  CHECK(abc.at("members")[0].at("member_id") == ranked.front().second);
  CHECK(abc.at("members")[0].at("spend") == pence(-ranked.front().first));
  const json top = getJsonChecked(hq, "/api/v1/members/" + ranked.front().second);
  CHECK(top.at("lifetime_spend") == pence(-ranked.front().first));
}
