// loyalty-hq driven as a real process over HTTPS on 127.0.0.1; every behaviour runs against
// SQLite and against a PostgreSQL the test starts itself.
#include "metrics_text.hpp"
#include "support/hq_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;

#define HQ_BACKENDS SqliteBackend, PostgresBackend

namespace {

json postJson(httplib::SSLClient& c, const std::string& path, const json& body, const std::string& token, int expect) {
  auto res = c.Post(path.c_str(), bearer(token), body.dump(), "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == expect);
  return json::parse(res->body);
}

json getJson(httplib::SSLClient& c, const std::string& path, const std::string& token, int expect = 200) {
  auto res = c.Get(path.c_str(), bearer(token));
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == expect);
  return json::parse(res->body);
}

std::vector<std::string> statuses(const json& response) {
  std::vector<std::string> out;
  for (const auto& r : response.at("results")) out.push_back(r.at("status").get<std::string>());
  return out;
}

/// Pulls every page; returns the changes and the last page.
std::pair<json, json> pullAll(httplib::SSLClient& c, const std::string& token, int limit = 2) {
  json all = json::array();
  std::string cursor;
  json page;
  for (int guard = 0; guard < 1000; ++guard) {
    page = getJson(c, "/api/v1/changes?limit=" + std::to_string(limit) + "&cursor=" + cursor, token);
    for (const auto& ch : page.at("changes")) all.push_back(ch);
    cursor = page.at("next_cursor").get<std::string>();
    if (!page.at("has_more").get<bool>()) break;
  }
  return {all, page};
}

/// Every field of `expected` is in `actual` with the same value (the analytics reports add
/// fields to the protocol's shapes, never change them).
bool hasFields(const json& actual, const json& expected) {
  for (const auto& [k, v] : expected.items()) {
    if (!actual.contains(k) || actual.at(k) != v) return false;
  }
  return true;
}

json surveyEvent(const std::string& terminal, const std::string& store, std::int64_t seq, const std::string& at,
                 const std::string& scale, std::int64_t score) {
  return {{"event_id", terminal + "-e" + std::to_string(seq)}, {"seq", seq}, {"type", "survey.answered"}, {"at", at},
          {"payload", {{"survey_id", terminal + "-v" + std::to_string(seq)}, {"sale_id", nullptr}, {"member_id", nullptr},
                       {"scale", scale}, {"score", score}, {"store_id", store}, {"terminal_id", terminal}}}};
}

json memberChange(const json& changes, const std::string& id) {
  json found;
  for (const auto& c : changes) {
    if (c.at("type") == "member" && c.at("member").at("member_id") == id) found = c;
  }
  return found;
}

}  // namespace

TEMPLATE_TEST_CASE("a registration code works once and expires", "[hq]", HQ_BACKENDS) {
  HqInstance hq(TestType::kName);
  hq.start();
  const std::string code = hq.addTerminal("S1", "T1");
  auto c = hq.client();
  auto first = c->Post("/api/v1/register", json{{"code", code}}.dump(), "application/json");
  REQUIRE(first);
  REQUIRE(first->status == 200);
  const json reg = json::parse(first->body);
  CHECK(reg.at("terminal_id") == "T1");
  CHECK(reg.at("store_id") == "S1");
  CHECK(reg.at("timezone") == "UTC");
  auto again = c->Post("/api/v1/register", json{{"code", code}}.dump(), "application/json");
  REQUIRE(again);
  CHECK(again->status == 401);
  CHECK(again->get_header_value("Content-Type") == "application/problem+json");
  CHECK(json::parse(again->body).at("detail").get<std::string>().find("already used") != std::string::npos);

  const std::string late = hq.addTerminal("S1", "T2");
  hq.sql()->query("UPDATE registration_codes SET expires_at = '2000-01-01T00:00:00Z' WHERE terminal_id = 'T2'");
  auto expired = c->Post("/api/v1/register", json{{"code", late}}.dump(), "application/json");
  REQUIRE(expired);
  CHECK(expired->status == 401);
  CHECK(json::parse(expired->body).at("detail").get<std::string>().find("expired") != std::string::npos);

  auto garbage = c->Post("/api/v1/register", "{\"code\": 12", "application/json");
  REQUIRE(garbage);
  CHECK(garbage->status == 400);
  CHECK(json::parse(garbage->body).at("type") == "https://loyalty.invalid/problems/bad_request");

  // A terminal in another store cannot be taken over by re-adding it there.
  hq.cli({"terminal", "add", "--data", hq.dataDir(), "--store", "S2", "--terminal", "T1"}, 1);
}

