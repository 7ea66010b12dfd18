// The loyalty rules of DOMAIN.md proved through the real binary: promotions and claw-back,
// tiers, expiry, referrals and greetings, each with a configuration file as a store would write.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "../support/exec_client.hpp"
#include "../support/temp_dir.hpp"
#include "loyalty/db/database.hpp"

using nlohmann::json;
using loyalty::test::Exec;
using loyalty::test::error;
using loyalty::test::ok;
using loyalty::test::TempDir;

namespace {

std::string writeConfig(const TempDir& dir, const char* text) { return dir.write("terminal.toml", text); }

const char* kPromotions = R"toml(
[store]
language = "en"
timezone = "Asia/Shanghai"

# These refunds are about promotions, not about who may make them.
[loyalty]
refund_supervisor_above = "100000.00"

[[promotion]]
id = "spend300-off30"
kind = "spend_discount"
threshold = "300.00"
amount = "30.00"
repeat = true

[[promotion]]
id = "spend500-gift"
kind = "spend_gift"
threshold = "500.00"
gift_sku = "GIFT-TOWEL"

[[promotion]]
id = "snacks-10"
kind = "member_discount"
percent = "10"
categories = ["snack"]

[[promotion]]
id = "member-day"
kind = "points_multiplier"
multiplier = "2.0"
weekday = 3

[[promotion]]
id = "birthday-month"
kind = "points_multiplier"
multiplier = "3.0"
birthday = "month"
)toml";

json line(const char* sku, int qty, const char* price) {
  return {{"sku", sku}, {"qty", qty}, {"unit_price", price}};
}

bool hasPromotion(const json& sale, const char* id) {
  for (const json& p : sale["promotions"]) {
    if (p["id"] == id) return true;
  }
  return false;
}

std::vector<std::string> kinds(const json& greetings) {
  std::vector<std::string> out;
  for (const json& g : greetings) out.push_back(g["kind"]);
  return out;
}

}  // namespace

