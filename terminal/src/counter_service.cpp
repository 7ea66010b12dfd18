#include "loyalty/terminal/counter_service.hpp"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "loyalty/core/card.hpp"
#include "loyalty/core/greetings.hpp"
#include "loyalty/core/lifecycle.hpp"
#include "loyalty/core/promotions.hpp"
#include "loyalty/core/phone.hpp"
#include "loyalty/core/points.hpp"
#include "loyalty/core/text.hpp"
#include "loyalty/sync/event_types.hpp"
#include "loyalty/sync/protocol.hpp"
#include "loyalty/terminal/at_rest.hpp"
#include "loyalty/terminal/json_codec.hpp"
#include "loyalty/terminal/outbox.hpp"
#include "loyalty/terminal/staff.hpp"
#include "loyalty/terminal/store.hpp"

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
constexpr std::int64_t kMaxPoints = sync::kMaxEventPoints;  // per operation; head office refuses more
constexpr const char* kNeverExpires = "9999-12-31";  // lots of points head office moved here

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

/// A member's name as enroll and member_update take it: trimmed, 1 to 64 printable characters.
Result<std::string> checkMemberName(const std::string& text) {
  std::string name(trim(text));
  if (name.empty()) return invalidArgument("name", "the member's name is required");
  if (!isValidUtf8(name) || hasControlChars(name)) return invalidArgument("name", "the name has characters that cannot be printed");
  if (utf8Length(name) > kMaxNameLength) return invalidArgument("name", "the name is longer than 64 characters");
  return name;
}

/// A birthday (YYYY-MM-DD, not after `at`), normalised.
Result<std::string> checkBirthday(const std::string& text, Timestamp at) {
  auto d = parseDate(text, "birthday");
  if (!d) return d.error();
  if (std::chrono::sys_days{*d} > std::chrono::floor<std::chrono::days>(at)) {
    return invalidArgument("birthday", "the birthday is in the future");
  }
  return formatDate(*d);
}

Status checkLanguage(const std::string& language) {
  if (language != "zh-CN" && language != "en") return invalidArgument("language", "language is \"zh-CN\" or \"en\"");
  return Ok{};
}

/// Names joined with commas (the fields a change touched).
std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

std::string laterOf(const std::optional<std::string>& a, const std::string& b) {
  return a && *a > b ? *a : b;
}

std::optional<Date> localDayOf(const std::optional<std::string>& rfc3339, const ZoneRules& zone) {
  if (!rfc3339) return std::nullopt;
  auto t = parseRfc3339(*rfc3339, "at");
  if (!t) return std::nullopt;
  return zone.localDate(*t);
}

}  // namespace

// [SECTION] Rows

struct CounterService::SaleRow {
  std::string saleId;
  std::optional<std::string> memberId;
  std::int64_t total = 0, pointsEarned = 0, pointsRedeemed = 0, refundable = 0;
  std::int64_t refundedGoods = 0, refundedAmount = 0, pointsReversed = 0, redeemedReturned = 0;
  std::int64_t spendDiscount = 0;
  std::optional<std::string> promoContext;
};

CounterService::CounterService(db::Database& db, CounterConfig config, IdSource& ids)
    : m_db(db), m_members(db), m_config(std::move(config)), m_ids(ids) {}

Result<CounterService::MemberRow> CounterService::resolveMember(const std::string& reference,
                                                                const std::string& field) {
  auto found = resolveReference(reference, field);
  if (!found) return found;
  // A member head office merged into another is served as the survivor (its history stays).
  auto& merged = m_db.prepare("SELECT into_id FROM member_merges WHERE from_id = ?");
  merged.bind(1, found->memberId);
  std::optional<std::string> into;
  if (merged.step()) into = merged.getText(0);
  merged.reset();
  if (into) {
    if (auto survivor = memberById(*into)) return *survivor;
  }
  return found;
}

Result<CounterService::MemberRow> CounterService::resolveReference(const std::string& reference,
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
    if (auto m = m_members.byCard(*card)) return *m;
    return notFound();
  }
  if (!looksLikeNumber(ref)) {
    return invalidArgument(field, field + " is not a member id, card number or phone number: \"" + ref + "\"");
  }
  const std::string digits = digitsOf(ref);
  const bool cardShaped = ref.find('+') == std::string::npos && digits.size() >= 12 &&
                          digits.size() <= 19 && luhnValid(digits);
  if (cardShaped) {
    if (auto m = m_members.byCard(digits)) return *m;
  }
  auto phone = normalizePhone(ref, m_config.store.phoneRegion, field);
  if (!phone) {
    if (cardShaped) return notFound();
    return phone.error();
  }
  if (auto m = m_members.byPhone(*phone)) return *m;
  return notFound();
}

MemberView CounterService::view(MemberRow&& row) const {
  MemberView v;
  v.phoneMasked = maskPhone(row.phone, m_config.store.phoneRegion);
  v.memberId = std::move(row.memberId);
  v.cardNo = std::move(row.cardNo);
  v.name = std::move(row.name);
  v.phone = std::move(row.phone);
  v.tier = std::move(row.tier);
  const BalanceView b = splitBalance(row.balance);
  v.points = b.points;
  v.pointsDebt = b.debt;
  v.lifetimeSpend = Money::fromMinor(row.lifetimeSpend);
  v.enrolledAt = std::move(row.enrolledAt);
  v.birthday = std::move(row.birthday);
  v.consentMarketing = row.consentMarketing;
  v.language = std::move(row.language);
  v.lastVisitAt = std::move(row.lastVisitAt);
  return v;
}

// [SECTION] Ledger, outbox, idempotency: the three things every operation writes

std::int64_t CounterService::appendLedger(const std::string& memberId, Timestamp at, const char* kind,
                                          std::int64_t points, const std::optional<std::string>& saleId,
                                          const std::string& refId) {
  auto& cur = m_db.prepare("SELECT balance FROM members WHERE member_id = ?");
  cur.bind(1, memberId);
  if (!cur.step()) throw db::DbError("ledger entry for a missing member " + memberId, SQLITE_CONSTRAINT);
  const std::int64_t before = cur.getInt(0);
  const std::int64_t after = before + points;
  cur.reset();
  m_db.prepare("INSERT INTO ledger(member_id, at, kind, points, sale_id, ref_id, balance_after) "
               "VALUES (?, ?, ?, ?, ?, ?, ?)")
      .bind(1, memberId).bind(2, formatRfc3339(at)).bind(3, kind).bind(4, points).bind(5, saleId)
      .bind(6, refId).bind(7, after)
      .run();
  const std::int64_t entryId = m_db.lastInsertRowid();
  m_db.prepare("UPDATE members SET balance = ? WHERE member_id = ?").bind(1, after).bind(2, memberId).run();

  // Lots hold the positive part of the balance: credits beyond a debt open a lot, debits take
  // from the lots that expire first.
  if (const std::int64_t credit = lotCredit(before, after); credit > 0) {
    const Date today = m_config.zone.localDate(at);
    // Points head office moved here (reconciliation, kind 'adjust') were earned at another store,
    // which expires them itself; here they never expire.
    const bool fromHeadOffice = std::string_view(kind) == "adjust";
    m_db.prepare("INSERT INTO lots(entry_id, member_id, earned_on, expires_on, points, remaining) "
                 "VALUES (?, ?, ?, ?, ?, ?)")
        .bind(1, entryId).bind(2, memberId).bind(3, formatDate(today))
        .bind(4, fromHeadOffice ? std::string(kNeverExpires) : formatDate(lotExpiresOn(today, m_config.rules.expiry)))
        .bind(5, credit).bind(6, credit)
        .run();
  } else if (const std::int64_t debit = lotDebit(before, after); debit > 0) {
    // Head office taking points back (their store expired or spent them) takes its own lots first.
    auto& open = m_db.prepare(std::string_view(kind) == "adjust"
                                  ? "SELECT lot_id, remaining FROM lots WHERE member_id = ? AND remaining > 0 "
                                    "ORDER BY expires_on DESC, lot_id DESC"
                                  : "SELECT lot_id, remaining FROM lots WHERE member_id = ? AND remaining > 0 "
                                    "ORDER BY expires_on, lot_id");
    open.bind(1, memberId);
    std::vector<LotRemaining> lots;
    std::int64_t held = 0;
    while (held < debit && open.step()) {
      lots.push_back({open.getInt(0), open.getInt(1)});
      held += lots.back().remaining;
    }
    open.reset();
    auto& take = m_db.prepare("UPDATE lots SET remaining = remaining - ? WHERE lot_id = ?");
    for (const LotTake& t : consumeFifo(lots, debit)) take.bind(1, t.take).bind(2, t.lotId).run();
  }
  return after;
}