TEMPLATE_TEST_CASE("tokens are bound to one terminal and can be revoked", "[hq]", HQ_BACKENDS) {
  HqInstance hq(TestType::kName);
  hq.start();
  const std::string t1 = hq.registerTerminal("S1", "T1");
  const std::string t2 = hq.registerTerminal("S1", "T2");
  auto c = hq.client();
  const json mine = batch("T1", {enrolEvent("T1", "S1", 1, "M1")});
  postJson(*c, "/api/v1/events", mine, "not-a-token", 401);
  const json other = postJson(*c, "/api/v1/events", mine, t2, 403);
  CHECK(other.at("detail").get<std::string>().find("T2") != std::string::npos);
  CHECK(postJson(*c, "/api/v1/events", mine, t1, 200).at("acked_through") == 1);

  // A terminal token cannot read reports; an analyst token cannot upload.
  getJson(*c, "/api/v1/reports/summary", t1, 403);
  const std::string analyst = hq.cli({"token", "create", "--data", hq.dataDir(), "--role", "analyst"});
  postJson(*c, "/api/v1/events", mine, analyst, 403);
  CHECK(getJson(*c, "/api/v1/reports/summary", analyst).at("members") == 0);

  hq.cli({"terminal", "revoke", "--data", hq.dataDir(), "--terminal", "T1"});
  postJson(*c, "/api/v1/events", batch("T1", {saleEvent("T1", "S1", 2, "M1", "1.00", 1)}), t1, 401);
  getJson(*c, "/api/v1/changes", t1, 401);
  // The other terminal is untouched.
  CHECK(postJson(*c, "/api/v1/events", batch("T2", {saleEvent("T2", "S1", 1, "M1", "2.00", 2)}), t2, 200).at("acked_through") == 1);
  hq.cli({"terminal", "revoke", "--data", hq.dataDir(), "--terminal", "T9"}, 1);
}

