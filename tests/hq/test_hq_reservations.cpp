// Online reservations on a real loyalty-hq over HTTPS: the terminal that made one releases it
// (idempotently), and an abandoned one stops counting once its configured life is over. A
// reservation asked with after_seq is held until the terminal's own event settles or releases
// it, however long that takes (up to [redemptions] hold_days, or an administrator's release).
#include <fstream>
#include <future>
#include <thread>

#include "loyalty/core/time.hpp"
#include "loyalty/hq/local_time.hpp"
#include "loyalty/sync/release.hpp"
#include "loyalty/sync/terminal_health.hpp"
#include "support/hq_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;

#define HQ_BACKENDS SqliteBackend, PostgresBackend

namespace {

int status(const httplib::Result& res) {
  REQUIRE(res);
  INFO(res->body);
  return res->status;
}

int reserve(HqInstance& hq, const std::string& token, const std::string& id, std::int64_t points) {
  return status(hq.client()->Post("/api/v1/redemptions", bearer(token),
                                   json{{"redemption_id", id}, {"member_id", "M1"}, {"points", points}}.dump(),
                                   "application/json"));
}

int release(HqInstance& hq, const std::string& token, const std::string& id) {
  return status(hq.client()->Delete(("/api/v1/redemptions/" + id).c_str(), bearer(token)));
}

std::int64_t reserved(HqInstance& hq) { return getJsonChecked(hq, "/api/v1/members/M1").at("reserved_points"); }

/// POST /api/v1/redemptions with after_seq: the answer's status and body.
std::pair<int, json> reserveAfter(HqInstance& hq, const std::string& token, const std::string& id, std::int64_t points,
                                  std::int64_t afterSeq) {
  auto res = hq.client()->Post("/api/v1/redemptions", bearer(token),
                               json{{"redemption_id", id}, {"member_id", "M1"}, {"points", points}, {"after_seq", afterSeq}}.dump(),
                               "application/json");
  REQUIRE(res);
  return {res->status, json::parse(res->body)};
}

json releasedEvent(const std::string& terminal, const std::string& store, std::int64_t seq, const std::string& id,
                   std::int64_t points) {
  return {{"event_id", terminal + "-e" + std::to_string(seq)}, {"seq", seq}, {"type", "points.redemption_released"},
          {"at", "2026-11-23T10:00:00Z"},
          {"payload", {{"redemption_id", id}, {"member_id", "M1"}, {"points", points}, {"reason", "not recorded"},
                       {"store_id", store}, {"terminal_id", terminal}}}};
}

/// Uploads one batch as TA; the status of each event.
std::vector<std::string> upload(HqInstance& hq, const std::string& token, json events) {
  auto res = hq.client()->Post("/api/v1/events", bearer(token), batch("TA", std::move(events)).dump(), "application/json");
  REQUIRE(status(res) == 200);
  std::vector<std::string> out;
  const json answer = json::parse(res->body);
  for (const auto& r : answer.at("results")) out.push_back(r.at("status"));
  return out;
}

std::int64_t scalar(HqInstance& hq, const std::string& sql) {
  const auto r = hq.sql()->query(sql);
  return r.empty() || r.isNull(0, 0) ? 0 : r.integer(0, 0);
}

}  // namespace

