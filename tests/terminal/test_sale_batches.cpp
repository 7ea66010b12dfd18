// A sale's lines are found in the catalogue and written a batch at a time (16, 4 and 1 rows a
// statement): every line still comes back as it was given, in order, whatever batch it fell in.
#include <catch2/catch.hpp>

#include "../support/temp_dir.hpp"
#include "loyalty/terminal/counter_service.hpp"
#include "loyalty/terminal/sale_repository.hpp"
#include "loyalty/terminal/store.hpp"

using namespace loyalty;
using namespace loyalty::terminal;

namespace {

Timestamp at(const char* text) { return *parseRfc3339(text, "at"); }

std::string sku(std::size_t i) { return "P" + std::to_string(100 + i); }
std::string barcode(std::size_t i) { return "690" + std::to_string(1000 + i); }

struct Store {
  test::TempDir dir;
  db::Database db = openTerminalDatabase(dir.str());
  RandomIds ids{7};
  CounterService service{db, CounterConfig{}, ids};

  /// Products P100.. with price i + 1 and a barcode each.
  explicit Store(std::size_t products) {
    for (std::size_t i = 0; i < products; ++i) {
      const ProductFields f{sku(i), "Product " + std::to_string(i), std::to_string(i + 1) + ".00", barcode(i),
                            "c" + std::to_string(i % 3)};
      REQUIRE(service.putProduct({f, at("2026-01-02T09:00:00Z")}).hasValue());
    }
  }

  std::int64_t count(const char* table) {
    auto q = db.query(std::string("SELECT COUNT(*) AS n FROM ") + table);
    REQUIRE(q.step());
    return q.int64("n");
  }
};

/// 37 lines (16 + 16 + 4 + 1): by sku, by barcode every fifth, a repeated sku, and lines priced by
/// hand that the catalogue does not hold.
SaleRequest mixedSale() {
  SaleRequest r;
  r.saleId = "S-MIXED";
  r.at = at("2026-02-01T12:00:00Z");
  for (std::size_t i = 0; i < 37; ++i) {
    SaleLineInput l;
    l.qty = static_cast<std::int64_t>(i % 4) + 1;
    if (i % 7 == 3) {
      l.sku = "LOOSE-" + std::to_string(i);
      l.unitPrice = "0.50";
      l.description = "by hand " + std::to_string(i);
    } else if (i % 5 == 0) {
      l.barcode = barcode(i);
    } else {
      l.sku = sku(i == 32 ? 1 : i);  // line 32 repeats line 1's product
    }
    r.lines.push_back(l);
  }
  return r;
}

}  // namespace

TEST_CASE("a sale's lines written in batches come back one by one as given, in order", "[terminal]") {
  Store s(40);
  const SaleRequest r = mixedSale();
  auto sold = s.service.sale(r);
  REQUIRE(sold.hasValue());

  SaleRepository sales(s.db);
  const std::vector<ReceiptLine> lines = sales.receiptLines(r.saleId);
  REQUIRE(lines.size() == r.lines.size());
  Money sum;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    INFO("line " << i);
    const ReceiptLine& l = lines[i];
    const std::int64_t qty = static_cast<std::int64_t>(i % 4) + 1;
    CHECK(l.line.lineNo == static_cast<std::int64_t>(i + 1));
    CHECK(l.line.qty == qty);
    if (i % 7 == 3) {
      CHECK(l.line.sku == "LOOSE-" + std::to_string(i));
      CHECK(l.description == "by hand " + std::to_string(i));
      CHECK(l.amount == Money::fromMinor(50 * qty));
    } else {
      const std::size_t product = i == 32 ? 1 : i;
      CHECK(l.line.sku == sku(product));
      CHECK(l.description == "Product " + std::to_string(product));
      CHECK(l.amount == Money::fromMinor(100 * static_cast<std::int64_t>(product + 1) * qty));
    }
    sum += l.amount;
  }
  CHECK(sum == sold->subtotal);
  CHECK(s.service.verify().problems.empty());
}

TEST_CASE("a line of a batched lookup the catalogue lacks is refused by its own index, and nothing is written",
          "[terminal]") {
  Store s(40);
  SaleRequest r = mixedSale();
  r.lines[33].sku = "NOT-IN-CATALOGUE";  // in the last batch of 16
  r.lines[33].unitPrice.clear();
  r.lines[35].barcode = "6999999";  // a later line's error must not come first
  const std::int64_t sales = s.count("sales"), lines = s.count("sale_lines"), events = s.count("outbox");
  auto refused = s.service.sale(r);
  REQUIRE_FALSE(refused.hasValue());
  CHECK(refused.error().code == std::string(errc::kNotFound));
  CHECK(refused.error().field == "lines[33].sku");
  CHECK(s.count("sales") == sales);
  CHECK(s.count("sale_lines") == lines);
  CHECK(s.count("outbox") == events);
}
