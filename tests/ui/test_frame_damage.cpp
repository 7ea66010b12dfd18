// What changed between two frames' draw lists, as the rectangle the counter redraws: nothing when
// nothing changed, the widget that changed and no more, everything the first time, on a size or
// clear colour change, and wherever a texture whose pixels changed is sampled (but not where only
// its white pixel is). The end-to-end tests prove the pictures equal (LOYALTY_UI_DAMAGE_CHECK).
#include <catch2/catch.hpp>

#include <imgui.h>

#include <string>

#include "imgui_context.hpp"
#include "loyalty/ui/frame_damage.hpp"

using namespace loyalty::ui;

namespace {

class Frames {
 public:
  Frames() {
    loyalty::test::ImGuiContextForTest::buildDefaultAtlas();
    ImGui::GetIO().Fonts->SetTexID(reinterpret_cast<ImTextureID>(std::intptr_t{7}));
    ImGui::GetStyle().WindowBorderSize = 0;  // as the counter's root window (no textured border lines)
  }

  /// A root window with a label at (100, 600) and a field whose text is `typed`.
  const ImDrawData& draw(const std::string& typed, const std::string& label = "Member") {
    for (int frame = 0; frame < 2; ++frame) {
      ImGui::NewFrame();
      ImGui::SetNextWindowPos(ImVec2(0, 0));
      ImGui::SetNextWindowSize(ImVec2(1920, 1080));
      ImGui::Begin("counter", nullptr, ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove);
      ImGui::SetCursorPos(ImVec2(100, 100));
      ImGui::TextUnformatted(typed.c_str());
      ImGui::SetCursorPos(ImVec2(100, 600));
      ImGui::Button(label.c_str());
      ImGui::End();
      ImGui::Render();
    }
    return *ImGui::GetDrawData();
  }

  ImTextureID texture() const { return ImGui::GetIO().Fonts->TexID; }
  ImVec2 white() const { return ImGui::GetIO().Fonts->TexUvWhitePixel; }

 private:
  loyalty::test::ImGuiContextForTest m_ctx{ImVec2(1920, 1080)};
};

constexpr ImU32 kClear = IM_COL32(23, 25, 31, 255);

}  // namespace

TEST_CASE("Only the tiles a changed widget covers are redrawn", "[ui]") {
  Frames f;
  FrameDamage damage;
  const PixelRect whole{0, 0, 1920, 1080};
  CHECK(damage.update(f.draw("138"), 1920, 1080, kClear, f.texture(), f.white()) == whole);  // first frame
  CHECK(damage.update(f.draw("138"), 1920, 1080, kClear, f.texture(), f.white()).empty());    // the same picture

  const PixelRect typed = damage.update(f.draw("1380"), 1920, 1080, kClear, f.texture(), f.white());
  REQUIRE_FALSE(typed.empty());
  // The text at (100, 100): its tiles, not the button at y 600, far less than the screen.
  CHECK(typed.x0 <= 100);
  CHECK(typed.y0 <= 100);
  CHECK(typed.y1 <= 160);
  CHECK(typed.area() < whole.area() / 50);
  // Tile-aligned.
  CHECK(typed.x0 % FrameDamage::kTile == 0);
  CHECK(typed.y0 % FrameDamage::kTile == 0);

  const PixelRect button = damage.update(f.draw("1380", "Enrol"), 1920, 1080, kClear, f.texture(), f.white());
  REQUIRE_FALSE(button.empty());
  CHECK(button.y0 >= 576);
  CHECK(button.y1 <= 672);
  REQUIRE(damage.bands().size() == 1);
  CHECK(damage.bands()[0] == button);

  // Both change: two bands, the rows between them not redrawn.
  const PixelRect both = damage.update(f.draw("13800", "Sale"), 1920, 1080, kClear, f.texture(), f.white());
  REQUIRE(damage.bands().size() == 2);
  const auto& bands = damage.bands();
  CHECK(bands[0].y1 <= 160);
  CHECK(bands[1].y0 >= 576);
  CHECK(bands[0].area() + bands[1].area() < both.area() / 3);
  CHECK(damage.update(f.draw("13800", "Sale"), 1920, 1080, kClear, f.texture(), f.white()).empty());
  CHECK(damage.bands().empty());
}

TEST_CASE("Everything is redrawn after a size, clear colour or exposure, and a rebuilt texture redraws its glyphs", "[ui]") {
  Frames f;
  FrameDamage damage;
  damage.update(f.draw("a"), 1920, 1080, kClear, f.texture(), f.white());
  CHECK(damage.update(f.draw("a"), 1280, 800, kClear, f.texture(), f.white()) == PixelRect{0, 0, 1280, 800});
  CHECK(damage.update(f.draw("a"), 1280, 800, IM_COL32(0, 0, 0, 255), f.texture(), f.white()) == PixelRect{0, 0, 1280, 800});
  CHECK(damage.update(f.draw("a"), 1280, 800, IM_COL32(0, 0, 0, 255), f.texture(), f.white()).empty());
  damage.invalidate();
  CHECK(damage.update(f.draw("a"), 1280, 800, IM_COL32(0, 0, 0, 255), f.texture(), f.white()) == PixelRect{0, 0, 1280, 800});

  // The atlas rebuilt into the same texture: text is drawn again; the window's solid background
  // (the white pixel only) is not, so the damage is the text's and the button's, not the screen.
  damage.textureChanged(f.texture());
  const PixelRect glyphs = damage.update(f.draw("a"), 1280, 800, IM_COL32(0, 0, 0, 255), f.texture(), f.white());
  REQUIRE_FALSE(glyphs.empty());
  CHECK(glyphs.area() < PixelRect{0, 0, 1280, 800}.area() / 2);
  // Without the white pixel to go by, every triangle of the texture counts.
  damage.textureChanged(f.texture());
  CHECK(damage.update(f.draw("a"), 1280, 800, IM_COL32(0, 0, 0, 255)).area() >= PixelRect{0, 0, 1280, 800}.area() * 9 / 10);
}

TEST_CASE("Clipping the draw lists to the damage, and back", "[ui]") {
  Frames f;
  ImDrawData data = f.draw("138");
  const PixelRect area{64, 64, 256, 192};
  const auto original = clipDrawData(data, area);
  for (int l = 0; l < data.CmdListsCount; ++l) {
    for (const ImDrawCmd& cmd : data.CmdLists[l]->CmdBuffer) {
      CHECK(cmd.ClipRect.x >= 64);
      CHECK(cmd.ClipRect.y >= 64);
      CHECK(cmd.ClipRect.z <= 256);
      CHECK(cmd.ClipRect.w <= 192);
    }
  }
  restoreClipRects(data, original);
  std::size_t i = 0;
  for (int l = 0; l < data.CmdListsCount; ++l) {
    for (const ImDrawCmd& cmd : data.CmdLists[l]->CmdBuffer) {
      const ImVec4& o = original[i++];
      CHECK((cmd.ClipRect.x == o.x && cmd.ClipRect.y == o.y && cmd.ClipRect.z == o.z && cmd.ClipRect.w == o.w));
    }
  }
}
