#include "loyalty/hq/store.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <numeric>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <toml++/toml.h>

#include "loyalty/core/lifecycle.hpp"
#include "loyalty/core/money.hpp"
#include "loyalty/core/rules.hpp"
#include "loyalty/hq/aggregates.hpp"
#include "loyalty/hq/analytics.hpp"
#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/claims.hpp"
#include "loyalty/hq/complaints.hpp"
#include "loyalty/hq/credentials.hpp"
#include "loyalty/hq/crypto.hpp"
#include "loyalty/hq/fleet.hpp"
#include "loyalty/hq/followups.hpp"
#include "loyalty/hq/member_feed.hpp"
#include "loyalty/hq/members.hpp"
#include "loyalty/hq/outreach.hpp"
#include "loyalty/hq/privacy.hpp"
#include "loyalty/hq/products.hpp"
#include "loyalty/hq/promotions.hpp"
#include "loyalty/hq/settings.hpp"
#include "loyalty/hq/staff.hpp"
#include "loyalty/hq/throttle.hpp"
#include "loyalty/logging/logging.hpp"
#include "loyalty/sync/codec.hpp"
#include "loyalty/sync/event_types.hpp"
#include "ingest_writes.hpp"

namespace loyalty::hq {

using nlohmann::json;
using sync::EventEnvelope;
using sync::EventResult;
using sync::EventStatus;

namespace {

// [SECTION] Schema. The day indexes cover what the summary reads (day, member_id, amount), so a
// report over ten million sales scans an index, not the wide rows. {{ID}} and {{SERIAL}}: see
// schemaForBackend (sql.hpp).

/// 1: every release up to 2026-12-02, which added tables and columns at start one by one.
/// 2: the same schema, reached by one upgrade transaction at start (checkSchema).
/// 3: the members' change feed read from member_feed, no longer through an index on
///    members.change_no (an older release would change members without a feed entry).
/// 4: each survey answer's member in survey_answers.member_id, which a member's export reads
///    (an older release would store answers without it).
constexpr int kSchemaVersion = 4;

/// A test's hook (tests/hq/reliability/test_hq_upgrade.cpp): LOYALTY_HQ_TEST_UPGRADE_PAUSE_MS makes the
/// start-up upgrade wait after each step, so a SIGKILL can land between two steps.
std::optional<std::chrono::milliseconds> upgradeStepPause() { return testHookMilliseconds("LOYALTY_HQ_TEST_UPGRADE_PAUSE_MS"); }

constexpr const char* kSchema = R"SQL(
CREATE TABLE counters(name TEXT PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE terminals(
  terminal_id {{ID}} PRIMARY KEY, store_id {{ID}} NOT NULL, timezone TEXT NOT NULL,
  token_hash TEXT UNIQUE, created_at TEXT NOT NULL, registered_at TEXT, revoked_at TEXT,
  applied_through BIGINT NOT NULL DEFAULT 0);
CREATE TABLE registration_codes(
  code_hash TEXT PRIMARY KEY, terminal_id {{ID}} NOT NULL, expires_at TEXT NOT NULL, used_at TEXT);
CREATE TABLE api_tokens(
  token_hash TEXT PRIMARY KEY, role TEXT NOT NULL, name TEXT NOT NULL, created_at TEXT NOT NULL,
  revoked_at TEXT, expires_at TEXT);
CREATE TABLE events(
  event_id {{ID}} PRIMARY KEY, terminal_id {{ID}} NOT NULL, seq BIGINT NOT NULL, type TEXT NOT NULL,
  at TEXT NOT NULL, payload TEXT NOT NULL, fingerprint TEXT NOT NULL, received_at TEXT NOT NULL,
  known BIGINT NOT NULL, UNIQUE(terminal_id, seq));
CREATE TABLE event_conflicts(
  conflict_no {{SERIAL}}, event_id {{ID}} NOT NULL, terminal_id {{ID}} NOT NULL, seq BIGINT NOT NULL,
  type TEXT NOT NULL, at TEXT NOT NULL, payload TEXT NOT NULL, reason TEXT NOT NULL,
  received_at TEXT NOT NULL);
CREATE TABLE members(
  member_id {{ID}} PRIMARY KEY, enrolled BIGINT NOT NULL, card_no TEXT NOT NULL, phone TEXT NOT NULL,
  name TEXT NOT NULL, birthday TEXT, language TEXT, consent_marketing BIGINT NOT NULL,
  consent_version TEXT, enrolled_at TEXT NOT NULL, enrolled_store {{ID}} NOT NULL, referrer_id {{ID}},
  balance BIGINT NOT NULL DEFAULT 0, lifetime_spend BIGINT NOT NULL DEFAULT 0,
  tier TEXT NOT NULL DEFAULT 'member', merged_into {{ID}}, merged_at TEXT, change_no BIGINT NOT NULL);
CREATE INDEX members_card ON members(card_no);
CREATE TABLE ledger(
  event_id {{ID}} NOT NULL, member_id {{ID}} NOT NULL, kind TEXT NOT NULL, points BIGINT NOT NULL,
  at TEXT NOT NULL, PRIMARY KEY(event_id, member_id, kind));
CREATE INDEX ledger_member ON ledger(member_id);
CREATE TABLE sales(
  event_id {{ID}} PRIMARY KEY, sale_id {{ID}} NOT NULL, terminal_id {{ID}} NOT NULL,
  store_id {{ID}} NOT NULL, member_id {{ID}}, at TEXT NOT NULL, day TEXT NOT NULL,
  subtotal BIGINT NOT NULL, discount BIGINT NOT NULL, total BIGINT NOT NULL,
  points_earned BIGINT NOT NULL, points_redeemed BIGINT NOT NULL, lines BIGINT NOT NULL);
CREATE INDEX sales_member_spend ON sales(member_id, at, total);
CREATE INDEX sales_sale ON sales(sale_id);
CREATE TABLE sale_lines(
  event_id {{ID}} NOT NULL, line_no BIGINT NOT NULL, sku TEXT NOT NULL, description TEXT,
  category TEXT, qty BIGINT NOT NULL, unit_price TEXT NOT NULL, amount BIGINT NOT NULL,
  PRIMARY KEY(event_id, line_no));
CREATE TABLE refunds(
  event_id {{ID}} PRIMARY KEY, refund_id {{ID}} NOT NULL, sale_id {{ID}} NOT NULL,
  terminal_id {{ID}} NOT NULL, store_id {{ID}} NOT NULL, member_id {{ID}}, at TEXT NOT NULL,
  day TEXT NOT NULL, amount BIGINT NOT NULL, points_reversed BIGINT NOT NULL,
  points_returned BIGINT NOT NULL);
CREATE INDEX refunds_day ON refunds(day, member_id, amount);
CREATE INDEX refunds_member_spend ON refunds(member_id, at, amount);
CREATE TABLE reservations(
  redemption_id {{ID}} PRIMARY KEY, terminal_id {{ID}} NOT NULL, member_id {{ID}} NOT NULL,
  points BIGINT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL, settled_event {{ID}});
CREATE INDEX reservations_member ON reservations(member_id);
CREATE TABLE overdrafts(
  event_id {{ID}} NOT NULL, member_id {{ID}} NOT NULL, points BIGINT NOT NULL, authorised TEXT,
  at TEXT NOT NULL, PRIMARY KEY(event_id, member_id));
CREATE TABLE merges(
  from_id {{ID}} PRIMARY KEY, into_id {{ID}} NOT NULL, points BIGINT NOT NULL,
  lifetime_spend BIGINT NOT NULL, at TEXT NOT NULL);
CREATE TABLE changes(change_no BIGINT PRIMARY KEY, type TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE rewards(reward_id {{ID}} PRIMARY KEY, name TEXT NOT NULL, points BIGINT NOT NULL,
  active BIGINT NOT NULL);
CREATE TABLE probe(id BIGINT PRIMARY KEY, body TEXT NOT NULL);
)SQL";

/// The upgrade's view of the connection while its one transaction is open: a step that opens a
/// transaction of its own gets a savepoint instead, so its work commits with the upgrade's (or
/// with it goes) and a failed step undoes only itself.
class UpgradeConnection final : public SqlConnection {
 public:
  explicit UpgradeConnection(SqlConnection& c) : m_c(c) {}
  std::string_view backend() const override { return m_c.backend(); }
  void execScript(std::string_view sql) override { m_c.execScript(sql); }
  SqlRows query(std::string_view sql, const std::vector<SqlValue>& params) override { return m_c.query(sql, params); }
  void exec(std::string_view sql, const std::vector<SqlValue>& params) override { m_c.exec(sql, params); }
  bool hasTable(std::string_view name) override { return m_c.hasTable(name); }
  void lockRow(RowSpace space, std::string_view key) override { m_c.lockRow(space, key); }
  void beginWrite() override { m_c.execScript("SAVEPOINT upgrade_step"); }
  void beginRead() override { beginWrite(); }
  void commit() override { m_c.execScript("RELEASE SAVEPOINT upgrade_step"); }
  void rollback() noexcept override {
    try {
      m_c.execScript("ROLLBACK TO SAVEPOINT upgrade_step; RELEASE SAVEPOINT upgrade_step");
    } catch (...) {  // the upgrade's transaction then fails as a whole, and its rollback undoes the step too
    }
  }

 private:
  SqlConnection& m_c;
};

std::string iso(Timestamp t) { return formatRfc3339(t); }

std::string isoPlus(Timestamp t, std::chrono::seconds d) { return formatRfc3339(t + d); }

/// `payloadText`: the payload as sync::dumpJson writes it (for a parsed payload, whose text is
/// valid UTF-8, the same as json::dump()).
std::string fingerprint(const EventEnvelope& e, const std::string& payloadText) {
  return sha256Hex(e.type + '\x1f' + e.at + '\x1f' + std::to_string(e.seq) + '\x1f' + payloadText);
}

Error unauthenticated(std::string detail) { return Error{hqerr::kUnauthenticated, "", std::move(detail)}; }

/// The condition of reservations that count against a balance at the instant `now` (a
/// parameter such as "$2", RFC 3339): neither settled nor released, and within their life or
/// held for the terminal's settling or releasing event.
std::string held(const std::string& now) {
  return "settled_event IS NULL AND released_at IS NULL AND (expires_at > " + now + " OR (hold_until IS NOT NULL AND hold_until > " +
         now + "))";
}

/// What a reservation became after version 1: held until the terminal's event (after_seq, up to
/// hold_until), and released by a mark (released_at, released_by: an event id, "terminal" for
/// DELETE, or "admin:NAME") instead of being deleted. The reservations still open (neither
/// settled nor released: the held ones, and the few that expired so) are read along an index of
/// their own, `reservations_held`: the admin list and its count read those, where the table keeps
/// every reservation ever made (millions in a chain's year). Building it reads every reservation
/// once; the schema version stays.
void ensureReservationSchema(SqlConnection& c) {
  for (const char* column : {"after_seq BIGINT", "hold_until TEXT", "released_at TEXT", "released_by TEXT"}) {
    const std::string name = std::string(column).substr(0, std::string(column).find(' '));
    if (hasColumn(c, "reservations", name)) continue;
    try {
      c.execScript(std::string("ALTER TABLE reservations ADD COLUMN ") + column);
    } catch (const std::exception&) {
      if (!hasColumn(c, "reservations", name)) throw;  // else another process added it meanwhile
    }
  }
  replaceIndexes(c, {{"reservations_held", "reservations(created_at, redemption_id) WHERE settled_event IS NULL AND released_at IS NULL"}}, {},
                 "every reservation");
}

/// A member's net spend over a tier window (read for every member an upload's sales name, and by
/// tier reviews) from the indexes alone: (member_id, at) with the amount, where the earlier
/// releases' indexes had no amount and so read one table row per sale. They replace those,
/// sales_member and refunds_member, which served member lookups by time the same way. Building
/// them reads every sale and refund once (14 s at 10 million sales on PostgreSQL), so a start
/// that does it says so: the schema version stays 2, and the version's upgrade log line with it.
void coverMemberSpend(SqlConnection& c) {
  replaceIndexes(c, {{"sales_member_spend", "sales(member_id, at, total)"}, {"refunds_member_spend", "refunds(member_id, at, amount)"}},
                 {"sales_member", "refunds_member"}, "every sale and refund");
}

}  // namespace

bool validId(const std::string& s) {
  if (s.empty() || s.size() > sync::kMaxIdLength) return false;
  return std::none_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x21 || c == 0x7f; });
}

