#include "loyalty/ui/frame_damage.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace loyalty::ui {

namespace {

std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdULL;
}

std::uint64_t bits(float f) {
  std::uint32_t u = 0;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

std::uint64_t vertexHash(const ImDrawVert& v) {
  return mix(mix(bits(v.pos.x) << 32 | bits(v.pos.y), bits(v.uv.x) << 32 | bits(v.uv.y)), v.col);
}

/// A draw command's clip rectangle in framebuffer pixels (as the OpenGL backend computes it).
ImVec4 framebufferClip(const ImDrawData& data, const ImVec4& clip) {
  const ImVec2 off = data.DisplayPos, scale = data.FramebufferScale;
  return ImVec4((clip.x - off.x) * scale.x, (clip.y - off.y) * scale.y, (clip.z - off.x) * scale.x,
                (clip.w - off.y) * scale.y);
}

}  // namespace

void FrameDamage::textureChanged(ImTextureID texture) {
  for (auto& [id, generation] : m_generations) {
    if (id == texture) {
      ++generation;
      return;
    }
  }
  m_generations.emplace_back(texture, 1);
}

PixelRect FrameDamage::update(const ImDrawData& data, int width, int height, ImU32 clearColour, ImTextureID solid,
                              ImVec2 whiteUv) {
  const PixelRect whole{0, 0, width, height};
  if (width <= 0 || height <= 0) return {};
  if (width != m_width || height != m_height) {
    m_width = width;
    m_height = height;
    m_cols = (width + kTile - 1) / kTile;
    m_rows = (height + kTile - 1) / kTile;
    m_previous.assign(static_cast<std::size_t>(m_cols) * m_rows, 0);
    m_valid = false;
  }
  if (clearColour != m_clear) m_valid = false;
  m_clear = clearColour;
  m_current.assign(m_previous.size(), 0);
  const ImVec2 off = data.DisplayPos, scale = data.FramebufferScale;
  for (int l = 0; l < data.CmdListsCount; ++l) {
    const ImDrawList& list = *data.CmdLists[l];
    for (const ImDrawCmd& cmd : list.CmdBuffer) {
      if (cmd.UserCallback) {
        // Not drawn by triangles the hash could see: the whole screen is redrawn.
        m_valid = false;
        continue;
      }
      const ImVec4 clip = framebufferClip(data, cmd.ClipRect);
      const ImTextureID texture = cmd.GetTexID();
      const std::uint64_t base = mix(mix(reinterpret_cast<std::uintptr_t>(texture), bits(clip.x) << 32 | bits(clip.y)),
                                     bits(clip.z) << 32 | bits(clip.w));
      std::uint64_t generation = 0;
      for (const auto& [id, g] : m_generations) {
        if (id == texture) generation = g;
      }
      const bool solidTexture = texture == solid;
      const ImDrawIdx* idx = list.IdxBuffer.Data + cmd.IdxOffset;
      const ImDrawVert* vtx = list.VtxBuffer.Data + cmd.VtxOffset;
      for (unsigned t = 0; t + 2 < cmd.ElemCount; t += 3) {
        const ImDrawVert& a = vtx[idx[t]];
        const ImDrawVert& b = vtx[idx[t + 1]];
        const ImDrawVert& c = vtx[idx[t + 2]];
        // The pixels the triangle can touch: its bounds, within the clip rectangle and the screen
        // (a pixel is drawn when its centre is inside, so the bounds round outwards).
        const float x0 = std::max((std::min({a.pos.x, b.pos.x, c.pos.x}) - off.x) * scale.x, clip.x);
        const float y0 = std::max((std::min({a.pos.y, b.pos.y, c.pos.y}) - off.y) * scale.y, clip.y);
        const float x1 = std::min((std::max({a.pos.x, b.pos.x, c.pos.x}) - off.x) * scale.x, clip.z);
        const float y1 = std::min((std::max({a.pos.y, b.pos.y, c.pos.y}) - off.y) * scale.y, clip.w);
        if (!(x1 > x0 && y1 > y0)) continue;
        const int tx0 = std::clamp(static_cast<int>(std::floor(x0)) / kTile, 0, m_cols - 1);
        const int ty0 = std::clamp(static_cast<int>(std::floor(y0)) / kTile, 0, m_rows - 1);
        const int tx1 = std::clamp(static_cast<int>(std::ceil(x1)) / kTile, 0, m_cols - 1);
        const int ty1 = std::clamp(static_cast<int>(std::ceil(y1)) / kTile, 0, m_rows - 1);
        std::uint64_t h = mix(mix(mix(base, vertexHash(a)), vertexHash(b)), vertexHash(c));
        const auto white = [&](const ImDrawVert& v) { return v.uv.x == whiteUv.x && v.uv.y == whiteUv.y; };
        if (!(solidTexture && white(a) && white(b) && white(c))) h = mix(h, generation);
        for (int ty = ty0; ty <= ty1; ++ty) {
          std::uint64_t* row = m_current.data() + static_cast<std::size_t>(ty) * m_cols;
          for (int tx = tx0; tx <= tx1; ++tx) row[tx] = mix(row[tx], h);
        }
      }
    }
  }
  // Each run of tile rows with changes is a band: the rows' changed tiles, left to right.
  m_bands.clear();
  PixelRect damage{m_width, m_height, 0, 0};
  for (int ty = 0; ty < m_rows; ++ty) {
    PixelRect row{m_width, ty * kTile, 0, std::min((ty + 1) * kTile, m_height)};
    for (int tx = 0; tx < m_cols; ++tx) {
      const std::size_t i = static_cast<std::size_t>(ty) * m_cols + tx;
      if (m_current[i] == m_previous[i]) continue;
      row.x0 = std::min(row.x0, tx * kTile);
      row.x1 = std::max(row.x1, std::min((tx + 1) * kTile, m_width));
    }
    if (row.empty()) continue;
    if (!m_bands.empty() && m_bands.back().y1 == row.y0) {
      PixelRect& band = m_bands.back();
      band = PixelRect{std::min(band.x0, row.x0), band.y0, std::max(band.x1, row.x1), row.y1};
    } else {
      m_bands.push_back(row);
    }
    damage = PixelRect{std::min(damage.x0, row.x0), std::min(damage.y0, row.y0), std::max(damage.x1, row.x1), row.y1};
  }
  // At most kMaxBands: each pass over the draw lists costs its vertices again, so neighbours
  // merge where that adds the fewest pixels.
  const auto unite = [](const PixelRect& a, const PixelRect& b) {
    return PixelRect{std::min(a.x0, b.x0), std::min(a.y0, b.y0), std::max(a.x1, b.x1), std::max(a.y1, b.y1)};
  };
  while (m_bands.size() > kMaxBands) {
    std::size_t best = 0;
    long long bestAdded = -1;
    for (std::size_t i = 0; i + 1 < m_bands.size(); ++i) {
      const long long added = unite(m_bands[i], m_bands[i + 1]).area() - m_bands[i].area() - m_bands[i + 1].area();
      if (bestAdded < 0 || added < bestAdded) {
        bestAdded = added;
        best = i;
      }
    }
    m_bands[best] = unite(m_bands[best], m_bands[best + 1]);
    m_bands.erase(m_bands.begin() + static_cast<std::ptrdiff_t>(best) + 1);
  }
  m_previous.swap(m_current);
  if (!m_valid) {
    m_valid = true;
    m_bands.assign(1, whole);
    return whole;
  }
  return damage.empty() ? PixelRect{} : damage;
}

