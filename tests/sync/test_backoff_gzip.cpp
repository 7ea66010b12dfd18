// Backoff with full jitter and Retry-After, and the gzip of request bodies.
#include <catch2/catch.hpp>
#include <random>

#include "loyalty/sync/client/backoff.hpp"
#include "loyalty/sync/client/gzip.hpp"

using namespace loyalty::sync;
using namespace std::chrono_literals;

TEST_CASE("Full jitter stays within a window that doubles up to the cap", "[sync]") {
  std::mt19937_64 gen(7);
  Backoff backoff({1000ms, 5min}, [&] { return gen(); });
  for (int failure = 0; failure < 20; ++failure) {
    const auto window = backoff.ceiling(failure);
    CHECK(window == std::min<std::chrono::milliseconds>(1000ms * (1LL << std::min(failure, 20)), 5min));
    const auto d = backoff.failure();
    CHECK(d >= 0ms);
    CHECK(d <= window);
  }
  CHECK(backoff.ceiling(backoff.failures()) == 5min);
  backoff.success();
  CHECK(backoff.failures() == 0);
  CHECK(backoff.failure() <= 1000ms);
}

TEST_CASE("Full jitter uses the whole window, from zero to its ceiling", "[sync]") {
  std::uint64_t next = 0;
  Backoff backoff({1000ms, 5min}, [&] { return next; });
  next = 0;
  CHECK(backoff.failure() == 0ms);  // window 1 s
  next = 2000;
  CHECK(backoff.failure() == 2000ms);  // window 2 s: 2000 % 2001
  next = 4001;
  CHECK(backoff.failure() == 0ms);  // window 4 s: 4001 % 4001
  // Spread: with a real generator, attempts after the same failure count differ.
  std::mt19937_64 gen(1);
  Backoff a({1000ms, 5min}, [&] { return gen(); });
  Backoff b({1000ms, 5min}, [&] { return gen(); });
  for (int i = 0; i < 6; ++i) {
    (void)a.failure();
    (void)b.failure();
  }
  CHECK(a.failure() != b.failure());
}

TEST_CASE("Retry-After is a lower bound on the delay, clamped to the cap", "[sync]") {
  Backoff backoff({1000ms, 5min}, [] { return std::uint64_t{0}; });
  CHECK(backoff.failure(30s) == 30s);
  CHECK(backoff.failure(std::chrono::hours(2)) == 5min);
  std::uint64_t big = 3500;
  Backoff jittered({1000ms, 5min}, [&] { return big; });
  (void)jittered.failure();
  CHECK(jittered.failure(1s) == 1499ms);  // window 2 s: 3500 % 2001 beats the 1 s asked for
  CHECK(jittered.failure(10s) == 10s);    // window 4 s: 3500 < 10 s asked for
}

TEST_CASE("Retry-After values: seconds, HTTP dates, garbage", "[sync]") {
  const auto now = std::chrono::sys_days{std::chrono::year{2026} / 10 / 21} + 7h + 28min;
  CHECK(parseRetryAfter("120", now) == 120s);
  CHECK(parseRetryAfter(" 0 ", now) == 0s);
  CHECK(parseRetryAfter("Wed, 21 Oct 2026 07:30:00 GMT", now) == 120s);
  CHECK(parseRetryAfter("Wed, 21 Oct 2026 07:00:00 GMT", now) == 0ms);  // in the past: now
  CHECK(parseRetryAfter("99999999999", now) == std::chrono::milliseconds(24h));
  CHECK_FALSE(parseRetryAfter("", now));
  CHECK_FALSE(parseRetryAfter("-5", now));
  CHECK_FALSE(parseRetryAfter("soon", now));
  CHECK_FALSE(parseRetryAfter("Wed, 32 Oct 2026 07:30:00 GMT", now));
  CHECK_FALSE(parseRetryAfter("Wed, 21 Foo 2026 07:30:00 GMT", now));
}

TEST_CASE("gzip round-trips bodies and refuses broken or oversized streams", "[sync]") {
  std::string body;
  for (int i = 0; i < 5000; ++i)
    body += R"({"event_id":"e)" + std::to_string(i) + R"(","type":"sale.recorded"},)";
  const std::string gz = gzipCompress(body);
  REQUIRE(gz.size() > 18);
  CHECK(static_cast<unsigned char>(gz[0]) == 0x1f);  // gzip magic, not a bare zlib stream
  CHECK(static_cast<unsigned char>(gz[1]) == 0x8b);
  CHECK(gz.size() < body.size() / 5);
  CHECK(gzipDecompress(gz, body.size()) == body);
  CHECK_FALSE(gzipDecompress(gz, body.size() - 1));                   // over the limit
  CHECK_FALSE(gzipDecompress(gz.substr(0, gz.size() / 2), 1 << 24));  // truncated
  CHECK_FALSE(gzipDecompress("not gzip at all", 1 << 24));
  CHECK(gzipDecompress(gzipCompress(""), 10) == std::string());
}
