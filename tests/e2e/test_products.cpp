// The product catalogue and pinyin search through the real binary (docs/exec-cli.md, "products
// and pinyin"): product_put, products, sale lines priced from the catalogue by sku or barcode
// with member prices and category promotions exactly as for priced lines, and lookup by pinyin.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "../support/exec_client.hpp"
#include "../support/temp_dir.hpp"
#include "loyalty/terminal/store.hpp"

using nlohmann::json;
using loyalty::test::error;
using loyalty::test::Exec;
using loyalty::test::ok;
using loyalty::test::TempDir;

namespace {

std::string writeConfig(const TempDir& dir, const char* text) { return dir.write("terminal.toml", text); }

// A member price by sku (会员价 on the water) and a member discount by category (snacks).
const char* kPromotions = R"toml(
[[promotion]]
id = "water-member-price"
kind = "member_discount"
percent = "20"
skus = ["WATER-550"]

[[promotion]]
id = "snacks-10"
kind = "member_discount"
percent = "10"
categories = ["snack"]

[[promotion]]
id = "spend100-off10"
kind = "spend_discount"
threshold = "100.00"
amount = "10.00"
)toml";

std::vector<std::string> skus(const json& products) {
  std::vector<std::string> out;
  for (const json& p : products) out.push_back(p["sku"]);
  return out;
}

std::vector<std::string> names(const json& matches) {
  std::vector<std::string> out;
  for (const json& m : matches) out.push_back(m["name"]);
  return out;
}

void putCatalogue(Exec& e) {
  ok(e.call({{"op", "product_put"}, {"sku", "WATER-550"}, {"name", "农夫山泉 550ml"}, {"price", "2.00"},
             {"barcode", "6921168509256"}, {"category", "drink"}}));
  ok(e.call({{"op", "product_put"}, {"sku", "CHIPS-70"}, {"name", "乐事薯片"}, {"price", "7.50"},
             {"barcode", "6924743915763"}, {"category", "snack"}}));
  ok(e.call({{"op", "product_put"}, {"sku", "OIL-5L"}, {"name", "长城润滑油"}, {"price", "128.0000"}}));
}

}  // namespace

TEST_CASE("product_put and products: by barcode, sku, name, full pinyin and initials", "[e2e]") {
  TempDir dir;
  Exec e(dir);
  putCatalogue(e);
  const json water = ok(e.call({{"op", "products"}, {"query", "6921168509256"}}))["products"];
  REQUIRE(water.size() == 1);
  CHECK(water[0] == json{{"sku", "WATER-550"}, {"name", "农夫山泉 550ml"}, {"price", "2.00"},
                         {"barcode", "6921168509256"}, {"category", "drink"}});
  CHECK(skus(ok(e.call({{"op", "products"}, {"query", "chips-70"}}))["products"]) == std::vector<std::string>{"CHIPS-70"});
  CHECK(skus(ok(e.call({{"op", "products"}, {"query", "农夫"}}))["products"]) == std::vector<std::string>{"WATER-550"});
  CHECK(skus(ok(e.call({{"op", "products"}, {"query", "nongfu"}}))["products"]) == std::vector<std::string>{"WATER-550"});
  CHECK(skus(ok(e.call({{"op", "products"}, {"query", "NFSQ"}}))["products"]) == std::vector<std::string>{"WATER-550"});
  CHECK(skus(ok(e.call({{"op", "products"}, {"query", "lssp"}}))["products"]) == std::vector<std::string>{"CHIPS-70"});
  // 长 is zhang or chang: both find the oil.
  CHECK(skus(ok(e.call({{"op", "products"}, {"query", "changcheng"}}))["products"]) == std::vector<std::string>{"OIL-5L"});
  CHECK(skus(ok(e.call({{"op", "products"}, {"query", "cc"}}))["products"]) == std::vector<std::string>{"OIL-5L"});
  CHECK(ok(e.call({{"op", "products"}, {"query", "nothing-like-this"}}))["products"].empty());

  // Replacing a product replaces its keys; a barcode another product has is refused.
  ok(e.call({{"op", "product_put"}, {"sku", "OIL-5L"}, {"name", "壳牌机油"}, {"price", "99.00"}}));
  CHECK(ok(e.call({{"op", "products"}, {"query", "changcheng"}}))["products"].empty());
  CHECK(skus(ok(e.call({{"op", "products"}, {"query", "kp"}}))["products"]) == std::vector<std::string>{"OIL-5L"});
  const json taken = error(e.call({{"op", "product_put"}, {"sku", "OTHER"}, {"name", "x"}, {"price", "1.00"},
                                   {"barcode", "6921168509256"}}));
  CHECK(taken["code"] == "already_exists");
  CHECK(taken["field"] == "barcode");
  const json badPrice = error(e.call({{"op", "product_put"}, {"sku", "P"}, {"name", "x"}, {"price", "-1.00"}}));
  CHECK(badPrice["code"] == "invalid_argument");
  CHECK(badPrice["field"] == "price");
  CHECK(error(e.call({{"op", "product_put"}, {"sku", "P"}, {"name", "x"}, {"price", 1}}))["field"] == "price");
  CHECK(error(e.call({{"op", "product_put"}, {"sku", "P"}, {"name", " "}, {"price", "1.00"}}))["field"] == "name");
  CHECK(error(e.call({{"op", "products"}, {"query", ""}}))["field"] == "query");
}

