#include "loyalty/ui/keyboard.hpp"

#include <imgui.h>

#include <algorithm>
#include <optional>
#include <string>

#include "loyalty/core/text.hpp"
#include "loyalty/ui/pinyin_engine.hpp"
#include "loyalty/ui/widgets.hpp"

namespace loyalty::ui {

namespace {

bool isAsciiLetter(std::string_view key) {
  return key.size() == 1 && ((key[0] >= 'a' && key[0] <= 'z') || (key[0] >= 'A' && key[0] <= 'Z'));
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

/// Removes the last UTF-8 character (a hanzi is three bytes).
void popUtf8(std::string& t) {
  while (!t.empty()) {
    const auto c = static_cast<unsigned char>(t.back());
    t.pop_back();
    if ((c & 0xC0) != 0x80) break;
  }
}

void resetComposing(KeyboardUiState& s) {
  s.composing.clear();
  s.page = 0;
}

}  // namespace

// [SECTION] What the keys do

void keyboardFollow(KeyboardUiState& s, const std::string& text, std::string_view targetId) {
  if (s.target != targetId) {
    s.target = std::string(targetId);
    resetComposing(s);
    s.shift = false;
    s.hidden = false;
  }
  if (!s.composing.empty() && !std::string_view(text).ends_with(s.composing)) resetComposing(s);
}

void keyboardCommit(KeyboardUiState& s) { resetComposing(s); }

void keyboardType(KeyboardUiState& s, std::string& text, std::size_t maxLen, std::string_view key,
                  PinyinEngine* engine) {
  if (key.empty()) return;
  const bool letter = isAsciiLetter(key);
  if (letter && !s.latin && engine) {
    if (s.composing.size() >= PinyinEngine::kMaxLetters || text.size() + 1 > maxLen) return;
    const char c = lower(key[0]);
    text += c;
    s.composing += c;
    s.page = 0;
    return;
  }
  if (!s.composing.empty()) {
    // Space takes the first candidate, as in every pinyin input method; anything else ends the
    // pinyin as typed.
    if (key == " " && engine && keyboardChoose(s, text, maxLen, *engine, 0)) return;
    keyboardCommit(s);
  }
  std::string k(key);
  if (letter && s.shift) {
    k[0] = upper(k[0]);
    s.shift = false;
  }
  if (text.size() + k.size() > maxLen) return;
  text += k;
}

void keyboardBackspace(KeyboardUiState& s, std::string& text) {
  if (!s.composing.empty()) {
    s.composing.pop_back();
    text.pop_back();  // the field ends with the pinyin (keyboardFollow)
    s.page = 0;
    return;
  }
  popUtf8(text);
}

bool keyboardChoose(KeyboardUiState& s, std::string& text, std::size_t maxLen, PinyinEngine& engine,
                    std::size_t index) {
  if (s.composing.empty() || !std::string_view(text).ends_with(s.composing)) return false;
  const auto& candidates = engine.candidates(s.composing);
  if (index >= candidates.size()) return false;
  const std::string word = candidates[index];
  const std::size_t covered = engine.lettersOf(s.composing, index);
  if (covered == 0) return false;
  const std::string rest = s.composing.substr(covered);
  const std::string before = text.substr(0, text.size() - s.composing.size());
  if (before.size() + word.size() + rest.size() > maxLen) return false;
  text = before + word + rest;
  s.composing = rest;
  s.page = 0;
  return true;
}

// [SECTION] Drawing

namespace {

/// Colours of a field box (as widgets.cpp's fieldBox): selected (Ctrl+A), focused, idle.
ImU32 fieldColour(bool focused, bool selected) {
  const ImVec4 c = selected  ? ImVec4(0.25f, 0.45f, 0.80f, 1.0f)
                   : focused ? ImVec4(0.20f, 0.30f, 0.50f, 1.0f)
                             : ImVec4(0.18f, 0.18f, 0.22f, 1.0f);
  return ImGui::ColorConvertFloat4ToU32(c);
}

/// A candidate key's width: a square em per hanzi, whether or not the font has its glyphs yet
/// (they join the font a frame later, and the keys must not move under the finger when they do).
float candidateWidth(const std::string& word, float minKey) {
  return std::max(minKey, static_cast<float>(utf8Length(word)) * ImGui::GetFontSize() +
                              2 * ImGui::GetStyle().FramePadding.x);
}

/// The candidates that fit on each page of `width`, as the index each page starts at.
std::vector<std::size_t> pageStarts(const std::vector<std::string>& words, float width, float minKey, float gap) {
  std::vector<std::size_t> starts{0};
  float used = 0;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const float w = candidateWidth(words[i], minKey);
    if (used > 0 && used + w > width) {
      starts.push_back(i);
      used = 0;
    }
    used += w + gap;
  }
  return starts;
}

}  // namespace

bool textField(const Ui& u, const char* label, const std::string& value, const char* id, bool focused,
               float width, FieldLines lines, float height, const char* hint) {
  ImGui::TextUnformatted(label);
  const float w = width > 0 ? width : ImGui::GetContentRegionAvail().x;
  const float h = lines == FieldLines::kOne ? u.px(kMinTouch) : std::max(height, u.px(kMinTouch));
  const ImVec2 at = ImGui::GetCursorScreenPos();
  ImGui::PushID(id);
  const bool tapped = ImGui::InvisibleButton("field", ImVec2(w, h));
  ImGui::PopID();
  recordTap(id);
  if (tapped && u.keyboard) u.keyboard->hidden = false;

  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 end(at.x + w, at.y + h);
  const bool selected = focused && u.selectAll && !value.empty();
  dl->AddRectFilled(at, end, fieldColour(focused, selected), ImGui::GetStyle().FrameRounding);
  const ImVec2 pad = ImGui::GetStyle().FramePadding;
  const ImVec4 clip(at.x + pad.x / 2, at.y, end.x - pad.x / 2, end.y);
  const ImU32 text = ImGui::GetColorU32(ImGuiCol_Text);
  const std::string shown = value + (focused && !selected ? "_" : "");
  if (value.empty() && !focused && hint) {
    const ImVec2 y(at.x + pad.x, at.y + (h - ImGui::GetFontSize()) / 2);
    dl->AddText(nullptr, 0, y, ImGui::GetColorU32(ImGuiCol_TextDisabled), hint);
    return tapped;
  }
  if (lines == FieldLines::kSeveral) {
    dl->AddText(nullptr, 0, ImVec2(at.x + pad.x, at.y + pad.y), text, shown.c_str(), nullptr, w - 2 * pad.x, &clip);
    return tapped;
  }
  // One line: the end of the text stays in view (that is where typing happens), and the pinyin
  // being composed is underlined.
  const float textW = ImGui::CalcTextSize(shown.c_str()).x;
  const float x = at.x + pad.x + std::min(0.0f, w - 2 * pad.x - textW);
  const float y = at.y + (h - ImGui::GetFontSize()) / 2;
  dl->AddText(nullptr, 0, ImVec2(x, y), text, shown.c_str(), nullptr, 0, &clip);
  const KeyboardUiState* k = u.keyboard;
  if (focused && k && !k->composing.empty() && std::string_view(value).ends_with(k->composing)) {
    const std::string before = value.substr(0, value.size() - k->composing.size());
    const float from = x + ImGui::CalcTextSize(before.c_str()).x;
    const float to = x + ImGui::CalcTextSize(value.c_str()).x;
    const float line = y + ImGui::GetFontSize() + u.px(2);
    dl->AddLine(ImVec2(from, line), ImVec2(to, line), ImGui::GetColorU32(ImGuiCol_PlotLinesHovered), u.px(2));
  }
  return tapped;
}

float keyboardHeight(const Ui& u) { return 5 * u.px(kMinTouch) + 4 * ImGui::GetStyle().ItemSpacing.y; }

void drawKeyboard(KeyboardUiState& s, std::string& text, std::size_t maxLen, const Ui& u, float width) {
  ImGui::PushID("keyboard");
  const float gap = ImGui::GetStyle().ItemSpacing.x;
  const float key = (width - 9 * gap) / 10;  // ten keys to a row
  const float h = u.px(kMinTouch);
  const auto wide = [&](float keys) { return key * keys + gap * (keys - 1); };
  PinyinEngine* engine = s.latin ? nullptr : u.pinyin;
  const auto type = [&](std::string_view k) { keyboardType(s, text, maxLen, k, engine); };
  std::string id;
  ImGui::PushFont(u.large);

  // Row 1: the candidates for the pinyin being composed, else the digits.
  s.shown.clear();
  if (engine && !s.composing.empty()) {
    const auto& words = engine->candidates(s.composing);
    const std::string spelt = engine->syllables(s.composing);
    ImGui::PushFont(u.body);
    ImGui::Button(spelt.c_str(), ImVec2(wide(2), h));  // what the engine reads, not a key
    ImGui::PopFont();
    recordTap(("kbd-pinyin=" + s.composing).c_str());  // the state, for the e2e test
    const float room = width - wide(2) - wide(2) - gap;  // the pinyin left, the page keys right
    const auto starts = pageStarts(words, room, key, gap);
    s.page = std::min(s.page, starts.size() - 1);
    const std::size_t from = starts[s.page];
    const std::size_t to = s.page + 1 < starts.size() ? starts[s.page + 1] : words.size();
    std::optional<std::size_t> chosen;
    float used = 0;
    for (std::size_t i = from; i < to; ++i) {
      ImGui::SameLine();
      const float w = candidateWidth(words[i], key);
      id = "kbd-cand-" + std::to_string(i);
      if (bigButton(u, words[i].c_str(), id.c_str(), ImVec2(w, h), true, i == 0)) chosen = i;
      recordTap(("kbd-word-" + words[i]).c_str());  // the same key by its word
      s.shown.push_back(words[i]);
      used += w + gap;
    }
    ImGui::SameLine(0, gap + std::max(0.0f, room - used));
    if (bigButton(u, u.t(Msg::kKbdPrev), "kbd-prev", ImVec2(key, h), s.page > 0)) --s.page;
    ImGui::SameLine();
    if (bigButton(u, u.t(Msg::kKbdNext), "kbd-next", ImVec2(key, h), s.page + 1 < starts.size())) ++s.page;
    if (chosen) keyboardChoose(s, text, maxLen, *engine, *chosen);
  } else {
    for (int i = 0; i < 10; ++i) {
      if (i) ImGui::SameLine();
      const std::string digit(1, static_cast<char>('0' + (i + 1) % 10));
      id = "kbd-" + digit;
      if (bigButton(u, digit.c_str(), id.c_str(), ImVec2(key, h))) type(digit);
    }
  }

  // Rows 2-4: the letters (capitals shown while Shift is on in Latin mode).
  static constexpr const char* kRows[] = {"qwertyuiop", "asdfghjkl", "zxcvbnm"};
  const bool capitals = s.latin && s.shift;
  for (int row = 0; row < 3; ++row) {
    const std::string_view letters = kRows[row];
    if (row == 1) ImGui::Dummy(ImVec2(key / 2 - gap, h));
    if (row == 2) {
      if (bigButton(u, u.t(Msg::kKbdShift), "kbd-shift", ImVec2(wide(1.5f), h), s.latin, s.shift)) s.shift = !s.shift;
    }
    for (std::size_t i = 0; i < letters.size(); ++i) {
      if (i || row > 0) ImGui::SameLine();
      const std::string label(1, capitals ? upper(letters[i]) : letters[i]);
      id = std::string("kbd-") + letters[i];
      if (bigButton(u, label.c_str(), id.c_str(), ImVec2(key, h))) type(label);
    }
    if (row == 2) {
      ImGui::SameLine();
      if (bigButton(u, u.t(Msg::kKeyBack), "kbd-back", ImVec2(wide(1.5f), h))) keyboardBackspace(s, text);
    }
  }

  // Row 5: 中/英, punctuation, space, Enter.
  if (bigButton(u, u.t(s.latin ? Msg::kKbdToPinyin : Msg::kKbdToLatin), "kbd-lang", ImVec2(wide(1.5f), h))) {
    keyboardCommit(s);
    s.latin = !s.latin;
    s.shift = false;
  }
  ImGui::SameLine();
  if (bigButton(u, ",", "kbd-comma", ImVec2(key, h))) type(",");
  ImGui::SameLine();
  if (bigButton(u, u.t(Msg::kKbdSpace), "kbd-space", ImVec2(wide(4), h))) type(" ");
  ImGui::SameLine();
  if (bigButton(u, ".", "kbd-dot", ImVec2(key, h))) type(".");
  ImGui::SameLine();
  if (bigButton(u, "-", "kbd-dash", ImVec2(key, h))) type("-");
  ImGui::SameLine();
  if (bigButton(u, u.t(Msg::kKbdEnter), "kbd-enter", ImVec2(wide(1.5f), h), true, true)) {
    keyboardCommit(s);
    s.enter = true;
  }
  ImGui::PopFont();
  ImGui::PopID();
}

}  // namespace loyalty::ui
