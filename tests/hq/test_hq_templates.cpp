// The dashboard's mustache templates (hq/templates, compiled into the program): every value a
// page shows is HTML-escaped by the template engine, and no template opts out.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "loyalty/hq/templates.hpp"
#include "loyalty/hq/web_text.hpp"

using nlohmann::json;

TEST_CASE("dashboard templates: compiled in, and none has an unescaped tag", "[hq]") {
  const auto& all = loyalty::hq::embeddedTemplates();
  for (const char* name : {"header", "footer", "overview", "stores", "customers", "satisfaction", "complaints", "points", "audit",
                           "member", "login", "too_many", "notice", "error", "kpi", "bar_chart", "export_links"}) {
    INFO(name);
    REQUIRE(all.count(name) == 1);
  }
  for (const auto& [name, text] : all) {
    INFO(name);
    CHECK(text.find("{{{") == std::string_view::npos);
    CHECK(text.find("{{&") == std::string_view::npos);
  }
}

TEST_CASE("dashboard templates: the ABC class, once written unescaped, is escaped like every value", "[hq]") {
  const std::string hostile = R"x(<img src=x onerror="alert('1')">)x";
  const std::string escaped = loyalty::hq::htmlEscape(hostile);
  const json view = {{"t", json::object()},
                     {"classes", {{{"class", hostile}, {"members", "3"}, {"spend", "1.00"}, {"frequency", hostile}}}},
                     {"at_risk", {{{"member_path", "x"}, {"member_id", hostile}}}}};
  const std::string html = loyalty::hq::renderTemplate("customers", view);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("<td>" + escaped + "</td>") != std::string::npos);
  CHECK(html.find("data-key=\"abc:" + escaped + "\">3<") != std::string::npos);
  CHECK(escaped.find("&#39;1&#39;") != std::string::npos);  // the project's own escaping (web_text.hpp), not the engine's
}

TEST_CASE("dashboard templates: null shows as nothing, numbers as JSON writes them, false hides a section", "[hq]") {
  const json view = {{"message", nullptr}, {"back", false}};
  CHECK(loyalty::hq::renderTemplate("notice", view) == "<!doctype html><p></p>");
  CHECK(loyalty::hq::renderTemplate("notice", {{"message", 12.5}, {"back", "/x?a=1&b=2"}}) ==
        "<!doctype html><p>12.5</p><p><a href=\"/x?a=1&amp;b=2\">back</a></p>");
  CHECK_THROWS_AS(loyalty::hq::renderTemplate("no-such-page", json::object()), std::logic_error);
}
TEST_CASE("dashboard templates: a parsed template renders the same again, with other values", "[hq]") {
  const json a = {{"t", {{"login", "Sign in"}}}, {"html_lang", "en"}, {"retry_after", "5"}, {"until", "x"}};
  const json b = {{"t", {{"login", "登录"}}}, {"html_lang", "zh-CN"}, {"retry_after", "7"}, {"until", "y"}};
  const std::string first = loyalty::hq::renderTemplate("too_many", a);
  CHECK(loyalty::hq::renderTemplate("too_many", b) != first);
  CHECK(loyalty::hq::renderTemplate("too_many", a) == first);
  CHECK(first.find("data-retry-after=\"5\"") != std::string::npos);
}
