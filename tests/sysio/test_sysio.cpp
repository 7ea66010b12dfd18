// The operating-system helpers both programs use: whole-file reads, atomic replacement,
// running a program without a shell.
#include <sys/stat.h>
#include <sys/types.h>

#include <catch2/catch.hpp>

#include "loyalty/sysio/files.hpp"
#include "loyalty/sysio/process.hpp"
#include "temp_dir.hpp"

using namespace loyalty;
namespace fs = std::filesystem;

namespace {

sysio::RunOptions shell(const std::string& script) {
  sysio::RunOptions o;
  o.argv = {"sh", "-c", script};
  return o;
}

}  // namespace

TEST_CASE("readFile returns the bytes, or nothing for a missing file", "[sysio]") {
  test::TempDir dir;
  const std::string bytes("a\0b\nc", 5);
  const auto path = dir.write("f.bin", bytes);
  REQUIRE(sysio::readFile(path) == bytes);
  REQUIRE_FALSE(sysio::readFile(dir.path() / "missing").has_value());
  REQUIRE_FALSE(sysio::readFile(dir.path()).has_value());  // a directory is not a file's bytes
}

TEST_CASE("writeFileAtomic replaces the whole file with the mode asked, whatever the umask", "[sysio]") {
  test::TempDir dir;
  const fs::path path = dir.path() / "state.json";
  dir.write("state.json", "old content that is longer");
  dir.write("state.json.tmp", "a stale temporary file from a crash");
  fs::permissions(dir.path() / "state.json.tmp", fs::perms::all);
  const mode_t old = ::umask(0);
  sysio::writeFileAtomic(path, "new");
  ::umask(old);
  REQUIRE(sysio::readFile(path) == "new");
  REQUIRE((fs::status(path).permissions() & fs::perms::mask) == sysio::kPrivate);
  REQUIRE_FALSE(fs::exists(dir.path() / "state.json.tmp"));

  sysio::writeFileAtomic(path, "", sysio::kReadable);
  REQUIRE(sysio::readFile(path) == "");
  REQUIRE((fs::status(path).permissions() & fs::perms::mask) == sysio::kReadable);
}

TEST_CASE("writeFileAtomic names the file when the directory does not exist", "[sysio]") {
  test::TempDir dir;
  const fs::path path = dir.path() / "no-such-dir" / "key";
  REQUIRE_THROWS_WITH(sysio::writeFileAtomic(path, "x"), Catch::Contains((path.string() + ".tmp")));
}

TEST_CASE("runProgram passes input, collects output and the exit code", "[sysio]") {
  auto o = shell("cat; echo err >&2; exit 3");
  o.input = "hello\n";
  const auto r = sysio::runProgram(o);
  REQUIRE(r.exitCode == 3);
  REQUIRE(r.output.find("hello\n") != std::string::npos);
  REQUIRE(r.output.find("err") != std::string::npos);

  o.captureStderr = false;
  const auto quiet = sysio::runProgram(o);
  REQUIRE(quiet.exitCode == 3);
  REQUIRE(quiet.output == "hello\n");
}

TEST_CASE("runProgram: a missing program and a program that runs too long are not successes", "[sysio]") {
  sysio::RunOptions missing;
  missing.argv = {"loyalty-no-such-program-here"};
  REQUIRE(sysio::runProgram(missing).exitCode == 127);

  auto slow = shell("sleep 30");
  slow.timeout = std::chrono::seconds(1);
  const auto r = sysio::runProgram(slow);
  REQUIRE(r.exitCode == -1);
  REQUIRE(r.output.find("killed after 1 s") != std::string::npos);

  REQUIRE(sysio::runProgram(sysio::RunOptions{}).exitCode == -1);  // nothing to run
}

TEST_CASE("runProgram hands bytes on fd 3 and sets the environment", "[sysio]") {
  auto o = shell("printf '%s|' \"$LOYALTY_TEST_VALUE\"; cat <&3");
  o.fd3 = std::string("secret-key");
  o.env = {{"LOYALTY_TEST_VALUE", "replaced"}};
  ::setenv("LOYALTY_TEST_VALUE", "original", 1);
  const auto r = sysio::runProgram(o);
  ::unsetenv("LOYALTY_TEST_VALUE");
  REQUIRE(r.exitCode == 0);
  REQUIRE(r.output == "replaced|secret-key");
}

TEST_CASE("runProgram ignores a program that exits without reading its input", "[sysio]") {
  auto o = shell("exit 0");
  o.input.assign(1 << 20, 'x');  // more than a pipe holds: the write fails with EPIPE, not SIGPIPE
  REQUIRE(sysio::runProgram(o).exitCode == 0);
}
