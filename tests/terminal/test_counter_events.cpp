#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "../support/temp_dir.hpp"
#include "loyalty/sync/codec.hpp"
#include "loyalty/terminal/counter_service.hpp"
#include "loyalty/terminal/outbox.hpp"
#include "loyalty/terminal/store.hpp"

using namespace loyalty;
using namespace loyalty::terminal;
using nlohmann::json;

namespace {

Timestamp at(const char* text) { return *parseRfc3339(text, "at"); }

/// The outbox as (type, payload), in seq order.
std::vector<std::pair<std::string, json>> outbox(db::Database& db) {
  std::vector<std::pair<std::string, json>> out;
  auto q = db.query("SELECT event_id, type, payload FROM outbox ORDER BY seq");
  while (q.step()) {
    const std::string type = q.text("type");
    out.emplace_back(type, json::parse(openOutboxPayload(db, q.text("event_id"), type, q.blob("payload"))));
  }
  return out;
}

CounterConfig promotionsConfig() {
  CounterConfig config;
  config.store.id = "S9";
  config.terminalId = "T4";
  Promotion oil;
  oil.id = "OIL-10";
  oil.kind = Promotion::Kind::kMemberDiscount;
  oil.percent = "10";
  oil.skus = {"OIL"};
  Promotion towel;
  towel.id = "TOWEL-50";
  towel.kind = Promotion::Kind::kSpendGift;
  towel.threshold = *Money::parse("50.00", "threshold");
  towel.giftSku = "TOWEL";
  config.rules.promotions = {oil, towel};
  return config;
}

}  // namespace

// The events the terminal writes through the sync protocol's encoders keep the wire form
// terminals always sent: the same keys, nullable fields as null, extensions only when set.
TEST_CASE("Counter events keep their wire form, key for key", "[terminal]") {
  test::TempDir dir;
  db::Database db = openTerminalDatabase(dir.str());
  RandomIds ids{11};
  CounterService service{db, promotionsConfig(), ids};

  EnrollRequest e;
  e.phone = "13812345678";
  e.name = "Li Lei";
  e.at = at("2026-01-05T10:00:00Z");
  auto member = service.enroll(e);
  REQUIRE(member);

  SaleRequest s;
  s.saleId = "SALE-1";
  s.member = member->memberId;
  s.lines = {{"OIL", std::string("oil 5L"), 2, "50.00", std::nullopt}, {"RICE", std::nullopt, 1, "20.00", std::string("grain")}};
  s.at = at("2026-02-01T12:00:00Z");
  s.staffId = std::string("ST-1");
  auto sold = service.sale(s);
  REQUIRE(sold);

  RedeemRequest r;
  r.redemptionId = "R-1";
  r.member = member->memberId;
  r.points = 30;
  r.at = at("2026-02-02T12:00:00Z");
  REQUIRE(service.redeem(r));

  auto refunded = service.refund({"REF-1", "SALE-1", std::vector<RefundLineInput>{{"RICE", 1}}, at("2026-02-03T12:00:00Z"),
                                  std::string("ST-1")});
  REQUIRE(refunded);

  const auto events = outbox(db);
  REQUIRE(events.size() == 4);
  const std::string id = member->memberId;

  CHECK(events[0].first == "member.enrolled");
  CHECK(events[0].second == json{{"member_id", id}, {"card_no", member->cardNo}, {"phone", "+8613812345678"},
                                 {"name", "Li Lei"}, {"birthday", nullptr}, {"language", nullptr},
                                 {"consent_marketing", false}, {"consent_version", nullptr},
                                 {"referrer_id", nullptr}, {"store_id", "S9"}, {"terminal_id", "T4"}});

  CHECK(events[1].first == "sale.recorded");
  json sale = events[1].second;
  REQUIRE(sale.contains("promotions"));
  CHECK(sale["promotions"].size() == 2);
  CHECK(sale["promotions"][0]["id"] == "OIL-10");
  CHECK(sale["promotions"][0]["discount"] == "10.00");  // what it took off, for head office's promotion report
  CHECK(sale["promotions"][1] == json{{"id", "TOWEL-50"}, {"kind", "spend_gift"}, {"effect", sold->promotions[1].effect},
                                      {"discount", "0.00"}});
  sale.erase("promotions");
  CHECK(sale == json{{"sale_id", "SALE-1"},
                     {"member_id", id},
                     {"store_id", "S9"},
                     {"terminal_id", "T4"},
                     {"lines",
                      {{{"sku", "OIL"}, {"description", "oil 5L"}, {"qty", 2}, {"unit_price", "50.00"},
                        {"amount", "100.00"}, {"discount", "10.00"}},
                       {{"sku", "RICE"}, {"description", nullptr}, {"qty", 1}, {"unit_price", "20.00"},
                        {"amount", "20.00"}, {"category", "grain"}},
                       {{"sku", "TOWEL"}, {"description", "gift"}, {"qty", 1}, {"unit_price", "0.0000"},
                        {"amount", "0.00"}, {"gift", true}}}},
                     {"subtotal", "120.00"},
                     {"discount", "10.00"},
                     {"total", "110.00"},
                     {"points_earned", 110},
                     {"points_redeemed", 0},
                     {"staff_id", "ST-1"}});

  CHECK(events[2].first == "points.redeemed");
  CHECK(events[2].second == json{{"redemption_id", "R-1"}, {"member_id", id}, {"points", 30}, {"reward_id", nullptr},
                                 {"authorised", "local"}, {"store_id", "S9"}, {"terminal_id", "T4"}});

  CHECK(events[3].first == "sale.refunded");
  CHECK(events[3].second == json{{"refund_id", "REF-1"}, {"sale_id", "SALE-1"}, {"member_id", id},
                                 {"store_id", "S9"}, {"terminal_id", "T4"},
                                 {"lines", {{{"line_no", 2}, {"sku", "RICE"}, {"qty", 1}}}},
                                 {"amount", "20.00"}, {"points_reversed", 20}, {"points_returned", 0},
                                 {"staff_id", "ST-1"}});

  // Head office reads every one of them back through the same protocol.
  CHECK(sync::decodeMemberEnrolled(events[0].second));
  auto decoded = sync::decodeSaleRecorded(events[1].second);
  REQUIRE(decoded);
  CHECK(decoded->lines[2].gift);
  CHECK(decoded->lines[0].discount == Money::fromMinor(1000));
  CHECK(decoded->staffId == std::optional<std::string>("ST-1"));
  CHECK(sync::toJson(*decoded) == events[1].second);
  CHECK(sync::decodePointsRedeemed(events[2].second));
  CHECK(sync::decodeSaleRefunded(events[3].second)->staffId == std::optional<std::string>("ST-1"));
}
