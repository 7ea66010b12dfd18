#include "loyalty/db/backup.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <thread>
#include <tuple>

namespace loyalty::db {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic = "LOYALTY-BACKUP ";
constexpr int kFormat = 1;
constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
constexpr std::size_t kHashBytes = 32;  // BLAKE2b-256

std::string errnoText() { return std::strerror(errno); }

/// A file descriptor closed when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (m_fd >= 0) ::close(m_fd);
  }
  int get() const { return m_fd; }

 private:
  int m_fd;
};

/// A streaming BLAKE2b-256.
class Hasher {
 public:
  Hasher() {
    if (sodium_init() < 0) throw DbError("libsodium cannot start", SQLITE_ERROR);
    crypto_generichash_init(&m_state, nullptr, 0, kHashBytes);
  }
  void update(const void* data, std::size_t n) {
    crypto_generichash_update(&m_state, static_cast<const unsigned char*>(data), n);
  }
  std::string hex() {
    std::array<unsigned char, kHashBytes> out{};
    crypto_generichash_final(&m_state, out.data(), out.size());
    std::array<char, kHashBytes * 2 + 1> text{};
    sodium_bin2hex(text.data(), text.size(), out.data(), out.size());
    return std::string(text.data());
  }

 private:
  crypto_generichash_state m_state{};
};

void writeAll(int fd, const char* data, std::size_t n, const fs::path& file) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) throw fs::filesystem_error("cannot write", file, std::error_code(errno, std::generic_category()));
    data += w;
    n -= static_cast<std::size_t>(w);
  }
}

void syncDirectory(const fs::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) ::fsync(fd.get());
}

/// A temporary directory beside the output, removed with what is left in it.
class TempDir {
 public:
  explicit TempDir(const fs::path& near) {
    std::string pattern = (near.parent_path() / ("." + near.filename().string() + ".XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw fs::filesystem_error("cannot make a temporary directory", fs::path(pattern),
                                 std::error_code(errno, std::generic_category()));
    }
    m_path = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
  const fs::path& path() const { return m_path; }

 private:
  fs::path m_path;
};

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using SqliteHandle = std::unique_ptr<sqlite3, SqliteCloser>;

SqliteHandle openRaw(const fs::path& file, int flags) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(file.c_str(), &raw, flags, nullptr);
  SqliteHandle handle(raw);
  if (rc != SQLITE_OK) {
    throw DbError("cannot open " + file.string() + ": " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)), rc);
  }
  return handle;
}

int execRaw(sqlite3* db, const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr); }

void mustExec(sqlite3* db, const char* sql, const fs::path& file) {
  const int rc = execRaw(db, sql);
  if (rc != SQLITE_OK) throw DbError(file.string() + ": " + sql + ": " + sqlite3_errmsg(db), rc);
}

/// Copies schema `schema` of `source` into the new file `dest` (0600) and leaves it self-contained
/// (rollback-journal mode, no WAL beside it).
void copySchema(Database& source, const std::string& schema, const fs::path& dest) {
  {
    Fd fd(::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd.get() < 0) throw fs::filesystem_error("cannot create", dest, std::error_code(errno, std::generic_category()));
  }
  SqliteHandle target = openRaw(dest, SQLITE_OPEN_READWRITE);
  sqlite3_backup* backup = sqlite3_backup_init(target.get(), "main", source.handle(), schema.c_str());
  if (backup == nullptr) throw DbError("cannot back up " + schema + ": " + sqlite3_errmsg(target.get()), SQLITE_ERROR);
  int rc = SQLITE_OK;
  // All pages in one step: the source's read transaction (held by the caller) is the snapshot.
  // BUSY/LOCKED only while a writer holds the lock needed to start reading; try again shortly.
  for (int attempt = 0; attempt < 600; ++attempt) {
    rc = sqlite3_backup_step(backup, -1);
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const int finish = sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) throw DbError("backing up " + schema + ": " + sqlite3_errstr(rc), rc);
  if (finish != SQLITE_OK) throw DbError("backing up " + schema + ": " + sqlite3_errmsg(target.get()), finish);
  mustExec(target.get(), "PRAGMA journal_mode=DELETE", dest);
}

std::string hashFile(const fs::path& file, std::uintmax_t& size) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw fs::filesystem_error("cannot read", file, std::error_code(errno, std::generic_category()));
  Hasher h;
  std::array<char, 1 << 16> buffer{};
  size = 0;
  while (in) {
    in.read(buffer.data(), buffer.size());
    const auto n = static_cast<std::size_t>(in.gcount());
    h.update(buffer.data(), n);
    size += n;
  }
  return h.hex();
}

