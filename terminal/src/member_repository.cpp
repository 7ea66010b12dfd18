#include "loyalty/terminal/member_repository.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "loyalty/core/text.hpp"

namespace loyalty::terminal {
namespace {

// [SECTION] Columns, read by name

constexpr std::array<std::string_view, 15> kColumns = {
    "member_id",        "card_no",     "personal_sealed", "name",           "language",
    "consent_marketing", "tier",       "enrolled_at",     "balance",        "lifetime_spend",
    "last_visit_at",    "tier_upgraded_at", "tier_reviewed_month", "referrer_id", "referral_bonus_paid"};

/// The position of a column in kColumns; a name not in it does not compile.
consteval int col(std::string_view name) {
  for (std::size_t i = 0; i < kColumns.size(); ++i) {
    if (kColumns[i] == name) return static_cast<int>(i);
  }
  throw "not a column of kColumns";
}

std::string selectColumns() {
  std::string sql = "SELECT ";
  for (std::size_t i = 0; i < kColumns.size(); ++i) {
    if (i > 0) sql += ", ";
    sql += kColumns[i];
  }
  return sql + " FROM members";
}

const std::string kSelect = selectColumns();

/// What a member's sealed column is bound to: the row and the column.
void personalContext(std::string_view memberId, std::string& out) {
  out.assign(memberId);
  out += "\x1f" "personal_sealed";
}

std::string personalContext(std::string_view memberId) {
  std::string out;
  personalContext(memberId, out);
  return out;
}

/// Phone and birthday are sealed together, so reading a member opens one value (a lookup lists
/// up to 20): "E164" or "E164<US>YYYY-MM-DD".
constexpr char kSeparator = '\x1f';

std::string sealPersonal(const AtRestKeys& keys, const std::string& memberId, const std::string& e164,
                         const std::optional<std::string>& birthday) {
  std::string plain = e164;
  if (birthday) plain += kSeparator + *birthday;
  return keys.seal(Sealed::kMemberField, plain, personalContext(memberId));
}

/// Opens a member's personal value into `phone` and `birthday`. `context` and `plain` are the
/// caller's scratch buffers, reused from row to row: a lookup opens up to 20 values.
void openPersonal(const AtRestKeys& keys, std::string_view memberId, std::string_view sealed, std::string& context,
                  std::string& plain, std::string& phone, std::optional<std::string>& birthday) {
  personalContext(memberId, context);
  keys.open(Sealed::kMemberField, sealed, context, plain);
  const std::string_view opened = plain;
  const auto cut = opened.find(kSeparator);
  phone.assign(opened.substr(0, cut));
  if (cut == std::string_view::npos) {
    birthday.reset();
  } else {
    birthday.emplace(opened.substr(cut + 1));
  }
  std::fill(plain.begin(), plain.end(), '\0');  // no plaintext left behind in the long-lived scratch
}

std::string lastFour(const std::string& e164) {
  const std::string digits = digitsOf(e164);
  return digits.size() > 4 ? digits.substr(digits.size() - 4) : digits;
}

/// The columns personal data is stored in.
struct PersonalColumns {
  std::string phoneKey, lastDigits, sealed;
};

PersonalColumns personalColumns(const AtRestKeys& keys, const std::string& memberId, const std::string& e164,
                                const std::optional<std::string>& birthday) {
  return {keys.phoneLookupKey(e164), keys.lastDigitsKey(lastFour(e164)), sealPersonal(keys, memberId, e164, birthday)};
}

}  // namespace

MemberRepository::MemberRepository(db::Database& db) : m_db(db), m_keys(atRestKeys(db)) {}

// [SECTION] Reading

MemberRecord MemberRepository::read(const db::Statement& st) const {
  MemberRecord r;
  r.memberId = st.getText(col("member_id"));
  r.cardNo = st.getText(col("card_no"));
  openPersonal(m_keys, r.memberId, st.getBlobView(col("personal_sealed")), m_context, m_plain, r.phone, r.birthday);
  r.name = st.getText(col("name"));
  r.language = st.getOptText(col("language"));
  r.consentMarketing = st.getInt(col("consent_marketing")) != 0;
  r.tier = st.getText(col("tier"));
  r.enrolledAt = st.getText(col("enrolled_at"));
  r.balance = st.getInt(col("balance"));
  r.lifetimeSpend = st.getInt(col("lifetime_spend"));
  r.lastVisitAt = st.getOptText(col("last_visit_at"));
  r.tierUpgradedAt = st.getOptText(col("tier_upgraded_at"));
  r.tierReviewedMonth = st.getOptText(col("tier_reviewed_month"));
  r.referrerId = st.getOptText(col("referrer_id"));
  r.referralBonusPaid = st.getInt(col("referral_bonus_paid")) != 0;
  return r;
}

std::optional<MemberRecord> MemberRepository::one(const std::string& sql, const std::string& value, bool blob) {
  auto& st = m_db.prepare(sql);
  if (blob) {
    st.bindBlob(1, value);
  } else {
    st.bind(1, value);
  }
  std::optional<MemberRecord> row;
  if (st.step()) row = read(st);
  st.reset();
  return row;
}

bool MemberRepository::any(const std::string& sql, const std::string& value, bool blob) {
  auto& st = m_db.prepare(sql);
  if (blob) {
    st.bindBlob(1, value);
  } else {
    st.bind(1, value);
  }
  const bool found = st.step();
  st.reset();
  return found;
}

std::optional<MemberRecord> MemberRepository::byId(const std::string& memberId) {
  static const std::string sql = kSelect + " WHERE member_id = ? AND erased_at IS NULL";
  return one(sql, memberId, false);
}

std::optional<MemberRecord> MemberRepository::byCard(const std::string& cardNo) {
  static const std::string sql = kSelect + " WHERE card_no = ? AND erased_at IS NULL";
  return one(sql, cardNo, false);
}

std::optional<MemberRecord> MemberRepository::byPhone(const std::string& e164) {
  static const std::string sql = kSelect + " WHERE phone_key = ? AND erased_at IS NULL";
  return one(sql, m_keys.phoneLookupKey(e164), true);
}

bool MemberRepository::exists(const std::string& memberId) {
  return any("SELECT 1 FROM members WHERE member_id = ? AND erased_at IS NULL", memberId, false);
}

bool MemberRepository::phoneTaken(const std::string& e164) {
  return any("SELECT 1 FROM members WHERE phone_key = ?", m_keys.phoneLookupKey(e164), true);
}

bool MemberRepository::cardTaken(const std::string& cardNo) {
  return any("SELECT 1 FROM members WHERE card_no = ?", cardNo, false);
}

std::vector<MemberRecord> MemberRepository::byPhoneEnding(const std::string& digits, std::size_t limit) {
  std::vector<MemberRecord> out;
  if (digits.size() < 4 || limit == 0) return out;
  const std::string bucket = m_keys.lastDigitsKey(digits.substr(digits.size() - 4));
  if (digits.size() == 4) {
    static const std::string sql = kSelect + " WHERE phone_last4 = ? AND erased_at IS NULL LIMIT ?";
    out.reserve(std::min<std::size_t>(limit, 32));
    auto& st = m_db.prepare(sql);
    st.bindBlob(1, bucket).bind(2, static_cast<std::int64_t>(limit));
    while (st.step()) out.push_back(read(st));
    st.reset();
    return out;
  }
  // Longer endings: the bucket's members are opened and compared (about members / 10,000 rows).
  static const std::string sql = kSelect + " WHERE phone_last4 = ? AND erased_at IS NULL";
  auto& st = m_db.prepare(sql);
  st.bindBlob(1, bucket);
  while (out.size() < limit && st.step()) {
    MemberRecord m = read(st);
    if (digitsOf(m.phone).ends_with(digits)) out.push_back(std::move(m));
  }
  st.reset();
  return out;
}

std::vector<MemberRecord> MemberRepository::byName(const std::string& normalisedQuery, std::size_t limit) {
  // Ids first (the key index alone), so only the members shown are read and opened.
  std::vector<std::string> ids;
  const auto collect = [&](const std::string& upper, std::size_t fetch) {
    auto& st = m_db.prepare(
        "SELECT member_id FROM member_name_keys WHERE key >= ?1 AND key < ?2 ORDER BY key, member_id LIMIT ?3");
    st.bind(1, normalisedQuery).bind(2, upper).bind(3, static_cast<std::int64_t>(fetch));
    while (ids.size() < limit && st.step()) {
      std::string id = st.getText(0);
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(std::move(id));
    }
    st.reset();
  };
  // [query, query + NUL) holds exactly the query: the same statement serves the exact match.
  collect(normalisedQuery + std::string(1, '\0'), limit);
  // Over-fetch: a member may match under several keys.
  if (ids.size() < limit) collect(prefixUpperBound(normalisedQuery), limit * 3);
  std::vector<MemberRecord> out;
  out.reserve(ids.size());
  for (const std::string& id : ids) {
    if (auto m = byId(id)) out.push_back(std::move(*m));
  }
  return out;
}

// [SECTION] Writing

void MemberRepository::insert(const NewMember& m) {
  const PersonalColumns personal = personalColumns(m_keys, m.memberId, m.phone, m.birthday);
  const std::string nameNorm = normalizeName(m.name);
  m_db.prepare(
          "INSERT INTO members(member_id, card_no, phone_key, phone_last4, personal_sealed, name, name_norm, "
          "language, consent_marketing, consent_at, consent_store, consent_version, referrer_id, tier, enrolled_at, "
          "enrolled_store, enrolled_terminal) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
      .bind(1, m.memberId).bind(2, m.cardNo)
      .bindBlob(3, personal.phoneKey).bindBlob(4, personal.lastDigits).bindBlob(5, personal.sealed)
      .bind(6, m.name).bind(7, nameNorm).bind(8, m.language).bind(9, m.consentMarketing).bind(10, m.consentAt)
      .bind(11, m.consentStore).bind(12, m.consentVersion).bind(13, m.referrerId).bind(14, m.tier)
      .bind(15, m.enrolledAt).bind(16, m.enrolledStore).bind(17, m.enrolledTerminal)
      .run();
  addNameKeys(m.memberId, nameNorm);
  addConsentRow(m.memberId, {m.consentAt.value_or(m.enrolledAt), m.consentMarketing, m.consentVersion,
                             m.consentStore ? m.consentStore : std::optional(m.enrolledStore), m.staffId});
}

bool MemberRepository::updateDetails(const std::string& memberId, const MemberDetails& d) {
  auto& find = m_db.prepare("SELECT name_norm, consent_marketing FROM members WHERE member_id = ?");
  find.bind(1, memberId);
  const std::optional<std::string> oldNorm = find.step() ? std::optional(find.getText(0)) : std::nullopt;
  const bool consentChanged = oldNorm && (find.getInt(1) != 0) != d.consentMarketing;
  find.reset();
  if (!oldNorm) throw db::DbError("no member " + memberId + " to update", SQLITE_NOTFOUND);
  const PersonalColumns personal = personalColumns(m_keys, memberId, d.phone, d.birthday);
  const std::string nameNorm = normalizeName(d.name);
  m_db.prepare(
          "UPDATE members SET card_no = ?, phone_key = ?, phone_last4 = ?, personal_sealed = ?, name = ?, "
          "name_norm = ?, language = ?, consent_marketing = ? WHERE member_id = ?")
      .bind(1, d.cardNo).bindBlob(2, personal.phoneKey).bindBlob(3, personal.lastDigits)
      .bindBlob(4, personal.sealed).bind(5, d.name).bind(6, nameNorm).bind(7, d.language)
      .bind(8, d.consentMarketing).bind(9, memberId)
      .run();
  if (*oldNorm != nameNorm) {
    removeNameKeys(memberId, *oldNorm);
    addNameKeys(memberId, nameNorm);
  }
  return consentChanged;
}

void MemberRepository::addConsentRow(const std::string& memberId, const ConsentDecision& d) {
  m_db.prepare("INSERT INTO member_consents(member_id, at, consent_marketing, consent_version, store_id, staff_id) "
               "VALUES (?,?,?,?,?,?)")
      .bind(1, memberId).bind(2, d.at).bind(3, d.consentMarketing).bind(4, d.consentVersion).bind(5, d.storeId)
      .bind(6, d.staffId)
      .run();
}

void MemberRepository::recordConsent(const std::string& memberId, const ConsentDecision& d) {
  addConsentRow(memberId, d);
  m_db.prepare("UPDATE members SET consent_marketing = ?, consent_at = ?, consent_store = ?, consent_version = ? "
               "WHERE member_id = ?")
      .bind(1, d.consentMarketing).bind(2, d.at).bind(3, d.storeId).bind(4, d.consentVersion).bind(5, memberId)
      .run();
}

std::vector<ConsentDecision> MemberRepository::consents(const std::string& memberId) {
  auto& st = m_db.prepare("SELECT at, consent_marketing, consent_version, store_id, staff_id FROM member_consents "
                          "WHERE member_id = ? ORDER BY consent_id");
  st.bind(1, memberId);
  std::vector<ConsentDecision> out;
  while (st.step()) {
    out.push_back({st.getText(0), st.getInt(1) != 0, st.getOptText(2), st.getOptText(3), st.getOptText(4)});
  }
  st.reset();
  return out;
}

void MemberRepository::appendLog(const std::string& memberId, const MemberLogEntry& e) {
  m_db.prepare("INSERT INTO member_log(member_id, at, action, fields, store_id, staff_id) VALUES (?,?,?,?,?,?)")
      .bind(1, memberId).bind(2, e.at).bind(3, e.action).bind(4, e.fields).bind(5, e.storeId).bind(6, e.staffId)
      .run();
}

std::vector<MemberLogEntry> MemberRepository::log(const std::string& memberId) {
  auto& st = m_db.prepare("SELECT at, action, fields, store_id, staff_id FROM member_log WHERE member_id = ? "
                          "ORDER BY entry_id");
  st.bind(1, memberId);
  std::vector<MemberLogEntry> out;
  while (st.step()) out.push_back({st.getText(0), st.getText(1), st.getText(2), st.getText(3), st.getOptText(4)});
  st.reset();
  return out;
}

bool MemberRepository::isErased(const std::string& memberId) {
  return any("SELECT 1 FROM members WHERE member_id = ? AND erased_at IS NOT NULL", memberId, false);
}

bool MemberRepository::erase(const std::string& memberId, const std::string& at) {
  auto& find = m_db.prepare("SELECT name_norm FROM members WHERE member_id = ? AND erased_at IS NULL");
  find.bind(1, memberId);
  const std::optional<std::string> norm = find.step() ? std::optional(find.getText(0)) : std::nullopt;
  find.reset();
  if (!norm) return false;
  removeNameKeys(memberId, *norm);
  // card_no and phone_key are UNIQUE and NOT NULL: values derived from the id, which no card
  // number or keyed hash can equal. The empty sealed value opens to nothing (reads skip the row).
  m_db.prepare("UPDATE members SET card_no = 'erased:' || member_id, phone_key = CAST('erased:' || member_id AS BLOB), "
               "phone_last4 = X'', personal_sealed = X'', name = '', name_norm = '', language = NULL, "
               "consent_marketing = 0, consent_at = NULL, consent_store = NULL, consent_version = NULL, erased_at = ? "
               "WHERE member_id = ?")
      .bind(1, at).bind(2, memberId)
      .run();
  return true;
}

void MemberRepository::removeFromNameSearch(const std::string& memberId) {
  auto& find = m_db.prepare("SELECT name_norm FROM members WHERE member_id = ?");
  find.bind(1, memberId);
  const std::optional<std::string> norm = find.step() ? std::optional(find.getText(0)) : std::nullopt;
  find.reset();
  if (norm) removeNameKeys(memberId, *norm);
}

void MemberRepository::addNameKeys(const std::string& memberId, const std::string& nameNorm) {
  auto& key = m_db.prepare("INSERT OR IGNORE INTO member_name_keys(key, member_id) VALUES (?, ?)");
  for (const std::string& k : nameSearchKeys(nameNorm)) key.bind(1, k).bind(2, memberId).run();
}

void MemberRepository::removeNameKeys(const std::string& memberId, const std::string& nameNorm) {
  // By primary key (key, member_id): there is no index on member_id alone, and a scan per
  // member would make a large pull quadratic.
  auto& del = m_db.prepare("DELETE FROM member_name_keys WHERE key = ? AND member_id = ?");
  for (const std::string& k : nameSearchKeys(nameNorm)) del.bind(1, k).bind(2, memberId).run();
}

// [SECTION] Upgrade from version 4

void sealVersion4Members(db::Database& db) {
  const AtRestKeys& keys = atRestKeys(db);
  // Every column but the personal ones is copied by SQL; rowids are kept, so lookups list members
  // in the same (enrolment) order as before.
  auto& copy = db.prepare(
      "INSERT INTO members_sealed(rowid, member_id, card_no, phone_key, phone_last4, personal_sealed, name, "
      "name_norm, language, consent_marketing, consent_at, consent_store, consent_version, referrer_id, tier, "
      "enrolled_at, enrolled_store, enrolled_terminal, balance, lifetime_spend, last_visit_at, tier_upgraded_at, "
      "tier_reviewed_month, referral_bonus_paid) "
      "SELECT rowid, member_id, card_no, ?2, ?3, ?4, name, name_norm, language, consent_marketing, consent_at, "
      "consent_store, consent_version, referrer_id, tier, enrolled_at, enrolled_store, enrolled_terminal, balance, "
      "lifetime_spend, last_visit_at, tier_upgraded_at, tier_reviewed_month, referral_bonus_paid "
      "FROM members WHERE rowid = ?1");
  auto& rows = db.prepare("SELECT rowid, member_id, phone, birthday FROM members ORDER BY rowid");
  while (rows.step()) {
    const PersonalColumns personal = personalColumns(keys, rows.getText(1), rows.getText(2), rows.getOptText(3));
    copy.bind(1, rows.getInt(0)).bindBlob(2, personal.phoneKey).bindBlob(3, personal.lastDigits)
        .bindBlob(4, personal.sealed)
        .run();
  }
  rows.reset();
}

// [SECTION] Counter figures

std::optional<std::string> MemberRepository::mergedInto(const std::string& memberId) {
  auto& st = m_db.prepare("SELECT into_id FROM member_merges WHERE from_id = ?");
  st.bind(1, memberId);
  std::optional<std::string> into;
  if (st.step()) into = st.getText(0);
  st.reset();
  return into;
}

void MemberRepository::addSpend(const std::string& memberId, std::int64_t minor) {
  m_db.prepare("UPDATE members SET lifetime_spend = lifetime_spend + ? WHERE member_id = ?")
      .bind(1, minor).bind(2, memberId).run();
}

void MemberRepository::recordVisit(const std::string& memberId, std::int64_t spendMinor,
                                   const std::string& lastVisitAt) {
  m_db.prepare("UPDATE members SET lifetime_spend = lifetime_spend + ?, last_visit_at = ? WHERE member_id = ?")
      .bind(1, spendMinor).bind(2, lastVisitAt).bind(3, memberId).run();
}

void MemberRepository::upgradeTier(const std::string& memberId, const std::string& tier, const std::string& at,
                                   const std::string& month) {
  m_db.prepare("UPDATE members SET tier = ?, tier_upgraded_at = ?, tier_reviewed_month = ? WHERE member_id = ?")
      .bind(1, tier).bind(2, at).bind(3, month).bind(4, memberId).run();
}

void MemberRepository::reviewTier(const std::string& memberId, const std::string& tier, const std::string& month) {
  m_db.prepare("UPDATE members SET tier = ?, tier_reviewed_month = ? WHERE member_id = ?")
      .bind(1, tier).bind(2, month).bind(3, memberId).run();
}

void MemberRepository::markReferralBonusPaid(const std::string& memberId) {
  m_db.prepare("UPDATE members SET referral_bonus_paid = 1 WHERE member_id = ?").bind(1, memberId).run();
}

}  // namespace loyalty::terminal
