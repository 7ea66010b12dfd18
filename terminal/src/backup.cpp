#include "loyalty/terminal/backup.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <span>

#include "loyalty/core/time.hpp"
#include "loyalty/db/backup.hpp"
#include "loyalty/db/migrations.hpp"
#include "loyalty/terminal/at_rest.hpp"
#include "loyalty/terminal/schema.hpp"
#include "loyalty/terminal/store.hpp"

namespace loyalty::terminal {
namespace {

namespace fs = std::filesystem;

constexpr const char* kMemberDb = "terminal.db";
constexpr const char* kCredentialsDb = "credentials.db";

std::optional<std::string> metaOf(db::Database& db, const std::string& key) {
  if (!db::hasTable(db, "meta")) return std::nullopt;
  return metaValue(db, key);
}

std::int64_t number(const std::map<std::string, std::string>& fields, const std::string& key) {
  const auto it = fields.find(key);
  if (it == fields.end()) return 0;
  try {
    return std::stoll(it->second);
  } catch (const std::exception&) {
    return 0;
  }
}

std::string field(const std::map<std::string, std::string>& fields, const std::string& key) {
  const auto it = fields.find(key);
  return it == fields.end() ? std::string() : it->second;
}

Timestamp seconds(std::chrono::system_clock::time_point t) { return std::chrono::floor<std::chrono::seconds>(t); }

/// The newest schema version this program knows of `migrations`.
int newestVersion(std::span<const db::Migration> migrations) { return migrations.empty() ? 0 : migrations.back().version; }

/// A database of the backup: whole, this program's, not newer than it knows.
std::optional<std::string> checkPart(const db::ArchivePart& part, std::span<const db::Migration> migrations,
                                     const std::string& mustHaveTable) {
  if (auto bad = db::checkDatabaseFile(part.file)) return part.name + " in the backup: " + *bad;
  db::Database copy(part.file.string(), db::OpenOptions{.readOnly = true});
  const int version = db::schemaVersion(copy);
  if (version <= 0 || !db::hasTable(copy, mustHaveTable)) {
    return part.name + " in the backup is not a loyalty-terminal database";
  }
  if (version > newestVersion(migrations)) {
    return part.name + " in the backup has schema version " + std::to_string(version) + ", newer than this program's " +
           std::to_string(newestVersion(migrations)) + ": restore it with the newer loyalty-terminal";
  }
  return std::nullopt;
}

Error refuse(const std::string& field, const std::string& message) { return invalidArgument(field, message); }

}  // namespace

Result<TerminalBackup> backupTerminal(const fs::path& dataDir, const fs::path& out, std::chrono::system_clock::time_point now) {
  const fs::path memberFile = dataDir / kMemberDb;
  std::error_code ec;
  if (!fs::is_regular_file(memberFile, ec)) return refuse("--data", memberFile.string() + " does not exist");
  const fs::path credentialsFile = dataDir / kCredentialsDb;
  const bool withCredentials = fs::is_regular_file(credentialsFile, ec);

  db::Database source(memberFile.string());
  if (db::schemaVersion(source) <= 0 || !db::hasTable(source, "meta")) {
    return refuse("--data", memberFile.string() + " is not a loyalty-terminal database");
  }
  std::vector<std::pair<std::string, std::string>> databases{{"main", kMemberDb}};
  if (withCredentials) {
    source.query("ATTACH DATABASE ? AS credentials").bind(1, credentialsFile.string()).run();
    databases.emplace_back("credentials", kCredentialsDb);
  }
  TerminalBackup summary;
  summary.file = out;
  const auto describe = [&](db::Database& db, db::ArchiveHeader& header) {
    auto& f = header.fields;
    f["created_at"] = formatRfc3339(seconds(now));
    f["schema_version"] = std::to_string(db::schemaVersion(db));
    if (withCredentials) f["credentials_schema_version"] = std::to_string(db::schemaVersion(db, "credentials"));
    summary.storeId = metaOf(db, "store_id").value_or("");
    summary.terminalId = metaOf(db, "terminal_id").value_or("");
    if (!summary.storeId.empty()) f["store_id"] = summary.storeId;
    if (!summary.terminalId.empty()) f["terminal_id"] = summary.terminalId;
    if (auto check = metaOf(db, "at_rest_key_check")) {
      f["at_rest_key_check"] = *check;
      summary.sealed = true;
    }
    if (db::hasTable(db, "outbox")) {
      auto q = db.query("SELECT COALESCE(MAX(seq), 0) AS seq FROM outbox");
      q.step();
      summary.outboxSeq = q.int64("seq");
    }
    summary.outboxAckedThrough = std::stoll(metaOf(db, "outbox_acked_through").value_or("0"));
    f["outbox_seq"] = std::to_string(summary.outboxSeq);
    f["outbox_acked_through"] = std::to_string(summary.outboxAckedThrough);
  };
  if (auto refused = db::writeBackup(source, databases, {}, kBackupProgram, describe, out)) return refuse("--out", *refused);
  return summary;
}

Result<TerminalBackup> backupTerminalInto(const fs::path& dataDir, const fs::path& dir, int keepDays,
                                          std::chrono::system_clock::time_point now) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec || ::chmod(dir.c_str(), 0700) != 0) return refuse("--dir", "cannot create " + dir.string());
  }
  if (!fs::is_directory(dir, ec)) return refuse("--dir", dir.string() + " is not a directory");
  auto made = backupTerminal(dataDir, dir / db::timestampedBackupName(kBackupProgram, now), now);
  if (!made) return made.error().field == "--out" ? refuse("--dir", made.error().message) : made.error();
  if (keepDays > 0) made->pruned = db::pruneBackups(dir, kBackupProgram, keepDays, now);
  return made;
}