/// State of one ingest transaction.
struct HqStore::Batch {
  std::string terminalId;
  std::string storeId;
  std::string receivedAt;
  std::set<std::string> touched;  ///< members whose snapshot changed
  const ZoneRules* zone;          ///< the uploading terminal's: local days (localStamp)
  LocalStamp local;               ///< the store-local day and hour of the event being applied
  std::optional<std::vector<std::int64_t>> bonusAmounts = std::nullopt;  ///< read at the first bonus
  const ProgrammeRules* programme = nullptr;  ///< the published programme's (tiers), read at the start
  /// Ingest only: members resolved through merges (no merge happens during an ingest).
  std::unordered_map<std::string, std::string> resolved = {};
  /// Ingest only: what the rules read of members, read once per batch and kept in step with
  /// what the batch writes (IngestWrites holds the writes until they are flushed).
  struct MemberRow {
    bool enrolled = false, merged = false, erased = false;
    std::string tier = "member", reviewedMonth, enrolledAt, enrolledStore;
    std::int64_t balance = 0;
  };
  std::unordered_map<std::string, MemberRow> rows = {};  ///< members with a row, by id
  std::unordered_set<std::string> absent = {};           ///< looked up: no row
  /// Sales per (member, local day), in all and per store: a sale opens a visit when it is the first.
  std::map<std::pair<std::string, std::string>, std::pair<std::int64_t, std::map<std::string, std::int64_t>>> visits = {};
  std::map<std::pair<std::string, std::string>, std::int64_t> monthSales = {};  ///< agg_member_month.sales by (month, member)
  std::set<std::string> saleDays = {};  ///< the local days of the batch's sales (visits are read for these)
  /// The upgrade windows (saleTierWindow) of the batch's sales, as [begin, end) instants; net
  /// spend per (member, window) as held before the batch, and the batch's own sales and refunds.
  std::set<std::pair<std::string, std::string>> windows = {};
  /// saleTierWindow's instants as text, by the local day of a sale (the batch's sales share a few days).
  std::map<Date, std::pair<std::string, std::string>> windowOfDay = {};
  std::map<std::pair<std::string, std::pair<std::string, std::string>>, std::int64_t> spendHeld = {};
  std::unordered_map<std::string, std::vector<std::pair<std::string, std::int64_t>>> spendAdded = {};
  IngestWrites* writes = nullptr;
  /// While an event of a kind applied by direct SQL runs: what the helpers hold goes out at once.
  bool direct = false;

  MemberRow* row(const std::string& id) {
    const auto it = rows.find(id);
    return it == rows.end() ? nullptr : &it->second;
  }
  void wrote(SqlConnection& c) {
    if (direct) writes->flush(c);
  }
  /// The upgrade window of a sale on the local day `today`, as [begin, end) instants (RFC 3339).
  const std::pair<std::string, std::string>& saleWindow(Date today) {
    auto it = windowOfDay.find(today);
    if (it == windowOfDay.end()) {
      const InstantWindow w = instantsOf(saleTierWindow(today), *zone);
      it = windowOfDay.emplace(today, std::pair{formatRfc3339(w.begin), formatRfc3339(w.end)}).first;
    }
    return it->second;
  }
};

namespace {

struct StoredEvent {
  std::string terminalId;
  std::string fingerprint;
};

/// The events of `events` head office already holds, by event id.
std::unordered_map<std::string, StoredEvent> storedEvents(SqlConnection& c, const std::vector<EventEnvelope>& events) {
  std::vector<std::string> ids;
  ids.reserve(events.size());
  for (const auto& e : events) ids.push_back(e.eventId);
  std::unordered_map<std::string, StoredEvent> out;
  selectIn(c, "SELECT event_id, terminal_id, fingerprint FROM events WHERE event_id IN (", {}, ids,
           [&](const SqlRows& r, std::size_t i) { out[r.text(i, 0)] = {r.text(i, 1), r.text(i, 2)}; });
  return out;
}

}  // namespace

HqStore::HqStore(std::unique_ptr<SqlConnection> connection) : m_c(std::move(connection)) {}
HqStore::HqStore(HqStore&&) noexcept = default;
HqStore& HqStore::operator=(HqStore&&) noexcept = default;
HqStore::~HqStore() = default;

// [SECTION] Schema

void HqStore::createSchema(Timestamp now) {
  if (m_c->hasTable("counters")) throw std::runtime_error("the database already holds a loyalty-hq schema; refusing to overwrite it");
  SqlTransaction tx(*m_c);
  m_c->execScript(schemaForBackend(kSchema, m_c->backend()));
  createAnalyticsSchema(*m_c);
  ensureAuditSchema(*m_c);
  ensurePrivacySchema(*m_c);
  ensureClaimsSchema(*m_c);
  ensureTierSchema(*m_c);
  ensureProductSchema(*m_c);
  createStaffSchema(*m_c);
  indexSurveysByMember(*m_c);
  indexMemberEvents(*m_c);
  ensureReservationSchema(*m_c);
  keepRoomInAggregates(*m_c);
  ensureMemberFeed(*m_c);
  m_c->query("INSERT INTO counters(name, value) VALUES ('schema_version', $1), ('change_no', 0), ('config_version', 0), "
             "('created', $2)",
             {std::int64_t{kSchemaVersion}, static_cast<std::int64_t>(now.time_since_epoch().count())});
  tx.commit();
}

void HqStore::checkSchema() {
  if (!m_c->hasTable("counters")) throw std::runtime_error("the database has no loyalty-hq schema: run `loyalty-hq init`");
  // One write transaction (transactional DDL on both back ends): an upgrade cut short by a crash
  // or a kill leaves the database as the older release left it, and the next start does it again.
  // Other processes wait for it (the writer lock), so two starts never upgrade at once.
  SqlTransaction tx(*m_c);
  const auto r = m_c->query("SELECT value FROM counters WHERE name = 'schema_version'");
  const std::int64_t version = r.empty() ? 0 : r.integer(0, 0);
  if (version < 1 || version > kSchemaVersion) {
    throw std::runtime_error("the database's schema version is " + std::to_string(version) + "; this loyalty-hq knows 1 to " +
                             std::to_string(kSchemaVersion) + (version > kSchemaVersion ? " (a newer release made it)" : "") +
                             ": it cannot use it");
  }
  if (version < kSchemaVersion) {
    logging::log().info("upgrading the database's schema from version {} to {}", version, kSchemaVersion);
  }
  // The search keys' turn too, before any step takes a table's lock: a refresher of another
  // instance waits for the start, never the other way round.
  holdSearchKeys(*m_c);
  const auto pause = upgradeStepPause();
  // Each step adds what an older release lacks and does nothing when it is there (idempotent),
  // so a database of any earlier release, or of this one, goes through the same list.
  const std::pair<const char*, void (*)(SqlConnection&)> steps[] = {
      {"audit trail", ensureAuditSchema},
      {"the audit trail read by time", indexAuditByTime},
      {"consent history and erasure", ensurePrivacySchema},
      {"a member's own events read by member (an erasure)", indexMemberEvents},
      {"refused events and referral bonuses", ensureClaimsSchema},
      {"token expiry", ensureCredentialsSchema},
      {"tier reviews", ensureTierSchema},
      {"products", ensureProductSchema},
      {"analytics and pre-aggregates", ensureAnalyticsSchema},
      {"staff on records", ensureStaffSchema},  // after the analytics (survey_answers)
      {"a member's survey answers read by member", indexSurveysByMember},
      {"a store's sales read by member, and its days with the store (PostgreSQL)", indexSalesForStores},
      {"personal-data flags of the dashboard tables", ensurePrivacySchema},  // again: the analytics made them
      {"follow-up visits", ensureFollowupSchema},
      {"member care", ensureMemberCareSchema},
      {"complaint care", ensureComplaintCareSchema},
      {"outreach", ensureOutreachSchema},
      {"fleet releases", ensureFleetSchema},
      {"credential throttling", ensureThrottleSchema},
      {"reservations held until the terminal settles them", ensureReservationSchema},
      {"room for in-place updates of the pre-aggregates (PostgreSQL)", keepRoomInAggregates},
      {"a member's spend read from indexes alone", coverMemberSpend},
      {"the members' change feed in a log of its own", ensureMemberFeed},
      // Every start, after the tables it reads: members erased by an earlier release (or by one
      // still running on another instance) kept texts and search keys an erasure now scrubs.
      {"what head office keeps of erased members, scrubbed", scrubErasedAtStart},
  };
  const int count = static_cast<int>(std::size(steps));
  UpgradeConnection step(*m_c);
  for (int i = 0; i < count; ++i) {
    steps[i].second(step);
    if (pause) {
      logging::log().info("schema upgrade: step {} of {} done ({}), pausing {} ms", i + 1, count, steps[i].first, pause->count());
      std::this_thread::sleep_for(*pause);
    }
  }
  if (version < kSchemaVersion) {
    m_c->query("UPDATE counters SET value = $1 WHERE name = 'schema_version'", {std::int64_t{kSchemaVersion}});
  }
  tx.commit();
  if (version < kSchemaVersion) logging::log().info("the database's schema is now version {}", kSchemaVersion);
}

// [SECTION] Credentials

Result<std::string> HqStore::addTerminal(const std::string& storeId, const std::string& terminalId,
                                         const std::string& timezone, Timestamp now, const std::string& actor) {
  if (!validId(storeId)) return invalidArgument("store", "store is 1 to 128 printable characters without spaces");
  if (!validId(terminalId)) return invalidArgument("terminal", "terminal is 1 to 128 printable characters without spaces");
  if (timezone.empty() || timezone.size() > 64 || !validId(timezone)) {
    return invalidArgument("timezone", "timezone is a zone name such as Asia/Shanghai or UTC");
  }
  if (auto zone = m_zones.load(timezone); !zone) return zone.error();
  SqlTransaction tx(*m_c);
  const auto existing = m_c->query("SELECT store_id FROM terminals WHERE terminal_id = $1", {terminalId});
  if (!existing.empty() && existing.text(0, 0) != storeId) {
    return Error{errc::kConflict, "terminal",
                 "terminal " + terminalId + " belongs to store " + existing.text(0, 0) + ", not " + storeId};
  }
  if (existing.empty()) {
    m_c->query("INSERT INTO terminals(terminal_id, store_id, timezone, created_at) VALUES ($1, $2, $3, $4)",
               {terminalId, storeId, timezone, iso(now)});
  } else {
    m_c->query("UPDATE terminals SET timezone = $2 WHERE terminal_id = $1", {terminalId, timezone});
  }
  const std::string code = randomCode();
  m_c->query("INSERT INTO registration_codes(code_hash, terminal_id, expires_at) VALUES ($1, $2, $3)",
             {sha256Hex(code), terminalId, isoPlus(now, std::chrono::hours(24))});
  recordAudit(*m_c, {iso(now), actor, audit::kTerminalAdd, terminalId, std::nullopt,
                     "store " + storeId + ", time zone " + timezone + (existing.empty() ? "" : " (re-provisioned)")});
  tx.commit();
  return code;
}

