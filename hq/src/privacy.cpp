#include "loyalty/hq/privacy.hpp"

#include "loyalty/hq/claims.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>
#include <tuple>

#include "loyalty/core/money.hpp"
#include "loyalty/core/phone.hpp"
#include "loyalty/hq/analytics.hpp"
#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/claims.hpp"
#include "loyalty/hq/local_time.hpp"
#include "loyalty/hq/members.hpp"
#include "loyalty/sync/codec.hpp"
#include "loyalty/sync/event_types.hpp"

namespace loyalty::hq {

using nlohmann::json;

namespace {

// [SECTION] Schema

constexpr const char* kPrivacySchema = R"SQL(
CREATE TABLE IF NOT EXISTS member_consents(
  entry_no {{SERIAL}}, member_id {{ID}} NOT NULL, at TEXT NOT NULL, consent_marketing BIGINT NOT NULL,
  consent_version TEXT, store_id {{ID}}, terminal_id {{ID}}, staff_id TEXT, event_id {{ID}}, source TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS member_consents_member ON member_consents(member_id, at);
CREATE TABLE IF NOT EXISTS member_changes(
  entry_no {{SERIAL}}, member_id {{ID}} NOT NULL, at TEXT NOT NULL, store_id {{ID}}, terminal_id {{ID}}, staff_id TEXT,
  fields TEXT NOT NULL, event_id {{ID}});
CREATE INDEX IF NOT EXISTS member_changes_member ON member_changes(member_id, at);
)SQL";

/// Columns this work adds to tables of earlier versions.
struct AddedColumn {
  const char* table;
  const char* column;
  const char* type;
};
constexpr AddedColumn kAddedColumns[] = {
    {"members", "consent_at", "TEXT"},
    {"members", "consent_store", "TEXT"},
    {"members", "erased_at", "TEXT"},
    {"api_tokens", "pii", "BIGINT NOT NULL DEFAULT 0"},
    {"dashboard_users", "pii", "BIGINT NOT NULL DEFAULT 0"},
    {"dashboard_sessions", "pii", "BIGINT NOT NULL DEFAULT 0"},
    {"dashboard_tickets", "pii", "BIGINT NOT NULL DEFAULT 0"},
};

/// What identifies the person in a member event's payload (and a complaint's free text).
constexpr const char* kPersonalFields[] = {"name", "phone", "birthday", "card_no"};

SqlValue optional(const std::optional<std::string>& v) { return v ? SqlValue(*v) : SqlValue(nullptr); }
json optJson(const SqlRows& r, std::size_t i, std::size_t c) { return r.isNull(i, c) ? json(nullptr) : json(r.text(i, c)); }
std::string money(std::int64_t minor) { return Money::fromMinor(minor).toString(); }

std::optional<std::string> textField(const json& payload, const char* key) {
  const auto it = payload.find(key);
  if (it == payload.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}

/// Sets the member's consent columns to their latest decision by time (ties: the later entry).
void settleConsent(SqlConnection& c, const std::string& memberId) {
  const auto r = c.query(
      "SELECT consent_marketing, consent_version, at, store_id FROM member_consents WHERE member_id = $1 "
      "ORDER BY at DESC, entry_no DESC LIMIT 1",
      {memberId});
  if (r.empty()) return;
  c.query("UPDATE members SET consent_marketing = $2, consent_version = $3, consent_at = $4, consent_store = $5 "
          "WHERE member_id = $1",
          {memberId, r.integer(0, 0), r.optText(0, 1) ? SqlValue(r.text(0, 1)) : SqlValue(nullptr), r.text(0, 2),
           r.optText(0, 3) ? SqlValue(r.text(0, 3)) : SqlValue(nullptr)});
}

/// Consent decisions and changes of the member events head office stored before it kept them
/// (a database of an earlier version), read leniently: what the events say, as they said it.
void fillHistoryFromEvents(SqlConnection& c) {
  const auto r = c.query(
      "SELECT event_id, terminal_id, type, at, payload FROM events WHERE type IN ('member.enrolled', 'member.updated') "
      "ORDER BY at, seq");
  std::vector<std::string> members;
  for (std::size_t i = 0; i < r.size(); ++i) {
    const json p = json::parse(r.text(i, 4), nullptr, false);
    const auto t = parseRfc3339(r.text(i, 3), "at");
    const auto member = p.is_object() ? textField(p, "member_id") : std::nullopt;
    if (!member || !t) continue;
    const std::string at = formatRfc3339(*t), type = r.text(i, 2);
    const auto consent = p.find("consent_marketing");
    const bool decided = consent != p.end() && consent->is_boolean();
    if (type == sync::kMemberUpdated) {
      std::vector<std::string> fields;
      for (const char* f : {"birthday", "card_no", "consent_marketing", "language", "name", "phone"}) {
        if (p.contains(f)) fields.emplace_back(f);
      }
      c.query("INSERT INTO member_changes(member_id, at, store_id, terminal_id, staff_id, fields, event_id) "
              "VALUES ($1, $2, $3, $4, $5, $6, $7)",
              {*member, at, optional(textField(p, "store_id")), r.text(i, 1), optional(textField(p, "staff_id")),
               joined(fields), r.text(i, 0)});
    }
    if (!decided) continue;
    c.query("INSERT INTO member_consents(member_id, at, consent_marketing, consent_version, store_id, terminal_id, "
            "staff_id, event_id, source) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            {*member, at, std::int64_t{consent->get<bool>() ? 1 : 0}, optional(textField(p, "consent_version")),
             optional(textField(p, "store_id")), r.text(i, 1), optional(textField(p, "staff_id")), r.text(i, 0), type});
    members.push_back(*member);
  }
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  for (const auto& m : members) settleConsent(c, m);
}

json withoutPersonalData(const std::string& type, json payload) {
  for (const char* f : kPersonalFields) payload.erase(f);
  if (type == sync::kComplaintFiled && payload.contains("description")) payload["description"] = "";
  return payload;
}

bool namesMember(const std::string& type) {
  return type == sync::kMemberEnrolled || type == sync::kMemberUpdated || type == sync::kComplaintFiled;
}

constexpr const char* kMemberEventTypes = "type IN ('member.enrolled', 'member.updated', 'complaint.filed')";

/// The member an event's payload names, in SQL: the expression of the index events_member, which
/// a query must write the same to be served by it. On PostgreSQL NULL for a payload holding
/// `\u0000` (jsonTextExpr): events_member_nul holds those.
std::string memberNamed(std::string_view backend) { return jsonTextExpr(backend, "payload", "member_id"); }
/// PostgreSQL: a payload holding the escape `\u0000` (the predicate of events_member_nul).
std::string holdsNul() { return containsText("postgresql", "payload", "'\\u0000'"); }

/// Member events (and conflicting copies kept for review) of `memberId`, their stored payloads
/// without personal data. The fingerprints stay: a re-sent original is still a duplicate.
/// The events along events_member (and on PostgreSQL, events_member_nul); the copies and refused
/// events (a few) by the member's id as their stored text writes it (`"member_id":"M1"`, as
/// sync::dumpJson writes every stored payload): each confirmed by decoding.
void scrubStoredEvents(SqlConnection& c, const std::string& memberId) {
  const std::string written = "\"member_id\":" + sync::dumpJson(json(memberId));
  const std::string types = kMemberEventTypes;
  const auto scrub = [&](const SqlRows& rows, const std::string& table, const std::string& key, bool numbered) {
    for (std::size_t i = 0; i < rows.size(); ++i) {
      json payload = json::parse(rows.text(i, 2), nullptr, false);
      if (!payload.is_object()) continue;
      if (const auto named = payload.find("member_id"); named == payload.end() || *named != memberId) continue;
      c.query("UPDATE " + table + " SET payload = $2 WHERE " + key + " = $1",
              {numbered ? SqlValue(rows.integer(i, 0)) : SqlValue(rows.text(i, 0)),
               sync::dumpJson(withoutPersonalData(rows.text(i, 1), std::move(payload)))});
    }
  };
  scrub(c.query(memberEventsQuery(c.backend()), {memberId}), "events", "event_id", false);
  const std::string byText = " WHERE " + types + " AND " + containsText(c.backend(), "payload", "$1");
  scrub(c.query("SELECT conflict_no, type, payload FROM event_conflicts" + byText, {written}), "event_conflicts", "conflict_no", true);
  scrub(c.query("SELECT event_id, type, payload FROM rejected_events" + byText, {written}), "rejected_events", "event_id", false);
}

}  // namespace

std::string memberEventsQuery(std::string_view backend) {
  const std::string types = kMemberEventTypes;
  std::string events = "SELECT event_id, type, payload FROM events WHERE " + types + " AND " + memberNamed(backend) + " = $1";
  if (backend == "postgresql") events += " UNION ALL SELECT event_id, type, payload FROM events WHERE " + types + " AND " + holdsNul();
  return events;
}

// [SECTION] Schema

void ensurePrivacySchema(SqlConnection& c) {
  const bool fresh = !c.hasTable("member_consents");
  if (fresh || !c.hasTable("member_changes")) c.execScript(schemaForBackend(kPrivacySchema, c.backend()));
  for (const auto& a : kAddedColumns) {
    if (c.hasTable(a.table) && !hasColumn(c, a.table, a.column)) {
      c.execScript(std::string("ALTER TABLE ") + a.table + " ADD COLUMN " + a.column + " " + a.type);
    }
  }
  if (c.hasTable("counters") && c.query("SELECT 1 FROM counters WHERE name = 'erasures'").empty()) {
    c.query("INSERT INTO counters(name, value) VALUES ('erasures', 0) ON CONFLICT (name) DO NOTHING");
  }
  if (fresh && c.hasTable("events") &&
      !c.query("SELECT 1 FROM events WHERE type IN ('member.enrolled', 'member.updated') LIMIT 1").empty()) {
    SqlTransaction tx(c);
    fillHistoryFromEvents(c);
    tx.commit();
  }
}

void indexMemberEvents(SqlConnection& c) {
  const std::string types = kMemberEventTypes;
  std::vector<IndexDefinition> indexes = {{"events_member", "events(" + memberNamed(c.backend()) + ") WHERE " + types}};
  if (c.backend() == "postgresql") indexes.push_back({"events_member_nul", "events(event_id) WHERE " + types + " AND " + holdsNul()});
  replaceIndexes(c, indexes, {}, "every member's enrolment and updates, and every complaint");
}

// [SECTION] Ingest

void recordConsent(SqlConnection& c, const ConsentDecision& d) {
  c.query("INSERT INTO member_consents(member_id, at, consent_marketing, consent_version, store_id, terminal_id, staff_id, "
          "event_id, source) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
          {d.memberId, d.at, std::int64_t{d.consentMarketing ? 1 : 0}, optional(d.consentVersion), d.storeId, d.terminalId,
           optional(d.staffId), d.eventId, d.source});
  settleConsent(c, d.memberId);
}

void recordMemberUpdate(SqlConnection& c, const std::string& memberId, const sync::MemberUpdated& u, const std::string& at,
                        const std::string& eventId) {
  c.query("INSERT INTO member_changes(member_id, at, store_id, terminal_id, staff_id, fields, event_id) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7)",
          {memberId, at, u.origin.storeId, u.origin.terminalId, optional(u.staffId), joined(u.changedFields()), eventId});
  if (u.consentMarketing) {
    recordConsent(c, {memberId, at, *u.consentMarketing, u.consentVersion, u.origin.storeId, u.origin.terminalId, u.staffId,
                      eventId, sync::kMemberUpdated});
  }
}

bool isErased(SqlConnection& c, const std::string& memberId) {
  return !c.query("SELECT 1 FROM members WHERE member_id = $1 AND erased_at IS NOT NULL", {memberId}).empty();
}

Error erasedRejection() {
  return refusedClaim(sync::kReasonErased, "the member's personal data was erased at head office; their member events are kept "
                                           "without it");
}

std::string storedPayload(SqlConnection& c, const std::string& type, const json& payload) {
  return storedPayload(type, payload, [&](const std::string& member) { return isErased(c, member); });
}

std::string storedPayload(const std::string& type, const json& payload, const std::function<bool(const std::string&)>& erased) {
  return storedPayload(type, payload, sync::dumpJson(payload), erased);
}

std::string storedPayload(const std::string& type, const json& payload, std::string text,
                          const std::function<bool(const std::string&)>& erased) {
  if (namesMember(type) && payload.is_object()) {
    if (const auto member = textField(payload, "member_id"); member && erased(*member)) {
      return sync::dumpJson(withoutPersonalData(type, payload));
    }
  }
  return text;
}

std::vector<std::string> sameRecords(SqlConnection& c, const std::string& memberId) {
  std::vector<std::string> out{memberId};
  for (std::size_t i = 0; i < out.size() && out.size() < 1000; ++i) {
    const auto r = c.query("SELECT from_id FROM merges WHERE into_id = $1 ORDER BY from_id", {out[i]});
    for (std::size_t k = 0; k < r.size(); ++k) out.push_back(r.text(k, 0));
  }
  return out;
}

std::string payloadWithoutPersonalData(const std::string& type, const json& payload) {
  return sync::dumpJson(payload.is_object() ? withoutPersonalData(type, payload) : payload);
}

// [SECTION] Who sees what

std::int64_t protectPersonalData(json& j, bool seesAll) {
  std::int64_t records = 0;
  if (j.is_array()) {
    for (auto& v : j) records += protectPersonalData(v, seesAll);
    return records;
  }
  if (!j.is_object()) return 0;
  const auto filled = [&](const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() && !it->get_ref<const std::string&>().empty();
  };
  if ((j.contains("member_id") || j.contains("referrer_id")) && (filled("name") || filled("phone") || filled("birthday"))) {
    ++records;
  }
  if (!seesAll) {
    if (filled("phone")) j["phone"] = maskPhone(j["phone"].get<std::string>(), kHomePhoneRegion);
    j.erase("birthday");
  }
  for (auto& [key, value] : j.items()) records += protectPersonalData(value, seesAll);
  return records;
}

std::string actorOf(const Principal& p) {
  return p.role == Role::kTerminal ? "terminal:" + p.terminalId : "token:" + p.name;
}

void auditAccess(SqlConnection& c, const std::string& actor, const char* action, std::optional<std::string> subject,
                 std::optional<std::int64_t> rows, Timestamp now) {
  // One insert of a row nothing else writes, on its own: it does not wait for other instances'
  // uploads (the store-wide writer lock).
  recordAudit(c, {formatRfc3339(now), actor, action, std::move(subject), rows, std::nullopt});
}

// [SECTION] Erasure

namespace {

/// scrubErased's statements for the members `erased` (a row source of ids, "($1)" with `p` its
/// parameter, or a subquery without any), whose search keys go with those of `gone`.
void scrubOf(SqlConnection& c, const std::string& at, const std::string& erased, const std::string& gone,
             const std::vector<SqlValue>& p) {
  c.query("UPDATE complaint_cases SET description = '' WHERE description <> '' AND member_id IN " + erased, p);
  const std::string cases = "(SELECT complaint_id FROM complaint_cases WHERE member_id IN " + erased + ")";
  c.query("UPDATE complaint_history SET note = NULL WHERE note IS NOT NULL AND complaint_id IN " + cases, p);
  if (c.hasTable("complaint_satisfaction")) {
    c.query("UPDATE complaint_satisfaction SET note = NULL WHERE note IS NOT NULL AND complaint_id IN " + cases, p);
  }
  // What head office wrote to or about the person: greetings (they hold the name; those not sent
  // yet are cancelled; a gateway's error may repeat the phone) and the notes of follow-up calls
  // and visits.
  if (c.hasTable("outreach_messages")) {
    std::vector<SqlValue> withAt = p;
    withAt.emplace_back(at);
    const std::string atParam = "$" + std::to_string(withAt.size());
    c.query("UPDATE outreach_messages SET body = '', status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END, "
            "error = CASE WHEN status = 'queued' OR error IS NOT NULL THEN 'member erased' ELSE NULL END, "
            "done_at = CASE WHEN status = 'queued' THEN " + atParam + " ELSE done_at END "
            "WHERE (body <> '' OR status = 'queued' OR error <> 'member erased') AND member_id IN " + erased,
            withAt);
  }
  if (c.hasTable("followup_contacts")) {
    c.query("UPDATE followup_contacts SET notes = NULL WHERE notes IS NOT NULL AND followup_id IN "
            "(SELECT followup_id FROM followups WHERE member_id IN " + erased + ")",
            p);
  }
  // Their search keys (name, pinyin, card number, a phone's last four digits), and those of
  // members merged away (found as the member they went into).
  if (c.hasTable("member_search_keys")) {
    holdSearchKeys(c);
    c.query("DELETE FROM member_search_keys WHERE member_id IN " + gone, p);
  }
}

std::int64_t counterValue(SqlConnection& c, const char* name) {
  const auto r = c.query("SELECT value FROM counters WHERE name = $1", {std::string(name)});
  return r.empty() ? std::int64_t{-1} : r.integer(0, 0);
}

}  // namespace

void scrubErased(SqlConnection& c, const std::string& at) {
  scrubOf(c, at, "(SELECT member_id FROM members WHERE erased_at IS NOT NULL)",
          "(SELECT member_id FROM members WHERE erased_at IS NOT NULL OR merged_into IS NOT NULL)", {});
}

std::optional<Error> refuseNoteOnErased(SqlConnection& c, const std::string& memberId, const char* field, const std::string& what) {
  if (memberId.empty() || c.query("SELECT 1 FROM members WHERE member_id = $1 AND erased_at IS NOT NULL", {memberId}).empty()) {
    return std::nullopt;
  }
  return Error{hqerr::kGone, field, what + " is about a member whose personal data was erased: it takes no more notes"};
}

ScrubMark scrubMark(SqlConnection& c) {
  return {counterValue(c, "erasures"), c.query("SELECT COUNT(*) FROM merges").integer(0, 0)};
}

namespace {

bool scrubbedThrough(SqlConnection& c, const ScrubMark& m) {
  return counterValue(c, "scrubbed_erasures") == m.erasures && counterValue(c, "scrubbed_merges") == m.merges;
}

void writeScrubbed(SqlConnection& c, const ScrubMark& m) {
  for (const auto& [name, n] : {std::pair{"scrubbed_erasures", m.erasures}, std::pair{"scrubbed_merges", m.merges}}) {
    c.query("INSERT INTO counters(name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            {std::string(name), n});
  }
}

}  // namespace

void markScrubbed(SqlConnection& c, const ScrubMark& before) {
  if (scrubbedThrough(c, before)) writeScrubbed(c, scrubMark(c));  // else the next start scrubs
}

void scrubErasedAtStart(SqlConnection& c) {
  // Only when an erasure or a merge was not scrubbed (three small reads otherwise): the scrub
  // reads every member.
  const ScrubMark mark = scrubMark(c);
  if (scrubbedThrough(c, mark)) return;
  scrubErased(c, formatRfc3339(nowSeconds()));
  writeScrubbed(c, mark);
}

Result<HqStore::Erasure> HqStore::eraseMember(const std::string& memberId, const std::string& reason, const std::string& actor,
                                              Timestamp now) {
  if (!validId(memberId)) return invalidArgument("member_id", "member_id is 1 to 128 printable characters without spaces");
  if (reason.find_first_not_of(" \t\r\n") == std::string::npos) {
    return invalidArgument("reason", "reason is required: why the member's personal data is erased");
  }
  if (reason.size() > 1000) return invalidArgument("reason", "reason is at most 1000 bytes");
  // Complaints filed at counters enter the workflow first, so their descriptions go too.
  ensureAnalyticsSchema(*m_c);
  Reports(*m_c).importCounterComplaints(now);

  SqlTransaction tx(*m_c);
  const auto m = m_c->query("SELECT merged_into, erased_at FROM members WHERE member_id = $1", {memberId});
  if (m.empty()) return Error{errc::kNotFound, "member_id", "no member " + memberId};
  if (!m.isNull(0, 1)) return Erasure{memberId, m.text(0, 1), sameRecords(*m_c, memberId)};
  if (!m.isNull(0, 0)) {
    return Error{errc::kConflict, "member_id",
                 "member " + memberId + " was merged into " + m.text(0, 0) + ": erase " + m.text(0, 0) +
                     " (the records merged into a member are erased with it)"};
  }
  const std::string at = formatRfc3339(now);
  const ScrubMark before = scrubMark(*m_c);
  const std::vector<std::string> records = sameRecords(*m_c, memberId);
  for (const auto& id : records) {
    m_c->query("UPDATE members SET card_no = '', phone = '', name = '', birthday = NULL, language = NULL, "
               "consent_marketing = 0, erased_at = $2 WHERE member_id = $1",
               {id, at});
    scrubStoredEvents(*m_c, id);
    scrubOf(*m_c, at, "($1)", "($1)", {id});
  }
  // Kept report results may name the member: dropped here, and those computed before this
  // erasure are never served again (ReportCache::dataMark counts erasures).
  if (m_c->hasTable("report_results")) m_c->query("DELETE FROM report_results");
  m_c->query("UPDATE counters SET value = value + 1 WHERE name = 'erasures'");
  markScrubbed(*m_c, before);  // this erasure scrubbed its records as the start's scrub would
  std::int64_t no = nextChangeNumbers(static_cast<std::int64_t>(records.size()));
  for (const auto& id : records) {
    m_c->query("INSERT INTO changes(change_no, type, body) VALUES ($1, 'member.erased', $2)",
               {no++, sync::dumpJson(sync::toJson(sync::Change{sync::MemberErasedChange{id}}))});
  }
  recordAudit(*m_c, {at, actor, audit::kMemberErase, memberId, static_cast<std::int64_t>(records.size()), reason});
  tx.commit();
  // SQLite zeroes what is overwritten (secure_delete, on every connection); the WAL's copies of
  // the pages before go with a TRUNCATE checkpoint. It reports busy (first column 1) rather than
  // wait while another checkpoint runs (the background one, db::BackgroundCheckpoints) or a
  // reader holds an old snapshot: tried again until it completes, for up to five seconds.
  // PostgreSQL keeps old row versions until VACUUM (docs/security.md).
  if (m_c->backend() == "sqlite") {
    for (int tries = 0; tries < 100 && m_c->query("PRAGMA wal_checkpoint(TRUNCATE)").integer(0, 0) != 0; ++tries) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return Erasure{memberId, at, records};
}

// [SECTION] Reads

json consentHistory(SqlConnection& c, const std::string& memberId) {
  const auto r = c.query(
      "SELECT at, consent_marketing, consent_version, store_id, terminal_id, staff_id, event_id, source FROM member_consents "
      "WHERE member_id = $1 ORDER BY at, entry_no",
      {memberId});
  json out = json::array();
  for (std::size_t i = 0; i < r.size(); ++i) {
    out.push_back({{"at", r.text(i, 0)}, {"consent_marketing", r.integer(i, 1) != 0}, {"consent_version", optJson(r, i, 2)},
                   {"store_id", optJson(r, i, 3)}, {"terminal_id", optJson(r, i, 4)}, {"staff_id", optJson(r, i, 5)},
                   {"event_id", optJson(r, i, 6)}, {"source", r.text(i, 7)}});
  }
  return out;
}

json memberChanges(SqlConnection& c, const std::string& memberId) {
  const auto r = c.query(
      "SELECT at, store_id, terminal_id, staff_id, fields, event_id FROM member_changes WHERE member_id = $1 "
      "ORDER BY at, entry_no",
      {memberId});
  json out = json::array();
  for (std::size_t i = 0; i < r.size(); ++i) {
    json fields = json::array();
    const std::string f = r.text(i, 4);
    for (std::size_t start = 0; start < f.size();) {
      const std::size_t comma = std::min(f.find(',', start), f.size());
      fields.push_back(f.substr(start, comma - start));
      start = comma + 1;
    }
    out.push_back({{"at", r.text(i, 0)}, {"store_id", optJson(r, i, 1)}, {"terminal_id", optJson(r, i, 2)},
                   {"staff_id", optJson(r, i, 3)}, {"fields", std::move(fields)}, {"event_id", optJson(r, i, 5)}});
  }
  return out;
}

namespace {

json profileOf(const SqlRows& m, std::size_t i) {
  return {{"member_id", m.text(i, 0)},         {"card_no", m.text(i, 2)},          {"phone", m.text(i, 3)},
          {"name", m.text(i, 4)},              {"birthday", optJson(m, i, 5)},     {"language", optJson(m, i, 6)},
          {"consent_marketing", m.integer(i, 7) != 0}, {"consent_version", optJson(m, i, 8)},
          {"consent_at", optJson(m, i, 9)},    {"consent_store", optJson(m, i, 10)}, {"enrolled_at", m.text(i, 11)},
          {"enrolled_store", m.text(i, 12)},   {"referrer_id", optJson(m, i, 13)}, {"balance", m.integer(i, 14)},
          {"lifetime_spend", money(m.integer(i, 15))}, {"tier", m.text(i, 16)}, {"merged_into", optJson(m, i, 17)},
          {"merged_at", optJson(m, i, 18)}};
}

constexpr const char* kProfileColumns =
    "member_id, enrolled, card_no, phone, name, birthday, language, consent_marketing, consent_version, consent_at, "
    "consent_store, enrolled_at, enrolled_store, referrer_id, balance, lifetime_spend, tier, merged_into, merged_at, "
    "erased_at";

void sortByAt(json& rows) {
  std::stable_sort(rows.begin(), rows.end(), [](const json& a, const json& b) { return a.at("at") < b.at("at"); });
}

}  // namespace

Result<json> memberExport(SqlConnection& c, const std::string& memberId, Timestamp now) {
  ensureAnalyticsSchema(c);
  Reports(c).importCounterComplaints(now);
  SqlTransaction tx(c, SqlTransaction::Kind::kRead);
  const auto m = c.query(std::string("SELECT ") + kProfileColumns + " FROM members WHERE member_id = $1", {memberId});
  if (m.empty() || m.integer(0, 1) == 0) return Error{errc::kNotFound, "member_id", "no member " + memberId};
  if (!m.isNull(0, 19)) {
    return Error{hqerr::kGone, "member_id", "member " + memberId + "'s personal data was erased at " + m.text(0, 19)};
  }
  json doc = {{"member_id", memberId}, {"exported_at", formatRfc3339(now)}, {"profile", profileOf(m, 0)}};
  json merged = json::array(), consents = json::array(), changes = json::array(), sales = json::array(),
       refunds = json::array(), ledger = json::array(), surveys = json::array(), complaints = json::array(),
       merges = json::array();
  std::map<std::string, bool> mergeSeen;
  const std::vector<std::string> records = sameRecords(c, memberId);
  for (const auto& id : records) {
    if (id != memberId) {
      const auto r = c.query(std::string("SELECT ") + kProfileColumns + " FROM members WHERE member_id = $1", {id});
      if (!r.empty()) merged.push_back(profileOf(r, 0));
    }
    for (json e : consentHistory(c, id)) {
      e["member_id"] = id;
      consents.push_back(std::move(e));
    }
    for (json e : memberChanges(c, id)) {
      e["member_id"] = id;
      changes.push_back(std::move(e));
    }

    const auto s = c.query(
        "SELECT s.event_id, s.sale_id, s.terminal_id, s.store_id, s.at, s.subtotal, s.discount, s.total, s.points_earned, "
        "s.points_redeemed, l.line_no, l.sku, l.description, l.category, l.qty, l.unit_price, l.amount FROM sales s "
        "LEFT JOIN sale_lines l ON l.event_id = s.event_id WHERE s.member_id = $1 ORDER BY s.at, s.event_id, l.line_no",
        {id});
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (sales.empty() || sales.back()["event_id"] != s.text(i, 0)) {
        sales.push_back({{"event_id", s.text(i, 0)}, {"sale_id", s.text(i, 1)}, {"terminal_id", s.text(i, 2)},
                         {"store_id", s.text(i, 3)}, {"at", s.text(i, 4)}, {"subtotal", money(s.integer(i, 5))},
                         {"discount", money(s.integer(i, 6))}, {"total", money(s.integer(i, 7))},
                         {"points_earned", s.integer(i, 8)}, {"points_redeemed", s.integer(i, 9)}, {"lines", json::array()}});
      }
      if (s.isNull(i, 10)) continue;
      sales.back()["lines"].push_back({{"line_no", s.integer(i, 10)}, {"sku", s.text(i, 11)}, {"description", optJson(s, i, 12)},
                                       {"category", optJson(s, i, 13)}, {"qty", s.integer(i, 14)},
                                       {"unit_price", s.text(i, 15)}, {"amount", money(s.integer(i, 16))}});
    }
    const auto rf = c.query(
        "SELECT event_id, refund_id, sale_id, terminal_id, store_id, at, amount, points_reversed, points_returned FROM refunds "
        "WHERE member_id = $1 ORDER BY at, event_id",
        {id});
    for (std::size_t i = 0; i < rf.size(); ++i) {
      refunds.push_back({{"event_id", rf.text(i, 0)}, {"refund_id", rf.text(i, 1)}, {"sale_id", rf.text(i, 2)},
                         {"terminal_id", rf.text(i, 3)}, {"store_id", rf.text(i, 4)}, {"at", rf.text(i, 5)},
                         {"amount", money(rf.integer(i, 6))}, {"points_reversed", rf.integer(i, 7)},
                         {"points_returned", rf.integer(i, 8)}});
    }
    const auto l = c.query("SELECT event_id, kind, points, at FROM ledger WHERE member_id = $1 ORDER BY at, event_id, kind", {id});
    for (std::size_t i = 0; i < l.size(); ++i) {
      ledger.push_back({{"member_id", id}, {"event_id", l.text(i, 0)}, {"kind", l.text(i, 1)}, {"points", l.integer(i, 2)},
                        {"at", l.text(i, 3)}});
    }
    // Along survey_answers_member (indexSurveysByMember); sorted here, not by an ORDER BY a
    // planner without statistics may walk another index for.
    const auto sv = c.query("SELECT e.event_id, e.terminal_id, e.at, e.payload FROM survey_answers s "
                            "JOIN events e ON e.event_id = s.event_id WHERE s.member_id = $1",
                            {id});
    const std::size_t firstSurvey = surveys.size();
    for (std::size_t i = 0; i < sv.size(); ++i) {
      const json p = json::parse(sv.text(i, 3));
      surveys.push_back({{"event_id", sv.text(i, 0)}, {"terminal_id", sv.text(i, 1)}, {"at", sv.text(i, 2)},
                         {"survey_id", p.value("survey_id", json(nullptr))}, {"sale_id", p.value("sale_id", json(nullptr))},
                         {"store_id", p.value("store_id", json(nullptr))}, {"scale", p.value("scale", json(nullptr))},
                         {"score", p.value("score", json(nullptr))}});
    }
    std::sort(surveys.begin() + static_cast<std::ptrdiff_t>(firstSurvey), surveys.end(), [](const json& a, const json& b) {
      return std::tie(a.at("at").get_ref<const std::string&>(), a.at("event_id").get_ref<const std::string&>()) <
             std::tie(b.at("at").get_ref<const std::string&>(), b.at("event_id").get_ref<const std::string&>());
    });
    const auto cc = c.query(
        "SELECT complaint_id, source, store_id, category, description, staff_id, filed_at, step, owner, due_at, updated_at "
        "FROM complaint_cases WHERE member_id = $1 ORDER BY filed_at, complaint_id",
        {id});
    for (std::size_t i = 0; i < cc.size(); ++i) {
      const auto h = c.query("SELECT entry_no, at, actor, from_step, to_step, owner, due_at, note FROM complaint_history "
                             "WHERE complaint_id = $1 ORDER BY entry_no",
                             {cc.text(i, 0)});
      json history = json::array();
      for (std::size_t k = 0; k < h.size(); ++k) {
        history.push_back({{"entry", h.integer(k, 0)}, {"at", h.text(k, 1)}, {"actor", h.text(k, 2)},
                           {"from_step", optJson(h, k, 3)}, {"to_step", h.text(k, 4)}, {"owner", optJson(h, k, 5)},
                           {"due_at", optJson(h, k, 6)}, {"note", optJson(h, k, 7)}});
      }
      complaints.push_back({{"complaint_id", cc.text(i, 0)}, {"source", cc.text(i, 1)}, {"store_id", optJson(cc, i, 2)},
                            {"category", cc.text(i, 3)}, {"description", cc.text(i, 4)}, {"staff_id", optJson(cc, i, 5)},
                            {"filed_at", cc.text(i, 6)}, {"step", cc.text(i, 7)}, {"owner", optJson(cc, i, 8)},
                            {"due_at", optJson(cc, i, 9)}, {"updated_at", cc.text(i, 10)}, {"history", std::move(history)}});
    }
    const auto mg = c.query("SELECT from_id, into_id, points, lifetime_spend, at FROM merges WHERE from_id = $1 OR into_id = $1",
                            {id});
    for (std::size_t i = 0; i < mg.size(); ++i) {
      if (mergeSeen[mg.text(i, 0)]) continue;
      mergeSeen[mg.text(i, 0)] = true;
      merges.push_back({{"from", mg.text(i, 0)}, {"into", mg.text(i, 1)}, {"points", mg.integer(i, 2)},
                        {"lifetime_spend", money(mg.integer(i, 3))}, {"at", mg.text(i, 4)}});
    }
  }
  tx.commit();
  for (json* rows : {&consents, &changes, &sales, &refunds, &ledger, &surveys, &merges}) sortByAt(*rows);
  doc["merged_records"] = std::move(merged);
  doc["consents"] = std::move(consents);
  doc["changes"] = std::move(changes);
  doc["sales"] = std::move(sales);
  doc["refunds"] = std::move(refunds);
  doc["ledger"] = std::move(ledger);
  doc["surveys"] = std::move(surveys);
  doc["complaints"] = std::move(complaints);
  doc["merges"] = std::move(merges);
  return doc;
}

Result<json> auditListing(SqlConnection& c, const std::optional<std::string>& from, const std::optional<std::string>& to,
                          const std::optional<std::string>& limit, const std::optional<std::string>& offset,
                          const std::optional<std::string>& order) {
  auto range = parseReportFilter(from, to, std::nullopt);
  if (!range) return range.error();
  auto n = wholeNumber(limit, "limit", 100, 1, 1000);
  if (!n) return n.error();
  auto skip = wholeNumber(offset, "offset", 0, 0, 100'000'000);
  if (!skip) return skip.error();
  const std::string direction = order.value_or("asc");
  if (direction != "asc" && direction != "desc") return invalidArgument("order", "order is asc (oldest first) or desc (newest first)");
  std::vector<AuditEntry> entries;
  {
    SqlTransaction tx(c, SqlTransaction::Kind::kRead);
    entries = auditEntries(c, range->range.from, range->range.to, *n + 1, *skip, direction == "desc");
    tx.commit();
  }
  const bool more = static_cast<std::int64_t>(entries.size()) > *n;
  if (more) entries.pop_back();
  json out = json::array();
  for (const auto& e : entries) {
    json j = {{"at", e.at}, {"actor", e.actor}, {"action", e.action}};
    if (e.subject) j["subject"] = *e.subject;
    if (e.rows) j["rows"] = *e.rows;
    if (e.detail) j["detail"] = *e.detail;
    out.push_back(std::move(j));
  }
  return json{{"entries", std::move(out)}, {"page", {{"offset", *skip}, {"limit", *n}, {"order", direction}}}, {"has_more", more}};
}

}  // namespace loyalty::hq