TEMPLATE_TEST_CASE("ingest is idempotent, keeps conflicts and refuses gaps", "[hq]", HQ_BACKENDS) {
  HqInstance hq(TestType::kName);
  hq.start();
  const std::string tok = hq.registerTerminal("S1", "T1");
  auto c = hq.client();
  const json events = {enrolEvent("T1", "S1", 1, "M1"), saleEvent("T1", "S1", 2, "M1", "12.50", 12)};
  auto r = postJson(*c, "/api/v1/events", batch("T1", events), tok, 200);
  CHECK(statuses(r) == std::vector<std::string>{"applied", "applied"});
  CHECK(r.at("acked_through") == 2);

  // Resent (a lost response): duplicates change nothing.
  r = postJson(*c, "/api/v1/events", batch("T1", events), tok, 200);
  CHECK(statuses(r) == std::vector<std::string>{"duplicate", "duplicate"});

  // Same event id, other content: conflict, kept for review; same seq, other id: conflict.
  json changed = events[1];
  changed["payload"]["total"] = "99.00";
  json stolenSeq = saleEvent("T1", "S1", 2, "M1", "1.00", 1);
  stolenSeq["event_id"] = "other-id";
  r = postJson(*c, "/api/v1/events", batch("T1", {changed, stolenSeq}), tok, 200);
  CHECK(statuses(r) == std::vector<std::string>{"conflict", "conflict"});
  CHECK(hq.sql()->query("SELECT COUNT(*) FROM event_conflicts").integer(0, 0) == 2);

  // A gap is rejected and resent later; re-ordered batches still apply.
  r = postJson(*c, "/api/v1/events", batch("T1", {saleEvent("T1", "S1", 5, "M1", "1.00", 1)}), tok, 200);
  CHECK(statuses(r) == std::vector<std::string>{"rejected"});
  CHECK(r.at("results")[0].at("reason") == "gap");
  CHECK(r.at("acked_through") == 2);
  r = postJson(*c, "/api/v1/events",
               batch("T1", {saleEvent("T1", "S1", 5, "M1", "1.00", 1), saleEvent("T1", "S1", 4, "M1", "1.00", 1),
                            saleEvent("T1", "S1", 3, "M1", "1.00", 1)}),
               tok, 200);
  CHECK(statuses(r) == std::vector<std::string>{"applied", "applied", "applied"});
  CHECK(r.at("acked_through") == 5);

  // Unknown types are stored, not dropped.
  json future = {{"event_id", "T1-e6"}, {"seq", 6}, {"type", "loyalty.future"}, {"at", "2026-11-23T11:00:00Z"}, {"payload", {{"x", 1}}}};
  CHECK(statuses(postJson(*c, "/api/v1/events", batch("T1", {future}), tok, 200)) == std::vector<std::string>{"applied"});

  // An invalid payload is rejected naming the field, and blocks nothing else silently.
  json bad = saleEvent("T1", "S1", 7, "M1", "1.00", 1);
  bad["payload"]["total"] = 1.0;
  r = postJson(*c, "/api/v1/events", batch("T1", {bad}), tok, 200);
  CHECK(r.at("results")[0].at("status") == "rejected");
  CHECK(r.at("results")[0].at("reason").get<std::string>().find("payload.total") != std::string::npos);

  const json member = getJson(*c, "/api/v1/members/M1", hq.adminToken());
  CHECK(member.at("balance") == 15);
  CHECK(member.at("lifetime_spend") == "15.50");
  const json summary = getJson(*c, "/api/v1/reports/summary", hq.adminToken());
  CHECK(hasFields(summary, {{"sales", 4}, {"net_revenue", "15.50"}, {"members", 1}, {"member_sales", 4}, {"member_revenue", "15.50"}}));
  const std::string metrics = c->Get("/metrics", bearer(hq.adminToken()))->body;
  CHECK(metrics.find("loyalty_hq_unknown_events 1") != std::string::npos);
  CHECK(metrics.find("loyalty_hq_events_total{status=\"duplicate\"} 2") != std::string::npos);
  // Every upload timed (a histogram per route), every one through the writer lane.
  const auto value = [&](const std::string& key) { return loyalty::test::metricValue(metrics, key); };
  const double uploads = value("loyalty_hq_http_requests_total{route=\"/api/v1/events\",status=\"200\"}");
  CHECK(uploads >= 6);
  CHECK(value("loyalty_hq_request_duration_seconds_count{route=\"/api/v1/events\"}") == uploads);
  CHECK(value("loyalty_hq_request_duration_seconds_bucket{route=\"/api/v1/events\",le=\"+Inf\"}") == uploads);
  CHECK(value("loyalty_hq_request_duration_seconds_bucket{route=\"/api/v1/events\",le=\"0.001\"}") <=
        value("loyalty_hq_request_duration_seconds_bucket{route=\"/api/v1/events\",le=\"10\"}"));
  CHECK(value("loyalty_hq_request_duration_seconds_sum{route=\"/api/v1/events\"}") > 0);
  CHECK(value("loyalty_hq_lane_uses_total{lane=\"writer\"}") >= uploads);
  CHECK(value("loyalty_hq_lane_wait_seconds_total{lane=\"writer\"}") >= 0);
  CHECK(value("loyalty_hq_lane_uses_total{lane=\"reports\"}") >= 1);  // the summary above
}

