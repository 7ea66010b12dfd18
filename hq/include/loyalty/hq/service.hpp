#pragma once
/// @brief Head office's live data as the HTTP layer uses it. The service holds one connection
/// that writes (uploads, redemptions, admin changes, the audit trail, complaints, dashboard
/// sessions) and one that reads (the change feed, member reads), each used by one request at a
/// time, a few on which reports run (several at once), and the cache of slow reports. Routes call
/// its operations and never hold a store, a connection or a lock: the locking is the service's alone.

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "loyalty/core/result.hpp"
#include "loyalty/hq/analytics.hpp"
#include "loyalty/hq/connection_pool.hpp"
#include "loyalty/hq/dashboard_forms.hpp"
#include "loyalty/hq/report_cache.hpp"
#include "loyalty/hq/store.hpp"

namespace loyalty::hq {

/// Who a dashboard account, session or sign-in ticket belongs to.
struct DashboardAccount {
  std::string name;
  std::string role;  ///< "admin" or "analyst"
  bool pii = false;  ///< an analyst granted full phones and birthdays
};

/// A dashboard session just opened: whom it signs in, its secret (the cookie) and CSRF token.
struct OpenedSession {
  DashboardAccount who;
  std::string secret, csrf;
};

class HqService {
 public:
  /// `writer`, `reader` and `counter` are three connections to the same storage, whose schema the
  /// caller has checked and upgraded once (HqStore::checkSchema: the server does it before it opens
  /// any other connection); opening these repeats none of it.
  /// `counter` is the lane of what a customer waits for at the counter: token checks and online
  /// redemptions (reserve, release). It never queues behind an upload on `writer` or a change
  /// page on `reader` of this instance. On PostgreSQL its writes take the terminal's and the
  /// member's row locks, not the storage's writer lock (HqStore::reserve); on SQLite, the
  /// file's one writer lock.
  /// `reports` (at least one) are where reports and charts run, one each at a time
  /// (reports.connections of them, to storage.reports_dsn when set: a replica): a report that
  /// takes seconds holds up neither `reader`'s change pages and member reads nor, up to their
  /// number, another report.
  HqService(std::unique_ptr<SqlConnection> writer, std::unique_ptr<SqlConnection> reader,
            std::unique_ptr<SqlConnection> counter, ReportCache::Options cache, ReservationPolicy reservations,
            std::vector<std::unique_ptr<SqlConnection>> reports);
  HqService(const HqService&) = delete;
  HqService& operator=(const HqService&) = delete;

  /// Starts the report cache's refresher on its own connection (the readers are not held up by it).
  /// It computes while `leading()` (several instances: docs/operations.md), else adopts the leader's results;
  /// as the leader it also brings the member search keys up to date first in each round.
  /// `reads`: the refresher's own connection to storage.reports_dsn, when set.
  void startReportRefresher(std::unique_ptr<SqlConnection> c, ReportCache::Leading leading = {},
                            std::unique_ptr<SqlConnection> reads = nullptr);
  /// Runs the refresher's next round now (this instance has just taken the lead).
  void wakeReportRefresher() { m_cache.wake(); }
  /// Rounds the refresher ran as the leader.
  std::int64_t reportRefreshRounds() const { return m_cache.leaderRounds(); }

  // [SECTION] Protocol (docs/sync-wire.md)

