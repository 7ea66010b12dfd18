#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "loyalty/core/greetings.hpp"

using namespace loyalty;

namespace {

Date ymd(int year, unsigned month, unsigned day) {
  return Date{std::chrono::year{year}, std::chrono::month{month}, std::chrono::day{day}};
}

/// A member with nothing to celebrate on kOrdinaryDay.
GreetingFacts plainMember(std::string name = "王小明") {
  GreetingFacts facts;
  facts.name = std::move(name);
  facts.enrolledOn = ymd(2020, 3, 10);
  facts.tierName = "member";
  return facts;
}

// A Wednesday in no festival, no festive week and no one's birthday week below.
const Date kOrdinaryDay = ymd(2027, 3, 17);

std::vector<std::string> kindsOf(const std::vector<GreetingLine>& lines) {
  std::vector<std::string> kinds;
  for (const GreetingLine& line : lines) kinds.push_back(line.kind);
  return kinds;
}

/// The text of the one line of `kind`, or "" when there is none.
std::string textOf(const std::vector<GreetingLine>& lines, std::string_view kind) {
  std::string text;
  for (const GreetingLine& line : lines) {
    if (line.kind == kind) {
      REQUIRE(text.empty());
      text = line.text;
    }
  }
  return text;
}

/// Every day of `year` on which festivalOn names `id`.
std::vector<Date> festivalDays(int year, std::string_view id) {
  std::vector<Date> days;
  for (auto day = std::chrono::sys_days{ymd(year, 1, 1)}; day <= std::chrono::sys_days{ymd(year, 12, 31)};
       day += std::chrono::days{1}) {
    if (festivalOn(Date{day}) == id) days.push_back(Date{day});
  }
  return days;
}

}  // namespace

TEST_CASE("an ordinary day brings no greeting in either language", "[core]") {
  const ProgrammeRules rules;
  GreetingFacts facts = plainMember();
  facts.lastVisitOn = ymd(2027, 3, 1);
  CHECK_FALSE(festivalOn(kOrdinaryDay).has_value());
  CHECK(greetingsFor(facts, kOrdinaryDay, rules, "zh-CN").empty());
  CHECK(greetingsFor(facts, kOrdinaryDay, rules, "en").empty());
}

TEST_CASE("birthday greetings follow the day or ISO week setting", "[core]") {
  struct Case {
    Date birthday;
    Date today;
    const char* setting;
    const char* expectedEnglish;  // "" = no birthday greeting
  };
  const char* const kToday = "Happy birthday, Oliver!";
  const char* const kThisWeek = "Happy birthday week, Oliver!";
  const std::array cases{
      Case{ymd(1990, 5, 20), ymd(2027, 5, 20), "day", kToday},
      Case{ymd(1990, 5, 20), ymd(2027, 5, 20), "week", kToday},
      Case{ymd(1990, 5, 20), ymd(2027, 5, 17), "day", ""},
      Case{ymd(1990, 5, 20), ymd(2027, 5, 17), "week", kThisWeek},  // Monday before
      Case{ymd(1990, 5, 20), ymd(2027, 5, 23), "week", kThisWeek},  // Sunday after
      Case{ymd(1990, 5, 20), ymd(2027, 5, 24), "week", ""},         // next Monday
      Case{ymd(1990, 5, 20), ymd(2027, 5, 16), "week", ""},         // previous Sunday
      // ISO week 53 of 2026 runs from Mon 2026-12-28 to Sun 2027-01-03.
      Case{ymd(1985, 1, 1), ymd(2026, 12, 30), "week", kThisWeek},
      Case{ymd(1985, 1, 1), ymd(2026, 12, 28), "week", kThisWeek},
      Case{ymd(1985, 1, 1), ymd(2026, 12, 27), "week", ""},
      Case{ymd(1985, 12, 31), ymd(2027, 1, 2), "week", kThisWeek},
      Case{ymd(1985, 12, 31), ymd(2027, 1, 4), "week", ""},
      // Leap-day birthdays: on 29 February in leap years, on 28 February otherwise.
      Case{ymd(2000, 2, 29), ymd(2027, 2, 28), "day", kToday},
      Case{ymd(2000, 2, 29), ymd(2027, 3, 1), "day", ""},
      Case{ymd(2000, 2, 29), ymd(2028, 2, 28), "day", ""},
      Case{ymd(2000, 2, 29), ymd(2028, 2, 29), "day", kToday},
      Case{ymd(2000, 2, 29), ymd(2027, 2, 22), "week", kThisWeek},
      Case{ymd(2000, 2, 29), ymd(2027, 3, 1), "week", ""},  // 2027-02-28 was last Sunday
      Case{ymd(2000, 2, 29), ymd(2028, 3, 5), "week", kThisWeek},
  };
  for (const Case& c : cases) {
    ProgrammeRules rules;
    rules.birthdayGreeting = c.setting;
    GreetingFacts facts = plainMember("Oliver Smith");
    facts.birthday = c.birthday;
    INFO(formatDate(c.birthday) << " seen on " << formatDate(c.today) << " with " << c.setting);
    CHECK(textOf(greetingsFor(facts, c.today, rules, "en"), greeting_kind::kBirthday) == c.expectedEnglish);
  }
}

