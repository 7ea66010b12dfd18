#include <catch2/catch.hpp>

#include "loyalty/sync/codec.hpp"
#include "loyalty/sync/event_types.hpp"

using namespace loyalty::sync;
using nlohmann::json;

TEST_CASE("decodePointsEffect: the wire document's points effect of each type, or the bad field", "[hq][protocol]") {
  const json sale = {{"member_id", "m"}, {"points_earned", 30}, {"points_redeemed", 100}};
  CHECK(decodePointsEffect(kSaleRecorded, sale).value() == PointsEffect{"m", -70});
  CHECK(decodePointsEffect(kSaleRefunded, json{{"member_id", "m"}, {"points_reversed", 9}, {"points_returned", 4}})
            .value() == PointsEffect{"m", -5});
  CHECK(decodePointsEffect(kPointsRedeemed, json{{"member_id", "m"}, {"points", 40}}).value() == PointsEffect{"m", -40});
  CHECK(decodePointsEffect(kPointsAdjusted, json{{"member_id", "m"}, {"points", -12}}).value() == PointsEffect{"m", -12});
  CHECK_FALSE(decodePointsEffect(kSaleRecorded, json{{"member_id", nullptr}, {"points_earned", 0}}).value());
  CHECK_FALSE(decodePointsEffect(kMemberEnrolled, json{{"member_id", "m"}}).value());

  json bad = sale;
  bad["points_redeemed"] = "100";
  auto e = decodePointsEffect(kSaleRecorded, bad, "events[4].payload");
  REQUIRE_FALSE(e);
  CHECK(e.error().field == "events[4].payload.points_redeemed");
  CHECK(decodePointsEffect(kPointsRedeemed, json{{"member_id", "m"}, {"points", 0}}).error().field == "payload.points");
}
