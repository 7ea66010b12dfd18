// Member list pages bind LIMIT and OFFSET as parameters: every page of a report is the same SQL
// text (PostgreSQL prepares each distinct text once and keeps it; a text per page value grew
// that cache without end), and the pages still hold the right members.
#include <catch2/catch.hpp>

#include <set>

#include "analytics_backends.hpp"
#include "analytics_data.hpp"

using loyalty::hq::SqlConnection;
using loyalty::hq::SqlRows;
using loyalty::hq::SqlValue;
using nlohmann::json;

namespace {

/// A real connection that also keeps the text of every statement it ran.
class RecordingConnection final : public SqlConnection {
 public:
  RecordingConnection(std::unique_ptr<SqlConnection> inner, std::set<std::string>& texts)
      : m_inner(std::move(inner)), m_texts(texts) {}
  std::string_view backend() const override { return m_inner->backend(); }
  void execScript(std::string_view sql) override { m_inner->execScript(sql); }
  SqlRows query(std::string_view sql, const std::vector<SqlValue>& params) override {
    m_texts.insert(std::string(sql));
    return m_inner->query(sql, params);
  }
  bool hasTable(std::string_view name) override { return m_inner->hasTable(name); }
  void beginWrite() override { m_inner->beginWrite(); }
  void beginRead() override { m_inner->beginRead(); }
  void beginReadScratch() override { m_inner->beginReadScratch(); }
  void commit() override { m_inner->commit(); }
  void rollback() noexcept override { m_inner->rollback(); }

 private:
  std::unique_ptr<SqlConnection> m_inner;
  std::set<std::string>& m_texts;
};

void pagesOn(std::unique_ptr<SqlConnection> connection) {
  std::set<std::string> texts;
  loyalty::test::AnalyticsData d(std::make_unique<RecordingConnection>(std::move(connection), texts));
  d.terminal("T1", "S1");
  for (int i = 0; i < 12; ++i) {
    const std::string m = "m" + std::to_string(10 + i);
    d.member(m, "2026-01-02T08:00:00Z", "S1", true, i > 0 ? std::optional<std::string>("m10") : std::nullopt);
    d.sale("T1", "S1", m, "2026-01-0" + std::to_string(3 + i % 5) + "T10:00:00Z", 1000 + 100 * i);
  }
  loyalty::hq::Reports reports(d.sql());
  const auto run = [&](std::int64_t limit, std::int64_t offset) {
    loyalty::hq::ReportFilter f;
    f.limit = limit;
    f.offset = offset;
    texts.clear();
    json out = {reports.abc(f, "2026-02-01"), reports.rfm(f, "2026-02-01"), reports.churn(f, "2026-06-01", 30),
                reports.referrals(f), reports.campaignMembers(f)};
    return std::pair{texts, out};
  };
  const auto [first, page1] = run(2, 0);
  const auto [later, page3] = run(3, 7);
  CHECK(first == later);  // one text for every page
  const auto [open, rest] = run(-1, 5);
  const auto [whole, all] = run(-1, 0);
  // The pages are the right slices: ABC members ranked by spend, campaign members by id.
  REQUIRE(all[0]["members"].size() == 12);
  CHECK(page1[0]["members"] == json::array({all[0]["members"][0], all[0]["members"][1]}));
  CHECK(page3[0]["members"].size() == 3);
  CHECK(page3[0]["members"][0] == all[0]["members"][7]);
  CHECK(page3[4]["rows"][2] == all[4]["rows"][9]);
  CHECK(rest[4]["rows"].size() == 7);  // no limit, from the sixth
  CHECK(page3[4]["members"] == 12);
}

}  // namespace

TEST_CASE("member pages bind LIMIT and OFFSET: one SQL text for every page, on SQLite", "[analytics]") {
  loyalty::test::SqliteFile db;
  pagesOn(db.open());
}

TEST_CASE("member pages bind LIMIT and OFFSET: one SQL text for every page, on PostgreSQL", "[analytics][postgresql]") {
  pagesOn(loyalty::test::sharedPostgres().fresh());
}
