#pragma once
/// @brief What the dashboard's pages kept in their own files share: their table of words (key,
/// English, Chinese), a JSON value shown as text, and the redirect after a form.

#include <span>
#include <string>

#include <nlohmann/json.hpp>

namespace httplib {
struct Response;
}  // namespace httplib

namespace loyalty::hq {

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

/// 303 See Other to `to` (where a form goes on).
void seeOther(httplib::Response& res, const std::string& to);

}  // namespace loyalty::hq
