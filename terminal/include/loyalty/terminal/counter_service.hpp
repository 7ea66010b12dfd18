#pragma once
/// @brief The Counter service: every counter operation, each one SQLite transaction.

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "loyalty/core/money.hpp"
#include "loyalty/core/result.hpp"
#include "loyalty/core/rules.hpp"
#include "loyalty/core/time.hpp"
#include "loyalty/core/zone.hpp"
#include "loyalty/db/database.hpp"
#include "loyalty/core/planners.hpp"
#include "loyalty/sync/payloads.hpp"
#include "loyalty/terminal/integrity_repository.hpp"
#include "loyalty/terminal/ledger_repository.hpp"
#include "loyalty/terminal/member_repository.hpp"
#include "loyalty/terminal/outbox_repository.hpp"
#include "loyalty/terminal/product_repository.hpp"
#include "loyalty/terminal/reward_repository.hpp"
#include "loyalty/terminal/sale_repository.hpp"
#include "loyalty/terminal/survey_settings.hpp"

namespace loyalty::terminal {

/// Random identifiers, injected so tests can make them deterministic.
class IdSource {
 public:
  virtual ~IdSource() = default;
  /// A unique UUID, lower-case.
  virtual std::string uuid() = 0;
  virtual std::uint64_t random64() = 0;
};

/// IdSource backed by a generator seeded from std::random_device (or a fixed seed).
///
/// uuid() makes time-ordered UUIDs (version 7, RFC 9562): the first 48 bits are the Unix time in
/// milliseconds, then a 12-bit counter that orders the ids of one millisecond (started at a
/// random value below 2,048), then 62 random bits. Head office keys its events, sales and
/// members by these ids, and an id later than the last one lands at the end of each index
/// instead of on a random page of it: random (version 4) ids made a head office on SQLite ingest
/// three times slower at 200,000 events (bench/results/hq.json, ingest_event_id_order_r13).
/// The ids of one RandomIds never go backwards, even if the clock does. A seeded RandomIds
/// (tests) starts its clock at 2026-01-01T00:00:00Z and advances it only when a millisecond's
/// counter runs out, so its ids are the same on every run.
class RandomIds final : public IdSource {
 public:
  RandomIds();
  explicit RandomIds(std::uint64_t seed) : m_gen(seed), m_fixedClock(true) {}
  std::string uuid() override;
  std::uint64_t random64() override { return m_gen(); }

