#include "loyalty/hq/backup.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <map>

#include "loyalty/core/time.hpp"
#include "loyalty/db/backup.hpp"
#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/fleet.hpp"
#include "loyalty/hq/store.hpp"

namespace loyalty::hq {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDatabasePart = "hq.db";
constexpr const char* kSettingsPart = "hq.toml";

/// The plain files of a backup: part name and where it lives in DIR.
std::vector<std::pair<std::string, fs::path>> plainFiles(const DataDir& dir) {
  return {{kSettingsPart, dir.settingsFile()},
          {"tls/ca.pem", dir.caCert()},
          {"tls/ca.key", dir.caKey()},
          {"tls/server.pem", dir.serverCert()},
          {"tls/server.key", dir.serverKey()},
          // The release signing key: terminals pin it, so a restored head office must sign with it.
          {"release/release.key", releaseKeyFile(dir)},
          {"release/release.pub", releasePublicKeyFile(dir)}};
}

Timestamp seconds(std::chrono::system_clock::time_point t) { return std::chrono::floor<std::chrono::seconds>(t); }

void recordBackupAudit(const DataDir& dir, const char* action, const std::string& subject, const std::string& detail) {
  auto c = openSqlite(dir.sqliteFile().string());
  SqlTransaction tx(*c);
  recordAudit(*c, AuditEntry{formatRfc3339(nowSeconds()), commandLineActor(), action, subject, std::nullopt, detail});
  tx.commit();
}

bool makePrivateDirectory(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  return !ec && ::chmod(dir.c_str(), 0700) == 0;
}

}  // namespace

Result<HqBackup> backupHq(const DataDir& dir, const fs::path& out, std::chrono::system_clock::time_point now) {
  auto settings = loadSettings(dir);
  if (!settings) return invalidArgument("--data", settings.error().message);
  if (settings->backend != "sqlite") {
    return invalidArgument("--data", "the storage is PostgreSQL: back it up with pg_dump (docs/operations.md)");
  }
  std::error_code ec;
  if (!fs::is_regular_file(dir.sqliteFile(), ec)) return invalidArgument("--data", dir.sqliteFile().string() + " does not exist");
  {
    // Refuses a database head office cannot use before copying it.
    HqStore store(openSqlite(dir.sqliteFile().string()));
    store.checkSchema();
  }
  HqBackup summary;
  summary.file = out;
  summary.parts.push_back(kDatabasePart);
  std::vector<db::ArchivePart> files;
  for (const auto& [name, path] : plainFiles(dir)) {
    if (!fs::is_regular_file(path, ec)) continue;
    files.push_back({name, path});
    summary.parts.push_back(name);
  }
  db::Database source(dir.sqliteFile().string());
  const auto describe = [&](db::Database& db, db::ArchiveHeader& header) {
    header.fields["created_at"] = formatRfc3339(seconds(now));
    auto q = db.query("SELECT value FROM counters WHERE name = 'schema_version'");
    if (q.step()) header.fields["schema_version"] = std::to_string(q.int64("value"));
  };
  if (auto refused = db::writeBackup(source, {{"main", kDatabasePart}}, files, kHqBackupProgram, describe, out)) {
    return invalidArgument("--out", *refused);
  }
  recordBackupAudit(dir, audit::kBackupCreate, out.string(), "parts: " + std::to_string(summary.parts.size()));
  return summary;
}

Result<HqBackup> backupHqInto(const DataDir& dir, const fs::path& backupDir, int keepDays,
                              std::chrono::system_clock::time_point now) {
  std::error_code ec;
  if (!fs::exists(backupDir, ec) && !makePrivateDirectory(backupDir)) {
    return invalidArgument("--dir", "cannot create " + backupDir.string());
  }
  if (!fs::is_directory(backupDir, ec)) return invalidArgument("--dir", backupDir.string() + " is not a directory");
  auto made = backupHq(dir, backupDir / db::timestampedBackupName(kHqBackupProgram, now), now);
  if (!made) return made.error().field == "--out" ? invalidArgument("--dir", made.error().message) : made.error();
  if (keepDays > 0) made->pruned = db::pruneBackups(backupDir, kHqBackupProgram, keepDays, now);
  return made;
}

Result<HqRestore> restoreHq(const DataDir& dir, const fs::path& from) {
  std::error_code ec;
  if (!fs::is_regular_file(from, ec)) return invalidArgument("--from", from.string() + " does not exist or is not a file");
  if (!makePrivateDirectory(dir.root) || !makePrivateDirectory(dir.tlsDir()) ||
      !makePrivateDirectory(releaseKeyFile(dir).parent_path())) {
    return invalidArgument("--data", "cannot create " + dir.tlsDir().string() + " or " +
                                         releaseKeyFile(dir).parent_path().string() + " (mode 0700)");
  }
  auto read = db::readArchive(from, kHqBackupProgram, dir.root);
  if (auto* refused = std::get_if<std::string>(&read)) return invalidArgument("--from", *refused);
  const db::ExtractedArchive& archive = std::get<db::ExtractedArchive>(read);

  const db::ArchivePart* database = archive.part(kDatabasePart);
  if (database == nullptr || archive.part(kSettingsPart) == nullptr) {
    return invalidArgument("--from", from.string() + ": the backup holds no hq.db or no hq.toml");
  }
  if (auto bad = db::checkDatabaseFile(database->file)) return invalidArgument("--from", "hq.db in the backup: " + *bad);
  try {
    HqStore store(openSqlite(database->file.string()));
    store.checkSchema();
  } catch (const std::exception& e) {
    return invalidArgument("--from", "hq.db in the backup: " + std::string(e.what()));
  }

  std::vector<db::Replacement> replacements{{database->file, dir.sqliteFile(), true}};
  HqRestore summary{archive.header.fields.count("created_at") ? archive.header.fields.at("created_at") : "", {kDatabasePart}};
  for (const auto& [name, path] : plainFiles(dir)) {
    if (const db::ArchivePart* part = archive.part(name)) {
      // As init leaves it: the CA certificate is public (terminals are given it), the rest 0600.
      if (path == dir.caCert()) ::chmod(part->file.c_str(), 0644);
      replacements.push_back({part->file, path, false});
      summary.parts.push_back(name);
    }
  }
  for (const db::ArchivePart& part : archive.parts) {
    const bool known = std::any_of(replacements.begin(), replacements.end(), [&](const auto& r) { return r.from == part.file; });
    if (!known) return invalidArgument("--from", from.string() + ": the backup holds " + part.name + ", unknown to this program");
  }
  if (auto refused = db::replaceFiles(replacements)) return invalidArgument("--data", *refused);
  recordBackupAudit(dir, audit::kBackupRestore, from.string(), "taken at " + summary.createdAt);
  return summary;
}

}  // namespace loyalty::hq
