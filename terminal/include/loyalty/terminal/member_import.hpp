#pragma once
/// @brief Bulk member enrolment: CSV import and generated members for demos and benchmarks.

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>

#include "loyalty/terminal/counter_service.hpp"

namespace loyalty::terminal {

struct ImportReport {
  std::int64_t imported = 0;
  std::int64_t rejected = 0;
};

/// Enrols every row of a CSV with a header naming some of: phone, name, birthday,
/// consent_marketing, card_no, language, referrer (phone and name required). Each refused row
/// is reported on `errors` as "FILE:LINE: field: message". Without `skipInvalid` the file is
/// all-or-nothing: one bad row and nothing is imported.
ImportReport importMembers(CounterService& service, db::Database& db, std::istream& csv,
                           const std::string& fileName, bool skipInvalid, Timestamp at,
                           std::ostream& errors);

/// Enrols `count` plausible members (Chinese and Latin names, unique mobile numbers, birthdays,
/// consent), deterministically from `seed`, in batches of one transaction each.
/// Returns how many were enrolled (numbers already taken are skipped).
std::int64_t generateMembers(CounterService& service, db::Database& db, std::int64_t count,
                             std::uint64_t seed, Timestamp at);

/// The phone number generateMembers gives its i-th member (national format, CN).
std::string generatedPhone(std::int64_t index);

}  // namespace loyalty::terminal
