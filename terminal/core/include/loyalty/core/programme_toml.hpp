#pragma once
/// @brief The programme's TOML sections ([loyalty], [[tier]], [[promotion]], [stacking] of
/// docs/configuration.md), read strictly into ProgrammeRules. The terminal reads them from its
/// configuration file and from what head office pushes; head office from what it publishes, so
/// both apply the same programme.

#include <string>
#include <string_view>
#include <variant>

#include <toml++/toml.h>

#include "loyalty/core/rules.hpp"

namespace loyalty {

/// Whether `key` is a top-level key of the programme (loyalty, tier, promotion, stacking).
bool isProgrammeKey(std::string_view key);

/// Reads the programme section `key` of a configuration into `rules` (toml_reader::Refusal on a
/// bad value or an unknown key).
void readProgrammeSection(const toml::node& node, const std::string& key, ProgrammeRules& rules);

/// What can only be checked once every section is read: each promotion's min_tier names a tier
/// (toml_reader::Refusal otherwise).
void checkProgramme(const toml::table& root, const ProgrammeRules& rules);

/// Why a programme text was refused: the line, the key and the reason.
struct ProgrammeError {
  int line = 0;
  std::string key;
  std::string reason;
};

/// A programme text as head office publishes it: only programme sections, read over the
/// defaults (a section left out keeps the defaults), exactly as the terminal reads it.
std::variant<ProgrammeRules, ProgrammeError> parseProgramme(std::string_view text);

}  // namespace loyalty
