#include "loyalty/ui/fonts.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <imgui_freetype.h>
#include <imgui_internal.h>

#include <cstdlib>

namespace loyalty::ui {

std::string defaultFontPath() {
  if (const char* env = std::getenv("LOYALTY_UI_FONT"); env && *env) return env;
  return "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";
}

MappedFile::MappedFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    void* p = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
      m_data = p;
      m_size = static_cast<std::size_t>(st.st_size);
    }
  }
  ::close(fd);
}

void MappedFile::dropPages() const {
  // A private, never written mapping: the pages go from this process (RSS) and come back from
  // the page cache when the next rebuild reads them.
  if (m_data) ::madvise(m_data, m_size, MADV_DONTNEED);
}

MappedFile::~MappedFile() {
  if (m_data) ::munmap(m_data, m_size);
}

bool GlyphSet::add(std::string_view utf8) {
  bool added = false;
  const char* p = utf8.data();
  const char* end = p + utf8.size();
  while (p < end) {
    unsigned int c = 0;
    const int n = ImTextCharFromUtf8(&c, p, end);
    if (n <= 0) break;
    p += n;
    if (c >= 0x80 && c <= 0xFFFF) added |= m_glyphs.insert(static_cast<ImWchar>(c)).second;
  }
  return added;
}

void buildFonts(ImFontAtlas& atlas, FontSet& fonts, const std::string& path, float scale, const GlyphSet& extra) {
  atlas.Clear();
  atlas.Flags |= ImFontAtlasFlags_NoPowerOfTwoHeight;  // up to half the texture was padding
  if (!fonts.file) fonts.file = std::make_unique<MappedFile>(path);
  fonts.cjk = fonts.file->data() != nullptr;
  if (!fonts.cjk) {
    ImFontConfig c;
    c.SizePixels = 22 * scale;
    fonts.body = atlas.AddFontDefault(&c);
    c.SizePixels = 30 * scale;
    fonts.large = atlas.AddFontDefault(&c);
    c.SizePixels = 46 * scale;
    fonts.huge = atlas.AddFontDefault(&c);
    atlas.Build();
    return;
  }
  ImFontGlyphRangesBuilder needed;
  needed.AddRanges(atlas.GetGlyphRangesDefault());
  for (const ImWchar c : extra.glyphs()) needed.AddChar(c);
  fonts.ranges.clear();
  needed.BuildRanges(&fonts.ranges);

  // FreeType rasterises Noto's CFF outlines several times faster than stb_truetype.
  atlas.FontBuilderIO = ImGuiFreeType::GetBuilderForFreeType();
  ImFontConfig c;
  c.FontNo = kNotoCjkScFace;
  c.OversampleH = 1;  // 3× horizontal oversampling triples the atlas for no visible gain here
  c.OversampleV = 1;
  c.PixelSnapH = true;
  // ImGui copies font data it does not own (ImFontAtlas::AddFont): 20 MB per size, 60 MB for the
  // three, kept for the atlas's life. So it is told it owns the mapping while it builds, and
  // told otherwise right after, before anything could free it (Clear(), the destructor).
  c.FontDataOwnedByAtlas = true;
  const int bytes = static_cast<int>(fonts.file->size());
  fonts.body = atlas.AddFontFromMemoryTTF(fonts.file->data(), bytes, 22 * scale, &c, fonts.ranges.Data);
  fonts.large = atlas.AddFontFromMemoryTTF(fonts.file->data(), bytes, 30 * scale, &c, fonts.ranges.Data);
  fonts.huge = atlas.AddFontFromMemoryTTF(fonts.file->data(), bytes, 46 * scale, &c, fonts.ranges.Data);
  atlas.Build();
  for (ImFontConfig& source : atlas.ConfigData) source.FontDataOwnedByAtlas = false;
  // The glyphs are in the atlas now; the pages of the 20 MB collection that FreeType read (about
  // all of them, mapped around each read) would otherwise stay in the app's memory.
  fonts.file->dropPages();
}

}  // namespace loyalty::ui
