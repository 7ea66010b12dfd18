#pragma once
/// @brief The VFS every Database opens through: the default VFS, with a WAL file's writes
/// gathered into one write call per commit.
///
/// SQLite writes each WAL frame as two calls (its 24-byte header, then the page), so a sale that
/// changes 14 pages makes 28 write system calls before its one sync, and a head-office batch of
/// a thousand events makes thousands. On a virtual machine each call costs more than copying the
/// page. This layer keeps a WAL file's contiguous writes in memory and writes them at once:
///   * when the page of a commit frame (a frame header with a non-zero database size) arrives,
///     so a commit is in the file before SQLite publishes it in the shared index, whatever the
///     `synchronous` setting (another connection reads committed frames from the file);
///   * before anything else touches that file: a read, sync, truncate, size, file control or
///     close, and before a write that does not continue the gathered range (so the file sees the
///     writes in their order);
///   * when 1 MiB is gathered (a transaction larger than the page cache spills frames early).
/// Every other file (the database, its shared memory, journals) and every other call passes
/// straight through. Under it is whatever VFS is the default when a file is opened, so a test's
/// fault-injecting default VFS still sees every byte (at the flush instead of frame by frame).

namespace loyalty::db::detail {

/// The name to pass to sqlite3_open_v2; registers the VFS on first use (thread-safe).
const char* walWritesVfsName();

}  // namespace loyalty::db::detail
