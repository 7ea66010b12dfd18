// Head office's products reach a terminal through the change feed (docs/sync-protocol.md,
// "products"): the real loyalty-hq over HTTPS, a registered terminal syncing with the real
// binary, and the catalogue then used by exec's products and sale.
#include <catch2/catch.hpp>

#include <httplib.h>

#include "sync_fixture.hpp"

using namespace loyalty;
using namespace loyalty::test;
using nlohmann::json;

namespace {

void putProducts(const Hq& hq, const std::string& body, const std::string& type) {
  httplib::SSLClient c("127.0.0.1", hq.port());
  c.set_ca_cert_path(hq.caFile().c_str());
  c.enable_server_certificate_verification(true);
  auto r = c.Put("/api/v1/admin/products", {{"Authorization", "Bearer " + hq.adminToken()}}, body, type.c_str());
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 200);
}

json result(const json& response) {
  INFO(response.dump());
  REQUIRE(response.at("ok") == true);
  return response.at("result");
}

}  // namespace

TEST_CASE("Head office's products reach the terminal and price its sales", "[sync][e2e]") {
  Hq hq;
  hq.start();
  Terminal terminal;
  REQUIRE(terminal.registerWith(hq, hq.addTerminal("S001", "T1")).exit == 0);

  putProducts(hq, "sku,name,price,barcode,category\nWATER-550,农夫山泉 550ml,2.00,6921168509256,drink\n", "text/csv");
  const RunResult pulled = terminal.syncOnce();
  INFO(pulled.err);
  REQUIRE(pulled.exit == 0);

  const auto found = terminal.exec({{{"id", 1}, {"op", "products"}, {"query", "nfsq"}},
                                    {{"id", 2}, {"op", "sale"}, {"sale_id", "S1"},
                                     {"lines", {{{"barcode", "6921168509256"}, {"qty", 3}}}}}});
  CHECK(result(found[0]).at("products") ==
        json::array({{{"sku", "WATER-550"}, {"name", "农夫山泉 550ml"}, {"price", "2.00"},
                      {"barcode", "6921168509256"}, {"category", "drink"}}}));
  CHECK(result(found[1]).at("total") == "6.00");

  // A new price from head office replaces the old one at the next pull.
  putProducts(hq, json::array({{{"sku", "WATER-550"}, {"name", "农夫山泉 550ml"}, {"price", "2.50"},
                                {"barcode", "6921168509256"}, {"category", "drink"}}}).dump(),
              "application/json");
  REQUIRE(terminal.syncOnce().exit == 0);
  const auto after = terminal.exec({{{"id", 3}, {"op", "sale"}, {"sale_id", "S2"},
                                     {"lines", {{{"sku", "WATER-550"}, {"qty", 2}}}}}});
  CHECK(result(after[0]).at("total") == "5.00");
  CHECK(terminal.verify().exit == 0);
}
