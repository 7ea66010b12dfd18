#pragma once
/// @brief The terminal's TOML configuration (docs/configuration.md): strict, with defaults.

#include <optional>
#include <string>
#include <variant>

#include "loyalty/core/rules.hpp"
#include "loyalty/db/database.hpp"
#include "loyalty/terminal/counter_service.hpp"

namespace loyalty::terminal {

struct TerminalSettings {
  StoreSettings store;
  ProgrammeRules rules;
  SurveySettings survey;  ///< [survey]: the store's own, never pushed by head office
  bool storeIdSet = false;  ///< [store] id was given in the file
};

/// Why a configuration was refused: where (file, line) and what (key, reason).
struct ConfigError {
  std::string file;
  int line = 0;
  std::string key;
  std::string reason;
  /// "FILE:LINE: KEY: REASON", the form printed on stderr.
  std::string toString() const;
};

/// Reads and validates a configuration file. Unknown keys and bad values are refused.
std::variant<TerminalSettings, ConfigError> loadConfig(const std::string& path);

/// The same from text (`name` stands for the file in errors).
std::variant<TerminalSettings, ConfigError> parseConfig(std::string_view text, const std::string& name);

/// The programme head office pushed last ([loyalty], [[tier]], [[promotion]], [stacking] through
/// the change feed, kept in hq_config), if any was accepted by the strict parser. It overrides
/// the local file's programme: the file only sets the defaults of a terminal not synced yet.
std::optional<ProgrammeRules> pushedProgramme(db::Database& db);


}  // namespace loyalty::terminal
