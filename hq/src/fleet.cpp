#include "loyalty/hq/fleet.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>

#include "loyalty/hq/analytics.hpp"
#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/crypto.hpp"
#include "loyalty/logging/logging.hpp"
#include "loyalty/sysio/files.hpp"
#include "loyalty/sysio/process.hpp"

namespace loyalty::hq {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kFleetSchema = R"SQL(
CREATE TABLE IF NOT EXISTS releases(
  release_no {{SERIAL}}, package TEXT NOT NULL, version TEXT NOT NULL, architecture TEXT NOT NULL,
  sha256 TEXT NOT NULL, size BIGINT NOT NULL, signature TEXT NOT NULL, stores TEXT, percent BIGINT NOT NULL,
  published_at TEXT NOT NULL, published_by TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS releases_identity ON releases(package, version, architecture);
CREATE TABLE IF NOT EXISTS terminal_reports(
  terminal_id {{ID}} PRIMARY KEY, version TEXT, architecture TEXT, update_state TEXT, pending BIGINT,
  last_seen TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS terminal_health(
  terminal_id {{ID}} PRIMARY KEY, clock_skew BIGINT, last_error TEXT, last_error_at TEXT, noted_at TEXT NOT NULL);
)SQL";

/// Re-written at most this often when a terminal reports nothing new: last_seen to the minute.
constexpr auto kReportEvery = std::chrono::seconds(60);

constexpr int kBase64 = sodium_base64_VARIANT_ORIGINAL;

std::string toBase64(const unsigned char* data, std::size_t n) {
  std::string out(sodium_base64_ENCODED_LEN(n, kBase64), '\0');
  sodium_bin2base64(out.data(), out.size(), data, n, kBase64);
  out.resize(out.size() - 1);
  return out;
}

std::optional<std::string> fromBase64(const std::string& text, std::size_t expected) {
  std::string out(expected, '\0');
  std::size_t n = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), "\n", &n, nullptr,
                        kBase64) != 0 ||
      n != expected) {
    return std::nullopt;
  }
  return out;
}

/// Runs a program (no shell) and returns its standard output, or why it failed.
Result<std::string> runCapture(const std::vector<std::string>& argv) {
  sysio::RunOptions o;
  o.argv = argv;
  o.captureStderr = false;
  const sysio::RunResult r = sysio::runProgram(o);
  if (r.exitCode == -1) return Error{errc::kInternal, "", argv[0] + " cannot be run (is it installed?)"};
  if (r.exitCode != 0) return Error{errc::kInvalidArgument, "", argv[0] + " failed"};
  return r.output;
}

std::vector<std::string> splitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string joinList(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::string packagePath(const DataDir& dir, const std::string& sha256) { return (dir.root / "releases" / (sha256 + ".deb")).string(); }

}  // namespace

void ensureFleetSchema(SqlConnection& c) {
  if (c.hasTable("releases") && c.hasTable("terminal_reports") && c.hasTable("terminal_health")) return;
  c.execScript(schemaForBackend(kFleetSchema, c.backend()));
}

fs::path releaseKeyFile(const DataDir& dir) { return dir.root / "release" / "release.key"; }
fs::path releasePublicKeyFile(const DataDir& dir) { return dir.root / "release" / "release.pub"; }

std::string ensureReleaseKey(const DataDir& dir) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium cannot start");
  if (auto pub = sysio::readFile(releasePublicKeyFile(dir)); pub && fs::exists(releaseKeyFile(dir))) {
    while (!pub->empty() && (pub->back() == '\n' || pub->back() == '\r')) pub->pop_back();
    return *pub;
  }
  fs::create_directories(releaseKeyFile(dir).parent_path());
  fs::permissions(releaseKeyFile(dir).parent_path(), fs::perms::owner_all, fs::perm_options::replace);
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk);
  sysio::writeFileAtomic(releaseKeyFile(dir), toBase64(sk, sizeof sk) + "\n");
  sodium_memzero(sk, sizeof sk);
  const std::string pub = toBase64(pk, sizeof pk);
  sysio::writeFileAtomic(releasePublicKeyFile(dir), pub + "\n");
  fs::permissions(releasePublicKeyFile(dir), fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read,
                  fs::perm_options::replace);
  return pub;
}