Result<Ok> HqStore::revokeTerminal(const std::string& terminalId, Timestamp now, const std::string& actor) {
  SqlTransaction tx(*m_c);
  const auto r = m_c->query("UPDATE terminals SET revoked_at = $2, token_hash = NULL WHERE terminal_id = $1 RETURNING 1",
                            {terminalId, iso(now)});
  if (r.empty()) return Error{errc::kNotFound, "terminal", "no terminal " + terminalId};
  // Codes not yet used would re-admit it: a revoked terminal needs a new `terminal add`.
  m_c->query("UPDATE registration_codes SET used_at = $2 WHERE terminal_id = $1 AND used_at IS NULL", {terminalId, iso(now)});
  recordAudit(*m_c, {iso(now), actor, audit::kTerminalRevoke, terminalId, std::nullopt, std::nullopt});
  tx.commit();
  return Ok{};
}

std::string HqStore::createApiToken(Role role, const std::string& name, Timestamp now, std::chrono::seconds life,
                                    const std::string& actor, bool pii) {
  const std::string token = randomToken();
  const std::string hash = sha256Hex(token);
  const std::string roleName = role == Role::kAdmin ? "admin" : "analyst";
  SqlTransaction tx(*m_c);
  m_c->query("INSERT INTO api_tokens(token_hash, role, name, created_at, expires_at, pii) VALUES ($1, $2, $3, $4, $5, $6)",
             {hash, roleName, name, iso(now), isoPlus(now, life), std::int64_t{pii ? 1 : 0}});
  recordAudit(*m_c, {iso(now), actor, audit::kTokenCreate, name, std::nullopt,
                     "token " + tokenId(hash) + ", " + roleName + (pii ? " with pii" : "") + ", expires " + isoPlus(now, life)});
  tx.commit();
  return token;
}

Result<sync::RegisterResponse> HqStore::registerTerminal(const std::string& code, Timestamp now) {
  SqlTransaction tx(*m_c);
  const auto r = m_c->query(
      "SELECT c.terminal_id, c.expires_at, c.used_at, t.store_id, t.timezone FROM registration_codes c "
      "JOIN terminals t ON t.terminal_id = c.terminal_id WHERE c.code_hash = $1",
      {sha256Hex(code)});
  if (r.empty()) return unauthenticated("unknown registration code");
  if (!r.isNull(0, 2)) return unauthenticated("this registration code was already used; ask head office for a new one");
  if (r.text(0, 1) <= iso(now)) return unauthenticated("this registration code expired at " + r.text(0, 1) + "; ask head office for a new one");
  const std::string token = randomToken();
  m_c->query("UPDATE registration_codes SET used_at = $2 WHERE code_hash = $1", {sha256Hex(code), iso(now)});
  m_c->query("UPDATE terminals SET token_hash = $2, registered_at = $3, revoked_at = NULL WHERE terminal_id = $1",
             {r.text(0, 0), sha256Hex(token), iso(now)});
  recordAudit(*m_c, {iso(now), "terminal:" + r.text(0, 0), audit::kTerminalRegister, r.text(0, 0), std::nullopt,
                     "store " + r.text(0, 3)});
  tx.commit();
  return sync::RegisterResponse{r.text(0, 3), r.text(0, 0), r.text(0, 4), token, iso(now)};
}

Result<Principal> HqStore::authenticateToken(const std::string& token, Timestamp now) {
  const auto unknown = [] { return unauthenticated("a valid bearer token is required (Authorization: Bearer ...)"); };
  if (token.empty() || token.size() > 256) return unknown();
  const std::string hash = sha256Hex(token);
  auto t = m_c->query("SELECT terminal_id FROM terminals WHERE token_hash = $1 AND revoked_at IS NULL", {hash});
  if (!t.empty()) return Principal{Role::kTerminal, t.text(0, 0), t.text(0, 0)};
  auto a = m_c->query("SELECT role, name, revoked_at, expires_at, pii FROM api_tokens WHERE token_hash = $1", {hash});
  if (a.empty()) return unknown();
  const std::string id = tokenId(hash);
  if (!a.isNull(0, 2)) return unauthenticated("token " + id + " was revoked at " + a.text(0, 2));
  if (!a.isNull(0, 3) && a.text(0, 3) <= iso(now)) {
    return unauthenticated("token " + id + " expired at " + a.text(0, 3) + ": ask for a new one (loyalty-hq token create)");
  }
  return Principal{a.text(0, 0) == "admin" ? Role::kAdmin : Role::kAnalyst, "", a.text(0, 1), a.integer(0, 4) != 0};
}

// [SECTION] Ingest

Result<sync::UploadResponse> HqStore::ingest(const sync::UploadRequest& request, Timestamp now) {
  SqlTransaction tx(*m_c);
  // The terminal's own reserves and releases wait for its batch (they read how far it reached).
  m_c->lockRow(SqlConnection::RowSpace::kTerminal, request.terminalId);
  const auto t = m_c->query("SELECT store_id, applied_through, revoked_at, timezone FROM terminals WHERE terminal_id = $1",
                            {request.terminalId});
  if (t.empty()) return Error{errc::kForbidden, "terminal_id", "unknown terminal " + request.terminalId};
  if (!t.isNull(0, 2)) return unauthenticated("terminal " + request.terminalId + " is revoked");
  Batch b{request.terminalId, t.text(0, 0), iso(now), {}, &m_zones.get(t.text(0, 3)), {}};
  b.programme = &m_programme.current(*m_c);
  std::int64_t expected = t.integer(0, 1) + 1;

  // Process in seq order (a re-ordered batch still applies), answer in request order.
  std::vector<std::size_t> order(request.events.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t c) { return request.events[a].seq < request.events[c].seq; });
  std::vector<EventResult> results(request.events.size());
  std::set<std::string> seenInBatch;
  // Events already held, read at once; the batch's own join them as they are stored.
  auto stored = storedEvents(*m_c, request.events);
  // The members the events name, looked up at once (with what the rules read of them): those
  // not merged resolve to themselves; those unknown too (a stub row is made when one is needed).
  {
    std::vector<std::string> named;
    for (const auto& e : request.events) {
      const auto id = e.payload.is_object() ? e.payload.find("member_id") : e.payload.end();
      if (id != e.payload.end() && id->is_string()) named.push_back(id->get<std::string>());
      if (e.type != sync::kSaleRecorded) continue;
      if (auto at = parseRfc3339(e.at, "at")) {
        const std::string day = localStamp(*b.zone, *at).day;
        b.saleDays.insert(day);
        if (b.programme->tiers.size() > 1) b.windows.insert(b.saleWindow(b.zone->localDate(*at)));
      }
    }
    std::sort(named.begin(), named.end());
    named.erase(std::unique(named.begin(), named.end()), named.end());
    loadMembers(b, named);
    for (const auto& id : named) {
      const auto* r = b.row(id);
      if (!r || !r->merged) b.resolved.emplace(id, id);  // merged: resolveMember follows the chain
    }
  }
  if (!m_writes) m_writes = std::make_unique<IngestWrites>();
  IngestWrites& writes = *m_writes;
  writes.clear();  // a batch that failed part way may have left some
  b.writes = &writes;
  m_batch = &b;
  const struct BatchEnd {
    Batch*& batch;
    ~BatchEnd() { batch = nullptr; }
  } batchEnd{m_batch};
  // Refused events are rare: without any, no event needs looking up among them.
  const bool anyRejected = !m_c->query("SELECT 1 FROM rejected_events LIMIT 1").empty();
  const auto erased = [&](const std::string& id) {
    if (!b.row(id) && !b.absent.count(id)) loadMembers(b, {id});
    const auto* r = b.row(id);
    return r && r->erased;
  };

  for (const std::size_t i : order) {
    const EventEnvelope& e = request.events[i];
    EventResult& res = results[i];
    res.eventId = e.eventId;
    std::string payloadText = sync::dumpJson(e.payload);
    const std::string fp = fingerprint(e, payloadText);
    const auto invalid = [&](const Error& error) {
      res.status = EventStatus::kRejected;
      res.reason = "invalid: " + error.field + ": " + error.message;
    };
    // PostgreSQL holds no U+0000, in text or JSON (dumpJson writes it as that escape): neither an
    // applied event nor a conflict kept for review may carry it.
    const Status nul = payloadText.find("\\u0000") == std::string::npos ? Status(loyalty::Ok{}) : sync::refuseNulCharacters(e.payload, "payload");
    const auto keepConflict = [&](const std::string& reason) {
      if (!nul) return invalid(nul.error());
      m_c->exec("INSERT INTO event_conflicts(event_id, terminal_id, seq, type, at, payload, reason, received_at) "
                 "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                 {e.eventId, request.terminalId, e.seq, e.type, e.at, storedPayload(e.type, e.payload, payloadText, erased), reason,
                  b.receivedAt});
      res.status = EventStatus::kConflict;
      res.reason = reason;
    };
    if (const auto prior = stored.find(e.eventId); prior != stored.end()) {
      if (prior->second.terminalId == request.terminalId && prior->second.fingerprint == fp) {
        res.status = EventStatus::kDuplicate;
      } else {
        keepConflict("event_id " + e.eventId + " was already applied with a different content");
      }
      continue;
    }
    if (const auto refused = anyRejected ? priorRejection(*m_c, e.eventId) : std::nullopt) {
      // A refusal is final: the same event sent again is answered the same.
      if (refused->terminalId == request.terminalId && refused->fingerprint == fp) {
        res.status = EventStatus::kRejected;
        res.reason = refused->reason;
      } else {
        keepConflict("event_id " + e.eventId + " was already refused with a different content");
      }
      continue;
    }
    if (!seenInBatch.insert(e.eventId).second) {
      keepConflict("event_id " + e.eventId + " appears twice in this batch");
      continue;
    }
    if (e.seq < expected) {
      keepConflict("seq " + std::to_string(e.seq) + " already holds another event");
      continue;
    }
    if (e.seq > expected) {
      res.status = EventStatus::kRejected;
      res.reason = sync::kReasonGap;
      continue;
    }
    if (!nul) {
      invalid(nul.error());
      continue;
    }
    auto at = parseRfc3339(e.at, "at");
    // Sales, refunds, redemptions and new members' enrolments are applied in memory (their
    // writes held until the batch ends); other events by direct SQL, which reads the tables:
    // what is held goes out before them, and what they change of members is read again after.
    const auto named = e.payload.is_object() ? e.payload.find("member_id") : e.payload.end();
    const bool held = e.type == sync::kSaleRecorded || e.type == sync::kSaleRefunded || e.type == sync::kPointsRedeemed ||
                      (e.type == sync::kMemberEnrolled && named != e.payload.end() && named->is_string() &&
                       !b.row(named->get<std::string>()));
    if (!held) {
      writes.flush(*m_c);
      b.direct = true;
    }
    auto applied = applyEvent(b, e, *at);
    if (!held) {
      writes.flush(*m_c);
      b.direct = false;
      if (named != e.payload.end() && named->is_string()) {
        std::vector<std::string> again{named->get<std::string>(), resolveMember(named->get<std::string>())};
        for (const auto& id : again) b.rows.erase(id), b.absent.erase(id);
        loadMembers(b, again);
      }
    }
    if (!applied && applied.error().code == kRefusedClaim) {
      writes.flush(*m_c);
      refuse(b, e, fp, applied.error());
      res.status = EventStatus::kRejected;
      res.reason = applied.error().field;
      ++expected;  // handled: kept for review, acknowledged, never applied
      continue;
    }
    if (!applied) {
      invalid(applied.error());
      continue;
    }
    writes.events.add(e.eventId, request.terminalId, e.seq, e.type, e.at, storedPayload(e.type, e.payload, std::move(payloadText), erased),
                      fp, b.receivedAt, std::int64_t{sync::isKnownEventType(e.type) ? 1 : 0});
    stored.emplace(e.eventId, StoredEvent{request.terminalId, fp});
    res.status = EventStatus::kApplied;
    ++expected;
  }
  m_c->exec("UPDATE terminals SET applied_through = $2 WHERE terminal_id = $1", {request.terminalId, expected - 1});
  // Each member the batch changed gets the next change number, once, in member order.
  if (!b.touched.empty()) {
    std::int64_t next = nextChangeNumbers(static_cast<std::int64_t>(b.touched.size()));
    for (const auto& id : b.touched) writes.members[id].changeNo = next++;
  }
  writes.flush(*m_c);
  tx.commit();
  return sync::UploadResponse{expected - 1, std::move(results)};
}

