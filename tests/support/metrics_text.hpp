#pragma once
// One value of head office's /metrics (Prometheus text), for the tests and the benchmarks.

#include <cstdlib>
#include <string>

namespace loyalty::test {

/// The value of the sample `key` (a metric's name with its labels as written, e.g.
/// `loyalty_hq_lane_uses_total{lane="writer"}`) in `text`, or -1 when there is none.
inline double metricValue(const std::string& text, const std::string& key) {
  const auto at = text.find("\n" + key + " ");
  return at == std::string::npos ? -1.0 : std::atof(text.c_str() + at + key.size() + 2);
}

}  // namespace loyalty::test
