// Every member list comes in pages (issue 17): a report asked for without `limit` answers its
// first kListPageDefault rows (totals still count the whole list), a page larger than
// kListPageMax is refused by name, and an export without `limit` holds the whole list only up
// to kListPageMax rows: a longer one is refused naming `limit`, and its pages export.
#include <catch2/catch.hpp>

#include "dashboard_browser.hpp"
#include "loyalty/hq/aggregates.hpp"
#include "loyalty/hq/analytics.hpp"
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
