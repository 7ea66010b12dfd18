#include "loyalty/ui/screens.hpp"

#include <imgui_internal.h>
#include <imgui_stdlib.h>

#include <algorithm>
#include <cfloat>
#include <cstdio>
#include <functional>

#include "loyalty/core/points.hpp"
#include "loyalty/core/text.hpp"
#include "loyalty/ui/keyboard.hpp"

namespace loyalty::ui {

const char* tierLabel(const Ui& u, const std::string& tier) {
  if (tier == "silver") return u.t(Msg::kTierSilver);
  if (tier == "gold") return u.t(Msg::kTierGold);
  if (tier == "platinum") return u.t(Msg::kTierPlatinum);
  return u.t(Msg::kTierMember);
}

namespace {

// [SECTION] Helpers

const char* kindLabel(const Ui& u, const std::string& kind) {
  if (kind == "earn") return u.t(Msg::kKindEarn);
  if (kind == "redeem") return u.t(Msg::kKindRedeem);
  if (kind == "reversal") return u.t(Msg::kKindReversal);
  if (kind == "expire") return u.t(Msg::kKindExpire);
  if (kind == "bonus") return u.t(Msg::kKindBonus);
  return u.t(Msg::kKindAdjust);
}

void title(const Ui& u, const char* text) {
  ImGui::PushFont(u.large);
  ImGui::TextUnformatted(text);
  ImGui::PopFont();
  ImGui::Spacing();
}

/// Left column width for two-column screens (form/list left, keypad right).
float keypadWidth(const Ui& u) { return std::min(u.px(360), ImGui::GetContentRegionAvail().x * 0.42f); }

void banner(const char* text, ImVec4 color) {
  if (!text || !*text) return;
  ImGui::PushStyleColor(ImGuiCol_Text, color);
  ImGui::TextWrapped("%s", text);
  ImGui::PopStyleColor();
}

const ImVec4 kGood(0.45f, 0.90f, 0.55f, 1.0f);
const ImVec4 kWarn(1.0f, 0.75f, 0.30f, 1.0f);
const ImVec4 kBad(1.0f, 0.45f, 0.40f, 1.0f);
const ImVec4 kGold(1.0f, 0.85f, 0.35f, 1.0f);

void memberSummary(const Ui& u, const MemberView& m) {
  ImGui::PushFont(u.large);
  ImGui::TextUnformatted(m.name.c_str());
  ImGui::PopFont();
  ImGui::SameLine();
  ImGui::TextColored(kGold, "%s", tierLabel(u, m.tier));
  ImGui::Text("%s  %s", m.phoneMasked.c_str(), m.cardNo.c_str());
  ImGui::Text("%s: %lld", u.t(Msg::kBalance), static_cast<long long>(m.points));
  if (m.pointsDebt > 0) {
    ImGui::SameLine();
    ImGui::TextColored(kBad, "%s: %lld", u.t(Msg::kDebt), static_cast<long long>(m.pointsDebt));
  }
}

}  // namespace

// [SECTION] Login

Intents drawLogin(const LoginViewModel& vm, LoginUiState& s, const Ui& u) {
  Intents out;
  const float pad = keypadWidth(u);
  const float left = ImGui::GetContentRegionAvail().x - pad - ImGui::GetStyle().ItemSpacing.x * 4;
  ImGui::BeginGroup();
  ImGui::PushFont(u.huge);
  ImGui::TextUnformatted(u.t(Msg::kAppTitle));
  ImGui::PopFont();
  ImGui::Spacing();
  ImGui::TextWrapped("%s", u.t(Msg::kLoginHint));
  ImGui::Spacing();
  if (fieldBox(u, u.t(Msg::kStaffId), s.staffId, "login-staff", s.focus == 0, false, left)) s.focus = 0;
  fieldErrorText(u, vm.error, "staff_id");
  if (fieldBox(u, u.t(Msg::kPin), s.pin, "login-pin", s.focus == 1, true, left)) s.focus = 1;
  fieldErrorText(u, vm.error, "pin");
  ImGui::Spacing();
  if (!vm.storeError.empty()) {
    banner(vm.storeError.c_str(), kBad);
  } else if (!vm.storeReady) {
    busySpinner(u, u.px(14));
    ImGui::SameLine();
    ImGui::TextUnformatted(u.t(Msg::kOpeningStore));
  } else if (vm.busy) {
    busySpinner(u, u.px(14));
    ImGui::SameLine();
    ImGui::TextUnformatted(u.t(Msg::kCheckingPin));
  }
  ImGui::EndGroup();
  ImGui::SameLine(0, ImGui::GetStyle().ItemSpacing.x * 4);
  ImGui::BeginGroup();
  std::string& target = s.focus == 0 ? s.staffId : s.pin;
  const bool ok = keypad(u, target, s.focus == 0 ? 32 : 8, "login-key", false,
                         s.focus == 0 ? u.t(Msg::kNext) : u.t(Msg::kSignIn), pad,
                         vm.storeReady && !vm.busy);
  ImGui::EndGroup();
  if (ok) {
    if (s.focus == 0) {
      s.focus = 1;
    } else {
      out.push_back(intent::SignIn{s.staffId, s.pin});
    }
  }
  return out;
}

// [SECTION] Lookup

Intents drawLookup(const LookupViewModel& vm, LookupUiState& s, const Ui& u) {
  Intents out;
  const float pad = keypadWidth(u);
  const float left = ImGui::GetContentRegionAvail().x - pad - ImGui::GetStyle().ItemSpacing.x * 3;
  ImGui::BeginGroup();
  title(u, u.t(Msg::kLookupTitle));
  if (fieldBox(u, u.t(Msg::kLookupNumber), s.digits, "lookup-number", s.focus == 0, false, left)) s.focus = 0;
  if (textField(u, u.t(Msg::kLookupName), s.name, "lookup-name", s.focus == 1, left, FieldLines::kOne, 0,
                u.t(Msg::kLookupNameHint))) {
    s.focus = 1;  // the on-screen keyboard types the name
  }
  fieldErrorText(u, vm.error, nullptr);
  ImGui::Spacing();
  // While the on-screen keyboard types the name it covers the bottom of the screen: the matches
  // take the keypad's place (the keyboard has digits; the number field brings the keypad back).
  const bool typingName = s.focus == 1 && u.keyboard && !u.keyboard->hidden;
  const auto results = [&](float width, float height) {
    ImGui::BeginChild("results", ImVec2(width, height), true);
    if (vm.busy && vm.results.empty()) {
      busySpinner(u, u.px(12));
    } else if (vm.searched && vm.results.empty()) {
      ImGui::TextUnformatted(u.t(Msg::kNobodyFound));
    }
    for (std::size_t i = 0; i < vm.results.size(); ++i) {
      const MemberView& m = vm.results[i];
      char label[256];
      std::snprintf(label, sizeof label, "%s   %s   %s   %s %lld", m.name.c_str(), m.phoneMasked.c_str(),
                    tierLabel(u, m.tier), u.t(Msg::kBalance), static_cast<long long>(m.points));
      const std::string id = "result-" + std::to_string(i);
      ImGui::PushStyleVar(ImGuiStyleVar_ButtonTextAlign, ImVec2(0.0f, 0.5f));
      if (bigButton(u, label, id.c_str(), ImVec2(-1, u.px(kMinTouch)))) out.push_back(intent::OpenMember{m.memberId});
      ImGui::PopStyleVar();
    }
    dragScroll(u);
    ImGui::EndChild();
    recordTap("lookup-results");
  };
  if (!typingName) {
    const float listH = ImGui::GetContentRegionAvail().y - u.px(kMinTouch) - ImGui::GetStyle().ItemSpacing.y * 2;
    results(left, std::max(listH, u.px(120)));
  }
  const float third = (left - ImGui::GetStyle().ItemSpacing.x * 2) / 3;
  if (bigButton(u, u.t(Msg::kEnrollNew), "go-enroll", ImVec2(third, 0))) out.push_back(intent::Go{Screen::kEnroll});
  ImGui::SameLine();
  if (bigButton(u, u.t(Msg::kSaleNoMember), "go-sale-anon", ImVec2(third, 0))) out.push_back(intent::Go{Screen::kSale});
  ImGui::SameLine();
  if (bigButton(u, u.t(Msg::kRefundTitle), "go-refund", ImVec2(third, 0))) out.push_back(intent::Go{Screen::kRefund});
  ImGui::EndGroup();

  ImGui::SameLine(0, ImGui::GetStyle().ItemSpacing.x * 3);
  ImGui::BeginGroup();
  bool ok = false;
  if (typingName) {
    results(pad, std::max(ImGui::GetContentRegionAvail().y, u.px(120)));
  } else {
    ImGui::Dummy(ImVec2(pad, u.px(8)));
    const std::string before = s.digits;
    ok = keypad(u, s.digits, 24, "lookup-key", false, u.t(Msg::kFind), pad);
    if (s.digits != before) {  // the keypad writes the number: the name gives way
      s.focus = 0;
      s.name.clear();
    }
  }
  ImGui::EndGroup();

  // Search as the user types: numbers from 4 digits, names from one character.
  const std::string query = !trim(s.name).empty() ? s.name : s.digits;
  if (query != s.lastSent) {
    s.lastSent = query;
    out.push_back(intent::Search{query, false});
  }
  if (ok) out.push_back(intent::Search{query, true});
  return out;
}

// [SECTION] Member panel

Intents drawMember(const MemberViewModel& vm, const Ui& u) {
  Intents out;
  if (!vm.detail) {
    if (vm.busy) busySpinner(u, u.px(16));
    banner(vm.banner.c_str(), kBad);
    if (bigButton(u, u.t(Msg::kDone), "member-done", ImVec2(u.px(200), 0))) out.push_back(intent::CloseMember{});
    return out;
  }
  const MemberView& m = vm.detail->member;
  const float actions = std::min(u.px(300), ImGui::GetContentRegionAvail().x * 0.3f);
  const float left = ImGui::GetContentRegionAvail().x - actions - ImGui::GetStyle().ItemSpacing.x * 3;

  ImGui::BeginGroup();
  // The greeting of the day comes first: it is what the cashier says.
  ImGui::PushStyleColor(ImGuiCol_ChildBg, ImVec4(0.12f, 0.22f, 0.32f, 1.0f));  // a welcome, not an error
  const float greetH = u.px(vm.detail->greetings.size() > 1 ? 120 : 84);
  ImGui::BeginChild("greeting", ImVec2(left, greetH), false);
  ImGui::SetCursorPos(ImVec2(u.px(12), u.px(8)));
  ImGui::PushFont(u.large);
  ImGui::PushTextWrapPos(left - u.px(12));
  if (vm.detail->greetings.empty()) {
    ImGui::TextColored(kGold, "%s", subst(u.t(Msg::kGreetDefault), {m.name}).c_str());
  } else {
    for (const auto& g : vm.detail->greetings) ImGui::TextColored(kGold, "%s", g.text.c_str());
  }
  ImGui::PopTextWrapPos();
  ImGui::PopFont();
  ImGui::EndChild();
  ImGui::PopStyleColor();
  ImGui::Spacing();

  ImGui::PushFont(u.huge);
  ImGui::TextUnformatted(m.name.c_str());
  ImGui::PopFont();
  ImGui::SameLine();
  ImGui::PushFont(u.large);
  ImGui::TextColored(kGold, "%s", tierLabel(u, m.tier));
  ImGui::PopFont();
  ImGui::Text("%s %s    %s %s", u.t(Msg::kPhone), m.phoneMasked.c_str(), u.t(Msg::kCard), m.cardNo.c_str());
  ImGui::Text("%s", u.t(Msg::kBalance));
  ImGui::SameLine();
  ImGui::PushFont(u.huge);
  ImGui::TextColored(kGood, "%lld", static_cast<long long>(m.points));
  ImGui::PopFont();
  if (m.pointsDebt > 0) {
    ImGui::SameLine();
    ImGui::PushFont(u.large);
    ImGui::TextColored(kBad, "%s %lld", u.t(Msg::kDebt), static_cast<long long>(m.pointsDebt));
    ImGui::PopFont();
  }
  ImGui::Text("%s %s    %s %s", u.t(Msg::kSpend), m.lifetimeSpend.toString().c_str(), u.t(Msg::kMemberSince),
              m.enrolledAt.substr(0, 10).c_str());
  banner(vm.banner.c_str(), kGood);
  ImGui::Spacing();
  ImGui::TextUnformatted(u.t(Msg::kRecentHistory));
  if (ImGui::BeginTable("history", 4, ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_ScrollY,
                        ImVec2(left, std::max(ImGui::GetContentRegionAvail().y, u.px(100))))) {
    ImGui::TableSetupColumn(u.t(Msg::kWhen));
    ImGui::TableSetupColumn(u.t(Msg::kWhat));
    ImGui::TableSetupColumn(u.t(Msg::kPoints));
    ImGui::TableSetupColumn(u.t(Msg::kBalanceAfter));
    ImGui::TableHeadersRow();
    for (const auto& h : vm.history) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(h.at.substr(0, 16).c_str());
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(kindLabel(u, h.kind));
      ImGui::TableNextColumn();
      ImGui::TextColored(h.points >= 0 ? kGood : kWarn, "%+lld", static_cast<long long>(h.points));
      ImGui::TableNextColumn();
      ImGui::Text("%lld", static_cast<long long>(h.balanceAfter));
    }
    dragScroll(u);
    ImGui::EndTable();
  }
  ImGui::EndGroup();

