// The terminal's clock jumped back and forward for real: loyalty-terminal runs under libfaketime
// (package faketime; LD_PRELOAD with FAKETIME) against a real loyalty-hq over HTTPS. Head office
// records and flags the skew each terminal's requests show; the offline redemption allowance is
// not renewed by setting the clock back across midnight; a forward jump expires no points the
// rules keep, and what a clock jumped past the rules' day expired comes back once head office
// has said its own date.
#include <catch2/catch.hpp>

#include <filesystem>

#include "loyalty/hq/settings.hpp"
#include "sync_fixture.hpp"

using namespace loyalty;
using namespace loyalty::test;
using nlohmann::json;

namespace {

/// libfaketime's thread-safe variant, from the Debian package (packaging/install-deps.sh).
std::string fakeTimeLibrary() {
  for (const char* p : {"/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
                        "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1", "/usr/lib/faketime/libfaketimeMT.so.1"}) {
    if (std::filesystem::exists(p)) return p;
  }
  FAIL("libfaketime is missing: install the faketime package (packaging/install-deps.sh)");
  return {};
}

/// argv running loyalty-terminal ARGS with its clock at `faketime` (libfaketime's FAKETIME:
/// "@2026-12-10 00:20:00" starts there and runs on; "+2h" / "-1d" are offsets from the real
/// clock). Monotonic clocks stay real so that timeouts behave.
std::vector<std::string> underFakeTime(const std::string& faketime, std::vector<std::string> args) {
  std::vector<std::string> argv{"/usr/bin/env", "LD_PRELOAD=" + fakeTimeLibrary(), "FAKETIME=" + faketime,
                                "FAKETIME_DONT_FAKE_MONOTONIC=1", "TZ=UTC", terminalBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

json execAt(const Terminal& t, const std::string& faketime, const json& request) {
  const RunResult r = run(underFakeTime(faketime, {"exec", "--data", t.dataDir()}), request.dump() + "\n");
  INFO(r.err);
  REQUIRE(r.exit == 0);
  return json::parse(r.out.substr(0, r.out.find('\n')));
}

json redeem(const std::string& id, const std::string& member, std::int64_t points) {
  return {{"id", id}, {"op", "redeem"}, {"redemption_id", id}, {"member", member}, {"points", points}};
}

/// The real clock's year (UTC).
int thisYear() {
  const std::chrono::year_month_day d{std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now())};
  return static_cast<int>(d.year());
}

json terminalAtHq(const Hq& hq, const std::string& id) {
  const json all = hq.get("/api/v1/admin/terminals");
  for (const json& t : all.at("terminals")) {
    if (t.at("terminal_id") == id) return t;
  }
  FAIL("head office does not list terminal " << id << ": " << all.dump());
  return {};
}

}  // namespace

TEST_CASE("Clock skew: head office records each terminal's skew from its requests and flags it beyond a minute",
          "[sync][e2e][clock]") {
  Hq hq;
  hq.start();
  Terminal ahead, behind, onTime;
  REQUIRE(ahead.registerWith(hq, hq.addTerminal("S001", "T-AHEAD")).exit == 0);
  REQUIRE(behind.registerWith(hq, hq.addTerminal("S001", "T-BEHIND")).exit == 0);
  REQUIRE(onTime.registerWith(hq, hq.addTerminal("S001", "T-ON-TIME")).exit == 0);
  REQUIRE(ahead.execOne(sale("ahead-1", std::nullopt, "3.00")).at("ok") == true);

  const RunResult a = run(underFakeTime("+2h", {"sync", "--data", ahead.dataDir(), "--once"}));
  INFO(a.err);
  REQUIRE(a.exit == 0);
  const RunResult b = run(underFakeTime("-1d", {"sync", "--data", behind.dataDir(), "--once"}));
  INFO(b.err);
  REQUIRE(b.exit == 0);
  REQUIRE(onTime.syncOnce().exit == 0);

  const json ta = terminalAtHq(hq, "T-AHEAD"), tb = terminalAtHq(hq, "T-BEHIND"), tc = terminalAtHq(hq, "T-ON-TIME");
  CHECK(ta.at("clock_skew_seconds").get<std::int64_t>() >= 7200 - 10);
  CHECK(ta.at("clock_skew_seconds").get<std::int64_t>() <= 7200 + 10);
  CHECK(ta.at("clock_skewed") == true);
  CHECK(tb.at("clock_skew_seconds").get<std::int64_t>() >= -86400 - 10);
  CHECK(tb.at("clock_skew_seconds").get<std::int64_t>() <= -86400 + 10);
  CHECK(tb.at("clock_skewed") == true);
  CHECK(std::llabs(tc.at("clock_skew_seconds").get<std::int64_t>()) <= 5);
  CHECK(tc.at("clock_skewed") == false);
  // The sale made at the terminal's own time reached head office whatever its clock said.
  CHECK(hq.get("/api/v1/reports/summary").at("sales") == 1);

  // Set right again: the next round clears the flag.
  REQUIRE(ahead.syncOnce().exit == 0);
  CHECK(std::llabs(terminalAtHq(hq, "T-AHEAD").at("clock_skew_seconds").get<std::int64_t>()) <= 5);
  CHECK(terminalAtHq(hq, "T-AHEAD").at("clock_skewed") == false);
}

TEST_CASE("Clock set back across midnight: no second day's offline allowance, but a real new day gives one",
          "[sync][e2e][clock]") {
  Hq hq;
  hq.start();
  Terminal t;
  REQUIRE(t.registerWith(hq, hq.addTerminal("S001", "T1")).exit == 0);
  const json enrolled = t.execOne(enrol("13800138123", "Clock Member"));
  REQUIRE(enrolled.at("ok") == true);
  const std::string member = enrolled.at("result").at("member_id");
  REQUIRE(t.execOne(sale("earn-1", member, "3000.00")).at("ok") == true);
  REQUIRE(t.syncOnce().exit == 0);
  hq.killHard();  // offline from here on

  const json first = execAt(t, "@2027-03-10 00:20:00", redeem("r-1", member, 500));
  INFO(first.dump());
  REQUIRE(first.at("ok") == true);
  CHECK(execAt(t, "@2027-03-10 00:25:00", redeem("r-2", member, 1)).at("error").at("code") == "limit_exceeded");
  // The clock is set back 40 minutes: the store's day is the 9th again, but it is the same night.
  const json back = execAt(t, "@2027-03-09 23:45:00", redeem("r-3", member, 500));
  INFO(back.dump());
  CHECK(back.at("ok") == false);
  CHECK(back.at("error").at("code") == "limit_exceeded");
  // A day later for real: a new allowance.
  CHECK(execAt(t, "@2027-03-11 09:00:00", redeem("r-4", member, 500)).at("ok") == true);
  // Set back to the 10th afterwards: the 11th's spend still counts.
  CHECK(execAt(t, "@2027-03-10 12:00:00", redeem("r-5", member, 1)).at("error").at("code") == "limit_exceeded");

  const json m = execAt(t, "@2027-03-11 09:05:00", {{"id", 1}, {"op", "member"}, {"member", member}});
  CHECK(m.at("result").at("points") == 3000 - 1000);
  REQUIRE(t.verify().exit == 0);
}

TEST_CASE("Clock jumped forward by hours and days: points expire on the rules' day, not before", "[sync][e2e][clock]") {
  Terminal t;
  // Earned in 2026: the default rule keeps the points until 31 December 2027, store time (UTC here).
  const json enrolled = t.execOne(enrol("13800138124", "Forward Member"));
  REQUIRE(enrolled.at("ok") == true);
  const std::string member = enrolled.at("result").at("member_id");
  json earn = sale("earn-2026", member, "250.00");
  earn["at"] = "2026-12-03T10:00:00Z";
  REQUIRE(t.execOne(earn).at("ok") == true);

  const auto pointsAt = [&](const std::string& faketime) {
    const json r = execAt(t, faketime, {{"id", 1}, {"op", "member"}, {"member", member}});
    INFO(r.dump());
    REQUIRE(r.at("ok") == true);
    return r.at("result").at("points").get<std::int64_t>();
  };
  CHECK(pointsAt("@2027-06-30 10:00:00") == 250);  // months ahead: still within the rule
  CHECK(pointsAt("@2027-12-31 23:59:30") == 250);  // the last second of the last day
  // Expiring within 30 days is greeted, not taken.
  const json greet = execAt(t, "@2027-12-20 09:00:00", {{"id", 1}, {"op", "member"}, {"member", member}});
  bool warned = false;
  for (const json& g : greet.at("result").at("greetings")) warned = warned || g.at("kind") == "points_expiring";
  CHECK(warned);
  // Back to 2027-06 after the December look: nothing was written by looking ahead.
  CHECK(pointsAt("@2027-06-30 10:00:00") == 250);
  CHECK(pointsAt("@2028-01-01 00:00:30") == 0);  // the rule's day has come: expired, as a ledger entry
  const json history = execAt(t, "@2028-01-01 00:01:00", {{"id", 1}, {"op", "history"}, {"member", member}});
  CHECK(history.at("result").at("entries").at(0).at("kind") == "expire");
}

TEST_CASE("Clock jumped past the rules' day: head office refuses the early expiry, the terminal puts the points back "
          "and expires them on their real day",
          "[sync][e2e][clock]") {
  Hq hq;
  hq.start();
  Terminal t;
  REQUIRE(t.registerWith(hq, hq.addTerminal("S001", "T1")).exit == 0);
  const json enrolled = t.execOne(enrol("13800138125", "Jumped Member"));
  REQUIRE(enrolled.at("ok") == true);
  const std::string member = enrolled.at("result").at("member_id");
  // Earned today: the default rule keeps the points until 31 December of next year.
  REQUIRE(t.execOne(sale("earn-now", member, "250.00")).at("ok") == true);
  REQUIRE(t.syncOnce().exit == 0);
  REQUIRE(hq.get("/api/v1/members/" + member).at("balance") == 250);

  const auto pointsAt = [&](const std::optional<std::string>& faketime) {
    const json ask = {{"id", 1}, {"op", "member"}, {"member", member}};
    const json r = faketime ? execAt(t, *faketime, ask) : t.execOne(ask);
    INFO(r.dump());
    REQUIRE(r.at("ok") == true);
    return r.at("result").at("points").get<std::int64_t>();
  };
  const auto syncAt = [&](const std::string& faketime) {
    const RunResult r = run(underFakeTime(faketime, {"sync", "--data", t.dataDir(), "--once"}));
    INFO(r.err);
    REQUIRE(r.exit == 0);
    return json::parse(r.out.substr(0, r.out.find('\n')));
  };
  // The clock jumps two years ahead: the counter sees the points past their day and expires them.
  const std::string jumped = "@" + std::to_string(thisYear() + 2) + "-01-05 10:00:00";
  CHECK(pointsAt(jumped) == 0);
  // Head office refuses an expiry dated after its own day; the terminal puts the points back
  // into their lot, and keeps them while head office says its clock runs ahead.
  CHECK(syncAt(jumped).at("pending") == 0);
  CHECK(hq.get("/api/v1/members/" + member).at("balance") == 250);
  CHECK(pointsAt(jumped) == 250);
  const json housekeeping = execAt(t, jumped, {{"id", 1}, {"op", "housekeeping"}});
  CHECK(housekeeping.at("result").at("expired_entries") == 0);
  CHECK(syncAt(jumped).at("pending") == 0);  // nothing more to send: no second expiry
  CHECK(pointsAt(jumped) == 250);
  REQUIRE(t.verify().exit == 0);
  {
    const hq::DataDir dir{hq.dataDir()};
    auto settings = hq::loadSettings(dir);
    REQUIRE(settings);
    auto sql = hq::openStorage(dir, *settings);
    const auto refused = sql->query("SELECT reason, detail FROM rejected_events");
    REQUIRE(refused.size() == 1);
    CHECK(refused.text(0, 0) == "adjustment_refused");
    CHECK(refused.text(0, 1).find("clock is ahead") != std::string::npos);
    CHECK(sql->query("SELECT COUNT(*) FROM ledger WHERE kind = 'expire'").integer(0, 0) == 0);
  }

  // The clock set right: nothing has expired, and nothing does before the day.
  REQUIRE(t.syncOnce().exit == 0);
  CHECK(pointsAt(std::nullopt) == 250);
  CHECK(hq.get("/api/v1/members/" + member).at("balance") == 250);
  // On the real day (here: a script's operation dated then, head office's clock agreeing with
  // the terminal's) the lot expires from where it was put back.
  json due = {{"id", 1}, {"op", "member"}, {"member", member}, {"at", std::to_string(thisYear() + 2) + "-01-01T00:00:30Z"}};
  CHECK(t.execOne(due).at("result").at("points") == 0);
  const json history = t.execOne({{"id", 1}, {"op", "history"}, {"member", member}});
  CHECK(history.at("result").at("entries").at(0).at("kind") == "expire");
  CHECK(history.at("result").at("entries").at(0).at("points") == -250);
  REQUIRE(t.verify().exit == 0);
}

TEST_CASE("Clock jumped ahead: a tier review the counter did before head office's month is undone once head office "
          "says its date",
          "[sync][e2e][clock]") {
  Hq hq;
  hq.start();
  Terminal t;
  REQUIRE(t.registerWith(hq, hq.addTerminal("S001", "T1")).exit == 0);
  const json enrolled = t.execOne(enrol("13800138126", "Silver Member"));
  REQUIRE(enrolled.at("ok") == true);
  const std::string member = enrolled.at("result").at("member_id");
  // Spend over Silver's threshold (2,000) today: Silver at the counter and at head office.
  const json bought = t.execOne(sale("silver-now", member, "2500.00"));
  REQUIRE(bought.at("ok") == true);
  REQUIRE(bought.at("result").at("tier") == "silver");
  REQUIRE(t.syncOnce().exit == 0);
  REQUIRE(hq.get("/api/v1/members/" + member).at("tier") == "silver");

  const auto tierAt = [&](const std::string& faketime) {
    const json r = execAt(t, faketime, {{"id", 1}, {"op", "member"}, {"member", member}});
    INFO(r.dump());
    REQUIRE(r.at("ok") == true);
    return r.at("result").at("tier").get<std::string>();
  };
  // Two years ahead, before any answer from head office: the counter's monthly review finds no
  // spend in the year before its month and lowers the tier.
  const std::string jumped = "@" + std::to_string(thisYear() + 2) + "-03-05 10:00:00";
  CHECK(tierAt(jumped) == "member");
  // Head office's answer says its date: the early review is undone, and not done again while
  // head office's month has not come.
  const RunResult synced = run(underFakeTime(jumped, {"sync", "--data", t.dataDir(), "--once"}));
  INFO(synced.err);
  REQUIRE(synced.exit == 0);
  CHECK(tierAt(jumped) == "silver");
  const json housekeeping = execAt(t, jumped, {{"id", 1}, {"op", "housekeeping"}});
  CHECK(housekeeping.at("result").at("members_downgraded") == 0);
  CHECK(tierAt(jumped) == "silver");
  CHECK(hq.get("/api/v1/members/" + member).at("tier") == "silver");
  REQUIRE(t.verify().exit == 0);
}
