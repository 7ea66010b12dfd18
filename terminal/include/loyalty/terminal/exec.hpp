#pragma once
/// @brief The JSON-lines automation interface (docs/exec-cli.md) over CounterService.

#include <functional>
#include <istream>
#include <ostream>
#include <string>
#include <string_view>

#include "loyalty/core/time.hpp"
#include "loyalty/terminal/counter_service.hpp"
#include "loyalty/terminal/feedback.hpp"

namespace loyalty::terminal {

using Clock = std::function<Timestamp()>;

/// Translates one request line to one response line. A thin adapter: it checks JSON shapes and
/// names the offending field; every rule is the service's.
class ExecSession {
 public:
  ExecSession(CounterService& service, Clock clock) : m_service(service), m_clock(std::move(clock)) {}

  /// The response line (without newline) for one request line.
  std::string handle(std::string_view line);

  /// Reads requests until end of input, answering each on `out` and flushing after each.
  void run(std::istream& in, std::ostream& out);

  /// Enables the `survey` and `complaint` ops (extensions of exec-cli.md).
  void setFeedback(FeedbackService* feedback) { m_feedback = feedback; }

 private:
  CounterService& m_service;
  Clock m_clock;
  FeedbackService* m_feedback = nullptr;
};

}  // namespace loyalty::terminal
