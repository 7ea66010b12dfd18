#include <catch2/catch.hpp>

#include "loyalty/sync/codec.hpp"
#include "loyalty/sync/event_types.hpp"

using namespace loyalty::sync;
using nlohmann::json;

namespace {
json envelope(std::int64_t seq) {
  return {{"event_id", "e" + std::to_string(seq)}, {"seq", seq}, {"type", "sale.recorded"},
          {"at", "2026-11-23T08:30:00Z"}, {"payload", json::object()}};
}
}  // namespace

TEST_CASE("upload request round-trips and names the bad field", "[hq][protocol]") {
  const json body = {{"terminal_id", "T1"}, {"events", {envelope(1), envelope(2)}}};
  auto r = decodeUploadRequest(body);
  REQUIRE(r);
  CHECK(r->events.size() == 2);
  CHECK(r->events[1].seq == 2);
  CHECK(toJson(*r) == body);

  json bad = body;
  bad["events"][1]["seq"] = "2";
  auto e = decodeUploadRequest(bad);
  REQUIRE_FALSE(e);
  CHECK(e.error().code == "bad_request");
  CHECK(e.error().field == "events[1].seq");

  bad = body;
  bad["events"][0]["at"] = "yesterday";
  CHECK(decodeUploadRequest(bad).error().field == "events[0].at");
  bad = body;
  bad["events"][0]["seq"] = 0;
  CHECK(decodeUploadRequest(bad).error().field == "events[0].seq");
  bad = body;
  bad.erase("terminal_id");
  CHECK(decodeUploadRequest(bad).error().field == "terminal_id");
  CHECK(decodeUploadRequest(json::array()).error().message.find("JSON object") != std::string::npos);
}

TEST_CASE("parseJson bounds nesting and size before it parses", "[hq][protocol]") {
  CHECK(parseJson(std::string(64, '[') + std::string(64, ']')));
  auto deep = parseJson(std::string(65, '{') + "}");  // refused on the raw bytes, malformed or not
  REQUIRE_FALSE(deep);
  CHECK(deep.error().code == "bad_request");
  CHECK(deep.error().message.find("64 levels") != std::string::npos);
  // Brackets inside strings, escaped quotes included, do not nest.
  CHECK(parseJson("[\"" + std::string(1000, '[') + "\\\"[\"]"));
  auto big = parseJson("[1, 2, 3]", 8);
  REQUIRE_FALSE(big);
  CHECK(big.error().message.find("8 bytes") != std::string::npos);
  CHECK_FALSE(parseJson("[1e400]"));  // out of range: a refusal, not an exception
}

TEST_CASE("parseJson refuses garbage and invalid UTF-8", "[hq][protocol]") {
  CHECK_FALSE(parseJson("{\"a\":"));
  CHECK_FALSE(parseJson("\"\xff\""));
  CHECK(parseJson("{\"a\":1}"));
}

TEST_CASE("parseRequestJson refuses U+0000 in any string or key, naming where", "[hq][protocol]") {
  CHECK(parseJson(R"({"a":["x\u0000"]})"));  // parseJson itself keeps it (texts head office stored)
  auto inArray = parseRequestJson(R"({"a":[1,{"b":"x\u0000y"}]})");
  REQUIRE_FALSE(inArray);
  CHECK(inArray.error().field == "a[1].b");
  CHECK(inArray.error().message == "a[1].b holds the character U+0000, which head office cannot store");
  auto inKey = parseRequestJson(R"({"k\u0000":1})");
  REQUIRE_FALSE(inKey);
  CHECK(inKey.error().field == "k\\u0000");
  auto whole = parseRequestJson(R"("\u0000")");
  REQUIRE_FALSE(whole);
  CHECK(whole.error().message == "the body holds the character U+0000, which head office cannot store");
  // An escaped backslash before the letters u0000 is no U+0000; other control characters pass.
  auto text = parseRequestJson(R"({"a":"\\u0000\n\u0001"})");
  REQUIRE(text);
  CHECK((*text)["a"] == "\\u0000\n\x01");
  CHECK(refuseNulCharacters(json::parse(R"({"p":{"q":"\u0000"}})"), "payload").error().field == "payload.p.q");
  CHECK(refuseNulCharacters(json::parse(R"({"p":["ok"]})"), "payload"));
  // A sender's long key is cut in the path, at a character's start: the reason stays short.
  const std::string longKey = std::string(195, 'k') + "\xE4\xB8\xAD" + std::string(300, 'k');  // 中 across byte 200
  const auto longPath = refuseNulCharacters(json{{"p", {{longKey, std::string(1, '\0')}}}}, "x");
  REQUIRE_FALSE(longPath);
  CHECK(longPath.error().field == "x.p." + std::string(195, 'k') + "...");
  CHECK(longPath.error().message.size() < 300);
}

