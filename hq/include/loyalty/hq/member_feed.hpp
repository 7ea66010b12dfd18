#pragma once
/// @brief Which members changed, in the order of their change numbers: what the terminals' change
/// feed and the member search keys' refresh read.
///
/// A member's current change number is `members.change_no` (0: never given out). Each number
/// given out is also appended to `member_feed(change_no, member_id)`, in the same transaction,
/// and the member's previous entry deleted: the log holds each member once, at its latest
/// change, so a pull reads no entry it skips. Readers still take only the entry matching the
/// member's number, pruneMemberFeed deletes any other left (an older release's, a repair's),
/// and restoreMemberPlaces renumbers a member an older release changed without an entry.
///
/// Why a log of its own: every sale changes its member's number, and an index on
/// members.change_no made each of those a new index entry in every index of members. Without
/// it, a balance's update on PostgreSQL stays in place on its page (HOT: no index entry at
/// all), and the log moves the member's one entry: a delete by key, an insert at its end.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "loyalty/hq/sql.hpp"

namespace loyalty::hq {

/// The head of an insert of feed entries: a RowBuffer of (change_no, member_id) rows, types "it".
inline constexpr const char* kMemberFeedInsert = "INSERT INTO member_feed(change_no, member_id)";
/// Head and tail of a delete of members' current entries, before their new numbers: a RowBuffer
/// of (member_id) rows, type "t".
inline constexpr const char* kMemberFeedDropHead =
    "DELETE FROM member_feed WHERE (change_no, member_id) IN (SELECT m.change_no, m.member_id FROM members m WHERE m.member_id IN (";
inline constexpr const char* kMemberFeedDropTail = "))";

/// FROM text for members at their current place in the feed: `f` the entry (f.change_no), `m`
/// the member's row. Callers add `WHERE f.change_no > ... ORDER BY f.change_no LIMIT ...`: the
/// log read in order through its key, each entry's member looked up by theirs. (PostgreSQL
/// estimates a join on both columns at one row and would hash every member and entry, a second
/// at a million; the member is a LATERAL look-up there, kept as such by OFFSET 0.)
std::string currentMemberChanges(std::string_view backend);

/// The upgrade step (and a new database's): creates member_feed with an entry for each member
/// that has a change number, drops the index members_change it replaces, and leaves room for
/// in-place updates in members' new pages (PostgreSQL). Idempotent: at a later start, a few
/// catalogue reads.
void ensureMemberFeed(SqlConnection& c);

/// Within a write transaction: gives `memberIds` (distinct: std::logic_error otherwise) the
/// change numbers `firstNumber`, `firstNumber` + 1, ... (takeChangeNumbers'), in that order, each
/// its feed entry in place of the one it had: three statements for all of them (as ingest's).
void setMemberChangeNumbers(SqlConnection& c, const std::vector<std::string>& memberIds, std::int64_t firstNumber);

/// Deletes superseded entries among the next 10,000 of the feed after where the last call
/// stopped, in a transaction of its own (PostgreSQL: row writes, which do not wait for uploads;
/// SQLite: its one writer, for the few ms it takes); at the end of the feed it starts again from
/// its start. True when entries are left after the chunk (call again).
bool pruneMemberFeed(SqlConnection& c);

/// Gives new change numbers to members whose latest change has no entry, among the next 10,000
/// members (by member_id) after where the last call stopped (a cursor in member_feed_checked, so
/// a lap goes on across restarts and leaders); at the last member it starts again from the first.
/// True when members are left after the chunk. Only an older release's instance left running
/// after the upgrade (against the instructions) changes a member without moving its entry: the
/// leader's refresher goes round the members as a safety net (a million in 100 steps), where a
/// start would read them all. A new number, not the entry at the old one: terminals whose
/// cursors are past the old number still pull the member. A read transaction finds whether the
/// chunk lacks any; only then a write one (the store-wide lock) renumbers them.
bool restoreMemberPlaces(SqlConnection& c);

/// Within a write transaction: takes `count` change numbers from the counter every change
/// (members', products', rewards', merges') is numbered from; returns the first.
std::int64_t takeChangeNumbers(SqlConnection& c, std::int64_t count);

}  // namespace loyalty::hq
