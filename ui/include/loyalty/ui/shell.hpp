#pragma once
/// @brief The SDL2 + OpenGL 3 shell: the counter window (and optionally the customer display),
/// event-driven rendering, the store worker and the main-thread queue.

#include <optional>
#include <string>

#include "loyalty/ui/i18n.hpp"
#include "loyalty/ui/store_worker.hpp"

namespace loyalty::ui {

struct ShellOptions {
  bool windowed = false;         ///< default: full screen on the first display
  int width = 1024, height = 768;
  bool customerDisplay = false;  ///< a second window, on the second display when there is one
  std::optional<Lang> lang;      ///< default: the store's language
  std::string fontPath;          ///< empty: defaultFontPath()
  /// Test hook: after each frame whose tap targets moved, write "id x y w h" lines (screen
  /// pixels) to this file, so an end-to-end test can tap a button by id.
  std::string tapMapPath;
  /// Benchmark: drive the app through a scripted session, write figures as JSON here, exit.
  std::string benchOut;
  std::string benchStaff, benchPin, benchQuery;
  int benchIdleSeconds = 30;
};

/// Runs the app until the window is closed (or SIGINT/SIGTERM). Returns the exit code: 0, 3 when
/// there is no usable display (none, or a Wayland compositor without an input seat), 4 when the
/// Wayland compositor went away (a lost X server ends the process through Xlib, status 1), 6 when
/// LOYALTY_UI_DAMAGE_CHECK=1 found a frame drawn where it changed that differed from the same frame
/// drawn whole (the end-to-end tests run with the check on).
int runCounterApp(const ShellOptions& options, BackendFactory open);

}  // namespace loyalty::ui