void CounterService::appendOutbox(const char* type, Timestamp at, const std::string& payloadJson) {
  appendOutboxEvent(m_db, m_ids.uuid(), type, formatRfc3339(at), payloadJson);
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
  if (auto who = authoriseSupervisor(m_db, *pin); !who) return who.error();
  return Ok{};
}

// [SECTION] What is due: expiry, tier reviews, greetings

std::size_t CounterService::tierIndexOf(const MemberRow& row) const {
  return tierIndexByName(row.tier, m_config.rules.tiers).value_or(0);
}

Money CounterService::spendBetween(const std::string& memberId, Date from, Date to) {
  const InstantWindow window = instantsOf({from, to}, m_config.zone);
  const std::string begin = formatRfc3339(window.begin);
  const std::string end = formatRfc3339(window.end);
  auto& st = m_db.prepare(
      "SELECT COALESCE((SELECT SUM(total) FROM sales WHERE member_id = ?1 AND at >= ?2 AND at < ?3), 0) - "
      "COALESCE((SELECT SUM(f.amount) FROM sales s JOIN refunds f USING (sale_id) "
      "WHERE s.member_id = ?1 AND f.at >= ?2 AND f.at < ?3), 0)");
  st.bind(1, memberId).bind(2, begin).bind(3, end);
  st.step();
  const Money spend = Money::fromMinor(st.getInt(0));
  st.reset();
  return spend;
}

bool CounterService::needsSettle(const MemberRow& row, Date today) {
  if (tierReviewDue(tierIndexOf(row), row.tierReviewedMonth.value_or(""), today)) return true;
  auto& st = m_db.prepare("SELECT 1 FROM lots WHERE member_id = ? AND remaining > 0 AND expires_on < ? LIMIT 1");
  st.bind(1, row.memberId).bind(2, formatDate(today));
  const bool due = st.step();
  st.reset();
  return due;
}

void CounterService::appendAdjustEvent(const std::string& memberId, const char* kind, std::int64_t points,
                                       const std::string& refId, const std::string& reason, Timestamp at,
                                       const std::optional<std::string>& referredMemberId) {
  json payload = {{"member_id", memberId},   {"kind", kind},
                  {"points", points},        {"ref_id", refId},
                  {"reason", reason},        {"store_id", m_config.store.id},
                  {"terminal_id", m_config.terminalId}};
  // Head office pays a referral bonus once per referred member, and checks it by this id.
  if (referredMemberId) payload["referred_member_id"] = *referredMemberId;
  appendOutbox(sync::kPointsAdjusted, at, payload.dump());
}

std::int64_t CounterService::settle(MemberRow& row, Timestamp at, HousekeepingResult* tally) {
  const Date today = m_config.zone.localDate(at);
  bool changed = false;

  // Lots past their last day expire, each as its own ledger entry (oldest first, so the FIFO
  // debit of each entry takes exactly its lot).
  struct Due {
    std::int64_t lotId, remaining;
    std::string expiresOn;
  };
  std::vector<Due> due;
  auto& st = m_db.prepare("SELECT lot_id, remaining, expires_on FROM lots WHERE member_id = ? AND remaining > 0 "
                          "AND expires_on < ? ORDER BY expires_on, lot_id");
  st.bind(1, row.memberId).bind(2, formatDate(today));
  while (st.step()) due.push_back({st.getInt(0), st.getInt(1), st.getText(2)});
  st.reset();
  for (const Due& d : due) {
    const std::string ref = "lot:" + std::to_string(d.lotId);
    appendLedger(row.memberId, at, "expire", -d.remaining, std::nullopt, ref);
    appendAdjustEvent(row.memberId, "expire", -d.remaining, ref, "points earned until " + d.expiresOn + " expired", at);
    if (tally) {
      ++tally->expiredEntries;
      tally->pointsExpired += d.remaining;
    }
    changed = true;
  }

  // The monthly review: over the 12 months that ended before this month began, only down.
  const std::size_t current = tierIndexOf(row);
  if (tierReviewDue(current, row.tierReviewedMonth.value_or(""), today)) {
    const DayWindow window = reviewTierWindow(today);
    const std::size_t earned =
        tierAfterReview(current, spendBetween(row.memberId, window.first, window.last), m_config.rules.tiers);
    const std::string tier = earned < current ? m_config.rules.tiers[earned].name : row.tier;
    m_db.prepare("UPDATE members SET tier = ?, tier_reviewed_month = ? WHERE member_id = ?")
        .bind(1, tier).bind(2, reviewMonthOf(today)).bind(3, row.memberId).run();
    if (tally) {
      ++tally->membersReviewed;
      if (earned < current) ++tally->membersDowngraded;
    }
    changed = true;
  }
  if (changed) row = *memberById(row.memberId);
  return static_cast<std::int64_t>(due.size());
}

std::vector<Greeting> CounterService::greetings(const MemberRow& row, Timestamp at) {
  const ZoneRules& zone = m_config.zone;
  const Date today = zone.localDate(at);
  GreetingFacts facts;
  facts.name = row.name;
  if (row.birthday) {
    if (auto b = parseDate(*row.birthday, "birthday")) facts.birthday = *b;
  }
  facts.enrolledOn = localDayOf(row.enrolledAt, zone).value_or(Date{});
  facts.lastVisitOn = localDayOf(row.lastVisitAt, zone);
  facts.tierUpgradedOn = localDayOf(row.tierUpgradedAt, zone);
  facts.tierName = row.tier;
  const Date horizon{std::chrono::sys_days{today} + std::chrono::days{m_config.rules.expiringReminderDays}};
  auto& st = m_db.prepare("SELECT COALESCE(SUM(remaining), 0), MIN(expires_on) FROM lots "
                          "WHERE member_id = ? AND remaining > 0 AND expires_on >= ? AND expires_on <= ?");
  st.bind(1, row.memberId).bind(2, formatDate(today)).bind(3, formatDate(horizon));
  st.step();
  facts.expiringPoints = st.getInt(0);
  if (auto first = st.getOptText(1)) {
    if (auto d = parseDate(*first, "expires_on")) facts.expiringOn = *d;
  }
  st.reset();
  std::vector<Greeting> out;
  for (GreetingLine& g : greetingsFor(facts, today, m_config.rules, row.language.value_or(m_config.store.language))) {
    out.push_back({std::move(g.kind), std::move(g.text)});
  }
  return out;
}

