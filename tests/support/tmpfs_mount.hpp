#pragma once
// A small tmpfs mounted for one test (needs root), to run a program out of disk space for real:
// fill() takes every free block with a filler file, release() gives them back. The mount is
// always removed when the object goes, also when a REQUIRE failed (declare it before the child
// processes that use it, so they are gone first; a busy mount is detached lazily).

#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "temp_dir.hpp"

namespace loyalty::test {

/// True when this process may mount file systems (root); tests without it report themselves skipped.
inline bool canMount() { return ::geteuid() == 0; }

class TmpfsMount {
 public:
  /// A tmpfs of `bytes` on a new temporary directory.
  explicit TmpfsMount(std::size_t bytes) : m_path(m_dir.path()) { mountAt(bytes); }
  /// A tmpfs of `bytes` over the existing directory `at` (what was in it is hidden until the end).
  TmpfsMount(std::size_t bytes, std::filesystem::path at) : m_path(std::move(at)) { mountAt(bytes); }
  ~TmpfsMount() {
    if (!m_mounted) return;
    if (::umount2(m_path.c_str(), 0) != 0) ::umount2(m_path.c_str(), MNT_DETACH);
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

  const std::filesystem::path& path() const { return m_path; }

  /// Bytes still free for an ordinary writer.
  std::uint64_t freeBytes() const {
    struct statvfs s {};
    if (::statvfs(m_path.c_str(), &s) != 0) throw std::runtime_error("statvfs failed");
    return static_cast<std::uint64_t>(s.f_bavail) * s.f_frsize;
  }

  /// Writes filler files until the file system answers ENOSPC: afterwards nothing fits.
  void fill() {
    const std::vector<char> block(4096, 'f');
    for (;;) {
      const std::filesystem::path file = m_path / (".filler-" + std::to_string(m_fillers++));
      std::ofstream out(file, std::ios::binary);
      bool full = false;
      for (int i = 0; i < 256 && !full; ++i) full = !out.write(block.data(), static_cast<std::streamsize>(block.size()));
      full = !out.flush() || full;
      out.close();
      if (full || freeBytes() == 0) break;
    }
  }

  /// Removes the filler: the space is there again.
  void release() {
    for (int i = 0; i < m_fillers; ++i) std::filesystem::remove(m_path / (".filler-" + std::to_string(i)));
    m_fillers = 0;
  }

 private:
  void mountAt(std::size_t bytes) {
    const std::string opts = "size=" + std::to_string(bytes) + ",mode=0700";
    if (::mount("tmpfs", m_path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) != 0) {
      throw std::runtime_error("cannot mount a tmpfs on " + m_path.string() + ": " + std::strerror(errno));
    }
    m_mounted = true;
  }

  TempDir m_dir;  // removed after the unmount (members are destroyed after the destructor's body)
  std::filesystem::path m_path;
  bool m_mounted = false;
  int m_fillers = 0;
};

}  // namespace loyalty::test
