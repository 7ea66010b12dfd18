#include "loyalty/hq/settings.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <toml++/toml.h>
#include <vector>

#include "loyalty/db/database.hpp"
#include "loyalty/hq/analytics.hpp"
#include "loyalty/sysio/files.hpp"

namespace loyalty::hq {

namespace {

/// A whole-number key of a section and its range.
struct IntegerKey {
  const char* name;
  std::int64_t lo, hi;
  std::int64_t Settings::*out;
};

struct IntegerSection {
  const char* name;
  std::vector<IntegerKey> keys;
};

/// [reports], [server], [signin]: whole numbers in their ranges.
const std::vector<IntegerSection>& integerSections() {
  static const std::vector<IntegerSection> sections = {
      {"reports",
       {{"max_age_seconds", 0, 86400, &Settings::reportMaxAgeSeconds},
        {"slow_ms", 0, 600000, &Settings::reportSlowMs},
        {"refresh_seconds", 1, 86400, &Settings::reportRefreshSeconds},
        {"connections", 1, 16, &Settings::reportConnections}}},
      {"server",
       {{"max_workers", 8, 4096, &Settings::serverMaxWorkers},
        {"max_connections_per_address", 1, 100000, &Settings::serverMaxConnectionsPerAddress},
        {"header_deadline_seconds", 1, 600, &Settings::serverHeaderDeadlineSeconds},
        {"request_deadline_seconds", 1, 3600, &Settings::serverRequestDeadlineSeconds},
        {"leader_check_seconds", 1, 60, &Settings::serverLeaderCheckSeconds}}},
      {"signin",
       {{"max_failures_per_account", 1, 1000, &Settings::signinMaxFailuresPerAccount},
        {"max_failures_per_address", 1, 100000, &Settings::signinMaxFailuresPerAddress},
        {"lockout_seconds", 1, 86400, &Settings::signinLockoutSeconds}}}};
  return sections;
}

Result<Ok> readIntegerSection(const IntegerSection& section, const toml::node& value, Settings& s) {
  const std::string name = section.name;
  const auto* table = value.as_table();
  if (!table) return invalidArgument(name, "hq.toml: " + name + " must be a table");
  for (const auto& [k, v] : *table) {
    const std::string field = name + "." + std::string(k.str());
    const IntegerKey* key = nullptr;
    for (const auto& c : section.keys) {
      if (k.str() == c.name) key = &c;
    }
    if (!key) return invalidArgument(field, "hq.toml: unknown key " + field);
    const auto* n = v.as_integer();
    if (!n || n->get() < key->lo || n->get() > key->hi) {
      return invalidArgument(field, "hq.toml: " + field + " must be a whole number from " + std::to_string(key->lo) + " to " +
                                        std::to_string(key->hi));
    }
    s.*(key->out) = n->get();
  }
  return Ok{};
}

/// [redemptions]: reservation_minutes (whole minutes) and hold_days (whole days).
Result<Ok> readRedemptionSettings(const toml::node& value, Settings& s) {
  const auto* section = value.as_table();
  if (!section) return invalidArgument("redemptions", "hq.toml: redemptions must be a table");
  for (const auto& [k, v] : *section) {
    const std::string field = "redemptions." + std::string(k.str());
    const bool minutes = k.str() == "reservation_minutes";
    if (!minutes && k.str() != "hold_days") return invalidArgument(field, "hq.toml: unknown key " + field);
    const std::int64_t hi = minutes ? 1440 : 365;
    const auto* n = v.as_integer();
    if (!n || n->get() < 1 || n->get() > hi) {
      return invalidArgument(field, "hq.toml: " + field + " must be a whole number from 1 to " + std::to_string(hi));
    }
    (minutes ? s.reservationMinutes : s.reservationHoldDays) = n->get();
  }
  return Ok{};
}

}  // namespace

Result<Settings> loadSettings(const DataDir& dir) {
  const auto path = dir.settingsFile();
  if (!std::filesystem::exists(path)) {
    return Error{errc::kNotFound, "data", path.string() + " does not exist: run `loyalty-hq init --data " +
                                              dir.root.string() + "` first"};
  }
  toml::table t;
  try {
    t = toml::parse_file(path.string());
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << path.string() << ":" << e.source().begin.line << ": " << e.description();
    return Error{errc::kInvalidArgument, "hq.toml", os.str()};
  }
  Settings s;
  for (const auto& [key, value] : t) {
    const auto& sections = integerSections();
    const std::string_view name = key.str();  // a structured binding is not captured by clang 14
    const auto section = std::find_if(sections.begin(), sections.end(), [&](const IntegerSection& c) { return name == c.name; });
    if (section != sections.end()) {
      if (auto r = readIntegerSection(*section, value, s); !r) return r.error();
      continue;
    }
    if (key.str() == "redemptions") {
      if (auto r = readRedemptionSettings(value, s); !r) return r.error();
      continue;
    }
    if (key.str() != "storage") return invalidArgument(std::string(key.str()), "hq.toml: unknown section \"" + std::string(key.str()) + "\"");
    const auto* storage = value.as_table();
    if (!storage) return invalidArgument("storage", "hq.toml: storage must be a table");
    for (const auto& [k, v] : *storage) {
      const std::string field = "storage." + std::string(k.str());
      const auto* text = v.as_string();
      if (k.str() != "backend" && k.str() != "dsn" && k.str() != "reports_dsn") {
        return invalidArgument(field, "hq.toml: unknown key " + field);
      }
      if (!text) return invalidArgument(field, "hq.toml: " + field + " must be a string");
      if (k.str() == "backend") s.backend = text->get();
      else if (k.str() == "dsn") s.dsn = text->get();
      else if (text->get().find_first_not_of(" \t") == std::string::npos) {
        return invalidArgument(field, "hq.toml: storage.reports_dsn must be a libpq connection string (leave it out to read reports from storage.dsn)");
      } else s.reportsDsn = text->get();
    }
  }
  if (s.backend != "sqlite" && s.backend != "postgresql") {
    return invalidArgument("storage.backend", "hq.toml: storage.backend must be \"sqlite\" or \"postgresql\"");
  }
  if (s.backend == "postgresql" && s.dsn.empty()) return invalidArgument("storage.dsn", "hq.toml: storage.dsn is required for postgresql");
  if (!s.reportsDsn.empty() && s.backend != "postgresql") {
    return invalidArgument("storage.reports_dsn", "hq.toml: storage.reports_dsn is for the postgresql backend only (a replica of storage.dsn)");
  }
  return s;
}

void saveSettings(const DataDir& dir, const Settings& s) {
  toml::table storage{{"backend", s.backend}};
  if (!s.dsn.empty()) storage.insert("dsn", s.dsn);
  if (!s.reportsDsn.empty()) storage.insert("reports_dsn", s.reportsDsn);
  toml::table t{{"storage", storage}};
  const Settings defaults;
  for (const auto& section : integerSections()) {
    const bool changed = std::any_of(section.keys.begin(), section.keys.end(),
                                     [&](const IntegerKey& k) { return s.*(k.out) != defaults.*(k.out); });
    if (!changed) continue;
    toml::table values;
    for (const auto& k : section.keys) values.insert(k.name, s.*(k.out));
    t.insert(section.name, std::move(values));
  }
  std::ostringstream os;
  os << "# loyalty-hq settings (written by `loyalty-hq init`)\n" << t << "\n";
  sysio::writeFileAtomic(dir.settingsFile(), os.str());
}

std::unique_ptr<SqlConnection> openStorage(const DataDir& dir, const Settings& s, const std::string& application) {
  if (s.backend == "postgresql") return openPostgres(s.dsn, application);
  return openSqlite(dir.sqliteFile().string());
}

void useSqliteTempDir(const DataDir& dir, const Settings& s) {
  if (s.backend != "sqlite") return;
  const auto tmp = dir.sqliteTempDir();
  std::filesystem::create_directories(tmp);
  std::filesystem::permissions(tmp, std::filesystem::perms::owner_all, std::filesystem::perm_options::replace);
  db::useTemporaryDirectory(tmp.string());
}

std::unique_ptr<SqlConnection> openStorageForReports(const DataDir& dir, const Settings& s, const std::string& application) {
  auto c = openStorage(dir, s, application);
  if (c->backend() == "sqlite") c->execScript("PRAGMA cache_size=-8192; PRAGMA temp_store=FILE;");
  return c;
}

std::unique_ptr<SqlConnection> openReportsStorage(const Settings& s, const std::string& application) {
  if (s.reportsDsn.empty()) return nullptr;
  try {
    auto c = openPostgres(s.reportsDsn, application);
    ensureReportFunctions(*c);  // a replica made before them lacks them
    return c;
  } catch (const SqlError& e) {
    throw SqlError("hq.toml: storage.reports_dsn: " + std::string(e.what()));
  }
}

std::vector<std::unique_ptr<SqlConnection>> openReportConnections(const DataDir& dir, const Settings& s) {
  std::vector<std::unique_ptr<SqlConnection>> out;
  for (std::int64_t i = 0; i < s.reportConnections; ++i) {
    const std::string name = "loyalty-hq reports";
    out.push_back(s.reportsDsn.empty() ? openStorageForReports(dir, s, name) : openReportsStorage(s, name));
  }
  return out;
}

std::optional<std::chrono::milliseconds> testHookMilliseconds(const char* variable) {
  const char* ms = std::getenv(variable);
  if (ms == nullptr || *ms == '\0') return std::nullopt;
  int n = 0;
  const auto [end, ec] = std::from_chars(ms, ms + std::strlen(ms), n);
  if (ec != std::errc() || *end != '\0' || n < 0) {
    throw std::runtime_error(std::string(variable) + ": not a number of milliseconds: " + ms);
  }
  return std::chrono::milliseconds(n);
}

}  // namespace loyalty::hq