Result<Ok> HqStore::applyEvent(Batch& b, const EventEnvelope& e, Timestamp atTime) {
  const std::string at = formatRfc3339(atTime);
  b.local = localStamp(*b.zone, atTime);
  const LocalStamp& local = b.local;
  const std::string path = "payload";
  // Every payload, of every type, speaks for the uploading terminal only.
  if (auto o = checkOrigin(e.payload, b.storeId, b.terminalId); !o) return o.error();
  // Before decoding: a terminal that applied the erasure sends its queued member events without
  // the personal fields, which would no longer decode; they are refused as erased all the same.
  if (e.type == sync::kMemberEnrolled || e.type == sync::kMemberUpdated) {
    const auto id = e.payload.find("member_id");
    if (id != e.payload.end() && id->is_string()) {
      const auto* r = b.row(id->get<std::string>());
      if (r ? r->erased : !b.absent.count(id->get<std::string>()) && isErased(*m_c, id->get<std::string>())) {
        return erasedRejection();
      }
    }
  }
  if (e.type == sync::kMemberEnrolled) {
    auto p = sync::decodeMemberEnrolled(e.payload, path);
    if (!p) return p.error();
    if (!b.direct) {
      enrolNew(b, e, *p);
      return Ok{};
    }
    const auto existing = m_c->query("SELECT enrolled FROM members WHERE member_id = $1", {p->memberId});
    const std::vector<SqlValue> fields = {p->memberId,
                                          p->cardNo,
                                          p->phone,
                                          p->name,
                                          p->birthday ? SqlValue(*p->birthday) : SqlValue(nullptr),
                                          p->language ? SqlValue(*p->language) : SqlValue(nullptr),
                                          std::int64_t{p->consentMarketing ? 1 : 0},
                                          p->consentVersion ? SqlValue(*p->consentVersion) : SqlValue(nullptr),
                                          at,
                                          p->origin.storeId,
                                          p->referrerId ? SqlValue(*p->referrerId) : SqlValue(nullptr),
                                          p->staffId ? SqlValue(*p->staffId) : SqlValue(nullptr)};
    if (existing.empty()) {
      m_c->exec("INSERT INTO members(member_id, enrolled, card_no, phone, name, birthday, language, consent_marketing, "
                 "consent_version, enrolled_at, enrolled_store, referrer_id, enrolled_staff, change_no) "
                 "VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0)",
                 fields);
    } else if (existing.integer(0, 0) == 0) {
      // Points arrived from another store before the enrolment itself: fill the stub in.
      m_c->exec("UPDATE members SET enrolled = 1, card_no = $2, phone = $3, name = $4, birthday = $5, language = $6, "
                 "consent_marketing = $7, consent_version = $8, enrolled_at = $9, enrolled_store = $10, referrer_id = $11, "
                 "enrolled_staff = $12 "
                 "WHERE member_id = $1",
                 fields);
    }  // else: the same member enrolled twice under one id: the first enrolment stands.
    if (existing.empty() || existing.integer(0, 0) == 0) {
      countInCohorts(*m_c, p->memberId, 1);
      recordConsent(*m_c, {p->memberId, at, p->consentMarketing, p->consentVersion, p->origin.storeId, p->origin.terminalId,
                           p->staffId, e.eventId, e.type});
    }
    b.touched.insert(resolveMember(p->memberId));
  } else if (e.type == sync::kMemberUpdated) {
    auto p = sync::decodeMemberUpdated(e.payload, path);
    if (!p) return p.error();
    const std::string id = knownMember(p->memberId, p->origin.storeId, at);
    if (isErased(*m_c, id)) return erasedRejection();
    const auto opt = [](const std::optional<std::string>& v) { return v ? SqlValue(*v) : SqlValue(nullptr); };
    // Birthday: absent keeps it, null clears it. Consent: recordMemberUpdate (latest by time).
    m_c->exec("UPDATE members SET card_no = COALESCE($2, card_no), phone = COALESCE($3, phone), name = COALESCE($4, name), "
               "birthday = CASE WHEN $7 = 1 THEN $5 ELSE birthday END, language = COALESCE($6, language) WHERE member_id = $1",
               {id, opt(p->cardNo), opt(p->phone), opt(p->name), p->birthday ? opt(*p->birthday) : SqlValue(nullptr),
                opt(p->language), std::int64_t{p->birthday ? 1 : 0}});
    recordMemberUpdate(*m_c, id, *p, at, e.eventId);
    b.touched.insert(id);
  } else if (e.type == sync::kSaleRecorded) {
    auto p = sync::decodeSaleRecorded(e.payload, path);
    if (!p) return p.error();
    applySale(b, e, *p, atTime);
  } else if (e.type == sync::kPointsRedeemed) {
    auto p = sync::decodePointsRedeemed(e.payload, path);
    if (!p) return p.error();
    const std::string member = knownMember(p->memberId, p->origin.storeId, at);
    reviewTierAt(b, member, atTime);
    // Only the terminal that holds a reservation settles it.
    b.writes->settlements.push_back({p->redemptionId, e.eventId, p->origin.terminalId});
    const std::int64_t balance = addPoints(b, member, e.eventId, "redeem", -p->points, at).value_or(0);
    b.writes->redemptions.add(e.eventId, p->redemptionId, b.terminalId, p->origin.storeId, member, local.day, p->points,
                              p->staffId ? SqlValue(*p->staffId) : SqlValue(nullptr));
    // The overdraft addPoints has just written down for this event.
    if (balance < 0) b.writes->overdrafts.last(3) = p->authorised ? SqlValue(*p->authorised) : SqlValue(nullptr);
    b.touched.insert(member);
  } else if (e.type == sync::kSaleRefunded) {
    auto p = sync::decodeSaleRefunded(e.payload, path);
    if (!p) return p.error();
    applyRefund(b, e, *p, atTime);
  } else if (e.type == sync::kPointsAdjusted) {
    auto p = sync::decodePointsAdjusted(e.payload, path);
    if (!p) return p.error();
    AdjustedMembers claimed{resolveMember(p->memberId), std::nullopt, std::nullopt};
    if (p->referredMemberId) {
      claimed.referred = resolveMember(*p->referredMemberId);
      const auto r = m_c->query("SELECT referrer_id FROM members WHERE member_id = $1 AND enrolled = 1", {*claimed.referred});
      if (!r.empty() && !r.isNull(0, 0)) claimed.referrerOfReferred = resolveMember(r.text(0, 0));
    }
    if (!b.bonusAmounts) b.bonusAmounts = referralBonusAmounts(*m_c);
    const auto received = parseRfc3339(b.receivedAt, "received_at");
    const AdjustmentDays days{local.day, received ? localStamp(*b.zone, *received).day : local.day};
    if (auto ok = checkAdjustment(*m_c, b.terminalId, claimed, *p, days, *b.bonusAmounts); !ok) return ok.error();
    const std::string member = knownMember(p->memberId, p->origin.storeId, at);
    // Points expire when the terminal settles what is due for the member, its review included.
    if (p->kind == "expire") reviewTierAt(b, member, atTime);
    addPoints(b, member, e.eventId, p->kind == "expire" ? "expire" : "bonus", p->points, at);
    if (p->kind == "bonus") recordReferralBonus(*m_c, *claimed.referred, member, e.eventId, b.terminalId, at);
    recordAudit(*m_c, {b.receivedAt, "terminal:" + b.terminalId, audit::kPointsAdjust, member, std::nullopt,
                       p->kind + " " + std::to_string(p->points) + ": " + p->reason});
    b.touched.insert(member);
  } else if (e.type == sync::kSurveyAnswered) {
    auto p = sync::decodeSurveyAnswered(e.payload, path);
    if (!p) return p.error();
    // Satisfaction by the store's local day (Reports::satisfaction reads this table).
    m_c->exec("INSERT INTO survey_answers(event_id, terminal_id, store_id, day, scale, score, staff_id, member_id) "
               "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
               {e.eventId, b.terminalId, b.storeId, local.day, p->scale, p->score,
                p->staffId ? SqlValue(*p->staffId) : SqlValue(nullptr), p->memberId ? SqlValue(*p->memberId) : SqlValue(nullptr)});
    recordSurveyDimensions(*m_c, e.eventId, b.storeId, local.day, p->dimensions);
  } else if (e.type == sync::kComplaintFiled) {
    auto p = sync::decodeComplaintFiled(e.payload, path);
    if (!p) return p.error();
  } else if (e.type == sync::kPointsRedemptionReleased) {
    auto p = sync::decodeRedemptionReleased(e.payload, path);
    if (!p) return p.error();
    // The attempt that ended here is the last one made before it (seq order): a reservation a
    // later attempt made under the same id (after_seq at or past this event) is not this one's.
    // A settled or already released reservation stays as it is; so does one never made.
    m_c->exec("UPDATE reservations SET released_at = $4, released_by = $3 WHERE redemption_id = $1 AND terminal_id = $2 "
               "AND settled_event IS NULL AND released_at IS NULL AND (after_seq IS NULL OR after_seq < $5)",
               {p->redemptionId, b.terminalId, e.eventId, b.receivedAt, e.seq});
  }
  // Unknown types: stored in events (known = 0) and counted, never dropped.
  return Ok{};
}

void HqStore::refuse(Batch& b, const EventEnvelope& e, const std::string& fp, const Error& why) {
  keepRejected(*m_c, {e, b.terminalId, fp, why.field, why.message, b.receivedAt});
  std::optional<std::string> member;
  if (e.payload.is_object() && e.payload.contains("member_id") && e.payload["member_id"].is_string()) {
    member = resolveMember(e.payload["member_id"].get<std::string>());
    // The terminal counted the event in its view of the balance: a fresh snapshot corrects it.
    if (!m_c->query("SELECT 1 FROM members WHERE member_id = $1 AND enrolled = 1", {*member}).empty()) b.touched.insert(*member);
  }
  const bool adjustment = e.type == sync::kPointsAdjusted;
  recordAudit(*m_c, {b.receivedAt, "terminal:" + b.terminalId, adjustment ? audit::kPointsAdjustRejected : audit::kEventRejected,
                     member, std::nullopt, e.type + " " + e.eventId + ": " + why.message});
}

std::string HqStore::resolveMember(const std::string& memberId) {
  if (m_batch) {
    if (const auto it = m_batch->resolved.find(memberId); it != m_batch->resolved.end()) return it->second;
  }
  std::string id = memberId;
  for (int hops = 0; hops < 16; ++hops) {
    const auto r = m_c->query("SELECT merged_into FROM members WHERE member_id = $1", {id});
    if (r.empty() || r.isNull(0, 0)) break;
    id = r.text(0, 0);
  }
  if (m_batch) m_batch->resolved.emplace(memberId, id);
  return id;
}

