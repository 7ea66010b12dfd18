// PostgreSQL's storage settings of head office's tables (hq/src/sql.cpp keepRoomForUpdates,
// aggregates.cpp keepRoomInAggregates): set at creation, given back at start to a database that
// lacks them, and checked in one catalogue statement, on a test-started PostgreSQL.
#include <catch2/catch.hpp>
#include <map>
#include <stdexcept>

#include "loyalty/hq/aggregates.hpp"
#include "loyalty/hq/local_time.hpp"
#include "loyalty/hq/store.hpp"
#include "support/hq_fixture.hpp"

using namespace loyalty::hq;
using loyalty::test::PgCluster;

namespace {

/// A real connection that counts what goes through it.
class CountingConnection final : public SqlConnection {
 public:
  explicit CountingConnection(SqlConnection& c) : m_c(c) {}
  std::string_view backend() const override { return m_c.backend(); }
  void execScript(std::string_view sql) override {
    ++scripts;
    m_c.execScript(sql);
  }
  SqlRows query(std::string_view sql, const std::vector<SqlValue>& params) override {
    ++queries;
    return m_c.query(sql, params);
  }
  bool hasTable(std::string_view name) override { return m_c.hasTable(name); }
  void beginWrite() override { m_c.beginWrite(); }
  void beginRead() override { m_c.beginRead(); }
  void commit() override { m_c.commit(); }
  void rollback() noexcept override { m_c.rollback(); }
  int scripts = 0, queries = 0;

 private:
  SqlConnection& m_c;
};

/// The fillfactor each table is created with ("" when none is set).
std::map<std::string, std::string> fillfactors(SqlConnection& c) {
  std::map<std::string, std::string> out;
  const auto r = c.query(
      "SELECT t.name, COALESCE((SELECT o FROM unnest(k.reloptions) AS o WHERE o LIKE 'fillfactor=%'), '') "
      "FROM unnest(CAST($1 AS TEXT[])) AS t(name) JOIN pg_class k ON k.oid = to_regclass(t.name)",
      {std::string("{agg_member,agg_sales,agg_product,agg_points,agg_enrolment,agg_cohort,agg_member_month,agg_member_store}")});
  for (std::size_t i = 0; i < r.size(); ++i) out[r.text(i, 0)] = r.text(i, 1);
  return out;
}

}  // namespace

TEST_CASE("upgrade (PostgreSQL): the pre-aggregates keep room for HOT updates, given back at start in one catalogue statement", "[hq]") {
  PgCluster cluster;
  const std::string dsn = cluster.createDatabase("hq");
  HqStore(openPostgres(dsn)).createSchema(nowSeconds());
  auto c = openPostgres(dsn);
  const std::map<std::string, std::string> kept = {
      {"agg_member", "fillfactor=80"}, {"agg_sales", "fillfactor=80"},     {"agg_product", "fillfactor=80"},
      {"agg_points", "fillfactor=80"}, {"agg_enrolment", "fillfactor=80"}, {"agg_cohort", "fillfactor=80"},
      // Their keys carry every column: each update is a new index entry whatever the room.
      {"agg_member_month", ""},        {"agg_member_store", ""}};
  CHECK(fillfactors(*c) == kept);

  // One cluster for the three steps (each SECTION would start its own).
  {
    INFO("a database that has them: one statement, nothing altered");
    CountingConnection counted(*c);
    keepRoomInAggregates(counted);
    CHECK(counted.queries == 1);
    CHECK(counted.scripts == 0);
  }
  {
    INFO("a database of an earlier release: only the tables that lack it are altered, at start");
    c->execScript("ALTER TABLE agg_product RESET (fillfactor); ALTER TABLE agg_cohort SET (fillfactor = 100)");
    {
      CountingConnection counted(*c);
      keepRoomInAggregates(counted);
      CHECK(counted.queries == 1);
      CHECK(counted.scripts == 2);
    }
    CHECK(fillfactors(*c) == kept);
    c->execScript("ALTER TABLE agg_product RESET (fillfactor)");
    HqStore(openPostgres(dsn)).checkSchema();
    CHECK(fillfactors(*c) == kept);
  }
  {
    INFO("tables that do not exist are passed over; a name that is not a plain table name is refused");
    CountingConnection counted(*c);
    keepRoomForUpdates(counted, {"agg_nothing_here"}, 80);
    CHECK(counted.scripts == 0);
    CHECK_THROWS_AS(keepRoomForUpdates(counted, {"agg_member; DROP TABLE members"}, 80), std::logic_error);
    CHECK(c->hasTable("members"));
  }
}
