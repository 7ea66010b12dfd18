#pragma once
/// @brief RFC 4180 CSV reading: quoted fields, doubled quotes, CRLF, newlines inside quotes
/// (the terminal's imports and head office's product catalogue read CSV through it).

#include <istream>
#include <string>
#include <vector>

namespace loyalty {

class CsvReader {
 public:
  explicit CsvReader(std::istream& in) : m_in(in) {}
  /// The next record; false at end of input. Throws std::runtime_error on an unclosed quote.
  bool next(std::vector<std::string>& fields);
  /// The line on which the last record returned by next() started (1-based).
  std::size_t line() const { return m_recordLine; }

 private:
  std::istream& m_in;
  std::size_t m_line = 1;
  std::size_t m_recordLine = 0;
};

}  // namespace loyalty
