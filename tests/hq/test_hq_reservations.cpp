// Online reservations on a real loyalty-hq over HTTPS: the terminal that made one releases it
// (idempotently), and an abandoned one stops counting once its configured life is over.
#include <fstream>

#include "loyalty/core/time.hpp"
#include "support/hq_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;

#define HQ_BACKENDS SqliteBackend, PostgresBackend

namespace {

int status(const httplib::Result& res) {
  REQUIRE(res);
  INFO(res->body);
  return res->status;
}

int reserve(HqInstance& hq, const std::string& token, const std::string& id, std::int64_t points) {
  return status(hq.client()->Post("/api/v1/redemptions", bearer(token),
                                   json{{"redemption_id", id}, {"member_id", "M1"}, {"points", points}}.dump(),
                                   "application/json"));
}

int release(HqInstance& hq, const std::string& token, const std::string& id) {
  return status(hq.client()->Delete(("/api/v1/redemptions/" + id).c_str(), bearer(token)));
}

std::int64_t reserved(HqInstance& hq) { return getJsonChecked(hq, "/api/v1/members/M1").at("reserved_points"); }

}  // namespace

TEMPLATE_TEST_CASE("reservations are released by their terminal and expire after the configured minutes", "[hq]",
                   HQ_BACKENDS) {
  HqInstance hq(TestType::kName);
  std::ofstream(hq.dataDir() + "/hq.toml", std::ios::app) << "\n[redemptions]\nreservation_minutes = 3\n";
  hq.start();
  const std::string a = hq.registerTerminal("S1", "TA");
  const std::string b = hq.registerTerminal("S2", "TB");
  auto res = hq.client()->Post("/api/v1/events", bearer(a),
                               batch("TA", {enrolEvent("TA", "S1", 1, "M1"), saleEvent("TA", "S1", 2, "M1", "80.00", 80)}).dump(),
                               "application/json");
  REQUIRE(status(res) == 200);

  REQUIRE(reserve(hq, a, "R1", 50) == 200);
  CHECK(reserved(hq) == 50);
  const auto row = hq.sql()->query("SELECT created_at, expires_at FROM reservations WHERE redemption_id = 'R1'");
  CHECK(*loyalty::parseRfc3339(row.text(0, 1), "expires_at") - *loyalty::parseRfc3339(row.text(0, 0), "created_at") ==
        std::chrono::minutes(3));

  // Only the terminal that reserved the points gives them back; again is fine.
  CHECK(release(hq, b, "R1") == 403);
  CHECK(release(hq, hq.adminToken(), "R1") == 403);
  CHECK(reserved(hq) == 50);
  CHECK(release(hq, a, "R1") == 200);
  CHECK(reserved(hq) == 0);
  CHECK(release(hq, a, "R1") == 200);
  CHECK(release(hq, a, "never-reserved") == 200);
  CHECK(reserve(hq, b, "R2", 80) == 200);  // the released points are available again

  // A settled reservation is spent: it cannot be released.
  res = hq.client()->Post("/api/v1/events", bearer(b),
                          batch("TB", {redeemEvent("TB", "S2", 1, "M1", 80, "R2", "online")}).dump(), "application/json");
  REQUIRE(status(res) == 200);
  CHECK(release(hq, b, "R2") == 409);

  // An abandoned reservation stops counting when its life is over.
  res = hq.client()->Post("/api/v1/events", bearer(a), batch("TA", {saleEvent("TA", "S1", 3, "M1", "30.00", 30)}).dump(),
                          "application/json");
  REQUIRE(status(res) == 200);
  REQUIRE(reserve(hq, a, "R3", 30) == 200);
  CHECK(reserve(hq, b, "R4", 30) == 409);
  CHECK(reserved(hq) == 30);
  hq.sql()->query("UPDATE reservations SET expires_at = '2000-01-01T00:00:00Z' WHERE redemption_id = 'R3'");
  CHECK(reserved(hq) == 0);
  CHECK(reserve(hq, b, "R4", 30) == 200);
  // Asked again after it expired, R3 is a new reservation, refused if the points went meanwhile.
  CHECK(reserve(hq, a, "R3", 30) == 409);
}
