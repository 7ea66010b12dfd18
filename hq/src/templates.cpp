#include "loyalty/hq/templates.hpp"

#include <kainjow/mustache.hpp>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "loyalty/hq/web_text.hpp"

namespace loyalty::hq {

namespace mustache = kainjow::mustache;

namespace {

mustache::data toData(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::object: {
      mustache::data d{mustache::data::type::object};
      for (const auto& [k, item] : v.items()) d.set(k, toData(item));
      return d;
    }
    case nlohmann::json::value_t::array: {
      mustache::data d{mustache::data::type::list};
      for (const auto& item : v) d.push_back(toData(item));
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

}  // namespace

std::string renderTemplate(std::string_view name, const nlohmann::json& view) {
  if (!view.is_object()) throw std::logic_error("a template's view is an object");
  mustache::data data = toData(view);
  for (const auto& [partial, text] : embeddedTemplates()) {
    if (view.contains(partial)) throw std::logic_error("a view's key hides the template " + std::string(partial));
    data.set(std::string(partial), mustache::partial([text = text] { return std::string(text); }));
  }
  mustache::mustache page{std::string(templateText(name))};
  page.set_custom_escape([](const std::string& s) { return htmlEscape(s); });
  std::string out = page.is_valid() ? page.render(data) : std::string();
  if (!page.is_valid()) throw std::logic_error("template " + std::string(name) + ": " + page.error_message());
  return out;
}

}  // namespace loyalty::hq
