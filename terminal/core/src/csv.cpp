#include "loyalty/core/csv.hpp"

#include <stdexcept>

namespace loyalty {

bool CsvReader::next(std::vector<std::string>& fields) {
  fields.clear();
  if (m_in.peek() == std::char_traits<char>::eof()) return false;
  m_recordLine = m_line;
  std::string field;
  bool quoted = false;
  bool afterQuote = false;
  for (;;) {
    const int c = m_in.get();
    if (c == std::char_traits<char>::eof()) {
      if (quoted) throw std::runtime_error("line " + std::to_string(m_recordLine) + ": a quoted field is not closed");
      fields.push_back(std::move(field));
      return true;
    }
    const char ch = static_cast<char>(c);
    if (quoted) {
      if (ch == '"') {
        if (m_in.peek() == '"') {
          field += '"';
          m_in.get();
        } else {
          quoted = false;
          afterQuote = true;
        }
      } else {
        if (ch == '\n') ++m_line;
        field += ch;
      }
      continue;
    }
    if (ch == '"' && field.empty() && !afterQuote) {
      quoted = true;
    } else if (ch == ',') {
      fields.push_back(std::move(field));
      field.clear();
      afterQuote = false;
    } else if (ch == '\n' || ch == '\r') {
      if (ch == '\r' && m_in.peek() == '\n') m_in.get();
      ++m_line;
      fields.push_back(std::move(field));
      return true;
    } else {
      field += ch;
    }
  }
}

}  // namespace loyalty