bool inRollout(const std::string& version, const std::string& terminalId, int percent) {
  if (percent >= 100) return true;
  const std::string h = sha256Hex(version + "/" + terminalId);
  const std::uint64_t bucket = std::stoull(h.substr(0, 8), nullptr, 16) % 100;
  return bucket < static_cast<std::uint64_t>(std::max(percent, 0));
}

Result<PublishedRelease> publishRelease(const DataDir& dir, SqlConnection& c, const fs::path& deb, const PublishOptions& options,
                                        const std::string& actor, Timestamp now) {
  if (options.percent < 1 || options.percent > 100) return invalidArgument("percent", "--percent is a whole number from 1 to 100");
  std::error_code ec;
  const auto size = fs::file_size(deb, ec);
  if (ec || !fs::is_regular_file(deb)) return invalidArgument("file", deb.string() + ": no such file");
  if (size == 0 || static_cast<std::int64_t>(size) > kMaxReleaseBytes) {
    return invalidArgument("file", deb.string() + ": a package is 1 byte to 60 MiB");
  }
  auto fields = runCapture({"dpkg-deb", "--showformat=${Package}\\n${Version}\\n${Architecture}\\n", "--show", deb.string()});
  if (!fields) return invalidArgument("file", deb.string() + ": not a Debian package (dpkg-deb cannot read it)");
  std::istringstream lines(*fields);
  PublishedRelease out;
  std::getline(lines, out.manifest.package);
  std::getline(lines, out.manifest.version);
  std::getline(lines, out.manifest.architecture);
  if (auto s = sync::checkPackageName(out.manifest.package, "Package"); !s) return s.error();
  if (out.manifest.package != sync::kTerminalPackage) {
    return invalidArgument("Package", "only " + std::string(sync::kTerminalPackage) + " is offered to terminals, not " +
                                          out.manifest.package);
  }
  if (auto s = sync::checkVersion(out.manifest.version, "Version"); !s) return s.error();
  if (auto s = sync::checkArchitecture(out.manifest.architecture, "Architecture"); !s) return s.error();
  const auto bytes = sysio::readFile(deb);
  if (!bytes || bytes->size() != size) return invalidArgument("file", deb.string() + ": cannot be read");
  out.manifest.sha256 = sha256Hex(*bytes);
  out.manifest.size = static_cast<std::int64_t>(bytes->size());
  out.percent = options.percent;
  out.stores = options.stores;
  std::sort(out.stores.begin(), out.stores.end());
  out.stores.erase(std::unique(out.stores.begin(), out.stores.end()), out.stores.end());

  ensureReleaseKey(dir);
  const auto secretText = sysio::readFile(releaseKeyFile(dir));
  auto secret = secretText ? fromBase64(secretText->substr(0, secretText->find('\n')), crypto_sign_SECRETKEYBYTES) : std::nullopt;
  if (!secret) throw std::runtime_error(releaseKeyFile(dir).string() + " is not a release key");
  const std::string text = sync::signedText(out.manifest);
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(text.data()), text.size(),
                       reinterpret_cast<const unsigned char*>(secret->data()));
  sodium_memzero(secret->data(), secret->size());
  out.signature = toBase64(sig, sizeof sig);

  ensureFleetSchema(c);
  SqlTransaction tx(c);
  for (const auto& store : out.stores) {
    if (c.query("SELECT 1 FROM terminals WHERE store_id = $1 LIMIT 1", {store}).empty()) {
      return invalidArgument("stores", "no terminal of store " + store + " is known to head office");
    }
  }
  const auto existing = c.query("SELECT sha256 FROM releases WHERE package = $1 AND version = $2 AND architecture = $3",
                                {out.manifest.package, out.manifest.version, out.manifest.architecture});
  const SqlValue stores = out.stores.empty() ? SqlValue(nullptr) : SqlValue(joinList(out.stores));
  if (!existing.empty()) {
    if (existing.text(0, 0) != out.manifest.sha256) {
      return Error{errc::kConflict, "file",
                   out.manifest.package + " " + out.manifest.version + " (" + out.manifest.architecture +
                       ") was already published with other content: give the new build a new version"};
    }
    c.query("UPDATE releases SET stores = $1, percent = $2 WHERE sha256 = $3", {stores, std::int64_t{out.percent}, out.manifest.sha256});
    out.republished = true;
  } else {
    fs::create_directories(dir.root / "releases");
    fs::permissions(dir.root / "releases", fs::perms::owner_all, fs::perm_options::replace);
    sysio::writeFileAtomic(packagePath(dir, out.manifest.sha256), *bytes);
    c.query("INSERT INTO releases(package, version, architecture, sha256, size, signature, stores, percent, published_at, published_by) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            {out.manifest.package, out.manifest.version, out.manifest.architecture, out.manifest.sha256, out.manifest.size, out.signature,
             stores, std::int64_t{out.percent}, formatRfc3339(now), actor});
  }
  recordAudit(c, {formatRfc3339(now), actor, audit::kReleasePublish,
                  out.manifest.package + " " + out.manifest.version + " " + out.manifest.architecture, std::nullopt,
                  "sha256 " + out.manifest.sha256 + ", stores " + (out.stores.empty() ? "all" : joinList(out.stores)) + ", " +
                      std::to_string(out.percent) + "%" + (out.republished ? " (targeting changed)" : "")});
  tx.commit();
  return out;
}