TEMPLATE_TEST_CASE("reservations are released by their terminal and expire after the configured minutes", "[hq]",
                   HQ_BACKENDS) {
  HqInstance hq(TestType::kName);
  std::ofstream(hq.dataDir() + "/hq.toml", std::ios::app) << "\n[redemptions]\nreservation_minutes = 3\n";
  hq.start();
  const std::string a = hq.registerTerminal("S1", "TA");
  const std::string b = hq.registerTerminal("S2", "TB");
  auto res = hq.client()->Post("/api/v1/events", bearer(a),
                               batch("TA", {enrolEvent("TA", "S1", 1, "M1"), saleEvent("TA", "S1", 2, "M1", "80.00", 80)}).dump(),
                               "application/json");
  REQUIRE(status(res) == 200);

  REQUIRE(reserve(hq, a, "R1", 50) == 200);
  CHECK(reserved(hq) == 50);
  const auto row = hq.sql()->query("SELECT created_at, expires_at FROM reservations WHERE redemption_id = 'R1'");
  CHECK(*loyalty::parseRfc3339(row.text(0, 1), "expires_at") - *loyalty::parseRfc3339(row.text(0, 0), "created_at") ==
        std::chrono::minutes(3));

  // Only the terminal that reserved the points gives them back; again is fine.
  CHECK(release(hq, b, "R1") == 403);
  CHECK(release(hq, hq.adminToken(), "R1") == 403);
  CHECK(reserved(hq) == 50);
  CHECK(release(hq, a, "R1") == 200);
  CHECK(reserved(hq) == 0);
  CHECK(release(hq, a, "R1") == 200);
  CHECK(release(hq, a, "never-reserved") == 200);
  CHECK(reserve(hq, b, "R2", 80) == 200);  // the released points are available again

  // A settled reservation is spent: it cannot be released.
  res = hq.client()->Post("/api/v1/events", bearer(b),
                          batch("TB", {redeemEvent("TB", "S2", 1, "M1", 80, "R2", "online")}).dump(), "application/json");
  REQUIRE(status(res) == 200);
  CHECK(release(hq, b, "R2") == 409);

  // An abandoned reservation stops counting when its life is over.
  res = hq.client()->Post("/api/v1/events", bearer(a), batch("TA", {saleEvent("TA", "S1", 3, "M1", "30.00", 30)}).dump(),
                          "application/json");
  REQUIRE(status(res) == 200);
  REQUIRE(reserve(hq, a, "R3", 30) == 200);
  CHECK(reserve(hq, b, "R4", 30) == 409);
  CHECK(reserved(hq) == 30);
  hq.sql()->query("UPDATE reservations SET expires_at = '2000-01-01T00:00:00Z' WHERE redemption_id = 'R3'");
  CHECK(reserved(hq) == 0);
  CHECK(reserve(hq, b, "R4", 30) == 200);
  // Asked again after it expired, R3 is a new reservation, refused if the points went meanwhile.
  CHECK(reserve(hq, a, "R3", 30) == 409);
}