// [SECTION] Redemption authorisation: head office online, the allowance offline

namespace {

/// Head office's reservation for a redemption, released when the redemption does not happen
/// after all (refused after head office reserved the points, or its transaction failed), so a
/// refused request holds no points there. Best effort: an unreleased one expires at head office.
class HeldReservation {
 public:
  HeldReservation(RedemptionAuthoriser* authoriser, std::string redemptionId, std::optional<Authorisation> answer)
      : m_authoriser(answer == Authorisation::approved ? authoriser : nullptr), m_id(std::move(redemptionId)) {}
  HeldReservation(const HeldReservation&) = delete;
  HeldReservation& operator=(const HeldReservation&) = delete;
  ~HeldReservation() {
    if (!m_authoriser) return;
    try {
      m_authoriser->release(m_id);
    } catch (...) {  // a destructor never throws; head office expires the reservation itself
    }
  }
  /// The redemption was recorded: its event settles the reservation.
  void keep() { m_authoriser = nullptr; }

 private:
  RedemptionAuthoriser* m_authoriser;
  std::string m_id;
};

}  // namespace

std::optional<Authorisation> CounterService::askHeadOffice(const KeyedOp& op, const std::string& key,
                                                           const std::string& reference, std::int64_t points) {
  if (!m_authoriser || points <= 0) return std::nullopt;
  // Outside the write transaction: the network must never hold the store's write lock.
  std::optional<MemberRow> member;
  {
    const db::ReadTransaction snapshot(m_db);
    auto& st = m_db.prepare(op.selectSql);
    st.bind(1, key);
    const bool replay = st.step();
    st.reset();
    if (replay) return std::nullopt;
    auto m = resolveMember(reference, "member");
    if (!m || m->balance < points) return std::nullopt;  // refused locally anyway
    member = *m;
  }
  return m_authoriser->authorise(key, member->memberId, points);
}

Result<std::string> CounterService::authoriseSpend(const std::string& refId, const MemberRow& member,
                                                   std::int64_t points, std::optional<Authorisation> answer,
                                                   Timestamp at, const std::string& field) {
  if (!m_authoriser) return std::string("local");
  if (answer == Authorisation::approved) return std::string("online");
  if (answer == Authorisation::refused) {
    return Error{errc::kInsufficientPoints, field, "head office reports too few points for this redemption"};
  }
  const std::string day = formatDate(m_config.zone.localDate(at));
  auto& st = m_db.prepare("SELECT COALESCE(SUM(points), 0) FROM offline_spend WHERE member_id = ? AND local_day = ?");
  st.bind(1, member.memberId).bind(2, day);
  st.step();
  const std::int64_t used = st.getInt(0);
  st.reset();
  const std::int64_t allowance = m_config.rules.offlineRedeemAllowance;
  if (used + points > allowance) {
    return Error{errc::kLimitExceeded, field,
                 "head office cannot be reached: offline, a member may redeem " + std::to_string(allowance) +
                     " points a day here (" + std::to_string(std::max<std::int64_t>(allowance - used, 0)) +
                     " left today)"};
  }
  m_db.prepare("INSERT INTO offline_spend(ref_id, member_id, local_day, points) VALUES (?,?,?,?)")
      .bind(1, refId).bind(2, member.memberId).bind(3, day).bind(4, points).run();
  return std::string("offline");
}

// [SECTION] Enrol

