#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>

#include <nlohmann/json.hpp>

#include "../support/temp_dir.hpp"
#include "loyalty/terminal/counter_service.hpp"
#include "loyalty/terminal/outbox.hpp"
#include "loyalty/terminal/sale_repository.hpp"
#include "loyalty/terminal/store.hpp"

using namespace loyalty;
using namespace loyalty::terminal;

namespace {

Timestamp at(const char* text) { return *parseRfc3339(text, "at"); }

/// A service over a fresh terminal database with deterministic ids.
struct Counter {
  test::TempDir dir;
  db::Database db = openTerminalDatabase(dir.str());
  RandomIds ids{7};
  CounterService service{db, CounterConfig{}, ids};

  MemberView enroll(const std::string& phone, const std::string& name) {
    EnrollRequest r;
    r.phone = phone;
    r.name = name;
    r.consentMarketing = true;
    r.at = at("2026-01-05T10:00:00Z");
    auto m = service.enroll(r);
    REQUIRE(m.hasValue());
    return *m;
  }

  Result<SaleResult> sale(const std::string& id, const std::optional<std::string>& member,
                          std::vector<SaleLineInput> lines, std::int64_t redeem = 0) {
    SaleRequest r;
    r.saleId = id;
    r.member = member;
    r.lines = std::move(lines);
    r.redeemPoints = redeem;
    r.at = at("2026-02-01T12:00:00Z");
    return service.sale(r);
  }

  Result<RefundResult> refund(const std::string& id, const std::string& saleId,
                              std::optional<std::vector<RefundLineInput>> lines = std::nullopt) {
    return service.refund({id, saleId, std::move(lines), at("2026-02-02T12:00:00Z")});
  }

  Result<RedeemResult> redeem(const std::string& id, const std::string& member, std::int64_t points) {
    RedeemRequest r;
    r.redemptionId = id;
    r.member = member;
    r.points = points;
    r.at = at("2026-02-03T12:00:00Z");
    return service.redeem(r);
  }

  std::int64_t ledgerSum(const std::string& memberId) {
    auto q = db.query("SELECT COALESCE(SUM(points), 0) AS points FROM ledger WHERE member_id = ?").bind(1, memberId);
    q.step();
    return q.int64("points");
  }
};

}  // namespace

