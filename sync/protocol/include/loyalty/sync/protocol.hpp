#pragma once
/// @brief Wire types of the sync protocol (docs/sync-protocol.md, docs/sync-wire.md).
///
/// Plain values shared by the terminal's sync client and head office. The JSON codec that
/// validates them and names the bad field is in loyalty/sync/codec.hpp.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "loyalty/core/product.hpp"

namespace loyalty::sync {

/// Request limits of POST /api/v1/events (413 above them).
inline constexpr std::size_t kMaxEventsPerBatch = 1000;
inline constexpr std::size_t kMaxBodyBytes = 8 * 1024 * 1024;  ///< decompressed
/// Deepest nesting of arrays and objects in any JSON text either side parses (requests,
/// responses, stored payloads, exec lines): parsing, dumping and freeing JSON recurse.
inline constexpr std::size_t kMaxJsonDepth = 64;
/// Largest answer a terminal reads from head office (change pages carry the catalogue and rules).
inline constexpr std::size_t kMaxResponseBytes = 64 * 1024 * 1024;
/// GET /api/v1/changes `limit`: 1..kMaxChangeLimit, default kDefaultChangeLimit.
inline constexpr int kMaxChangeLimit = 1000;
inline constexpr int kDefaultChangeLimit = 500;
/// Longest id (event, member, terminal, store, redemption) accepted on the wire.
inline constexpr std::size_t kMaxIdLength = 128;
/// Largest points figure one event may carry either way (earned, redeemed, reversed, adjusted):
/// the terminal's own limit per operation. Money fields are bounded by kMaxAbsMinor.
inline constexpr std::int64_t kMaxEventPoints = 1'000'000'000;
/// Most per-dimension scores one survey answer may carry (survey.answered `dimensions`).
inline constexpr std::size_t kMaxSurveyDimensions = 16;

// [SECTION] Upload: POST /api/v1/events

/// One event of a terminal's outbox. `payload` is kept as JSON: unknown types are stored as
/// they came; known types are decoded with the payload decoders of codec.hpp.
struct EventEnvelope {
  std::string eventId;
  std::int64_t seq = 0;
  std::string type;
  std::string at;  ///< RFC 3339, as the terminal wrote it
  nlohmann::json payload = nlohmann::json::object();

  bool operator==(const EventEnvelope&) const = default;
};

struct UploadRequest {
  std::string terminalId;
  std::vector<EventEnvelope> events;

  bool operator==(const UploadRequest&) const = default;
};

enum class EventStatus { kApplied, kDuplicate, kConflict, kRejected };

const char* toString(EventStatus status);

struct EventResult {
  std::string eventId;
  EventStatus status = EventStatus::kApplied;
  std::optional<std::string> reason;  ///< e.g. "gap" for kRejected

  bool operator==(const EventResult&) const = default;
};

/// Reason of a kRejected result whose seq leaves a gap: resend from acked_through + 1.
inline constexpr const char* kReasonGap = "gap";
/// Reasons of final rejections (docs/sync-wire.md "Rejections"): head office keeps the event for
/// review and acknowledges its seq; resending it answers the same.
inline constexpr const char* kReasonWrongStore = "wrong_store";    ///< store_id/terminal_id not the terminal's own
inline constexpr const char* kReasonAdjustment = "adjustment_refused";  ///< a points.adjusted no terminal makes
inline constexpr const char* kReasonErased = "erased";  ///< a member event for a member head office erased (kept without personal data)

struct UploadResponse {
  std::int64_t ackedThrough = 0;  ///< longest contiguous applied prefix of the terminal's seqs
  std::vector<EventResult> results;

  bool operator==(const UploadResponse&) const = default;
};

// [SECTION] Change feed: GET /api/v1/changes

struct MemberSnapshot {
  std::string memberId;
  std::string cardNo;
  std::string phone;  ///< E.164
  std::string name;
  std::optional<std::string> birthday;  ///< YYYY-MM-DD
  std::optional<std::string> language;
  bool consentMarketing = false;
  std::string enrolledAt;  ///< RFC 3339
  std::string enrolledStore;
  std::optional<std::string> referrerId;
  std::string lifetimeSpend = "0.00";  ///< decimal string

  bool operator==(const MemberSnapshot&) const = default;
};

struct MemberChange {
  MemberSnapshot member;
  std::int64_t balance = 0;  ///< signed: the ledger sum at HQ
  std::int64_t pointsDebt = 0;
  std::string tier;

  bool operator==(const MemberChange&) const = default;
};

struct MemberMergedChange {
  std::string from;
  std::string into;

