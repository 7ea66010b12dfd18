// A head-office points adjustment reaches the terminals: after their next sync each counter
// shows the balance head office set (the change feed's member snapshot), and a counter's own
// unsynced sale is kept on top of it.
#include <catch2/catch.hpp>

#include "sync_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;

namespace {

std::int64_t counterBalance(const Terminal& t, const std::string& member) {
  const auto m = t.execOne({{"id", 1}, {"op", "member"}, {"member", member}});
  REQUIRE(m.at("ok") == true);
  return m.at("result").at("points").get<std::int64_t>() - m.at("result").at("points_debt").get<std::int64_t>();
}

}  // namespace

TEST_CASE("A head-office points adjustment reaches every terminal", "[sync][e2e]") {
  Hq hq;
  hq.start();
  Terminal one, two;
  REQUIRE(one.registerWith(hq, hq.addTerminal("S001", "T1")).exit == 0);
  REQUIRE(two.registerWith(hq, hq.addTerminal("S002", "T2")).exit == 0);
  const auto enrolled = one.execOne(enrol("13800138000", "张三丰"));
  REQUIRE(enrolled.at("ok") == true);
  const std::string member = enrolled.at("result").at("member_id");
  REQUIRE(one.execOne(sale("T1-sale-1", member, "30.00")).at("ok") == true);
  REQUIRE(one.syncOnce().exit == 0);
  REQUIRE(two.syncOnce().exit == 0);
  const std::int64_t earned = counterBalance(one, member);
  REQUIRE(earned > 0);
  REQUIRE(counterBalance(two, member) == earned);

  const json adjusted = hq.post("/api/v1/admin/members/" + member + "/points", {{"points", 25}, {"reason", "goodwill"}});
  CHECK(adjusted.at("balance") == earned + 25);
  // Store one sells again before it hears of the adjustment: both count.
  REQUIRE(one.execOne(sale("T1-sale-2", member, "10.00")).at("ok") == true);
  const std::int64_t second = counterBalance(one, member) - earned;
  REQUIRE(one.syncOnce().exit == 0);
  REQUIRE(two.syncOnce().exit == 0);
  CHECK(counterBalance(one, member) == earned + 25 + second);
  CHECK(counterBalance(two, member) == earned + 25 + second);
  CHECK(hq.get("/api/v1/members/" + member).at("balance") == earned + 25 + second);
  CHECK(one.verify().exit == 0);
  CHECK(two.verify().exit == 0);
}
