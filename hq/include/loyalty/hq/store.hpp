#pragma once
/// @brief Head office's storage and rules: credentials, idempotent ingest, authoritative
/// balances and tiers, change feed, online redemptions, merges and reports.
///
/// Written once over SqlConnection, so SQLite and PostgreSQL behave the same. Every public
/// operation is one transaction. Not thread-safe: one HqStore per thread (or behind a mutex).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "loyalty/core/money.hpp"
#include "loyalty/core/product.hpp"
#include "loyalty/core/result.hpp"
#include "loyalty/core/time.hpp"
#include "loyalty/sync/payloads.hpp"
#include "loyalty/sync/protocol.hpp"
#include "loyalty/hq/local_time.hpp"
#include "loyalty/hq/sql.hpp"
#include "loyalty/hq/tiers.hpp"

namespace loyalty::hq {

/// Error codes beyond loyalty::errc that the HTTP layer maps to statuses.
namespace hqerr {
inline constexpr const char* kUnauthenticated = "unauthenticated";
/// The member's personal data was erased (410).
inline constexpr const char* kGone = "gone";
}

using Ok = std::monostate;

/// An id as head office accepts one (member, store, terminal, complaint, redemption): 1 to
/// sync::kMaxIdLength bytes, no space and no control character.
bool validId(const std::string& s);

/// A terminal asks head office for points just before the redemption it records at once: a
/// reservation that long unsettled was abandoned (hq.toml [redemptions] reservation_minutes).
inline constexpr std::chrono::seconds kDefaultReservationLife = std::chrono::minutes(10);
/// A terminal that sends after_seq settles or releases its reservation through its ordered events:
/// it is held until then, or this long without news (hq.toml [redemptions] hold_days).
inline constexpr std::chrono::seconds kDefaultReservationHold = std::chrono::hours(24 * 14);

/// How long reservations count against a balance.
struct ReservationPolicy {
  std::chrono::seconds life = kDefaultReservationLife;  ///< a request without after_seq
  std::chrono::seconds hold = kDefaultReservationHold;  ///< a request with after_seq, until its event
};

enum class Role { kTerminal, kAdmin, kAnalyst };

/// Who a bearer token belongs to.
struct Principal {
  Role role = Role::kTerminal;
  std::string terminalId;  ///< kTerminal only
  std::string name;
  bool pii = false;  ///< an analyst granted full phones and birthdays (admins always see them)
};

/// Counters for /metrics, read in one snapshot.
struct StoreStats {
  std::int64_t members = 0;
  std::int64_t events = 0;
  std::int64_t unknownEvents = 0;
  std::int64_t conflicts = 0;
  std::int64_t terminals = 0;
  std::int64_t overdrafts = 0;
  std::int64_t rejectedEvents = 0;  ///< refused for good and kept for review (claims.hpp)
};

/// Inclusive local-day range of a report; absent ends mean all time.
struct DayRange {
  std::string from = "0000-01-01";
  std::string to = "9999-12-31";
};

struct IngestWrites;

class HqStore {
 public:
  explicit HqStore(std::unique_ptr<SqlConnection> connection);
  HqStore(HqStore&&) noexcept;
  HqStore& operator=(HqStore&&) noexcept;
  ~HqStore();

  /// Creates the schema; refuses (runtime_error) a database that already has one.
  void createSchema(Timestamp now);
  /// Checks the schema exists and is a version this program knows.
  void checkSchema();
  std::string_view backend() const { return m_c->backend(); }
  SqlConnection& connection() { return *m_c; }

  // [SECTION] Credentials (CLI; `actor` names who did it in the audit trail, audit.hpp)
  /// Creates or re-provisions a terminal; returns its one-time registration code (24 h).
  Result<std::string> addTerminal(const std::string& storeId, const std::string& terminalId,
                                  const std::string& timezone, Timestamp now, const std::string& actor);
  Result<Ok> revokeTerminal(const std::string& terminalId, Timestamp now, const std::string& actor);
  /// A new admin/analyst bearer token valid for `life` (only its hash is kept; its public id,
  /// credentials.hpp, names it in lists and audit entries); `pii`: see Principal::pii.
  std::string createApiToken(Role role, const std::string& name, Timestamp now, std::chrono::seconds life,
                             const std::string& actor, bool pii = false);

