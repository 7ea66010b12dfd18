// Head office applies the tier rule of the programme it publishes, as the terminal does: a
// programme with its own [[tier]] thresholds, an upgrade at the crossing sale, the monthly
// downgrade review at a later sale and at housekeeping, over the store's local days. At each
// step head office's tier equals the terminal's, and the change feed leaves the terminal's as is.

#include <httplib.h>

#include <catch2/catch.hpp>

#include "sync_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;

namespace {

constexpr const char* kPhone = "+8613800138011";

// Thresholds far below the defaults (silver 2,000, gold 10,000): 600.00 is silver only here.
constexpr const char* kProgramme =
    "[[tier]]\nname = \"member\"\nthreshold = \"0\"\nmultiplier = \"1.0\"\n"
    "[[tier]]\nname = \"silver\"\nthreshold = \"500.00\"\nmultiplier = \"1.2\"\n"
    "[[tier]]\nname = \"gold\"\nthreshold = \"900.00\"\nmultiplier = \"1.5\"\n";

json dated(json request, const std::string& at) {
  request["at"] = at;
  return request;
}

/// The terminal's tier as stored (lookup writes nothing, unlike `member`, which settles).
std::string terminalTier(const Terminal& t) {
  const json r = t.execOne({{"id", "look"}, {"op", "lookup"}, {"query", kPhone}});
  INFO(r.dump());
  REQUIRE(r.at("ok") == true);
  REQUIRE(r.at("result").at("matches").size() == 1);
  return r.at("result").at("matches").at(0).at("tier").get<std::string>();
}

}  // namespace

TEST_CASE("Head office's tier equals the terminal's through upgrades and monthly downgrades of a published programme",
          "[sync][hq]") {
  Hq hq;
  hq.start();
  Terminal t;
  // Shanghai is UTC+8: 17:00Z is already the next local day, so a UTC window would differ.
  const std::string code = hq.command({"terminal", "add", "--store", "S1", "--terminal", "T1", "--timezone", "Asia/Shanghai"});
  REQUIRE(t.registerWith(hq, code).exit == 0);

  httplib::SSLClient admin("127.0.0.1", hq.port());
  admin.set_ca_cert_path(hq.caFile().c_str());
  admin.enable_server_certificate_verification(true);
  auto published = admin.Put("/api/v1/admin/config", {{"Authorization", "Bearer " + hq.adminToken()}},
                             json{{"toml", kProgramme}}.dump(), "application/json");
  REQUIRE(published);
  REQUIRE(published->status == 200);
  REQUIRE(t.syncOnce().exit == 0);  // the terminal takes the programme

  const json enrolled = t.execOne(dated(enrol(kPhone, "Li Na"), "2026-03-01T02:00:00Z"));
  REQUIRE(enrolled.at("ok") == true);
  const std::string id = enrolled.at("result").at("member_id");
  const auto hqTier = [&] { return hq.get("/api/v1/members/" + id).at("tier").get<std::string>(); };
  // After each step: the terminal's event reached head office and the feed came back.
  const auto sameAfterSync = [&](const std::string& expected) {
    REQUIRE(t.syncOnce().exit == 0);
    CHECK(hqTier() == expected);
    CHECK(terminalTier(t) == expected);
  };

  // Upgrade at the crossing sale: 600.00 on local day 2026-04-01 (17:00 UTC on 31 March is 01:00 there).
  const json s1 = t.execOne(dated(sale("S-1", kPhone, "600.00"), "2026-03-31T17:00:00Z"));
  INFO(s1.dump());
  REQUIRE(s1.at("ok") == true);
  CHECK(s1.at("result").at("tier") == "silver");
  CHECK(s1.at("result").at("tier_changed") == true);
  sameAfterSync("silver");

  // 1,150.00 over the 12 months: gold.
  const json s2 = t.execOne(dated(sale("S-2", kPhone, "550.00"), "2026-06-10T02:00:00Z"));
  REQUIRE(s2.at("ok") == true);
  CHECK(s2.at("result").at("tier") == "gold");
  sameAfterSync("gold");

  // The review of April 2027 (local 00:30 on 1 April) looks at local days 2026-04-01 to
  // 2027-03-31: both sales, gold stays (in UTC days the first sale would fall out: silver).
  const std::string april = "2027-03-31T16:30:00Z";
  const json kept = t.execOne({{"id", "hk1"}, {"op", "housekeeping"}, {"at", april}});
  INFO(kept.dump());
  REQUIRE(kept.at("ok") == true);
  const json hqKept = json::parse(hq.command({"housekeeping", "--at", april}));
  CHECK(hqKept.at("tiers_reviewed") == 1);
  CHECK(hqKept.at("tiers_downgraded") == 0);
  sameAfterSync("gold");

  // A sale in May 2027: its review first (2026-05-01 to 2027-04-30: 550.00, silver), then the
  // sale, which reaches no higher tier.
  const json s3 = t.execOne(dated(sale("S-3", kPhone, "10.00"), "2027-05-03T02:00:00Z"));
  INFO(s3.dump());
  REQUIRE(s3.at("ok") == true);
  CHECK(s3.at("result").at("tier") == "silver");
  sameAfterSync("silver");

  // No sale in June: July's review at housekeeping (2026-07-01 to 2027-06-30: 10.00) on both sides.
  const std::string july = "2027-06-30T16:30:00Z";
  const json down = t.execOne({{"id", "hk2"}, {"op", "housekeeping"}, {"at", july}});
  REQUIRE(down.at("ok") == true);
  CHECK(terminalTier(t) == "member");
  const json hqDown = json::parse(hq.command({"housekeeping", "--at", july}));
  CHECK(hqDown.at("tiers_downgraded") == 1);
  sameAfterSync("member");
  // Run again, nothing is due.
  CHECK(json::parse(hq.command({"housekeeping", "--at", july})).at("tiers_reviewed") == 0);
}
