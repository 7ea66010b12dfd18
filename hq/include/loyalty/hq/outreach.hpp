#pragma once
/// @brief Outreach messages (会员触达) from head office: templates per kind in zh-CN and en with
/// placeholders, audiences (birthday, festival, points expiring, welcome back, tier upgrade,
/// campaign) limited to members who consented, a preview of who gets what, and a sender that
/// hands the messages to an SMS/WeChat gateway's HTTPS API through a configurable adapter,
/// keeping quiet hours (the member's home store's local time), a frequency cap per member and a
/// daily budget, retrying with backoff and recording delivery reports and opt-outs
/// (docs/outreach.md). The routes and pages are in outreach_routes.cpp.
///
/// Every operation that changes something is one transaction on the connection it is given,
/// audited in it. The sender never holds a transaction while it talks to the gateway.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loyalty/core/result.hpp"
#include "loyalty/core/time.hpp"
#include "loyalty/hq/sql.hpp"

namespace httplib {
class Server;
}

namespace loyalty::hq {

namespace audit {
inline constexpr const char* kOutreachSettings = "outreach.settings";  ///< the gateway, quiet hours, caps or budget changed
inline constexpr const char* kOutreachTemplate = "outreach.template";  ///< a message template changed
inline constexpr const char* kOutreachQueue = "outreach.queue";        ///< messages queued for sending
inline constexpr const char* kOutreachOptOut = "outreach.opt_out";     ///< a member withdrew consent (link or reply)
}  // namespace audit

/// The kinds of message, in the order the dashboard lists them.
inline constexpr const char* kOutreachKinds[] = {"birthday", "festival", "points_expiring", "welcome_back", "tier_upgrade", "campaign"};
/// The template languages (core's catalogue languages).
inline constexpr const char* kOutreachLanguages[] = {"zh-CN", "en"};

/// Creates the outreach tables on a database that lacks them (idempotent, cheap when present).
void ensureOutreachSchema(SqlConnection& c);

// [SECTION] Settings

/// The gateway adapter and the sending rules (PUT /api/v1/admin/outreach/settings).
struct OutreachSettings {
  std::string gatewayUrl;  ///< https://host[:port]/path; empty: nothing is sent
  std::string auth = "none";  ///< none | bearer (secret) | basic (user, secret)
  std::string user;
  std::string secret;
  /// The request body, JSON, with {to} (E.164), {text} and {message_id} filled in as JSON strings.
  std::string requestTemplate = R"({"to": "{to}", "text": "{text}", "client_ref": "{message_id}"})";
  std::string idField = "/id";  ///< JSON pointer of the gateway's message id in a 2xx answer; "" : none expected
  std::string caFile;           ///< trust only this CA (PEM file) for the gateway; "" : the system's
  std::int64_t timeoutMs = 10000;
  std::string callbackSecret;   ///< the secret path segment of the gateway's callbacks; "" : callbacks refused
  std::string statusIdField = "/id";
  std::string statusField = "/status";
  std::vector<std::string> deliveredValues = {"delivered", "DELIVRD"};
  std::vector<std::string> failedValues = {"failed", "undelivered", "UNDELIV", "REJECTD", "EXPIRED"};
  std::string replyFromField = "/from";
  std::string replyTextField = "/text";
  std::string quietStart = "21:00";  ///< local time of the member's home store; equal ends: no quiet hours
  std::string quietEnd = "08:00";
  std::int64_t capMessages = 2;  ///< at most this many messages to a member ...
  std::int64_t capDays = 7;      ///< ... in this many days
  std::int64_t dailyBudget = 1000;  ///< messages handed to the gateway per UTC day
  std::int64_t maxAttempts = 5;
  std::int64_t backoffSeconds = 60;  ///< the first retry's wait; doubled each time
  std::int64_t intervalSeconds = 60;  ///< how often the background sender runs; 0: only when asked
  std::string optOutUrl;  ///< head office's public address for opt-out links; "" : reply only
};

/// The settings in force (the defaults where none were set).
OutreachSettings outreachSettings(SqlConnection& c);
/// The settings as shown: secrets only as "set"/"not set".
nlohmann::json outreachSettingsView(const OutreachSettings& s);
/// Checks and stores the given fields over the current ones, audited (secrets not in the audit).
/// Unknown fields and bad values are refused naming the field. Returns the view.
Result<nlohmann::json> setOutreachSettings(SqlConnection& c, const nlohmann::json& body, const std::string& actor, Timestamp now);

// [SECTION] Templates

/// Every kind x language: {"kind", "language", "body", "custom"}.
nlohmann::json outreachTemplates(SqlConnection& c);
/// Replaces one template (1..500 bytes; placeholders {name} {greeting} {points} {date} {tier}
/// {festival} {text} {opt_out}; unknown ones refused), audited. `body` empty: back to the default.
Result<nlohmann::json> setOutreachTemplate(SqlConnection& c, const std::string& kind, const std::string& language,
                                           const std::string& body, const std::string& actor, Timestamp now);

// [SECTION] Audiences, preview and queue

/// Who a send is for.
struct OutreachRequest {
  std::string kind;
  std::string day;                      ///< YYYY-MM-DD: the occasion's day (birthday, festival, expiry window)
  std::optional<std::string> festival;  ///< festival id (core's table); default: the festival on `day`
  std::string campaign;                 ///< campaign: a name (1..64), one message per member per name
  std::string text;                     ///< campaign: {text} (1..400 bytes)
  std::int64_t idleDays = 90;           ///< welcome_back: no sale for this many days before `day`
  std::vector<std::string> stores;      ///< members' home stores; empty: all
};

/// Reads a request (kind, day, festival, campaign, text, idle_days, store); errors name the field.
/// `today` is the day's default.
Result<OutreachRequest> parseOutreachRequest(const std::function<std::optional<std::string>(const char*)>& param,
                                             const std::string& today);

/// Who gets what: {"kind", "day", "occasion", "counts": {"send", "no_consent", "capped", "no_phone",
/// "already"}, "total", "recipients": [{member_id, name, card_no, phone, store, language, text,
/// decision}] (at most `limit`, those to send first)}. Changes nothing.
Result<nlohmann::json> previewOutreach(SqlConnection& c, const OutreachRequest& r, Timestamp now, std::int64_t limit = 200);

/// The queueing of a request's "send" rows, a page of the audience (5,000 of all members' ids)
/// per write transaction: a campaign to a million members holds the writer a page at a time,
/// never for the whole audience, and in memory only a page.
struct OutreachQueueing {
  OutreachRequest request;
  std::string actor;
  Timestamp now;
  std::string batchId;
  std::string after;     ///< the last member id of the pages done ("" : none yet)
  std::string occasion;  ///< the audience's
  nlohmann::json counts;  ///< decisions so far
  std::int64_t queued = 0;
  std::int64_t numbered = 0;  ///< message ids given out: the batch's id and this number
  bool done = false;
};
OutreachQueueing startOutreachQueueing(const OutreachRequest& r, const std::string& actor, Timestamp now);
/// Plans and queues the next page in one transaction of `c` (each member at most once per
/// occasion); the first page also audits that the batch began, the last one the batch with its
/// count, and sets `done`. `q` changes only when the page is committed. A page that fails
/// leaves the pages before it queued (the sender sends them; the trail holds the batch's
/// beginning, its messages their batch id and actor): the same request sent again finds them
/// "already" queued and queues the rest, as another batch.
Status queueOutreachPage(SqlConnection& c, OutreachQueueing& q);
/// {"batch_id", "queued", "counts"}.
nlohmann::json outreachQueued(const OutreachQueueing& q);

/// Queues a request's messages, each page through `onWriter(fn)` (which runs fn(SqlConnection&)
/// on the writing connection: other writers go between two pages).
template <class OnWriter>
Result<nlohmann::json> queueOutreach(OnWriter&& onWriter, const OutreachRequest& r, const std::string& actor, Timestamp now) {
  OutreachQueueing q = startOutreachQueueing(r, actor, now);
  while (!q.done) {
    const Status page = onWriter([&q](SqlConnection& c) { return queueOutreachPage(c, q); });
    if (!page) return page.error();
  }
  return outreachQueued(q);
}

// [SECTION] Sending

/// One message as the gateway adapter sees it.
struct OutgoingMessage {
  std::string messageId;
  std::string to;  ///< E.164
  std::string text;
};

/// The gateway's answer: accepted (with its id), worth retrying, or refused for good.
struct GatewayReply {
  enum class Outcome { kAccepted, kRetry, kRefused } outcome = Outcome::kRetry;
  std::string providerId;
  std::string error;
};

using GatewaySend = std::function<GatewayReply(const OutreachSettings&, const OutgoingMessage&)>;

/// The HTTPS adapter (outreach_gateway.cpp): POSTs the filled request template to gatewayUrl
/// with the configured authentication, verifying the gateway's certificate. 2xx with a readable
/// id: accepted; no answer, 408, 429, 5xx or an unreadable 2xx: retry; other statuses: refused.
GatewayReply postToGateway(const OutreachSettings& s, const OutgoingMessage& m);

/// The request body for `m` (requestTemplate with the values JSON-escaped).
std::string gatewayRequestBody(const std::string& requestTemplate, const OutgoingMessage& m);

/// One pass of the sender at `now`: claims the due messages (consent, erasure, quiet hours, cap
/// and budget checked at that moment) in one transaction, sends them outside any transaction,
/// records each answer on the message's own row (not behind uploads: no store-wide writer lock).
/// `db` runs a function on a connection (one caller at a time).
/// {"configured", "sent", "retrying", "failed", "cancelled", "capped", "quiet", "over_budget"}.
nlohmann::json runOutreach(const std::function<void(const std::function<void(SqlConnection&)>&)>& db, Timestamp now,
                           const GatewaySend& send = postToGateway);

/// A delivery report from the gateway (its callback body): the message's status becomes
/// delivered or failed, on the message's own row (no store-wide writer lock). not_found for an
/// id head office never got; {"message_id", "status"}.
Result<nlohmann::json> recordDeliveryReport(SqlConnection& c, const OutreachSettings& s, const nlohmann::json& body, Timestamp now);

/// Opt-out words a member may reply (trimmed, case-insensitive): TD, T, N, STOP, UNSUBSCRIBE, 退订.
bool isOptOutReply(const std::string& text);

/// The members an opt-out reply from `phone` (normalised as enrolment does) or an opt-out link's
/// token is about: not erased, consenting now.
std::vector<std::string> optOutMembers(SqlConnection& c, const std::optional<std::string>& phone,
                                       const std::optional<std::string>& token);

/// Which messages a status answer lists: those of `status` (all when none), newest first, a page
/// of `limit` from `offset`.
struct OutreachListing {
  std::optional<std::string> status;
  std::int64_t limit = 100;
  std::int64_t offset = 0;
};

/// Parses `status` (queued, sending, sent, delivered, failed, capped or cancelled), `limit` (a
/// whole number from 1; more than 1000 asks for 1000) and `offset` (0 to 100,000,000); absent ones
/// keep `defaults`'. Errors name the field.
Result<OutreachListing> parseOutreachListing(const std::function<std::optional<std::string>(const char*)>& param,
                                             const OutreachListing& defaults = {});

/// Messages by status and a page of the latest: {"counts": {status: n}, "today": {"sent",
/// "budget"}, "total" (of the listed status, or all), "page": {"offset", "limit"}, "messages":
/// [{message_id, member_id, name, kind, status, attempts, created_at, sent_at, done_at, error,
/// text}]} newest first.
nlohmann::json outreachStatus(SqlConnection& c, const OutreachListing& listing, Timestamp now);

// [SECTION] Background job and HTTP (outreach_routes.cpp; docs/outreach.md)

/// Runs the sender every settings.intervalSeconds on its own connection until destroyed, in the
/// instance that leads the background work (`leading`, leadership.hpp; unset: always).
class OutreachJob {
 public:
  explicit OutreachJob(std::unique_ptr<SqlConnection> c, std::function<bool()> leading = {});
  ~OutreachJob();
  OutreachJob(const OutreachJob&) = delete;
  OutreachJob& operator=(const OutreachJob&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

class HqService;
struct DashboardAccess;

/// The outreach API (settings, templates, preview, send, status, run, the gateway's callbacks),
/// the public opt-out page and the dashboard's /dashboard/outreach page.
void registerOutreachRoutes(httplib::Server& server, HqService& service, DashboardAccess access);

}  // namespace loyalty::hq