std::string HqStore::knownMember(const std::string& memberId, const std::string& storeId, const std::string& at) {
  const std::string id = resolveMember(memberId);
  if (!m_batch) {
    m_c->exec("INSERT INTO members(member_id, enrolled, card_no, phone, name, consent_marketing, enrolled_at, "
              "enrolled_store, change_no) VALUES ($1, 0, '', '', '', 0, $2, $3, 0) ON CONFLICT (member_id) DO NOTHING",
              {id, at, storeId});
    return id;
  }
  Batch& b = *m_batch;
  if (!b.row(id) && !b.absent.count(id)) loadMembers(b, {id});
  if (b.row(id)) return id;
  b.writes->newMembers.add(id, std::int64_t{0}, std::string(), std::string(), std::string(), nullptr, nullptr, std::int64_t{0},
                           nullptr, at, storeId, nullptr, nullptr, nullptr, nullptr, std::int64_t{0});
  Batch::MemberRow stub;
  stub.enrolledAt = at;
  stub.enrolledStore = storeId;
  b.rows.emplace(id, std::move(stub));
  b.absent.erase(id);
  b.wrote(*m_c);
  return id;
}

void HqStore::loadMembers(Batch& b, const std::vector<std::string>& ids) {
  if (ids.empty()) return;
  for (const auto& id : ids) b.absent.insert(id);
  std::vector<std::string> present;
  selectIn(*m_c,
           "SELECT member_id, enrolled, merged_into, erased_at, tier, COALESCE(tier_reviewed_month, ''), balance, enrolled_at, "
           "enrolled_store FROM members WHERE member_id IN (",
           {}, ids, [&](const SqlRows& r, std::size_t i) {
             Batch::MemberRow row;
             row.enrolled = r.integer(i, 1) != 0;
             row.merged = !r.isNull(i, 2);
             row.erased = !r.isNull(i, 3);
             row.tier = r.text(i, 4);
             row.reviewedMonth = r.text(i, 5);
             row.balance = r.integer(i, 6);
             row.enrolledAt = r.text(i, 7);
             row.enrolledStore = r.text(i, 8);
             b.absent.erase(r.text(i, 0));
             b.rows.insert_or_assign(r.text(i, 0), std::move(row));
             present.push_back(r.text(i, 0));
           });
  if (present.empty() || b.saleDays.empty()) return;
  // Read again after an event applied by direct SQL (all written by then): counted afresh.
  const std::unordered_set<std::string> again(present.begin(), present.end());
  std::erase_if(b.visits, [&](const auto& v) { return again.count(v.first.first) > 0; });
  // Whether a member already has a sale on each of the batch's days, anywhere and at this
  // batch's store (a visit), from their first and last sale days in agg_member and
  // agg_member_store: a day outside them has none, a day at either end has one. Only a day
  // strictly between them (a sale older than the member's latest) needs the sales themselves.
  std::unordered_set<std::string> between;
  selectIn(*m_c,
           "SELECT a.member_id, a.first_day, a.last_day, s.first_day, s.last_day FROM agg_member a "
           "LEFT JOIN agg_member_store s ON s.store_id = $1 AND s.member_id = a.member_id WHERE a.member_id IN (",
           {b.storeId}, present, [&](const SqlRows& r, std::size_t i) {
             const auto held = [&](const std::string& day, std::size_t first) -> std::optional<std::int64_t> {
               if (r.isNull(i, first)) return 0;
               const std::string from = r.text(i, first), to = r.text(i, first + 1);
               if (day == from || day == to) return 1;
               if (day < from || day > to) return 0;
               return std::nullopt;
             };
             const std::string id = r.text(i, 0);
             for (const auto& day : b.saleDays) {
               const auto anywhere = held(day, 1), here = held(day, 3);
               if (!anywhere || !here) {
                 between.insert(id);
                 return;
               }
               auto& v = b.visits[{id, day}];
               v.first = *anywhere;
               v.second[b.storeId] = *here;
             }
           });
  std::erase_if(b.visits, [&](const auto& v) { return between.count(v.first.first) > 0; });
  selectIn(*m_c,
           "SELECT member_id, day, store_id, COUNT(*) FROM sales WHERE day >= $1 AND day <= $2 AND member_id IN (",
           {*b.saleDays.begin(), *b.saleDays.rbegin()}, std::vector<std::string>(between.begin(), between.end()),
           [&](const SqlRows& r, std::size_t i) {
             auto& v = b.visits[{r.text(i, 0), r.text(i, 1)}];
             v.first += r.integer(i, 3);
             v.second[r.text(i, 2)] = r.integer(i, 3);
           }, " GROUP BY member_id, day, store_id");
  // Sales already held in the batch's months (a month's first sale), by the table's key
  // (month, member_id).
  std::set<std::string> months;
  for (const auto& day : b.saleDays) months.insert(day.substr(0, 7));
  std::string monthList;
  for (std::size_t i = 1; i <= months.size(); ++i) monthList += (i > 1 ? ", $" : "$") + std::to_string(i);
  selectIn(*m_c, "SELECT month, member_id, sales FROM agg_member_month WHERE month IN (" + monthList + ") AND member_id IN (",
           std::vector<SqlValue>(months.begin(), months.end()), present,
           [&](const SqlRows& r, std::size_t i) { b.monthSales[{r.text(i, 0), r.text(i, 1)}] = r.integer(i, 2); });
  for (const auto& id : present) {
    b.spendAdded.erase(id);
    for (const auto& w : b.windows) b.spendHeld[{id, w}] = 0;
  }
  for (const auto& w : b.windows) {
    if (m_c->backend() == "postgresql") {
      // Per member, a correlated sum: an index range on (member_id, at) for each, whatever plan
      // PostgreSQL settles on (a semi join of the keys became a hash over every sale of the window).
      const auto r = m_c->query(
          "SELECT k.id, (SELECT COALESCE(SUM(total), 0) FROM sales WHERE member_id = k.id AND at >= $1 AND at < $2) - "
          "(SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE member_id = k.id AND at >= $1 AND at < $2) "
          "FROM unnest(CAST($3 AS TEXT[])) AS k(id)",
          {w.first, w.second, pgArray(std::vector<SqlValue>(present.begin(), present.end()))});
      for (std::size_t i = 0; i < r.size(); ++i) b.spendHeld[{r.text(i, 0), w}] += r.integer(i, 1);
      continue;
    }
    const auto add = [&](const char* select, std::int64_t sign) {
      selectIn(*m_c, select, {w.first, w.second}, present,
               [&](const SqlRows& r, std::size_t i) { b.spendHeld[{r.text(i, 0), w}] += sign * r.integer(i, 1); },
               " GROUP BY member_id");
    };
    add("SELECT member_id, SUM(total) FROM sales WHERE at >= $1 AND at < $2 AND member_id IN (", 1);
    add("SELECT member_id, SUM(amount) FROM refunds WHERE at >= $1 AND at < $2 AND member_id IN (", -1);
  }
}

std::optional<std::int64_t> HqStore::addPoints(Batch& b, const std::string& memberId, const std::string& eventId,
                                               const char* kind, std::int64_t points, const std::string& at) {
  b.touched.insert(memberId);
  const bool redeem = std::string_view(kind) == "redeem";
  if (b.writes) {
    b.writes->ledger.add(eventId, memberId, std::string(kind), points, at, b.local.day);
    auto& sums = b.writes->points[{b.local.day, b.storeId, kind}];
    sums[0] += 1;
    sums[1] += points > 0 ? points : 0;
    sums[2] += points < 0 ? -points : 0;
    b.writes->members[memberId].balance += points;
    auto* row = b.row(memberId);
    const std::int64_t balance = row ? (row->balance += points) : points;
    if (redeem && points < 0 && balance < 0) {
      // An offline redemption spent points another store had already spent: points debt.
      b.writes->overdrafts.add(eventId, memberId, std::min(-points, -balance), nullptr, at);
    }
    b.wrote(*m_c);
    return redeem ? std::optional<std::int64_t>(balance) : std::nullopt;
  }
  m_c->exec("INSERT INTO ledger(event_id, member_id, kind, points, at, day) VALUES ($1, $2, $3, $4, $5, $6)",
            {eventId, memberId, std::string(kind), points, at, b.local.day});
  aggregatePoints(*m_c, b.local.day, b.storeId, kind, points);
  // Only a redemption reads the balance back (points debt); every other entry is sent unanswered.
  if (!redeem) {
    m_c->exec("UPDATE members SET balance = balance + $2 WHERE member_id = $1", {memberId, points});
    return std::nullopt;
  }
  const auto r = m_c->query("UPDATE members SET balance = balance + $2 WHERE member_id = $1 RETURNING balance",
                            {memberId, points});
  const std::int64_t balance = r.integer(0, 0);
  if (points < 0 && balance < 0) {
    m_c->exec("INSERT INTO overdrafts(event_id, member_id, points, at) VALUES ($1, $2, $3, $4) "
              "ON CONFLICT (event_id, member_id) DO NOTHING",
              {eventId, memberId, std::min(-points, -balance), at});
  }
  return balance;
}

void HqStore::reviewTierAt(Batch& b, const std::string& memberId, Timestamp at) {
  // The member's first event of a month: the terminal reviewed their tier before it, so does head office.
  const Date today = b.zone->localDate(at);
  auto* row = b.row(memberId);
  if (row && !tierReviewDue(tierIndexByName(row->tier, b.programme->tiers).value_or(0), row->reviewedMonth, today)) return;
  if (b.writes) b.writes->flush(*m_c);  // the review reads the member's sales
  const auto move = reviewMemberTier(*m_c, *b.programme, memberId, today, *b.zone);
  if (row && move) {
    row->tier = move->to;
    row->reviewedMonth = reviewMonthOf(today);
  }
}

void HqStore::raiseTierAt(Batch& b, const std::string& memberId, Money total, Timestamp at) {
  const Date today = b.zone->localDate(at);
  auto* row = b.row(memberId);
  const auto& tiers = b.programme->tiers;
  const std::size_t before = row ? tierIndexByName(row->tier, tiers).value_or(0) : 0;
  if (row && !saleMayRaiseTier(before, total, tiers)) return;
  const std::pair<std::string, std::string>& w = b.saleWindow(today);
  if (row && b.windows.count(w)) {
    // Net spend over the window, this sale included: as held before the batch, plus the batch's.
    const auto held = b.spendHeld.find({memberId, w});
    std::int64_t net = held == b.spendHeld.end() ? 0 : held->second;
    for (const auto& [when, amount] : b.spendAdded[memberId]) {
      if (when >= w.first && when < w.second) net += amount;
    }
    const std::size_t reached = tierAfterSale(before, total, Money::fromMinor(net), tiers);
    if (reached <= before) return;
    b.writes->flush(*m_c);  // the member's row is written before it is updated
    row->tier = tiers[reached].name;
    row->reviewedMonth = reviewMonthOf(today);
    m_c->exec("UPDATE members SET tier = $2, tier_reviewed_month = $3 WHERE member_id = $1", {memberId, row->tier, row->reviewedMonth});
    return;
  }
  b.writes->flush(*m_c);  // the upgrade reads the member's sales, this one included
  const auto move = raiseMemberTier(*m_c, *b.programme, memberId, total, today, *b.zone);
  if (row && move.changed()) {
    row->tier = move.to;
    row->reviewedMonth = reviewMonthOf(today);
  }
}

