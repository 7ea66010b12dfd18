// PUT /api/v1/admin/products against the real loyalty-hq over HTTPS, on SQLite and on a
// PostgreSQL the test starts: JSON and CSV, validation naming the field, the audit entry, and
// the products in the change feed terminals pull.
#include "support/hq_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;

namespace {

httplib::Result put(HqInstance& hq, const std::string& body, const std::string& type, const std::string& token) {
  return hq.client()->Put("/api/v1/admin/products", bearer(token), body, type.c_str());
}

/// Every change of type "product" in the feed, in order.
json productChanges(HqInstance& hq, const std::string& terminalToken) {
  json out = json::array();
  std::string cursor;
  for (int guard = 0; guard < 100; ++guard) {
    auto res = hq.client()->Get(("/api/v1/changes?limit=500&cursor=" + cursor).c_str(), bearer(terminalToken));
    REQUIRE(res);
    REQUIRE(res->status == 200);
    const json p = json::parse(res->body);
    for (const json& c : p.at("changes")) {
      if (c.at("type") == "product") out.push_back(c);
    }
    cursor = p.at("next_cursor").get<std::string>();
    if (!p.at("has_more").get<bool>()) break;
  }
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE("products: JSON or CSV, checked, audited and sent to every terminal", "[hq]", SqliteBackend,
                   PostgresBackend) {
  HqInstance hq(TestType::kName);
  hq.start();
  const std::string terminal = hq.registerTerminal("S1", "T1");

  const json list = json::array({{{"sku", "WATER-550"}, {"name", "农夫山泉 550ml"}, {"price", "2.00"},
                                  {"barcode", "6921168509256"}, {"category", "drink"}},
                                 {{"sku", "OIL-5L"}, {"name", "长城润滑油"}, {"price", "128.5"}}});
  auto r = put(hq, list.dump(), "application/json", hq.adminToken());
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 200);
  CHECK(json::parse(r->body) == json{{"products", 2}});

  const std::string csv =
      "\xEF\xBB\xBFsku,name,price,barcode,category\r\n"
      "CHIPS-70,\"乐事薯片, 原味\",7.50,6924743915763,snack\r\n"
      "OIL-5L,长城润滑油 5L,120.00,,\r\n";
  r = put(hq, csv, "text/csv; charset=utf-8", hq.adminToken());
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 200);
  CHECK(json::parse(r->body) == json{{"products", 2}});

  const json feed = productChanges(hq, terminal);
  REQUIRE(feed.size() == 4);
  CHECK(feed[0] == json{{"type", "product"}, {"sku", "WATER-550"}, {"name", "农夫山泉 550ml"}, {"price", "2.00"},
                        {"barcode", "6921168509256"}, {"category", "drink"}});
  CHECK(feed[1].at("price") == "128.50");
  CHECK(feed[2] == json{{"type", "product"}, {"sku", "CHIPS-70"}, {"name", "乐事薯片, 原味"}, {"price", "7.50"},
                        {"barcode", "6924743915763"}, {"category", "snack"}});
  CHECK(feed[3] == json{{"type", "product"}, {"sku", "OIL-5L"}, {"name", "长城润滑油 5L"}, {"price", "120.00"}});

  // Refusals name the field and change nothing.
  const auto refused = [&](const std::string& body, const std::string& type, const std::string& field) {
    auto res = put(hq, body, type, hq.adminToken());
    REQUIRE(res);
    INFO(res->body);
    CHECK(res->status == 400);
    CHECK(json::parse(res->body).at("detail").get<std::string>().find(field) != std::string::npos);
  };
  refused(json::array({{{"sku", "A"}, {"name", "a"}, {"price", "1.00"}},
                       {{"sku", "B"}, {"name", "b"}, {"price", 2.5}}}).dump(),
          "application/json", "products[1].price");
  refused(json::array({{{"sku", "A"}, {"name", "a"}, {"price", "-1.00"}}}).dump(), "application/json", "products[0].price");
  refused(json::array({{{"sku", "A"}, {"name", ""}, {"price", "1.00"}}}).dump(), "application/json", "products[0].name");
  refused(json::array({{{"sku", "A"}, {"name", "a"}, {"price", "1.00"}, {"colour", "red"}}}).dump(), "application/json",
          "products[0].colour");
  refused(json::array({{{"sku", "A"}, {"name", "a"}, {"price", "1.00"}}, {{"sku", "A"}, {"name", "b"}, {"price", "1.00"}}}).dump(),
          "application/json", "products[1].sku");
  refused(json{{"sku", "A"}}.dump(), "application/json", "products");
  refused("sku,name\nA,a\n", "text/csv", "price");
  refused("sku,name,price\nA,a,1.00\nB,b,x\n", "text/csv", "products[1].price");
  refused("sku,name,price\nA,a\n", "text/csv", "products[0]");
  CHECK(productChanges(hq, terminal).size() == 4);

  // Admins only.
  const std::string analyst = hq.cli({"token", "create", "--data", hq.dataDir(), "--role", "analyst"});
  auto forbidden = put(hq, list.dump(), "application/json", analyst);
  REQUIRE(forbidden);
  CHECK(forbidden->status == 403);
  auto terminalPut = put(hq, list.dump(), "application/json", terminal);
  REQUIRE(terminalPut);
  CHECK(terminalPut->status == 403);

  // Each accepted import is in the audit trail with how many products it carried.
  const json audit = getJsonChecked(hq, "/api/v1/admin/audit");
  int puts = 0;
  for (const json& e : audit.at("entries")) {
    if (e.at("action") == "products.put") {
      ++puts;
      CHECK(e.at("rows") == 2);
    }
  }
  CHECK(puts == 2);
}
