#include <catch2/catch.hpp>

#include <map>

#include "../support/temp_dir.hpp"
#include "loyalty/terminal/counter_queries.hpp"
#include "loyalty/terminal/counter_service.hpp"
#include "loyalty/terminal/feedback.hpp"
#include "loyalty/terminal/staff.hpp"
#include "loyalty/terminal/store.hpp"
#include "loyalty/terminal/timezone.hpp"

using namespace loyalty;
using namespace loyalty::terminal;

namespace {

Timestamp at(const char* text) { return *parseRfc3339(text, "at"); }

CounterConfig inZone(const char* zone) {
  auto rules = loadZone(zone);
  REQUIRE(rules.hasValue());
  CounterConfig config;
  config.store.timezone = zone;
  config.zone = *rules;
  return config;
}

/// A store in `zone` over a fresh terminal database.
struct Store {
  explicit Store(const char* zone) : config(inZone(zone)) {}
  CounterConfig config;
  test::TempDir dir;
  db::Database db = openTerminalDatabase(dir.str());
  RandomIds ids{5};
  CounterService service{db, config, ids};
  FeedbackService feedback{db, "S001", "T1", ids};
  CounterQueries queries{db, config.zone};

  std::string enroll(const char* phone, Timestamp when, const char* name = "Member") {
    EnrollRequest r;
    r.phone = phone;
    r.name = name;
    r.at = when;
    auto m = service.enroll(r);
    REQUIRE(m.hasValue());
    return m->memberId;
  }
  void sale(const char* id, const std::optional<std::string>& member, const char* price, Timestamp when) {
    SaleRequest r;
    r.saleId = id;
    r.member = member;
    r.lines = {{"SKU-1", std::nullopt, 1, price}};
    r.at = when;
    REQUIRE(service.sale(r).hasValue());
  }
};

}  // namespace

TEST_CASE("Day figures cover the store's local day, midnight to midnight in its zone", "[terminal]") {
  // Kiritimati is UTC+14: its local midnight is 10:00 UTC the day before, so a machine on UTC
  // (or any offset read from the machine) would split the store's day in the wrong place.
  Store store("Pacific/Kiritimati");
  const std::string member = store.enroll("13800138000", at("2026-03-10T09:59:00Z"));  // 23:59 on the 10th
  store.sale("S-before", member, "10.00", at("2026-03-10T09:59:59Z"));                // 23:59:59 on the 10th
  store.sale("S-after", member, "25.50", at("2026-03-10T10:00:00Z"));                 // 00:00:00 on the 11th
  store.sale("S-later", std::nullopt, "4.50", at("2026-03-11T09:59:59Z"));           // 23:59:59 on the 11th
  SurveyAnswer survey{"Q-1", "S-after", member, "csat5", 4, at("2026-03-10T10:00:01Z")};
  REQUIRE(store.feedback.recordSurvey(survey).hasValue());

  const LocalDayFigures tenth = store.queries.dayFigures(at("2026-03-10T00:00:00Z"));
  CHECK(formatDate(tenth.day) == "2026-03-10");
  CHECK(tenth.figures.sales == 1);
  CHECK(tenth.figures.total.toString() == "10.00");
  CHECK(tenth.figures.enrolments == 1);
  CHECK(tenth.figures.surveys == 0);

  // 10:00 UTC on the 10th is already the 11th at the store, and UTC's 10th for the machine.
  const LocalDayFigures eleventh = store.queries.dayFigures(at("2026-03-10T10:00:00Z"));
  CHECK(formatDate(eleventh.day) == "2026-03-11");
  CHECK(eleventh.figures.sales == 2);
  CHECK(eleventh.figures.memberSales == 1);
  CHECK(eleventh.figures.total.toString() == "30.00");
  CHECK(eleventh.figures.pointsEarned == 25);
  CHECK(eleventh.figures.enrolments == 0);
  CHECK(eleventh.figures.surveys == 1);
  CHECK(eleventh.figures.surveyAverage == Approx(4.0));
  CHECK(store.queries.dayFigures(at("2026-03-11T09:59:59Z")).figures.sales == 2);
  CHECK(store.queries.dayFigures(at("2026-03-11T10:00:00Z")).figures.sales == 0);
}

