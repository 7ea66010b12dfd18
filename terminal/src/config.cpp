#include "loyalty/terminal/config.hpp"

#include <algorithm>
#include <set>

#include <toml++/toml.h>

#include "loyalty/core/phone.hpp"
#include "loyalty/core/programme_toml.hpp"
#include "loyalty/core/text.hpp"
#include "loyalty/core/toml_reader.hpp"
#include "loyalty/sysio/files.hpp"
#include "loyalty/terminal/timezone.hpp"

namespace loyalty::terminal {

std::string ConfigError::toString() const {
  return file + ":" + std::to_string(line) + ": " + (key.empty() ? "" : key + ": ") + reason;
}

namespace {

using namespace toml_reader;

void readStore(const toml::table& t, const std::string& section, TerminalSettings& out) {
  StoreSettings& s = out.store;
  walk(t, section,
       {{"id", [&](auto& n, auto& k) {
           s.id = text(n, k);
           if (s.id.empty() || s.id.size() > 32) refuse(n, k, "a store id has 1 to 32 characters");
           out.storeIdSet = true;
         }},
        {"language", [&](auto& n, auto& k) {
           s.language = text(n, k);
           if (s.language != "zh-CN" && s.language != "en") refuse(n, k, "is \"zh-CN\" or \"en\"");
         }},
        {"currency", [&](auto& n, auto& k) { s.currency = text(n, k); }},
        {"phone_region", [&](auto& n, auto& k) {
           s.phoneRegion = text(n, k);
           if (!isSupportedRegion(s.phoneRegion)) refuse(n, k, "is not a supported region code (e.g. \"CN\", \"GB\")");
         }},
        {"timezone", [&](auto& n, auto& k) {
           s.timezone = text(n, k);
           if (!loadZone(s.timezone).hasValue()) refuse(n, k, "is not a known time zone (e.g. \"Asia/Shanghai\")");
         }}});
}

/// [survey]: the customer display's question and the dimensions asked after it. Dimension names
/// are what answers are stored and reported under, so they are checked here, once.
void readSurvey(const toml::table& t, const std::string& section, SurveySettings& s) {
  walk(t, section,
       {{"scale", [&](auto& n, auto& k) {
           s.scale = text(n, k);
           if (s.scale != "csat5" && s.scale != "nps10") refuse(n, k, "is \"csat5\" (1 to 5) or \"nps10\" (0 to 10)");
         }},
        {"dimensions", [&](auto& n, auto& k) {
           s.dimensions = strings(n, k);
           if (s.dimensions.size() > kMaxSurveyDimensions) {
             refuse(n, k, "at most " + std::to_string(kMaxSurveyDimensions) + " dimensions");
           }
           std::set<std::string> seen;
           for (const std::string& d : s.dimensions) {
             const bool printable = isValidUtf8(d) && std::none_of(d.begin(), d.end(), [](char c) {
               return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
             });
             if (trim(d).empty() || trim(d).size() != d.size() || d.size() > kMaxSurveyDimensionBytes || !printable) {
               refuse(n, k, "a dimension is 1 to " + std::to_string(kMaxSurveyDimensionBytes) +
                                " bytes of printable text without surrounding spaces (\"" + d + "\")");
             }
             if (!seen.insert(d).second) refuse(n, k, "names \"" + d + "\" twice");
           }
         }}});
}

}  // namespace

std::variant<TerminalSettings, ConfigError> parseConfig(std::string_view content, const std::string& name) {
  TerminalSettings out;
  toml::table root;
  try {
    root = toml::parse(content, name);
  } catch (const toml::parse_error& e) {
    return ConfigError{name, static_cast<int>(e.source().begin.line), "", std::string(e.description())};
  }
  try {
    walk(root, "",
         {{"store", [&](auto& n, auto& k) { readStore(tableOf(n, k), k, out); }},
          {"loyalty", [&](auto& n, auto& k) { readProgrammeSection(n, k, out.rules); }},
          {"tier", [&](auto& n, auto& k) { readProgrammeSection(n, k, out.rules); }},
          {"promotion", [&](auto& n, auto& k) { readProgrammeSection(n, k, out.rules); }},
          {"stacking", [&](auto& n, auto& k) { readProgrammeSection(n, k, out.rules); }},
          {"survey", [&](auto& n, auto& k) { readSurvey(tableOf(n, k), k, out.survey); }}});
    checkProgramme(root, out.rules);
  } catch (const Refusal& r) {
    return ConfigError{name, r.line, r.key, r.reason};
  }
  return out;
}

std::variant<TerminalSettings, ConfigError> loadConfig(const std::string& path) {
  const auto text = sysio::readFile(path);
  if (!text) return ConfigError{path, 0, "", "cannot be read"};
  return parseConfig(*text, path);
}

std::optional<ProgrammeRules> pushedProgramme(db::Database& db) {
  std::optional<std::pair<std::int64_t, std::string>> newest;
  if (auto q = db.query("SELECT version, toml FROM hq_config WHERE error IS NULL ORDER BY version DESC LIMIT 1");
      q.step()) {
    newest.emplace(q.int64("version"), q.text("toml"));
  }
  if (!newest) return std::nullopt;
  auto parsed = parseConfig(newest->second, "head office configuration v" + std::to_string(newest->first));
  if (auto* settings = std::get_if<TerminalSettings>(&parsed)) return std::move(settings->rules);
  return std::nullopt;  // refused when it arrived (hq_config.error says why); not in force
}

}  // namespace loyalty::terminal
