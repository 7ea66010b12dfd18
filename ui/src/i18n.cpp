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
