// `loyalty-hq init` on the data directory the package prepares: it holds only hq.toml, a link
// to the conffile /etc/loyalty/hq.toml, whose [storage] init uses and keeps.
#include <catch2/catch.hpp>

#include <fstream>

#include "sync_fixture.hpp"

using namespace loyalty::test;
namespace fs = std::filesystem;

namespace {

/// DIR/etc/hq.toml with `settings`, and DIR/data holding only a link hq.toml to it.
fs::path preparedDataDir(const TempDir& dir, const std::string& settings) {
  fs::create_directories(dir.path() / "etc");
  std::ofstream(dir.path() / "etc" / "hq.toml") << settings;
  fs::create_directories(dir.path() / "data");
  fs::create_directory_symlink(dir.path() / "etc" / "hq.toml", dir.path() / "data" / "hq.toml");
  return dir.path() / "data";
}

}  // namespace

TEST_CASE("init: a data directory holding only hq.toml takes its storage from it and keeps it", "[hq]") {
  TempDir dir;
  const std::string settings = "[storage]\nbackend = \"sqlite\"\n\n[server]\nmax_workers = 32\n";
  const fs::path data = preparedDataDir(dir, settings);

  const RunResult r = run({hqBinary(), "init", "--data", data.string(), "--host", "localhost"});
  REQUIRE(r.exit == 0);
  CHECK(fs::is_symlink(data / "hq.toml"));
  CHECK(slurp(dir.path() / "etc" / "hq.toml") == settings);
  CHECK(fs::exists(data / "hq.db"));
  CHECK(fs::exists(data / "tls" / "server.pem"));
  // The prepared settings are the server's: it starts with them.
  CHECK(run({hqBinary(), "housekeeping", "--data", data.string()}).exit == 0);
}

TEST_CASE("init: storage options next to a prepared hq.toml are refused and change nothing", "[hq]") {
  TempDir dir;
  const fs::path data = preparedDataDir(dir, "[storage]\nbackend = \"sqlite\"\n");

  const RunResult r = run({hqBinary(), "init", "--data", data.string(), "--backend", "sqlite"});
  CHECK(r.exit == 2);
  CHECK(r.err.find("--backend") != std::string::npos);
  CHECK(std::distance(fs::directory_iterator(data), fs::directory_iterator{}) == 1);
}

TEST_CASE("init: a bad prepared hq.toml is refused with its key named", "[hq]") {
  TempDir dir;
  const fs::path data = preparedDataDir(dir, "[storage]\nbackend = \"oracle\"\n");

  const RunResult r = run({hqBinary(), "init", "--data", data.string()});
  CHECK(r.exit == 2);
  CHECK(r.err.find("storage.backend") != std::string::npos);
  CHECK_FALSE(fs::exists(data / "hq.db"));
}

TEST_CASE("init: a data directory with anything besides hq.toml is still refused", "[hq]") {
  TempDir dir;
  const fs::path data = preparedDataDir(dir, "[storage]\nbackend = \"sqlite\"\n");
  std::ofstream(data / "hq.db") << "not a database";

  const RunResult r = run({hqBinary(), "init", "--data", data.string()});
  CHECK(r.exit != 0);
  CHECK(r.err.find("not empty") != std::string::npos);
}
