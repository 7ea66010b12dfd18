// What a real terminal claims passes head office's checks: its referral bonus and its expiries
// apply, and head office's balances stay equal to the terminal's.
#include <catch2/catch.hpp>

#include "loyalty/hq/settings.hpp"
#include "sync_fixture.hpp"

using namespace loyalty;
using namespace loyalty::test;
using nlohmann::json;

TEST_CASE("A real terminal's referral bonus and expiries are applied at head office", "[sync][e2e]") {
  Hq hq;
  hq.start();
  Terminal terminal;
  REQUIRE(terminal.registerWith(hq, hq.addTerminal("S1", "T1")).exit == 0);
  const json referrer = terminal.execOne(enrol("13800000001", "Referrer"));
  json referred = enrol("13800000002", "Referred");
  referred["referrer"] = "13800000001";
  const auto enrolled = terminal.exec({referred});
  REQUIRE(referrer.at("ok") == true);
  REQUIRE(enrolled.at(0).at("ok") == true);
  const std::string r = referrer.at("result").at("member_id"), m = enrolled.at(0).at("result").at("member_id");
  json first = sale("S-1", m, "50.00");
  first["at"] = "2024-01-10T10:00:00Z";
  REQUIRE(terminal.execOne(first).at("ok") == true);
  REQUIRE(terminal.syncOnce().exit == 0);
  CHECK(hq.get("/api/v1/members/" + r).at("balance") == 100);  // the programme's referral bonus
  CHECK(hq.get("/api/v1/members/" + m).at("balance") == 50);

  // Two years on (and before head office's today: an expiry dated later is refused), both lots
  // (the bonus and the sale's points) expire at the counter.
  const auto later = terminal.exec({{{"id", 1}, {"op", "member"}, {"member", r}, {"at", "2026-01-05T10:00:00Z"}},
                                    {{"id", 2}, {"op", "member"}, {"member", m}, {"at", "2026-01-05T10:00:00Z"}}});
  CHECK(later.at(0).at("result").at("points") == 0);
  CHECK(later.at(1).at("result").at("points") == 0);
  const RunResult synced = terminal.syncOnce();
  INFO(synced.err);
  REQUIRE(synced.exit == 0);
  CHECK(synced.json().at("pending") == 0);
  CHECK(hq.get("/api/v1/members/" + r).at("balance") == 0);
  CHECK(hq.get("/api/v1/members/" + m).at("balance") == 0);

  const hq::DataDir dir{hq.dataDir()};
  auto settings = hq::loadSettings(dir);
  REQUIRE(settings);
  auto sql = hq::openStorage(dir, *settings);
  CHECK(sql->query("SELECT COUNT(*) FROM rejected_events").integer(0, 0) == 0);
  CHECK(sql->query("SELECT COUNT(*) FROM ledger WHERE kind = 'expire'").integer(0, 0) == 2);
  CHECK(sql->query("SELECT COUNT(*) FROM referral_bonuses WHERE referred_id = $1", {m}).integer(0, 0) == 1);
}
