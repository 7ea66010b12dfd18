// A refused redemption holds no points at head office: a real terminal (loyalty-terminal exec,
// registered) against the real loyalty-hq over HTTPS.
#include <httplib.h>

#include <catch2/catch.hpp>

#include "sync_fixture.hpp"

using namespace loyalty;
using namespace loyalty::test;
using nlohmann::json;

namespace {

json redeem(const std::string& id, const std::string& member, std::int64_t points, const std::string& pin) {
  return {{"id", id}, {"op", "redeem"}, {"redemption_id", id}, {"member", member}, {"points", points}, {"supervisor_pin", pin}};
}

}  // namespace

TEST_CASE("Redemptions refused at the counter hold no points at head office", "[sync][e2e]") {
  Hq hq;
  hq.start();
  Terminal terminal;
  REQUIRE(terminal.registerWith(hq, hq.addTerminal("S1", "T1")).exit == 0);
  const RunResult added =
      run({terminalBinary(), "staff", "add", "--data", terminal.dataDir(), "--id", "9", "--name", "Boss", "--role", "supervisor"},
          "246801\n");
  REQUIRE(added.exit == 0);
  const json member = terminal.execOne(enrol("13800138000", "Wang"));
  REQUIRE(member.at("ok") == true);
  const std::string id = member.at("result").at("member_id");
  REQUIRE(terminal.execOne(sale("S-1", id, "8000.00")).at("ok") == true);
  REQUIRE(terminal.syncOnce().exit == 0);
  REQUIRE(hq.get("/api/v1/members/" + id).at("balance") == 8000);

  // The security review's scenario: three redemptions refused for a wrong supervisor PIN...
  for (const auto& response : terminal.exec({redeem("R-1", id, 2100, "999999"), redeem("R-2", id, 2100, "999999"),
                                             redeem("R-3", id, 2100, "999999")})) {
    CHECK(response.at("ok") == false);
    CHECK(response.at("error").at("field") == "supervisor_pin");
  }
  CHECK(hq.get("/api/v1/members/" + id).at("reserved_points") == 0);
  // ...and the right one goes through, authorised online.
  const json done = terminal.execOne(redeem("R-4", id, 2100, "246801"));
  INFO(done.dump());
  REQUIRE(done.at("ok") == true);
  CHECK(hq.get("/api/v1/members/" + id).at("reserved_points") == 2100);
  REQUIRE(terminal.syncOnce().exit == 0);
  const json settled = hq.get("/api/v1/members/" + id);
  CHECK(settled.at("balance") == 5900);
  CHECK(settled.at("reserved_points") == 0);

  // A refusal the terminal finds only after head office reserved the points (paying with more
  // points than a promotion leaves to pay) gives the reservation back.
  httplib::SSLClient admin("127.0.0.1", hq.port());
  admin.set_ca_cert_path(hq.caFile().c_str());
  admin.enable_server_certificate_verification(true);
  const std::string promotion =
      "[[promotion]]\nid = \"off5\"\nkind = \"spend_discount\"\nthreshold = \"10.00\"\namount = \"5.00\"\n";
  auto published = admin.Put("/api/v1/admin/config", {{"Authorization", "Bearer " + hq.adminToken()}},
                             json{{"toml", promotion}}.dump(), "application/json");
  REQUIRE(published);
  REQUIRE(published->status == 200);
  REQUIRE(terminal.syncOnce().exit == 0);
  json pay = sale("S-2", id, "10.00");
  pay["redeem_points"] = 800;  // 8.00, more than the 5.00 left after the promotion
  const json refused = terminal.execOne(pay);
  INFO(refused.dump());
  REQUIRE(refused.at("ok") == false);
  CHECK(refused.at("error").at("field") == "redeem_points");
  CHECK(hq.get("/api/v1/members/" + id).at("reserved_points") == 0);
  CHECK(hq.get("/api/v1/members/" + id).at("balance") == 5900);
}
