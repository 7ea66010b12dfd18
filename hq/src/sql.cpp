#include "loyalty/hq/sql.hpp"

#include <charconv>

namespace loyalty::hq {

std::string SqlRows::text(std::size_t r, std::size_t c) const {
  const auto& v = rows.at(r).at(c);
  if (!v) throw SqlError("unexpected NULL in column " + std::to_string(c));
  return *v;
}

std::int64_t SqlRows::integer(std::size_t r, std::size_t c) const {
  const auto& v = rows.at(r).at(c);
  if (!v) throw SqlError("unexpected NULL in column " + std::to_string(c));
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size()) throw SqlError("not an integer in column " + std::to_string(c) + ": " + *v);
  return n;
}

std::optional<std::int64_t> SqlRows::optInteger(std::size_t r, std::size_t c) const {
  if (isNull(r, c)) return std::nullopt;
  return integer(r, c);
}

}  // namespace loyalty::hq
