#include "loyalty/terminal/timezone.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>

namespace loyalty::terminal {

Result<ZoneRules> loadZone(const std::string& name, const std::string& zoneinfoDir) {
  if (name == "UTC") return ZoneRules::utc();
  const auto bad = [&](const std::string& why) { return invalidArgument("timezone", "time zone \"" + name + "\" " + why); };
  if (name.empty() || name.front() == '/' || name.find("..") != std::string::npos) return bad("is not a zone name");
  // A directory of the database ("Asia") opens as a stream but throws when read.
  const std::filesystem::path file = std::filesystem::path(zoneinfoDir) / name;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return bad("is not in the zone database");
  std::ifstream in(file, std::ios::binary);
  if (!in) return bad("is not in the zone database");
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto rules = parseTzif(data);
  if (!rules) return bad("cannot be used: " + rules.error().message);
  return rules;
}

}  // namespace loyalty::terminal
