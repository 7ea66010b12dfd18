// Outreach messages at a real loyalty-hq over HTTPS, on SQLite and PostgreSQL, against a gateway
// test server this test starts on loopback (HTTPS; it can fail, be slow, answer garbage or
// refuse): consent, the preview, quiet hours in the store's time, retries with backoff, the daily
// budget, the frequency cap, delivery reports, opt-out by reply and by link (consent withdrawn,
// reaching terminals); and the page in headless Chromium.
#include <chrono>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <regex>
#include <set>

#include "../support/hq_fixture.hpp"
#include "loyalty/core/time.hpp"
#include "loyalty/hq/outreach.hpp"

using namespace loyalty::test;
using nlohmann::json;

namespace {

struct Api {
  HqInstance& hq;
  std::string token;

  json call(const std::string& method, const std::string& path, const json& body, int status) {
    auto c = hq.client();
    httplib::Result r = method == "GET"   ? c->Get(path.c_str(), bearer(token))
                        : method == "PUT" ? c->Put(path.c_str(), bearer(token), body.dump(), "application/json")
                                          : c->Post(path.c_str(), bearer(token), body.dump(), "application/json");
    REQUIRE(r);
    INFO(method << " " << path << " -> " << r->status << " " << r->body);
    REQUIRE(r->status == status);
    return r->get_header_value("Content-Type").rfind("application/", 0) == 0 ? json::parse(r->body) : json(r->body);
  }
  json get(const std::string& path, int status = 200) { return call("GET", path, nullptr, status); }
  json post(const std::string& path, const json& body, int status = 200) { return call("POST", path, body, status); }
  json put(const std::string& path, const json& body, int status = 200) { return call("PUT", path, body, status); }
};

std::string dayAfter(int days) {
  const std::chrono::year_month_day d{std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now()) + std::chrono::days(days)};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()), static_cast<unsigned>(d.month()),
                static_cast<unsigned>(d.day()));
  return buf;
}

/// A gateway on loopback that answers as it is told, request by request ("ok" once the script is
/// empty): ok (200 with an id), fail (503), garbage (200, not JSON), slow (answers after 1.5 s),
/// refuse (400).
class TestGateway {
 public:
  explicit TestGateway(const std::string& tlsDir) : m_server((tlsDir + "/server.pem").c_str(), (tlsDir + "/server.key").c_str()) {
    REQUIRE(m_server.is_valid());
    m_server.Post("/send", [this](const httplib::Request& req, httplib::Response& res) {
      std::string mode = "ok";
      {
        std::lock_guard lock(m_mutex);
        m_requests.push_back({json::parse(req.body, nullptr, false), req.get_header_value("Authorization")});
        if (!m_script.empty()) {
          mode = m_script.front();
          m_script.pop_front();
        }
      }
      if (mode == "fail") {
        res.status = 503;
        res.set_content("busy", "text/plain");
      } else if (mode == "garbage") {
        res.set_content("<html>oops", "text/html");
      } else if (mode == "refuse") {
        res.status = 400;
        res.set_content(R"({"error": "bad number"})", "application/json");
      } else {
        if (mode == "slow") std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        res.set_content(json{{"id", "gw-" + std::to_string(++m_ids)}}.dump(), "application/json");
      }
    });
    m_port = m_server.bind_to_any_port("127.0.0.1");
    REQUIRE(m_port > 0);
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
  }
  ~TestGateway() {
    m_server.stop();
    m_thread.join();
  }
  int port() const { return m_port; }
  void script(std::initializer_list<const char*> modes) {
    std::lock_guard lock(m_mutex);
    m_script.assign(modes.begin(), modes.end());
  }
  std::vector<std::pair<json, std::string>> requests() {
    std::lock_guard lock(m_mutex);
    return m_requests;
  }

 private:
  httplib::SSLServer m_server;
  std::thread m_thread;
  int m_port = 0;
  std::mutex m_mutex;
  std::deque<std::string> m_script;
  std::vector<std::pair<json, std::string>> m_requests;
  int m_ids = 0;
};