  ImGui::SameLine(0, ImGui::GetStyle().ItemSpacing.x * 3);
  ImGui::BeginGroup();
  const ImVec2 b(actions, u.px(80));
  if (bigButton(u, u.t(Msg::kSaleTitle), "member-sale", b, true, true)) out.push_back(intent::Go{Screen::kSale});
  if (bigButton(u, u.t(Msg::kRedeemTitle), "member-redeem", b, m.points > 0)) out.push_back(intent::Go{Screen::kRedeem});
  if (bigButton(u, u.t(Msg::kComplaintTitle), "member-complaint", b)) out.push_back(intent::Go{Screen::kComplaint});
  if (bigButton(u, u.t(Msg::kRefresh), "member-refresh", b)) out.push_back(intent::OpenMember{m.memberId});
  if (bigButton(u, u.t(Msg::kMemberDetailsButton), "member-details", b)) out.push_back(intent::Go{Screen::kMemberDetails});
  if (bigButton(u, u.t(Msg::kDone), "member-done", b)) out.push_back(intent::CloseMember{});
  if (vm.busy) busySpinner(u, u.px(14));
  ImGui::EndGroup();
  return out;
}

// [SECTION] Enrolment

Intents drawEnroll(const EnrollViewModel& vm, EnrollUiState& s, const Ui& u) {
  Intents out;
  const float pad = keypadWidth(u);
  const float left = ImGui::GetContentRegionAvail().x - pad - ImGui::GetStyle().ItemSpacing.x * 3;
  ImGui::BeginGroup();
  title(u, u.t(Msg::kEnrollTitle));
  if (fieldBox(u, u.t(Msg::kPhone), s.phone, "enroll-phone", s.focus == 0, false, left)) s.focus = 0;
  if (vm.error.field == "phone" && !vm.takenPhone.empty()) {
    if (errorAction(u, vm.error.message, u.t(Msg::kOpenPhoneOwner), "enroll-open-owner", left)) {
      out.push_back(intent::OpenPhoneOwner{vm.takenPhone});
    }
  } else {
    fieldErrorText(u, vm.error, "phone");
  }
  if (textField(u, u.t(Msg::kName), s.name, "enroll-name", s.focus == 3, left)) s.focus = 3;
  fieldErrorText(u, vm.error, "name");
  if (fieldBox(u, u.t(Msg::kBirthday), s.birthday, "enroll-birthday", s.focus == 1, false, left)) s.focus = 1;
  fieldErrorText(u, vm.error, "birthday");
  if (fieldBox(u, u.t(Msg::kReferrer), s.referrer, "enroll-referrer", s.focus == 2, false, left)) s.focus = 2;
  fieldErrorText(u, vm.error, "referrer");
  ImGui::Spacing();
  // Consent is its own explicit tick, unticked by default, with the text it agrees to.
  ImGui::PushStyleVar(ImGuiStyleVar_FramePadding, ImVec2(u.px(14), u.px(14)));
  ImGui::Checkbox(u.t(Msg::kConsentTick), &s.consent);
  ImGui::PopStyleVar();
  recordTap("enroll-consent");
  ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + left);
  ImGui::TextDisabled("%s (%s)", u.t(Msg::kConsentText), vm.consentVersion.c_str());
  ImGui::PopTextWrapPos();
  fieldErrorText(u, vm.error, "consent_marketing");
  otherErrorText(u, vm.error, {"phone", "name", "birthday", "referrer", "consent_marketing"});
  const float half = (left - ImGui::GetStyle().ItemSpacing.x) / 2;
  if (bigButton(u, u.t(Msg::kEnrollSubmit), "enroll-submit", ImVec2(half, 0), !vm.busy, true)) {
    out.push_back(intent::Enroll{s.phone, s.name, s.birthday, s.referrer, s.consent});
  }
  ImGui::SameLine();
  if (bigButton(u, u.t(Msg::kCancel), "enroll-cancel", ImVec2(half, 0))) out.push_back(intent::Go{Screen::kLookup});
  ImGui::EndGroup();
  ImGui::SameLine(0, ImGui::GetStyle().ItemSpacing.x * 3);
  ImGui::BeginGroup();
  ImGui::Dummy(ImVec2(pad, u.px(8)));
  // The name has the on-screen keyboard: the keypad's digits go to the phone.
  std::string& target = s.focus == 1 ? s.birthday : s.focus == 2 ? s.referrer : s.phone;
  const std::string phoneBefore = s.phone;
  if (s.focus == 1) {
    dateKeypad(u, target, "enroll-key", pad);
  } else {
    keypad(u, target, 24, "enroll-key", false, nullptr, pad);
  }
  if (s.focus == 3 && s.phone != phoneBefore) s.focus = 0;
  ImGui::EndGroup();
  return out;
}

// [SECTION] Sale

