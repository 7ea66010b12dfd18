// Head office (SQLite backend) out of disk space for real: its data directory on a small tmpfs
// this test mounts (root only; reported skipped otherwise) and fills. Uploads are answered 503
// with a problem+json naming the disk and a Retry-After, the server keeps serving reads, a batch
// is never half applied, and once space returns the same process applies the batches resent.
#include <filesystem>

#include "support/hq_fixture.hpp"
#include "tmpfs_mount.hpp"

using namespace loyalty::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

/// Moves the initialised data directory onto a tmpfs of `bytes` mounted in its place.
std::unique_ptr<TmpfsMount> dataDirOnTmpfs(const HqInstance& hq, std::size_t bytes) {
  const fs::path data = hq.dataDir();
  const fs::path aside = data.string() + ".init";
  fs::rename(data, aside);
  fs::create_directory(data);
  auto disk = std::make_unique<TmpfsMount>(bytes, data);
  fs::copy(aside, data, fs::copy_options::recursive);
  fs::remove_all(aside);
  return disk;
}

json salesBatch(const std::string& terminal, std::int64_t firstSeq, int n) {
  json events = json::array();
  for (int i = 0; i < n; ++i) {
    const std::int64_t seq = firstSeq + i;
    json e = saleEvent(terminal, "S1", seq, terminal + "-M", "12.30", 12);
    e["payload"]["lines"][0]["description"] = std::string(180, 'd');
    events.push_back(std::move(e));
  }
  return batch(terminal, std::move(events));
}

}  // namespace

TEST_CASE("disk full at head office (SQLite): 503 with a clear problem, nothing half applied, recovery once space returns",
          "[hq][faults][disk]") {
  if (!canMount()) {
    WARN("NEEDS ROOT: mounting a tmpfs needs root; skipped");
    return;
  }
  HqInstance hq("sqlite");
  auto disk = dataDirOnTmpfs(hq, 16 * 1024 * 1024);
  hq.start();
  const std::string token = hq.registerTerminal("S1", "T1");
  uploadApplied(hq, token, "T1", json::array({enrolEvent("T1", "S1", 1, "T1-M")}));

  std::int64_t acked = 1;
  constexpr int kBatch = 40;
  for (int i = 0; i < 3; ++i) {
    auto r = hq.client()->Post("/api/v1/events", bearer(token), salesBatch("T1", acked + 1, kBatch).dump(), "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    acked = json::parse(r->body).at("acked_through").get<std::int64_t>();
  }
  REQUIRE(acked == 1 + 3 * kBatch);

  disk->fill();
  int refused = 0;
  for (int i = 0; i < 20 && refused < 5; ++i) {
    auto r = hq.client()->Post("/api/v1/events", bearer(token), salesBatch("T1", acked + 1, kBatch).dump(), "application/json");
    REQUIRE(r);  // answered, not a dropped connection
    INFO(r->body);
    if (r->status == 200) {
      acked = json::parse(r->body).at("acked_through").get<std::int64_t>();
      continue;
    }
    ++refused;
    CHECK(r->status == 503);
    CHECK(r->get_header_value("Content-Type").find("application/problem+json") != std::string::npos);
    CHECK(r->has_header("Retry-After"));
    const json problem = json::parse(r->body);
    CHECK(problem.at("status") == 503);
    CHECK(problem.at("detail").get<std::string>().find("disk") != std::string::npos);
  }
  REQUIRE(refused >= 5);
  // Still serving: reads answer and the numbers are those acknowledged, no more.
  CHECK(getJsonChecked(hq, "/api/v1/reports/summary").at("sales") == acked - 1);
  REQUIRE(hq.process().pid() > 0);
  CHECK(kill(hq.process().pid(), 0) == 0);

  disk->release();
  for (int i = 0; i < 3; ++i) {
    auto r = hq.client()->Post("/api/v1/events", bearer(token), salesBatch("T1", acked + 1, kBatch).dump(), "application/json");
    REQUIRE(r);
    INFO(r->body);
    REQUIRE(r->status == 200);
    const json answer = json::parse(r->body);  // kept: ranging over a temporary's member would dangle
    for (const auto& e : answer.at("results")) CHECK(e.at("status") == "applied");
    acked = answer.at("acked_through").get<std::int64_t>();
  }

  // After a SIGKILL and a restart on the same files: exactly what was acknowledged.
  hq.stop();
  hq.start();
  const json summary = getJsonChecked(hq, "/api/v1/reports/summary");
  CHECK(summary.at("sales") == acked - 1);
  CHECK(summary.at("net_revenue") == loyalty::Money::fromMinor(1230 * (acked - 1)).toString());
  auto sql = hq.sql();
  CHECK(sql->query("SELECT COUNT(*) FROM events").integer(0, 0) == acked);
  CHECK(sql->query("SELECT applied_through FROM terminals WHERE terminal_id = 'T1'").integer(0, 0) == acked);
  CHECK(sql->query("SELECT balance FROM members WHERE member_id = 'T1-M'").integer(0, 0) == 12 * (acked - 1));
  hq.stop();
  std::printf("disk full (head office, SQLite): %d batches of %d refused with 503, %lld events acknowledged and kept\n",
              refused, kBatch, static_cast<long long>(acked));
}
