#pragma once
/// @brief Strict reading of TOML values for the configuration and the programme head office
/// publishes: every value checked, unknown keys refused by name, each refusal with its line.
///
/// The readers throw Refusal; the parsers turn it into their error value at their edge.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "loyalty/core/money.hpp"
#include "loyalty/core/points.hpp"
#include "loyalty/core/time.hpp"

namespace loyalty::toml_reader {

/// Thrown inside a parser and turned into its error value at its edge.
struct Refusal {
  int line;
  std::string key;
  std::string reason;
};

int lineOf(const toml::node& n);

[[noreturn]] void refuse(const toml::node& n, const std::string& key, const std::string& reason);

std::string text(const toml::node& n, const std::string& key);
std::int64_t integer(const toml::node& n, const std::string& key, std::int64_t min, std::int64_t max);
bool boolean(const toml::node& n, const std::string& key);
/// A non-negative amount written as a string ("300.00").
Money money(const toml::node& n, const std::string& key);
Multiplier multiplier(const toml::node& n, const std::string& key);
/// A calendar day written as a TOML date (2027-02-06).
Date date(const toml::node& n, const std::string& key);
std::vector<std::string> strings(const toml::node& n, const std::string& key);

/// Walks a table, handing each key to `handle`; keys it does not know are refused by name.
using Handlers = std::map<std::string, std::function<void(const toml::node&, const std::string&)>>;
void walk(const toml::table& table, const std::string& section, const Handlers& handlers);

const toml::table& tableOf(const toml::node& n, const std::string& key);

/// Calls f(table, "key[i]") for each [[key]] section.
template <class F>
void eachTable(const toml::node& n, const std::string& key, F&& f) {
  if (!n.is_array_of_tables()) refuse(n, key, "must be written as [[" + key + "]] sections");
  std::size_t i = 0;
  for (const toml::node& item : *n.as_array()) f(*item.as_table(), key + "[" + std::to_string(i++) + "]");
}

}  // namespace loyalty::toml_reader