namespace {

/// One line of the open sale: name, quantity +/- (products), the price the member pays (the
/// catalogue's struck through when a member price applies), delete.
void saleLineRow(const Ui& u, const intent::SaleLine& l, std::size_t i, const terminal::QuotedLine* priced,
                 float width, Intents& out) {
  const float rowH = u.px(kMinTouch) * 0.8f;
  const float y = ImGui::GetCursorPosY();
  const float textY = y + (rowH - ImGui::GetTextLineHeight()) / 2;
  const std::string n = std::to_string(i);
  ImGui::SetCursorPosY(textY);
  ImGui::PushTextWrapPos(width * 0.30f);
  ImGui::Text("%zu. %s", i + 1, l.description.empty() ? u.t(Msg::kItem) : l.description.c_str());
  ImGui::PopTextWrapPos();
  ImGui::PushStyleColor(ImGuiCol_Button, ImVec4(0.22f, 0.24f, 0.30f, 1.0f));
  if (!l.sku.empty()) {
    ImGui::SameLine(width * 0.31f);
    ImGui::SetCursorPosY(y);
    if (bigButton(u, "-", ("sale-line-minus-" + n).c_str(), ImVec2(rowH, rowH), l.qty > 1)) {
      out.push_back(intent::ChangeQty{i, -1});
    }
    ImGui::SameLine();
    ImGui::SetCursorPosY(textY);
    ImGui::Text("%lld", static_cast<long long>(l.qty));
    ImGui::SameLine(width * 0.31f + rowH + u.px(44));
    ImGui::SetCursorPosY(y);
    if (bigButton(u, "+", ("sale-line-plus-" + n).c_str(), ImVec2(rowH, rowH))) out.push_back(intent::ChangeQty{i, +1});
  }
  ImGui::PopStyleColor();
  ImGui::SameLine(width * 0.31f + rowH * 2 + u.px(56));
  ImGui::SetCursorPosY(textY);
  if (priced && priced->memberDiscount.minor() != 0) {
    const std::string paid = (priced->amount - priced->memberDiscount).toString();
    ImGui::TextDisabled("%s", priced->amount.toString().c_str());
    const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
    const float mid = (a.y + b.y) / 2;
    ImGui::GetWindowDrawList()->AddLine(ImVec2(a.x, mid), ImVec2(b.x, mid), ImGui::GetColorU32(ImGuiCol_TextDisabled));
    ImGui::SameLine();
    ImGui::TextColored(kGold, "%s %s", paid.c_str(), u.t(Msg::kSaleMemberPrice));
    recordTap(("sale-line-price-" + n + "=" + paid).c_str());  // not a button: for the e2e test
  } else {
    const std::string shown = priced ? priced->amount.toString() : showAmount(l.amount);
    ImGui::TextUnformatted(shown.c_str());
    recordTap(("sale-line-price-" + n + "=" + shown).c_str());
  }
  ImGui::SameLine(width - u.px(110));
  ImGui::SetCursorPosY(y);
  const std::string id = "sale-line-del-" + n;
  ImGui::PushID(id.c_str());
  ImGui::PushStyleColor(ImGuiCol_Button, ImVec4(0.35f, 0.20f, 0.20f, 1.0f));
  if (ImGui::Button(u.t(Msg::kDeleteLine), ImVec2(u.px(100), rowH))) out.push_back(intent::RemoveLine{i});
  ImGui::PopStyleColor();
  ImGui::PopID();
  recordTap(id.c_str());
}

/// A label and a value in two columns (the sale's totals, the receipt).
void amountRow(const char* label, const std::string& value, float at, const ImVec4* color = nullptr) {
  ImGui::TextUnformatted(label);
  ImGui::SameLine(at);
  if (color) {
    ImGui::TextColored(*color, "%s", value.c_str());
  } else {
    ImGui::TextUnformatted(value.c_str());
  }
}

}  // namespace

Intents drawSale(const SaleViewModel& vm, SaleUiState& s, const Ui& u) {
  Intents out;
  const float pad = keypadWidth(u);
  const float left = ImGui::GetContentRegionAvail().x - pad - ImGui::GetStyle().ItemSpacing.x * 3;
  const float gap = ImGui::GetStyle().ItemSpacing.x;
  const auto typed = Money::parse(s.amount, "amount");
  const bool amountOk = !s.amount.empty() && typed && typed->minor() > 0;
  // The store's price of the cart as it is now; its lines are the cart's, the typed amount last.
  const terminal::SaleQuote* quote = vm.quote && vm.quoteCurrent ? &*vm.quote : nullptr;
  const std::size_t cartLines = s.lines.size() + (amountOk ? 1 : 0);
  if (quote && quote->lines.size() != cartLines) quote = nullptr;
  const std::int64_t points = salePoints(s);
  const bool pinNeeded = vm.member && points > vm.supervisorAbove;
  if (!pinNeeded && s.focus == 2) s.focus = 1;
  if (!vm.member && s.focus != 0) s.focus = 0;

  ImGui::BeginGroup();
  title(u, u.t(Msg::kSaleTitle));
  if (vm.member) {
    memberSummary(u, *vm.member);
  } else {
    ImGui::TextColored(kWarn, "%s", u.t(Msg::kSaleNoMember));
  }
  ImGui::Separator();
  // Products: a scanner anywhere on this screen, or the search (barcode, SKU, name, pinyin).
  const std::string searchBefore = s.search;
  ImGui::SetNextItemWidth(left * 0.62f);
  const bool searchEnter =
      ImGui::InputTextWithHint("##product-search", u.t(Msg::kSaleSearch), &s.search, ImGuiInputTextFlags_EnterReturnsTrue);
  recordTap("sale-search");
  if (s.search != searchBefore) out.push_back(intent::FindProducts{s.search});
  if (searchEnter) out.push_back(intent::ProductCode{s.search});
  ImGui::SameLine();
  ImGui::SetNextItemWidth(left - left * 0.62f - gap);
  ImGui::InputTextWithHint("##desc", u.t(Msg::kDescription), &s.description);  // of the amount typed
  recordTap("sale-description");
  if (!trim(s.search).empty()) {
    if (vm.searched && vm.found.empty()) ImGui::TextColored(kWarn, "%s", u.t(Msg::kSaleNoProducts));
    const std::size_t shown = std::min<std::size_t>(vm.found.size(), 3);
    for (std::size_t i = 0; i < shown; ++i) {
      const Product& p = vm.found[i];
      const std::string label = p.name + "   " + p.price.toString() + (p.barcode ? "   " + *p.barcode : std::string());
      const std::string id = "sale-product-" + std::to_string(i);
      ImGui::PushStyleVar(ImGuiStyleVar_ButtonTextAlign, ImVec2(0.02f, 0.5f));
      if (bigButton(u, label.c_str(), id.c_str(), ImVec2(left, u.px(kMinTouch) * 0.8f))) {
        out.push_back(intent::AddProduct{p});
      }
      ImGui::PopStyleVar();
    }
  }
  // One line kept for the message, shown or not: an error never moves the buttons under a finger.
  const float lineH = ImGui::GetTextLineHeightWithSpacing();
  const ImVec2 errorAt = ImGui::GetCursorPos();
  if (!vm.error.message.empty() && vm.error.field != "supervisor_pin") {
    fieldErrorText(u, vm.error, nullptr);
  } else if (!s.amount.empty() && !amountOk) {
    ImGui::TextColored(kWarn, "%s", u.t(Msg::kErrAmountZero));
  }
  ImGui::SetCursorPos(ImVec2(errorAt.x, errorAt.y + lineH));

  // Room below the list for the totals (up to five rows, one large) and the buttons.
  const float totalsH = lineH * 6 + u.px(kMinTouch) + ImGui::GetStyle().ItemSpacing.y * 2;
  ImGui::BeginChild("lines", ImVec2(left, std::max(u.px(100), ImGui::GetContentRegionAvail().y - totalsH)), true);
  for (std::size_t i = 0; i < s.lines.size(); ++i) saleLineRow(u, s.lines[i], i, quote ? &quote->lines[i] : nullptr, left, out);
  dragScroll(u);
  ImGui::EndChild();

  // Totals: the store's when it has priced the cart, else the lines' catalogue amounts.
  const float at = left * 0.5f;
  if (quote) {
    amountRow(u.t(Msg::kSubtotal), quote->subtotal.toString(), at);
    const Money promotions = quote->discount - quote->pointsValue;
    if (promotions.minor() != 0) amountRow(u.t(Msg::kDiscount), "-" + promotions.toString(), at, &kGood);
    if (quote->pointsRedeemed > 0) {
      amountRow(u.t(Msg::kPointsPaid), "-" + quote->pointsValue.toString(), at, &kGood);
    }
    ImGui::PushFont(u.large);
    amountRow(u.t(Msg::kSaleToPay), quote->total.toString(), at);
    ImGui::PopFont();
    recordTap(("sale-to-pay=" + quote->total.toString()).c_str());  // not a button: for the e2e test
    if (vm.member) amountRow(u.t(Msg::kSalePointsToEarn), std::to_string(quote->pointsEarned), at, &kGold);
  } else {
    Money total;
    for (const auto& l : s.lines) {
      if (auto m = Money::parse(l.amount, "amount")) total += *m;
    }
    ImGui::PushFont(u.large);
    amountRow(u.t(Msg::kLinesTotal), (total + (amountOk ? *typed : Money{})).toString(), at);
    ImGui::PopFont();
  }
  const float third = (left - gap * 2) / 3;
  if (bigButton(u, u.t(Msg::kAddLine), "sale-add-line", ImVec2(third, 0), amountOk)) {
    s.lines.push_back(amountLine(s.description, showAmount(s.amount)));
    s.amount.clear();
    s.description.clear();
  }
  ImGui::SameLine();
  if (bigButton(u, u.t(Msg::kClearLines), "sale-clear", ImVec2(third, 0), !s.lines.empty())) s.lines.clear();
  ImGui::SameLine();
  if (bigButton(u, u.t(Msg::kCancel), "sale-cancel", ImVec2(third, 0))) {
    out.push_back(intent::Go{vm.member ? Screen::kMember : Screen::kLookup});
  }
  ImGui::EndGroup();

  // The keypad's side: what it writes to (an item's amount, the points, the supervisor's PIN),
  // then Pay.
  ImGui::SameLine(0, gap * 3);
  ImGui::BeginGroup();
  const float allW = u.px(80);
  const float half = vm.member ? (pad - allW - gap * 2) / 2 : pad;
  ImGui::BeginGroup();
  if (fieldBox(u, u.t(Msg::kSaleManualAmount), s.amount, "sale-amount", s.focus == 0, false, half)) s.focus = 0;
  ImGui::EndGroup();
  if (vm.member) {
    ImGui::SameLine();
    ImGui::BeginGroup();
    if (fieldBox(u, u.t(Msg::kSalePayPoints), s.points, "sale-points", s.focus == 1, false, half)) s.focus = 1;
    ImGui::EndGroup();
    ImGui::SameLine();
    ImGui::BeginGroup();
    ImGui::TextUnformatted(" ");  // level with the fields under their labels
    if (bigButton(u, u.t(Msg::kSalePointsAll), "sale-points-all", ImVec2(allW, 0), quote && quote->maxRedeemPoints > 0)) {
      s.points = std::to_string(quote->maxRedeemPoints);
      s.focus = 1;
    }
    ImGui::EndGroup();
    ImGui::BeginGroup();
    if (quote) ImGui::TextDisabled("%s", subst(u.t(Msg::kSalePointsMax), {std::to_string(quote->maxRedeemPoints)}).c_str());
    if (!vm.pointsError.message.empty()) {
      fieldErrorText(u, vm.pointsError, nullptr);
    } else if (quote && quote->pointsRedeemed > 0) {
      ImGui::TextColored(kGood, "%s",
                         subst(u.t(Msg::kSalePointsWorth), {std::to_string(quote->pointsRedeemed), quote->pointsValue.toString()}).c_str());
      recordTap(("sale-points-value=" + quote->pointsValue.toString()).c_str());
    }
    ImGui::EndGroup();
    if (pinNeeded) {
      const std::string pinLabel = subst(u.t(Msg::kSaleSupervisorPin), {std::to_string(vm.supervisorAbove)});
      if (fieldBox(u, pinLabel.c_str(), s.supervisorPin, "sale-pin", s.focus == 2, true, pad)) s.focus = 2;
      fieldErrorText(u, vm.error, "supervisor_pin");
    }
  }
  std::string& target = s.focus == 1 ? s.points : s.focus == 2 ? s.supervisorPin : s.amount;
  const bool cartOk = amountOk || (!s.lines.empty() && s.amount.empty());
  const bool pointsOk = points == 0 || (vm.pointsError.message.empty() && (!pinNeeded || s.supervisorPin.size() >= 6));
  const bool pay = keypad(u, target, s.focus == 0 ? 12 : s.focus == 1 ? 9 : 8, "sale-key", s.focus == 0, u.t(Msg::kPay), pad,
                          !vm.busy && cartOk && pointsOk);
  if (vm.busy) busySpinner(u, u.px(14));
  ImGui::EndGroup();
  if (pay) {
    std::vector<intent::SaleLine> lines = s.lines;
    if (!s.amount.empty()) lines.push_back(amountLine(s.description, s.amount));  // a 0 is refused, not dropped
    out.push_back(intent::Sale{std::move(lines), vm.member ? points : 0, s.supervisorPin});
  }
  return out;
}