void HqStore::applySale(Batch& b, const EventEnvelope& e, const sync::SaleRecorded& p, Timestamp atTime) {
  const std::string at = formatRfc3339(atTime);
  const LocalStamp& local = b.local;
  IngestWrites& w = *b.writes;
  std::optional<std::string> member;
  if (p.memberId) member = knownMember(*p.memberId, p.origin.storeId, at);
  if (member) reviewTierAt(b, *member, atTime);
  const std::int64_t total = p.total.minor();
  w.sales.add(e.eventId, p.saleId, b.terminalId, p.origin.storeId, member ? SqlValue(*member) : SqlValue(nullptr), at, local.day,
              p.subtotal.minor(), p.discount.minor(), total, p.pointsEarned, p.pointsRedeemed,
              static_cast<std::int64_t>(p.lines.size()), local.hour, p.staffId ? SqlValue(*p.staffId) : SqlValue(nullptr));
  auto& sums = w.aggSales[{local.day, local.hour, p.origin.storeId, b.terminalId, std::int64_t{member ? 1 : 0}}];
  sums[0] += 1;
  sums[1] += total;
  if (member) {
    // A visit is a distinct sale day: this sale opens one if it is the member's only sale that
    // day (anywhere, and at this store).
    auto& v = b.visits[{*member, local.day}];
    const std::int64_t visit = ++v.first == 1 ? 1 : 0;
    const std::int64_t storeVisit = ++v.second[p.origin.storeId] == 1 ? 1 : 0;
    const std::string month = local.day.substr(0, 7);
    w.memberMonth[{month, *member}].add(1, total, visit, local.day);
    w.member[*member].add(1, total, visit, local.day);
    w.memberStore[{p.origin.storeId, *member}].add(1, total, storeVisit, local.day);
    b.spendAdded[*member].emplace_back(at, total);
    // The member's first sale this month: one more active member in their cohort's month.
    const auto* row = b.row(*member);
    if (++b.monthSales[{month, *member}] == 1 && row && row->enrolled && !row->merged && row->enrolledAt.substr(0, 7) <= month) {
      ++w.cohorts[{row->enrolledAt.substr(0, 10), row->enrolledStore, month}];
    }
  }
  // One sale counts once per product however many of its lines carry it.
  std::map<std::string, std::tuple<std::string, std::int64_t, std::int64_t>> bySku;
  for (std::size_t i = 0; i < p.lines.size(); ++i) {
    const auto& l = p.lines[i];
    w.saleLines.add(e.eventId, static_cast<std::int64_t>(i + 1), l.sku, l.description ? SqlValue(*l.description) : SqlValue(nullptr),
                    l.category ? SqlValue(*l.category) : SqlValue(nullptr), l.qty, l.unitPrice, l.amount.minor());
    const std::string description = l.description.value_or("");
    auto [it, fresh] = bySku.try_emplace(l.sku, description, l.qty, l.amount.minor());
    if (fresh) continue;
    auto& [d, qty, amount] = it->second;
    d = std::min(d, description);
    qty += l.qty;
    amount += l.amount.minor();
  }
  for (const auto& [sku, line] : bySku) {
    auto [it, fresh] = w.products.try_emplace({local.day, p.origin.storeId, sku}, std::get<0>(line), 1, std::get<1>(line),
                                              std::get<2>(line));
    if (fresh) continue;
    auto& [d, sales, qty, amount] = it->second;
    d = std::min(d, std::get<0>(line));
    sales += 1;
    qty += std::get<1>(line);
    amount += std::get<2>(line);
  }
  if (!member) return;
  if (p.pointsRedeemed > 0) {
    // Points paid in a sale were reserved online under the sale's id: this settles them.
    w.settlements.push_back({p.saleId, e.eventId, p.origin.terminalId});
    addPoints(b, *member, e.eventId, "redeem", -p.pointsRedeemed, at);
  }
  if (p.pointsEarned != 0) addPoints(b, *member, e.eventId, "earn", p.pointsEarned, at);
  w.members[*member].spend += total;
  // The upgrade at the crossing sale, over the local days of the terminal that made it.
  raiseTierAt(b, *member, p.total, atTime);
  b.touched.insert(*member);
}

void HqStore::applyRefund(Batch& b, const EventEnvelope& e, const sync::SaleRefunded& p, Timestamp atTime) {
  const std::string at = formatRfc3339(atTime);
  const LocalStamp& local = b.local;
  IngestWrites& w = *b.writes;
  std::optional<std::string> member;
  if (p.memberId) member = knownMember(*p.memberId, p.origin.storeId, at);
  if (member) reviewTierAt(b, *member, atTime);
  const std::int64_t amount = p.amount.minor();
  w.refunds.add(e.eventId, p.refundId, p.saleId, b.terminalId, p.origin.storeId, member ? SqlValue(*member) : SqlValue(nullptr), at,
                local.day, amount, p.pointsReversed, p.pointsReturned, local.hour,
                p.staffId ? SqlValue(*p.staffId) : SqlValue(nullptr));
  auto& sums = w.aggSales[{local.day, local.hour, p.origin.storeId, b.terminalId, std::int64_t{member ? 1 : 0}}];
  sums[2] += 1;
  sums[3] += amount;
  if (!member) return;
  w.memberMonth[{local.day.substr(0, 7), *member}].add(0, -amount, 0, std::nullopt);
  w.member[*member].add(0, -amount, 0, std::nullopt);
  w.memberStore[{p.origin.storeId, *member}].add(0, -amount, 0, std::nullopt);
  b.spendAdded[*member].emplace_back(at, -amount);
  if (p.pointsReturned != 0) addPoints(b, *member, e.eventId, "returned", p.pointsReturned, at);
  if (p.pointsReversed != 0) addPoints(b, *member, e.eventId, "reversal", -p.pointsReversed, at);
  w.members[*member].spend -= amount;
  b.touched.insert(*member);
}

void HqStore::enrolNew(Batch& b, const EventEnvelope& e, const sync::MemberEnrolled& p) {
  const std::string at = formatRfc3339(*parseRfc3339(e.at, "at"));
  const auto opt = [](const std::optional<std::string>& v) { return v ? SqlValue(*v) : SqlValue(nullptr); };
  // The consent columns as recordConsent settles them: this decision is the member's only one.
  b.writes->newMembers.add(p.memberId, std::int64_t{1}, p.cardNo, p.phone, p.name, opt(p.birthday), opt(p.language),
                           std::int64_t{p.consentMarketing ? 1 : 0}, opt(p.consentVersion), at, p.origin.storeId,
                           opt(p.referrerId), opt(p.staffId), at, p.origin.storeId, std::int64_t{0});
  b.writes->consents.add(p.memberId, at, std::int64_t{p.consentMarketing ? 1 : 0}, opt(p.consentVersion), p.origin.storeId,
                         p.origin.terminalId, opt(p.staffId), e.eventId, e.type);
  Batch::MemberRow row;
  row.enrolled = true;
  row.enrolledAt = at;
  row.enrolledStore = p.origin.storeId;
  b.rows.insert_or_assign(p.memberId, std::move(row));
  b.absent.erase(p.memberId);
  // A new member: counted at enrolment; no month of theirs has sales yet.
  ++b.writes->enrolments[{at.substr(0, 10), p.origin.storeId}];
  b.touched.insert(resolveMember(p.memberId));
}

std::int64_t HqStore::nextChangeNumbers(std::int64_t count) {
  return takeChangeNumbers(*m_c, count);
}

void HqStore::bumpMembers(const std::vector<std::string>& memberIds) {
  // Each member once (a multi-row UPDATE would otherwise give one of its two rows), in order.
  std::vector<std::string> distinct;
  std::unordered_set<std::string> seen;
  for (const auto& id : memberIds) {
    if (seen.insert(id).second) distinct.push_back(id);
  }
  if (distinct.empty()) return;
  setMemberChangeNumbers(*m_c, distinct, nextChangeNumbers(static_cast<std::int64_t>(distinct.size())));
}

// [SECTION] Change feed

Result<sync::ChangePage> HqStore::changes(const std::string& terminalId, const std::string& cursor, int limit) {
  std::int64_t from = 0;
  if (!cursor.empty()) {
    if (cursor.size() > 18 || cursor.find_first_not_of("0123456789") != std::string::npos) {
      return Error{errc::kBadRequest, "cursor", "cursor is not one this head office issued"};
    }
    from = std::stoll(cursor);
  }
  if (limit < 1 || limit > sync::kMaxChangeLimit) return Error{errc::kBadRequest, "limit", "limit is between 1 and 1000"};
  SqlTransaction tx(*m_c, SqlTransaction::Kind::kRead);
  sync::ChangePage page;
  const auto t = m_c->query("SELECT applied_through FROM terminals WHERE terminal_id = $1", {terminalId});
  page.appliedThrough = t.empty() ? 0 : t.integer(0, 0);
  const std::int64_t fetch = limit + 1;
  const auto members = m_c->query(
      std::string("SELECT f.change_no, m.member_id, m.card_no, m.phone, m.name, m.birthday, m.language, m.consent_marketing, "
                  "m.enrolled_at, m.enrolled_store, m.referrer_id, m.lifetime_spend, m.balance, m.tier FROM ") +
          currentMemberChanges(m_c->backend()) +
          " WHERE f.change_no > $1 AND m.enrolled = 1 AND m.merged_into IS NULL AND m.erased_at IS NULL ORDER BY f.change_no "
          "LIMIT $2",
      {from, fetch});
  const auto others = m_c->query("SELECT change_no, type, body FROM changes WHERE change_no > $1 ORDER BY change_no LIMIT $2",
                                 {from, fetch});
  std::size_t mi = 0, oi = 0;
  std::int64_t last = from;
  while (page.changes.size() < static_cast<std::size_t>(limit) && (mi < members.size() || oi < others.size())) {
    const bool takeMember =
        oi >= others.size() || (mi < members.size() && members.integer(mi, 0) < others.integer(oi, 0));
    if (takeMember) {
      sync::MemberChange c;
      auto& m = c.member;
      m.memberId = members.text(mi, 1);
      m.cardNo = members.text(mi, 2);
      m.phone = members.text(mi, 3);
      m.name = members.text(mi, 4);
      m.birthday = members.optText(mi, 5);
      m.language = members.optText(mi, 6);
      m.consentMarketing = members.integer(mi, 7) != 0;
      m.enrolledAt = members.text(mi, 8);
      m.enrolledStore = members.text(mi, 9);
      m.referrerId = members.optText(mi, 10);
      m.lifetimeSpend = Money::fromMinor(members.integer(mi, 11)).toString();
      c.balance = members.integer(mi, 12);
      c.pointsDebt = std::max<std::int64_t>(0, -c.balance);
      c.tier = members.text(mi, 13);
      last = members.integer(mi, 0);
      page.changes.emplace_back(std::move(c));
      ++mi;
    } else {
      auto stored = sync::parseJson(others.text(oi, 2));
      auto decoded = stored ? sync::decodeChange(*stored) : Result<sync::Change>(stored.error());
      if (!decoded) throw std::runtime_error("stored change " + others.text(oi, 0) + " is corrupt: " + decoded.error().message);
      last = others.integer(oi, 0);
      page.changes.push_back(std::move(*decoded));
      ++oi;
    }
  }
  page.hasMore = mi < members.size() || oi < others.size();
  page.nextCursor = std::to_string(last);
  tx.commit();
  return page;
}

// [SECTION] Online redemption

