#pragma once
/// @brief The servers' log (spdlog): what a service does and what went wrong, on stderr.
///
/// Lines go to stderr (stdout is the programs' output: exec answers, "listening on ..."). On a
/// terminal they carry the time and a coloured level; otherwise they start with the syslog
/// priority ("<4>loyalty-hq: ...") that journald reads as the line's level and adds its own time.
/// The level is info unless SPDLOG_LEVEL says otherwise (e.g. SPDLOG_LEVEL=debug).
/// Never log personal data: no phone numbers, names, birthdays, tokens or request bodies.

#include <spdlog/logger.h>

#include <string>

namespace loyalty::logging {

/// Names the program's lines ("loyalty-hq") and reads SPDLOG_LEVEL; call once at start-up.
void setUp(const std::string& program);

/// The process's logger (named after the executable on first use if setUp was not called).
spdlog::logger& log();

}  // namespace loyalty::logging
