#include "loyalty/ui/shell.hpp"

#include <SDL.h>
#include <SDL_opengl.h>
#include <SDL_syswm.h>
#include <imgui.h>
#include <imgui_impl_opengl3.h>
#include <imgui_impl_sdl.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <deque>
#include <future>
#include <map>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

#include "loyalty/ui/fonts.hpp"
#include "loyalty/ui/frame_background.hpp"
#include "loyalty/ui/frame_damage.hpp"
#include "loyalty/ui/pinyin_engine.hpp"
#include "loyalty/ui/screens.hpp"
#include "loyalty/ui/wayland_display.hpp"

namespace loyalty::ui {

namespace {

using Clock = std::chrono::steady_clock;

/// How long a frame that sent a lookup waits for its answer before it is drawn without it.
constexpr std::chrono::microseconds kSameFrameAnswer{4000};

// [SECTION] Windows

/// One SDL window with its own ImGui context (ImGui 1.86 has no multi-viewport).
struct Window {
  SDL_Window* sdl = nullptr;
  ImGuiContext* ctx = nullptr;
  Uint32 id = 0;
  TapMap taps, written;
  std::string tapPath;
  /// The pointer as the events processed so far left it. The SDL backend of ImGui 1.86 reads
  /// the live pointer state instead, which already includes events not yet processed, so a
  /// move and a press in one batch would arrive in the same frame and the press could be lost.
  bool pointerSeen = false, pointerDown = false;
  ImVec2 pointer;
  /// X11 with GLX_MESA_copy_sub_buffer (Mesa, llvmpipe included): frames are drawn where they
  /// changed and only that part is copied to the screen (frame_damage.hpp). Null: whole frames.
  using CopySubBuffer = void (*)(Display*, ::Window, int, int, int, int);
  CopySubBuffer copySubBuffer = nullptr;
  Display* x11 = nullptr;
  ::Window xid = 0;
  FrameDamage damage;
  /// With a customer display, each window's picture is kept by the app: the windows share one GL
  /// context, and switching it between them does not keep a window's back buffer (Mesa's software
  /// GLX). Frames are drawn here where they changed, and that part is copied to the back buffer
  /// and on to the screen. A window alone draws into its back buffer, which nothing else touches.
  GLuint canvas = 0, canvasColour = 0;
  int canvasWidth = 0, canvasHeight = 0;
};

/// The GL 3.0 framebuffer calls the canvas needs (not in the GL 1.x the shell links against).
struct CanvasGl {
  PFNGLGENFRAMEBUFFERSPROC genFramebuffers = nullptr;
  PFNGLDELETEFRAMEBUFFERSPROC deleteFramebuffers = nullptr;
  PFNGLBINDFRAMEBUFFERPROC bindFramebuffer = nullptr;
  PFNGLGENRENDERBUFFERSPROC genRenderbuffers = nullptr;
  PFNGLDELETERENDERBUFFERSPROC deleteRenderbuffers = nullptr;
  PFNGLBINDRENDERBUFFERPROC bindRenderbuffer = nullptr;
  PFNGLRENDERBUFFERSTORAGEPROC renderbufferStorage = nullptr;
  PFNGLFRAMEBUFFERRENDERBUFFERPROC framebufferRenderbuffer = nullptr;
  PFNGLCHECKFRAMEBUFFERSTATUSPROC checkFramebufferStatus = nullptr;
  PFNGLBLITFRAMEBUFFERPROC blitFramebuffer = nullptr;

  bool load() {
    const auto get = [](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(SDL_GL_GetProcAddress(name));
      return fn != nullptr;
    };
    return get(genFramebuffers, "glGenFramebuffers") && get(deleteFramebuffers, "glDeleteFramebuffers") &&
           get(bindFramebuffer, "glBindFramebuffer") && get(genRenderbuffers, "glGenRenderbuffers") &&
           get(deleteRenderbuffers, "glDeleteRenderbuffers") && get(bindRenderbuffer, "glBindRenderbuffer") &&
           get(renderbufferStorage, "glRenderbufferStorage") &&
           get(framebufferRenderbuffer, "glFramebufferRenderbuffer") &&
           get(checkFramebufferStatus, "glCheckFramebufferStatus") && get(blitFramebuffer, "glBlitFramebuffer");
  }
};

Uint32 windowOf(const SDL_Event& e) {
  switch (e.type) {
    case SDL_WINDOWEVENT: return e.window.windowID;
    case SDL_KEYDOWN:
    case SDL_KEYUP: return e.key.windowID;
    case SDL_TEXTINPUT: return e.text.windowID;
    case SDL_TEXTEDITING: return e.edit.windowID;
    case SDL_MOUSEMOTION: return e.motion.windowID;
    case SDL_MOUSEBUTTONDOWN:
    case SDL_MOUSEBUTTONUP: return e.button.windowID;
    case SDL_MOUSEWHEEL: return e.wheel.windowID;
    default: return 0;
  }
}

void styleForTouch(float scale) {
  ImGui::StyleColorsDark();
  ImGuiStyle& s = ImGui::GetStyle();
  s.FramePadding = ImVec2(12, 10);
  s.ItemSpacing = ImVec2(10, 10);
  s.WindowPadding = ImVec2(16, 12);
  s.FrameRounding = 6;
  s.GrabMinSize = 28;
  s.ScrollbarSize = 28;  // a finger, not a mouse
  s.WindowBorderSize = 0;
  s.Colors[ImGuiCol_WindowBg] = ImVec4(0.09f, 0.10f, 0.12f, 1.0f);  // the clear colour (presentFrame)
  s.Colors[ImGuiCol_Button] = ImVec4(0.20f, 0.25f, 0.33f, 1.0f);
  s.Colors[ImGuiCol_ButtonHovered] = ImVec4(0.26f, 0.32f, 0.42f, 1.0f);
  s.Colors[ImGuiCol_ButtonActive] = ImVec4(0.30f, 0.45f, 0.65f, 1.0f);
  s.ScaleAllSizes(scale);
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;
  io.ConfigInputTextCursorBlink = false;  // a blinking cursor would cost frames while idle
}

void writeTapMap(Window& w) {
  if (w.tapPath.empty() || w.taps == w.written) return;
  int x = 0, y = 0;
  SDL_GetWindowPosition(w.sdl, &x, &y);
  const std::string tmp = w.tapPath + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& [id, r] : w.taps.rects) {
      out << id << ' ' << r.x + x << ' ' << r.y + y << ' ' << r.w << ' ' << r.h << '\n';
    }
  }
  std::rename(tmp.c_str(), w.tapPath.c_str());
  w.written = w.taps;
}

/// The counter's keys with their times: text, Enter, and the editing keys (a hardware keypad's
/// digits count as digits even with Num Lock off, when they send no text).
void counterKey(const SDL_Event& e, TypedKeys& out) {
  using Kind = TypedKey::Kind;
  if (e.type == SDL_TEXTINPUT) {
    const std::string text = e.text.text;
    for (std::size_t i = 0; i < text.size();) {
      const auto lead = static_cast<unsigned char>(text[i]);
      const std::size_t n = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;  // one UTF-8 character
      out.push_back({Kind::kText, text.substr(i, n), e.text.timestamp});
      i += n;
    }
    return;
  }
  if (e.type != SDL_KEYDOWN) return;
  const SDL_Keycode k = e.key.keysym.sym;
  const Uint16 mod = e.key.keysym.mod;
  const Uint32 at = e.key.timestamp;
  if (k == SDLK_RETURN || k == SDLK_KP_ENTER) {
    out.push_back({Kind::kEnter, {}, at});
  } else if (k == SDLK_BACKSPACE || k == SDLK_KP_BACKSPACE) {
    out.push_back({Kind::kBackspace, {}, at});
  } else if (k == SDLK_DELETE || (k == SDLK_KP_PERIOD && !(mod & KMOD_NUM))) {
    out.push_back({Kind::kDelete, {}, at});
  } else if (k == SDLK_ESCAPE) {
    out.push_back({Kind::kEscape, {}, at});
  } else if (k == SDLK_a && (mod & KMOD_CTRL)) {
    out.push_back({Kind::kSelectAll, {}, at});
  } else if (!(mod & KMOD_NUM) && ((k >= SDLK_KP_1 && k <= SDLK_KP_9) || k == SDLK_KP_0)) {
    out.push_back({Kind::kText, std::string(1, k == SDLK_KP_0 ? '0' : static_cast<char>('1' + (k - SDLK_KP_1))), at});
  }
}