json enrol(const std::string& terminal, const std::string& store, std::int64_t seq, const std::string& member, const std::string& phone,
           bool consent, const json& birthday, const json& language) {
  return {{"event_id", terminal + "-e" + std::to_string(seq)}, {"seq", seq}, {"type", "member.enrolled"}, {"at", "2026-11-23T08:00:00Z"},
          {"payload", {{"member_id", member}, {"card_no", "9" + member}, {"phone", phone}, {"name", member == "m3" ? "Oliver Smith" : "王小" + member},
                       {"birthday", birthday}, {"language", language}, {"consent_marketing", consent},
                       {"consent_version", consent ? json("v1") : json(nullptr)}, {"referrer_id", nullptr}, {"store_id", store},
                       {"terminal_id", terminal}}}};
}

/// m1 (zh, consents), m2 (no consent), m3 (en, consents) have their birthday on `birthday`; m4
/// (consents) another day. All at S1, a store on Shanghai time.
std::string loadMembers(HqInstance& hq, const std::string& birthday) {
  const std::string token = hq.registerTerminal("S1", "T1", "Asia/Shanghai");
  const std::string born = "1990" + birthday.substr(4);
  json events = json::array({enrol("T1", "S1", 1, "m1", "+8613800000001", true, born, "zh-CN"),
                             enrol("T1", "S1", 2, "m2", "+8613800000002", false, born, nullptr),
                             enrol("T1", "S1", 3, "m3", "+8613800000003", true, born, "en"),
                             enrol("T1", "S1", 4, "m4", "+8613800000004", true, "1985-01-15", nullptr)});
  auto r = hq.client()->Post("/api/v1/events", bearer(token), batch("T1", events).dump(), "application/json");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  const json answer = json::parse(r->body);
  for (const auto& res : answer["results"]) REQUIRE(res["status"] == "applied");
  return token;
}

json settingsFor(const HqInstance& hq, const TestGateway& gw) {
  return {{"gateway_url", "https://127.0.0.1:" + std::to_string(gw.port()) + "/send"},
          {"auth", "bearer"},
          {"secret", "gw-secret-token"},
          {"ca_file", hq.caFile()},
          {"timeout_ms", 1000},
          {"callback_secret", "cb-secret-0123456789"},
          {"quiet_start", "21:00"},
          {"quiet_end", "08:00"},
          {"cap_messages", 2},
          {"cap_days", 7},
          {"daily_budget", 2},
          {"max_attempts", 3},
          {"backoff_seconds", 60},
          {"interval_seconds", 0}};
}

/// A refusal names the field.
bool names(const json& problem, const std::string& field) { return problem["detail"].get<std::string>().find(field) != std::string::npos; }

json byMember(const json& preview, const std::string& member) {
  for (const auto& r : preview["recipients"]) {
    if (r["member_id"] == member) return r;
  }
  return nullptr;
}

std::string messageStatus(Api& admin, const std::string& member, const std::string& kind) {
  const json list = admin.get("/api/v1/outreach/messages?limit=1000");
  for (const auto& m : list["messages"]) {
    if (m["member_id"] == member && m["kind"] == kind) return m["status"];
  }
  return "";
}

}  // namespace