/// One line without its newline; false at the end of the file or past `limit` bytes.
bool readLine(std::istream& in, std::string& line, std::size_t limit) {
  line.clear();
  char c = 0;
  while (in.get(c)) {
    if (c == '\n') return true;
    if (line.size() >= limit) return false;
    line.push_back(c);
  }
  return false;
}

bool validPartName(std::string_view name) {
  if (name.empty() || name.size() > 200 || name.front() == '/' || name.back() == '/') return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                    c == '-' || c == '/';
    if (!ok) return false;
  }
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t slash = name.find('/', start);
    const std::string_view piece = name.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (piece.empty() || piece == "." || piece == "..") return false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

bool validFieldKey(std::string_view key) {
  if (key.empty() || key.size() > 64) return false;
  for (const char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

bool oneLine(std::string_view value) {
  return value.find('\n') == std::string_view::npos && value.find('\r') == std::string_view::npos;
}

std::string headerText(const ArchiveHeader& header, const std::vector<std::tuple<std::string, std::uintmax_t, std::string>>& parts) {
  std::string text = std::string(kMagic) + std::to_string(kFormat) + "\n";
  text += "program " + header.program + "\n";
  for (const auto& [key, value] : header.fields) text += "field " + key + " " + value + "\n";
  for (const auto& [name, size, hash] : parts) text += "part " + name + " " + std::to_string(size) + " " + hash + "\n";
  Hasher h;
  h.update(text.data(), text.size());
  text += "header-blake2b " + h.hex() + "\n";
  return text;
}

std::optional<std::string> writeArchive(const fs::path& out, const ArchiveHeader& header, const std::vector<ArchivePart>& parts) {
  if (!oneLine(header.program) || header.program.find(' ') != std::string::npos) throw std::logic_error("bad program name");
  for (const auto& [key, value] : header.fields) {
    if (!validFieldKey(key) || !oneLine(value)) throw std::logic_error("bad archive field " + key);
  }
  std::vector<std::tuple<std::string, std::uintmax_t, std::string>> described;
  for (const ArchivePart& part : parts) {
    if (!validPartName(part.name)) throw std::logic_error("bad archive part name " + part.name);
    std::uintmax_t size = 0;
    std::string hash = hashFile(part.file, size);
    described.emplace_back(part.name, size, std::move(hash));
  }
  const std::string text = headerText(header, described);

  const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
  std::string tmp = (dir / ("." + out.filename().string() + ".tmp-XXXXXX")).string();
  const int raw = ::mkstemp(tmp.data());
  if (raw < 0) return "cannot write in " + dir.string() + ": " + errnoText();
  Fd fd(raw);
  struct Unlink {
    std::string path;
    ~Unlink() { ::unlink(path.c_str()); }
  } unlinkTmp{tmp};
  ::fchmod(fd.get(), 0600);
  writeAll(fd.get(), text.data(), text.size(), tmp);
  std::array<char, 1 << 16> buffer{};
  for (const ArchivePart& part : parts) {
    std::ifstream in(part.file, std::ios::binary);
    while (in) {
      in.read(buffer.data(), buffer.size());
      writeAll(fd.get(), buffer.data(), static_cast<std::size_t>(in.gcount()), tmp);
    }
  }
  if (::fsync(fd.get()) != 0) return "cannot sync " + tmp + ": " + errnoText();
  // link(2), not rename(2): an existing file is never replaced.
  if (::link(tmp.c_str(), out.c_str()) != 0) {
    if (errno == EEXIST) return out.string() + " exists; refusing to overwrite it";
    return "cannot write " + out.string() + ": " + errnoText();
  }
  syncDirectory(dir);
  return std::nullopt;
}

}  // namespace

std::optional<std::string> writeBackup(Database& source, const std::vector<std::pair<std::string, std::string>>& databases,
                                       const std::vector<ArchivePart>& files, const std::string& program,
                                       const std::function<void(Database&, ArchiveHeader&)>& describe, const fs::path& out) {
  const fs::path target = out.has_parent_path() ? out : fs::path(".") / out;
  std::error_code ec;
  if (fs::exists(target, ec)) return target.string() + " exists; refusing to overwrite it";
  if (!fs::is_directory(target.parent_path(), ec)) return target.parent_path().string() + " is not a directory";
  TempDir work(target);
  ArchiveHeader header{program, {}};
  std::vector<ArchivePart> parts;
  {
    // One read transaction over every schema: each is read as of the same moment.
    source.exec("BEGIN");
    struct End {
      Database& db;
      ~End() {
        try {
          db.exec("COMMIT");
        } catch (...) {  // a read transaction: nothing to lose
        }
      }
    } end{source};
    for (const auto& [schema, name] : databases) {
      source.query("SELECT COUNT(*) AS n FROM \"" + schema + "\".sqlite_schema").step();
    }
    describe(source, header);
    int n = 0;
    for (const auto& [schema, name] : databases) {
      const fs::path copy = work.path() / ("db" + std::to_string(n++));
      copySchema(source, schema, copy);
      parts.push_back({name, copy});
    }
  }
  parts.insert(parts.end(), files.begin(), files.end());
  return writeArchive(target, header, parts);
}

ExtractedArchive::~ExtractedArchive() {
  for (const ArchivePart& part : parts) {
    std::error_code ec;
    fs::remove(part.file, ec);
  }
}

const ArchivePart* ExtractedArchive::part(std::string_view name) const {
  for (const ArchivePart& p : parts) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::variant<ExtractedArchive, std::string> readArchive(const fs::path& in, std::string_view program, const fs::path& extractDir) {
  const std::string where = in.string() + ": ";
  std::ifstream file(in, std::ios::binary);
  if (!file) return where + "cannot open: " + errnoText();
  const std::string notBackup = where + "is not a backup file of " + std::string(program);

  // The header: lines up to and including "header-blake2b HEX".
  std::string text;
  std::vector<std::string> lines;
  std::string line;
  while (true) {
    if (lines.empty()) {
      std::string magic(kMagic.size(), '\0');
      if (!file.read(magic.data(), static_cast<std::streamsize>(magic.size())) || magic != kMagic) return notBackup;
      file.seekg(0);
    }
    if (!readLine(file, line, kMaxHeaderBytes)) return lines.empty() ? notBackup : where + "damaged: its header is cut short";
    if (text.size() + line.size() + 1 > kMaxHeaderBytes) return where + "damaged: its header is too long";
    if (line.rfind("header-blake2b ", 0) == 0) {
      Hasher h;
      h.update(text.data(), text.size());
      if (line.substr(15) != h.hex()) return where + "damaged: its header does not match its checksum";
      break;
    }
    text += line + "\n";
    lines.push_back(line);
  }
  const std::string version = lines[0].substr(kMagic.size());
  if (version != std::to_string(kFormat)) {
    return where + "backup format " + version + " is not one this program reads (format " + std::to_string(kFormat) + ")";
  }
  ExtractedArchive archive;
  struct Declared {
    std::string name;
    std::uintmax_t size;
    std::string hash;
  };
  std::vector<Declared> declared;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    const std::size_t space = l.find(' ');
    const std::string kind = l.substr(0, space);
    const std::string rest = space == std::string::npos ? "" : l.substr(space + 1);
    if (kind == "program") {
      archive.header.program = rest;
    } else if (kind == "field") {
      const std::size_t s = rest.find(' ');
      if (s == std::string::npos || !validFieldKey(rest.substr(0, s))) return where + "damaged: bad header line " + std::to_string(i + 1);
      archive.header.fields[rest.substr(0, s)] = rest.substr(s + 1);
    } else if (kind == "part") {
      const std::size_t s1 = rest.find(' ');
      const std::size_t s2 = s1 == std::string::npos ? s1 : rest.find(' ', s1 + 1);
      if (s2 == std::string::npos) return where + "damaged: bad header line " + std::to_string(i + 1);
      Declared d{rest.substr(0, s1), 0, rest.substr(s2 + 1)};
      const std::string sizeText = rest.substr(s1 + 1, s2 - s1 - 1);
      const auto [end, ec] = std::from_chars(sizeText.data(), sizeText.data() + sizeText.size(), d.size);
      if (!validPartName(d.name) || ec != std::errc() || end != sizeText.data() + sizeText.size() || d.hash.size() != kHashBytes * 2) {
        return where + "damaged: bad header line " + std::to_string(i + 1);
      }
      for (const Declared& other : declared) {
        if (other.name == d.name) return where + "damaged: part " + d.name + " appears twice";
      }
      declared.push_back(std::move(d));
    } else {
      return where + "damaged: bad header line " + std::to_string(i + 1);
    }
  }
  if (archive.header.program != program) {
    return where + "is a backup of " + (archive.header.program.empty() ? "an unknown program" : archive.header.program) +
           ", not of " + std::string(program);
  }

  std::array<char, 1 << 16> buffer{};
  for (const Declared& d : declared) {
    std::string name = d.name;
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    std::string tmp = (extractDir / (".restore-" + name + "-XXXXXX")).string();
    const int raw = ::mkstemp(tmp.data());
    if (raw < 0) return "cannot write in " + extractDir.string() + ": " + errnoText();
    Fd fd(raw);
    archive.parts.push_back({d.name, tmp});
    Hasher h;
    std::uintmax_t left = d.size;
    while (left > 0) {
      file.read(buffer.data(), static_cast<std::streamsize>(std::min<std::uintmax_t>(left, buffer.size())));
      const auto n = static_cast<std::size_t>(file.gcount());
      if (n == 0) return where + "damaged: cut short inside " + d.name;
      h.update(buffer.data(), n);
      writeAll(fd.get(), buffer.data(), n, tmp);
      left -= n;
    }
    if (h.hex() != d.hash) return where + "damaged: " + d.name + " does not match its checksum";
    if (::fsync(fd.get()) != 0) return "cannot sync " + tmp + ": " + errnoText();
  }
  if (file.peek() != std::char_traits<char>::eof()) return where + "damaged: bytes after its last part";
  return archive;
}

std::optional<std::string> checkDatabaseFile(const fs::path& file) {
  SqliteHandle db;
  try {
    db = openRaw(file, SQLITE_OPEN_READONLY);
  } catch (const DbError& e) {
    return e.what();
  }
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db.get(), "PRAGMA integrity_check", -1, &raw, nullptr) != SQLITE_OK) {
    return std::string("not a SQLite database: ") + sqlite3_errmsg(db.get());
  }
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
  const int rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) return std::string("not a SQLite database: ") + sqlite3_errmsg(db.get());
  const auto* first = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
  const std::string result = first ? first : "";
  if (result != "ok") return "the database is damaged: " + result;
  return std::nullopt;
}

