#pragma once
/// @brief The screen's background as a clear rather than a quad.
///
/// The counter and customer root windows fill the screen with their opaque background (a
/// Wayland compositor must get an opaque window). Drawn as ImGui draws it, that is a blended,
/// textured quad over two million pixels at 1920x1080: llvmpipe shades every one of them, about
/// half of what a frame costs it, where clearing the framebuffer to the same colour costs a
/// fraction. An opaque colour drawn over anything is that colour, so the picture is the same.

#include <imgui.h>

#include <optional>

namespace loyalty::ui {

/// If the frame's first draw command starts with an opaque quad of one colour over the whole
/// display (a root window's background, as ImGui's Begin draws it), removes the quad from that
/// command and returns its colour, for the caller to clear the framebuffer with before drawing.
/// Anything else (a rounded, translucent or smaller background, none) is left as it is.
std::optional<ImVec4> takeScreenBackground(ImDrawData* data);

}  // namespace loyalty::ui
