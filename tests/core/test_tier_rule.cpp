// The tier rule both the terminal and head office apply (lifecycle.hpp), and the programme
// reader head office uses on what it publishes (programme_toml.hpp).

#include <catch2/catch.hpp>

#include <vector>

#include "loyalty/core/lifecycle.hpp"
#include "loyalty/core/programme_toml.hpp"

using namespace loyalty;

namespace {

Money m(const char* s) { return *Money::parse(s, "m"); }
Date day(int y, unsigned month, unsigned d) {
  return Date{std::chrono::year{y}, std::chrono::month{month}, std::chrono::day{d}};
}

/// member 0, silver 500, gold 900 (a programme with its own thresholds).
std::vector<Tier> ownTiers() {
  return {{"member", m("0"), Multiplier::fromTenThousandths(10'000)},
          {"silver", m("500.00"), Multiplier::fromTenThousandths(12'000)},
          {"gold", m("900.00"), Multiplier::fromTenThousandths(15'000)}};
}

}  // namespace

TEST_CASE("saleTierWindow and reviewTierWindow: the 12 months ending today, or before the month began") {
  struct Row {
    Date today;
    DayWindow sale, review;
  };
  const Row rows[] = {
      {day(2027, 4, 1), {day(2026, 4, 2), day(2027, 4, 1)}, {day(2026, 4, 1), day(2027, 3, 31)}},
      {day(2027, 4, 30), {day(2026, 5, 1), day(2027, 4, 30)}, {day(2026, 4, 1), day(2027, 3, 31)}},
      {day(2027, 1, 1), {day(2026, 1, 2), day(2027, 1, 1)}, {day(2026, 1, 1), day(2026, 12, 31)}},
      {day(2028, 3, 15), {day(2027, 3, 16), day(2028, 3, 15)}, {day(2027, 3, 1), day(2028, 2, 29)}},
      {day(2029, 3, 1), {day(2028, 3, 2), day(2029, 3, 1)}, {day(2028, 2, 29), day(2029, 2, 28)}},
  };
  for (const Row& r : rows) {
    INFO(formatDate(r.today));
    CHECK(saleTierWindow(r.today) == r.sale);
    CHECK(reviewTierWindow(r.today) == r.review);
  }
}

TEST_CASE("tierAfterSale: up to what the rolling spend reaches, never down, only on a positive sale") {
  const auto tiers = ownTiers();
  struct Row {
    std::size_t before;
    const char* total;
    const char* spend;
    bool mayRaise;
    std::size_t after;
  };
  const Row rows[] = {
      {0, "600.00", "600.00", true, 1},   // 600.00 is silver here (member under the defaults)
      {0, "100.00", "499.99", true, 0},   // below the first threshold
      {0, "500.00", "500.00", true, 1},   // a threshold met exactly counts
      {0, "50.00", "950.00", true, 2},    // straight to gold
      {1, "350.00", "950.00", true, 2},
      {2, "10.00", "10.00", false, 2},    // the top tier: nothing to reach, never down
      {1, "10.00", "20.00", true, 1},     // spend below the tier held: kept (downgrades are monthly)
      {0, "0.00", "950.00", false, 0},    // a zero sale raises nothing
      {0, "-20.00", "950.00", false, 0},  // nor does a return
  };
  for (const Row& r : rows) {
    INFO(r.before << " " << r.total << " " << r.spend);
    CHECK(saleMayRaiseTier(r.before, m(r.total), tiers) == r.mayRaise);
    CHECK(tierAfterSale(r.before, m(r.total), m(r.spend), tiers) == r.after);
  }
  CHECK(tierAfterSale(0, m("600.00"), m("600.00"), ProgrammeRules::defaultTiers()) == 0);
}

TEST_CASE("tierReviewDue and tierAfterReview: once a month, above the entry tier, only down") {
  const auto tiers = ownTiers();
  CHECK(tierReviewDue(1, "", day(2027, 4, 1)));
  CHECK(tierReviewDue(2, "2027-03", day(2027, 4, 1)));
  CHECK_FALSE(tierReviewDue(2, "2027-04", day(2027, 4, 1)));  // reviewed (or upgraded) this month
  CHECK_FALSE(tierReviewDue(2, "2027-04", day(2027, 4, 30)));
  CHECK_FALSE(tierReviewDue(0, "", day(2027, 4, 1)));         // the entry tier has nowhere to go
  CHECK(reviewMonthOf(day(2027, 4, 30)) == "2027-04");
  struct Row {
    std::size_t current;
    const char* spend;
    std::size_t after;
  };
  const Row rows[] = {{2, "1150.00", 2}, {2, "900.00", 2}, {2, "899.99", 1}, {2, "550.00", 1},
                      {2, "10.00", 0},   {1, "-30.00", 0}, {1, "950.00", 1}, {0, "950.00", 0}};
  for (const Row& r : rows) {
    INFO(r.current << " " << r.spend);
    CHECK(tierAfterReview(r.current, m(r.spend), tiers) == r.after);
  }
}

TEST_CASE("instantsOf: a window's local days as instants in the store's zone") {
  // A fixed UTC+8 zone: local midnight is 16:00 UTC the day before.
  ZoneRules shanghai;
  shanghai.initialOffsetSeconds = 8 * 3600;
  const InstantWindow w = instantsOf({day(2026, 4, 1), day(2027, 3, 31)}, shanghai);
  CHECK(formatRfc3339(w.begin) == "2026-03-31T16:00:00Z");
  CHECK(formatRfc3339(w.end) == "2027-03-31T16:00:00Z");
  const InstantWindow utc = instantsOf({day(2026, 4, 1), day(2026, 4, 1)}, ZoneRules::utc());
  CHECK(formatRfc3339(utc.begin) == "2026-04-01T00:00:00Z");
  CHECK(formatRfc3339(utc.end) == "2026-04-02T00:00:00Z");
}

TEST_CASE("parseProgramme: what head office publishes, read as the terminal reads it") {
  auto own = parseProgramme(
      "[[tier]]\nname = \"member\"\nthreshold = \"0\"\n[[tier]]\nname = \"silver\"\nthreshold = \"500.00\"\n"
      "multiplier = \"1.2\"\n");
  REQUIRE(std::holds_alternative<ProgrammeRules>(own));
  const auto& tiers = std::get<ProgrammeRules>(own).tiers;
  REQUIRE(tiers.size() == 2);
  CHECK(tiers[1].name == "silver");
  CHECK(tiers[1].threshold == m("500.00"));
  // Sections left out keep the defaults.
  auto promotionsOnly = parseProgramme("[loyalty]\nreferral_bonus_points = 50\n");
  REQUIRE(std::holds_alternative<ProgrammeRules>(promotionsOnly));
  CHECK(std::get<ProgrammeRules>(promotionsOnly).tiers == ProgrammeRules::defaultTiers());
  struct Bad {
    const char* text;
    const char* key;
  };
  const Bad bad[] = {
      {"[store]\nid = \"S1\"\n", "store"},  // not part of the programme
      {"[[tier]]\nname = \"member\"\nthreshold = \"10.00\"\n", "tier[0].threshold"},
      {"[[tier]]\nname = \"member\"\nthreshold = \"0\"\n[[tier]]\nname = \"silver\"\nthreshold = \"0\"\n",
       "tier[1].threshold"},
      {"[[tier]]\nname = \"member\"\nthreshold = \"0\"\n[[promotion]]\nid = \"p\"\nkind = \"member_discount\"\n"
       "percent = \"5\"\nskus = [\"A\"]\nmin_tier = \"gold\"\n",
       "promotion p.min_tier"},
      {"[loyalty]\nno_such_key = 1\n", "loyalty.no_such_key"},
  };
  for (const Bad& b : bad) {
    INFO(b.text);
    auto r = parseProgramme(b.text);
    REQUIRE(std::holds_alternative<ProgrammeError>(r));
    CHECK(std::get<ProgrammeError>(r).key == b.key);
  }
}