// [SECTION] Fleet (the server's side)

Fleet::Fleet(DataDir dir, std::unique_ptr<SqlConnection> c) : m_dir(std::move(dir)), m_c(std::move(c)) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium cannot start");
  ensureFleetSchema(*m_c);
}

// A note is one statement, its own transaction: an upsert of the terminal's own row, atomic by
// itself (instances included), on which no other row depends. So on PostgreSQL it takes no
// writer lock: a terminal's request (an online redemption among them) never waits here behind
// another instance's upload (measured: chain-day-bench, bench/results/chain-day.json
// fleet_notes_r19). On SQLite it takes the file's one write lock, as every write does.
// The cache is updated before the connection is let go: two notes of one terminal at once
// leave the database and the cache saying the same.

void Fleet::noteReport(const std::string& terminalId, const sync::TerminalReport& report, Timestamp now) {
  {
    std::lock_guard seen(m_seenMutex);
    const auto it = m_seen.find(terminalId);
    if (it != m_seen.end() && it->second.report == report && now - it->second.writtenAt < kReportEvery) return;
  }
  const auto opt = [](const std::optional<std::string>& v) { return v ? SqlValue(*v) : SqlValue(nullptr); };
  std::lock_guard lock(m_mutex);
  // An older terminal sends nothing: what it said before stays, last_seen moves.
  m_c->query(
      "INSERT INTO terminal_reports(terminal_id, version, architecture, update_state, pending, last_seen) VALUES ($1, $2, $3, $4, $5, $6) "
      "ON CONFLICT(terminal_id) DO UPDATE SET version = COALESCE(excluded.version, terminal_reports.version), "
      "architecture = COALESCE(excluded.architecture, terminal_reports.architecture), "
      "update_state = COALESCE(excluded.update_state, terminal_reports.update_state), "
      "pending = COALESCE(excluded.pending, terminal_reports.pending), last_seen = excluded.last_seen",
      {terminalId, opt(report.version), opt(report.architecture), opt(report.updateState),
       report.pending ? SqlValue(*report.pending) : SqlValue(nullptr), formatRfc3339(now)});
  std::lock_guard seen(m_seenMutex);
  m_seen[terminalId] = {report, now};
}

