// The exec interface through the real binary: JSON lines in, JSON lines out.
#include <catch2/catch.hpp>

#include <random>

#include <nlohmann/json.hpp>

#include "../support/exec_client.hpp"
#include "../support/temp_dir.hpp"

using nlohmann::json;
using loyalty::test::ChildProcess;
using loyalty::test::TempDir;

namespace {

using loyalty::test::Exec;
using loyalty::test::error;
using loyalty::test::ok;

const char* kAt = "2026-03-01T09:00:00+08:00";

}  // namespace

TEST_CASE("exec: enrol, look up, sell, redeem, refund and read history", "[e2e]") {
  TempDir dir;
  Exec exec(dir);
  const json m = ok(exec.call({{"id", 1}, {"op", "enroll"}, {"phone", "139 0000 1111"}, {"name", "李娜"},
                               {"birthday", "1990-05-04"}, {"consent_marketing", true}, {"at", kAt}}));
  CHECK(m["phone_masked"] == "139****1111");
  CHECK(m["tier"] == "member");
  CHECK(m["lifetime_spend"] == "0.00");
  CHECK(m["birthday"] == "1990-05-04");
  CHECK(m["enrolled_at"] == "2026-03-01T01:00:00Z");
  const std::string card = m["card_no"];

  json found = ok(exec.call({{"id", "x"}, {"op", "lookup"}, {"query", "1111"}}));
  REQUIRE(found["matches"].size() == 1);
  CHECK(found["matches"][0]["member_id"] == m["member_id"]);
  CHECK(ok(exec.call({{"id", 2}, {"op", "lookup"}, {"query", "李"}}))["matches"].size() == 1);

  const json sale = ok(exec.call({{"id", 3}, {"op", "sale"}, {"sale_id", "INV-1"}, {"member", card},
                                  {"lines", {{{"sku", "A1"}, {"qty", 3}, {"unit_price", "10.005"}},
                                             {{"sku", "B2"}, {"description", "毛巾"}, {"qty", 1}, {"unit_price", "0.5"}}}},
                                  {"at", kAt}}));
  CHECK(sale["subtotal"] == "30.52");  // 30.015 -> 30.02, + 0.50
  CHECK(sale["discount"] == "0.00");
  CHECK(sale["total"] == "30.52");
  CHECK(sale["points_earned"] == 30);
  CHECK(sale["balance"] == 30);
  CHECK(sale["tier"] == "member");
  CHECK(sale["tier_changed"] == false);
  CHECK(sale["promotions"].empty());

  const json redeemed = ok(exec.call({{"id", 4}, {"op", "redeem"}, {"redemption_id", "RD-1"},
                                      {"member", "+86 139-0000-1111"}, {"points", 10}}));
  CHECK(redeemed["balance"] == 20);

  const json refund = ok(exec.call({{"id", 5}, {"op", "refund"}, {"refund_id", "RF-1"}, {"sale_id", "INV-1"},
                                    {"lines", {{{"sku", "A1"}, {"qty", 1}}}}}));
  CHECK(refund["amount"] == "10.01");
  CHECK(refund["points_reversed"] == 9);  // floor(30 × 10.01 / 30.52)
  CHECK(refund["balance"] == 11);

  const json history = ok(exec.call({{"id", 6}, {"op", "history"}, {"member", m["member_id"]}}));
  REQUIRE(history["entries"].size() == 3);
  CHECK(history["entries"][0]["kind"] == "reversal");
  CHECK(history["entries"][0]["balance_after"] == 11);
  CHECK(history["entries"][2]["kind"] == "earn");
  CHECK(history["entries"][2]["sale_id"] == "INV-1");

  const json member = ok(exec.call({{"id", 7}, {"op", "member"}, {"member", card}}));
  CHECK(member["points"] == 11);
  CHECK(member["points_debt"] == 0);
  CHECK(member["lifetime_spend"] == "20.51");
  CHECK(member["greetings"].is_array());

  const json stats = ok(exec.call({{"id", 8}, {"op", "stats"}}));
  CHECK(stats == json{{"members", 1}, {"sales", 1}, {"ledger_entries", 3}, {"outbox_pending", 4}});
  CHECK(ok(exec.call({{"id", 9}, {"op", "verify"}}))["ok"] == true);
  CHECK(exec.finish() == 0);
}

