// The root window's background becomes the framebuffer's clear colour, and only when that draws
// the same picture: an opaque quad of one colour over the whole display.
#include <catch2/catch.hpp>

#include <imgui.h>

#include "imgui_context.hpp"
#include "loyalty/ui/frame_background.hpp"

using namespace loyalty::ui;

namespace {

/// One frame of a root window the way the counter's is made (full screen, no decoration).
class Frame {
 public:
  Frame() {
    loyalty::test::ImGuiContextForTest::buildDefaultAtlas();
    ImGui::GetStyle().Colors[ImGuiCol_WindowBg] = ImVec4(0.09f, 0.10f, 0.12f, 1.0f);
    ImGui::GetStyle().WindowBorderSize = 0;
  }

  ImDrawData* draw(ImVec2 size, float alpha = 1.0f, float rounding = 0.0f) {
    ImGui::GetStyle().WindowRounding = rounding;
    for (int frame = 0; frame < 2; ++frame) {  // a new window shows from its second frame
      ImGui::NewFrame();
      ImGui::SetNextWindowPos(ImVec2(0, 0));
      ImGui::SetNextWindowSize(size);
      ImGui::SetNextWindowBgAlpha(alpha);
      ImGui::Begin("counter", nullptr, ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove);
      ImGui::Button("OK");
      ImGui::TextUnformatted("text");
      ImGui::End();
      ImGui::Render();
    }
    return ImGui::GetDrawData();
  }

 private:
  loyalty::test::ImGuiContextForTest m_ctx{ImVec2(1920, 1080)};
};

}  // namespace

TEST_CASE("The root window's opaque background becomes the clear colour, the rest is drawn", "[ui]") {
  Frame f;
  ImDrawData* data = f.draw(ImVec2(1920, 1080));
  REQUIRE(data->CmdListsCount >= 1);
  const auto elements = [&] {
    unsigned n = 0;
    for (const ImDrawCmd& c : data->CmdLists[0]->CmdBuffer) n += c.ElemCount;
    return n;
  };
  const ImDrawCmd before = data->CmdLists[0]->CmdBuffer[0];
  const unsigned all = elements();
  const auto bg = takeScreenBackground(data);
  REQUIRE(bg);
  CHECK(bg->x == Approx(0.09f).margin(1.0 / 255));
  CHECK(bg->y == Approx(0.10f).margin(1.0 / 255));
  CHECK(bg->z == Approx(0.12f).margin(1.0 / 255));
  CHECK(bg->w == 1.0f);
  // The quad's six indices are skipped; the button and the text that followed it are drawn.
  const ImDrawCmd& after = data->CmdLists[0]->CmdBuffer[0];
  CHECK(after.IdxOffset == before.IdxOffset + 6);
  CHECK(after.ElemCount + 6 == before.ElemCount);
  CHECK(elements() + 6 == all);
  CHECK(elements() > 0);
  // Once taken, what is first is no longer a background: a second call leaves it alone.
  CHECK_FALSE(takeScreenBackground(data));
}

TEST_CASE("A background that would not look the same as a clear is drawn as it is", "[ui]") {
  Frame f;
  SECTION("translucent") {
    ImDrawData* data = f.draw(ImVec2(1920, 1080), 0.5f);
    const unsigned before = data->CmdLists[0]->CmdBuffer[0].ElemCount;
    CHECK_FALSE(takeScreenBackground(data));
    CHECK(data->CmdLists[0]->CmdBuffer[0].ElemCount == before);
  }
  SECTION("smaller than the display") {
    ImDrawData* data = f.draw(ImVec2(1000, 1080));
    CHECK_FALSE(takeScreenBackground(data));
  }
  SECTION("rounded corners") {
    ImDrawData* data = f.draw(ImVec2(1920, 1080), 1.0f, 12.0f);
    CHECK_FALSE(takeScreenBackground(data));
  }
  SECTION("none") {
    ImDrawData* data = f.draw(ImVec2(1920, 1080), 0.0f);
    CHECK_FALSE(takeScreenBackground(data));
  }
  CHECK_FALSE(takeScreenBackground(nullptr));
}
