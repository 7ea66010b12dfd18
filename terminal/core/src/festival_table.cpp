#include <array>

#include "loyalty/core/greetings.hpp"

namespace loyalty {
namespace {

using std::chrono::days;
using std::chrono::sys_days;

struct MonthDay {
  unsigned month;
  unsigned day;
};

/// The festivals that move in the Gregorian calendar, for one year.
struct MovingFestivals {
  int year;
  MonthDay springFestival;  // 正月初一
  MonthDay lantern;         // 正月十五
  MonthDay qingming;        // the solar term at 15° solar longitude, Beijing time
  MonthDay dragonBoat;      // 五月初五
  MonthDay qixi;            // 七月初七
  MonthDay midAutumn;       // 八月十五
  MonthDay doubleNinth;     // 九月初九
};

// The Chinese calendar needs astronomy the core should not carry, so the dates ship as data.
// Each lunar date was converted with `lunar -i` (Debian package lunar 2.2) and checked against an
// independent reconstruction of the calendar (GB/T 33661-2017 rules: new moons and principal
// terms in Beijing time from PyEphem, including the leap 11th month of 2033); Qingming is the
// PyEphem instant of 15° solar longitude in Beijing time. Both sources agree on every entry.
constexpr std::array<MovingFestivals, kFestivalTableLastYear - kFestivalTableFirstYear + 1> kMovingFestivals{{
    {2024, {2, 10}, {2, 24}, {4, 4}, {6, 10}, {8, 10}, {9, 17}, {10, 11}},
    {2025, {1, 29}, {2, 12}, {4, 4}, {5, 31}, {8, 29}, {10, 6}, {10, 29}},
    {2026, {2, 17}, {3, 3}, {4, 5}, {6, 19}, {8, 19}, {9, 25}, {10, 18}},
    {2027, {2, 6}, {2, 20}, {4, 5}, {6, 9}, {8, 8}, {9, 15}, {10, 8}},
    {2028, {1, 26}, {2, 9}, {4, 4}, {5, 28}, {8, 26}, {10, 3}, {10, 26}},
    {2029, {2, 13}, {2, 27}, {4, 4}, {6, 16}, {8, 16}, {9, 22}, {10, 16}},
    {2030, {2, 3}, {2, 17}, {4, 5}, {6, 5}, {8, 5}, {9, 12}, {10, 5}},
    {2031, {1, 23}, {2, 6}, {4, 5}, {6, 24}, {8, 24}, {10, 1}, {10, 24}},
    {2032, {2, 11}, {2, 25}, {4, 4}, {6, 12}, {8, 12}, {9, 19}, {10, 12}},
    {2033, {1, 31}, {2, 14}, {4, 4}, {6, 1}, {8, 1}, {9, 8}, {10, 1}},
    {2034, {2, 19}, {3, 5}, {4, 5}, {6, 20}, {8, 20}, {9, 27}, {10, 20}},
    {2035, {2, 8}, {2, 22}, {4, 5}, {6, 10}, {8, 10}, {9, 16}, {10, 9}},
}};

static_assert(kMovingFestivals.front().year == kFestivalTableFirstYear);
static_assert(kMovingFestivals.back().year == kFestivalTableLastYear);

/// Spring Festival and National Day are greeted for a week: the day itself and the 6 after it.
constexpr days kFestiveWeekTail{6};

Date dateOf(int year, MonthDay monthDay) {
  return Date{std::chrono::year{year}, std::chrono::month{monthDay.month}, std::chrono::day{monthDay.day}};
}

bool isOn(Date day, MonthDay monthDay) {
  return day.month() == std::chrono::month{monthDay.month} && day.day() == std::chrono::day{monthDay.day};
}

bool isInWeekFrom(Date day, Date first) {
  return sys_days{day} >= sys_days{first} && sys_days{day} <= sys_days{first} + kFestiveWeekTail;
}

const MovingFestivals* movingFestivalsOf(int year) {
  if (year < kFestivalTableFirstYear || year > kFestivalTableLastYear) return nullptr;
  return &kMovingFestivals[static_cast<std::size_t>(year - kFestivalTableFirstYear)];
}

}  // namespace

std::optional<std::string_view> festivalOn(Date day) {
  if (!day.ok()) return std::nullopt;
  const int year = static_cast<int>(day.year());
  const MovingFestivals* moving = movingFestivalsOf(year);

  if (moving != nullptr) {
    if (isOn(day, moving->springFestival)) return festival::kSpringFestival;
    if (isOn(day, moving->lantern)) return festival::kLantern;
    if (isOn(day, moving->qingming)) return festival::kQingming;
    if (isOn(day, moving->dragonBoat)) return festival::kDragonBoat;
    if (isOn(day, moving->qixi)) return festival::kQixi;
    if (isOn(day, moving->midAutumn)) return festival::kMidAutumn;
    if (isOn(day, moving->doubleNinth)) return festival::kDoubleNinth;
  }
  if (isOn(day, {1, 1})) return festival::kNewYear;
  if (isOn(day, {12, 25})) return festival::kChristmas;
  if (isOn(day, {10, 1})) return festival::kNationalDay;

  if (moving != nullptr && isInWeekFrom(day, dateOf(year, moving->springFestival))) {
    return festival::kSpringFestival;
  }
  if (isInWeekFrom(day, dateOf(year, {10, 1}))) return festival::kNationalDay;
  return std::nullopt;
}

}  // namespace loyalty
