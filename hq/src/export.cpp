#include "loyalty/hq/export.hpp"

#include <stdlib.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

namespace loyalty::hq {

using nlohmann::json;

namespace {

bool isList(ColumnType t) { return t == ColumnType::kIntegerList || t == ColumnType::kPercentList; }
bool isText(ColumnType t) {
  return t == ColumnType::kText || t == ColumnType::kDay || t == ColumnType::kTimestamp || t == ColumnType::kPhone;
}

std::string csvCell(const json& v, ColumnType type) {
  if (v.is_null()) return "";
  // A phone number is text, but "+86..." read by a spreadsheet is a formula (or a number that
  // loses its "+"), and the usual "'" guard stays visible in Excel. ="+86..." is a text cell
  // showing exactly the number in Excel and LibreOffice.
  if (type == ColumnType::kPhone && v.is_string() && !v.get<std::string>().empty() &&
      v.get<std::string>().find_first_not_of("+0123456789 *-") == std::string::npos) {
    return "\"=\"\"" + v.get<std::string>() + "\"\"\"";
  }
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number()) return v.dump();
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  // A text cell that starts like a formula would run as one in a spreadsheet: keep it text.
  if (isText(type) && !s.empty() && std::string_view("=+-@\t\r").find(s[0]) != std::string_view::npos) s.insert(0, "'");
  if (s.find_first_of(",\"\r\n") != std::string::npos) {
    std::string q = "\"";
    for (const char c : s) {
      if (c == '"') q += '"';
      q += c;
    }
    return q + "\"";
  }
  return s;
}

}  // namespace

ExportTable reportTable(const std::string& report, const json& body) {
  const ReportDefinition* d = reportDefinition(report, body);
  if (d == nullptr) throw std::logic_error("no table defined for report " + report);
  const json one = json::array({body});
  const json& rows = d->rows.empty() ? one : body.at(std::string(d->rows));
  ExportTable t;
  std::vector<std::size_t> widths;  ///< numbered columns of each list column: its longest list
  for (const auto& c : d->columns) {
    std::size_t w = 1;
    if (isList(c.type)) {
      w = 0;
      for (const auto& row : rows) w = std::max(w, row.value(std::string(c.name), json::array()).size());
      for (std::size_t i = 0; i < w; ++i) {
        char idx[32];
        std::snprintf(idx, sizeof idx, "_%02zu", i);
        t.columns.push_back(std::string(c.name) + idx);
        t.types.push_back(c.type == ColumnType::kIntegerList ? ColumnType::kInteger : ColumnType::kPercent);
      }
    } else {
      t.columns.emplace_back(c.name);
      t.types.push_back(c.type);
    }
    widths.push_back(w);
  }
  for (const auto& row : rows) {
    std::vector<json> out;
    out.reserve(t.columns.size());
    for (std::size_t k = 0; k < d->columns.size(); ++k) {
      const json v = row.value(std::string(d->columns[k].name), json(nullptr));
      if (!isList(d->columns[k].type)) {
        out.push_back(v);
        continue;
      }
      for (std::size_t i = 0; i < widths[k]; ++i) out.push_back(v.is_array() && i < v.size() ? v[i] : json(nullptr));
    }
    t.rows.push_back(std::move(out));
  }
  return t;
}

std::string toCsv(const ExportTable& t) {
  std::string out = "\xEF\xBB\xBF";
  for (std::size_t i = 0; i < t.columns.size(); ++i) out += (i ? "," : "") + csvCell(t.columns[i], ColumnType::kText);
  out += "\r\n";
  for (const auto& row : t.rows) {
    for (std::size_t i = 0; i < row.size(); ++i) out += (i ? "," : "") + csvCell(row[i], t.types[i]);
    out += "\r\n";
  }
  return out;
}

std::string toXlsx(const ExportTable& t, const std::string& sheetName) {
  std::string path = (std::filesystem::temp_directory_path() / "loyalty-export-XXXXXX.xlsx").string();
  const int fd = mkstemps(path.data(), 5);
  if (fd < 0) throw std::runtime_error("cannot create a temporary file for the XLSX export");
  close(fd);
  struct Remove {
    std::string p;
    ~Remove() { std::remove(p.c_str()); }
  } remover{path};

  lxw_workbook* wb = workbook_new(path.c_str());
  if (wb == nullptr) throw std::runtime_error("libxlsxwriter cannot create " + path);
  std::string name = sheetName.substr(0, 31);
  for (char& c : name) {
    if (std::string_view("[]:*?/\\").find(c) != std::string_view::npos) c = '_';
  }
  lxw_worksheet* ws = workbook_add_worksheet(wb, name.c_str());
  lxw_format* bold = workbook_add_format(wb);
  format_set_bold(bold);
  lxw_format* moneyFmt = workbook_add_format(wb);
  format_set_num_format(moneyFmt, "0.00");
  for (std::size_t c = 0; c < t.columns.size(); ++c) {
    worksheet_write_string(ws, 0, static_cast<lxw_col_t>(c), t.columns[c].c_str(), bold);
  }
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const auto row = static_cast<lxw_row_t>(r + 1);
    for (std::size_t c = 0; c < t.rows[r].size(); ++c) {
      const json& v = t.rows[r][c];
      const auto col = static_cast<lxw_col_t>(c);
      if (v.is_null()) continue;
      if (v.is_boolean()) worksheet_write_boolean(ws, row, col, v.get<bool>() ? 1 : 0, nullptr);
      else if (v.is_number()) worksheet_write_number(ws, row, col, v.get<double>(), nullptr);
      else if (t.types[c] == ColumnType::kMoney && v.is_string()) {
        worksheet_write_number(ws, row, col, std::stod(v.get<std::string>()), moneyFmt);
      } else {
        const std::string s = v.is_string() ? v.get<std::string>() : v.dump();
        worksheet_write_string(ws, row, col, s.c_str(), nullptr);
      }
    }
  }
  if (!t.columns.empty()) worksheet_freeze_panes(ws, 1, 0);
  const lxw_error err = workbook_close(wb);
  if (err != LXW_NO_ERROR) throw std::runtime_error(std::string("libxlsxwriter: ") + lxw_strerror(err));
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace loyalty::hq
