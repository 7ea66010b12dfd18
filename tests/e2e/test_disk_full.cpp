// The counter out of disk space for real: its data directory on a small tmpfs this test mounts
// (root only; reported skipped otherwise) and fills. Every operation answers at once, either ok
// or with a clear "disk is full" error; nothing that answered ok is lost and nothing that failed is
// half there (checked after SIGKILL and a fresh start); once space returns the same process goes
// on without repair. A backup onto a full disk fails clearly and leaves no partial file.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "../support/exec_client.hpp"
#include "../support/tmpfs_mount.hpp"
#include "loyalty/db/database.hpp"

using nlohmann::json;
using namespace loyalty::test;
namespace fs = std::filesystem;

namespace {

std::string phoneOf(int n) { return "1381234" + std::to_string(1000 + n); }

json saleRequest(const std::string& id, int member) {
  return {{"op", "sale"},
          {"sale_id", id},
          {"member", phoneOf(member)},
          {"lines", json::array({{{"sku", "OIL-5L"}, {"description", std::string(150, 'o')}, {"qty", 2}, {"unit_price", "59.90"}},
                                 {{"sku", "WASH"}, {"description", std::string(150, 'w')}, {"qty", 1}, {"unit_price", "25.00"}}})}};
}

json enrolRequest(int n) {
  return {{"op", "enroll"}, {"phone", phoneOf(n)}, {"name", "会员" + std::to_string(n)}, {"consent_marketing", n % 2 == 0}};
}

json redeemRequest(const std::string& id, int member) {
  return {{"op", "redeem"}, {"redemption_id", id}, {"member", phoneOf(member)}, {"points", 5}};
}

struct Outcome {
  json request;
  json response;
};

std::int64_t countWhere(loyalty::db::Database& db, const std::string& table, const std::string& column,
                        const std::string& value) {
  auto q = db.query("SELECT COUNT(*) AS n FROM " + table + " WHERE " + column + " = ?");
  q.bind(1, value);
  REQUIRE(q.step());
  return q.int64("n");
}

}  // namespace