TEMPLATE_TEST_CASE("bodies: gzip accepted, size limits 413, garbage 400 naming the field", "[hq]", HQ_BACKENDS) {
  HqInstance hq(TestType::kName);
  hq.start();
  const std::string tok = hq.registerTerminal("S1", "T1");
  auto c = hq.client();
  std::string gz;
  REQUIRE(httplib::detail::gzip_compressor().compress(
      batch("T1", {enrolEvent("T1", "S1", 1, "M1")}).dump().data(),
      batch("T1", {enrolEvent("T1", "S1", 1, "M1")}).dump().size(), true,
      [&](const char* d, size_t n) { gz.append(d, n); return true; }));
  httplib::Headers h = bearer(tok);
  h.emplace("Content-Encoding", "gzip");
  auto r = c->Post("/api/v1/events", h, gz, "application/json");
  REQUIRE(r);
  INFO(r->body);
  CHECK(r->status == 200);

  json many = json::array();
  for (int i = 0; i < 1001; ++i) many.push_back(saleEvent("T1", "S1", 2 + i, std::nullopt, "1.00", 0));
  CHECK(postJson(*c, "/api/v1/events", batch("T1", many), tok, 413).at("type") == "https://loyalty.invalid/problems/too_large");

  // 9 MiB of JSON that compresses to almost nothing: refused by its decompressed size.
  json big = batch("T1", {saleEvent("T1", "S1", 2, std::nullopt, "1.00", 0)});
  big["events"][0]["payload"]["padding"] = std::string(9 * 1024 * 1024, 'a');
  const std::string raw = big.dump();
  std::string bomb;
  REQUIRE(httplib::detail::gzip_compressor().compress(raw.data(), raw.size(), true,
                                                       [&](const char* d, size_t n) { bomb.append(d, n); return true; }));
  CHECK(bomb.size() < 100 * 1024);
  auto big413 = hq.client()->Post("/api/v1/events", h, bomb, "application/json");
  REQUIRE(big413);
  CHECK(big413->status == 413);
  auto plain413 = hq.client()->Post("/api/v1/events", bearer(tok), raw, "application/json");
  REQUIRE(plain413);
  CHECK(plain413->status == 413);

  auto garbage = hq.client()->Post("/api/v1/events", bearer(tok), "\x01\x02 not json", "application/json");
  REQUIRE(garbage);
  CHECK(garbage->status == 400);
  json wrong = batch("T1", {saleEvent("T1", "S1", 2, std::nullopt, "1.00", 0)});
  wrong["events"][0]["seq"] = "two";
  const json p = postJson(*hq.client(), "/api/v1/events", wrong, tok, 400);
  CHECK(p.at("detail").get<std::string>().find("events[0].seq") != std::string::npos);
  // The server still works.
  CHECK(getJson(*hq.client(), "/api/v1/changes", tok).at("applied_through") == 1);
}

TEMPLATE_TEST_CASE("the change feed pages members from every store, merges, catalogue and config", "[hq]", HQ_BACKENDS) {
  HqInstance hq(TestType::kName);
  hq.start();
  const std::string a = hq.registerTerminal("S1", "TA");
  const std::string b = hq.registerTerminal("S2", "TB");
  auto c = hq.client();
  postJson(*c, "/api/v1/events",
           batch("TA", {enrolEvent("TA", "S1", 1, "M1"), enrolEvent("TA", "S1", 2, "M2"), saleEvent("TA", "S1", 3, "M1", "30.00", 30),
                        saleEvent("TA", "S1", 4, "M2", "5.00", 5)}),
           a, 200);
  // The same person enrolled again at another store, offline.
  postJson(*c, "/api/v1/events", batch("TB", {enrolEvent("TB", "S2", 1, "M3"), saleEvent("TB", "S2", 2, "M3", "7.00", 7)}), b, 200);

  auto [changes, last] = pullAll(*c, b);
  CHECK(last.at("applied_through") == 2);
  CHECK(memberChange(changes, "M1").at("balance") == 30);
  CHECK(memberChange(changes, "M1").at("member").at("enrolled_store") == "S1");
  CHECK(memberChange(changes, "M3").at("balance") == 7);
  const std::string cursor = last.at("next_cursor");

  auto merged = c->Post("/api/v1/admin/members/merge", bearer(hq.adminToken()), json{{"from", "M3"}, {"into", "M1"}}.dump(), "application/json");
  REQUIRE(merged);
  CHECK(merged->status == 200);
  hq.cli({"member", "merge", "--data", hq.dataDir(), "--from", "M3", "--into", "M2"}, 1);  // already merged
  postJson(*c, "/api/v1/admin/catalog", {{"rewards", {{{"reward_id", "R1"}, {"name", "Mug"}, {"points", 100}, {"active", true}}}}},
           hq.adminToken(), 200);
  auto cfg = c->Put("/api/v1/admin/config", bearer(hq.adminToken()), json{{"toml", "[loyalty]\noffline_redeem_allowance = 300\n"}}.dump(),
                    "application/json");
  REQUIRE(cfg);
  CHECK(cfg->status == 200);
  auto badCfg = c->Put("/api/v1/admin/config", bearer(hq.adminToken()), json{{"toml", "[store]\nid = 1\n"}}.dump(), "application/json");
  REQUIRE(badCfg);
  CHECK(badCfg->status == 400);

  // Later events for the merged member land on the survivor.
  postJson(*c, "/api/v1/events", batch("TB", {saleEvent("TB", "S2", 3, "M3", "3.00", 3)}), b, 200);

  const json page = getJson(*c, "/api/v1/changes?cursor=" + cursor, a);
  std::vector<std::string> types;
  for (const auto& ch : page.at("changes")) types.push_back(ch.at("type"));
  CHECK(types == std::vector<std::string>{"member.merged", "catalog", "config", "member"});
  CHECK(page.at("changes")[0] == json{{"type", "member.merged"}, {"from", "M3"}, {"into", "M1"}});
  CHECK(page.at("changes")[2].at("version") == 1);
  CHECK(page.at("changes")[3].at("member").at("member_id") == "M1");
  CHECK(page.at("changes")[3].at("balance") == 40);
  CHECK(page.at("changes")[3].at("member").at("lifetime_spend") == "40.00");
  CHECK(page.at("applied_through") == 4);
  CHECK(getJson(*c, "/api/v1/members/M3", hq.adminToken()).at("merged_into") == "M1");
  getJson(*c, "/api/v1/changes?cursor=abc", a, 400);
  getJson(*c, "/api/v1/changes?limit=0", a, 400);
}

