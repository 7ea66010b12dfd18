// Fleet updates over HTTPS: a terminal asks for its release and downloads it; admins list
// terminals and releases (docs/hq-api.md, "Fleet updates").
#include <httplib.h>


#include "loyalty/hq/dashboard_forms.hpp"
#include "loyalty/hq/fleet.hpp"
#include "loyalty/hq/http_answer.hpp"
#include "loyalty/sysio/files.hpp"

namespace loyalty::hq {

namespace {

bool isSha256(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

Result<TerminalList> terminalListOf(const httplib::Request& req, std::int64_t defaultLimit) {
  TerminalList list;
  if (const auto store = forms::param(req, "store"); store && !store->empty()) {
    if (!validId(*store)) return invalidArgument("store", "store is 1 to 128 printable characters without spaces");
    list.store = *store;
  }
  auto page = forms::listPage(req, defaultLimit);
  if (!page) return page.error();
  list.page = *page;
  return list;
}

void registerFleetRoutes(httplib::Server& s, Fleet& fleet, RequireRole require) {
  s.Get("/api/v1/terminal/release", [&fleet, require](const httplib::Request& req, httplib::Response& res) {
    auto who = require(req, res, {Role::kTerminal});
    if (!who) return;
    if (!req.has_header(sync::header::kTerminalArch)) {
      return sendError(res, invalidArgument(sync::header::kTerminalArch, "the terminal's architecture (e.g. amd64) is required"));
    }
    const std::string arch = req.get_header_value(sync::header::kTerminalArch);
    if (auto ok = sync::checkArchitecture(arch, sync::header::kTerminalArch); !ok) return sendError(res, ok.error());
    auto offer = fleet.offer(who->terminalId, arch);
    if (!offer) return sendError(res, offer.error());
    sendJson(res, {{"release", *offer ? sync::toJson(**offer) : nlohmann::json()}});
  });

  s.Get(R"(/api/v1/terminal/release/([^/]+)\.deb)", [&fleet, require](const httplib::Request& req, httplib::Response& res) {
    auto who = require(req, res, {Role::kTerminal});
    if (!who) return;
    const std::string sha = req.matches[1].str();
    if (!isSha256(sha)) return sendError(res, invalidArgument("sha256", "the package is named by 64 lower-case hex digits"));
    const std::string arch = req.get_header_value(sync::header::kTerminalArch);
    auto file = fleet.packageFile(who->terminalId, arch, sha);
    if (!file) return sendError(res, file.error());
    auto bytes = sysio::readFile(*file);
    if (!bytes) throw std::runtime_error("the kept package " + file->string() + " cannot be read");
    res.set_content(std::move(*bytes), "application/vnd.debian.binary-package");
  });

  s.Get("/api/v1/admin/terminals", [&fleet, require](const httplib::Request& req, httplib::Response& res) {
    if (!require(req, res, {Role::kAdmin})) return;
    auto list = terminalListOf(req, kListPageMax);
    if (!list) return sendError(res, list.error());
    sendJson(res, fleet.terminals(*list));
  });

  s.Get("/api/v1/admin/releases", [&fleet, require](const httplib::Request& req, httplib::Response& res) {
    if (!require(req, res, {Role::kAdmin})) return;
    auto page = forms::listPage(req);
    if (!page) return sendError(res, page.error());
    sendJson(res, fleet.releases(*page));
  });
}

}  // namespace loyalty::hq
