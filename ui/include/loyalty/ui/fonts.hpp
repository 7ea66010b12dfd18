#pragma once
/// @brief Fonts: Noto Sans CJK (Simplified Chinese face) at three sizes, with glyph ranges built
/// only for what the UI needs: Latin, the catalogue's own text, and every other character that
/// a snapshot brought (names, rewards, greetings) or the user typed, added when it first appears
/// (the 2,500 common hanzi alone cost more start-up time than everything else together).

#include <imgui.h>

#include <functional>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>

namespace loyalty::ui {

/// The face index of Simplified Chinese in NotoSansCJK-*.ttc.
inline constexpr int kNotoCjkScFace = 2;

/// Where fonts-noto-cjk installs its regular weight (a path of the Debian package, not of a
/// machine); LOYALTY_UI_FONT overrides it.
std::string defaultFontPath();

/// Characters the fonts must have beyond the fixed ranges.
class GlyphSet {
 public:
  /// Adds the code points of `utf8`; true if any was new.
  bool add(std::string_view utf8);
  /// Adds one code point (beyond ASCII, in the BMP); true if it was new.
  bool addCodePoint(char32_t c);
  bool contains(char32_t c) const { return c <= 0xFFFF && m_glyphs.count(static_cast<ImWchar>(c)) > 0; }
  /// Adds ImGui-style ranges (pairs, zero-terminated) of BMP code points beyond ASCII.
  void addRanges(const ImWchar* ranges);
  /// True if every character of `other` is in this set.
  bool covers(const GlyphSet& other) const;
  void merge(const GlyphSet& other);
  const std::set<ImWchar>& glyphs() const { return m_glyphs; }

 private:
  std::set<ImWchar> m_glyphs;
};

/// A read-only memory map of the font file: shared with the page cache, and only the pages the
/// glyphs live on are touched (a 20 MB collection otherwise copied once per size).
class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  void* data() const { return m_data; }
  std::size_t size() const { return m_size; }
  /// Gives the pages read so far back (they are read again when needed).
  void dropPages() const;

 private:
  void* m_data = nullptr;
  std::size_t m_size = 0;
};

struct FontSet {
  ImFont* body = nullptr;
  ImFont* large = nullptr;
  ImFont* huge = nullptr;
  bool cjk = false;  ///< false: the CJK font was missing and ImGui's built-in font is used
  ImVector<ImWchar> ranges;  ///< must outlive the atlas build
  std::shared_ptr<MappedFile> file;  ///< shared by the atlas in use and one being built
};

/// Which sizes an atlas holds. The counter app keeps one atlas per size: body with the common
/// hanzi (nearly every name's characters in lists, rarely rebuilt), large and huge with only the
/// characters seen so far (small textures: rebuilt and uploaded when a name brings a new
/// character). ImGui 1.86 draws each font from its own atlas's texture.
enum class FontSizes { kAll, kBody, kLarge, kHuge };

/// Clears `atlas` and builds the sizes (body 22, large 30, huge 46 px at scale 1); the fonts of
/// sizes not built stay null.
void buildFonts(ImFontAtlas& atlas, FontSet& fonts, const std::string& path, float scale, const GlyphSet& extra,
                FontSizes sizes = FontSizes::kAll);

/// An atlas and its three fonts, built together and never moved (the fonts point into it).
struct FontAtlas {
  ImFontAtlas atlas;
  FontSet fonts;
  GlyphSet glyphs;  ///< what it was built with beyond the fixed ranges
};

/// Builds atlases off the UI thread, one at a time. A FreeType build of a few thousand hanzi at
/// three sizes takes tens of milliseconds (more on a busy machine): on the UI thread that was a
/// stalled frame each time a name brought a new character. Meanwhile the UI draws with the atlas
/// it has (a character not in it yet shows as the fallback glyph until the new atlas arrives).
/// ImGui's allocation counter (a metric, MetricsActiveAllocations of the current context) is
/// counted from both threads; nothing else is shared: the build has its own atlas and FreeType
/// library, and the font file is a read-only mapping.
class FontBuildThread {
 public:
  /// `ready` is called on the builder's thread when a build has finished (e.g. to wake the loop).
  explicit FontBuildThread(std::function<void()> ready) : m_ready(std::move(ready)) {}
  ~FontBuildThread();  ///< waits for a running build
  FontBuildThread(const FontBuildThread&) = delete;
  FontBuildThread& operator=(const FontBuildThread&) = delete;

  /// Starts building `glyphs`; false (nothing started) while a build runs or waits to be taken.
  bool start(const std::string& path, float scale, GlyphSet glyphs, FontSizes sizes, std::shared_ptr<MappedFile> file);
  /// True from start() until take() has returned the atlas.
  bool pending() const { return m_build.valid(); }
  /// The finished atlas (once), or null while it is being built or when none was started.
  std::unique_ptr<FontAtlas> take();

 private:
  std::function<void()> m_ready;
  std::future<std::unique_ptr<FontAtlas>> m_build;
  std::thread m_thread;
};

}  // namespace loyalty::ui
