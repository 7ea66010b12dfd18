// The terminal's side of sync on a real database: the outbox as the upload engine sees it, and
// change pages applied with balances reconciled against head office.
#include <catch2/catch.hpp>

#include "../support/temp_dir.hpp"
#include "loyalty/sync/event_types.hpp"
#include "loyalty/terminal/counter_service.hpp"
#include "loyalty/terminal/store.hpp"
#include "loyalty/terminal/sync_store.hpp"

using namespace loyalty;
using namespace loyalty::terminal;
using nlohmann::json;

namespace {

Timestamp at(const char* text) { return *parseRfc3339(text, "at"); }

struct Counter {
  test::TempDir dir;
  db::Database db = openTerminalDatabase(dir.str());
  RandomIds ids{11};
  CounterService service{db, CounterConfig{}, ids};
  TerminalOutbox outbox{db};
  TerminalChangeSink sink{db, service, [] { return at("2026-03-01T09:00:00Z"); }};

  MemberView enroll(const std::string& phone, const std::string& name) {
    EnrollRequest r;
    r.phone = phone;
    r.name = name;
    r.at = at("2026-01-05T10:00:00Z");
    auto m = service.enroll(r);
    REQUIRE(m.hasValue());
    return *m;
  }
  SaleResult sale(const std::string& id, const std::string& member, const std::string& price) {
    SaleRequest r;
    r.saleId = id;
    r.member = member;
    r.lines = {{"SKU1", std::nullopt, 1, price}};
    r.at = at("2026-02-01T12:00:00Z");
    auto s = service.sale(r);
    REQUIRE(s.hasValue());
    return *s;
  }
  std::int64_t balance(const std::string& memberId) {
    auto m = service.member(memberId, at("2026-03-01T09:00:00Z"));
    REQUIRE(m.hasValue());
    return m->member.points - m->member.pointsDebt;
  }
  std::int64_t count(const std::string& sql) {
    auto q = db.query("SELECT (" + sql + ") AS n");
    q.step();
    return q.int64("n");
  }
};

sync::MemberChange snapshot(const std::string& id, const std::string& phone, const std::string& name,
                            std::int64_t balance) {
  sync::MemberChange c;
  c.member.memberId = id;
  c.member.cardNo = "8000000000000001";
  c.member.phone = phone;
  c.member.name = name;
  c.member.enrolledAt = "2026-01-02T08:00:00Z";
  c.member.enrolledStore = "S002";
  c.member.lifetimeSpend = "120.00";
  c.balance = balance;
  c.tier = "silver";
  return c;
}

}  // namespace

TEST_CASE("The outbox source reads events above the watermark and moves it only when told", "[sync]") {
  Counter c;
  const auto m = c.enroll("13800138000", "Li Lei");
  c.sale("s1", m.memberId, "100.00");
  c.sale("s2", m.memberId, "50.00");
  CHECK(c.outbox.ackedThrough() == 0);
  CHECK(c.outbox.pendingCount() == 3);
  auto events = c.outbox.eventsAfter(0, 2);
  REQUIRE(events.size() == 2);
  CHECK(events[0].seq == 1);
  CHECK(events[0].type == sync::kMemberEnrolled);
  CHECK(events[1].type == sync::kSaleRecorded);
  CHECK(events[1].payload.at("sale_id") == "s1");
  c.outbox.setAckedThrough(2);
  CHECK(c.outbox.ackedThrough() == 2);
  CHECK(c.outbox.pendingCount() == 1);
  CHECK(c.outbox.eventsAfter(2, 10).at(0).seq == 3);
  CHECK(c.count("SELECT COUNT(*) FROM outbox") == 3);  // acknowledged rows are kept
}

