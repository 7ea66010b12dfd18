// Harness: the exec line handler (ExecSession::handle, docs/exec-cli.md) over a real
// terminal database. An input is up to 16 request lines, handled in order like `exec` reads
// stdin, so sequences (enrol, then sell to that member, then refund) are reachable.
//
// Properties, besides "no crash, no sanitizer report, no exception out of handle":
//  * every answer is one JSON object with `ok` true or false, echoing the request's `id`;
//  * a refusal carries an error code, and never `internal` (an exception inside an operation
//    is a bug: every refusal is a value naming its field);
//  * after the input, `verify` finds nothing wrong (balances equal ledger sums, spend equals
//    sales minus refunds, the outbox is contiguous).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "loyalty/terminal/exec.hpp"
#include "terminal_fixture.hpp"

namespace {

using nlohmann::json;
using namespace loyalty;

constexpr std::size_t kMaxLines = 16;

struct ExecFixture {
  fuzz::TerminalFixture terminal;
  terminal::ExecSession session{terminal.service, [] { return fuzz::fixedNow(); }};
  ExecFixture() { session.setFeedback(&terminal.feedback); }
};

/// Checks one answer; returns whether the request succeeded.
bool checkAnswer(std::string_view line, const std::string& answer) {
  const json a = json::parse(answer, nullptr, false);
  if (a.is_discarded() || !a.is_object()) fuzz::fail("every answer is a JSON object", answer);
  if (!a.contains("ok") || !a["ok"].is_boolean()) fuzz::fail("every answer says ok true or false", answer);
  const json request = json::parse(line, nullptr, false);
  if (!request.is_discarded() && request.is_object()) {
    const json id = request.contains("id") ? request["id"] : json(nullptr);
    if (!a.contains("id") || a["id"] != id) fuzz::fail("the answer echoes the request's id", std::string(line) + "\n" + answer);
  }
  if (a["ok"].get<bool>()) {
    if (!a.contains("result")) fuzz::fail("a success carries a result", answer);
    return true;
  }
  if (!a.contains("error") || !a["error"].is_object() || !a["error"].contains("code") || !a["error"]["code"].is_string()) {
    fuzz::fail("a refusal carries an error code", answer);
  }
  if (a["error"]["code"] == errc::kInternal) {
    fuzz::fail("no request makes an operation throw (answered as internal)", std::string(line) + "\n" + answer);
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // One terminal for the whole process: made once, made again only if the file grows.
  static std::unique_ptr<ExecFixture> fixture;
  static std::uint64_t runs = 0;
  if (!fixture || (++runs % 4096 == 0 && fixture->terminal.tooLarge())) {
    fixture.reset();
    fixture = std::make_unique<ExecFixture>();
  }
  fuzz::TerminalFixture& t = fixture->terminal;
  t.beginInput();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  {
    db::Transaction input(t.db);  // rolled back at the end of the input
    bool changed = false;
    for (const std::string_view line : fuzz::lines(text, kMaxLines)) {
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;  // as exec skips them
      changed = checkAnswer(line, fixture->session.handle(line)) || changed;
    }
    if (changed) {
      const terminal::VerifyReport report = t.service.verify();
      if (!report.problems.empty()) fuzz::fail("verify finds nothing wrong after the input", json(report.problems).dump());
    }
  }
  return 0;
}
