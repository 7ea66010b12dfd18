// Members' personal data at head office (PIPL), on the real loyalty-hq over HTTPS, on SQLite and
// on a PostgreSQL the test starts: consent history, the data-subject export, erasure (gone
// everywhere, carried to terminals, not brought back by a terminal), who sees full phones and
// birthdays, and the audit trail of it all (API and dashboard page).
#include <filesystem>
#include <fstream>
#include <regex>

#include "loyalty/hq/privacy.hpp"
#include "support/hq_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;

#define HQ_BACKENDS SqliteBackend, PostgresBackend

namespace {

constexpr const char* kName = "王小明";
constexpr const char* kPhone = "+8613812345678";
constexpr const char* kNationalPhone = "13812345678";
constexpr const char* kBirthday = "1990-07-20";

json event(const std::string& terminal, const std::string& store, std::int64_t seq, const std::string& type,
           const std::string& at, json payload) {
  payload["store_id"] = store;
  payload["terminal_id"] = terminal;
  return {{"event_id", terminal + "-e" + std::to_string(seq)}, {"seq", seq}, {"type", type}, {"at", at}, {"payload", payload}};
}

json enrolment(const std::string& terminal, const std::string& store, std::int64_t seq, const std::string& member,
               const std::string& name, const std::string& phone, bool consent, const std::string& birthday = kBirthday) {
  return event(terminal, store, seq, "member.enrolled", "2026-11-01T08:00:00Z",
               {{"member_id", member}, {"card_no", "9" + member}, {"phone", phone}, {"name", name}, {"birthday", birthday},
                {"language", "zh-CN"}, {"consent_marketing", consent}, {"consent_version", consent ? json("v1") : json(nullptr)},
                {"referrer_id", nullptr}, {"staff_id", "ST-1"}});
}

struct Api {
  HqInstance& hq;

