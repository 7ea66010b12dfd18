// Stores in zones with summer time, across the spring-forward and fall-back nights: a sale counts
// on the store's local day at head office (sales by day), and the counter's day-based rules
// (the birthday greeting, points expiry) turn at local midnight, whichever offset is in force.
#include <catch2/catch.hpp>

#include <map>

#include "sync_fixture.hpp"

using namespace loyalty;
using namespace loyalty::test;
using nlohmann::json;

namespace {

json saleAt(const std::string& id, const std::string& at) {
  json s = sale(id, std::nullopt, "1.00");
  s["at"] = at;
  return s;
}

/// Sales per local day from head office's sales-by-day report for one store.
std::map<std::string, std::int64_t> salesByDay(const Hq& hq, const std::string& store, const std::string& from,
                                               const std::string& to) {
  const json r = hq.get("/api/v1/reports/sales?group=day&from=" + from + "&to=" + to + "&store=" + store);
  std::map<std::string, std::int64_t> out;
  for (const json& row : r.at("rows")) out[row.at("day").get<std::string>().substr(0, 10)] += row.at("sales").get<std::int64_t>();
  return out;
}

struct Night {
  const char* zone;
  std::vector<std::pair<std::string, std::string>> sales;  ///< (UTC instant, expected local day)
};

/// A terminal whose store is in `zone` (its own config) running exec requests.
std::vector<json> execIn(const Terminal& t, const std::string& zone, const std::vector<json>& requests) {
  TempDir cfg;
  const std::string config = cfg.write("terminal.toml", "[store]\ntimezone = \"" + zone + "\"\n");
  std::string input;
  for (const json& r : requests) input += r.dump() + "\n";
  const RunResult r = run({terminalBinary(), "exec", "--data", t.dataDir(), "--config", config}, input);
  INFO(r.err);
  REQUIRE(r.exit == 0);
  std::vector<json> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) out.push_back(json::parse(line));
  return out;
}

}  // namespace

TEST_CASE("DST nights: head office counts each sale on its store's local day in New York and Berlin",
          "[sync][e2e][clock][zone]") {
  Hq hq;
  hq.start();
  // Spring forward (clocks 02:00 -> 03:00) and fall back (02:00 -> 01:00, 01:30 happens twice).
  const std::vector<Night> nights = {
      {"America/New_York",
       {{"2026-03-08T04:30:00Z", "2026-03-07"},    // 23:30 EST
        {"2026-03-08T06:59:00Z", "2026-03-08"},    // 01:59 EST, the last minute before the jump
        {"2026-03-08T07:01:00Z", "2026-03-08"},    // 03:01 EDT
        {"2026-03-09T03:30:00Z", "2026-03-08"},    // 23:30 EDT
        {"2026-03-09T04:30:00Z", "2026-03-09"},    // 00:30 EDT (a fixed EST offset would say the 8th)
        {"2026-11-01T03:30:00Z", "2026-10-31"},    // 23:30 EDT
        {"2026-11-01T05:30:00Z", "2026-11-01"},    // 01:30 EDT
        {"2026-11-01T06:30:00Z", "2026-11-01"},    // 01:30 EST, the second time
        {"2026-11-02T04:30:00Z", "2026-11-01"},    // 23:30 EST (a fixed EDT offset would say the 2nd)
        {"2026-11-02T05:30:00Z", "2026-11-02"}}},  // 00:30 EST
      {"Europe/Berlin",
       {{"2026-03-28T23:30:00Z", "2026-03-29"},    // 00:30 CET
        {"2026-03-29T21:30:00Z", "2026-03-29"},    // 23:30 CEST
        {"2026-03-29T22:30:00Z", "2026-03-30"},    // 00:30 CEST (a fixed CET offset would say the 29th)
        {"2026-10-24T22:30:00Z", "2026-10-25"},    // 00:30 CEST
        {"2026-10-25T00:30:00Z", "2026-10-25"},    // 02:30 CEST
        {"2026-10-25T01:30:00Z", "2026-10-25"},    // 02:30 CET, the second time
        {"2026-10-25T22:30:00Z", "2026-10-25"},    // 23:30 CET
        {"2026-10-25T23:30:00Z", "2026-10-26"}}},  // 00:30 CET
  };
  int n = 0;
  for (const Night& night : nights) {
    const std::string store = night.zone == std::string("Europe/Berlin") ? "BER" : "NYC";
    Terminal t;
    REQUIRE(t.registerWith(hq, hq.command({"terminal", "add", "--store", store, "--terminal", store + "-1", "--timezone",
                                           night.zone}))
                .exit == 0);
    std::vector<json> requests;
    std::map<std::string, std::int64_t> expected;
    for (const auto& [at, day] : night.sales) {
      requests.push_back(saleAt(store + "-" + std::to_string(n++), at));
      ++expected[day];
    }
    for (const json& r : t.exec(requests)) REQUIRE(r.at("ok") == true);
    REQUIRE(t.syncOnce().exit == 0);
    INFO(night.zone);
    CHECK(salesByDay(hq, store, "2026-03-01", "2026-11-30") == expected);
  }
}

