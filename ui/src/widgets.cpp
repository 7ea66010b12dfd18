#include "loyalty/ui/widgets.hpp"

#include <imgui_internal.h>

#include <algorithm>
#include <cmath>

#include "loyalty/core/text.hpp"

namespace loyalty::ui {

void recordTap(const char* id) {
  auto* map = static_cast<TapMap*>(ImGui::GetIO().UserData);
  if (!map) return;
  const ImVec2 min = ImGui::GetItemRectMin(), max = ImGui::GetItemRectMax();
  map->rects[id] = {static_cast<int>(min.x), static_cast<int>(min.y), static_cast<int>(max.x - min.x),
                    static_cast<int>(max.y - min.y)};
}

bool bigButton(const Ui& ui, const char* label, const char* id, ImVec2 size, bool enabled, bool primary) {
  size.y = std::max(size.y, ui.px(kMinTouch));
  ImGui::PushID(id);
  if (primary) {
    ImGui::PushStyleColor(ImGuiCol_Button, ImVec4(0.10f, 0.45f, 0.25f, 1.0f));
    ImGui::PushStyleColor(ImGuiCol_ButtonHovered, ImVec4(0.13f, 0.55f, 0.30f, 1.0f));
    ImGui::PushStyleColor(ImGuiCol_ButtonActive, ImVec4(0.08f, 0.38f, 0.20f, 1.0f));
  }
  if (!enabled) ImGui::PushStyleVar(ImGuiStyleVar_Alpha, 0.4f);
  const bool pressed = ImGui::Button(label, size) && enabled;
  if (!enabled) ImGui::PopStyleVar();
  if (primary) ImGui::PopStyleColor(3);
  ImGui::PopID();
  recordTap(id);
  return pressed;
}

bool fieldBox(const Ui& ui, const char* label, const std::string& value, const char* id,
              bool focused, bool masked, float width) {
  ImGui::TextUnformatted(label);
  std::string text;
  if (masked) {
    for (std::size_t i = 0; i < value.size(); ++i) text += "\xe2\x97\x8f";  // ● per digit
  } else {
    text = value;
  }
  const bool selected = focused && ui.selectAll && !value.empty();
  if (focused && !selected) text += "_";
  ImGui::PushStyleColor(ImGuiCol_Button, selected  ? ImVec4(0.25f, 0.45f, 0.80f, 1.0f)
                                         : focused ? ImVec4(0.20f, 0.30f, 0.50f, 1.0f)
                                                   : ImVec4(0.18f, 0.18f, 0.22f, 1.0f));
  ImGui::PushStyleVar(ImGuiStyleVar_ButtonTextAlign, ImVec2(0.02f, 0.5f));
  ImGui::PushID(id);
  const float w = width > 0 ? width : ImGui::GetContentRegionAvail().x;
  const bool tapped = ImGui::Button(text.empty() ? " " : text.c_str(), ImVec2(w, ui.px(kMinTouch)));
  ImGui::PopID();
  ImGui::PopStyleVar();
  ImGui::PopStyleColor();
  recordTap(id);
  return tapped;
}

bool keypad(const Ui& ui, std::string& text, std::size_t maxLen, const char* id, bool decimal,
            const char* okLabel, float width, bool okEnabled) {
  ImGui::PushID(id);
  const float gap = ImGui::GetStyle().ItemSpacing.x;
  const ImVec2 key((width - 2 * gap) / 3, ui.px(70));
  static constexpr const char* kDigits[] = {"1", "2", "3", "4", "5", "6", "7", "8", "9"};
  std::string keyId;
  const auto push = [&](char c) {
    if (text.size() < maxLen) text.push_back(c);
  };
  ImGui::PushFont(ui.large);
  for (int i = 0; i < 9; ++i) {
    if (i % 3) ImGui::SameLine();
    keyId = std::string(id) + "-" + kDigits[i];
    if (bigButton(ui, kDigits[i], keyId.c_str(), key)) push(static_cast<char>('1' + i));
  }
  keyId = std::string(id) + (decimal ? "-dot" : "-clear");
  if (bigButton(ui, decimal ? "." : ui.t(Msg::kKeyClear), keyId.c_str(), key)) {
    if (!decimal) {
      text.clear();
    } else if (text.find('.') == std::string::npos) {
      push('.');
    }
  }
  ImGui::SameLine();
  keyId = std::string(id) + "-0";
  if (bigButton(ui, "0", keyId.c_str(), key)) push('0');
  ImGui::SameLine();
  keyId = std::string(id) + "-back";
  if (bigButton(ui, ui.t(Msg::kKeyBack), keyId.c_str(), key) && !text.empty()) text.pop_back();
  ImGui::PopFont();
  bool ok = false;
  if (okLabel) {
    keyId = std::string(id) + "-ok";
    ok = bigButton(ui, okLabel, keyId.c_str(), ImVec2(width, key.y), okEnabled, true);
  }
  ImGui::PopID();
  return ok;
}

void dateKeypad(const Ui& ui, std::string& date, const char* id, float width) {
  std::string digits = digitsOf(date);
  keypad(ui, digits, 8, id, false, nullptr, width);
  date = shapeDate(digits);
}

bool codeKeypad(const Ui& ui, std::string& text, std::size_t maxLen, const char* id, const char* okLabel,
                float width, bool okEnabled) {
  static constexpr const char kKeys[] = "1234567890ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  constexpr int kPerRow = 6;
  ImGui::PushID(id);
  const float gap = ImGui::GetStyle().ItemSpacing.x;
  const ImVec2 key((width - (kPerRow - 1) * gap) / kPerRow, ui.px(kMinTouch));
  std::string keyId;
  ImGui::PushFont(ui.large);
  int n = 0;
  const auto next = [&] {
    if (n++ % kPerRow) ImGui::SameLine();
  };
  for (const char c : std::string_view(kKeys)) {
    next();
    const char label[2] = {c, '\0'};
    keyId = std::string(id) + "-" + label;
    if (bigButton(ui, label, keyId.c_str(), key) && text.size() < maxLen) text.push_back(c);
  }
  next();
  keyId = std::string(id) + "-dash";
  if (bigButton(ui, "-", keyId.c_str(), key) && text.size() < maxLen) text.push_back('-');
  next();
  keyId = std::string(id) + "-back";
  if (bigButton(ui, ui.t(Msg::kKeyBack), keyId.c_str(), key) && !text.empty()) text.pop_back();
  ImGui::PopFont();
  keyId = std::string(id) + "-clear";
  const float half = (width - gap) / 2;
  if (bigButton(ui, ui.t(Msg::kKeyClear), keyId.c_str(), ImVec2(half, key.y))) text.clear();
  ImGui::SameLine();
  keyId = std::string(id) + "-ok";
  const bool ok = okLabel && bigButton(ui, okLabel, keyId.c_str(), ImVec2(half, key.y), okEnabled, true);
  ImGui::PopID();
  return ok;
}

void fieldErrorText(const Ui& ui, const FieldError& error, const char* field) {
  if (error.message.empty()) return;
  if (field && error.field != field) return;
  (void)ui;
  ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.45f, 0.40f, 1.0f));
  ImGui::TextWrapped("%s", error.message.c_str());
  ImGui::PopStyleColor();
}