TEMPLATE_TEST_CASE("online redemptions reserve points and offline overdrafts become debt", "[hq]", HQ_BACKENDS) {
  HqInstance hq(TestType::kName);
  hq.start();
  const std::string a = hq.registerTerminal("S1", "TA");
  const std::string b = hq.registerTerminal("S2", "TB");
  auto c = hq.client();
  postJson(*c, "/api/v1/events", batch("TA", {enrolEvent("TA", "S1", 1, "M1"), saleEvent("TA", "S1", 2, "M1", "100.00", 100)}), a, 200);

  const json req = {{"redemption_id", "R1"}, {"member_id", "M1"}, {"points", 60}};
  CHECK(postJson(*c, "/api/v1/redemptions", req, a, 200) == json{{"redemption_id", "R1"}, {"status", "reserved"}, {"balance", 40}});
  CHECK(postJson(*c, "/api/v1/redemptions", req, a, 200).at("balance") == 40);  // idempotent
  const json more = postJson(*c, "/api/v1/redemptions", {{"redemption_id", "R2"}, {"member_id", "M1"}, {"points", 50}}, b, 409);
  CHECK(more.at("type") == "https://loyalty.invalid/problems/insufficient_points");
  postJson(*c, "/api/v1/redemptions", {{"redemption_id", "R1"}, {"member_id", "M1"}, {"points", 61}}, a, 409);
  postJson(*c, "/api/v1/redemptions", {{"redemption_id", "R3"}, {"member_id", "NOBODY"}, {"points", 1}}, a, 404);

  // Settled by the event; then an offline redemption at another store overdraws.
  postJson(*c, "/api/v1/events", batch("TA", {redeemEvent("TA", "S1", 3, "M1", 60, "R1", "online")}), a, 200);
  postJson(*c, "/api/v1/events", batch("TB", {redeemEvent("TB", "S2", 1, "M1", 70, "R9", "offline")}), b, 200);
  const json m = getJson(*c, "/api/v1/members/M1", hq.adminToken());
  CHECK(m.at("balance") == -30);
  CHECK(m.at("points_debt") == 30);
  CHECK(m.at("reserved_points") == 0);
  const auto [changes, last] = pullAll(*c, a);
  CHECK(memberChange(changes, "M1").at("points_debt") == 30);
  CHECK(hq.sql()->query("SELECT points, authorised FROM overdrafts").text(0, 1) == "offline");
  postJson(*c, "/api/v1/redemptions", {{"redemption_id", "R4"}, {"member_id", "M1"}, {"points", 1}}, a, 409);
}

