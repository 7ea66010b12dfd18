#pragma once
/// @brief What every harness shares: a private temporary directory per process, and how a
/// broken property is reported (a message naming it, then abort, which libFuzzer records as a
/// crash and saves the input of).

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace loyalty::fuzz {

/// Stops the run: the input broke `property`. `detail` shows what was seen.
[[noreturn]] inline void fail(std::string_view property, std::string_view detail) {
  std::fprintf(stderr, "\n==loyalty-fuzz== property broken: %.*s\n%.*s\n", static_cast<int>(property.size()),
               property.data(), static_cast<int>(detail.size()), detail.data());
  std::abort();
}

inline void require(bool holds, std::string_view property, std::string_view detail = {}) {
  if (!holds) fail(property, detail);
}

/// A fresh 0700 directory under the system's temporary directory, removed with its contents
/// when the process ends normally (a crashed run leaves it for inspection).
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "loyalty-fuzz-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) fail("a temporary directory can be made", pattern);
    m_path = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  const std::filesystem::path& path() const { return m_path; }

 private:
  std::filesystem::path m_path;
};

/// Bytes on disk under `dir` (files only; a missing directory is 0).
inline std::uintmax_t bytesUnder(const std::filesystem::path& dir) {
  std::uintmax_t total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec)) total += entry.file_size(ec);
  }
  return total;
}

/// The input's lines (split on '\n', a trailing '\r' kept as the exec reader keeps it), at most
/// `max` of them: bounded work per input.
inline std::vector<std::string_view> lines(std::string_view text, std::size_t max) {
  std::vector<std::string_view> out;
  while (!text.empty() && out.size() < max) {
    const std::size_t nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

}  // namespace loyalty::fuzz
