#pragma once
/// @brief Head office's product catalogue (PUT /api/v1/admin/products, docs/hq-api.md): a list
/// read from JSON or CSV and checked with core's checkProduct; HqStore::publishProducts stores it
/// and sends each product to every terminal in the change feed.

#include <string_view>
#include <vector>

#include "loyalty/core/product.hpp"
#include "loyalty/core/result.hpp"
#include "loyalty/hq/sql.hpp"

namespace loyalty::hq {

/// Creates the products table on a database that lacks it (idempotent, cheap when present).
void ensureProductSchema(SqlConnection& c);

/// The products of a request body: a JSON list of {"sku","name","price","barcode"?,"category"?}
/// or, when `csv`, RFC 4180 text whose header names those columns (sku, name and price
/// required; empty cells are absent values). Refusals name the field as "products[N].price"
/// (N counts products from 0, in both forms). A sku or barcode given twice is refused.
Result<std::vector<Product>> readProductList(std::string_view body, bool csv);

}  // namespace loyalty::hq
