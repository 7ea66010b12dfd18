// The members' change feed read from its own log (member_feed.hpp): every member change puts the
// member's entry at its new number, the feed lists each member once at its latest, and pruning
// any superseded entries left (in laps of 10,000) changes nothing a terminal pulls.
#include <chrono>
#include <stdexcept>
#include <thread>

#include "loyalty/hq/member_feed.hpp"
#include "support/hq_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;

namespace {

/// The members of every page of the change feed (2 changes a page), in order: "member balance".
std::vector<std::string> pullFeed(HqInstance& hq, const std::string& token) {
  std::vector<std::string> out;
  std::string cursor;
  auto c = hq.client();
  for (int guard = 0; guard < 100; ++guard) {
    auto res = c->Get(("/api/v1/changes?limit=2&cursor=" + cursor).c_str(), bearer(token));
    REQUIRE(res);
    REQUIRE(res->status == 200);
    const json page = json::parse(res->body);
    for (const auto& ch : page.at("changes")) {
      if (ch.at("type") != "member") continue;
      out.push_back(ch.at("member").at("member_id").get<std::string>() + " " + std::to_string(ch.at("balance").get<std::int64_t>()));
    }
    cursor = page.at("next_cursor").get<std::string>();
    if (!page.at("has_more").get<bool>()) return out;
  }
  FAIL("the feed did not end");
  return out;
}

std::int64_t count(loyalty::hq::SqlConnection& c, const std::string& sql) { return c.query(sql).integer(0, 0); }

/// Members whose current change number has no entry in the log.
std::int64_t missingPlaces(loyalty::hq::SqlConnection& c) {
  return count(c, "SELECT COUNT(*) FROM members m WHERE change_no > 0 AND NOT EXISTS (SELECT 1 FROM member_feed f "
                  "WHERE f.member_id = m.member_id AND f.change_no = m.change_no)");
}

/// Gives `members` new change numbers outside ingest (as merges, adjustments, tier reviews and
/// opt-outs do), in a transaction.
void giveNewNumbers(loyalty::hq::SqlConnection& c, const std::vector<std::string>& members) {
  loyalty::hq::SqlTransaction tx(c);
  loyalty::hq::setMemberChangeNumbers(c, members, loyalty::hq::takeChangeNumbers(c, static_cast<std::int64_t>(members.size())));
  tx.commit();
}

}  // namespace

