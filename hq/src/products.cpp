#include "loyalty/hq/products.hpp"

#include <set>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "loyalty/core/csv.hpp"
#include "loyalty/sync/codec.hpp"

namespace loyalty::hq {
namespace {

constexpr const char* kProductSchema = R"SQL(
CREATE TABLE IF NOT EXISTS products(
  sku TEXT PRIMARY KEY, name TEXT NOT NULL, price BIGINT NOT NULL, barcode TEXT, category TEXT,
  updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS products_barcode ON products(barcode);
)SQL";

constexpr std::size_t kMaxProducts = 200'000;

std::string element(std::size_t i) { return "products[" + std::to_string(i) + "]"; }

Result<std::vector<ProductFields>> fromJson(std::string_view body) {
  auto parsed = sync::parseJson(body);
  if (!parsed) return parsed.error();
  const nlohmann::json& list = *parsed;
  if (!list.is_array()) return invalidArgument("products", "the body is a JSON list of {sku, name, price, barcode?, category?}");
  std::vector<ProductFields> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const nlohmann::json& p = list[i];
    if (!p.is_object()) return invalidArgument(element(i), element(i) + " must be an object {sku, name, price, ...}");
    ProductFields f;
    for (const auto& [key, value] : p.items()) {
      const std::string field = element(i) + "." + key;
      const bool optional = key == "barcode" || key == "category";
      if (key != "sku" && key != "name" && key != "price" && !optional) {
        return invalidArgument(field, "unknown field \"" + key + "\"");
      }
      if (optional && value.is_null()) continue;
      if (!value.is_string()) {
        return invalidArgument(field, key + " must be a string" + (key == "price" ? " (\"12.50\")" : ""));
      }
      const std::string text = value.get<std::string>();
      if (key == "sku") f.sku = text;
      if (key == "name") f.name = text;
      if (key == "price") f.price = text;
      if (key == "barcode") f.barcode = text;
      if (key == "category") f.category = text;
    }
    out.push_back(std::move(f));
  }
  return out;
}

Result<std::vector<ProductFields>> fromCsv(std::string_view body) {
  if (body.starts_with("\xEF\xBB\xBF")) body.remove_prefix(3);  // spreadsheets write a BOM
  std::istringstream in{std::string(body)};
  CsvReader reader(in);
  std::vector<std::string> row;
  std::vector<ProductFields> out;
  try {
    if (!reader.next(row)) return invalidArgument("products", "the CSV has no header (sku,name,price,barcode,category)");
    // Column index of each field, or -1.
    int sku = -1, name = -1, price = -1, barcode = -1, category = -1;
    for (std::size_t c = 0; c < row.size(); ++c) {
      const std::string& h = row[c];
      int* slot = h == "sku" ? &sku : h == "name" ? &name : h == "price" ? &price : h == "barcode" ? &barcode
                  : h == "category" ? &category : nullptr;
      if (!slot) return invalidArgument("products", "CSV header: unknown column \"" + h + "\"");
      if (*slot >= 0) return invalidArgument("products", "CSV header: column \"" + h + "\" appears twice");
      *slot = static_cast<int>(c);
    }
    if (sku < 0 || name < 0 || price < 0) return invalidArgument("products", "CSV header: sku, name and price are required");
    const auto cell = [&](int c) { return c >= 0 && static_cast<std::size_t>(c) < row.size() ? row[c] : std::string(); };
    const auto optCell = [&](int c) {
      std::string v = cell(c);
      return v.empty() ? std::optional<std::string>() : std::optional(std::move(v));
    };
    while (reader.next(row)) {
      if (row.size() == 1 && row[0].empty()) continue;  // a blank line
      const std::size_t header = static_cast<std::size_t>(std::max({sku, name, price, barcode, category})) + 1;
      if (row.size() != header) {
        return invalidArgument(element(out.size()), "CSV line " + std::to_string(reader.line()) + " has " +
                                                        std::to_string(row.size()) + " cells, the header " +
                                                        std::to_string(header));
      }
      out.push_back({cell(sku), cell(name), cell(price), optCell(barcode), optCell(category)});
    }
  } catch (const std::runtime_error& e) {
    return invalidArgument("products", std::string("CSV: ") + e.what());
  }
  return out;
}

}  // namespace

void ensureProductSchema(SqlConnection& c) {
  if (c.hasTable("products")) return;
  c.execScript(schemaForBackend(kProductSchema, c.backend()));
}

Result<std::vector<Product>> readProductList(std::string_view body, bool csv) {
  auto fields = csv ? fromCsv(body) : fromJson(body);
  if (!fields) return fields.error();
  if (fields->size() > kMaxProducts) return invalidArgument("products", "at most 200000 products in one request");
  std::vector<Product> out;
  out.reserve(fields->size());
  std::set<std::string> skus, barcodes;
  for (std::size_t i = 0; i < fields->size(); ++i) {
    auto p = checkProduct((*fields)[i], element(i) + ".");
    if (!p) return p.error();
    if (!skus.insert(p->sku).second) return invalidArgument(element(i) + ".sku", "sku " + p->sku + " appears twice");
    if (p->barcode && !barcodes.insert(*p->barcode).second) {
      return invalidArgument(element(i) + ".barcode", "barcode " + *p->barcode + " appears twice");
    }
    out.push_back(std::move(*p));
  }
  return out;
}

}  // namespace loyalty::hq