/// The release of a key ImGui reads as a key (not as text): not a character, not a modifier.
bool editingKeyUp(const SDL_Event& e) {
  if (e.type != SDL_KEYUP) return false;
  const SDL_Keycode k = e.key.keysym.sym;
  if (e.key.keysym.mod & KMOD_CTRL) return true;
  switch (k) {
    case SDLK_LSHIFT: case SDLK_RSHIFT: case SDLK_LCTRL: case SDLK_RCTRL: case SDLK_LALT: case SDLK_RALT:
    case SDLK_LGUI: case SDLK_RGUI: case SDLK_CAPSLOCK: case SDLK_NUMLOCKCLEAR: case SDLK_MODE:
      return false;
    default:
      return k < SDLK_SPACE || k >= SDLK_DELETE;
  }
}

// [SECTION] Benchmark measurements

double msSinceProcessStart() {
  std::ifstream stat("/proc/self/stat");
  std::string line;
  std::getline(stat, line);
  // Field 22 (starttime, clock ticks since boot) comes after the ")" closing the command name.
  std::size_t pos = line.rfind(')');
  std::istringstream rest(line.substr(pos + 2));
  std::string field;
  for (int i = 3; i < 22; ++i) rest >> field;
  unsigned long long start = 0;
  rest >> start;
  std::ifstream up("/proc/uptime");
  double uptime = 0;
  up >> uptime;
  return (uptime - static_cast<double>(start) / static_cast<double>(sysconf(_SC_CLK_TCK))) * 1000.0;
}

long statusKiB(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string k;
  long v = 0;
  while (in >> k) {
    if (k == key) {
      in >> v;
      return v;
    }
  }
  return 0;
}

/// CPU time of the calling thread: a frame's own work, whatever else the machine is doing.
double threadCpuMs() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

double cpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/// The machine's 1-minute load average: the figures mean little on a machine busy elsewhere.
double loadAverage() {
  std::ifstream in("/proc/loadavg");
  double v = 0;
  in >> v;
  return v;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

/// What the shell measures for the benchmark beyond the driver's own view: each frame's phases
/// (the UI thread's CPU time), font rebuilds, and each lookup's round trip through the worker.
struct BenchProbe {
  std::vector<double> buildCpuMs, drawCpuMs, presentCpuMs;  ///< per rendered frame while typing
  std::vector<double> fontRebuildMs;  ///< wall time of each atlas build (off the UI thread): body
  std::vector<double> fontRebuildSmallMs;  ///< the same for the large and huge sizes' atlases
  std::vector<double> fontSwapMs;     ///< the UI thread's part: the new atlas into the texture
  std::map<std::uint64_t, Clock::time_point> lookupSent;    ///< by lookup seq
  std::vector<double> lookupRoundTripMs;  ///< submitted to the worker -> reply on the UI thread
  bool typing = false;                    ///< the driver is in its typing phase
};

std::vector<std::string> splitQueries(const std::string& list) {
  std::vector<std::string> out;
  std::string cur;
  for (const char c : list) {
    if (c == ',') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

nlohmann::json summary(const std::vector<double>& v) {
  return {{"n", v.size()}, {"p50", percentile(v, 0.5)}, {"p99", percentile(v, 0.99)},
          {"max", v.empty() ? 0.0 : *std::max_element(v.begin(), v.end())}};
}

/// Drives the real event loop with synthetic SDL key events, as a scanner or keyboard would:
/// signs in, then types each query of the comma-separated list one key per 150 ms into the
/// lookup, waits for its answer and clears the lookup with Escape before the next.
class BenchDriver {
 public:
  BenchDriver(const ShellOptions& o, Uint32 windowId, BenchProbe& probe)
      : m_o(o), m_window(windowId), m_probe(probe), m_queries(splitQueries(o.benchQuery)) {}

  /// Called once per loop turn; may push events. Returns false when finished.
  /// `fontsSettled`: the start-up glyph builds (common hanzi, the store's name characters) are
  /// in use. Typing starts then, as a cashier's first key comes seconds after sign-in; the start
  /// itself is measured by first_interactive_frame_ms and the startup marks.
  bool step(const AppModel& app, double frameMs, double frameCpuMs, bool rendered, bool fontsSettled) {
    const auto now = Clock::now();
    if (rendered && m_phase >= kTyping && m_phase <= kSettle) {
      m_frames.push_back(frameMs);
      m_frameCpu.push_back(frameCpuMs);
    }
    // A search answered for the latest key: the keystroke-to-results latency. Before this turn
    // types another key: a search that this frame started belongs to the key typed before.
    if (m_probe.typing) {
      if (app.lookupSeq != m_seenSeq) {
        m_seenSeq = app.lookupSeq;
        m_seqKeyAt[m_seenSeq] = m_keyAt;
      }
      if (rendered && app.lookup.searched && !app.lookup.busy && app.lookupSeq != m_answeredSeq &&
          m_seqKeyAt.count(app.lookupSeq)) {
        m_answeredSeq = app.lookupSeq;
        m_latencies.push_back(std::chrono::duration<double, std::milli>(now - m_seqKeyAt[app.lookupSeq]).count());
      }
    }
    switch (m_phase) {
      case kStart:
        if (app.login.storeReady && rendered) {
          m_firstFrameMs = msSinceProcessStart();
          m_rssAfterStart = statusKiB("VmRSS:");
          type(m_o.benchStaff);
          key(SDLK_RETURN, SDL_SCANCODE_RETURN);
          type(m_o.benchPin);
          key(SDLK_RETURN, SDL_SCANCODE_RETURN);
          m_phase = kSignIn;
          m_signedInWait = now;
        }
        break;
      case kSignIn:
        if (app.staff && app.screen == Screen::kLookup && (fontsSettled || now - m_signedInWait > std::chrono::seconds(20))) {
          m_phase = kTyping;
          m_next = now;
          m_typingFromMs = msSinceProcessStart();
        }
        if (!app.login.error.message.empty()) {
          m_error = "sign-in: " + app.login.error.message;
          return false;
        }
        break;
      case kTyping:
        if (now >= m_next) {
          const std::string& q = m_query < m_queries.size() ? m_queries[m_query] : std::string();
          if (m_typed < q.size()) {
            type(std::string(1, q[m_typed++]));
            m_keyAt = now;
            m_next = now + std::chrono::milliseconds(150);
          } else if (!app.lookup.busy && m_answeredSeq == app.lookupSeq) {
            m_results.push_back(app.lookup.results.size());
            if (++m_query < m_queries.size()) {
              key(SDLK_ESCAPE, SDL_SCANCODE_ESCAPE);  // the lookup starts empty for the next query
              m_typed = 0;
              m_next = now + std::chrono::milliseconds(300);
            } else {
              m_phase = kSettle;
              m_next = now + std::chrono::milliseconds(500);
            }
          } else if (now - m_keyAt > std::chrono::seconds(10)) {
            m_error = "no answer to \"" + q + "\" within 10 s";
            return false;
          }
        }
        break;
      case kSettle:
        if (now >= m_next) {
          m_phase = kIdle;
          m_idleCpu = cpuSeconds();
          m_idleFrom = now;
          m_idleFrames = 0;
        }
        break;
      case kIdle:
        if (rendered) ++m_idleFrames;
        if (now - m_idleFrom >= std::chrono::seconds(m_o.benchIdleSeconds)) {
          m_idleCpuPercent = (cpuSeconds() - m_idleCpu) * 100.0 /
                             std::chrono::duration<double>(now - m_idleFrom).count();
          return false;
        }
        break;
    }
    m_probe.typing = m_phase == kTyping || m_phase == kSettle;
    return true;
  }

  /// Milliseconds to wait at most for events (the script's next key).
  int timeoutMs() const { return m_phase == kTyping || m_phase == kSettle ? 5 : 1000; }
  bool idlePhase() const { return m_phase == kIdle; }

  void write(const std::string& path, bool cjk, const std::vector<std::pair<std::string, double>>& marks,
             const nlohmann::json& drawing) const {
    nlohmann::json j = {
        {"benchmark", "ui"},
        {"first_interactive_frame_ms", m_firstFrameMs},
        {"typing_started_ms", m_typingFromMs},
        {"frame_ms_p50_typing", percentile(m_frames, 0.5)},
        {"frame_ms_p99_typing", percentile(m_frames, 0.99)},
        {"frames_typing", m_frames.size()},
        {"frame_cpu_ms_p50_typing", percentile(m_frameCpu, 0.5)},
        {"frame_cpu_ms_p99_typing", percentile(m_frameCpu, 0.99)},
        {"keystroke_to_results_ms_p50", percentile(m_latencies, 0.5)},
        {"keystroke_to_results_ms_p99", percentile(m_latencies, 0.99)},
        {"keystroke_to_results_ms_max", m_latencies.empty() ? 0.0 : *std::max_element(m_latencies.begin(), m_latencies.end())},
        {"searches_answered", m_latencies.size()},
        {"result_counts", m_results},
        {"queries", m_queries},
        {"idle_seconds", m_o.benchIdleSeconds},
        {"idle_cpu_percent", m_idleCpuPercent},
        {"idle_frames", m_idleFrames},
        {"rss_mib_after_start", static_cast<double>(m_rssAfterStart) / 1024.0},
        {"rss_mib_end", static_cast<double>(statusKiB("VmRSS:")) / 1024.0},
        {"rss_mib_peak", static_cast<double>(statusKiB("VmHWM:")) / 1024.0},
        {"cjk_font", cjk},
        {"error", m_error}};
    for (const auto& [name, ms] : marks) j["startup"][name] = ms;
    // The slowest typing frames, wall and CPU (the tail the p99 comes from).
    const auto slowest = [](std::vector<double> v) {
      std::sort(v.begin(), v.end(), std::greater<>());
      v.resize(std::min<std::size_t>(v.size(), 5));
      return v;
    };
    j["frame_ms_slowest_typing"] = slowest(m_frames);
    j["frame_cpu_ms_slowest_typing"] = slowest(m_frameCpu);
    // Where a keystroke's time goes (typing phase): the frame's parts (UI thread CPU), font
    // rebuilds (on their own thread) and their swap into the texture (UI thread), and the
    // worker's round trip of each lookup.
    j["breakdown"] = {{"frame_build_cpu_ms", summary(m_probe.buildCpuMs)},
                      {"frame_draw_cpu_ms", summary(m_probe.drawCpuMs)},
                      {"frame_present_cpu_ms", summary(m_probe.presentCpuMs)},
                      {"font_rebuild_ms", summary(m_probe.fontRebuildMs)},
                      {"font_rebuild_large_huge_ms", summary(m_probe.fontRebuildSmallMs)},
                      {"font_swap_ms", summary(m_probe.fontSwapMs)},
                      {"lookup_round_trip_ms", summary(m_probe.lookupRoundTripMs)}};
    j["drawing"] = drawing;
    j["load_average_1min"] = loadAverage();
    std::ofstream(path) << j.dump(2) << '\n';
  }

 private:
  void type(const std::string& text) {
    for (const char c : text) {
      SDL_Event e{};
      e.type = SDL_TEXTINPUT;
      e.text.windowID = m_window;
      e.text.text[0] = c;
      e.text.timestamp = SDL_GetTicks();
      SDL_PushEvent(&e);
    }
  }
  void key(SDL_Keycode sym, SDL_Scancode code) {
    for (const Uint32 type : {Uint32{SDL_KEYDOWN}, Uint32{SDL_KEYUP}}) {
      SDL_Event e{};
      e.type = type;
      e.key.windowID = m_window;
      e.key.timestamp = SDL_GetTicks();
      e.key.state = type == SDL_KEYDOWN ? SDL_PRESSED : SDL_RELEASED;
      e.key.keysym.scancode = code;
      e.key.keysym.sym = sym;
      SDL_PushEvent(&e);
    }
  }

  enum Phase { kStart, kSignIn, kTyping, kSettle, kIdle };
  const ShellOptions& m_o;
  Uint32 m_window;
  BenchProbe& m_probe;
  std::vector<std::string> m_queries;
  Phase m_phase = kStart;
  Clock::time_point m_next, m_keyAt, m_idleFrom;
  std::size_t m_query = 0, m_typed = 0;
  std::uint64_t m_seenSeq = 0, m_answeredSeq = 0;
  std::map<std::uint64_t, Clock::time_point> m_seqKeyAt;
  std::vector<double> m_frames, m_frameCpu, m_latencies;
  double m_firstFrameMs = 0, m_idleCpu = 0, m_idleCpuPercent = 0, m_typingFromMs = 0;
  Clock::time_point m_signedInWait;
  long m_rssAfterStart = 0;
  std::vector<std::size_t> m_results;
  int m_idleFrames = 0;
  std::string m_error;
};

// [SECTION] The shell

class Shell {
 public:
  Shell(const ShellOptions& o, BackendFactory open) : m_o(o), m_open(std::move(open)) {}
  int run();

 private:
  /// Events, replies and frames until quit; the worker lives exactly as long as this.
  void runLoop();
  bool createWindow(Window& w, const char* title, int x, int y, int width, int height, Uint32 flags);
  /// A frame's UI: input, the screens, intents applied (commands into the outbox), draw lists.
  void buildFrame(Window& w, bool counter);
  /// A built frame onto the screen: GL draw calls, the swap (llvmpipe rasterises here).
  /// Returns the CPU milliseconds of the draw calls (before the swap).
  double presentFrame(Window& w);
  /// presentFrame where only what changed is drawn and copied to the screen (frame_damage.hpp).
  double presentDamage(Window& w, int width, int height, double start);
  /// Sets `w` up for presentDamage where the display can (X11, GLX_MESA_copy_sub_buffer), unless
  /// LOYALTY_UI_FULL_REDRAW is set.
  void useCopySubBuffer(Window& w);
  /// One of the three atlases (FontSizes): the one in use, its texture, and its next build.
  struct FontSlot {
    explicit FontSlot(FontSizes s) : sizes(s) {}
    FontSizes sizes;
    std::unique_ptr<FontAtlas> font = std::make_unique<FontAtlas>();
    std::unique_ptr<FontBuildThread> build;
    GlyphSet requested;  ///< the characters of the atlas in use, or of the one being built
    GLuint texture = 0;
    Clock::time_point buildStart;
  };
  /// Starts building the atlases that lack glyphs learnt since (off the UI thread).
  void startFontBuild();
  /// Finished atlases into use (between frames); true if there was one.
  bool takeFonts();
  void handle(const SDL_Event& e);
  Ui ui() const {
    Ui u{m_app.lang, m_main.font->fonts.body, m_large.font->fonts.large, m_huge.font->fonts.huge, m_scale};
    u.pinyin = m_pinyin.get();
    return u;
  }
  /// Takes the pinyin engine once its dictionary has loaded.
  void takePinyin();
  void releaseAtlasPixels();
  /// An atlas into its font texture, which both windows draw with (they share the GL context).
  void uploadFontTexture(FontSlot& slot);
  /// Adds the characters of a snapshot to the font's glyphs.
  void learnGlyphs(const Reply& r);
  /// A slice of the store's member names' characters (asked for after the first frame); the
  /// next slice is asked for, and once all are read their characters join the body font.
  void takeNameCharacters(const terminal::CounterQueries::NameCharacters& slice);
  /// The worker's replies into the model; true if there were any.
  bool applyReplies();
  /// The outbox to the worker; true if a lookup was among the commands.
  bool submitCommands();

  const ShellOptions& m_o;
  BackendFactory m_open;
  SDL_GLContext m_gl = nullptr;
  Window m_counter, m_customer;
  FontSlot m_main{FontSizes::kBody};  ///< body, with the common hanzi: the UI's own atlas (io.Fonts)
  FontSlot m_large{FontSizes::kLarge};
  FontSlot m_huge{FontSizes::kHuge};
  GlyphSet m_glyphs;  ///< the UI's text and every character seen: all sizes
  GlyphSet m_common;  ///< the common hanzi: body only (after the first frame)
  GlyphSet m_names;   ///< the most frequent characters of the store's member names: body and large
  std::unordered_map<char32_t, std::int64_t> m_nameCounts;  ///< while the names are read
  bool m_namesRead = false;
  static constexpr std::size_t kNameGlyphs = 4'000;
  bool m_fontsDirty = false;  ///< m_glyphs has characters an atlas in use (or being built) lacks
  float m_scale = 1;
  AppModel m_app;
  Uint32 m_wakeEvent = 0;
  std::unique_ptr<MainQueue> m_queue;
  std::unique_ptr<StoreWorker> m_worker;  // after m_queue: destroyed (joined) first
  bool m_quit = false;
  /// SDL's Wayland connection (null on X11). When the compositor goes away SDL 2.26 posts a
  /// quit at best (status 0) and at worst nothing, its event wait returning at once while the
  /// loop draws at full CPU; so the loop watches the connection itself.
  wl_display* m_wayland = nullptr;
  bool m_displayLost = false;
  /// Frames drawn by presentDamage, the pixels they drew against the screens', and the
  /// self-check's findings (LOYALTY_UI_DAMAGE_CHECK).
  CanvasGl m_canvasGl;
  struct DamageStats {
    bool check = false;
    long long frames = 0, pixels = 0, screenPixels = 0, mismatchedFrames = 0;
  } m_damage;
  double m_lastFrameMs = 0, m_lastFrameCpuMs = 0;
  TypedKeys m_keys;  ///< keys on the counter window since the last frame (counterKey)
  bool m_texturesUploaded = false;
  bool m_alphaTexture = false;  ///< the atlas goes up as one byte per pixel (texture swizzle)
  std::vector<std::pair<std::string, double>> m_marks;  ///< start-up milestones, for the benchmark
  /// The on-screen keyboard's pinyin engine: its dictionary loads beside the first frame.
  std::future<Result<std::unique_ptr<PinyinEngine>>> m_pinyinLoading;
  std::unique_ptr<PinyinEngine> m_pinyin;
  std::optional<BenchProbe> m_probe;                     ///< while benchmarking
};

void Shell::takePinyin() {
  if (!m_pinyinLoading.valid() ||
      m_pinyinLoading.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    return;
  }
  auto engine = m_pinyinLoading.get();
  if (!engine) {
    std::cerr << "loyalty-terminal: " << engine.error().message << "; the on-screen keyboard types Latin letters only\n";
    return;
  }
  m_pinyin = std::move(*engine);
}

bool Shell::createWindow(Window& w, const char* title, int x, int y, int width, int height, Uint32 flags) {
  w.sdl = SDL_CreateWindow(title, x, y, width, height, SDL_WINDOW_OPENGL | flags);
  if (!w.sdl) {
    std::cerr << "loyalty-terminal: cannot open a window: " << SDL_GetError() << '\n';
    return false;
  }
  w.id = SDL_GetWindowID(w.sdl);
  if (!m_gl) {
    m_gl = SDL_GL_CreateContext(w.sdl);
    if (!m_gl) {
      std::cerr << "loyalty-terminal: no OpenGL 3 context: " << SDL_GetError() << '\n';
      return false;
    }
  }
  SDL_GL_MakeCurrent(w.sdl, m_gl);
  useCopySubBuffer(w);
  w.ctx = ImGui::CreateContext(&m_main.font->atlas);
  ImGui::SetCurrentContext(w.ctx);
  styleForTouch(m_scale);
  ImGui::GetIO().FontDefault = m_main.font->fonts.body;
  if (!w.tapPath.empty()) ImGui::GetIO().UserData = &w.taps;
  ImGui_ImplSDL2_InitForOpenGL(w.sdl, m_gl);
  ImGui_ImplOpenGL3_Init("#version 130");
  // The backend would upload its own RGBA copy of the atlas per window at its first frame. It
  // makes its shaders now, with a throw-away atlas; the shell uploads the real one, once.
  ImFontAtlas placeholder;
  ImGui::GetIO().Fonts = &placeholder;
  ImGui_ImplOpenGL3_CreateDeviceObjects();
  ImGui_ImplOpenGL3_DestroyFontsTexture();
  ImGui::GetIO().Fonts = &m_main.font->atlas;
  if (!m_main.texture) {
    // One byte per pixel where the GL has texture swizzles (3.3; Mesa has them): a quarter of
    // the memory of RGBA, and a quarter of the bytes to copy at each rebuild.
    int major = 0, minor = 0;
    SDL_GL_GetAttribute(SDL_GL_CONTEXT_MAJOR_VERSION, &major);
    const char* version = reinterpret_cast<const char*>(glGetString(GL_VERSION));
    if (version && std::sscanf(version, "%d.%d", &major, &minor) == 2) {
      m_alphaTexture = major > 3 || (major == 3 && minor >= 3) || SDL_GL_ExtensionSupported("GL_ARB_texture_swizzle");
    }
    uploadFontTexture(m_main);
    uploadFontTexture(m_large);
    uploadFontTexture(m_huge);
  }
  return true;
}

void Shell::uploadFontTexture(FontSlot& slot) {
  unsigned char* pixels = nullptr;
  int width = 0, height = 0;
  if (m_alphaTexture) {
    slot.font->atlas.GetTexDataAsAlpha8(&pixels, &width, &height);
  } else {
    slot.font->atlas.GetTexDataAsRGBA32(&pixels, &width, &height);
  }
  if (!slot.texture) glGenTextures(1, &slot.texture);
  glBindTexture(GL_TEXTURE_2D, slot.texture);
  // Glyphs are drawn at whole pixels, one texel to a pixel: nearest is the same picture as
  // linear, and cheaper per pixel for llvmpipe.
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
  if (m_alphaTexture) {
    const GLint white[] = {GL_ONE, GL_ONE, GL_ONE, GL_RED};  // what the RGBA copy held: white, coverage
    glTexParameteriv(GL_TEXTURE_2D, GL_TEXTURE_SWIZZLE_RGBA, white);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_R8, width, height, 0, GL_RED, GL_UNSIGNED_BYTE, pixels);
  } else {
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, width, height, 0, GL_RGBA, GL_UNSIGNED_BYTE, pixels);
  }
  glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
  slot.font->atlas.SetTexID(reinterpret_cast<ImTextureID>(static_cast<std::intptr_t>(slot.texture)));
  m_marks.emplace_back(&slot == &m_main ? "font_atlas_pixels" : &slot == &m_large ? "font_atlas_pixels_large" : "font_atlas_pixels_huge",
                       static_cast<double>(width) * height);
}

void Shell::startFontBuild() {
  if (!m_fontsDirty || !m_main.font->fonts.cjk) return;
  GlyphSet small = m_glyphs, large = m_glyphs;
  bool waiting = false;
  // The common hanzi wait while the store opens or a PIN is checked: argon2id holds 64 MB for it,
  // and the build's own peak (the font file's pages) on top of it is what the app's peak was.
  const bool opening = !m_app.login.storeReady && m_app.login.storeError.empty();
  if (!m_main.requested.covers(m_common) && (opening || m_app.login.busy)) {
    waiting = true;
  } else {
    small.merge(m_common);
    small.merge(m_names);
    large.merge(m_names);  // member cards and receipts show names large too
  }
  for (const auto& [slot, wanted] : {std::pair{&m_main, &small}, std::pair{&m_large, &large}, std::pair{&m_huge, &m_glyphs}}) {
    if (slot->requested.covers(*wanted)) continue;
    // One build at a time: two at once would add their memory peaks (and share the cores).
    if (m_main.build->pending() || m_large.build->pending() || m_huge.build->pending() ||
        !slot->build->start(m_o.fontPath.empty() ? defaultFontPath() : m_o.fontPath, m_scale, *wanted, slot->sizes,
                            slot->font->fonts.file)) {
      waiting = true;  // one is being built: the next starts when it has been taken
      continue;
    }
    if (slot == &m_main && !slot->requested.covers(m_common)) {
      m_marks.emplace_back("common_glyphs_start_ms", msSinceProcessStart());
      m_marks.emplace_back("rss_peak_mib_before_common_glyphs", static_cast<double>(statusKiB("VmHWM:")) / 1024.0);
    }
    slot->requested = *wanted;
    slot->buildStart = Clock::now();
  }
  m_fontsDirty = waiting;
}

bool Shell::takeFonts() {
  bool any = false;
  for (FontSlot* slot : {&m_main, &m_large, &m_huge}) {
    if (!slot->build) continue;
    std::unique_ptr<FontAtlas> built = slot->build->take();
    if (!built) continue;
    const auto start = Clock::now();
    if (slot == &m_main) {
      for (Window* w : {&m_counter, &m_customer}) {
        if (!w->ctx) continue;
        ImGui::SetCurrentContext(w->ctx);
        ImGui::GetIO().Fonts = &built->atlas;
        ImGui::GetIO().FontDefault = built->fonts.body;
      }
    }
    slot->font = std::move(built);  // the old atlas goes; the last frame's draw lists were drawn already
    uploadFontTexture(*slot);
    slot->font->atlas.ClearTexData();
    // Glyphs moved in the new texture: what was drawn from the old one is drawn again.
    for (Window* w : {&m_counter, &m_customer}) w->damage.textureChanged(slot->font->atlas.TexID);
    any = true;
    if (slot == &m_main &&
        m_marks.end() == std::find_if(m_marks.begin(), m_marks.end(), [](const auto& m) { return m.first == "common_glyphs_ms"; })) {
      m_marks.emplace_back("common_glyphs_ms", msSinceProcessStart());  // the first build after start: the common hanzi
      m_marks.emplace_back("rss_peak_mib_after_common_glyphs", static_cast<double>(statusKiB("VmHWM:")) / 1024.0);
    }
    if (m_probe && m_probe->typing) {
      (slot == &m_main ? m_probe->fontRebuildMs : m_probe->fontRebuildSmallMs).push_back(std::chrono::duration<double, std::milli>(Clock::now() - slot->buildStart).count());
      m_probe->fontSwapMs.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
  }
  if (any) malloc_trim(0);
  return any;
}

void Shell::releaseAtlasPixels() {
  // The GL textures hold the glyphs now; the CPU copy (RGBA, ~16 MB with the common hanzi) goes.
  m_main.font->atlas.ClearTexData();
  m_large.font->atlas.ClearTexData();
  m_huge.font->atlas.ClearTexData();
  malloc_trim(0);
}

void Shell::learnGlyphs(const Reply& r) {
  bool added = false;
  const auto member = [&](const MemberView& m) { added |= m_glyphs.add(m.name); };
  if (const auto* l = std::get_if<reply::Lookup>(&r); l && l->members) {
    for (const auto& m : *l->members) member(m);
  } else if (const auto* m = std::get_if<reply::Member>(&r); m && m->detail) {
    member(m->detail->member);
    for (const auto& g : m->detail->greetings) added |= m_glyphs.add(g.text);
  } else if (const auto* s = std::get_if<reply::SignedIn>(&r); s && s->staff) {
    added |= m_glyphs.add(s->staff->name);
  } else if (const auto* c = std::get_if<reply::Catalog>(&r)) {
    for (const auto& rw : c->rewards) added |= m_glyphs.add(rw.name);
  } else if (const auto* sold = std::get_if<reply::Sold>(&r)) {
    for (const auto& line : sold->request.lines) added |= m_glyphs.add(line.description.value_or(""));
  } else if (const auto* f = std::get_if<reply::Failed>(&r)) {
    added |= m_glyphs.add(f->what);
  } else if (const auto* u = std::get_if<reply::MemberUpdated>(&r); u && u->result) {
    member(*u->result);
  } else if (const auto* x = std::get_if<reply::MemberExported>(&r); x && x->result) {
    member(x->result->member);
  } else if (const auto* p = std::get_if<reply::RefundPreviewed>(&r); p && p->preview) {
    if (p->preview->member) member(*p->preview->member);
    for (const auto& line : p->preview->lines) added |= m_glyphs.add(line.description.value_or(""));
  } else if (const auto* found = std::get_if<reply::Products>(&r); found && found->products) {
    for (const auto& product : *found->products) added |= m_glyphs.add(product.name);
  } else if (const auto* scan = std::get_if<reply::ProductScanned>(&r); scan && scan->product) {
    added |= m_glyphs.add(scan->product->name);
  } else if (const auto* q = std::get_if<reply::SaleQuoted>(&r); q && q->quote) {
    for (const auto& line : q->quote->lines) added |= m_glyphs.add(line.description);
  } else if (const auto* o = std::get_if<reply::StoreOpened>(&r); o && o->info) {
    for (const auto& d : o->info->surveyDimensions) added |= m_glyphs.add(d);  // the store's own wording
  } else if (const auto* promos = std::get_if<reply::Promotions>(&r)) {
    for (const auto& promotion : promos->running) added |= m_glyphs.add(promotion.giftSku);
  }
  // Error messages and promotion texts come from the service in the store's language.
  std::visit([&](const auto& x) {
    if constexpr (requires { x.result; }) {
      if (!x.result) added |= m_glyphs.add(x.result.error().message);
    }
  }, r);
  m_fontsDirty |= added;
}

void Shell::buildFrame(Window& w, bool counter) {
  ImGui::SetCurrentContext(w.ctx);
  w.taps.rects.clear();
  ImGui_ImplOpenGL3_NewFrame();
  ImGui_ImplSDL2_NewFrame();
  if (w.pointerSeen) {
    ImGuiIO& io = ImGui::GetIO();
    io.MousePos = w.pointer;
    io.MouseDown[0] = w.pointerDown;
  }
  ImGui::NewFrame();
  ImGui::PushFont(m_main.font->fonts.body);
  if (counter) {
    counterFrame(m_app, ui(), std::exchange(m_keys, {}));
  } else {
    customerFrame(m_app, ui());
  }
  ImGui::PopFont();
  ImGui::Render();
}

void Shell::useCopySubBuffer(Window& w) {
  const char* check = std::getenv("LOYALTY_UI_DAMAGE_CHECK");
  m_damage.check = check && *check && std::string_view(check) != "0";
  const char* full = std::getenv("LOYALTY_UI_FULL_REDRAW");
  if (full && *full && std::string_view(full) != "0") return;
  SDL_SysWMinfo wm;
  SDL_VERSION(&wm.version);
  if (!SDL_GetWindowWMInfo(w.sdl, &wm) || wm.subsystem != SDL_SYSWM_X11) return;
  using QueryExtensions = const char* (*)(Display*, int);
  const auto query = reinterpret_cast<QueryExtensions>(SDL_GL_GetProcAddress("glXQueryExtensionsString"));
  if (!query) return;
  const char* extensions = query(wm.info.x11.display, DefaultScreen(wm.info.x11.display));
  // Every name resolves to a dispatch stub: the extension string says whether it works.
  if (!extensions || !std::strstr(extensions, "GLX_MESA_copy_sub_buffer")) return;
  if (!m_canvasGl.genFramebuffers && !m_canvasGl.load()) return;
  w.copySubBuffer = reinterpret_cast<Window::CopySubBuffer>(SDL_GL_GetProcAddress("glXCopySubBufferMESA"));
  w.x11 = wm.info.x11.display;
  w.xid = wm.info.x11.window;
}

double Shell::presentFrame(Window& w) {
  const double start = threadCpuMs();
  SDL_GL_MakeCurrent(w.sdl, m_gl);
  ImGui::SetCurrentContext(w.ctx);
  int width = 0, height = 0;
  SDL_GL_GetDrawableSize(w.sdl, &width, &height);
  glViewport(0, 0, width, height);
  if (w.copySubBuffer) return presentDamage(w, width, height, start);
  // The screen's background: the root window's, drawn as a clear (frame_background.hpp) rather
  // than as a full-screen blended quad (as much work for llvmpipe as the rest of the frame). Not
  // under Wayland: there (weston, Mesa's software EGL) the window shows through wherever only the
  // clear drew, as if its alpha were not kept (tests/kiosk wayland); the quad makes it opaque.
  const std::optional<ImVec4> taken = m_wayland ? std::nullopt : takeScreenBackground(ImGui::GetDrawData());
  const ImVec4 bg = taken.value_or(ImGui::GetStyle().Colors[ImGuiCol_WindowBg]);
  glClearColor(bg.x, bg.y, bg.z, 1.0f);
  glClear(GL_COLOR_BUFFER_BIT);
  ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
  const double drawn = threadCpuMs() - start;
  SDL_GL_SwapWindow(w.sdl);
  writeTapMap(w);
  return drawn;
}

double Shell::presentDamage(Window& w, int width, int height, double start) {
  ImDrawData* data = ImGui::GetDrawData();
  const ImVec4 bg = takeScreenBackground(data).value_or(ImGui::GetStyle().Colors[ImGuiCol_WindowBg]);
  const ImFontAtlas& atlas = *ImGui::GetIO().Fonts;
  PixelRect area =
      w.damage.update(*data, width, height, ImGui::ColorConvertFloat4ToU32(bg), atlas.TexID, atlas.TexUvWhitePixel);
  m_damage.frames += 1;
  m_damage.screenPixels += static_cast<long long>(width) * height;
  if (area.empty()) {  // the same picture: nothing to draw or copy
    writeTapMap(w);
    return threadCpuMs() - start;
  }
  const CanvasGl& gl = m_canvasGl;
  // One window alone keeps its back buffer (it is never swapped, only copied from): it is the
  // canvas. Two share the context, and each needs one of its own.
  const bool ownCanvas = m_customer.ctx != nullptr;
  bool freshCanvas = false;  // holds nothing yet: drawn whole
  if (ownCanvas && (!w.canvas || w.canvasWidth != width || w.canvasHeight != height)) {
    if (!w.canvas) {
      gl.genFramebuffers(1, &w.canvas);
      gl.genRenderbuffers(1, &w.canvasColour);
    }
    gl.bindRenderbuffer(GL_RENDERBUFFER, w.canvasColour);
    gl.renderbufferStorage(GL_RENDERBUFFER, GL_RGBA8, width, height);
    gl.bindFramebuffer(GL_FRAMEBUFFER, w.canvas);
    gl.framebufferRenderbuffer(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_RENDERBUFFER, w.canvasColour);
    w.canvasWidth = width;
    w.canvasHeight = height;
    if (gl.checkFramebufferStatus(GL_FRAMEBUFFER) != GL_FRAMEBUFFER_COMPLETE) {
      // No canvas to keep the picture in: whole frames from now on, as without the extension.
      gl.bindFramebuffer(GL_FRAMEBUFFER, 0);
      w.copySubBuffer = nullptr;
      return presentFrame(w);
    }
    area = PixelRect{0, 0, width, height};
    freshCanvas = true;
  }
  gl.bindFramebuffer(GL_FRAMEBUFFER, ownCanvas ? w.canvas : 0);
  // The damage's bands (the whole screen after an invalidation), or a fresh canvas whole.
  const std::vector<PixelRect> bands = freshCanvas ? std::vector<PixelRect>{area} : w.damage.bands();
  // GL's y goes up from the bottom.
  const auto glRect = [height](const PixelRect& r) { return std::array<int, 4>{r.x0, height - r.y1, r.x1 - r.x0, r.y1 - r.y0}; };
  glClearColor(bg.x, bg.y, bg.z, 1.0f);
  for (const PixelRect& band : bands) {
    m_damage.pixels += band.area();
    const auto original = clipDrawData(*data, band);
    const auto [x, y, bw, bh] = glRect(band);
    glEnable(GL_SCISSOR_TEST);
    glScissor(x, y, bw, bh);
    glClear(GL_COLOR_BUFFER_BIT);
    glDisable(GL_SCISSOR_TEST);
    ImGui_ImplOpenGL3_RenderDrawData(data);
    restoreClipRects(*data, original);
  }
  const double drawn = threadCpuMs() - start;
  if (m_damage.check) {
    // The self-check (LOYALTY_UI_DAMAGE_CHECK=1, the end-to-end tests): the frame drawn whole
    // must equal, pixel for pixel, what the damage left in the canvas.
    std::vector<unsigned char> partial(static_cast<std::size_t>(width) * height * 4), whole(partial.size());
    glReadPixels(0, 0, width, height, GL_RGBA, GL_UNSIGNED_BYTE, partial.data());
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(data);
    glReadPixels(0, 0, width, height, GL_RGBA, GL_UNSIGNED_BYTE, whole.data());
    long long differ = 0;
    for (std::size_t i = 0; i < whole.size(); i += 4) differ += std::memcmp(&whole[i], &partial[i], 4) != 0;
    if (differ > 0) {
      ++m_damage.mismatchedFrames;
      std::cerr << "loyalty-terminal: damage check: frame " << m_damage.frames << " differs in " << differ
                << " pixels from the whole frame (damage " << area.x0 << "," << area.y0 << " " << area.x1 - area.x0
                << "x" << area.y1 - area.y0 << " in " << bands.size() << " bands)\n";
    }
  }
  // The changed parts to the window's back buffer (from the canvas, if it has one), and from
  // there to the screen.
  if (ownCanvas) gl.bindFramebuffer(GL_DRAW_FRAMEBUFFER, 0);
  for (const PixelRect& band : bands) {
    const auto [x, y, bw, bh] = glRect(band);
    if (ownCanvas) gl.blitFramebuffer(x, y, x + bw, y + bh, x, y, x + bw, y + bh, GL_COLOR_BUFFER_BIT, GL_NEAREST);
    w.copySubBuffer(w.x11, w.xid, x, y, bw, bh);
  }
  if (ownCanvas) gl.bindFramebuffer(GL_FRAMEBUFFER, 0);
  writeTapMap(w);
  return drawn;
}

void Shell::takeNameCharacters(const terminal::CounterQueries::NameCharacters& slice) {
  for (const auto& [c, n] : slice.counts) m_nameCounts[c] += n;
  if (slice.lastRowid != 0) {
    m_worker->submit(cmd::NameCharacters{slice.lastRowid});
    return;
  }
  // Every name read: the most frequent characters join the body and large fonts, at most
  // kNameGlyphs of them (rare ones beyond still come as names with them show).
  std::vector<std::pair<std::int64_t, char32_t>> wanted;
  for (const auto& [c, n] : m_nameCounts) {
    if (c <= 0xFFFF) wanted.emplace_back(n, c);
  }
  std::sort(wanted.begin(), wanted.end(), std::greater<>());
  if (wanted.size() > kNameGlyphs) wanted.resize(kNameGlyphs);
  for (const auto& [n, c] : wanted) m_fontsDirty |= m_names.addCodePoint(c);
  m_marks.emplace_back("name_glyphs", static_cast<double>(wanted.size()));
  m_marks.emplace_back("name_glyphs_read_ms", msSinceProcessStart());
  m_nameCounts = {};
  m_namesRead = true;
}

bool Shell::applyReplies() {
  bool any = false;
  for (Reply& r : m_queue->drain()) {
    if (const auto* l = std::get_if<reply::Lookup>(&r); l && m_probe && m_probe->lookupSent.count(l->seq)) {
      m_probe->lookupRoundTripMs.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - m_probe->lookupSent[l->seq]).count());
    }
    learnGlyphs(r);
    if (const auto* names = std::get_if<reply::NameCharacters>(&r)) takeNameCharacters(names->slice);
    if (std::holds_alternative<reply::StoreOpened>(r)) m_marks.emplace_back("store_reply_seen_ms", msSinceProcessStart());
    if (const auto* o = std::get_if<reply::StoreOpened>(&r); o && o->info && !m_o.lang) {
      Lang lang = m_app.lang;
      if (parseLang(o->info->language, lang)) m_app.lang = lang;
    }
    apply(m_app, std::move(r));
    any = true;
  }
  return any;
}