 private:
  static constexpr std::uint64_t kSeededStartMs = 1'767'225'600'000ULL;  // 2026-01-01T00:00:00Z
  std::mt19937_64 m_gen;
  bool m_fixedClock = false;    ///< seeded: the clock reads kSeededStartMs
  std::uint64_t m_lastMs = 0;   ///< the last id's millisecond (0: none made yet)
  std::uint32_t m_counter = 0;  ///< 12 bits: the order of the ids made in m_lastMs
};

/// The store a terminal serves ([store] of docs/configuration.md).
struct StoreSettings {
  std::string id = "S001";
  std::string language = "zh-CN";
  std::string currency = "CNY";
  std::string phoneRegion = "CN";
  std::string timezone = "UTC";
};

/// What the service needs to know about its store, itself and the programme.
struct CounterConfig {
  StoreSettings store;
  std::string terminalId = "T1";
  std::string consentTextVersion = "2026-01";
  ProgrammeRules rules;
  ZoneRules zone;  ///< the store's time zone ([store] timezone): local days for day-based rules
  SurveySettings survey;  ///< what the customer display asks ([survey])
};

/// Head office's answer when asked to reserve points for a redemption (sync-protocol.md).
enum class Authorisation { approved, refused, unreachable };

/// Online authorisation of redemptions, given to the service by the sync engine when the
/// terminal is registered. `authorise` must return within a short timeout (a few seconds): no
/// answer is `unreachable`, and the offline allowance applies.
class RedemptionAuthoriser {
 public:
  virtual ~RedemptionAuthoriser() = default;
  /// `afterSeq`: the terminal's highest event seq when it recorded the attempt (sync-protocol:
  /// head office then holds the reservation until the attempt's event settles or releases it).
  virtual Authorisation authorise(const std::string& redemptionId, const std::string& memberId, std::int64_t points,
                                  std::int64_t afterSeq) = 0;
  /// Gives back at once an approved reservation the terminal will not use (the redemption was
  /// refused after all). Best effort, within the same short timeout; never throws: the attempt's
  /// points.redemption_released event releases it for sure when it is uploaded.
  virtual void release(const std::string& redemptionId, std::int64_t afterSeq) = 0;
};

// [SECTION] Requests. Money and phones arrive as the text people typed; the service validates.

struct EnrollRequest {
  std::string phone;
  std::string name;
  std::optional<std::string> birthday;
  bool consentMarketing = false;
  std::optional<std::string> referrer;
  std::optional<std::string> cardNo;
  std::optional<std::string> language;
  Timestamp at;
  std::optional<std::string> staffId = std::nullopt;  ///< the signed-in staff member (checkStaffId)
};

/// A change of a member's details: only what is given changes (at least one field).
struct MemberUpdateRequest {
  std::string member;
  std::optional<std::string> name;
  std::optional<std::string> phone;
  /// Absent: unchanged; an empty inner optional (JSON null): cleared; else YYYY-MM-DD.
  std::optional<std::optional<std::string>> birthday;
  std::optional<std::string> language;
  Timestamp at;
  std::optional<std::string> staffId = std::nullopt;
};

/// A consent decision at the counter (given or withdrawn).
struct ConsentRequest {
  std::string member;
  bool consentMarketing = false;
  std::optional<std::string> consentVersion;  ///< default: the store's consent text version
  Timestamp at;
  std::optional<std::string> staffId = std::nullopt;
};

struct LookupRequest {
  std::string query;
  int limit = 20;
};

struct SaleLineInput {
  std::string sku;  ///< may be empty when `barcode` names the catalogue product
  std::optional<std::string> description;  ///< default: the catalogue product's name
  std::int64_t qty = 0;
  std::string unitPrice;  ///< empty: the catalogue's price of the product
  std::optional<std::string> category = std::nullopt;  ///< for promotions by category; default: the product's
  std::optional<std::string> barcode = std::nullopt;   ///< instead of sku: the product with this barcode
};

struct SaleRequest {
  std::string saleId;
  std::optional<std::string> member;
  std::vector<SaleLineInput> lines;
  std::int64_t redeemPoints = 0;
  Timestamp at;
  std::optional<std::string> staffId = std::nullopt;
  /// Needed when redeemPoints is above supervisor_pin_above_points (the rule of redeem).
  std::optional<std::string> supervisorPin = std::nullopt;
};

/// A store's own product (product_put): the fields as typed.
struct ProductRequest {
  ProductFields fields;
  Timestamp at;
};

struct RedeemRequest {
  std::string redemptionId;
  std::string member;
  std::optional<std::int64_t> points;
  std::optional<std::string> reward;
  std::optional<std::string> supervisorPin;
  Timestamp at;
  std::optional<std::string> staffId = std::nullopt;
};

struct RefundLineInput {
  std::string sku;
  std::int64_t qty = 0;
};

struct RefundRequest {
  std::string refundId;
  std::string saleId;
  std::optional<std::vector<RefundLineInput>> lines;  ///< nullopt: everything not yet refunded
  Timestamp at;
  std::optional<std::string> staffId = std::nullopt;
  /// Needed when the money paid back is above `refund_supervisor_above` (checkRefundSupervisor).
  std::optional<std::string> supervisorPin = std::nullopt;
};

/// What a refund would do, asked before it is made (nothing is written).
struct RefundPreviewRequest {
  std::string saleId;
  std::optional<std::vector<RefundLineInput>> lines;  ///< nullopt: everything not yet refunded
  Timestamp at;
};

/// Returned goods and a new sale in one step: one transaction, one idempotency key. The refund is
/// recorded under refund_id = exchange_id and the new sale under sale_id = exchange_id, for the
/// original sale's member; the events are a refund and a sale.
struct ExchangeRequest {
  std::string exchangeId;
  std::string saleId;                       ///< the original sale (the receipt)
  std::vector<RefundLineInput> returnLines; ///< what comes back
  std::vector<SaleLineInput> newLines;      ///< what goes out instead
  std::optional<std::string> supervisorPin;
  Timestamp at;
  std::optional<std::string> staffId = std::nullopt;
};

/// A refund request's lines as checked (nullopt: everything not yet refunded), with the
/// fingerprint of its content (idempotency).
struct CheckedRefund {
  std::optional<std::vector<RefundWanted>> wanted;
  std::string fingerprint;
};

// [SECTION] Results (shapes of docs/exec-cli.md).

struct MemberView {
  std::string memberId;
  std::string cardNo;
  std::string name;
  std::string phone;        ///< E.164, for the service's own callers; exec shows phoneMasked
  std::string phoneMasked;
  std::string tier;
  std::int64_t points = 0;
  std::int64_t pointsDebt = 0;
  Money lifetimeSpend;
  std::string enrolledAt;
  std::optional<std::string> birthday;
  bool consentMarketing = false;
  std::optional<std::string> language;
  std::optional<std::string> lastVisitAt;
};

/// Everything this terminal holds on a member (export_member): the member with their full phone
/// number, every consent decision, what was done with their details, and how many sales and ledger
/// entries it keeps under their id.
struct MemberExport {
  MemberView member;
  std::vector<ConsentDecision> consents;
  std::vector<MemberLogEntry> log;
  std::int64_t sales = 0;
  std::int64_t ledgerEntries = 0;
};

struct Greeting {
  std::string kind;
  std::string text;
};

struct MemberDetail {
  MemberView member;
  std::vector<Greeting> greetings;
};

struct AppliedPromotion {
  std::string id;
  std::string kind;
  std::string effect;
};

struct SaleResult {
  std::string saleId;
  Money subtotal;
  Money discount;
  Money total;
  std::int64_t pointsEarned = 0;
  std::int64_t pointsRedeemed = 0;
  std::optional<std::int64_t> balance;  ///< absent for a sale without member
  std::vector<AppliedPromotion> promotions;
  std::optional<std::string> tier;
  bool tierChanged = false;
};

/// A sale line as quoteSale priced it.
struct QuotedLine {
  std::string sku;
  std::string description;  ///< as given, else the catalogue product's name
  std::int64_t qty = 0;
  std::string unitPrice;    ///< the price per unit before the member's discount ("12.50")
  Money amount;             ///< qty × unit price
  Money memberDiscount;     ///< member price (member_discount promotions) off this line
};

/// A sale priced exactly as `sale` would price it, nothing written (quoteSale).
struct SaleQuote {
  std::vector<QuotedLine> lines;
  Money subtotal;
  Money discount;             ///< promotions and the points paid with
  Money total;                ///< left to pay
  std::int64_t pointsEarned = 0;
  std::int64_t pointsRedeemed = 0;
  Money pointsValue;          ///< what the points paid with are worth
  std::vector<AppliedPromotion> promotions;
  std::vector<std::string> gifts;  ///< 满赠 gift SKUs the sale gives
  std::optional<std::int64_t> balance;  ///< the member's balance before the sale
  std::int64_t maxRedeemPoints = 0;     ///< the most points the member may pay this sale with
  bool supervisorNeeded = false;        ///< the points paid with need a supervisor's PIN
  /// Why the points asked for cannot pay (too many, more than the sale): the lines are priced
  /// without them.
  std::optional<Error> pointsRefused;
};

struct RedeemResult {
  std::string redemptionId;
  std::int64_t points = 0;
  std::int64_t balance = 0;
};

struct RefundResult {
  std::string refundId;
  Money amount;
  std::int64_t pointsReversed = 0;
  std::optional<std::int64_t> balance;
  Money clawback;                           ///< 满减 benefit taken back because the threshold broke
  std::vector<std::string> giftsToReturn;   ///< 满赠 gifts whose threshold the refund broke
};

/// A line of a sale as a refund preview shows it.
struct RefundPreviewLine {
  std::int64_t lineNo = 0;
  std::string sku;
  std::optional<std::string> description;
  std::int64_t qty = 0;          ///< bought
  std::string unitPrice;         ///< as on the receipt ("12.5000")
  Money amount;                  ///< the line's amount as sold
  std::int64_t refundedQty = 0;  ///< already refunded
  std::int64_t refundable = 0;   ///< still refundable (0 for gifts and returned goods)
  bool gift = false;             ///< a 满赠 gift (never refunded; maybe to give back)
};

/// previewRefund's answer: the sale's lines and member, and what refunding the asked lines would
/// pay back and take back. `amount` etc. are zero when nothing is asked (`lines` empty).
struct RefundPreview {
  std::string saleId;
  std::optional<MemberView> member;
  Money saleTotal;
  Money refundedAmount;                     ///< already paid back on earlier refunds
  std::vector<RefundPreviewLine> lines;
  Money amount;
  std::int64_t pointsReversed = 0;
  std::int64_t pointsReturned = 0;          ///< points paid with that come back
  Money clawback;
  std::vector<std::string> giftsToReturn;
  bool supervisorRequired = false;          ///< the refund needs a supervisor's PIN
};

struct ExchangeResult {
  std::string exchangeId;
  RefundResult refund;
  SaleResult sale;
  Money difference;  ///< sale total − refund amount: > 0 the customer pays, < 0 is given back
};

/// What a housekeeping run did (expiry of due lots, monthly tier reviews).
struct HousekeepingResult {
  std::int64_t expiredEntries = 0;
  std::int64_t pointsExpired = 0;
  std::int64_t membersReviewed = 0;
  std::int64_t membersDowngraded = 0;
};

struct HistoryEntry {
  std::string at;
  std::string kind;
  std::int64_t points = 0;
  std::optional<std::string> saleId;
  std::int64_t balanceAfter = 0;
};

struct Stats {
  std::int64_t members = 0;
  std::int64_t sales = 0;
  std::int64_t ledgerEntries = 0;
  std::int64_t outboxPending = 0;
};

/// What `verify` proves about the store; `problems` is empty when all holds.
struct VerifyReport {
  std::int64_t membersChecked = 0;
  std::int64_t outboxEvents = 0;
  std::vector<std::string> problems;
};

/// The counter's operations. One call = one SQLite transaction writing the business rows, the
/// ledger entries and the outbox event together (or nothing, on any refusal or failure).
/// Each operation checks its input, loads state through the repositories, asks a core planner
/// (loyalty/core/planners.hpp) what to do and writes the plan through the repositories; it runs
/// no SQL itself. PINs (argon2) are checked before the write transaction begins.
/// Not thread-safe: one service per connection, owned by one thread.
class CounterService {
 public:
  CounterService(db::Database& db, CounterConfig config, IdSource& ids);

