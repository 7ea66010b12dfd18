#include "loyalty/terminal/product_repository.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_set>

#include "loyalty/core/text.hpp"
#include "loyalty/db/row_batches.hpp"

namespace loyalty::terminal {
namespace {

Product read(const db::Query& q) {
  return {q.text("sku"), q.text("name"), UnitPrice::fromTenThousandths(q.int64("price")), q.optText("barcode"),
          q.optText("category")};
}

}  // namespace

std::optional<Product> ProductRepository::one(const char* sql, const std::string& value) {
  auto q = m_db.query(sql).bind(1, value);
  if (!q.step()) return std::nullopt;
  return read(q);
}

std::optional<Product> ProductRepository::bySku(const std::string& sku) {
  return one("SELECT sku, name, price, barcode, category FROM products WHERE sku = ?", sku);
}

std::unordered_map<std::string, Product> ProductRepository::bySkus(const std::vector<std::string>& skus) {
  static const auto kBySkus = db::rowBatchTexts([](std::size_t n) {
    return db::placeholderGroupsSql("SELECT sku, name, price, barcode, category FROM products WHERE sku IN ", n, 1);
  });
  std::vector<std::string_view> distinct;
  distinct.reserve(skus.size());
  {
    std::unordered_set<std::string_view> seen;
    for (const std::string& sku : skus) {
      if (seen.insert(sku).second) distinct.push_back(sku);
    }
  }
  std::unordered_map<std::string, Product> found;
  db::forEachRowBatch(distinct.size(), kBySkus, [&](const std::string& sql, std::size_t first, std::size_t count) {
    auto q = m_db.query(sql);
    for (std::size_t i = 0; i < count; ++i) q.bindUnowned(static_cast<int>(i + 1), distinct[first + i]);
    while (q.step()) {
      Product p = read(q);
      std::string sku = p.sku;
      found.emplace(std::move(sku), std::move(p));
    }
  });
  return found;
}

std::optional<Product> ProductRepository::byBarcode(const std::string& barcode) {
  return one("SELECT sku, name, price, barcode, category FROM products WHERE barcode = ?", barcode);
}

std::vector<Product> ProductRepository::search(const std::string& query, std::size_t limit) {
  std::vector<Product> out;
  const auto add = [&](std::optional<Product> p) {
    if (!p || out.size() >= limit) return;
    if (std::none_of(out.begin(), out.end(), [&](const Product& x) { return x.sku == p->sku; })) {
      out.push_back(std::move(*p));
    }
  };
  add(byBarcode(query));
  add(bySku(query));
  const std::string norm = normalizeName(query);
  if (norm.empty()) return out;
  const auto collect = [&](const std::string& upper) {
    auto q = m_db.query("SELECT p.sku, p.name, p.price, p.barcode, p.category FROM product_keys k "
                        "JOIN products p ON p.sku = k.sku WHERE k.key >= ?1 AND k.key < ?2 ORDER BY k.key, k.sku "
                        "LIMIT ?3")
                 .bind(1, norm)
                 .bind(2, upper)
                 .bind(3, static_cast<std::int64_t>(limit * 3));  // a product may match under several keys
    while (out.size() < limit && q.step()) add(read(q));
  };
  collect(norm + std::string(1, '\0'));  // exactly the query
  collect(prefixUpperBound(norm));
  return out;
}

void ProductRepository::put(const Product& p, ProductSource source, const std::string& at) {
  if (p.barcode) {
    m_db.query("UPDATE products SET barcode = NULL WHERE barcode = ? AND sku != ?").bind(1, *p.barcode).bind(2, p.sku).run();
  }
  m_db.query("DELETE FROM product_keys WHERE sku = ?").bind(1, p.sku).run();
  m_db.query("INSERT INTO products(sku, name, price, barcode, category, source, updated_at) VALUES (?,?,?,?,?,?,?) "
             "ON CONFLICT(sku) DO UPDATE SET name = excluded.name, price = excluded.price, barcode = excluded.barcode, "
             "category = excluded.category, source = excluded.source, updated_at = excluded.updated_at")
      .bind(1, p.sku).bind(2, p.name).bind(3, p.price.tenThousandths()).bind(4, p.barcode).bind(5, p.category)
      .bind(6, source == ProductSource::headOffice ? "hq" : "store").bind(7, at)
      .run();
  for (const std::string& k : productSearchKeys(p)) {
    m_db.query("INSERT OR IGNORE INTO product_keys(key, sku) VALUES (?, ?)").bind(1, k).bind(2, p.sku).run();
  }
}

}  // namespace loyalty::terminal
