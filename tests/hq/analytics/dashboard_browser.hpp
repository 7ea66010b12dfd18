#pragma once
// What the dashboard's browser tests share: an HTTPS client with a bearer token, headless
// Chromium opening a page through a one-time sign-in link (a screenshot kept under
// build/screenshots), and the figures a page shows by their data-key.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <regex>
#include <string>

#include "../support/hq_fixture.hpp"

namespace loyalty::test {

struct Http {
  HqInstance& hq;
  std::string token;

  nlohmann::json get(const std::string& path, int status = 200) {
    auto r = hq.client()->Get(path.c_str(), bearer(token));
    REQUIRE(r);
    INFO(path << " -> " << r->body);
    REQUIRE(r->status == status);
    return status == 200 ? nlohmann::json::parse(r->body) : nlohmann::json();
  }
  std::string raw(const std::string& path) {
    auto r = hq.client()->Get(path.c_str(), bearer(token));
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return r->body;
  }
  nlohmann::json post(const std::string& path, const nlohmann::json& body, int status = 200) {
    auto r = hq.client()->Post(path.c_str(), bearer(token), body.dump(), "application/json");
    REQUIRE(r);
    INFO(path << " -> " << r->body);
    REQUIRE(r->status == status);
    return nlohmann::json::parse(r->body);
  }
};

/// The figures of a page by data-key, as plain numbers: the page writes "¥1,234.50", this
/// gives "1234.50" (what the API answers).
inline std::map<std::string, std::string> pageNumbers(const std::string& dom) {
  std::map<std::string, std::string> out;
  const std::regex re(R"(data-key="([^"]+)\">([^<]*)<)");
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), re); it != std::sregex_iterator(); ++it) {
    std::string v = (*it)[2];
    for (const std::string mark : {"¥", ","}) {
      for (std::size_t at; (at = v.find(mark)) != std::string::npos;) v.erase(at, mark.size());
    }
    out[(*it)[1]] = v;
  }
  return out;
}

/// Opens `page` in headless Chromium through a one-time sign-in link in a window `width` x
/// `height`; saves build/screenshots/SHOT.png and returns the rendered DOM.
inline std::string chromiumPage(Http& http, const std::string& page, const std::string& shot, int width = 1280, int height = 1000) {
  const nlohmann::json ticket = http.post("/api/v1/dashboard/tickets", nlohmann::json::object(), 201);
  const std::string url = "https://127.0.0.1:" + std::to_string(http.hq.port()) + ticket["url"].get<std::string>() + "&next=" +
                          httplib::detail::encode_query_param(page);
  std::filesystem::create_directories(LOYALTY_SCREENSHOT_DIR);
  const std::string png = std::string(LOYALTY_SCREENSHOT_DIR) + "/" + shot + ".png";
  std::filesystem::remove(png);
  TempDir profile;
  const auto [status, dom] = runCommand({"/bin/sh", "-c",
                                         "exec chromium --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars "
                                         "--ignore-certificate-errors --user-data-dir='" + profile.str() + "' --window-size=" +
                                             std::to_string(width) + "," + std::to_string(height) + " --screenshot='" + png +
                                             "' --dump-dom '" + url + "' 2>/dev/null"});
  REQUIRE(status == 0);
  REQUIRE(std::filesystem::exists(png));
  CHECK(std::filesystem::file_size(png) > 5000);
  return dom;
}

/// Dashboard pages as a signed-in person gets them: fetched over HTTPS with a session and, where
/// Chromium is installed, also opened in it for a screenshot. Without Chromium the pages are
/// still fetched and checked; only the screenshots are left out.
class DashboardPages {
 public:
  explicit DashboardPages(Http& http)
      : m_http(http),
        m_session(dashboardSession(http.hq, http.token)),
        m_chromium(runCommand({"/bin/sh", "-c", "command -v chromium"}).first == 0) {
    if (!m_chromium) WARN("chromium not found: the pages are checked without screenshots");
  }

  /// The page's HTML, required to answer 200; build/screenshots/SHOT.png when Chromium is there.
  std::string open(const std::string& page, const std::string& shot, int width = 1280, int height = 1400) {
    auto r = m_http.hq.client()->Get(page.c_str(), m_session);
    REQUIRE(r);
    INFO(page << " -> " << r->status);
    REQUIRE(r->status == 200);
    if (m_chromium) chromiumPage(m_http, page, shot, width, height);
    return r->body;
  }

 private:
  Http& m_http;
  httplib::Headers m_session;
  bool m_chromium;
};

}  // namespace loyalty::test
