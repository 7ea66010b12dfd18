// Fleet updates on the wire: Debian's version order (what "never lower" means on both sides),
// the checks of what a package and a terminal's report may carry, the signed text and the offer.
#include <catch2/catch.hpp>

#include "loyalty/sync/release.hpp"

using namespace loyalty::sync;

TEST_CASE("versions compare in Debian's order", "[hq][sync]") {
  CHECK(compareVersions("1.0.0", "1.0.0") == 0);
  CHECK(compareVersions("1.0.1", "1.0.0") > 0);
  CHECK(compareVersions("1.0.10", "1.0.9") > 0);  // numbers, not text
  CHECK(compareVersions("1.0.0~rc1", "1.0.0") < 0);  // a tilde sorts before the release
  CHECK(compareVersions("1.0.0~t1", "1.0.0~t2") < 0);
  CHECK(compareVersions("1.0.0-2", "1.0.0-10") < 0);  // revisions by number
  CHECK(compareVersions("1:0.1", "9.9") > 0);        // the epoch first
  CHECK(compareVersions("1.0a", "1.0") > 0);
  CHECK(compareVersions("1.0+b1", "1.0") > 0);
  CHECK(compareVersions("01.0", "1.0") == 0);
}

TEST_CASE("package fields and terminal reports are checked, naming the field", "[hq][sync]") {
  CHECK(checkVersion("1.2.0~t1-1", "Version"));
  CHECK(checkVersion("2:1.0", "Version"));
  CHECK_FALSE(checkVersion("", "Version"));
  CHECK_FALSE(checkVersion("v1.0", "Version"));
  CHECK_FALSE(checkVersion("1.0 beta", "Version"));
  CHECK(checkVersion("1.0-", "Version").error().field == "Version");
  CHECK(checkPackageName("loyalty-terminal", "Package"));
  CHECK_FALSE(checkPackageName("Loyalty", "Package"));
  CHECK(checkArchitecture("arm64", "Architecture"));
  CHECK_FALSE(checkArchitecture("amd64\nX-Injected: 1", "Architecture"));

  const auto headers = [](std::map<std::string, std::string> h) {
    return [h](const char* name) -> std::optional<std::string> {
      const auto it = h.find(name);
      if (it == h.end()) return std::nullopt;
      return it->second;
    };
  };
  auto none = decodeTerminalReport(headers({}));
  REQUIRE(none);
  CHECK(none->empty());  // an older terminal sends nothing, and that is fine
  const TerminalReport full{"1.2.0", "amd64", "rolled_back", 7};
  std::map<std::string, std::string> sent;
  for (const auto& line : toHeaderLines(full)) sent[line.substr(0, line.find(':'))] = line.substr(line.find(':') + 2);
  auto back = decodeTerminalReport(headers(sent));
  REQUIRE(back);
  CHECK(*back == full);
  auto badState = decodeTerminalReport(headers({{header::kUpdateState, "exploded"}}));
  REQUIRE_FALSE(badState);
  CHECK(badState.error().field == header::kUpdateState);
  CHECK_FALSE(decodeTerminalReport(headers({{header::kOutboxPending, "-1"}})));
}

TEST_CASE("the signed text names every field and an offer survives its codec", "[hq][sync]") {
  const ReleaseManifest m{"loyalty-terminal", "1.2.0", "amd64", std::string(64, 'a'), 1234};
  CHECK(signedText(m) == "loyalty-release-v1\npackage=loyalty-terminal\nversion=1.2.0\narchitecture=amd64\nsha256=" +
                             std::string(64, 'a') + "\nsize=1234\n");
  const ReleaseOffer offer{m, "c2ln", "a2V5", "/api/v1/terminal/release/" + std::string(64, 'a') + ".deb"};
  auto decoded = decodeReleaseAnswer({{"release", toJson(offer)}});
  REQUIRE(decoded);
  REQUIRE(*decoded);
  CHECK(**decoded == offer);
  auto nothing = decodeReleaseAnswer({{"release", nullptr}});
  REQUIRE(nothing);
  CHECK_FALSE(*nothing);
  auto elsewhere = toJson(offer);
  elsewhere["url"] = "https://elsewhere.example/x.deb";
  auto refused = decodeReleaseAnswer({{"release", elsewhere}});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().field == "url");
}
