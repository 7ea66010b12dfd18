// The complaint screen's script: the course's six steps with a complaining customer (listen,
// confirm, apologise, acknowledge, explain, thank), two rows of three above the form, so the
// cashier follows them while recording the complaint.
#include <string>

#include "loyalty/ui/screens.hpp"
#include "loyalty/ui/widgets.hpp"

namespace loyalty::ui {

bool drawComplaintScript(const Ui& u) {
  static constexpr Msg kSteps[] = {Msg::kScriptListen,      Msg::kScriptConfirm, Msg::kScriptApologise,
                                   Msg::kScriptAcknowledge, Msg::kScriptExplain, Msg::kScriptThank};
  const ImVec4 kScriptColour(0.55f, 0.80f, 1.0f, 1.0f);
  // With the on-screen keyboard up there is no room for two rows: the steps' names on one line
  // (the words before the colon) in place of the category's label, so the form and its buttons
  // stay above the keyboard.
  const float lineH = ImGui::GetTextLineHeightWithSpacing(), gap = ImGui::GetStyle().ItemSpacing.y;
  const float script = 3 * lineH + 4 * gap;  // the title and two rows of steps
  const float form = lineH + 2 * u.px(kMinTouch) + u.px(84) + 2 * lineH + 6 * gap;  // categories, description, errors, buttons
  if (ImGui::GetContentRegionAvail().y < script + form) {
    std::string line = std::string(u.t(Msg::kScriptTitle)) + ": ";
    for (std::size_t i = 0; i < std::size(kSteps); ++i) {
      const std::string step = u.t(kSteps[i]);
      std::size_t cut = step.find("\xEF\xBC\x9A");  // the full-width colon of the Chinese texts
      if (cut == std::string::npos) cut = step.find(':');
      line += (i ? "  " : "") + step.substr(0, cut);
    }
    ImGui::TextColored(kScriptColour, "%s", line.c_str());
    recordTap("complaint-script-line");
    return true;
  }
  ImGui::TextColored(kScriptColour, "%s", u.t(Msg::kScriptTitle));
  if (!ImGui::BeginTable("complaint-script", 3, ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_SizingStretchSame)) return false;
  for (std::size_t i = 0; i < std::size(kSteps); ++i) {
    ImGui::TableNextColumn();
    ImGui::TextWrapped("%s", u.t(kSteps[i]));
    const std::string id = "complaint-script-" + std::to_string(i + 1);
    recordTap(id.c_str());
  }
  ImGui::EndTable();
  ImGui::Spacing();
  return false;
}

}  // namespace loyalty::ui
