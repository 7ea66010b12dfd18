// PostgreSQL restarted by its operator under a running head office (a minor upgrade, a
// configuration change): every connection of the instance lost its session. The first request
// after the restart, on each of them (uploads on the writer, token checks and online
// redemptions on the counter lane, the change feed and reports on the reader), is answered as
// usual: a connection whose server went away is reconnected before its next request's first
// statement, not after that request failed with a 503.
#include "../support/hq_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;

TEST_CASE("PostgreSQL restarted under head office: the first request on each of its connections afterwards is answered",
          "[hq][faults][postgresql]") {
  HqInstance hq(std::make_unique<PgCluster>());
  hq.start();
  const std::string token = hq.registerTerminal("S1", "T1");
  uploadApplied(hq, token, "T1", json::array({enrolEvent("T1", "S1", 1, "M1"), saleEvent("T1", "S1", 2, "M1", "100.00", 500)}));
  std::int64_t seq = 3;

  for (int restart = 1; restart <= 2; ++restart) {
    INFO("restart " << restart);
    // Every lane used once, so that each holds a session the restart ends.
    getJsonChecked(hq, "/api/v1/reports/summary");
    auto feed = hq.client()->Get("/api/v1/changes", bearer(token));
    REQUIRE(feed);
    REQUIRE(feed->status == 200);

    hq.pg()->stop();
    REQUIRE(hq.pg()->start());

    // The counter lane first (the token check, then an online reserve and its release).
    const std::string id = "R" + std::to_string(restart);
    auto reserve = hq.client()->Post("/api/v1/redemptions", bearer(token),
                                     json{{"redemption_id", id}, {"member_id", "M1"}, {"points", 100}}.dump(), "application/json");
    REQUIRE(reserve);
    INFO(reserve->body);
    CHECK(reserve->status == 200);
    auto release = hq.client()->Delete(("/api/v1/redemptions/" + id).c_str(), bearer(token));
    REQUIRE(release);
    CHECK(release->status == 200);

    // The writer: a sale uploaded and applied.
    auto upload = hq.client()->Post("/api/v1/events", bearer(token),
                                    batch("T1", json::array({saleEvent("T1", "S1", seq, "M1", "10.00", 50)})).dump(),
                                    "application/json");
    REQUIRE(upload);
    INFO(upload->body);
    REQUIRE(upload->status == 200);
    CHECK(json::parse(upload->body).at("acked_through") == seq);
    ++seq;

    // The reader: the change feed, then the administrator's member view.
    feed = hq.client()->Get("/api/v1/changes", bearer(token));
    REQUIRE(feed);
    INFO(feed->body);
    CHECK(feed->status == 200);
    CHECK(getJsonChecked(hq, "/api/v1/members/M1").at("reserved_points") == 0);
  }
  CHECK(getJsonChecked(hq, "/api/v1/members/M1").at("balance") == 500 + 2 * 50);
  CHECK(hq.pg()->running());
}