TEST_CASE("birthday texts in Chinese tell today from this week", "[core]") {
  ProgrammeRules rules;
  GreetingFacts facts = plainMember();
  facts.birthday = ymd(1990, 5, 20);
  CHECK(textOf(greetingsFor(facts, ymd(2027, 5, 20), rules, "zh-CN"), "birthday") ==
        "王小明，祝您生日快乐！");
  CHECK(textOf(greetingsFor(facts, ymd(2027, 5, 18), rules, "zh-CN"), "birthday") ==
        "王小明，本周是您的生日，祝您生日快乐！");
}

TEST_CASE("enrolment anniversaries count whole years, Feb 29 kept on Feb 28", "[core]") {
  struct Case {
    Date enrolledOn;
    Date today;
    const char* expectedChinese;
    const char* expectedEnglish;
  };
  const std::array cases{
      Case{ymd(2024, 2, 29), ymd(2025, 2, 28), "王小明，今天是您入会一周年，感谢您一路相伴！",
           "Happy anniversary, Wang! You joined us a year ago today."},
      Case{ymd(2024, 2, 29), ymd(2025, 3, 1), "", ""},
      Case{ymd(2024, 2, 29), ymd(2028, 2, 28), "", ""},
      Case{ymd(2024, 2, 29), ymd(2028, 2, 29), "王小明，今天是您入会4周年，感谢您一路相伴！",
           "Happy anniversary, Wang! You joined us 4 years ago today."},
      Case{ymd(2026, 6, 1), ymd(2026, 6, 1), "", ""},  // the enrolment day itself
      Case{ymd(2026, 6, 1), ymd(2029, 6, 1), "王小明，今天是您入会3周年，感谢您一路相伴！",
           "Happy anniversary, Wang! You joined us 3 years ago today."},
      Case{ymd(2026, 6, 1), ymd(2029, 6, 2), "", ""},
  };
  const ProgrammeRules rules;
  for (const Case& c : cases) {
    GreetingFacts facts = plainMember();
    facts.enrolledOn = c.enrolledOn;
    INFO(formatDate(c.enrolledOn) << " seen on " << formatDate(c.today));
    CHECK(textOf(greetingsFor(facts, c.today, rules, "zh-CN"), "anniversary") == c.expectedChinese);
    facts.name = "Wang Xiaoming";
    CHECK(textOf(greetingsFor(facts, c.today, rules, "en"), "anniversary") == c.expectedEnglish);
  }
}

TEST_CASE("a tier upgrade is congratulated on its day and the configured days after", "[core]") {
  struct Case {
    int upgradeDaysAgo;
    int greetingDays;
    bool greeted;
  };
  const std::array cases{
      Case{0, 7, true},  Case{7, 7, true},
      Case{8, 7, false}, Case{-1, 7, false},  // a date after today is a data error, not an occasion
      Case{3, 3, true},  Case{4, 3, false},
      Case{0, 0, true},  Case{1, 0, false},
  };
  for (const Case& c : cases) {
    ProgrammeRules rules;
    rules.tierUpgradeGreetingDays = c.greetingDays;
    GreetingFacts facts = plainMember();
    facts.tierName = "gold";
    facts.tierUpgradedOn = Date{std::chrono::sys_days{kOrdinaryDay} - std::chrono::days{c.upgradeDaysAgo}};
    INFO(c.upgradeDaysAgo << " days ago, greeted for " << c.greetingDays);
    CHECK(textOf(greetingsFor(facts, kOrdinaryDay, rules, "zh-CN"), "tier_upgrade") ==
          (c.greeted ? "王小明，恭喜您升级为金卡会员！" : ""));
  }
}

