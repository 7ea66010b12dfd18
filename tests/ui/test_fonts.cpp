// The counter app's fonts: built from the memory-mapped collection, never from a copy of it;
// off the UI thread; huge in an atlas of its own.
#include <catch2/catch.hpp>

#include <imgui.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

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

TEST_CASE("An atlas is built off the UI thread, one build at a time, and taken whole", "[ui][fonts]") {
  const std::string path = defaultFontPath();
  if (!std::filesystem::exists(path)) {
    WARN("no CJK font at " << path << " (fonts-noto-cjk): nothing to check");
    return;
  }
  auto file = std::make_shared<MappedFile>(path);
  std::mutex m;
  std::condition_variable cv;
  int ready = 0;
  FontBuildThread builder([&] {
    std::lock_guard<std::mutex> lock(m);
    ++ready;
    cv.notify_all();
  });
  CHECK(builder.take() == nullptr);  // nothing started
  GlyphSet glyphs;
  glyphs.add("龘");  // not among the common hanzi
  REQUIRE(builder.start(path, 1.0f, glyphs, FontSizes::kHuge, file));
  CHECK(builder.pending());
  CHECK_FALSE(builder.start(path, 1.0f, glyphs, FontSizes::kHuge, file));  // one at a time
  {
    std::unique_lock<std::mutex> lock(m);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return ready == 1; }));
  }
  // The callback comes after the atlas is ready: whoever it wakes can take it.
  std::unique_ptr<FontAtlas> built = builder.take();
  REQUIRE(built);
  CHECK_FALSE(builder.pending());
  CHECK(builder.take() == nullptr);  // taken once
  REQUIRE(built->fonts.huge);
  CHECK(built->fonts.body == nullptr);  // only the sizes asked for
  CHECK(built->fonts.huge->FindGlyphNoFallback(0x9F98) != nullptr);  // 龘
  CHECK(built->glyphs.covers(glyphs));
  CHECK(built->fonts.file == file);  // the one mapping, not a second one
  CHECK(built->atlas.IsBuilt());
}

TEST_CASE("The huge size in its own atlas is drawn with its own texture", "[ui][fonts]") {
  // The counter app keeps body (with the common hanzi) in one atlas and huge in a small one that
  // a new name rebuilds: a frame must switch textures with the font.
  const std::string path = defaultFontPath();
  if (!std::filesystem::exists(path)) {
    WARN("no CJK font at " << path << " (fonts-noto-cjk): nothing to check");
    return;
  }
  FontAtlas main, huge;
  GlyphSet glyphs;
  glyphs.add("王小明");
  GlyphSet common = glyphs;
  common.addRanges(main.atlas.GetGlyphRangesChineseSimplifiedCommon());
  CHECK(common.covers(glyphs));
  CHECK_FALSE(glyphs.covers(common));
  buildFonts(main.atlas, main.fonts, path, 1.0f, common, FontSizes::kBody);
  huge.fonts.file = main.fonts.file;
  buildFonts(huge.atlas, huge.fonts, path, 1.0f, glyphs, FontSizes::kHuge);
  REQUIRE(main.fonts.body);
  CHECK(main.fonts.large == nullptr);
  REQUIRE(huge.fonts.huge);
  CHECK(main.fonts.huge == nullptr);
  CHECK(main.fonts.body->FindGlyphNoFallback(0x5F20) != nullptr);  // 张: common, not seen
  CHECK(huge.fonts.huge->FindGlyphNoFallback(0x5F20) == nullptr);
  CHECK(huge.fonts.huge->FindGlyphNoFallback(0x738B) != nullptr);  // 王: seen
  unsigned char* pixels = nullptr;
  int w = 0, h = 0;
  main.atlas.GetTexDataAsAlpha8(&pixels, &w, &h);
  huge.atlas.GetTexDataAsAlpha8(&pixels, &w, &h);
  main.atlas.SetTexID(reinterpret_cast<ImTextureID>(std::intptr_t{1}));
  huge.atlas.SetTexID(reinterpret_cast<ImTextureID>(std::intptr_t{2}));

  ImGuiContext* ctx = ImGui::CreateContext(&main.atlas);
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;
  io.DisplaySize = ImVec2(800, 600);
  io.DeltaTime = 1.0f / 60.0f;
  io.FontDefault = main.fonts.body;
  for (int frame = 0; frame < 2; ++frame) {  // a new window shows from its second frame
    ImGui::NewFrame();
    ImGui::Begin("w");
    ImGui::TextUnformatted("王小明");
    ImGui::PushFont(huge.fonts.huge);
    ImGui::TextUnformatted("王小明");
    ImGui::PopFont();
    ImGui::TextUnformatted("张");
    ImGui::End();
    ImGui::Render();
  }
  std::vector<std::intptr_t> textures;
  const ImDrawData* data = ImGui::GetDrawData();
  for (int i = 0; i < data->CmdListsCount; ++i) {
    for (const ImDrawCmd& cmd : data->CmdLists[i]->CmdBuffer) {
      if (cmd.ElemCount) textures.push_back(reinterpret_cast<std::intptr_t>(cmd.GetTexID()));
    }
  }
  ImGui::DestroyContext(ctx);
  textures.erase(std::unique(textures.begin(), textures.end()), textures.end());
  CHECK(textures == std::vector<std::intptr_t>{1, 2, 1});  // body, huge, body again
}