Result<sync::RedemptionResponse> HqStore::reserve(const std::string& terminalId, const sync::RedemptionRequest& r,
                                                  Timestamp now) {
  // Not behind uploads and other store-wide writers: a reserve changes only reservation rows, and
  // what it decides is guarded by two row locks. The terminal's: its own batches, reserves and
  // releases one at a time (after_seq below). The member's: two reserves of one member, or a
  // reserve and a merge moving the member's reservations, one at a time.
  SqlTransaction tx(*m_c, SqlTransaction::Kind::kRowWrite);
  m_c->lockRow(SqlConnection::RowSpace::kTerminal, terminalId);
  std::string member = resolveMember(r.memberId);
  for (int tries = 0;; ++tries) {
    m_c->lockRow(SqlConnection::RowSpace::kMember, member);
    // A merge that committed while this waited moved the member: lock where it went.
    std::string moved = resolveMember(r.memberId);
    if (moved == member || tries == 3) break;
    member = std::move(moved);
  }
  // The balance and what reservations hold, in one statement: one snapshot, so a batch that
  // commits meanwhile (settling a reservation and taking its points off the balance together)
  // counts either wholly or not at all.
  const auto m = m_c->query("SELECT m.balance - (SELECT COALESCE(SUM(points), 0) FROM reservations WHERE member_id = m.member_id AND " +
                                held("$2") + " AND redemption_id <> $3) FROM members m WHERE m.member_id = $1 AND m.enrolled = 1",
                            {member, iso(now), r.redemptionId});
  if (m.empty()) return Error{errc::kNotFound, "member_id", "head office does not know member " + r.memberId + " yet"};
  if (r.afterSeq) {
    // Events the terminal wrote after this attempt began have arrived: the terminal gave up on
    // this request long ago (it waits 2 s) and settled or released the attempt; holding points
    // now would hold them for nobody.
    const auto t = m_c->query("SELECT applied_through FROM terminals WHERE terminal_id = $1", {terminalId});
    if (!t.empty() && t.integer(0, 0) > *r.afterSeq) {
      return Error{errc::kConflict, "after_seq",
                   "terminal " + terminalId + "'s events after seq " + std::to_string(*r.afterSeq) +
                       " already reached head office: this request is older than them; nothing was reserved"};
    }
  }
  // Available to this request: the balance less what other reservations hold.
  const std::int64_t available = m.integer(0, 0);
  const auto prior = m_c->query("SELECT member_id, points, terminal_id, after_seq, settled_event, CASE WHEN " + held("$2") +
                                    " THEN 1 ELSE 0 END FROM reservations WHERE redemption_id = $1",
                                {r.redemptionId, iso(now)});
  if (!prior.empty()) {
    const bool same = prior.text(0, 0) == member && prior.integer(0, 1) == r.points && prior.text(0, 2) == terminalId;
    // A later attempt of the same terminal (after its earlier one ended in an event) replaces it.
    const bool laterAttempt = prior.text(0, 2) == terminalId && prior.isNull(0, 4) && r.afterSeq &&
                              (prior.isNull(0, 3) || *r.afterSeq > prior.integer(0, 3));
    if (!same && !laterAttempt) {
      return Error{errc::kConflict, "redemption_id", "redemption " + r.redemptionId + " was already reserved with other details"};
    }
    if (!prior.isNull(0, 4) || (prior.integer(0, 5) == 1 && !laterAttempt)) {
      return sync::RedemptionResponse{r.redemptionId, sync::kRedemptionReserved, available - r.points};
    }
    // Expired, released, or an earlier attempt's: reserved again if the points are still there.
  }
  if (available < r.points) {
    return Error{errc::kInsufficientPoints, "points",
                 "member " + r.memberId + " has " + std::to_string(std::max<std::int64_t>(available, 0)) +
                     " points available, " + std::to_string(r.points) + " asked"};
  }
  // Only the terminal's own attempt is replaced: another terminal that reserved the same id at
  // the same moment (its lock is another) keeps its reservation, and this one is refused.
  const auto written = m_c->query(
      "INSERT INTO reservations(redemption_id, terminal_id, member_id, points, created_at, expires_at, after_seq, hold_until) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (redemption_id) DO UPDATE SET member_id = $3, points = $4, "
      "created_at = $5, expires_at = $6, after_seq = $7, hold_until = $8, released_at = NULL, released_by = NULL "
      "WHERE reservations.terminal_id = $2 RETURNING 1",
      {r.redemptionId, terminalId, member, r.points, iso(now), isoPlus(now, m_reservations.life),
       r.afterSeq ? SqlValue(*r.afterSeq) : SqlValue(nullptr), r.afterSeq ? SqlValue(isoPlus(now, m_reservations.hold)) : SqlValue(nullptr)});
  if (written.empty()) {
    return Error{errc::kConflict, "redemption_id", "redemption " + r.redemptionId + " was already reserved with other details"};
  }
  tx.commit();
  return sync::RedemptionResponse{r.redemptionId, sync::kRedemptionReserved, available - r.points};
}

Result<Ok> HqStore::release(const std::string& terminalId, const std::string& redemptionId, std::optional<std::int64_t> afterSeq,
                            Timestamp now) {
  if (!validId(redemptionId)) return invalidArgument("redemption_id", "redemption_id is 1 to 128 printable characters");
  // As reserve(): behind this terminal's own batches and reserves only.
  SqlTransaction tx(*m_c, SqlTransaction::Kind::kRowWrite);
  m_c->lockRow(SqlConnection::RowSpace::kTerminal, terminalId);
  const auto r = m_c->query("SELECT terminal_id, settled_event, after_seq FROM reservations WHERE redemption_id = $1", {redemptionId});
  if (r.empty()) return Ok{};  // never reserved: nothing is held
  if (r.text(0, 0) != terminalId) {
    return Error{errc::kForbidden, "redemption_id", "redemption " + redemptionId + " was reserved by another terminal"};
  }
  if (!r.isNull(0, 1)) {
    return Error{errc::kConflict, "redemption_id", "redemption " + redemptionId + " was already settled by event " + r.text(0, 1)};
  }
  // A release that arrives late must not give back what a later attempt reserved under the id.
  if (afterSeq && !r.isNull(0, 2) && r.integer(0, 2) > *afterSeq) return Ok{};
  m_c->query("UPDATE reservations SET released_at = $2, released_by = 'terminal' WHERE redemption_id = $1 AND released_at IS NULL",
             {redemptionId, iso(now)});
  tx.commit();
  return Ok{};
}

Result<json> HqStore::releaseByAdmin(const std::string& redemptionId, const std::string& reason, Timestamp now,
                                     const std::string& actor) {
  if (!validId(redemptionId)) return invalidArgument("redemption_id", "redemption_id is 1 to 128 printable characters");
  if (reason.empty() || reason.size() > 1000) return invalidArgument("reason", "reason is required (1 to 1000 bytes)");
  SqlTransaction tx(*m_c);
  const auto r = m_c->query("SELECT terminal_id, member_id, points, created_at FROM reservations WHERE redemption_id = $1 AND " +
                                held("$2"),
                            {redemptionId, iso(now)});
  if (r.empty()) return Error{errc::kNotFound, "redemption_id", "head office holds no reservation " + redemptionId};
  m_c->query("UPDATE reservations SET released_at = $2, released_by = $3 WHERE redemption_id = $1",
             {redemptionId, iso(now), "admin:" + actor});
  const std::string detail = "redemption " + redemptionId + " of terminal " + r.text(0, 0) + ", " + std::to_string(r.integer(0, 2)) +
                             " points reserved at " + r.text(0, 3) + ": " + reason;
  recordAudit(*m_c, {iso(now), actor, audit::kReservationRelease, r.text(0, 1), std::nullopt, detail});
  tx.commit();
  return json{{"redemption_id", redemptionId}, {"terminal_id", r.text(0, 0)}, {"member_id", r.text(0, 1)},
              {"points", r.integer(0, 2)}, {"released_at", iso(now)}};
}

json HqStore::heldReservations(Timestamp now, const RowPage& page) {
  SqlParams q;
  const std::string heldNow = held(q.p(iso(now)));
  const std::string clause = pageClause(q, m_c->backend(), page);
  SqlTransaction tx(*m_c, SqlTransaction::Kind::kRead);
  const auto r = m_c->query("SELECT redemption_id, terminal_id, member_id, points, created_at, expires_at, hold_until, after_seq "
                            "FROM reservations WHERE " + heldNow + " ORDER BY created_at, redemption_id" + clause,
                            q.values);
  const std::int64_t total = m_c->query("SELECT COUNT(*) FROM reservations WHERE " + held("$1"), {iso(now)}).integer(0, 0);
  json out = json::array();
  for (std::size_t i = 0; i < r.size(); ++i) {
    json row = {{"redemption_id", r.text(i, 0)}, {"terminal_id", r.text(i, 1)}, {"member_id", r.text(i, 2)},
                {"points", r.integer(i, 3)}, {"created_at", r.text(i, 4)}, {"expires_at", r.text(i, 5)}};
    if (!r.isNull(i, 6)) row["hold_until"] = r.text(i, 6);
    if (!r.isNull(i, 7)) row["after_seq"] = r.integer(i, 7);
    out.push_back(std::move(row));
  }
  tx.commit();
  return json{{"reservations", std::move(out)}, {"total", total}, {"page", pageJson(page)}};
}

// [SECTION] Merge, catalogue, config

Result<Ok> HqStore::merge(const std::string& from, const std::string& into, Timestamp now) {
  if (from == into) return invalidArgument("into", "into must name a different member than from");
  SqlTransaction tx(*m_c);
  // Reserves of either member wait (they run beside store-wide writers); in one order, always.
  m_c->lockRow(SqlConnection::RowSpace::kMember, std::min(from, into));
  m_c->lockRow(SqlConnection::RowSpace::kMember, std::max(from, into));
  const auto a = m_c->query(
      "SELECT balance, lifetime_spend, merged_into, erased_at FROM members WHERE member_id = $1 AND enrolled = 1", {from});
  if (a.empty()) return Error{errc::kNotFound, "from", "no member " + from};
  if (!a.isNull(0, 2)) return Error{errc::kConflict, "from", "member " + from + " was already merged into " + a.text(0, 2)};
  const auto b = m_c->query("SELECT merged_into, erased_at FROM members WHERE member_id = $1 AND enrolled = 1", {into});
  if (b.empty()) return Error{errc::kNotFound, "into", "no member " + into};
  if (!b.isNull(0, 0)) return Error{errc::kConflict, "into", "member " + into + " was merged into " + b.text(0, 0)};
  // An erased person's records are erased together (eraseMember): none joins or leaves them later.
  if (!a.isNull(0, 3) || !b.isNull(0, 1)) {
    return Error{errc::kConflict, a.isNull(0, 3) ? "into" : "from", "an erased member cannot be merged"};
  }
  const ScrubMark scrubbed = scrubMark(*m_c);
  const std::int64_t points = a.integer(0, 0);
  const std::int64_t spend = a.integer(0, 1);
  const std::string at = iso(now);
  const std::string ref = "merge:" + from + ">" + into;
  // Head office's own entries: UTC days, no store.
  const ZoneRules utc = ZoneRules::utc();
  Batch batch{"", "", at, {}, &utc, localStamp(utc, now)};
  if (points != 0) {
    addPoints(batch, from, ref, "merge_out", -points, at);
    addPoints(batch, into, ref, "merge_in", points, at);
  }
  countInCohorts(*m_c, from, -1);
  countInCohorts(*m_c, into, -1);
  m_c->query("UPDATE members SET lifetime_spend = lifetime_spend + $2 WHERE member_id = $1", {into, spend});
  m_c->query("UPDATE members SET lifetime_spend = 0, merged_into = $2, merged_at = $3 WHERE member_id = $1", {from, into, at});
  // History moves with the person; the ledger keeps the merge entries on both sides.
  m_c->query("UPDATE sales SET member_id = $2 WHERE member_id = $1", {from, into});
  m_c->query("UPDATE refunds SET member_id = $2 WHERE member_id = $1", {from, into});
  m_c->query("UPDATE reservations SET member_id = $2 WHERE member_id = $1", {from, into});
  rebuildMemberAggregates(*m_c, from);
  rebuildMemberAggregates(*m_c, into);
  countInCohorts(*m_c, into, 1);
  m_c->query("INSERT INTO merges(from_id, into_id, points, lifetime_spend, at) VALUES ($1, $2, $3, $4, $5)",
             {from, into, points, spend, at});
  const ZoneRules& home = homeZone(*m_c, m_zones, into);
  raiseMemberTier(*m_c, m_programme.current(*m_c), into, Money::fromMinor(spend), home.localDate(now), home);
  const std::int64_t no = nextChangeNumbers(1);
  m_c->query("INSERT INTO changes(change_no, type, body) VALUES ($1, 'member.merged', $2)",
             {no, sync::dumpJson(sync::toJson(sync::Change{sync::MemberMergedChange{from, into}}))});
  dropSearchKeys(*m_c, {from});  // found as `into` from now on (held until the commit just after)
  markScrubbed(*m_c, scrubbed);
  bumpMembers({into});
  tx.commit();
  return Ok{};
}

