#include "loyalty/hq/export.hpp"

#include <stdlib.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace loyalty::hq {

using nlohmann::json;

namespace {

void flattenInto(const std::string& prefix, const json& v, std::vector<std::pair<std::string, json>>& out) {
  if (v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      char idx[32];
      std::snprintf(idx, sizeof idx, "_%02zu", i);
      flattenInto(prefix + idx, v[i], out);
    }
  } else if (v.is_object()) {
    for (const auto& [k, sub] : v.items()) flattenInto(prefix + "_" + k, sub, out);
  } else {
    out.emplace_back(prefix, v);
  }
}

bool looksNumeric(const std::string& s) {
  static const std::regex number(R"(-?[0-9]+(\.[0-9]+)?)");
  return std::regex_match(s, number);
}

bool isMoney(const std::string& s) {
  static const std::regex m(R"(-?[0-9]+\.[0-9]{2})");
  return std::regex_match(s, m);
}

std::string csvCell(const json& v) {
  if (v.is_null()) return "";
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number()) return v.dump();
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  // A cell that starts like a formula would run as one in a spreadsheet: keep it text.
  if (!s.empty() && std::string_view("=+-@\t\r").find(s[0]) != std::string_view::npos && !looksNumeric(s)) s.insert(0, "'");
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

ExportTable tableFromRows(const json& rows) {
  ExportTable t;
  std::map<std::string, std::size_t> index;
  std::vector<std::vector<std::pair<std::string, json>>> flat;
  for (const auto& row : rows) {
    std::vector<std::pair<std::string, json>> cells;
    if (row.is_object()) {
      for (const auto& [k, v] : row.items()) flattenInto(k, v, cells);
    } else {
      flattenInto("value", row, cells);
    }
    for (const auto& [k, v] : cells) {
      if (index.emplace(k, t.columns.size()).second) t.columns.push_back(k);
    }
    flat.push_back(std::move(cells));
  }
  for (const auto& cells : flat) {
    std::vector<json> out(t.columns.size(), json(nullptr));
    for (const auto& [k, v] : cells) out[index[k]] = v;
    t.rows.push_back(std::move(out));
  }
  return t;
}

ExportTable tableFromObject(const json& object) {
  ExportTable t;
  std::vector<json> row;
  for (const auto& [k, v] : object.items()) {
    if (v.is_array()) continue;
    std::vector<std::pair<std::string, json>> cells;
    flattenInto(k, v, cells);
    for (auto& [ck, cv] : cells) {
      t.columns.push_back(ck);
      row.push_back(cv);
    }
  }
  t.rows.push_back(std::move(row));
  return t;
}

ExportTable reportTable(const std::string& report, const json& body) {
  if (report == "summary" || report == "points") return tableFromObject(body);
  if (report == "abc" || report == "rfm" || report == "churn") return tableFromRows(body.at("members"));
  if (report == "abc-follow-up") return tableFromRows(body.at("follow_up"));
  if (report == "retention") return tableFromRows(body.at("cohorts"));
  if (body.contains("rows")) return tableFromRows(body.at("rows"));
  return tableFromObject(body);
}

std::string toCsv(const ExportTable& t) {
  std::string out = "\xEF\xBB\xBF";
  for (std::size_t i = 0; i < t.columns.size(); ++i) out += (i ? "," : "") + csvCell(t.columns[i]);
  out += "\r\n";
  for (const auto& row : t.rows) {
    for (std::size_t i = 0; i < row.size(); ++i) out += (i ? "," : "") + csvCell(row[i]);
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
      else if (v.is_string() && isMoney(v.get<std::string>())) {
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
