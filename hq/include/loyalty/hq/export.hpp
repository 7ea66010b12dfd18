#pragma once
/// @brief Report exports for analysts' tools: CSV (UTF-8 with a byte-order mark, so Excel
/// reads Chinese correctly; RFC 4180 quoting) and XLSX (libxlsxwriter).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace loyalty::hq {

/// A flat table: one header row, cells as JSON scalars (numbers stay numbers).
struct ExportTable {
  std::vector<std::string> columns;
  std::vector<std::vector<nlohmann::json>> rows;
};

/// Rows of an array of flat objects; nested arrays become numbered columns (`active_00`...),
/// nested objects `key_sub`. Columns in the order first seen.
ExportTable tableFromRows(const nlohmann::json& rows);
/// One row of an object's scalar fields.
ExportTable tableFromObject(const nlohmann::json& object);

/// Which part of a report (docs/reports.md) is exported as its table; empty if none.
ExportTable reportTable(const std::string& report, const nlohmann::json& body);

std::string toCsv(const ExportTable& t);
/// The bytes of an .xlsx workbook with one sheet. Throws runtime_error if it cannot write.
std::string toXlsx(const ExportTable& t, const std::string& sheetName);

}  // namespace loyalty::hq