TEMPLATE_TEST_CASE("member feed: each change moves the member's entry, the feed lists a member once at its latest, and pruning "
                   "changes nothing pulled",
                   "[hq][feed]", SqliteBackend, PostgresBackend) {
  HqInstance hq(TestType::kName);
  hq.start();
  const std::string token = hq.registerTerminal("S1", "T1");
  uploadApplied(hq, token, "T1", json::array({enrolEvent("T1", "S1", 1, "M1"), enrolEvent("T1", "S1", 2, "M2"),
                                              enrolEvent("T1", "S1", 3, "M3")}));
  // Five batches changing M1 and M2 each time; M3 keeps its enrolment's number.
  std::int64_t seq = 4;
  for (int b = 0; b < 5; ++b) {
    json events = json::array();
    for (const char* m : {"M1", "M2"}) {
      events.push_back(saleEvent("T1", "S1", seq, std::string(m), "10.00", 10));
      ++seq;
    }
    uploadApplied(hq, token, "T1", events);
  }
  const std::vector<std::string> expected = {"M3 0", "M1 50", "M2 50"};
  CHECK(pullFeed(hq, token) == expected);
  hq.stop();  // the background prune is the server's: stopped, it runs only here

  auto c = hq.sql();
  // Six numbers for M1 and M2 each, one for M3: one entry each, at the latest.
  CHECK(missingPlaces(*c) == 0);
  CHECK(count(*c, "SELECT COUNT(*) FROM member_feed") == 3);
  // Numbers given out outside ingest move the members' entries too, several at once in order.
  const std::int64_t before = count(*c, "SELECT value FROM counters WHERE name = 'change_no'");
  giveNewNumbers(*c, {"M3", "M1"});
  CHECK(count(*c, "SELECT COUNT(*) FROM member_feed") == 3);
  CHECK(count(*c, "SELECT COUNT(*) FROM member_feed WHERE member_id = 'M3'") == 1);
  CHECK(count(*c, "SELECT change_no FROM members WHERE member_id = 'M3'") == before + 1);
  CHECK(count(*c, "SELECT change_no FROM members WHERE member_id = 'M1'") == before + 2);
  CHECK(missingPlaces(*c) == 0);
  // Superseded entries (as an older release or a repair could leave): 25,000 more of M1's,
  // numbers above its current.
  const std::int64_t top = count(*c, "SELECT value FROM counters WHERE name = 'change_no'");
  c->query("INSERT INTO member_feed(change_no, member_id) SELECT " + std::to_string(top) +
           " + n, 'M1' FROM (WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 25000) SELECT n FROM g) x");
  c->query("UPDATE counters SET value = value + 25000 WHERE name = 'change_no'");
  // A lap: three chunks of up to 10,000, more after the first two, then back to the start.
  CHECK(loyalty::hq::pruneMemberFeed(*c));
  CHECK(loyalty::hq::pruneMemberFeed(*c));
  CHECK_FALSE(loyalty::hq::pruneMemberFeed(*c));
  CHECK(count(*c, "SELECT value FROM counters WHERE name = 'member_feed_pruned_through'") == 0);
  CHECK(count(*c, "SELECT COUNT(*) FROM member_feed") == 3);
  CHECK(missingPlaces(*c) == 0);
  CHECK_FALSE(loyalty::hq::pruneMemberFeed(*c));  // nothing more to do
  CHECK(count(*c, "SELECT COUNT(*) FROM member_feed") == 3);
  // A change after the lap, and a superseded entry at the log's start: the next lap drops it.
  giveNewNumbers(*c, {"M2"});
  c->query("INSERT INTO member_feed(change_no, member_id) VALUES (1, 'M2')");
  CHECK(count(*c, "SELECT COUNT(*) FROM member_feed") == 4);
  CHECK_FALSE(loyalty::hq::pruneMemberFeed(*c));
  CHECK(count(*c, "SELECT COUNT(*) FROM member_feed") == 3);
  CHECK(missingPlaces(*c) == 0);

  // Pulled after the prune: the same members, each once, at the same balances, in the order of
  // their latest changes.
  const std::vector<std::string> reordered = {"M3 0", "M1 50", "M2 50"};
  hq.start();
  CHECK(pullFeed(hq, token) == reordered);
  uploadApplied(hq, token, "T1", json::array({saleEvent("T1", "S1", seq, std::string("M3"), "10.00", 10)}));
  CHECK(pullFeed(hq, token) == std::vector<std::string>{"M1 50", "M2 50", "M3 10"});
  hq.stop();

  // A member whose latest change has no entry (an older release's instance left running after
  // the upgrade) gets a new number, so that terminals past its old one pull it, from a lap over
  // the members...
  c = hq.sql();
  c->query("DELETE FROM member_feed WHERE member_id = 'M1'");
  CHECK(missingPlaces(*c) == 1);
  const std::int64_t top2 = count(*c, "SELECT value FROM counters WHERE name = 'change_no'");
  CHECK_FALSE(loyalty::hq::restoreMemberPlaces(*c));  // three members: one chunk, the lap ends
  CHECK(c->query("SELECT member_id FROM member_feed_checked").text(0, 0).empty());  // back at the start
  CHECK(missingPlaces(*c) == 0);
  CHECK(count(*c, "SELECT change_no FROM members WHERE member_id = 'M1'") == top2 + 1);
  CHECK_FALSE(loyalty::hq::restoreMemberPlaces(*c));  // nothing more to do
  CHECK(count(*c, "SELECT value FROM counters WHERE name = 'change_no'") == top2 + 1);
  CHECK(count(*c, "SELECT COUNT(*) FROM member_feed") == 3);
  // ... which the leader's refresher runs in the background (its first round comes at start).
  c->query("DELETE FROM member_feed WHERE member_id = 'M2'");
  hq.start();
  for (int i = 0; i < 200 && missingPlaces(*c) > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(missingPlaces(*c) == 0);
  CHECK(pullFeed(hq, token) == std::vector<std::string>{"M3 10", "M1 50", "M2 50"});
  hq.stop();

  // A lap of two chunks over 10,003 members, 10,000 of them without a place: 9,997 renumbered
  // at once (the SQLite statements of every chunk size), the cursor kept between the calls.
  const std::int64_t top3 = count(*c, "SELECT value FROM counters WHERE name = 'change_no'");
  c->query("INSERT INTO members(member_id, enrolled, card_no, phone, name, consent_marketing, enrolled_at, enrolled_store, "
           "change_no) SELECT 'X' || CAST(n AS TEXT), 1, 'C' || CAST(n AS TEXT), '', '', 0, '2026-12-01T00:00:00Z', 'S1', " +
           std::to_string(top3) + " + n FROM (WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 10000) "
           "SELECT n FROM g) x");
  c->query("UPDATE counters SET value = value + 10000 WHERE name = 'change_no'");
  CHECK(missingPlaces(*c) == 10000);
  CHECK(loyalty::hq::restoreMemberPlaces(*c));  // M1-M3 and 9,997 of X1-X9999 (in the order of ids)
  CHECK(c->query("SELECT member_id FROM member_feed_checked").text(0, 0) == "X9996");
  CHECK(missingPlaces(*c) == 3);
  CHECK_FALSE(loyalty::hq::restoreMemberPlaces(*c));
  CHECK(c->query("SELECT member_id FROM member_feed_checked").text(0, 0).empty());
  CHECK(missingPlaces(*c) == 0);
  CHECK(count(*c, "SELECT MIN(change_no) FROM members WHERE member_id LIKE 'X%'") == top3 + 10001);
  CHECK(count(*c, "SELECT MAX(change_no) FROM members") == top3 + 10000 + 10000);
  CHECK(count(*c, "SELECT COUNT(*) FROM member_feed") == 10003);
  CHECK(count(*c, "SELECT COUNT(DISTINCT change_no) FROM member_feed") == 10003);
  // A member named twice is a caller's bug, refused before any write.
  CHECK_THROWS_AS(giveNewNumbers(*c, {"M1", "M2", "M1"}), std::logic_error);
  CHECK(count(*c, "SELECT COUNT(*) FROM member_feed") == 10003);
}