Result<MemberView> CounterService::enroll(const EnrollRequest& r) {
  auto phone = normalizePhone(r.phone, m_config.store.phoneRegion, "phone");
  if (!phone) return phone.error();
  auto checkedName = checkMemberName(r.name);
  if (!checkedName) return checkedName.error();
  const std::string name = *checkedName;
  std::optional<std::string> birthday;
  if (r.birthday) {
    auto b = checkBirthday(*r.birthday, r.at);
    if (!b) return b.error();
    birthday = *b;
  }
  if (r.language) {
    if (auto s = checkLanguage(*r.language); !s) return s.error();
  }
  if (auto s = checkStaffId(m_db, r.staffId); !s) return s.error();
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
  if (m_members.phoneTaken(*phone)) {
    return Error{errc::kAlreadyExists, "phone", "a member with this phone number is already enrolled"};
  }
  if (cardNo && m_members.cardTaken(*cardNo)) {
    return Error{errc::kAlreadyExists, "card_no", "card " + *cardNo + " already belongs to a member"};
  }
  if (!cardNo) {
    do {
      cardNo = issueCardNumber(m_ids.random64());
    } while (m_members.cardTaken(*cardNo));
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
  row.referrerId = referrer ? std::optional(referrer->memberId) : std::nullopt;
  NewMember stored;
  stored.memberId = row.memberId;
  stored.cardNo = row.cardNo;
  stored.phone = row.phone;
  stored.name = row.name;
  stored.birthday = row.birthday;
  stored.language = row.language;
  stored.consentMarketing = row.consentMarketing;
  if (row.consentMarketing) {
    stored.consentAt = row.enrolledAt;
    stored.consentStore = m_config.store.id;
    stored.consentVersion = m_config.consentTextVersion;
  }
  stored.referrerId = row.referrerId;
  stored.tier = row.tier;
  stored.enrolledAt = row.enrolledAt;
  stored.enrolledStore = m_config.store.id;
  stored.enrolledTerminal = m_config.terminalId;
  stored.staffId = r.staffId;
  m_members.insert(stored);

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
  if (r.staffId) payload["staff_id"] = *r.staffId;
  appendOutbox(sync::kMemberEnrolled, r.at, payload.dump());
  tx.commit();
  return view(row);
}

// [SECTION] Lookup

Result<std::vector<MemberView>> CounterService::lookup(const LookupRequest& r) {
  const std::string query(trim(r.query));
  if (query.empty()) return invalidArgument("query", "type a phone number, card number or name");
  if (!isValidUtf8(query) || hasControlChars(query)) return invalidArgument("query", "the query has characters that cannot be printed");
  if (query.size() > 128) return invalidArgument("query", "the query is longer than 128 characters");
  if (r.limit < 1 || r.limit > 200) return invalidArgument("limit", "limit is between 1 and 200");
  const auto limit = static_cast<std::size_t>(r.limit);

  // Rows are moved into the answer, never copied: a list of 20 was a fifth of a last-4 lookup.
  std::vector<MemberView> matches;
  const auto add = [&](MemberRow&& row) {
    if (matches.size() >= limit) return;
    const bool seen = std::any_of(matches.begin(), matches.end(),
                                  [&](const MemberView& x) { return x.memberId == row.memberId; });
    if (!seen) matches.push_back(view(std::move(row)));
  };
  const auto addRows = [&](std::vector<MemberRow> rows) {
    matches.reserve(std::min(limit, matches.size() + rows.size()));
    for (MemberRow& row : rows) add(std::move(row));
  };
  const auto addRow = [&](std::optional<MemberRow> row) {
    if (row) add(std::move(*row));
  };
  const db::ReadTransaction snapshot(m_db);

  if (isUuid(query)) {
    addRow(memberById(query));
    return matches;
  }
  if (auto card = cardFromQrPayload(query)) {
    addRow(m_members.byCard(*card));
    return matches;
  }
  if (looksLikeNumber(query)) {
    const std::string digits = digitsOf(query);
    if (digits.size() < 4) return invalidArgument("query", "type at least the last 4 digits of the phone");
    if (digits.size() >= 12 && digits.size() <= 19 && luhnValid(digits)) {
      addRow(m_members.byCard(digits));
    }
    if (auto phone = normalizePhone(query, m_config.store.phoneRegion)) addRow(m_members.byPhone(*phone));
    if (!matches.empty()) return matches;  // a whole phone or card number names one member
    addRows(m_members.byPhoneEnding(digits, limit));
    return matches;
  }

  // A name: whole names and given names equal to the query first, then prefixes in name order.
  addRows(m_members.byName(normalizeName(query), limit));
  return matches;
}

// [SECTION] Member

Result<MemberDetail> CounterService::member(const std::string& reference, Timestamp at) {
  {
    const db::ReadTransaction snapshot(m_db);
    auto row = resolveMember(reference, "member");
    if (!row) return row.error();
    if (!needsSettle(*row, m_config.zone.localDate(at))) return MemberDetail{view(*row), greetings(*row, at)};
  }
  // Something is due (points expired, the month's tier review): written first, as any operation
  // whose `at` passes the date does.
  db::Transaction tx(m_db);
  auto row = resolveMember(reference, "member");
  if (!row) return row.error();
  settle(*row, at);
  MemberDetail detail{view(*row), greetings(*row, at)};
  tx.commit();
  return detail;
}

// [SECTION] Member details, consent, export (members' rights)

Result<MemberView> CounterService::updateMember(const MemberUpdateRequest& r) {
  if (!r.name && !r.phone && !r.birthday && !r.language) {
    return invalidArgument("member", "give at least one of name, phone, birthday and language to change");
  }
  std::optional<std::string> name, phone;
  if (r.name) {
    auto n = checkMemberName(*r.name);
    if (!n) return n.error();
    name = *n;
  }
  if (r.phone) {
    auto p = normalizePhone(*r.phone, m_config.store.phoneRegion, "phone");
    if (!p) return p.error();
    phone = *p;
  }
  std::optional<std::optional<std::string>> birthday;
  if (r.birthday) {
    birthday.emplace();
    if (*r.birthday) {
      auto b = checkBirthday(**r.birthday, r.at);
      if (!b) return b.error();
      *birthday = *b;
    }
  }
  if (r.language) {
    if (auto s = checkLanguage(*r.language); !s) return s.error();
  }
  if (auto s = checkStaffId(m_db, r.staffId); !s) return s.error();

  // The old name (in clear, with its search keys) is zeroed where it stood, not left in free space.
  const Scrub scrub(m_db);
  db::Transaction tx(m_db);  // reads that decide the write happen inside it
  auto row = resolveMember(r.member, "member");
  if (!row) return row.error();
  // Only what differs is a change; the event carries exactly those fields.
  json payload = {{"member_id", row->memberId}};
  std::vector<std::string> fields;
  MemberDetails details{row->cardNo, row->phone, row->name, row->birthday, row->language, row->consentMarketing};
  if (name && *name != row->name) {
    details.name = *name;
    payload["name"] = *name;
    fields.emplace_back("name");
  }
  if (phone && *phone != row->phone) {
    if (m_members.phoneTaken(*phone)) {
      return Error{errc::kAlreadyExists, "phone", "another member is enrolled with this phone number"};
    }
    details.phone = *phone;
    payload["phone"] = *phone;
    fields.emplace_back("phone");
  }
  if (birthday && *birthday != row->birthday) {
    details.birthday = *birthday;
    payload["birthday"] = *birthday ? json(**birthday) : json(nullptr);
    fields.emplace_back("birthday");
  }
  if (r.language && r.language != row->language) {
    details.language = r.language;
    payload["language"] = *r.language;
    fields.emplace_back("language");
  }
  if (fields.empty()) return view(*row);  // nothing differs: nothing to record
  m_members.updateDetails(row->memberId, details);
  payload["store_id"] = m_config.store.id;
  payload["terminal_id"] = m_config.terminalId;
  if (r.staffId) payload["staff_id"] = *r.staffId;
  const std::string at = formatRfc3339(r.at);
  m_members.appendLog(row->memberId, {at, "update", joined(fields), m_config.store.id, r.staffId});
  appendOutbox(sync::kMemberUpdated, r.at, payload.dump());
  auto updated = memberById(row->memberId);
  tx.commit();
  return view(*updated);
}

Result<MemberView> CounterService::consent(const ConsentRequest& r) {
  const std::string version = r.consentVersion.value_or(m_config.consentTextVersion);
  if (auto s = checkId(version, "consent_version"); !s) return s.error();
  if (auto s = checkStaffId(m_db, r.staffId); !s) return s.error();
  db::Transaction tx(m_db);
  auto row = resolveMember(r.member, "member");
  if (!row) return row.error();
  const std::string at = formatRfc3339(r.at);
  m_members.recordConsent(row->memberId, {at, r.consentMarketing, version, m_config.store.id, r.staffId});
  m_members.appendLog(row->memberId, {at, "consent", "consent_marketing,consent_version", m_config.store.id, r.staffId});
  json payload = {{"member_id", row->memberId},
                  {"consent_marketing", r.consentMarketing},
                  {"consent_version", version},
                  {"store_id", m_config.store.id},
                  {"terminal_id", m_config.terminalId}};
  if (r.staffId) payload["staff_id"] = *r.staffId;
  appendOutbox(sync::kMemberUpdated, r.at, payload.dump());
  tx.commit();
  row->consentMarketing = r.consentMarketing;
  return view(*row);
}

Result<MemberExport> CounterService::exportMember(const std::string& reference,
                                                  const std::optional<std::string>& staffId, Timestamp at) {
  if (auto s = checkStaffId(m_db, staffId); !s) return s.error();
  db::Transaction tx(m_db);  // the export is logged with what it read
  auto row = resolveMember(reference, "member");
  if (!row) return row.error();
  m_members.appendLog(row->memberId, {formatRfc3339(at), "export", "", m_config.store.id, staffId});
  MemberExport out;
  out.member = view(*row);
  out.consents = m_members.consents(row->memberId);
  out.log = m_members.log(row->memberId);
  auto& st = m_db.prepare("SELECT (SELECT COUNT(*) FROM sales WHERE member_id = ?1), "
                          "(SELECT COUNT(*) FROM ledger WHERE member_id = ?1)");
  st.bind(1, row->memberId);
  st.step();
  out.sales = st.getInt(0);
  out.ledgerEntries = st.getInt(1);
  st.reset();
  tx.commit();
  return out;
}

// [SECTION] Sale

namespace {

/// What a refund needs to re-evaluate the 满减/满赠 a sale received: its promotion context and
/// those promotions as they were (head office may change the programme in between).
json promoContextJson(const PromotionContext& ctx, const ProgrammeRules& rules, const PromotionOutcome& outcome) {
  json promos = json::array();
  for (const Promotion& p : rules.promotions) {
    if (p.kind != Promotion::Kind::kSpendDiscount && p.kind != Promotion::Kind::kSpendGift) continue;
    promos.push_back({{"id", p.id},
                      {"kind", p.kind == Promotion::Kind::kSpendDiscount ? "spend_discount" : "spend_gift"},
                      {"from", p.from ? json(formatDate(*p.from)) : json(nullptr)},
                      {"to", p.to ? json(formatDate(*p.to)) : json(nullptr)},
                      {"members_only", p.membersOnly},
                      {"threshold", p.threshold.toString()},
                      {"amount", p.amount.toString()},
                      {"repeat", p.repeat},
                      {"gift_sku", p.giftSku}});
  }
  // No birthday: spend promotions never depend on it, and it would be a member's birthday in clear.
  return {{"today", formatDate(ctx.today)},
          {"member", ctx.isMember},
          {"tier", ctx.tierIndex},
          {"promotions", std::move(promos)},
          {"gifts", outcome.giftSkus}};
}

struct StoredPromoContext {
  PromotionContext ctx;
  ProgrammeRules rules;
  std::vector<std::string> gifts;
};

StoredPromoContext readPromoContext(const std::string& text, const ProgrammeRules& current) {
  const json j = json::parse(text);
  StoredPromoContext out;
  out.ctx.today = *parseDate(j.at("today").get<std::string>(), "today");
  out.ctx.isMember = j.at("member").get<bool>();
  out.ctx.tierIndex = j.at("tier").get<std::size_t>();
  out.rules = current;
  out.rules.promotions.clear();
  for (const json& p : j.at("promotions")) {
    Promotion promo;
    promo.id = p.at("id").get<std::string>();
    promo.kind = p.at("kind") == "spend_discount" ? Promotion::Kind::kSpendDiscount : Promotion::Kind::kSpendGift;
    if (!p.at("from").is_null()) promo.from = *parseDate(p.at("from").get<std::string>(), "from");
    if (!p.at("to").is_null()) promo.to = *parseDate(p.at("to").get<std::string>(), "to");
    promo.membersOnly = p.at("members_only").get<bool>();
    promo.threshold = *Money::parse(p.at("threshold").get<std::string>(), "threshold");
    promo.amount = *Money::parse(p.at("amount").get<std::string>(), "amount");
    promo.repeat = p.at("repeat").get<bool>();
    promo.giftSku = p.at("gift_sku").get<std::string>();
    out.rules.promotions.push_back(std::move(promo));
  }
  out.gifts = j.at("gifts").get<std::vector<std::string>>();
  return out;
}

}  // namespace

Result<SaleResult> CounterService::sale(const SaleRequest& r) {
  if (auto s = checkId(r.saleId, "sale_id"); !s) return s.error();
  if (r.lines.empty()) return invalidArgument("lines", "a sale needs at least one line");
  if (r.lines.size() > kMaxLines) return invalidArgument("lines", "a sale has at most 10000 lines");
  std::vector<PricedLine> priced;
  priced.reserve(r.lines.size());
  Money subtotal;
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
    if (in.category && (in.category->empty() || in.category->size() > kMaxSkuLength ||
                        hasControlChars(*in.category) || !isValidUtf8(*in.category))) {
      return invalidArgument(f + ".category", "category has 1 to 64 printable characters");
    }
    if (in.qty == 0) return invalidArgument(f + ".qty", "qty is a non-zero whole number");
    if (in.qty > kMaxQty || in.qty < -kMaxQty) return invalidArgument(f + ".qty", "qty is at most 1000000 either way");
    auto price = UnitPrice::parse(in.unitPrice, f + ".unit_price");
    if (!price) return price.error();
    auto amount = lineAmount(in.qty, *price, f + ".unit_price");
    if (!amount) return amount.error();
    subtotal += *amount;
    priced.push_back({in.sku, in.category, in.qty, *price, *amount, Money{}});
    fingerprint += in.sku + '\x1f' + in.description.value_or("") + '\x1f' + std::to_string(in.qty) + '\x1f' +
                   price->toString() + '\x1f' + in.category.value_or("") + '\x1e';
  }
  if (subtotal.minor() > kMaxAbsMinor || subtotal.minor() < -kMaxAbsMinor) {
    return invalidArgument("lines", "the sale total is too large");
  }
  if (r.redeemPoints < 0 || r.redeemPoints > kMaxPoints) {
    return invalidArgument("redeem_points", "redeem_points is a whole number from 0 to 1000000000");
  }
  if (auto s = checkStaffId(m_db, r.staffId); !s) return s.error();
  const ProgrammeRules& rules = m_config.rules;
  const Money pointsPaid = pointsValue(r.redeemPoints, rules.redeemPointsPerUnit);
  if (r.redeemPoints > 0) {
    if (!r.member) return invalidArgument("redeem_points", "only a member can pay with points");
    if (pointsPaid > subtotal) {
      return invalidArgument("redeem_points", "the points are worth more than the sale (" + subtotal.toString() + ")");
    }
  }
  const std::optional<Authorisation> answer =
      r.member ? askHeadOffice(kSaleKey, r.saleId, *r.member, r.redeemPoints) : std::nullopt;
  HeldReservation held(m_authoriser, r.saleId, answer);

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

  const Date today = m_config.zone.localDate(r.at);
  std::size_t tierBefore = 0;
  PromotionContext ctx{today, member.has_value(), 0, std::nullopt};
  if (member) {
    settle(*member, r.at);
    tierBefore = tierIndexOf(*member);
    ctx.tierIndex = tierBefore;
    if (member->birthday) {
      if (auto b = parseDate(*member->birthday, "birthday")) ctx.birthday = *b;
    }
  }
  PromotionOutcome promo;
  if (rules.promotions.empty()) {
    promo.lines = std::move(priced);
    promo.subtotal = subtotal;
  } else {
    promo = evaluatePromotions(std::move(priced), ctx, rules);
  }
  Money memberDiscount, refundable;
  for (const PricedLine& l : promo.lines) {
    memberDiscount += l.discount;
    if (l.amount > Money{}) refundable += l.amount - l.discount;
  }
  const Money spendDiscount = promo.discount - memberDiscount;
  if (r.redeemPoints > 0 && pointsPaid > subtotal - promo.discount) {
    return invalidArgument("redeem_points", "the points are worth more than the sale after promotions (" +
                                                (subtotal - promo.discount).toString() + ")");
  }
  const Money discount = promo.discount + pointsPaid;
  const Money total = subtotal - discount;
  std::int64_t points = 0;
  if (member) {
    points = total > Money{} ? salePoints(total, rules.earnPointsPerUnit, rules.tiers[tierBefore].multiplier,
                                          promo.pointsMultiplier)
                             : -returnReversalPoints(total, rules.earnPointsPerUnit);
    if (points > kMaxPoints || points < -kMaxPoints) return invalidArgument("lines", "the sale earns more points than one sale may");
  }
  std::string authorised = "local";
  if (member && r.redeemPoints > 0) {
    if (auto s = checkRedemption(member->balance, r.redeemPoints, "redeem_points"); !s) return s.error();
    auto how = authoriseSpend(r.saleId, *member, r.redeemPoints, answer, r.at, "redeem_points");
    if (!how) return how.error();
    authorised = *how;
  }
  const bool spendPromotion = std::any_of(promo.applied.begin(), promo.applied.end(), [](const auto& a) {
    return a.kind == "spend_discount" || a.kind == "spend_gift";
  });
  const std::string at = formatRfc3339(r.at);
  m_db.prepare("INSERT INTO sales(sale_id, member_id, at, subtotal, discount, total, points_earned, "
               "points_redeemed, refundable, spend_discount, promo_context, fingerprint, result) "
               "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'')")
      .bind(1, r.saleId).bind(2, member ? std::optional(member->memberId) : std::nullopt).bind(3, at)
      .bind(4, subtotal.minor()).bind(5, discount.minor()).bind(6, total.minor()).bind(7, points)
      .bind(8, r.redeemPoints).bind(9, refundable.minor()).bind(10, spendDiscount.minor())
      .bind(11, spendPromotion ? std::optional(promoContextJson(ctx, rules, promo).dump()) : std::nullopt)
      .bind(12, fingerprint)
      .run();
  auto& insertLine = m_db.prepare("INSERT INTO sale_lines(sale_id, line_no, sku, description, qty, unit_price, "
                                  "amount, category, discount) VALUES (?,?,?,?,?,?,?,?,?)");
  json payloadLines = json::array();
  for (std::size_t i = 0; i < promo.lines.size(); ++i) {
    const PricedLine& l = promo.lines[i];
    const SaleLineInput& in = r.lines[i];
    insertLine.bind(1, r.saleId).bind(2, static_cast<std::int64_t>(i + 1)).bind(3, l.sku).bind(4, in.description)
        .bind(5, l.qty).bind(6, l.unitPrice.tenThousandths()).bind(7, l.amount.minor()).bind(8, l.category)
        .bind(9, l.discount.minor())
        .run();
    json pl = {{"sku", l.sku},
               {"description", in.description ? json(*in.description) : json(nullptr)},
               {"qty", l.qty},
               {"unit_price", l.unitPrice.toString()},
               {"amount", l.amount.toString()}};
    if (l.category) pl["category"] = *l.category;
    if (l.discount != Money{}) pl["discount"] = l.discount.toString();
    payloadLines.push_back(std::move(pl));
  }
  // 满赠 gifts go on the receipt as zero-price lines.
  for (std::size_t g = 0; g < promo.giftSkus.size(); ++g) {
    const auto lineNo = static_cast<std::int64_t>(promo.lines.size() + g + 1);
    insertLine.bind(1, r.saleId).bind(2, lineNo).bind(3, promo.giftSkus[g]).bind(4, std::optional<std::string>("gift"))
        .bind(5, std::int64_t{1}).bind(6, std::int64_t{0}).bind(7, std::int64_t{0})
        .bind(8, std::optional<std::string>()).bind(9, std::int64_t{0})
        .run();
    payloadLines.push_back({{"sku", promo.giftSkus[g]}, {"description", "gift"}, {"qty", 1},
                            {"unit_price", "0.0000"}, {"amount", "0.00"}, {"gift", true}});
  }
  SaleResult result;
  result.saleId = r.saleId;
  result.subtotal = subtotal;
  result.discount = discount;
  result.total = total;
  result.pointsEarned = points;
  result.pointsRedeemed = r.redeemPoints;
  for (const AppliedPromotionEffect& a : promo.applied) result.promotions.push_back({a.id, a.kind, a.effect});
  if (member) {
    std::int64_t balance = member->balance;
    if (r.redeemPoints > 0) balance = appendLedger(member->memberId, r.at, "redeem", -r.redeemPoints, r.saleId, r.saleId);
    if (points != 0) balance = appendLedger(member->memberId, r.at, points > 0 ? "earn" : "reversal", points, r.saleId, r.saleId);
    m_db.prepare("UPDATE members SET lifetime_spend = lifetime_spend + ?, last_visit_at = ? WHERE member_id = ?")
        .bind(1, total.minor()).bind(2, laterOf(member->lastVisitAt, at)).bind(3, member->memberId)
        .run();
    result.balance = balance;
    result.tier = member->tier;
    // The sale that crosses a threshold earned at the tier held before it (above); now the upgrade.
    if (saleMayRaiseTier(tierBefore, total, rules.tiers)) {
      const DayWindow window = saleTierWindow(today);
      const std::size_t reached =
          tierAfterSale(tierBefore, total, spendBetween(member->memberId, window.first, window.last), rules.tiers);
      if (reached > tierBefore) {
        m_db.prepare("UPDATE members SET tier = ?, tier_upgraded_at = ?, tier_reviewed_month = ? WHERE member_id = ?")
            .bind(1, rules.tiers[reached].name).bind(2, at).bind(3, reviewMonthOf(today)).bind(4, member->memberId)
            .run();
        result.tier = rules.tiers[reached].name;
        result.tierChanged = true;
      }
    }
    // 转介绍: the referrer's bonus, once, at the referred member's first positive sale.
    if (total > Money{} && member->referrerId && !member->referralBonusPaid) {
      if (rules.referralBonusPoints > 0) {
        appendLedger(*member->referrerId, r.at, "bonus", rules.referralBonusPoints, std::nullopt, r.saleId);
        appendAdjustEvent(*member->referrerId, "bonus", rules.referralBonusPoints, r.saleId,
                          "referral of member " + member->memberId, r.at, member->memberId);
      }
      m_db.prepare("UPDATE members SET referral_bonus_paid = 1 WHERE member_id = ?").bind(1, member->memberId).run();
    }
  }
  json payload = {{"sale_id", r.saleId},
                  {"member_id", member ? json(member->memberId) : json(nullptr)},
                  {"store_id", m_config.store.id},
                  {"terminal_id", m_config.terminalId},
                  {"lines", std::move(payloadLines)},
                  {"subtotal", subtotal.toString()},
                  {"discount", discount.toString()},
                  {"total", total.toString()},
                  {"points_earned", points},
                  {"points_redeemed", r.redeemPoints}};
  if (r.redeemPoints > 0) payload["redeem_authorised"] = authorised;
  if (r.staffId) payload["staff_id"] = *r.staffId;
  if (!result.promotions.empty()) payload["promotions"] = result.promotions;
  if (result.tierChanged) payload["tier"] = *result.tier;
  appendOutbox(sync::kSaleRecorded, r.at, payload.dump());
  rememberResult(kSaleKey, r.saleId, json(result).dump());
  tx.commit();
  held.keep();
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
  if (auto s = checkStaffId(m_db, r.staffId); !s) return s.error();
  const auto rewardPoints = [&]() -> Result<std::int64_t> {
    if (!r.reward) return r.points.value_or(0);
    auto& st = m_db.prepare("SELECT points FROM rewards WHERE reward_id = ? AND active = 1");
    st.bind(1, *r.reward);
    const bool found = st.step();
    const std::int64_t p = found ? st.getInt(0) : 0;
    st.reset();
    if (!found) return Error{errc::kNotFound, "reward", "no reward \"" + *r.reward + "\" in the catalogue"};
    return p;
  };
  const std::string field = r.reward ? "reward" : "points";
  const auto fingerprintOf = [&](const MemberRow& m, std::int64_t points) {
    return m.memberId + '\x1d' + std::to_string(points) + '\x1d' + r.reward.value_or("");
  };
  // Everything this terminal can check comes before the supervisor's PIN (argon2 over every
  // supervisor, never under the write lock) and before head office is asked to reserve points.
  std::int64_t planned = 0, balance = 0;
  {
    const db::ReadTransaction snapshot(m_db);
    auto member = resolveMember(r.member, "member");
    if (!member) return member.error();
    auto cost = rewardPoints();
    if (!cost) return cost.error();
    planned = *cost;
    balance = member->balance;
    auto replay = checkIdempotency(kRedeemKey, r.redemptionId, fingerprintOf(*member, planned));
    if (!replay) return replay.error();
    if (*replay) return json::parse(**replay).get<RedeemResult>();
  }
  // A wrong PIN's failed attempt is committed here, though the request is refused.
  if (auto s = verifySupervisorPin(r.supervisorPin, planned); !s) return s.error();
  // Expiry (settled below) only lowers the balance: too few points now is too few then.
  if (auto s = checkRedemption(balance, planned, field); !s) return s.error();
  const std::optional<Authorisation> answer = askHeadOffice(kRedeemKey, r.redemptionId, r.member, planned);
  HeldReservation held(m_authoriser, r.redemptionId, answer);
  db::Transaction tx(m_db);  // reads that decide the write happen inside it
  auto member = resolveMember(r.member, "member");
  if (!member) return member.error();
  auto cost = rewardPoints();
  if (!cost) return cost.error();
  const std::int64_t points = *cost;
  if (points != planned) {
    return Error{errc::kConflict, field, "the reward's points changed while it was being redeemed; try again"};
  }
  const std::string fingerprint = fingerprintOf(*member, points);
  auto replay = checkIdempotency(kRedeemKey, r.redemptionId, fingerprint);
  if (!replay) return replay.error();
  if (*replay) return json::parse(**replay).get<RedeemResult>();
  settle(*member, r.at);
  if (auto s = checkRedemption(member->balance, points, field); !s) return s.error();
  auto authorised = authoriseSpend(r.redemptionId, *member, points, answer, r.at, field);
  if (!authorised) return authorised.error();
  m_db.prepare("INSERT INTO redemptions(redemption_id, member_id, at, points, reward_id, fingerprint, result, "
               "authorised) VALUES (?,?,?,?,?,?,'',?)")
      .bind(1, r.redemptionId).bind(2, member->memberId).bind(3, formatRfc3339(r.at)).bind(4, points)
      .bind(5, r.reward).bind(6, fingerprint).bind(7, *authorised)
      .run();
  RedeemResult result{r.redemptionId, points,
                      appendLedger(member->memberId, r.at, "redeem", -points, std::nullopt, r.redemptionId)};
  json payload = {{"redemption_id", r.redemptionId},
                  {"member_id", member->memberId},
                  {"points", points},
                  {"reward_id", r.reward ? json(*r.reward) : json(nullptr)},
                  {"authorised", *authorised},
                  {"store_id", m_config.store.id},
                  {"terminal_id", m_config.terminalId}};
  if (r.staffId) payload["staff_id"] = *r.staffId;
  appendOutbox(sync::kPointsRedeemed, r.at, payload.dump());
  rememberResult(kRedeemKey, r.redemptionId, json(result).dump());
  tx.commit();
  held.keep();
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
  if (auto s = checkStaffId(m_db, r.staffId); !s) return s.error();

  db::Transaction tx(m_db);  // reads that decide the write happen inside it
  auto& saleSt = m_db.prepare(
      "SELECT sale_id, member_id, total, points_earned, points_redeemed, refundable, refunded_goods, "
      "refunded_amount, points_reversed, redeemed_returned, spend_discount, promo_context FROM sales WHERE sale_id = ?");
  saleSt.bind(1, r.saleId);
  std::optional<SaleRow> found;
  if (saleSt.step()) {
    found = SaleRow{saleSt.getText(0), saleSt.getOptText(1), saleSt.getInt(2),  saleSt.getInt(3),
                    saleSt.getInt(4),  saleSt.getInt(5),     saleSt.getInt(6),  saleSt.getInt(7),
                    saleSt.getInt(8),  saleSt.getInt(9),     saleSt.getInt(10), saleSt.getOptText(11)};
  }
  saleSt.reset();
  if (!found) return Error{errc::kNotFound, "sale_id", "no sale \"" + r.saleId + "\" on this terminal"};
  const SaleRow& sale = *found;

  auto replay = checkIdempotency(kRefundKey, r.refundId, fingerprint);
  if (!replay) return replay.error();
  if (*replay) return json::parse(**replay).get<RefundResult>();

  struct SaleLine {
    std::int64_t lineNo, qty, unitPrice, refundedQty, newRefundedQty, discount;
    std::string sku;
  };
  std::vector<SaleLine> saleLines;
  auto& linesSt = m_db.prepare(
      "SELECT line_no, sku, qty, unit_price, refunded_qty, discount FROM sale_lines WHERE sale_id = ? ORDER BY line_no");
  linesSt.bind(1, r.saleId);
  while (linesSt.step()) {
    saleLines.push_back({linesSt.getInt(0), linesSt.getInt(2), linesSt.getInt(3), linesSt.getInt(4),
                         linesSt.getInt(4), linesSt.getInt(5), linesSt.getText(1)});
  }
  linesSt.reset();

  if (r.lines) {
    for (std::size_t i = 0; i < r.lines->size(); ++i) {
      const RefundLineInput& want = (*r.lines)[i];
      std::int64_t left = want.qty;
      bool onSale = false;
      for (SaleLine& l : saleLines) {
        if (l.sku != want.sku || l.qty <= 0 || l.unitPrice == 0) continue;  // gifts are not refunded
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
      if (l.qty > 0 && l.unitPrice != 0) l.newRefundedQty = l.qty;
    }
  }
  Money goodsNow;
  for (const SaleLine& l : saleLines) {
    if (l.newRefundedQty == l.refundedQty) continue;
    const auto price = UnitPrice::fromTenThousandths(l.unitPrice);
    // Cumulative amounts after the line's member discount, so partial refunds of one line add up
    // to exactly what was paid for it.
    const auto net = [&](std::int64_t q) {
      return *lineAmount(q, price, "qty") - Money::fromMinor(mulDivRound(l.discount, q, l.qty));
    };
    goodsNow += net(l.newRefundedQty) - net(l.refundedQty);
  }
  const bool anything = std::any_of(saleLines.begin(), saleLines.end(),
                                    [](const SaleLine& l) { return l.newRefundedQty != l.refundedQty; });
  if (!anything) return invalidArgument(r.lines ? "lines" : "sale_id", "nothing is left to refund on sale " + r.saleId);

  const Money refundable = Money::fromMinor(sale.refundable);
  const Money goodsCum = Money::fromMinor(sale.refundedGoods) + goodsNow;
  const Money paid = Money::fromMinor(std::max<std::int64_t>(sale.total, 0));
  Money amountCum = proportionalShare(paid, goodsCum, refundable);
  // 满减/满赠 broken by this refund: what the kept goods no longer earn comes off the refund
  // (beyond the share of the discount the refunded goods already carry).
  std::vector<std::string> giftsToReturn;
  if (sale.promoContext) {
    const StoredPromoContext promo = readPromoContext(*sale.promoContext, m_config.rules);
    const Money kept = refundable - goodsCum;
    const Money spend = Money::fromMinor(sale.spendDiscount);
    const Money lost = spend - spendDiscountFor(kept, promo.ctx, promo.rules);
    const Money clawCum = std::max(lost - proportionalShare(spend, goodsCum, refundable), Money{});
    amountCum = std::max(amountCum - clawCum, Money::fromMinor(sale.refundedAmount));
    const std::vector<std::string> keptBefore =
        giftsFor(refundable - Money::fromMinor(sale.refundedGoods), promo.ctx, promo.rules);
    const std::vector<std::string> keptNow = giftsFor(kept, promo.ctx, promo.rules);
    const auto has = [](const std::vector<std::string>& v, const std::string& g) {
      return std::find(v.begin(), v.end(), g) != v.end();
    };
    for (const std::string& g : promo.gifts) {
      if (has(keptBefore, g) && !has(keptNow, g)) giftsToReturn.push_back(g);
    }
  }
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
  RefundResult result{r.refundId, amountNow, reverseNow, std::nullopt, Money{}, std::move(giftsToReturn)};
  if (sale.memberId) {
    if (auto m = memberById(*sale.memberId)) settle(*m, r.at);
  }
  // The benefit taken back by this refund: what proportional refunding alone would have paid now,
  // minus what is paid.
  {
    const Money proportionalNow = proportionalShare(paid, goodsCum, refundable) -
                                  proportionalShare(paid, Money::fromMinor(sale.refundedGoods), refundable);
    result.clawback = std::max(proportionalNow - amountNow, Money{});
  }
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
  json payload = {{"refund_id", r.refundId},
                  {"sale_id", r.saleId},
                  {"member_id", sale.memberId ? json(*sale.memberId) : json(nullptr)},
                  {"store_id", m_config.store.id},
                  {"terminal_id", m_config.terminalId},
                  {"lines", std::move(payloadLines)},
                  {"amount", amountNow.toString()},
                  {"points_reversed", reverseNow},
                  {"points_returned", redeemedNow}};
  if (r.staffId) payload["staff_id"] = *r.staffId;
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
      "SELECT (SELECT COUNT(*) FROM members WHERE erased_at IS NULL), (SELECT COUNT(*) FROM sales), "
      "(SELECT COUNT(*) FROM ledger)");
  st.step();
  Stats s{st.getInt(0), st.getInt(1), st.getInt(2), outboxPending(m_db)};
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
          "(SELECT COUNT(*) FROM members WHERE enrolled_terminal != '') AS rows UNION ALL "  // '': from head office
          "SELECT 'sale.recorded', (SELECT COUNT(*) FROM outbox WHERE type = 'sale.recorded'), (SELECT COUNT(*) FROM sales) "
          "UNION ALL SELECT 'sale.refunded', (SELECT COUNT(*) FROM outbox WHERE type = 'sale.refunded'), "
          "(SELECT COUNT(*) FROM refunds) UNION ALL SELECT 'points.redeemed', "
          "(SELECT COUNT(*) FROM outbox WHERE type = 'points.redeemed'), (SELECT COUNT(*) FROM redemptions)) "
          "WHERE n != rows",
          "outbox events do not match the rows they record");
  collect("SELECT m.member_id || ' balance ' || m.balance || ' lots ' || COALESCE(SUM(l.remaining), 0) "
          "FROM members m LEFT JOIN lots l USING (member_id) GROUP BY m.member_id "
          "HAVING COALESCE(SUM(l.remaining), 0) != MAX(m.balance, 0) LIMIT 20",
          "earn lots do not hold the positive balance");
  collect("SELECT 'points.adjusted: ' || (SELECT COUNT(*) FROM outbox WHERE type = 'points.adjusted') || "
          "' events for ' || (SELECT COUNT(*) FROM ledger WHERE kind IN ('bonus', 'expire')) || ' entries' "
          "WHERE (SELECT COUNT(*) FROM outbox WHERE type = 'points.adjusted') != "
          "(SELECT COUNT(*) FROM ledger WHERE kind IN ('bonus', 'expire'))",
          "outbox events do not match the rows they record");
  auto& st = m_db.prepare("SELECT (SELECT COUNT(*) FROM members), (SELECT COUNT(*) FROM outbox)");
  st.step();
  report.membersChecked = st.getInt(0);
  report.outboxEvents = st.getInt(1);
  st.reset();
  return report;
}

