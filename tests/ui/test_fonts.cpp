// The counter app's fonts: built from the memory-mapped collection, never from a copy of it.
#include <catch2/catch.hpp>

#include <imgui.h>

#include <filesystem>

#include "loyalty/ui/fonts.hpp"

using namespace loyalty::ui;

TEST_CASE("Fonts are built from the mapped font collection, not from copies of it", "[ui][fonts]") {
  const std::string path = defaultFontPath();
  if (!std::filesystem::exists(path)) {
    WARN("no CJK font at " << path << " (fonts-noto-cjk): nothing to check");
    return;
  }
  ImFontAtlas atlas;
  FontSet fonts;
  GlyphSet glyphs;
  glyphs.add("王小明");
  buildFonts(atlas, fonts, path, 1.0f, glyphs);
  REQUIRE(fonts.cjk);
  // ImGui copies font data it does not own, 20 MB per size for the atlas's life: each size must
  // read the mapping itself, and the atlas must never free it.
  REQUIRE(atlas.ConfigData.Size == 3);
  for (const ImFontConfig& source : atlas.ConfigData) {
    CHECK(source.FontData == fonts.file->data());
    CHECK_FALSE(source.FontDataOwnedByAtlas);
  }
  // A rebuild with a new character (Clear() first) reads the same mapping again.
  glyphs.add("丰");
  buildFonts(atlas, fonts, path, 1.0f, glyphs);
  CHECK(fonts.body->FindGlyphNoFallback(0x4E30) != nullptr);  // 丰
  CHECK(fonts.huge->FindGlyphNoFallback(0x738B) != nullptr);  // 王
  for (const ImFontConfig& source : atlas.ConfigData) CHECK(source.FontData == fonts.file->data());
}
