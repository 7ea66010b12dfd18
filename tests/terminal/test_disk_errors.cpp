// EIO under the counter's store: an SQLite VFS that wraps the default one and, on command, fails
// every write (SQLITE_IOERR_WRITE) or every fsync (SQLITE_IOERR_FSYNC) as a failing disk does. The
// exec session answers each operation with a clear error, a failed one is all or nothing (a retry
// with the same key is safe), nothing acknowledged is lost after the process dies, and the same
// session goes on once the disk is back. (Device-mapper's `error` target is not available in every
// container; this shim is: it runs on the real files.)
#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "../support/temp_dir.hpp"
#include "loyalty/terminal/counter_service.hpp"
#include "loyalty/terminal/exec.hpp"
#include "loyalty/terminal/store.hpp"

using namespace loyalty;
using namespace loyalty::terminal;
using nlohmann::json;

namespace {

// [SECTION] The failing VFS

struct Faults {
  std::atomic<bool> failWrites{false}, failSyncs{false};
  std::atomic<int> writesFailed{0}, syncsFailed{0};
};

struct FaultyFile {
  sqlite3_file base;
  Faults* faults;
  sqlite3_file* real;  // the default VFS's file, allocated right after this struct
};

sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<FaultyFile*>(f)->real; }

int fileClose(sqlite3_file* f) { return real(f)->pMethods->xClose(real(f)); }
int fileRead(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) { return real(f)->pMethods->xRead(real(f), buf, n, off); }
int fileWrite(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  Faults& faults = *reinterpret_cast<FaultyFile*>(f)->faults;
  if (faults.failWrites) {
    ++faults.writesFailed;
    return SQLITE_IOERR_WRITE;
  }
  return real(f)->pMethods->xWrite(real(f), buf, n, off);
}
int fileTruncate(sqlite3_file* f, sqlite3_int64 size) { return real(f)->pMethods->xTruncate(real(f), size); }
int fileSync(sqlite3_file* f, int flags) {
  Faults& faults = *reinterpret_cast<FaultyFile*>(f)->faults;
  if (faults.failSyncs) {
    ++faults.syncsFailed;
    return SQLITE_IOERR_FSYNC;
  }
  return real(f)->pMethods->xSync(real(f), flags);
}
int fileSize(sqlite3_file* f, sqlite3_int64* size) { return real(f)->pMethods->xFileSize(real(f), size); }
int fileLock(sqlite3_file* f, int level) { return real(f)->pMethods->xLock(real(f), level); }
int fileUnlock(sqlite3_file* f, int level) { return real(f)->pMethods->xUnlock(real(f), level); }
int fileReserved(sqlite3_file* f, int* out) { return real(f)->pMethods->xCheckReservedLock(real(f), out); }
int fileControl(sqlite3_file* f, int op, void* arg) { return real(f)->pMethods->xFileControl(real(f), op, arg); }
int fileSector(sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); }
int fileDevice(sqlite3_file* f) { return real(f)->pMethods->xDeviceCharacteristics(real(f)); }
int shmMap(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return real(f)->pMethods->xShmMap(real(f), page, size, extend, out);
}
int shmLock(sqlite3_file* f, int offset, int n, int flags) { return real(f)->pMethods->xShmLock(real(f), offset, n, flags); }
void shmBarrier(sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); }
int shmUnmap(sqlite3_file* f, int deleteFlag) { return real(f)->pMethods->xShmUnmap(real(f), deleteFlag); }

constexpr sqlite3_io_methods kFaultyMethods = {
    2,          fileClose,    fileRead, fileWrite,  fileTruncate, fileSync,   fileSize, fileLock, fileUnlock,
    fileReserved, fileControl, fileSector, fileDevice, shmMap,     shmLock,    shmBarrier, shmUnmap, nullptr, nullptr};

