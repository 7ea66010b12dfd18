#pragma once
/// @brief JSON codec of the wire types: decoders validate and name the bad field.
///
/// Every decoder returns an Error with code "bad_request", the JSON path of the offending
/// field ("events[3].seq") and a sentence. Optional fields may be absent or null. Unknown
/// fields are ignored (extend, never break). Encoders write absent optionals as absent, except
/// the event payload fields terminals have always written as null when empty (member.enrolled's
/// birthday, language, consent_version and referrer_id; member_id of sale.recorded and
/// sale.refunded; a sale line's description; points.redeemed's reward_id).

#include <string_view>

#include <nlohmann/json.hpp>

#include "loyalty/core/result.hpp"
#include "loyalty/sync/payloads.hpp"
#include "loyalty/sync/protocol.hpp"

namespace loyalty::sync {

/// Parses a request/response body; invalid JSON (including invalid UTF-8), a text longer than
/// `maxBytes` or nesting arrays/objects deeper than kMaxJsonDepth is a bad_request naming the
/// limit. The size and depth are checked on the raw bytes before anything is parsed.
Result<nlohmann::json> parseJson(std::string_view body, std::size_t maxBytes = kMaxBodyBytes);

/// The size and depth checks of parseJson alone (for texts parsed by other means).
Status checkJsonLimits(std::string_view text, std::size_t maxBytes = kMaxBodyBytes);

/// Refuses the character U+0000 in any string or object key of `j`, naming the first one's path
/// under `path` ("payload.lines[0].description"). PostgreSQL can hold it neither in text nor in
/// JSON: stored in one event's payload, it would fail every JSON read of the events table.
Status refuseNulCharacters(const nlohmann::json& j, const std::string& path);

/// parseJson for a request head office stores from: also refuseNulCharacters on the whole body.
Result<nlohmann::json> parseRequestJson(std::string_view body, std::size_t maxBytes = kMaxBodyBytes);

// [SECTION] Decoders

Result<UploadRequest> decodeUploadRequest(const nlohmann::json& j);
/// The same, moving each event's payload out of `j` instead of copying it (a server's request
/// body, which nothing reads afterwards); `j` is left valid but without the payloads.
Result<UploadRequest> takeUploadRequest(nlohmann::json&& j);
Result<UploadResponse> decodeUploadResponse(const nlohmann::json& j);
Result<Change> decodeChange(const nlohmann::json& j);
Result<ChangePage> decodeChangePage(const nlohmann::json& j);
Result<RedemptionRequest> decodeRedemptionRequest(const nlohmann::json& j);
Result<RedemptionResponse> decodeRedemptionResponse(const nlohmann::json& j);
Result<RegisterRequest> decodeRegisterRequest(const nlohmann::json& j);
Result<RegisterResponse> decodeRegisterResponse(const nlohmann::json& j);
Result<MergeRequest> decodeMergeRequest(const nlohmann::json& j);
Result<Problem> decodeProblem(const nlohmann::json& j);

/// Payload decoders; `path` prefixes field names in errors (e.g. "events[2].payload").
Result<MemberEnrolled> decodeMemberEnrolled(const nlohmann::json& j, std::string_view path = "payload");
Result<MemberUpdated> decodeMemberUpdated(const nlohmann::json& j, std::string_view path = "payload");
Result<SaleRecorded> decodeSaleRecorded(const nlohmann::json& j, std::string_view path = "payload");
Result<PointsRedeemed> decodePointsRedeemed(const nlohmann::json& j, std::string_view path = "payload");
Result<SaleRefunded> decodeSaleRefunded(const nlohmann::json& j, std::string_view path = "payload");
Result<PointsAdjusted> decodePointsAdjusted(const nlohmann::json& j, std::string_view path = "payload");
Result<SurveyAnswered> decodeSurveyAnswered(const nlohmann::json& j, std::string_view path = "payload");
Result<ComplaintFiled> decodeComplaintFiled(const nlohmann::json& j, std::string_view path = "payload");
Result<RedemptionReleased> decodeRedemptionReleased(const nlohmann::json& j, std::string_view path = "payload");

/// The points effect of an event of `type` on its member (the table of docs/sync-wire.md), read
/// from the payload's member_id and points fields only: nullopt for a type without one or a
/// payload without a member.
Result<std::optional<PointsEffect>> decodePointsEffect(std::string_view type, const nlohmann::json& j,
                                                       std::string_view path = "payload");

// [SECTION] Encoders

nlohmann::json toJson(const EventEnvelope& v);
nlohmann::json toJson(const UploadRequest& v);
nlohmann::json toJson(const EventResult& v);
nlohmann::json toJson(const UploadResponse& v);
nlohmann::json toJson(const MemberSnapshot& v);
nlohmann::json toJson(const Change& v);
nlohmann::json toJson(const ChangePage& v);
nlohmann::json toJson(const RedemptionRequest& v);
nlohmann::json toJson(const RedemptionResponse& v);
nlohmann::json toJson(const RegisterRequest& v);
nlohmann::json toJson(const RegisterResponse& v);
nlohmann::json toJson(const MergeRequest& v);
nlohmann::json toJson(const Problem& v);

nlohmann::json toJson(const MemberEnrolled& v);
nlohmann::json toJson(const MemberUpdated& v);
/// The tree of dumpSaleRecorded's text (parsed from it: one description of the fields).
nlohmann::json toJson(const SaleRecorded& v);
/// A sale's event as JSON text (keys in order, as json::dump() writes a tree), written without
/// building the tree: a sale's event is written with every sale, and the tree of a 20-line sale
/// is hundreds of allocations. Throws json::type_error on text that is not UTF-8, as dump() does.
std::string dumpSaleRecorded(const SaleRecorded& v);
nlohmann::json toJson(const PointsRedeemed& v);
nlohmann::json toJson(const SaleRefunded& v);
nlohmann::json toJson(const PointsAdjusted& v);
nlohmann::json toJson(const RedemptionReleased& v);

/// Serialises for the wire; invalid UTF-8 (never produced by our decoders) is replaced.
std::string dumpJson(const nlohmann::json& j);

}  // namespace loyalty::sync