TEMPLATE_TEST_CASE("outreach: consent, preview, quiet hours, retries, budget, cap and delivery reports against a loopback gateway",
                   "[hq][outreach]", SqliteBackend, PostgresBackend) {
  HqInstance hq(TestType::kName);
  hq.start();
  TestGateway gw(hq.dataDir() + "/tls");
  const std::string d1 = dayAfter(1), d2 = dayAfter(2), d3 = dayAfter(3);
  loadMembers(hq, d1);
  Api admin{hq, hq.adminToken()};

  // Settings are checked field by field; a refused change changes nothing; secrets never come back.
  CHECK(names(admin.put("/api/v1/admin/outreach/settings", {{"quiet_start", "25:00"}}, 400), "quiet_start"));
  CHECK(names(admin.put("/api/v1/admin/outreach/settings", {{"gateway_url", "http://127.0.0.1/send"}}, 400), "gateway_url"));
  CHECK(names(admin.put("/api/v1/admin/outreach/settings", {{"sms_vendor", "x"}}, 400), "sms_vendor"));
  CHECK(names(admin.put("/api/v1/admin/outreach/settings", {{"request_template", "{\"to\": {to}}"}}, 400), "request_template"));
  CHECK(admin.get("/api/v1/admin/outreach/settings")["gateway_url"] == "");
  const json view = admin.put("/api/v1/admin/outreach/settings", settingsFor(hq, gw));
  CHECK(view["secret_set"] == true);
  CHECK_FALSE(view.contains("secret"));
  CHECK(view.dump().find("gw-secret-token") == std::string::npos);

  // Who gets what: only members who consented; each in their language, with how to opt out.
  const json preview = admin.get("/api/v1/outreach/preview?kind=birthday&day=" + d1);
  CHECK(preview["counts"]["send"] == 2);
  CHECK(preview["counts"]["no_consent"] == 1);
  CHECK(byMember(preview, "m4").is_null());
  CHECK(byMember(preview, "m2")["decision"] == "no_consent");
  const std::string zh = byMember(preview, "m1")["text"];
  CHECK(zh.find("王小m1，祝您生日快乐！") != std::string::npos);
  CHECK(zh.find("回TD退订") != std::string::npos);
  const std::string en = byMember(preview, "m3")["text"];
  CHECK(en.find("Happy birthday, Oliver!") != std::string::npos);
  CHECK(en.find("Reply STOP to opt out") != std::string::npos);
  CHECK(names(admin.get("/api/v1/outreach/preview?kind=fax", 400), "kind"));
  CHECK(names(admin.get("/api/v1/outreach/preview?kind=campaign&campaign=x", 400), "text"));

  // Queued once per occasion: sending the same again queues nothing.
  CHECK(admin.post("/api/v1/admin/outreach/send", {{"kind", "birthday"}, {"day", d1}}, 201)["queued"] == 2);
  const json again = admin.post("/api/v1/admin/outreach/send", {{"kind", "birthday"}, {"day", d1}}, 201);
  CHECK(again["queued"] == 0);
  CHECK(again["counts"]["already"] == 2);

  // 22:30 in Shanghai: quiet hours; nothing reaches the gateway, both wait until 08:00 there.
  json run = admin.post("/api/v1/admin/outreach/run", {{"at", d1 + "T14:30:00Z"}});
  CHECK(run["quiet"] == 2);
  CHECK(run["sent"] == 0);
  CHECK(gw.requests().empty());
  run = admin.post("/api/v1/admin/outreach/run", {{"at", d1 + "T23:59:00Z"}});  // 07:59 there
  CHECK(run["quiet"] == 0);
  CHECK(run["sent"] == 0);
  CHECK(gw.requests().empty());

  // 08:00:30 there: the gateway fails the first, takes the second; the first is retried after
  // the backoff (60 s), then the gateway answers garbage (retried again after 120 s), then ok.
  gw.script({"fail", "ok"});
  run = admin.post("/api/v1/admin/outreach/run", {{"at", d2 + "T00:00:30Z"}});
  CHECK(run["sent"] == 1);
  CHECK(run["retrying"] == 1);
  REQUIRE(gw.requests().size() == 2);
  const auto [first, auth] = gw.requests()[0];
  INFO(first.dump());
  CHECK(auth == "Bearer gw-secret-token");
  CHECK((first["to"] == "+8613800000001" || first["to"] == "+8613800000003"));
  const std::string firstText = first["text"];
  CHECK((firstText.find("irthday") != std::string::npos || firstText.find("生日快乐") != std::string::npos));
  CHECK(first["client_ref"].get<std::string>().rfind("m-", 0) == 0);
  CHECK(admin.post("/api/v1/admin/outreach/run", {{"at", d2 + "T00:01:00Z"}})["sent"] == 0);  // backoff not over
  CHECK(gw.requests().size() == 2);
  gw.script({"garbage"});
  run = admin.post("/api/v1/admin/outreach/run", {{"at", d2 + "T00:01:31Z"}});
  INFO(run.dump() << admin.get("/api/v1/outreach/messages").dump());
  CHECK(run["retrying"] == 1);
  CHECK(gw.requests().size() == 3);
  CHECK(gw.requests()[2].first["client_ref"] == first["client_ref"]);  // the same message id: the gateway can drop a duplicate
  run = admin.post("/api/v1/admin/outreach/run", {{"at", d2 + "T00:04:00Z"}});
  CHECK(run["sent"] == 1);
  const json status = admin.get("/api/v1/outreach/messages");
  CHECK(status["counts"]["sent"] == 2);
  for (const auto& m : status["messages"]) CHECK(m["status"] == "sent");

  // A delivery report through the callback (its secret path); wrong secret or id: 404.
  auto c = hq.client();
  auto report = c->Post("/api/v1/outreach/gateway/cb-secret-0123456789/status", R"({"id": "gw-1", "status": "DELIVRD"})", "application/json");
  REQUIRE(report);
  CHECK(report->status == 200);
  CHECK(json::parse(report->body)["status"] == "delivered");
  report = c->Post("/api/v1/outreach/gateway/wrong-secret-0123456789/status", R"({"id": "gw-2", "status": "DELIVRD"})", "application/json");
  CHECK(report->status == 404);
  report = c->Post("/api/v1/outreach/gateway/cb-secret-0123456789/status", R"({"id": "gw-99", "status": "DELIVRD"})", "application/json");
  CHECK(report->status == 404);
  CHECK(admin.get("/api/v1/outreach/messages")["counts"]["delivered"] == 1);

  // The daily budget (2, both used on d2): a campaign waits for the next UTC day, then sends 2.
  const json campaign = admin.post("/api/v1/admin/outreach/send",
                                   {{"kind", "campaign"}, {"campaign", "winter"}, {"text", "冬季加油满200减20"}, {"day", d2}}, 201);
  CHECK(campaign["queued"] == 3);
  run = admin.post("/api/v1/admin/outreach/run", {{"at", d2 + "T01:00:00Z"}});
  CHECK(run["over_budget"] == 3);
  CHECK(run["sent"] == 0);
  run = admin.post("/api/v1/admin/outreach/run", {{"at", d3 + "T00:00:10Z"}});
  CHECK(run["sent"] == 2);
  CHECK(run["over_budget"] == 1);
  CHECK(admin.get("/api/v1/outreach/messages")["today"]["sent"].is_number());

  // The frequency cap (2 in 7 days): m1 and m3 had a birthday greeting and a campaign.
  const json capped = admin.get("/api/v1/outreach/preview?kind=campaign&campaign=spring&text=hello&day=" + d3);
  CHECK(byMember(capped, "m1")["decision"] == "capped");
  CHECK(byMember(capped, "m3")["decision"] == "capped");
  CHECK(byMember(capped, "m4")["decision"] == "send");  // only the campaign so far

  // A refusal (400) fails the message at once; a gateway too slow or down is retried, then failed.
  json more = admin.put("/api/v1/admin/outreach/settings", {{"daily_budget", 100}, {"cap_messages", 10}});
  CHECK(more["daily_budget"] == 100);
  admin.post("/api/v1/admin/outreach/send", {{"kind", "festival"}, {"festival", "spring_festival"}, {"day", d3}}, 201);
  gw.script({"ok", "refuse", "slow", "slow", "slow", "slow"});
  admin.post("/api/v1/admin/outreach/run", {{"at", d3 + "T02:00:00Z"}});
  admin.post("/api/v1/admin/outreach/run", {{"at", d3 + "T03:00:00Z"}});
  run = admin.post("/api/v1/admin/outreach/run", {{"at", d3 + "T04:00:00Z"}});
  const json after = admin.get("/api/v1/outreach/messages?status=failed");
  REQUIRE(after["messages"].size() == 2);
  std::set<std::string> errors;
  for (const auto& m : after["messages"]) errors.insert(m["error"].get<std::string>().substr(0, 20));
  CHECK(errors.contains("gateway refused (400"));
  CHECK(errors.contains("gateway unreachable:"));
  // The list comes in pages, newest first: every message once across them, the total with it.
  CHECK(after["total"] == 2);
  const json all = admin.get("/api/v1/outreach/messages?limit=1000");
  CHECK(all["total"] == all["messages"].size());
  std::vector<std::string> paged;
  for (std::int64_t offset = 0; offset < all["total"].get<std::int64_t>(); offset += 2) {
    const json page = admin.get("/api/v1/outreach/messages?limit=2&offset=" + std::to_string(offset));
    CHECK(page["page"] == json{{"offset", offset}, {"limit", 2}});
    CHECK(page["total"] == all["total"]);
    for (const auto& m : page["messages"]) paged.push_back(m["message_id"]);
  }
  std::vector<std::string> whole;
  for (const auto& m : all["messages"]) whole.push_back(m["message_id"]);
  CHECK(paged == whole);
  CHECK(admin.get("/api/v1/outreach/messages?status=failed&offset=1")["messages"].size() == 1);
  CHECK(names(admin.get("/api/v1/outreach/messages?status=lost", 400), "status"));
  CHECK(names(admin.get("/api/v1/outreach/messages?offset=-1", 400), "offset"));
  CHECK(names(admin.get("/api/v1/outreach/messages?limit=0", 400), "limit"));

  // Every change is in the audit trail.
  const json audit = admin.get("/api/v1/admin/audit?limit=1000");
  std::set<std::string> actions;
  for (const auto& e : audit["entries"]) actions.insert(e["action"]);
  CHECK(actions.contains("outreach.settings"));
  CHECK(actions.contains("outreach.queue"));
}

