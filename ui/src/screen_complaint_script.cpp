// The complaint screen's script: the course's six steps with a complaining customer (listen,
// confirm, apologise, acknowledge, explain, thank), two rows of three above the form, so the
// cashier follows them while recording the complaint.
#include "loyalty/ui/screens.hpp"

namespace loyalty::ui {

void drawComplaintScript(const Ui& u) {
  static constexpr Msg kSteps[] = {Msg::kScriptListen,      Msg::kScriptConfirm, Msg::kScriptApologise,
                                   Msg::kScriptAcknowledge, Msg::kScriptExplain, Msg::kScriptThank};
  ImGui::TextColored(ImVec4(0.55f, 0.80f, 1.0f, 1.0f), "%s", u.t(Msg::kScriptTitle));
  if (!ImGui::BeginTable("complaint-script", 3, ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_SizingStretchSame)) return;
  for (std::size_t i = 0; i < std::size(kSteps); ++i) {
    ImGui::TableNextColumn();
    ImGui::TextWrapped("%s", u.t(kSteps[i]));
    const std::string id = "complaint-script-" + std::to_string(i + 1);
    recordTap(id.c_str());
  }
  ImGui::EndTable();
  ImGui::Spacing();
}

}  // namespace loyalty::ui
