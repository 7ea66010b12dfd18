#include "loyalty/terminal/member_repository.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "loyalty/core/pinyin.hpp"
#include "loyalty/core/text.hpp"

namespace loyalty::terminal {
namespace {

// [SECTION] Columns, read by name

constexpr std::array<std::string_view, 15> kColumns = {
    "member_id",        "card_no",     "personal_sealed", "name",           "language",
    "consent_marketing", "tier",       "enrolled_at",     "balance",        "lifetime_spend",
    "last_visit_at",    "tier_upgraded_at", "tier_reviewed_month", "referrer_id", "referral_bonus_paid"};

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

void insertNameKeys(db::Database& db, const std::string& memberId, const std::vector<std::string>& keys) {
  for (const std::string& k : keys) {
    db.query("INSERT OR IGNORE INTO member_name_keys(key, member_id) VALUES (?, ?)").bind(1, k).bind(2, memberId).run();
  }
}

PersonalColumns personalColumns(const AtRestKeys& keys, const std::string& memberId, const std::string& e164,
                                const std::optional<std::string>& birthday) {
  return {keys.phoneLookupKey(e164), keys.lastDigitsKey(lastFour(e164)), sealPersonal(keys, memberId, e164, birthday)};
}

}  // namespace

MemberRepository::MemberRepository(db::Database& db) : m_db(db), m_keys(atRestKeys(db)) {}

// [SECTION] Reading

MemberRecord MemberRepository::read(const db::Query& q) const {
  MemberRecord r;
  r.memberId = q.text("member_id");
  r.cardNo = q.text("card_no");
  openPersonal(m_keys, r.memberId, q.blobView("personal_sealed"), m_context, m_plain, r.phone, r.birthday);
  r.name = q.text("name");
  r.language = q.optText("language");
  r.consentMarketing = q.int64("consent_marketing") != 0;
  r.tier = q.text("tier");
  r.enrolledAt = q.text("enrolled_at");
  r.balance = q.int64("balance");
  r.lifetimeSpend = q.int64("lifetime_spend");
  r.lastVisitAt = q.optText("last_visit_at");
  r.tierUpgradedAt = q.optText("tier_upgraded_at");
  r.tierReviewedMonth = q.optText("tier_reviewed_month");
  r.referrerId = q.optText("referrer_id");
  r.referralBonusPaid = q.int64("referral_bonus_paid") != 0;
  return r;
}

std::optional<MemberRecord> MemberRepository::one(const std::string& sql, const std::string& value, bool blob) {
  auto q = m_db.query(sql);
  if (blob) {
    q.bindBlob(1, value);
  } else {
    q.bind(1, value);
  }
  if (!q.step()) return std::nullopt;
  return read(q);
}

bool MemberRepository::any(const std::string& sql, const std::string& value, bool blob) {
  auto q = m_db.query(sql);
  if (blob) {
    q.bindBlob(1, value);
  } else {
    q.bind(1, value);
  }
  return q.step();
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
    auto q = m_db.query(sql).bindBlob(1, bucket).bind(2, static_cast<std::int64_t>(limit));
    while (q.step()) out.push_back(read(q));
    return out;
  }
  // Longer endings: the bucket's members are opened and compared (about members / 10,000 rows).
  static const std::string sql = kSelect + " WHERE phone_last4 = ? AND erased_at IS NULL";
  auto q = m_db.query(sql).bindBlob(1, bucket);
  while (out.size() < limit && q.step()) {
    MemberRecord m = read(q);
    if (digitsOf(m.phone).ends_with(digits)) out.push_back(std::move(m));
  }
  return out;
}

