// Member 360 at a real loyalty-hq over HTTPS, on SQLite and PostgreSQL: finding a member by
// phone, card, name and pinyin; a head-office points adjustment (admins only, with a reason,
// audited, through the ledger, in the change feed terminals pull; never below zero; idempotent);
// a complaint's compensation through the same adjustment, linked to the complaint and shown on
// the member's page; and the pages in headless Chromium.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "dashboard_browser.hpp"
#include "../support/hq_fixture.hpp"
#include "loyalty/hq/member_feed.hpp"
#include "loyalty/hq/members.hpp"
#include "loyalty/hq/number_format.hpp"

using namespace loyalty::test;
using nlohmann::json;

namespace {

struct Answer {
  int status;
  json body;
};

Answer call(HqInstance& hq, const std::string& token, const std::string& method, const std::string& path, const json& body = nullptr) {
  auto c = hq.client();
  httplib::Result r = method == "GET" ? c->Get(path.c_str(), bearer(token)) : c->Post(path.c_str(), bearer(token), body.dump(), "application/json");
  REQUIRE(r);
  INFO(method << " " << path << " -> " << r->status << " " << r->body);
  return {r->status, r->get_header_value("Content-Type").rfind("application/", 0) == 0 ? json::parse(r->body) : json(r->body)};
}

json member(const std::string& terminal, const std::string& store, std::int64_t seq, const std::string& id, const std::string& name,
            const std::string& phone, const std::string& card) {
  json e = enrolEvent(terminal, store, seq, id);
  e["payload"]["name"] = name;
  e["payload"]["phone"] = phone;
  e["payload"]["card_no"] = card;
  return e;
}

json complaint(const std::string& terminal, std::int64_t seq, const std::string& id, const json& memberId) {
  return {{"event_id", terminal + "-e" + std::to_string(seq)}, {"seq", seq}, {"type", "complaint.filed"}, {"at", "2026-11-23T11:00:00Z"},
          {"payload", {{"complaint_id", id}, {"member_id", memberId}, {"category", "service"}, {"description", "waited 20 minutes"},
                       {"store_id", "S1"}, {"terminal_id", terminal}}}};
}

/// Three members at S1: 张三丰 (spent 100.00, 100 points), 李四 and John Smith; two complaints.
std::string loadStore(HqInstance& hq) {
  const std::string t1 = hq.registerTerminal("S1", "T1");
  const json events = json::array({member("T1", "S1", 1, "M1", "张三丰", "+8613812345678", "880001"),
                                   member("T1", "S1", 2, "M2", "李四", "+8613900001111", "880002"),
                                   member("T1", "S1", 3, "M3", "John Smith", "+8613700002222", "770003"),
                                   saleEvent("T1", "S1", 4, std::string("M1"), "100.00", 100),
                                   complaint("T1", 5, "C-1", "M1"), complaint("T1", 6, "C-anon", nullptr)});
  uploadApplied(hq, t1, "T1", events);
  return t1;
}

/// A 400 whose detail names `field`.
bool refusedNaming(const Answer& a, const std::string& field) {
  return a.status == 400 && a.body.value("detail", "").find(field) != std::string::npos;
}

std::vector<std::string> found(HqInstance& hq, const std::string& token, const std::string& q) {
  const Answer a = call(hq, token, "GET", "/api/v1/members?q=" + httplib::detail::encode_query_param(q));
  REQUIRE(a.status == 200);
  std::vector<std::string> ids;
  for (const auto& m : a.body["members"]) ids.push_back(m["member_id"]);
  CHECK(a.body["total"] == ids.size());
  return ids;
}

/// The member's snapshot in the change feed a terminal pulls (the last one wins).
json fedMember(HqInstance& hq, const std::string& terminalToken, const std::string& id) {
  const Answer a = call(hq, terminalToken, "GET", "/api/v1/changes?limit=1000");
  REQUIRE(a.status == 200);
  json last;
  for (const auto& c : a.body["changes"]) {
    if (c["type"] == "member" && c["member"]["member_id"] == id) last = c;
  }
  return last;
}

std::int64_t balanceOf(HqInstance& hq, const std::string& id) {
  return getJsonChecked(hq, "/api/v1/members/" + id)["balance"].get<std::int64_t>();
}

httplib::Headers sessionOf(HqInstance& hq) {
  auto t = hq.client()->Post("/api/v1/dashboard/tickets", bearer(hq.adminToken()), "{}", "application/json");
  REQUIRE(t);
  REQUIRE(t->status == 201);
  auto r = hq.client()->Get(json::parse(t->body).at("url").get<std::string>().c_str());
  REQUIRE(r);
  return {{"Cookie", "lhq_session=" + setCookieValue(r, "lhq_session")}};
}

}  // namespace

