#include "loyalty/hq/templates.hpp"

#include <kainjow/mustache.hpp>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "loyalty/hq/web_text.hpp"

namespace loyalty::hq {

namespace mustache = kainjow::mustache;

namespace {

/// The engine copies what set() and push_back() are given, so a tree built level by level would
/// be copied once per level: each child is put in place as a cheap placeholder and then moved in.
mustache::data toData(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::object: {
      mustache::data d{mustache::data::type::object};
      for (const auto& [k, item] : v.items()) {
        d.set(k, mustache::data{false});
        *const_cast<mustache::data*>(d.get(k)) = toData(item);
      }
      return d;
    }
    case nlohmann::json::value_t::array: {
      mustache::data d{mustache::data::type::list};
      for (const auto& item : v) {
        d.push_back(mustache::data{false});
        const_cast<mustache::list&>(d.list_value()).back() = toData(item);
      }
      return d;
    }
    case nlohmann::json::value_t::boolean: return mustache::data{v.get<bool>()};
    case nlohmann::json::value_t::string: return mustache::data{v.get<std::string>()};
    case nlohmann::json::value_t::null: return mustache::data{std::string()};
    default: return mustache::data{v.dump()};
  }
}

std::string_view templateText(std::string_view name) {
  const auto& all = embeddedTemplates();
  const auto it = all.find(name);
  if (it == all.end()) throw std::logic_error("no dashboard template " + std::string(name));
  return it->second;
}

/// Template `name` with every `{{> partial}}` replaced by the partial's text (the engine would
/// parse a partial again at each use: a page's 50 rows would parse it 50 times).
std::string expanded(std::string_view name, int depth = 0) {
  if (depth > 8) throw std::logic_error("dashboard templates include each other in a loop at " + std::string(name));
  const std::string_view text = templateText(name);
  std::string out;
  std::size_t at = 0;
  for (std::size_t open; (open = text.find("{{>", at)) != std::string_view::npos;) {
    const std::size_t close = text.find("}}", open);
    if (close == std::string_view::npos) throw std::logic_error("template " + std::string(name) + ": an unclosed partial tag");
    std::string_view partial = text.substr(open + 3, close - open - 3);
    while (!partial.empty() && partial.front() == ' ') partial.remove_prefix(1);
    while (!partial.empty() && partial.back() == ' ') partial.remove_suffix(1);
    out.append(text.substr(at, open - at));
    out += expanded(partial, depth + 1);
    at = close + 2;
  }
  out.append(text.substr(at));
  return out;
}

/// Template `name`, parsed once per thread (rendering keeps state in the parsed template, so
/// threads do not share one).
mustache::mustache& parsed(std::string_view name) {
  thread_local std::map<std::string, mustache::mustache, std::less<>> cache;
  auto it = cache.find(name);
  if (it == cache.end()) {
    it = cache.emplace(std::string(name), mustache::mustache{expanded(name)}).first;
    if (!it->second.is_valid()) {
      const std::string why = it->second.error_message();
      cache.erase(it);
      throw std::logic_error("template " + std::string(name) + ": " + why);
    }
    it->second.set_custom_escape([](const std::string& text) { return htmlEscape(text); });
  }
  return it->second;
}

}  // namespace

std::string renderTemplate(std::string_view name, const nlohmann::json& view) {
  if (!view.is_object()) throw std::logic_error("a template's view is an object");
  mustache::mustache& page = parsed(name);
  std::string out = page.render(toData(view));
  if (!page.is_valid()) throw std::logic_error("template " + std::string(name) + ": " + page.error_message());
  return out;
}

}  // namespace loyalty::hq
