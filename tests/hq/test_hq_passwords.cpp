// The password verifier of the dashboard sign-in: argon2id hashes, and a dummy hash verified for
// unknown users so both cost the same. The dummy is made by the first verification (whatever the
// user), not when head office starts, so a restart does not wait for an argon2 hash.
#include <catch2/catch.hpp>
#include <sodium.h>

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "loyalty/hq/throttle.hpp"

using loyalty::hq::PasswordVerifier;

namespace {

std::string hashOf(const std::string& password) {
  REQUIRE(sodium_init() >= 0);
  char hash[crypto_pwhash_STRBYTES];
  REQUIRE(crypto_pwhash_str(hash, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0);
  return hash;
}

}  // namespace

TEST_CASE("Passwords: the first verification, of a known or an unknown user, makes the dummy, and answers are right",
          "[hq][passwords]") {
  const std::string hash = hashOf("right-password-1");
  SECTION("a known user first") {
    PasswordVerifier v;
    CHECK(v.verifications() == 0);
    CHECK(v.verify(hash, "right-password-1"));
    CHECK_FALSE(v.verify(std::nullopt, "right-password-1"));
    CHECK_FALSE(v.verify(hash, "wrong-password"));
    CHECK(v.verifications() == 3);
  }
  SECTION("an unknown user first, from several threads at once") {
    PasswordVerifier v;
    std::vector<int> answers(4, -1);
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) threads.emplace_back([&, i] { answers[static_cast<std::size_t>(i)] = v.verify(std::nullopt, "any") ? 1 : 0; });
    for (auto& t : threads) t.join();
    CHECK(answers == std::vector<int>(4, 0));
    CHECK(v.verify(hash, "right-password-1"));
    CHECK_FALSE(v.verify(std::nullopt, ""));
    CHECK(v.verifications() == 6);
  }
}