void Fleet::noteHealth(const std::string& terminalId, const sync::TerminalHealth& health, Timestamp now) {
  if (!health.clock) return;  // an older terminal: nothing to say
  const std::int64_t skew = (*health.clock - now).count();
  bool wasSkewed = false;
  {
    std::lock_guard seen(m_seenMutex);
    const auto it = m_health.find(terminalId);
    // Written when the error changes, the skew moves by more than a few seconds, or once a minute.
    if (it != m_health.end() && it->second.lastError == health.lastError && std::llabs(it->second.skew - skew) <= 5 &&
        now - it->second.writtenAt < kReportEvery) {
      return;
    }
    wasSkewed = it != m_health.end() && std::llabs(it->second.skew) > kClockSkewWarnSeconds;
  }
  std::lock_guard lock(m_mutex);
  // A clean round sends no error: the last error is cleared; its time says when it was seen.
  m_c->query(
      "INSERT INTO terminal_health(terminal_id, clock_skew, last_error, last_error_at, noted_at) VALUES ($1, $2, $3, $4, $5) "
      "ON CONFLICT(terminal_id) DO UPDATE SET clock_skew = excluded.clock_skew, last_error = excluded.last_error, "
      "last_error_at = CASE WHEN excluded.last_error IS NULL THEN NULL "
      "WHEN terminal_health.last_error = excluded.last_error THEN terminal_health.last_error_at ELSE excluded.last_error_at END, "
      "noted_at = excluded.noted_at",
      {terminalId, skew, health.lastError ? SqlValue(*health.lastError) : SqlValue(nullptr),
       health.lastError ? SqlValue(formatRfc3339(now)) : SqlValue(nullptr), formatRfc3339(now)});
  if (std::llabs(skew) > kClockSkewWarnSeconds && !wasSkewed) {
    logging::log().warn("terminal {}: its clock is {} s {} head office's; its day-based rules may fall on the wrong day",
                        terminalId, std::llabs(skew), skew > 0 ? "ahead of" : "behind");
  }
  std::lock_guard seen(m_seenMutex);
  m_health[terminalId] = {health.lastError, skew, now};
}