TEMPLATE_TEST_CASE("reports: summary by day range, sales groups and ABC classes", "[hq]", HQ_BACKENDS) {
  HqInstance hq(TestType::kName);
  hq.start();
  const std::string a = hq.registerTerminal("S1", "TA");
  auto c = hq.client();
  json events = json::array();
  std::int64_t seq = 1;
  for (const char* m : {"M1", "M2", "M3", "M4"}) events.push_back(enrolEvent("TA", "S1", seq++, m));
  // Spends 50, 30, 15, 5 (of 100): A while cumulative share <= 55 %, B <= 85 %, else C.
  events.push_back(saleEvent("TA", "S1", seq++, "M1", "50.00", 50, 0, "2026-11-01T10:00:00Z"));
  events.push_back(saleEvent("TA", "S1", seq++, "M2", "30.00", 30, 0, "2026-11-02T10:00:00Z"));
  events.push_back(saleEvent("TA", "S1", seq++, "M3", "15.00", 15, 0, "2026-11-02T11:00:00Z"));
  events.push_back(saleEvent("TA", "S1", seq++, "M4", "5.00", 5, 0, "2026-11-03T10:00:00Z"));
  events.push_back(saleEvent("TA", "S1", seq++, std::nullopt, "8.00", 0, 0, "2026-11-03T12:00:00Z"));
  events.push_back({{"event_id", "refund-1"}, {"seq", seq++}, {"type", "sale.refunded"}, {"at", "2026-11-03T13:00:00Z"},
                    {"payload", {{"refund_id", "F1"}, {"sale_id", "TA-s8"}, {"member_id", nullptr}, {"store_id", "S1"},
                                 {"terminal_id", "TA"}, {"lines", {{{"line_no", 1}, {"sku", "A"}, {"qty", 1}}}},
                                 {"amount", "3.00"}, {"points_reversed", 0}, {"points_returned", 0}}}});
  postJson(*c, "/api/v1/events", batch("TA", events), a, 200);

  // The protocol's fields (sync-protocol.md "Reports API"), each with its meaning; the analytics
  // reports serving these routes add more.
  const json summary = getJson(*c, "/api/v1/reports/summary", hq.adminToken());
  CHECK(hasFields(summary, {{"sales", 5}, {"net_revenue", "105.00"}, {"members", 4}, {"member_sales", 4}, {"member_revenue", "100.00"}}));
  CHECK(hasFields(summary, {{"non_member_sales", 1}, {"non_member_revenue", "5.00"}, {"refunds", 1}, {"refunded", "3.00"}}));
  CHECK(hasFields(getJson(*c, "/api/v1/reports/summary?from=2026-11-02&to=2026-11-02", hq.adminToken()),
                  {{"sales", 2}, {"net_revenue", "45.00"}, {"members", 2}, {"member_sales", 2}, {"member_revenue", "45.00"}}));
  getJson(*c, "/api/v1/reports/summary?from=2026-13-01", hq.adminToken(), 400);
  getJson(*c, "/api/v1/reports/summary?from=2026-11-03&to=2026-11-01", hq.adminToken(), 400);
  const json byDay = getJson(*c, "/api/v1/reports/sales?group=day", hq.adminToken());
  REQUIRE(byDay.at("rows").size() == 3);
  CHECK(hasFields(byDay.at("rows")[2], {{"day", "2026-11-03"}, {"sales", 2}, {"refunds", 1}, {"net_revenue", "10.00"}}));
  CHECK(hasFields(byDay.at("rows")[2], {{"gross_revenue", "13.00"}, {"average_sale", "6.50"}}));
  const json byStore = getJson(*c, "/api/v1/reports/sales?group=store", hq.adminToken());
  CHECK(byStore.at("rows") == json::array({{{"store", "S1"}, {"sales", 5}, {"refunds", 1}, {"gross_revenue", "108.00"},
                                            {"net_revenue", "105.00"}, {"average_sale", "21.60"}}}));
  CHECK(getJson(*c, "/api/v1/reports/sales?group=hour", hq.adminToken()).at("rows").size() == 4);
  getJson(*c, "/api/v1/reports/sales?group=week", hq.adminToken(), 400);
  const json abc = getJson(*c, "/api/v1/reports/abc", hq.adminToken());
  CHECK(abc.at("counts") == json{{"A", 1}, {"B", 1}, {"C", 2}});
  CHECK(hasFields(abc.at("members")[0], {{"member_id", "M1"}, {"card_no", "9M1"}, {"class", "A"}, {"spend", "50.00"}}));
  CHECK(abc.at("members")[1].at("class") == "B");
  CHECK(abc.contains("follow_up"));
  // The store filter of the analytics reports reaches these routes too: a store head office
  // does not know is refused by name (it used to answer zeros).
  getJson(*c, "/api/v1/reports/summary?store=S9", hq.adminToken(), 400);
}

