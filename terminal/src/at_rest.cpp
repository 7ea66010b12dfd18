#include "loyalty/terminal/at_rest.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace loyalty::terminal {
namespace {

namespace fs = std::filesystem;

constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "LYRESTv1";
constexpr std::size_t kLookupKeyBytes = 16;
constexpr unsigned char kSealFormat = 1;  // first byte of a sealed value: nonce and cipher below
constexpr std::string_view kKeyCheckText = "loyalty terminal at-rest key check";
constexpr const char* kClientData = "loyalty.at_rest_keys";

// Sub-key ids: never reuse or renumber one, or what was sealed with it stops opening.
enum SubKey : std::uint64_t { kPhone = 1, kLastDigits = 2, kMember = 3, kOutbox = 4, kText = 5, kCheck = 6 };

void ensureSodium() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
}

std::string errnoText() { return std::strerror(errno); }

std::string keyedHash(const AtRestKeys::Key& key, std::string_view text) {
  std::string out(kLookupKeyBytes, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     reinterpret_cast<const unsigned char*>(text.data()), text.size(), key.data(), key.size());
  return out;
}

void writeAll(int fd, const unsigned char* data, std::size_t size, const fs::path& file) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("cannot write the at-rest key " + file.string() + ": " + errnoText());
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

void syncDirectory(const fs::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

/// A random key, on disk before anything is sealed with it: written to a temporary file, synced,
/// then linked into place (if another process got there first, its key is the one used).
void createKeyFile(const fs::path& file) {
  AtRestKeys::Key key{};
  randombytes_buf(key.data(), key.size());
  const fs::path tmp = file.string() + ".new-" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw std::runtime_error("cannot create the at-rest key " + file.string() + ": " + errnoText());
  try {
    writeAll(fd, key.data(), key.size(), file);
    if (::fsync(fd) != 0) throw std::runtime_error("cannot sync the at-rest key " + file.string() + ": " + errnoText());
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    sodium_memzero(key.data(), key.size());
    throw;
  }
  ::close(fd);
  sodium_memzero(key.data(), key.size());
  const bool linked = ::link(tmp.c_str(), file.c_str()) == 0;
  const int linkErrno = errno;
  ::unlink(tmp.c_str());
  if (!linked && linkErrno != EEXIST) {
    throw std::runtime_error("cannot create the at-rest key " + file.string() + ": " + std::strerror(linkErrno));
  }
  syncDirectory(file.parent_path());
}

}  // namespace

// [SECTION] Keys

AtRestKeys::AtRestKeys(const Key& master) {
  ensureSodium();
  const auto derive = [&](Key& out, SubKey id) {
    crypto_kdf_derive_from_key(out.data(), out.size(), id, kKdfContext, master.data());
  };
  derive(m_phone, kPhone);
  derive(m_lastDigits, kLastDigits);
  derive(m_member, kMember);
  derive(m_outbox, kOutbox);
  derive(m_text, kText);
  derive(m_check, kCheck);
}

AtRestKeys::~AtRestKeys() {
  for (Key* k : {&m_phone, &m_lastDigits, &m_member, &m_outbox, &m_text, &m_check}) sodium_memzero(k->data(), k->size());
}

const AtRestKeys::Key& AtRestKeys::subKey(Sealed what) const {
  switch (what) {
    case Sealed::kMemberField: return m_member;
    case Sealed::kOutboxPayload: return m_outbox;
    case Sealed::kFreeText: return m_text;
  }
  throw std::logic_error("unknown kind of sealed value");
}

std::string AtRestKeys::phoneLookupKey(std::string_view e164) const { return keyedHash(m_phone, e164); }

std::string AtRestKeys::lastDigitsKey(std::string_view last4) const { return keyedHash(m_lastDigits, last4); }

std::string AtRestKeys::keyCheck() const {
  const std::string hash = keyedHash(m_check, kKeyCheckText);
  std::string hex(hash.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char*>(hash.data()), hash.size());
  hex.pop_back();
  return hex;
}

std::string AtRestKeys::seal(Sealed what, std::string_view plaintext, std::string_view context) const {
  constexpr std::size_t nonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  std::string out(1 + nonceBytes + plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  bytes[0] = kSealFormat;
  randombytes_buf(bytes + 1, nonceBytes);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      bytes + 1 + nonceBytes, &written, reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
      reinterpret_cast<const unsigned char*>(context.data()), context.size(), nullptr, bytes + 1, subKey(what).data());
  out.resize(1 + nonceBytes + written);
  return out;
}