TEST_CASE("tier names are translated and custom ones shown as they are", "[core]") {
  const ProgrammeRules rules;
  const std::array<std::array<const char*, 3>, 5> cases{{
      {"member", "王小明，恭喜您升级为普通会员！", "Congratulations on your upgrade to Member, Oliver!"},
      {"silver", "王小明，恭喜您升级为银卡会员！", "Congratulations on your upgrade to Silver, Oliver!"},
      {"gold", "王小明，恭喜您升级为金卡会员！", "Congratulations on your upgrade to Gold, Oliver!"},
      {"platinum", "王小明，恭喜您升级为白金会员！", "Congratulations on your upgrade to Platinum, Oliver!"},
      {"钻石会员", "王小明，恭喜您升级为钻石会员！", "Congratulations on your upgrade to 钻石会员, Oliver!"},
  }};
  for (const auto& [tier, chinese, english] : cases) {
    GreetingFacts facts = plainMember();
    facts.tierName = tier;
    facts.tierUpgradedOn = kOrdinaryDay;
    CHECK(textOf(greetingsFor(facts, kOrdinaryDay, rules, "zh-CN"), "tier_upgrade") == chinese);
    facts.name = "Oliver Smith";
    CHECK(textOf(greetingsFor(facts, kOrdinaryDay, rules, "en"), "tier_upgrade") == english);
  }
}

TEST_CASE("expiring points are announced with their number and date", "[core]") {
  struct Case {
    std::int64_t points;
    std::optional<Date> on;
    const char* expectedChinese;
    const char* expectedEnglish;
  };
  const std::array cases{
      Case{1250, ymd(2027, 12, 31), "王小明，提醒您：有1250积分将于12月31日到期。",
           "A reminder, Oliver: you have 1,250 points expiring on 31 Dec 2027."},
      Case{1, ymd(2027, 4, 2), "王小明，提醒您：有1积分将于4月2日到期。",
           "A reminder, Oliver: you have 1 point expiring on 2 Apr 2027."},
      Case{80, std::nullopt, "王小明，提醒您：有80积分即将到期。",
           "A reminder, Oliver: you have 80 points expiring soon."},
      Case{0, ymd(2027, 12, 31), "", ""},
  };
  const ProgrammeRules rules;
  for (const Case& c : cases) {
    GreetingFacts facts = plainMember();
    facts.expiringPoints = c.points;
    facts.expiringOn = c.on;
    INFO(c.points << " points");
    CHECK(textOf(greetingsFor(facts, kOrdinaryDay, rules, "zh-CN"), "points_expiring") == c.expectedChinese);
    facts.name = "Oliver Smith";
    CHECK(textOf(greetingsFor(facts, kOrdinaryDay, rules, "en"), "points_expiring") == c.expectedEnglish);
  }
}

TEST_CASE("welcome back after the configured days of absence", "[core]") {
  struct Case {
    std::optional<int> lastVisitDaysAgo;
    int afterDays;
    bool greeted;
  };
  const std::array cases{
      Case{89, 90, false}, Case{90, 90, true}, Case{400, 90, true},
      Case{29, 30, false}, Case{30, 30, true}, Case{std::nullopt, 90, false},  // first visit
  };
  for (const Case& c : cases) {
    ProgrammeRules rules;
    rules.welcomeBackAfterDays = c.afterDays;
    GreetingFacts facts = plainMember();
    if (c.lastVisitDaysAgo) {
      facts.lastVisitOn = Date{std::chrono::sys_days{kOrdinaryDay} - std::chrono::days{*c.lastVisitDaysAgo}};
    }
    INFO(c.lastVisitDaysAgo.value_or(-1) << " days away, threshold " << c.afterDays);
    CHECK(textOf(greetingsFor(facts, kOrdinaryDay, rules, "zh-CN"), "welcome_back") ==
          (c.greeted ? "王小明，好久不见，欢迎回来！" : ""));
  }
}