TEST_CASE("exec rules: promotions are applied and listed, a refund that breaks 满减 claws it back", "[e2e][rules]") {
  TempDir dir;
  Exec exec(dir, {"--config", writeConfig(dir, kPromotions)});
  const json m = ok(exec.call({{"op", "enroll"}, {"phone", "13900002222"}, {"name", "Amy Lee"}, {"birthday", "1990-07-20"},
                               {"consent_marketing", false}, {"at", "2026-06-01T10:00:00+08:00"}}));

  // Thursday 2 July: birthday month (x3.0) beats nothing else; 350 >= 300 takes 30 off once.
  const json s1 = ok(exec.call({{"op", "sale"}, {"sale_id", "S1"}, {"member", m["member_id"]},
                                {"lines", {line("A", 1, "200.00"), line("B", 1, "150.00")}},
                                {"at", "2026-07-02T10:00:00+08:00"}}));
  CHECK(s1["subtotal"] == "350.00");
  CHECK(s1["discount"] == "30.00");
  CHECK(s1["total"] == "320.00");
  CHECK(s1["points_earned"] == 960);
  CHECK(hasPromotion(s1, "spend300-off30"));
  CHECK(hasPromotion(s1, "birthday-month"));
  CHECK_FALSE(hasPromotion(s1, "member-day"));
  CHECK_FALSE(hasPromotion(s1, "spend500-gift"));

  // Refunding B leaves 200 of goods: under the threshold, so the 30 off is taken back from the
  // refund (beyond the 12.86 share B already carried). The customer keeps A for exactly 200.
  const json r1 = ok(exec.call({{"op", "refund"}, {"refund_id", "R1"}, {"sale_id", "S1"},
                                {"lines", {{{"sku", "B"}, {"qty", 1}}}}, {"at", "2026-07-03T10:00:00+08:00"}}));
  CHECK(r1["amount"] == "120.00");
  CHECK(r1["clawback"] == "17.14");
  CHECK(r1["points_reversed"] == 360);  // floor(960 × 120 / 320)
  CHECK(r1["balance"] == 600);
  // The rest of the sale: everything paid comes back, every point goes.
  const json r2 = ok(exec.call({{"op", "refund"}, {"refund_id", "R2"}, {"sale_id", "S1"}, {"at", "2026-07-03T11:00:00+08:00"}}));
  CHECK(r2["amount"] == "200.00");
  CHECK(r2["balance"] == 0);

  // Wednesday 8 July, member day x2.0 and birthday month x3.0: "max" keeps 3.0. 1000 >= 3 x 300
  // takes 90 off (repeat), >= 500 adds the towel, the snack gets its member 10 %.
  const json s2 = ok(exec.call({{"op", "sale"}, {"sale_id", "S2"}, {"member", m["card_no"]},
                                {"lines", {line("TV", 1, "950.00"),
                                           {{"sku", "CHIPS"}, {"qty", 2}, {"unit_price", "25.00"}, {"category", "snack"}}}},
                                {"at", "2026-07-08T10:00:00+08:00"}}));
  CHECK(s2["subtotal"] == "1000.00");
  CHECK(s2["discount"] == "95.00");  // 5.00 member discount, then 3 × 30 on the 995.00 left
  CHECK(s2["total"] == "905.00");
  CHECK(s2["points_earned"] == 2715);
  CHECK(hasPromotion(s2, "snacks-10"));
  CHECK(hasPromotion(s2, "spend500-gift"));
  CHECK(hasPromotion(s2, "birthday-month"));
  CHECK_FALSE(hasPromotion(s2, "member-day"));
  // Returning the TV breaks both thresholds: the towel is to be returned too.
  const json r3 = ok(exec.call({{"op", "refund"}, {"refund_id", "R3"}, {"sale_id", "S2"},
                                {"lines", {{{"sku", "TV"}, {"qty", 1}}}}, {"at", "2026-07-09T10:00:00+08:00"}}));
  CHECK(r3["gifts_to_return"] == json::array({"GIFT-TOWEL"}));
  CHECK(r3["amount"] == "860.00");  // the snacks keep their member price: 45.00 paid for them

  // A guest gets the spend discount but no member price and no points.
  const json g = ok(exec.call({{"op", "sale"}, {"sale_id", "S3"},
                               {"lines", {{{"sku", "CHIPS"}, {"qty", 12}, {"unit_price", "25.00"}, {"category", "snack"}}}},
                               {"at", "2026-07-08T12:00:00+08:00"}}));
  CHECK(g["discount"] == "30.00");
  CHECK(g["points_earned"] == 0);
  CHECK_FALSE(hasPromotion(g, "snacks-10"));
  CHECK(ok(exec.call({{"op", "verify"}}))["ok"] == true);
}

