#pragma once
/// @brief Whole-file reads and atomic, durable replacement of small files (keys, state,
/// staged packages, certificates).

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace loyalty::sysio {

/// The file's bytes, or nullopt when it cannot be opened or read.
std::optional<std::string> readFile(const std::filesystem::path& path);

/// Owner read/write only: keys, tokens, certificates, staged packages.
inline constexpr std::filesystem::perms kPrivate =
    std::filesystem::perms::owner_read | std::filesystem::perms::owner_write;
/// Owner read/write, everyone read: state files other users' tools show.
inline constexpr std::filesystem::perms kReadable =
    kPrivate | std::filesystem::perms::group_read | std::filesystem::perms::others_read;

/// Replaces `path` with `content`: written to `path.tmp` created with `mode` (never wider for a
/// moment), fsynced, renamed over `path`, and the directory fsynced, so after a crash the file
/// is either the old one or the new one, whole. Throws std::runtime_error naming the file when
/// the disk refuses (a broken environment, not a business outcome).
void writeFileAtomic(const std::filesystem::path& path, std::string_view content,
                     std::filesystem::perms mode = kPrivate);

}  // namespace loyalty::sysio
