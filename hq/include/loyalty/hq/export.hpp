#pragma once
/// @brief Report exports for analysts' tools: CSV (UTF-8 with a byte-order mark, so Excel
/// reads Chinese correctly; RFC 4180 quoting) and XLSX (libxlsxwriter).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loyalty/hq/report_tables.hpp"

namespace loyalty::hq {

/// A flat table: one header row, cells as JSON scalars (numbers stay numbers), each column of
/// the type its report defines (report_tables.hpp).
struct ExportTable {
  std::vector<std::string> columns;
  std::vector<ColumnType> types;  ///< one per column
  std::vector<std::vector<nlohmann::json>> rows;
};

/// The table of a report's answer by its definition (report_tables.hpp): its columns in order,
/// list columns as numbered columns (`active_00`...) as wide as the longest list. Throws
/// std::logic_error for a report without a definition.
ExportTable reportTable(const std::string& report, const nlohmann::json& body);

std::string toCsv(const ExportTable& t);
/// The bytes of an .xlsx workbook with one sheet. Throws runtime_error if it cannot write.
std::string toXlsx(const ExportTable& t, const std::string& sheetName);

}  // namespace loyalty::hq
