#include "loyalty/logging/logging.hpp"

#include <spdlog/cfg/env.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>  // program_invocation_short_name
#include <memory>
#include <mutex>

namespace loyalty::logging {
namespace {

/// "%*": the line's syslog priority as sd-daemon(3) prefixes read it (journald's level).
class SyslogPriority final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    char priority = '6';
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug:
        priority = '7';
        break;
      case spdlog::level::info:
        priority = '6';
        break;
      case spdlog::level::warn:
        priority = '4';
        break;
      case spdlog::level::err:
        priority = '3';
        break;
      default:
        priority = '2';
        break;
    }
    const char text[] = {'<', priority, '>'};
    dest.append(text, text + sizeof text);
  }
  std::unique_ptr<spdlog::custom_flag_formatter> clone() const override {
    return std::make_unique<SyslogPriority>();
  }
};

std::mutex g_mutex;
std::shared_ptr<spdlog::logger> g_logger;

std::shared_ptr<spdlog::logger> make(const std::string& program) {
  std::shared_ptr<spdlog::logger> logger;
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  if (isatty(STDERR_FILENO)) {
    logger =
        std::make_shared<spdlog::logger>(program, std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    formatter->set_pattern("%H:%M:%S %^%l%$ " + program + ": %v");
  } else {
    logger = std::make_shared<spdlog::logger>(program, std::make_shared<spdlog::sinks::stderr_sink_mt>());
    formatter->add_flag<SyslogPriority>('*').set_pattern("%*" + program + ": %v");
  }
  logger->set_formatter(std::move(formatter));
  logger->set_level(spdlog::level::info);
  logger->flush_on(spdlog::level::trace);  // stderr lines appear when written
  return logger;
}

}  // namespace

void setUp(const std::string& program) {
  const std::lock_guard lock(g_mutex);
  g_logger = make(program);
  spdlog::drop(program);
  spdlog::register_logger(g_logger);
  spdlog::cfg::load_env_levels();  // applies SPDLOG_LEVEL to the registered logger
}

spdlog::logger& log() {
  const std::lock_guard lock(g_mutex);
  if (!g_logger) g_logger = make(program_invocation_short_name);
  return *g_logger;
}

}  // namespace loyalty::logging