TEMPLATE_TEST_CASE("members: search by phone, card, name and pinyin, points adjusted and compensated through the ledger",
                   "[analytics][members]", SqliteBackend, PostgresBackend) {
  HqInstance hq(TestType::kName);
  hq.start();
  const std::string terminal = loadStore(hq);
  const std::string admin = hq.adminToken();
  const std::string analyst = hq.cli({"token", "create", "--data", hq.dataDir(), "--role", "analyst", "--name", "plain"});

  // [search] pinyin (whole and initials), name and given name, phone (whole, last four), card.
  CHECK(found(hq, admin, "zsf") == std::vector<std::string>{"M1"});
  CHECK(found(hq, admin, "zhangsanf") == std::vector<std::string>{"M1"});
  CHECK(found(hq, admin, "张三") == std::vector<std::string>{"M1"});
  CHECK(found(hq, admin, "三丰") == std::vector<std::string>{"M1"});
  CHECK(found(hq, admin, "ls") == std::vector<std::string>{"M2"});
  CHECK(found(hq, admin, "SMITH") == std::vector<std::string>{"M3"});
  CHECK(found(hq, admin, "138 1234 5678") == std::vector<std::string>{"M1"});
  CHECK(found(hq, admin, "+86 139 0000 1111") == std::vector<std::string>{"M2"});
  CHECK(found(hq, admin, "2222") == std::vector<std::string>{"M3"});
  CHECK(found(hq, admin, "8800") == std::vector<std::string>{"M1", "M2"});  // by value: M1 spent more
  CHECK(found(hq, admin, "nobody").empty());
  const Answer paged = call(hq, admin, "GET", "/api/v1/members?q=8800&limit=1&offset=1");
  CHECK(paged.body["total"] == 2);
  CHECK(paged.body["members"].size() == 1);
  CHECK(paged.body["members"][0]["member_id"] == "M2");
  CHECK(call(hq, admin, "GET", "/api/v1/members").status == 400);
  CHECK(refusedNaming(call(hq, admin, "GET", "/api/v1/members?q=a&limit=500"), "limit"));
  // An analyst without the personal-data grant finds by phone but sees it masked.
  const Answer masked = call(hq, analyst, "GET", "/api/v1/members?q=13812345678");
  REQUIRE(masked.body["members"].size() == 1);
  CHECK(masked.body["members"][0]["phone"] == "138****5678");
  // A name changed at a counter is found under its new name only.
  {
    json upd = {{"event_id", "T1-e7"}, {"seq", 7}, {"type", "member.updated"}, {"at", "2026-11-24T08:00:00Z"},
                {"payload", {{"member_id", "M3"}, {"name", "王小明"}, {"store_id", "S1"}, {"terminal_id", "T1"}}}};
    auto r = hq.client()->Post("/api/v1/events", bearer(terminal), batch("T1", json::array({upd})).dump(), "application/json");
    REQUIRE(r);
    REQUIRE(json::parse(r->body)["results"][0]["status"] == "applied");
  }
  CHECK(found(hq, admin, "wxm") == std::vector<std::string>{"M3"});
  CHECK(found(hq, admin, "smith").empty());

  // [adjust] admins only, with a reason, never to a negative balance; refusals change nothing.
  REQUIRE(balanceOf(hq, "M1") == 100);
  CHECK(call(hq, analyst, "POST", "/api/v1/admin/members/M1/points", {{"points", 50}, {"reason", "x"}}).status == 403);
  CHECK(refusedNaming(call(hq, admin, "POST", "/api/v1/admin/members/M1/points", {{"points", 0}, {"reason", "x"}}), "points"));
  CHECK(refusedNaming(call(hq, admin, "POST", "/api/v1/admin/members/M1/points", {{"points", 5}}), "reason"));
  CHECK(refusedNaming(call(hq, admin, "POST", "/api/v1/admin/members/M1/points", {{"points", "5"}, {"reason", "x"}}), "points"));
  CHECK(call(hq, admin, "POST", "/api/v1/admin/members/nobody/points", {{"points", 5}, {"reason", "x"}}).status == 404);
  const Answer negative = call(hq, admin, "POST", "/api/v1/admin/members/M1/points", {{"points", -101}, {"reason", "typo"}});
  CHECK(negative.status == 409);
  CHECK(negative.body["type"].get<std::string>().find("insufficient_points") != std::string::npos);
  CHECK(balanceOf(hq, "M1") == 100);

  const json credit = {{"points", 50}, {"reason", "birthday gift missed"}, {"adjustment_id", "adj-1"}};
  const Answer added = call(hq, admin, "POST", "/api/v1/admin/members/M1/points", credit);
  REQUIRE(added.status == 200);
  CHECK(added.body["balance"] == 150);
  CHECK(added.body["reason"] == "birthday gift missed");
  CHECK(call(hq, admin, "POST", "/api/v1/admin/members/M1/points", credit).body["balance"] == 150);  // the same again: once
  CHECK(call(hq, admin, "POST", "/api/v1/admin/members/M1/points", {{"points", 60}, {"reason", "x"}, {"adjustment_id", "adj-1"}}).status == 409);
  CHECK(balanceOf(hq, "M1") == 150);
  // Terminals learn the balance through the change feed.
  CHECK(fedMember(hq, terminal, "M1")["balance"] == 150);
  // The ledger has it (the data-subject export) and the audit trail names who and why.
  const json doc = getJsonChecked(hq, "/api/v1/members/M1/export");
  std::int64_t adjusted = 0;
  for (const auto& e : doc["ledger"]) {
    if (e["kind"] == "adjust") adjusted += e["points"].get<std::int64_t>();
  }
  CHECK(adjusted == 50);
  const json audit = getJsonChecked(hq, "/api/v1/admin/audit?order=desc&limit=50");
  bool audited = false;
  for (const auto& e : audit["entries"]) {
    audited = audited || (e["action"] == "points.adjust" && e["subject"] == "M1" &&
                          e.value("detail", "").find("+50: birthday gift missed") != std::string::npos);
  }
  CHECK(audited);

  // [compensation] goodwill points for a complaint go to its customer, linked to it.
  CHECK(call(hq, admin, "POST", "/api/v1/admin/complaints/C-anon/compensation", {{"points", 10}, {"reason", "sorry"}}).status == 409);
  CHECK(call(hq, admin, "POST", "/api/v1/admin/complaints/C-none/compensation", {{"points", 10}, {"reason", "sorry"}}).status == 404);
  const Answer comp = call(hq, admin, "POST", "/api/v1/admin/complaints/C-1/compensation", {{"points", 30}, {"reason", "long wait"}});
  REQUIRE(comp.status == 200);
  CHECK(comp.body["member_id"] == "M1");
  CHECK(comp.body["complaint_id"] == "C-1");
  CHECK(comp.body["balance"] == 180);
  CHECK(fedMember(hq, terminal, "M1")["balance"] == 180);
  // The complaint must be the member's when both are named (the profile's form).
  const auto session = sessionOf(hq);
  auto page = hq.client()->Get("/dashboard/members/M2?lang=en", session);
  REQUIRE(page);
  const std::string csrf = hiddenCsrf(page->body);
  auto wrong = hq.client()->Post("/dashboard/members/M2/compensation", session,
                                 "csrf=" + csrf + "&complaint_id=C-1&points=5&reason=x", "application/x-www-form-urlencoded");
  REQUIRE(wrong);
  CHECK(wrong->status == 409);
  CHECK(balanceOf(hq, "M2") == 0);

  // [pages] the profile shows the history with reasons and the compensation on the complaint;
  // its form debits, and a debit past zero is refused on a page.
  auto profile = hq.client()->Get("/dashboard/members/M1?lang=en", session);
  REQUIRE(profile);
  REQUIRE(profile->status == 200);
  CHECK(profile->body.find("Points history") != std::string::npos);
  CHECK(profile->body.find("birthday gift missed") != std::string::npos);
  CHECK(profile->body.find(R"(data-key="compensation:C-1">+30 · long wait)") != std::string::npos);
  CHECK(profile->body.find("waited 20 minutes") != std::string::npos);
  CHECK(profile->body.find("<td>¥100.00</td>") != std::string::npos);  // the sale, as money
  // The complaint's time on the store's clock (S1's terminal keeps UTC), as the complaint pages show it.
  CHECK(profile->body.find(R"(<tr data-complaint="C-1"><td>2026-11-23 11:00</td>)") != std::string::npos);
  CHECK(profile->body.find("2026-11-23T11:00:00Z") == std::string::npos);
  auto debit = hq.client()->Post("/dashboard/members/M1/points", session, "csrf=" + csrf + "&points=-20&reason=returned%20gift",
                                 "application/x-www-form-urlencoded");
  REQUIRE(debit);
  CHECK(debit->status == 303);
  CHECK(balanceOf(hq, "M1") == 160);
  auto tooMuch = hq.client()->Post("/dashboard/members/M1/points", session, "csrf=" + csrf + "&points=-999&reason=x",
                                   "application/x-www-form-urlencoded");
  REQUIRE(tooMuch);
  CHECK(tooMuch->status == 409);
  auto noCsrf = hq.client()->Post("/dashboard/members/M1/points", session, "points=5&reason=x", "application/x-www-form-urlencoded");
  REQUIRE(noCsrf);
  CHECK(noCsrf->status == 403);
  CHECK(balanceOf(hq, "M1") == 160);
  auto search = hq.client()->Get("/dashboard/members?lang=zh&q=zsf", session);
  REQUIRE(search);
  REQUIRE(search->status == 200);
  CHECK(search->body.find(R"(href="/dashboard/members/M1")") != std::string::npos);
  CHECK(search->body.find("显示 1 条，共 1") != std::string::npos);
}

