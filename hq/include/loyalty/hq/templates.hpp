#pragma once
/// @brief The dashboard's HTML comes from mustache templates (hq/templates/*.mustache, compiled
/// into the program at build time). Every `{{value}}` is HTML-escaped (htmlEscape, web_text.hpp);
/// the templates use no unescaped tags, so no value reaches a page unescaped.

#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace loyalty::hq {

/// Every template by name (the file name without .mustache): generated from hq/templates.
const std::map<std::string_view, std::string_view>& embeddedTemplates();

/// Renders template `name` with `view`: objects, arrays (sections repeat), booleans (sections
/// show or not), strings, numbers (as JSON writes them) and null (empty text). Every template
/// is a partial of every other (`{{> kpi}}`, put in place before parsing). Throws
/// std::logic_error for an unknown or broken template (a bug, not an input).
std::string renderTemplate(std::string_view name, const nlohmann::json& view);

}  // namespace loyalty::hq
