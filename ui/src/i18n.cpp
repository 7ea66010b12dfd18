#include "loyalty/ui/i18n.hpp"

namespace loyalty::ui {

namespace {

struct Entry {
  const char* en;
  const char* zh;
};

constexpr Entry kCatalogue[] = {
#define LOYALTY_UI_MESSAGE_ENTRY(key, en, zh) {en, zh},
    LOYALTY_UI_MESSAGES(LOYALTY_UI_MESSAGE_ENTRY)
#undef LOYALTY_UI_MESSAGE_ENTRY
};
static_assert(std::size(kCatalogue) == static_cast<std::size_t>(Msg::kCount));

}  // namespace

bool parseLang(std::string_view text, Lang& out) {
  if (text == "zh" || text == "zh-CN" || text == "zh_CN" || text == "zh-Hans") {
    out = Lang::kZh;
    return true;
  }
  if (text == "en" || text.substr(0, 3) == "en-" || text.substr(0, 3) == "en_") {
    out = Lang::kEn;
    return true;
  }
  return false;
}

const char* tr(Lang lang, Msg msg) {
  const Entry& e = kCatalogue[static_cast<std::size_t>(msg)];
  return lang == Lang::kZh ? e.zh : e.en;
}

std::string subst(std::string_view text, std::initializer_list<std::string> args) {
  std::string out;
  auto arg = args.begin();
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '{' && i + 1 < text.size() && text[i + 1] == '}' && arg != args.end()) {
      out += *arg++;
      ++i;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string allCatalogueText() {
  std::string all;
  for (const Entry& e : kCatalogue) {
    all += e.en;
    all += e.zh;
  }
  return all;
}

}  // namespace loyalty::ui

namespace loyalty::ui {

std::string refusal(Lang lang, std::string_view code, std::string_view field, std::string_view message) {
  if (lang == Lang::kEn) return std::string(message);
  const auto has = [&](std::string_view word) { return message.find(word) != std::string_view::npos; };
  const auto say = [&](Msg m) { return std::string(tr(lang, m)); };
  if (code == "forbidden" && field == "pin") {
    if (has("locked")) return say(Msg::kRefPinLocked);
    std::string digits;
    for (const char c : message) {
      if (c >= '0' && c <= '9') digits.push_back(c);
    }
    return digits.empty() ? say(Msg::kRefPinWrong) : subst(tr(lang, Msg::kRefPinTriesLeft), {digits});
  }
  if (field == "staff_id") return say(code == "not_found" ? Msg::kRefStaffUnknown : Msg::kRefStaffBlocked);
  if (field == "supervisor_pin") return say(Msg::kRefSupervisorPin);
  if (field == "phone") return say(code == "already_exists" ? Msg::kRefPhoneTaken : Msg::kRefPhoneInvalid);
  if (field == "birthday") return say(Msg::kRefBirthday);
  if (field == "language") return say(Msg::kRefLanguage);
  if (field == "name" && code == "invalid_argument") return say(Msg::kRefName);
  if (field == "referrer") return say(Msg::kRefReferrer);
  if (field == "sale_id" && code == "not_found") return say(Msg::kRefReceiptUnknown);
  if (field == "sale_id" && (code == "conflict" || code == "already_exists" || has("refunded"))) {
    return say(Msg::kRefAlreadyRefunded);
  }
  if (code == "insufficient_points") return say(Msg::kRefPoints);
  if (field == "redeem_points" && code == "invalid_argument") return say(Msg::kRefPointsOverSale);
  if (field == "amount" || field == "unit_price" || field.find("lines") == 0) return say(Msg::kRefAmount);
  const std::string detail(message);
  if (code == "invalid_argument" || code == "bad_request") return subst(tr(lang, Msg::kRefInvalid), {detail});
  if (code == "not_found") return subst(tr(lang, Msg::kRefNotFound), {detail});
  if (code == "forbidden") return subst(tr(lang, Msg::kRefForbidden), {detail});
  if (code == "conflict" || code == "already_exists") return subst(tr(lang, Msg::kRefConflict), {detail});
  return subst(tr(lang, Msg::kRefOther), {detail});
}

}  // namespace loyalty::ui
