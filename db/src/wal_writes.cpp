#include "wal_writes.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

namespace loyalty::db::detail {
namespace {

/// Gathered bytes are written once this much has piled up (a transaction larger than the page
/// cache spills frames before its commit).
constexpr std::size_t kMaxPending = 1 << 20;
/// ...and written at most this much a call: the unix VFS takes a write's length modulo 128 KiB
/// (SQLite never writes more at once), so a longer one would be cut short, and one of exactly
/// 128 KiB would write nothing and read as a full disk.
constexpr std::size_t kMaxWrite = 64 * 1024;
/// SQLite writes a WAL frame header as one 24-byte write; bytes 4-7 hold the database size in
/// pages after a commit frame and 0 in every other frame. The WAL's own header is 32 bytes and a
/// page at least 512, so a 24-byte write is always a frame header.
constexpr int kFrameHeaderBytes = 24;

sqlite3_vfs g_vfs{};

/// The VFS under this one: the default at the time of the call (a test may register a
/// fault-injecting default), never this one.
sqlite3_vfs* under() {
  sqlite3_vfs* v = sqlite3_vfs_find(nullptr);
  return v == nullptr || v == &g_vfs ? sqlite3_vfs_find("unix") : v;
}

/// Our sqlite3_file: SQLite allocates g_vfs.szOsFile bytes for it; the file of the VFS under
/// it is allocated separately, so its size may differ from call to call.
struct File {
  sqlite3_file base;
  sqlite3_file* real = nullptr;
  // WAL files only.
  std::vector<unsigned char> pending;
  sqlite3_int64 start = 0;  // file offset of pending[0]
  bool commitFrameNext = false;
};

File& self(sqlite3_file* f) { return *reinterpret_cast<File*>(f); }
sqlite3_file* real(sqlite3_file* f) { return self(f).real; }
const sqlite3_io_methods& io(sqlite3_file* f) { return *real(f)->pMethods; }

int flush(File& f) {
  int rc = SQLITE_OK;
  for (std::size_t at = 0; at < f.pending.size() && rc == SQLITE_OK; at += kMaxWrite) {
    const std::size_t n = std::min(kMaxWrite, f.pending.size() - at);
    rc = f.real->pMethods->xWrite(f.real, f.pending.data() + at, static_cast<int>(n), f.start + static_cast<sqlite3_int64>(at));
  }
  f.pending.clear();
  f.commitFrameNext = false;
  return rc;
}

void release(File& f) {
  sqlite3_free(f.real);
  f.~File();
}

// [SECTION] Methods shared by every file: straight through

int plainClose(sqlite3_file* f) {
  const int rc = io(f).xClose(real(f));
  release(self(f));
  return rc;
}
int plainRead(sqlite3_file* f, void* out, int n, sqlite3_int64 at) { return io(f).xRead(real(f), out, n, at); }
int plainWrite(sqlite3_file* f, const void* in, int n, sqlite3_int64 at) { return io(f).xWrite(real(f), in, n, at); }
int plainTruncate(sqlite3_file* f, sqlite3_int64 size) { return io(f).xTruncate(real(f), size); }
int plainSync(sqlite3_file* f, int flags) { return io(f).xSync(real(f), flags); }
int plainFileSize(sqlite3_file* f, sqlite3_int64* size) { return io(f).xFileSize(real(f), size); }
int plainFileControl(sqlite3_file* f, int op, void* arg) { return io(f).xFileControl(real(f), op, arg); }
int lock(sqlite3_file* f, int level) { return io(f).xLock(real(f), level); }
int unlock(sqlite3_file* f, int level) { return io(f).xUnlock(real(f), level); }
int reservedLock(sqlite3_file* f, int* out) { return io(f).xCheckReservedLock(real(f), out); }
int sectorSize(sqlite3_file* f) { return io(f).xSectorSize(real(f)); }
int deviceCharacteristics(sqlite3_file* f) { return io(f).xDeviceCharacteristics(real(f)); }
int shmMap(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  if (io(f).iVersion < 2 || io(f).xShmMap == nullptr) return SQLITE_IOERR_SHMMAP;
  return io(f).xShmMap(real(f), page, size, extend, out);
}
int shmLock(sqlite3_file* f, int offset, int n, int flags) { return io(f).xShmLock(real(f), offset, n, flags); }
void shmBarrier(sqlite3_file* f) { io(f).xShmBarrier(real(f)); }
int shmUnmap(sqlite3_file* f, int deleteFlag) {
  if (io(f).iVersion < 2 || io(f).xShmUnmap == nullptr) return SQLITE_OK;
  return io(f).xShmUnmap(real(f), deleteFlag);
}
int fetch(sqlite3_file* f, sqlite3_int64 at, int n, void** out) {
  if (io(f).iVersion < 3 || io(f).xFetch == nullptr) {
    *out = nullptr;  // no mapping: SQLite reads instead
    return SQLITE_OK;
  }
  return io(f).xFetch(real(f), at, n, out);
}
int unfetch(sqlite3_file* f, sqlite3_int64 at, void* p) {
  if (io(f).iVersion < 3 || io(f).xUnfetch == nullptr) return SQLITE_OK;
  return io(f).xUnfetch(real(f), at, p);
}

// [SECTION] WAL files: writes gathered, written before anything else touches the file

int walClose(sqlite3_file* f) {
  const int flushed = flush(self(f));
  const int rc = io(f).xClose(real(f));
  release(self(f));
  return flushed != SQLITE_OK ? flushed : rc;
}

int walRead(sqlite3_file* f, void* out, int n, sqlite3_int64 at) {
  if (const int rc = flush(self(f)); rc != SQLITE_OK) return rc;
  return io(f).xRead(real(f), out, n, at);
}

int walWrite(sqlite3_file* f, const void* in, int n, sqlite3_int64 at) {
  File& file = self(f);
  const auto size = static_cast<std::size_t>(n);
  const bool continues = !file.pending.empty() && at == file.start + static_cast<sqlite3_int64>(file.pending.size());
  if (!file.pending.empty() && (!continues || file.pending.size() + size > kMaxPending)) {
    const bool commitFrameNext = file.commitFrameNext && continues;
    if (const int rc = flush(file); rc != SQLITE_OK) return rc;
    file.commitFrameNext = commitFrameNext;
  }
  if (size > kMaxPending) return io(f).xWrite(real(f), in, n, at);
  if (file.pending.empty()) {
    file.start = at;
    if (file.pending.capacity() == 0) file.pending.reserve(64 * 1024);
  }
  const auto* bytes = static_cast<const unsigned char*>(in);
  file.pending.insert(file.pending.end(), bytes, bytes + size);
  if (n == kFrameHeaderBytes) {
    file.commitFrameNext = (bytes[4] | bytes[5] | bytes[6] | bytes[7]) != 0;
    return SQLITE_OK;
  }
  // The page of a commit frame: into the file now, before SQLite publishes the commit.
  if (file.commitFrameNext) return flush(file);
  return SQLITE_OK;
}

int walTruncate(sqlite3_file* f, sqlite3_int64 size) {
  if (const int rc = flush(self(f)); rc != SQLITE_OK) return rc;
  return io(f).xTruncate(real(f), size);
}

int walSync(sqlite3_file* f, int flags) {
  if (const int rc = flush(self(f)); rc != SQLITE_OK) return rc;
  return io(f).xSync(real(f), flags);
}

int walFileSize(sqlite3_file* f, sqlite3_int64* size) {
  if (const int rc = flush(self(f)); rc != SQLITE_OK) return rc;
  return io(f).xFileSize(real(f), size);
}

int walFileControl(sqlite3_file* f, int op, void* arg) {
  if (const int rc = flush(self(f)); rc != SQLITE_OK) return rc;
  return io(f).xFileControl(real(f), op, arg);
}

constexpr sqlite3_io_methods kPlain = {3,           plainClose,   plainRead,        plainWrite, plainTruncate, plainSync,
                                       plainFileSize, lock,        unlock,           reservedLock, plainFileControl,
                                       sectorSize,  deviceCharacteristics, shmMap, shmLock,    shmBarrier,    shmUnmap,
                                       fetch,       unfetch};
constexpr sqlite3_io_methods kWal = {3,           walClose,  walRead,     walWrite,     walTruncate, walSync,
                                     walFileSize, lock,      unlock,      reservedLock, walFileControl,
                                     sectorSize,  deviceCharacteristics, shmMap, shmLock, shmBarrier, shmUnmap,
                                     fetch,       unfetch};

// [SECTION] The VFS: opens through the one under it, forwards the rest

int vfsOpen(sqlite3_vfs*, const char* name, sqlite3_file* out, int flags, int* outFlags) {
  sqlite3_vfs* below = under();
  auto* file = new (out) File;
  file->base.pMethods = nullptr;
  file->real = static_cast<sqlite3_file*>(sqlite3_malloc(below->szOsFile));
  if (file->real == nullptr) {
    release(*file);
    return SQLITE_NOMEM;
  }
  std::memset(file->real, 0, static_cast<std::size_t>(below->szOsFile));
  const int rc = below->xOpen(below, name, file->real, flags, outFlags);
  if (file->real->pMethods == nullptr) {  // nothing to close: SQLite will not call xClose
    release(*file);
    return rc == SQLITE_OK ? SQLITE_CANTOPEN : rc;
  }
  file->base.pMethods = (flags & SQLITE_OPEN_WAL) != 0 ? &kWal : &kPlain;
  return rc;
}

int vfsDelete(sqlite3_vfs*, const char* name, int syncDir) { return under()->xDelete(under(), name, syncDir); }
int vfsAccess(sqlite3_vfs*, const char* name, int flags, int* out) { return under()->xAccess(under(), name, flags, out); }
int fullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return under()->xFullPathname(under(), name, n, out);
}
void* dlOpen(sqlite3_vfs*, const char* name) { return under()->xDlOpen(under(), name); }
void dlError(sqlite3_vfs*, int n, char* out) { under()->xDlError(under(), n, out); }
void (*dlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) { return under()->xDlSym(under(), handle, symbol); }
void dlClose(sqlite3_vfs*, void* handle) { under()->xDlClose(under(), handle); }
int randomness(sqlite3_vfs*, int n, char* out) { return under()->xRandomness(under(), n, out); }
int vfsSleep(sqlite3_vfs*, int micros) { return under()->xSleep(under(), micros); }
int currentTime(sqlite3_vfs*, double* out) { return under()->xCurrentTime(under(), out); }
int lastError(sqlite3_vfs*, int n, char* out) { return under()->xGetLastError(under(), n, out); }
int currentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  sqlite3_vfs* below = under();
  if (below->iVersion >= 2 && below->xCurrentTimeInt64 != nullptr) return below->xCurrentTimeInt64(below, out);
  double days = 0;
  const int rc = below->xCurrentTime(below, &days);
  *out = static_cast<sqlite3_int64>(days * 86400000.0);
  return rc;
}

}  // namespace

const char* walWritesVfsName() {
  static std::once_flag once;
  static const char* name = "loyalty-wal-writes";
  std::call_once(once, [] {
    sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
    g_vfs.iVersion = 2;
    g_vfs.szOsFile = static_cast<int>(sizeof(File));
    g_vfs.mxPathname = base != nullptr ? base->mxPathname : 512;
    g_vfs.zName = name;
    g_vfs.xOpen = vfsOpen;
    g_vfs.xDelete = vfsDelete;
    g_vfs.xAccess = vfsAccess;
    g_vfs.xFullPathname = fullPathname;
    g_vfs.xDlOpen = dlOpen;
    g_vfs.xDlError = dlError;
    g_vfs.xDlSym = dlSym;
    g_vfs.xDlClose = dlClose;
    g_vfs.xRandomness = randomness;
    g_vfs.xSleep = vfsSleep;
    g_vfs.xCurrentTime = currentTime;
    g_vfs.xGetLastError = lastError;
    g_vfs.xCurrentTimeInt64 = currentTimeInt64;
    if (sqlite3_vfs_register(&g_vfs, 0) != SQLITE_OK) name = nullptr;  // the default VFS, as before
  });
  return name;
}

}  // namespace loyalty::db::detail
