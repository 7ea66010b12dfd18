#include "wal_writes.hpp"

#include <sqlite3.h>

#include <cstring>
#include <mutex>
#include <new>
#include <vector>

namespace loyalty::db::detail {
namespace {

/// SQLite writes a WAL frame header as one 24-byte write, then the frame's page at the next
/// byte. The WAL's own header is 32 bytes and a page at least 512, so a 24-byte write is a frame
/// header (or a piece of one cut at a sync point, which the sync right after it writes out).
constexpr int kFrameHeaderBytes = 24;
/// The largest page SQLite has: a header and its page stay under the 128 KiB the unix VFS takes
/// in one write (it takes a write's length modulo 128 KiB).
constexpr int kMaxPageBytes = 65536;

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
  // WAL files only: the frame header held until its page arrives.
  unsigned char header[kFrameHeaderBytes] = {};
  sqlite3_int64 headerAt = -1;   // file offset of the held header; -1: none held
  sqlite3_int64 writtenTo = -1;  // where the last call ended, if it was a write; else -1
  std::vector<unsigned char> frame;
};

File& self(sqlite3_file* f) { return *reinterpret_cast<File*>(f); }
sqlite3_file* real(sqlite3_file* f) { return self(f).real; }
const sqlite3_io_methods& io(sqlite3_file* f) { return *real(f)->pMethods; }

/// Writes the held header, if any, on its own.
int writeHeld(File& f) {
  if (f.headerAt < 0) return SQLITE_OK;
  const sqlite3_int64 at = f.headerAt;
  f.headerAt = -1;
  return f.real->pMethods->xWrite(f.real, f.header, kFrameHeaderBytes, at);
}

/// Before any call but a write: the held header goes out first. A failure surfaces in that call
/// (a sync, a read) as a failed write, so SQLite rolls the whole transaction back, as it does
/// when a frame's own write fails.
int settle(File& f) {
  f.writtenTo = -1;
  const int rc = writeHeld(f);
  return rc == SQLITE_OK ? SQLITE_OK : SQLITE_IOERR_WRITE;
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

// [SECTION] WAL files: a frame's header and page in one write

int walClose(sqlite3_file* f) {
  const int held = settle(self(f));
  const int rc = io(f).xClose(real(f));
  release(self(f));
  return held != SQLITE_OK ? held : rc;
}

int walRead(sqlite3_file* f, void* out, int n, sqlite3_int64 at) {
  File& file = self(f);
  if (const int rc = settle(file); rc != SQLITE_OK) return rc;
  return io(f).xRead(real(f), out, n, at);
}

int walWrite(sqlite3_file* f, const void* in, int n, sqlite3_int64 at) {
  File& file = self(f);
  const bool continuesWrite = at == file.writtenTo;
  file.writtenTo = -1;
  if (file.headerAt >= 0) {
    if (at == file.headerAt + kFrameHeaderBytes && n <= kMaxPageBytes) {
      bool joined = false;
      try {
        file.frame.resize(static_cast<std::size_t>(kFrameHeaderBytes + n));
        joined = true;
      } catch (const std::bad_alloc&) {  // written one after the other instead
      }
      if (joined) {
        std::memcpy(file.frame.data(), file.header, kFrameHeaderBytes);
        std::memcpy(file.frame.data() + kFrameHeaderBytes, in, static_cast<std::size_t>(n));
        const sqlite3_int64 from = file.headerAt;
        file.headerAt = -1;
        const int rc = io(f).xWrite(real(f), file.frame.data(), kFrameHeaderBytes + n, from);
        if (rc == SQLITE_OK) file.writtenTo = at + n;
        return rc;
      }
    }
    if (const int rc = writeHeld(file); rc != SQLITE_OK) return rc;
  }
  // Held only when it continues the write just before it, as a header of frames appended one
  // after the other does. Not after a read: SQLite rewrites that header in place (new checksums
  // at a commit that overwrote a frame of its own transaction) and no page follows. Not after a
  // sync: with padding (no powersafe overwrite) a frame is cut at a sync point and its tail,
  // which may be 24 bytes, is the last write before SQLite publishes the commit.
  if (n == kFrameHeaderBytes && continuesWrite) {
    std::memcpy(file.header, in, kFrameHeaderBytes);
    file.headerAt = at;
    return SQLITE_OK;
  }
  const int rc = io(f).xWrite(real(f), in, n, at);
  if (rc == SQLITE_OK) file.writtenTo = at + n;
  return rc;
}

int walTruncate(sqlite3_file* f, sqlite3_int64 size) {
  if (const int rc = settle(self(f)); rc != SQLITE_OK) return rc;
  return io(f).xTruncate(real(f), size);
}

int walSync(sqlite3_file* f, int flags) {
  if (const int rc = settle(self(f)); rc != SQLITE_OK) return rc;
  return io(f).xSync(real(f), flags);
}

int walFileSize(sqlite3_file* f, sqlite3_int64* size) {
  if (const int rc = settle(self(f)); rc != SQLITE_OK) return rc;
  return io(f).xFileSize(real(f), size);
}

int walFileControl(sqlite3_file* f, int op, void* arg) {
  if (const int rc = settle(self(f)); rc != SQLITE_OK) return rc;
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

/// A call of the VFS's own passed on as it is: `Member` names the sqlite3_vfs method, and
/// call() has its signature. One lookup of the VFS under this one per call.
template <auto Member>
struct Forward;
template <class R, class... Args, R (*sqlite3_vfs::*Member)(sqlite3_vfs*, Args...)>
struct Forward<Member> {
  static R call(sqlite3_vfs*, Args... args) {
    sqlite3_vfs* below = under();
    return (below->*Member)(below, args...);
  }
};

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
    g_vfs.xDelete = Forward<&sqlite3_vfs::xDelete>::call;
    g_vfs.xAccess = Forward<&sqlite3_vfs::xAccess>::call;
    g_vfs.xFullPathname = Forward<&sqlite3_vfs::xFullPathname>::call;
    g_vfs.xDlOpen = Forward<&sqlite3_vfs::xDlOpen>::call;
    g_vfs.xDlError = Forward<&sqlite3_vfs::xDlError>::call;
    g_vfs.xDlSym = Forward<&sqlite3_vfs::xDlSym>::call;
    g_vfs.xDlClose = Forward<&sqlite3_vfs::xDlClose>::call;
    g_vfs.xRandomness = Forward<&sqlite3_vfs::xRandomness>::call;
    g_vfs.xSleep = Forward<&sqlite3_vfs::xSleep>::call;
    g_vfs.xCurrentTime = Forward<&sqlite3_vfs::xCurrentTime>::call;
    g_vfs.xGetLastError = Forward<&sqlite3_vfs::xGetLastError>::call;
    g_vfs.xCurrentTimeInt64 = currentTimeInt64;
    if (sqlite3_vfs_register(&g_vfs, 0) != SQLITE_OK) name = nullptr;  // the default VFS, as before
  });
  return name;
}

}  // namespace loyalty::db::detail