TEST_CASE("Day figures per cashier: sales, refunds they processed, net, points and enrolments", "[terminal]") {
  Store store("Asia/Shanghai");
  REQUIRE(addStaff(store.db, "C1", "王芳", "cashier", "1234").hasValue());
  REQUIRE(addStaff(store.db, "C2", "Li Lei", "supervisor", "654321").hasValue());
  const auto as = [](auto r, const char* staff) {
    r.staffId = staff;
    return r;
  };
  EnrollRequest e;
  e.phone = "13800138000";
  e.name = "会员";
  e.at = at("2026-03-10T01:00:00Z");
  const auto member = store.service.enroll(as(e, "C1"));
  REQUIRE(member.hasValue());
  SaleRequest big{"S-1", member->memberId, {{"SKU-1", std::nullopt, 2, "50.00"}}, 0, at("2026-03-10T02:00:00Z")};
  REQUIRE(store.service.sale(as(big, "C1")).hasValue());
  SaleRequest small{"S-2", std::nullopt, {{"SKU-2", std::nullopt, 1, "8.00"}}, 0, at("2026-03-10T03:00:00Z")};
  REQUIRE(store.service.sale(as(small, "C2")).hasValue());
  store.sale("S-3", std::nullopt, "1.50", at("2026-03-10T04:00:00Z"));  // exec without a staff id
  // C2 takes back one of C1's two items: the refund is C2's.
  RefundRequest back{"R-1", "S-1", std::vector<RefundLineInput>{{"SKU-1", 1}}, at("2026-03-10T05:00:00Z")};
  REQUIRE(store.service.refund(as(back, "C2")).hasValue());
  RedeemRequest redeem{"RD-1", member->memberId, 20, std::nullopt, std::nullopt, at("2026-03-10T06:00:00Z")};
  REQUIRE(store.service.redeem(as(redeem, "C1")).hasValue());

  const DayFigures d = store.queries.dayFigures(at("2026-03-10T08:00:00Z")).figures;
  CHECK(d.total.toString() == "109.50");
  CHECK(d.net.toString() == "59.50");
  CHECK(d.pointsEarned == 100);
  CHECK(d.pointsReversed == 50);
  REQUIRE(d.byStaff.size() == 3);
  const StaffDayFigures& c1 = d.byStaff[0];
  CHECK(c1.staffId == "C1");
  CHECK(c1.name == "王芳");
  CHECK(c1.sales == 1);
  CHECK(c1.total.toString() == "100.00");
  CHECK(c1.refunds == 0);
  CHECK(c1.net.toString() == "100.00");
  CHECK(c1.pointsEarned == 100);
  CHECK(c1.pointsRedeemed == 20);
  CHECK(c1.enrolments == 1);
  const StaffDayFigures& c2 = d.byStaff[1];
  CHECK(c2.staffId == "C2");
  CHECK(c2.name == "Li Lei");
  CHECK(c2.sales == 1);
  CHECK(c2.refunds == 1);
  CHECK(c2.refunded.toString() == "50.00");
  CHECK(c2.net.toString() == "-42.00");
  CHECK(c2.pointsReversed == 50);
  CHECK(c2.enrolments == 0);
  const StaffDayFigures& none = d.byStaff[2];
  CHECK_FALSE(none.staffId.has_value());
  CHECK(none.sales == 1);
  CHECK(none.net.toString() == "1.50");
}

TEST_CASE("A local day across a summer-time change lasts 23 or 25 hours", "[terminal]") {
  auto berlin = loadZone("Europe/Berlin");
  REQUIRE(berlin.hasValue());
  const LocalDay spring = localDayOf(at("2026-03-29T12:00:00Z"), *berlin);
  CHECK(formatDate(spring.day) == "2026-03-29");
  CHECK(spring.from == at("2026-03-28T23:00:00Z"));
  CHECK(spring.to == at("2026-03-29T22:00:00Z"));
  const LocalDay autumn = localDayOf(at("2026-10-25T12:00:00Z"), *berlin);
  CHECK(autumn.from == at("2026-10-24T22:00:00Z"));
  CHECK(autumn.to == at("2026-10-25T23:00:00Z"));
}

TEST_CASE("The catalogue lists active rewards, cheapest first", "[terminal]") {
  Store store("UTC");
  REQUIRE(store.service.putReward("MUG", "Mug", 400).hasValue());
  REQUIRE(store.service.putReward("BAG", "Bag", 150).hasValue());
  REQUIRE(store.service.putReward("PEN", "Pen", 150).hasValue());
  store.db.exec("UPDATE rewards SET active = 0 WHERE reward_id = 'PEN'");
  const auto rewards = store.queries.catalogue();
  REQUIRE(rewards.size() == 2);
  CHECK(rewards[0].rewardId == "BAG");
  CHECK(rewards[1].rewardId == "MUG");
  CHECK(rewards[1].points == 400);
}

TEST_CASE("The names' characters are read in slices, each counted, ASCII left out", "[terminal]") {
  Store s("UTC");
  const Timestamp t = at("2026-12-01T10:00:00Z");
  s.enroll("13800000001", t, "王小明");
  s.enroll("13800000002", t, "王芳");
  s.enroll("13800000003", t, "Anna Lee");
  s.enroll("13800000004", t, "李小萱");
  std::map<char32_t, std::int64_t> counts;
  std::int64_t after = 0;
  int slices = 0;
  for (;;) {
    const auto slice = s.queries.nameCharacters(after, 2);
    for (const auto& [c, n] : slice.counts) counts[c] += n;
    if (slice.lastRowid == 0) break;
    CHECK(slice.lastRowid > after);
    after = slice.lastRowid;
    ++slices;
  }
  CHECK(slices == 2);  // 2 + 2 members, then an empty slice
  CHECK(counts == std::map<char32_t, std::int64_t>{{U'王', 2}, {U'小', 2}, {U'明', 1}, {U'芳', 1}, {U'李', 1}, {U'萱', 1}});
}
