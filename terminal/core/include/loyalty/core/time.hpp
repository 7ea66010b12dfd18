#pragma once
/// @brief Instants and dates: RFC 3339 parsing/formatting, calendar dates. No clock reads.

#include <chrono>
#include <string>
#include <string_view>

#include "loyalty/core/result.hpp"

namespace loyalty {

using Timestamp = std::chrono::sys_seconds;
using Date = std::chrono::year_month_day;

/// "2026-11-23T08:30:00Z", "2026-11-23T16:30:00+08:00", fractions of a second ignored.
Result<Timestamp> parseRfc3339(std::string_view text, std::string_view field);

/// Always UTC with 'Z': "2026-11-23T08:30:00Z".
std::string formatRfc3339(Timestamp t);

/// "YYYY-MM-DD" naming a real calendar day (1900..2200).
Result<Date> parseDate(std::string_view text, std::string_view field);

std::string formatDate(Date d);

}  // namespace loyalty
