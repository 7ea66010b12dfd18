#include "loyalty/ui/frame_background.hpp"

#include <algorithm>
#include <iterator>

namespace loyalty::ui {

std::optional<ImVec4> takeScreenBackground(ImDrawData* data) {
  if (!data || !data->Valid || data->CmdListsCount == 0) return std::nullopt;
  ImDrawList* list = data->CmdLists[0];
  if (list->CmdBuffer.Size == 0 || list->IdxBuffer.Size < 6 || list->VtxBuffer.Size < 4) return std::nullopt;
  ImDrawCmd& cmd = list->CmdBuffer[0];
  if (cmd.UserCallback || cmd.ElemCount < 6 || cmd.IdxOffset != 0 || cmd.VtxOffset != 0) return std::nullopt;
  // ImDrawList::PrimRect: corners a, (b.x, a.y), b, (a.x, b.y); triangles 0 1 2 and 0 2 3.
  static constexpr ImDrawIdx kQuad[] = {0, 1, 2, 0, 2, 3};
  if (!std::equal(std::begin(kQuad), std::end(kQuad), list->IdxBuffer.Data)) return std::nullopt;
  const ImVec2 a = data->DisplayPos;
  const ImVec2 b(a.x + data->DisplaySize.x, a.y + data->DisplaySize.y);
  const ImDrawVert* v = list->VtxBuffer.Data;
  const ImVec2 corners[] = {a, ImVec2(b.x, a.y), b, ImVec2(a.x, b.y)};
  for (int i = 0; i < 4; ++i) {
    // One colour, opaque, one texel (the atlas's white pixel): the quad is that colour exactly.
    if (v[i].pos.x != corners[i].x || v[i].pos.y != corners[i].y || v[i].col != v[0].col ||
        v[i].uv.x != v[0].uv.x || v[i].uv.y != v[0].uv.y) {
      return std::nullopt;
    }
  }
  if ((v[0].col & IM_COL32_A_MASK) != IM_COL32_A_MASK) return std::nullopt;
  if (cmd.ClipRect.x > a.x || cmd.ClipRect.y > a.y || cmd.ClipRect.z < b.x || cmd.ClipRect.w < b.y) return std::nullopt;
  cmd.IdxOffset += 6;
  cmd.ElemCount -= 6;
  return ImGui::ColorConvertU32ToFloat4(v[0].col);
}

}  // namespace loyalty::ui
