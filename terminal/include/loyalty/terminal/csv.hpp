#pragma once
/// @brief The CSV reader (core's; imports use it under this name).

#include "loyalty/core/csv.hpp"

namespace loyalty::terminal {
using loyalty::CsvReader;
}  // namespace loyalty::terminal