Intents drawReceipt(const ReceiptViewModel& vm, const Ui& u) {
  Intents out;
  if (!vm.result) return out;
  const auto& r = *vm.result;
  title(u, u.t(Msg::kReceiptTitle));
  ImGui::Text("%s %s", u.t(Msg::kReceiptNo), r.saleId.c_str());
  if (vm.member) ImGui::Text("%s  %s", vm.member->name.c_str(), vm.member->phoneMasked.c_str());
  ImGui::Separator();
  const float w = std::min(ImGui::GetContentRegionAvail().x, u.px(640));
  if (vm.quote) {
    for (const auto& l : vm.quote->lines) {
      ImGui::TextUnformatted(l.description.c_str());
      ImGui::SameLine(w * 0.45f);
      ImGui::Text("%lld x %s", static_cast<long long>(l.qty), l.unitPrice.c_str());
      ImGui::SameLine(w * 0.72f);
      if (l.memberDiscount.minor() != 0) {
        ImGui::TextColored(kGold, "%s %s", (l.amount - l.memberDiscount).toString().c_str(), u.t(Msg::kSaleMemberPrice));
      } else {
        ImGui::TextUnformatted(l.amount.toString().c_str());
      }
    }
  } else {
    for (const auto& l : vm.request.lines) {
      ImGui::TextUnformatted(l.description.value_or(l.sku).c_str());
      ImGui::SameLine(w * 0.45f);
      ImGui::Text("%lld x %s", static_cast<long long>(l.qty), l.unitPrice.c_str());
    }
  }
  ImGui::Separator();
  ImGui::Text("%s", u.t(Msg::kSubtotal));
  ImGui::SameLine(w * 0.55f);
  ImGui::TextUnformatted(r.subtotal.toString().c_str());
  for (const auto& p : r.promotions) {
    ImGui::TextColored(kGold, "%s %s", u.t(Msg::kPromotion), p.id.c_str());
    ImGui::SameLine(w * 0.55f);
    ImGui::TextUnformatted(p.effect.c_str());
  }
  const Money paidWithPoints = pointsValue(r.pointsRedeemed, vm.pointsPerUnit);
  const Money promotions = r.discount - paidWithPoints;
  if (promotions.minor() != 0) {
    ImGui::Text("%s", u.t(Msg::kDiscount));
    ImGui::SameLine(w * 0.55f);
    ImGui::Text("-%s", promotions.toString().c_str());
  }
  if (r.pointsRedeemed > 0) {
    ImGui::TextColored(kGood, "%s (%lld)", u.t(Msg::kPointsPaid), static_cast<long long>(r.pointsRedeemed));
    ImGui::SameLine(w * 0.55f);
    ImGui::TextColored(kGood, "-%s", paidWithPoints.toString().c_str());
    recordTap(("receipt-points-paid=" + std::to_string(r.pointsRedeemed)).c_str());  // for the e2e test
  }
  ImGui::PushFont(u.large);
  ImGui::Text("%s", u.t(Msg::kTotal));
  ImGui::SameLine(w * 0.55f);
  ImGui::TextUnformatted(r.total.toString().c_str());
  recordTap(("receipt-total=" + r.total.toString()).c_str());
  if (r.balance) {
    ImGui::TextColored(kGood, "%s +%lld", u.t(Msg::kPointsEarned), static_cast<long long>(r.pointsEarned));
    ImGui::Text("%s %lld", u.t(Msg::kBalance), static_cast<long long>(*r.balance));
  }
  if (r.tierChanged && r.tier) ImGui::TextColored(kGold, "%s %s", u.t(Msg::kTierUp), tierLabel(u, *r.tier));
  ImGui::PopFont();
  ImGui::Spacing();
  const float half = u.px(260);
  if (bigButton(u, u.t(Msg::kNewSale), "receipt-new-sale", ImVec2(half, 0), true, true)) out.push_back(intent::Go{Screen::kSale});
  ImGui::SameLine();
  if (vm.member) {
    if (bigButton(u, u.t(Msg::kBackToMember), "receipt-member", ImVec2(half, 0))) out.push_back(intent::OpenMember{vm.member->memberId});
    ImGui::SameLine();
  }
  if (bigButton(u, u.t(Msg::kDone), "receipt-done", ImVec2(half, 0))) out.push_back(intent::CloseMember{});
  return out;
}

// [SECTION] Redemption