// [SECTION] Head-office points adjustments (the points_adjustments table: members.cpp)

Result<json> HqStore::adjustPoints(const PointsAdjustment& a, const std::string& actor, Timestamp now) {
  const std::string at = iso(now);
  const std::string id = a.adjustmentId.value_or("hq-adjust-" + randomToken(12));
  const auto answer = [](const SqlRows& r) {
    return json{{"adjustment_id", r.text(0, 0)}, {"member_id", r.text(0, 1)}, {"points", r.integer(0, 2)},
                {"balance", r.integer(0, 3)}, {"reason", r.text(0, 4)},
                {"complaint_id", r.isNull(0, 5) ? json(nullptr) : json(r.text(0, 5))}, {"actor", r.text(0, 6)}, {"at", r.text(0, 7)}};
  };
  constexpr const char* kSelect = "SELECT adjustment_id, member_id, points, balance_after, reason, complaint_id, actor, at "
                                  "FROM points_adjustments WHERE adjustment_id = $1";
  SqlTransaction tx(*m_c);
  // A compensation names its complaint; the member is the complaint's customer.
  std::string named = a.memberId;
  if (a.complaintId) {
    const auto c = m_c->query("SELECT member_id FROM complaint_cases WHERE complaint_id = $1", {*a.complaintId});
    if (c.empty()) return Error{errc::kNotFound, "complaint_id", "no complaint " + *a.complaintId};
    if (c.isNull(0, 0)) return Error{errc::kConflict, "complaint_id", "complaint " + *a.complaintId + " names no member"};
    if (named.empty()) named = c.text(0, 0);
    if (resolveMember(c.text(0, 0)) != resolveMember(named)) {
      return Error{errc::kConflict, "complaint_id", "complaint " + *a.complaintId + " is not this member's"};
    }
  }
  const std::string member = resolveMember(named);
  if (const auto done = m_c->query(kSelect, {id}); !done.empty()) {
    if (member != done.text(0, 1) || done.integer(0, 2) != a.points) {
      return Error{errc::kConflict, "adjustment_id", "adjustment " + id + " was made with other points or for another member"};
    }
    return answer(done);
  }
  const auto m = m_c->query("SELECT balance, erased_at FROM members WHERE member_id = $1 AND enrolled = 1", {member});
  if (m.empty()) return Error{errc::kNotFound, "member_id", "no member " + named};
  if (!m.isNull(0, 1)) return Error{hqerr::kGone, "member_id", "member " + named + "'s personal data was erased"};
  if (m.integer(0, 0) + a.points < 0) {
    return Error{errc::kInsufficientPoints, "points",
                 "the balance is " + std::to_string(m.integer(0, 0)) + ": taking " + std::to_string(-a.points) + " would make it negative"};
  }
  // Head office's own entry: the member's home-store day, no store (as merges).
  const ZoneRules& home = homeZone(*m_c, m_zones, member);
  Batch batch{"", "", at, {}, &home, localStamp(home, now)};
  const std::int64_t balance = m.integer(0, 0) + a.points;  // read above, in this transaction
  addPoints(batch, member, id, "adjust", a.points, at);
  m_c->query("INSERT INTO points_adjustments(adjustment_id, member_id, points, balance_after, reason, complaint_id, actor, at) "
             "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
             {id, member, a.points, balance, a.reason, a.complaintId ? SqlValue(*a.complaintId) : SqlValue(nullptr), actor, at});
  recordAudit(*m_c, {at, actor, audit::kPointsAdjust, member, std::nullopt,
                     (a.points > 0 ? "+" : "") + std::to_string(a.points) + ": " + a.reason +
                         (a.complaintId ? " (complaint " + *a.complaintId + ")" : "")});
  bumpMembers({member});
  auto out = answer(m_c->query(kSelect, {id}));
  tx.commit();
  return out;
}

Result<Ok> HqStore::publishCatalog(const std::vector<sync::Reward>& rewards) {
  std::set<std::string> ids;
  for (std::size_t i = 0; i < rewards.size(); ++i) {
    if (!ids.insert(rewards[i].rewardId).second) {
      return invalidArgument("rewards[" + std::to_string(i) + "].reward_id", "reward_id " + rewards[i].rewardId + " appears twice");
    }
  }
  SqlTransaction tx(*m_c);
  m_c->query("DELETE FROM rewards");
  for (const auto& r : rewards) {
    m_c->query("INSERT INTO rewards(reward_id, name, points, active) VALUES ($1, $2, $3, $4)",
               {r.rewardId, r.name, r.points, std::int64_t{r.active ? 1 : 0}});
  }
  const std::int64_t no = nextChangeNumbers(1);
  m_c->query("INSERT INTO changes(change_no, type, body) VALUES ($1, 'catalog', $2)",
             {no, sync::dumpJson(sync::toJson(sync::Change{sync::CatalogChange{rewards}}))});
  tx.commit();
  return Ok{};
}

Result<std::int64_t> HqStore::publishProducts(const std::vector<Product>& products, const std::string& actor,
                                              Timestamp now) {
  const std::string at = iso(now);
  SqlTransaction tx(*m_c);
  std::int64_t no = products.empty() ? 0 : nextChangeNumbers(static_cast<std::int64_t>(products.size()));
  for (const Product& p : products) {
    const SqlValue barcode = p.barcode ? SqlValue(*p.barcode) : SqlValue(nullptr);
    const SqlValue category = p.category ? SqlValue(*p.category) : SqlValue(nullptr);
    if (p.barcode) m_c->query("UPDATE products SET barcode = NULL WHERE barcode = $1 AND sku != $2", {*p.barcode, p.sku});
    m_c->query("INSERT INTO products(sku, name, price, barcode, category, updated_at) VALUES ($1, $2, $3, $4, $5, $6) "
               "ON CONFLICT (sku) DO UPDATE SET name = excluded.name, price = excluded.price, barcode = excluded.barcode, "
               "category = excluded.category, updated_at = excluded.updated_at",
               {p.sku, p.name, p.price.tenThousandths(), barcode, category, at});
    m_c->query("INSERT INTO changes(change_no, type, body) VALUES ($1, 'product', $2)",
               {no++, sync::dumpJson(sync::toJson(sync::Change{sync::ProductChange{p}}))});
  }
  recordAudit(*m_c, {at, actor, audit::kProductsPut, std::nullopt, static_cast<std::int64_t>(products.size()), std::nullopt});
  tx.commit();
  return static_cast<std::int64_t>(products.size());
}

Result<std::int64_t> HqStore::publishConfig(const std::string& tomlText, const std::string& actor) {
  try {
    const toml::table t = toml::parse(tomlText);
    for (const auto& [key, value] : t) {
      const std::string k(key.str());
      if (k != "loyalty" && k != "tier" && k != "promotion" && k != "stacking") {
        return invalidArgument("toml", "head office publishes only [loyalty], [[tier]], [[promotion]] and [stacking]; found " + k);
      }
    }
  } catch (const toml::parse_error& e) {
    return invalidArgument("toml", "line " + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
  }
  // Terminals read it strictly and would keep their old programme: refuse it here, naming the key.
  if (auto checked = checkProgrammeText(tomlText); !checked) return checked.error();
  SqlTransaction tx(*m_c);
  const std::int64_t version =
      m_c->query("UPDATE counters SET value = value + 1 WHERE name = 'config_version' RETURNING value").integer(0, 0);
  const std::int64_t no = nextChangeNumbers(1);
  m_c->query("INSERT INTO changes(change_no, type, body) VALUES ($1, 'config', $2)",
             {no, sync::dumpJson(sync::toJson(sync::Change{sync::ConfigChange{version, tomlText}}))});
  recordAudit(*m_c, {iso(nowSeconds()), actor, audit::kProgrammePublish, std::nullopt, std::nullopt, "version " + std::to_string(version)});
  tx.commit();
  return version;
}

// [SECTION] Reads

Result<json> HqStore::member(const std::string& memberId) {
  SqlTransaction tx(*m_c, SqlTransaction::Kind::kRead);
  const auto m = m_c->query(
      "SELECT member_id, card_no, phone, name, birthday, language, consent_marketing, enrolled_at, enrolled_store, "
      "referrer_id, lifetime_spend, balance, tier, merged_into, enrolled, consent_version, consent_at, consent_store, "
      "erased_at FROM members WHERE member_id = $1",
      {memberId});
  if (m.empty() || m.integer(0, 14) == 0) return Error{errc::kNotFound, "member_id", "no member " + memberId};
  if (!m.isNull(0, 18)) {
    return Error{hqerr::kGone, "member_id", "member " + memberId + "'s personal data was erased at " + m.text(0, 18)};
  }
  const std::string id = m.text(0, 0);
  // As reserve() counts them.
  const auto reserved = m_c->query("SELECT COALESCE(SUM(points), 0) FROM reservations WHERE member_id = $1 AND " + held("$2"),
                                   {id, iso(nowSeconds())});
  const auto debt = m_c->query("SELECT COALESCE(SUM(points), 0) FROM overdrafts WHERE member_id = $1", {id});
  tx.commit();
  sync::MemberSnapshot s{id, m.text(0, 1), m.text(0, 2), m.text(0, 3), m.optText(0, 4), m.optText(0, 5),
                         m.integer(0, 6) != 0, m.text(0, 7), m.text(0, 8), m.optText(0, 9),
                         Money::fromMinor(m.integer(0, 10)).toString()};
  json j = sync::toJson(s);
  const std::int64_t balance = m.integer(0, 11);
  j["balance"] = balance;
  j["points_debt"] = std::max<std::int64_t>(0, -balance);
  j["overdrafted_points"] = debt.integer(0, 0);
  j["reserved_points"] = reserved.integer(0, 0);
  j["tier"] = m.text(0, 12);
  j["merged_into"] = m.isNull(0, 13) ? json(nullptr) : json(m.text(0, 13));
  const auto optional = [&](std::size_t col) { return m.isNull(0, col) ? json(nullptr) : json(m.text(0, col)); };
  j["consent_version"] = optional(15);
  j["consent_at"] = optional(16);
  j["consent_store"] = optional(17);
  return j;
}

StoreStats HqStore::stats() {
  SqlTransaction tx(*m_c, SqlTransaction::Kind::kRead);
  const auto r = m_c->query(
      "SELECT (SELECT COUNT(*) FROM members WHERE enrolled = 1), (SELECT COUNT(*) FROM events), "
      "(SELECT COUNT(*) FROM events WHERE known = 0), (SELECT COUNT(*) FROM event_conflicts), "
      "(SELECT COUNT(*) FROM terminals), (SELECT COUNT(*) FROM overdrafts)");
  const std::int64_t rejected = rejectedEventCount(*m_c);
  tx.commit();
  return {r.integer(0, 0), r.integer(0, 1), r.integer(0, 2), r.integer(0, 3), r.integer(0, 4), r.integer(0, 5), rejected};
}

void HqStore::rawInsertProbe(std::int64_t n, std::int64_t batch) {
  const std::string body(400, 'x');  // about an event's payload
  {
    SqlTransaction tx(*m_c);
    m_c->query("DELETE FROM probe");
    tx.commit();
  }
  for (std::int64_t i = 0; i < n;) {
    SqlTransaction tx(*m_c);
    for (std::int64_t k = 0; k < batch && i < n; ++k, ++i) {
      m_c->query("INSERT INTO probe(id, body) VALUES ($1, $2)", {i, body});
    }
    tx.commit();
  }
}

}  // namespace loyalty::hq