  Result<MemberView> enroll(const EnrollRequest& request);
  Result<std::vector<MemberView>> lookup(const LookupRequest& request);
  Result<MemberDetail> member(const std::string& reference, Timestamp at);
  /// Changes the given details; a phone another member has is already_exists. Writes a
  /// member.updated event with the fields that changed (none changed: no event).
  Result<MemberView> updateMember(const MemberUpdateRequest& request);
  /// Records a consent decision (history row, member.updated with consent_marketing and
  /// consent_version).
  Result<MemberView> consent(const ConsentRequest& request);
  /// The data-subject export; logged (action "export") with `staffId` when given.
  Result<MemberExport> exportMember(const std::string& reference, const std::optional<std::string>& staffId,
                                    Timestamp at);
  /// The member's consent decisions recorded here, oldest first (read only, not logged: the
  /// counter shows them beside the consent text).
  Result<std::vector<ConsentDecision>> consentHistory(const std::string& reference);
  Result<SaleResult> sale(const SaleRequest& request);
  /// Prices `request` as sale() would (catalogue, member prices, promotions, points paid and
  /// earned) and writes nothing; sale_id, staff_id and the PIN are not looked at. Expiry and tier
  /// reviews that sale() would settle first are not applied.
  Result<SaleQuote> quoteSale(const SaleRequest& request);
  Result<RedeemResult> redeem(const RedeemRequest& request);
  Result<RefundResult> refund(const RefundRequest& request);
  /// What refund(request) would do, without writing anything (counter_refunds.cpp).
  Result<RefundPreview> previewRefund(const RefundPreviewRequest& request);
  /// Returned lines and a new sale in one transaction (ExchangeRequest).
  Result<ExchangeResult> exchange(const ExchangeRequest& request);
  Result<std::vector<HistoryEntry>> history(const std::string& reference, int limit);
  Stats stats();
  /// Proves every cached balance equals its ledger sum, spend equals sales minus refunds, and
  /// the outbox sequence is contiguous.
  VerifyReport verify();

