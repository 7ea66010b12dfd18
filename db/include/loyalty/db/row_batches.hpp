#pragma once
/// @brief Many rows in a few statements: n rows go through statements made for 16, 4 and 1 rows,
/// each text made once, so the connection's statement cache prepares it once.

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace loyalty::db {

/// The row counts the statements are made for, largest first; 1 ends any remainder.
inline constexpr std::array<std::size_t, 3> kRowBatchSizes = {16, 4, 1};

/// `head`, then `groups` groups of `width` placeholders, then `tail`: "head(?,?),(?,?)tail".
inline std::string placeholderGroupsSql(std::string_view head, std::size_t width, std::size_t groups,
                                        std::string_view tail = {}) {
  std::string sql(head);
  for (std::size_t g = 0; g < groups; ++g) {
    sql += g == 0 ? "(" : ",(";
    for (std::size_t c = 0; c < width; ++c) sql += c == 0 ? "?" : ",?";
    sql += ')';
  }
  sql += tail;
  return sql;
}

/// The texts of one statement for each of kRowBatchSizes, in that order, made by `make(rows)`.
template <class Make>
std::array<std::string, kRowBatchSizes.size()> rowBatchTexts(Make make) {
  std::array<std::string, kRowBatchSizes.size()> texts;
  for (std::size_t i = 0; i < kRowBatchSizes.size(); ++i) texts[i] = make(kRowBatchSizes[i]);
  return texts;
}

/// Calls `run(text, first, count)` for consecutive batches covering rows [0, n), each with the
/// text made for its row count (`texts` from rowBatchTexts).
template <class Run>
void forEachRowBatch(std::size_t n, const std::array<std::string, kRowBatchSizes.size()>& texts, Run run) {
  std::size_t first = 0;
  for (std::size_t i = 0; i < kRowBatchSizes.size(); ++i) {
    for (; n - first >= kRowBatchSizes[i]; first += kRowBatchSizes[i]) run(texts[i], first, kRowBatchSizes[i]);
  }
}

}  // namespace loyalty::db