Intents drawRedeem(const RedeemViewModel& vm, RedeemUiState& s, const Ui& u) {
  Intents out;
  if (!vm.member) return out;
  const MemberView& m = *vm.member;
  title(u, u.t(Msg::kRedeemTitle));
  memberSummary(u, m);
  if (m.pointsDebt > 0) banner(u.t(Msg::kDebtBlocks), kBad);
  const float half = u.px(220);
  if (bigButton(u, u.t(Msg::kCatalogue), "redeem-tab-catalogue", ImVec2(half, 0), true, s.tab == 0)) {
    s.tab = 0;
    s.confirming = false;
  }
  ImGui::SameLine();
  if (bigButton(u, u.t(Msg::kPointsAsDiscount), "redeem-tab-points", ImVec2(half, 0), true, s.tab == 1)) {
    s.tab = 1;
    s.confirming = false;
    s.rewardId.reset();
  }
  ImGui::Separator();

  const Reward* chosen = nullptr;
  for (const auto& r : vm.rewards) {
    if (s.rewardId && r.rewardId == *s.rewardId) chosen = &r;
  }
  const std::int64_t points = redeemPoints(vm, s);
  const bool needPin = points > vm.supervisorAbove;
  // Points for cash: what the points are worth, the money the cashier takes off the bill.
  const std::string worth =
      Money::fromMinor(points * 100 / std::max<std::int64_t>(vm.pointsPerUnit, 1)).toString();

  if (!s.confirming) {
    if (s.tab == 0) {
      const float avail = ImGui::GetContentRegionAvail().x;
      const float tile = u.px(180);
      const int cols = std::max(1, static_cast<int>(avail / (tile + ImGui::GetStyle().ItemSpacing.x)));
      ImGui::BeginChild("catalogue", ImVec2(0, ImGui::GetContentRegionAvail().y - u.px(90)), false);
      if (vm.rewards.empty()) ImGui::TextUnformatted(u.t(Msg::kCatalogueEmpty));
      for (std::size_t i = 0; i < vm.rewards.size(); ++i) {
        const Reward& r = vm.rewards[i];
        if (i % static_cast<std::size_t>(cols)) ImGui::SameLine();
        const bool affordable = r.points <= m.points && m.pointsDebt == 0;
        // The tile's picture: a badge with the reward's first character above its name and price
        // (the catalogue has no images yet).
        char label[256];
        std::snprintf(label, sizeof label, "\n\n%s\n%lld %s", r.name.c_str(), static_cast<long long>(r.points),
                      u.t(Msg::kPointsUnit));
        const std::string id = "reward-" + r.rewardId;
        if (bigButton(u, label, id.c_str(), ImVec2(tile, tile), affordable, s.rewardId == r.rewardId)) {
          s.rewardId = r.rewardId;
          s.confirming = true;
        }
        const ImVec2 min = ImGui::GetItemRectMin();
        const ImVec2 centre(min.x + tile / 2, min.y + tile * 0.3f);
        ImDrawList* dl = ImGui::GetWindowDrawList();
        const ImU32 hue = ImColor::HSV(static_cast<float>(std::hash<std::string>{}(r.rewardId) % 360) / 360.0f, 0.5f,
                                       affordable ? 0.75f : 0.35f);
        dl->AddCircleFilled(centre, tile * 0.2f, hue);
        const char* end = r.name.c_str();
        if (*end) {
          unsigned int c = 0;
          end += ImTextCharFromUtf8(&c, end, nullptr);
        }
        const ImVec2 glyph = u.huge->CalcTextSizeA(u.huge->FontSize, FLT_MAX, 0, r.name.c_str(), end);
        ImGui::PushFont(u.huge);  // its atlas's texture: huge may have an atlas of its own (fonts.hpp)
        dl->AddText(u.huge, u.huge->FontSize, ImVec2(centre.x - glyph.x / 2, centre.y - glyph.y / 2),
                    IM_COL32_WHITE, r.name.c_str(), end);
        ImGui::PopFont();
      }
      dragScroll(u);
      ImGui::EndChild();
    } else {
      // The number and its worth on the left, the keypad on the right: all of it on a 1280×800
      // screen, OK key included.
      const float pad = keypadWidth(u);
      const float leftW = ImGui::GetContentRegionAvail().x - pad - ImGui::GetStyle().ItemSpacing.x * 3;
      ImGui::BeginGroup();
      fieldBox(u, u.t(Msg::kPoints), s.points, "redeem-points", true, false, std::min(leftW, u.px(360)));
      ImGui::PushFont(u.large);
      ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + leftW);
      ImGui::TextColored(kGood, "%s", subst(u.t(Msg::kPointsWorth), {std::to_string(points), worth}).c_str());
      if (points > m.points) {
        ImGui::TextColored(kWarn, "%s", subst(u.t(Msg::kOverBalance), {std::to_string(m.points)}).c_str());
      }
      ImGui::PopTextWrapPos();
      ImGui::PopFont();
      fieldErrorText(u, vm.error, nullptr);
      if (bigButton(u, u.t(Msg::kCancel), "redeem-cancel", ImVec2(u.px(200), 0))) out.push_back(intent::Go{Screen::kMember});
      ImGui::EndGroup();
      ImGui::SameLine(0, ImGui::GetStyle().ItemSpacing.x * 3);
      ImGui::BeginGroup();
      if (keypad(u, s.points, 9, "redeem-key", false, u.t(Msg::kNext), pad, points > 0 && points <= m.points)) {
        s.confirming = true;
      }
      ImGui::EndGroup();
    }
  } else {
    // Confirmation: what and how much on the left, the supervisor's keypad (if needed) on the right.
    const float pad = keypadWidth(u);
    const float left = ImGui::GetContentRegionAvail().x - (needPin ? pad + ImGui::GetStyle().ItemSpacing.x * 3 : 0);
    ImGui::BeginGroup();
    ImGui::PushFont(u.large);
    ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + left);
    if (chosen && s.tab == 0) {
      ImGui::TextWrapped("%s: %s", u.t(Msg::kRedeemConfirm), chosen->name.c_str());
    } else {
      ImGui::TextWrapped("%s", u.t(Msg::kRedeemConfirm));
    }
    ImGui::Text("%lld %s -> %s %lld", static_cast<long long>(points), u.t(Msg::kPointsUnit), u.t(Msg::kBalance),
                static_cast<long long>(m.points - points));
    if (s.tab == 1) ImGui::TextColored(kGood, "%s", subst(u.t(Msg::kPointsWorth), {std::to_string(points), worth}).c_str());
    ImGui::PopFont();
    if (needPin) {
      ImGui::TextColored(kWarn, "%s", subst(u.t(Msg::kSupervisorNeeded), {std::to_string(vm.supervisorAbove)}).c_str());
      fieldBox(u, u.t(Msg::kSupervisorPin), s.supervisorPin, "redeem-supervisor-pin", true, true, std::min(left, u.px(360)));
      fieldErrorText(u, vm.error, "supervisor_pin");
    }
    ImGui::PopTextWrapPos();
    otherErrorText(u, vm.error, {"supervisor_pin"});
    const bool ready = !vm.busy && (!needPin || s.supervisorPin.size() >= 4);
    if (bigButton(u, u.t(Msg::kRedeemDo), "redeem-confirm", ImVec2(u.px(220), 0), ready, true)) {
      out.push_back(intent::Redeem{s.tab == 0 ? s.rewardId : std::nullopt, points, s.supervisorPin});
    }
    ImGui::SameLine();
    if (bigButton(u, u.t(Msg::kBack), "redeem-back", ImVec2(u.px(160), 0))) {
      s.confirming = false;
      s.supervisorPin.clear();
    }
    if (vm.busy) busySpinner(u, u.px(14));
    ImGui::EndGroup();
    if (needPin) {
      ImGui::SameLine(0, ImGui::GetStyle().ItemSpacing.x * 3);
      ImGui::BeginGroup();
      keypad(u, s.supervisorPin, 8, "redeem-pin-key", false, nullptr, pad);
      ImGui::EndGroup();
    }
  }
  if (!s.confirming && s.tab == 0) {
    fieldErrorText(u, vm.error, nullptr);
    if (bigButton(u, u.t(Msg::kCancel), "redeem-cancel", ImVec2(u.px(200), 0))) out.push_back(intent::Go{Screen::kMember});
  }
  return out;
}

// [SECTION] Refund

namespace {

/// What the chosen lines pay back and take back (the preview's figures).
void refundFigures(const terminal::RefundPreview& p, const Ui& u) {
  ImGui::PushFont(u.large);
  ImGui::TextColored(kGood, "%s", subst(u.t(Msg::kRefundAmount), {p.amount.toString()}).c_str());
  ImGui::PopFont();
  recordTap(("refund-amount=" + p.amount.toString()).c_str());  // not a button: the preview's answer, for tests
  if (p.pointsReversed > 0) {
    ImGui::TextUnformatted(subst(u.t(Msg::kRefundPointsBack), {std::to_string(p.pointsReversed)}).c_str());
  }
  if (p.pointsReturned > 0) {
    ImGui::TextUnformatted(subst(u.t(Msg::kRefundPointsReturned), {std::to_string(p.pointsReturned)}).c_str());
  }
  if (p.clawback != Money{}) banner(subst(u.t(Msg::kRefundClawback), {p.clawback.toString()}).c_str(), kWarn);
  if (!p.giftsToReturn.empty()) {
    std::string gifts;
    for (const std::string& g : p.giftsToReturn) gifts += (gifts.empty() ? "" : ", ") + g;
    banner(subst(u.t(Msg::kRefundGifts), {gifts}).c_str(), kWarn);
  }
}

/// The receipt's lines with how many of each come back (+/- per line).
Intents refundLines(const terminal::RefundPreview& p, const RefundUiState& s, const Ui& u, float width) {
  using Step = intent::Refund::Step;
  Intents out;
  ImGui::Text("%s", subst(u.t(Msg::kRefundSaleTotal), {p.saleId, p.saleTotal.toString()}).c_str());
  ImGui::SameLine();
  ImGui::TextUnformatted(p.member ? subst(u.t(Msg::kRefundMember), {p.member->name}).c_str() : u.t(Msg::kRefundNoMember));
  const float qtyW = u.px(kMinTouch) * 2 + u.px(60) + ImGui::GetStyle().ItemSpacing.x * 2;
  if (ImGui::BeginTable("refund-lines", 4, ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH, ImVec2(width, 0))) {
    ImGui::TableSetupColumn(u.t(Msg::kRefundItem), ImGuiTableColumnFlags_WidthStretch);
    ImGui::TableSetupColumn(u.t(Msg::kRefundBought), ImGuiTableColumnFlags_WidthFixed, u.px(90));
    ImGui::TableSetupColumn(u.t(Msg::kRefundDone), ImGuiTableColumnFlags_WidthFixed, u.px(70));
    ImGui::TableSetupColumn(u.t(Msg::kRefundReturn), ImGuiTableColumnFlags_WidthFixed, qtyW);
    ImGui::TableHeadersRow();
    for (std::size_t i = 0; i < p.lines.size(); ++i) {
      const terminal::RefundPreviewLine& l = p.lines[i];
      ImGui::PushID(static_cast<int>(i));
      ImGui::TableNextRow(ImGuiTableRowFlags_None, u.px(kMinTouch));
      ImGui::TableNextColumn();
      ImGui::AlignTextToFramePadding();
      ImGui::TextUnformatted(l.description.value_or(l.sku).c_str());
      if (l.gift) {
        ImGui::SameLine();
        ImGui::TextColored(kGold, "(%s)", u.t(Msg::kRefundGift));
      }
      ImGui::TableNextColumn();
      ImGui::Text("%lld × %s", static_cast<long long>(l.qty), showAmount(l.unitPrice).c_str());
      ImGui::TableNextColumn();
      ImGui::Text("%lld", static_cast<long long>(l.refundedQty));
      ImGui::TableNextColumn();
      if (l.refundable > 0 && i < s.qty.size()) {
        const std::string minus = "refund-line-" + std::to_string(i) + "-minus";
        const std::string plus = "refund-line-" + std::to_string(i) + "-plus";
        if (bigButton(u, "-", minus.c_str(), ImVec2(u.px(kMinTouch), 0), s.qty[i] > 0)) {
          out.push_back(intent::Refund{Step::kQty, {}, i, -1});
        }
        ImGui::SameLine();
        ImGui::PushFont(u.large);
        ImGui::AlignTextToFramePadding();
        ImGui::Text("%3lld", static_cast<long long>(s.qty[i]));
        ImGui::PopFont();
        ImGui::SameLine();
        if (bigButton(u, "+", plus.c_str(), ImVec2(u.px(kMinTouch), 0), s.qty[i] < l.refundable)) {
          out.push_back(intent::Refund{Step::kQty, {}, i, +1});
        }
      }
      ImGui::PopID();
    }
    ImGui::EndTable();
  }
  return out;
}

}  // namespace