TEST_CASE("Points effects of each event type follow the wire document", "[sync]") {
  CHECK(pointsEffect(sync::kSaleRecorded,
                     json{{"member_id", "m"}, {"points_earned", 30}, {"points_redeemed", 100}})
            ->points == -70);
  CHECK_FALSE(pointsEffect(sync::kSaleRecorded, json{{"member_id", nullptr}, {"points_earned", 0}}));
  CHECK(pointsEffect(sync::kPointsRedeemed, json{{"member_id", "m"}, {"points", 40}})->points == -40);
  CHECK(pointsEffect(sync::kSaleRefunded,
                     json{{"member_id", "m"}, {"points_reversed", 9}, {"points_returned", 4}})
            ->points == -5);
  CHECK(pointsEffect(sync::kPointsAdjusted, json{{"member_id", "m"}, {"points", -12}})->points == -12);
  CHECK_FALSE(pointsEffect(sync::kMemberEnrolled, json{{"member_id", "m"}}));
}

TEST_CASE("A member enrolled at another store arrives searchable with head office's balance", "[sync]") {
  Counter c;
  sync::ChangePage page;
  page.changes.push_back(snapshot("6f1c3a52-0000-4000-8000-000000000001", "+8613900139000", "王小明", 250));
  page.nextCursor = "7";
  c.sink.applyPage(page);
  CHECK(c.sink.cursor() == "7");
  CHECK(c.sink.problems().empty());
  CHECK(c.balance("6f1c3a52-0000-4000-8000-000000000001") == 250);
  auto found = c.service.lookup({"小明", 5});
  REQUIRE(found.hasValue());
  REQUIRE(found->size() == 1);
  CHECK(found->at(0).tier == "silver");
  CHECK(c.count("SELECT COUNT(*) FROM outbox") == 0);  // nothing to tell head office back
  CHECK(c.count("SELECT COUNT(*) FROM ledger WHERE kind = 'adjust' AND ref_id = 'hq-sync:7'") == 1);
  CHECK(c.service.verify().problems == std::vector<std::string>{});

  // A later snapshot renames the member and lowers the balance (spent at another store).
  sync::ChangePage later;
  auto renamed = snapshot("6f1c3a52-0000-4000-8000-000000000001", "+8613900139000", "王大明", 200);
  later.changes.push_back(renamed);
  later.nextCursor = "9";
  c.sink.applyPage(later);
  CHECK(c.balance("6f1c3a52-0000-4000-8000-000000000001") == 200);
  CHECK(c.service.lookup({"大明", 5})->size() == 1);
  CHECK(c.service.lookup({"小明", 5})->empty());
  CHECK(c.service.verify().problems == std::vector<std::string>{});
}

TEST_CASE("Own events head office has not applied yet stay on top of its balance", "[sync]") {
  Counter c;
  const auto m = c.enroll("13800138001", "Han Meimei");  // seq 1
  c.sale("s1", m.memberId, "100.00");                    // seq 2: +100
  REQUIRE(c.balance(m.memberId) == 100);

  sync::ChangePage page;
  auto snap = snapshot(m.memberId, "+8613800138001", "Han Meimei", 0);
  snap.member.cardNo = m.cardNo;
  page.changes.push_back(snap);
  page.appliedThrough = 1;  // HQ has the enrolment, not the sale yet
  page.nextCursor = "3";
  c.sink.applyPage(page);
  CHECK(c.balance(m.memberId) == 100);
  CHECK(c.count("SELECT COUNT(*) FROM ledger WHERE kind = 'adjust'") == 0);

  // HQ applied the sale, and the member earned 40 more at another store.
  snap.balance = 140;
  page.changes = {snap};
  page.appliedThrough = 2;
  page.nextCursor = "5";
  c.sink.applyPage(page);
  CHECK(c.balance(m.memberId) == 140);
  CHECK(
      c.count("SELECT COUNT(*) FROM ledger WHERE kind = 'adjust' AND points = 40 AND ref_id = 'hq-sync:5'") ==
      1);
  CHECK(c.count("SELECT COUNT(*) FROM outbox") == 2);
  CHECK(c.service.verify().problems == std::vector<std::string>{});
}

