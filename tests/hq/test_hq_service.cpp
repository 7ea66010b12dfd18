// HqService: the live stores and their locking in one place. Requests on many threads share one
// writing and one reading connection through it, as the server's worker threads do.
#include <thread>

#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/local_time.hpp"
#include "loyalty/hq/service.hpp"
#include "support/hq_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;

TEST_CASE("HqService: sessions, audit entries and reports from many threads at once, on both connections", "[hq]") {
  HqInstance hq("sqlite");
  loyalty::hq::HqService service(hq.sql(), hq.sql(), hq.sql(), loyalty::hq::ReportCache::Options{}, loyalty::hq::ReservationPolicy{});
  constexpr int kThreads = 4, kRounds = 25;
  std::vector<std::thread> threads;
  std::vector<int> found(kThreads, 0), reports(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const loyalty::hq::DashboardAccount who{"user" + std::to_string(t), "analyst", false};
      loyalty::hq::forms::ReportCall summary;
      summary.name = "summary";
      for (int i = 0; i < kRounds; ++i) {
        const auto [secret, csrf] = service.openSession(who, std::chrono::hours(1));  // writer
        const auto s = service.session(secret);                                          // reader
        if (s && s->first.name == who.name && s->second == csrf) ++found[static_cast<std::size_t>(t)];
        service.auditAccess("user:" + who.name, loyalty::hq::audit::kMemberRead, "M" + std::to_string(i), std::nullopt);
        if (service.keptReport(summary)) ++reports[static_cast<std::size_t>(t)];  // reader, through the cache
        service.closeSession(secret);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    CHECK(found[static_cast<std::size_t>(t)] == kRounds);
    CHECK(reports[static_cast<std::size_t>(t)] == kRounds);
  }
  const auto audit = service.auditListing(std::nullopt, std::nullopt, std::string("1000"), std::nullopt, std::string("asc"));
  REQUIRE(audit);
  std::size_t reads = 0, signIns = 0;
  for (const auto& e : (*audit)["entries"]) {
    reads += e["action"] == loyalty::hq::audit::kMemberRead;
    signIns += e["action"] == loyalty::hq::audit::kSignIn;
  }
  CHECK(reads == kThreads * kRounds);
  CHECK(signIns == kThreads * kRounds);
  CHECK_FALSE(service.redeemTicket("no-such-ticket"));
  const std::string ticket = service.issueTicket({"ana", "admin", true}, loyalty::hq::nowSeconds() + std::chrono::seconds(60));
  const auto redeemed = service.redeemTicket(ticket);
  REQUIRE(redeemed);
  CHECK(redeemed->name == "ana");
  CHECK(redeemed->pii);
  CHECK_FALSE(service.redeemTicket(ticket));  // once
}
