// The customer-facing display: what the customer sees and taps on their own screen.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "loyalty/core/card.hpp"
#include "loyalty/core/promotions.hpp"
#include "loyalty/ui/qr.hpp"
#include "loyalty/ui/screens.hpp"

namespace loyalty::ui {

namespace {

// The customer display's own palette: its light QR card and its two highlights.
const ImVec4 kPositive(0.45f, 0.90f, 0.55f, 1.0f);
const ImVec4 kWelcome(1.0f, 0.85f, 0.35f, 1.0f);
/// Modules of light margin around a QR code: readers need four.
constexpr int kQrQuietZone = 4;

// [SECTION] Parts

/// The open sale as the customer follows it: each line and the running total.
void customerCart(const CustomerViewModel& vm, const Ui& u, float width) {
  if (vm.cart.empty()) return;
  ImGui::PushFont(u.large);
  ImGui::TextUnformatted(u.t(Msg::kYourItems));
  Money total;
  for (const auto& l : vm.cart) {
    if (auto m = Money::parse(l.amount, "amount")) total += *m;
    ImGui::TextUnformatted(l.description.empty() ? u.t(Msg::kItem) : l.description.c_str());
    ImGui::SameLine(width * 0.6f);
    ImGui::TextUnformatted(l.amount.c_str());
  }
  ImGui::Separator();
  ImGui::TextUnformatted(u.t(Msg::kTotal));
  ImGui::SameLine(width * 0.6f);
  ImGui::PopFont();
  ImGui::PushFont(u.huge);
  ImGui::TextColored(kPositive, "%s", total.toString().c_str());
  ImGui::PopFont();
  recordTap(("customer-cart-total=" + total.toString()).c_str());  // not a button: for the e2e test
}

/// The member's greeting and their balance as it is now (after sales and redemptions since).
/// `withCard`: the button that shows their QR e-card.
bool memberHeader(const CustomerViewModel& vm, const Ui& u, float width, bool withCard) {
  const MemberView& m = *vm.member;
  ImGui::PushFont(u.huge);
  ImGui::PushTextWrapPos(width);
  if (vm.greetings.empty()) {
    ImGui::TextColored(kWelcome, "%s", subst(u.t(Msg::kGreetDefault), {m.name}).c_str());
  } else {
    for (const auto& g : vm.greetings) ImGui::TextColored(kWelcome, "%s", g.text.c_str());
  }
  ImGui::PopTextWrapPos();
  ImGui::PopFont();
  ImGui::PushFont(u.large);
  ImGui::Text("%s", u.t(Msg::kBalance));
  ImGui::PopFont();
  ImGui::SameLine();
  ImGui::PushFont(u.huge);
  ImGui::TextColored(kPositive, "%lld", static_cast<long long>(m.points));
  ImGui::PopFont();
  recordTap(("customer-balance=" + std::to_string(m.points)).c_str());  // the value, for the e2e test
  bool showCard = false;
  if (withCard && !m.cardNo.empty()) {
    ImGui::SameLine(std::max(width - u.px(260), ImGui::GetCursorPosX() + u.px(20)));
    showCard = bigButton(u, u.t(Msg::kCustomerShowCard), "customer-show-card", ImVec2(u.px(250), 0));
  }
  ImGui::Spacing();
  return showCard;
}

/// The card number in groups of four, as printed on a card.
std::string grouped(const std::string& cardNo) {
  std::string out;
  for (std::size_t i = 0; i < cardNo.size(); ++i) {
    if (i > 0 && i % 4 == 0) out.push_back(' ');
    out.push_back(cardNo[i]);
  }
  return out;
}

/// The member's e-card: the QR code the counter's scanner reads (memberQrPayload), on a light
/// square with its quiet zone, each module a whole number of pixels so it scans off the screen.
bool drawCard(const MemberView& m, const Ui& u, ImVec2 avail) {
  const QrCode qr = encodeQr(memberQrPayload(m.cardNo));
  ImGui::PushFont(u.large);
  ImGui::TextUnformatted(u.t(Msg::kCustomerShowCard));
  ImGui::PopFont();
  const float textBelow = ImGui::GetTextLineHeightWithSpacing() * 2 + u.px(kMinTouch) + u.px(24);
  const float side = std::min(avail.x, avail.y - ImGui::GetCursorPosY() - textBelow);
  const int cells = qr.size + 2 * kQrQuietZone;
  const float modulePx = qr.size > 0 ? std::max(1.0f, std::floor(side / static_cast<float>(cells))) : 0.0f;
  const float drawn = modulePx * static_cast<float>(cells);
  ImGui::SetCursorPos(ImVec2(std::floor((avail.x - drawn) / 2), std::floor(ImGui::GetCursorPosY())));
  const ImVec2 at = ImGui::GetCursorScreenPos();
  const ImVec2 origin(std::floor(at.x), std::floor(at.y));
  ImDrawList* draw = ImGui::GetWindowDrawList();
  draw->AddRectFilled(origin, ImVec2(origin.x + drawn, origin.y + drawn), IM_COL32(255, 255, 255, 255));
  for (int y = 0; y < qr.size; ++y) {
    for (int x = 0; x < qr.size;) {  // one rectangle per run of dark modules in a row
      if (!qr.isDark(x, y)) {
        ++x;
        continue;
      }
      int end = x;
      while (end < qr.size && qr.isDark(end, y)) ++end;
      const float top = origin.y + modulePx * static_cast<float>(y + kQrQuietZone);
      draw->AddRectFilled(ImVec2(origin.x + modulePx * static_cast<float>(x + kQrQuietZone), top),
                          ImVec2(origin.x + modulePx * static_cast<float>(end + kQrQuietZone), top + modulePx),
                          IM_COL32(0, 0, 0, 255));
      x = end;
    }
  }
  ImGui::Dummy(ImVec2(drawn, drawn));
  recordTap("customer-qr");  // where the code is, for the e2e test that reads it off the screen
  ImGui::PushFont(u.large);
  const std::string number = subst(u.t(Msg::kCustomerCardNo), {grouped(m.cardNo)});
  ImGui::SetCursorPosX((avail.x - ImGui::CalcTextSize(number.c_str()).x) / 2);
  ImGui::TextUnformatted(number.c_str());
  ImGui::PopFont();
  ImGui::SetCursorPosX((avail.x - ImGui::CalcTextSize(u.t(Msg::kCustomerCardHint)).x) / 2);
  ImGui::TextUnformatted(u.t(Msg::kCustomerCardHint));
  ImGui::SetCursorPosX((avail.x - u.px(240)) / 2);
  return bigButton(u, u.t(Msg::kCustomerCardClose), "customer-card-close", ImVec2(u.px(240), 0), true, true);
}

/// A dimension's question: the five service-quality dimensions are worded for customers; any
/// other name is the store's own wording and shown as configured.
std::string dimensionLabel(const Ui& u, const std::string& name) {
  if (name == "tangibles") return u.t(Msg::kDimTangibles);
  if (name == "reliability") return u.t(Msg::kDimReliability);
  if (name == "responsiveness") return u.t(Msg::kDimResponsiveness);
  if (name == "assurance") return u.t(Msg::kDimAssurance);
  if (name == "empathy") return u.t(Msg::kDimEmpathy);
  return name;
}

/// A row of score buttons from `first` to `last` filling `width`; ids `prefix` + score.
std::optional<int> scoreRow(const Ui& u, int first, int last, const std::string& prefix, float width,
                            bool stars) {
  std::optional<int> chosen;
  const int count = last - first + 1;
  const float spacing = ImGui::GetStyle().ItemSpacing.x;
  const float side = std::min(u.px(110), (width - spacing * static_cast<float>(count - 1)) / static_cast<float>(count));
  for (int i = first; i <= last; ++i) {
    if (i > first) ImGui::SameLine();
    const std::string label = stars ? std::to_string(i) + " \xe2\x98\x85" : std::to_string(i);  // ★
    if (bigButton(u, label.c_str(), (prefix + std::to_string(i)).c_str(), ImVec2(side, side))) chosen = i;
  }
  return chosen;
}

/// The survey after a sale: the configured scale's question, then each dimension 1..5. Answers
/// collect in `ui` (for this sale) and leave as one intent when the last question is answered.
void drawSurvey(const CustomerViewModel& vm, const CustomerDisplaySetup& setup, CustomerUiState& ui, const Ui& u,
                float width, Intents& out) {
  const std::string sale = vm.lastSale ? vm.lastSale->saleId : std::string();
  if (ui.surveyOf != sale) {
    ui.surveyOf = sale;
    ui.score.reset();
    ui.dimension = 0;
    ui.dimensions.clear();
  }
  const auto& dims = setup.surveyDimensions;
  const auto finish = [&] {
    out.push_back(intent::Survey{*ui.score, ui.dimensions});
  };
  ImGui::PushFont(u.large);
  ImGui::PushTextWrapPos(width);
  if (!ui.score) {
    std::optional<int> score;
    if (setup.surveyScale == "nps10") {
      ImGui::TextUnformatted(u.t(Msg::kNpsQuestion));
      score = scoreRow(u, 0, 10, "survey-", width, false);
      ImGui::PopFont();
      ImGui::TextUnformatted(u.t(Msg::kNpsUnlikely));
      ImGui::SameLine(std::max(width - ImGui::CalcTextSize(u.t(Msg::kNpsLikely)).x, ImGui::GetCursorPosX() + u.px(20)));
      ImGui::TextUnformatted(u.t(Msg::kNpsLikely));
      ImGui::PushFont(u.large);
    } else {
      ImGui::TextUnformatted(u.t(Msg::kSurveyQuestion));
      score = scoreRow(u, 1, 5, "survey-", width * 5 / 6, true);
      ImGui::SameLine();
    }
    if (setup.surveyScale == "nps10") ImGui::Spacing();
    if (bigButton(u, u.t(Msg::kSkip), "survey-skip", ImVec2(u.px(150), u.px(80)))) out.push_back(intent::SkipSurvey{});
    if (score) {
      ui.score = score;
      if (dims.empty()) finish();
    }
  } else if (ui.dimension < dims.size()) {
    const std::string& name = dims[ui.dimension];
    ImGui::TextUnformatted(subst(u.t(Msg::kDimensionStep), {std::to_string(ui.dimension + 1), std::to_string(dims.size())}).c_str());
    ImGui::TextColored(kWelcome, "%s", subst(u.t(Msg::kDimensionQuestion), {dimensionLabel(u, name)}).c_str());
    const std::string prefix = "dimension-" + std::to_string(ui.dimension) + "-";
    const auto score = scoreRow(u, 1, 5, prefix, width * 5 / 6, true);
    ImGui::SameLine();
    const bool skip = bigButton(u, u.t(Msg::kSkip), "dimension-skip", ImVec2(u.px(150), u.px(80)));
    if (score) ui.dimensions[name] = *score;
    if (score || skip) {
      if (++ui.dimension == dims.size()) finish();
    }
  }
  ImGui::PopTextWrapPos();
  ImGui::PopFont();
}

/// A promotion as the customer reads it.
std::string promotionText(const Ui& u, const Promotion& p) {
  std::string text;
  switch (p.kind) {
    case Promotion::Kind::kSpendDiscount:
      text = subst(u.t(p.repeat ? Msg::kPromoSpendOffEach : Msg::kPromoSpendOff),
                   {p.threshold.toString(), p.amount.toString()});
      break;
    case Promotion::Kind::kSpendGift:
      text = subst(u.t(Msg::kPromoGift), {p.threshold.toString(), p.giftSku});
      break;
    case Promotion::Kind::kMemberDiscount:
      text = subst(u.t(Msg::kPromoMemberPrice), {p.percent});
      break;
    case Promotion::Kind::kPointsMultiplier:
      text = subst(u.t(p.weekday ? Msg::kPromoMemberDay : Msg::kPromoPoints), {multiplierText(p.multiplier)});
      break;
  }
  if (p.membersOnly && p.kind != Promotion::Kind::kMemberDiscount) text += std::string(" · ") + u.t(Msg::kPromoMembersOnly);
  if (p.to) text += std::string(" · ") + subst(u.t(Msg::kPromoUntil), {formatDate(*p.to)});
  return text;
}

/// Nobody at the counter: a welcome and today's promotions.
void drawIdle(const CustomerDisplaySetup& setup, const Ui& u, ImVec2 avail) {
  ImGui::SetCursorPosY(avail.y * (setup.promotions.empty() ? 0.4f : 0.15f));
  ImGui::PushFont(u.huge);
  ImGui::TextColored(kWelcome, "%s", u.t(Msg::kCustomerWelcome));
  ImGui::PopFont();
  recordTap("customer-idle");
  if (setup.promotions.empty()) return;
  ImGui::Spacing();
  ImGui::PushFont(u.large);
  ImGui::TextUnformatted(u.t(Msg::kTodayOffers));
  ImGui::Separator();
  ImGui::PushTextWrapPos(avail.x);
  for (std::size_t i = 0; i < setup.promotions.size(); ++i) {
    ImGui::TextColored(kPositive, "%s", promotionText(u, setup.promotions[i]).c_str());
    recordTap(("customer-promotion-" + std::to_string(i)).c_str());
  }
  ImGui::PopTextWrapPos();
  ImGui::PopFont();
}

}  // namespace

// [SECTION] The display

Intents drawCustomer(const CustomerViewModel& vm, const CustomerDisplaySetup& setup, CustomerUiState& ui,
                     const Ui& u) {
  Intents out;
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  if (vm.refund) {
    ImGui::PushFont(u.huge);
    ImGui::PushTextWrapPos(avail.x);
    ImGui::TextColored(kPositive, "%s", subst(u.t(Msg::kRefundForYou), {vm.refund->amount.toString()}).c_str());
    ImGui::PopTextWrapPos();
    ImGui::PopFont();
    ImGui::PushFont(u.large);
    ImGui::Text("%s -%lld", u.t(Msg::kPointsReversed), static_cast<long long>(vm.refund->pointsReversed));
    if (vm.refund->balance) ImGui::Text("%s %lld", u.t(Msg::kBalance), static_cast<long long>(*vm.refund->balance));
    ImGui::PopFont();
    recordTap("customer-refund");
    return out;
  }
  // The e-card, while its member is the one at the counter.
  if (vm.member && ui.cardOf == vm.member->memberId) {
    if (drawCard(*vm.member, u, avail)) ui.cardOf.clear();
    return out;
  }
  const bool withCard = vm.cart.empty() && !vm.askSurvey;
  if (vm.member && memberHeader(vm, u, avail.x, withCard)) ui.cardOf = vm.member->memberId;
  if (!vm.cart.empty()) {
    customerCart(vm, u, avail.x);
    return out;
  }
  if (vm.askSurvey) {
    if (vm.lastSale) {
      ImGui::PushFont(u.large);
      ImGui::Text("%s %s", u.t(Msg::kTotal), vm.lastSale->total.toString().c_str());
      if (vm.member) {
        ImGui::TextColored(kPositive, "%s +%lld", u.t(Msg::kPointsEarned), static_cast<long long>(vm.lastSale->pointsEarned));
      }
      ImGui::PopFont();
      ImGui::Spacing();
    }
    drawSurvey(vm, setup, ui, u, avail.x, out);
    return out;
  }
  if (vm.thanked) {
    ImGui::Spacing();
    ImGui::PushFont(u.huge);
    ImGui::TextColored(kPositive, "%s", u.t(Msg::kSurveyThanks));
    ImGui::PopFont();
    recordTap("customer-thanks");
    ImGui::PushFont(u.large);
    ImGui::TextUnformatted(u.t(Msg::kThanksVisit));
    ImGui::PopFont();
    return out;
  }
  if (!vm.member) drawIdle(setup, u, avail);
  return out;
}

}  // namespace loyalty::ui
