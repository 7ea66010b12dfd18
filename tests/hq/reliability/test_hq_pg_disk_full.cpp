// Head office on PostgreSQL out of disk space for real: the test-started cluster's whole data
// directory (tables and pg_wal) on a small tmpfs this test mounts (root only; reported skipped
// otherwise) and fills while terminals upload. Head office answers 503 with a problem naming the
// cause (its disk, or its database gone when PostgreSQL PANICs), acknowledges nothing it did not
// commit, and once space returns (and the cluster is started again if it stopped) the same
// process reconnects and applies the batches sent again, each event once.
#include <chrono>
#include <thread>

#include "../support/hq_fixture.hpp"
#include "temp_dir.hpp"
#include "tmpfs_mount.hpp"

using namespace loyalty::test;
using nlohmann::json;

namespace {

json salesBatch(const std::string& terminal, std::int64_t firstSeq, int n) {
  json events = json::array();
  for (int i = 0; i < n; ++i) {
    json e = saleEvent(terminal, "S1", firstSeq + i, terminal + "-M", "12.30", 12);
    e["payload"]["lines"][0]["description"] = std::string(400, 'd');
    events.push_back(std::move(e));
  }
  return batch(terminal, std::move(events));
}

/// Runs `loyalty-terminal exec` on `data` with the JSON-line `requests`; every answer must be ok.
void terminalExec(const std::string& data, const std::string& requests) {
  ChildProcess p({terminalBinary(), "exec", "--data", data});
  REQUIRE(p.write(requests));
  p.closeStdin();
  std::string out;
  while (auto line = p.readLine(std::chrono::seconds(60))) out += *line + "\n";
  INFO(out);
  REQUIRE(p.wait() == 0);
  CHECK(out.find("\"ok\":false") == std::string::npos);
}

/// Sales of 10.00 in 20 described lines each: events too big for the room left in pages
/// PostgreSQL already has, so a full disk is felt.
std::string counterSales(int first, int n) {
  std::string out;
  for (int i = first; i < first + n; ++i) {
    json lines = json::array();
    for (int l = 0; l < 20; ++l) {
      lines.push_back({{"sku", "TEA-" + std::to_string(l)}, {"qty", 1}, {"unit_price", "0.50"}, {"description", std::string(120, 'd')}});
    }
    out += json{{"id", i}, {"op", "sale"}, {"sale_id", "C-" + std::to_string(i)}, {"lines", std::move(lines)}}.dump() + "\n";
  }
  return out;
}

/// Uploads until the tmpfs under the cluster is full and head office refuses, then frees the
/// space (starting the cluster again if it stopped) and checks that every acknowledged event,
/// and nothing else, is there once.
void fullDiskScenario(const char* what, PgCluster::OnTmpfs onTmpfs, std::size_t bytes) {
  const auto started = std::chrono::steady_clock::now();
  HqInstance hq(std::make_unique<PgCluster>(onTmpfs, bytes));
  PgCluster& pg = *hq.pg();
  TmpfsMount& disk = *pg.disk();
  hq.start();
  const std::string token = hq.registerTerminal("S1", "T1");
  uploadApplied(hq, token, "T1", json::array({enrolEvent("T1", "S1", 1, "T1-M")}));
  // A real counter too: its sales wait in its outbox while head office cannot keep them.
  TempDir counter;
  const std::string code = hq.addTerminal("S1", "T2");
  REQUIRE(runCommand({terminalBinary(), "register", "--data", counter.str(), "--hq", "https://127.0.0.1:" + std::to_string(hq.port()),
                      "--ca", hq.caFile(), "--code", code})
              .first == 0);
  const auto syncCounter = [&] {
    return runCommand({terminalBinary(), "sync", "--data", counter.str(), "--once"}, Stderr::kToStdout);
  };
  terminalExec(counter.str(), counterSales(1, 3));
  REQUIRE(syncCounter().first == 0);

  constexpr int kBatch = 40;
  std::int64_t acked = 1;
  const auto upload = [&] {
    return hq.client()->Post("/api/v1/events", bearer(token), salesBatch("T1", acked + 1, kBatch).dump(), "application/json");
  };
  for (int i = 0; i < 3; ++i) {
    auto r = upload();
    REQUIRE(r);
    REQUIRE(r->status == 200);
    acked = json::parse(r->body).at("acked_through").get<std::int64_t>();
  }
  REQUIRE(acked == 1 + 3 * kBatch);

  disk.fill();
  int refused = 0, diskNamed = 0, databaseNamed = 0, acceptedWhileFull = 0;
  for (int i = 0; i < 200 && refused < 5; ++i) {
    auto r = upload();
    REQUIRE(r);  // answered, not a dropped connection
    INFO(r->body);
    if (r->status == 200) {
      const std::int64_t through = json::parse(r->body).at("acked_through").get<std::int64_t>();
      if (through > acked) ++acceptedWhileFull;  // pages PostgreSQL had already allocated
      acked = through;
      continue;
    }
    ++refused;
    CHECK(r->status == 503);
    CHECK(r->get_header_value("Content-Type").find("application/problem+json") != std::string::npos);
    CHECK(r->has_header("Retry-After"));
    const std::string detail = json::parse(r->body).at("detail").get<std::string>();
    if (detail.find("disk") != std::string::npos) ++diskNamed;
    else if (detail.find("database is unavailable") != std::string::npos) ++databaseNamed;
    else FAIL("a 503 that names neither the disk nor the database: " << detail);
  }
  REQUIRE(refused >= 5);
  terminalExec(counter.str(), counterSales(4, 3));
  {
    const auto [status, out] = syncCounter();
    INFO(out);
    CHECK(status == 1);
    CHECK(out.find("\"pending\":3") != std::string::npos);  // kept in the outbox, to be sent again
    CHECK((out.find("disk") != std::string::npos || out.find("database is unavailable") != std::string::npos));
  }
  const bool panicked = !pg.running() || databaseNamed > 0;
  REQUIRE(kill(hq.process().pid(), 0) == 0);  // head office still up

  // Space returns; a cluster that stopped (a PANIC on a full pg_wal, then a failed restart) is
  // started again by its operator, here the test.
  disk.release();
  const bool restarted = !pg.running();
  if (restarted) REQUIRE(pg.start());
  int retries = 0;
  for (int uploaded = 0; uploaded < 3;) {
    auto r = upload();
    REQUIRE(r);
    INFO(r->body);
    if (r->status == 503 && retries < 60) {  // reconnecting, or PostgreSQL still recovering
      ++retries;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      continue;
    }
    REQUIRE(r->status == 200);
    const json answer = json::parse(r->body);  // kept: ranging over a temporary's member would dangle
    for (const auto& e : answer.at("results")) CHECK(e.at("status") == "applied");
    acked = answer.at("acked_through").get<std::int64_t>();
    ++uploaded;
  }

  {
    const auto [status, out] = syncCounter();
    INFO(out);
    CHECK(status == 0);
    CHECK(out.find("\"pending\":0") != std::string::npos);
  }

  // After a SIGKILL of head office and a restart: exactly what was acknowledged, once.
  hq.stop();
  hq.start();
  const json summary = getJsonChecked(hq, "/api/v1/reports/summary");
  CHECK(summary.at("sales") == acked - 1 + 6);
  CHECK(summary.at("net_revenue") == loyalty::Money::fromMinor(1230 * (acked - 1) + 6 * 1000).toString());
  auto sql = hq.sql();
  CHECK(sql->query("SELECT COUNT(*) FROM events WHERE terminal_id = 'T1'").integer(0, 0) == acked);
  CHECK(sql->query("SELECT MAX(seq) FROM events WHERE terminal_id = 'T1'").integer(0, 0) == acked);
  CHECK(sql->query("SELECT COUNT(*) FROM events WHERE terminal_id = 'T2'").integer(0, 0) == 6);
  CHECK(sql->query("SELECT applied_through FROM terminals WHERE terminal_id = 'T1'").integer(0, 0) == acked);
  CHECK(sql->query("SELECT balance FROM members WHERE member_id = 'T1-M'").integer(0, 0) == 12 * (acked - 1));
  CHECK(sql->query("SELECT COALESCE(SUM(points), 0) FROM ledger WHERE member_id = 'T1-M'").integer(0, 0) == 12 * (acked - 1));
  hq.stop();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("disk full (head office, PostgreSQL, %s on a tmpfs): %d batches of %d refused with 503 (%d naming the disk, %d the database), "
              "%d accepted while full, PostgreSQL %s, %d retries until head office was back; %lld events acknowledged "
              "and kept; %.1f s\n",
              what, refused, kBatch, diskNamed, databaseNamed, acceptedWhileFull,
              panicked ? (restarted ? "stopped (PANIC) and was started again" : "PANICked and restarted itself") : "stayed up",
              retries, static_cast<long long>(acked), seconds);
}

}  // namespace

TEST_CASE("disk full at head office (PostgreSQL data directory): 503 naming the disk, nothing acknowledged that is "
          "not kept, recovery once space returns",
          "[hq][faults][disk][postgresql]") {
  if (!canMount()) {
    WARN("NEEDS ROOT: mounting a tmpfs needs root; skipped");
    return;
  }
  fullDiskScenario("data directory", PgCluster::OnTmpfs::kDataDirectory, std::size_t{96} << 20);
}

TEST_CASE("disk full at head office (PostgreSQL pg_wal): PostgreSQL PANICs, head office answers 503 and reconnects "
          "once the cluster is back",
          "[hq][faults][disk][postgresql]") {
  if (!canMount()) {
    WARN("NEEDS ROOT: mounting a tmpfs needs root; skipped");
    return;
  }
  fullDiskScenario("pg_wal", PgCluster::OnTmpfs::kWal, std::size_t{64} << 20);
}