namespace {

/// Releases of the terminal package for `architecture` (or `all`) that target the terminal.
std::vector<sync::ReleaseOffer> targeted(SqlConnection& c, const std::string& terminalId, const std::string& architecture,
                                         const std::string& publicKey) {
  const auto t = c.query("SELECT store_id FROM terminals WHERE terminal_id = $1", {terminalId});
  if (t.empty()) return {};
  const std::string store = t.text(0, 0);
  const auto r = c.query(
      "SELECT package, version, architecture, sha256, size, signature, stores, percent FROM releases WHERE package = $1 AND "
      "(architecture = $2 OR architecture = 'all')",
      {std::string(sync::kTerminalPackage), architecture});
  std::vector<sync::ReleaseOffer> out;
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (auto stores = r.optText(i, 6)) {
      const auto list = splitList(*stores);
      if (std::find(list.begin(), list.end(), store) == list.end()) continue;
    }
    const std::string version = r.text(i, 1);
    if (!inRollout(version, terminalId, static_cast<int>(r.integer(i, 7)))) continue;
    sync::ReleaseOffer o;
    o.manifest = {r.text(i, 0), version, r.text(i, 2), r.text(i, 3), r.integer(i, 4)};
    o.signature = r.text(i, 5);
    o.publicKey = publicKey;
    o.url = "/api/v1/terminal/release/" + o.manifest.sha256 + ".deb";
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace

Result<std::optional<sync::ReleaseOffer>> Fleet::offer(const std::string& terminalId, const std::string& architecture) {
  std::lock_guard lock(m_mutex);
  auto all = targeted(*m_c, terminalId, architecture, "");
  if (all.empty()) return std::optional<sync::ReleaseOffer>();
  const std::string key = ensureReleaseKey(m_dir);  // publishing made it: this only reads it
  for (auto& o : all) o.publicKey = key;
  const auto best = std::max_element(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return sync::compareVersions(a.manifest.version, b.manifest.version) < 0;
  });
  return std::optional<sync::ReleaseOffer>(std::move(*best));
}

Result<fs::path> Fleet::packageFile(const std::string& terminalId, const std::string& architecture, const std::string& sha256) {
  std::lock_guard lock(m_mutex);
  for (const auto& o : targeted(*m_c, terminalId, architecture, "")) {
    if (o.manifest.sha256 == sha256) return fs::path(packagePath(m_dir, sha256));
  }
  return Error{errc::kNotFound, "sha256", "no release " + sha256 + " is offered to terminal " + terminalId};
}

json listTerminals(SqlConnection& c, const TerminalList& list) {
  SqlParams q;
  const std::string where = list.store ? " WHERE t.store_id = " + q.p(*list.store) : "";
  const SqlParams filterOnly = q;
  const std::string page = pageClause(q, c.backend(), list.page);
  SqlTransaction tx(c, SqlTransaction::Kind::kRead);
  const auto r = c.query(
      "SELECT t.terminal_id, t.store_id, t.registered_at, t.revoked_at, t.applied_through, r.version, r.architecture, "
      "r.update_state, r.pending, r.last_seen, h.clock_skew, h.last_error, h.last_error_at, t.timezone FROM terminals t "
      "LEFT JOIN terminal_reports r ON r.terminal_id = t.terminal_id LEFT JOIN terminal_health h ON h.terminal_id = t.terminal_id" +
          where + " ORDER BY t.store_id, t.terminal_id" + page,
      q.values);
  // The whole filtered list's terminals by state (a page shows some of them).
  const auto n = c.query("SELECT COUNT(*), COUNT(CASE WHEN t.revoked_at IS NULL AND t.registered_at IS NOT NULL THEN 1 END), "
                         "COUNT(CASE WHEN t.revoked_at IS NULL AND t.registered_at IS NULL THEN 1 END), COUNT(t.revoked_at) "
                         "FROM terminals t" + where,
                         filterOnly.values);
  tx.commit();
  json out = json::array();
  const auto optText = [&](std::size_t i, std::size_t col) { return r.isNull(i, col) ? json() : json(r.text(i, col)); };
  for (std::size_t i = 0; i < r.size(); ++i) {
    out.push_back({{"terminal_id", r.text(i, 0)},
                   {"store_id", r.text(i, 1)},
                   {"registered", !r.isNull(i, 2)},
                   {"revoked", !r.isNull(i, 3)},
                   {"applied_through", r.isNull(i, 4) ? json(0) : json(r.integer(i, 4))},
                   {"version", optText(i, 5)},
                   {"architecture", optText(i, 6)},
                   {"update_state", optText(i, 7)},
                   {"backlog", r.isNull(i, 8) ? json() : json(r.integer(i, 8))},
                   {"last_seen", optText(i, 9)},
                   {"clock_skew_seconds", r.isNull(i, 10) ? json() : json(r.integer(i, 10))},
                   {"clock_skewed", !r.isNull(i, 10) && std::llabs(r.integer(i, 10)) > kClockSkewWarnSeconds},
                   {"last_error", optText(i, 11)},
                   {"last_error_at", optText(i, 12)},
                   {"timezone", r.text(i, 13)}});
  }
  return {{"terminals", std::move(out)},
          {"total", n.integer(0, 0)},
          {"states", {{"active", n.integer(0, 1)}, {"waiting", n.integer(0, 2)}, {"revoked", n.integer(0, 3)}}},
          {"page", pageJson(list.page)}};
}

json Fleet::terminals(const TerminalList& list) {
  std::lock_guard lock(m_mutex);
  return listTerminals(*m_c, list);
}

json Fleet::releases(const RowPage& page) {
  std::lock_guard lock(m_mutex);
  SqlParams q;
  const std::string clause = pageClause(q, m_c->backend(), page);
  SqlTransaction tx(*m_c, SqlTransaction::Kind::kRead);
  const auto r = m_c->query(
      "SELECT package, version, architecture, sha256, size, stores, percent, published_at, published_by FROM releases "
      "ORDER BY release_no DESC" + clause,
      q.values);
  const std::int64_t total = m_c->query("SELECT COUNT(*) FROM releases").integer(0, 0);
  tx.commit();
  json out = json::array();
  for (std::size_t i = 0; i < r.size(); ++i) {
    out.push_back({{"package", r.text(i, 0)},
                   {"version", r.text(i, 1)},
                   {"architecture", r.text(i, 2)},
                   {"sha256", r.text(i, 3)},
                   {"size", r.integer(i, 4)},
                   {"stores", r.isNull(i, 5) ? json() : json(splitList(r.text(i, 5)))},
                   {"percent", r.integer(i, 6)},
                   {"published_at", r.text(i, 7)},
                   {"published_by", r.text(i, 8)}});
  }
  return {{"releases", std::move(out)}, {"total", total}, {"page", pageJson(page)}};
}

}  // namespace loyalty::hq