Intents drawRefund(const RefundViewModel& vm, RefundUiState& s, const Ui& u) {
  using Step = intent::Refund::Step;
  Intents out;
  const float pad = keypadWidth(u);
  const float gap = ImGui::GetStyle().ItemSpacing.x;
  const float full = ImGui::GetContentRegionAvail().x;
  const float left = full - pad - gap * 3;
  title(u, u.t(Msg::kRefundTitle));

  // The answer: a refund, or an exchange.
  if (vm.result || vm.exchanged) {
    ImGui::PushFont(u.large);
    if (vm.result) {
      ImGui::TextColored(kGood, "%s %s", u.t(Msg::kRefunded), vm.result->amount.toString().c_str());
      ImGui::Text("%s -%lld", u.t(Msg::kPointsReversed), static_cast<long long>(vm.result->pointsReversed));
      if (vm.result->balance) ImGui::Text("%s %lld", u.t(Msg::kBalance), static_cast<long long>(*vm.result->balance));
    } else {
      const terminal::ExchangeResult& x = *vm.exchanged;
      ImGui::TextColored(kGood, "%s", u.t(Msg::kExchanged));
      ImGui::Text("%s %s", u.t(Msg::kRefunded), x.refund.amount.toString().c_str());
      ImGui::TextUnformatted(subst(u.t(Msg::kExchangeNew), {x.sale.total.toString()}).c_str());
      const bool pays = x.difference >= Money{};
      const Money shown = pays ? x.difference : Money{} - x.difference;
      ImGui::TextColored(kGold, "%s",
                         subst(u.t(pays ? Msg::kExchangePays : Msg::kExchangeGiveBack), {shown.toString()}).c_str());
      if (x.sale.balance) ImGui::Text("%s %lld", u.t(Msg::kBalance), static_cast<long long>(*x.sale.balance));
    }
    ImGui::PopFont();
    recordTap("refund-result");  // not a button: tells the e2e test the refund was answered
    if (vm.result) {
      if (vm.result->clawback != Money{}) {
        banner(subst(u.t(Msg::kRefundClawback), {vm.result->clawback.toString()}).c_str(), kWarn);
      }
      if (!vm.result->giftsToReturn.empty()) {
        std::string gifts;
        for (const std::string& g : vm.result->giftsToReturn) gifts += (gifts.empty() ? "" : ", ") + g;
        banner(subst(u.t(Msg::kRefundGifts), {gifts}).c_str(), kWarn);
      }
    }
    const float half = (left - gap) / 2;
    if (bigButton(u, u.t(Msg::kAnotherReceipt), "refund-another", ImVec2(half, 0))) {
      out.push_back(intent::Go{Screen::kRefund});
    }
    ImGui::SameLine();
    if (bigButton(u, u.t(Msg::kDone), "refund-done", ImVec2(half, 0), true, true)) out.push_back(intent::Go{Screen::kLookup});
    return out;
  }

  // The receipt: typed on the code keypad (or a keyboard), or scanned.
  if (!vm.preview) {
    ImGui::BeginGroup();
    ImGui::TextWrapped("%s", u.t(Msg::kRefundScanHint));
    ImGui::TextUnformatted(u.t(Msg::kReceiptNo));
    ImGui::SetNextItemWidth(left);
    ImGui::PushFont(u.large);
    ImGui::InputText("##receipt", &s.saleId, ImGuiInputTextFlags_CharsUppercase);
    ImGui::PopFont();
    recordTap("refund-receipt");
    fieldErrorText(u, vm.error, nullptr);
    const float half = (left - gap) / 2;
    if (bigButton(u, u.t(Msg::kRefundFind), "refund-submit", ImVec2(half, 0), !vm.busy && !s.saleId.empty(), true)) {
      out.push_back(intent::Refund{Step::kFind, s.saleId});
    }
    ImGui::SameLine();
    if (bigButton(u, u.t(Msg::kDone), "refund-done", ImVec2(half, 0))) out.push_back(intent::Go{Screen::kLookup});
    if (vm.busy) busySpinner(u, u.px(14));
    ImGui::EndGroup();
    ImGui::SameLine(0, gap * 3);
    ImGui::BeginGroup();
    if (codeKeypad(u, s.saleId, 64, "refund-key", u.t(Msg::kRefundFind), pad, !vm.busy && !s.saleId.empty())) {
      out.push_back(intent::Refund{Step::kFind, s.saleId});
    }
    ImGui::EndGroup();
    return out;
  }

  const terminal::RefundPreview& p = *vm.preview;
  const bool chosen = !refundLinesOf(vm, s).empty();
  if (!s.reviewing) {
    // The lines, what to return of each, and what that pays back.
    Intents lines = refundLines(p, s, u, full);
    out.insert(out.end(), lines.begin(), lines.end());
    if (p.lines.end() == std::find_if(p.lines.begin(), p.lines.end(), [](const auto& l) { return l.refundable > 0; })) {
      banner(u.t(Msg::kRefundNothingLeft), kWarn);
    } else {
      refundFigures(p, u);
      if (p.supervisorRequired) banner(u.t(Msg::kRefundNeedsSupervisor), kWarn);
    }
    fieldErrorText(u, vm.error, nullptr);
    const float third = (full - gap * 2) / 3;
    if (bigButton(u, u.t(Msg::kNext), "refund-review", ImVec2(third, 0), chosen && !vm.busy, true)) {
      out.push_back(intent::Refund{Step::kReview});
    }
    ImGui::SameLine();
    if (bigButton(u, u.t(Msg::kExchange), "refund-exchange", ImVec2(third, 0), chosen && !vm.busy)) {
      out.push_back(intent::Refund{Step::kExchange});
    }
    ImGui::SameLine();
    if (bigButton(u, u.t(Msg::kAnotherReceipt), "refund-another", ImVec2(third, 0))) {
      out.push_back(intent::Go{Screen::kRefund});
    }
    if (vm.busy) busySpinner(u, u.px(14));
    return out;
  }

  // The review: what goes back and to whom, the supervisor's PIN when the refund needs one.
  ImGui::BeginGroup();
  ImGui::PushItemWidth(left);
  ImGui::Text("%s", subst(u.t(Msg::kRefundSaleTotal), {p.saleId, p.saleTotal.toString()}).c_str());
  ImGui::TextUnformatted(p.member ? subst(u.t(Msg::kRefundMember), {p.member->name}).c_str() : u.t(Msg::kRefundNoMember));
  for (const terminal::RefundLineInput& l : refundLinesOf(vm, s)) {
    std::string name = l.sku;
    for (const auto& line : p.lines) {
      if (line.sku == l.sku && line.description) name = *line.description;
    }
    ImGui::BulletText("%s × %lld", name.c_str(), static_cast<long long>(l.qty));
  }
  refundFigures(p, u);
  ImGui::PushFont(u.large);
  ImGui::TextWrapped("%s", subst(u.t(Msg::kRefundConfirmQ), {p.amount.toString()}).c_str());
  ImGui::PopFont();
  if (p.supervisorRequired) {
    banner(u.t(Msg::kRefundNeedsSupervisor), kWarn);
    fieldBox(u, u.t(Msg::kSupervisorPin), s.supervisorPin, "refund-supervisor-pin", true, true, left);
  }
  fieldErrorText(u, vm.error, nullptr);
  const float third = (left - gap * 2) / 3;
  const bool pinOk = !p.supervisorRequired || s.supervisorPin.size() >= terminal::kMinSupervisorPinDigits;
  if (bigButton(u, u.t(Msg::kRefundConfirm), "refund-confirm", ImVec2(third, 0), pinOk && !vm.busy, true)) {
    out.push_back(intent::Refund{Step::kMake});
  }
  ImGui::SameLine();
  // An exchange above the limit comes here for the PIN first, then goes on to the sale screen.
  if (bigButton(u, u.t(Msg::kExchange), "refund-exchange", ImVec2(third, 0), pinOk && !vm.busy)) {
    out.push_back(intent::Refund{Step::kExchange});
  }
  ImGui::SameLine();
  if (bigButton(u, u.t(Msg::kBack), "refund-back", ImVec2(third, 0), !vm.busy)) out.push_back(intent::Refund{Step::kBack});
  if (vm.busy) busySpinner(u, u.px(14));
  ImGui::PopItemWidth();
  ImGui::EndGroup();
  if (p.supervisorRequired) {
    ImGui::SameLine(0, gap * 3);
    ImGui::BeginGroup();
    keypad(u, s.supervisorPin, 8, "refund-pin-key", false, nullptr, pad);
    ImGui::EndGroup();
  }
  return out;
}

Intents drawUnlockOffer(const UnlockUiState& s, const Ui& u) {
  Intents out;
  if (!s.notice.empty()) banner(s.notice.c_str(), kGood);
  if (s.lockedStaffId.empty()) return out;
  if (bigButton(u, u.t(Msg::kUnlockAccount), "login-unlock", ImVec2(u.px(240), 0))) {
    out.push_back(intent::Unlock{intent::Unlock::Step::kOpen});
  }
  return out;
}

Intents drawUnlock(UnlockUiState& s, const Ui& u) {
  Intents out;
  const float pad = keypadWidth(u);
  const float gap = ImGui::GetStyle().ItemSpacing.x;
  const float left = ImGui::GetContentRegionAvail().x - pad - gap * 4;
  ImGui::BeginGroup();
  title(u, u.t(Msg::kUnlockAccount));
  ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + left);
  ImGui::TextWrapped("%s", subst(u.t(Msg::kUnlockHint), {s.lockedStaffId}).c_str());
  ImGui::PopTextWrapPos();
  fieldBox(u, u.t(Msg::kSupervisorPin), s.supervisorPin, "unlock-pin", true, true, left);
  fieldErrorText(u, s.error, nullptr);
  if (bigButton(u, u.t(Msg::kCancel), "unlock-cancel", ImVec2(left, 0), !s.busy)) {
    out.push_back(intent::Unlock{intent::Unlock::Step::kCancel});
  }
  if (s.busy) busySpinner(u, u.px(14));
  ImGui::EndGroup();
  ImGui::SameLine(0, gap * 4);
  ImGui::BeginGroup();
  if (keypad(u, s.supervisorPin, 8, "unlock-key", false, u.t(Msg::kUnlockAccount), pad,
             !s.busy && s.supervisorPin.size() >= terminal::kMinSupervisorPinDigits)) {
    out.push_back(intent::Unlock{intent::Unlock::Step::kSubmit});
  }
  ImGui::EndGroup();
  return out;
}

Intents drawExchangeBanner(const ExchangeState& x, const Ui& u) {
  Intents out;
  // One row: the sale screen below keeps its height.
  if (bigButton(u, u.t(Msg::kExchangeCancel), "exchange-cancel", ImVec2(u.px(200), 0))) {
    out.push_back(intent::Refund{intent::Refund::Step::kCancelExchange});
  }
  ImGui::SameLine();
  ImGui::PushFont(u.large);
  ImGui::AlignTextToFramePadding();
  ImGui::TextColored(kGold, "%s", subst(u.t(Msg::kExchangeBanner), {x.returned.toString()}).c_str());
  ImGui::PopFont();
  ImGui::Separator();
  return out;
}

