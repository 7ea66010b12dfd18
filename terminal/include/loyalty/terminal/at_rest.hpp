#pragma once
/// @brief Personal data at rest: the terminal's key file, sealed values (XChaCha20-Poly1305) and
/// keyed lookup hashes (BLAKE2b), and scrubbing removed data out of the files.

#include <array>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "loyalty/db/database.hpp"

namespace loyalty::terminal {

/// A sealed value that does not open (altered, or sealed for another row or under another key):
/// a broken store, never a business refusal.
class AtRestError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What a sealed value is; each has its own sub-key of the terminal's key.
enum class Sealed {
  kMemberField,    ///< members.personal_sealed (phone and birthday)
  kOutboxPayload,  ///< outbox.payload
  kFreeText,       ///< what staff type about a customer (complaints.description)
};

/// The sub-keys derived (crypto_kdf) from a terminal's 32-byte at-rest key.
class AtRestKeys {
 public:
  static constexpr std::size_t kKeyBytes = 32;
  using Key = std::array<unsigned char, kKeyBytes>;

  explicit AtRestKeys(const Key& master);
  ~AtRestKeys();
  AtRestKeys(const AtRestKeys&) = delete;
  AtRestKeys& operator=(const AtRestKeys&) = delete;

  /// Keyed hash of a normalised (E.164) phone number: the unique key phone lookups use.
  std::string phoneLookupKey(std::string_view e164) const;
  /// Keyed hash of a phone number's last 4 digits: the index bucket of suffix lookups.
  std::string lastDigitsKey(std::string_view last4) const;
  /// Authenticated encryption with a random nonce; `context` (the row and column it belongs to) is
  /// bound to it, so a sealed value copied to another row does not open there.
  std::string seal(Sealed what, std::string_view plaintext, std::string_view context) const;
  /// The plaintext; throws AtRestError if the value does not open with this key and context.
  std::string open(Sealed what, std::string_view sealed, std::string_view context) const;
  /// The same into `out`, reusing its capacity (for a caller opening many values in a row).
  void open(Sealed what, std::string_view sealed, std::string_view context, std::string& out) const;
  /// A keyed hash of a constant, kept in meta: tells a wrong key from the right one at start-up.
  std::string keyCheck() const;

 private:
  const Key& subKey(Sealed what) const;
  Key m_phone{}, m_lastDigits{}, m_member{}, m_outbox{}, m_text{}, m_check{};
};

/// The key file: $LOYALTY_AT_REST_KEY_FILE if set; else $CREDENTIALS_DIRECTORY/loyalty-at-rest-key
/// (a systemd credential) if that file exists; else DIR/at-rest.key.
std::filesystem::path atRestKeyFile(const std::filesystem::path& dataDir);

/// Reads the key file (exactly 32 bytes). When it does not exist and `mayCreate`, makes a random
/// key there first (mode 0600, synced to disk before any data is sealed with it). Throws
/// std::runtime_error naming the file otherwise.
std::shared_ptr<const AtRestKeys> loadAtRestKeys(const std::filesystem::path& keyFile, bool mayCreate);

/// Gives the connection its keys (openTerminalDatabase does this for every connection).
void setAtRestKeys(db::Database& db, std::shared_ptr<const AtRestKeys> keys);
/// The keys of a connection opened by openTerminalDatabase; std::logic_error for any other.
const AtRestKeys& atRestKeys(db::Database& db);

/// Removes data for good. While a Scrub lives, SQLite overwrites with zeros whatever the
/// connection deletes or overwrites, in every database file of the connection (PRAGMA
/// secure_delete). After the transaction commits, checkpoint() copies the WAL into the database
/// files and truncates it, so no older copy of a page survives there either:
///
///     Scrub scrub(db);
///     { db::Transaction tx(db); ...delete...; tx.commit(); }
///     scrub.checkpoint();
class Scrub {
 public:
  explicit Scrub(db::Database& db);
  ~Scrub();  ///< secure_delete back to what it was
  Scrub(const Scrub&) = delete;
  Scrub& operator=(const Scrub&) = delete;
  /// After the commit. False if a reader of another connection kept the WAL from being reset
  /// (its pages are then overwritten as the WAL is reused, or at the next checkpoint).
  bool checkpoint();

 private:
  db::Database& m_db;
  bool m_was = false;
};

}  // namespace loyalty::terminal