std::vector<MemberRecord> MemberRepository::byName(const std::string& normalisedQuery, std::size_t limit) {
  // Ids first (the key index alone), so only the members shown are read and opened.
  std::vector<std::string> ids;
  const auto collect = [&](const std::string& upper, std::size_t fetch) {
    auto q = m_db.query("SELECT member_id FROM member_name_keys WHERE key >= ?1 AND key < ?2 "
                        "ORDER BY key, member_id LIMIT ?3")
                 .bind(1, normalisedQuery)
                 .bind(2, upper)
                 .bind(3, static_cast<std::int64_t>(fetch));
    while (ids.size() < limit && q.step()) {
      std::string id = q.text("member_id");
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(std::move(id));
    }
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
  m_db.query(
          "INSERT INTO members(member_id, card_no, phone_key, phone_last4, personal_sealed, name, name_norm, "
          "language, consent_marketing, consent_at, consent_store, consent_version, referrer_id, tier, enrolled_at, "
          "enrolled_store, enrolled_terminal, enrolled_staff) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
      .bind(1, m.memberId).bind(2, m.cardNo)
      .bindBlob(3, personal.phoneKey).bindBlob(4, personal.lastDigits).bindBlob(5, personal.sealed)
      .bind(6, m.name).bind(7, nameNorm).bind(8, m.language).bind(9, m.consentMarketing).bind(10, m.consentAt)
      .bind(11, m.consentStore).bind(12, m.consentVersion).bind(13, m.referrerId).bind(14, m.tier)
      .bind(15, m.enrolledAt).bind(16, m.enrolledStore).bind(17, m.enrolledTerminal).bind(18, m.staffId)
      .run();
  addNameKeys(m.memberId, nameNorm);
  addConsentRow(m.memberId, {m.consentAt.value_or(m.enrolledAt), m.consentMarketing, m.consentVersion,
                             m.consentStore ? m.consentStore : std::optional(m.enrolledStore), m.staffId});
}

bool MemberRepository::updateDetails(const std::string& memberId, const MemberDetails& d) {
  std::optional<std::string> oldNorm;
  bool consentChanged = false;
  {
    auto find = m_db.query("SELECT name_norm, consent_marketing FROM members WHERE member_id = ?").bind(1, memberId);
    if (find.step()) {
      oldNorm = find.text("name_norm");
      consentChanged = (find.int64("consent_marketing") != 0) != d.consentMarketing;
    }
  }
  if (!oldNorm) throw db::DbError("no member " + memberId + " to update", SQLITE_NOTFOUND);
  const PersonalColumns personal = personalColumns(m_keys, memberId, d.phone, d.birthday);
  const std::string nameNorm = normalizeName(d.name);
  m_db.query(
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
  m_db.query("INSERT INTO member_consents(member_id, at, consent_marketing, consent_version, store_id, staff_id) "
             "VALUES (?,?,?,?,?,?)")
      .bind(1, memberId).bind(2, d.at).bind(3, d.consentMarketing).bind(4, d.consentVersion).bind(5, d.storeId)
      .bind(6, d.staffId)
      .run();
}

void MemberRepository::recordConsent(const std::string& memberId, const ConsentDecision& d) {
  addConsentRow(memberId, d);
  m_db.query("UPDATE members SET consent_marketing = ?, consent_at = ?, consent_store = ?, consent_version = ? "
             "WHERE member_id = ?")
      .bind(1, d.consentMarketing).bind(2, d.at).bind(3, d.storeId).bind(4, d.consentVersion).bind(5, memberId)
      .run();
}

std::vector<ConsentDecision> MemberRepository::consents(const std::string& memberId) {
  auto q = m_db.query("SELECT at, consent_marketing, consent_version, store_id, staff_id FROM member_consents "
                      "WHERE member_id = ? ORDER BY consent_id")
               .bind(1, memberId);
  std::vector<ConsentDecision> out;
  while (q.step()) {
    out.push_back({q.text("at"), q.int64("consent_marketing") != 0, q.optText("consent_version"),
                   q.optText("store_id"), q.optText("staff_id")});
  }
  return out;
}

void MemberRepository::appendLog(const std::string& memberId, const MemberLogEntry& e) {
  m_db.query("INSERT INTO member_log(member_id, at, action, fields, store_id, staff_id) VALUES (?,?,?,?,?,?)")
      .bind(1, memberId).bind(2, e.at).bind(3, e.action).bind(4, e.fields).bind(5, e.storeId).bind(6, e.staffId)
      .run();
}

std::vector<MemberLogEntry> MemberRepository::log(const std::string& memberId) {
  auto q = m_db.query("SELECT at, action, fields, store_id, staff_id FROM member_log WHERE member_id = ? "
                      "ORDER BY entry_id")
               .bind(1, memberId);
  std::vector<MemberLogEntry> out;
  while (q.step()) {
    out.push_back({q.text("at"), q.text("action"), q.text("fields"), q.text("store_id"), q.optText("staff_id")});
  }
  return out;
}

bool MemberRepository::isErased(const std::string& memberId) {
  return any("SELECT 1 FROM members WHERE member_id = ? AND erased_at IS NOT NULL", memberId, false);
}

bool MemberRepository::erase(const std::string& memberId, const std::string& at) {
  std::optional<std::string> norm;
  {
    auto find = m_db.query("SELECT name_norm FROM members WHERE member_id = ? AND erased_at IS NULL").bind(1, memberId);
    if (find.step()) norm = find.text("name_norm");
  }
  if (!norm) return false;
  removeNameKeys(memberId, *norm);
  // card_no and phone_key are UNIQUE and NOT NULL: values derived from the id, which no card
  // number or keyed hash can equal. The empty sealed value opens to nothing (reads skip the row).
  m_db.query("UPDATE members SET card_no = 'erased:' || member_id, phone_key = CAST('erased:' || member_id AS BLOB), "
             "phone_last4 = X'', personal_sealed = X'', name = '', name_norm = '', language = NULL, "
             "consent_marketing = 0, consent_at = NULL, consent_store = NULL, consent_version = NULL, erased_at = ? "
             "WHERE member_id = ?")
      .bind(1, at).bind(2, memberId)
      .run();
  return true;
}

void MemberRepository::removeFromNameSearch(const std::string& memberId) {
  std::optional<std::string> norm;
  {
    auto find = m_db.query("SELECT name_norm FROM members WHERE member_id = ?").bind(1, memberId);
    if (find.step()) norm = find.text("name_norm");
  }
  if (norm) removeNameKeys(memberId, *norm);
}

void MemberRepository::addNameKeys(const std::string& memberId, const std::string& nameNorm) {
  insertNameKeys(m_db, memberId, memberNameKeys(nameNorm));
}

void MemberRepository::removeNameKeys(const std::string& memberId, const std::string& nameNorm) {
  // By primary key (key, member_id): there is no index on member_id alone, and a scan per
  // member would make a large pull quadratic.
  for (const std::string& k : memberNameKeys(nameNorm)) {
    m_db.query("DELETE FROM member_name_keys WHERE key = ? AND member_id = ?").bind(1, k).bind(2, memberId).run();
  }
}

// [SECTION] Upgrade from version 4

void sealVersion4Members(db::Database& db) {
  const AtRestKeys& keys = atRestKeys(db);
  // Every column but the personal ones is copied by SQL; rowids are kept, so lookups list members
  // in the same (enrolment) order as before.
  static constexpr const char* kCopy =
      "INSERT INTO members_sealed(rowid, member_id, card_no, phone_key, phone_last4, personal_sealed, name, "
      "name_norm, language, consent_marketing, consent_at, consent_store, consent_version, referrer_id, tier, "
      "enrolled_at, enrolled_store, enrolled_terminal, balance, lifetime_spend, last_visit_at, tier_upgraded_at, "
      "tier_reviewed_month, referral_bonus_paid) "
      "SELECT rowid, member_id, card_no, ?2, ?3, ?4, name, name_norm, language, consent_marketing, consent_at, "
      "consent_store, consent_version, referrer_id, tier, enrolled_at, enrolled_store, enrolled_terminal, balance, "
      "lifetime_spend, last_visit_at, tier_upgraded_at, tier_reviewed_month, referral_bonus_paid "
      "FROM members WHERE rowid = ?1";
  auto rows = db.query("SELECT rowid AS row_id, member_id, phone, birthday FROM members ORDER BY rowid");
  while (rows.step()) {
    const PersonalColumns personal =
        personalColumns(keys, rows.text("member_id"), rows.text("phone"), rows.optText("birthday"));
    db.query(kCopy)
        .bind(1, rows.int64("row_id"))
        .bindBlob(2, personal.phoneKey)
        .bindBlob(3, personal.lastDigits)
        .bindBlob(4, personal.sealed)
        .run();
  }
}

// [SECTION] Upgrade to version 7

void addVersion7PinyinKeys(db::Database& db) {
  // Members still offered by name search (not erased, not merged away) hold their whole name as
  // a key; they gain its pinyin.
  auto rows = db.query(
      "SELECT m.member_id, m.name_norm FROM members m WHERE m.erased_at IS NULL AND m.name_norm != '' AND "
      "EXISTS (SELECT 1 FROM member_name_keys k WHERE k.key = m.name_norm AND k.member_id = m.member_id)");
  while (rows.step()) {
    const std::string nameNorm = rows.text("name_norm");
    insertNameKeys(db, rows.text("member_id"), pinyinSearchKeys(nameNorm));
  }
}

// [SECTION] Counter figures

std::optional<std::string> MemberRepository::mergedInto(const std::string& memberId) {
  auto q = m_db.query("SELECT into_id FROM member_merges WHERE from_id = ?").bind(1, memberId);
  if (!q.step()) return std::nullopt;
  return q.text("into_id");
}

void MemberRepository::addSpend(const std::string& memberId, std::int64_t minor) {
  m_db.query("UPDATE members SET lifetime_spend = lifetime_spend + ? WHERE member_id = ?")
      .bind(1, minor).bind(2, memberId).run();
}

void MemberRepository::recordVisit(const std::string& memberId, std::int64_t balance, std::int64_t spendMinor,
                                   const std::string& lastVisitAt) {
  m_db.query("UPDATE members SET balance = ?, lifetime_spend = lifetime_spend + ?, last_visit_at = ? "
             "WHERE member_id = ?")
      .bind(1, balance).bind(2, spendMinor).bind(3, lastVisitAt).bind(4, memberId).run();
}

void MemberRepository::upgradeTier(const std::string& memberId, const std::string& tier, const std::string& at,
                                   const std::string& month) {
  m_db.query("UPDATE members SET tier = ?, tier_upgraded_at = ?, tier_reviewed_month = ? WHERE member_id = ?")
      .bind(1, tier).bind(2, at).bind(3, month).bind(4, memberId).run();
}

void MemberRepository::reviewTier(const std::string& memberId, const std::string& tier, const std::string& month) {
  m_db.query("UPDATE members SET tier = ?, tier_reviewed_month = ? WHERE member_id = ?")
      .bind(1, tier).bind(2, month).bind(3, memberId).run();
}

void MemberRepository::takeHeadOfficeTier(const std::string& memberId, const std::string& tier,
                                          const std::string& month) {
  m_db.query("UPDATE members SET tier = ?1, tier_reviewed_month = ?2 WHERE member_id = ?3 AND tier != ?1")
      .bind(1, tier).bind(2, month).bind(3, memberId).run();
}

void MemberRepository::markReferralBonusPaid(const std::string& memberId) {
  m_db.query("UPDATE members SET referral_bonus_paid = 1 WHERE member_id = ?").bind(1, memberId).run();
}

}  // namespace loyalty::terminal