std::string AtRestKeys::open(Sealed what, std::string_view sealed, std::string_view context) const {
  std::string out;
  open(what, sealed, context, out);
  return out;
}

void AtRestKeys::open(Sealed what, std::string_view sealed, std::string_view context, std::string& out) const {
  constexpr std::size_t nonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  constexpr std::size_t overhead = 1 + nonceBytes + crypto_aead_xchacha20poly1305_ietf_ABYTES;
  const auto* bytes = reinterpret_cast<const unsigned char*>(sealed.data());
  if (sealed.size() < overhead || bytes[0] != kSealFormat) {
    throw AtRestError("a sealed value of the store is not in a known format: the store is damaged");
  }
  out.resize(sealed.size() - overhead);
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(out.data()), &written, nullptr,
                                                 bytes + 1 + nonceBytes, sealed.size() - 1 - nonceBytes,
                                                 reinterpret_cast<const unsigned char*>(context.data()),
                                                 context.size(), bytes + 1, subKey(what).data()) != 0) {
    out.clear();
    throw AtRestError("a sealed value of the store does not open: it was altered, or sealed with another key");
  }
  out.resize(written);
}

// [SECTION] Key file

fs::path atRestKeyFile(const fs::path& dataDir) {
  if (const char* file = std::getenv("LOYALTY_AT_REST_KEY_FILE"); file && *file) return file;
  if (const char* dir = std::getenv("CREDENTIALS_DIRECTORY"); dir && *dir) {
    const fs::path credential = fs::path(dir) / "loyalty-at-rest-key";
    std::error_code ec;
    if (fs::exists(credential, ec)) return credential;
  }
  return dataDir / "at-rest.key";
}

std::shared_ptr<const AtRestKeys> loadAtRestKeys(const fs::path& keyFile, bool mayCreate) {
  ensureSodium();
  int fd = ::open(keyFile.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    if (!mayCreate) return nullptr;
    createKeyFile(keyFile);
    fd = ::open(keyFile.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) throw std::runtime_error("cannot read the at-rest key " + keyFile.string() + ": " + errnoText());
  AtRestKeys::Key key{};
  unsigned char extra = 0;
  std::size_t got = 0;
  for (;;) {
    const ssize_t n = ::read(fd, key.data() + got, key.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
    if (got == key.size()) break;
  }
  const bool longer = got == key.size() && ::read(fd, &extra, 1) == 1;
  ::close(fd);
  if (got != key.size() || longer) {
    sodium_memzero(key.data(), key.size());
    throw std::runtime_error("the at-rest key " + keyFile.string() + " is not a key: it must hold exactly " +
                             std::to_string(AtRestKeys::kKeyBytes) + " bytes");
  }
  auto keys = std::make_shared<const AtRestKeys>(key);
  sodium_memzero(key.data(), key.size());
  return keys;
}

void setAtRestKeys(db::Database& db, std::shared_ptr<const AtRestKeys> keys) {
  db.setClientData<AtRestKeys>(kClientData, std::move(keys));
}

const AtRestKeys& atRestKeys(db::Database& db) {
  const auto* keys = db.clientData<AtRestKeys>(kClientData);
  if (!keys) throw std::logic_error("this connection has no at-rest keys: open the store with openTerminalDatabase");
  return *keys;
}

// [SECTION] Scrub

Scrub::Scrub(db::Database& db) : m_db(db) {
  {
    auto q = m_db.query("PRAGMA secure_delete");
    m_was = q.step() && q.int64("secure_delete") == 1;
  }
  m_db.exec("PRAGMA secure_delete=ON");  // every database of the connection
}

Scrub::~Scrub() {
  sqlite3_exec(m_db.handle(), m_was ? "PRAGMA secure_delete=ON" : "PRAGMA secure_delete=OFF", nullptr, nullptr,
               nullptr);
}

bool Scrub::checkpoint() {
  auto q = m_db.query("PRAGMA wal_checkpoint(TRUNCATE)");
  return !(q.step() && q.int64("busy") != 0);
}

}  // namespace loyalty::terminal
