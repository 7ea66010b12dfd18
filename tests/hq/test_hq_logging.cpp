// loyalty-hq's log lines on stderr: journald-readable (syslog priority prefix, no time or
// colours) when stderr is not a terminal.
#include <signal.h>

#include <catch2/catch.hpp>

#include "support/hq_fixture.hpp"

using namespace loyalty::test;

TEST_CASE("loyalty-hq serve logs its stop to stderr with journald's priority prefix", "[hq]") {
  HqInstance hq(SqliteBackend::kName);
  ChildProcess server({hqBinary(), "serve", "--data", hq.dataDir(), "--listen", "127.0.0.1:0"},
                      Stderr::kToStdout);
  const auto listening = server.readLine(std::chrono::seconds(30));
  REQUIRE(listening);
  CHECK(listening->rfind("listening on https://", 0) == 0);
  kill(server.pid(), SIGTERM);
  const auto stopping = server.readLine();
  const auto stopped = server.readLine();
  CHECK(server.wait() == 0);
  REQUIRE(stopping);
  REQUIRE(stopped);
  CHECK(*stopping == "<6>loyalty-hq: stopping (signal 15)");
  CHECK(*stopped == "<6>loyalty-hq: stopped");
}
