#include "loyalty/hq/members.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "loyalty/core/money.hpp"
#include "loyalty/core/phone.hpp"
#include "loyalty/core/pinyin.hpp"
#include "loyalty/core/text.hpp"
#include "loyalty/hq/member_feed.hpp"
#include "loyalty/hq/privacy.hpp"
#include "ingest_writes.hpp"

namespace loyalty::hq {

using nlohmann::json;

namespace {

// [SECTION] Schema. Search keys: a member's name keys as they are (normalised, with pinyin),
// "#" + card number and "*" + the phone's last four digits; whole phones are matched on
// members.phone. PostgreSQL compares the keys byte by byte (COLLATE "C") so that a prefix is a
// range, as in SQLite.

constexpr const char* kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS points_adjustments(
  adjustment_id {{ID}} PRIMARY KEY, member_id {{ID}} NOT NULL, points BIGINT NOT NULL, balance_after BIGINT NOT NULL,
  reason TEXT NOT NULL, complaint_id {{ID}}, actor TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS points_adjustments_member ON points_adjustments(member_id, at);
CREATE INDEX IF NOT EXISTS points_adjustments_complaint ON points_adjustments(complaint_id);
CREATE TABLE IF NOT EXISTS member_search_keys(
  search_key TEXT {{C}} NOT NULL, member_id {{ID}} NOT NULL, PRIMARY KEY(search_key, member_id));
CREATE INDEX IF NOT EXISTS member_search_keys_member ON member_search_keys(member_id);
CREATE INDEX IF NOT EXISTS members_phone ON members(phone);
)SQL";

constexpr std::int64_t kMaxAdjustment = 1'000'000;
constexpr std::int64_t kRefreshChunk = 2000;

std::string schemaText(SqlConnection& c) {
  std::string s = schemaForBackend(kSchema, c.backend());
  const std::string mark = "{{C}}";
  s.replace(s.find(mark), mark.size(), c.backend() == "postgresql" ? "COLLATE \"C\"" : "");
  return s;
}

std::int64_t keysThrough(SqlConnection& c) {
  const auto r = c.query("SELECT value FROM counters WHERE name = 'member_keys_through'");
  return r.empty() ? 0 : r.integer(0, 0);
}

std::vector<std::string> searchKeysOf(const std::string& name, const std::string& cardNo, const std::string& phone) {
  std::vector<std::string> keys = memberNameKeys(normalizeName(name));
  if (!cardNo.empty()) keys.push_back("#" + cardNo);
  const std::string digits = digitsOf(phone);
  if (digits.size() >= 4) keys.push_back("*" + digits.substr(digits.size() - 4));
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

std::optional<std::int64_t> wholeNumber(const std::optional<std::string>& s, std::int64_t min, std::int64_t max) {
  if (!s || s->empty() || s->size() > 12 || s->find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  const std::int64_t v = std::stoll(*s);
  if (v < min || v > max) return std::nullopt;
  return v;
}

}  // namespace

void ensureMemberCareSchema(SqlConnection& c) {
  if (c.hasTable("points_adjustments") && c.hasTable("member_search_keys")) return;
  SqlTransaction tx(c);
  c.execScript(schemaText(c));
  c.query("INSERT INTO counters(name, value) VALUES ('member_keys_through', 0) ON CONFLICT (name) DO NOTHING");
  tx.commit();
}

void holdSearchKeys(SqlConnection& c) { c.lockRow(SqlConnection::RowSpace::kSearchKeys, "member_search_keys"); }

void dropSearchKeys(SqlConnection& c, const std::vector<std::string>& memberIds) {
  if (!c.hasTable("member_search_keys")) return;  // a store opened without head office's member care (tests, tools)
  holdSearchKeys(c);
  for (const auto& id : memberIds) c.query("DELETE FROM member_search_keys WHERE member_id = $1", {id});
}

// [SECTION] Adjustments

Result<HqStore::PointsAdjustment> parsePointsAdjustment(const json& body, const std::string& memberId,
                                                         const std::optional<std::string>& complaintId) {
  if (!body.is_object()) return invalidArgument("body", "the body is a JSON object {\"points\", \"reason\"}");
  HqStore::PointsAdjustment a;
  a.memberId = memberId;
  a.complaintId = complaintId;
  if (!body.contains("points") || !body["points"].is_number_integer()) {
    return invalidArgument("points", "points is a whole number: positive to credit, negative to debit");
  }
  a.points = body["points"].get<std::int64_t>();
  if (a.points == 0 || a.points > kMaxAdjustment || a.points < -kMaxAdjustment) {
    return invalidArgument("points", "points is not 0 and at most 1000000 either way");
  }
  if (!body.contains("reason") || !body["reason"].is_string()) return invalidArgument("reason", "reason is required");
  a.reason = std::string(trim(body["reason"].get<std::string>()));
  if (a.reason.empty() || a.reason.size() > 500 || !isValidUtf8(a.reason)) {
    return invalidArgument("reason", "reason is 1 to 500 bytes of text");
  }
  if (body.contains("adjustment_id") && !body["adjustment_id"].is_null()) {
    if (!body["adjustment_id"].is_string() || !validId(body["adjustment_id"].get<std::string>())) {
      return invalidArgument("adjustment_id", "adjustment_id is 1 to 128 printable characters without spaces");
    }
    a.adjustmentId = body["adjustment_id"].get<std::string>();
  }
  return a;
}

json memberAdjustments(SqlConnection& c, const std::vector<std::string>& records) {
  json out = json::array();
  for (const auto& id : records) {
    const auto r = c.query("SELECT adjustment_id, member_id, points, balance_after, reason, complaint_id, actor, at "
                           "FROM points_adjustments WHERE member_id = $1",
                           {id});
    for (std::size_t i = 0; i < r.size(); ++i) {
      out.push_back({{"adjustment_id", r.text(i, 0)}, {"member_id", r.text(i, 1)}, {"points", r.integer(i, 2)},
                     {"balance_after", r.integer(i, 3)}, {"reason", r.text(i, 4)},
                     {"complaint_id", r.isNull(i, 5) ? json(nullptr) : json(r.text(i, 5))}, {"actor", r.text(i, 6)},
                     {"at", r.text(i, 7)}});
    }
  }
  std::sort(out.begin(), out.end(), [](const json& a, const json& b) { return a["at"].get<std::string>() > b["at"].get<std::string>(); });
  return out;
}

// [SECTION] Search

Result<MemberSearch> parseMemberSearch(const std::function<std::optional<std::string>(const char*)>& param) {
  MemberSearch s;
  const auto q = param("q");
  if (!q || !isValidUtf8(*q)) return invalidArgument("q", "q (a phone, card number, name or pinyin) is required");
  s.q = std::string(trim(*q));
  if (s.q.empty() || utf8Length(s.q) > 64) return invalidArgument("q", "q is 1 to 64 characters");
  if (const auto o = param("offset")) {
    const auto v = wholeNumber(o, 0, 100'000'000);
    if (!v) return invalidArgument("offset", "offset is a whole number from 0");
    s.offset = *v;
  }
  if (const auto l = param("limit")) {
    const auto v = wholeNumber(l, 1, 100);
    if (!v) return invalidArgument("limit", "limit is 1 to 100");
    s.limit = *v;
  }
  return s;
}

bool refreshMemberSearchKeys(SqlConnection& c) {
  // Only this writes the keys and their counter: refreshers (of any instance) take turns on
  // their own lock, never the store-wide writer lock uploads hold. Change numbers are given out
  // under that lock and commit in their order, so what is read here is every change up to the
  // chunk's last number.
  SqlTransaction tx(c, SqlTransaction::Kind::kRowWrite);
  holdSearchKeys(c);
  const std::int64_t through = keysThrough(c);
  const auto r = c.query(
      std::string("SELECT m.member_id, f.change_no, m.name, m.card_no, m.phone, m.enrolled, m.erased_at, m.merged_into FROM ") +
          currentMemberChanges(c.backend()) + " WHERE f.change_no > $1 ORDER BY f.change_no LIMIT $2",
      {through, kRefreshChunk});
  if (r.empty()) return false;
  const std::int64_t last = r.integer(r.size() - 1, 1);
  // Most changes are a balance's (every sale): keys are written only where they differ. Only
  // holders of this lock write keys, so those read here stay as read; a member changed again
  // after the first read gets the keys of what was read, and its later change number brings it
  // back in a later chunk.
  std::vector<std::string> ids;
  ids.reserve(r.size());
  for (std::size_t i = 0; i < r.size(); ++i) ids.push_back(r.text(i, 0));
  std::map<std::string, std::set<std::string>> stored;
  selectIn(c, "SELECT member_id, search_key FROM member_search_keys WHERE member_id IN (", {}, ids,
           [&](const SqlRows& k, std::size_t i) { stored[k.text(i, 0)].insert(k.text(i, 1)); });
  // Sent as a few statements over many rows (a first fill writes every member's keys).
  RowBuffer drop("DELETE FROM member_search_keys WHERE (search_key, member_id) IN (", "tt", ")");
  RowBuffer add("INSERT INTO member_search_keys(search_key, member_id)", "tt", " ON CONFLICT DO NOTHING");
  const std::set<std::string> none;
  for (std::size_t i = 0; i < r.size(); ++i) {
    const std::string id = r.text(i, 0);
    const bool listed = r.integer(i, 5) != 0 && r.isNull(i, 6) && r.isNull(i, 7);
    const std::vector<std::string> wanted = listed ? searchKeysOf(r.text(i, 2), r.text(i, 3), r.text(i, 4)) : std::vector<std::string>{};
    const auto had = stored.find(id);
    const std::set<std::string>& old = had == stored.end() ? none : had->second;
    for (const auto& key : old) {
      if (!std::binary_search(wanted.begin(), wanted.end(), key)) drop.add(key, id);
    }
    for (const auto& key : wanted) {
      if (!old.count(key)) add.add(key, id);
    }
  }
  drop.flush(c);
  add.flush(c);
  c.exec("UPDATE counters SET value = $1 WHERE name = 'member_keys_through'", {last});
  tx.commit();
  return static_cast<std::int64_t>(r.size()) == kRefreshChunk;
}

std::int64_t searchKeysBehind(SqlConnection& c, std::int64_t upTo) {
  // Entries, not members: an upper bound (a superseded entry the prune has not reached yet, a
  // member with no keys to write, count too).
  return c.query("SELECT COUNT(*) FROM (SELECT 1 FROM member_feed WHERE change_no > $1 LIMIT $2) x", {keysThrough(c), upTo})
      .integer(0, 0);
}

json searchMembers(SqlConnection& c, const MemberSearch& s, std::int64_t behindUpTo) {
  // Which members match: key ranges (a prefix of a name key or a card, or the last four digits
  // of a phone) and, for a whole phone or card number, the member's own column (its index).
  // One IN over their union: PostgreSQL read each look-up by its index (3 ms at a million
  // members), where an OR of them scanned every member (190 ms).
  SqlParams q;
  std::vector<std::string> any;
  const auto keys = [&](const std::string& condition) { any.push_back("SELECT member_id FROM member_search_keys WHERE " + condition); };
  const auto prefix = [&](const std::string& p) {
    // The range's end must be valid UTF-8 for PostgreSQL: the prefix and the last code point
    // (U+10FFFF), which no name contains, sorts after every key that starts with the prefix.
    keys("search_key >= " + q.p(p) + " AND search_key < " + q.p(p + "\xF4\x8F\xBF\xBF"));
  };
  const std::string digits = digitsOf(s.q);
  if (looksLikeNumber(s.q) && !digits.empty()) {
    prefix("#" + digits);
    any.push_back("SELECT member_id FROM members WHERE card_no = " + q.p(digits));
    if (digits.size() == 4) keys("search_key = " + q.p("*" + digits));
    if (const auto e164 = phoneLookupKey(s.q, kHomePhoneRegion)) any.push_back("SELECT member_id FROM members WHERE phone = " + q.p(*e164));
  } else {
    prefix(normalizeName(s.q));
  }
  std::string matches;
  for (const auto& a : any) matches += (matches.empty() ? "" : " UNION ALL ") + a;
  const std::string from = " FROM members WHERE enrolled = 1 AND erased_at IS NULL AND merged_into IS NULL AND member_id IN (" + matches + ")";
  SqlTransaction tx(c, SqlTransaction::Kind::kRead);
  const std::int64_t total = c.query("SELECT COUNT(*)" + from, q.values).integer(0, 0);
  const std::string page = " ORDER BY lifetime_spend DESC, member_id" + pageClause(q, c.backend(), {s.offset, s.limit});
  const auto r = c.query("SELECT member_id, card_no, name, phone, tier, balance, lifetime_spend, enrolled_store, enrolled_at" + from + page,
                         q.values);
  // In the search's snapshot: a refresh committed after it is not counted as done.
  const std::int64_t behind = behindUpTo > 0 ? searchKeysBehind(c, behindUpTo) : 0;
  tx.commit();
  json members = json::array();
  for (std::size_t i = 0; i < r.size(); ++i) {
    members.push_back({{"member_id", r.text(i, 0)}, {"card_no", r.text(i, 1)}, {"name", r.text(i, 2)}, {"phone", r.text(i, 3)},
                       {"tier", r.text(i, 4)}, {"balance", r.integer(i, 5)},
                       {"lifetime_spend", Money::fromMinor(r.integer(i, 6)).toString()}, {"enrolled_store", r.text(i, 7)},
                       {"enrolled_at", r.text(i, 8)}});
  }
  return {{"q", s.q}, {"total", total}, {"page", {{"offset", s.offset}, {"limit", s.limit}}}, {"members", std::move(members)},
          {"keys_behind", behind}};
}

}  // namespace loyalty::hq
