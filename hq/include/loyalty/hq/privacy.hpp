#pragma once
/// @brief Members' personal data at head office (PIPL): consent history and change log of the
/// member events, erasure, the data-subject export, who sees full phones and birthdays, and the
/// audit of every read (docs/sync-wire.md "Personal data", docs/reports.md "Personal data").
///
/// HqStore::applyEvent calls the ingest helpers inside its transaction; the HTTP routes are in
/// privacy_routes.cpp (registerPrivacyRoutes), the dashboard's pages in dashboard.cpp.

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loyalty/core/result.hpp"
#include "loyalty/core/time.hpp"
#include "loyalty/hq/sql.hpp"
#include "loyalty/hq/store.hpp"
#include "loyalty/sync/payloads.hpp"
#include "loyalty/sync/protocol.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace loyalty::hq {

/// Masked phones are shown as national numbers for this region ("138****5678"), others with
/// their country code (core's maskPhone).
inline constexpr const char* kHomePhoneRegion = "CN";

/// Creates the consent history and member change log and adds the columns of this work to an
/// older database (members' consent_at/consent_store/erased_at, the `pii` grant on tokens,
/// dashboard users, sessions and tickets); fills the history from stored events the first
/// time. Idempotent and cheap when done; alters only tables that exist. Opens no transaction
/// unless it has history to fill in.
void ensurePrivacySchema(SqlConnection& c);

/// The member events (enrolments, updates, complaints) read by the member they name, for an
/// erasure: an index of the events on the payload's member (on PostgreSQL, with another of the
/// few payloads its JSON cast cannot read). Built once on a store of an earlier release (the log
/// says so); nothing once there. The database keeps it as events come: no writer names it.
void indexMemberEvents(SqlConnection& c);
/// The statement an erasure reads member `$1`'s events by (along events_member, and on
/// PostgreSQL events_member_nul): event_id, type, payload. Also what tests check the plan of.
std::string memberEventsQuery(std::string_view backend);

/// Within a write transaction: what head office keeps of every erased member beyond their row,
/// scrubbed (stored complaint texts and notes, greetings and a gateway's errors, follow-up
/// notes, search keys; keys of members merged away too). Writes only what is not scrubbed yet.
/// `at`: when a greeting not sent yet is cancelled. An erasure does the same for its records.
void scrubErased(SqlConnection& c, const std::string& at);

/// Free text about a member whose personal data was erased would be personal data again: a
/// note on their complaint or follow-up is refused (410, naming `field`) when `memberId` (may be
/// empty: no member) is erased.
std::optional<Error> refuseNoteOnErased(SqlConnection& c, const std::string& memberId, const char* field, const std::string& what);

/// How many erasures and merges the store has had: counters 'erasures' and merges' rows.
struct ScrubMark {
  std::int64_t erasures = 0, merges = 0;
};
ScrubMark scrubMark(SqlConnection& c);
/// After an erasure or a merge that scrubbed what it must (in its transaction): the store is
/// scrubbed through now, if it was through `before` (the mark as the transaction began).
void markScrubbed(SqlConnection& c, const ScrubMark& before);
/// An upgrade step of every start: scrubErased when an erasure or a merge was not scrubbed (an
/// earlier release's, or one by an instance still running an earlier release).
void scrubErasedAtStart(SqlConnection& c);

// [SECTION] Ingest (inside HqStore::applyEvent's transaction)

/// One marketing-consent decision: at enrolment or a later change at a counter.
struct ConsentDecision {
  std::string memberId;
  std::string at;  ///< RFC 3339 UTC: when the member decided (the event's `at`)
  bool consentMarketing = false;
  std::optional<std::string> consentVersion;
  std::string storeId;
  std::string terminalId;
  std::optional<std::string> staffId;
  std::string eventId;
  std::string source;  ///< the event type
};

/// Appends the decision to the history and sets the member's consent_marketing,
/// consent_version, consent_at and consent_store to the latest decision by time (events from
/// several terminals arrive in any order).
void recordConsent(SqlConnection& c, const ConsentDecision& d);

/// Logs a member.updated applied to `memberId` (who, where, when, which fields: names only) and
/// records its consent decision if it carries one.
void recordMemberUpdate(SqlConnection& c, const std::string& memberId, const sync::MemberUpdated& u, const std::string& at,
                        const std::string& eventId);

