// quoteSale: the counter's price preview is the sale's own pricing (catalogue, member prices,
// category promotions, points paid and earned), and it writes nothing.
#include <catch2/catch.hpp>

#include <variant>

#include "../support/temp_dir.hpp"
#include "loyalty/terminal/config.hpp"
#include "loyalty/terminal/counter_service.hpp"
#include "loyalty/terminal/staff.hpp"
#include "loyalty/terminal/store.hpp"

using namespace loyalty;
using namespace loyalty::terminal;

namespace {

Timestamp at(const char* text) { return *parseRfc3339(text, "at"); }

// 会员价 on the water (by sku), members' 10 % on snacks (by category), 满100减10.
const char* kRules = R"toml(
[[promotion]]
id = "water-member-price"
kind = "member_discount"
percent = "20"
skus = ["WATER-550"]

[[promotion]]
id = "snacks-10"
kind = "member_discount"
percent = "10"
categories = ["snack"]

[[promotion]]
id = "spend100-off10"
kind = "spend_discount"
threshold = "100.00"
amount = "10.00"
)toml";

struct Store {
  test::TempDir dir;
  db::Database db = openTerminalDatabase(dir.str());
  RandomIds ids{11};
  CounterService service{db, config(), ids};

  static CounterConfig config() {
    auto parsed = parseConfig(kRules, "terminal.toml");
    REQUIRE(std::holds_alternative<TerminalSettings>(parsed));
    CounterConfig c;
    c.rules = std::get<TerminalSettings>(parsed).rules;
    return c;
  }

  Store() {
    for (const ProductFields& f : {ProductFields{"WATER-550", "农夫山泉 550ml", "2.00", "6921168509256", "drink"},
                                   ProductFields{"CHIPS-70", "乐事薯片", "7.50", "6924743915763", "snack"}}) {
      REQUIRE(service.putProduct({f, at("2026-01-02T09:00:00Z")}).hasValue());
    }
  }

  std::string enroll() {
    EnrollRequest r;
    r.phone = "13900003333";
    r.name = "张三丰";
    r.at = at("2026-01-05T10:00:00Z");
    auto m = service.enroll(r);
    REQUIRE(m.hasValue());
    return m->memberId;
  }

  SaleRequest basket(const std::optional<std::string>& member, std::int64_t points = 0) {
    SaleRequest r;
    r.saleId = "S1";
    r.member = member;
    r.at = at("2026-02-01T12:00:00Z");
    r.redeemPoints = points;
    SaleLineInput water;
    water.sku = "WATER-550";
    water.qty = 24;
    SaleLineInput chips;
    chips.barcode = "6924743915763";
    chips.qty = 10;
    r.lines = {water, chips};
    return r;
  }

  std::int64_t count(const char* table) {
    auto q = db.query(std::string("SELECT COUNT(*) AS n FROM ") + table);
    REQUIRE(q.step());
    return q.int64("n");
  }
};

}  // namespace

TEST_CASE("quoteSale prices a basket exactly as the sale then does, and writes nothing", "[terminal]") {
  Store s;
  const std::string member = s.enroll();
  // Points to pay with: a first sale earns them.
  SaleRequest seed;
  seed.saleId = "SEED";
  seed.member = member;
  seed.at = at("2026-01-20T12:00:00Z");
  seed.lines = {{"OIL", std::nullopt, 1, "3000.00"}};
  REQUIRE(s.service.sale(seed).hasValue());
  const std::int64_t sales = s.count("sales"), events = s.count("outbox"), ledger = s.count("ledger");

  auto q = s.service.quoteSale(s.basket(member, 500));
  REQUIRE(q.hasValue());
  REQUIRE(q->lines.size() == 2);
  CHECK(q->lines[0].description == "农夫山泉 550ml");
  CHECK(q->lines[0].amount.toString() == "48.00");
  CHECK(q->lines[0].memberDiscount.toString() == "9.60");  // 会员价: 20 % off
  CHECK(q->lines[1].sku == "CHIPS-70");                    // found by its barcode
  CHECK(q->lines[1].unitPrice == "7.50");
  CHECK(q->lines[1].memberDiscount.toString() == "7.50");  // the snacks' 10 %
  CHECK(q->subtotal.toString() == "123.00");
  CHECK(q->pointsRedeemed == 500);
  CHECK(q->pointsValue.toString() == "5.00");
  CHECK(q->balance == std::optional<std::int64_t>(s.service.member(member, at("2026-02-01T12:00:00Z"))->member.points));
  CHECK_FALSE(q->supervisorNeeded);
  CHECK_FALSE(q->pointsRefused.has_value());
  // Quoting wrote nothing.
  CHECK(s.count("sales") == sales);
  CHECK(s.count("outbox") == events);
  CHECK(s.count("ledger") == ledger);

  auto sold = s.service.sale(s.basket(member, 500));
  REQUIRE(sold.hasValue());
  CHECK(sold->subtotal == q->subtotal);
  CHECK(sold->discount == q->discount);
  CHECK(sold->total == q->total);
  CHECK(sold->pointsEarned == q->pointsEarned);
  CHECK(sold->pointsRedeemed == q->pointsRedeemed);
  REQUIRE(sold->promotions.size() == q->promotions.size());
  for (std::size_t i = 0; i < q->promotions.size(); ++i) CHECK(sold->promotions[i].effect == q->promotions[i].effect);
}