TEST_CASE("sale lines from the catalogue: member prices and category promotions as for priced lines", "[e2e]") {
  // The same basket twice: once priced by hand with categories, once named by sku and barcode.
  TempDir priced, catalogued;
  Exec a(priced, {"--config", writeConfig(priced, kPromotions)});
  Exec b(catalogued, {"--config", writeConfig(catalogued, kPromotions)});
  putCatalogue(b);
  const json enrol = {{"op", "enroll"}, {"phone", "13900003333"}, {"name", "张三丰"}, {"consent_marketing", false}};
  const json ma = ok(a.call(enrol));
  const json mb = ok(b.call(enrol));

  const json byHand = ok(a.call({{"op", "sale"}, {"sale_id", "S1"}, {"member", ma["member_id"]},
                                 {"lines", {{{"sku", "WATER-550"}, {"qty", 24}, {"unit_price", "2.00"}},
                                            {{"sku", "CHIPS-70"}, {"qty", 10}, {"unit_price", "7.50"}, {"category", "snack"}}}}}));
  const json fromCatalogue = ok(b.call({{"op", "sale"}, {"sale_id", "S1"}, {"member", mb["member_id"]},
                                        {"lines", {{{"sku", "WATER-550"}, {"qty", 24}},
                                                   {{"barcode", "6924743915763"}, {"qty", 10}}}}}));
  CHECK(fromCatalogue["subtotal"] == "123.00");
  CHECK(fromCatalogue["discount"] == byHand["discount"]);
  CHECK(fromCatalogue["total"] == byHand["total"]);
  CHECK(fromCatalogue["points_earned"] == byHand["points_earned"]);
  CHECK(fromCatalogue["promotions"] == byHand["promotions"]);
  CHECK(fromCatalogue["promotions"].size() == 3);  // water member price, snacks 10 %, spend 100 off 10
  CHECK(fromCatalogue["discount"] == "27.10");     // 9.60 + 7.50 + 10.00

  // A replay of the same request is the same sale even after the catalogue changed.
  ok(b.call({{"op", "product_put"}, {"sku", "WATER-550"}, {"name", "农夫山泉 550ml"}, {"price", "3.00"},
             {"barcode", "6921168509256"}, {"category", "drink"}}));
  const json replay = ok(b.call({{"op", "sale"}, {"sale_id", "S1"}, {"member", mb["member_id"]},
                                 {"lines", {{{"sku", "WATER-550"}, {"qty", 24}},
                                            {{"barcode", "6924743915763"}, {"qty", 10}}}}}));
  CHECK(replay == fromCatalogue);
  // A refund by the product's sku works for a line sold by barcode: the chip paid 6.11 (6.75 less
  // its share of the 满减); what is left (99.15) is under the threshold, so the broken 满减 is
  // clawed back from the refund, up to all of it.
  const json refund = ok(b.call({{"op", "refund"}, {"refund_id", "R1"}, {"sale_id", "S1"},
                                 {"lines", {{{"sku", "CHIPS-70"}, {"qty", 1}}}}}));
  CHECK(refund["clawback"] == "6.11");
  CHECK(refund["amount"] == "0.00");
  // An explicit unit_price wins over the catalogue's; the product's category still applies.
  const json manual = ok(b.call({{"op", "sale"}, {"sale_id", "S2"}, {"member", mb["member_id"]},
                                 {"lines", {{{"sku", "CHIPS-70"}, {"qty", 2}, {"unit_price", "5.00"}}}}}));
  CHECK(manual["subtotal"] == "10.00");
  CHECK(manual["discount"] == "1.00");

  // Unknown products are not_found, naming the field; a malformed line is invalid_argument first.
  const json unknownSku = error(b.call({{"op", "sale"}, {"sale_id", "S3"}, {"lines", {{{"sku", "NOPE"}, {"qty", 1}}}}}));
  CHECK(unknownSku["code"] == "not_found");
  CHECK(unknownSku["field"] == "lines[0].sku");
  const json unknownBarcode =
      error(b.call({{"op", "sale"}, {"sale_id", "S3"}, {"lines", {{{"barcode", "123"}, {"qty", 1}}}}}));
  CHECK(unknownBarcode["code"] == "not_found");
  CHECK(unknownBarcode["field"] == "lines[0].barcode");
  const json order = error(b.call({{"op", "sale"}, {"sale_id", "S3"},
                                   {"lines", {{{"sku", "NOPE"}, {"qty", 1}}, {{"sku", "CHIPS-70"}, {"qty", 0}}}}}));
  CHECK(order["code"] == "invalid_argument");
  CHECK(order["field"] == "lines[1].qty");
  CHECK(error(b.call({{"op", "sale"}, {"sale_id", "S3"}, {"lines", {{{"qty", 1}}}}}))["field"] == "lines[0].sku");
  CHECK(ok(b.call({{"op", "verify"}}))["ok"] == true);
}