TEMPLATE_TEST_CASE("reservations asked with after_seq are held until the terminal's event settles or releases them", "[hq]",
                   HQ_BACKENDS) {
  HqInstance hq(TestType::kName);
  std::ofstream(hq.dataDir() + "/hq.toml", std::ios::app) << "\n[redemptions]\nreservation_minutes = 3\nhold_days = 2\n";
  hq.start();
  const std::string a = hq.registerTerminal("S1", "TA");
  const std::string b = hq.registerTerminal("S2", "TB");
  REQUIRE(upload(hq, a, {enrolEvent("TA", "S1", 1, "M1"), saleEvent("TA", "S1", 2, "M1", "100.00", 100)}) ==
          std::vector<std::string>{"applied", "applied"});

  // Held past reservation_minutes (time moved on at head office) while TA has not answered for it.
  REQUIRE(reserveAfter(hq, a, "R1", 50, 2).first == 200);
  const auto row = hq.sql()->query("SELECT created_at, hold_until FROM reservations WHERE redemption_id = 'R1'");
  CHECK(*loyalty::parseRfc3339(row.text(0, 1), "hold_until") - *loyalty::parseRfc3339(row.text(0, 0), "created_at") ==
        std::chrono::hours(48));
  hq.sql()->query("UPDATE reservations SET expires_at = '2000-01-01T00:00:00Z' WHERE redemption_id = 'R1'");
  CHECK(reserved(hq) == 50);
  CHECK(reserveAfter(hq, b, "R2", 80, 0).first == 409);  // 100 - 50 held
  // Terminals' view of the balance: head office's ledger balance, a reservation not taken off it.
  auto page = hq.client()->Get("/api/v1/changes?cursor=", bearer(b));
  REQUIRE(status(page) == 200);
  CHECK(json::parse(page->body).at("changes").at(0).at("balance") == 100);

  // TA's release event lets the points go; sent again it is a duplicate, changed it is a conflict.
  REQUIRE(upload(hq, a, {releasedEvent("TA", "S1", 3, "R1", 50)}) == std::vector<std::string>{"applied"});
  CHECK(reserved(hq) == 0);
  CHECK(upload(hq, a, {releasedEvent("TA", "S1", 3, "R1", 50)}) == std::vector<std::string>{"duplicate"});
  CHECK(upload(hq, a, {releasedEvent("TA", "S1", 3, "R1", 40)}) == std::vector<std::string>{"conflict"});
  CHECK(scalar(hq, "SELECT COUNT(*) FROM event_conflicts") == 1);
  // A request older than events head office already applied (it was stuck on the way): the
  // attempt is over, nothing is held.
  const auto [staleStatus, stale] = reserveAfter(hq, a, "R1", 50, 2);
  CHECK(staleStatus == 409);
  CHECK(stale.at("detail").get<std::string>().find("after_seq") != std::string::npos);
  CHECK(reserved(hq) == 0);

  // A later attempt under the same id (after TA released the first at seq 4, not yet uploaded)
  // is not released by the first attempt's event; the redemption's event settles it.
  REQUIRE(reserveAfter(hq, a, "R3", 30, 3).first == 200);
  REQUIRE(reserveAfter(hq, a, "R3", 30, 4).first == 200);
  CHECK(upload(hq, a, {releasedEvent("TA", "S1", 4, "R3", 30)}) == std::vector<std::string>{"applied"});
  CHECK(reserved(hq) == 30);
  CHECK(upload(hq, a, {redeemEvent("TA", "S1", 5, "M1", 30, "R3", "online")}) == std::vector<std::string>{"applied"});
  CHECK(reserved(hq) == 0);
  // Releasing a settled reservation changes nothing.
  CHECK(upload(hq, a, {releasedEvent("TA", "S1", 6, "R3", 30)}) == std::vector<std::string>{"applied"});
  CHECK(scalar(hq, "SELECT COUNT(*) FROM reservations WHERE redemption_id = 'R3' AND settled_event = 'TA-e5' "
                   "AND released_at IS NULL") == 1);
  CHECK(getJsonChecked(hq, "/api/v1/members/M1").at("balance") == 70);

  // Reserved, the answer lost, the redemption recorded offline under the same id: settled,
  // counted once.
  REQUIRE(reserveAfter(hq, a, "R4", 20, 6).first == 200);
  CHECK(upload(hq, a, {redeemEvent("TA", "S1", 7, "M1", 20, "R4", "offline")}) == std::vector<std::string>{"applied"});
  CHECK(reserved(hq) == 0);
  CHECK(getJsonChecked(hq, "/api/v1/members/M1").at("balance") == 50);
  CHECK(scalar(hq, "SELECT COUNT(*) FROM ledger WHERE event_id = 'TA-e7'") == 1);

  // A release over the network that arrives late leaves a later attempt's reservation held.
  REQUIRE(reserveAfter(hq, a, "R5", 10, 7).first == 200);
  CHECK(status(hq.client()->Delete("/api/v1/redemptions/R5?after_seq=6", bearer(a))) == 200);
  CHECK(reserved(hq) == 10);
  CHECK(status(hq.client()->Delete("/api/v1/redemptions/R5?after_seq=x", bearer(a))) == 400);
  CHECK(status(hq.client()->Delete("/api/v1/redemptions/R5?after_seq=7", bearer(a))) == 200);
  CHECK(reserved(hq) == 0);

  // The valve: a terminal that never comes back holds points for hold_days at most...
  REQUIRE(reserveAfter(hq, b, "R6", 10, 0).first == 200);
  CHECK(reserved(hq) == 10);
  hq.sql()->query("UPDATE reservations SET expires_at = '2000-01-01T00:00:00Z', hold_until = '2000-01-01T00:00:00Z' "
                  "WHERE redemption_id = 'R6'");
  CHECK(reserved(hq) == 0);
  // ...or until an administrator gives them back, recorded in the audit trail.
  REQUIRE(reserveAfter(hq, b, "R7", 15, 0).first == 200);
  const json held = json::parse(hq.cli({"reservation", "list", "--data", hq.dataDir()}));
  REQUIRE(held.at("reservations").size() == 1);
  CHECK(held.at("reservations").at(0).at("redemption_id") == "R7");
  CHECK(held.at("reservations").at(0).at("after_seq") == 0);
  CHECK(runCommand({hqBinary(), "reservation", "release", "--data", hq.dataDir(), "--redemption", "R7"}).first != 0);  // no reason
  const json gone = json::parse(hq.cli({"reservation", "release", "--data", hq.dataDir(), "--redemption", "R7", "--reason",
                                        "terminal TB was stolen"}));
  CHECK(gone.at("points") == 15);
  CHECK(reserved(hq) == 0);
  CHECK(runCommand({hqBinary(), "reservation", "release", "--data", hq.dataDir(), "--redemption", "R7", "--reason", "again"}).first !=
        0);  // nothing held any more
  CHECK(scalar(hq, "SELECT COUNT(*) FROM audit_log WHERE action = 'reservation.release' AND detail LIKE '%stolen%'") == 1);

  // The same over HTTPS, for an administrator's token only.
  REQUIRE(reserveAfter(hq, b, "R8", 12, 0).first == 200);
  CHECK(status(hq.client()->Get("/api/v1/admin/reservations", bearer(b))) == 403);
  auto listed = hq.client()->Get("/api/v1/admin/reservations", bearer(hq.adminToken()));
  REQUIRE(status(listed) == 200);
  const json overHttp = json::parse(listed->body);
  REQUIRE(overHttp.at("reservations").size() == 1);
  CHECK(overHttp.at("reservations").at(0).at("redemption_id") == "R8");
  CHECK(overHttp.at("total") == 1);
  // In pages (limit, offset), oldest first (then by id: R8, R9, R95 within a second), as every
  // admin list: the count is of all held now; past the end, empty with the count; a bad page is
  // refused by its parameter's name.
  REQUIRE(reserveAfter(hq, b, "R9", 1, 0).first == 200);
  REQUIRE(reserveAfter(hq, b, "R95", 1, 0).first == 200);
  auto second = hq.client()->Get("/api/v1/admin/reservations?limit=1&offset=1", bearer(hq.adminToken()));
  REQUIRE(status(second) == 200);
  REQUIRE(json::parse(second->body).at("reservations").size() == 1);
  CHECK(json::parse(second->body).at("reservations").at(0).at("redemption_id") == "R9");
  CHECK(json::parse(second->body).at("total") == 3);
  CHECK(json::parse(second->body).at("page") == json{{"offset", 1}, {"limit", 1}});
  auto past = hq.client()->Get("/api/v1/admin/reservations?offset=3", bearer(hq.adminToken()));
  REQUIRE(status(past) == 200);
  CHECK(json::parse(past->body).at("reservations").empty());
  CHECK(json::parse(past->body).at("total") == 3);
  for (const char* id : {"R9", "R95"}) {
    auto back = hq.client()->Post("/api/v1/admin/reservations/release", bearer(hq.adminToken()),
                                  json{{"redemption_id", id}, {"reason", "a paging check"}}.dump(), "application/json");
    REQUIRE(status(back) == 200);
  }
  for (const auto& [query, field] : std::vector<std::pair<std::string, std::string>>{
           {"/api/v1/admin/reservations?limit=0", "limit"}, {"/api/v1/admin/reservations?offset=-1", "offset"},
           {"/api/v1/admin/releases?limit=10001", "limit"}, {"/api/v1/admin/terminals?store=S%201", "store"},
           {"/api/v1/admin/terminals?offset=x", "offset"}}) {
    auto refused = hq.client()->Get(query, bearer(hq.adminToken()));
    CAPTURE(query);
    REQUIRE(status(refused) == 400);
    CHECK(json::parse(refused->body).at("detail").dump().find(field) != std::string::npos);
  }
  auto firstTerminal = hq.client()->Get("/api/v1/admin/terminals?limit=1", bearer(hq.adminToken()));
  REQUIRE(status(firstTerminal) == 200);
  CHECK(json::parse(firstTerminal->body).at("terminals").size() == 1);
  CHECK(json::parse(firstTerminal->body).at("total") == 2);
  const auto releaseOverHttp = [&](const json& body) {
    return hq.client()->Post("/api/v1/admin/reservations/release", bearer(hq.adminToken()), body.dump(), "application/json");
  };
  auto noReason = releaseOverHttp({{"redemption_id", "R8"}});
  REQUIRE(status(noReason) == 400);
  CHECK(json::parse(noReason->body).at("detail").dump().find("reason") != std::string::npos);
  auto unknown = releaseOverHttp({{"redemption_id", "R404"}, {"reason", "lost"}});
  REQUIRE(status(unknown) == 404);
  CHECK(json::parse(unknown->body).at("detail").dump().find("redemption_id") != std::string::npos);
  CHECK(reserved(hq) == 12);
  auto released = releaseOverHttp({{"redemption_id", "R8"}, {"reason", "terminal TB was never returned"}});
  REQUIRE(status(released) == 200);
  CHECK(json::parse(released->body).at("points") == 12);
  CHECK(reserved(hq) == 0);
  CHECK(status(releaseOverHttp({{"redemption_id", "R8"}, {"reason", "again"}})) == 404);
  CHECK(scalar(hq, "SELECT COUNT(*) FROM audit_log WHERE action = 'reservation.release' AND detail LIKE '%never returned%'") == 1);
}

