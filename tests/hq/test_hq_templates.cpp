// The dashboard's mustache templates (hq/templates, compiled into the program): every value a
// page shows is HTML-escaped by the template engine, and no template opts out.
#include <catch2/catch.hpp>

#include "loyalty/hq/charts.hpp"

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
  // The one exception: the chart pages embed the SVG that charts.cpp draws (every text in it
  // escaped there: the next test), in slots named *_svg (or `.` inside such a section).
  const auto markupSlot = [](const std::string& name, std::string_view text, std::size_t at) {
    if (name != "charts" && name != "lifecycle") return false;
    const auto end = text.find("}}}", at);
    if (end == std::string_view::npos) return false;
    const std::string_view slot = text.substr(at + 3, end - at - 3);
    return slot == "." || (slot.size() > 4 && slot.substr(slot.size() - 4) == "_svg");
  };
  for (const auto& [name, text] : all) {
    INFO(name);
    for (auto at = text.find("{{{"); at != std::string_view::npos; at = text.find("{{{", at + 3)) {
      CHECK(markupSlot(std::string(name), text, at));
    }
    CHECK(text.find("{{&") == std::string_view::npos);
  }
}

TEST_CASE("charts: the SVG the chart pages embed escapes every text in it", "[hq]") {
  using namespace loyalty::hq;
  const std::string hostile = R"x(<script>alert("1")</script>)x";
  const ChartWords w{hostile, hostile, hostile, hostile, hostile, hostile};
  const json pareto = {{"members", 3},
                       {"bins", {{{"spend_share", 50.0}, {"cumulative_members_share", 50.0}, {"cumulative_share", 50.0}}}},
                       {"mix", {{{"class", "A"}, {"members", 1}, {"share", 33.3}, {"ideal_share", 20.0}},
                                {{"class", "B"}, {"members", 1}, {"share", 33.3}, {"ideal_share", 40.0}},
                                {{"class", "C"}, {"members", 1}, {"share", 33.4}, {"ideal_share", 40.0}}}}};
  for (const std::string& svg : {comparisonSvg(hostile, {{hostile, 1.5}, {"S2", -2.0}}, 1.0, 1, w, hostile),
                                 lineSvg(hostile, {hostile, "2026-02"}, {Series{hostile, "#2f6fb0", {1.0, 2.0}}}, 1, hostile),
                                 paretoSvg(pareto, w), mixSvg(pareto, w)}) {
    INFO(svg);
    CHECK(svg.find("<script") == std::string::npos);
    CHECK(svg.find("&lt;script&gt;") != std::string::npos);
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