TEST_CASE("lookup finds members by the pinyin of their name, full or initials, any case", "[e2e]") {
  TempDir dir;
  Exec e(dir);
  const auto enrol = [&](const char* phone, const char* name) {
    return ok(e.call({{"op", "enroll"}, {"phone", phone}, {"name", name}, {"consent_marketing", false}}));
  };
  enrol("13900000001", "张三丰");
  enrol("13900000002", "单田芳");
  enrol("13900000003", "曾国藩");
  enrol("13900000004", "解缙");
  enrol("13900000005", "区志坚");
  enrol("13900000006", "仇英");
  enrol("13900000007", "Zack Smith");
  const auto lookup = [&](const char* q) { return names(ok(e.call({{"op", "lookup"}, {"query", q}}))["matches"]); };
  CHECK(lookup("zsf") == std::vector<std::string>{"张三丰"});
  CHECK(lookup("ZSF") == std::vector<std::string>{"张三丰"});
  CHECK(lookup("zhangsanfeng") == std::vector<std::string>{"张三丰"});
  CHECK(lookup("ZhangSan") == std::vector<std::string>{"张三丰"});
  CHECK(lookup("zhang san feng") == std::vector<std::string>{"张三丰"});
  CHECK(lookup("shantianfang") == std::vector<std::string>{"单田芳"});
  CHECK(lookup("stf") == std::vector<std::string>{"单田芳"});
  CHECK(lookup("zengguofan") == std::vector<std::string>{"曾国藩"});
  CHECK(lookup("xiejin") == std::vector<std::string>{"解缙"});
  CHECK(lookup("ouzhijian") == std::vector<std::string>{"区志坚"});
  CHECK(lookup("qiuying") == std::vector<std::string>{"仇英"});
  // Letters search Latin names and pinyin alike.
  const auto z = lookup("z");
  CHECK(std::find(z.begin(), z.end(), "Zack Smith") != z.end());
  CHECK(std::find(z.begin(), z.end(), "张三丰") != z.end());

  // A changed name is found by its new pinyin only.
  const json m = ok(e.call({{"op", "lookup"}, {"query", "zsf"}}))["matches"][0];
  ok(e.call({{"op", "member_update"}, {"member", m["member_id"]}, {"name", "李四"}}));
  CHECK(lookup("zsf").empty());
  CHECK(lookup("lisi") == std::vector<std::string>{"李四"});
}

TEST_CASE("the upgrade to schema version 7 gives members enrolled before it their pinyin keys", "[e2e]") {
  TempDir dir;
  {
    Exec e(dir);
    ok(e.call({{"op", "enroll"}, {"phone", "13900000001"}, {"name", "张三丰"}, {"consent_marketing", false}}));
    REQUIRE(e.finish() == 0);
  }
  {
    // Back to what version 6 left: no catalogue, name keys without pinyin, no survey dimensions
    // (version 8), no staff columns (version 9), no authorisation attempts (version 10) and no
    // sale line ranges (version 11).
    loyalty::db::Database db = loyalty::terminal::openTerminalDatabase(dir.str());
    db.exec("DROP TABLE product_keys; DROP TABLE products; DELETE FROM member_name_keys WHERE key GLOB '[a-z]*'; "
            "ALTER TABLE surveys DROP COLUMN dimensions; "
            "ALTER TABLE sales DROP COLUMN staff_id; ALTER TABLE refunds DROP COLUMN staff_id; "
            "ALTER TABLE redemptions DROP COLUMN staff_id; ALTER TABLE surveys DROP COLUMN staff_id; "
            "ALTER TABLE members DROP COLUMN enrolled_staff; DROP TABLE redemption_attempts; "
            "ALTER TABLE sales DROP COLUMN first_line; ALTER TABLE sales DROP COLUMN last_line; "
            "UPDATE schema_version SET version = 6");
  }
  Exec e(dir);
  CHECK(names(ok(e.call({{"op", "lookup"}, {"query", "zsf"}}))["matches"]) == std::vector<std::string>{"张三丰"});
  CHECK(ok(e.call({{"op", "products"}, {"query", "x"}}))["products"].empty());
}