TEST_CASE("ids are version 7 UUIDs: unique, in the order they were made, the time in the first 48 bits", "[terminal]") {
  const auto isUuid7 = [](const std::string& u) {
    if (u.size() != 36 || u[8] != '-' || u[13] != '-' || u[18] != '-' || u[23] != '-' || u[14] != '7') return false;
    if (u[19] != '8' && u[19] != '9' && u[19] != 'a' && u[19] != 'b') return false;  // RFC 9562 variant
    return std::all_of(u.begin(), u.end(), [](char c) { return c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  };
  const auto millis = [](const std::string& u) { return std::stoull(u.substr(0, 8) + u.substr(9, 4), nullptr, 16); };

  // The clock's: the time is now's, and 10,000 ids (several per millisecond) go strictly up.
  RandomIds live;
  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::vector<std::string> ids;
  for (int i = 0; i < 10000; ++i) ids.push_back(live.uuid());
  const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    INFO(ids[i]);
    REQUIRE(isUuid7(ids[i]));
    if (i > 0) REQUIRE(ids[i - 1] < ids[i]);
  }
  CHECK(millis(ids.front()) >= static_cast<unsigned long long>(before));
  CHECK(millis(ids.back()) <= static_cast<unsigned long long>(after) + 1);

  // Seeded (tests): the same ids on every run, from 2026-01-01T00:00:00Z; 10,000 ids in a row
  // outrun a millisecond's counter and move on to the next millisecond, still in order.
  RandomIds a{7}, b{7}, c{8};
  std::string last;
  for (int i = 0; i < 10000; ++i) {
    const std::string u = a.uuid();
    REQUIRE(u == b.uuid());
    REQUIRE(isUuid7(u));
    REQUIRE(last < u);
    last = u;
    REQUIRE(c.uuid() != u);
  }
  CHECK(millis(RandomIds{7}.uuid()) == 1'767'225'600'000ULL);
  CHECK(millis(last) > 1'767'225'600'000ULL);
  CHECK(millis(last) < 1'767'225'600'000ULL + 10);
}

TEST_CASE("enrolment validates, issues a card and masks the phone", "[terminal]") {
  Counter c;
  const MemberView m = c.enroll("138 1234 5678", "王小明");
  CHECK(m.phone == "+8613812345678");
  CHECK(m.phoneMasked == "138****5678");
  CHECK(m.cardNo.size() == 16);
  CHECK(m.tier == "member");
  CHECK(m.points == 0);

  EnrollRequest dup;
  dup.phone = "+86 138-1234-5678";
  dup.name = "Someone Else";
  dup.at = at("2026-01-06T10:00:00Z");
  auto again = c.service.enroll(dup);
  REQUIRE_FALSE(again.hasValue());
  CHECK(again.error().code == "already_exists");
  CHECK(again.error().field == "phone");

  EnrollRequest bad;
  bad.phone = "12345";
  bad.name = "X";
  bad.at = dup.at;
  CHECK(c.service.enroll(bad).error().field == "phone");
  bad.phone = "13912345678";
  bad.name = "   ";
  CHECK(c.service.enroll(bad).error().field == "name");
  bad.name = "李雷";
  bad.birthday = "2030-01-01";
  CHECK(c.service.enroll(bad).error().field == "birthday");
  CHECK(c.service.stats().members == 1);
}

TEST_CASE("lookup finds by phone, last digits, card, QR and 1- or 2-character Chinese names", "[terminal]") {
  Counter c;
  const MemberView wang = c.enroll("13812345678", "王小明");
  c.enroll("13912345678", "王伟");
  c.enroll("13712340000", "欧阳娜娜");
  c.enroll("13600005678", "John Smith");

  const auto ids = [&](const std::string& q, int limit = 20) {
    auto r = c.service.lookup({q, limit});
    REQUIRE(r.hasValue());
    std::vector<std::string> names;
    for (const auto& m : *r) names.push_back(m.name);
    return names;
  };
  CHECK(ids("13812345678") == std::vector<std::string>{"王小明"});
  CHECK(ids("5678").size() == 3);
  CHECK(ids("5678", 2).size() == 2);
  CHECK(ids(wang.cardNo) == std::vector<std::string>{"王小明"});
  CHECK(ids("LOYALTY:M1:" + wang.cardNo) == std::vector<std::string>{"王小明"});
  CHECK(ids("王").size() == 2);
  CHECK(ids("王伟") == std::vector<std::string>{"王伟"});
  CHECK(ids("小明") == std::vector<std::string>{"王小明"});
  CHECK(ids("娜娜") == std::vector<std::string>{"欧阳娜娜"});
  CHECK(ids("smi") == std::vector<std::string>{"John Smith"});
  CHECK(ids("JOHN") == std::vector<std::string>{"John Smith"});
  CHECK(ids("赵").empty());
  CHECK(c.service.lookup({"12", 20}).error().field == "query");
  CHECK(c.service.lookup({"王", 0}).error().field == "limit");
}

TEST_CASE("a sale earns on the net paid amount and is idempotent by sale_id", "[terminal]") {
  Counter c;
  const MemberView m = c.enroll("13812345678", "王小明");
  auto s = c.sale("S-1", m.memberId, {{"OIL-5L", "Oil", 2, "59.90"}, {"WATER", std::nullopt, 3, "1.333"}});
  REQUIRE(s.hasValue());
  CHECK(s->subtotal.toString() == "123.80");  // 119.80 + 4.00 (3.999 rounds up)
  CHECK(s->pointsEarned == 123);
  CHECK(s->balance == 123);

  auto replay = c.sale("S-1", m.memberId, {{"OIL-5L", "Oil", 2, "59.90"}, {"WATER", std::nullopt, 3, "1.3330"}});
  REQUIRE(replay.hasValue());
  CHECK(replay->balance == 123);
  CHECK(c.service.stats().sales == 1);
  CHECK(c.service.stats().ledgerEntries == 1);

  auto conflict = c.sale("S-1", m.memberId, {{"OIL-5L", "Oil", 1, "59.90"}});
  REQUIRE_FALSE(conflict.hasValue());
  CHECK(conflict.error().code == "conflict");
  CHECK(conflict.error().field == "sale_id");
}

TEST_CASE("a sale's row keeps a digest of its content, and rows that kept the text still replay", "[terminal]") {
  Counter c;
  const std::vector<SaleLineInput> lines = {{"OIL-5L", "Oil", 2, "59.90"}};
  REQUIRE(c.sale("S-1", std::nullopt, lines).hasValue());
  std::string stored;
  {
    auto q = c.db.query("SELECT fingerprint FROM sales WHERE sale_id = 'S-1'");
    REQUIRE(q.step());
    stored = q.text("fingerprint");
  }
  CHECK(stored.starts_with("b2:"));
  CHECK(stored.size() == 3 + 64);

  // As a row written before the digest: the content's text (no member, no points paid, one line).
  const std::string unit = "\x1f", line = "\x1e", part = "\x1d";
  const std::string text = "-" + part + "0" + part + "OIL-5L" + unit + "Oil" + unit + "2" + unit +
                           UnitPrice::parse("59.90", "unit_price")->toString() + unit + line;
  CHECK(SaleRepository::sameSaleContent(stored, text));
  c.db.query("UPDATE sales SET fingerprint = ? WHERE sale_id = 'S-1'").bind(1, text).run();
  auto replay = c.sale("S-1", std::nullopt, lines);
  REQUIRE(replay.hasValue());
  CHECK(replay->total.toString() == "119.80");
  CHECK(c.service.stats().sales == 1);
  auto conflict = c.sale("S-1", std::nullopt, {{"OIL-5L", "Oil", 3, "59.90"}});
  REQUIRE_FALSE(conflict.hasValue());
  CHECK(conflict.error().code == "conflict");
}

TEST_CASE("a sale without member is recorded without points", "[terminal]") {
  Counter c;
  auto s = c.sale("ANON-1", std::nullopt, {{"X", std::nullopt, 1, "10.00"}});
  REQUIRE(s.hasValue());
  CHECK(s->pointsEarned == 0);
  CHECK_FALSE(s->balance.has_value());
  CHECK(c.service.stats().sales == 1);
  CHECK(c.service.stats().outboxPending == 1);
}

TEST_CASE("a failed request changes nothing", "[terminal]") {
  Counter c;
  const MemberView m = c.enroll("13812345678", "王小明");
  const Stats before = c.service.stats();
  CHECK(c.sale("S-2", m.memberId, {{"X", std::nullopt, 1, "1.00001"}}).error().field == "lines[0].unit_price");
  CHECK(c.sale("S-2", m.memberId, {{"X", std::nullopt, 0, "1.00"}}).error().field == "lines[0].qty");
  // Head office refuses U+0000 in any event (PostgreSQL cannot store it): refused here, before
  // the sale is queued, with every other control character a receipt line cannot print.
  for (const std::string& description : {std::string("a\0b", 3), std::string("a\nb")}) {
    CHECK(c.sale("S-2", m.memberId, {{"X", description, 1, "1.00"}}).error().field == "lines[0].description");
  }
  CHECK(c.sale("S-2", "13900000000", {{"X", std::nullopt, 1, "1.00"}}).error().code == "not_found");
  CHECK(c.sale("S-2", m.memberId, {{"X", std::nullopt, 1, "1.00"}}, 50).error().code == "insufficient_points");
  const Stats after = c.service.stats();
  CHECK(after.sales == before.sales);
  CHECK(after.ledgerEntries == before.ledgerEntries);
  CHECK(after.outboxPending == before.outboxPending);
}

TEST_CASE("partial refunds reverse points that add up exactly to the earning", "[terminal]") {
  Counter c;
  const MemberView m = c.enroll("13812345678", "王小明");
  auto s = c.sale("S-3", m.memberId, {{"A", std::nullopt, 3, "33.33"}, {"B", std::nullopt, 1, "0.01"}});
  REQUIRE(s.hasValue());
  CHECK(s->pointsEarned == 100);  // 100.00

  auto r1 = c.refund("R-1", "S-3", std::vector<RefundLineInput>{{"A", 1}});
  REQUIRE(r1.hasValue());
  CHECK(r1->amount.toString() == "33.33");
  CHECK(r1->pointsReversed == 33);
  auto r2 = c.refund("R-2", "S-3", std::vector<RefundLineInput>{{"A", 1}});
  REQUIRE(r2.hasValue());
  CHECK(r2->pointsReversed == 33);  // floor(100 × 66.66/100) − 33
  auto r3 = c.refund("R-3", "S-3");  // the rest
  REQUIRE(r3.hasValue());
  CHECK(r3->amount.toString() == "33.34");
  CHECK(r1->pointsReversed + r2->pointsReversed + r3->pointsReversed == 100);
  CHECK(r3->balance == 0);

  auto nothing = c.refund("R-4", "S-3");
  REQUIRE_FALSE(nothing.hasValue());
  CHECK(nothing.error().code == "invalid_argument");
  CHECK(c.refund("R-3", "S-3").hasValue());  // replay of the same refund
  auto tooMany = c.refund("R-5", "S-3", std::vector<RefundLineInput>{{"A", 1}});
  CHECK(tooMany.error().field == "lines[0].qty");
  CHECK(c.refund("R-6", "NOPE").error().code == "not_found");
  CHECK(c.service.verify().problems.empty());
}

TEST_CASE("refunding spent points leaves a debt that blocks redemption and is repaid by earnings", "[terminal]") {
  Counter c;
  const MemberView m = c.enroll("13812345678", "王小明");
  REQUIRE(c.sale("S-4", m.memberId, {{"A", std::nullopt, 1, "200.00"}}).hasValue());
  REQUIRE(c.redeem("RD-1", m.memberId, 150).hasValue());
  auto r = c.refund("R-1", "S-4");
  REQUIRE(r.hasValue());
  CHECK(r->balance == -150);
  auto member = c.service.member(m.memberId, at("2026-02-04T00:00:00Z"));
  CHECK(member->member.points == 0);
  CHECK(member->member.pointsDebt == 150);

  auto blocked = c.redeem("RD-2", m.memberId, 1);
  REQUIRE_FALSE(blocked.hasValue());
  CHECK(blocked.error().code == "insufficient_points");

  auto repay = c.sale("S-5", m.memberId, {{"A", std::nullopt, 1, "100.00"}});
  REQUIRE(repay.hasValue());
  CHECK(repay->balance == -50);
  REQUIRE(c.sale("S-6", m.memberId, {{"A", std::nullopt, 1, "80.00"}}).hasValue());
  CHECK(c.service.member(m.memberId, at("2026-02-05T00:00:00Z"))->member.points == 30);
  CHECK(c.ledgerSum(m.memberId) == 30);
  CHECK(c.service.verify().problems.empty());
}

TEST_CASE("a return without receipt reverses the base rate and may create debt", "[terminal]") {
  Counter c;
  const MemberView m = c.enroll("13812345678", "王小明");
  auto s = c.sale("RET-1", m.memberId, {{"A", std::nullopt, -2, "12.99"}});
  REQUIRE(s.hasValue());
  CHECK(s->total.toString() == "-25.98");
  CHECK(s->pointsEarned == -25);
  CHECK(s->balance == -25);
  CHECK(c.service.member(m.memberId, at("2026-02-05T00:00:00Z"))->member.lifetimeSpend.toString() == "-25.98");
}

TEST_CASE("paying with points discounts the sale - a refund gives the points back in proportion", "[terminal]") {
  Counter c;
  const MemberView m = c.enroll("13812345678", "王小明");
  REQUIRE(c.sale("S-7", m.memberId, {{"A", std::nullopt, 1, "500.00"}}).hasValue());
  auto s = c.sale("S-8", m.memberId, {{"A", std::nullopt, 2, "50.00"}}, 300);
  REQUIRE(s.hasValue());
  CHECK(s->discount.toString() == "3.00");
  CHECK(s->total.toString() == "97.00");
  CHECK(s->pointsEarned == 97);
  CHECK(s->balance == 500 - 300 + 97);
  auto r = c.refund("R-8", "S-8", std::vector<RefundLineInput>{{"A", 1}});
  REQUIRE(r.hasValue());
  CHECK(r->amount.toString() == "48.50");
  CHECK(r->pointsReversed == 48);
  CHECK(r->balance == 297 + 150 - 48);
  auto rest = c.refund("R-9", "S-8");
  CHECK(rest->amount.toString() == "48.50");
  CHECK(rest->balance == 500);
  CHECK(c.sale("S-9", m.memberId, {{"A", std::nullopt, 1, "1.00"}}, 101).error().field == "redeem_points");
}

TEST_CASE("redemption needs a supervisor PIN above the threshold", "[terminal]") {
  Counter c;
  const MemberView m = c.enroll("13812345678", "王小明");
  REQUIRE(c.sale("S-10", m.memberId, {{"A", std::nullopt, 1, "5000.00"}}).hasValue());
  auto noPin = c.redeem("RD-3", m.memberId, 2500);
  REQUIRE_FALSE(noPin.hasValue());
  CHECK(noPin.error().code == "forbidden");
  CHECK(noPin.error().field == "supervisor_pin");
  CHECK(c.redeem("RD-4", m.memberId, 2000).hasValue());
}

TEST_CASE("history lists ledger entries newest first with running balances", "[terminal]") {
  Counter c;
  const MemberView m = c.enroll("13812345678", "王小明");
  REQUIRE(c.sale("S-11", m.memberId, {{"A", std::nullopt, 1, "100.00"}}).hasValue());
  REQUIRE(c.redeem("RD-5", m.memberId, 40).hasValue());
  auto h = c.service.history(m.cardNo, 10);
  REQUIRE(h.hasValue());
  REQUIRE(h->size() == 2);
  CHECK((*h)[0].kind == "redeem");
  CHECK((*h)[0].points == -40);
  CHECK((*h)[0].balanceAfter == 60);
  CHECK((*h)[1].kind == "earn");
  CHECK((*h)[1].saleId == "S-11");
}

TEST_CASE("the ledger is append-only at the database level", "[terminal]") {
  Counter c;
  const MemberView m = c.enroll("13812345678", "王小明");
  REQUIRE(c.sale("S-12", m.memberId, {{"A", std::nullopt, 1, "100.00"}}).hasValue());
  CHECK_THROWS(c.db.exec("UPDATE ledger SET points = 1000"));
  CHECK_THROWS(c.db.exec("DELETE FROM ledger"));
  CHECK(c.ledgerSum(m.memberId) == 100);
}

namespace {

/// Head office as the service sees it through the authoriser seam: answers chosen by the test
/// (the real HTTPS authoriser is tested against a real head office in tests/sync).
class ScriptedHeadOffice final : public RedemptionAuthoriser {
 public:
  Authorisation answer = Authorisation::approved;
  int asked = 0;
  std::vector<std::string> released;
  std::vector<std::int64_t> afterSeqs;  ///< of each request
  /// Runs while the request is out (the terminal's store as it stands then), before the answer.
  std::function<void()> whileAsked;
  Authorisation authorise(const std::string&, const std::string&, std::int64_t, std::int64_t afterSeq) override {
    ++asked;
    afterSeqs.push_back(afterSeq);
    if (whileAsked) whileAsked();
    return answer;
  }
  void release(const std::string& redemptionId, std::int64_t) override { released.push_back(redemptionId); }
};

/// The outbox's points.redemption_released events: redemption id -> how many.
std::map<std::string, int> releaseEvents(db::Database& db) {
  std::map<std::string, int> out;
  auto q = db.query("SELECT event_id, type, payload FROM outbox WHERE type = 'points.redemption_released'");
  while (q.step()) {
    const auto payload = nlohmann::json::parse(openOutboxPayload(db, q.text("event_id"), q.text("type"), q.text("payload")));
    ++out[payload.at("redemption_id").get<std::string>()];
  }
  return out;
}

std::int64_t openAttempts(db::Database& db) {
  auto q = db.query("SELECT COUNT(*) AS n FROM redemption_attempts");
  q.step();
  return q.int64("n");
}

std::int64_t lastSeq(db::Database& db) {
  auto q = db.query("SELECT COALESCE(MAX(seq), 0) AS n FROM outbox");
  q.step();
  return q.int64("n");
}

}  // namespace

TEST_CASE("redemptions are authorised online, refused by head office, or bounded by the offline allowance") {
  Counter c;
  const MemberView m = c.enroll("13900001111", "Online Offline");
  REQUIRE(c.sale("S-1", m.memberId, {{"BIG", std::nullopt, 1, "3000.00"}}).hasValue());
  ScriptedHeadOffice hq;
  c.service.setAuthoriser(&hq);

  REQUIRE(c.redeem("R-online", m.memberId, 100).hasValue());
  CHECK(hq.asked == 1);
  hq.answer = Authorisation::refused;
  CHECK(c.redeem("R-refused", m.memberId, 100).error().code == errc::kInsufficientPoints);

  // Cut off: 500 points per member per day, whatever is left of the balance.
  hq.answer = Authorisation::unreachable;
  REQUIRE(c.redeem("R-off-1", m.memberId, 300).hasValue());
  const auto over = c.redeem("R-off-2", m.memberId, 250);
  REQUIRE_FALSE(over.hasValue());
  CHECK(over.error().code == errc::kLimitExceeded);
  CHECK(over.error().field == "points");
  REQUIRE(c.redeem("R-off-3", m.memberId, 200).hasValue());
  // A replay is answered from the store without asking anyone, and is not counted twice.
  const int askedBefore = hq.asked;
  CHECK(c.redeem("R-off-3", m.memberId, 200).hasValue());
  CHECK(hq.asked == askedBefore);
  // Paying with points in a sale uses the same allowance.
  SaleRequest pay;
  pay.saleId = "S-2";
  pay.member = m.memberId;
  pay.lines = {{"X", std::nullopt, 1, "10.00"}};
  pay.redeemPoints = 100;
  pay.at = at("2026-02-03T13:00:00Z");
  const auto paid = c.service.sale(pay);
  REQUIRE_FALSE(paid.hasValue());
  CHECK(paid.error().code == errc::kLimitExceeded);
  CHECK(paid.error().field == "redeem_points");
  // The next day has a fresh allowance.
  RedeemRequest tomorrow;
  tomorrow.redemptionId = "R-off-4";
  tomorrow.member = m.memberId;
  tomorrow.points = 500;
  tomorrow.at = at("2026-02-04T12:00:00Z");
  REQUIRE(c.service.redeem(tomorrow).hasValue());

  std::vector<std::pair<std::string, std::int64_t>> seen;
  {
    auto q = c.db.query("SELECT authorised, COUNT(*) AS n FROM redemptions GROUP BY authorised ORDER BY authorised");
    while (q.step()) seen.emplace_back(q.text("authorised"), q.int64("n"));
  }
  CHECK(seen == std::vector<std::pair<std::string, std::int64_t>>{{"offline", 3}, {"online", 1}});
  CHECK(c.service.verify().problems.empty());
}

TEST_CASE("every online authorisation attempt ends in exactly one event: the redemption, or its release") {
  Counter c;
  const MemberView m = c.enroll("13900001113", "Attempts");
  REQUIRE(c.sale("S-1", m.memberId, {{"BIG", std::nullopt, 1, "3000.00"}}).hasValue());
  REQUIRE(c.service.putReward("RW-1", "Mug", 300).hasValue());
  ScriptedHeadOffice hq;
  c.service.setAuthoriser(&hq);
  // While asking, the attempt is recorded (committed) with the outbox's last seq.
  std::int64_t attemptsWhileAsked = -1;
  hq.whileAsked = [&] { attemptsWhileAsked = openAttempts(c.db); };

  // Approved and recorded: the redemption's event ends it, no release.
  const std::int64_t before = lastSeq(c.db);
  REQUIRE(c.redeem("R-ok", m.memberId, 100).hasValue());
  CHECK(attemptsWhileAsked == 1);
  CHECK(hq.afterSeqs.back() == before);
  CHECK(openAttempts(c.db) == 0);
  // Refused by head office: nothing was reserved, so nothing to release.
  hq.answer = Authorisation::refused;
  CHECK_FALSE(c.redeem("R-refused", m.memberId, 100).hasValue());
  // No answer in time, then refused at the counter (beyond the offline allowance): released.
  hq.answer = Authorisation::unreachable;
  const auto over = c.redeem("R-late", m.memberId, 600);
  REQUIRE_FALSE(over.hasValue());
  CHECK(over.error().code == errc::kLimitExceeded);
  // No answer in time, then recorded offline under the same id: its event settles it.
  REQUIRE(c.redeem("R-offline", m.memberId, 200).hasValue());
  // Approved, then refused at the counter (the reward's points changed meanwhile): released by
  // an event, and at once over the network.
  hq.answer = Authorisation::approved;
  hq.whileAsked = [&] { REQUIRE(c.service.putReward("RW-1", "Mug", 350).hasValue()); };
  RedeemRequest reward;
  reward.redemptionId = "R-changed";
  reward.member = m.memberId;
  reward.reward = "RW-1";
  reward.at = at("2026-02-03T12:30:00Z");
  const auto changed = c.service.redeem(reward);
  REQUIRE_FALSE(changed.hasValue());
  CHECK(changed.error().code == errc::kConflict);
  CHECK(hq.released == std::vector<std::string>{"R-changed"});
  // Paying with points in a sale: the sale's event ends it.
  hq.whileAsked = nullptr;
  REQUIRE(c.sale("S-2", m.memberId, {{"X", std::nullopt, 1, "10.00"}}, 100).hasValue());

  CHECK(releaseEvents(c.db) == std::map<std::string, int>{{"R-changed", 1}, {"R-late", 1}});
  CHECK(openAttempts(c.db) == 0);
  // Retried after its release, an id is a new attempt, asked with the later seq.
  hq.answer = Authorisation::approved;
  REQUIRE(c.redeem("R-late", m.memberId, 100).hasValue());
  CHECK(hq.afterSeqs.back() > before);
  CHECK(releaseEvents(c.db).at("R-late") == 1);
  CHECK(c.service.verify().problems.empty());
}

TEST_CASE("an attempt cut between the request and the redemption's commit is released at the next start") {
  Counter c;
  const MemberView m = c.enroll("13900001114", "Cut Short");
  REQUIRE(c.sale("S-1", m.memberId, {{"BIG", std::nullopt, 1, "3000.00"}}).hasValue());
  {
    ScriptedHeadOffice hq;
    // The process dies while head office is being asked (here: the request throws out of it).
    hq.whileAsked = [] { throw std::runtime_error("killed"); };
    c.service.setAuthoriser(&hq);
    CHECK_THROWS(c.redeem("R-cut", m.memberId, 400));
    c.service.setAuthoriser(nullptr);
  }
  CHECK(openAttempts(c.db) == 1);
  CHECK(releaseEvents(c.db).empty());
  // The next start: one release event, nothing open, the member's points untouched.
  CounterService restarted{c.db, CounterConfig{}, c.ids};
  CHECK(restarted.releaseInterruptedAttempts(at("2026-02-03T12:05:00Z")) == 1);
  CHECK(releaseEvents(c.db) == std::map<std::string, int>{{"R-cut", 1}});
  CHECK(openAttempts(c.db) == 0);
  CHECK(c.ledgerSum(m.memberId) == 3000);
  CHECK(restarted.releaseInterruptedAttempts(at("2026-02-03T12:06:00Z")) == 0);
  CHECK(restarted.verify().problems.empty());
}

TEST_CASE("reconcileBalance sets head office's balance with one adjust entry and no event, lots follow") {
  Counter c;
  const MemberView m = c.enroll("13900001112", "Reconciled");
  REQUIRE(c.sale("S-1", m.memberId, {{"A", std::nullopt, 1, "100.00"}}).hasValue());
  const std::int64_t eventsBefore = c.service.stats().outboxPending;
  REQUIRE(c.service.reconcileBalance(m.memberId, 250, "hq-sync:1", at("2026-02-05T00:00:00Z")).hasValue());
  REQUIRE(c.service.reconcileBalance(m.memberId, 250, "hq-sync:2", at("2026-02-05T00:00:01Z")).hasValue());
  REQUIRE(c.service.reconcileBalance(m.memberId, -40, "hq-sync:3", at("2026-02-06T00:00:00Z")).hasValue());
  CHECK(c.ledgerSum(m.memberId) == -40);
  CHECK(c.service.stats().outboxPending == eventsBefore);
  CHECK(c.service.stats().ledgerEntries == 3);  // earn, +150, -290: the no-op wrote nothing
  CHECK(c.service.reconcileBalance("nobody", 1, "hq-sync:4", at("2026-02-06T00:00:00Z")).error().code == errc::kNotFound);
  CHECK(c.service.verify().problems.empty());
}