TEST_CASE("Merges, the catalogue and pushed configuration are stored with the page", "[sync]") {
  Counter c;
  sync::ChangePage page;
  page.changes.push_back(snapshot("6f1c3a52-0000-4000-8000-00000000000a", "+8613900139001", "Zhang Wei", 80));
  auto into = snapshot("6f1c3a52-0000-4000-8000-00000000000b", "+8613900139002", "Zhang Wei", 20);
  into.member.cardNo = "8000000000000002";
  page.changes.push_back(into);
  page.changes.push_back(sync::MemberMergedChange{"6f1c3a52-0000-4000-8000-00000000000a",
                                                  "6f1c3a52-0000-4000-8000-00000000000b"});
  into.balance = 100;
  page.changes.push_back(into);
  page.changes.push_back(sync::CatalogChange{{{"R1", "Tote bag", 500, true}, {"R2", "Mug", 300, true}}});
  page.changes.push_back(sync::ConfigChange{3, "[loyalty]\nredeem_points_per_unit = 100\n"});
  page.changes.push_back(sync::ConfigChange{4, "[loyalty]\nno_such_key = 1\n"});
  page.nextCursor = "12";
  c.sink.applyPage(page);
  // The merged-away member keeps its history with nothing left on it, and a reference to it
  // (an old card, its phone) now serves the survivor.
  CHECK(c.count("SELECT balance FROM members WHERE member_id = '6f1c3a52-0000-4000-8000-00000000000a'") == 0);
  CHECK(c.service.member("6f1c3a52-0000-4000-8000-00000000000a", at("2026-03-01T09:00:00Z"))->member.memberId ==
        "6f1c3a52-0000-4000-8000-00000000000b");
  CHECK(c.balance("6f1c3a52-0000-4000-8000-00000000000b") == 100);
  CHECK(
      c.count("SELECT COUNT(*) FROM member_merges WHERE into_id = '6f1c3a52-0000-4000-8000-00000000000b'") ==
      1);
  CHECK(c.service.lookup({"zhang", 5})->size() == 1);
  CHECK(c.count("SELECT COUNT(*) FROM rewards WHERE active = 1") == 2);
  CHECK(c.count("SELECT COUNT(*) FROM hq_config WHERE version = 3 AND error IS NULL") == 1);
  CHECK(c.count("SELECT COUNT(*) FROM hq_config WHERE version = 4 AND error LIKE '%no_such_key%'") == 1);
  CHECK(c.sink.problems().size() == 1);  // the refused configuration, named

  sync::ChangePage next;
  next.changes.push_back(sync::CatalogChange{{{"R2", "Mug", 250, true}}});
  next.nextCursor = "13";
  c.sink.applyPage(next);
  CHECK(c.count("SELECT COUNT(*) FROM rewards WHERE reward_id = 'R1' AND active = 0") == 1);
  CHECK(c.count("SELECT points FROM rewards WHERE reward_id = 'R2'") == 250);
  CHECK(c.service.verify().problems == std::vector<std::string>{});
}

TEST_CASE(
    "A member head office sends with a phone another local member holds is reported, the page still applies",
    "[sync]") {
  Counter c;
  c.enroll("13800138009", "Local Person");
  sync::ChangePage page;
  page.changes.push_back(
      snapshot("6f1c3a52-0000-4000-8000-0000000000ff", "+8613800138009", "Other Person", 10));
  page.changes.push_back(sync::CatalogChange{{{"R1", "Tote bag", 500, true}}});
  page.nextCursor = "2";
  c.sink.applyPage(page);
  CHECK(c.sink.cursor() == "2");
  REQUIRE(c.sink.problems().size() == 1);
  CHECK(c.sink.problems()[0].find("6f1c3a52-0000-4000-8000-0000000000ff") != std::string::npos);
  CHECK(c.count("SELECT COUNT(*) FROM rewards") == 1);
  CHECK(c.service.verify().problems == std::vector<std::string>{});
}