TEST_CASE("exec rules: the crossing sale earns at the old tier, downgrades wait for the month's review", "[e2e][rules]") {
  TempDir dir;
  // The refund below is about tiers, not about who may make it (refund_supervisor_above).
  Exec exec(dir, {"--config", writeConfig(dir, "[loyalty]\nrefund_supervisor_above = \"100000.00\"\n")});
  const json m = ok(exec.call({{"op", "enroll"}, {"phone", "13900003333"}, {"name", "王芳"}, {"consent_marketing", true},
                               {"at", "2026-08-01T09:00:00Z"}}));
  const json a = ok(exec.call({{"op", "sale"}, {"sale_id", "T1"}, {"member", m["member_id"]},
                               {"lines", {line("A", 1, "1999.99")}}, {"at", "2026-08-03T09:00:00Z"}}));
  CHECK(a["tier"] == "member");
  CHECK(a["tier_changed"] == false);
  CHECK(a["points_earned"] == 1999);
  // Exactly 2,000.00: silver is reached by this sale, which still earns at 1.0.
  const json b = ok(exec.call({{"op", "sale"}, {"sale_id", "T2"}, {"member", m["member_id"]},
                               {"lines", {line("B", 1, "100.01")}}, {"at", "2026-08-04T09:00:00Z"}}));
  CHECK(b["tier"] == "silver");
  CHECK(b["tier_changed"] == true);
  CHECK(b["points_earned"] == 100);
  const json c = ok(exec.call({{"op", "sale"}, {"sale_id", "T3"}, {"member", m["member_id"]},
                               {"lines", {line("C", 1, "100.00")}}, {"at", "2026-08-05T09:00:00Z"}}));
  CHECK(c["points_earned"] == 120);
  CHECK(c["tier_changed"] == false);
  const json seen = ok(exec.call({{"op", "member"}, {"member", m["member_id"]}, {"at", "2026-08-06T09:00:00Z"}}));
  CHECK(seen["tier"] == "silver");
  const auto k = kinds(seen["greetings"]);
  CHECK(std::find(k.begin(), k.end(), "tier_upgrade") != k.end());

  // A refund brings the rolling spend under 2,000; the tier holds until 1 September's review.
  ok(exec.call({{"op", "refund"}, {"refund_id", "TR1"}, {"sale_id", "T1"}, {"at", "2026-08-20T09:00:00Z"}}));
  CHECK(ok(exec.call({{"op", "member"}, {"member", m["member_id"]}, {"at", "2026-08-31T09:00:00Z"}}))["tier"] == "silver");
  CHECK(ok(exec.call({{"op", "member"}, {"member", m["member_id"]}, {"at", "2026-09-01T09:00:00Z"}}))["tier"] == "member");
  CHECK(ok(exec.call({{"op", "verify"}}))["ok"] == true);
}

TEST_CASE("exec rules: points expire as ledger entries, oldest lots are used first", "[e2e][rules]") {
  TempDir dir;
  Exec exec(dir, {"--config", writeConfig(dir, "[loyalty]\nexpiry = \"months:1\"\n")});
  const json m = ok(exec.call({{"op", "enroll"}, {"phone", "13900004444"}, {"name", "Chen Jie"}, {"consent_marketing", false},
                               {"language", "en"}, {"at", "2026-01-01T09:00:00Z"}}));
  const std::string id = m["member_id"];
  ok(exec.call({{"op", "sale"}, {"sale_id", "E1"}, {"member", id}, {"lines", {line("A", 1, "100.00")}}, {"at", "2026-01-10T09:00:00Z"}}));
  ok(exec.call({{"op", "sale"}, {"sale_id", "E2"}, {"member", id}, {"lines", {line("A", 1, "50.00")}}, {"at", "2026-01-20T09:00:00Z"}}));
  // 120 points take the first lot (100, usable through 9 February) and 20 of the second.
  CHECK(ok(exec.call({{"op", "redeem"}, {"redemption_id", "X1"}, {"member", id}, {"points", 120},
                      {"at", "2026-01-25T09:00:00Z"}}))["balance"] == 30);
  const json soon = ok(exec.call({{"op", "member"}, {"member", id}, {"at", "2026-02-05T09:00:00Z"}}));
  CHECK(soon["points"] == 30);
  bool reminded = false;
  for (const json& g : soon["greetings"]) {
    if (g["kind"] == "points_expiring") {
      reminded = true;
      CHECK(g["text"].get<std::string>().find("30") != std::string::npos);
    }
  }
  CHECK(reminded);
  // 19 February is the second lot's last day; on the 20th its 30 points expire.
  CHECK(ok(exec.call({{"op", "member"}, {"member", id}, {"at", "2026-02-19T09:00:00Z"}}))["points"] == 30);
  CHECK(ok(exec.call({{"op", "member"}, {"member", id}, {"at", "2026-02-20T09:00:00Z"}}))["points"] == 0);
  const json history = ok(exec.call({{"op", "history"}, {"member", id}}));
  REQUIRE(history["entries"].size() == 4);
  CHECK(history["entries"][0]["kind"] == "expire");
  CHECK(history["entries"][0]["points"] == -30);
  CHECK(history["entries"][0]["balance_after"] == 0);

  // The daily housekeeping writes what is due for everyone, once.
  const json other = ok(exec.call({{"op", "enroll"}, {"phone", "13900005555"}, {"name", "Li Lei"}, {"consent_marketing", false},
                                   {"at", "2026-01-01T09:00:00Z"}}));
  ok(exec.call({{"op", "sale"}, {"sale_id", "E3"}, {"member", other["member_id"]}, {"lines", {line("A", 1, "70.00")}},
                {"at", "2026-01-10T09:00:00Z"}}));
  const json hk = ok(exec.call({{"op", "housekeeping"}, {"at", "2026-03-01T02:00:00Z"}}));
  CHECK(hk["expired_entries"] == 1);
  CHECK(hk["points_expired"] == 70);
  CHECK(ok(exec.call({{"op", "housekeeping"}, {"at", "2026-03-01T03:00:00Z"}}))["expired_entries"] == 0);
  const json stats = ok(exec.call({{"op", "stats"}}));
  CHECK(stats["outbox_pending"] == 2 + 3 + 1 + 2);  // enrolments, sales, redemption, two expiries
  CHECK(ok(exec.call({{"op", "verify"}}))["ok"] == true);
}

