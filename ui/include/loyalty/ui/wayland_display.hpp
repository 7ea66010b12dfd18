#pragma once
/// @brief The Wayland facts the shell checks around SDL: whether SDL will use Wayland, whether
/// the compositor has an input seat, and whether the connection is still alive.

#include <string>

struct wl_display;

namespace loyalty::ui::wayland {

/// True when SDL 2.26 will pick its Wayland video driver: SDL_VIDEODRIVER asks for it, or it is
/// unset, there is no X display (SDL tries X11 first) and a Wayland session is announced.
bool sdlWillUseWayland();

enum class Seat {
  kPresent,
  kMissing,       ///< the compositor announces no wl_seat: no touchscreen, keyboard or pointer
  kUnknown,       ///< not asked (a socket handed over once) or no answer; SDL reports that itself
};

/// Connects to $WAYLAND_DISPLAY, lists the compositor's globals once and disconnects. A socket
/// handed over in $WAYLAND_SOCKET serves one connection only, SDL's: then kUnknown.
Seat probeSeat();

/// The fatal error of SDL's connection (an errno value), 0 while the compositor is there.
int connectionError(wl_display* display);

/// $WAYLAND_DISPLAY, or "wayland-0" as libwayland defaults, for messages.
std::string displayName();

}  // namespace loyalty::ui::wayland
