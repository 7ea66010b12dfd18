#pragma once
/// @brief What the customer display asks after a sale ([survey] of docs/configuration.md).

#include <cstddef>
#include <string>
#include <vector>

namespace loyalty::terminal {

/// At most this many per-dimension questions: more would keep a customer at the counter.
inline constexpr std::size_t kMaxSurveyDimensions = 8;
/// A dimension's name: what the answers are stored and reported under.
inline constexpr std::size_t kMaxSurveyDimensionBytes = 32;

struct SurveySettings {
  std::string scale = "csat5";          ///< the main question: "csat5" (1..5) or "nps10" (0..10)
  std::vector<std::string> dimensions;  ///< optional questions after it, each answered 1..5
};

}  // namespace loyalty::terminal