  /// Adds or replaces one of the store's own products (docs/exec-cli.md, "products and pinyin").
  /// A barcode another product has is already_exists.
  Result<Product> putProduct(const ProductRequest& request);
  /// Catalogue products by barcode, sku, name, pinyin or initials, best first.
  Result<std::vector<Product>> products(const std::string& query, int limit);
  /// Head office's product from the change feed; inside the caller's transaction.
  void putHeadOfficeProduct(const Product& product, Timestamp at);

  /// Adds or replaces a catalogue reward (used by imports and head-office pushes).
  Status putReward(const std::string& rewardId, const std::string& name, std::int64_t points);

  /// The daily run: writes the expiry of every lot due by `at`'s local day and reviews the tiers
  /// of members not yet reviewed this month. Works in small transactions, so the counter is
  /// never held up for long.
  HousekeepingResult housekeeping(Timestamp at);

  /// Sets a member's balance to `target` (head office's view) with one 'adjust' ledger entry
  /// and no outbox event; lots follow. Runs inside the caller's transaction when there is one.
  Status reconcileBalance(const std::string& memberId, std::int64_t target, const std::string& refId,
                          Timestamp at);

  /// Puts back the points of an expiry head office refused (a clock that ran ahead expired them
  /// before their day): `eventId` is the refused points.adjusted event, which took `-points` of
  /// lot `lotRef` ("lot:N") from the member. One 'adjust' ledger entry (ref_id
  /// "refused:<eventId>", written once however often head office's answer comes) and the lot
  /// holding the points again, so that they expire on their own day. Inside the caller's
  /// transaction when there is one.
  void putBackRefusedExpiry(const std::string& eventId, const std::string& memberId, const std::string& lotRef,
                            std::int64_t points, Timestamp at);
  /// Stores how far this terminal's clock was ahead of head office's at its last answer (meta
  /// hq_clock_ahead_seconds; dueDay reads it). True when the stored reading changed and says the
  /// clock is ahead (then undoEarlyTierReviews is due).
  static bool noteClockAhead(db::Database& db, std::chrono::seconds ahead);
  /// A clock run ahead reviewed tiers before head office's month (before the terminal knew): each
  /// member reviewed after head office's month gets back the higher of its tier and head office's
  /// (hq_members), and counts as reviewed for head office's month. A review only ever lowers a
  /// tier, and head office's own review reaches the terminal by the change feed. Returns how many
  /// members changed. Inside the caller's transaction.
  std::size_t undoEarlyTierReviews(Timestamp now);

