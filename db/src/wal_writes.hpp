#pragma once
/// @brief The VFS every Database opens through: the default VFS, with each WAL frame written in
/// one call instead of two.
///
/// SQLite writes a WAL frame as two calls, its 24-byte header and then its page at the next byte,
/// so a sale that changes 14 pages makes 28 write system calls before its one sync, and a
/// head-office batch of a thousand events makes thousands; on a virtual machine each call costs
/// more than copying the page. This layer holds a frame header back until its page arrives and
/// writes the two together. It holds only a 24-byte write that continues the write just before
/// it, as the headers of frames appended one after the other do; never one after a read (SQLite
/// rewriting a header in place) or after a sync (the tail of a frame cut at a sync point, which
/// is the last write before SQLite publishes the commit). A held header is written before the
/// next call on that file, whatever it is, so when SQLite returns from writing frames they are
/// all in the file, in their order, and a failed write fails the call SQLite made for that frame
/// (or the sync right after a header cut at a sync point, as a failed write).
/// Every other file (the database, its shared memory, journals) and every other call passes
/// straight through. Under it is whatever VFS is the default when a file is opened, so a test's
/// fault-injecting default VFS still sees every byte.

namespace loyalty::db::detail {

/// The name to pass to sqlite3_open_v2; registers the VFS on first use (thread-safe).
const char* walWritesVfsName();

}  // namespace loyalty::db::detail
