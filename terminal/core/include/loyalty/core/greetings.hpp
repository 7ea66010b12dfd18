#pragma once
/// @brief What the cashier says when a member is found: birthday, anniversary, festival, ... texts.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "loyalty/core/rules.hpp"
#include "loyalty/core/time.hpp"

namespace loyalty {

// [SECTION] Greetings

/// Greeting kinds of docs/exec-cli.md, in the order greetingsFor returns them.
namespace greeting_kind {
inline constexpr std::string_view kBirthday = "birthday";
inline constexpr std::string_view kAnniversary = "anniversary";
inline constexpr std::string_view kTierUpgrade = "tier_upgrade";
inline constexpr std::string_view kPointsExpiring = "points_expiring";
inline constexpr std::string_view kWelcomeBack = "welcome_back";
inline constexpr std::string_view kFestival = "festival";
}  // namespace greeting_kind

/// What the caller knows about the member; every date is a local day of the store.
struct GreetingFacts {
  std::string name;  ///< as enrolled, e.g. "王小明" or "Oliver Smith"
  std::optional<Date> birthday;
  Date enrolledOn{};                   ///< left unset, it is !ok() and never an anniversary
  std::optional<Date> lastVisitOn;     ///< last sale before today, if any
  std::optional<Date> tierUpgradedOn;  ///< day of the last upgrade, if any
  std::string tierName;                ///< "member", "silver", "gold", "platinum" or custom
  std::int64_t expiringPoints = 0;     ///< points expiring within rules.expiringReminderDays
  std::optional<Date> expiringOn;      ///< the earliest such expiry day
};

/// One line for the counter screen (and `member`'s `greetings`): a kind and a sentence to read.
struct GreetingLine {
  std::string kind;
  std::string text;

  bool operator==(const GreetingLine&) const = default;
};

/// Every greeting due `today`, most personal first: birthday, anniversary, tier_upgrade,
/// points_expiring, welcome_back, festival. `language` is "zh-CN" or "en" (see catalogueLanguage).
std::vector<GreetingLine> greetingsFor(const GreetingFacts& facts, Date today, const ProgrammeRules& rules,
                                       std::string_view language);

/// The name as the cashier says it: zh-CN the full name ("王小明"), en the first word ("Oliver").
/// An empty name becomes a polite stand-in ("尊敬的会员", "dear member").
std::string politeName(std::string_view name, std::string_view language);

// [SECTION] Festivals (festival_table.cpp)

namespace festival {
inline constexpr std::string_view kNewYear = "new_year";
inline constexpr std::string_view kSpringFestival = "spring_festival";
inline constexpr std::string_view kLantern = "lantern";
inline constexpr std::string_view kQingming = "qingming";
inline constexpr std::string_view kDragonBoat = "dragon_boat";
inline constexpr std::string_view kQixi = "qixi";
inline constexpr std::string_view kMidAutumn = "mid_autumn";
inline constexpr std::string_view kDoubleNinth = "double_ninth";
inline constexpr std::string_view kNationalDay = "national_day";
inline constexpr std::string_view kChristmas = "christmas";
}  // namespace festival

/// First and last year of the shipped table of lunar festivals and Qingming; outside it only the
/// fixed Gregorian festivals are known.
inline constexpr int kFestivalTableFirstYear = 2024;
inline constexpr int kFestivalTableLastYear = 2035;

/// The festival greeted on `day`, if any. Spring Festival covers its day and the 6 after it,
/// National Day the golden week 10-01..10-07. When two coincide, a festival's own day beats a day
/// inside a festive week, and a lunar festival beats a fixed one (2031-10-01 is Mid-Autumn).
std::optional<std::string_view> festivalOn(Date day);

// [SECTION] Message catalogue (messages.cpp)

/// One text of the catalogue: message `id` in `language`, with {placeholders} to fill.
struct CatalogueEntry {
  std::string_view id;
  std::string_view language;
  std::string_view pattern;
};

struct Placeholder {
  std::string_view key;  ///< without braces: "name"
  std::string_view value;
};

/// The whole catalogue, for checks that every message exists in every language.
std::span<const CatalogueEntry> messageCatalogue();

/// The languages the catalogue is written in.
inline constexpr std::string_view kCatalogueLanguages[] = {"zh-CN", "en"};

/// The catalogue language for a language tag: "zh", "zh-CN", "zh-Hans"... -> "zh-CN";
/// "en", "en-GB"... -> "en"; anything else -> "zh-CN", the store default.
std::string_view catalogueLanguage(std::string_view language);

/// The pattern of `id` in a catalogue language, if the catalogue has it.
std::optional<std::string_view> catalogueText(std::string_view id, std::string_view language);

/// `pattern` with each {key} replaced by its value; an unknown {key} is left as written.
std::string fillPlaceholders(std::string_view pattern, std::span<const Placeholder> values);

/// A count as read aloud: en groups thousands ("1,250"), zh-CN does not ("1250").
std::string formatGreetingNumber(std::int64_t number, std::string_view language);

/// A date as read aloud: zh-CN "12月31日", en "31 Dec 2027".
std::string formatGreetingDate(Date day, std::string_view language);

}  // namespace loyalty
