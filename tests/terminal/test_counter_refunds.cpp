// Refunds by line with a preview, the refund supervisor rule and exchanges (CounterService).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "../support/temp_dir.hpp"
#include "loyalty/core/programme_toml.hpp"
#include "loyalty/terminal/counter_service.hpp"
#include "loyalty/terminal/outbox.hpp"
#include "loyalty/terminal/staff.hpp"
#include "loyalty/terminal/store.hpp"

using namespace loyalty;
using namespace loyalty::terminal;
using nlohmann::json;

namespace {

Timestamp at(const char* text) { return *parseRfc3339(text, "at"); }

/// 满减 300 − 30 and 满赠 a towel from 500, as docs/configuration.md's examples.
CounterConfig spendPromotions() {
  CounterConfig config;
  Promotion off;
  off.id = "spend300-off30";
  off.kind = Promotion::Kind::kSpendDiscount;
  off.threshold = Money::fromMinor(30'000);
  off.amount = Money::fromMinor(3'000);
  Promotion gift;
  gift.id = "spend500-gift";
  gift.kind = Promotion::Kind::kSpendGift;
  gift.threshold = Money::fromMinor(50'000);
  gift.giftSku = "GIFT-TOWEL";
  config.rules.promotions = {off, gift};
  return config;
}

struct Counter {
  explicit Counter(CounterConfig config = {}) : service(db, std::move(config), ids) {}

  test::TempDir dir;
  db::Database db = openTerminalDatabase(dir.str());
  RandomIds ids{11};
  CounterService service;

  MemberView enroll() {
    EnrollRequest r;
    r.phone = "13812345678";
    r.name = "王小明";
    r.at = at("2026-01-05T10:00:00Z");
    auto m = service.enroll(r);
    REQUIRE(m.hasValue());
    return *m;
  }

  SaleResult sale(const std::string& id, const std::optional<std::string>& member, std::vector<SaleLineInput> lines) {
    SaleRequest r;
    r.saleId = id;
    r.member = member;
    r.lines = std::move(lines);
    r.at = at("2026-02-01T12:00:00Z");
    auto s = service.sale(r);
    REQUIRE(s.hasValue());
    return *s;
  }

  Result<RefundPreview> preview(const std::string& saleId, std::optional<std::vector<RefundLineInput>> lines) {
    return service.previewRefund({saleId, std::move(lines), at("2026-02-02T12:00:00Z")});
  }

  Result<RefundResult> refund(const std::string& id, const std::string& saleId,
                              std::optional<std::vector<RefundLineInput>> lines,
                              std::optional<std::string> pin = std::nullopt) {
    RefundRequest r{id, saleId, std::move(lines), at("2026-02-02T12:00:00Z")};
    r.supervisorPin = std::move(pin);
    return service.refund(r);
  }

  std::vector<std::string> eventTypes() {
    std::vector<std::string> out;
    auto q = db.query("SELECT type FROM outbox ORDER BY seq");
    while (q.step()) out.push_back(q.text("type"));
    return out;
  }

  std::int64_t count(const char* table) {
    auto q = db.query(std::string("SELECT COUNT(*) AS n FROM ") + table);
    q.step();
    return q.int64("n");
  }
};

}  // namespace

TEST_CASE("a refund preview shows the sale's member and lines and what refunding some would do, writing nothing",
          "[terminal]") {
  Counter c;
  const MemberView m = c.enroll();
  c.sale("S-1", m.memberId, {{"TEA", std::string("绿茶"), 2, "30.00"}, {"CUP", std::string("杯子"), 1, "40.00"}});
  const auto events = c.eventTypes();

  auto whole = c.preview("S-1", std::vector<RefundLineInput>{});  // nothing asked yet
  REQUIRE(whole.hasValue());
  REQUIRE(whole->member);
  CHECK(whole->member->memberId == m.memberId);
  CHECK(whole->saleTotal.toString() == "100.00");
  REQUIRE(whole->lines.size() == 2);
  CHECK(whole->lines[0].sku == "TEA");
  CHECK(whole->lines[0].description == "绿茶");
  CHECK(whole->lines[0].qty == 2);
  CHECK(whole->lines[0].refundable == 2);
  CHECK(whole->lines[0].amount.toString() == "60.00");
  CHECK(whole->amount == Money{});

  auto one = c.preview("S-1", std::vector<RefundLineInput>{{"TEA", 1}});
  REQUIRE(one.hasValue());
  CHECK(one->amount.toString() == "30.00");
  CHECK(one->pointsReversed == 30);
  CHECK_FALSE(one->supervisorRequired);
  CHECK(c.eventTypes() == events);  // nothing written
  CHECK(c.count("refunds") == 0);

  // The refund does what the preview said, and the next preview shows what is left.
  auto done = c.refund("F-1", "S-1", std::vector<RefundLineInput>{{"TEA", 1}});
  REQUIRE(done.hasValue());
  CHECK(done->amount == one->amount);
  CHECK(done->pointsReversed == one->pointsReversed);
  auto after = c.preview("S-1", std::nullopt);
  REQUIRE(after.hasValue());
  CHECK(after->lines[0].refundedQty == 1);
  CHECK(after->lines[0].refundable == 1);
  CHECK(after->refundedAmount.toString() == "30.00");
  CHECK(after->amount.toString() == "70.00");  // all that is left

  // Refusals name the field; an unknown receipt is not_found.
  CHECK(c.preview("S-1", std::vector<RefundLineInput>{{"TEA", 2}}).error().field == "lines[0].qty");
  CHECK(c.preview("S-1", std::vector<RefundLineInput>{{"NOPE", 1}}).error().field == "lines[0].sku");
  CHECK(c.preview("S-404", std::nullopt).error().code == "not_found");

  // A fully refunded sale previews with nothing left to pay back (no error).
  REQUIRE(c.refund("F-2", "S-1", std::nullopt).hasValue());
  auto none = c.preview("S-1", std::nullopt);
  REQUIRE(none.hasValue());
  CHECK(none->amount == Money{});
  CHECK(none->lines[1].refundable == 0);
}

TEST_CASE("a refund preview shows the 满减 claw-back and the 满赠 gift to give back", "[terminal]") {
  Counter c(spendPromotions());
  const MemberView m = c.enroll();
  c.sale("S-2", m.memberId, {{"COAT", std::nullopt, 1, "450.00"}, {"HAT", std::nullopt, 1, "100.00"}});
  auto p = c.preview("S-2", std::vector<RefundLineInput>{{"HAT", 1}});
  REQUIRE(p.hasValue());
  REQUIRE(p->lines.size() == 3);
  CHECK(p->lines[2].gift);
  CHECK(p->lines[2].sku == "GIFT-TOWEL");
  CHECK(p->lines[2].refundable == 0);
  CHECK(p->giftsToReturn == std::vector<std::string>{"GIFT-TOWEL"});
  CHECK(p->clawback == Money{});  // 450 still reaches the 满减
  auto below = c.preview("S-2", std::vector<RefundLineInput>{{"COAT", 1}});
  REQUIRE(below.hasValue());
  CHECK(below->clawback > Money{});
  auto done = c.refund("F-3", "S-2", std::vector<RefundLineInput>{{"COAT", 1}});
  REQUIRE(done.hasValue());
  CHECK(done->amount == below->amount);
  CHECK(done->clawback == below->clawback);
}

TEST_CASE("refunds above refund_supervisor_above need a supervisor's PIN - a refused refund writes nothing",
          "[terminal]") {
  CounterConfig config;
  config.rules.refundSupervisorAbove = Money::fromMinor(5'000);  // 50.00
  Counter c(config);
  REQUIRE(addStaff(c.db, "SUP1", "Li", "supervisor", "246810").hasValue());
  c.sale("S-3", std::nullopt, {{"A", std::nullopt, 1, "40.00"}, {"B", std::nullopt, 1, "60.00"}});

  CHECK(c.refund("F-1", "S-3", std::vector<RefundLineInput>{{"A", 1}}).hasValue());  // 40.00: no PIN
  auto noPin = c.refund("F-2", "S-3", std::vector<RefundLineInput>{{"B", 1}});
  REQUIRE_FALSE(noPin.hasValue());
  CHECK(noPin.error().code == "forbidden");
  CHECK(noPin.error().field == "supervisor_pin");
  auto wrong = c.refund("F-2", "S-3", std::vector<RefundLineInput>{{"B", 1}}, "999999");
  REQUIRE_FALSE(wrong.hasValue());
  CHECK(wrong.error().field == "supervisor_pin");
  CHECK(c.count("refunds") == 1);
  CHECK(c.preview("S-3", std::vector<RefundLineInput>{{"B", 1}})->supervisorRequired);
  auto ok = c.refund("F-2", "S-3", std::vector<RefundLineInput>{{"B", 1}}, "246810");
  REQUIRE(ok.hasValue());
  CHECK(ok->amount.toString() == "60.00");
  CHECK(c.refund("F-2", "S-3", std::vector<RefundLineInput>{{"B", 1}}).hasValue());  // a replay needs no PIN again

  // "0": every refund needs the PIN.
  CounterConfig every;
  every.rules.refundSupervisorAbove = Money{};
  Counter d(every);
  d.sale("S-4", std::nullopt, {{"A", std::nullopt, 1, "1.00"}});
  CHECK(d.refund("F-1", "S-4", std::nullopt).error().field == "supervisor_pin");
}

TEST_CASE("refund_supervisor_above is read from [loyalty], unset by default, and refused when not money", "[terminal]") {
  CHECK_FALSE(ProgrammeRules{}.refundSupervisorAbove.has_value());  // exec's refund has no PIN unless a store asks
  auto limit = parseProgramme("[loyalty]\nrefund_supervisor_above = \"500.00\"\n");
  REQUIRE(std::holds_alternative<ProgrammeRules>(limit));
  CHECK(std::get<ProgrammeRules>(limit).refundSupervisorAbove == std::optional<Money>(Money::fromMinor(50'000)));
  auto set = parseProgramme("[loyalty]\nrefund_supervisor_above = \"0\"\n");
  REQUIRE(std::holds_alternative<ProgrammeRules>(set));
  CHECK(std::get<ProgrammeRules>(set).refundSupervisorAbove == Money{});
  auto bad = parseProgramme("[loyalty]\nrefund_supervisor_above = 100\n");
  REQUIRE(std::holds_alternative<ProgrammeError>(bad));
  CHECK(std::get<ProgrammeError>(bad).key == "loyalty.refund_supervisor_above");
}

TEST_CASE("an exchange returns lines and sells new ones in one transaction under one key", "[terminal]") {
  Counter c;
  const MemberView m = c.enroll();
  c.sale("S-5", m.memberId, {{"SHOE-41", std::string("鞋 41"), 1, "200.00"}, {"SOCK", std::nullopt, 2, "10.00"}});
  const std::size_t before = c.eventTypes().size();

  ExchangeRequest x;
  x.exchangeId = "X-1";
  x.saleId = "S-5";
  x.returnLines = {{"SHOE-41", 1}};
  x.newLines = {{"SHOE-42", std::string("鞋 42"), 1, "230.00"}};
  x.at = at("2026-02-03T12:00:00Z");
  x.staffId = "C1";
  auto r = c.service.exchange(x);
  REQUIRE(r.hasValue());
  CHECK(r->refund.amount.toString() == "200.00");
  CHECK(r->sale.total.toString() == "230.00");
  CHECK(r->difference.toString() == "30.00");  // the customer pays 30.00
  CHECK(r->sale.balance == 20 + 230);           // 220 earned, 200 reversed, 230 earned
  const auto events = c.eventTypes();
  REQUIRE(events.size() == before + 2);
  CHECK(events[before] == "sale.refunded");
  CHECK(events[before + 1] == "sale.recorded");

  // The same key and content: the same answer, nothing new. Other content: conflict.
  auto replay = c.service.exchange(x);
  REQUIRE(replay.hasValue());
  CHECK(replay->difference == r->difference);
  CHECK(c.eventTypes().size() == events.size());
  ExchangeRequest other = x;
  other.newLines = {{"SHOE-43", std::nullopt, 1, "250.00"}};
  CHECK(c.service.exchange(other).error().code == "conflict");

  // A new line the sale refuses undoes the refund too; fields are the exchange's.
  ExchangeRequest broken = x;
  broken.exchangeId = "X-2";
  broken.returnLines = {{"SOCK", 1}};
  broken.newLines = {{"UNKNOWN", std::nullopt, 1, ""}};
  auto refused = c.service.exchange(broken);
  REQUIRE_FALSE(refused.hasValue());
  CHECK(refused.error().field == "new_lines[0].sku");
  CHECK(c.count("refunds") == 1);
  CHECK(c.eventTypes().size() == events.size());
  broken.returnLines = {{"SOCK", 3}};
  CHECK(c.service.exchange(broken).error().field == "return_lines[0].qty");
  broken.returnLines = {};
  CHECK(c.service.exchange(broken).error().field == "return_lines");

  // Giving back money: a cheaper item.
  ExchangeRequest cheaper = x;
  cheaper.exchangeId = "X-3";
  cheaper.returnLines = {{"SOCK", 2}};
  cheaper.newLines = {{"SOCK-B", std::nullopt, 1, "5.00"}};
  auto back = c.service.exchange(cheaper);
  REQUIRE(back.hasValue());
  CHECK(back->difference.toString() == "-15.00");
  CHECK(c.service.verify().problems.empty());
}
