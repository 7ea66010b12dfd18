#pragma once
/// @brief gzip (RFC 1952) compression of request bodies, and the reverse for tests and checks.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace loyalty::sync {

/// A gzip member holding `data`. Throws std::runtime_error only if zlib itself fails.
std::string gzipCompress(std::string_view data, int level = 6);

/// The data of a gzip stream; nullopt when it is not valid gzip or would exceed `maxSize`.
std::optional<std::string> gzipDecompress(std::string_view gz, std::size_t maxSize);

}  // namespace loyalty::sync