  // [SECTION] API
  Result<sync::RegisterResponse> registerTerminal(const std::string& code, Timestamp now);
  /// Who holds `token`; unauthenticated (saying why: unknown, revoked, expired) otherwise.
  Result<Principal> authenticateToken(const std::string& token, Timestamp now);
  /// Applies a batch in one transaction. The caller checked that the principal owns it.
  Result<sync::UploadResponse> ingest(const sync::UploadRequest& request, Timestamp now);
  Result<sync::ChangePage> changes(const std::string& terminalId, const std::string& cursor, int limit);
  /// Reserves points for an online redemption until its points.redeemed event settles it, it is
  /// released, or it expires (ReservationPolicy). With after_seq, the terminal's later event
  /// settles or releases it; a request older than events of the terminal head office already
  /// applied is refused (conflict, field after_seq): its attempt is over.
  Result<sync::RedemptionResponse> reserve(const std::string& terminalId, const sync::RedemptionRequest& r,
                                           Timestamp now);
  /// Gives back a reservation `terminalId` made and will not use; releasing what is not held
  /// (or no longer) is a success too. Another terminal's: forbidden; a settled one: conflict.
  /// With `afterSeq` (the attempt's), a later attempt's reservation under the same id is kept.
  Result<Ok> release(const std::string& terminalId, const std::string& redemptionId,
                     std::optional<std::int64_t> afterSeq, Timestamp now);
  /// An administrator gives back a reservation that is still held (a terminal that will not
  /// come back), audited with the reason; nothing held: not_found.
  Result<nlohmann::json> releaseByAdmin(const std::string& redemptionId, const std::string& reason, Timestamp now,
                                        const std::string& actor);
  /// A page of the reservations held now, oldest first: {"reservations": [{redemption_id,
  /// terminal_id, member_id, points, created_at, expires_at, hold_until?, after_seq?}], "total"
  /// (all held now), "page"}. The default page: all of them.
  nlohmann::json heldReservations(Timestamp now, const RowPage& page = {});
  void setReservationPolicy(ReservationPolicy p) { m_reservations = p; }
  Result<Ok> merge(const std::string& from, const std::string& into, Timestamp now);
  Result<Ok> publishCatalog(const std::vector<sync::Reward>& rewards);
  /// Adds or replaces head office's products (readProductList, products.hpp) and sends each to
  /// every terminal in the change feed, with its audit entry, in one transaction. A barcode
  /// another product had moves to the product given. Returns how many were stored.
  Result<std::int64_t> publishProducts(const std::vector<Product>& products, const std::string& actor, Timestamp now);
  /// Publishes programme rules for every terminal, with its audit entry; returns the new
  /// version. A text a terminal's reader would refuse is refused (checkProgrammeText).
  Result<std::int64_t> publishConfig(const std::string& toml, const std::string& actor);

  // [SECTION] Personal data (privacy.cpp; loyalty/hq/privacy.hpp)
  struct Erasure {
    std::string memberId;
    std::string erasedAt;                  ///< RFC 3339; the first erasure's on a repeat
    std::vector<std::string> records;      ///< the member and the records merged into them
  };
  /// Erases the member's name, phone, birthday and card everywhere head office keeps them, in
  /// one transaction with its audit entry (`actor`, `reason`), and publishes member.erased for
  /// every record of the person. Idempotent.
  Result<Erasure> eraseMember(const std::string& memberId, const std::string& reason, const std::string& actor,
                              Timestamp now);

