#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "../support/temp_dir.hpp"
#include "loyalty/terminal/feedback.hpp"
#include "loyalty/terminal/outbox.hpp"
#include "loyalty/terminal/staff.hpp"
#include "loyalty/terminal/store.hpp"

using namespace loyalty;
using namespace loyalty::terminal;

namespace {

struct Store {
  test::TempDir dir;
  db::Database db = openTerminalDatabase(dir.str());
  RandomIds ids{3};
  CounterService counter{db, CounterConfig{}, ids};
  FeedbackService feedback{db, "S001", "T1", ids};
  Timestamp at = *parseRfc3339("2026-03-01T10:00:00Z", "at");

  std::string memberId() {
    EnrollRequest r;
    r.phone = "13800138000";
    r.name = "王小明";
    r.at = at;
    auto m = counter.enroll(r);
    REQUIRE(m.hasValue());
    return m->memberId;
  }
  std::int64_t count(const char* sql) {
    auto q = db.query(std::string("SELECT (") + sql + ") AS n");
    q.step();
    return q.int64("n");
  }
  nlohmann::json lastEvent(const char* type) {
    auto q = db.query("SELECT event_id, payload FROM outbox WHERE type = ? ORDER BY seq DESC LIMIT 1").bind(1, type);
    REQUIRE(q.step());
    return nlohmann::json::parse(openOutboxPayload(db, q.text("event_id"), type, q.blob("payload")));
  }
};

}  // namespace

TEST_CASE("A survey answer is a row and a survey.answered event with the wire payload", "[ui][feedback]") {
  Store s;
  const std::string member = s.memberId();
  SurveyAnswer a{"Q-1", std::string("S-1"), member, "csat5", 4, s.at};
  REQUIRE(s.feedback.recordSurvey(a).hasValue());
  const auto e = s.lastEvent("survey.answered");
  CHECK(e == nlohmann::json{{"survey_id", "Q-1"}, {"sale_id", "S-1"}, {"member_id", member}, {"scale", "csat5"},
                            {"score", 4}, {"store_id", "S001"}, {"terminal_id", "T1"}});
  SECTION("the same answer again changes nothing; another answer under the same id is a conflict") {
    REQUIRE(s.feedback.recordSurvey(a).hasValue());
    CHECK(s.count("SELECT COUNT(*) FROM outbox WHERE type = 'survey.answered'") == 1);
    a.score = 2;
    const auto again = s.feedback.recordSurvey(a);
    REQUIRE_FALSE(again.hasValue());
    CHECK(again.error().code == errc::kConflict);
  }
}

TEST_CASE("Survey answers out of their scale are refused and write nothing", "[ui][feedback]") {
  Store s;
  CHECK(s.feedback.recordSurvey({"Q-1", std::nullopt, std::nullopt, "csat5", 6, s.at}).error().field == "score");
  CHECK(s.feedback.recordSurvey({"Q-2", std::nullopt, std::nullopt, "nps10", -1, s.at}).error().field == "score");
  CHECK(s.feedback.recordSurvey({"Q-3", std::nullopt, std::nullopt, "stars", 3, s.at}).error().field == "scale");
  CHECK(s.feedback.recordSurvey({"Q-4", std::nullopt, std::string("nobody"), "nps10", 9, s.at}).error().code == errc::kNotFound);
  CHECK(s.count("SELECT COUNT(*) FROM surveys") == 0);
  CHECK(s.count("SELECT COUNT(*) FROM outbox WHERE type = 'survey.answered'") == 0);
  REQUIRE(s.feedback.recordSurvey({"Q-5", std::nullopt, std::nullopt, "nps10", 0, s.at}).hasValue());
}

