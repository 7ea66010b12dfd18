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

TEMPLATE_TEST_CASE("ingest: U+0000 in any string of a payload is refused naming it, and head office's JSON reads go on", "[hq]",
                   HQ_BACKENDS) {
  // PostgreSQL holds U+0000 in neither text nor JSON: one stored payload with it failed every
  // JSON read of the events table there (each member's export, satisfaction, complaints).
  HqInstance hq(TestType::kName);
  hq.start();
  const std::string tok = hq.registerTerminal("S1", "T1");
  auto c = hq.client();
  const std::string nul("a\0b", 3);
  const auto event = [](std::int64_t seq, const std::string& type, json payload) {
    payload["store_id"] = "S1";
    payload["terminal_id"] = "T1";
    return json{{"event_id", "T1-e" + std::to_string(seq) + "-" + type}, {"seq", seq}, {"type", type},
                {"at", "2026-11-23T09:30:00Z"}, {"payload", std::move(payload)}};
  };
  const json survey = {{"survey_id", "V1"}, {"sale_id", nullptr}, {"member_id", "M1"}, {"scale", "csat5"}, {"score", 4}};
  json withNote = survey;
  withNote["note"] = nul;  // a field no decoder reads, stored as sent
  json r = post(*c, batch("T1", {enrolEvent("T1", "S1", 1, "M1"), event(2, "survey.answered", withNote), event(3, "survey.answered", survey)}),
                tok);
  CHECK(statuses(r) == std::vector<std::string>{"applied", "rejected", "rejected"});
  CHECK(r.at("results")[1].at("reason") == "invalid: payload.note: payload.note holds the character U+0000, which head office cannot store");
  CHECK(r.at("results")[2].at("reason") == "gap");
  // An applied event sent again with other content holding it: refused, not kept as a conflict.
  json again = enrolEvent("T1", "S1", 1, "M1");
  again["payload"]["name"] = nul;
  r = post(*c, batch("T1", {again}), tok);
  CHECK_THAT(r.at("results")[0].at("reason").get<std::string>(), Catch::StartsWith("invalid: payload.name: "));
  CHECK(hq.sql()->query("SELECT COUNT(*) FROM event_conflicts").integer(0, 0) == 0);

  json sale = saleEvent("T1", "S1", 3, std::string("M1"), "5.00", 5);
  sale["payload"]["lines"][0]["description"] = nul;
  json unknown = event(3, "shelf.scanned", {{"codes", json::array({json::object({{nul, 1}})})}});
  r = post(*c, batch("T1", {event(2, "survey.answered", survey), sale}), tok);
  CHECK(statuses(r) == std::vector<std::string>{"applied", "rejected"});
  CHECK_THAT(r.at("results")[1].at("reason").get<std::string>(), Catch::StartsWith("invalid: payload.lines[0].description: "));
  r = post(*c, batch("T1", {unknown}), tok);
  CHECK_THAT(r.at("results")[0].at("reason").get<std::string>(), Catch::StartsWith("invalid: payload.codes[0].a\\u0000b: "));
  r = post(*c,
           batch("T1", {event(3, "complaint.filed", {{"complaint_id", "C1"}, {"member_id", "M1"}, {"category", "service"},
                                                     {"description", "slow"}, {"staff_id", nullptr}})}),
           tok);
  CHECK(statuses(r) == std::vector<std::string>{"applied"});
  CHECK(r.at("acked_through") == 3);
  CHECK(hq.sql()->query("SELECT COUNT(*) FROM events").integer(0, 0) == 3);

  // As an earlier release could store it: a complaint's payload holding U+0000. On PostgreSQL its
  // fields read as NULL in SQL (it is not imported), where its cast failed every read of complaints.
  hq.sql()->query("INSERT INTO events(event_id, terminal_id, seq, type, at, payload, fingerprint, received_at, known) VALUES "
                  "('T1-old', 'T1', 999, 'complaint.filed', '2026-11-23T09:00:00Z', $1, 'f', '2026-11-23T09:00:00Z', 1)",
                  {std::string(R"({"category":"service","complaint_id":"C0","description":"a\u0000b","member_id":"M1",)"
                               R"("staff_id":"st1","store_id":"S1","terminal_id":"T1"})")});
  for (const char* path : {"/api/v1/reports/complaints?from=2026-11-01&to=2026-11-30", "/api/v1/reports/staff?from=2026-11-01&to=2026-11-30",
                           "/api/v1/complaints/C1"}) {
    INFO(path);
    getJsonChecked(hq, path);
  }

  // What reads the events' JSON answers.
  const json doc = getJsonChecked(hq, "/api/v1/members/M1/export");
  CHECK(doc.at("surveys").size() == 1);
  CHECK(doc.at("complaints").size() == (std::string_view(TestType::kName) == "sqlite" ? 2 : 1));
  CHECK(getJsonChecked(hq, "/api/v1/reports/satisfaction?from=2026-11-01&to=2026-11-30").at("total").at("csat_responses") == 1);
  getJsonChecked(hq, "/api/v1/reports/complaint-handling?from=2026-11-01&to=2026-11-30");

  // Head office's own JSON requests refuse it with 400, naming the field.
  auto res = c->Put("/api/v1/admin/config", bearer(hq.adminToken()), json{{"toml", nul}}.dump(), "application/json");
  REQUIRE(res);
  CHECK(res->status == 400);
  CHECK_THAT(res->body, Catch::Contains("toml holds the character U+0000"));
  res = c->Post("/api/v1/complaints/C1/satisfaction", bearer(hq.adminToken()), json{{"score", 4}, {"note", nul}}.dump(),
                "application/json");
  REQUIRE(res);
  CHECK(res->status == 400);
  CHECK_THAT(res->body, Catch::Contains("note holds the character U+0000"));
}

