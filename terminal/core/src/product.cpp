#include "loyalty/core/product.hpp"

#include <algorithm>

#include "loyalty/core/pinyin.hpp"
#include "loyalty/core/text.hpp"

namespace loyalty {
namespace {

constexpr std::size_t kMaxCodeLength = 64;
constexpr std::size_t kMaxNameBytes = 200;  // a sale line's description holds it

bool printable(std::string_view s) {
  return isValidUtf8(s) &&
         std::none_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
}

bool printableCode(const std::optional<std::string>& s) {
  return !s || (!s->empty() && s->size() <= kMaxCodeLength && printable(*s));
}

bool isBarcode(std::string_view s) {
  return !s.empty() && s.size() <= kMaxCodeLength && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-';
  });
}

}  // namespace

bool isValidSku(std::string_view sku) { return !sku.empty() && sku.size() <= kMaxCodeLength && printable(sku); }

Result<Product> checkProduct(const ProductFields& in, std::string_view prefix) {
  const std::string p(prefix);
  if (!isValidSku(in.sku)) return invalidArgument(p + "sku", "sku has 1 to 64 printable characters");
  Product out;
  out.sku = in.sku;
  out.name = std::string(trim(in.name));
  if (out.name.empty() || !printable(out.name) || out.name.size() > kMaxNameBytes) {
    return invalidArgument(p + "name", "name has 1 to 200 bytes of printable text");
  }
  auto price = UnitPrice::parse(in.price, p + "price");
  if (!price) return price.error();
  if (price->tenThousandths() < 0) return invalidArgument(p + "price", "price must not be negative");
  out.price = *price;
  if (in.barcode && !isBarcode(*in.barcode)) {
    return invalidArgument(p + "barcode", "barcode has 1 to 64 letters, digits or '-'");
  }
  out.barcode = in.barcode;
  if (!printableCode(in.category)) return invalidArgument(p + "category", "category has 1 to 64 printable characters");
  out.category = in.category;
  return out;
}

std::vector<std::string> productSearchKeys(const Product& product) {
  const std::string name = normalizeName(product.name);
  std::vector<std::string> keys = nameSearchKeys(name);
  const auto add = [&](std::string key) {
    if (!key.empty() && std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
  };
  for (std::string& k : pinyinSearchKeys(name)) add(std::move(k));
  add(normalizeName(product.sku));
  if (product.barcode) add(normalizeName(*product.barcode));
  return keys;
}

}  // namespace loyalty