TEST_CASE("change page decodes every change type and keeps unknown ones", "[hq][protocol]") {
  const json member = {{"member_id", "M1"}, {"card_no", "12345"}, {"phone", "+8613800000000"},
                       {"name", "Li"}, {"consent_marketing", true}, {"enrolled_at", "2026-01-01T00:00:00Z"},
                       {"enrolled_store", "S1"}, {"lifetime_spend", "12.50"}, {"birthday", nullptr}};
  const json page = {{"changes",
                      {{{"type", "member"}, {"member", member}, {"balance", -5}, {"points_debt", 5}, {"tier", "gold"}},
                       {{"type", "member.merged"}, {"from", "M2"}, {"into", "M1"}},
                       {{"type", "catalog"}, {"rewards", {{{"reward_id", "R1"}, {"name", "Mug"}, {"points", 100}, {"active", true}}}}},
                       {{"type", "config"}, {"version", 3}, {"toml", "[loyalty]\n"}},
                       {{"type", "future.thing"}, {"x", 1}}}},
                     {"next_cursor", "17"}, {"has_more", false}, {"applied_through", 41}};
  auto p = decodeChangePage(page);
  REQUIRE(p);
  REQUIRE(p->changes.size() == 5);
  const auto& m = std::get<MemberChange>(p->changes[0]);
  CHECK(m.balance == -5);
  CHECK_FALSE(m.member.birthday);
  CHECK(std::get<MemberMergedChange>(p->changes[1]).into == "M1");
  CHECK(std::get<CatalogChange>(p->changes[2]).rewards[0].points == 100);
  CHECK(std::get<ConfigChange>(p->changes[3]).version == 3);
  CHECK(std::get<UnknownChange>(p->changes[4]).type == "future.thing");
  CHECK(p->appliedThrough == 41);
  auto again = decodeChangePage(toJson(*p));
  REQUIRE(again);
  CHECK(*again == *p);

  json bad = page;
  bad["changes"][0]["member"]["lifetime_spend"] = 12.5;
  CHECK(decodeChangePage(bad).error().field == "changes[0].member.lifetime_spend");
}

TEST_CASE("payload decoders accept the terminal's payloads with null optionals", "[hq][protocol]") {
  const json sale = {{"sale_id", "S-1"}, {"member_id", nullptr}, {"store_id", "S1"}, {"terminal_id", "T1"},
                     {"lines", {{{"sku", "A"}, {"description", nullptr}, {"qty", 2}, {"unit_price", "2.55"}, {"amount", "5.10"}}}},
                     {"subtotal", "5.10"}, {"discount", "0.00"}, {"total", "5.10"}, {"points_earned", 5},
                     {"points_redeemed", 0}};
  auto s = decodeSaleRecorded(sale, "events[0].payload");
  REQUIRE(s);
  CHECK(s->total.minor() == 510);
  CHECK_FALSE(s->memberId);
  json bad = sale;
  bad["lines"][0]["amount"] = "5.1.0";
  CHECK(decodeSaleRecorded(bad, "events[0].payload").error().field == "events[0].payload.lines[0].amount");

  const json redeemed = {{"redemption_id", "R"}, {"member_id", "M"}, {"points", 10}, {"reward_id", nullptr},
                         {"store_id", "S1"}, {"terminal_id", "T1"}};
  REQUIRE(decodePointsRedeemed(redeemed));
  json wrong = redeemed;
  wrong["authorised"] = "maybe";
  CHECK(decodePointsRedeemed(wrong).error().field == "payload.authorised");
}

TEST_CASE("problem details carry the code in the type", "[hq][protocol]") {
  const Problem p = Problem::make(problem::kInsufficientPoints, 409, "only 10 points");
  CHECK(p.type == "https://loyalty.invalid/problems/insufficient_points");
  auto back = decodeProblem(toJson(p));
  REQUIRE(back);
  CHECK(back->code() == "insufficient_points");
  CHECK(back->status == 409);
}

TEST_CASE("a survey answer carries its staff member and per-dimension scores 1-5", "[hq][protocol]") {
  const json base = {{"survey_id", "V1"}, {"scale", "nps10"}, {"score", 9}, {"store_id", "S1"}, {"terminal_id", "T1"}};
  auto plain = decodeSurveyAnswered(base);
  REQUIRE(plain);
  CHECK_FALSE(plain->staffId);
  CHECK(plain->dimensions.empty());

  json full = base;
  full["staff_id"] = "C7";
  full["dimensions"] = {{"服务态度", 5}, {"waiting", 1}};
  auto s = decodeSurveyAnswered(full);
  REQUIRE(s);
  CHECK(s->staffId == "C7");
  CHECK(s->dimensions == std::map<std::string, std::int64_t>{{"服务态度", 5}, {"waiting", 1}});

  const auto refused = [&](const json& dimensions, const std::string& field) {
    json p = base;
    p["dimensions"] = dimensions;
    auto r = decodeSurveyAnswered(p);
    REQUIRE_FALSE(r);
    CHECK(r.error().field == field);
  };
  refused({{"waiting", 0}}, "payload.dimensions.waiting");
  refused({{"waiting", 6}}, "payload.dimensions.waiting");
  refused({{"waiting", "5"}}, "payload.dimensions.waiting");
  refused(json::array({5}), "payload.dimensions");
  refused({{"", 3}}, "payload.dimensions");
  json many = json::object();
  for (int i = 0; i < 17; ++i) many["d" + std::to_string(i)] = 3;
  refused(many, "payload.dimensions");
}