TEST_CASE("exec rules: the referrer's bonus comes once, at the first positive sale", "[e2e][rules]") {
  TempDir dir;
  Exec exec(dir);
  const json r = ok(exec.call({{"op", "enroll"}, {"phone", "13900006666"}, {"name", "张伟"}, {"consent_marketing", true},
                               {"at", "2026-04-01T09:00:00Z"}}));
  CHECK(error(exec.call({{"op", "enroll"}, {"phone", "13900007777"}, {"name", "刘洋"}, {"consent_marketing", true},
                         {"referrer", "13900009999"}}))["field"] == "referrer");
  const json n = ok(exec.call({{"op", "enroll"}, {"phone", "13900007777"}, {"name", "刘洋"}, {"consent_marketing", true},
                               {"referrer", "139 0000 6666"}, {"at", "2026-04-02T09:00:00Z"}}));
  // A return first is not a purchase.
  ok(exec.call({{"op", "sale"}, {"sale_id", "F0"}, {"member", n["member_id"]}, {"lines", {line("A", -1, "5.00")}},
                {"at", "2026-04-03T09:00:00Z"}}));
  CHECK(ok(exec.call({{"op", "member"}, {"member", r["member_id"]}, {"at", "2026-04-03T10:00:00Z"}}))["points"] == 0);
  ok(exec.call({{"op", "sale"}, {"sale_id", "F1"}, {"member", n["member_id"]}, {"lines", {line("A", 1, "12.00")}},
                {"at", "2026-04-04T09:00:00Z"}}));
  ok(exec.call({{"op", "sale"}, {"sale_id", "F2"}, {"member", n["member_id"]}, {"lines", {line("A", 1, "12.00")}},
                {"at", "2026-04-05T09:00:00Z"}}));
  const json history = ok(exec.call({{"op", "history"}, {"member", r["member_id"]}}));
  REQUIRE(history["entries"].size() == 1);
  CHECK(history["entries"][0]["kind"] == "bonus");
  CHECK(history["entries"][0]["points"] == 100);
  CHECK(ok(exec.call({{"op", "verify"}}))["ok"] == true);
}

