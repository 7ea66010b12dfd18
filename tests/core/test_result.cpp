// Result<T, E>: the one outcome type, with the business Error by default or a layer's own failure.
#include <catch2/catch.hpp>

#include <string>

#include "loyalty/core/result.hpp"

using loyalty::Error;
using loyalty::Result;

namespace {

struct TransportFailure {
  int status = 0;
  std::string message;
};

Result<int> half(int n) {
  if (n % 2 != 0) return loyalty::invalidArgument("n", "n must be even");
  return n / 2;
}

Result<std::string, TransportFailure> fetch(bool reachable) {
  if (!reachable) return TransportFailure{503, "head office is busy"};
  return std::string("body");
}

}  // namespace

TEST_CASE("a result holds a value or a business error naming the field", "[core]") {
  const auto even = half(4);
  REQUIRE(even);
  CHECK(*even == 2);
  const auto odd = half(3);
  REQUIRE_FALSE(odd);
  CHECK(odd.error() == Error{loyalty::errc::kInvalidArgument, "n", "n must be even"});
}

TEST_CASE("a result carries a layer's own failure type with the same interface", "[core]") {
  const auto got = fetch(true);
  REQUIRE(got.hasValue());
  CHECK(got.value() == "body");
  CHECK(got->size() == 4);
  const auto busy = fetch(false);
  REQUIRE_FALSE(busy);
  CHECK(busy.error().status == 503);
  CHECK(busy.error().message == "head office is busy");
}