  /// Who a bearer token belongs to, or why it is refused (unknown, revoked, expired).
  Result<Principal> authenticate(const std::string& token);
  /// Runs a trivial query on the reader; throws when the storage is unavailable.
  void ping();
  StoreStats stats();
  Result<sync::RegisterResponse> registerTerminal(const std::string& code);
  Result<sync::UploadResponse> ingest(const sync::UploadRequest& request);
  Result<sync::ChangePage> changes(const std::string& terminalId, const std::string& cursor, int limit);
  Result<sync::RedemptionResponse> reserve(const std::string& terminalId, const sync::RedemptionRequest& r);
  Result<Ok> release(const std::string& terminalId, const std::string& redemptionId, std::optional<std::int64_t> afterSeq);
  Result<Ok> merge(const std::string& from, const std::string& into);
  /// GET /api/v1/admin/reservations: a page of the reservations held now (HqStore::heldReservations).
  nlohmann::json heldReservations(const RowPage& page);
  /// POST /api/v1/admin/reservations/release: an administrator gives one back
  /// (HqStore::releaseByAdmin, audited for `actor`).
  Result<nlohmann::json> releaseReservation(const std::string& redemptionId, const std::string& reason,
                                            const std::string& actor);
  /// A head-office points adjustment (HqStore::adjustPoints); for a complaint's compensation the
  /// counter's complaints are imported first, so that one filed at a counter can be compensated.
  Result<nlohmann::json> adjustPoints(const HqStore::PointsAdjustment& a, const std::string& actor);
  Result<Ok> publishCatalog(const std::vector<sync::Reward>& rewards);
  /// PUT /api/v1/admin/products (HqStore::publishProducts).
  Result<std::int64_t> publishProducts(const std::vector<Product>& products, const std::string& actor);
  Result<std::int64_t> publishConfig(const std::string& toml, const std::string& actor);

  // [SECTION] Members' personal data (privacy.hpp) and the audit trail (audit.hpp)

  /// A member's profile as stored (the caller masks it for who asks).
  Result<nlohmann::json> member(const std::string& memberId);
  /// A member's profile, consent history and changes at counters, read in one snapshot.
  struct MemberRecord {
    nlohmann::json member, consents, changes;
  };
  Result<MemberRecord> memberRecord(const std::string& memberId);
  /// The data-subject export (counter complaints enter the workflow first), audited for `actor`.
  Result<nlohmann::json> memberExport(const std::string& memberId, const std::string& actor);
  Result<HqStore::Erasure> eraseMember(const std::string& memberId, const std::string& reason, const std::string& actor);
  Result<nlohmann::json> auditListing(const std::optional<std::string>& from, const std::optional<std::string>& to,
                                      const std::optional<std::string>& limit, const std::optional<std::string>& offset,
                                      const std::optional<std::string>& order);
  /// Records a read or an export of personal data (auditAccess).
  void auditAccess(const std::string& actor, const char* action, const std::string& subject, std::optional<std::int64_t> rows);

  // [SECTION] Terminals (the fleet page; HqStore::addTerminal / revokeTerminal, audited for `actor`)
  Result<std::string> addTerminal(const std::string& storeId, const std::string& terminalId, const std::string& timezone,
                                  const std::string& actor);
  Result<Ok> revokeTerminal(const std::string& terminalId, const std::string& actor);

  // [SECTION] Reports and complaints (analytics.hpp)

  /// A report run now (complaints first bring counter complaints into the workflow).
  Result<nlohmann::json> report(const forms::ReportCall& call);
  /// A report through the cache of slow results (report_cache.hpp); complaints are always live
  /// (they change without an upload, at head office). `wait`: ReportCache::get.
  Result<ReportCache::Answer> keptReport(const forms::ReportCall& call, std::optional<std::chrono::seconds> maxAge = std::nullopt,
                                         ReportCache::Wait wait = ReportCache::Wait::kForRefresher);
  /// Keeps `call`'s result warm in the cache whether or not anyone asks for it.
  void pinReport(const forms::ReportCall& call);
  /// Another result a dashboard page shows (a chart made of reports), through the same cache and
  /// by the same rules under `key` (every parameter that shapes it; not a report's key). Waits
  /// for the refresher only while it computes this result (ReportCache::Wait::kWhileComputing).
  Result<ReportCache::Answer> keptResult(const std::string& key, const ReportCache::Compute& compute) {
    return m_cache.get(key, m_reports, compute, std::nullopt, ReportCache::Wait::kWhileComputing);
  }
  /// Keeps the result of `compute` under `key` warm from the start (pinned: see pinReport).
  void pinResult(const std::string& key, ReportCache::Compute compute) { m_cache.pin(key, std::move(compute)); }
  Result<nlohmann::json> complaint(const std::string& complaintId);
  Result<nlohmann::json> fileComplaint(const ComplaintFiling& f, const std::string& actor);
  Result<nlohmann::json> updateComplaint(const std::string& complaintId, const ComplaintUpdate& u, const std::string& actor);

