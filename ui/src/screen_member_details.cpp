// The member details screen: change phone, name, birthday and language; give or withdraw
// marketing consent with the consent text and its version in front of the member, and the
// decisions so far; show the member everything the counter holds on them (export_member).
#include "loyalty/ui/screens.hpp"

#include <imgui_stdlib.h>

#include <algorithm>

namespace loyalty::ui {

namespace {

const ImVec4 kGood(0.45f, 0.90f, 0.55f, 1.0f);
const ImVec4 kWarn(1.0f, 0.75f, 0.30f, 1.0f);

const char* languageLabel(const Ui& u, const std::string& language) {
  return language.rfind("en", 0) == 0 ? u.t(Msg::kLanguageEn) : u.t(Msg::kLanguageZh);
}

/// The wire names of changed fields ("name,phone") as the cashier reads them.
std::string fieldNames(const Ui& u, const std::string& fields) {
  std::string out;
  std::size_t from = 0;
  while (from <= fields.size()) {
    const std::size_t to = std::min(fields.find(',', from), fields.size());
    const std::string f = fields.substr(from, to - from);
    const char* label = f == "name"       ? u.t(Msg::kName)
                        : f == "phone"    ? u.t(Msg::kPhone)
                        : f == "birthday" ? u.t(Msg::kFieldBirthday)
                        : f == "language" ? u.t(Msg::kLanguage)
                                          : f.c_str();
    if (!f.empty()) out += (out.empty() ? "" : ", ") + std::string(label);
    from = to + 1;
  }
  return out;
}

void consentTable(const Ui& u, const std::vector<terminal::ConsentDecision>& consents, const char* id, float width) {
  if (consents.empty()) {
    ImGui::TextDisabled("%s", u.t(Msg::kNotGiven));
    return;
  }
  if (!ImGui::BeginTable(id, 5, ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH, ImVec2(width, 0))) return;
  ImGui::TableSetupColumn(u.t(Msg::kWhen));
  ImGui::TableSetupColumn(u.t(Msg::kDecision));
  ImGui::TableSetupColumn(u.t(Msg::kVersion));
  ImGui::TableSetupColumn(u.t(Msg::kStore));
  ImGui::TableSetupColumn(u.t(Msg::kStaffId));
  ImGui::TableHeadersRow();
  for (auto c = consents.rbegin(); c != consents.rend(); ++c) {  // the newest first
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(c->at.c_str());
    ImGui::TableNextColumn();
    ImGui::TextColored(c->consentMarketing ? kGood : kWarn, "%s",
                       u.t(c->consentMarketing ? Msg::kConsentGiven : Msg::kConsentWithdrawn));
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(c->consentVersion.value_or("-").c_str());
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(c->storeId.value_or("-").c_str());
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(c->staffId.value_or("-").c_str());
  }
  ImGui::EndTable();
}

Intents detailsTab(const MemberDetailsViewModel& vm, MemberDetailsUiState& s, const Ui& u) {
  Intents out;
  const MemberView& m = *vm.member;
  const float pad = std::min(u.px(360), ImGui::GetContentRegionAvail().x * 0.42f);
  const float left = ImGui::GetContentRegionAvail().x - pad - ImGui::GetStyle().ItemSpacing.x * 3;
  ImGui::BeginGroup();
  if (textField(u, u.t(Msg::kName), s.name, "details-name", s.focus == 2, left)) s.focus = 2;
  fieldErrorText(u, vm.error, "name");
  if (fieldBox(u, subst(u.t(Msg::kNewPhone), {m.phoneMasked}).c_str(), s.phone, "details-phone", s.focus == 0, false,
               left)) {
    s.focus = 0;
  }
  if (vm.error.field == "phone" && !vm.takenPhone.empty()) {
    if (errorAction(u, vm.error.message, u.t(Msg::kOpenPhoneOwner), "details-open-owner", left)) {
      out.push_back(intent::OpenPhoneOwner{vm.takenPhone});
    }
  } else {
    fieldErrorText(u, vm.error, "phone");
  }
  if (fieldBox(u, u.t(Msg::kBirthdayShort), s.birthday, "details-birthday", s.focus == 1, false, left)) s.focus = 1;
  fieldErrorText(u, vm.error, "birthday");
  // The language on one row with its label: the form fits 1024x768 with a refusal shown.
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted(u.t(Msg::kLanguage));
  ImGui::SameLine(u.px(110));
  const float half = (left - u.px(110) - ImGui::GetStyle().ItemSpacing.x) / 2;
  const bool english = s.language.rfind("en", 0) == 0;
  if (bigButton(u, u.t(Msg::kLanguageZh), "details-lang-zh", ImVec2(half, 0), true, !english)) s.language = "zh-CN";
  ImGui::SameLine();
  if (bigButton(u, u.t(Msg::kLanguageEn), "details-lang-en", ImVec2(half, 0), true, english)) s.language = "en";
  fieldErrorText(u, vm.error, "language");
  otherErrorText(u, vm.error, {"name", "phone", "birthday", "language"});
  if (vm.banner == Msg::kChangesSaved) {  // each tab shows only what was done on it
    ImGui::TextColored(kGood, "%s", u.t(*vm.banner));
    recordTap("details-saved");  // not a button: for the e2e test
  }
  ImGui::Spacing();
  if (bigButton(u, u.t(Msg::kSaveChanges), "details-save", ImVec2(left, 0), !vm.busy, true)) {
    out.push_back(intent::SaveMemberDetails{s.name, s.phone, s.birthday, s.language});
  }
  ImGui::EndGroup();
  ImGui::SameLine(0, ImGui::GetStyle().ItemSpacing.x * 3);
  ImGui::BeginGroup();
  if (s.focus == 1) {
    dateKeypad(u, s.birthday, "details-key", pad);
  } else {
    keypad(u, s.phone, 24, "details-key", false, nullptr, pad);
  }
  ImGui::EndGroup();
  return out;
}

Intents consentTab(const MemberDetailsViewModel& vm, const Ui& u) {
  Intents out;
  const MemberView& m = *vm.member;
  const float width = ImGui::GetContentRegionAvail().x;
  ImGui::PushFont(u.large);
  ImGui::TextColored(m.consentMarketing ? kGood : kWarn, "%s",
                     u.t(m.consentMarketing ? Msg::kConsentIsOn : Msg::kConsentIsOff));
  ImGui::PopFont();
  recordTap(m.consentMarketing ? "details-consent-on" : "details-consent-off");  // for the e2e test
  // The text the member agrees to or withdraws from, with its version, before the button.
  ImGui::TextUnformatted(subst(u.t(Msg::kConsentTextVersion), {vm.consentVersion}).c_str());
  ImGui::PushFont(u.large);
  ImGui::PushTextWrapPos(width);
  ImGui::TextWrapped("%s", u.t(Msg::kConsentText));
  ImGui::PopTextWrapPos();
  ImGui::PopFont();
  ImGui::Spacing();
  if (m.consentMarketing) {
    if (bigButton(u, u.t(Msg::kConsentWithdraw), "consent-withdraw", ImVec2(u.px(300), 0), !vm.busy)) {
      out.push_back(intent::SetConsent{false});
    }
  } else if (bigButton(u, u.t(Msg::kConsentGive), "consent-give", ImVec2(u.px(300), 0), !vm.busy, true)) {
    out.push_back(intent::SetConsent{true});
  }
  if (vm.banner && *vm.banner != Msg::kChangesSaved) ImGui::TextColored(kGood, "%s", u.t(*vm.banner));
  fieldErrorText(u, vm.error, nullptr);
  ImGui::Spacing();
  ImGui::TextUnformatted(u.t(Msg::kConsentHistory));
  consentTable(u, vm.consents, "consents", width);
  return out;
}

void row(const Ui& u, Msg label, const std::string& value) {
  ImGui::TableNextRow();
  ImGui::TableNextColumn();
  ImGui::TextUnformatted(u.t(label));
  ImGui::TableNextColumn();
  ImGui::TextUnformatted(value.c_str());
}

void dataTab(const MemberDetailsViewModel& vm, const Ui& u) {
  if (!vm.data) {
    if (vm.busy) busySpinner(u, u.px(16));
    fieldErrorText(u, vm.error, nullptr);
    return;
  }
  const terminal::MemberExport& d = *vm.data;
  const MemberView& m = d.member;
  const float width = ImGui::GetContentRegionAvail().x;
  ImGui::PushFont(u.large);
  ImGui::TextUnformatted(u.t(Msg::kDataIntro));
  ImGui::PopFont();
  recordTap("details-data");
  if (ImGui::BeginTable("data", 2, ImGuiTableFlags_RowBg, ImVec2(std::min(width, u.px(760)), 0))) {
    ImGui::TableSetupColumn("k", ImGuiTableColumnFlags_WidthFixed, u.px(220));
    ImGui::TableSetupColumn("v", ImGuiTableColumnFlags_WidthStretch);
    row(u, Msg::kName, m.name);
    row(u, Msg::kPhone, m.phone);  // the whole number: this is the member's own copy
    row(u, Msg::kCard, m.cardNo);
    row(u, Msg::kFieldBirthday, m.birthday.value_or(u.t(Msg::kNotGiven)));
    row(u, Msg::kLanguage, m.language ? languageLabel(u, *m.language) : u.t(Msg::kNotGiven));
    row(u, Msg::kTier, tierLabel(u, m.tier));
    row(u, Msg::kBalance, std::to_string(m.points) + (m.pointsDebt > 0 ? "  (" + std::string(u.t(Msg::kDebt)) + " " +
                                                                              std::to_string(m.pointsDebt) + ")"
                                                                        : ""));
    row(u, Msg::kSpend, m.lifetimeSpend.toString());
    row(u, Msg::kMemberSince, m.enrolledAt.substr(0, 10));
    row(u, Msg::kLastVisit, m.lastVisitAt.value_or(u.t(Msg::kNotGiven)));
    row(u, Msg::kConsentTick, u.t(m.consentMarketing ? Msg::kConsentGiven : Msg::kConsentWithdrawn));
    row(u, Msg::kDataSales, std::to_string(d.sales));
    row(u, Msg::kDataLedger, std::to_string(d.ledgerEntries));
    ImGui::EndTable();
  }
  ImGui::Spacing();
  ImGui::TextUnformatted(u.t(Msg::kConsentHistory));
  consentTable(u, d.consents, "data-consents", width);
  ImGui::Spacing();
  ImGui::TextUnformatted(u.t(Msg::kDataLog));
  for (const auto& l : d.log) {
    const std::string what = l.action == "update"    ? subst(u.t(Msg::kLogUpdate), {fieldNames(u, l.fields)})
                             : l.action == "consent" ? u.t(Msg::kLogConsent)
                                                     : u.t(Msg::kLogExport);
    ImGui::Text("%s   %s   %s %s   %s", l.at.c_str(), what.c_str(), u.t(Msg::kStore), l.storeId.c_str(),
                l.staffId.value_or("").c_str());
  }
}

}  // namespace

Intents drawMemberDetails(const MemberDetailsViewModel& vm, MemberDetailsUiState& s, const Ui& u) {
  Intents out;
  if (!vm.member) {
    if (bigButton(u, u.t(Msg::kBack), "details-back", ImVec2(u.px(200), 0))) out.push_back(intent::Go{Screen::kLookup});
    return out;
  }
  ImGui::PushFont(u.large);
  ImGui::TextUnformatted(subst(u.t(Msg::kMemberDetailsTitle), {vm.member->name}).c_str());
  ImGui::PopFont();
  // Tabs as big buttons (a finger, not a mouse), Back at the end of the row.
  const float gap = ImGui::GetStyle().ItemSpacing.x;
  const float w = (ImGui::GetContentRegionAvail().x - gap * 3) / 4;
  const ImVec2 b(w, 0);
  if (bigButton(u, u.t(Msg::kTabDetails), "details-tab-details", b, true, s.tab == MemberDetailsUiState::kDetails)) {
    s.tab = MemberDetailsUiState::kDetails;
  }
  ImGui::SameLine();
  if (bigButton(u, u.t(Msg::kTabConsent), "details-tab-consent", b, true, s.tab == MemberDetailsUiState::kConsent)) {
    s.tab = MemberDetailsUiState::kConsent;
  }
  ImGui::SameLine();
  if (bigButton(u, u.t(Msg::kTabData), "details-tab-data", b, true, s.tab == MemberDetailsUiState::kData)) {
    out.push_back(intent::ShowMemberData{});
  }
  ImGui::SameLine();
  if (bigButton(u, u.t(Msg::kBack), "details-back", b)) out.push_back(intent::Go{Screen::kMember});
  ImGui::Separator();
  ImGui::BeginChild("details", ImVec2(0, 0), false, ImGuiWindowFlags_NoBackground);
  Intents tab;
  if (s.tab == MemberDetailsUiState::kDetails) {
    tab = detailsTab(vm, s, u);
  } else if (s.tab == MemberDetailsUiState::kConsent) {
    tab = consentTab(vm, u);
  } else {
    dataTab(vm, u);
  }
  out.insert(out.end(), tab.begin(), tab.end());
  dragScroll(u);
  ImGui::EndChild();
  return out;
}

}  // namespace loyalty::ui
