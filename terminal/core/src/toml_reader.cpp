#include "loyalty/core/toml_reader.hpp"

namespace loyalty::toml_reader {

int lineOf(const toml::node& n) { return static_cast<int>(n.source().begin.line); }

[[noreturn]] void refuse(const toml::node& n, const std::string& key, const std::string& reason) {
  throw Refusal{lineOf(n), key, reason};
}

std::string text(const toml::node& n, const std::string& key) {
  if (!n.is_string()) refuse(n, key, "must be a string in quotes");
  return n.as_string()->get();
}

std::int64_t integer(const toml::node& n, const std::string& key, std::int64_t min, std::int64_t max) {
  if (!n.is_integer()) refuse(n, key, "must be a whole number");
  const std::int64_t v = n.as_integer()->get();
  if (v < min || v > max) refuse(n, key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  return v;
}

bool boolean(const toml::node& n, const std::string& key) {
  if (!n.is_boolean()) refuse(n, key, "must be true or false");
  return n.as_boolean()->get();
}

Money money(const toml::node& n, const std::string& key) {
  if (!n.is_string()) refuse(n, key, "money is written as a string, e.g. \"300.00\"");
  auto m = Money::parse(n.as_string()->get(), key);
  if (!m) refuse(n, key, m.error().message);
  if (*m < Money{}) refuse(n, key, "must not be negative");
  return *m;
}

Multiplier multiplier(const toml::node& n, const std::string& key) {
  if (!n.is_string()) refuse(n, key, "a multiplier is written as a string, e.g. \"1.5\"");
  auto m = Multiplier::parse(n.as_string()->get(), key);
  if (!m) refuse(n, key, m.error().message);
  return *m;
}

Date date(const toml::node& n, const std::string& key) {
  if (!n.is_date()) refuse(n, key, "must be a date without quotes, e.g. 2027-02-06");
  const toml::date d = n.as_date()->get();
  const Date out{std::chrono::year{d.year}, std::chrono::month{d.month}, std::chrono::day{d.day}};
  if (!out.ok()) refuse(n, key, "is not a calendar day");
  return out;
}

std::vector<std::string> strings(const toml::node& n, const std::string& key) {
  if (!n.is_array()) refuse(n, key, "must be a list of strings, e.g. [\"OIL-5L\"]");
  std::vector<std::string> out;
  for (const toml::node& item : *n.as_array()) out.push_back(text(item, key));
  return out;
}

void walk(const toml::table& table, const std::string& section, const Handlers& handlers) {
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    const std::string qualified = section.empty() ? name : section + "." + name;
    const auto it = handlers.find(name);
    if (it == handlers.end()) {
      throw Refusal{static_cast<int>(key.source().begin.line), qualified, "unknown key"};
    }
    it->second(node, qualified);
  }
}

const toml::table& tableOf(const toml::node& n, const std::string& key) {
  if (!n.is_table()) refuse(n, key, "must be a table [" + key + "]");
  return *n.as_table();
}

}  // namespace loyalty::toml_reader
