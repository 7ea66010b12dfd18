// Promotions at head office, on the real loyalty-hq over HTTPS, on SQLite and on a PostgreSQL the
// test starts: a programme a terminal would refuse is refused at publishing (naming the key); the
// dashboard's editor checks, previews (the terminal's own sale planner) and publishes to the
// change feed with an audit entry; GET /api/v1/reports/promotions adds up what each promotion
// did, with its lift against the days before and against the stores without it; the pages are
// looked at in headless Chromium (build/screenshots).
#include "analytics/dashboard_browser.hpp"
#include "support/hq_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;

namespace {

json upload(HqInstance& hq, const std::string& token, const json& body) {
  auto res = hq.client()->Post("/api/v1/events", bearer(token), body.dump(), "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  const json answer = json::parse(res->body);
  for (const auto& r : answer.at("results")) REQUIRE(r.at("status") == "applied");
  return answer;
}

/// A sale of `subtotal` less `discount` with the promotions a terminal reports for it.
json promoSale(const std::string& terminal, const std::string& store, std::int64_t seq, const std::optional<std::string>& member,
               const std::string& subtotal, const std::string& discount, const std::string& total, std::int64_t points,
               const std::string& at, json promotions) {
  json e = saleEvent(terminal, store, seq, member, total, points, 0, at);
  e["payload"]["lines"][0]["unit_price"] = subtotal;
  e["payload"]["lines"][0]["amount"] = subtotal;
  e["payload"]["subtotal"] = subtotal;
  e["payload"]["discount"] = discount;
  if (!promotions.is_null()) e["payload"]["promotions"] = std::move(promotions);
  return e;
}

json refund(const std::string& terminal, const std::string& store, std::int64_t seq, const std::string& saleId,
            const std::optional<std::string>& member, const std::string& amount, const std::string& at) {
  return {{"event_id", terminal + "-e" + std::to_string(seq)}, {"seq", seq}, {"type", "sale.refunded"}, {"at", at},
          {"payload", {{"refund_id", terminal + "-r" + std::to_string(seq)}, {"sale_id", saleId},
                       {"member_id", member ? json(*member) : json(nullptr)}, {"store_id", store}, {"terminal_id", terminal},
                       {"lines", {{{"line_no", 1}, {"sku", "A"}, {"qty", 1}}}}, {"amount", amount}, {"points_reversed", 0},
                       {"points_returned", 0}}}};
}

httplib::Result putConfig(HqInstance& hq, const std::string& toml) {
  return hq.client()->Put("/api/v1/admin/config", bearer(hq.adminToken()), json{{"toml", toml}}.dump(), "application/json");
}

/// The config changes in the feed a terminal pulls, oldest first.
std::vector<std::string> configsInFeed(HqInstance& hq, const std::string& token) {
  auto r = hq.client()->Get("/api/v1/changes?limit=1000", bearer(token));
  REQUIRE(r);
  REQUIRE(r->status == 200);
  std::vector<std::string> out;
  const json page = json::parse(r->body);
  for (const auto& c : page.at("changes")) {
    if (c.at("type").get<std::string>() == "config") out.push_back(c.at("toml").get<std::string>());
  }
  return out;
}

const json* rowOf(const json& report, const std::string& id) {
  for (const auto& r : report.at("rows")) {
    if (r.at("promotion_id") == id) return &r;
  }
  return nullptr;
}

constexpr const char* kProgramme = R"(
[[promotion]]
id = "spend300-off30"
kind = "spend_discount"
threshold = "300.00"
amount = "30.00"
from = 2026-11-01
to = 2026-11-10

[[promotion]]
id = "quiet-week"
kind = "points_multiplier"
multiplier = "2.0"
from = 2026-11-01
to = 2026-11-10
)";

}  // namespace