TEST_CASE("festival days match published dates", "[core]") {
  const std::array<std::pair<Date, std::string_view>, 29> published{{
      {ymd(2024, 2, 10), festival::kSpringFestival},
      {ymd(2025, 1, 29), festival::kSpringFestival},
      {ymd(2026, 2, 17), festival::kSpringFestival},
      {ymd(2027, 2, 6), festival::kSpringFestival},
      {ymd(2030, 2, 3), festival::kSpringFestival},
      {ymd(2034, 2, 19), festival::kSpringFestival},  // after the leap 11th month of 2033
      {ymd(2024, 2, 24), festival::kLantern},
      {ymd(2025, 2, 12), festival::kLantern},
      {ymd(2024, 6, 10), festival::kDragonBoat},
      {ymd(2025, 5, 31), festival::kDragonBoat},
      {ymd(2028, 5, 28), festival::kDragonBoat},  // 2028 has a leap 5th month after it
      {ymd(2024, 8, 10), festival::kQixi},
      {ymd(2025, 8, 29), festival::kQixi},  // after the leap 6th month of 2025
      {ymd(2024, 9, 17), festival::kMidAutumn},
      {ymd(2025, 10, 6), festival::kMidAutumn},  // inside the golden week
      {ymd(2026, 9, 25), festival::kMidAutumn},
      {ymd(2031, 10, 1), festival::kMidAutumn},  // on National Day itself
      {ymd(2034, 9, 27), festival::kMidAutumn},
      {ymd(2024, 10, 11), festival::kDoubleNinth},
      {ymd(2025, 10, 29), festival::kDoubleNinth},
      {ymd(2033, 10, 1), festival::kDoubleNinth},
      {ymd(2027, 1, 1), festival::kNewYear},
      {ymd(2040, 1, 1), festival::kNewYear},  // fixed festivals need no table
      {ymd(2027, 12, 25), festival::kChristmas},
      {ymd(2019, 12, 25), festival::kChristmas},
      {ymd(2026, 10, 1), festival::kNationalDay},
      {ymd(2026, 10, 7), festival::kNationalDay},
      {ymd(2026, 2, 23), festival::kSpringFestival},  // sixth day after 初一
      {ymd(2025, 10, 5), festival::kNationalDay},
  }};
  for (const auto& [day, id] : published) {
    INFO(formatDate(day));
    CHECK(festivalOn(day) == id);
  }

  const std::array<Date, 8> ordinary{
      ymd(2026, 2, 16),  // 除夕 is not greeted
      ymd(2026, 2, 24),  // the festive week is over
      ymd(2026, 10, 8),  ymd(2026, 9, 30),
      ymd(2027, 12, 24), ymd(2036, 1, 28),  // Spring Festival 2036 is past the table
      ymd(2023, 1, 22),                     // and so is 2023's
      ymd(2023, 4, 5),                      // Qingming too comes from the table
  };
  for (const Date day : ordinary) {
    INFO(formatDate(day));
    CHECK_FALSE(festivalOn(day).has_value());
  }
  CHECK_FALSE(festivalOn(ymd(2027, 2, 30)).has_value());
}

TEST_CASE("Qingming falls on its solar term for every year of the table", "[core]") {
  const std::array<Date, 12> qingming{
      ymd(2024, 4, 4), ymd(2025, 4, 4), ymd(2026, 4, 5), ymd(2027, 4, 5), ymd(2028, 4, 4), ymd(2029, 4, 4),
      ymd(2030, 4, 5), ymd(2031, 4, 5), ymd(2032, 4, 4), ymd(2033, 4, 4), ymd(2034, 4, 5), ymd(2035, 4, 5),
  };
  for (const Date day : qingming) {
    INFO(formatDate(day));
    CHECK(festivalDays(static_cast<int>(day.year()), festival::kQingming) == std::vector{day});
  }
}

