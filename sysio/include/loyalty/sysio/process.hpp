#pragma once
/// @brief Runs a program without a shell and collects what it prints.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace loyalty::sysio {

struct RunOptions {
  std::vector<std::string> argv;  ///< argv[0] is looked up in PATH
  std::string input;              ///< written to the program's stdin, then closed
  std::chrono::seconds timeout{60};  ///< killed (SIGKILL) when it runs longer
  bool captureStderr = true;      ///< false: stderr goes to /dev/null
  /// Run as this user and group (supplementary groups dropped); needs root.
  std::optional<std::pair<uid_t, gid_t>> as;
  /// Bytes the program reads from file descriptor 3 (a pipe made after the user change, so the
  /// new user may open /dev/fd/3), e.g. a key the program's user cannot read itself.
  std::optional<std::string> fd3;
  /// Added to (or replacing in) the environment.
  std::vector<std::pair<std::string, std::string>> env;
};

struct RunResult {
  int exitCode = -1;   ///< -1: did not finish (timed out, killed by a signal, could not start)
  std::string output;  ///< stdout (and stderr when captured), at most 64 KiB
};

/// Runs `options.argv` and waits for it (at most options.timeout).
RunResult runProgram(const RunOptions& options);

}  // namespace loyalty::sysio