bool Shell::submitCommands() {
  bool lookup = false;
  for (Command& c : m_app.outbox) {
    if (const auto* l = std::get_if<cmd::Lookup>(&c)) {
      lookup = true;
      if (m_probe) m_probe->lookupSent[l->seq] = Clock::now();
    }
    m_worker->submit(std::move(c));
  }
  m_app.outbox.clear();
  return lookup;
}

void Shell::handle(const SDL_Event& e) {
  if (e.type == SDL_QUIT) {
    m_quit = true;
    return;
  }
  if (e.type == m_wakeEvent) return;
  if (e.type == SDL_WINDOWEVENT && e.window.event == SDL_WINDOWEVENT_CLOSE && e.window.windowID == m_counter.id) {
    m_quit = true;
    return;
  }
  const Uint32 id = windowOf(e);
  Window& w = m_customer.ctx && id == m_customer.id ? m_customer : m_counter;
  // What the screen showed of the window may be gone: the next frame is drawn whole.
  if (e.type == SDL_WINDOWEVENT && e.window.event != SDL_WINDOWEVENT_MOVED) w.damage.invalidate();
  if (e.type == SDL_MOUSEMOTION) {
    w.pointerSeen = true;
    w.pointer = ImVec2(static_cast<float>(e.motion.x), static_cast<float>(e.motion.y));
  } else if ((e.type == SDL_MOUSEBUTTONDOWN || e.type == SDL_MOUSEBUTTONUP) && e.button.button == SDL_BUTTON_LEFT) {
    w.pointerSeen = true;
    w.pointer = ImVec2(static_cast<float>(e.button.x), static_cast<float>(e.button.y));
    w.pointerDown = e.type == SDL_MOUSEBUTTONDOWN;
  }
  if (&w == &m_counter) counterKey(e, m_keys);
  ImGui::SetCurrentContext(w.ctx);
  ImGui_ImplSDL2_ProcessEvent(&e);
}

