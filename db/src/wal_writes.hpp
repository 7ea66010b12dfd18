#pragma once
/// @brief The VFS every Database opens through: the default VFS, with each WAL frame written in
/// one call instead of two.
///
/// SQLite writes a WAL frame as two calls, its 24-byte header and then its page at the next byte,
/// so a sale that changes 14 pages makes 28 write system calls before its one sync, and a
/// head-office batch of a thousand events makes thousands; on a virtual machine each call costs
/// more than copying the page. This layer holds a frame header back until its page arrives and
/// writes the two together. Nothing else is ever held: a header that is not followed by its page
/// (SQLite rewriting a header in place after reading the frame, or a header cut at a sync point)
/// is written before the next call on that file, whatever it is, so when SQLite returns from
/// writing frames they are all in the file, in their order, and a failed write fails the call
/// SQLite made for that frame (or the sync or read right after a cut header, as a failed write).
/// Every other file (the database, its shared memory, journals) and every other call passes
/// straight through. Under it is whatever VFS is the default when a file is opened, so a test's
/// fault-injecting default VFS still sees every byte.

namespace loyalty::db::detail {

/// The name to pass to sqlite3_open_v2; registers the VFS on first use (thread-safe).
const char* walWritesVfsName();

}  // namespace loyalty::db::detail