TEST_CASE("DST nights at the counter: the birthday greeting and points expiry turn at local midnight",
          "[sync][e2e][clock][zone]") {
  Terminal t;
  // New York, spring forward on 8 March 2026: the birthday on the 9th begins at 04:00Z (EDT).
  const std::vector<json> ny = execIn(
      t, "America/New_York",
      {{{"id", "enrol"}, {"op", "enroll"}, {"phone", "13800138001"}, {"name", "Spring"}, {"birthday", "1990-03-09"},
        {"consent_marketing", false}, {"at", "2026-01-10T15:00:00Z"}},
       {{"id", "eve"}, {"op", "member"}, {"member", "13800138001"}, {"at", "2026-03-09T03:59:00Z"}},
       {{"id", "day"}, {"op", "member"}, {"member", "13800138001"}, {"at", "2026-03-09T04:01:00Z"}},
       // Fall back on 1 November: the birthday on the 2nd begins at 05:00Z (EST).
       {{"id", "enrol2"}, {"op", "enroll"}, {"phone", "13800138002"}, {"name", "Autumn"}, {"birthday", "1985-11-02"},
        {"consent_marketing", false}, {"at", "2026-01-10T15:00:00Z"}},
       {{"id", "eve2"}, {"op", "member"}, {"member", "13800138002"}, {"at", "2026-11-02T04:59:00Z"}},
       {{"id", "day2"}, {"op", "member"}, {"member", "13800138002"}, {"at", "2026-11-02T05:01:00Z"}}});
  const auto hasBirthday = [](const json& answer) {
    INFO(answer.dump());
    REQUIRE(answer.at("ok") == true);
    for (const json& g : answer.at("result").at("greetings")) {
      if (g.at("kind") == "birthday") return true;
    }
    return false;
  };
  REQUIRE(ny.size() == 6);
  CHECK_FALSE(hasBirthday(ny[1]));
  CHECK(hasBirthday(ny[2]));
  CHECK_FALSE(hasBirthday(ny[4]));
  CHECK(hasBirthday(ny[5]));

  // Berlin: points earned in 2025 expire at the end of 31 December 2026, local time (23:00Z).
  Terminal b;
  const std::vector<json> berlin = execIn(
      b, "Europe/Berlin",
      {{{"id", "enrol"}, {"op", "enroll"}, {"phone", "13800138003"}, {"name", "Winter"}, {"consent_marketing", false},
        {"at", "2025-06-01T10:00:00Z"}},
       {{"id", "earn"}, {"op", "sale"}, {"sale_id", "B-1"}, {"member", "13800138003"}, {"at", "2025-06-01T10:05:00Z"},
        {"lines", json::array({{{"sku", "A"}, {"qty", 1}, {"unit_price", "80.00"}}})}},
       {{"id", "last"}, {"op", "member"}, {"member", "13800138003"}, {"at", "2026-12-31T22:59:00Z"}},
       {{"id", "next"}, {"op", "member"}, {"member", "13800138003"}, {"at", "2026-12-31T23:01:00Z"}}});
  REQUIRE(berlin.size() == 4);
  CHECK(berlin[2].at("result").at("points") == 80);
  CHECK(berlin[3].at("result").at("points") == 0);
}