TEMPLATE_TEST_CASE("requests: U+0000 in a query's or a form's field is refused naming it, and nothing is stored", "[hq]", HQ_BACKENDS) {
  // libpq cuts a text parameter at U+0000 (PostgreSQL holds none): a form's value holding it was
  // stored cut short there, where SQLite stored it whole.
  HqInstance hq(TestType::kName);
  hq.start();
  auto c = hq.client();
  // A query's field, on any route, before its handler.
  auto res = c->Get("/api/v1/reports/summary?from=2026-11-01&to=2026-11-30&store=S%001", bearer(hq.adminToken()));
  REQUIRE(res);
  CHECK(res->status == 400);
  CHECK_THAT(res->body, Catch::Contains("store holds the character U+0000"));
  res = c->Get("/api/v1/reports/summary?from=2026-11-01&to=2026-11-30&st%00re=S1", bearer(hq.adminToken()));
  REQUIRE(res);
  CHECK(res->status == 400);
  CHECK_THAT(res->body, Catch::Contains("st\\\\u0000re holds the character U+0000"));
  res = c->Get("/dashboard/login?next=%2Fdashboard%00");  // a route that checks no credential
  REQUIRE(res);
  CHECK(res->status == 400);
  CHECK_THAT(res->body, Catch::Contains("next holds the character U+0000"));
  // A path's id (libpq would have cut "C1%00x" to the complaint C1).
  res = c->Post("/api/v1/complaints/C1%00x", bearer(hq.adminToken()), R"({"step": "acknowledged"})", "application/json");
  REQUIRE(res);
  CHECK(res->status == 400);
  CHECK_THAT(res->body, Catch::Contains("the path holds the character U+0000"));

  // A dashboard form's field (the body, read once its handler runs).
  const httplib::Headers cookie = dashboardSession(hq, hq.adminToken());
  auto page = c->Get("/dashboard/outreach?lang=en", cookie);
  REQUIRE(page);
  REQUIRE(page->status == 200);
  const std::string csrf = hiddenCsrf(page->body);
  const auto save = [&](const std::string& body) {
    return c->Post("/dashboard/outreach/templates", cookie, "csrf=" + csrf + "&lang=en&kind=birthday&language=en&body=" + body,
                   "application/x-www-form-urlencoded");
  };
  res = save("Happy+birthday%00+{opt_out}");
  REQUIRE(res);
  CHECK(res->status == 400);
  CHECK_THAT(res->body, Catch::Contains("body holds the character U+0000"));
  CHECK(hq.sql()->query("SELECT COUNT(*) FROM outreach_templates").integer(0, 0) == 0);
  res = save("Happy+birthday+{opt_out}");  // the same form without it is saved
  REQUIRE(res);
  CHECK(res->status == 303);
  CHECK(hq.sql()->query("SELECT body FROM outreach_templates").text(0, 0) == "Happy birthday {opt_out}");

  // The sign-in form, before any account is looked up.
  auto login = c->Get("/dashboard/login");
  REQUIRE(login);
  const std::string loginCsrf = hiddenCsrf(login->body);
  httplib::Headers withCookie = {{"Cookie", "lhq_login_csrf=" + setCookieValue(login, "lhq_login_csrf")}};
  res = c->Post("/dashboard/login", withCookie, "csrf=" + loginCsrf + "&user=admin%00x&password=whatever", "application/x-www-form-urlencoded");
  REQUIRE(res);
  CHECK(res->status == 400);
  CHECK_THAT(res->body, Catch::Contains("user holds the character U+0000"));
}