TEST_CASE("exec: malformed lines get bad_request and processing goes on", "[e2e]") {
  TempDir dir;
  Exec exec(dir);
  json r = exec.raw("{not json");
  CHECK(r["id"].is_null());
  CHECK(error(r)["code"] == "bad_request");
  r = exec.raw("[1,2,3]");
  CHECK(error(r)["code"] == "bad_request");
  r = exec.raw(R"({"id": 5})");
  CHECK(r["id"] == 5);
  CHECK(error(r)["code"] == "bad_request");
  CHECK(error(r)["field"] == "op");
  CHECK(error(exec.raw(R"({"id": 6, "op": "dance"})"))["code"] == "bad_request");
  CHECK(ok(exec.raw(R"({"id": 7, "op": "stats"})"))["members"] == 0);
  CHECK(exec.finish() == 0);
}

TEST_CASE("exec: every bad argument is named and changes nothing", "[e2e]") {
  TempDir dir;
  Exec exec(dir);
  ok(exec.call({{"id", 0}, {"op", "enroll"}, {"phone", "13800001111"}, {"name", "王伟"}, {"consent_marketing", false}}));
  struct Case {
    json request;
    const char* code;
    const char* field;
  };
  const json line = {{"sku", "A"}, {"qty", 1}, {"unit_price", "1.00"}};
  const std::vector<Case> cases = {
      {{{"op", "enroll"}, {"phone", "12345"}, {"name", "x"}, {"consent_marketing", true}}, "invalid_argument", "phone"},
      {{{"op", "enroll"}, {"phone", "13800002222"}, {"consent_marketing", true}}, "invalid_argument", "name"},
      {{{"op", "enroll"}, {"phone", "13800002222"}, {"name", "x"}}, "invalid_argument", "consent_marketing"},
      {{{"op", "enroll"}, {"phone", "13800002222"}, {"name", "x"}, {"consent_marketing", "yes"}}, "invalid_argument", "consent_marketing"},
      {{{"op", "enroll"}, {"phone", "13800002222"}, {"name", "x"}, {"consent_marketing", true}, {"birthday", "1990-02-30"}}, "invalid_argument", "birthday"},
      {{{"op", "enroll"}, {"phone", "13800002222"}, {"name", "x"}, {"consent_marketing", true}, {"nickname", "y"}}, "invalid_argument", "nickname"},
      {{{"op", "enroll"}, {"phone", "13800001111"}, {"name", "x"}, {"consent_marketing", true}}, "already_exists", "phone"},
      {{{"op", "enroll"}, {"phone", "13800002222"}, {"name", "x"}, {"consent_marketing", true}, {"referrer", "13911112222"}}, "not_found", "referrer"},
      {{{"op", "sale"}, {"sale_id", "S"}, {"lines", {{{"sku", "A"}, {"qty", 1}, {"unit_price", 1.5}}}}}, "invalid_argument", "lines[0].unit_price"},
      {{{"op", "sale"}, {"sale_id", "S"}, {"lines", {{{"sku", "A"}, {"qty", 1.5}, {"unit_price", "1.50"}}}}}, "invalid_argument", "lines[0].qty"},
      {{{"op", "sale"}, {"sale_id", "S"}, {"lines", {{{"sku", "A"}, {"qty", 1}, {"unit_price", "1.00001"}}}}}, "invalid_argument", "lines[0].unit_price"},
      {{{"op", "sale"}, {"sale_id", "S"}, {"lines", json::array()}}, "invalid_argument", "lines"},
      {{{"op", "sale"}, {"lines", {line}}}, "invalid_argument", "sale_id"},
      {{{"op", "sale"}, {"sale_id", "S"}, {"lines", {line}}, {"at", "yesterday"}}, "invalid_argument", "at"},
      {{{"op", "sale"}, {"sale_id", "S"}, {"lines", {line}}, {"member", "13999999999"}}, "not_found", "member"},
      {{{"op", "sale"}, {"sale_id", "S"}, {"lines", {line}}, {"member", "hello"}}, "invalid_argument", "member"},
      {{{"op", "sale"}, {"sale_id", "S"}, {"lines", {line}}, {"member", "13800001111"}, {"redeem_points", 50}}, "insufficient_points", "redeem_points"},
      {{{"op", "redeem"}, {"redemption_id", "R"}, {"member", "13800001111"}, {"points", 5}}, "insufficient_points", "points"},
      {{{"op", "redeem"}, {"redemption_id", "R"}, {"member", "13800001111"}, {"points", 5000}}, "forbidden", "supervisor_pin"},
      {{{"op", "redeem"}, {"redemption_id", "R"}, {"member", "13800001111"}, {"reward", "NOPE"}}, "not_found", "reward"},
      {{{"op", "redeem"}, {"redemption_id", "R"}, {"member", "13800001111"}}, "invalid_argument", "points"},
      {{{"op", "refund"}, {"refund_id", "F"}, {"sale_id", "NOPE"}}, "not_found", "sale_id"},
      {{{"op", "history"}, {"member", "13800001111"}, {"limit", 0}}, "invalid_argument", "limit"},
      {{{"op", "lookup"}, {"query", ""}}, "invalid_argument", "query"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    json req = cases[i].request;
    req["id"] = i;
    INFO(req.dump());
    const json e = error(exec.call(req));
    CHECK(e["code"] == cases[i].code);
    CHECK(e["field"] == cases[i].field);
    CHECK_FALSE(e["message"].get<std::string>().empty());
  }
  const json stats = ok(exec.call({{"id", "s"}, {"op", "stats"}}));
  CHECK(stats == json{{"members", 1}, {"sales", 0}, {"ledger_entries", 0}, {"outbox_pending", 1}});
}

TEST_CASE("exec: idempotent replays return the original result - reuse with other content conflicts", "[e2e]") {
  TempDir dir;
  const json sale = {{"op", "sale"}, {"sale_id", "INV-9"}, {"member", "13800001111"},
                     {"lines", {{{"sku", "A"}, {"qty", 2}, {"unit_price", "50.00"}}}}};
  json first;
  {
    Exec exec(dir);
    ok(exec.call({{"id", 0}, {"op", "enroll"}, {"phone", "13800001111"}, {"name", "王伟"}, {"consent_marketing", true}}));
    first = ok(exec.call(sale));
    ok(exec.call({{"op", "redeem"}, {"redemption_id", "RD"}, {"member", "13800001111"}, {"points", 30}}));
  }
  Exec exec(dir);  // a new process: the keys survive restarts
  CHECK(ok(exec.call(sale)) == first);
  json changed = sale;
  changed["lines"][0]["qty"] = 3;
  const json e = error(exec.call(changed));
  CHECK(e["code"] == "conflict");
  CHECK(e["field"] == "sale_id");
  CHECK(ok(exec.call({{"op", "redeem"}, {"redemption_id", "RD"}, {"member", "13800001111"}, {"points", 30}}))["balance"] == 70);
  CHECK(error(exec.call({{"op", "redeem"}, {"redemption_id", "RD"}, {"member", "13800001111"}, {"points", 31}}))["code"] == "conflict");
  ok(exec.call({{"op", "refund"}, {"refund_id", "RF"}, {"sale_id", "INV-9"}}));
  CHECK(ok(exec.call({{"op", "refund"}, {"refund_id", "RF"}, {"sale_id", "INV-9"}}))["balance"] == -30);
  const json stats = ok(exec.call({{"op", "stats"}}));
  CHECK(stats["sales"] == 1);
  CHECK(stats["ledger_entries"] == 3);
  CHECK(ok(exec.call({{"op", "member"}, {"member", "13800001111"}}))["points_debt"] == 30);
}

TEST_CASE("exec: a terminal keeps its identity - ids cannot change after events", "[e2e]") {
  TempDir dir;
  {
    Exec exec(dir, {"--store", "S042", "--terminal", "T7"});
    ok(exec.call({{"op", "sale"}, {"sale_id", "X"}, {"lines", {{{"sku", "A"}, {"qty", 1}, {"unit_price", "1.00"}}}}}));
  }
  ChildProcess other({loyalty::test::terminalBinary(), "exec", "--data", dir.str(), "--terminal", "T8"});
  other.closeStdin();
  CHECK(other.wait() != 0);
}

TEST_CASE("exec: an invalid configuration stops start-up naming file, line and key", "[e2e]") {
  TempDir dir;
  const std::string config = dir.str() + "/terminal.toml";
  {
    std::FILE* f = std::fopen(config.c_str(), "w");
    std::fputs("[store]\nlanguage = \"en\"\n[loyalty]\nearn_points_per_unit = 1\nredeem_point_per_unit = 100\n", f);
    std::fclose(f);
  }
  ChildProcess child({loyalty::test::terminalBinary(), "exec", "--data", dir.str() + "/data", "--config", config},
                     loyalty::test::Stderr::kToStdout);
  child.closeStdin();
  const auto message = child.readLine();
  CHECK(child.wait() != 0);
  REQUIRE(message.has_value());
  CHECK(message->find(config + ":5: loyalty.redeem_point_per_unit: unknown key") != std::string::npos);
}

TEST_CASE("exec: the configuration's phone region and redemption rules take effect", "[e2e]") {
  TempDir dir;
  const std::string config = dir.str() + "/terminal.toml";
  {
    std::FILE* f = std::fopen(config.c_str(), "w");
    std::fputs("[store]\nphone_region = \"GB\"\n[loyalty]\nsupervisor_pin_above_points = 10\n", f);
    std::fclose(f);
  }
  Exec exec(dir, {"--config", config});
  const json m = ok(exec.call({{"op", "enroll"}, {"phone", "07700 900123"}, {"name", "Oliver Smith"}, {"consent_marketing", true}}));
  CHECK(m["phone_masked"] == "770***0123");
  ok(exec.call({{"op", "sale"}, {"sale_id", "S1"}, {"member", "+44 7700 900123"},
                {"lines", {{{"sku", "A"}, {"qty", 1}, {"unit_price", "50.00"}}}}}));
  CHECK(error(exec.call({{"op", "redeem"}, {"redemption_id", "R1"}, {"member", "07700900123"}, {"points", 11}}))["code"] == "forbidden");
}

TEST_CASE("exec: garbage lines each get one answer and change nothing", "[e2e]") {
  TempDir dir;
  Exec exec(dir);
  ok(exec.call({{"op", "enroll"}, {"phone", "13800001111"}, {"name", "王伟"}, {"consent_marketing", true}}));
  std::mt19937 rng(20261123);
  const std::vector<std::string> fixed = {
      "{", "}", "null", "42", "\"op\"", "{\"op\": null}", "{\"op\": 7}", "{\"op\": \"sale\", \"lines\": {}}",
      "{\"op\": \"sale\", \"sale_id\": \"G\", \"lines\": [null]}",
      "{\"op\": \"sale\", \"sale_id\": \"G\", \"lines\": [{\"sku\": \"A\", \"qty\": 1e400, \"unit_price\": \"1\"}]}",
      "{\"op\": \"sale\", \"sale_id\": \"G\", \"lines\": [{\"sku\": \"A\", \"qty\": 99999999999999999999, \"unit_price\": \"1\"}]}",
      "{\"op\": \"enroll\", \"phone\": \"13800002222\", \"name\": \"\\u0000\", \"consent_marketing\": true}",
      "{\"op\": \"lookup\", \"query\": \"\\ud800\"}",
      "{\"op\": \"redeem\", \"redemption_id\": \"" + std::string(5000, 'x') + "\", \"member\": \"13800001111\", \"points\": 1}",
      std::string(20000, '[') + std::string(20000, ']'),
  };
  std::vector<std::string> lines = fixed;
  for (int i = 0; i < 200; ++i) {
    std::string junk(1 + rng() % 300, ' ');
    for (char& c : junk) {
      c = static_cast<char>(1 + rng() % 255);
      if (c == '\n' || c == '\r') c = 'x';
    }
    lines.push_back(junk);
  }
  for (const std::string& line : lines) {
    if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank lines get no answer
    const json r = exec.raw(line);
    CHECK(r["ok"] == false);
    CHECK(r["error"]["code"].is_string());
  }
  // A valid request with an odd id is still answered, echoing the id (63 levels inside the
  // request object: 64 in all, the limit); one level more is refused before it is parsed.
  const std::string nestedId = std::string(63, '[') + std::string(63, ']');
  const json echoed = exec.raw("{\"op\": \"stats\", \"id\": " + nestedId + "}");
  CHECK(echoed["id"] == json::parse(nestedId));
  const std::string tooDeep = std::string(64, '[') + std::string(64, ']');
  CHECK(error(exec.raw("{\"op\": \"stats\", \"id\": " + tooDeep + "}"))["code"] == "bad_request");
  const json stats = ok(echoed);
  CHECK(stats == json{{"members", 1}, {"sales", 0}, {"ledger_entries", 0}, {"outbox_pending", 1}});
  CHECK(exec.finish() == 0);
}

TEST_CASE("exec: lines nested too deep or too long get bad_request naming the limit, and the session goes on", "[e2e]") {
  TempDir dir;
  Exec exec(dir);
  // 100,000 arrays deep (~200 KB): parsing and freeing it would recurse that deep.
  json r = exec.raw(std::string(100000, '[') + std::string(100000, ']'));
  CHECK(r["id"].is_null());
  CHECK(error(r)["code"] == "bad_request");
  CHECK(error(r)["message"].get<std::string>().find("64") != std::string::npos);
  // 2 MiB on one line: the rest of the line is skipped, not read as requests.
  r = exec.raw("{\"op\": \"stats\", \"id\": \"" + std::string(2 * 1024 * 1024, 'x') + "\"}");
  CHECK(error(r)["code"] == "bad_request");
  CHECK(error(r)["message"].get<std::string>().find("1048576") != std::string::npos);
  CHECK(ok(exec.raw(R"({"id": 8, "op": "stats"})"))["members"] == 0);
  CHECK(exec.finish() == 0);
}

TEST_CASE("exec: surveys and complaints are recorded once, each with its event", "[e2e]") {
  TempDir dir;
  Exec exec(dir);
  const json m = ok(exec.call({{"op", "enroll"}, {"phone", "13900001111"}, {"name", "王芳"}, {"consent_marketing", false}}));
  CHECK(ok(exec.call({{"op", "survey"}, {"survey_id", "SV1"}, {"member", "139 0000 1111"}, {"scale", "nps10"}, {"score", 9}}))["score"] == 9);
  CHECK(ok(exec.call({{"op", "survey"}, {"survey_id", "SV1"}, {"member", "139 0000 1111"}, {"scale", "nps10"}, {"score", 9}}))["score"] == 9);
  CHECK(error(exec.call({{"op", "survey"}, {"survey_id", "SV1"}, {"scale", "nps10"}, {"score", 3}}))["code"] == "conflict");
  CHECK(error(exec.call({{"op", "survey"}, {"survey_id", "SV2"}, {"scale", "csat5"}, {"score", 11}}))["field"] == "score");
  CHECK(error(exec.call({{"op", "survey"}, {"survey_id", "SV3"}, {"scale", "stars"}, {"score", 3}}))["field"] == "scale");
  CHECK(error(exec.call({{"op", "survey"}, {"survey_id", "SV4"}, {"member", "13900009999"}, {"scale", "csat5"}, {"score", 3}}))["code"] == "not_found");
  CHECK(ok(exec.call({{"op", "complaint"}, {"complaint_id", "C1"}, {"member", m["card_no"]}, {"category", "waiting"},
                      {"description", "等了二十分钟"}}))["complaint_id"] == "C1");
  CHECK(error(exec.call({{"op", "complaint"}, {"complaint_id", "C2"}, {"category", "weather"}, {"description", "x"}}))["field"] == "category");
  // enrolment + one survey + one complaint
  CHECK(ok(exec.call({{"op", "stats"}}))["outbox_pending"] == 3);
}

TEST_CASE("exec: survey takes per-dimension scores from the configured dimensions", "[e2e]") {
  TempDir dir;
  const std::string config = dir.write("terminal.toml", "[survey]\ndimensions = [\"reliability\", \"empathy\"]\n");
  Exec exec(dir, {"--config", config});
  const json answered = ok(exec.call({{"op", "survey"}, {"survey_id", "SV1"}, {"scale", "nps10"}, {"score", 10},
                                      {"dimensions", {{"reliability", 4}, {"empathy", 5}}}}));
  CHECK(answered["dimensions"] == json{{"reliability", 4}, {"empathy", 5}});
  CHECK(error(exec.call({{"op", "survey"}, {"survey_id", "SV2"}, {"scale", "csat5"}, {"score", 4},
                         {"dimensions", {{"courtesy", 4}}}}))["field"] == "dimensions");
  CHECK(error(exec.call({{"op", "survey"}, {"survey_id", "SV3"}, {"scale", "csat5"}, {"score", 4},
                         {"dimensions", {{"empathy", 6}}}}))["field"] == "dimensions.empathy");
  CHECK(error(exec.call({{"op", "survey"}, {"survey_id", "SV4"}, {"scale", "csat5"}, {"score", 4},
                         {"dimensions", {{"empathy", "5"}}}}))["field"] == "dimensions.empathy");
  CHECK(error(exec.call({{"op", "survey"}, {"survey_id", "SV5"}, {"scale", "csat5"}, {"score", 4},
                         {"dimensions", json::array({4, 5})}}))["field"] == "dimensions");
  CHECK(ok(exec.call({{"op", "stats"}}))["outbox_pending"] == 1);
}

TEST_CASE("exec: lists of lines are refused naming the list, the element and its field, in order", "[e2e]") {
  TempDir dir;
  Exec exec(dir);
  struct Case {
    json request;
    const char* field;
    const char* message;
  };
  const json line = {{"sku", "A"}, {"qty", 1}, {"unit_price", "1.00"}};
  const std::vector<Case> cases = {
      {{{"op", "sale"}, {"sale_id", "S"}}, "lines", "lines is required"},
      {{{"op", "sale"}, {"sale_id", "S"}, {"lines", nullptr}}, "lines", "lines is required"},
      {{{"op", "sale"}, {"sale_id", "S"}, {"lines", "A x1"}}, "lines", "lines must be a list of {sku or barcode, qty, unit_price?}"},
      {{{"op", "sale"}, {"sale_id", "S"}, {"lines", {line, 5}}}, "lines[1]", "lines[1] must be an object {sku or barcode, qty, unit_price?}"},
      // The first element is read whole before the second is looked at.
      {{{"op", "sale"}, {"sale_id", "S"}, {"lines", {{{"qty", 1}, {"unit_price", "1.00"}}, 5}}}, "lines[0].sku", "sku is required (or a catalogue product's barcode)"},
      {{{"op", "sale"}, {"sale_id", "S"}, {"lines", {line, {{"sku", "B"}, {"qty", 1}, {"unit_price", "1.00"}, {"colour", "red"}}}}},
       "lines[1].colour", "unknown argument \"colour\""},
      {{{"op", "refund"}, {"refund_id", "F"}, {"sale_id", "S"}, {"lines", {{"sku", "A"}}}}, "lines", "lines must be a list of {sku, qty}"},
      {{{"op", "refund"}, {"refund_id", "F"}, {"sale_id", "S"}, {"lines", {"A"}}}, "lines[0]", "lines[0] must be an object {sku, qty}"},
      {{{"op", "refund"}, {"refund_id", "F"}, {"sale_id", "S"}, {"lines", {{{"sku", "A"}, {"qty", "1"}}}}}, "lines[0].qty", "qty must be a whole number"},
      {{{"op", "lookup"}, {"query", "1111"}, {"limit", 201}}, "limit", "limit is between 1 and 200"},
      {{{"op", "history"}, {"member", "13800001111"}, {"limit", 1001}}, "limit", "limit is between 1 and 1000"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    json req = cases[i].request;
    req["id"] = i;
    INFO(req.dump());
    const json e = error(exec.call(req));
    CHECK(e["code"] == "invalid_argument");
    CHECK(e["field"] == cases[i].field);
    CHECK(e["message"] == cases[i].message);
  }
  CHECK(ok(exec.call({{"id", "s"}, {"op", "stats"}})) ==
        json{{"members", 0}, {"sales", 0}, {"ledger_entries", 0}, {"outbox_pending", 0}});
}