bool isErased(SqlConnection& c, const std::string& memberId);

/// The final refusal of a member event for an erased member (reason `erased`).
Error erasedRejection();

/// The payload as head office stores it: without name, phone, birthday, card number (and a
/// complaint's description) when the event names an erased member; else as it came.
std::string storedPayload(SqlConnection& c, const std::string& type, const nlohmann::json& payload);
/// The same, with whether a member is erased told by `erased` (ingest knows its batch's members).
std::string storedPayload(const std::string& type, const nlohmann::json& payload,
                          const std::function<bool(const std::string&)>& erased);
/// The same, given the payload's text as it came (sync::dumpJson of it, which ingest has made
/// already for the event's fingerprint).
std::string storedPayload(const std::string& type, const nlohmann::json& payload, std::string text,
                          const std::function<bool(const std::string&)>& erased);

/// The member and every record merged into them, directly or through others (the same person),
/// the member first; at most 1000.
std::vector<std::string> sameRecords(SqlConnection& c, const std::string& memberId);

/// The payload without name, phone, birthday, card number (and a complaint's description): what
/// head office keeps of an event it refused, or of an erased member's.
std::string payloadWithoutPersonalData(const std::string& type, const nlohmann::json& payload);

// [SECTION] Who sees what

/// Full phones and birthdays: admins, and analysts granted `pii`.
inline bool seesPersonalData(Role role, bool pii) { return role == Role::kAdmin || pii; }

/// For a viewer who does not see personal data: masks every "phone" (maskPhone) and drops every
/// "birthday" in `j`, at any depth. Returns how many member records (objects with a member or
/// referrer id) in `j` carry a name, phone or birthday: what an audit entry counts.
std::int64_t protectPersonalData(nlohmann::json& j, bool seesAll);

/// "token:NAME" / "terminal:ID" (audit actors, audit.hpp).
std::string actorOf(const Principal& p);

/// Appends one audit entry in a transaction of its own (reads and exports, which change nothing).
void auditAccess(SqlConnection& c, const std::string& actor, const char* action, std::optional<std::string> subject,
                 std::optional<std::int64_t> rows, Timestamp now);

// [SECTION] Reads

/// The member's consent decisions, oldest first: [{at, consent_marketing, consent_version,
/// store_id, terminal_id, staff_id, event_id, source}].
nlohmann::json consentHistory(SqlConnection& c, const std::string& memberId);
/// The member's changes from terminals, oldest first: [{at, store_id, terminal_id, staff_id,
/// fields: [...], event_id}].
nlohmann::json memberChanges(SqlConnection& c, const std::string& memberId);

/// Everything head office holds on the member (docs/sync-wire.md "Data-subject export"):
/// profile, consent history, change log, sales with lines, refunds, ledger, surveys,
/// complaints with their history, merges. not_found / gone (erased) refusals.
Result<nlohmann::json> memberExport(SqlConnection& c, const std::string& memberId, Timestamp now);

/// One page of the audit trail for GET /api/v1/admin/audit and the dashboard's audit page:
/// `from`/`to` (YYYY-MM-DD, inclusive, UTC days), `limit` (1..1000, default 100), `offset`
/// (0..100000000), `order` ("asc" oldest first, the default, or "desc"). Refusals name the
/// parameter. {"entries": [{at, actor, action, subject?, rows?, detail?}], "page": {offset,
/// limit, order}, "has_more"}.
Result<nlohmann::json> auditListing(SqlConnection& c, const std::optional<std::string>& from,
                                    const std::optional<std::string>& to, const std::optional<std::string>& limit,
                                    const std::optional<std::string>& offset, const std::optional<std::string>& order);

// [SECTION] HTTP

class HqService;

struct PrivacyRoutes {
  HqService& service;
  /// The server's own check: the bearer token's principal if it holds one of the roles;
  /// otherwise it has answered 401/403 and returns nullopt.
  std::function<std::optional<Principal>(const httplib::Request&, httplib::Response&, std::initializer_list<Role>)> require;
};

/// GET /api/v1/members/{id} (admin, analyst), GET /api/v1/members/{id}/export,
/// POST /api/v1/admin/members/{id}/erase and GET /api/v1/admin/audit (admin).
void registerPrivacyRoutes(httplib::Server& server, PrivacyRoutes routes);

}  // namespace loyalty::hq
