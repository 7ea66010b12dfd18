#pragma once
/// @brief The table of each report (docs/reports.md): which part of its JSON answer is the table
/// and its columns, each with a name, a type and a unit. One definition per report drives the
/// CSV and XLSX exports (export.hpp: cells written by their column's type, never guessed from
/// how a value looks) and is checked against the JSON the report answers (tests), so a column
/// added to a report without its definition fails a test instead of being exported as a guess.

#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace loyalty::hq {

enum class ColumnType {
  kText,         ///< a string (ids, names, categories); may be null
  kDay,          ///< "YYYY-MM-DD" (a store-local day) or "YYYY-MM" (a month)
  kTimestamp,    ///< RFC 3339, UTC
  kInteger,      ///< a JSON integer (counts, points, days)
  kMoney,        ///< a decimal string with two places ("123.45")
  kPercent,      ///< a JSON number with one decimal (66.7)
  kDecimal,      ///< any other JSON number; may be null
  kBool,         ///< true / false
  kIntegerList,  ///< a list of integers: exported as numbered columns NAME_00, NAME_01, ...
  kPercentList,  ///< a list of percentages, numbered like kIntegerList
  kPhone,        ///< a phone number, text ("+8613800000000", masked "+86138****0000"); may be empty
};

struct ReportColumn {
  std::string_view name;
  ColumnType type;
  std::string_view unit;  ///< "currency", "points", "days", "%", "" (a count or no unit)
};

struct ReportDefinition {
  std::string_view report;
  /// The JSON member holding the table's rows (an array of objects); empty: the table is one
  /// row of the answer's own fields.
  std::string_view rows;
  std::vector<ReportColumn> columns;  ///< in the exports' order (alphabetical, as the JSON objects)
};

/// The table of report `report` (a name of the exports: summary, sales, abc, abc-follow-up, rfm,
/// churn, retention, referrals, satisfaction, complaints, points, campaign). `body` picks the
/// variant where the columns depend on the parameters (sales: its `group`). Null for another name.
const ReportDefinition* reportDefinition(std::string_view report, const nlohmann::json& body);

/// Every definition and variant (tests).
const std::vector<ReportDefinition>& reportDefinitions();

}  // namespace loyalty::hq