TEST_CASE("member pages in headless Chromium: search by pinyin, the profile with its history and forms",
          "[analytics][members][chromium]") {
  REQUIRE(runCommand({"/bin/sh", "-c", "command -v chromium"}).first == 0);  // packaging/install-deps.sh installs it
  HqInstance hq("sqlite");
  hq.start();
  loadStore(hq);
  REQUIRE(call(hq, hq.adminToken(), "POST", "/api/v1/admin/members/M1/points", {{"points", 50}, {"reason", "生日礼遗漏补发"}}).status == 200);
  REQUIRE(call(hq, hq.adminToken(), "POST", "/api/v1/admin/complaints/C-1/compensation", {{"points", 30}, {"reason", "等候时间过长"}}).status ==
          200);
  Http browser{hq, hq.adminToken()};
  const auto shot = [&](const std::string& page, const std::string& name) { return chromiumPage(browser, page, name, 1280, 1400); };
  const std::string search = shot("/dashboard/members?lang=zh&q=zsf", "members-search-zh");
  CHECK(search.find("张三丰") != std::string::npos);
  CHECK(search.find("会员查询") != std::string::npos);
  const std::string zh = shot("/dashboard/members/M1?lang=zh", "member-360-zh");
  CHECK(zh.find("积分明细") != std::string::npos);
  CHECK(zh.find("生日礼遗漏补发") != std::string::npos);
  CHECK(zh.find("+30 · 等候时间过长") != std::string::npos);
  const std::string en = shot("/dashboard/members/M1?lang=en", "member-360-en");
  CHECK(en.find("Head-office adjustment") != std::string::npos);
}