  httplib::Result get(const std::string& path, const std::string& token) {
    auto r = hq.client()->Get(path.c_str(), bearer(token));
    REQUIRE(r);
    return r;
  }
  json getJson(const std::string& path, const std::string& token, int status = 200) {
    auto r = get(path, token);
    INFO(path << " -> " << r->body);
    REQUIRE(r->status == status);
    return json::parse(r->body);
  }
  json post(const std::string& path, const json& body, const std::string& token, int status = 200) {
    auto r = hq.client()->Post(path.c_str(), bearer(token), body.dump(), "application/json");
    REQUIRE(r);
    INFO(path << " -> " << r->body);
    REQUIRE(r->status == status);
    return json::parse(r->body);
  }
  json upload(const std::string& token, const std::string& terminal, json events) {
    return post("/api/v1/events", batch(terminal, std::move(events)), token);
  }
  /// Every change from `cursor` on, and the cursor after them.
  std::pair<json, std::string> pull(const std::string& token, std::string cursor = "") {
    json all = json::array();
    for (int guard = 0; guard < 100; ++guard) {
      const json page = getJson("/api/v1/changes?limit=1000&cursor=" + cursor, token);
      for (const auto& c : page.at("changes")) all.push_back(c);
      cursor = page.at("next_cursor").get<std::string>();
      if (!page.at("has_more").get<bool>()) break;
    }
    return {all, cursor};
  }
  /// A dashboard session of the token's holder (a one-time sign-in link).
  httplib::Headers session(const std::string& token) { return dashboardSession(hq, token); }
};

std::vector<std::string> statuses(const json& response) {
  std::vector<std::string> out;
  for (const auto& r : response.at("results")) out.push_back(r.at("status").get<std::string>());
  return out;
}

bool mentionsPerson(const std::string& body) {
  return body.find(kName) != std::string::npos || body.find(kNationalPhone) != std::string::npos ||
         body.find(kBirthday) != std::string::npos;
}

/// Actions in the audit trail (oldest first).
std::vector<json> auditOf(Api& api, const std::string& action) {
  std::vector<json> out;
  const json listing = api.getJson("/api/v1/admin/audit?limit=1000", api.hq.adminToken());
  for (const auto& e : listing.at("entries")) {
    if (e.at("action") == action) out.push_back(e);
  }
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE("consent history: every decision with version, time, store and staff, and changes logged by field name",
                   "[hq][privacy]", HQ_BACKENDS) {
  HqInstance hq(TestType::kName);
  hq.start();
  Api api{hq};
  const std::string t1 = hq.registerTerminal("S1", "T1");
  const std::string t2 = hq.registerTerminal("S2", "T2");
  CHECK(statuses(api.upload(t1, "T1", {enrolment("T1", "S1", 1, "M1", kName, kPhone, true)})) ==
        std::vector<std::string>{"applied"});
  // Withdrawn at another store on the 5th; a change of the 3rd from T1 arrives after it.
  api.upload(t2, "T2",
             {event("T2", "S2", 1, "member.updated", "2026-11-05T09:00:00Z",
                    {{"member_id", "M1"}, {"consent_marketing", false}, {"consent_version", "v2"}, {"staff_id", "ST-9"}})});
  api.upload(t1, "T1",
             {event("T1", "S1", 2, "member.updated", "2026-11-03T10:00:00Z",
                    {{"member_id", "M1"}, {"consent_marketing", true}, {"consent_version", "v2"}, {"phone", "+8613900001111"}}),
              event("T1", "S1", 3, "member.updated", "2026-11-06T11:00:00Z",
                    {{"member_id", "M1"}, {"birthday", nullptr}, {"name", "王晓明"}, {"staff_id", "ST-1"}})});

  const json m = api.getJson("/api/v1/members/M1", hq.adminToken());
  CHECK(m.at("consent_marketing") == false);  // the latest decision by time, not by arrival
  CHECK(m.at("consent_version") == "v2");
  CHECK(m.at("consent_at") == "2026-11-05T09:00:00Z");
  CHECK(m.at("consent_store") == "S2");
  CHECK_FALSE(m.contains("birthday"));  // cleared by null
  CHECK(m.at("name") == "王晓明");
  CHECK(m.at("phone") == "+8613900001111");

  const json doc = api.getJson("/api/v1/members/M1/export", hq.adminToken());
  const json& consents = doc.at("consents");
  REQUIRE(consents.size() == 3);
  CHECK(consents[0].at("at") == "2026-11-01T08:00:00Z");
  CHECK(consents[0].at("consent_marketing") == true);
  CHECK(consents[0].at("consent_version") == "v1");
  CHECK(consents[0].at("store_id") == "S1");
  CHECK(consents[0].at("staff_id") == "ST-1");
  CHECK(consents[0].at("source") == "member.enrolled");
  CHECK(consents[1].at("at") == "2026-11-03T10:00:00Z");
  CHECK(consents[2].at("consent_marketing") == false);
  CHECK(consents[2].at("store_id") == "S2");
  CHECK(consents[2].at("terminal_id") == "T2");
  CHECK(consents[2].at("staff_id") == "ST-9");
  const json& changes = doc.at("changes");
  REQUIRE(changes.size() == 3);
  CHECK(changes[0].at("fields") == json{"consent_marketing", "phone"});
  CHECK(changes[0].at("store_id") == "S1");
  CHECK(changes[1].at("fields") == json{"consent_marketing"});
  CHECK(changes[1].at("staff_id") == "ST-9");
  CHECK(changes[2].at("fields") == json{"birthday", "name"});
  CHECK(changes[2].at("event_id") == "T1-e3");
  CHECK(changes.dump().find("王晓明") == std::string::npos);  // names of fields, never values

  // Consent without its text's version is refused naming the field, and applies nothing.
  const json refused = api.upload(t1, "T1", {event("T1", "S1", 4, "member.updated", "2026-11-07T08:00:00Z",
                                                   {{"member_id", "M1"}, {"consent_marketing", true}})});
  CHECK(refused.at("results")[0].at("status") == "rejected");
  CHECK(refused.at("results")[0].at("reason").get<std::string>().find("payload.consent_version") != std::string::npos);
  CHECK(api.getJson("/api/v1/members/M1", hq.adminToken()).at("consent_marketing") == false);

  if (std::string(TestType::kName) == "sqlite") {
    // A database of the version before: no history tables, no consent time. Opening it fills
    // the history in from the stored events.
    hq.stop();
    hq.sql()->execScript(
        "DROP TABLE member_consents; DROP TABLE member_changes; UPDATE members SET consent_at = NULL, consent_store = NULL");
    hq.start();
    const json again = api.getJson("/api/v1/members/M1/export", hq.adminToken());
    CHECK(again.at("consents").size() == 3);
    CHECK(again.at("changes").size() == 3);
    CHECK(again.at("profile").at("consent_at") == "2026-11-05T09:00:00Z");
    CHECK(again.at("profile").at("consent_store") == "S2");
  }
}

TEMPLATE_TEST_CASE("export, then erasure: gone from every answer and the feed, and no terminal brings the data back",
                   "[hq][privacy]", HQ_BACKENDS) {
  HqInstance hq(TestType::kName);
  hq.start();
  Api api{hq};
  const std::string t1 = hq.registerTerminal("S1", "T1");
  const std::string admin = hq.adminToken();
  const json enrolM1 = enrolment("T1", "S1", 1, "M1", kName, kPhone, true);
  json sale = saleEvent("T1", "S1", 3, std::string("M1"), "30.00", 30, 0, "2026-11-02T09:00:00Z");
  sale["payload"]["lines"] = {{{"sku", "A"}, {"description", "Coffee"}, {"qty", 2}, {"unit_price", "10.00"}, {"amount", "20.00"}},
                              {{"sku", "B"}, {"description", nullptr}, {"qty", 1}, {"unit_price", "10.00"}, {"amount", "10.00"}}};
  const json events = {
      enrolM1,
      enrolment("T1", "S1", 2, "M2", "Li Lei", "+8613900002222", true, "1985-01-01"),
      sale,
      event("T1", "S1", 4, "sale.refunded", "2026-11-02T10:00:00Z",
            {{"refund_id", "R1"}, {"sale_id", "T1-s3"}, {"member_id", "M1"}, {"lines", {{{"line_no", 2}, {"sku", "B"}, {"qty", 1}}}},
             {"amount", "10.00"}, {"points_reversed", 10}, {"points_returned", 0}}),
      event("T1", "S1", 5, "survey.answered", "2026-11-02T09:05:00Z",
            {{"survey_id", "V1"}, {"sale_id", "T1-s3"}, {"member_id", "M1"}, {"scale", "csat5"}, {"score", 4}}),
      event("T1", "S1", 6, "complaint.filed", "2026-11-02T09:10:00Z",
            {{"complaint_id", "C1"}, {"member_id", "M1"}, {"category", "service"},
             {"description", std::string("call back on ") + kNationalPhone + ", " + kName}, {"staff_id", nullptr}}),
      saleEvent("T1", "S1", 7, std::string("M2"), "50.00", 50, 0, "2026-11-02T11:00:00Z")};
  REQUIRE(statuses(api.upload(t1, "T1", events)) == std::vector<std::string>(7, "applied"));
  // From another counter: an earlier answer of M1's, uploaded later; and M2's, never in M1's export.
  const std::string t3 = hq.registerTerminal("S1", "T3");
  REQUIRE(statuses(api.upload(t3, "T3",
                              {event("T3", "S1", 1, "survey.answered", "2026-11-01T08:00:00Z",
                                     {{"survey_id", "V0"}, {"sale_id", nullptr}, {"member_id", "M1"}, {"scale", "csat5"}, {"score", 5}}),
                               event("T3", "S1", 2, "survey.answered", "2026-11-02T11:05:00Z",
                                     {{"survey_id", "V2"}, {"sale_id", nullptr}, {"member_id", "M2"}, {"scale", "csat5"}, {"score", 2}})})) ==
          std::vector<std::string>(2, "applied"));

  // [SECTION] The data-subject export holds everything about the member.
  const json doc = api.getJson("/api/v1/members/M1/export", admin);
  CHECK(doc.at("profile").at("name") == kName);
  CHECK(doc.at("profile").at("phone") == kPhone);
  CHECK(doc.at("profile").at("birthday") == kBirthday);
  REQUIRE(doc.at("sales").size() == 1);
  CHECK(doc.at("sales")[0].at("total") == "30.00");
  REQUIRE(doc.at("sales")[0].at("lines").size() == 2);
  CHECK(doc.at("sales")[0].at("lines")[0].at("description") == "Coffee");
  REQUIRE(doc.at("refunds").size() == 1);
  CHECK(doc.at("refunds")[0].at("amount") == "10.00");
  CHECK(doc.at("ledger").size() == 2);  // earn 30, reversal -10
  REQUIRE(doc.at("surveys").size() == 2);  // oldest first
  CHECK(doc.at("surveys")[0].at("survey_id") == "V0");
  CHECK(doc.at("surveys")[1].at("score") == 4);
  if (std::string_view(TestType::kName) == "sqlite") {
    // Read along the member's index, not by scanning every answer (7-16 s at a million answers);
    // the export's own query, as privacy.cpp asks it, with no statistics (as a store has).
    hq.sql()->execScript("DROP TABLE IF EXISTS sqlite_stat1");
    const auto plan = hq.sql()->query("EXPLAIN QUERY PLAN SELECT e.event_id, e.terminal_id, e.at, e.payload FROM survey_answers s "
                                      "JOIN events e ON e.event_id = s.event_id WHERE s.member_id = 'M1'");
    REQUIRE(plan.size() == 2);
    CHECK_THAT(plan.text(0, 3), Catch::Contains("USING INDEX survey_answers_member (member_id=?)"));
    CHECK_THAT(plan.text(1, 3), Catch::Contains("(event_id=?)"));
  }
  REQUIRE(doc.at("complaints").size() == 1);
  CHECK(doc.at("complaints")[0].at("description").get<std::string>().find(kNationalPhone) != std::string::npos);
  CHECK(doc.at("consents").size() == 1);
  CHECK(doc.at("merges").empty());
  api.getJson("/api/v1/members/M1/export", hq.cli({"token", "create", "--data", hq.dataDir(), "--role", "analyst"}), 403);

  // Before the erasure the reports do show the person (the searches below are not vacuous).
  CHECK(mentionsPerson(api.get("/api/v1/exports/campaign.csv", admin)->body));
  CHECK(mentionsPerson(api.get("/api/v1/reports/churn?as_of=2027-06-01", admin)->body));
  const auto [before, cursor] = api.pull(t1);
  CHECK(before.dump().find(kName) != std::string::npos);
  // A search at head office writes the members' search keys: the name among them.
  CHECK(api.getJson("/api/v1/members?q=" + httplib::detail::encode_query_param(kName), admin).at("total") == 1);
  // A birthday greeting queued for M1 holds the name; a follow-up call's notes hold what staff wrote.
  CHECK(api.post("/api/v1/admin/outreach/send", {{"kind", "birthday"}, {"day", "2027-07-20"}}, admin, 201).at("queued") == 1);
  CHECK(api.post("/api/v1/followups/plan", {{"month", "2026-12"}}, admin).at("planned").get<int>() > 0);
  std::string followup;
  const json planned = api.getJson("/api/v1/followups?from=2026-12-01&to=2026-12-31&as_of=2026-12-10", admin);
  INFO(planned.dump());
  for (const auto& f : planned.at("followups")) {
    if (f.at("member_id") == "M1" && followup.empty()) followup = f.at("followup_id");
  }
  REQUIRE_FALSE(followup.empty());
  // The complaint through its steps to the satisfaction check, whose note names the person.
  for (const char* step : {"acknowledged", "investigated", "solution_proposed", "resolved", "followed_up"}) {
    api.post("/api/v1/complaints/C1", {{"step", step}}, admin);
  }
  api.post("/api/v1/complaints/C1/satisfaction", {{"score", 4}, {"note", std::string(kName) + " is happy, call " + kNationalPhone}},
           admin, 201);
  const std::string nextFollowup =
      api.post("/api/v1/followups/" + followup + "/contacts",
               {{"channel", "phone"}, {"outcome", "call_back"}, {"notes", std::string("call ") + kName + " back on " + kNationalPhone},
                {"next_due", "2099-01-15"}},
               admin, 201)
          .at("next")
          .at("followup_id");

  // A copy of M1's enrolment with other content, kept for review with the name in it.
  json changedEnrolment = enrolM1;
  changedEnrolment["payload"]["birthday"] = "1990-02-02";
  REQUIRE(statuses(api.upload(t1, "T1", json::array({changedEnrolment}))) == std::vector<std::string>{"conflict"});
  REQUIRE(mentionsPerson(hq.sql()->query("SELECT payload FROM event_conflicts").text(0, 0)));

  // As an earlier release could store them: updates holding U+0000 (which no JSON read of it
  // survives on PostgreSQL), M1's (to be erased) and another member's, and another member's that
  // names M1 only inside another field.
  const std::string oldNul = R"({"member_id":"M2","name":"Li\u0000Lei","store_id":"S1","terminal_id":"T0"})";
  const std::string otherField = R"({"member_id":"M2","referral":{"member_id":"M1"},"store_id":"S1","terminal_id":"T0"})";
  const std::string ownNul = std::string(R"({"member_id":"M1","name":")") + kName + R"(\u0000","store_id":"S1","terminal_id":"T0"})";
  for (const auto& [seq, payload] : {std::pair{1, oldNul}, std::pair{2, otherField}, std::pair{3, ownNul}}) {
    hq.sql()->query("INSERT INTO events(event_id, terminal_id, seq, type, at, payload, fingerprint, received_at, known) "
                    "VALUES ($1, 'T0', $2, 'member.updated', '2026-11-01T08:00:00Z', $3, 'f', '2026-11-01T08:00:00Z', 1)",
                    {"T0-old-" + std::to_string(seq), std::int64_t{seq}, payload});
  }

  // [SECTION] Erasure: idempotent, audited with its reason.
  const json erased = api.post("/api/v1/admin/members/M1/erase", {{"reason", "member asked (ticket 42)"}}, admin);
  CHECK(erased.at("member_id") == "M1");
  const std::string erasedAt = erased.at("erased_at").get<std::string>();
  CHECK(api.post("/api/v1/admin/members/M1/erase", {{"reason", "again"}}, admin).at("erased_at") == erasedAt);
  api.post("/api/v1/admin/members/M1/erase", json::object(), admin, 400);
  api.post("/api/v1/admin/members/M404/erase", {{"reason", "x"}}, admin, 404);

  // The erasure read the member's events along their index, not every member event's payload
  // (1.2 s on PostgreSQL, 3.5-4.2 s on SQLite at a million members); its query as privacy.cpp asks it.
  {
    auto sql = hq.sql();
    std::string plan;
    const std::string query = loyalty::hq::memberEventsQuery(TestType::kName);
    if (std::string_view(TestType::kName) == "sqlite") {
      sql->execScript("DROP TABLE IF EXISTS sqlite_stat1");
      for (const auto& row : sql->query("EXPLAIN QUERY PLAN " + query, {std::string("M1")}).rows) plan += row.at(3).value_or("") + "\n";
    } else {
      sql->execScript("SET enable_seqscan = off");  // a few rows: a scan would be as cheap
      for (const auto& row : sql->query("EXPLAIN " + query, {std::string("M1")}).rows) plan += row.at(0).value_or("") + "\n";
      CHECK_THAT(plan, Catch::Contains("events_member_nul"));
    }
    INFO(plan);
    CHECK_THAT(plan, Catch::Contains("INDEX events_member ") || Catch::Contains("using events_member on") ||
                         Catch::Contains("on events_member "));
  }

  auto gone = api.get("/api/v1/members/M1", admin);
  CHECK(gone->status == 410);
  CHECK(gone->get_header_value("Content-Type") == "application/problem+json");
  CHECK(json::parse(gone->body).at("type") == "https://loyalty.invalid/problems/gone");
  CHECK(api.get("/api/v1/members/M1/export", admin)->status == 410);

  // The feed tells every terminal; a terminal starting afresh never gets the member.
  const json after = api.pull(t1, cursor).first;
  CHECK(after.dump().find(R"({"member_id":"M1","type":"member.erased"})") != std::string::npos);
  const json fromStart = api.pull(t1).first;
  for (const auto& c : fromStart) CHECK_FALSE((c.at("type") == "member" && c.at("member").at("member_id") == "M1"));
  CHECK_FALSE(mentionsPerson(fromStart.dump()));

  // No report, export, page or stored row shows the phone, name or birthday; sales stay.
  for (const char* path : {"/api/v1/reports/abc", "/api/v1/reports/churn?as_of=2027-06-01", "/api/v1/reports/campaign",
                           "/api/v1/reports/complaints", "/api/v1/reports/referrals", "/api/v1/exports/campaign.csv",
                           "/api/v1/exports/abc-follow-up.csv", "/api/v1/exports/churn.csv?as_of=2027-06-01",
                           "/api/v1/exports/complaints.xlsx", "/api/v1/complaints/C1", "/api/v1/admin/audit"}) {
    auto r = api.get(path, admin);
    INFO(path);
    CHECK(r->status == 200);
    CHECK_FALSE(mentionsPerson(r->body));
  }
  CHECK(api.get("/api/v1/exports/campaign.csv", admin)->body.find("Li Lei") != std::string::npos);
  const httplib::Headers s = api.session(admin);
  for (const char* page : {"/dashboard/customers?as_of=2027-06-01", "/dashboard/complaints", "/dashboard/members/M1"}) {
    auto r = hq.client()->Get(page, s);
    REQUIRE(r);
    INFO(page);
    CHECK_FALSE(mentionsPerson(r->body));
  }
  CHECK(hq.client()->Get("/dashboard/members/M1", s)->status == 410);
  const json summary = api.getJson("/api/v1/reports/summary", admin);
  CHECK(summary.at("sales") == 2);
  CHECK(summary.at("net_revenue") == "70.00");
  {
    auto sql = hq.sql();
    std::string stored;
    for (const char* q : {"SELECT payload FROM events", "SELECT payload FROM event_conflicts",
                          "SELECT payload FROM rejected_events", "SELECT card_no || phone || name || COALESCE(birthday, '') FROM members",
                          "SELECT description FROM complaint_cases", "SELECT search_key FROM member_search_keys",
                          "SELECT body FROM outreach_messages", "SELECT COALESCE(notes, '') FROM followup_contacts",
                          "SELECT COALESCE(note, '') FROM complaint_satisfaction"}) {
      const auto r = sql->query(q);
      for (const auto& row : r.rows) stored += row.at(0).value_or("") + "\n";
    }
    CHECK_FALSE(mentionsPerson(stored));
    CHECK(stored.find("Li Lei") != std::string::npos);
    CHECK(sql->query("SELECT COALESCE(SUM(points), 0) FROM ledger WHERE member_id = 'M1'").integer(0, 0) == 20);
    CHECK(sql->query("SELECT status FROM outreach_messages WHERE member_id = 'M1'").text(0, 0) == "cancelled");  // never sent
    CHECK(sql->query("SELECT COUNT(*) FROM followup_contacts").integer(0, 0) == 1);  // the call is kept, without its notes
    CHECK(sql->query("SELECT score FROM complaint_satisfaction").integer(0, 0) == 4);  // the score too, without the note
    CHECK(sql->query("SELECT COUNT(*) FROM event_conflicts").integer(0, 0) == 1);  // kept, scrubbed (above)
    // Other members' events as they were.
    CHECK(sql->query("SELECT payload FROM events WHERE event_id = 'T0-old-1'").text(0, 0) == oldNul);
    CHECK(sql->query("SELECT payload FROM events WHERE event_id = 'T0-old-2'").text(0, 0) == otherField);
  }
  // No new notes about the person either.
  api.post("/api/v1/followups/" + nextFollowup + "/contacts", {{"channel", "phone"}, {"outcome", "reached"}, {"notes", kName}}, admin, 410);
  api.post("/api/v1/complaints/C1", {{"note", kName}}, admin, 410);
  api.post("/api/v1/complaints/C1/satisfaction", {{"score", 5}, {"note", kName}}, admin, 410);
  api.post("/api/v1/complaints", {{"complaint_id", "C9"}, {"member_id", "M1"}, {"category", "service"}, {"description", kName}},
           admin, 410);
  if (std::string(TestType::kName) == "sqlite") {
    // Nor do the files: free space, the WAL and replaced report results included.
    std::string raw;
    for (const auto& f : std::filesystem::directory_iterator(hq.dataDir())) {
      if (f.path().filename().string().rfind("hq.db", 0) != 0) continue;
      std::ifstream in(f.path(), std::ios::binary);
      raw += std::string(std::istreambuf_iterator<char>(in), {});
    }
    CHECK(raw.find("Li Lei") != std::string::npos);
    CHECK_FALSE(mentionsPerson(raw));
  }

  // [SECTION] A terminal cannot bring the data back.
  // The original enrolment again (a lost response): a duplicate, nothing changes.
  CHECK(statuses(api.upload(t1, "T1", {enrolM1})) == std::vector<std::string>{"duplicate"});
  // A terminal that had not synced yet: its later update and a second enrolment are refused
  // for good (acknowledged, kept for review without the personal data); the next sale applies.
  json late = api.upload(t1, "T1",
                         {event("T1", "S1", 8, "member.updated", "2026-11-03T08:00:00Z",
                                {{"member_id", "M1"}, {"name", kName}, {"phone", kPhone}}),
                          enrolment("T1", "S1", 9, "M1", kName, kPhone, true),
                          saleEvent("T1", "S1", 10, std::string("M1"), "5.00", 5, 0, "2026-11-03T09:00:00Z")});
  CHECK(statuses(late) == std::vector<std::string>{"rejected", "rejected", "applied"});
  CHECK(late.at("results")[0].at("reason") == "erased");
  CHECK(late.at("results")[1].at("reason") == "erased");
  CHECK(late.at("acked_through") == 10);
  CHECK(api.get("/api/v1/members/M1", admin)->status == 410);
  {
    auto sql = hq.sql();
    CHECK(sql->query("SELECT COUNT(*) FROM rejected_events WHERE reason = 'erased'").integer(0, 0) == 2);
    std::string stored;
    for (const auto& row : sql->query("SELECT payload FROM rejected_events").rows) stored += row.at(0).value_or("");
    for (const auto& row : sql->query("SELECT card_no || phone || name FROM members").rows) stored += row.at(0).value_or("");
    CHECK_FALSE(mentionsPerson(stored));
  }

  // [SECTION] Duplicates of a person are erased with them; an erased member is never merged.
  api.upload(t1, "T1", {enrolment("T1", "S1", 11, "M3", "Li Lei", "+8613900003333", false, "1985-01-01")});
  api.post("/api/v1/admin/members/merge", {{"from", "M2"}, {"into", "M1"}}, admin, 409);
  api.post("/api/v1/admin/members/merge", {{"from", "M3"}, {"into", "M2"}}, admin);
  api.post("/api/v1/admin/members/M3/erase", {{"reason", "duplicate"}}, admin, 409);  // erase M2, the person

  // [SECTION] The command line erases too; the audit trail lists reads, exports and erasures.
  const json cli = json::parse(hq.cli({"member", "erase", "--data", hq.dataDir(), "--member", "M2", "--reason", "closed account"}));
  CHECK(cli.at("member_id") == "M2");
  CHECK(cli.at("records") == json{"M2", "M3"});
  CHECK(api.get("/api/v1/members/M2", admin)->status == 410);
  CHECK(api.get("/api/v1/members/M3", admin)->status == 410);
  const std::string feed = api.pull(t1, cursor).first.dump();
  CHECK(feed.find(R"({"member_id":"M3","type":"member.erased"})") != std::string::npos);
  CHECK(feed.find("Li Lei") == std::string::npos);
  CHECK(hq.sql()->query("SELECT COUNT(*) FROM member_search_keys WHERE member_id IN ('M2', 'M3')").integer(0, 0) == 0);
  CHECK(runCommand({hqBinary(), "member", "erase", "--data", hq.dataDir(), "--member", "M2"}).first != 0);  // --reason required

  const auto erasures = auditOf(api, "member.erase");
  REQUIRE(erasures.size() == 2);
  CHECK(erasures[0].at("subject") == "M1");
  CHECK(erasures[0].at("actor") == "token:admin");
  CHECK(erasures[0].at("detail") == "member asked (ticket 42)");
  CHECK(erasures[1].at("actor").get<std::string>().rfind("cli:", 0) == 0);
  CHECK(auditOf(api, "member.export").size() == 1);
  const auto exports = auditOf(api, "export");
  REQUIRE_FALSE(exports.empty());
  CHECK(exports[0].at("subject") == "campaign.csv");
  CHECK(exports[0].at("rows") == 2);
  CHECK(auditOf(api, "member.read").empty());  // 410s read nothing
}

// The audit trail's day filter compares `at` as text in the database's collation. An operator's
// PostgreSQL often has a language's (en_US, ICU), which passes over punctuation: the whole last
// day of a range must still be in it, and the day after not.
TEST_CASE("on PostgreSQL in a language's collation the audit trail's day filter keeps the whole last day", "[hq][privacy]") {
  HqInstance hq("postgresql");
  hq.start();
  Api api{hq};
  auto c = hq.sql();
  c->execScript("ALTER TABLE audit_log ALTER COLUMN at TYPE TEXT COLLATE \"en-US-x-icu\"");
  c->execScript("INSERT INTO audit_log(at, actor, action) VALUES ('2026-01-30T23:59:59Z', 'cli:test', 'test.before'), "
                "('2026-01-31T00:00:00Z', 'cli:test', 'test.first'), ('2026-01-31T23:59:59Z', 'cli:test', 'test.last'), "
                "('2026-02-01T00:00:00Z', 'cli:test', 'test.after')");
  const auto actions = [&](const std::string& query) {
    std::vector<std::string> out;
    const json listing = api.getJson("/api/v1/admin/audit?" + query, hq.adminToken());
    INFO(query << " -> " << listing.dump());
    for (const auto& e : listing.at("entries")) {
      if (e.at("actor") == "cli:test") out.push_back(e.at("action"));
    }
    return out;
  };
  CHECK(actions("from=2026-01-31&to=2026-01-31") == std::vector<std::string>{"test.first", "test.last"});
  CHECK(actions("from=2026-01-31&to=2026-01-31&order=desc") == std::vector<std::string>{"test.last", "test.first"});
  CHECK(actions("to=2026-01-31") == std::vector<std::string>{"test.before", "test.first", "test.last"});
  CHECK(actions("from=2026-02-01") == std::vector<std::string>{"test.after"});
}

TEST_CASE("analysts see masked phones and no birthdays unless granted pii, and reads and exports are audited", "[hq][privacy]") {
  HqInstance hq("sqlite");
  for (const auto& [user, flag] : {std::pair<std::string, std::string>{"ana", ""}, {"pia", " --pii"}}) {
    REQUIRE(runCommand({"/bin/sh", "-c", "echo 'analyst-password-1' | '" + hqBinary() + "' user set --data '" + hq.dataDir() +
                                             "' --name " + user + " --role analyst" + flag})
                .first == 0);
  }
  hq.start();
  Api api{hq};
  const std::string t1 = hq.registerTerminal("S1", "T1");
  api.upload(t1, "T1", {enrolment("T1", "S1", 1, "M1", kName, kPhone, true)});
  const std::string analyst = hq.cli({"token", "create", "--data", hq.dataDir(), "--role", "analyst", "--name", "ana-script"});
  const std::string granted =
      hq.cli({"token", "create", "--data", hq.dataDir(), "--role", "analyst", "--name", "crm", "--pii"});

  const json masked = api.getJson("/api/v1/members/M1", analyst);
  CHECK(masked.at("phone") == "138****5678");
  CHECK_FALSE(masked.contains("birthday"));
  CHECK(masked.at("name") == kName);
  const json full = api.getJson("/api/v1/members/M1", granted);
  CHECK(full.at("phone") == kPhone);
  CHECK(full.at("birthday") == kBirthday);
  CHECK(api.getJson("/api/v1/members/M1", hq.adminToken()).at("birthday") == kBirthday);

  const std::string csv = api.get("/api/v1/exports/campaign.csv", analyst)->body;
  CHECK(csv.find("138****5678") != std::string::npos);
  CHECK(csv.find(kNationalPhone) == std::string::npos);
  CHECK(api.get("/api/v1/exports/campaign.csv", granted)->body.find(kPhone) != std::string::npos);
  CHECK(api.getJson("/api/v1/reports/campaign", analyst).at("rows")[0].at("phone") == "138****5678");

  // The dashboard's member page, for a session of each (tickets and the sign-in form carry the grant).
  const auto page = [&](const httplib::Headers& s) {
    auto r = hq.client()->Get("/dashboard/members/M1", s);
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return r->body;
  };
  std::string html = page(api.session(analyst));
  CHECK(html.find("138****5678") != std::string::npos);
  CHECK(html.find(kNationalPhone) == std::string::npos);
  CHECK(html.find(kBirthday) == std::string::npos);
  html = page(api.session(granted));
  CHECK(html.find(kPhone) != std::string::npos);
  CHECK(html.find(kBirthday) != std::string::npos);
  const auto signIn = [&](const std::string& user) {
    auto c = hq.client();
    auto login = c->Get("/dashboard/login");
    REQUIRE(login);
    const std::string csrf = hiddenCsrf(login->body);
    auto ok = c->Post("/dashboard/login", {{"Cookie", "lhq_login_csrf=" + csrf}},
                      "csrf=" + csrf + "&user=" + user + "&password=analyst-password-1", "application/x-www-form-urlencoded");
    REQUIRE(ok);
    REQUIRE(ok->status == 303);
    const std::string session = setCookieValue(ok, "lhq_session");
    REQUIRE(!session.empty());
    return httplib::Headers{{"Cookie", "lhq_session=" + session}};
  };
  const httplib::Headers ana = signIn("ana");
  CHECK(page(ana).find("138****5678") != std::string::npos);
  CHECK(page(signIn("pia")).find(kPhone) != std::string::npos);

  // Only admins read the audit trail: API and page.
  api.getJson("/api/v1/admin/audit", analyst, 403);
  CHECK(hq.client()->Get("/dashboard/audit", ana)->status == 403);
  api.getJson("/api/v1/admin/audit?from=2026-13-01", hq.adminToken(), 400);
  api.getJson("/api/v1/admin/audit?limit=0", hq.adminToken(), 400);
  api.getJson("/api/v1/admin/audit?order=sideways", hq.adminToken(), 400);

  const json all = api.getJson("/api/v1/admin/audit", hq.adminToken());
  std::vector<std::string> reads;
  for (const auto& e : all.at("entries")) {
    if (e.at("action") == "member.read") reads.push_back(e.at("actor").get<std::string>());
  }
  CHECK(reads == std::vector<std::string>{"token:ana-script", "token:crm", "token:admin", "user:ana-script", "user:crm",
                                          "user:ana", "user:pia"});
  const json paged = api.getJson("/api/v1/admin/audit?limit=2&offset=1&order=desc", hq.adminToken());
  REQUIRE(paged.at("entries").size() == 2);
  CHECK(paged.at("has_more") == true);
  CHECK(paged.at("entries")[0] == all.at("entries")[all.at("entries").size() - 2]);
  const std::string first = all.at("entries").front().at("at").get<std::string>().substr(0, 10);
  const std::string last = all.at("entries").back().at("at").get<std::string>().substr(0, 10);
  CHECK(api.getJson("/api/v1/admin/audit?from=" + first + "&to=" + last, hq.adminToken()).at("entries").size() ==
        all.at("entries").size());
  CHECK(api.getJson("/api/v1/admin/audit?to=2000-01-01", hq.adminToken()).at("entries").empty());
  // By time, then in the order of recording: an entry recorded last with an earlier time (another
  // instance's clock) comes first, oldest first.
  hq.sql()->query("INSERT INTO audit_log(at, actor, action) VALUES ('2000-01-02T00:00:00Z', 'cli:test', 'test.early')");
  CHECK(api.getJson("/api/v1/admin/audit?limit=1", hq.adminToken()).at("entries")[0].at("action") == "test.early");
  CHECK(api.getJson("/api/v1/admin/audit?limit=1&order=desc", hq.adminToken()).at("entries")[0].at("action") != "test.early");

  // The audit page: newest first by default, paged, every value escaped.
  api.post("/api/v1/admin/members/M1/erase", {{"reason", "<script>alert(1)</script>"}}, hq.adminToken());
  auto audit = hq.client()->Get("/dashboard/audit", api.session(hq.adminToken()));
  REQUIRE(audit);
  REQUIRE(audit->status == 200);
  CHECK(audit->body.find("<script>") == std::string::npos);
  CHECK(audit->body.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  const auto firstRow = audit->body.find("<tr class=\"entry\">");
  REQUIRE(firstRow != std::string::npos);
  CHECK(audit->body.find("member.erase", firstRow) < audit->body.find("member.read", firstRow));
  auto oldest = hq.client()->Get("/dashboard/audit?order=asc", api.session(hq.adminToken()));
  REQUIRE(oldest);
  CHECK(oldest->body.find("member.read", oldest->body.find("<tr class=\"entry\">")) <
        oldest->body.find("member.erase", oldest->body.find("<tr class=\"entry\">")));
  CHECK(audit->body.find("href=\"/dashboard/audit\"") != std::string::npos);  // in the admin's menu
  auto overview = hq.client()->Get("/dashboard", ana);
  REQUIRE(overview);
  CHECK(overview->body.find("href=\"/dashboard/audit\"") == std::string::npos);
}