TEMPLATE_TEST_CASE("outreach: opt-out by reply and by link withdraws consent through the consent history and reaches terminals",
                   "[hq][outreach]", SqliteBackend, PostgresBackend) {
  HqInstance hq(TestType::kName);
  hq.start();
  TestGateway gw(hq.dataDir() + "/tls");
  const std::string d1 = dayAfter(1);
  const std::string terminal = loadMembers(hq, d1);
  Api admin{hq, hq.adminToken()};
  json settings = settingsFor(hq, gw);
  settings["opt_out_url"] = "https://hq.example.com/";
  admin.put("/api/v1/admin/outreach/settings", settings);
  CHECK(admin.post("/api/v1/admin/outreach/send", {{"kind", "birthday"}, {"day", d1}}, 201)["queued"] == 2);

  // The change feed up to now, so that the opt-out shows as a later change.
  auto c = hq.client();
  auto feed = c->Get("/api/v1/changes?limit=1000", bearer(terminal));
  REQUIRE(feed);
  const std::string cursor = json::parse(feed->body)["next_cursor"];

  // A reply "TD" from m1's phone, as the gateway passes it on (national number).
  auto reply = c->Post("/api/v1/outreach/gateway/cb-secret-0123456789/reply", R"({"from": "13800000001", "text": " td "})", "application/json");
  REQUIRE(reply);
  REQUIRE(reply->status == 200);
  CHECK(json::parse(reply->body)["opted_out"] == 1);
  reply = c->Post("/api/v1/outreach/gateway/cb-secret-0123456789/reply", R"({"from": "13800000003", "text": "thanks!"})", "application/json");
  CHECK(json::parse(reply->body)["opted_out"] == 0);
  const json m1 = admin.get("/api/v1/members/m1");
  CHECK(m1["consent_marketing"] == false);
  auto sql = hq.sql();
  const auto history = sql->query("SELECT source, consent_marketing FROM member_consents WHERE member_id = 'm1' ORDER BY entry_no");
  REQUIRE(history.size() == 2);
  CHECK(history.text(1, 0) == "outreach.reply");
  CHECK(history.integer(1, 1) == 0);
  feed = c->Get(("/api/v1/changes?limit=1000&cursor=" + cursor).c_str(), bearer(terminal));
  REQUIRE(feed);
  bool seen = false;
  const json changes = json::parse(feed->body);
  for (const auto& ch : changes["changes"]) {
    if (ch.contains("member") && ch["member"]["member_id"] == "m1") seen = ch["member"]["consent_marketing"] == false;
  }
  CHECK(seen);

  // m3 follows the link in their message: a page, then the button withdraws consent.
  const auto token = sql->query("SELECT opt_out_token, body FROM outreach_messages WHERE member_id = 'm3'");
  REQUIRE(token.size() == 1);
  CHECK(token.text(0, 1).find("https://hq.example.com/optout/" + token.text(0, 0)) != std::string::npos);
  auto page = c->Get(("/optout/" + token.text(0, 0)).c_str());
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->body.find("Stop marketing messages from us?") != std::string::npos);
  CHECK(admin.get("/api/v1/members/m3")["consent_marketing"] == true);  // a GET changes nothing
  auto posted = c->Post(("/optout/" + token.text(0, 0)).c_str(), "", "application/x-www-form-urlencoded");
  REQUIRE(posted);
  CHECK(posted->body.find("You will receive no more marketing messages.") != std::string::npos);
  CHECK(admin.get("/api/v1/members/m3")["consent_marketing"] == false);
  page = c->Get("/optout/not-a-token");
  CHECK(page->body.find("链接无效") != std::string::npos);  // no message to take a language from: the store default

  // Their queued greetings are not sent: consent is checked again when sending.
  const json run = admin.post("/api/v1/admin/outreach/run", {{"at", dayAfter(2) + "T01:00:00Z"}});
  CHECK(run["cancelled"] == 2);
  CHECK(run["sent"] == 0);
  CHECK(gw.requests().empty());
  CHECK(messageStatus(admin, "m1", "birthday") == "cancelled");
  const json audit = admin.get("/api/v1/admin/audit?limit=1000");
  int optOuts = 0;
  for (const auto& e : audit["entries"]) optOuts += e["action"] == "outreach.opt_out" ? 1 : 0;
  CHECK(optOuts == 2);
}