/// Registered as the default VFS while it lives; every database opened meanwhile goes through it.
class FaultyVfs {
 public:
  explicit FaultyVfs(Faults& faults) : m_real(sqlite3_vfs_find(nullptr)) {
    REQUIRE(m_real != nullptr);
    m_vfs.iVersion = 2;
    m_vfs.szOsFile = static_cast<int>(sizeof(FaultyFile)) + m_real->szOsFile;
    m_vfs.mxPathname = m_real->mxPathname;
    m_vfs.zName = "faulty";
    m_vfs.pAppData = &faults;
    m_vfs.xOpen = [](sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* outFlags) {
      auto* f = reinterpret_cast<FaultyFile*>(file);
      f->faults = static_cast<Faults*>(vfs->pAppData);
      f->real = reinterpret_cast<sqlite3_file*>(f + 1);
      sqlite3_vfs* under = realOf(vfs);
      const int rc = under->xOpen(under, name, f->real, flags, outFlags);
      f->base.pMethods = f->real->pMethods ? &kFaultyMethods : nullptr;
      return rc;
    };
    m_vfs.xDelete = [](sqlite3_vfs* v, const char* n, int s) { return realOf(v)->xDelete(realOf(v), n, s); };
    m_vfs.xAccess = [](sqlite3_vfs* v, const char* n, int f, int* o) { return realOf(v)->xAccess(realOf(v), n, f, o); };
    m_vfs.xFullPathname = [](sqlite3_vfs* v, const char* n, int size, char* o) {
      return realOf(v)->xFullPathname(realOf(v), n, size, o);
    };
    m_vfs.xDlOpen = [](sqlite3_vfs* v, const char* n) { return realOf(v)->xDlOpen(realOf(v), n); };
    m_vfs.xDlError = [](sqlite3_vfs* v, int n, char* o) { realOf(v)->xDlError(realOf(v), n, o); };
    m_vfs.xDlSym = [](sqlite3_vfs* v, void* h, const char* s) { return realOf(v)->xDlSym(realOf(v), h, s); };
    m_vfs.xDlClose = [](sqlite3_vfs* v, void* h) { realOf(v)->xDlClose(realOf(v), h); };
    m_vfs.xRandomness = [](sqlite3_vfs* v, int n, char* o) { return realOf(v)->xRandomness(realOf(v), n, o); };
    m_vfs.xSleep = [](sqlite3_vfs* v, int us) { return realOf(v)->xSleep(realOf(v), us); };
    m_vfs.xCurrentTime = [](sqlite3_vfs* v, double* t) { return realOf(v)->xCurrentTime(realOf(v), t); };
    m_vfs.xGetLastError = [](sqlite3_vfs* v, int n, char* o) { return realOf(v)->xGetLastError(realOf(v), n, o); };
    m_vfs.xCurrentTimeInt64 = [](sqlite3_vfs* v, sqlite3_int64* t) {
      return realOf(v)->xCurrentTimeInt64(realOf(v), t);
    };
    REQUIRE(sqlite3_vfs_register(&m_vfs, 1) == SQLITE_OK);
  }
  ~FaultyVfs() { sqlite3_vfs_unregister(&m_vfs); }
  FaultyVfs(const FaultyVfs&) = delete;
  FaultyVfs& operator=(const FaultyVfs&) = delete;

 private:
  // The default VFS is found again by name: the callbacks get only our sqlite3_vfs.
  static sqlite3_vfs* realOf(sqlite3_vfs*) { return sqlite3_vfs_find("unix"); }

  sqlite3_vfs* m_real;
  sqlite3_vfs m_vfs{};
};

// [SECTION] Driving the counter

json call(ExecSession& session, const json& request) { return json::parse(session.handle(request.dump())); }

json saleRequest(const std::string& id) {
  return {{"id", id},
          {"op", "sale"},
          {"sale_id", id},
          {"member", "13812345678"},
          {"lines", json::array({{{"sku", "OIL-5L"}, {"qty", 1}, {"unit_price", "59.90"}}})}};
}

struct Answered {
  std::vector<std::string> ok, failed;
};

/// In a child process (it dies without closing anything, as a killed counter does): a counter on
/// `dir` through the failing VFS; the fault `arm` sets is on for the sales FAULT-*, off again for
/// AFTER-*. Writes each sale id and whether it answered ok to DIR/answers.
void runCounter(const test::TempDir& dir, void (*arm)(Faults&, bool)) {
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::ofstream answers(dir.path() / "answers");
    try {
      Faults faults;
      FaultyVfs vfs(faults);
      db::Database db = openTerminalDatabase(dir.str());
      RandomIds ids{3};
      CounterConfig config;
      config.store.id = "S1";
      config.terminalId = "T1";
      CounterService service{db, config, ids};
      ExecSession session(service, [] { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); });
      const auto record = [&](const json& response) {
        answers << response.dump() << '\n';
        answers.flush();
      };
      record(call(session, {{"id", "enrol"}, {"op", "enroll"}, {"phone", "13812345678"}, {"name", "王小明"}, {"consent_marketing", false}}));
      for (int i = 0; i < 3; ++i) record(call(session, saleRequest("BEFORE-" + std::to_string(i))));
      arm(faults, true);
      for (int i = 0; i < 3; ++i) record(call(session, saleRequest("FAULT-" + std::to_string(i))));
      record(call(session, {{"id", "enrol-2"}, {"op", "enroll"}, {"phone", "13812345679"}, {"name", "李四"}, {"consent_marketing", false}}));
      arm(faults, false);
      for (int i = 0; i < 3; ++i) record(call(session, saleRequest("AFTER-" + std::to_string(i))));
    } catch (const std::exception& e) {
      answers << json{{"id", "crash"}, {"ok", false}, {"error", {{"message", e.what()}}}}.dump() << '\n';
    }
    answers.flush();
    _exit(0);  // no destructors: no checkpoint, no clean close
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
}

