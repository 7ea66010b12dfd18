// Every member list comes in pages (issue 17): a report asked for without `limit` answers its
// first kListPageDefault rows (totals still count the whole list), a page larger than
// kListPageMax is refused by name, and an export without `limit` holds the whole list only up
// to kListPageMax rows: a longer one is refused naming `limit`, and its pages export.
#include <catch2/catch.hpp>

#include "dashboard_browser.hpp"
#include "loyalty/hq/aggregates.hpp"
#include "loyalty/hq/analytics.hpp"
#include "loyalty/hq/followups.hpp"
#include "loyalty/hq/sql.hpp"

using namespace loyalty::test;
using nlohmann::json;

namespace {

/// Members m0..m(n-1) enrolled at S1, all consenting; the first `buyers` with one sale each (a
/// different total each, so ABC ranks them): written in bulk SQL straight into the database.
void fillMembers(const std::string& file, std::int64_t n, std::int64_t buyers) {
  auto c = loyalty::hq::openSqlite(file);
  loyalty::hq::SqlTransaction tx(*c);
  c->execScript("INSERT INTO terminals(terminal_id, store_id, timezone, created_at) VALUES ('T1', 'S1', 'UTC', '2026-01-01T00:00:00Z')");
  c->execScript("WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n + 1 < " + std::to_string(n) +
                ") INSERT INTO members(member_id, enrolled, card_no, phone, name, consent_marketing, enrolled_at, enrolled_store, "
                "referrer_id, balance, change_no) SELECT 'm' || n, 1, '9' || n, '+86138' || n, 'Member ' || n, 1, "
                "'2026-01-02T08:00:00Z', 'S1', NULL, 0, 0 FROM g");
  c->execScript("WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n + 1 < " + std::to_string(buyers) +
                ") INSERT INTO sales(event_id, sale_id, terminal_id, store_id, member_id, at, day, subtotal, discount, total, "
                "points_earned, points_redeemed, lines) SELECT 'e' || n, 's' || n, 'T1', 'S1', 'm' || n, '2026-01-05T10:00:00Z', "
                "'2026-01-05', 100 + n, 0, 100 + n, 1, 0, 1 FROM g");
  loyalty::hq::rebuildAggregates(*c);
  tx.commit();
}

std::int64_t csvRows(const std::string& csv) {
  std::int64_t lines = 0;
  for (char ch : csv) lines += ch == '\n';
  return lines - 1;  // the header
}

}  // namespace

TEST_CASE("member lists: pages by default, a page over the most refused, exports whole up to it", "[hq][analytics]") {
  using loyalty::hq::kListPageDefault;
  using loyalty::hq::kListPageMax;
  HqInstance hq("sqlite");
  fillMembers(hq.dataDir() + "/hq.db", kListPageMax + 1, kListPageDefault + 200);
  hq.start();
  Http admin{hq, hq.adminToken()};

  // Without limit: the first page, the totals of the whole list.
  const json abc = admin.get("/api/v1/reports/abc?as_of=2026-02-01");
  CHECK(abc["members"].size() == static_cast<std::size_t>(kListPageDefault));
  CHECK(abc["members_total"] == kListPageDefault + 200);
  CHECK(abc["page"] == json{{"offset", 0}, {"limit", kListPageDefault}});
  CHECK(abc["members"][0]["member_id"] == "m" + std::to_string(kListPageDefault + 199));  // the biggest spender first
  const json campaign = admin.get("/api/v1/reports/campaign");
  CHECK(campaign["rows"].size() == static_cast<std::size_t>(kListPageDefault));
  CHECK(campaign["members"] == kListPageMax + 1);
  // The next page follows on.
  const json next = admin.get("/api/v1/reports/abc?as_of=2026-02-01&offset=1000&limit=1000");
  CHECK(next["members"].size() == 200);
  CHECK(next["members"][0]["member_id"] == "m199");

  // A page over the most: refused by name.
  for (const std::string& path : {"/api/v1/reports/campaign?limit=" + std::to_string(kListPageMax + 1),
                                 "/api/v1/exports/campaign.csv?limit=" + std::to_string(kListPageMax + 1)}) {
    auto r = hq.client()->Get(path.c_str(), bearer(hq.adminToken()));
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(r->body.find("limit") != std::string::npos);
  }

  // Exports: the whole list when it fits in a page's most, else refused naming limit; then in pages.
  CHECK(csvRows(admin.raw("/api/v1/exports/abc.csv?as_of=2026-02-01")) == kListPageDefault + 200);
  auto whole = hq.client()->Get("/api/v1/exports/campaign.csv", bearer(hq.adminToken()));
  REQUIRE(whole);
  CHECK(whole->status == 400);
  CHECK(whole->body.find("limit") != std::string::npos);
  CHECK(whole->body.find("offset") != std::string::npos);
  CHECK(csvRows(admin.raw("/api/v1/exports/campaign.csv?limit=" + std::to_string(kListPageMax))) == kListPageMax);
  CHECK(csvRows(admin.raw("/api/v1/exports/campaign.csv?limit=" + std::to_string(kListPageMax) + "&offset=" +
                          std::to_string(kListPageMax))) == 1);
}