TEST_CASE("exec rules: the member op greets birthday, anniversary, welcome back and festival", "[e2e][rules]") {
  TempDir dir;
  Exec exec(dir, {"--config", writeConfig(dir, "[store]\ntimezone = \"Asia/Shanghai\"\n")});
  const json m = ok(exec.call({{"op", "enroll"}, {"phone", "13900008888"}, {"name", "赵敏"}, {"birthday", "1988-09-25"},
                               {"consent_marketing", true}, {"at", "2025-09-25T10:00:00+08:00"}}));
  ok(exec.call({{"op", "sale"}, {"sale_id", "G1"}, {"member", m["member_id"]}, {"lines", {line("A", 1, "10.00")}},
                {"at", "2026-05-01T10:00:00+08:00"}}));
  // 25 September 2026 is Mid-Autumn, her birthday and a year since she joined; May was long ago.
  const json seen = ok(exec.call({{"op", "member"}, {"member", m["member_id"]}, {"at", "2026-09-25T09:00:00+08:00"}}));
  CHECK(kinds(seen["greetings"]) == std::vector<std::string>{"birthday", "anniversary", "welcome_back", "festival"});
  for (const json& g : seen["greetings"]) CHECK(g["text"].get<std::string>().find("赵敏") != std::string::npos);
  // The same instant is still 24 September in UTC: the store's own day decides.
  TempDir utcDir;
  Exec utc(utcDir);
  const json u = ok(utc.call({{"op", "enroll"}, {"phone", "13900008888"}, {"name", "Zhao Min"}, {"birthday", "1988-09-25"},
                              {"consent_marketing", true}, {"language", "en"}, {"at", "2025-09-26T10:00:00Z"}}));
  const json plain = ok(utc.call({{"op", "member"}, {"member", u["member_id"]}, {"at", "2026-09-24T20:00:00Z"}}));
  const auto k = kinds(plain["greetings"]);
  CHECK(std::find(k.begin(), k.end(), "anniversary") == k.end());
  CHECK(std::find(k.begin(), k.end(), "birthday") != k.end());  // birthday_greeting "week" by default
}

TEST_CASE("exec rules: head office's pushed programme overrides the local file", "[e2e][rules]") {
  TempDir dir;
  const std::string config = writeConfig(dir, "[loyalty]\nearn_points_per_unit = 1\n");
  {
    Exec exec(dir, {"--config", config});
    ok(exec.call({{"op", "stats"}}));  // creates the store
    CHECK(exec.finish() == 0);
  }
  {
    // What the sync engine stores when head office publishes a programme (docs/sync-wire.md);
    // a refused one (error set) is never in force.
    loyalty::db::Database db(dir.str() + "/terminal.db");
    db.query("INSERT INTO hq_config(version, toml, error, received_at) VALUES (?, ?, NULL, ?)")
        .bind(1, std::int64_t{1})
        .bind(2, std::string("[loyalty]\nearn_points_per_unit = 2\n[[promotion]]\nid = \"hq-off\"\n"
                             "kind = \"spend_discount\"\nthreshold = \"50.00\"\namount = \"5.00\"\n"))
        .bind(3, std::string("2026-05-01T00:00:00Z"))
        .run();
    db.query("INSERT INTO hq_config(version, toml, error, received_at) VALUES (?, ?, ?, ?)")
        .bind(1, std::int64_t{2}).bind(2, std::string("[loyalty]\nbogus = 1\n"))
        .bind(3, std::string("loyalty.bogus: unknown key")).bind(4, std::string("2026-05-02T00:00:00Z"))
        .run();
  }
  Exec exec(dir, {"--config", config});
  const json m = ok(exec.call({{"op", "enroll"}, {"phone", "13900001212"}, {"name", "Pushed"}, {"consent_marketing", false}}));
  const json s = ok(exec.call({{"op", "sale"}, {"sale_id", "H1"}, {"member", m["member_id"]}, {"lines", {line("A", 1, "60.00")}}}));
  CHECK(s["discount"] == "5.00");
  CHECK(s["points_earned"] == 110);  // 55.00 at 2 points per 1.00
  CHECK(hasPromotion(s, "hq-off"));
}