TEMPLATE_TEST_CASE("promotions: head office refuses a programme a terminal would refuse, naming the key", "[hq]", SqliteBackend,
                   PostgresBackend) {
  HqInstance hq(TestType::kName);
  hq.start();
  // Each of these used to be published (and then refused by every terminal, which kept its old programme).
  for (const auto& [toml, key] : std::vector<std::pair<std::string, std::string>>{
           {"[loyalty]\nearn_points_per_unit = -1\n", "earn_points_per_unit"},
           {"[[promotion]]\nid = \"x\"\nkind = \"spend_discount\"\nthreshold = \"10.00\"\n", "amount"},
           {"[[tier]]\nname = \"member\"\nthreshold = \"100\"\n", "threshold"},
           {"[[promotion]]\nid = \"y\"\nkind = \"member_discount\"\npercent = \"5\"\nskus = [\"A\"]\nmin_tier = \"diamond\"\n",
            "min_tier"}}) {
    auto r = putConfig(hq, toml);
    REQUIRE(r);
    INFO(toml << r->body);
    CHECK(r->status == 400);
    CHECK(r->body.find(key) != std::string::npos);
    CHECK(r->body.find("\"detail\":\"toml: line ") != std::string::npos);
  }
  const std::string terminal = hq.registerTerminal("S1", "T1");
  CHECK(configsInFeed(hq, terminal).empty());  // a refusal changes nothing

  auto ok = putConfig(hq, kProgramme);
  REQUIRE(ok);
  REQUIRE(ok->status == 200);
  CHECK(configsInFeed(hq, terminal).size() == 1);
  const json audit = getJsonChecked(hq, "/api/v1/admin/audit?limit=1000");
  bool published = false;
  for (const auto& e : audit.at("entries")) published = published || e.at("action") == "programme.publish";
  CHECK(published);
}

TEMPLATE_TEST_CASE("promotions: the report adds up each promotion's sales, members, discount, points and net revenue, with its lift",
                   "[hq]", SqliteBackend, PostgresBackend) {
  HqInstance hq(TestType::kName);
  hq.start();
  REQUIRE(putConfig(hq, kProgramme)->status == 200);
  const std::string t1 = hq.registerTerminal("S1", "T1"), t2 = hq.registerTerminal("S2", "T2");
  const json spend = json::array({{{"id", "spend300-off30"}, {"kind", "spend_discount"}, {"effect", "-30.00"}, {"discount", "30.00"}}});
  // A terminal from before the per-promotion discount: its one discounting promotion took the sale's.
  const json spendOld = json::array({{{"id", "spend300-off30"}, {"kind", "spend_discount"}, {"effect", "-30.00"}},
                                     {{"id", "quiet-week"}, {"kind", "points_multiplier"}, {"effect", "points x2.0"}}});
  json e1 = json::array();
  e1.push_back(enrolEvent("T1", "S1", 1, "M1"));
  e1.push_back(promoSale("T1", "S1", 2, std::string("M1"), "100.00", "0.00", "100.00", 100, "2026-10-25T09:00:00Z", nullptr));
  e1.push_back(promoSale("T1", "S1", 3, std::string("M1"), "300.00", "30.00", "270.00", 270, "2026-11-02T09:00:00Z", spend));
  e1.push_back(promoSale("T1", "S1", 4, std::nullopt, "300.00", "30.00", "270.00", 0, "2026-11-03T09:00:00Z", spendOld));
  e1.push_back(refund("T1", "S1", 5, "T1-s3", std::string("M1"), "50.00", "2026-11-05T09:00:00Z"));
  upload(hq, t1, batch("T1", e1));
  json e2 = json::array();
  e2.push_back(promoSale("T2", "S2", 1, std::nullopt, "100.00", "0.00", "100.00", 0, "2026-10-25T10:00:00Z", nullptr));
  e2.push_back(promoSale("T2", "S2", 2, std::nullopt, "110.00", "0.00", "110.00", 0, "2026-11-04T10:00:00Z", nullptr));
  upload(hq, t2, batch("T2", e2));

  const json report = getJsonChecked(hq, "/api/v1/reports/promotions?from=2026-11-01&to=2026-11-10");
  const json* spendRow = rowOf(report, "spend300-off30");
  REQUIRE(spendRow);
  const json& r = *spendRow;
  CHECK(r.at("kind") == "spend_discount");
  CHECK(r.at("sales") == 2);
  CHECK(r.at("members") == 1);
  CHECK(r.at("discount") == "60.00");
  CHECK(r.at("discount_known") == true);
  CHECK(r.at("points") == 270);
  CHECK(r.at("net_revenue") == "490.00");  // 270 + 270 less the 50 refunded
  // S1 took 490 against 100 in the ten days before (+390 %); S2, without it, 110 against 100 (+10 %).
  const json& lift = r.at("lift");
  CHECK(lift.at("before") == json{{"from", "2026-10-22"}, {"to", "2026-10-31"}});
  CHECK(lift.at("stores_with") == 1);
  CHECK(lift.at("stores_without") == 1);
  CHECK(lift.at("vs_before") == "3.9000");
  CHECK(lift.at("growth_without") == "0.1000");
  CHECK(lift.at("vs_stores_without") == "3.8000");

  const json* quiet = rowOf(report, "quiet-week");
  REQUIRE(quiet);
  CHECK(quiet->at("sales") == 1);
  CHECK(quiet->at("discount") == "0.00");

  // Another store only: the promotion ran nowhere there (listed, since the programme ran it, with nothing).
  const json s2 = getJsonChecked(hq, "/api/v1/reports/promotions?from=2026-11-01&to=2026-11-10&store=S2");
  REQUIRE(rowOf(s2, "spend300-off30"));
  CHECK(rowOf(s2, "spend300-off30")->at("sales") == 0);
  CHECK(rowOf(s2, "spend300-off30")->at("lift").at("vs_before").is_null());
  // Outside its schedule and without uptake: not listed.
  CHECK(getJsonChecked(hq, "/api/v1/reports/promotions?from=2026-12-01&to=2026-12-31").at("rows").empty());

  for (const char* bad : {"/api/v1/reports/promotions?to=2026-11-10", "/api/v1/reports/promotions?from=2026-11-01",
                          "/api/v1/reports/promotions?from=2026-11-31&to=2026-12-01"}) {
    auto res = hq.client()->Get(bad, bearer(hq.adminToken()));
    REQUIRE(res);
    INFO(bad << " " << res->body);
    CHECK(res->status == 400);
  }
  auto anonymous = hq.client()->Get("/api/v1/reports/promotions?from=2026-11-01&to=2026-11-10");
  REQUIRE(anonymous);
  CHECK(anonymous->status == 401);
}