// [SECTION] Complaint

Intents drawComplaint(const ComplaintViewModel& vm, ComplaintUiState& s, const Ui& u) {
  Intents out;
  title(u, u.t(Msg::kComplaintTitle));
  if (vm.filed) banner(u.t(Msg::kComplaintFiled), kGood);
  const bool compactScript = drawComplaintScript(u);
  static constexpr std::pair<const char*, Msg> kCategories[] = {
      {"service", Msg::kCatService}, {"product", Msg::kCatProduct}, {"price", Msg::kCatPrice},
      {"points", Msg::kCatPoints},   {"waiting", Msg::kCatWaiting}, {"other", Msg::kCatOther}};
  if (!compactScript) ImGui::TextUnformatted(u.t(Msg::kCategory));
  const float w = (ImGui::GetContentRegionAvail().x - ImGui::GetStyle().ItemSpacing.x * 5) / 6;
  for (std::size_t i = 0; i < std::size(kCategories); ++i) {
    if (i) ImGui::SameLine();
    const std::string id = std::string("complaint-cat-") + kCategories[i].first;
    if (bigButton(u, u.t(kCategories[i].second), id.c_str(), ImVec2(w, 0), true, s.category == kCategories[i].first)) {
      s.category = kCategories[i].first;
    }
  }
  fieldErrorText(u, vm.error, "category");
  // The description is the screen's one text field: the keyboards always type into it.
  // It takes what the keyboard leaves above the row of buttons (the checkbox shares that row).
  const float descriptionH = std::clamp(ImGui::GetContentRegionAvail().y - ImGui::GetTextLineHeightWithSpacing() -
                                            u.px(kMinTouch) - ImGui::GetStyle().ItemSpacing.y * 3,
                                        u.px(84), u.px(180));
  textField(u, u.t(Msg::kDescription), s.description, "complaint-description", true, 0, FieldLines::kSeveral,
            descriptionH);
  fieldErrorText(u, vm.error, "description");
  otherErrorText(u, vm.error, {"category", "description"});
  if (vm.member) {
    ImGui::PushStyleVar(ImGuiStyleVar_FramePadding, ImVec2(u.px(14), u.px(14)));
    ImGui::Checkbox(subst(u.t(Msg::kAboutMember), {vm.member->name}).c_str(), &s.aboutMember);
    ImGui::PopStyleVar();
    recordTap("complaint-about-member");
    ImGui::SameLine(0, ImGui::GetStyle().ItemSpacing.x * 4);
  }
  if (bigButton(u, u.t(Msg::kFileComplaint), "complaint-submit", ImVec2(u.px(280), 0), !vm.busy, true)) {
    out.push_back(intent::Complaint{s.category, s.description, vm.member && s.aboutMember});
  }
  ImGui::SameLine();
  if (bigButton(u, u.t(Msg::kBack), "complaint-back", ImVec2(u.px(200), 0))) {
    out.push_back(intent::Go{vm.member ? Screen::kMember : Screen::kLookup});
  }
  return out;
}

// [SECTION] End of day and settings

namespace {

/// The day per cashier: their sales, refunds processed, net, points net of refunds, enrolments.
void drawDayByStaff(const std::vector<terminal::StaffDayFigures>& staff, const Ui& u) {
  if (staff.empty()) return;
  ImGui::Spacing();
  ImGui::TextUnformatted(u.t(Msg::kDayByStaff));
  constexpr ImGuiTableFlags kFlags = ImGuiTableFlags_RowBg | ImGuiTableFlags_Borders;
  if (!ImGui::BeginTable("day-staff", 6, kFlags, ImVec2(std::min(ImGui::GetContentRegionAvail().x, u.px(900)), 0))) return;
  for (const Msg m : {Msg::kDayStaff, Msg::kDaySales, Msg::kDayStaffRefunds, Msg::kDayStaffNet, Msg::kDayStaffPoints, Msg::kDayStaffEnrol}) {
    ImGui::TableSetupColumn(u.t(m));
  }
  ImGui::TableHeadersRow();
  for (const auto& s : staff) {
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    const std::string who = !s.staffId ? u.t(Msg::kDayStaffUnknown) : s.name.empty() ? *s.staffId : s.name + " (" + *s.staffId + ")";
    ImGui::TextUnformatted(who.c_str());
    ImGui::TableNextColumn();
    ImGui::Text("%lld / %s", static_cast<long long>(s.sales), s.total.toString().c_str());
    ImGui::TableNextColumn();
    ImGui::Text("%lld / %s", static_cast<long long>(s.refunds), s.refunded.toString().c_str());
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(s.net.toString().c_str());
    ImGui::TableNextColumn();
    ImGui::Text("%lld", static_cast<long long>(s.pointsEarned - s.pointsReversed));
    ImGui::TableNextColumn();
    ImGui::Text("%lld", static_cast<long long>(s.enrolments));
  }
  ImGui::EndTable();
}

}  // namespace

Intents drawDayEnd(const DayEndViewModel& vm, const Ui& u) {
  Intents out;
  title(u, subst(u.t(Msg::kDayEndTitle), {vm.day}).c_str());
  if (!vm.figures) {
    busySpinner(u, u.px(16));
  } else {
    const DayFigures& d = *vm.figures;
    const auto row = [&](Msg label, const std::string& value) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(u.t(label));
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(value.c_str());
    };
    ImGui::PushFont(u.large);
    if (ImGui::BeginTable("day", 2, ImGuiTableFlags_RowBg, ImVec2(std::min(ImGui::GetContentRegionAvail().x, u.px(700)), 0))) {
      row(Msg::kDaySales, std::to_string(d.sales) + " (" + std::to_string(d.memberSales) + " " + u.t(Msg::kDayMemberSales) + ")");
      row(Msg::kDayNet, d.net.toString() + " (" + d.total.toString() + ")");
      row(Msg::kDayRefunds, std::to_string(d.refunds) + " / " + d.refunded.toString());
      row(Msg::kDayPointsNet, std::to_string(d.pointsEarned - d.pointsReversed));
      row(Msg::kDayRedeemed, std::to_string(d.pointsRedeemed));
      row(Msg::kDayEnrolments, std::to_string(d.enrolments));
      char avg[32];
      std::snprintf(avg, sizeof avg, "%.2f", d.surveyAverage);
      row(Msg::kDaySurveys, std::to_string(d.surveys) + (d.surveys ? std::string(" / ") + avg : ""));
      row(Msg::kDayComplaints, std::to_string(d.complaints));
      row(Msg::kSyncPending, std::to_string(vm.outboxPending));
      ImGui::EndTable();
    }
    ImGui::PopFont();
    drawDayByStaff(d.byStaff, u);
  }
  if (bigButton(u, u.t(Msg::kBack), "dayend-back", ImVec2(u.px(200), 0))) out.push_back(intent::Go{Screen::kLookup});
  return out;
}

Intents drawSettings(const SettingsViewModel& vm, const Ui& u) {
  Intents out;
  title(u, u.t(Msg::kSettingsTitle));
  ImGui::TextUnformatted(u.t(Msg::kLanguage));
  if (bigButton(u, "中文", "lang-zh", ImVec2(u.px(200), 0), true, u.lang == Lang::kZh)) out.push_back(intent::SetLanguage{Lang::kZh});
  ImGui::SameLine();
  if (bigButton(u, "English", "lang-en", ImVec2(u.px(200), 0), true, u.lang == Lang::kEn)) out.push_back(intent::SetLanguage{Lang::kEn});
  ImGui::Spacing();
  if (vm.store) {
    ImGui::Text("%s %s    %s %s", u.t(Msg::kStore), vm.store->storeId.c_str(), u.t(Msg::kTerminal), vm.store->terminalId.c_str());
    ImGui::Text("%s %s", u.t(Msg::kDataDir), vm.store->dataDir.c_str());
    ImGui::Text("%s %s", u.t(Msg::kCurrency), vm.store->currency.c_str());
  }
  ImGui::Text("%s %s (%s)", u.t(Msg::kSignedInAs), vm.staffName.c_str(), vm.staffRole.c_str());
  ImGui::Spacing();
  ImGui::TextUnformatted(u.t(Msg::kSyncStatus));
  ImGui::TextColored(vm.outboxPending ? kWarn : kGood, "%s", subst(u.t(Msg::kSyncOffline), {std::to_string(vm.outboxPending)}).c_str());
  if (vm.stats) {
    ImGui::Text("%s %lld    %s %lld", u.t(Msg::kMembers), static_cast<long long>(vm.stats->members), u.t(Msg::kDaySales),
                static_cast<long long>(vm.stats->sales));
  }
  ImGui::Spacing();
  if (bigButton(u, u.t(Msg::kBack), "settings-back", ImVec2(u.px(200), 0))) out.push_back(intent::Go{Screen::kLookup});
  return out;
}

// [SECTION] The counter window