  // [SECTION] Head-office points adjustments (member 360 and complaint compensation; members.hpp)
  struct PointsAdjustment {
    std::string memberId;
    std::int64_t points = 0;                 ///< credited (> 0) or debited (< 0); never 0
    std::string reason;                      ///< why, shown on the member's points history
    std::optional<std::string> adjustmentId; ///< the caller's idempotency key; one is made when absent
    std::optional<std::string> complaintId;  ///< goodwill for this complaint (the member must be its customer)
  };
  /// The one way head office changes a balance by hand: a ledger entry (kind `adjust`) in the
  /// member's home-store day, the adjustment row with reason and actor, the audit entry and a
  /// fresh member snapshot in the change feed (terminals reconcile to it), in one transaction.
  /// Refused: not_found (member, complaint), gone (erased), insufficient_points (the balance
  /// would go below zero), conflict (the adjustment id was used for something else, or the
  /// complaint is another member's). The same adjustment id again answers the first result.
  /// {"adjustment_id", "member_id", "points", "balance", "reason", "complaint_id", "actor", "at"}.
  Result<nlohmann::json> adjustPoints(const PointsAdjustment& a, const std::string& actor, Timestamp now);
  // [SECTION] Outreach (outreach.cpp; loyalty/hq/outreach.hpp)
  /// Records that the members withdrew their marketing consent (an opt-out link or reply: the
  /// consent history's `source`), audited, in one transaction; the change reaches terminals in
  /// the change feed. Members without consent are skipped. Returns how many changed.
  Result<std::int64_t> withdrawConsent(const std::vector<std::string>& memberIds, const std::string& source,
                                       const std::string& actor, Timestamp now);

  // [SECTION] Tiers (tiers.cpp; loyalty/hq/tiers.hpp)
  /// `loyalty-hq housekeeping`: the monthly downgrade review of every member due at `now` in
  /// their home store's local day. Downgrades reach terminals in the change feed and are audited.
  TierReviewRun reviewTiers(Timestamp now, const std::string& actor);

  // [SECTION] Reads (reports: loyalty/hq/analytics.hpp)
  Result<nlohmann::json> member(const std::string& memberId);
  StoreStats stats();

  /// Test and benchmark support: inserts `n` rows into a scratch table in batches of
  /// `batch` per transaction, the backend's raw batched-insert rate to compare ingest with.
  void rawInsertProbe(std::int64_t n, std::int64_t batch);

 private:
  struct Batch;
  Result<Ok> applyEvent(Batch& b, const sync::EventEnvelope& e, Timestamp at);
  /// Keeps an event refused for good (claims.hpp) for review, with its audit entry.
  void refuse(Batch& b, const sync::EventEnvelope& e, const std::string& fingerprint, const Error& why);
  std::string resolveMember(const std::string& memberId);
  /// The member an event names, after merges, with a stub row if head office has not seen them yet.
  std::string knownMember(const std::string& memberId, const std::string& storeId, const std::string& at);
  /// A ledger entry and the balance it moves; returns the balance after it for a redemption
  /// ("redeem", which may run into points debt), nothing for other kinds.
  std::optional<std::int64_t> addPoints(Batch& b, const std::string& memberId, const std::string& eventId, const char* kind,
                                        std::int64_t points, const std::string& at);
  /// The monthly tier review of the member, if due on the local day of `at` (the batch's zone).
  void reviewTierAt(Batch& b, const std::string& memberId, Timestamp at);
  /// The upgrade a sale of `total` may bring the member, over the local days of the batch's zone.
  void raiseTierAt(Batch& b, const std::string& memberId, Money total, Timestamp at);
  /// What ingest's rules read of members (rows, visit days, month sales), read once for `ids`.
  void loadMembers(Batch& b, const std::vector<std::string>& ids);
  /// Ingest's writes of a sale, a refund, and a new member's enrolment (held in the batch).
  void applySale(Batch& b, const sync::EventEnvelope& e, const sync::SaleRecorded& p, Timestamp atTime);
  void applyRefund(Batch& b, const sync::EventEnvelope& e, const sync::SaleRefunded& p, Timestamp atTime);
  void enrolNew(Batch& b, const sync::EventEnvelope& e, const sync::MemberEnrolled& p);
  std::int64_t nextChangeNumbers(std::int64_t count);
  void bumpMembers(const std::vector<std::string>& memberIds);

  std::unique_ptr<SqlConnection> m_c;
  ZoneCache m_zones;  ///< terminals' zones by name, for store-local days
  PublishedProgramme m_programme;  ///< the tiers ingest and reviews apply
  ReservationPolicy m_reservations;
  Batch* m_batch = nullptr;  ///< the ingest under way (its per-batch lookups), if any
  /// What a batch writes, held until it is flushed; kept across batches with its statement texts.
  std::unique_ptr<IngestWrites> m_writes;
};

}  // namespace loyalty::hq
