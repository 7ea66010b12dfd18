// The words and small helpers of the dashboard's pages kept in their own files.
#include "loyalty/hq/page_words.hpp"

#include <httplib.h>

namespace loyalty::hq {

std::string pageWord(std::span<const PageWord> table, const std::string& lang, const std::string& key) {
  for (const auto& w : table) {
    if (key == w.key) return lang == "zh" ? w.zh : w.en;
  }
  return key;
}

nlohmann::json pageWords(std::span<const PageWord> table, const std::string& lang) {
  nlohmann::json o = nlohmann::json::object();
  for (const auto& w : table) o[w.key] = lang == "zh" ? w.zh : w.en;
  return o;
}

std::string jsonText(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.is_null() ? "" : v.dump(); }

void seeOther(httplib::Response& res, const std::string& to) {
  res.status = 303;
  res.set_header("Location", to);
}

}  // namespace loyalty::hq