TEMPLATE_TEST_CASE("reports count a store's sales and surveys on its local day", "[hq]", HQ_BACKENDS) {
  HqInstance hq(TestType::kName);
  hq.start();
  // A zone head office cannot load is refused when the terminal is added.
  hq.cli({"terminal", "add", "--data", hq.dataDir(), "--store", "SX", "--terminal", "TX", "--timezone", "Mars/Olympus_Mons"}, 2);
  hq.cli({"terminal", "add", "--data", hq.dataDir(), "--store", "SX", "--terminal", "TX", "--timezone", "../../etc/passwd"}, 2);
  CHECK(hq.sql()->query("SELECT COUNT(*) FROM terminals WHERE terminal_id = 'TX'").integer(0, 0) == 0);

  const std::string sh = hq.registerTerminal("SH", "TS", "Asia/Shanghai");
  const std::string utc = hq.registerTerminal("UT", "TU");
  auto c = hq.client();
  // The same instant: 17:30 UTC on March 1 is 01:30 on March 2 in Shanghai.
  const std::string at = "2026-03-01T17:30:00Z";
  postJson(*c, "/api/v1/events",
           batch("TS", {saleEvent("TS", "SH", 1, std::nullopt, "12.00", 0, 0, at), surveyEvent("TS", "SH", 2, at, "csat5", 5)}),
           sh, 200);
  postJson(*c, "/api/v1/events",
           batch("TU", {saleEvent("TU", "UT", 1, std::nullopt, "7.00", 0, 0, at), surveyEvent("TU", "UT", 2, at, "csat5", 2)}),
           utc, 200);

  const json byDay = getJson(*c, "/api/v1/reports/sales?group=day", hq.adminToken());
  REQUIRE(byDay.at("rows").size() == 2);
  CHECK(hasFields(byDay.at("rows")[0], {{"day", "2026-03-01"}, {"sales", 1}, {"net_revenue", "7.00"}}));
  CHECK(hasFields(byDay.at("rows")[1], {{"day", "2026-03-02"}, {"sales", 1}, {"net_revenue", "12.00"}}));
  const json shDays = getJson(*c, "/api/v1/reports/sales?group=day&store=SH", hq.adminToken());
  REQUIRE(shDays.at("rows").size() == 1);
  CHECK(shDays.at("rows")[0].at("day") == "2026-03-02");
  CHECK(getJson(*c, "/api/v1/reports/summary?from=2026-03-02&to=2026-03-02", hq.adminToken()).at("net_revenue") == "12.00");
  CHECK(getJson(*c, "/api/v1/reports/summary?to=2026-03-01", hq.adminToken()).at("net_revenue") == "7.00");

  const json sat = getJson(*c, "/api/v1/reports/satisfaction?period=day", hq.adminToken());
  REQUIRE(sat.at("rows").size() == 2);
  CHECK(hasFields(sat.at("rows")[0], {{"store", "SH"}, {"period", "2026-03-02"}, {"csat_responses", 1}, {"csat", 100.0}}));
  CHECK(hasFields(sat.at("rows")[1], {{"store", "UT"}, {"period", "2026-03-01"}, {"csat_responses", 1}, {"csat", 0.0}}));
  const json march2 = getJson(*c, "/api/v1/reports/satisfaction?from=2026-03-02&to=2026-03-02", hq.adminToken());
  CHECK(march2.at("total").at("csat_responses") == 1);
  CHECK(march2.at("total").at("csat") == 100.0);
  CHECK(getJson(*c, "/api/v1/reports/satisfaction?period=month", hq.adminToken()).at("periods")[0].at("period") == "2026-03");
}
