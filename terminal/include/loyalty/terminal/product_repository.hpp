#pragma once
/// @brief The product catalogue (docs/exec-cli.md, "products and pinyin"): head office's products
/// and the store's own, found by barcode, sku, name and pinyin.

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "loyalty/core/product.hpp"
#include "loyalty/db/database.hpp"

namespace loyalty::terminal {

/// Where a product came from: head office's change feed or the store's product_put.
enum class ProductSource { headOffice, store };

/// Reads and writes the catalogue on one connection; writes run inside the caller's transaction.
class ProductRepository {
 public:
  explicit ProductRepository(db::Database& db) : m_db(db) {}

  std::optional<Product> bySku(const std::string& sku);
  std::optional<Product> byBarcode(const std::string& barcode);
  /// The products among `skus` that the catalogue holds, by sku: a few statements for a sale's
  /// lines (16, 4 and 1 skus at a time), not one per line.
  std::unordered_map<std::string, Product> bySkus(const std::vector<std::string>& skus);
  /// Products a query finds: the one whose barcode or sku is the query first, then those with a
  /// search key (core's productSearchKeys) equal to the normalised query, then starting with it,
  /// in key order; each once, at most `limit`.
  std::vector<Product> search(const std::string& query, std::size_t limit);

  /// Adds or replaces the product with its search keys. A barcode another product holds moves to
  /// this one (the newer word wins; head office's catalogue is the reference).
  void put(const Product& product, ProductSource source, const std::string& at);

 private:
  std::optional<Product> one(const char* sql, const std::string& value);

  db::Database& m_db;
};

}  // namespace loyalty::terminal
