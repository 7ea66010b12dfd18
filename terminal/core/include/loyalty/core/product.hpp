#pragma once
/// @brief A catalogue product (docs/exec-cli.md, "products and pinyin"): the one check of its
/// fields, used by the terminal's product_put and change feed and by head office's import.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loyalty/core/money.hpp"
#include "loyalty/core/result.hpp"

namespace loyalty {

/// A product as the catalogue holds it.
struct Product {
  std::string sku;
  std::string name;  ///< trimmed
  UnitPrice price;
  std::optional<std::string> barcode;
  std::optional<std::string> category;
  bool operator==(const Product&) const = default;
};

/// A product's fields as given (price as the decimal string people write).
struct ProductFields {
  std::string sku, name, price;
  std::optional<std::string> barcode, category;
};

/// Checks a product: sku 1 to 64 printable characters, name 1 to 200 bytes of printable UTF-8
/// (trimmed), price a non-negative decimal with at most 4 decimals, barcode 1 to 64 letters,
/// digits or '-', category 1 to 64 printable characters. Fields are named `prefix` + wire name
/// ("products[3].price") in refusals.
Result<Product> checkProduct(const ProductFields& fields, std::string_view prefix = "");

/// Whether `sku` is a well-formed sku (1 to 64 printable characters of UTF-8).
bool isValidSku(std::string_view sku);

/// Keys under which a product is found by prefix (all normalised as names are): its name and
/// each later word (nameSearchKeys), its name's pinyin and initials, its sku and its barcode.
std::vector<std::string> productSearchKeys(const Product& product);

}  // namespace loyalty