TEMPLATE_TEST_CASE("members: search keys follow name changes, erasures and merges, and stay as they are for balance changes",
                   "[analytics][members]", SqliteBackend, PostgresBackend) {
  HqInstance hq(TestType::kName);
  hq.start();
  const std::string terminal = loadStore(hq);
  const std::string admin = hq.adminToken();
  auto look = hq.sql();
  const auto keys = [&](const std::string& id) {
    const auto r = look->query("SELECT search_key FROM member_search_keys WHERE member_id = $1 ORDER BY search_key", {id});
    std::vector<std::string> out;
    for (std::size_t i = 0; i < r.size(); ++i) out.push_back(r.text(i, 0));
    return out;
  };
  REQUIRE(found(hq, admin, "zsf") == std::vector<std::string>{"M1"});  // every member's keys are written by now
  const auto m1 = keys("M1"), m2 = keys("M2");
  // Which row versions hold them: a key written again is another.
  const auto versions = [&] {
    const auto r = look->query(std::string("SELECT ") + (TestType::kName == std::string("postgresql") ? "CAST(xmin AS TEXT)" : "CAST(rowid AS TEXT)") +
                               " FROM member_search_keys WHERE member_id IN ('M1', 'M2') ORDER BY search_key, member_id");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < r.size(); ++i) out.push_back(r.text(i, 0));
    return out;
  };
  const auto written = versions();
  CHECK(std::find(m1.begin(), m1.end(), "#880001") != m1.end());
  CHECK(std::find(m1.begin(), m1.end(), "*5678") != m1.end());

  // Sales change balances (and change numbers) only: the next search leaves the keys as they are.
  const auto through = [&] { return look->query("SELECT value FROM counters WHERE name = 'member_keys_through'").integer(0, 0); };
  const std::int64_t before = through();
  uploadApplied(hq, terminal, "T1",
                json::array({saleEvent("T1", "S1", 7, std::string("M1"), "20.00", 20), saleEvent("T1", "S1", 8, std::string("M2"), "5.00", 5)}));
  CHECK(found(hq, admin, "8800") == std::vector<std::string>{"M1", "M2"});
  CHECK(through() > before);  // both members' changes were read
  CHECK(keys("M1") == m1);
  CHECK(keys("M2") == m2);
  CHECK(versions() == written);  // and no key written again

  // Erased: no keys, not found. Merged away: no keys; found as the member it went into.
  CHECK(call(hq, admin, "POST", "/api/v1/admin/members/M2/erase", {{"reason", "asked"}}).status == 200);
  CHECK(found(hq, admin, "ls").empty());
  CHECK(keys("M2").empty());
  CHECK(call(hq, admin, "POST", "/api/v1/admin/members/merge", {{"from", "M3"}, {"into", "M1"}}).status == 200);
  CHECK(found(hq, admin, "smith").empty());
  CHECK(keys("M3").empty());
  CHECK(found(hq, admin, "zsf") == std::vector<std::string>{"M1"});
  CHECK(keys("M1") == m1);

  // Earlier releases kept the keys of members erased or merged away: the next start after such
  // an erasure (here: one it did not see) drops them.
  hq.stop();
  look->query("INSERT INTO member_search_keys(search_key, member_id) VALUES ('li si', 'M2'), ('#770003', 'M3'), ('extra', 'M1')");
  look->query("UPDATE counters SET value = value + 1 WHERE name = 'erasures'");
  hq.start();
  CHECK(keys("M2").empty());
  CHECK(keys("M3").empty());
  CHECK(keys("M1").size() == m1.size() + 1);  // a listed member's keys are left to the refresh
}