  bool operator==(const MemberMergedChange&) const = default;
};

/// Head office erased the member's personal data (docs/sync-protocol.md, "personal data
/// rights"): a terminal drops their name, phone, birthday and card, keeping sales and ledger rows
/// under the id.
struct MemberErasedChange {
  std::string memberId;

  bool operator==(const MemberErasedChange&) const = default;
};

struct Reward {
  std::string rewardId;
  std::string name;
  std::int64_t points = 0;
  bool active = true;

  bool operator==(const Reward&) const = default;
};

/// The whole catalogue.
struct CatalogChange {
  std::vector<Reward> rewards;

  bool operator==(const CatalogChange&) const = default;
};

/// A product of head office's catalogue, added or replaced at every terminal (docs/sync-protocol.md,
/// "products"): `{"type": "product", "sku", "name", "price", "barcode"?, "category"?}`, checked
/// with core's checkProduct when read.
struct ProductChange {
  Product product;

  bool operator==(const ProductChange&) const = default;
};

/// The [loyalty], [[tier]], [[promotion]] and [stacking] sections as TOML text.
struct ConfigChange {
  std::int64_t version = 0;
  std::string toml;

  bool operator==(const ConfigChange&) const = default;
};

/// A change of a type this program does not know (a newer HQ): kept, so a client can skip it.
struct UnknownChange {
  std::string type;
  nlohmann::json raw;

  bool operator==(const UnknownChange&) const = default;
};

using Change =
    std::variant<MemberChange, MemberMergedChange, MemberErasedChange, CatalogChange, ProductChange, ConfigChange,
                 UnknownChange>;

struct ChangePage {
  std::vector<Change> changes;
  std::string nextCursor;
  bool hasMore = false;
  /// Highest seq of the requesting terminal HQ had applied when it built the page.
  std::int64_t appliedThrough = 0;

  bool operator==(const ChangePage&) const = default;
};

// [SECTION] Online redemption: POST /api/v1/redemptions

struct RedemptionRequest {
  std::string redemptionId;
  std::string memberId;
  std::int64_t points = 0;
  /// The terminal's highest event seq when it recorded this attempt. Present: the attempt ends in
  /// exactly one later event of the terminal (the redemption or sale with this id, or
  /// points.redemption_released), and head office holds the reservation until that event, not
  /// for a time. Absent (older terminals): the reservation expires after reservation_minutes.
  std::optional<std::int64_t> afterSeq;

  bool operator==(const RedemptionRequest&) const = default;
};

inline constexpr const char* kRedemptionReserved = "reserved";
/// DELETE /api/v1/redemptions/{redemption_id} answers {"redemption_id", "status": "released"}.
inline constexpr const char* kRedemptionReleased = "released";

struct RedemptionResponse {
  std::string redemptionId;
  std::string status = kRedemptionReserved;
  std::int64_t balance = 0;  ///< available after this reservation

  bool operator==(const RedemptionResponse&) const = default;
};

// [SECTION] Registration: POST /api/v1/register

struct RegisterRequest {
  std::string code;

  bool operator==(const RegisterRequest&) const = default;
};

struct RegisterResponse {
  std::string storeId;
  std::string terminalId;
  std::string timezone;
  std::string token;
  std::string serverTime;  ///< RFC 3339

  bool operator==(const RegisterResponse&) const = default;
};

// [SECTION] Admin

struct MergeRequest {
  std::string from;
  std::string into;

  bool operator==(const MergeRequest&) const = default;
};

// [SECTION] Problems (RFC 9457, application/problem+json)

namespace problem {
inline constexpr const char* kBadRequest = "bad_request";
inline constexpr const char* kUnauthenticated = "unauthenticated";
inline constexpr const char* kForbidden = "forbidden";
inline constexpr const char* kConflict = "conflict";
inline constexpr const char* kTooLarge = "too_large";
inline constexpr const char* kInsufficientPoints = "insufficient_points";
inline constexpr const char* kUnavailable = "unavailable";
inline constexpr const char* kNotFound = "not_found";
inline constexpr const char* kTooManyRequests = "too_many_requests";  ///< 429, with Retry-After
inline constexpr const char* kGone = "gone";  ///< 410: a member whose personal data was erased
}  // namespace problem

inline constexpr const char* kProblemTypePrefix = "https://loyalty.invalid/problems/";
inline constexpr const char* kProblemContentType = "application/problem+json";

struct Problem {
  std::string type;  ///< kProblemTypePrefix + code
  std::string title;
  int status = 0;
  std::string detail;

  /// The code after the prefix ("insufficient_points"), or the whole type if foreign.
  std::string code() const;
  static Problem make(const char* code, int status, std::string detail);

  bool operator==(const Problem&) const = default;
};

}  // namespace loyalty::sync