  // [SECTION] Follow-up visits (followups.hpp): its operations run on a connection given here

  /// Runs `fn(SqlConnection&)` on the writing connection, one request at a time.
  template <class F>
  auto onWriter(F&& fn) {
    std::lock_guard lock(m_writeMutex);
    return fn(m_writer.connection());
  }
  /// Runs `fn(SqlConnection&)` on the reading connection, one request at a time.
  template <class F>
  auto onReader(F&& fn) {
    std::lock_guard lock(m_readMutex);
    return fn(m_reader.connection());
  }

  /// Runs `fn(SqlConnection&)` on a free connection of the reports' own (waiting for one when
  /// all are busy with other reports).
  template <class F>
  auto onReports(F&& fn) {
    return m_reports.run(std::forward<F>(fn));
  }
  /// Runs `fn(HqStore&)` on the writing store (its change feed), one request at a time.
  template <class F>
  auto onWriterStore(F&& fn) {
    std::lock_guard lock(m_writeMutex);
    return fn(m_writer);
  }

  /// Each lane's uses and the time requests waited for it: "writer", "reader", "counter", "reports".
  std::vector<std::pair<const char*, LaneWaits>> laneWaits() {
    return {{"writer", m_writeMutex.waits()}, {"reader", m_readMutex.waits()}, {"counter", m_counterMutex.waits()},
            {"reports", m_reports.waits()}};
  }

  // [SECTION] Dashboard accounts, sessions and sign-in tickets

  /// An enabled account's password hash and grants, by name.
  std::optional<std::pair<std::string, DashboardAccount>> account(const std::string& name);
  /// A new session for the account whose password was checked against `passwordHash` (in the
  /// audit trail, same transaction); none if meanwhile the account was disabled, removed or set
  /// anew (another password, role or grant): such a change ends the name's sessions, and one
  /// opened after it from the older check would outlive it (credentials.hpp,
  /// holdDashboardName).
  std::optional<OpenedSession> openSession(const DashboardAccount& who, const std::string& passwordHash,
                                           std::chrono::seconds life);
  /// The open session of `secret` and its CSRF token.
  std::optional<std::pair<DashboardAccount, std::string>> session(const std::string& secret);
  void closeSession(const std::string& secret);
  /// A refused sign-in, in the audit trail: the name as typed (it may not exist), by address.
  void signInFailed(const std::string& user, const std::string& address, const char* why);
  /// A one-time sign-in ticket for `who`, valid until `expiresAt`, asked for with `issuer` (the
  /// bearer token or the session secret the request carried); none if that no longer signs
  /// `who` in as it did (revoked, expired, ended, or its role or grant changed) when the ticket
  /// is written (credentials.hpp, holdDashboardName).
  std::optional<std::string> issueTicket(const DashboardAccount& who, Timestamp expiresAt, const std::string& issuer);
  /// Uses up a ticket and opens a session for whom it signs in, if it is valid and unused and
  /// an enabled account or a token neither revoked nor expired still signs its name in as it
  /// does (role and grant). A ticket is written only while its issuer holds (issueTicket), and
  /// whatever ends the name's sessions ends its tickets too, holding the name as this does.
  std::optional<OpenedSession> signInWithTicket(const std::string& ticket, std::chrono::seconds life);

 private:
  TimedMutex m_writeMutex;  ///< one request at a time on m_writer
  HqStore m_writer;
  TimedMutex m_readMutex;  ///< one request at a time on m_reader
  HqStore m_reader;
  TimedMutex m_counterMutex;  ///< one request at a time on m_counter
  HqStore m_counter;
  ConnectionPool m_reports;  ///< where reports run (storage.reports_dsn, if set)
  ReportCache m_cache;
};

}  // namespace loyalty::hq
