// Harness: member CSV import (importMembers) into a real terminal database. Every input is
// imported twice from the same state: all-or-nothing, then with skip-invalid.
//
// Properties, besides "no crash, no sanitizer report, no exception out of the import":
//  * every refusal is reported as "fuzz.csv:...";
//  * all-or-nothing: with a refused row, not one member is added;
//  * with skip-invalid, exactly the reported number of members is added;
//  * `verify` finds nothing wrong afterwards.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "loyalty/terminal/member_import.hpp"
#include "terminal_fixture.hpp"

namespace {

using namespace loyalty;

void import(fuzz::TerminalFixture& t, std::string_view csv, bool skipInvalid) {
  t.beginInput();
  db::Transaction input(t.db);  // rolled back at the end of the import
  const std::int64_t before = t.service.stats().members;
  std::istringstream in{std::string(csv)};
  std::ostringstream errors;
  const terminal::ImportReport report =
      terminal::importMembers(t.service, t.db, in, "fuzz.csv", skipInvalid, fuzz::fixedNow(), errors);
  const std::int64_t added = t.service.stats().members - before;
  const std::string mode = skipInvalid ? "skip-invalid: " : "all-or-nothing: ";

  std::istringstream lines(errors.str());
  for (std::string line; std::getline(lines, line);) {
    fuzz::require(line.starts_with("fuzz.csv:"), "every refusal names the file", mode + line);
  }
  fuzz::require((report.rejected > 0) == !errors.str().empty(), "refusals are reported exactly when rows are refused",
                mode + errors.str());
  if (!skipInvalid && report.rejected > 0) {
    fuzz::require(added == 0 && report.imported == 0, "one refused row and nothing is imported",
                  mode + std::to_string(added) + " added\n" + errors.str());
  } else {
    fuzz::require(added == report.imported, "the import adds the members it reports",
                  mode + std::to_string(added) + " added, " + std::to_string(report.imported) + " reported");
  }
  const terminal::VerifyReport verified = t.service.verify();
  fuzz::require(verified.problems.empty(), "verify finds nothing wrong after an import",
                mode + (verified.problems.empty() ? "" : verified.problems.front()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static std::unique_ptr<fuzz::TerminalFixture> fixture;
  static std::uint64_t runs = 0;
  if (!fixture || (++runs % 4096 == 0 && fixture->tooLarge())) {
    fixture.reset();
    fixture = std::make_unique<fuzz::TerminalFixture>();
  }
  const std::string_view csv(reinterpret_cast<const char*>(data), size);
  import(*fixture, csv, false);
  import(*fixture, csv, true);
  return 0;
}
