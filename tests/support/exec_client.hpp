#pragma once
// A client for `loyalty-terminal exec` in tests: one real child process, one JSON line per call.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "child_process.hpp"
#include "temp_dir.hpp"

namespace loyalty::test {

class Exec {
 public:
  explicit Exec(const TempDir& dir, std::vector<std::string> extra = {})
      : m_child(args(dir.str(), std::move(extra))) {}
  explicit Exec(const std::string& dataDir, std::vector<std::string> extra = {})
      : m_child(args(dataDir, std::move(extra))) {}

  nlohmann::json call(const nlohmann::json& request) { return raw(request.dump()); }
  nlohmann::json raw(const std::string& line) {
    REQUIRE(m_child.write(line + "\n"));
    auto out = m_child.readLine();
    REQUIRE(out.has_value());
    return nlohmann::json::parse(*out);
  }
  int finish() {
    m_child.closeStdin();
    return m_child.wait();
  }
  /// SIGKILL, like a power cut: every answered request is committed, nothing else happens.
  void killHard() { m_child.killHard(); }

 private:
  static std::vector<std::string> args(const std::string& dataDir, std::vector<std::string> extra) {
    std::vector<std::string> a{loyalty::test::terminalBinary(), "exec", "--data", dataDir};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  ChildProcess m_child;
};

inline nlohmann::json error(const nlohmann::json& response) {
  REQUIRE(response["ok"] == false);
  return response["error"];
}

inline nlohmann::json ok(const nlohmann::json& response) {
  INFO(response.dump());
  REQUIRE(response["ok"] == true);
  return response["result"];
}

}  // namespace loyalty::test
