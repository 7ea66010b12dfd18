#include "loyalty/ui/wayland_display.hpp"

#include <wayland-client.h>

#include <cstdlib>
#include <cstring>
#include <strings.h>

namespace loyalty::ui::wayland {

namespace {

bool set(const char* name) {
  const char* v = std::getenv(name);
  return v && *v;
}

void onGlobal(void* data, wl_registry*, uint32_t, const char* interface, uint32_t) {
  if (std::strcmp(interface, wl_seat_interface.name) == 0) *static_cast<bool*>(data) = true;
}

void onGlobalRemove(void*, wl_registry*, uint32_t) {}

const wl_registry_listener kRegistry{onGlobal, onGlobalRemove};

}  // namespace

bool sdlWillUseWayland() {
  if (const char* driver = std::getenv("SDL_VIDEODRIVER"); driver && *driver) {
    return strncasecmp(driver, "wayland", 7) == 0;  // a list ("wayland,x11") starts with it
  }
  if (set("DISPLAY")) return false;
  const char* session = std::getenv("XDG_SESSION_TYPE");
  return set("WAYLAND_DISPLAY") || (session && std::strcmp(session, "wayland") == 0);
}

Seat probeSeat() {
  if (set("WAYLAND_SOCKET")) return Seat::kUnknown;
  wl_display* display = wl_display_connect(nullptr);
  if (!display) return Seat::kUnknown;
  bool seat = false;
  wl_registry* registry = wl_display_get_registry(display);
  wl_registry_add_listener(registry, &kRegistry, &seat);
  const bool answered = wl_display_roundtrip(display) >= 0;
  wl_registry_destroy(registry);
  wl_display_disconnect(display);
  if (!answered) return Seat::kUnknown;
  return seat ? Seat::kPresent : Seat::kMissing;
}

int connectionError(wl_display* display) { return display ? wl_display_get_error(display) : 0; }

std::string displayName() {
  const char* name = std::getenv("WAYLAND_DISPLAY");
  return name && *name ? name : "wayland-0";
}

}  // namespace loyalty::ui::wayland