TEST_CASE("the festival table is consistent with the lunar calendar in every year", "[core]") {
  using std::chrono::sys_days;
  const auto daysBetween = [](Date a, Date b) { return (sys_days{b} - sys_days{a}).count(); };
  for (int year = kFestivalTableFirstYear; year <= kFestivalTableLastYear; ++year) {
    INFO(year);
    const auto spring = festivalDays(year, festival::kSpringFestival);
    const auto lantern = festivalDays(year, festival::kLantern);
    const auto dragonBoat = festivalDays(year, festival::kDragonBoat);
    const auto qixi = festivalDays(year, festival::kQixi);
    const auto midAutumn = festivalDays(year, festival::kMidAutumn);
    const auto doubleNinth = festivalDays(year, festival::kDoubleNinth);
    REQUIRE(spring.size() == 7);
    REQUIRE(lantern.size() == 1);
    REQUIRE(dragonBoat.size() == 1);
    REQUIRE(qixi.size() == 1);
    REQUIRE(midAutumn.size() == 1);
    REQUIRE(doubleNinth.size() == 1);
    // 正月初一 lies between 21 January and 20 February.
    CHECK(spring.front() >= ymd(year, 1, 21));
    CHECK(spring.front() <= ymd(year, 2, 20));
    CHECK(daysBetween(spring.front(), spring.back()) == 6);
    // Days within a lunar month, and months of 29 or 30 days.
    CHECK(daysBetween(spring.front(), lantern.front()) == 14);
    CHECK(daysBetween(qixi.front(), midAutumn.front()) >= 37);
    CHECK(daysBetween(qixi.front(), midAutumn.front()) <= 38);
    CHECK(daysBetween(midAutumn.front(), doubleNinth.front()) >= 23);
    CHECK(daysBetween(midAutumn.front(), doubleNinth.front()) <= 24);
    // Five months (one more with a leap 5th or 6th month) from 初五 to 初七 of the 7th month.
    const auto dragonToQixi = daysBetween(dragonBoat.front(), qixi.front());
    CHECK(((dragonToQixi >= 60 && dragonToQixi <= 61) || (dragonToQixi >= 89 && dragonToQixi <= 91)));
  }
}

TEST_CASE("festival greetings are worded for the festival in both languages", "[core]") {
  const ProgrammeRules rules;
  const std::array<std::array<std::string_view, 3>, 4> cases{{
      {"2025-10-06", "王小明，中秋快乐，阖家团圆！", "Happy Mid-Autumn Festival, Oliver!"},
      {"2026-04-05", "王小明，清明安康。", "Wishing you a peaceful Qingming, Oliver."},
      {"2026-02-20", "王小明，新春快乐，万事如意！", "Happy Chinese New Year, Oliver!"},
      {"2026-10-03", "王小明，国庆节快乐！", "Happy National Day, Oliver!"},
  }};
  for (const auto& [day, chinese, english] : cases) {
    const Date today = *parseDate(day, "today");
    CHECK(textOf(greetingsFor(plainMember(), today, rules, "zh-CN"), "festival") == chinese);
    CHECK(textOf(greetingsFor(plainMember("Oliver Smith"), today, rules, "en"), "festival") == english);
  }
}

TEST_CASE("greetings come most personal first", "[core]") {
  const ProgrammeRules rules;
  GreetingFacts facts = plainMember("Oliver Smith");
  facts.birthday = ymd(1990, 10, 6);
  facts.enrolledOn = ymd(2020, 10, 6);
  facts.tierUpgradedOn = ymd(2025, 10, 1);
  facts.tierName = "silver";
  facts.expiringPoints = 300;
  facts.expiringOn = ymd(2025, 10, 31);
  facts.lastVisitOn = ymd(2025, 6, 1);
  const std::vector<GreetingLine> expected{
      {"birthday", "Happy birthday, Oliver!"},
      {"anniversary", "Happy anniversary, Oliver! You joined us 5 years ago today."},
      {"tier_upgrade", "Congratulations on your upgrade to Silver, Oliver!"},
      {"points_expiring", "A reminder, Oliver: you have 300 points expiring on 31 Oct 2025."},
      {"welcome_back", "Welcome back, Oliver! It's good to see you again."},
      {"festival", "Happy Mid-Autumn Festival, Oliver!"},
  };
  CHECK(greetingsFor(facts, ymd(2025, 10, 6), rules, "en") == expected);
  CHECK(kindsOf(greetingsFor(facts, ymd(2025, 10, 6), rules, "zh-CN")) == kindsOf(expected));
}

