#pragma once
// An ImGui context for the headless tests: current while it lives, no ini file, a display of the
// given size at 60 frames a second.

#include <imgui.h>

namespace loyalty::test {

class ImGuiContextForTest {
 public:
  explicit ImGuiContextForTest(ImVec2 display) : m_ctx(ImGui::CreateContext()) {
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr;
    io.DisplaySize = display;
    io.DeltaTime = 1.0f / 60.0f;
  }
  ~ImGuiContextForTest() { ImGui::DestroyContext(m_ctx); }
  ImGuiContextForTest(const ImGuiContextForTest&) = delete;
  ImGuiContextForTest& operator=(const ImGuiContextForTest&) = delete;

  /// Builds the default font's atlas (one byte per pixel), as a renderer would take it.
  static void buildDefaultAtlas() {
    unsigned char* pixels = nullptr;
    int w = 0, h = 0;
    ImGui::GetIO().Fonts->GetTexDataAsAlpha8(&pixels, &w, &h);
  }

 private:
  ImGuiContext* m_ctx;
};

}  // namespace loyalty::test
