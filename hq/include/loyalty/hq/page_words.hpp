#pragma once
/// @brief What the dashboard's pages kept in their own files share: their table of words (key,
/// English, Chinese), a JSON value shown as text, times in the store's local time, and the
/// redirect after a form.

#include <map>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "loyalty/hq/local_time.hpp"

namespace httplib {
struct Response;
}  // namespace httplib

namespace loyalty::hq {

class HqService;

/// One word of a page, in both languages.
struct PageWord {
  const char* key;
  const char* en;
  const char* zh;
};

/// The word for `key` in `lang` ("zh" or "en"); the key itself when the table lacks it.
std::string pageWord(std::span<const PageWord> table, const std::string& lang, const std::string& key);

/// The whole table in `lang` (a template's words object).
nlohmann::json pageWords(std::span<const PageWord> table, const std::string& lang);

/// A JSON value as a page shows it: a string as it is, null as nothing, anything else as JSON.
std::string jsonText(const nlohmann::json& v);

/// An instant as the dashboard shows it (when a kept result was computed): in the stores' time
/// zone when every terminal shares one (the chain's), else in UTC; the zone is named.
std::string chainTime(HqService& service, Timestamp t);

/// Stores' zones (their terminals'), to show times in the store's local time as people read
/// them ("2010-12-20 10:09"); a store without terminals is shown in UTC.
class StoreTimes {
 public:
  explicit StoreTimes(HqService& service);
  const ZoneRules& zone(const nlohmann::json& store);
  std::string zoneName(const nlohmann::json& store) const;
  /// An RFC 3339 time in the store's local time, or in `orStore`'s when `store` is null (a
  /// member's home store for what happened nowhere in particular); "" for none, text that is
  /// not a time as it is.
  std::string local(const nlohmann::json& store, const nlohmann::json& at, const nlohmann::json& orStore = nullptr);

 private:
  std::map<std::string, std::string, std::less<>> m_zoneOf;
  ZoneCache m_zones;
};

/// 303 See Other to `to` (where a form goes on).
void seeOther(httplib::Response& res, const std::string& to);

}  // namespace loyalty::hq
