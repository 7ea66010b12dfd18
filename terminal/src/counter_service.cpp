#include "loyalty/terminal/counter_service.hpp"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "loyalty/core/card.hpp"
#include "loyalty/core/phone.hpp"
#include "loyalty/core/points.hpp"
#include "loyalty/core/text.hpp"
#include "loyalty/sync/event_types.hpp"
#include "loyalty/terminal/json_codec.hpp"
#include "loyalty/terminal/staff.hpp"

namespace loyalty::terminal {

using nlohmann::json;

// [SECTION] Ids

RandomIds::RandomIds() : m_gen((std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}()) {}

std::string RandomIds::uuid() {
  const std::uint64_t hi = (m_gen() & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;
  const std::uint64_t lo = (m_gen() & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
  return buf;
}

// [SECTION] Validation helpers

namespace {

constexpr std::size_t kMaxIdLength = 64;
constexpr std::size_t kMaxSkuLength = 64;
constexpr std::size_t kMaxDescriptionLength = 200;
constexpr std::size_t kMaxNameLength = 64;  // code points
constexpr std::size_t kMaxLines = 10000;  // real wholesale invoices exceed 1,000 lines
constexpr std::int64_t kMaxQty = 1'000'000;
constexpr std::int64_t kMaxPoints = 1'000'000'000;

bool hasControlChars(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
}

/// Idempotency keys and ids chosen by the caller: 1..64 printable characters.
Status checkId(const std::string& value, const std::string& field) {
  if (value.empty()) return invalidArgument(field, field + " is required");
  if (value.size() > kMaxIdLength) return invalidArgument(field, field + " is longer than 64 characters");
  if (hasControlChars(value) || !isValidUtf8(value)) {
    return invalidArgument(field, field + " has characters that cannot be printed");
  }
  return Ok{};
}

bool isUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

std::string reversed(std::string s) {
  std::reverse(s.begin(), s.end());
  return s;
}

std::string laterOf(const std::optional<std::string>& a, const std::string& b) {
  return a && *a > b ? *a : b;
}

}  // namespace

// [SECTION] Rows

struct CounterService::MemberRow {
  std::string memberId, cardNo, phone, name;
  std::optional<std::string> birthday, language, lastVisitAt;
  bool consentMarketing = false;
  std::string tier, enrolledAt;
  std::int64_t balance = 0, lifetimeSpend = 0;
};

struct CounterService::SaleRow {
  std::string saleId;
  std::optional<std::string> memberId;
  std::int64_t total = 0, pointsEarned = 0, pointsRedeemed = 0, refundable = 0;
  std::int64_t refundedGoods = 0, refundedAmount = 0, pointsReversed = 0, redeemedReturned = 0;
};

namespace {

constexpr const char* kMemberColumns =
    "member_id, card_no, phone, name, birthday, language, consent_marketing, tier, enrolled_at, "
    "balance, lifetime_spend, last_visit_at";

}  // namespace

CounterService::CounterService(db::Database& db, CounterConfig config, IdSource& ids)
    : m_db(db), m_config(std::move(config)), m_ids(ids) {}

namespace {

/// Reads a member row from a statement selecting kMemberColumns.
template <class Row>
Row readMember(const db::Statement& st) {
  Row r;
  r.memberId = st.getText(0);
  r.cardNo = st.getText(1);
  r.phone = st.getText(2);
  r.name = st.getText(3);
  r.birthday = st.getOptText(4);
  r.language = st.getOptText(5);
  r.consentMarketing = st.getInt(6) != 0;
  r.tier = st.getText(7);
  r.enrolledAt = st.getText(8);
  r.balance = st.getInt(9);
  r.lifetimeSpend = st.getInt(10);
  r.lastVisitAt = st.getOptText(11);
  return r;
}

}  // namespace

std::optional<CounterService::MemberRow> CounterService::memberByColumn(const char* sql,
                                                                        const std::string& value) {
  auto& st = m_db.prepare(sql);
  st.bind(1, value);
  std::optional<MemberRow> row;
  if (st.step()) row = readMember<MemberRow>(st);
  st.reset();
  return row;
}

std::optional<CounterService::MemberRow> CounterService::memberById(const std::string& memberId) {
  static const std::string sql = std::string("SELECT ") + kMemberColumns + " FROM members WHERE member_id = ?";
  return memberByColumn(sql.c_str(), memberId);
}

namespace {
const std::string kByCard = std::string("SELECT ") + kMemberColumns + " FROM members WHERE card_no = ?";
const std::string kByPhone = std::string("SELECT ") + kMemberColumns + " FROM members WHERE phone = ?";
}  // namespace

Result<CounterService::MemberRow> CounterService::resolveMember(const std::string& reference,
                                                                const std::string& field) {
  const std::string ref(trim(reference));
  if (ref.empty()) return invalidArgument(field, field + " is required");
  const auto notFound = [&] {
    return Error{errc::kNotFound, field, "no member with " + field + " \"" + ref + "\""};
  };
  if (isUuid(ref)) {
    if (auto m = memberById(ref)) return *m;
    return notFound();
  }
  if (auto card = cardFromQrPayload(ref)) {
    if (auto m = memberByColumn(kByCard.c_str(), *card)) return *m;
    return notFound();
  }
  if (!looksLikeNumber(ref)) {
    return invalidArgument(field, field + " is not a member id, card number or phone number: \"" + ref + "\"");
  }
  const std::string digits = digitsOf(ref);
  const bool cardShaped = ref.find('+') == std::string::npos && digits.size() >= 12 &&
                          digits.size() <= 19 && luhnValid(digits);
  if (cardShaped) {
    if (auto m = memberByColumn(kByCard.c_str(), digits)) return *m;
  }
  auto phone = normalizePhone(ref, m_config.store.phoneRegion, field);
  if (!phone) {
    if (cardShaped) return notFound();
    return phone.error();
  }
  if (auto m = memberByColumn(kByPhone.c_str(), *phone)) return *m;
  return notFound();
}

MemberView CounterService::view(const MemberRow& row) const {
  MemberView v;
  v.memberId = row.memberId;
  v.cardNo = row.cardNo;
  v.name = row.name;
  v.phone = row.phone;
  v.phoneMasked = maskPhone(row.phone, m_config.store.phoneRegion);
  v.tier = row.tier;
  const BalanceView b = splitBalance(row.balance);
  v.points = b.points;
  v.pointsDebt = b.debt;
  v.lifetimeSpend = Money::fromMinor(row.lifetimeSpend);
  v.enrolledAt = row.enrolledAt;
  v.birthday = row.birthday;
  v.consentMarketing = row.consentMarketing;
  v.language = row.language;
  v.lastVisitAt = row.lastVisitAt;
  return v;
}

// [SECTION] Ledger, outbox, idempotency: the three things every operation writes

std::int64_t CounterService::appendLedger(const std::string& memberId, Timestamp at, const char* kind,
                                          std::int64_t points, const std::optional<std::string>& saleId,
                                          const std::string& refId) {
  auto& cur = m_db.prepare("SELECT balance FROM members WHERE member_id = ?");
  cur.bind(1, memberId);
  if (!cur.step()) throw db::DbError("ledger entry for a missing member " + memberId, SQLITE_CONSTRAINT);
  const std::int64_t after = cur.getInt(0) + points;
  cur.reset();
  m_db.prepare("INSERT INTO ledger(member_id, at, kind, points, sale_id, ref_id, balance_after) "
               "VALUES (?, ?, ?, ?, ?, ?, ?)")
      .bind(1, memberId).bind(2, formatRfc3339(at)).bind(3, kind).bind(4, points).bind(5, saleId)
      .bind(6, refId).bind(7, after)
      .run();
  m_db.prepare("UPDATE members SET balance = ? WHERE member_id = ?").bind(1, after).bind(2, memberId).run();
  return after;
}

void CounterService::appendOutbox(const char* type, Timestamp at, const std::string& payloadJson) {
  m_db.prepare("INSERT INTO outbox(event_id, type, at, payload) VALUES (?, ?, ?, ?)")
      .bind(1, m_ids.uuid()).bind(2, type).bind(3, formatRfc3339(at)).bind(4, payloadJson)
      .run();
}

/// The three keyed operations: where each keeps its key, content fingerprint and answer.
struct CounterService::KeyedOp {
  const char* name;
  const char* field;
  const char* selectSql;
  const char* updateSql;
};

const CounterService::KeyedOp CounterService::kSaleKey{
    "sale", "sale_id", "SELECT fingerprint, result FROM sales WHERE sale_id = ?",
    "UPDATE sales SET result = ? WHERE sale_id = ?"};
const CounterService::KeyedOp CounterService::kRedeemKey{
    "redemption", "redemption_id", "SELECT fingerprint, result FROM redemptions WHERE redemption_id = ?",
    "UPDATE redemptions SET result = ? WHERE redemption_id = ?"};
const CounterService::KeyedOp CounterService::kRefundKey{
    "refund", "refund_id", "SELECT fingerprint, result FROM refunds WHERE refund_id = ?",
    "UPDATE refunds SET result = ? WHERE refund_id = ?"};

Result<std::optional<std::string>> CounterService::checkIdempotency(const KeyedOp& op, const std::string& key,
                                                                    const std::string& fingerprint) {
  auto& st = m_db.prepare(op.selectSql);
  st.bind(1, key);
  std::optional<std::string> stored;
  bool same = true;
  if (st.step()) {
    same = st.getText(0) == fingerprint;
    stored = st.getText(1);
  }
  st.reset();
  if (!same) {
    const std::string field = op.field;
    return Error{errc::kConflict, field,
                 field + " \"" + key + "\" was already used for a different " + op.name};
  }
  return stored;
}

void CounterService::rememberResult(const KeyedOp& op, const std::string& key, const std::string& resultJson) {
  m_db.prepare(op.updateSql).bind(1, resultJson).bind(2, key).run();
}

Status CounterService::verifySupervisorPin(const std::optional<std::string>& pin, std::int64_t points) {
  if (points <= m_config.rules.supervisorPinAbovePoints) return Ok{};
  const std::string limit = std::to_string(m_config.rules.supervisorPinAbovePoints);
  if (!pin || pin->empty()) {
    return Error{errc::kForbidden, "supervisor_pin",
                 "redeeming more than " + limit + " points needs a supervisor's PIN"};
  }
  if (!staffByPin(m_db, *pin, "supervisor")) {
    return Error{errc::kForbidden, "supervisor_pin", "that is not a supervisor's PIN"};
  }
  return Ok{};
}

// [SECTION] Enrol

Result<MemberView> CounterService::enroll(const EnrollRequest& r) {
  auto phone = normalizePhone(r.phone, m_config.store.phoneRegion, "phone");
  if (!phone) return phone.error();
  const std::string name(trim(r.name));
  if (name.empty()) return invalidArgument("name", "the member's name is required");
  if (!isValidUtf8(name) || hasControlChars(name)) return invalidArgument("name", "the name has characters that cannot be printed");
  if (utf8Length(name) > kMaxNameLength) return invalidArgument("name", "the name is longer than 64 characters");
  std::optional<std::string> birthday;
  if (r.birthday) {
    auto d = parseDate(*r.birthday, "birthday");
    if (!d) return d.error();
    if (std::chrono::sys_days{*d} > std::chrono::floor<std::chrono::days>(r.at)) {
      return invalidArgument("birthday", "the birthday is in the future");
    }
    birthday = formatDate(*d);
  }
  if (r.language && *r.language != "zh-CN" && *r.language != "en") {
    return invalidArgument("language", "language is \"zh-CN\" or \"en\"");
  }
  std::optional<std::string> cardNo;
  if (r.cardNo) {
    auto c = parseCardNumber(*r.cardNo, "card_no");
    if (!c) return c.error();
    cardNo = *c;
  }
  db::Transaction tx(m_db);  // reads that decide the write happen inside it
  std::optional<MemberRow> referrer;
  if (r.referrer) {
    auto ref = resolveMember(*r.referrer, "referrer");
    if (!ref) return ref.error();
    referrer = *ref;
  }
  if (memberByColumn(kByPhone.c_str(), *phone)) {
    return Error{errc::kAlreadyExists, "phone", "a member with this phone number is already enrolled"};
  }
  if (cardNo && memberByColumn(kByCard.c_str(), *cardNo)) {
    return Error{errc::kAlreadyExists, "card_no", "card " + *cardNo + " already belongs to a member"};
  }
  if (!cardNo) {
    do {
      cardNo = issueCardNumber(m_ids.random64());
    } while (memberByColumn(kByCard.c_str(), *cardNo));
  }

  MemberRow row;
  row.memberId = m_ids.uuid();
  row.cardNo = *cardNo;
  row.phone = *phone;
  row.name = name;
  row.birthday = birthday;
  row.language = r.language;
  row.consentMarketing = r.consentMarketing;
  row.tier = "member";
  row.enrolledAt = formatRfc3339(r.at);
  const std::string normName = normalizeName(name);
  m_db.prepare(
          "INSERT INTO members(member_id, card_no, phone, phone_rev, name, name_norm, birthday, language, "
          "consent_marketing, consent_at, consent_store, consent_version, referrer_id, tier, enrolled_at, "
          "enrolled_store, enrolled_terminal) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
      .bind(1, row.memberId).bind(2, row.cardNo).bind(3, row.phone).bind(4, reversed(digitsOf(row.phone)))
      .bind(5, row.name).bind(6, normName).bind(7, row.birthday).bind(8, row.language)
      .bind(9, row.consentMarketing)
      .bind(10, row.consentMarketing ? std::optional(row.enrolledAt) : std::nullopt)
      .bind(11, row.consentMarketing ? std::optional(m_config.store.id) : std::nullopt)
      .bind(12, row.consentMarketing ? std::optional(m_config.consentTextVersion) : std::nullopt)
      .bind(13, referrer ? std::optional(referrer->memberId) : std::nullopt)
      .bind(14, row.tier).bind(15, row.enrolledAt).bind(16, m_config.store.id).bind(17, m_config.terminalId)
      .run();
  auto& key = m_db.prepare("INSERT OR IGNORE INTO member_name_keys(key, member_id) VALUES (?, ?)");
  for (const std::string& k : nameSearchKeys(normName)) key.bind(1, k).bind(2, row.memberId).run();

  json payload = {{"member_id", row.memberId},
                  {"card_no", row.cardNo},
                  {"phone", row.phone},
                  {"name", row.name},
                  {"birthday", row.birthday ? json(*row.birthday) : json(nullptr)},
                  {"language", row.language ? json(*row.language) : json(nullptr)},
                  {"consent_marketing", row.consentMarketing},
                  {"consent_version", row.consentMarketing ? json(m_config.consentTextVersion) : json(nullptr)},
                  {"referrer_id", referrer ? json(referrer->memberId) : json(nullptr)},
                  {"store_id", m_config.store.id},
                  {"terminal_id", m_config.terminalId}};
  appendOutbox(sync::kMemberEnrolled, r.at, payload.dump());
  tx.commit();
  return view(row);
}

// [SECTION] Lookup

std::vector<MemberView> CounterService::memberList(const char* sql, const std::string& a,
                                                   const std::string& b, int limit) {
  auto& st = m_db.prepare(sql);
  st.bind(1, a).bind(2, b).bind(3, limit);
  std::vector<MemberView> out;
  while (st.step()) out.push_back(view(readMember<MemberRow>(st)));
  st.reset();
  return out;
}

Result<std::vector<MemberView>> CounterService::lookup(const LookupRequest& r) {
  const std::string query(trim(r.query));
  if (query.empty()) return invalidArgument("query", "type a phone number, card number or name");
  if (!isValidUtf8(query) || hasControlChars(query)) return invalidArgument("query", "the query has characters that cannot be printed");
  if (query.size() > 128) return invalidArgument("query", "the query is longer than 128 characters");
  if (r.limit < 1 || r.limit > 200) return invalidArgument("limit", "limit is between 1 and 200");
  const auto limit = static_cast<std::size_t>(r.limit);

  std::vector<MemberView> matches;
  const auto add = [&](std::vector<MemberView> more) {
    for (auto& m : more) {
      if (matches.size() >= limit) return;
      const bool seen = std::any_of(matches.begin(), matches.end(),
                                    [&](const MemberView& x) { return x.memberId == m.memberId; });
      if (!seen) matches.push_back(std::move(m));
    }
  };
  const auto addRow = [&](const std::optional<MemberRow>& row) {
    if (row) add({view(*row)});
  };
  const db::ReadTransaction snapshot(m_db);

  if (isUuid(query)) {
    addRow(memberById(query));
    return matches;
  }
  if (auto card = cardFromQrPayload(query)) {
    addRow(memberByColumn(kByCard.c_str(), *card));
    return matches;
  }
  if (looksLikeNumber(query)) {
    const std::string digits = digitsOf(query);
    if (digits.size() < 4) return invalidArgument("query", "type at least the last 4 digits of the phone");
    if (digits.size() >= 12 && digits.size() <= 19 && luhnValid(digits)) {
      addRow(memberByColumn(kByCard.c_str(), digits));
    }
    if (auto phone = normalizePhone(query, m_config.store.phoneRegion)) addRow(memberByColumn(kByPhone.c_str(), *phone));
    if (!matches.empty()) return matches;  // a whole phone or card number names one member
    static const std::string bySuffix = std::string("SELECT ") + kMemberColumns +
                                        " FROM members WHERE phone_rev >= ? AND phone_rev < ? ORDER BY phone_rev LIMIT ?";
    const std::string rev = reversed(digits);
    add(memberList(bySuffix.c_str(), rev, prefixUpperBound(rev), r.limit));
    return matches;
  }

  // A name: whole names and given names equal to the query first, then prefixes in name order.
  const std::string norm = normalizeName(query);
  static const std::string byKey =
      std::string("SELECT ") + kMemberColumns +
      " FROM member_name_keys k JOIN members USING (member_id) WHERE k.key >= ?1 AND k.key < ?2 "
      "ORDER BY k.key, k.member_id LIMIT ?3";
  // [norm, norm + NUL) holds exactly norm: the same statement serves the exact match.
  add(memberList(byKey.c_str(), norm, norm + std::string(1, '\0'), r.limit));
  if (matches.size() < limit) {
    // Over-fetch: a member may match under several keys.
    add(memberList(byKey.c_str(), norm, prefixUpperBound(norm), r.limit * 3));
  }
  return matches;
}

// [SECTION] Member

Result<MemberDetail> CounterService::member(const std::string& reference, Timestamp /*at*/) {
  auto row = resolveMember(reference, "member");
  if (!row) return row.error();
  // Greetings of the day come with the loyalty rules (birthdays, festivals, ...).
  return MemberDetail{view(*row), {}};
}

// [SECTION] Sale

Result<SaleResult> CounterService::sale(const SaleRequest& r) {
  if (auto s = checkId(r.saleId, "sale_id"); !s) return s.error();
  if (r.lines.empty()) return invalidArgument("lines", "a sale needs at least one line");
  if (r.lines.size() > kMaxLines) return invalidArgument("lines", "a sale has at most 10000 lines");
  struct Line {
    const SaleLineInput* input;
    UnitPrice price;
    Money amount;
  };
  std::vector<Line> lines;
  lines.reserve(r.lines.size());
  Money subtotal;
  Money refundable;
  std::string fingerprint;
  for (std::size_t i = 0; i < r.lines.size(); ++i) {
    const SaleLineInput& in = r.lines[i];
    const std::string f = "lines[" + std::to_string(i) + "]";
    if (in.sku.empty() || in.sku.size() > kMaxSkuLength || hasControlChars(in.sku) || !isValidUtf8(in.sku)) {
      return invalidArgument(f + ".sku", "sku has 1 to 64 printable characters");
    }
    if (in.description && (in.description->size() > kMaxDescriptionLength || !isValidUtf8(*in.description))) {
      return invalidArgument(f + ".description", "description has at most 200 bytes of UTF-8 text");
    }
    if (in.qty == 0) return invalidArgument(f + ".qty", "qty is a non-zero whole number");
    if (in.qty > kMaxQty || in.qty < -kMaxQty) return invalidArgument(f + ".qty", "qty is at most 1000000 either way");
    auto price = UnitPrice::parse(in.unitPrice, f + ".unit_price");
    if (!price) return price.error();
    auto amount = lineAmount(in.qty, *price, f + ".unit_price");
    if (!amount) return amount.error();
    subtotal += *amount;
    if (*amount > Money{}) refundable += *amount;
    lines.push_back({&in, *price, *amount});
    fingerprint += in.sku + '\x1f' + in.description.value_or("") + '\x1f' + std::to_string(in.qty) + '\x1f' +
                   price->toString() + '\x1e';
  }
  if (subtotal.minor() > kMaxAbsMinor || subtotal.minor() < -kMaxAbsMinor) {
    return invalidArgument("lines", "the sale total is too large");
  }
  if (r.redeemPoints < 0 || r.redeemPoints > kMaxPoints) {
    return invalidArgument("redeem_points", "redeem_points is a whole number from 0 to 1000000000");
  }
  const Money discount = pointsValue(r.redeemPoints, m_config.rules.redeemPointsPerUnit);
  if (r.redeemPoints > 0) {
    if (!r.member) return invalidArgument("redeem_points", "only a member can pay with points");
    if (discount > subtotal) {
      return invalidArgument("redeem_points", "the points are worth more than the sale (" + subtotal.toString() + ")");
    }
  }
  db::Transaction tx(m_db);  // reads that decide the write happen inside it
  std::optional<MemberRow> member;
  if (r.member) {
    auto m = resolveMember(*r.member, "member");
    if (!m) return m.error();
    member = *m;
  }
  fingerprint = (member ? member->memberId : "-") + '\x1d' + std::to_string(r.redeemPoints) + '\x1d' + fingerprint;
  auto replay = checkIdempotency(kSaleKey, r.saleId, fingerprint);
  if (!replay) return replay.error();
  if (*replay) return json::parse(**replay).get<SaleResult>();
  if (member && r.redeemPoints > 0) {
    if (auto s = checkRedemption(member->balance, r.redeemPoints, "redeem_points"); !s) return s.error();
  }

  const Money total = subtotal - discount;
  std::int64_t points = 0;
  if (member) {
    points = total > Money{} ? earnedPoints(total, m_config.rules.earnPointsPerUnit, Multiplier{})
                             : -returnReversalPoints(total, m_config.rules.earnPointsPerUnit);
  }
  const std::string at = formatRfc3339(r.at);
  m_db.prepare("INSERT INTO sales(sale_id, member_id, at, subtotal, discount, total, points_earned, "
               "points_redeemed, refundable, fingerprint, result) VALUES (?,?,?,?,?,?,?,?,?,?,'')")
      .bind(1, r.saleId).bind(2, member ? std::optional(member->memberId) : std::nullopt).bind(3, at)
      .bind(4, subtotal.minor()).bind(5, discount.minor()).bind(6, total.minor()).bind(7, points)
      .bind(8, r.redeemPoints).bind(9, refundable.minor()).bind(10, fingerprint)
      .run();
  auto& insertLine = m_db.prepare("INSERT INTO sale_lines(sale_id, line_no, sku, description, qty, unit_price, amount) "
                                  "VALUES (?,?,?,?,?,?,?)");
  json payloadLines = json::array();
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const Line& l = lines[i];
    insertLine.bind(1, r.saleId).bind(2, static_cast<std::int64_t>(i + 1)).bind(3, l.input->sku)
        .bind(4, l.input->description).bind(5, l.input->qty).bind(6, l.price.tenThousandths())
        .bind(7, l.amount.minor())
        .run();
    payloadLines.push_back({{"sku", l.input->sku},
                            {"description", l.input->description ? json(*l.input->description) : json(nullptr)},
                            {"qty", l.input->qty},
                            {"unit_price", l.price.toString()},
                            {"amount", l.amount.toString()}});
  }
  SaleResult result;
  result.saleId = r.saleId;
  result.subtotal = subtotal;
  result.discount = discount;
  result.total = total;
  result.pointsEarned = points;
  result.pointsRedeemed = r.redeemPoints;
  if (member) {
    std::int64_t balance = member->balance;
    if (r.redeemPoints > 0) balance = appendLedger(member->memberId, r.at, "redeem", -r.redeemPoints, r.saleId, r.saleId);
    if (points != 0) balance = appendLedger(member->memberId, r.at, points > 0 ? "earn" : "reversal", points, r.saleId, r.saleId);
    m_db.prepare("UPDATE members SET lifetime_spend = lifetime_spend + ?, last_visit_at = ? WHERE member_id = ?")
        .bind(1, total.minor()).bind(2, laterOf(member->lastVisitAt, at)).bind(3, member->memberId)
        .run();
    result.balance = balance;
    result.tier = member->tier;
  }
  const json payload = {{"sale_id", r.saleId},
                        {"member_id", member ? json(member->memberId) : json(nullptr)},
                        {"store_id", m_config.store.id},
                        {"terminal_id", m_config.terminalId},
                        {"lines", std::move(payloadLines)},
                        {"subtotal", subtotal.toString()},
                        {"discount", discount.toString()},
                        {"total", total.toString()},
                        {"points_earned", points},
                        {"points_redeemed", r.redeemPoints}};
  appendOutbox(sync::kSaleRecorded, r.at, payload.dump());
  rememberResult(kSaleKey, r.saleId, json(result).dump());
  tx.commit();
  return result;
}

// [SECTION] Redeem

Result<RedeemResult> CounterService::redeem(const RedeemRequest& r) {
  if (auto s = checkId(r.redemptionId, "redemption_id"); !s) return s.error();
  if (r.points.has_value() == r.reward.has_value()) {
    return invalidArgument("points", "give either points or a reward, not both");
  }
  if (r.points && (*r.points <= 0 || *r.points > kMaxPoints)) {
    return invalidArgument("points", "points is a whole number from 1 to 1000000000");
  }
  if (r.reward) {
    if (auto s = checkId(*r.reward, "reward"); !s) return s.error();
  }
  db::Transaction tx(m_db);  // reads that decide the write happen inside it
  auto member = resolveMember(r.member, "member");
  if (!member) return member.error();
  std::int64_t points = r.points.value_or(0);
  if (r.reward) {
    auto& st = m_db.prepare("SELECT points FROM rewards WHERE reward_id = ? AND active = 1");
    st.bind(1, *r.reward);
    const bool found = st.step();
    if (found) points = st.getInt(0);
    st.reset();
    if (!found) return Error{errc::kNotFound, "reward", "no reward \"" + *r.reward + "\" in the catalogue"};
  }
  const std::string fingerprint = member->memberId + '\x1d' + std::to_string(points) + '\x1d' + r.reward.value_or("");
  auto replay = checkIdempotency(kRedeemKey, r.redemptionId, fingerprint);
  if (!replay) return replay.error();
  if (*replay) return json::parse(**replay).get<RedeemResult>();
  if (auto s = verifySupervisorPin(r.supervisorPin, points); !s) return s.error();
  if (auto s = checkRedemption(member->balance, points, r.reward ? "reward" : "points"); !s) return s.error();
  m_db.prepare("INSERT INTO redemptions(redemption_id, member_id, at, points, reward_id, fingerprint, result) "
               "VALUES (?,?,?,?,?,?,'')")
      .bind(1, r.redemptionId).bind(2, member->memberId).bind(3, formatRfc3339(r.at)).bind(4, points)
      .bind(5, r.reward).bind(6, fingerprint)
      .run();
  RedeemResult result{r.redemptionId, points,
                      appendLedger(member->memberId, r.at, "redeem", -points, std::nullopt, r.redemptionId)};
  const json payload = {{"redemption_id", r.redemptionId},
                        {"member_id", member->memberId},
                        {"points", points},
                        {"reward_id", r.reward ? json(*r.reward) : json(nullptr)},
                        {"store_id", m_config.store.id},
                        {"terminal_id", m_config.terminalId}};
  appendOutbox(sync::kPointsRedeemed, r.at, payload.dump());
  rememberResult(kRedeemKey, r.redemptionId, json(result).dump());
  tx.commit();
  return result;
}

// [SECTION] Refund

Result<RefundResult> CounterService::refund(const RefundRequest& r) {
  if (auto s = checkId(r.refundId, "refund_id"); !s) return s.error();
  if (auto s = checkId(r.saleId, "sale_id"); !s) return s.error();
  std::string fingerprint = r.saleId + '\x1d';
  if (r.lines) {
    if (r.lines->empty()) return invalidArgument("lines", "list the lines to refund, or leave lines out to refund everything");
    for (std::size_t i = 0; i < r.lines->size(); ++i) {
      const RefundLineInput& l = (*r.lines)[i];
      const std::string f = "lines[" + std::to_string(i) + "]";
      if (l.sku.empty() || l.sku.size() > kMaxSkuLength) return invalidArgument(f + ".sku", "sku has 1 to 64 characters");
      if (l.qty <= 0 || l.qty > kMaxQty) return invalidArgument(f + ".qty", "qty to refund is a positive whole number");
      fingerprint += l.sku + '\x1f' + std::to_string(l.qty) + '\x1e';
    }
  } else {
    fingerprint += "*";
  }

  db::Transaction tx(m_db);  // reads that decide the write happen inside it
  auto& saleSt = m_db.prepare(
      "SELECT sale_id, member_id, total, points_earned, points_redeemed, refundable, refunded_goods, "
      "refunded_amount, points_reversed, redeemed_returned FROM sales WHERE sale_id = ?");
  saleSt.bind(1, r.saleId);
  std::optional<SaleRow> found;
  if (saleSt.step()) {
    found = SaleRow{saleSt.getText(0), saleSt.getOptText(1), saleSt.getInt(2), saleSt.getInt(3), saleSt.getInt(4),
                    saleSt.getInt(5), saleSt.getInt(6), saleSt.getInt(7), saleSt.getInt(8), saleSt.getInt(9)};
  }
  saleSt.reset();
  if (!found) return Error{errc::kNotFound, "sale_id", "no sale \"" + r.saleId + "\" on this terminal"};
  const SaleRow& sale = *found;

  auto replay = checkIdempotency(kRefundKey, r.refundId, fingerprint);
  if (!replay) return replay.error();
  if (*replay) return json::parse(**replay).get<RefundResult>();

  struct SaleLine {
    std::int64_t lineNo, qty, unitPrice, refundedQty, newRefundedQty;
    std::string sku;
  };
  std::vector<SaleLine> saleLines;
  auto& linesSt = m_db.prepare(
      "SELECT line_no, sku, qty, unit_price, refunded_qty FROM sale_lines WHERE sale_id = ? ORDER BY line_no");
  linesSt.bind(1, r.saleId);
  while (linesSt.step()) {
    saleLines.push_back({linesSt.getInt(0), linesSt.getInt(2), linesSt.getInt(3), linesSt.getInt(4),
                         linesSt.getInt(4), linesSt.getText(1)});
  }
  linesSt.reset();

  if (r.lines) {
    for (std::size_t i = 0; i < r.lines->size(); ++i) {
      const RefundLineInput& want = (*r.lines)[i];
      std::int64_t left = want.qty;
      bool onSale = false;
      for (SaleLine& l : saleLines) {
        if (l.sku != want.sku || l.qty <= 0) continue;
        onSale = true;
        const std::int64_t take = std::min(left, l.qty - l.newRefundedQty);
        l.newRefundedQty += take;
        left -= take;
      }
      const std::string f = "lines[" + std::to_string(i) + "]";
      if (!onSale) return invalidArgument(f + ".sku", "sku " + want.sku + " is not on sale " + r.saleId);
      if (left > 0) {
        return invalidArgument(f + ".qty", "only " + std::to_string(want.qty - left) + " of " + want.sku +
                                               " are left to refund on this sale");
      }
    }
  } else {
    for (SaleLine& l : saleLines) {
      if (l.qty > 0) l.newRefundedQty = l.qty;
    }
  }
  Money goodsNow;
  for (const SaleLine& l : saleLines) {
    if (l.newRefundedQty == l.refundedQty) continue;
    const auto price = UnitPrice::fromTenThousandths(l.unitPrice);
    // Cumulative amounts, so partial refunds of one line add up to exactly its amount.
    goodsNow += *lineAmount(l.newRefundedQty, price, "qty") - *lineAmount(l.refundedQty, price, "qty");
  }
  const bool anything = std::any_of(saleLines.begin(), saleLines.end(),
                                    [](const SaleLine& l) { return l.newRefundedQty != l.refundedQty; });
  if (!anything) return invalidArgument(r.lines ? "lines" : "sale_id", "nothing is left to refund on sale " + r.saleId);

  const Money refundable = Money::fromMinor(sale.refundable);
  const Money goodsCum = Money::fromMinor(sale.refundedGoods) + goodsNow;
  const Money paid = Money::fromMinor(std::max<std::int64_t>(sale.total, 0));
  const Money amountCum = proportionalShare(paid, goodsCum, refundable);
  const Money amountNow = amountCum - Money::fromMinor(sale.refundedAmount);
  const std::int64_t reverseNow =
      refundReversalPoints(std::max<std::int64_t>(sale.pointsEarned, 0), paid, amountCum, sale.pointsReversed);
  const std::int64_t redeemedCum = mulDivFloor(sale.pointsRedeemed, goodsCum.minor(), std::max<std::int64_t>(refundable.minor(), 1));
  const std::int64_t redeemedNow = redeemedCum - sale.redeemedReturned;
  const std::string at = formatRfc3339(r.at);
  m_db.prepare("INSERT INTO refunds(refund_id, sale_id, at, amount, points_reversed, fingerprint, result) "
               "VALUES (?,?,?,?,?,?,'')")
      .bind(1, r.refundId).bind(2, r.saleId).bind(3, at).bind(4, amountNow.minor()).bind(5, reverseNow)
      .bind(6, fingerprint)
      .run();
  json payloadLines = json::array();
  for (const SaleLine& l : saleLines) {
    if (l.newRefundedQty == l.refundedQty) continue;
    const std::int64_t qty = l.newRefundedQty - l.refundedQty;
    m_db.prepare("INSERT INTO refund_lines(refund_id, line_no, qty) VALUES (?,?,?)")
        .bind(1, r.refundId).bind(2, l.lineNo).bind(3, qty).run();
    m_db.prepare("UPDATE sale_lines SET refunded_qty = ? WHERE sale_id = ? AND line_no = ?")
        .bind(1, l.newRefundedQty).bind(2, r.saleId).bind(3, l.lineNo).run();
    payloadLines.push_back({{"line_no", l.lineNo}, {"sku", l.sku}, {"qty", qty}});
  }
  m_db.prepare("UPDATE sales SET refunded_goods = ?, refunded_amount = ?, points_reversed = points_reversed + ?, "
               "redeemed_returned = ? WHERE sale_id = ?")
      .bind(1, goodsCum.minor()).bind(2, amountCum.minor()).bind(3, reverseNow).bind(4, redeemedCum)
      .bind(5, r.saleId)
      .run();
  RefundResult result{r.refundId, amountNow, reverseNow, std::nullopt};
  if (sale.memberId) {
    auto& cur = m_db.prepare("SELECT balance FROM members WHERE member_id = ?");
    cur.bind(1, *sale.memberId);
    cur.step();
    std::int64_t balance = cur.getInt(0);
    cur.reset();
    // Points paid with come back first, so the member never shows a debt that is not real.
    if (redeemedNow > 0) balance = appendLedger(*sale.memberId, r.at, "reversal", redeemedNow, r.saleId, r.refundId);
    if (reverseNow > 0) balance = appendLedger(*sale.memberId, r.at, "reversal", -reverseNow, r.saleId, r.refundId);
    m_db.prepare("UPDATE members SET lifetime_spend = lifetime_spend - ? WHERE member_id = ?")
        .bind(1, amountNow.minor()).bind(2, *sale.memberId).run();
    result.balance = balance;
  }
  const json payload = {{"refund_id", r.refundId},
                        {"sale_id", r.saleId},
                        {"member_id", sale.memberId ? json(*sale.memberId) : json(nullptr)},
                        {"store_id", m_config.store.id},
                        {"terminal_id", m_config.terminalId},
                        {"lines", std::move(payloadLines)},
                        {"amount", amountNow.toString()},
                        {"points_reversed", reverseNow},
                        {"points_returned", redeemedNow}};
  appendOutbox(sync::kSaleRefunded, r.at, payload.dump());
  rememberResult(kRefundKey, r.refundId, json(result).dump());
  tx.commit();
  return result;
}

// [SECTION] History, stats, verify, catalogue

Result<std::vector<HistoryEntry>> CounterService::history(const std::string& reference, int limit) {
  if (limit < 1 || limit > 1000) return invalidArgument("limit", "limit is between 1 and 1000");
  auto member = resolveMember(reference, "member");
  if (!member) return member.error();
  auto& st = m_db.prepare("SELECT at, kind, points, sale_id, balance_after FROM ledger WHERE member_id = ? "
                          "ORDER BY entry_id DESC LIMIT ?");
  st.bind(1, member->memberId).bind(2, limit);
  std::vector<HistoryEntry> entries;
  while (st.step()) entries.push_back({st.getText(0), st.getText(1), st.getInt(2), st.getOptText(3), st.getInt(4)});
  st.reset();
  return entries;
}

Stats CounterService::stats() {
  auto& st = m_db.prepare(
      "SELECT (SELECT COUNT(*) FROM members), (SELECT COUNT(*) FROM sales), (SELECT COUNT(*) FROM ledger), "
      "(SELECT COUNT(*) FROM outbox WHERE seq > (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'outbox_acked_through'))");
  st.step();
  Stats s{st.getInt(0), st.getInt(1), st.getInt(2), st.getInt(3)};
  st.reset();
  return s;
}

VerifyReport CounterService::verify() {
  VerifyReport report;
  const auto collect = [&](const char* sql, const std::string& what) {
    auto& st = m_db.prepare(sql);
    while (st.step()) report.problems.push_back(what + ": " + st.getText(0));
    st.reset();
  };
  collect("SELECT m.member_id || ' cached ' || m.balance || ' ledger ' || COALESCE(SUM(l.points), 0) "
          "FROM members m LEFT JOIN ledger l USING (member_id) GROUP BY m.member_id "
          "HAVING m.balance != COALESCE(SUM(l.points), 0) LIMIT 20",
          "balance differs from the ledger sum");
  collect("SELECT entry_id FROM (SELECT entry_id, balance_after, SUM(points) OVER "
          "(PARTITION BY member_id ORDER BY entry_id) AS running FROM ledger) WHERE running != balance_after LIMIT 20",
          "ledger balance_after is not the running sum at entry");
  collect("SELECT m.member_id || ' cached ' || m.lifetime_spend FROM members m "
          "WHERE m.lifetime_spend != COALESCE((SELECT SUM(total) FROM sales s WHERE s.member_id = m.member_id), 0) "
          "- COALESCE((SELECT SUM(f.amount) FROM refunds f JOIN sales s USING (sale_id) WHERE s.member_id = m.member_id), 0) "
          "LIMIT 20",
          "lifetime spend differs from sales minus refunds");
  collect("SELECT 'seq ' || MIN(seq) || '..' || MAX(seq) || ' holds ' || COUNT(*) || ' events' FROM outbox "
          "HAVING COUNT(*) > 0 AND (MIN(seq) != 1 OR MAX(seq) - MIN(seq) + 1 != COUNT(*))",
          "outbox sequence has gaps");
  collect("SELECT type || ': ' || n || ' events for ' || rows || ' rows' FROM ("
          "SELECT 'member.enrolled' AS type, (SELECT COUNT(*) FROM outbox WHERE type = 'member.enrolled') AS n, "
          "(SELECT COUNT(*) FROM members) AS rows UNION ALL "
          "SELECT 'sale.recorded', (SELECT COUNT(*) FROM outbox WHERE type = 'sale.recorded'), (SELECT COUNT(*) FROM sales) "
          "UNION ALL SELECT 'sale.refunded', (SELECT COUNT(*) FROM outbox WHERE type = 'sale.refunded'), "
          "(SELECT COUNT(*) FROM refunds) UNION ALL SELECT 'points.redeemed', "
          "(SELECT COUNT(*) FROM outbox WHERE type = 'points.redeemed'), (SELECT COUNT(*) FROM redemptions)) "
          "WHERE n != rows",
          "outbox events do not match the rows they record");
  auto& st = m_db.prepare("SELECT (SELECT COUNT(*) FROM members), (SELECT COUNT(*) FROM outbox)");
  st.step();
  report.membersChecked = st.getInt(0);
  report.outboxEvents = st.getInt(1);
  st.reset();
  return report;
}

Status CounterService::putReward(const std::string& rewardId, const std::string& name, std::int64_t points) {
  if (auto s = checkId(rewardId, "reward_id"); !s) return s;
  if (trim(name).empty() || !isValidUtf8(name)) return invalidArgument("name", "a reward needs a name");
  if (points <= 0 || points > kMaxPoints) return invalidArgument("points", "a reward costs a positive number of points");
  m_db.prepare("INSERT INTO rewards(reward_id, name, points) VALUES (?,?,?) "
               "ON CONFLICT(reward_id) DO UPDATE SET name = excluded.name, points = excluded.points, active = 1")
      .bind(1, rewardId).bind(2, std::string(trim(name))).bind(3, points)
      .run();
  return Ok{};
}

}  // namespace loyalty::terminal
