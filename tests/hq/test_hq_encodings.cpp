// Head office's encodings of digests and random tokens (libsodium's hex and base64url).
#include <catch2/catch.hpp>
#include <string>

#include "loyalty/hq/crypto.hpp"

using loyalty::hq::randomToken;
using loyalty::hq::sha256Hex;

TEST_CASE("sha256Hex gives the lower-case hex of the SHA-256 digest", "[hq]") {
  CHECK(sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("randomToken gives unpadded base64url of its random bytes", "[hq]") {
  const auto isBase64Url = [](const std::string& s) {
    return s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
           std::string::npos;
  };
  for (const auto& [bytes, chars] :
       {std::pair{1u, 2u}, std::pair{2u, 3u}, std::pair{3u, 4u}, std::pair{32u, 43u}}) {
    INFO(bytes);
    const std::string token = randomToken(bytes);
    CHECK(token.size() == chars);
    CHECK(isBase64Url(token));
  }
  CHECK(randomToken(32) != randomToken(32));
}
