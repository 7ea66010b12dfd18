#include <algorithm>
#include <array>
#include <string>

#include "loyalty/core/greetings.hpp"

namespace loyalty {
namespace {

constexpr std::string_view kChinese = "zh-CN";
constexpr std::string_view kEnglish = "en";

// Sentences are short because the cashier reads them aloud, and they only greet: whether a
// birthday or festival brings a benefit depends on the promotions, so no text promises one.
// English sentences never begin with {name}, so the lower-case stand-in for a missing name
// ("dear member") still reads well.
constexpr std::array kCatalogue{
    CatalogueEntry{"name.fallback", kChinese, "尊敬的会员"},
    CatalogueEntry{"name.fallback", kEnglish, "dear member"},

    CatalogueEntry{"birthday.today", kChinese, "{name}，祝您生日快乐！"},
    CatalogueEntry{"birthday.today", kEnglish, "Happy birthday, {name}!"},
    CatalogueEntry{"birthday.week", kChinese, "{name}，本周是您的生日，祝您生日快乐！"},
    CatalogueEntry{"birthday.week", kEnglish, "Happy birthday week, {name}!"},

    CatalogueEntry{"anniversary.one", kChinese, "{name}，今天是您入会一周年，感谢您一路相伴！"},
    CatalogueEntry{"anniversary.one", kEnglish, "Happy anniversary, {name}! You joined us a year ago today."},
    CatalogueEntry{"anniversary.many", kChinese, "{name}，今天是您入会{years}周年，感谢您一路相伴！"},
    CatalogueEntry{"anniversary.many", kEnglish,
                   "Happy anniversary, {name}! You joined us {years} years ago today."},

    CatalogueEntry{"tier_upgrade", kChinese, "{name}，恭喜您升级为{tier}！"},
    CatalogueEntry{"tier_upgrade", kEnglish, "Congratulations on your upgrade to {tier}, {name}!"},
    CatalogueEntry{"tier.member", kChinese, "普通会员"},
    CatalogueEntry{"tier.member", kEnglish, "Member"},
    CatalogueEntry{"tier.silver", kChinese, "银卡会员"},
    CatalogueEntry{"tier.silver", kEnglish, "Silver"},
    CatalogueEntry{"tier.gold", kChinese, "金卡会员"},
    CatalogueEntry{"tier.gold", kEnglish, "Gold"},
    CatalogueEntry{"tier.platinum", kChinese, "白金会员"},
    CatalogueEntry{"tier.platinum", kEnglish, "Platinum"},

    CatalogueEntry{"points_expiring.one", kChinese, "{name}，提醒您：有{points}积分将于{date}到期。"},
    CatalogueEntry{"points_expiring.one", kEnglish,
                   "A reminder, {name}: you have {points} point expiring on {date}."},
    CatalogueEntry{"points_expiring.many", kChinese, "{name}，提醒您：有{points}积分将于{date}到期。"},
    CatalogueEntry{"points_expiring.many", kEnglish,
                   "A reminder, {name}: you have {points} points expiring on {date}."},
    CatalogueEntry{"points_expiring_soon.one", kChinese, "{name}，提醒您：有{points}积分即将到期。"},
    CatalogueEntry{"points_expiring_soon.one", kEnglish,
                   "A reminder, {name}: you have {points} point expiring soon."},
    CatalogueEntry{"points_expiring_soon.many", kChinese, "{name}，提醒您：有{points}积分即将到期。"},
    CatalogueEntry{"points_expiring_soon.many", kEnglish,
                   "A reminder, {name}: you have {points} points expiring soon."},

    CatalogueEntry{"welcome_back", kChinese, "{name}，好久不见，欢迎回来！"},
    CatalogueEntry{"welcome_back", kEnglish, "Welcome back, {name}! It's good to see you again."},

    CatalogueEntry{"festival.new_year", kChinese, "{name}，元旦快乐，新年好！"},
    CatalogueEntry{"festival.new_year", kEnglish, "Happy New Year, {name}!"},
    CatalogueEntry{"festival.spring_festival", kChinese, "{name}，新春快乐，万事如意！"},
    CatalogueEntry{"festival.spring_festival", kEnglish, "Happy Chinese New Year, {name}!"},
    CatalogueEntry{"festival.lantern", kChinese, "{name}，元宵节快乐！"},
    CatalogueEntry{"festival.lantern", kEnglish, "Happy Lantern Festival, {name}!"},
    // Qingming is a day of remembrance: wish peace, not happiness.
    CatalogueEntry{"festival.qingming", kChinese, "{name}，清明安康。"},
    CatalogueEntry{"festival.qingming", kEnglish, "Wishing you a peaceful Qingming, {name}."},
    CatalogueEntry{"festival.dragon_boat", kChinese, "{name}，端午安康！"},
    CatalogueEntry{"festival.dragon_boat", kEnglish, "Happy Dragon Boat Festival, {name}!"},
    CatalogueEntry{"festival.qixi", kChinese, "{name}，七夕快乐！"},
    CatalogueEntry{"festival.qixi", kEnglish, "Happy Qixi Festival, {name}!"},
    CatalogueEntry{"festival.mid_autumn", kChinese, "{name}，中秋快乐，阖家团圆！"},
    CatalogueEntry{"festival.mid_autumn", kEnglish, "Happy Mid-Autumn Festival, {name}!"},
    CatalogueEntry{"festival.double_ninth", kChinese, "{name}，重阳节快乐，祝您身体健康！"},
    CatalogueEntry{"festival.double_ninth", kEnglish, "Happy Double Ninth Festival, {name}!"},
    CatalogueEntry{"festival.national_day", kChinese, "{name}，国庆节快乐！"},
    CatalogueEntry{"festival.national_day", kEnglish, "Happy National Day, {name}!"},
    CatalogueEntry{"festival.christmas", kChinese, "{name}，圣诞快乐！"},
    CatalogueEntry{"festival.christmas", kEnglish, "Merry Christmas, {name}!"},

    CatalogueEntry{"date", kChinese, "{month}月{day}日"},
    CatalogueEntry{"date", kEnglish, "{day} {month_abbr} {year}"},
};

constexpr std::array<std::string_view, 12> kMonthAbbreviations{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

char asciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

/// True if `tag` is the primary language `primary` ("en") alone or with a subtag ("en-GB").
bool hasPrimaryLanguage(std::string_view tag, std::string_view primary) {
  if (tag.size() < primary.size()) return false;
  for (std::size_t i = 0; i < primary.size(); ++i) {
    if (asciiLower(tag[i]) != primary[i]) return false;
  }
  return tag.size() == primary.size() || tag[primary.size()] == '-' || tag[primary.size()] == '_';
}

}  // namespace

std::span<const CatalogueEntry> messageCatalogue() { return kCatalogue; }

std::string_view catalogueLanguage(std::string_view language) {
  return hasPrimaryLanguage(language, "en") ? kEnglish : kChinese;
}

std::optional<std::string_view> catalogueText(std::string_view id, std::string_view language) {
  for (const CatalogueEntry& entry : kCatalogue) {
    if (entry.id == id && entry.language == language) return entry.pattern;
  }
  return std::nullopt;
}

std::string fillPlaceholders(std::string_view pattern, std::span<const Placeholder> values) {
  std::string out;
  out.reserve(pattern.size());
  std::size_t pos = 0;
  while (pos < pattern.size()) {
    const std::size_t open = pattern.find('{', pos);
    const std::size_t close = open == std::string_view::npos ? open : pattern.find('}', open);
    if (close == std::string_view::npos) break;
    out.append(pattern.substr(pos, open - pos));
    const std::string_view key = pattern.substr(open + 1, close - open - 1);
    const Placeholder* match = nullptr;
    for (const Placeholder& value : values) {
      if (value.key == key) match = &value;
    }
    out.append(match != nullptr ? match->value : pattern.substr(open, close - open + 1));
    pos = close + 1;
  }
  out.append(pattern.substr(std::min(pos, pattern.size())));
  return out;
}

std::string formatGreetingDate(Date day, std::string_view language) {
  const unsigned monthNumber = static_cast<unsigned>(day.month());
  const std::string month = std::to_string(monthNumber);
  const std::string dayOfMonth = std::to_string(static_cast<unsigned>(day.day()));
  const std::string year = std::to_string(static_cast<int>(day.year()));
  const std::string_view monthAbbreviation =
      day.month().ok() ? kMonthAbbreviations[monthNumber - 1] : std::string_view{};
  const std::array<Placeholder, 4> values{
      {{"month", month}, {"month_abbr", monthAbbreviation}, {"day", dayOfMonth}, {"year", year}}};
  return fillPlaceholders(catalogueText("date", catalogueLanguage(language)).value_or(""), values);
}

std::string formatGreetingNumber(std::int64_t number, std::string_view language) {
  const std::string digits = std::to_string(number);
  if (catalogueLanguage(language) != kEnglish) return digits;
  const std::size_t signLength = number < 0 ? 1 : 0;
  std::string grouped;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    const std::size_t digitsLeft = digits.size() - i;
    if (i > signLength && digitsLeft % 3 == 0) grouped.push_back(',');
    grouped.push_back(digits[i]);
  }
  return grouped;
}

}  // namespace loyalty