std::vector<ImVec4> clipDrawData(ImDrawData& data, const PixelRect& area) {
  std::vector<ImVec4> original;
  const ImVec2 off = data.DisplayPos, scale = data.FramebufferScale;
  // The area in ImGui's coordinates, to intersect the commands' rectangles with.
  const auto f = [](int v) { return static_cast<float>(v); };
  const ImVec4 a(off.x + f(area.x0) / scale.x, off.y + f(area.y0) / scale.y, off.x + f(area.x1) / scale.x,
                 off.y + f(area.y1) / scale.y);
  for (int l = 0; l < data.CmdListsCount; ++l) {
    for (ImDrawCmd& cmd : data.CmdLists[l]->CmdBuffer) {
      original.push_back(cmd.ClipRect);
      ImVec4& c = cmd.ClipRect;
      c = ImVec4(std::max(c.x, a.x), std::max(c.y, a.y), std::min(c.z, a.z), std::min(c.w, a.w));
      if (c.z <= c.x || c.w <= c.y) c = ImVec4(a.x, a.y, a.x, a.y);
    }
  }
  return original;
}

void restoreClipRects(ImDrawData& data, const std::vector<ImVec4>& original) {
  std::size_t i = 0;
  for (int l = 0; l < data.CmdListsCount; ++l) {
    for (ImDrawCmd& cmd : data.CmdLists[l]->CmdBuffer) {
      if (i < original.size()) cmd.ClipRect = original[i++];
    }
  }
}

}  // namespace loyalty::ui