TEMPLATE_TEST_CASE("promotions: the dashboard's editor checks, previews and publishes the programme to every terminal", "[hq]",
                   SqliteBackend, PostgresBackend) {
  HqInstance hq(TestType::kName);
  hq.start();
  const std::string terminal = hq.registerTerminal("S1", "T1");
  const auto cookie = dashboardSession(hq, hq.adminToken());
  auto page = hq.client()->Get("/dashboard/programme?lang=en", cookie);
  REQUIRE(page);
  REQUIRE(page->status == 200);
  CHECK(page->body.find("name=\"tier_name_3\" size=\"10\" value=\"platinum\"") != std::string::npos);  // the default tiers
  CHECK(page->body.find("data-key=\"refused\"") == std::string::npos);  // nothing was refused yet
  CHECK(page->body.find("data-key=\"published\"") == std::string::npos);
  const std::string csrf = hiddenCsrf(page->body);

  httplib::Params form = {{"csrf", csrf},
                          {"lang", "en"},
                          {"earn_points_per_unit", "1"},
                          {"redeem_points_per_unit", "100"},
                          {"tier_name_0", "member"},
                          {"tier_threshold_0", "0"},
                          {"tier_multiplier_0", "1.0"},
                          {"tier_name_1", "gold"},
                          {"tier_threshold_1", "5000"},
                          {"tier_multiplier_1", "1.5"},
                          {"promo_id_0", "spend300-off30"},
                          {"promo_kind_0", "spend_discount"},
                          {"promo_threshold_0", "300.00"},
                          {"promo_amount_0", "30.00"},
                          {"promo_from_0", "2026-11-01"},
                          {"promo_to_0", "2026-11-30"},
                          {"promo_id_1", ""},
                          {"promo_kind_1", ""},
                          {"preview_day", "2026-11-15"},
                          {"baskets", "A 1 350.00\nA 1 120.00"},
                          {"action", "check"}};
  // Checked: the preview is the terminal's planner (350 - 30 = 320, gold earns 1.5 × 320 = 480).
  auto checked = hq.client()->Post("/dashboard/programme", cookie, form);
  REQUIRE(checked);
  INFO(checked->body);
  REQUIRE(checked->status == 200);
  CHECK(checked->body.find("data-key=\"valid\"") != std::string::npos);
  CHECK(checked->body.find("<td>A 1 350.00</td><td>gold</td><td>¥350.00</td><td>¥30.00</td><td>¥320.00</td><td>480</td>") !=
        std::string::npos);
  CHECK(checked->body.find("<td>A 1 120.00</td><td>Non-member</td><td>¥120.00</td><td>¥0.00</td><td>¥120.00</td><td>—</td>") !=
        std::string::npos);
  CHECK(configsInFeed(hq, terminal).empty());  // checking publishes nothing

  // The reader's own refusal, naming the key, and nothing published.
  httplib::Params bad = form;
  bad.erase("promo_amount_0");
  bad.emplace("promo_amount_0", "300.01");
  bad.erase("action");
  bad.emplace("action", "publish");
  auto refused = hq.client()->Post("/dashboard/programme", cookie, bad);
  REQUIRE(refused);
  CHECK(refused->status == 400);
  CHECK(refused->body.find("amount: the discount is larger than the threshold") != std::string::npos);
  CHECK(refused->body.find("value=\"300.01\"") != std::string::npos);  // what was typed stays on the form
  CHECK(configsInFeed(hq, terminal).empty());

  form.erase("action");
  form.emplace("action", "publish");
  auto published = hq.client()->Post("/dashboard/programme", cookie, form);
  REQUIRE(published);
  CHECK(published->status == 303);
  CHECK(published->get_header_value("Location") == "/dashboard/programme?published=1");
  const auto feed = configsInFeed(hq, terminal);
  REQUIRE(feed.size() == 1);
  CHECK(feed[0].find("spend300-off30") != std::string::npos);
  CHECK(feed[0].find("gold") != std::string::npos);
  CHECK(feed[0].find("platinum") == std::string::npos);  // the removed tier
  auto after = hq.client()->Get("/dashboard/programme?published=1&lang=zh", cookie);
  REQUIRE(after);
  CHECK(after->body.find("已发布：程序版本 1") != std::string::npos);
  CHECK(after->body.find("value=\"spend300-off30\"") != std::string::npos);

  // Without the form's CSRF token nothing is published.
  httplib::Params forged = form;
  forged.erase("csrf");
  auto noCsrf = hq.client()->Post("/dashboard/programme", cookie, forged);
  REQUIRE(noCsrf);
  CHECK(noCsrf->status == 403);
  CHECK(configsInFeed(hq, terminal).size() == 1);
}

