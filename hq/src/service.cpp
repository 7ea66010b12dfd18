#include "loyalty/hq/service.hpp"

#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/complaints.hpp"
#include "loyalty/hq/credentials.hpp"
#include "loyalty/hq/crypto.hpp"
#include "loyalty/hq/followups.hpp"
#include "loyalty/hq/outreach.hpp"
#include "loyalty/hq/local_time.hpp"
#include "loyalty/hq/member_feed.hpp"
#include "loyalty/hq/members.hpp"
#include "loyalty/hq/privacy.hpp"
#include "loyalty/hq/staff.hpp"
#include "loyalty/logging/logging.hpp"

namespace loyalty::hq {

using nlohmann::json;

namespace {

/// Runs a parsed report on `r` (complaints: after importCounterComplaints, see report()).
Result<json> runCall(Reports& r, const forms::ReportCall& c, Timestamp now) {
  const ReportFilter& f = c.filter;
  if (c.name == "summary") return r.summary(f);
  if (c.name == "sales") return r.sales(f, c.group);
  if (c.name == "abc" || c.name == "abc-follow-up") return r.abc(f, c.asOfOn(r, now));
  if (c.name == "rfm") return r.rfm(f, c.asOfOn(r, now));
  if (c.name == "churn") return r.churn(f, c.asOfOn(r, now), c.churnDays);
  if (c.name == "retention") return r.retention(f);
  if (c.name == "referrals") return r.referrals(f);
  if (c.name == "satisfaction") return r.satisfaction(f, c.period);
  if (c.name == "complaints") return r.complaints(f, now);
  if (c.name == "points") return r.points(f);
  if (c.name == "campaign") return r.campaignMembers(f);
  if (c.name == "staff") return r.staff(f);
  return Error{errc::kNotFound, "report", "no report " + c.name};
}

ReportCache::Compute computeOf(forms::ReportCall call) {
  return [call = std::move(call)](SqlConnection& c) -> Result<json> {
    Reports r(c);
    return runCall(r, call, nowSeconds());
  };
}

}  // namespace

HqService::HqService(std::unique_ptr<SqlConnection> writer, std::unique_ptr<SqlConnection> reader,
                     std::unique_ptr<SqlConnection> counter, ReportCache::Options cache, ReservationPolicy reservations,
                     std::vector<std::unique_ptr<SqlConnection>> reports)
    : m_writer(std::move(writer)),
      m_reader(std::move(reader)),
      m_counter(std::move(counter)),
      m_reports(std::move(reports)),
      m_cache(std::move(cache)) {
  m_counter.setReservationPolicy(reservations);  // the lane that holds them
}

void HqService::startReportRefresher(std::unique_ptr<SqlConnection> c, ReportCache::Leading leading,
                                     std::unique_ptr<SqlConnection> reads) {
  // The member search keys, brought up to date in the background too, so that a search after
  // a day of enrolments and sales (or a first start on a large chain) has little left to do: a
  // chunk a step (ReportCache::Chore), each its own transaction. The first step of each round
  // also tends a chunk of the members' change feed's log (member_feed.hpp), safety nets both:
  // it prunes entries left superseded, and renumbers members an older release changed without
  // one. A member's change moves its entry, so a lap finds next to nothing; it spreads over
  // rounds, a million members in 100. The keys alone decide whether another step follows (a
  // failing one is logged by the refresher and tried again soon). Each net on its own, so that
  // one failing (logged; the next round tries again) does not stop the others.
  m_cache.startRefresher(std::move(c), std::move(leading), std::move(reads), [](SqlConnection& conn, bool roundStart) {
    const auto tend = [&conn](const char* what, bool (*step)(SqlConnection&)) {
      try {
        step(conn);
      } catch (const std::exception& e) {
        logging::log().warn("the change feed's {} failed (the next round tries again): {}", what, e.what());
      }
    };
    if (roundStart) {
      tend("prune", pruneMemberFeed);
      tend("check for members without their place", restoreMemberPlaces);
    }
    return refreshMemberSearchKeys(conn);
  });
}

// [SECTION] Protocol

Result<Principal> HqService::authenticate(const std::string& token) {
  std::lock_guard lock(m_counterMutex);
  return m_counter.authenticateToken(token, nowSeconds());
}

void HqService::ping() {
  std::lock_guard lock(m_readMutex);
  m_reader.connection().query("SELECT 1");
}

StoreStats HqService::stats() {
  std::lock_guard lock(m_readMutex);
  return m_reader.stats();
}

Result<sync::RegisterResponse> HqService::registerTerminal(const std::string& code) {
  std::lock_guard lock(m_writeMutex);
  return m_writer.registerTerminal(code, nowSeconds());
}

Result<sync::UploadResponse> HqService::ingest(const sync::UploadRequest& request) {
  std::lock_guard lock(m_writeMutex);
  return m_writer.ingest(request, nowSeconds());
}

Result<sync::ChangePage> HqService::changes(const std::string& terminalId, const std::string& cursor, int limit) {
  std::lock_guard lock(m_readMutex);
  return m_reader.changes(terminalId, cursor, limit);
}

Result<sync::RedemptionResponse> HqService::reserve(const std::string& terminalId, const sync::RedemptionRequest& r) {
  std::lock_guard lock(m_counterMutex);
  return m_counter.reserve(terminalId, r, nowSeconds());
}

Result<Ok> HqService::release(const std::string& terminalId, const std::string& redemptionId,
                              std::optional<std::int64_t> afterSeq) {
  std::lock_guard lock(m_counterMutex);
  return m_counter.release(terminalId, redemptionId, afterSeq, nowSeconds());
}

Result<Ok> HqService::merge(const std::string& from, const std::string& into) {
  std::lock_guard lock(m_writeMutex);
  return m_writer.merge(from, into, nowSeconds());
}

json HqService::heldReservations(const RowPage& page) {
  std::lock_guard lock(m_readMutex);
  return m_reader.heldReservations(nowSeconds(), page);
}

Result<json> HqService::releaseReservation(const std::string& redemptionId, const std::string& reason,
                                           const std::string& actor) {
  std::lock_guard lock(m_writeMutex);
  return m_writer.releaseByAdmin(redemptionId, reason, nowSeconds(), actor);
}

Result<json> HqService::adjustPoints(const HqStore::PointsAdjustment& a, const std::string& actor) {
  std::lock_guard lock(m_writeMutex);
  if (a.complaintId) Reports(m_writer.connection()).importCounterComplaints(nowSeconds());
  return m_writer.adjustPoints(a, actor, nowSeconds());
}

Result<Ok> HqService::publishCatalog(const std::vector<sync::Reward>& rewards) {
  std::lock_guard lock(m_writeMutex);
  return m_writer.publishCatalog(rewards);
}

Result<std::int64_t> HqService::publishProducts(const std::vector<Product>& products, const std::string& actor) {
  std::lock_guard lock(m_writeMutex);
  return m_writer.publishProducts(products, actor, nowSeconds());
}

Result<std::int64_t> HqService::publishConfig(const std::string& toml, const std::string& actor) {
  std::lock_guard lock(m_writeMutex);
  return m_writer.publishConfig(toml, actor);
}

// [SECTION] Members' personal data and the audit trail

Result<json> HqService::member(const std::string& memberId) {
  std::lock_guard lock(m_readMutex);
  return m_reader.member(memberId);
}

Result<HqService::MemberRecord> HqService::memberRecord(const std::string& memberId) {
  std::lock_guard lock(m_readMutex);
  auto m = m_reader.member(memberId);
  if (!m) return m.error();
  const std::string id = (*m)["member_id"].get<std::string>();
  SqlTransaction tx(m_reader.connection(), SqlTransaction::Kind::kRead);
  MemberRecord out{std::move(*m), consentHistory(m_reader.connection(), id), memberChanges(m_reader.connection(), id)};
  tx.commit();
  return out;
}

Result<json> HqService::memberExport(const std::string& memberId, const std::string& actor) {
  // On the writer: counter complaints enter the workflow first (memberExport), then one snapshot.
  std::lock_guard lock(m_writeMutex);
  const Timestamp now = nowSeconds();
  auto out = hq::memberExport(m_writer.connection(), memberId, now);
  if (!out) return out.error();
  hq::auditAccess(m_writer.connection(), actor, audit::kMemberExport, memberId, std::nullopt, now);
  return out;
}

Result<HqStore::Erasure> HqService::eraseMember(const std::string& memberId, const std::string& reason, const std::string& actor) {
  std::lock_guard lock(m_writeMutex);
  return m_writer.eraseMember(memberId, reason, actor, nowSeconds());
}

Result<std::string> HqService::addTerminal(const std::string& storeId, const std::string& terminalId, const std::string& timezone,
                                           const std::string& actor) {
  std::lock_guard lock(m_writeMutex);
  return m_writer.addTerminal(storeId, terminalId, timezone, nowSeconds(), actor);
}

Result<Ok> HqService::revokeTerminal(const std::string& terminalId, const std::string& actor) {
  std::lock_guard lock(m_writeMutex);
  return m_writer.revokeTerminal(terminalId, nowSeconds(), actor);
}

Result<json> HqService::auditListing(const std::optional<std::string>& from, const std::optional<std::string>& to,
                                     const std::optional<std::string>& limit, const std::optional<std::string>& offset,
                                     const std::optional<std::string>& order) {
  std::lock_guard lock(m_readMutex);
  return hq::auditListing(m_reader.connection(), from, to, limit, offset, order);
}

void HqService::auditAccess(const std::string& actor, const char* action, const std::string& subject, std::optional<std::int64_t> rows) {
  std::lock_guard lock(m_writeMutex);
  hq::auditAccess(m_writer.connection(), actor, action, subject, rows, nowSeconds());
}

// [SECTION] Reports and complaints

Result<json> HqService::report(const forms::ReportCall& call) {
  const Timestamp now = nowSeconds();
  if (call.name == "complaints") {
    std::lock_guard lock(m_writeMutex);
    Reports(m_writer.connection()).importCounterComplaints(now);
  }
  return onReports([&](SqlConnection& c) {
    Reports r(c);
    return runCall(r, call, now);
  });
}

Result<ReportCache::Answer> HqService::keptReport(const forms::ReportCall& call, std::optional<std::chrono::seconds> maxAge,
                                                  ReportCache::Wait wait) {
  if (call.name == "complaints") {
    auto out = report(call);
    if (!out) return out.error();
    return ReportCache::Answer{std::move(*out), nowSeconds(), false};
  }
  return m_cache.get(call.key(), m_reports, computeOf(call), maxAge, wait);
}

void HqService::pinReport(const forms::ReportCall& call) { m_cache.pin(call.key(), computeOf(call)); }

Result<json> HqService::complaint(const std::string& complaintId) {
  {
    std::lock_guard lock(m_writeMutex);
    Reports(m_writer.connection()).importCounterComplaints(nowSeconds());
  }
  std::lock_guard lock(m_readMutex);
  return Reports(m_reader.connection()).complaint(complaintId);
}

Result<json> HqService::fileComplaint(const ComplaintFiling& f, const std::string& actor) {
  std::lock_guard lock(m_writeMutex);
  return Reports(m_writer.connection()).fileComplaint(f, actor, nowSeconds());
}

Result<json> HqService::updateComplaint(const std::string& complaintId, const ComplaintUpdate& u, const std::string& actor) {
  std::lock_guard lock(m_writeMutex);
  return Reports(m_writer.connection()).updateComplaint(complaintId, u, actor, nowSeconds());
}

// [SECTION] Dashboard accounts, sessions and sign-in tickets

std::optional<std::pair<std::string, DashboardAccount>> HqService::account(const std::string& name) {
  std::lock_guard lock(m_readMutex);
  const auto row = m_reader.connection().query(
      "SELECT password_hash, role, pii FROM dashboard_users WHERE name = $1 AND disabled_at IS NULL", {name});
  if (row.empty()) return std::nullopt;
  return std::pair{row.text(0, 0), DashboardAccount{name, row.text(0, 1), row.integer(0, 2) != 0}};
}

namespace {

/// Deletes expired sessions, on their own: they are nobody's, so this waits for no lock.
void dropExpiredSessions(SqlConnection& c, Timestamp now) {
  c.query("DELETE FROM dashboard_sessions WHERE expires_at <= $1", {formatRfc3339(now)});
}

/// Writes a new session for `who` and its audit entry, in the caller's transaction.
OpenedSession newSession(SqlConnection& c, const DashboardAccount& who, Timestamp now, std::chrono::seconds life) {
  OpenedSession s{who, randomToken(), randomToken()};
  c.query("INSERT INTO dashboard_sessions(session_hash, name, role, csrf, created_at, expires_at, pii) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7)",
          {sha256Hex(s.secret), who.name, who.role, s.csrf, formatRfc3339(now), formatRfc3339(now + life),
           std::int64_t{who.pii ? 1 : 0}});
  recordAudit(c, {formatRfc3339(now), "user:" + who.name, audit::kSignIn, who.name, std::nullopt, std::nullopt});
  return s;
}

}  // namespace

std::optional<OpenedSession> HqService::openSession(const DashboardAccount& who, const std::string& passwordHash,
                                                    std::chrono::seconds life) {
  const Timestamp now = nowSeconds();
  std::lock_guard lock(m_writeMutex);
  SqlConnection& c = m_writer.connection();
  // Not behind other instances' uploads (the store-wide writer lock): the new session and its
  // audit entry are two new rows, written together, under the account's name only.
  dropExpiredSessions(c, now);
  SqlTransaction tx(c, SqlTransaction::Kind::kRowWrite);
  holdDashboardName(c, who.name);
  // The password was checked against the account as it was read before; it must still be so.
  if (c.query("SELECT 1 FROM dashboard_users WHERE name = $1 AND disabled_at IS NULL AND password_hash = $2 AND role = $3 "
              "AND pii = $4",
              {who.name, passwordHash, who.role, std::int64_t{who.pii ? 1 : 0}})
          .empty()) {
    return std::nullopt;
  }
  OpenedSession s = newSession(c, who, now, life);
  tx.commit();
  return s;
}

std::optional<std::pair<DashboardAccount, std::string>> HqService::session(const std::string& secret) {
  std::lock_guard lock(m_readMutex);
  const auto r = m_reader.connection().query(
      "SELECT name, role, csrf, pii FROM dashboard_sessions WHERE session_hash = $1 AND expires_at > $2",
      {sha256Hex(secret), formatRfc3339(nowSeconds())});
  if (r.empty()) return std::nullopt;
  return std::pair{DashboardAccount{r.text(0, 0), r.text(0, 1), r.integer(0, 3) != 0}, r.text(0, 2)};
}

void HqService::closeSession(const std::string& secret) {
  const std::string hash = sha256Hex(secret);
  std::lock_guard lock(m_writeMutex);
  SqlConnection& c = m_writer.connection();
  const auto named = c.query("SELECT name FROM dashboard_sessions WHERE session_hash = $1", {hash});
  if (named.empty()) return;
  // Holding the name, as a ticket asked for with this session does while it checks it.
  SqlTransaction tx(c, SqlTransaction::Kind::kRowWrite);
  holdDashboardName(c, named.text(0, 0));
  c.query("DELETE FROM dashboard_sessions WHERE session_hash = $1", {hash});
  tx.commit();
}

void HqService::signInFailed(const std::string& user, const std::string& address, const char* why) {
  const Timestamp now = nowSeconds();
  std::lock_guard lock(m_writeMutex);
  recordAudit(m_writer.connection(), {formatRfc3339(now), "address:" + address, audit::kSignInFailed, user, std::nullopt, why});
}

std::optional<std::string> HqService::issueTicket(const DashboardAccount& who, Timestamp expiresAt, const std::string& issuer) {
  const std::string ticket = randomToken();
  const std::string now = formatRfc3339(nowSeconds());
  std::lock_guard lock(m_writeMutex);
  SqlConnection& c = m_writer.connection();
  SqlTransaction tx(c, SqlTransaction::Kind::kRowWrite);
  holdDashboardName(c, who.name);
  // The credential the request was checked with, as it was: a token or a session.
  const std::vector<SqlValue> as = {sha256Hex(issuer), who.name, who.role, std::int64_t{who.pii ? 1 : 0}, now};
  if (c.query("SELECT 1 FROM api_tokens WHERE token_hash = $1 AND name = $2 AND role = $3 AND pii = $4 AND " + liveToken("$5") +
                  " UNION ALL "
              "SELECT 1 FROM dashboard_sessions WHERE session_hash = $1 AND name = $2 AND role = $3 AND pii = $4 AND expires_at > $5",
              as)
          .empty()) {
    return std::nullopt;
  }
  c.query("INSERT INTO dashboard_tickets(ticket_hash, name, role, expires_at, pii) VALUES ($1, $2, $3, $4, $5)",
          {sha256Hex(ticket), who.name, who.role, formatRfc3339(expiresAt), std::int64_t{who.pii ? 1 : 0}});
  tx.commit();
  return ticket;
}

std::optional<OpenedSession> HqService::signInWithTicket(const std::string& ticket, std::chrono::seconds life) {
  const Timestamp now = nowSeconds();
  const std::string hash = sha256Hex(ticket);
  std::lock_guard lock(m_writeMutex);
  SqlConnection& c = m_writer.connection();
  // Its name first, held before the ticket is taken: whatever ends the name's tickets holds the
  // name, then deletes them (the other order could deadlock). Taken after such an end, it is gone.
  const auto named = c.query("SELECT name FROM dashboard_tickets WHERE ticket_hash = $1", {hash});
  if (named.empty()) return std::nullopt;
  dropExpiredSessions(c, now);
  // Not behind other instances' uploads either: the ticket is taken once across instances by
  // its one UPDATE, and the session is a new row.
  SqlTransaction tx(c, SqlTransaction::Kind::kRowWrite);
  holdDashboardName(c, named.text(0, 0));
  const auto r = c.query(
      "UPDATE dashboard_tickets SET used_at = $2 WHERE ticket_hash = $1 AND used_at IS NULL AND expires_at > $2 "
      "RETURNING name, role, pii",
      {hash, formatRfc3339(now)});
  if (r.empty()) return std::nullopt;
  const DashboardAccount who{r.text(0, 0), r.text(0, 1), r.integer(0, 2) != 0};
  // What the name signs in as must still exist: an account, or a token neither revoked nor
  // expired (a ticket's session may ask for tickets itself, which would otherwise outlive the
  // token that began the chain).
  const std::vector<SqlValue> as = {who.name, who.role, std::int64_t{who.pii ? 1 : 0}, formatRfc3339(now)};
  if (c.query("SELECT 1 FROM dashboard_users WHERE name = $1 AND role = $2 AND pii = $3 AND disabled_at IS NULL UNION ALL "
                  "SELECT 1 FROM api_tokens WHERE name = $1 AND role = $2 AND pii = $3 AND " + liveToken("$4"),
              as)
          .empty()) {
    tx.commit();  // used up all the same
    return std::nullopt;
  }
  OpenedSession s = newSession(c, who, now, life);
  tx.commit();
  return s;
}

}  // namespace loyalty::hq