/// The questions that stop the screen until answered: discard the open sale, or what a card
/// scanned mid-sale means.
Intents drawQuestion(const AppModel& app, const Ui& u) {
  Intents out;
  Money total;
  const auto cart = cartOf(app);
  for (const auto& l : cart) {
    if (auto m = Money::parse(l.amount, "amount")) total += *m;
  }
  ImGui::Dummy(ImVec2(1, u.px(40)));
  ImGui::PushFont(u.large);
  ImGui::PushTextWrapPos(ImGui::GetContentRegionAvail().x);
  const ImVec2 b(u.px(300), u.px(80));
  if (app.pendingScan) {
    ImGui::TextWrapped("%s", subst(u.t(Msg::kScanMidSale), {*app.pendingScan}).c_str());
    ImGui::Spacing();
    if (bigButton(u, u.t(Msg::kScanJoinSale), "scan-join", b, true, true)) out.push_back(intent::ScanIntoSale{true});
    ImGui::SameLine();
    if (bigButton(u, u.t(Msg::kScanNewCustomer), "scan-new", b)) out.push_back(intent::ScanIntoSale{false});
    ImGui::SameLine();
    if (bigButton(u, u.t(Msg::kIgnoreScan), "scan-ignore", b)) out.push_back(intent::Confirm{false});
  } else {
    ImGui::TextWrapped("%s", subst(u.t(Msg::kDiscardSaleQ), {std::to_string(cart.size()), total.toString()}).c_str());
    ImGui::Spacing();
    if (bigButton(u, u.t(Msg::kKeepSelling), "confirm-no", b, true, true)) out.push_back(intent::Confirm{false});
    ImGui::SameLine();
    if (bigButton(u, u.t(Msg::kDiscardSale), "confirm-yes", b)) out.push_back(intent::Confirm{true});
  }
  ImGui::PopTextWrapPos();
  ImGui::PopFont();
  return out;
}

Intents drawCounter(AppModel& app, const Ui& u) {
  Intents out;
  ImGuiIO& io = ImGui::GetIO();
  ImGui::SetNextWindowPos(ImVec2(0, 0));
  ImGui::SetNextWindowSize(io.DisplaySize);
  // The status bar stays put: only the screen below it scrolls (wheel or a dragging finger).
  ImGui::Begin("counter", nullptr,
               ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings |
                   ImGuiWindowFlags_NoBringToFrontOnFocus | ImGuiWindowFlags_NoScrollWithMouse |
                   ImGuiWindowFlags_NoScrollbar);
  // Status bar: who and where, busy and offline, language, the other screens.
  if (app.staff) {
    const ImVec2 b(u.px(112), u.px(kMinTouch) - u.px(4));
    if (bigButton(u, u.t(Msg::kLookupTitle), "nav-lookup", b)) out.push_back(intent::Go{Screen::kLookup});
    ImGui::SameLine();
    if (bigButton(u, u.t(Msg::kDayEndShort), "nav-dayend", b)) out.push_back(intent::Go{Screen::kDayEnd});
    ImGui::SameLine();
    if (bigButton(u, u.t(Msg::kComplaintShort), "nav-complaint", b)) out.push_back(intent::Go{Screen::kComplaint});
    ImGui::SameLine();
    if (bigButton(u, u.t(Msg::kSettingsTitle), "nav-settings", b)) out.push_back(intent::Go{Screen::kSettings});
    ImGui::SameLine();
    if (bigButton(u, u.t(Msg::kSignOut), "nav-signout", b)) out.push_back(intent::SignOut{});
    ImGui::SameLine();
  }
  if (bigButton(u, u.lang == Lang::kZh ? "English" : "中文", "nav-lang", ImVec2(u.px(100), u.px(kMinTouch) - u.px(4)))) {
    out.push_back(intent::SetLanguage{u.lang == Lang::kZh ? Lang::kEn : Lang::kZh});
  }
  ImGui::SameLine();
  ImGui::BeginGroup();
  if (app.store) {
    ImGui::Text("%s %s  %s %s", u.t(Msg::kStore), app.store->storeId.c_str(), u.t(Msg::kTerminal),
                app.store->terminalId.c_str());
    if (app.staff) {
      ImGui::SameLine();
      ImGui::Text(" · %s", app.staff->name.c_str());
    }
  }
  if (app.outboxPending > 0) {
    ImGui::TextColored(kWarn, "%s", subst(u.t(Msg::kOfflineShort), {std::to_string(app.outboxPending)}).c_str());
  } else {
    ImGui::TextColored(kGood, "%s", u.t(Msg::kAllSynced));
  }
  ImGui::EndGroup();
  if (busy(app)) {
    ImGui::SameLine();
    busySpinner(u, u.px(14));
  }
  ImGui::Separator();
  if (!app.failure.empty()) {
    banner(app.failure.c_str(), kBad);
    ImGui::SameLine();
    if (bigButton(u, "OK", "failure-ok", ImVec2(u.px(80), 0))) app.failure.clear();
  }

  // The on-screen keyboard, when a text field has the focus, takes the bottom of the window.
  const TextTarget typing = keyboardTarget(app);
  if (typing.text) keyboardFollow(app.keyboard, *typing.text, typing.id);
  const bool keyboard = typing.text && !app.keyboard.hidden && !app.pendingLeave && !app.pendingScan;
  const float keyboardH = keyboard ? keyboardHeight(u) + ImGui::GetStyle().ItemSpacing.y : 0;
  ImGui::BeginChild("screen", ImVec2(0, -keyboardH), false, ImGuiWindowFlags_NoBackground);
  Intents screen;
  Intents above;  // an exchange's banner above the sale screen, the unlock offer above sign-in
  if (app.screen == Screen::kSale && app.exchange && !app.pendingLeave && !app.pendingScan) {
    above = drawExchangeBanner(*app.exchange, u);
  }
  if (app.screen == Screen::kLogin && !app.unlockUi.open) above = drawUnlockOffer(app.unlockUi, u);
  if (app.pendingLeave || app.pendingScan) {
    screen = drawQuestion(app, u);
  } else switch (app.screen) {
    case Screen::kLogin:
      screen = app.unlockUi.open ? drawUnlock(app.unlockUi, u) : drawLogin(app.login, app.loginUi, u);
      break;
    case Screen::kLookup: screen = drawLookup(app.lookup, app.lookupUi, u); break;
    case Screen::kMember: screen = drawMember(app.member, u); break;
    case Screen::kEnroll: screen = drawEnroll(app.enroll, app.enrollUi, u); break;
    case Screen::kSale: screen = drawSale(app.sale, app.saleUi, u); break;
    case Screen::kReceipt: screen = drawReceipt(app.receipt, u); break;
    case Screen::kRedeem: screen = drawRedeem(app.redeem, app.redeemUi, u); break;
    case Screen::kRefund: screen = drawRefund(app.refund, app.refundUi, u); break;
    case Screen::kComplaint: screen = drawComplaint(app.complaint, app.complaintUi, u); break;
    case Screen::kDayEnd: screen = drawDayEnd(app.dayEnd, u); break;
    case Screen::kSettings: screen = drawSettings(app.settings, u); break;
    case Screen::kMemberDetails: screen = drawMemberDetails(app.memberDetails, app.memberDetailsUi, u); break;
  }
  dragScroll(u);
  ImGui::EndChild();
  if (keyboard) drawKeyboard(app.keyboard, *typing.text, typing.maxLen, u, ImGui::GetContentRegionAvail().x);
  ImGui::End();
  out.insert(out.end(), std::make_move_iterator(screen.begin()), std::make_move_iterator(screen.end()));
  out.insert(out.end(), std::make_move_iterator(above.begin()), std::make_move_iterator(above.end()));
  return out;
}

void counterFrame(AppModel& app, const Ui& u, const TypedKeys& presses) {
  // Keys go to the screen's focused field unless an on-screen text field has them (ImGui edits
  // that one itself; WantTextInput is from the previous frame).
  const bool textFieldActive = ImGui::GetIO().WantTextInput;
  Ui ui = u;
  ui.selectAll = app.fieldSelected;
  ui.keyboard = &app.keyboard;
  const Screen screenBefore = app.screen;
  const EnrollUiState enrollBefore = app.enrollUi;
  const MemberDetailsUiState detailsBefore = app.memberDetailsUi;
  const std::string amountBefore = app.saleUi.amount;
  const Intents intents = drawCounter(app, ui);
  for (const Intent& i : intents) update(app, i);
  if (std::exchange(app.keyboard.enter, false)) pressEnter(app);
  if (app.screen != screenBefore) app.fieldSelected = false;
  if (!textFieldActive && !presses.empty()) {
    keys(app, presses);
    // A hardware keyboard is typing: the on-screen one makes room until its field is tapped.
    if (const TextTarget t = keyboardTarget(app); t.text) {
      keyboardFollow(app.keyboard, *t.text, t.id);
      app.keyboard.hidden = true;
    }
  }
  // An error goes once its field is being corrected: it does not stay after the fix.
  const auto corrected = [](FieldError& e, const char* field, const std::string& before, const std::string& now) {
    if (e.field == field && before != now) e = {};
  };
  corrected(app.enroll.error, "phone", enrollBefore.phone, app.enrollUi.phone);
  corrected(app.enroll.error, "name", enrollBefore.name, app.enrollUi.name);
  corrected(app.enroll.error, "birthday", enrollBefore.birthday, app.enrollUi.birthday);
  corrected(app.enroll.error, "referrer", enrollBefore.referrer, app.enrollUi.referrer);
  if (amountBefore != app.saleUi.amount && !app.sale.busy) app.sale.error = {};
  corrected(app.memberDetails.error, "phone", detailsBefore.phone, app.memberDetailsUi.phone);
  corrected(app.memberDetails.error, "name", detailsBefore.name, app.memberDetailsUi.name);
  corrected(app.memberDetails.error, "birthday", detailsBefore.birthday, app.memberDetailsUi.birthday);
  corrected(app.memberDetails.error, "member", detailsBefore.phone + detailsBefore.name + detailsBefore.birthday +
                detailsBefore.language, app.memberDetailsUi.phone + app.memberDetailsUi.name +
                app.memberDetailsUi.birthday + app.memberDetailsUi.language);  // "nothing to save", until something is
  requoteSale(app);  // the open sale priced by the store as it changes
}

void customerFrame(AppModel& app, const Ui& u) {
  ImGuiIO& io = ImGui::GetIO();
  ImGui::SetNextWindowPos(ImVec2(0, 0));
  ImGui::SetNextWindowSize(io.DisplaySize);
  ImGui::Begin("customer", nullptr,
               ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings);
  app.customer.cart = cartOf(app);
  const Intents intents = drawCustomer(app.customer, app.customerSetup, app.customerUi, u);
  ImGui::End();
  for (const Intent& i : intents) update(app, i);
}

}  // namespace loyalty::ui