std::vector<json> answersIn(const test::TempDir& dir) {
  std::vector<json> out;
  std::ifstream in(dir.path() / "answers");
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
}

std::int64_t salesWithId(db::Database& db, const std::string& id) {
  auto q = db.query("SELECT COUNT(*) AS n FROM sales WHERE sale_id = ?").bind(1, id);
  REQUIRE(q.step());
  return q.int64("n");
}

}  // namespace

TEST_CASE("EIO on write: the counter answers each operation with a clear error, keeps what it acknowledged, "
          "and goes on once the disk is back",
          "[terminal][faults][disk]") {
  test::TempDir dir;
  runCounter(dir, [](Faults& f, bool on) { f.failWrites = on; });
  const std::vector<json> answers = answersIn(dir);
  REQUIRE(answers.size() == 11);
  for (const json& a : answers) {
    INFO(a.dump());
    const std::string id = a["id"];
    if (id.rfind("FAULT-", 0) == 0 || id == "enrol-2") {
      REQUIRE(a["ok"] == false);
      CHECK(a["error"]["code"] == "internal");
      CHECK(a["error"]["message"].get<std::string>().rfind("the disk failed to read or write, nothing was saved", 0) == 0);
    } else {
      CHECK(a["ok"] == true);
    }
  }
  // After the process died: every acknowledged sale is there and no failed one is.
  db::Database db = openTerminalDatabase(dir.str());
  RandomIds ids{4};
  CounterConfig config;
  config.store.id = "S1";
  config.terminalId = "T1";
  CounterService service{db, config, ids};
  for (const char* id : {"BEFORE-0", "BEFORE-1", "BEFORE-2", "AFTER-0", "AFTER-1", "AFTER-2"}) CHECK(salesWithId(db, id) == 1);
  for (const char* id : {"FAULT-0", "FAULT-1", "FAULT-2"}) CHECK(salesWithId(db, id) == 0);
  CHECK(service.lookup({"13812345679", 5}).value().empty());
  std::printf("EIO on write: 3 sales and 1 enrolment refused, 7 operations acknowledged; after the process died "
              "all acknowledged were there and none of the refused\n");
  const VerifyReport report = service.verify();
  CHECK(report.problems.empty());
  CHECK(service.stats().sales == 6);
}

TEST_CASE("EIO on fsync: a failed commit is refused and all or nothing, and a retry with the same key is safe",
          "[terminal][faults][disk]") {
  test::TempDir dir;
  runCounter(dir, [](Faults& f, bool on) { f.failSyncs = on; });
  const std::vector<json> answers = answersIn(dir);
  REQUIRE(answers.size() == 11);
  for (const json& a : answers) {
    INFO(a.dump());
    const std::string id = a["id"];
    if (id.rfind("FAULT-", 0) == 0 || id == "enrol-2") {
      REQUIRE(a["ok"] == false);
      CHECK(a["error"]["code"] == "internal");
      CHECK(a["error"]["message"].get<std::string>().rfind("the disk failed to read or write, nothing was saved", 0) == 0);
    } else {
      CHECK(a["ok"] == true);
    }
  }
  db::Database db = openTerminalDatabase(dir.str());
  RandomIds ids{5};
  CounterConfig config;
  config.store.id = "S1";
  config.terminalId = "T1";
  CounterService service{db, config, ids};
  for (const char* id : {"BEFORE-0", "BEFORE-1", "BEFORE-2", "AFTER-0", "AFTER-1", "AFTER-2"}) CHECK(salesWithId(db, id) == 1);
  // A failed fsync may leave the commit on the disk after all (as a real one may): whole or absent,
  // never half, and the sale's key makes sending it again safe.
  ExecSession session(service, [] { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); });
  int whole = 0;
  for (const char* id : {"FAULT-0", "FAULT-1", "FAULT-2"}) {
    const std::int64_t before = salesWithId(db, id);
    CHECK(before <= 1);
    whole += static_cast<int>(before);
    const json again = call(session, saleRequest(id));
    INFO(again.dump());
    CHECK(again["ok"] == true);
    CHECK(salesWithId(db, id) == 1);
  }
  const VerifyReport report = service.verify();
  CHECK(report.problems.empty());
  CHECK(service.stats().sales == 9);
  std::printf("EIO on fsync: 3 sales and 1 enrolment refused; after the process died %d of the refused sales were "
              "there whole (the rest absent); sending each again recorded it once\n", whole);
}