TEST_CASE("a redemption request may carry after_seq, and the release event names its fields", "[hq][protocol]") {
  const json old = {{"redemption_id", "R1"}, {"member_id", "M1"}, {"points", 50}};
  auto r = decodeRedemptionRequest(old);
  REQUIRE(r);
  CHECK_FALSE(r->afterSeq.has_value());  // an older terminal's request: as before
  CHECK(toJson(*r) == old);
  json held = old;
  held["after_seq"] = 41;
  r = decodeRedemptionRequest(held);
  REQUIRE(r);
  CHECK(r->afterSeq == 41);
  CHECK(toJson(*r) == held);
  held["after_seq"] = -1;
  CHECK(decodeRedemptionRequest(held).error().field == "after_seq");
  held["after_seq"] = "41";
  CHECK(decodeRedemptionRequest(held).error().field == "after_seq");

  const RedemptionReleased released{{"S1", "T1"}, "R1", "M1", 50, "not recorded"};
  const json j = toJson(released);
  auto back = decodeRedemptionReleased(j);
  REQUIRE(back);
  CHECK(*back == released);
  CHECK(isKnownEventType(kPointsRedemptionReleased));
  for (const char* field : {"redemption_id", "member_id", "points", "reason"}) {
    json missing = j;
    missing.erase(field);
    const auto bad = decodeRedemptionReleased(missing);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().field == std::string("payload.") + field);
  }
  CHECK_FALSE(decodePointsEffect(kPointsRedemptionReleased, j).value().has_value());  // no points effect
}

TEST_CASE("sync codec: a sale's event text is JSON as dump() writes it and decodes to the same sale, whatever "
          "the sale holds",
          "[hq][protocol]") {
  using loyalty::Money;
  const auto money = [](std::int64_t minor) { return Money::fromMinor(minor); };
  SaleRecorded base;
  base.origin = {"S001", "T1"};
  base.saleId = "536365";
  base.subtotal = money(13934);
  base.total = money(13934);
  base.pointsEarned = 139;
  base.lines.push_back({"85123A", std::string("WHITE HANGING HEART T-LIGHT HOLDER"), 6, "2.55", money(1530),
                        std::nullopt, std::nullopt, false});

  std::vector<SaleRecorded> sales;
  sales.push_back(base);  // no member: member_id null
  SaleRecorded member = base;
  member.memberId = "0b7e7f0e-3c55-4f58-9b1e-2a3c4d5e6f70";
  member.staffId = "7";
  member.tier = "silver";
  member.redeemAuthorised = "offline";
  member.pointsRedeemed = 500;
  member.discount = money(-500);
  sales.push_back(member);
  SaleRecorded odd = member;  // every kind of character a description or id may hold
  odd.saleId = "S \"quoted\" \\ back/slash";
  odd.lines = {{"SKU-1", std::string("tab\there, newline\nthere, \x01\x1f\x7f, 龙井茶 🍵, \b\f\r"), -2, "0.0010",
                money(-1), std::string("茶叶"), money(3), false},
               {"GIFT", std::nullopt, 1, "0.0000", Money{}, std::nullopt, std::nullopt, true},
               {"EMPTY", std::string(""), 1000000, "9999.9999", money(999999990000), std::string("c"), std::nullopt, false}};
  odd.promotions = json::array({{{"id", "spend100-off10"}, {"kind", "spend_discount"}, {"effect", "10.00 off"},
                                 {"discount", "10.00"}}});
  sales.push_back(odd);
  SaleRecorded many = base;
  for (int i = 0; i < 40; ++i) many.lines.push_back(base.lines.front());
  sales.push_back(many);

  for (const SaleRecorded& s : sales) {
    const std::string text = dumpSaleRecorded(s);
    INFO(text);
    CHECK(text == json::parse(text).dump());  // keys in order, escapes as dump() writes them
    const auto decoded = decodeSaleRecorded(json::parse(text));
    REQUIRE(decoded);
    CHECK(*decoded == s);  // every field written, and under its name
    CHECK(toJson(s) == json::parse(text));
  }
  SaleRecorded invalid = base;  // not UTF-8: refused, as the tree's dump refuses it
  invalid.lines.front().description = std::string("\xC3\x28");
  CHECK_THROWS_AS(dumpSaleRecorded(invalid), json::type_error);
}
