#pragma once
/// @brief The members table, the one place that reads and writes members' personal data: phone
/// and birthday sealed, lookups through keyed hashes, the name search keys (with the name's pinyin).

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
  std::optional<std::string> staffId;  ///< who enrolled them (their consent decision is recorded with it)
};

/// One consent decision (docs/exec-cli.md): what the member chose, under which version of
/// the consent text, when, at which store and with which staff member.
struct ConsentDecision {
  std::string at;
  bool consentMarketing = false;
  std::optional<std::string> consentVersion, storeId, staffId;
};

/// What was done with a member's details at this terminal: `action` "update" (with the wire names
/// of the fields changed, never their values), "consent" or "export".
struct MemberLogEntry {
  std::string at, action, fields, storeId;
  std::optional<std::string> staffId;
};

/// The personal details of a member already stored (head office's feed replaces them).
struct MemberDetails {
  std::string cardNo, phone, name;
  std::optional<std::string> birthday, language;
  bool consentMarketing = false;
};

/// Reads and writes members on one connection. A member whose personal data head office erased is
/// found by none of the lookups (nor by exists()); their row stays for their sales and ledger. (opened by openTerminalDatabase: it holds the keys).
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

  /// Stores the member and their consent decision at enrolment (at consentAt, else enrolledAt).
  void insert(const NewMember& member);
  /// Replaces the member's details; returns whether their marketing consent changed.
  bool updateDetails(const std::string& memberId, const MemberDetails& details);
  /// Records a consent decision and makes it the member's current one.
  void recordConsent(const std::string& memberId, const ConsentDecision& decision);
  /// Every consent decision recorded here for the member, oldest first.
  std::vector<ConsentDecision> consents(const std::string& memberId);
  void appendLog(const std::string& memberId, const MemberLogEntry& entry);
  /// The member's log, oldest first.
  std::vector<MemberLogEntry> log(const std::string& memberId);
  /// Whether head office erased the member (their row is kept without personal data).
  bool isErased(const std::string& memberId);
  /// Drops the member's personal data for good: name, phone, birthday, card number, language,
  /// consent, their name search keys, phone hashes and sealed values. The row stays (sales and
  /// ledger refer to it), marked erased at `at`. Run it under a Scrub. False if no such member.
  bool erase(const std::string& memberId, const std::string& at);
  /// The member is no longer offered by name search (merged away at head office).
  void removeFromNameSearch(const std::string& memberId);

  // Counter figures of a member (no personal data).

  /// The member head office merged `memberId` into, if it did.
  std::optional<std::string> mergedInto(const std::string& memberId);
  /// A sale (or refund, with a negative amount) changes the member's lifetime spend; a sale also
  /// sets their last visit.
  void addSpend(const std::string& memberId, std::int64_t minor);
  /// The sale's visit: its spend, the last visit, and the cached balance its ledger entries left
  /// (`balance`), in one write of the row.
  void recordVisit(const std::string& memberId, std::int64_t balance, std::int64_t spendMinor,
                   const std::string& lastVisitAt);
  /// The tier a sale reached, at `at`, counting as this month's review.
  void upgradeTier(const std::string& memberId, const std::string& tier, const std::string& at, const std::string& month);
  /// The outcome of a monthly review (the tier kept or lowered).
  void reviewTier(const std::string& memberId, const std::string& tier, const std::string& month);
  /// Head office's tier, when it differs from the one held, counting as `month`'s review (its
  /// tier rests on spend at every store; the local review, which sees only this terminal's
  /// sales, must not undo it that month).
  void takeHeadOfficeTier(const std::string& memberId, const std::string& tier, const std::string& month);
  void markReferralBonusPaid(const std::string& memberId);

 private:
  std::optional<MemberRecord> one(const std::string& sql, const std::string& value, bool blob);
  bool any(const std::string& sql, const std::string& value, bool blob);
  MemberRecord read(const db::Query& q) const;
  void addNameKeys(const std::string& memberId, const std::string& nameNorm);
  void removeNameKeys(const std::string& memberId, const std::string& nameNorm);
  void addConsentRow(const std::string& memberId, const ConsentDecision& decision);

  db::Database& m_db;
  const AtRestKeys& m_keys;
  /// Scratch for opening sealed values (the associated data and the plaintext), reused row by row.
  mutable std::string m_context, m_plain;
};

/// Schema version 5: moves version 4's plaintext phone, phone_rev and birthday columns into a
/// rebuilt members table with sealed values and keyed hashes (a migration step; the caller runs it
/// inside the migration's transaction with a Scrub in force).
void sealVersion4Members(db::Database& db);

/// Schema version 7: every member found by name is also found by the pinyin of their name (a
/// migration step, inside the migration's transaction).
void addVersion7PinyinKeys(db::Database& db);

}  // namespace loyalty::terminal