std::optional<std::string> replaceFiles(const std::vector<Replacement>& replacements) {
  // Every database exclusively first; if one is in use, nothing is changed.
  std::vector<SqliteHandle> held;
  for (const Replacement& r : replacements) {
    if (!r.database) continue;
    std::error_code ec;
    if (!fs::exists(r.to, ec)) continue;
    SqliteHandle db = openRaw(r.to, SQLITE_OPEN_READWRITE);
    // No busy timeout: a connection of another process answers at once.
    mustExec(db.get(), "PRAGMA locking_mode=EXCLUSIVE", r.to);
    const int rc = execRaw(db.get(), "BEGIN EXCLUSIVE; COMMIT;");
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
      return r.to.string() + " is in use by another process (the counter app, exec, or the server): stop it first";
    }
    if (rc != SQLITE_OK) throw DbError(r.to.string() + ": " + sqlite3_errmsg(db.get()), rc);
    // Leaves WAL mode: the WAL is checkpointed into the old file and removed, so no WAL of the
    // old database is left to be replayed into the new one.
    mustExec(db.get(), "PRAGMA journal_mode=DELETE", r.to);
    held.push_back(std::move(db));
  }
  std::vector<fs::path> dirs;
  for (const Replacement& r : replacements) {
    if (r.database) {
      for (const char* suffix : {"-wal", "-shm", "-journal"}) fs::remove(r.to.string() + suffix);
    }
    fs::rename(r.from, r.to);
    dirs.push_back(r.to.parent_path());
  }
  for (const fs::path& dir : dirs) syncDirectory(dir);
  return std::nullopt;
}

