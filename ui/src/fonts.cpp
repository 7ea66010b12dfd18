#include "loyalty/ui/fonts.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <imgui_freetype.h>
#include <imgui_internal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <utility>

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

bool GlyphSet::addCodePoint(char32_t c) {
  return c >= 0x80 && c <= 0xFFFF && m_glyphs.insert(static_cast<ImWchar>(c)).second;
}

void GlyphSet::addRanges(const ImWchar* ranges) {
  for (; ranges && ranges[0]; ranges += 2) {
    for (unsigned int c = ranges[0]; c <= ranges[1]; ++c) {
      if (c >= 0x80) m_glyphs.insert(static_cast<ImWchar>(c));
    }
  }
}

bool GlyphSet::covers(const GlyphSet& other) const {
  return std::includes(m_glyphs.begin(), m_glyphs.end(), other.m_glyphs.begin(), other.m_glyphs.end());
}

void GlyphSet::merge(const GlyphSet& other) { m_glyphs.insert(other.m_glyphs.begin(), other.m_glyphs.end()); }

void buildFonts(ImFontAtlas& atlas, FontSet& fonts, const std::string& path, float scale, const GlyphSet& extra,
                FontSizes sizes) {
  const bool all = sizes == FontSizes::kAll;
  const bool body = all || sizes == FontSizes::kBody, large = all || sizes == FontSizes::kLarge,
             huge = all || sizes == FontSizes::kHuge;
  atlas.Clear();
  atlas.Flags |= ImFontAtlasFlags_NoPowerOfTwoHeight;  // up to half the texture was padding
  if (!fonts.file) fonts.file = std::make_shared<MappedFile>(path);
  fonts.cjk = fonts.file->data() != nullptr;
  if (!fonts.cjk) {
    ImFontConfig c;
    c.SizePixels = 22 * scale;
    if (body) fonts.body = atlas.AddFontDefault(&c);
    c.SizePixels = 30 * scale;
    if (large) fonts.large = atlas.AddFontDefault(&c);
    c.SizePixels = 46 * scale;
    if (huge) fonts.huge = atlas.AddFontDefault(&c);
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
  if (body) fonts.body = atlas.AddFontFromMemoryTTF(fonts.file->data(), bytes, 22 * scale, &c, fonts.ranges.Data);
  if (large) fonts.large = atlas.AddFontFromMemoryTTF(fonts.file->data(), bytes, 30 * scale, &c, fonts.ranges.Data);
  if (huge) fonts.huge = atlas.AddFontFromMemoryTTF(fonts.file->data(), bytes, 46 * scale, &c, fonts.ranges.Data);
  atlas.Build();
  for (ImFontConfig& source : atlas.ConfigData) source.FontDataOwnedByAtlas = false;
  // The glyphs are in the atlas now; the pages of the 20 MB collection that FreeType read (about
  // all of them, mapped around each read) would otherwise stay in the app's memory.
  fonts.file->dropPages();
}

FontBuildThread::~FontBuildThread() {
  if (m_thread.joinable()) m_thread.join();
}

bool FontBuildThread::start(const std::string& path, float scale, GlyphSet glyphs, FontSizes sizes,
                            std::shared_ptr<MappedFile> file) {
  if (m_build.valid()) return false;
  if (m_thread.joinable()) m_thread.join();
  std::promise<std::unique_ptr<FontAtlas>> done;
  m_build = done.get_future();
  m_thread = std::thread([this, path, scale, glyphs = std::move(glyphs), sizes, file = std::move(file), done = std::move(done)]() mutable {
    // Below the UI thread and the store's worker: on a busy (or single-core) machine the build
    // waits, not the frames and the searches.
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
    auto built = std::make_unique<FontAtlas>();
    built->fonts.file = std::move(file);
    buildFonts(built->atlas, built->fonts, path, scale, glyphs, sizes);
    built->glyphs = std::move(glyphs);
    done.set_value(std::move(built));
    if (m_ready) m_ready();  // after the value is set: whoever wakes finds it ready
  });
  return true;
}

std::unique_ptr<FontAtlas> FontBuildThread::take() {
  if (!m_build.valid() || m_build.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return nullptr;
  auto built = m_build.get();
  m_thread.join();
  return built;
}

}  // namespace loyalty::ui
