#include "loyalty/hq/member_feed.hpp"

#include <stdexcept>
#include <unordered_set>

#include "ingest_writes.hpp"
#include "loyalty/logging/logging.hpp"

namespace loyalty::hq {

namespace {

constexpr std::int64_t kPruneChunk = 10000;

}  // namespace

void ensureMemberFeed(SqlConnection& c) {
  if (!c.hasTable("member_feed")) {
    // (change_no, member_id): a number is given out once, but an entry of a database whose
    // members somehow share one must not stop the upgrade.
    c.execScript(schemaForBackend(
        "CREATE TABLE member_feed(change_no BIGINT NOT NULL, member_id {{ID}} NOT NULL, PRIMARY KEY(change_no, member_id))",
        c.backend()));
    c.query("INSERT INTO member_feed(change_no, member_id) SELECT change_no, member_id FROM members WHERE change_no > 0");
  }
  c.query("INSERT INTO counters(name, value) VALUES ('member_feed_pruned_through', 0) ON CONFLICT (name) DO NOTHING");
  // Where restoreMemberPlaces' lap is: the last member checked ('' at a lap's start).
  if (!c.hasTable("member_feed_checked")) {
    c.execScript(schemaForBackend("CREATE TABLE member_feed_checked(member_id {{ID}} NOT NULL)", c.backend()));
    c.query("INSERT INTO member_feed_checked(member_id) VALUES ('')");
  }
  replaceIndexes(c, {}, {"members_change"}, "the change feed reads member_feed now");
  // A balance's update changes no indexed column of members now: room on its page keeps it there.
  keepRoomForUpdates(c, {"members"}, 80);
}

std::int64_t takeChangeNumbers(SqlConnection& c, std::int64_t count) {
  const auto r = c.query("UPDATE counters SET value = value + $1 WHERE name = 'change_no' RETURNING value", {count});
  return r.integer(0, 0) - count + 1;
}

std::string currentMemberChanges(std::string_view backend) {
  if (backend == "postgresql") {
    return "member_feed f CROSS JOIN LATERAL (SELECT * FROM members m0 WHERE m0.member_id = f.member_id AND m0.change_no = "
           "f.change_no OFFSET 0) m";
  }
  return "member_feed f JOIN members m ON m.member_id = f.member_id AND m.change_no = f.change_no";
}

void setMemberChangeNumbers(SqlConnection& c, const std::vector<std::string>& memberIds, std::int64_t firstNumber) {
  // Two rows of one member in the UPDATE would give it either number, and leave two entries.
  if (std::unordered_set<std::string>(memberIds.begin(), memberIds.end()).size() != memberIds.size()) {
    throw std::logic_error("setMemberChangeNumbers: a member named twice");
  }
  RowBuffer drop(kMemberFeedDropHead, "t", kMemberFeedDropTail);
  RowBuffer update("UPDATE members SET change_no = v.column2 FROM (", "ti", ") AS v WHERE member_id = v.column1");
  RowBuffer insert(kMemberFeedInsert, "it");
  std::int64_t number = firstNumber;
  for (const auto& id : memberIds) {
    drop.add(id);
    update.add(id, number);
    insert.add(number, id);
    ++number;
  }
  drop.flush(c);  // by the numbers the members have until the update
  update.flush(c);
  insert.flush(c);
}

bool pruneMemberFeed(SqlConnection& c) {
  SqlTransaction tx(c, SqlTransaction::Kind::kRowWrite);
  const auto from = c.query("SELECT value FROM counters WHERE name = 'member_feed_pruned_through'");
  const std::int64_t after = from.empty() ? 0 : from.integer(0, 0);
  const auto r = c.query("SELECT MAX(change_no), COUNT(*) FROM (SELECT change_no FROM member_feed WHERE change_no > $1 "
                         "ORDER BY change_no LIMIT $2) x",
                         {after, kPruneChunk});
  const bool more = r.integer(0, 1) == kPruneChunk;
  // An entry is superseded once its member's number is another: numbers only grow, so it stays
  // superseded, and the member's current entry (committed with the number) is never deleted.
  // A number given out but not committed yet is not seen here, nor is its entry.
  std::int64_t through = 0;
  if (!r.isNull(0, 0)) {
    through = r.integer(0, 0);
    // The member's number looked up per entry (a scalar subquery): PostgreSQL planned NOT
    // EXISTS as a hash of every member, half a second a chunk at a million.
    c.exec("DELETE FROM member_feed WHERE change_no > $1 AND change_no <= $2 AND COALESCE((SELECT m.change_no FROM members m "
           "WHERE m.member_id = member_feed.member_id), -1) <> member_feed.change_no",
           {after, through});
  }
  // The end of the feed: the next call starts from its start (entries superseded since).
  c.exec("UPDATE counters SET value = $1 WHERE name = 'member_feed_pruned_through'", {more ? through : std::int64_t{0}});
  tx.commit();
  return more;
}

bool restoreMemberPlaces(SqlConnection& c) {
  // Members of the chunk whose current number has no entry, the entry looked up per member (a
  // scalar subquery, as the prune's: NOT EXISTS may hash the whole log). A member's number and
  // its entry are committed together, so one read sees a member without its entry only when it
  // lacks one.
  const std::string lacking =
      "SELECT m.member_id FROM members m WHERE m.member_id > $1 AND m.member_id <= $2 AND m.change_no > 0 AND (SELECT 1 FROM "
      "member_feed f WHERE f.change_no = m.change_no AND f.member_id = m.member_id) IS NULL ORDER BY m.member_id";
  std::string after, through;
  bool more = false, found = false;
  {
    SqlTransaction look(c, SqlTransaction::Kind::kRead);
    const auto from = c.query("SELECT member_id FROM member_feed_checked");
    after = from.empty() ? std::string() : from.text(0, 0);
    const auto r = c.query("SELECT MAX(member_id), COUNT(*) FROM (SELECT member_id FROM members WHERE member_id > $1 ORDER BY "
                           "member_id LIMIT $2) x",
                           {after, kPruneChunk});
    more = r.integer(0, 1) == kPruneChunk;
    if (!r.isNull(0, 0)) {
      through = r.text(0, 0);
      found = !c.query(lacking + " LIMIT 1", {after, through}).empty();
    }
    look.commit();
  }
  // Nothing lacking (the lap's usual step): only the cursor moves. Otherwise the members get new
  // numbers, as any change of theirs does, so that the terminals and the search keys' refresh,
  // whose cursors may be past the numbers they had, see them: under the store-wide lock as a
  // merge, and their rows locked before the counter's, the order ingest and merges take them in.
  SqlTransaction tx(c, found ? SqlTransaction::Kind::kWrite : SqlTransaction::Kind::kRowWrite);
  if (found) {
    const auto rows = c.query(lacking + (c.backend() == "postgresql" ? " FOR UPDATE" : ""), {after, through});
    std::vector<std::string> members;
    for (std::size_t i = 0; i < rows.size(); ++i) members.push_back(rows.text(i, 0));
    if (!members.empty()) {
      setMemberChangeNumbers(c, members, takeChangeNumbers(c, static_cast<std::int64_t>(members.size())));
      logging::log().warn("members whose latest change the change feed lacked: {}, given new change numbers", members.size());
    }
  }
  // The end of the members: the next call starts a lap from the first.
  c.exec("UPDATE member_feed_checked SET member_id = $1", {more ? through : std::string()});
  tx.commit();
  return more;
}

}  // namespace loyalty::hq