bool errorAction(const Ui& ui, const std::string& message, const char* action, const char* id, float width) {
  ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.45f, 0.40f, 1.0f));
  ImGui::PushStyleVar(ImGuiStyleVar_ButtonTextAlign, ImVec2(0.02f, 0.5f));
  const std::string label = message + "  " + action;
  const bool tapped = bigButton(ui, label.c_str(), id, ImVec2(width, 0));
  ImGui::PopStyleVar();
  ImGui::PopStyleColor();
  return tapped;
}

void otherErrorText(const Ui& ui, const FieldError& error, std::initializer_list<std::string_view> shownFields) {
  for (const std::string_view f : shownFields) {
    if (error.field == f) return;
  }
  fieldErrorText(ui, error, nullptr);
}

void dragScroll(const Ui& ui) {
  ImGuiWindow* w = ImGui::GetCurrentWindow();
  if (w->ScrollMax.y <= 0 || !ImGui::IsMouseDown(ImGuiMouseButton_Left)) return;
  if (!ImGui::IsWindowHovered(ImGuiHoveredFlags_AllowWhenBlockedByActiveItem)) return;
  if (ImGui::GetActiveID() == ImGui::GetWindowScrollbarID(w, ImGuiAxis_Y)) return;  // the scrollbar itself
  if (!ImGui::IsMouseDragging(ImGuiMouseButton_Left, ui.px(12))) return;
  ImGui::SetScrollY(w, std::clamp(w->Scroll.y - ImGui::GetIO().MouseDelta.y, 0.0f, w->ScrollMax.y));
  if (ImGui::GetActiveID() != 0) ImGui::ClearActiveID();  // a drag is not a tap on what it began on
}

void busySpinner(const Ui& ui, float radius) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p = ImGui::GetCursorScreenPos();
  const ImVec2 c(p.x + radius, p.y + radius);
  const float t = static_cast<float>(ImGui::GetTime()) * 6.0f;
  dl->PathArcTo(c, radius, t, t + 4.5f, 24);
  dl->PathStroke(IM_COL32(120, 200, 255, 255), 0, ui.px(4));
  ImGui::Dummy(ImVec2(radius * 2, radius * 2));
}

}  // namespace loyalty::ui
