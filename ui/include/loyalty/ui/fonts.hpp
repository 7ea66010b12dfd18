#pragma once
/// @brief Fonts: Noto Sans CJK (Simplified Chinese face) at three sizes, with glyph ranges built
/// only for what the UI needs: Latin, the catalogue's own text, and every other character that
/// a snapshot brought (names, rewards, greetings) or the user typed, added when it first appears
/// (the 2,500 common hanzi alone cost more start-up time than everything else together).

#include <imgui.h>

#include <memory>
#include <set>
#include <string>
#include <string_view>

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
  std::unique_ptr<MappedFile> file;
};

/// Clears `atlas` and builds the three sizes (body 22, large 30, huge 46 px at scale 1).
void buildFonts(ImFontAtlas& atlas, FontSet& fonts, const std::string& path, float scale, const GlyphSet& extra);

}  // namespace loyalty::ui
