// The catalogue's counter operations (docs/exec-cli.md, "products and pinyin"); sale lines priced
// from it are checked in counter_service.cpp (checkSale).
#include "loyalty/core/text.hpp"
#include "loyalty/terminal/counter_service.hpp"

namespace loyalty::terminal {

Result<Product> CounterService::putProduct(const ProductRequest& r) {
  auto product = checkProduct(r.fields);
  if (!product) return product.error();
  db::Transaction tx(m_db);
  if (product->barcode) {
    if (auto holder = m_products.byBarcode(*product->barcode); holder && holder->sku != product->sku) {
      return Error{errc::kAlreadyExists, "barcode", "barcode " + *product->barcode + " is the product " + holder->sku};
    }
  }
  m_products.put(*product, ProductSource::store, formatRfc3339(r.at));
  tx.commit();
  return *product;
}

Result<std::vector<Product>> CounterService::products(const std::string& text, int limit) {
  const std::string query(trim(text));
  if (query.empty()) return invalidArgument("query", "type a barcode, sku or name");
  if (!isValidUtf8(query) || query.size() > 128) return invalidArgument("query", "the query is 1 to 128 bytes of text");
  if (limit < 1 || limit > 200) return invalidArgument("limit", "limit is between 1 and 200");
  const db::ReadTransaction snapshot(m_db);
  return m_products.search(query, static_cast<std::size_t>(limit));
}

void CounterService::putHeadOfficeProduct(const Product& product, Timestamp at) {
  m_products.put(product, ProductSource::headOffice, formatRfc3339(at));
}

}  // namespace loyalty::terminal
