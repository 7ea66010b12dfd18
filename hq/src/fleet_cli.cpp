// `loyalty-hq release publish|list|key` (docs/fleet-updates.md).
#include <CLI/CLI.hpp>

#include <iostream>

#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/fleet.hpp"
#include "loyalty/hq/local_time.hpp"

namespace loyalty::hq {

namespace {

struct Args {
  std::string data, file;
  std::vector<std::string> stores;
  int percent = 100;
};

int fail(const std::string& message, int code) {
  std::cerr << "loyalty-hq: release: " << message << "\n";
  return code;
}

std::unique_ptr<SqlConnection> open(const DataDir& dir) {
  auto settings = loadSettings(dir);
  if (!settings) throw std::runtime_error(settings.error().message);
  auto c = openStorage(dir, *settings);
  ensureAuditSchema(*c);
  ensureFleetSchema(*c);
  return c;
}

}  // namespace

std::function<std::optional<int>()> addFleetCommands(CLI::App& app) {
  auto a = std::make_shared<Args>();
  auto* release = app.add_subcommand("release", "signed loyalty-terminal packages offered to terminals (fleet updates)");
  release->require_subcommand(1);
  auto* publish = release->add_subcommand("publish", "sign a loyalty-terminal .deb and offer it to terminals");
  publish->add_option("file", a->file, "the package (.deb)")->required();
  publish->add_option("--data", a->data, "data directory")->required();
  publish->add_option("--stores", a->stores, "only these stores (comma-separated; default: every store)")->delimiter(',');
  publish->add_option("--percent", a->percent, "offer it to this share of the targeted terminals, 1..100 (default 100)");
  auto* list = release->add_subcommand("list", "the published releases, newest first (JSON)");
  list->add_option("--data", a->data, "data directory")->required();
  auto* key = release->add_subcommand("key", "print head office's release public key (base64 ed25519)");
  key->add_option("--data", a->data, "data directory")->required();

  return [=]() -> std::optional<int> {
    if (!release->parsed()) return std::nullopt;
    const DataDir dir{a->data};
    try {
      if (!loadSettings(dir)) return fail(dir.root.string() + " is not a head-office data directory (loyalty-hq init)", 2);
      if (key->parsed()) {
        std::cout << ensureReleaseKey(dir) << std::endl;
        return 0;
      }
      if (list->parsed()) {
        Fleet fleet(dir, open(dir));
        std::cout << fleet.releases({}).dump() << std::endl;
        return 0;
      }
      auto c = open(dir);
      auto r = publishRelease(dir, *c, a->file, {a->stores, a->percent}, commandLineActor(), nowSeconds());
      if (!r) {
        const Error& e = r.error();
        return fail((e.field.empty() ? "" : e.field + ": ") + e.message, e.code == errc::kInvalidArgument ? 2 : 1);
      }
      std::cout << nlohmann::json{{"package", r->manifest.package},
                                  {"version", r->manifest.version},
                                  {"architecture", r->manifest.architecture},
                                  {"sha256", r->manifest.sha256},
                                  {"size", r->manifest.size},
                                  {"stores", r->stores.empty() ? nlohmann::json("all") : nlohmann::json(r->stores)},
                                  {"percent", r->percent},
                                  {"republished", r->republished}}
                       .dump()
                << std::endl;
      return 0;
    } catch (const std::exception& e) {
      return fail(e.what(), 1);
    }
  };
}

}  // namespace loyalty::hq
