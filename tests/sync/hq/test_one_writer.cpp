// One writer in the counter app: background sync (change-feed pages, upload acknowledgements)
// and housekeeping hand their writes to the store worker, against the real loyalty-hq.
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "../../ui/reply_inbox.hpp"
#include "loyalty/terminal/store.hpp"
#include "loyalty/ui/app_backend.hpp"
#include "registered_config.hpp"
#include "sync_fixture.hpp"

using namespace loyalty;
using namespace loyalty::test;
using nlohmann::json;

namespace {

/// Every write transaction committed by any SQLite connection of this process opened while
/// installed, with the thread that committed it and the connection.
struct WriteLog {
  struct Commit {
    std::thread::id thread;
    sqlite3* connection;
  };
  std::mutex mutex;
  std::vector<Commit> commits;
};
WriteLog* g_writes = nullptr;  // set only while a CommitRecorder lives

int onCommit(void* connection) {
  const std::lock_guard lock(g_writes->mutex);
  g_writes->commits.push_back({std::this_thread::get_id(), static_cast<sqlite3*>(connection)});
  return 0;  // let it commit
}

int installOnCommit(sqlite3* db, const char**, const struct sqlite3_api_routines*) {
  sqlite3_commit_hook(db, onCommit, db);
  return SQLITE_OK;
}

/// Hooks every connection opened from now on (SQLite's automatic extensions).
class CommitRecorder {
 public:
  CommitRecorder() {
    g_writes = &m_log;
    sqlite3_auto_extension(reinterpret_cast<void (*)()>(installOnCommit));
  }
  ~CommitRecorder() {
    sqlite3_cancel_auto_extension(reinterpret_cast<void (*)()>(installOnCommit));
  }
  std::vector<WriteLog::Commit> commits() {
    const std::lock_guard lock(m_log.mutex);
    return m_log.commits;
  }

 private:
  WriteLog m_log;
};

Timestamp now() { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); }

bool eventually(const std::function<bool()>& done, std::chrono::seconds limit = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

}  // namespace

TEST_CASE("In the app every write to terminal.db is the store worker's, and change-feed pages applied between counter operations lose nothing",
          "[sync][e2e][ui]") {
  Hq hq;
  hq.start();
  // Another store enrols the member and sells to them (30 points); head office has a catalogue.
  Terminal other;
  REQUIRE(other.registerWith(hq, hq.addTerminal("S002", "T2")).exit == 0);
  const json enrolled = other.execOne(enrol("13900139000", "Member T2"));
  REQUIRE(enrolled.at("ok") == true);
  const std::string member = enrolled.at("result").at("member_id");
  for (const json& r : other.exec({sale("T2-0", member, "10.00"), sale("T2-1", member, "10.00"),
                                   sale("T2-2", member, "10.00")})) {
    REQUIRE(r.at("ok") == true);
  }
  REQUIRE(other.syncOnce().exit == 0);
  hq.post("/api/v1/admin/catalog",
          {{"rewards", json::array({{{"reward_id", "MUG"}, {"name", "Mug"}, {"points", 40}, {"active", true}}})}});

  Terminal here;
  REQUIRE(here.registerWith(hq, hq.addTerminal("S001", "T1")).exit == 0);

  CommitRecorder recorder;
  Inbox inbox;
  std::thread::id workerThread;
  sqlite3* workerConnection = nullptr;
  {
    ui::StoreWorker worker(
        [&]() -> std::unique_ptr<ui::StoreBackend> {
          workerThread = std::this_thread::get_id();
          db::Database db = terminal::openTerminalDatabase(here.dataDir());
          terminal::CounterConfig config = registeredConfig(db);
          ui::AppBackendOptions options;
          options.sync.interval = std::chrono::milliseconds(50);  // rounds keep coming while we sell
          options.sync.backoff = {std::chrono::milliseconds(50), std::chrono::milliseconds(500)};
          auto backend = ui::openAppBackend(std::move(db), config, here.dataDir(), options);
          workerConnection = backend->database().handle();
          return backend;
        },
        [&](ui::Reply r) { inbox.post(std::move(r)); });
    REQUIRE(inbox.next<ui::reply::StoreOpened>().info.hasValue());

    const auto points = [&]() -> std::int64_t {
      worker.submit(ui::cmd::Member{member});
      const auto m = inbox.next<ui::reply::Member>();
      return m.detail ? m.detail->member.points : -1;
    };
    REQUIRE(eventually([&] { return points() == 30; }));  // the member arrived from the feed

    // Both stores sell to the member at once: this counter through the worker while the other
    // store's sales come back here as change-feed pages (balance reconciliations) in between.
    std::thread otherStore([&] {
      for (int i = 3; i < 6; ++i) {
        const std::string id = "T2-" + std::to_string(i);
        if (other.execOne(sale(id, member, "10.00")).at("ok") != true || other.syncOnce().exit != 0) return;
      }
    });
    for (int i = 0; i < 20; ++i) {
      terminal::SaleRequest r;
      r.saleId = "T1-" + std::to_string(i);
      r.member = member;
      r.lines = {{"SKU-1", std::nullopt, 1, "10.00"}};
      r.at = now();
      worker.submit(ui::cmd::Sale{r});
      REQUIRE(inbox.next<ui::reply::Sold>().result.hasValue());
    }
    otherStore.join();

    // Everything both stores did is everywhere: 30 + 3 × 10 from there, 20 × 10 from here.
    const auto pending = [&] {
      worker.submit(ui::cmd::Status{true});
      return inbox.next<ui::reply::Status>();
    };
    CHECK(eventually([&] {
      return points() == 260 && pending().outboxPending == 0 &&
             hq.get("/api/v1/members/" + member).at("balance") == 260;
    }));
    CHECK(hq.get("/api/v1/reports/summary").at("sales") == 26);
    CHECK(pending().stats->sales == 20);
    worker.submit(ui::cmd::Catalog{});
    const auto catalogue = inbox.next<ui::reply::Catalog>().rewards;
    REQUIRE(catalogue.size() == 1);
    CHECK(catalogue.front().rewardId == "MUG");
  }  // the worker stops: background sync and housekeeping first

  // Every write of the app, change-feed pages and acknowledgements included, was a transaction
  // of the worker's connection on the worker's thread.
  const auto commits = recorder.commits();
  CHECK(commits.size() > 20);
  std::set<sqlite3*> connections;
  std::map<std::thread::id, int> byThread;
  for (const auto& c : commits) {
    connections.insert(c.connection);
    ++byThread[c.thread];
  }
  CHECK(connections == std::set<sqlite3*>{workerConnection});
  CHECK(byThread.size() == 1);
  CHECK(byThread.count(workerThread) == 1);

  db::Database db = terminal::openTerminalDatabase(here.dataDir());
  terminal::RandomIds ids;
  terminal::CounterService check(db, terminal::CounterConfig{}, ids);
  CHECK(check.verify().problems.empty());
}