std::string timestampedBackupName(std::string_view prefix, std::chrono::system_clock::time_point at) {
  const std::time_t t = std::chrono::system_clock::to_time_t(at);
  std::tm utc{};
  gmtime_r(&t, &utc);
  std::array<char, 32> stamp{};
  std::strftime(stamp.data(), stamp.size(), "%Y%m%dT%H%M%SZ", &utc);
  return std::string(prefix) + "-" + stamp.data() + ".backup";
}

std::vector<fs::path> pruneBackups(const fs::path& dir, std::string_view prefix, int keepDays,
                                   std::chrono::system_clock::time_point now) {
  std::vector<fs::path> removed;
  const std::string head = std::string(prefix) + "-";
  const std::string tail = ".backup";
  const auto cutoff = now - std::chrono::hours(24) * keepDays;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.size() != head.size() + 16 + tail.size() || name.rfind(head, 0) != 0 ||
        name.compare(name.size() - tail.size(), tail.size(), tail) != 0) {
      continue;
    }
    std::tm utc{};
    const std::string stamp = name.substr(head.size(), 16);
    const char* end = strptime(stamp.c_str(), "%Y%m%dT%H%M%SZ", &utc);
    if (end == nullptr || *end != '\0') continue;
    const auto at = std::chrono::system_clock::from_time_t(timegm(&utc));
    if (at < cutoff) {
      fs::remove(entry.path());
      removed.push_back(entry.path());
    }
  }
  return removed;
}

}  // namespace loyalty::db
