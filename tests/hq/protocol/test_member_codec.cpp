// The member events and changes of "personal data rights" (docs/sync-wire.md): member.updated
// with consent and a cleared birthday, staff at enrolment, and the member.erased change.
#include <catch2/catch.hpp>

#include "loyalty/sync/codec.hpp"

using namespace loyalty::sync;
using nlohmann::json;

namespace {
json update(json fields) {
  json p = {{"member_id", "M1"}, {"store_id", "S1"}, {"terminal_id", "T1"}};
  for (const auto& [k, v] : fields.items()) p[k] = v;
  return p;
}
}  // namespace

TEST_CASE("member.updated tells an absent birthday from a cleared one", "[hq][protocol]") {
  auto kept = decodeMemberUpdated(update({{"name", "王小明"}}));
  REQUIRE(kept);
  CHECK_FALSE(kept->birthday);  // absent: unchanged
  CHECK(kept->changedFields() == std::vector<std::string>{"name"});

  auto cleared = decodeMemberUpdated(update({{"birthday", nullptr}}));
  REQUIRE(cleared);
  REQUIRE(cleared->birthday);        // present ...
  CHECK_FALSE(cleared->birthday->has_value());  // ... and null: cleared
  CHECK(toJson(*cleared).at("birthday").is_null());
  CHECK(cleared->changedFields() == std::vector<std::string>{"birthday"});

  auto set = decodeMemberUpdated(update({{"birthday", "1990-07-20"}, {"staff_id", "ST-7"}}));
  REQUIRE(set);
  CHECK(**set->birthday == "1990-07-20");
  CHECK(*set->staffId == "ST-7");

  // Every shape survives a round trip through the encoder.
  for (const json& p : {update({{"name", "Li"}}), update({{"birthday", nullptr}}),
                        update({{"phone", "+8613812345678"}, {"language", "en"}, {"card_no", "123"}, {"staff_id", "ST-1"}}),
                        update({{"consent_marketing", false}, {"consent_version", "v2"}})}) {
    auto d = decodeMemberUpdated(p);
    REQUIRE(d);
    CHECK(toJson(*d) == p);
    CHECK(decodeMemberUpdated(toJson(*d)).value() == *d);
  }
}

TEST_CASE("member.updated consent comes with the consent text's version", "[hq][protocol]") {
  auto withdrawn = decodeMemberUpdated(update({{"consent_marketing", false}, {"consent_version", "2026-12"}}));
  REQUIRE(withdrawn);
  CHECK(*withdrawn->consentMarketing == false);
  CHECK(*withdrawn->consentVersion == "2026-12");
  CHECK(withdrawn->changedFields() == std::vector<std::string>{"consent_marketing"});

  auto noVersion = decodeMemberUpdated(update({{"consent_marketing", true}}));
  REQUIRE_FALSE(noVersion);
  CHECK(noVersion.error().field == "payload.consent_version");
  auto versionAlone = decodeMemberUpdated(update({{"consent_version", "v1"}}));
  REQUIRE_FALSE(versionAlone);
  CHECK(versionAlone.error().field == "payload.consent_marketing");
}

TEST_CASE("member payloads validate phone, birthday and that something changes", "[hq][protocol]") {
  const auto field = [](const json& p) { return decodeMemberUpdated(p, "events[2].payload").error().field; };
  CHECK(field(update({{"phone", "13812345678"}})) == "events[2].payload.phone");
  CHECK(field(update({{"phone", "+86 138"}})) == "events[2].payload.phone");
  CHECK(field(update({{"birthday", "1990-02-30"}})) == "events[2].payload.birthday");
  CHECK(field(update({{"birthday", "20-07-1990"}})) == "events[2].payload.birthday");
  CHECK(field(update({{"name", ""}})) == "events[2].payload.name");
  CHECK(field(update({{"consent_marketing", "yes"}, {"consent_version", "v1"}})) == "events[2].payload.consent_marketing");
  CHECK(field(update({{"staff_id", "ST-1"}})) == "events[2].payload.member_id");  // nothing changes
  CHECK(field(update({})) == "events[2].payload.member_id");

  const json enrolled = {{"member_id", "M1"}, {"card_no", "9001"}, {"phone", "+8613812345678"}, {"name", "Li"},
                         {"birthday", nullptr}, {"language", nullptr}, {"consent_marketing", true},
                         {"consent_version", "v1"}, {"referrer_id", nullptr}, {"store_id", "S1"}, {"terminal_id", "T1"},
                         {"staff_id", "ST-2"}};
  auto e = decodeMemberEnrolled(enrolled);
  REQUIRE(e);
  CHECK(*e->staffId == "ST-2");
  CHECK(decodeMemberEnrolled(toJson(*e)).value() == *e);
  json old = enrolled;
  old.erase("staff_id");  // terminals before 2026-12
  CHECK_FALSE(decodeMemberEnrolled(old)->staffId);
  json bad = enrolled;
  bad["birthday"] = "1990-13-01";
  CHECK(decodeMemberEnrolled(bad).error().field == "payload.birthday");
  bad = enrolled;
  bad["phone"] = "+86-138";
  CHECK(decodeMemberEnrolled(bad).error().field == "payload.phone");
}

TEST_CASE("the change feed carries member.erased", "[hq][protocol]") {
  const json page = {{"changes", {{{"type", "member.erased"}, {"member_id", "M9"}}, {{"type", "member.merged"}, {"from", "M2"}, {"into", "M1"}}}},
                     {"next_cursor", "3"}, {"has_more", false}, {"applied_through", 0}};
  auto p = decodeChangePage(page);
  REQUIRE(p);
  REQUIRE(p->changes.size() == 2);
  CHECK(std::get<MemberErasedChange>(p->changes[0]).memberId == "M9");
  CHECK(toJson(*p) == page);
  CHECK(toJson(Change{MemberErasedChange{"M9"}}) == json{{"type", "member.erased"}, {"member_id", "M9"}});

  json bad = page;
  bad["changes"][0].erase("member_id");
  CHECK(decodeChangePage(bad).error().field == "changes[0].member_id");
  CHECK(Problem::make(problem::kGone, 410, "erased").title == "Gone");
}