TEMPLATE_TEST_CASE("members: the leading instance brings the search keys up to date in the background, with no search asked",
                   "[analytics][members]", SqliteBackend, PostgresBackend) {
  HqInstance hq(TestType::kName);
  std::ofstream(hq.dataDir() + "/hq.toml", std::ios::app) << "\n[reports]\nrefresh_seconds = 1\n";
  hq.start();
  loadStore(hq);
  auto look = hq.sql();
  const auto written = [&] {
    return look->query("SELECT COUNT(DISTINCT member_id) FROM member_search_keys").integer(0, 0);
  };
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (written() < 3 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(written() == 3);
  CHECK(look->query("SELECT value FROM counters WHERE name = 'member_keys_through'").integer(0, 0) > 0);
  CHECK(found(hq, hq.adminToken(), "zsf") == std::vector<std::string>{"M1"});
}

TEMPLATE_TEST_CASE("members: with the search keys far behind (a bulk load), a search answers after its catch-up time, says how "
                   "many members it may miss, and still finds a whole phone or card number",
                   "[analytics][members]", SqliteBackend, PostgresBackend) {
  HqInstance hq(TestType::kName);
  hq.start();
  loadStore(hq);
  const std::string admin = hq.adminToken();
  const Answer upToDate = call(hq, admin, "GET", "/api/v1/members?q=zsf");
  CHECK(upToDate.body.at("keys_behind") == 0);
  CHECK(upToDate.body.at("total") == 1);
  const auto session = sessionOf(hq);  // before the refresher's turn is held below (a login writes)
  hq.stop();

  // 60,000 members loaded straight into the database (as a bulk import does): each with its
  // change number and its entry in the change feed, none with search keys yet. B59999, the last,
  // has card 77059999 and phone +86 138 0005 9999.
  auto c = hq.sql();
  {
    loyalty::hq::SqlTransaction tx(*c);
    const std::int64_t first = loyalty::hq::takeChangeNumbers(*c, 60000);
    c->exec("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 59999) "
            "INSERT INTO members(member_id, enrolled, card_no, phone, name, consent_marketing, enrolled_at, enrolled_store, change_no) "
            "SELECT 'B' || CAST(i AS TEXT), 1, CAST(77000000 + i AS TEXT), '+86' || CAST(13800000000 + i AS TEXT), "
            "'Bulk ' || CAST(i AS TEXT), 0, '2026-01-01T00:00:00Z', 'S1', CAST($1 AS BIGINT) + i FROM n",
            {first});
    c->exec("INSERT INTO member_feed(change_no, member_id) SELECT change_no, member_id FROM members WHERE member_id LIKE 'B%'");
    tx.commit();
  }

  // Searches that take no time to catch up, while this test holds the keys' writers' turn: the
  // leader's refresher, which starts on them at once, writes none meanwhile.
  setenv("LOYALTY_HQ_TEST_SEARCH_CATCH_UP_MS", "0", 1);
  hq.start();
  unsetenv("LOYALTY_HQ_TEST_SEARCH_CATCH_UP_MS");
  {
    loyalty::hq::SqlTransaction hold(*c, loyalty::hq::SqlTransaction::Kind::kRowWrite);
    loyalty::hq::holdSearchKeys(*c);
    const std::int64_t behind = loyalty::hq::searchKeysBehind(*c, 100000);
    REQUIRE(behind > 0);  // keys are written in the order of change numbers: B59999's come last
    const Answer byName = call(hq, admin, "GET", "/api/v1/members?q=Bulk%2059999");
    CHECK(byName.body.at("keys_behind") == behind);
    CHECK(byName.body.at("total") == 0);
    CHECK(byName.body.at("members").empty());
    // The page says so, in both languages.
    auto page = hq.client()->Get("/dashboard/members?lang=en&q=Bulk%2059999", session);
    REQUIRE(page);
    CHECK(page->body.find("data-key=\"keys_behind\"") != std::string::npos);
    CHECK(page->body.find(loyalty::hq::groupThousands(std::to_string(behind))) != std::string::npos);
    page = hq.client()->Get("/dashboard/members?lang=zh&q=Bulk%2059999", session);
    REQUIRE(page);
    CHECK(page->body.find("会员查询仍在收录最近的会员变动") != std::string::npos);
    hold.commit();
  }
  // A whole card or phone number is read from the member's row: found with or without keys.
  CHECK(found(hq, admin, "77059999") == std::vector<std::string>{"B59999"});
  CHECK(found(hq, admin, "138 0005 9999") == std::vector<std::string>{"B59999"});

  // With the usual catch-up time, searches bring the keys up to date (beside the refresher),
  // and the name finds the member.
  hq.stop();
  hq.start();
  json last;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  do {
    last = call(hq, admin, "GET", "/api/v1/members?q=Bulk%2059999").body;
  } while (last.at("keys_behind") != 0 && std::chrono::steady_clock::now() < until);
  CHECK(last.at("keys_behind") == 0);
  REQUIRE(last.at("members").size() == 1);
  CHECK(last.at("members")[0].at("member_id") == "B59999");
  auto page = hq.client()->Get("/dashboard/members?lang=en&q=Bulk%2059999", session);
  REQUIRE(page);
  CHECK(page->body.find("data-key=\"keys_behind\"") == std::string::npos);
}