// Sending a campaign writes once per message, and so does each delivery report: on PostgreSQL
// neither waits for the store-wide writer lock every upload of every instance holds (the row is
// the message's own), and a claim that ran out and is taken again does not send twice a message
// whose answer came in meanwhile.
TEST_CASE("outreach on PostgreSQL: answers and delivery reports are recorded while an upload holds the store-wide lock",
          "[hq][outreach]") {
  namespace hq = loyalty::hq;
  HqInstance hqi("postgresql");
  hqi.start();
  TestGateway gw(hqi.dataDir() + "/tls");
  const std::string d1 = dayAfter(1), d2 = dayAfter(2);
  loadMembers(hqi, d1);
  Api admin{hqi, hqi.adminToken()};
  json settings = settingsFor(hqi, gw);
  settings["daily_budget"] = 100;
  admin.put("/api/v1/admin/outreach/settings", settings);
  CHECK(admin.post("/api/v1/admin/outreach/send", {{"kind", "birthday"}, {"day", d1}}, 201)["queued"] == 2);

  auto sender = hqi.sql();  // the sender's own connection, as the background sender has
  auto other = hqi.sql();   // an upload of another instance
  auto look = hqi.sql();
  const auto ready = [](auto& f) { return f.wait_for(std::chrono::seconds(60)) == std::future_status::ready; };
  const auto db = [&](const std::function<void(hq::SqlConnection&)>& fn) { fn(*sender); };
  const loyalty::Timestamp at = *loyalty::parseRfc3339(d2 + "T00:00:30Z", "at");

  // The claim commits before the first message goes out; from then on an upload holds the lock.
  int sends = 0;
  auto pass = std::async(std::launch::async, [&] {
    return hq::runOutreach(db, at, [&](const hq::OutreachSettings&, const hq::OutgoingMessage& m) {
      if (sends++ == 0) other->beginWrite();
      return hq::GatewayReply{hq::GatewayReply::Outcome::kAccepted, "gw-" + m.messageId, ""};
    });
  });
  const bool passDone = ready(pass);
  REQUIRE(sends > 0);
  // A delivery report, through the instance's callback, while the lock is still held.
  auto report = std::async(std::launch::async, [&] {
    const std::string id = "gw-" + look->query("SELECT MIN(message_id) FROM outreach_messages").text(0, 0);
    auto r = hqi.client()->Post("/api/v1/outreach/gateway/cb-secret-0123456789/status",
                                json{{"id", id}, {"status", "DELIVRD"}}.dump(), "application/json");
    return r ? r->status : -1;
  });
  const bool reportDone = ready(report);
  other->rollback();
  REQUIRE(passDone);
  REQUIRE(reportDone);
  const json out = pass.get();
  CHECK(out["sent"] == 2);
  CHECK(report.get() == 200);
  CHECK(look->query("SELECT COUNT(*) FROM outreach_messages WHERE status = 'delivered'").integer(0, 0) == 1);
  CHECK(look->query("SELECT COUNT(*) FROM outreach_messages WHERE status = 'sent'").integer(0, 0) == 1);

  // A message whose claim ran out (the sender died waiting for the gateway) is due again; the
  // gateway's answer comes in while a new pass reads it: the pass does not send it again.
  const std::string id = look->query("SELECT MIN(message_id) FROM outreach_messages WHERE status = 'sent'").text(0, 0);
  look->query("UPDATE outreach_messages SET status = 'sending', next_at = $2 WHERE message_id = $1", {id, d2 + "T00:00:00Z"});
  other->beginRowWrite();
  other->query("UPDATE outreach_messages SET status = 'sent' WHERE message_id = $1", {id});  // the answer, not committed yet
  int resent = 0;
  auto second = std::async(std::launch::async, [&] {
    return hq::runOutreach(db, at + std::chrono::hours(1), [&](const hq::OutreachSettings&, const hq::OutgoingMessage& m) {
      ++resent;
      return hq::GatewayReply{hq::GatewayReply::Outcome::kAccepted, "gw-" + m.messageId, ""};
    });
  });
  bool waiting = false;  // the pass's claim waits for the message's row
  for (int i = 0; i < 600 && !waiting; ++i) {
    waiting = look->query("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted").integer(0, 0) > 0;
    if (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(waiting);
  other->commit();
  REQUIRE(ready(second));
  CHECK(second.get()["sent"] == 0);
  CHECK(resent == 0);
  const auto row = look->query("SELECT status, attempts FROM outreach_messages WHERE message_id = $1", {id});
  CHECK(row.text(0, 0) == "sent");
  CHECK(row.integer(0, 1) == 1);
}

TEMPLATE_TEST_CASE("outreach: an audience of more members than a page is previewed and queued a page at a time, each member once",
                   "[hq][outreach]", SqliteBackend, PostgresBackend) {
  // 12,000 members (two pages of 5,000 ids and a last of 2,000): every third without consent;
  // the even ones bought on 2026-01-01, every fourth again on 2026-11-01.
  HqInstance hq(TestType::kName);
  hq.start();
  {
    auto c = hq.sql();
    const std::string numbers = "WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < 11999) ";
    c->execScript(numbers +
                  "INSERT INTO members(member_id, enrolled, card_no, phone, name, consent_marketing, enrolled_at, enrolled_store, "
                  "change_no) SELECT 'p' || (100000 + n), 1, 'c' || (100000 + n), '+86138' || (10000000 + n), 'N' || n, "
                  "CASE WHEN n % 3 = 0 THEN 0 ELSE 1 END, '2026-01-01T00:00:00Z', 'S1', 0 FROM g");
    for (const auto& [day, every] : {std::pair{"2026-01-01", 2}, std::pair{"2026-11-01", 4}}) {
      c->execScript(numbers + "INSERT INTO sales(event_id, sale_id, terminal_id, store_id, member_id, at, day, subtotal, discount, total, "
                              "points_earned, points_redeemed, lines) SELECT 'e" + std::string(day) + "-' || n, 's' || n, 'T1', 'S1', 'p' || (100000 + n), '" +
                    day + "T10:00:00Z', '" + day + "', 100, 0, 100, 1, 0, 1 FROM g WHERE n % " + std::to_string(every) + " = 0");
    }
  }
  Api admin{hq, hq.adminToken()};

  const json preview = admin.get("/api/v1/outreach/preview?kind=campaign&campaign=big&text=hello&day=2026-12-01");
  CHECK(preview["total"] == 12000);
  CHECK(preview["counts"]["send"] == 8000);
  CHECK(preview["counts"]["no_consent"] == 4000);
  REQUIRE(preview["recipients"].size() == 200);  // those to send first, in member order
  CHECK(preview["recipients"][0]["member_id"] == "p100001");
  CHECK(preview["recipients"][199]["member_id"] == "p100299");
  CHECK(preview["recipients"][199]["decision"] == "send");

  const json sent = admin.post("/api/v1/admin/outreach/send", {{"kind", "campaign"}, {"campaign", "big"}, {"text", "hello"}, {"day", "2026-12-01"}},
                               201);
  CHECK(sent["queued"] == 8000);
  CHECK(sent["counts"]["send"] == 8000);
  auto c = hq.sql();
  const auto messages = c->query("SELECT COUNT(*), COUNT(DISTINCT member_id), COUNT(DISTINCT batch_id), MIN(member_id), MAX(member_id) "
                                 "FROM outreach_messages");
  CHECK(messages.integer(0, 0) == 8000);
  CHECK(messages.integer(0, 1) == 8000);
  CHECK(messages.integer(0, 2) == 1);
  CHECK(messages.text(0, 3) == "p100001");
  CHECK(messages.text(0, 4) == "p111999");
  // The batch's ids in order, each with a random part of its own (none guessed from another).
  const auto ids = c->query("SELECT message_id FROM outreach_messages ORDER BY message_id");
  const std::string prefix = "m-" + sent["batch_id"].get<std::string>().substr(2) + "-";
  std::set<std::string> own;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    std::string number = std::to_string(i + 1);
    number.insert(0, 8 - number.size(), '0');
    const std::string id = ids.text(i, 0);
    REQUIRE(id.rfind(prefix + number + "-", 0) == 0);
    CHECK(id.size() == prefix.size() + 8 + 1 + 8);
    own.insert(id.substr(id.size() - 8));
  }
  CHECK(own.size() == ids.size());
  // The batch in the audit trail: begun with its first page, its count with its last.
  const auto audit = c->query("SELECT row_count, detail FROM audit_log WHERE subject = $1 ORDER BY entry_no",
                              {sent["batch_id"].get<std::string>()});
  REQUIRE(audit.size() == 2);
  CHECK(audit.isNull(0, 0));
  CHECK(audit.text(0, 1) == "campaign campaign:big: queueing begun");
  CHECK(audit.integer(1, 0) == 8000);
  const json again = admin.post("/api/v1/admin/outreach/send", {{"kind", "campaign"}, {"campaign", "big"}, {"text", "hello"}, {"day", "2026-12-01"}},
                                201);
  CHECK(again["queued"] == 0);
  CHECK(again["counts"]["already"] == 8000);

  // Lapsed since 2026-09-02: the members whose last sale was 2026-01-01 (n % 4 == 2), each page
  // reading its own members' sales.
  const json back = admin.get("/api/v1/outreach/preview?kind=welcome_back&idle_days=90&day=2026-12-01");
  CHECK(back["total"] == 3000);
  CHECK(back["counts"]["send"] == 2000);
  CHECK(back["counts"]["no_consent"] == 1000);
  CHECK(back["recipients"][0]["member_id"] == "p100002");

  // The frequency cap (2 in 7 days, queued ones counted) read page by page, to each page's last.
  CHECK(admin.post("/api/v1/admin/outreach/send", {{"kind", "campaign"}, {"campaign", "big2"}, {"text", "hi"}, {"day", "2026-12-01"}},
                   201)["queued"] == 8000);
  const json capped = admin.get("/api/v1/outreach/preview?kind=campaign&campaign=big3&text=hey&day=2026-12-01");
  CHECK(capped["counts"]["capped"] == 8000);
  CHECK(capped["counts"]["send"] == 0);
}
