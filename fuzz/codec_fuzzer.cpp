// Harness: the sync protocol's JSON codec (sync/protocol, docs/sync-wire.md): parseJson, then
// every decoder on the same value: event batches (decodeUploadRequest, and the payload decoder
// of each event's type, as head office applies them), change pages and changes, the other
// request and response bodies, and each payload decoder on the body itself.
//
// Properties, besides "no crash, no sanitizer report, no exception out of the codec":
//  * a refusal is a bad_request with a sentence;
//  * round trip: whatever decodes, encodes (toJson, dumpJson), parses and decodes again to the
//    same value (for every type with an encoder).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "loyalty/sync/codec.hpp"
#include "loyalty/sync/event_types.hpp"
#include "support.hpp"

namespace {

using nlohmann::json;
using namespace loyalty;

template <class T>
bool decoded(const Result<T>& r, std::string_view what) {
  if (r) return true;
  if (r.error().code != errc::kBadRequest || r.error().message.empty()) {
    fuzz::fail("a refused body is a bad_request with a sentence",
               std::string(what) + ": " + r.error().code + " " + r.error().field + " " + r.error().message);
  }
  return false;
}

/// Decodes `j`; what decodes must survive encode, dump, parse, decode unchanged.
template <class Decode>
void roundTrip(std::string_view what, const json& j, Decode decode) {
  const auto first = decode(j);
  if (!decoded(first, what)) return;
  const std::string wire = sync::dumpJson(sync::toJson(*first));
  const auto reparsed = sync::parseJson(wire);
  if (!reparsed) fuzz::fail("an encoded value is valid JSON", std::string(what) + ": " + wire);
  const auto second = decode(*reparsed);
  if (!second) {
    fuzz::fail("an encoded value decodes again",
               std::string(what) + ": " + second.error().field + ": " + second.error().message + "\n" + wire);
  }
  if (!(*second == *first)) fuzz::fail("an encoded value decodes to the same value", std::string(what) + ": " + wire);
}

/// Types without an encoder (terminals write them from their own rows): decoded only.
template <class Decode>
void decodeOnly(std::string_view what, const json& j, Decode decode) {
  (void)decoded(decode(j), what);
}

/// The payload of an event of `type`, decoded as head office does on ingest.
void payload(const std::string& type, const json& p, const std::string& path) {
  const auto at = [&](auto decode) { return [decode, path](const json& v) { return decode(v, path); }; };
  if (type == sync::kMemberEnrolled) roundTrip(type, p, at(sync::decodeMemberEnrolled));
  else if (type == sync::kSaleRecorded) roundTrip(type, p, at(sync::decodeSaleRecorded));
  else if (type == sync::kPointsRedeemed) roundTrip(type, p, at(sync::decodePointsRedeemed));
  else if (type == sync::kSaleRefunded) roundTrip(type, p, at(sync::decodeSaleRefunded));
  else if (type == sync::kPointsAdjusted) roundTrip(type, p, at(sync::decodePointsAdjusted));
  else if (type == sync::kPointsRedemptionReleased) roundTrip(type, p, at(sync::decodeRedemptionReleased));
  else if (type == sync::kMemberUpdated) decodeOnly(type, p, at(sync::decodeMemberUpdated));
  else if (type == sync::kSurveyAnswered) decodeOnly(type, p, at(sync::decodeSurveyAnswered));
  else if (type == sync::kComplaintFiled) decodeOnly(type, p, at(sync::decodeComplaintFiled));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parsed = sync::parseJson(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!decoded(parsed, "parseJson")) return 0;
  const json& j = *parsed;

  roundTrip("upload request", j, sync::decodeUploadRequest);
  if (const auto upload = sync::decodeUploadRequest(j)) {
    for (std::size_t i = 0; i < upload->events.size(); ++i) {
      const sync::EventEnvelope& e = upload->events[i];
      payload(e.type, e.payload, "events[" + std::to_string(i) + "].payload");
    }
  }
  roundTrip("upload response", j, sync::decodeUploadResponse);
  roundTrip("change page", j, sync::decodeChangePage);
  roundTrip("change", j, sync::decodeChange);
  roundTrip("redemption request", j, sync::decodeRedemptionRequest);
  roundTrip("redemption response", j, sync::decodeRedemptionResponse);
  roundTrip("register request", j, sync::decodeRegisterRequest);
  roundTrip("register response", j, sync::decodeRegisterResponse);
  roundTrip("merge request", j, sync::decodeMergeRequest);
  roundTrip("problem", j, sync::decodeProblem);
  for (const char* type : {sync::kMemberEnrolled, sync::kMemberUpdated, sync::kSaleRecorded, sync::kPointsRedeemed,
                           sync::kSaleRefunded, sync::kPointsAdjusted, sync::kSurveyAnswered, sync::kComplaintFiled,
                           sync::kPointsRedemptionReleased}) {
    payload(type, j, "payload");
  }
  return 0;
}