TEST_CASE("disk full: every operation answers, ok ones are kept, failed ones leave nothing, and the counter recovers",
          "[e2e][faults][disk]") {
  if (!canMount()) {
    WARN("NEEDS ROOT: mounting a tmpfs needs root; skipped");
    return;
  }
  TmpfsMount disk(4 * 1024 * 1024);
  const fs::path data = disk.path() / "data";
  std::vector<Outcome> outcomes;
  std::map<std::string, int> failedCodes;
  {
    Exec exec(data.string());
    for (int m = 0; m < 4; ++m) ok(exec.call(enrolRequest(m)));
    for (int s = 0; s < 8; ++s) {
      const json request = saleRequest("BEFORE-" + std::to_string(s), s % 4);
      outcomes.push_back({request, exec.call(request)});
      ok(outcomes.back().response);
    }

    disk.fill();
    // Operations of every kind that writes, until a good run of them has been refused.
    int failures = 0;
    for (int i = 0; i < 400 && failures < 30; ++i) {
      json request = i % 5 == 3   ? enrolRequest(100 + i)
                     : i % 5 == 4 ? redeemRequest("R-" + std::to_string(i), i % 4)
                                  : saleRequest("FULL-" + std::to_string(i), i % 4);
      request["id"] = i;
      json response = exec.call(request);
      REQUIRE(response["id"] == i);
      if (response["ok"] == false) {
        ++failures;
        const json& e = response["error"];
        ++failedCodes[e["code"].get<std::string>()];
        INFO(response.dump());
        CHECK(e["code"] == "internal");
        CHECK(e["message"].get<std::string>().rfind("the disk is full, nothing was saved", 0) == 0);
      }
      outcomes.push_back({request, response});
    }
    REQUIRE(failures >= 30);
    // Reads still answer on a full disk.
    ok(exec.call({{"op", "stats"}}));
    ok(exec.call({{"op", "lookup"}, {"query", phoneOf(1)}}));

    // Space returns: the same process goes on, and a refused sale can be sent again.
    disk.release();
    for (const Outcome& o : outcomes) {
      if (o.response["ok"] == true || o.request["op"] != "sale") continue;
      json again = o.request;
      again["id"] = "retry";
      const json r = ok(exec.call(again));
      CHECK(r["sale_id"] == o.request["sale_id"]);
      break;
    }
    ok(exec.call(saleRequest("AFTER-1", 2)));
    const json verify = ok(exec.call({{"op", "verify"}}));
    INFO(verify.dump());
    CHECK(verify["ok"] == true);
    // No orderly close: the process dies as a power cut or a watchdog would end it.
  }

  // A fresh process on the same files: every ok answer is there as answered, no failed one is.
  Exec fresh(data.string());
  int kept = 0, absent = 0;
  bool retriedOne = false;
  {
    loyalty::db::Database db((data / "terminal.db").string(), {.readOnly = true});
    for (const Outcome& o : outcomes) {
      const std::string op = o.request["op"];
      const bool answeredOk = o.response["ok"] == true;
      std::int64_t rows = 0;
      if (op == "sale") rows = countWhere(db, "sales", "sale_id", o.request["sale_id"]);
      if (op == "redeem") rows = countWhere(db, "redemptions", "redemption_id", o.request["redemption_id"]);
      if (op == "enroll") {
        rows = ok(fresh.call({{"op", "lookup"}, {"query", o.request["phone"]}}))["matches"].size();
      }
      if (answeredOk) {
        INFO(o.request.dump());
        CHECK(rows == 1);
        ++kept;
      } else if (op == "sale" && !retriedOne) {
        retriedOne = true;  // sent again once space returned
        CHECK(rows == 1);
      } else {
        INFO(o.request.dump());
        CHECK(rows == 0);
        ++absent;
      }
    }
  }
  // Each ok sale replays to its original answer (idempotency survived the full disk).
  for (const Outcome& o : outcomes) {
    if (o.request["op"] != "sale" || o.response["ok"] != true) continue;
    json again = o.request;
    again["id"] = "replay";
    CHECK(ok(fresh.call(again)) == o.response["result"]);
  }
  const json verify = ok(fresh.call({{"op", "verify"}}));
  INFO(verify.dump());
  CHECK(verify["ok"] == true);
  CHECK(absent >= 29);
  std::printf("disk full (terminal): %zu operations (8 before the disk filled), %d answered ok and kept, %d refused "
              "and absent, 1 refused then sent again once space returned\n",
              outcomes.size(), kept, absent);
}

TEST_CASE("disk full: a backup onto a full disk fails clearly and leaves no partial file", "[e2e][faults][disk]") {
  if (!canMount()) {
    WARN("NEEDS ROOT: mounting a tmpfs needs root; skipped");
    return;
  }
  TempDir dir;
  const fs::path data = dir.path() / "data";
  {
    Exec exec(data.string());
    for (int m = 0; m < 3; ++m) ok(exec.call(enrolRequest(m)));
    for (int s = 0; s < 50; ++s) ok(exec.call(saleRequest("S-" + std::to_string(s), s % 3)));
    REQUIRE(exec.finish() == 0);
  }
  TmpfsMount disk(1024 * 1024);
  disk.fill();
  const fs::path out = disk.path() / "terminal.backup";
  {
    ChildProcess p({terminalBinary(), "backup", "--data", data.string(), "--out", out.string()}, Stderr::kToStdout);
    p.closeStdin();
    std::string said;
    while (auto line = p.readLine(std::chrono::seconds(60))) said += *line + "\n";
    INFO(said);
    CHECK(p.wait() != 0);
    CHECK(said.find("full") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(out));
  disk.release();
  ChildProcess p({terminalBinary(), "backup", "--data", data.string(), "--out", out.string()}, Stderr::kToStdout);
  p.closeStdin();
  while (p.readLine(std::chrono::seconds(60))) {
  }
  CHECK(p.wait() == 0);
  CHECK(fs::file_size(out) > 0);
}