TEST_CASE("hq.toml [redemptions] hold_days is checked by name", "[hq]") {
  HqInstance hq("sqlite");
  std::ofstream(hq.dataDir() + "/hq.toml", std::ios::app) << "\n[redemptions]\nhold_days = 0\n";
  const auto [exitStatus, out] = runCommand({hqBinary(), "serve", "--data", hq.dataDir(), "--listen", "127.0.0.1:0"}, Stderr::kToStdout);
  CHECK(exitStatus != 0);
  CHECK(out.find("redemptions.hold_days") != std::string::npos);
}

// The counter lane (HqService): token checks, reserves and releases have their own connection, so
// an online redemption does not queue behind this instance's uploads; its writes still take the
// storage's writer lock. Two terminals race for one member's points while a third uploads.
TEMPLATE_TEST_CASE("online redemptions racing each other while uploads run hold no point twice", "[hq]", HQ_BACKENDS) {
  HqInstance hq(TestType::kName);
  hq.start();
  const std::string a = hq.registerTerminal("S1", "TA");
  const std::string b = hq.registerTerminal("S2", "TB");
  const std::string c = hq.registerTerminal("S3", "TC");
  uploadApplied(hq, a, "TA", {enrolEvent("TA", "S1", 1, "M1"), saleEvent("TA", "S1", 2, "M1", "1000.00", 1000)});

  constexpr int kBatches = 12, kSales = 25, kTries = 15;
  std::vector<int> uploads;  // status of each batch of TC's
  std::vector<std::vector<int>> reserves(2);
  std::thread uploader([&] {
    std::int64_t seq = 0;
    for (int i = 0; i < kBatches; ++i) {
      json events = json::array();
      for (int k = 0; k < kSales; ++k) ++seq, events.push_back(saleEvent("TC", "S3", seq, std::nullopt, "12.50", 0));
      auto res = hq.client()->Post("/api/v1/events", bearer(c), batch("TC", std::move(events)).dump(), "application/json");
      uploads.push_back(res ? res->status : -1);
    }
  });
  std::vector<std::thread> counters;
  for (int t = 0; t < 2; ++t) {
    counters.emplace_back([&, t] {
      const std::string& token = t == 0 ? a : b;
      for (int i = 0; i < kTries; ++i) {
        auto res = hq.client()->Post("/api/v1/redemptions", bearer(token),
                                     json{{"redemption_id", std::string(t == 0 ? "A" : "B") + std::to_string(i)},
                                          {"member_id", "M1"}, {"points", 100}}.dump(),
                                     "application/json");
        reserves[static_cast<std::size_t>(t)].push_back(res ? res->status : -1);
      }
    });
  }
  uploader.join();
  for (auto& th : counters) th.join();

  CHECK(uploads == std::vector<int>(kBatches, 200));
  int held = 0, refused = 0;
  for (const auto& lane : reserves) {
    for (int s : lane) {
      INFO("a reserve answered " << s);
      CHECK((s == 200 || s == 409));
      held += s == 200;
      refused += s == 409;
    }
  }
  CHECK(held == 10);  // 1,000 points, 100 each: never an eleventh
  CHECK(refused == 2 * kTries - 10);
  CHECK(reserved(hq) == 1000);
  CHECK(scalar(hq, "SELECT COUNT(*) FROM sales WHERE terminal_id = 'TC'") == kBatches * kSales);
  CHECK(scalar(hq, "SELECT applied_through FROM terminals WHERE terminal_id = 'TC'") == kBatches * kSales);
}