TEST_CASE("Survey answers by dimension are stored, carried by the event as an object, and checked", "[ui][feedback]") {
  Store s;
  FeedbackService feedback{s.db, "S001", "T1", s.ids, {"reliability", "empathy", "环境"}};
  SurveyAnswer a{"Q-1", std::nullopt, std::nullopt, "nps10", 9, s.at};
  a.dimensions = {{"reliability", 5}, {"环境", 3}};
  REQUIRE(feedback.recordSurvey(a).hasValue());
  CHECK(s.lastEvent("survey.answered")["dimensions"] == nlohmann::json{{"reliability", 5}, {"环境", 3}});
  CHECK(s.count("SELECT COUNT(*) FROM surveys WHERE json_extract(dimensions, '$.reliability') = 5") == 1);
  SECTION("the same answer again changes nothing; other dimension scores under the same id are a conflict") {
    REQUIRE(feedback.recordSurvey(a).hasValue());
    a.dimensions["环境"] = 4;
    CHECK(feedback.recordSurvey(a).error().code == errc::kConflict);
    a.dimensions.clear();
    CHECK(feedback.recordSurvey(a).error().code == errc::kConflict);
    CHECK(s.count("SELECT COUNT(*) FROM outbox WHERE type = 'survey.answered'") == 1);
  }
  SECTION("a dimension not configured, or a score outside 1..5, is refused and writes nothing") {
    SurveyAnswer b{"Q-2", std::nullopt, std::nullopt, "csat5", 4, s.at};
    b.dimensions = {{"courtesy", 4}};
    CHECK(feedback.recordSurvey(b).error().field == "dimensions");
    b.dimensions = {{"empathy", 0}};
    CHECK(feedback.recordSurvey(b).error().field == "dimensions");
    b.dimensions = {{"empathy", 6}};
    CHECK(feedback.recordSurvey(b).error().field == "dimensions");
    b.dimensions = {{"empathy", 2}};
    CHECK(s.feedback.recordSurvey(b).error().field == "dimensions");  // a terminal that asks none
    CHECK(s.count("SELECT COUNT(*) FROM surveys") == 1);
  }
  SECTION("an answer without dimensions keeps the event as it was") {
    REQUIRE(feedback.recordSurvey({"Q-3", std::nullopt, std::nullopt, "csat5", 5, s.at}).hasValue());
    CHECK_FALSE(s.lastEvent("survey.answered").contains("dimensions"));
  }
}

TEST_CASE("A complaint is a row and a complaint.filed event, and bad input names its field", "[ui][feedback]") {
  Store s;
  const std::string member = s.memberId();
  REQUIRE(s.feedback.fileComplaint({"C-1", member, "service", "  等了二十分钟  ", std::string("7"), s.at}).hasValue());
  CHECK(s.lastEvent("complaint.filed") == nlohmann::json{{"complaint_id", "C-1"}, {"member_id", member},
                                                         {"category", "service"}, {"description", "等了二十分钟"},
                                                         {"staff_id", "7"}, {"store_id", "S001"}, {"terminal_id", "T1"}});
  CHECK(s.feedback.fileComplaint({"C-2", std::nullopt, "weather", "rain", std::nullopt, s.at}).error().field == "category");
  CHECK(s.feedback.fileComplaint({"C-3", std::nullopt, "other", "   ", std::nullopt, s.at}).error().field == "description");
  CHECK(s.feedback.fileComplaint({"C-4", std::nullopt, "other", std::string(2001, 'x'), std::nullopt, s.at}).error().field ==
        "description");
  CHECK(s.count("SELECT COUNT(*) FROM complaints") == 1);
}

TEST_CASE("Five wrong PINs lock a staff account until it is unlocked", "[ui][staff]") {
  Store s;
  REQUIRE(addStaff(s.db, "7", "李娜", "cashier", "1234").hasValue());
  REQUIRE(signIn(s.db, "7", "1234").hasValue());
  for (int i = 1; i <= 4; ++i) {
    const auto r = signIn(s.db, "7", "9999");
    REQUIRE_FALSE(r.hasValue());
    CHECK(r.error().field == "pin");
    CHECK_THAT(r.error().message, Catch::Contains(std::to_string(5 - i) + " tries left"));
  }
  SECTION("a right PIN before the fifth wrong one resets the count") {
    REQUIRE(signIn(s.db, "7", "1234").hasValue());
    CHECK(s.count("SELECT failed_attempts FROM staff WHERE staff_id = '7'") == 0);
  }
  SECTION("the fifth wrong PIN locks, and then even the right PIN is refused") {
    CHECK_THAT(signIn(s.db, "7", "9999").error().message, Catch::Contains("now locked"));
    const auto locked = signIn(s.db, "7", "1234");
    REQUIRE_FALSE(locked.hasValue());
    CHECK(locked.error().code == errc::kForbidden);
    CHECK_THAT(locked.error().message, Catch::Contains("locked"));
    REQUIRE(unlockStaff(s.db, "7").hasValue());
    CHECK(signIn(s.db, "7", "1234").hasValue());
  }
  CHECK(signIn(s.db, "nobody", "1234").error().code == errc::kNotFound);
}
