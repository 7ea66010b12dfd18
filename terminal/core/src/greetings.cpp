#include "loyalty/core/greetings.hpp"

#include <vector>

#include "loyalty/core/text.hpp"

namespace loyalty {
namespace {

using std::chrono::days;
using std::chrono::sys_days;

/// Days from `from` to `to`, negative when `to` is earlier.
long long daysFrom(Date from, Date to) { return (sys_days{to} - sys_days{from}).count(); }

/// Where a yearly date (birthday, enrolment day) falls in `year`. 29 February moves to
/// 28 February in common years so the member is not passed over three years out of four.
Date occurrenceIn(std::chrono::year year, Date yearly) {
  const Date sameDay{year, yearly.month(), yearly.day()};
  return sameDay.ok() ? sameDay : Date{year, yearly.month(), std::chrono::day{28}};
}

/// The birthday message due today: on the day itself, or with birthday_greeting = "week" while
/// the birthday lies in today's ISO week (Monday to Sunday).
std::optional<std::string_view> birthdayMessage(const std::optional<Date>& birthday, Date today,
                                                std::string_view when) {
  if (!birthday || !birthday->ok()) return std::nullopt;
  if (occurrenceIn(today.year(), *birthday) == today) return "birthday.today";
  if (when != "week") return std::nullopt;
  const std::chrono::weekday weekday{sys_days{today}};
  const sys_days monday = sys_days{today} - days{weekday.iso_encoding() - 1};
  const sys_days sunday = monday + days{6};
  // A week that straddles New Year holds days of two years; the birthday may be in either.
  for (const std::chrono::year year : {Date{monday}.year(), Date{sunday}.year()}) {
    const sys_days birthdayThatYear{occurrenceIn(year, *birthday)};
    if (birthdayThatYear >= monday && birthdayThatYear <= sunday) return "birthday.week";
  }
  return std::nullopt;
}

/// Whole years of membership when today is the enrolment day's anniversary.
std::optional<int> anniversaryYears(Date enrolledOn, Date today) {
  if (!enrolledOn.ok() || occurrenceIn(today.year(), enrolledOn) != today) return std::nullopt;
  const int years = static_cast<int>(today.year()) - static_cast<int>(enrolledOn.year());
  if (years < 1) return std::nullopt;
  return years;
}

std::string asciiLowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

/// Says catalogue messages to one member in one language.
class Phrasebook {
 public:
  Phrasebook(std::string_view language, std::string_view memberName)
      : m_language(catalogueLanguage(language)), m_name(politeName(memberName, m_language)) {}

  std::string_view language() const { return m_language; }

  /// Message `id` with {name} and the given placeholders filled.
  GreetingLine line(std::string_view kind, std::string_view id, std::vector<Placeholder> values = {}) const {
    values.push_back({"name", m_name});
    const std::string_view pattern = catalogueText(id, m_language).value_or("");
    return {std::string(kind), fillPlaceholders(pattern, values)};
  }

  /// A tier name in the member's language; a custom tier the catalogue does not know stays as is.
  std::string tierName(std::string_view tier) const {
    const auto translated = catalogueText("tier." + asciiLowered(tier), m_language);
    return std::string(translated.value_or(tier));
  }

 private:
  std::string_view m_language;
  std::string m_name;
};

}  // namespace

std::string politeName(std::string_view name, std::string_view language) {
  const std::string_view catalogueLang = catalogueLanguage(language);
  std::string_view polite = trim(name);
  // English service addresses customers by first name. Chinese service uses the full name:
  // surname + 先生/女士 would need a gender the programme does not ask for.
  if (catalogueLang == "en") polite = polite.substr(0, polite.find_first_of(" \t"));
  if (polite.empty()) return std::string(catalogueText("name.fallback", catalogueLang).value_or(""));
  return std::string(polite);
}

std::vector<GreetingLine> greetingsFor(const GreetingFacts& facts, Date today, const ProgrammeRules& rules,
                                       std::string_view language) {
  std::vector<GreetingLine> lines;
  if (!today.ok()) return lines;
  const Phrasebook say(language, facts.name);

  if (const auto id = birthdayMessage(facts.birthday, today, rules.birthdayGreeting)) {
    lines.push_back(say.line(greeting_kind::kBirthday, *id));
  }

  if (const auto years = anniversaryYears(facts.enrolledOn, today)) {
    const std::string yearsText = std::to_string(*years);
    lines.push_back(say.line(greeting_kind::kAnniversary,
                             *years == 1 ? "anniversary.one" : "anniversary.many", {{"years", yearsText}}));
  }

  // "For N days after an upgrade": the upgrade day itself and the N days that follow.
  if (facts.tierUpgradedOn && facts.tierUpgradedOn->ok()) {
    const long long sinceUpgrade = daysFrom(*facts.tierUpgradedOn, today);
    if (sinceUpgrade >= 0 && sinceUpgrade <= rules.tierUpgradeGreetingDays) {
      const std::string tier = say.tierName(facts.tierName);
      lines.push_back(say.line(greeting_kind::kTierUpgrade, "tier_upgrade", {{"tier", tier}}));
    }
  }

  if (facts.expiringPoints > 0) {
    const bool onePoint = facts.expiringPoints == 1;
    const std::string points = formatGreetingNumber(facts.expiringPoints, say.language());
    if (facts.expiringOn && facts.expiringOn->ok()) {
      const std::string date = formatGreetingDate(*facts.expiringOn, say.language());
      lines.push_back(say.line(greeting_kind::kPointsExpiring,
                               onePoint ? "points_expiring.one" : "points_expiring.many",
                               {{"points", points}, {"date", date}}));
    } else {
      lines.push_back(say.line(greeting_kind::kPointsExpiring,
                               onePoint ? "points_expiring_soon.one" : "points_expiring_soon.many",
                               {{"points", points}}));
    }
  }

  if (facts.lastVisitOn && facts.lastVisitOn->ok() &&
      daysFrom(*facts.lastVisitOn, today) >= rules.welcomeBackAfterDays) {
    lines.push_back(say.line(greeting_kind::kWelcomeBack, "welcome_back"));
  }

  if (const auto festivalId = festivalOn(today)) {
    lines.push_back(say.line(greeting_kind::kFestival, "festival." + std::string(*festivalId)));
  }
  return lines;
}

}  // namespace loyalty
