#pragma once
/// @brief Redraw only what changed: the part of the screen a frame's draw lists differ in.
///
/// ImGui rebuilds every frame whole. On a counter without a GPU (Mesa's llvmpipe) shading the
/// pixels is most of a frame's cost, yet a keystroke changes a field and a list, not the screen.
/// The screen is cut into tiles; each tile keeps a hash of every triangle drawn over it (its
/// vertices, texture and clip rectangle, in drawing order). Tiles whose hash differs from the
/// previous frame's are the damage: the frame is drawn clipped to the rectangle around them, and
/// only that rectangle goes to the screen. Outside it the back buffer still holds the previous
/// frame, which was the same there.

#include <imgui.h>

#include <cstdint>
#include <vector>

namespace loyalty::ui {

/// A rectangle of framebuffer pixels, y down (as ImGui's coordinates): [x0, x1) x [y0, y1).
struct PixelRect {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  bool empty() const { return x1 <= x0 || y1 <= y0; }
  long long area() const { return empty() ? 0 : static_cast<long long>(x1 - x0) * (y1 - y0); }
  friend bool operator==(const PixelRect&, const PixelRect&) = default;
};

class FrameDamage {
 public:
  static constexpr int kTile = 32;  ///< pixels; a few thousand tiles at 1920x1080
  static constexpr std::size_t kMaxBands = 3;

  /// The area of a `width` x `height` framebuffer that `data` draws differently from the frame
  /// given to the previous call: the whole framebuffer at the first call, after `invalidate()`, when
  /// the size or the clear colour changed; empty when nothing did.
  ///
  /// Triangles that sample a texture whose pixels changed since (`textureChanged`) count as
  /// changed, except solid ones: those of `solid` (the font atlas ImGui draws shapes with) that
  /// sample only its white pixel at `whiteUv`, white in every build of the atlas.
  PixelRect update(const ImDrawData& data, int width, int height, ImU32 clearColour, ImTextureID solid = ImTextureID{},
                   ImVec2 whiteUv = ImVec2(-1, -1));
  /// The last update's damage as up to kMaxBands rectangles, top to bottom, within the rectangle
  /// it returned: runs of tile rows with changes, so a change at the top and one further down do
  /// not redraw all that lies between them. Empty when nothing changed.
  const std::vector<PixelRect>& bands() const { return m_bands; }
  /// The pixels of `texture` changed (a font atlas rebuilt into it): what it draws is redrawn.
  void textureChanged(ImTextureID texture);
  /// The next update answers the whole framebuffer (the window was exposed).
  void invalidate() { m_valid = false; }

 private:
  int m_width = 0, m_height = 0, m_cols = 0, m_rows = 0;
  ImU32 m_clear = 0;
  bool m_valid = false;
  std::vector<std::uint64_t> m_previous, m_current;
  std::vector<PixelRect> m_bands;
  std::vector<std::pair<ImTextureID, std::uint64_t>> m_generations;  ///< of the textures changed so far
};

/// Narrows every draw command's clip rectangle to `area` (framebuffer pixels); a command left
/// with nothing to draw gets an empty rectangle, which the renderer skips. Returns the original
/// rectangles in command order, for restoreClipRects.
std::vector<ImVec4> clipDrawData(ImDrawData& data, const PixelRect& area);
void restoreClipRects(ImDrawData& data, const std::vector<ImVec4>& original);

}  // namespace loyalty::ui