  /// Online authorisation for redemptions; nullptr (the default) = a stand-alone terminal.
  void setAuthoriser(RedemptionAuthoriser* authoriser) { m_authoriser = authoriser; }
  /// Ends the online authorisation attempts a crash or kill left open (asked of head office, never
  /// recorded): one points.redemption_released event each, so head office lets their points go.
  /// Called once when a program that serves the counter (exec, the app) starts; returns how many.
  std::int64_t releaseInterruptedAttempts(Timestamp now);

  const CounterConfig& config() const { return m_config; }

 private:
  using MemberRow = MemberRecord;
  /// The three keyed operations (sale_id, redemption_id, refund_id).
  enum class Keyed { kSale, kRedemption, kRefund };

  Result<MemberRow> resolveMember(const std::string& reference, const std::string& field);
  /// The member a reference names, before following head office's merges.
  Result<MemberRow> resolveReference(const std::string& reference, const std::string& field);
  std::optional<MemberRow> memberById(const std::string& memberId) { return m_members.byId(memberId); }
  MemberView view(const MemberRow& row) const { return view(MemberRow(row)); }
  /// Moves the row's text into the view (a lookup lists up to 200 members).
  MemberView view(MemberRow&& row) const;
  /// Writes a ledger entry and what it does to the member's lots; returns the balance after.
  std::int64_t post(const std::string& memberId, Timestamp at, const char* kind, std::int64_t points,
                    const std::optional<std::string>& saleId, const std::string& refId);
  /// post() for a member whose cached balance is `before`, leaving the cached balance to the
  /// caller (who writes the returned balance after, in the same transaction).
  std::int64_t postEntry(const std::string& memberId, std::int64_t before, Timestamp at, const char* kind,
                         std::int64_t points, const std::optional<std::string>& saleId, const std::string& refId);
  /// This store and terminal, as every event payload carries them.
  sync::PayloadOrigin origin() const { return {m_config.store.id, m_config.terminalId}; }
  /// nullopt: new key. A stored result: same content (replay). An Error: conflict.
  Result<std::optional<std::string>> checkIdempotency(Keyed op, const std::string& key, const std::string& fingerprint);
  std::optional<StoredAnswer> storedAnswer(Keyed op, const std::string& key);
  Status verifySupervisorPin(const std::optional<std::string>& pin, std::int64_t points);
  /// A refund paying back more than `refund_supervisor_above` needs a supervisor's PIN (argon2:
  /// before the write transaction).
  Status verifyRefundSupervisor(const std::optional<std::string>& pin, Money paidBack);
  /// The refund's plan as it would be now (inside the caller's read or write transaction).
  Result<RefundPlan> planRefundOf(const std::string& saleId, const std::optional<std::vector<RefundWanted>>& wanted);
  /// A refund before its write: a replay's stored answer, or the most the (checked) supervisor
  /// rule lets it pay back.
  struct RefundGate {
    std::optional<RefundResult> replay;
    Money allowed;
  };
  Result<RefundGate> gateRefund(const RefundRequest& r, const CheckedRefund& checked);
  /// Records a gated refund inside the caller's write transaction.
  Result<RefundResult> writeRefund(const RefundRequest& r, const CheckedRefund& checked, Money allowed);
  /// Writes what is due for the member at `at` (lot expiry, the monthly tier review) and
  /// refreshes `row`. Returns the number of expiry entries written. Inside a write transaction.
  std::int64_t settle(MemberRow& row, Timestamp at, HousekeepingResult* tally = nullptr);
  /// Whether settle would write anything (cheap; for read operations).
  bool needsSettle(const MemberRow& row, Date today);
  /// The store-local day by which points expire and tiers are reviewed at `at`: the clock's,
  /// unless head office last said this terminal's clock runs ahead of its own by more than a
  /// minute: then the day by head office's clock (a clock set wrong expires nothing early).
  Date dueDay(Timestamp at);
  /// Net spend (sales − refunds) of the member on the local days of `days`.
  Money spendBetween(const std::string& memberId, const DayWindow& days);
  std::size_t tierIndexOf(const MemberRow& row) const;
  /// The member as a sale's planner sees them.
  SaleMember saleMember(const MemberRow& row, Date today);
  /// Records a planned sale: its rows, the ledger, the member's figures and the events.
  SaleResult writeSale(const SaleRequest& r, const std::optional<MemberRow>& member, SalePlan& plan,
                       const std::string& fingerprint, const std::string& authorised);
  /// Asks head office (if any) and applies the offline allowance; records offline spending.
  /// "local" (no head office), "online" or "offline" (within the allowance, recorded), or why not.
  Result<std::string> authoriseSpend(const std::string& refId, const MemberRow& member, std::int64_t points,
                                     std::optional<Authorisation> answer, Timestamp at, const std::string& field);
  /// Head office asked to reserve points: its answer, and the attempt recorded before asking.
  struct Asked {
    std::optional<Authorisation> answer;  ///< nullopt: not asked
    std::string memberId;
    std::int64_t points = 0;
    std::int64_t afterSeq = 0;
  };
  /// Head office's answer for spending `points` of the member under `key`; the attempt is
  /// recorded (committed) first, so that it ends in an event whatever happens next.
  Asked askHeadOffice(Keyed op, const std::string& key, const std::string& reference, std::int64_t points, Timestamp at);
  /// Ends an attempt whose redemption was not recorded: a points.redemption_released event
  /// (unless head office refused, so holds nothing), and head office asked to let go at once.
  void abandonAttempt(const std::string& key, const Asked& asked, Timestamp at);
  void appendAdjustEvent(const std::string& memberId, const char* kind, std::int64_t points,
                         const std::string& refId, const std::string& reason, Timestamp at,
                         const std::optional<std::string>& referredMemberId = std::nullopt);
  std::vector<Greeting> greetings(const MemberRow& row, Timestamp at);

  db::Database& m_db;
  MemberRepository m_members;
  LedgerRepository m_ledger;
  SaleRepository m_sales;
  RewardRepository m_rewards;
  ProductRepository m_products;
  OutboxRepository m_outbox;
  IntegrityRepository m_integrity;
  CounterConfig m_config;
  IdSource& m_ids;
  RedemptionAuthoriser* m_authoriser = nullptr;
};

}  // namespace loyalty::terminal