TEST_CASE("quoteSale says how many points may pay, and why points asked for cannot", "[terminal]") {
  Store s;
  const std::string member = s.enroll();
  SaleRequest seed;
  seed.saleId = "SEED";
  seed.member = member;
  seed.at = at("2026-01-20T12:00:00Z");
  seed.lines = {{"OIL", std::nullopt, 1, "50000.00"}};
  REQUIRE(s.service.sale(seed).hasValue());

  // Without points: the most that may pay is what is left to pay, in points (100 per 1.00).
  auto plain = s.service.quoteSale(s.basket(member));
  REQUIRE(plain.hasValue());
  CHECK(plain->maxRedeemPoints == plain->total.minor());
  // All of it: nothing left to pay, and above supervisor_pin_above_points (2000).
  auto all = s.service.quoteSale(s.basket(member, plain->maxRedeemPoints));
  REQUIRE(all.hasValue());
  CHECK(all->total.toString() == "0.00");
  CHECK(all->supervisorNeeded);
  CHECK(all->pointsEarned == 0);
  // One point more is refused, and the lines are still priced (without points).
  auto over = s.service.quoteSale(s.basket(member, plain->maxRedeemPoints + 1));
  REQUIRE(over.hasValue());
  REQUIRE(over->pointsRefused.has_value());
  CHECK(over->pointsRefused->field == "redeem_points");
  CHECK(over->total == plain->total);
  // No member: no points; lines the catalogue does not know are refused as by sale.
  auto anonymous = s.service.quoteSale(s.basket(std::nullopt));
  REQUIRE(anonymous.hasValue());
  CHECK(anonymous->maxRedeemPoints == 0);
  CHECK(anonymous->lines[0].memberDiscount.toString() == "0.00");
  SaleRequest unknown = s.basket(member);
  unknown.lines[0].sku = "NO-SUCH";
  auto refused = s.service.quoteSale(unknown);
  REQUIRE_FALSE(refused.hasValue());
  CHECK(refused.error().code == "not_found");
  CHECK(refused.error().field == "lines[0].sku");
}

TEST_CASE("points paying for a sale above the limit need a supervisor's PIN, checked before anything is written",
          "[terminal]") {
  Store s;
  const std::string member = s.enroll();
  SaleRequest seed;
  seed.saleId = "SEED";
  seed.member = member;
  seed.at = at("2026-01-20T12:00:00Z");
  seed.lines = {{"OIL", std::nullopt, 1, "50000.00"}};
  REQUIRE(s.service.sale(seed).hasValue());
  REQUIRE(addStaff(s.db, "9", "王经理", "supervisor", "246813").hasValue());
  const std::int64_t sales = s.count("sales"), events = s.count("outbox");

  SaleRequest big = s.basket(member, 2500);
  big.saleId = "S-BIG";
  auto noPin = s.service.sale(big);
  REQUIRE_FALSE(noPin.hasValue());
  CHECK(noPin.error().code == "forbidden");
  CHECK(noPin.error().field == "supervisor_pin");
  big.supervisorPin = "000000";
  auto wrong = s.service.sale(big);
  REQUIRE_FALSE(wrong.hasValue());
  CHECK(wrong.error().code == "forbidden");
  CHECK(s.count("sales") == sales);
  CHECK(s.count("outbox") == events);

  big.supervisorPin = "246813";
  auto right = s.service.sale(big);
  REQUIRE(right.hasValue());
  CHECK(right->pointsRedeemed == 2500);
  // At the limit no PIN is asked for, as for redeem.
  SaleRequest small = s.basket(member, 2000);
  small.saleId = "S-SMALL";
  CHECK(s.service.sale(small).hasValue());
}