HousekeepingResult CounterService::housekeeping(Timestamp at) {
  HousekeepingResult tally;
  const Date today = m_config.zone.localDate(at);
  const std::string entryTier = m_config.rules.tiers.empty() ? "" : m_config.rules.tiers.front().name;
  // Members with something due, a batch per transaction so the counter waits at most a moment.
  constexpr int kBatch = 200;
  std::string after;  // member ids are visited in order, each at most once per run
  for (;;) {
    std::vector<std::string> ids;
    {
      const db::ReadTransaction snapshot(m_db);
      auto& st = m_db.prepare(
          "SELECT member_id FROM (SELECT member_id FROM lots WHERE remaining > 0 AND expires_on < ?1 "
          "UNION SELECT member_id FROM members WHERE tier != ?2 AND COALESCE(tier_reviewed_month, '') < ?3) "
          "WHERE member_id > ?4 ORDER BY member_id LIMIT ?5");
      st.bind(1, formatDate(today)).bind(2, entryTier).bind(3, reviewMonthOf(today)).bind(4, after).bind(5, kBatch);
      while (st.step()) ids.push_back(st.getText(0));
      st.reset();
    }
    if (ids.empty()) break;
    db::Transaction tx(m_db);
    for (const std::string& id : ids) {
      if (auto row = memberById(id)) settle(*row, at, &tally);
    }
    tx.commit();
    after = ids.back();
  }
  return tally;
}

Status CounterService::reconcileBalance(const std::string& memberId, std::int64_t target, const std::string& refId,
                                        Timestamp at) {
  if (auto s = checkId(refId, "ref_id"); !s) return s;
  if (target > kMaxPoints || target < -kMaxPoints) return invalidArgument("balance", "balance is out of range");
  db::Transaction tx(m_db);
  auto row = memberById(memberId);
  if (!row) return Error{errc::kNotFound, "member_id", "no member " + memberId + " on this terminal"};
  if (target != row->balance) appendLedger(memberId, at, "adjust", target - row->balance, std::nullopt, refId);
  tx.commit();
  return Ok{};
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