TEST_CASE("row reports (sales by product, staff, complaints, satisfaction) and the follow-ups export come in pages too",
          "[hq][analytics]") {
  using loyalty::hq::kListPageDefault;
  using loyalty::hq::kListPageMax;
  HqInstance hq("sqlite");
  const std::string file = hq.dataDir() + "/hq.db";
  fillMembers(file, kListPageMax + 1, kListPageDefault + 200);
  {
    // A product for every member, every sale by a staff member of its own, complaints, a
    // follow-up for every member.
    auto c = loyalty::hq::openSqlite(file);
    loyalty::hq::SqlTransaction tx(*c);
    c->execScript("UPDATE sales SET staff_id = 'st' || sale_id");
    c->execScript("INSERT INTO agg_product(day, store_id, sku, description, sales, qty, amount) SELECT '2026-01-05', 'S1', "
                  "'sku' || substr(member_id, 2), 'item', 1, 1, 100 + CAST(substr(member_id, 2) AS INTEGER) FROM members");
    c->execScript("WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n + 1 < 1050) INSERT INTO "
                  "complaint_cases(complaint_id, source, store_id, category, description, filed_at, step, updated_at, history_count) "
                  "SELECT 'C' || n, 'hq', 'S1', 'service', 'slow', '2026-01-06T10:00:00Z', 'received', '2026-01-06T10:00:00Z', 0 FROM g");
    loyalty::hq::ensureFollowupSchema(*c);
    c->execScript("INSERT INTO followups(followup_id, member_id, store_id, class, month, slot, due, channel, status, created_at) "
                  "SELECT 'f' || member_id, member_id, 'S1', 'A', '2026-02', 1, '2026-02-10', 'phone', 'due', '2026-02-01T00:00:00Z' "
                  "FROM members");
    tx.commit();
  }
  hq.start();
  Http admin{hq, hq.adminToken()};
  const auto and_ = [](const std::string& path) { return path + (path.find('?') == std::string::npos ? "?" : "&"); };

  // Without limit: every row up to the most a page holds, and how many there are.
  const json products = admin.get("/api/v1/reports/sales?group=product");
  CHECK(products["rows"].size() == static_cast<std::size_t>(kListPageMax));
  CHECK(products["rows_total"] == kListPageMax + 1);
  CHECK(products["page"] == json{{"offset", 0}, {"limit", kListPageMax}});
  CHECK(products["rows"][0]["product"] == "sku" + std::to_string(kListPageMax));  // the biggest first, as before
  CHECK(admin.get("/api/v1/reports/sales?group=product&offset=" + std::to_string(kListPageMax))["rows"][0]["product"] == "sku0");
  for (const auto& [path, rows] : std::vector<std::pair<std::string, std::int64_t>>{
           {"/api/v1/reports/sales?group=product", kListPageMax + 1},
           {"/api/v1/reports/staff", kListPageDefault + 201},  // and the enrolments with no staff member
           {"/api/v1/reports/complaints", 1050}}) {
    INFO(path);
    const json first = admin.get(and_(path) + "limit=1000");
    CHECK(first["rows"].size() == 1000);
    CHECK(first["rows_total"] == rows);
    CHECK(first["page"] == json{{"offset", 0}, {"limit", 1000}});
    const json last = admin.get(and_(path) + "offset=" + std::to_string(rows - 3) + "&limit=1000");
    CHECK(last["rows"].size() == 3);
    CHECK(last["rows"][0] == admin.get(and_(path) + "offset=" + std::to_string(rows - 3) + "&limit=1")["rows"][0]);
  }
  CHECK(admin.get("/api/v1/reports/staff")["rows"].size() == static_cast<std::size_t>(kListPageDefault + 201));
  CHECK(admin.get("/api/v1/reports/complaints?limit=1")["total"] == 1050);  // its own totals count them all
  const json satisfaction = admin.get("/api/v1/reports/satisfaction?period=day");
  CHECK(satisfaction["rows_total"] == 0);
  CHECK(satisfaction["page"]["limit"] == kListPageMax);
  // A kept result (max_age) is paged the same.
  CHECK(admin.get("/api/v1/reports/staff?max_age=600&limit=7")["rows"].size() == 7);
  const json kept = admin.get("/api/v1/reports/sales?group=product&max_age=600");
  CHECK(kept["rows"].size() == static_cast<std::size_t>(kListPageMax));
  CHECK(kept["rows_total"] == kListPageMax + 1);

  // Exports: a page when `limit` is given (it was the whole list whatever the limit), else the
  // whole list up to the most a page holds, a longer one refused naming limit.
  CHECK(csvRows(admin.raw("/api/v1/exports/sales.csv?group=product&limit=5")) == 5);
  CHECK(csvRows(admin.raw("/api/v1/exports/complaints.csv?limit=3&offset=1048")) == 2);
  CHECK(csvRows(admin.raw("/api/v1/exports/staff.csv")) == kListPageDefault + 201);
  auto products_csv = hq.client()->Get("/api/v1/exports/sales.csv?group=product", bearer(hq.adminToken()));
  REQUIRE(products_csv);
  CHECK(products_csv->status == 400);
  CHECK(products_csv->body.find("limit") != std::string::npos);

  // The follow-ups' export: refused by name over the most, then in pages.
  auto whole = hq.client()->Get("/api/v1/followups/export.csv?from=2026-02-01&to=2026-02-28", bearer(hq.adminToken()));
  REQUIRE(whole);
  CHECK(whole->status == 400);
  CHECK(whole->body.find("limit") != std::string::npos);
  CHECK(csvRows(admin.raw("/api/v1/followups/export.csv?from=2026-02-01&to=2026-02-28&limit=" + std::to_string(kListPageMax))) ==
        kListPageMax);
  CHECK(csvRows(admin.raw("/api/v1/followups/export.csv?from=2026-02-01&to=2026-02-28&offset=" + std::to_string(kListPageMax))) == 1);
}