TEST_CASE("on PostgreSQL a reserve waits for the member's other reserves, not for uploads", "[hq]") {
  HqInstance hq("postgresql");
  hq.start();
  const std::string a = hq.registerTerminal("S1", "TA");
  uploadApplied(hq, a, "TA", {enrolEvent("TA", "S1", 1, "M1"), saleEvent("TA", "S1", 2, "M1", "1000.00", 1000)});
  auto other = hq.sql();  // another instance's connection to the same database
  auto look = hq.sql();
  const auto waitFor = [](std::future<int>& f) { return f.wait_for(std::chrono::seconds(60)) == std::future_status::ready; };

  // An upload elsewhere holds the store-wide writer lock: the reserve does not wait for it.
  other->beginWrite();
  auto first = std::async(std::launch::async, [&] { return reserve(hq, a, "R1", 300); });
  const bool firstDone = waitFor(first);
  other->rollback();
  REQUIRE(firstDone);
  CHECK(first.get() == 200);

  // Nor when what the terminal says of itself is new (a new version, its clock): that note is
  // written with the request, and takes no writer lock either.
  other->beginWrite();
  auto noted = std::async(std::launch::async, [&] {
    httplib::Headers h = bearer(a);
    h.emplace(loyalty::sync::header::kTerminalVersion, "2.0.1");
    h.emplace(loyalty::sync::header::kOutboxPending, "3");
    h.emplace(loyalty::sync::header::kTerminalClock, loyalty::formatRfc3339(loyalty::hq::nowSeconds()));
    return status(hq.client()->Post("/api/v1/redemptions", h,
                                    json{{"redemption_id", "R0"}, {"member_id", "M1"}, {"points", 100}}.dump(), "application/json"));
  });
  const bool notedDone = waitFor(noted);
  other->rollback();
  REQUIRE(notedDone);
  CHECK(noted.get() == 200);
  const auto noteRow = look->query("SELECT version, pending FROM terminal_reports WHERE terminal_id = 'TA'");
  CHECK(noteRow.text(0, 0) == "2.0.1");
  CHECK(noteRow.integer(0, 1) == 3);
  CHECK(look->query("SELECT COUNT(*) FROM terminal_health WHERE terminal_id = 'TA'").integer(0, 0) == 1);
  CHECK(release(hq, a, "R0") == 200);

  // Another reserve (or a merge) of M1 holds the member: this one waits until it ends.
  other->beginRowWrite();
  other->lockRow(loyalty::hq::SqlConnection::RowSpace::kMember, "M1");
  auto second = std::async(std::launch::async, [&] { return reserve(hq, a, "R2", 300); });
  bool waiting = false;
  for (int i = 0; i < 600 && !waiting; ++i) {
    waiting = look->query("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = 7534 "
                          "AND objid = CAST(hashtext('M1') AS OID) AND objsubid = 2")
                  .integer(0, 0) == 1;
    if (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(waiting);
  CHECK(second.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout);
  other->rollback();
  REQUIRE(waitFor(second));
  CHECK(second.get() == 200);
  CHECK(reserved(hq) == 600);
}
