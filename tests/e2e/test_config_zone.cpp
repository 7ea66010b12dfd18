// The configuration's time zone through the real binary.
#include <catch2/catch.hpp>

#include <fstream>

#include "../support/child_process.hpp"
#include "../support/temp_dir.hpp"

using loyalty::test::ChildProcess;
using loyalty::test::Stderr;
using loyalty::test::TempDir;

// Found by fuzz/config: a time zone naming a directory of the zone database ("Asia") opened as a
// file and threw when read, so the reader's refusal never came: the program stopped with the
// standard library's "basic_filebuf::underflow ... Is a directory" (the counter app aborted).
TEST_CASE("config: a time zone that names a folder of the zone database is refused by key", "[e2e]") {
  TempDir dir;
  const std::string config = (dir.path() / "terminal.toml").string();
  std::ofstream(config) << "[store]\nid = \"S002\"\ntimezone = \"Asia\"\n";
  ChildProcess child({loyalty::test::terminalBinary(), "verify", "--data", (dir.path() / "data").string(), "--config", config},
                     Stderr::kToStdout);
  child.closeStdin();
  const auto line = child.readLine();
  REQUIRE(line);
  CHECK(*line == "loyalty-terminal: invalid configuration: " + config +
                     ":3: store.timezone: is not a known time zone (e.g. \"Asia/Shanghai\")");
  CHECK(child.wait() == 2);
}
