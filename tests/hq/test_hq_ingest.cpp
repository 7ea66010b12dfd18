// Ingest per request: the events a batch repeats (inside itself or from an earlier batch) and
// the ones refused among valid ones are answered as one event at a time would answer them, on
// both backends; statements held back for one round trip (SqlConnection::exec) keep their order
// and fail their transaction.
#include "support/hq_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;

#define HQ_BACKENDS SqliteBackend, PostgresBackend

namespace {

json post(httplib::SSLClient& c, const json& body, const std::string& token) {
  auto res = c.Post("/api/v1/events", bearer(token), body.dump(), "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  return json::parse(res->body);
}

std::vector<std::string> statuses(const json& response) {
  std::vector<std::string> out;
  for (const auto& r : response.at("results")) out.push_back(r.at("status").get<std::string>());
  return out;
}

json member(httplib::SSLClient& c, const std::string& id, const std::string& token) {
  auto res = c.Get(("/api/v1/members/" + id).c_str(), bearer(token));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  return json::parse(res->body);
}

}  // namespace

TEMPLATE_TEST_CASE("ingest: repeats inside a batch and across batches, mixed with refused events", "[hq]", HQ_BACKENDS) {
  HqInstance hq(TestType::kName);
  hq.start();
  const std::string tok = hq.registerTerminal("S1", "T1");
  auto c = hq.client();

  // One batch: a sale sent twice (a duplicate of what this batch applied), once more with other
  // content (a conflict), an invalid payload (refused naming the field) and what follows it (a gap).
  json changed = saleEvent("T1", "S1", 2, "M1", "99.00", 99);
  json invalid = saleEvent("T1", "S1", 3, "M1", "1.00", 1);
  invalid["payload"]["total"] = 1.0;
  json r = post(*c,
                batch("T1", {enrolEvent("T1", "S1", 1, "M1"), saleEvent("T1", "S1", 2, "M1", "12.50", 12),
                             saleEvent("T1", "S1", 2, "M1", "12.50", 12), changed, invalid,
                             saleEvent("T1", "S1", 4, "M1", "2.00", 2)}),
                tok);
  CHECK(statuses(r) == std::vector<std::string>{"applied", "applied", "duplicate", "conflict", "rejected", "rejected"});
  CHECK(r.at("results")[4].at("reason").get<std::string>().find("payload.total") != std::string::npos);
  CHECK(r.at("results")[5].at("reason") == "gap");
  CHECK(r.at("acked_through") == 2);

  // The next batch repeats an applied event, fills the gap, and repeats one of its own.
  r = post(*c,
           batch("T1", {saleEvent("T1", "S1", 2, "M1", "12.50", 12), saleEvent("T1", "S1", 4, "M1", "2.00", 2),
                        saleEvent("T1", "S1", 3, "M1", "1.00", 1), saleEvent("T1", "S1", 3, "M1", "1.00", 1)}),
           tok);
  CHECK(statuses(r) == std::vector<std::string>{"duplicate", "applied", "applied", "duplicate"});
  CHECK(r.at("acked_through") == 4);

  // A batch longer than one look-up of stored events, sent twice: every repeat is a duplicate.
  json big = json::array();
  for (int seq = 5; seq <= 604; ++seq) big.push_back(saleEvent("T1", "S1", seq, seq % 2 ? std::optional<std::string>("M1") : std::nullopt, "1.00", 1));
  r = post(*c, batch("T1", big), tok);
  CHECK(r.at("acked_through") == 604);
  big.push_back(saleEvent("T1", "S1", 605, "M1", "1.00", 1));
  r = post(*c, batch("T1", big), tok);
  const auto s = statuses(r);
  CHECK(std::count(s.begin(), s.end(), "duplicate") == 600);
  CHECK(s.back() == "applied");
  CHECK(r.at("acked_through") == 605);

  // Applied once each: 12.50 + 1.00 + 2.00, and 301 one-yuan member sales of the long batches.
  const json m = member(*c, "M1", hq.adminToken());
  CHECK(m.at("balance") == 12 + 1 + 2 + 301);
  CHECK(m.at("lifetime_spend") == "316.50");
  auto sql = hq.sql();
  CHECK(sql->query("SELECT COUNT(*) FROM events").integer(0, 0) == 605);
  CHECK(sql->query("SELECT COUNT(*) FROM sales").integer(0, 0) == 604);
  CHECK(sql->query("SELECT COUNT(*) FROM event_conflicts").integer(0, 0) == 1);
  CHECK(sql->query("SELECT COUNT(*), SUM(points) FROM ledger WHERE member_id = 'M1'").integer(0, 1) == 316);
}

TEMPLATE_TEST_CASE("statements held back keep their order and fail their transaction", "[hq]", HQ_BACKENDS) {
  TempDir dir;
  std::unique_ptr<PgCluster> pg;
  std::unique_ptr<loyalty::hq::SqlConnection> c;
  if (std::string(TestType::kName) == "postgresql") {
    pg = std::make_unique<PgCluster>();
    c = loyalty::hq::openPostgres(pg->createDatabase("held"));
  } else {
    c = loyalty::hq::openSqlite(dir.str() + "/held.db");
  }
  c->execScript("CREATE TABLE t(id BIGINT PRIMARY KEY, v TEXT)");

  // Held back, then read in the same transaction: the read sees them, in order.
  c->beginWrite();
  for (std::int64_t i = 1; i <= 1500; ++i) c->exec("INSERT INTO t(id, v) VALUES ($1, $2)", {i, std::string("a")});
  c->exec("UPDATE t SET v = $2 WHERE id = $1", {std::int64_t{7}, std::string("b")});
  CHECK(c->query("SELECT v FROM t WHERE id = 7").text(0, 0) == "b");
  c->exec("DELETE FROM t WHERE id > $1", {std::int64_t{1000}});
  c->commit();
  CHECK(c->query("SELECT COUNT(*) FROM t").integer(0, 0) == 1000);

  // A failing statement among held-back ones fails the transaction at the latest at commit;
  // nothing of it stays, and the connection serves the next one.
  c->beginWrite();
  c->exec("INSERT INTO t(id, v) VALUES ($1, $2)", {std::int64_t{2000}, std::string("x")});
  bool failed = false;
  try {
    c->exec("INSERT INTO t(id, v) VALUES ($1, $2)", {std::int64_t{1}, std::string("duplicate key")});
    c->exec("INSERT INTO t(id, v) VALUES ($1, $2)", {std::int64_t{2001}, std::string("x")});
    c->commit();
  } catch (const loyalty::hq::SqlError&) {
    failed = true;
    c->rollback();
  }
  CHECK(failed);
  CHECK(c->query("SELECT COUNT(*) FROM t WHERE id >= 2000").integer(0, 0) == 0);
  c->beginWrite();
  c->exec("INSERT INTO t(id, v) VALUES ($1, $2)", {std::int64_t{3000}, std::string("y")});
  c->rollback();  // held back and never sent: nothing to undo
  c->beginWrite();
  c->exec("INSERT INTO t(id, v) VALUES ($1, $2)", {std::int64_t{3001}, std::string("z")});
  c->commit();
  CHECK(c->query("SELECT COUNT(*) FROM t WHERE id >= 3000").integer(0, 0) == 1);
}
