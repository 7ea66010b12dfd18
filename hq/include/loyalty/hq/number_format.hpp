#pragma once
/// @brief Numbers as the dashboard shows them to people, in one place: thousands separators,
/// money with the yuan sign, "—" for a figure that does not exist (no answers). The API and the
/// exports keep plain numbers; only pages use these.

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace loyalty::hq {

/// "1234567" -> "1,234,567", "-6.5" -> "-6.5", "2109982.25" -> "2,109,982.25"; text that is not
/// a plain decimal number is returned unchanged.
std::string groupThousands(std::string_view plain);

/// A count or a figure (a JSON number or a decimal string) with thousands separators; "—" for
/// null.
std::string shownNumber(const nlohmann::json& v);

/// An amount of money (the reports' "1234.50" strings) as "¥1,234.50"; "—" for null.
std::string shownMoney(const nlohmann::json& v);

}  // namespace loyalty::hq
