#pragma once
/// @brief The members table, the one place that reads and writes members' personal data: phone
/// and birthday sealed, lookups through keyed hashes, the name search keys.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "loyalty/db/database.hpp"
#include "loyalty/terminal/at_rest.hpp"

namespace loyalty::terminal {

/// A member as stored, personal data opened.
struct MemberRecord {
  std::string memberId, cardNo, phone, name;  ///< phone in E.164
  std::optional<std::string> birthday, language, lastVisitAt;
  bool consentMarketing = false;
  std::string tier, enrolledAt;
  std::int64_t balance = 0, lifetimeSpend = 0;
  std::optional<std::string> tierUpgradedAt, tierReviewedMonth, referrerId;
  bool referralBonusPaid = false;
};

/// A member to store: enrolled here, imported, or arrived from head office's change feed.
struct NewMember {
  std::string memberId, cardNo, phone, name;  ///< phone in E.164, name trimmed
  std::optional<std::string> birthday, language;  ///< birthday YYYY-MM-DD
  bool consentMarketing = false;
  std::optional<std::string> consentAt, consentStore, consentVersion;
  std::optional<std::string> referrerId;
  std::string tier = "member";
  std::string enrolledAt, enrolledStore;
  std::string enrolledTerminal;  ///< "" for a member head office sent
};

/// The personal details of a member already stored (head office's feed replaces them).
struct MemberDetails {
  std::string cardNo, phone, name;
  std::optional<std::string> birthday, language;
  bool consentMarketing = false;
};

/// Reads and writes members on one connection (opened by openTerminalDatabase: it holds the keys).
/// Writes run inside the caller's transaction. A phone or card that another member has is a
/// constraint failure (db::DbError::isConstraint) on insert or update.
class MemberRepository {
 public:
  explicit MemberRepository(db::Database& db);

  std::optional<MemberRecord> byId(const std::string& memberId);
  std::optional<MemberRecord> byCard(const std::string& cardNo);
  std::optional<MemberRecord> byPhone(const std::string& e164);
  bool exists(const std::string& memberId);
  bool phoneTaken(const std::string& e164);
  bool cardTaken(const std::string& cardNo);

  /// Members whose phone number ends in `digits` (4 or more), in enrolment order, at most
  /// `limit`. Exactly 4 digits is one index bucket read with LIMIT; more digits read the bucket
  /// of the last 4 and keep the numbers that end in all of them.
  std::vector<MemberRecord> byPhoneEnding(const std::string& digits, std::size_t limit);
  /// Members a normalised name query finds: whole names and given names equal to it first, then
  /// names with a search key starting with it, in key order; at most `limit`, each once.
  std::vector<MemberRecord> byName(const std::string& normalisedQuery, std::size_t limit);

  void insert(const NewMember& member);
  void updateDetails(const std::string& memberId, const MemberDetails& details);
  /// The member is no longer offered by name search (merged away at head office).
  void removeFromNameSearch(const std::string& memberId);

 private:
  std::optional<MemberRecord> one(const std::string& sql, const std::string& value, bool blob);
  bool any(const std::string& sql, const std::string& value, bool blob);
  MemberRecord read(const db::Statement& st) const;
  void addNameKeys(const std::string& memberId, const std::string& nameNorm);
  void removeNameKeys(const std::string& memberId, const std::string& nameNorm);

  db::Database& m_db;
  const AtRestKeys& m_keys;
  /// Scratch for opening sealed values (the associated data and the plaintext), reused row by row.
  mutable std::string m_context, m_plain;
};

/// Schema version 5: moves version 4's plaintext phone, phone_rev and birthday columns into a
/// rebuilt members table with sealed values and keyed hashes (a migration step; the caller runs it
/// inside the migration's transaction with a Scrub in force).
void sealVersion4Members(db::Database& db);

}  // namespace loyalty::terminal