int Shell::run() {
  // SDL 2.26's Wayland driver reads the seat's input state while SDL_Init starts it and crashes
  // (SIGSEGV) when the compositor announces no wl_seat, as weston's headless backend or any
  // compositor without input devices does (fixed in later SDL releases). Such a counter could not
  // take a touch, a key or a scan anyway: say so and exit.
  if (wayland::sdlWillUseWayland() && wayland::probeSeat() == wayland::Seat::kMissing) {
    std::cerr << "loyalty-terminal: the Wayland compositor (" << wayland::displayName()
              << ") has no input seat (no touchscreen, keyboard or pointer); the counter app needs one\n";
    return 3;
  }
  SDL_SetHint(SDL_HINT_VIDEO_X11_NET_WM_BYPASS_COMPOSITOR, "0");
  SDL_SetHint(SDL_HINT_IME_SHOW_UI, "1");
  if (SDL_Init(SDL_INIT_VIDEO | SDL_INIT_EVENTS) != 0) {
    std::cerr << "loyalty-terminal: no display for the counter app (" << SDL_GetError()
              << "); run a sub-command instead (see --help)\n";
    return 3;
  }
  // Without X11, Wayland or a KMS console SDL falls back to an invisible off-screen driver: a
  // counter app nobody can see is an error, unless that driver was asked for (SDL_VIDEODRIVER).
  const std::string driver = SDL_GetCurrentVideoDriver() ? SDL_GetCurrentVideoDriver() : "";
  if ((driver == "offscreen" || driver == "dummy" || driver == "evdev") && !std::getenv("SDL_VIDEODRIVER")) {
    std::cerr << "loyalty-terminal: no display for the counter app (SDL video driver \"" << driver
              << "\"); set DISPLAY, or run a sub-command instead (see --help)\n";
    SDL_Quit();
    return 3;
  }
  SDL_GL_SetAttribute(SDL_GL_CONTEXT_MAJOR_VERSION, 3);
  SDL_GL_SetAttribute(SDL_GL_CONTEXT_MINOR_VERSION, 0);
  SDL_GL_SetAttribute(SDL_GL_DOUBLEBUFFER, 1);
  // ImGui draws in order with neither depth nor stencil: no such buffers beside the colour one
  // (llvmpipe keeps them in the app's memory, 8 MB at 1920x1080).
  SDL_GL_SetAttribute(SDL_GL_DEPTH_SIZE, 0);
  SDL_GL_SetAttribute(SDL_GL_STENCIL_SIZE, 0);
  m_wakeEvent = SDL_RegisterEvents(1);
  // The store opens (and migrates) on the worker while the fonts and the window are made.
  m_queue = std::make_unique<MainQueue>([wake = m_wakeEvent] {
    SDL_Event e{};
    e.type = wake;
    SDL_PushEvent(&e);
  });
  m_worker = std::make_unique<StoreWorker>(m_open, [q = m_queue.get()](Reply r) { q->post(std::move(r)); });
  m_pinyinLoading = std::async(std::launch::async, [] { return PinyinEngine::open(defaultPinyinDictPath()); });

  int width = m_o.width, height = m_o.height;
  Uint32 flags = SDL_WINDOW_ALLOW_HIGHDPI;
  if (!m_o.windowed) {
    SDL_DisplayMode mode{};
    if (SDL_GetDesktopDisplayMode(0, &mode) == 0) {
      width = mode.w;
      height = mode.h;
    }
    flags |= SDL_WINDOW_FULLSCREEN_DESKTOP | SDL_WINDOW_BORDERLESS;
  }
  m_scale = std::max(0.75f, std::min(static_cast<float>(width) / 1024.0f, static_cast<float>(height) / 768.0f));

  // The UI's own text and symbols; names and greetings join as they arrive.
  m_glyphs.add(allCatalogueText());
  m_glyphs.add("\xe2\x98\x85\xe2\x97\x8f\xe2\x86\x90\xc2\xb7\xc2\xa5");  // ★ ● ← · ¥
  m_glyphs.add("中文");
  m_marks.emplace_back("fonts_start_ms", msSinceProcessStart());
  const std::string fontPath = m_o.fontPath.empty() ? defaultFontPath() : m_o.fontPath;
  buildFonts(m_main.font->atlas, m_main.font->fonts, fontPath, m_scale, m_glyphs, FontSizes::kBody);
  m_large.font->fonts.file = m_huge.font->fonts.file = m_main.font->fonts.file;
  buildFonts(m_large.font->atlas, m_large.font->fonts, fontPath, m_scale, m_glyphs, FontSizes::kLarge);
  buildFonts(m_huge.font->atlas, m_huge.font->fonts, fontPath, m_scale, m_glyphs, FontSizes::kHuge);
  for (FontSlot* slot : {&m_main, &m_large, &m_huge}) {
    slot->font->glyphs = slot->requested = m_glyphs;
    slot->build = std::make_unique<FontBuildThread>([wake = m_wakeEvent] {
      SDL_Event e{};
      e.type = wake;
      SDL_PushEvent(&e);
    });
  }
  m_marks.emplace_back("fonts_built_ms", msSinceProcessStart());
  m_marks.emplace_back("rss_peak_mib_after_fonts", static_cast<double>(statusKiB("VmHWM:")) / 1024.0);
  if (!m_main.font->fonts.cjk) std::cerr << "loyalty-terminal: the CJK font is missing (fonts-noto-cjk); Chinese will not show\n";

  m_counter.tapPath = m_o.tapMapPath;
  const int at = m_o.windowed ? 0 : SDL_WINDOWPOS_CENTERED_DISPLAY(0);
  if (!createWindow(m_counter, "Loyalty counter", at, at, width, height, flags)) {
    return 3;
  }
  SDL_GL_SetSwapInterval(1);
  m_marks.emplace_back("window_ms", msSinceProcessStart());
  m_marks.emplace_back("rss_peak_mib_after_window", static_cast<double>(statusKiB("VmHWM:")) / 1024.0);
  // A full-screen counter on the only screen would be covered by the customer window (a kiosk
  // compositor shows every window full screen): beside the counter only when it is windowed.
  const bool second = SDL_GetNumVideoDisplays() > 1;
  if (m_o.customerDisplay && !second && !m_o.windowed) {
    std::cerr << "loyalty-terminal: --customer-display: one screen, and the counter has it full screen; "
                 "no customer display\n";
  }
  if (m_o.customerDisplay && (second || m_o.windowed)) {
    int cw = 800, ch = 600;
    Uint32 cflags = 0;
    int cx = width, cy = 0;  // beside the counter window on a single screen
    if (second) {
      SDL_DisplayMode mode{};
      SDL_GetDesktopDisplayMode(1, &mode);
      cw = mode.w;
      ch = mode.h;
      cx = cy = SDL_WINDOWPOS_CENTERED_DISPLAY(1);
      cflags = SDL_WINDOW_FULLSCREEN_DESKTOP | SDL_WINDOW_BORDERLESS;
    }
    if (!m_o.tapMapPath.empty()) m_customer.tapPath = m_o.tapMapPath + ".customer";
    if (!createWindow(m_customer, "Loyalty customer display", cx, cy, cw, ch, cflags)) return 3;
  }
  // A kiosk session has no window manager to give the scanner's keys to the counter window.
  SDL_RaiseWindow(m_counter.sdl);
  SDL_SetWindowInputFocus(m_counter.sdl);
  SDL_SysWMinfo wm;
  SDL_VERSION(&wm.version);
  if (SDL_GetWindowWMInfo(m_counter.sdl, &wm) && wm.subsystem == SDL_SYSWM_WAYLAND) m_wayland = wm.info.wl.display;

  m_app.idPrefix = "T" + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                            std::chrono::system_clock::now().time_since_epoch()).count()) + "-";
  if (m_o.lang) m_app.lang = *m_o.lang;
  runLoop();
  m_main.build.reset();  // waits for a build still running: no wake-ups once SDL is gone
  m_large.build.reset();
  m_huge.build.reset();
  m_worker.reset();  // joins the thread: no more wake-ups once SDL is gone
  // Nothing to tell a compositor that is gone; a kiosk unit restarts an app that exits non-zero.
  if (m_displayLost) return 4;
  for (Window* w : {&m_customer, &m_counter}) {
    if (!w->ctx) continue;
    ImGui::SetCurrentContext(w->ctx);
    ImGui_ImplOpenGL3_Shutdown();
    ImGui_ImplSDL2_Shutdown();
    ImGui::DestroyContext(w->ctx);
  }
  for (FontSlot* slot : {&m_main, &m_large, &m_huge}) {
    if (slot->texture) glDeleteTextures(1, &slot->texture);
  }
  for (Window* w : {&m_customer, &m_counter}) {
    if (w->canvas) m_canvasGl.deleteFramebuffers(1, &w->canvas);
    if (w->canvasColour) m_canvasGl.deleteRenderbuffers(1, &w->canvasColour);
  }
  if (m_gl) SDL_GL_DeleteContext(m_gl);
  for (Window* w : {&m_customer, &m_counter}) {
    if (w->sdl) SDL_DestroyWindow(w->sdl);
  }
  SDL_Quit();
  if (m_damage.check && m_damage.mismatchedFrames > 0) {
    std::cerr << "loyalty-terminal: damage check: " << m_damage.mismatchedFrames << " of " << m_damage.frames
              << " frames differed from the whole frame\n";
    return 6;
  }
  return 0;
}