TEST_CASE("promotions: the editor and the results in headless Chromium", "[hq][chromium]") {
  REQUIRE(runCommand({"/bin/sh", "-c", "command -v chromium"}).first == 0);
  HqInstance hq("sqlite");
  hq.start();
  REQUIRE(putConfig(hq, kProgramme)->status == 200);
  const std::string t1 = hq.registerTerminal("S1", "T1"), t2 = hq.registerTerminal("S2", "T2");
  json e1 = json::array();
  e1.push_back(promoSale("T1", "S1", 1, std::nullopt, "100.00", "0.00", "100.00", 0, "2026-10-25T09:00:00Z", nullptr));
  e1.push_back(promoSale("T1", "S1", 2, std::nullopt, "300.00", "30.00", "270.00", 0, "2026-11-02T09:00:00Z",
                         json::array({{{"id", "spend300-off30"}, {"kind", "spend_discount"}, {"effect", "-30.00"}, {"discount", "30.00"}}})));
  upload(hq, t1, batch("T1", e1));
  json e2 = json::array();
  e2.push_back(promoSale("T2", "S2", 1, std::nullopt, "100.00", "0.00", "100.00", 0, "2026-10-25T10:00:00Z", nullptr));
  e2.push_back(promoSale("T2", "S2", 2, std::nullopt, "90.00", "0.00", "90.00", 0, "2026-11-04T10:00:00Z", nullptr));
  upload(hq, t2, batch("T2", e2));

  Http browser{hq, hq.adminToken()};
  const auto shot = [&](const std::string& page, const std::string& name) { return chromiumPage(browser, page, name, 1400, 1500); };
  const std::string editor = shot("/dashboard/programme?lang=zh&preview_day=2026-11-05", "programme-editor-zh");
  CHECK(editor.find("会员程序") != std::string::npos);
  CHECK(editor.find("样例购物篮预览") != std::string::npos);
  CHECK(editor.find("spend300-off30: -30.00") != std::string::npos);  // the 350 basket in the preview
  const std::string results = shot("/dashboard/promotions?lang=en&from=2026-11-01&to=2026-11-10", "promotion-results-en");
  CHECK(results.find("<h1>Promotions</h1>") != std::string::npos);
  CHECK(results.find("data-key=\"sales:spend300-off30\">1<") != std::string::npos);
  CHECK(results.find("data-key=\"discount:spend300-off30\">¥30.00<") != std::string::npos);
  CHECK(results.find("data-key=\"vs_before:spend300-off30\">+170.00 %<") != std::string::npos);
  CHECK(results.find("data-key=\"vs_without:spend300-off30\">+180.00 %<") != std::string::npos);
  const std::string resultsZh = shot("/dashboard/promotions?lang=zh&from=2026-11-01&to=2026-11-10", "promotion-results-zh");
  CHECK(resultsZh.find("较未参与门店增长差") != std::string::npos);
}