Result<TerminalRestore> restoreTerminal(const fs::path& dataDir, const fs::path& from) {
  std::error_code ec;
  if (!fs::is_regular_file(from, ec)) return refuse("--from", from.string() + " does not exist or is not a file");
  prepareDataDirectory(dataDir);
  auto read = db::readArchive(from, kBackupProgram, dataDir);
  if (auto* refused = std::get_if<std::string>(&read)) return refuse("--from", *refused);
  const db::ExtractedArchive& archive = std::get<db::ExtractedArchive>(read);
  const auto& fields = archive.header.fields;

  const db::ArchivePart* members = archive.part(kMemberDb);
  if (members == nullptr) return refuse("--from", from.string() + ": the backup holds no " + std::string(kMemberDb));
  if (auto bad = checkPart(*members, terminalMigrations(), "meta")) return refuse("--from", *bad);
  const db::ArchivePart* credentials = archive.part(kCredentialsDb);
  if (credentials != nullptr) {
    if (auto bad = checkPart(*credentials, credentialsMigrations(), "schema_version")) return refuse("--from", *bad);
  }

  // A backup is useless without the key its members were sealed with: make sure it is the one
  // this directory will be opened with before anything is replaced.
  const std::string check = field(fields, "at_rest_key_check");
  if (!check.empty()) {
    const fs::path keyFile = atRestKeyFile(dataDir);
    const auto keys = loadAtRestKeys(keyFile, false);
    if (!keys) {
      return refuse("--from", "the members in " + from.string() + " are sealed with the terminal's at-rest key, and " +
                                  keyFile.string() + " does not exist: put that terminal's key file there first (or set " +
                                  "LOYALTY_AT_REST_KEY_FILE to where it is)");
    }
    if (keys->keyCheck() != check) {
      return refuse("--from", "the at-rest key " + keyFile.string() + " is not the key the members in " + from.string() +
                                  " are sealed with: put that terminal's key file there first");
    }
  }

  std::vector<db::Replacement> replacements{{members->file, dataDir / kMemberDb, true}};
  if (credentials != nullptr) replacements.push_back({credentials->file, dataDir / kCredentialsDb, true});
  if (auto refused = db::replaceFiles(replacements)) return refuse("--data", *refused);
  return TerminalRestore{field(fields, "created_at"), field(fields, "store_id"), field(fields, "terminal_id"),
                         number(fields, "outbox_seq")};
}

}  // namespace loyalty::terminal