void Shell::runLoop() {
  MainQueue& queue = *m_queue;
  std::optional<BenchDriver> bench;
  if (!m_o.benchOut.empty()) bench.emplace(m_o, m_counter.id, m_probe.emplace());

  int framesToDraw = 2;
  std::deque<SDL_Event> events;
  while (!m_quit) {
    const bool working = busy(m_app);
    // Idle: sleep until an event (touch, key, a worker reply) or the next clock minute.
    int timeout = framesToDraw > 0 ? 0 : working ? 50 : 60'000;
    if (bench) timeout = std::min(timeout, bench->timeoutMs());
    if (!events.empty()) timeout = 0;
    SDL_Event e;
    if (SDL_WaitEventTimeout(&e, timeout)) {
      events.push_back(e);
      while (SDL_PollEvent(&e)) events.push_back(e);
    } else if (working) {
      framesToDraw = std::max(framesToDraw, 1);  // the spinner turns
    }
    if (const int error = wayland::connectionError(m_wayland)) {
      std::cerr << "loyalty-terminal: the Wayland compositor went away (" << std::strerror(error) << ")\n";
      m_displayLost = true;
      break;
    }
    // ImGui 1.86 reads input state once per frame: a finger that lands, presses and lifts in one
    // batch would be one frame of input and the tap lost. Each press and release gets its frame.
    bool any = false;
    while (!events.empty()) {
      const SDL_Event& next = events.front();
      const bool button = next.type == SDL_MOUSEBUTTONDOWN || next.type == SDL_MOUSEBUTTONUP;
      // Enter ends what was typed before it: what comes after belongs to the next frame.
      const bool enter = next.type == SDL_KEYDOWN &&
                         (next.key.keysym.sym == SDLK_RETURN || next.key.keysym.sym == SDLK_KP_ENTER);
      // An editing key's release too (Backspace, Delete, arrows, Ctrl+A): ImGui would lose a key
      // pressed and released in one frame. Typed characters come as text and need no frame each.
      if ((button || editingKeyUp(next)) && any) break;
      handle(next);
      events.pop_front();
      any = true;
      if (button || enter) break;
    }
    if (any) framesToDraw = std::max(framesToDraw, 2);  // ImGui settles hover/active in two frames
    if (applyReplies()) framesToDraw = std::max(framesToDraw, 2);
    takePinyin();
    if (takeFonts()) framesToDraw = std::max(framesToDraw, 2);  // the characters it waited for show
    startFontBuild();
    bool rendered = false;
    if (framesToDraw > 0) {
      const auto start = Clock::now();
      const double cpuStart = threadCpuMs();
      m_app.now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
      buildFrame(m_counter, true);
      if (m_customer.ctx) buildFrame(m_customer, false);
      // What the frame asked of the store goes now: the worker searches while the frame is drawn.
      if (!m_app.outbox.empty()) framesToDraw = std::max(framesToDraw, 2);
      if (submitCommands() && queue.waitFor(kSameFrameAnswer)) {
        // A lookup answers within a millisecond at a million members: the key and its answer go
        // on screen in one frame, not one frame each. The frame is built again with the answer
        // (its input was taken by the first build: nothing is pressed or typed twice).
        applyReplies();
        buildFrame(m_counter, true);
        if (m_customer.ctx) buildFrame(m_customer, false);
        submitCommands();
      }
      const double built = threadCpuMs();  // the UI thread's CPU: a wait above does not count
      double drawCpu = presentFrame(m_counter);
      if (m_customer.ctx) drawCpu += presentFrame(m_customer);
      if (bench) glFinish();
      m_lastFrameMs = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      m_app.frameMs = static_cast<std::uint32_t>(m_lastFrameMs);
      m_lastFrameCpuMs = threadCpuMs() - cpuStart;
      if (m_probe && m_probe->typing) {
        m_probe->buildCpuMs.push_back(built - cpuStart);
        m_probe->drawCpuMs.push_back(drawCpu);
        m_probe->presentCpuMs.push_back(threadCpuMs() - built - drawCpu);
      }
      // What the user typed (an IME gives any hanzi) joins the fonts: a build starts at once and
      // its atlas is taken at the first loop turn after it is ready.
      for (const std::string* text : {&m_app.lookupUi.name, &m_app.enrollUi.name, &m_app.saleUi.description,
                                      &m_app.complaintUi.description, &m_app.refundUi.saleId,
                                      &m_app.memberDetailsUi.name}) {
        if (m_glyphs.add(*text)) {
          m_fontsDirty = true;
          framesToDraw = std::max(framesToDraw, 2);
        }
      }
      // The on-screen keyboard's candidates too: their hanzi show from the next frame on.
      for (const std::string& word : m_app.keyboard.shown) {
        if (m_glyphs.add(word)) {
          m_fontsDirty = true;
          framesToDraw = std::max(framesToDraw, 2);
        }
      }
      --framesToDraw;
      rendered = true;
      if (!m_texturesUploaded) {
        m_texturesUploaded = true;
        releaseAtlasPixels();  // uploaded with the first window
        m_marks.emplace_back("first_frame_ms", msSinceProcessStart());
        m_marks.emplace_back("rss_peak_mib_after_first_frame", static_cast<double>(statusKiB("VmHWM:")) / 1024.0);
        // The common hanzi (GB 2312's ~2,500 in everyday use: nearly every name) are built now at
        // the body size (lists of names), off the UI thread, rather than one rebuild per name
        // that brings a new character. They would have cost the first frame some hundred ms.
        if (m_main.font->fonts.cjk) {
          m_common.addRanges(m_main.font->atlas.GetGlyphRangesChineseSimplifiedCommon());
          m_fontsDirty = true;
          // And the characters of the store's own member names, read in slices between lookups.
          m_worker->submit(cmd::NameCharacters{0});
        }
      }
    }
    const bool fontsSettled = m_namesRead && !m_fontsDirty && !m_main.build->pending() && !m_large.build->pending() &&
                              !m_huge.build->pending();
    if (bench && !bench->step(m_app, m_lastFrameMs, m_lastFrameCpuMs, rendered, fontsSettled)) break;
  }
  if (bench) {
    const nlohmann::json drawing = {
        {"damage_limited", m_counter.copySubBuffer != nullptr},
        {"frames", m_damage.frames},
        {"drawn_fraction_of_screen", m_damage.screenPixels ? static_cast<double>(m_damage.pixels) / static_cast<double>(m_damage.screenPixels) : 1.0},
        {"check", m_damage.check},
        {"check_mismatched_frames", m_damage.mismatchedFrames}};
    bench->write(m_o.benchOut, m_main.font->fonts.cjk, m_marks, drawing);
  }
}

}  // namespace

int runCounterApp(const ShellOptions& options, BackendFactory open) {
  return Shell(options, std::move(open)).run();
}

}  // namespace loyalty::ui