TEST_CASE("names are said politely in each language", "[core]") {
  CHECK(politeName("王小明", "zh-CN") == "王小明");
  CHECK(politeName("  Oliver Smith ", "zh-CN") == "Oliver Smith");
  CHECK(politeName("Oliver Smith", "en") == "Oliver");
  CHECK(politeName("Oliver Smith", "en-GB") == "Oliver");
  CHECK(politeName("王小明", "en") == "王小明");
  CHECK(politeName("", "zh-CN") == "尊敬的会员");
  CHECK(politeName("   ", "en") == "dear member");
  CHECK(textOf(greetingsFor(plainMember(""), ymd(2027, 12, 25), ProgrammeRules{}, "en"), "festival") ==
        "Merry Christmas, dear member!");
}

TEST_CASE("language tags fall back to the store default, Chinese", "[core]") {
  CHECK(catalogueLanguage("en") == "en");
  CHECK(catalogueLanguage("EN-us") == "en");
  CHECK(catalogueLanguage("zh") == "zh-CN");
  CHECK(catalogueLanguage("zh_CN") == "zh-CN");
  CHECK(catalogueLanguage("fr") == "zh-CN");
  CHECK(catalogueLanguage("eng") == "zh-CN");
  CHECK(catalogueLanguage("") == "zh-CN");
}

TEST_CASE("every catalogue message exists once in each language with known placeholders", "[core]") {
  const std::set<std::string_view> knownPlaceholders{"name",  "years",      "points", "date", "tier",
                                                     "month", "month_abbr", "day",    "year"};
  std::map<std::string_view, std::set<std::string_view>> languagesById;
  for (const CatalogueEntry& entry : messageCatalogue()) {
    INFO(entry.id << " " << entry.language);
    CHECK(!entry.pattern.empty());
    CHECK(languagesById[entry.id].insert(entry.language).second);
    for (std::size_t open = entry.pattern.find('{'); open != std::string_view::npos;
         open = entry.pattern.find('{', open + 1)) {
      const std::size_t close = entry.pattern.find('}', open);
      REQUIRE(close != std::string_view::npos);
      CHECK(knownPlaceholders.count(entry.pattern.substr(open + 1, close - open - 1)) == 1);
    }
  }
  const std::set<std::string_view> allLanguages(std::begin(kCatalogueLanguages),
                                                std::end(kCatalogueLanguages));
  for (const auto& [id, languages] : languagesById) {
    INFO(id);
    CHECK(languages == allLanguages);
  }
  for (const std::string_view id :
       {festival::kNewYear, festival::kSpringFestival, festival::kLantern, festival::kQingming,
        festival::kDragonBoat, festival::kQixi, festival::kMidAutumn, festival::kDoubleNinth,
        festival::kNationalDay, festival::kChristmas}) {
    INFO(id);
    CHECK(languagesById.count("festival." + std::string(id)) == 1);
  }
}

TEST_CASE("placeholders, dates and numbers are filled as read aloud", "[core]") {
  const std::array<Placeholder, 2> values{{{"name", "王小明"}, {"points", "20"}}};
  CHECK(fillPlaceholders("{name}有{points}积分", values) == "王小明有20积分");
  CHECK(fillPlaceholders("{name}{unknown}{", values) == "王小明{unknown}{");
  CHECK(formatGreetingDate(ymd(2027, 12, 31), "zh-CN") == "12月31日");
  CHECK(formatGreetingDate(ymd(2027, 12, 31), "en") == "31 Dec 2027");
  CHECK(formatGreetingDate(ymd(2028, 1, 5), "en") == "5 Jan 2028");
  CHECK(formatGreetingNumber(1234567, "en") == "1,234,567");
  CHECK(formatGreetingNumber(999, "en") == "999");
  CHECK(formatGreetingNumber(1234567, "zh-CN") == "1234567");
}
