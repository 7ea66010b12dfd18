#include "loyalty/terminal/counter_service.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <functional>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "loyalty/core/card.hpp"
#include "loyalty/core/greetings.hpp"
#include "loyalty/core/lifecycle.hpp"
#include "loyalty/core/phone.hpp"
#include "loyalty/core/points.hpp"
#include "loyalty/core/text.hpp"
#include "loyalty/sync/protocol.hpp"
#include "loyalty/terminal/at_rest.hpp"
#include "loyalty/terminal/json_codec.hpp"
#include "loyalty/terminal/staff.hpp"
#include "loyalty/terminal/store.hpp"

namespace loyalty::terminal {

using nlohmann::json;

// [SECTION] Ids

RandomIds::RandomIds() : m_gen((std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}()) {}

std::string RandomIds::uuid() {
  std::uint64_t now = kSeededStartMs;
  if (!m_fixedClock) {
    const auto t = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
    now = static_cast<std::uint64_t>(std::max<std::int64_t>(1, t.count()));
  }
  std::uint64_t ms = std::max(m_lastMs, now);  // never backwards
  if (ms != m_lastMs) {
    m_counter = static_cast<std::uint32_t>(m_gen() & 0x7FF);  // room for 2,048 more in this millisecond
  } else if (++m_counter > 0xFFF) {
    ++ms;  // 4,096 ids in one millisecond: borrow the next one
    m_counter = static_cast<std::uint32_t>(m_gen() & 0x7FF);
  }
  m_lastMs = ms;
  const std::uint64_t hi = ((ms & 0xFFFFFFFFFFFFULL) << 16) | 0x7000ULL | (m_counter & 0xFFFU);
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

// [SECTION] Members

CounterService::CounterService(db::Database& db, CounterConfig config, IdSource& ids)
    : m_db(db),
      m_members(db),
      m_ledger(db),
      m_sales(db),
      m_rewards(db),
      m_products(db),
      m_outbox(db),
      m_integrity(db),
      m_config(std::move(config)),
      m_ids(ids) {}

Result<CounterService::MemberRow> CounterService::resolveMember(const std::string& reference,
                                                                const std::string& field) {
  auto found = resolveReference(reference, field);
  if (!found) return found;
  // A member head office merged into another is served as the survivor (its history stays).
  if (const auto into = m_members.mergedInto(found->memberId)) {
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
  // A stored phone is found by the E.164 form the digits give, without a parse (lookup() does
  // the same); the parse only words the refusal or catches a form the digits do not show.
  if (const auto key = phoneLookupKey(ref, m_config.store.phoneRegion)) {
    if (auto m = m_members.byPhone(*key)) return *m;
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

// [SECTION] Ledger and lots, idempotency, PINs

std::int64_t CounterService::post(const std::string& memberId, Timestamp at, const char* kind, std::int64_t points,
                                  const std::optional<std::string>& saleId, const std::string& refId) {
  const std::int64_t before = m_ledger.balance(memberId);
  const std::int64_t after = postEntry(memberId, before, at, kind, points, saleId, refId);
  m_ledger.setBalance(memberId, after);
  return after;
}

std::int64_t CounterService::postEntry(const std::string& memberId, std::int64_t before, Timestamp at,
                                       const char* kind, std::int64_t points,
                                       const std::optional<std::string>& saleId, const std::string& refId) {
  const std::int64_t after = before + points;
  const std::int64_t entryId = m_ledger.appendEntry({memberId, formatRfc3339(at), kind, points, saleId, refId}, after);
  // Points head office moved here (reconciliation, kind 'adjust') were earned at another store,
  // which expires them itself.
  const bool fromHeadOffice = std::string_view(kind) == "adjust";
  const Date today = m_config.zone.localDate(at);
  const LotChange lots = planLotChange(before, after, fromHeadOffice, today, m_config.rules.expiry);
  if (lots.open > 0) m_ledger.openLot(entryId, memberId, today, lots.expiresOn, lots.open);
  if (lots.take > 0) {
    const std::vector<LotRemaining> open = m_ledger.lotsToDraw(memberId, lots.take, lots.newestFirst);
    m_ledger.draw(consumeFifo(open, lots.take));
  }
  return after;
}

std::optional<StoredAnswer> CounterService::storedAnswer(Keyed op, const std::string& key) {
  switch (op) {
    case Keyed::kSale: return m_sales.saleAnswer(key);
    case Keyed::kRedemption: return m_rewards.redemptionAnswer(key);
    case Keyed::kRefund: return m_sales.refundAnswer(key);
  }
  return std::nullopt;
}

Result<std::optional<std::string>> CounterService::checkIdempotency(Keyed op, const std::string& key,
                                                                    const std::string& fingerprint) {
  const std::optional<StoredAnswer> stored = storedAnswer(op, key);
  if (!stored) return std::optional<std::string>();
  const bool same = op == Keyed::kSale ? SaleRepository::sameSaleContent(stored->fingerprint, fingerprint)
                                       : stored->fingerprint == fingerprint;
  if (!same) {
    const char* name = op == Keyed::kSale ? "sale" : op == Keyed::kRedemption ? "redemption" : "refund";
    const std::string field = op == Keyed::kSale ? "sale_id" : op == Keyed::kRedemption ? "redemption_id" : "refund_id";
    return Error{errc::kConflict, field, field + " \"" + key + "\" was already used for a different " + name};
  }
  return std::optional<std::string>(stored->result);
}

Status CounterService::verifySupervisorPin(const std::optional<std::string>& pin, std::int64_t points) {
  if (points <= m_config.rules.supervisorPinAbovePoints) return Ok{};
  const std::string limit = std::to_string(m_config.rules.supervisorPinAbovePoints);
  if (!pin || pin->empty()) {
    return Error{errc::kForbidden, "supervisor_pin",
                 "redeeming more than " + limit + " points needs a supervisor's PIN"};
  }
  // argon2 over every supervisor: callers run this before their write transaction (redeem does).
  if (auto who = authoriseSupervisor(m_db, *pin); !who) return who.error();
  return Ok{};
}

// [SECTION] What is due: expiry, tier reviews, greetings

std::size_t CounterService::tierIndexOf(const MemberRow& row) const {
  return tierIndexByName(row.tier, m_config.rules.tiers).value_or(0);
}

Money CounterService::spendBetween(const std::string& memberId, const DayWindow& days) {
  const InstantWindow window = instantsOf(days, m_config.zone);
  return m_sales.netSpend(memberId, window.begin, window.end);
}

namespace {
/// How far this terminal's clock was ahead of head office's at its last answer (seconds).
constexpr const char* kClockAheadKey = "hq_clock_ahead_seconds";
/// Within a minute the clocks agree (network time only makes this one look behind).
constexpr std::int64_t kClockToleranceSeconds = 60;
}  // namespace

Date CounterService::dueDay(Timestamp at) {
  const std::int64_t ahead = std::stoll(metaValue(m_db, kClockAheadKey).value_or("0"));
  return m_config.zone.localDate(ahead > kClockToleranceSeconds ? at - std::chrono::seconds(ahead) : at);
}

bool CounterService::noteClockAhead(db::Database& db, std::chrono::seconds ahead) {
  // Rewritten only when it moved by more than a few seconds: a sync round writes nothing else.
  const auto stored = metaValue(db, kClockAheadKey);
  if (stored && std::llabs(std::stoll(*stored) - ahead.count()) <= 5) return false;
  setMetaValue(db, kClockAheadKey, std::to_string(ahead.count()));
  return ahead.count() > kClockToleranceSeconds;
}

std::size_t CounterService::undoEarlyTierReviews(Timestamp now) {
  const std::string hqMonth = reviewMonthOf(dueDay(now));
  std::vector<std::pair<std::string, std::string>> early;  // member, the tier to hold
  auto q = m_db.query(
      "SELECT m.member_id, m.tier, h.tier AS hq_tier FROM members m LEFT JOIN hq_members h USING (member_id) "
      "WHERE m.tier_reviewed_month > ?");
  q.bind(1, hqMonth);
  const auto& tiers = m_config.rules.tiers;
  while (q.step()) {
    const std::size_t here = tierIndexByName(q.text("tier"), tiers).value_or(0);
    const std::size_t there = tierIndexByName(q.optText("hq_tier").value_or(""), tiers).value_or(0);
    early.emplace_back(q.text("member_id"), there > here ? tiers[there].name : q.text("tier"));
  }
  for (const auto& [memberId, tier] : early) m_members.reviewTier(memberId, tier, hqMonth);
  return early.size();
}

bool CounterService::needsSettle(const MemberRow& row, Date today) {
  return tierReviewDue(tierIndexOf(row), row.tierReviewedMonth.value_or(""), today) || m_ledger.hasDueLots(row.memberId, today);
}

void CounterService::appendAdjustEvent(const std::string& memberId, const char* kind, std::int64_t points,
                                       const std::string& refId, const std::string& reason, Timestamp at,
                                       const std::optional<std::string>& referredMemberId) {
  // Head office pays a referral bonus once per referred member, and checks it by referredMemberId.
  m_outbox.append(m_ids.uuid(), at, sync::PointsAdjusted{origin(), memberId, kind, points, refId, reason, referredMemberId});
}

std::int64_t CounterService::settle(MemberRow& row, Timestamp at, HousekeepingResult* tally) {
  const Date today = dueDay(at);
  const std::vector<DueLot> due = m_ledger.dueLots(row.memberId, today);
  for (const ExpiryEntry& e : planExpiry(due)) {
    post(row.memberId, at, "expire", e.points, std::nullopt, e.refId);
    appendAdjustEvent(row.memberId, "expire", e.points, e.refId, e.reason, at);
    if (tally) {
      ++tally->expiredEntries;
      tally->pointsExpired -= e.points;
    }
  }
  const std::size_t current = tierIndexOf(row);
  const bool review = tierReviewDue(current, row.tierReviewedMonth.value_or(""), today);
  if (review) {
    const TierReview r =
        planTierReview(current, spendBetween(row.memberId, reviewTierWindow(today)), m_config.rules.tiers, today);
    m_members.reviewTier(row.memberId, r.downgraded ? m_config.rules.tiers[r.tierIndex].name : row.tier, r.month);
    if (tally) {
      ++tally->membersReviewed;
      if (r.downgraded) ++tally->membersDowngraded;
    }
  }
  if (!due.empty() || review) row = *memberById(row.memberId);
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
  const ExpiringPoints expiring = m_ledger.expiring(row.memberId, today, horizon);
  facts.expiringPoints = expiring.points;
  facts.expiringOn = expiring.first;
  std::vector<Greeting> out;
  for (GreetingLine& g : greetingsFor(facts, today, m_config.rules, row.language.value_or(m_config.store.language))) {
    out.push_back({std::move(g.kind), std::move(g.text)});
  }
  return out;
}

// [SECTION] Redemption authorisation: head office online, the allowance offline

namespace {

/// An online authorisation attempt until it ends: when the redemption is not recorded after all
/// (refused after the request, its transaction failed), the destructor ends the attempt with
/// `abandon` (after the operation's own transaction rolled back). If that fails too, the attempt
/// stays recorded and the next start releases it.
class AttemptGuard {
 public:
  explicit AttemptGuard(std::function<void()> abandon) : m_abandon(std::move(abandon)) {}
  AttemptGuard(const AttemptGuard&) = delete;
  AttemptGuard& operator=(const AttemptGuard&) = delete;
  ~AttemptGuard() {
    if (!m_abandon) return;
    try {
      m_abandon();
    } catch (...) {  // a destructor never throws; releaseInterruptedAttempts ends it at the next start
    }
  }
  /// The redemption was recorded, and the attempt ended in its transaction.
  void recorded() { m_abandon = nullptr; }

 private:
  std::function<void()> m_abandon;
};

}  // namespace

CounterService::Asked CounterService::askHeadOffice(Keyed op, const std::string& key, const std::string& reference,
                                                    std::int64_t points, Timestamp at) {
  if (!m_authoriser || points <= 0) return {};
  // Outside the write transaction: the network must never hold the store's write lock.
  std::optional<MemberRow> member;
  {
    const db::ReadTransaction snapshot(m_db);
    if (storedAnswer(op, key)) return {};  // a replay
    auto m = resolveMember(reference, "member");
    if (!m || m->balance < points) return {};  // refused locally anyway
    member = *m;
  }
  // Committed before the request leaves: whatever happens next (no answer, a refusal, a kill),
  // the attempt ends in exactly one event, which head office waits for instead of a timer.
  Asked asked{std::nullopt, member->memberId, points, 0};
  {
    db::Transaction tx(m_db);
    asked.afterSeq = m_rewards.beginAttempt(key, member->memberId, points, formatRfc3339(at));
    tx.commit();
  }
  asked.answer = m_authoriser->authorise(key, member->memberId, points, asked.afterSeq);
  return asked;
}

void CounterService::abandonAttempt(const std::string& key, const Asked& asked, Timestamp at) {
  if (!asked.answer) return;
  {
    db::Transaction tx(m_db);
    // A refusal reserved nothing; any other answer (or none) may have left points reserved.
    if (asked.answer != Authorisation::refused) {
      m_outbox.append(m_ids.uuid(), at,
                      sync::RedemptionReleased{origin(), key, asked.memberId, asked.points,
                                               asked.answer == Authorisation::approved
                                                   ? "refused at the counter after head office reserved the points"
                                                   : "not recorded online: head office's answer did not arrive in time"});
    }
    m_rewards.endAttempt(key);
    tx.commit();
  }
  // The event releases it when uploaded; this lets the points go at once when head office is there.
  if (asked.answer == Authorisation::approved && m_authoriser) m_authoriser->release(key, asked.afterSeq);
}

std::int64_t CounterService::releaseInterruptedAttempts(Timestamp now) {
  db::Transaction tx(m_db);
  const std::vector<OpenAttempt> open = m_rewards.openAttempts();
  for (const OpenAttempt& a : open) {
    m_outbox.append(m_ids.uuid(), now,
                    sync::RedemptionReleased{origin(), a.redemptionId, a.memberId, a.points,
                                             "the terminal stopped before recording it"});
    m_rewards.endAttempt(a.redemptionId);
  }
  tx.commit();
  return static_cast<std::int64_t>(open.size());
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
  const std::int64_t used = m_rewards.offlineSpent(member.memberId, day);
  const std::int64_t allowance = m_config.rules.offlineRedeemAllowance;
  if (used + points > allowance) {
    return Error{errc::kLimitExceeded, field,
                 "head office cannot be reached: offline, a member may redeem " + std::to_string(allowance) +
                     " points a day here (" + std::to_string(std::max<std::int64_t>(allowance - used, 0)) +
                     " left today)"};
  }
  m_rewards.recordOfflineSpend(refId, member.memberId, day, points);
  return std::string("offline");
}

// [SECTION] Enrol

namespace {

/// The member an enrolment asks for, checked (all but the card number and the staff id).
Result<NewMember> checkEnrollment(const EnrollRequest& r, const std::string& phoneRegion) {
  NewMember m;
  auto phone = normalizePhone(r.phone, phoneRegion, "phone");
  if (!phone) return phone.error();
  m.phone = *phone;
  auto name = checkMemberName(r.name);
  if (!name) return name.error();
  m.name = *name;
  if (r.birthday) {
    auto b = checkBirthday(*r.birthday, r.at);
    if (!b) return b.error();
    m.birthday = *b;
  }
  if (r.language) {
    if (auto s = checkLanguage(*r.language); !s) return s.error();
    m.language = r.language;
  }
  m.consentMarketing = r.consentMarketing;
  m.enrolledAt = formatRfc3339(r.at);
  m.staffId = r.staffId;
  return m;
}

/// The stored member a new one becomes (nothing earned or spent yet).
MemberRecord recordOf(const NewMember& m) {
  MemberRecord row;
  row.memberId = m.memberId;
  row.cardNo = m.cardNo;
  row.phone = m.phone;
  row.name = m.name;
  row.birthday = m.birthday;
  row.language = m.language;
  row.consentMarketing = m.consentMarketing;
  row.tier = m.tier;
  row.enrolledAt = m.enrolledAt;
  row.referrerId = m.referrerId;
  return row;
}

}  // namespace

Result<MemberView> CounterService::enroll(const EnrollRequest& r) {
  auto checked = checkEnrollment(r, m_config.store.phoneRegion);
  if (!checked) return checked.error();
  if (auto s = checkStaffId(m_db, r.staffId); !s) return s.error();
  NewMember& m = *checked;
  if (r.cardNo) {
    auto c = parseCardNumber(*r.cardNo, "card_no");
    if (!c) return c.error();
    m.cardNo = *c;  // empty: one is issued below
  }

  db::Transaction tx(m_db);  // reads that decide the write happen inside it
  if (r.referrer) {
    auto referrer = resolveMember(*r.referrer, "referrer");
    if (!referrer) return referrer.error();
    m.referrerId = referrer->memberId;
  }
  if (m_members.phoneTaken(m.phone)) {
    return Error{errc::kAlreadyExists, "phone", "a member with this phone number is already enrolled"};
  }
  if (!m.cardNo.empty() && m_members.cardTaken(m.cardNo)) {
    return Error{errc::kAlreadyExists, "card_no", "card " + m.cardNo + " already belongs to a member"};
  }
  while (m.cardNo.empty() || m_members.cardTaken(m.cardNo)) m.cardNo = issueCardNumber(m_ids.random64());
  m.memberId = m_ids.uuid();
  if (m.consentMarketing) {
    m.consentAt = m.enrolledAt;
    m.consentStore = m_config.store.id;
    m.consentVersion = m_config.consentTextVersion;
  }
  m.enrolledStore = m_config.store.id;
  m.enrolledTerminal = m_config.terminalId;
  m_members.insert(m);
  m_outbox.append(m_ids.uuid(), r.at,
                  sync::MemberEnrolled{origin(), m.memberId, m.cardNo, m.phone, m.name, m.birthday, m.language,
                                       m.consentMarketing, m.consentVersion, m.referrerId, r.staffId});
  tx.commit();
  return view(recordOf(m));
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
    // A whole phone: first as its digits read (no parse: the stored number was validated at
    // enrolment), then, if that finds nobody, as libphonenumber normalises it.
    const std::optional<std::string> key = phoneLookupKey(query, m_config.store.phoneRegion);
    std::optional<MemberRow> byPhone = key ? m_members.byPhone(*key) : std::nullopt;
    if (!byPhone && key && possiblePhone(*key)) {
      if (auto phone = normalizePhone(query, m_config.store.phoneRegion); phone && *phone != *key) {
        byPhone = m_members.byPhone(*phone);
      }
    }
    addRow(std::move(byPhone));
    if (!matches.empty()) return matches;  // a whole phone or card number names one member
    addRows(m_members.byPhoneEnding(digits, limit));
    return matches;
  }

  // A name: whole names and given names equal to the query first, then prefixes in name order.
  // Pinyin is among the name keys; typed with spaces between syllables ("zhang san feng"), it
  // is also searched without them.
  const std::string name = normalizeName(query);
  addRows(m_members.byName(name, limit));
  if (matches.size() < limit && name.find(' ') != std::string::npos &&
      std::all_of(name.begin(), name.end(), [](char c) { return c == ' ' || (c >= 'a' && c <= 'z'); })) {
    std::string joined = name;
    std::erase(joined, ' ');
    addRows(m_members.byName(joined, limit));
  }
  return matches;
}

// [SECTION] Member

Result<MemberDetail> CounterService::member(const std::string& reference, Timestamp at) {
  {
    const db::ReadTransaction snapshot(m_db);
    auto row = resolveMember(reference, "member");
    if (!row) return row.error();
    if (!needsSettle(*row, dueDay(at))) return MemberDetail{view(*row), greetings(*row, at)};
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
  sync::MemberUpdated event;
  event.origin = origin();
  event.memberId = row->memberId;
  event.staffId = r.staffId;
  std::vector<std::string> fields;
  MemberDetails details{row->cardNo, row->phone, row->name, row->birthday, row->language, row->consentMarketing};
  if (name && *name != row->name) {
    details.name = *name;
    event.name = *name;
    fields.emplace_back("name");
  }
  if (phone && *phone != row->phone) {
    if (m_members.phoneTaken(*phone)) {
      return Error{errc::kAlreadyExists, "phone", "another member is enrolled with this phone number"};
    }
    details.phone = *phone;
    event.phone = *phone;
    fields.emplace_back("phone");
  }
  if (birthday && *birthday != row->birthday) {
    details.birthday = *birthday;
    event.birthday = *birthday;
    fields.emplace_back("birthday");
  }
  if (r.language && r.language != row->language) {
    details.language = r.language;
    event.language = *r.language;
    fields.emplace_back("language");
  }
  if (fields.empty()) return view(*row);  // nothing differs: nothing to record
  m_members.updateDetails(row->memberId, details);
  const std::string at = formatRfc3339(r.at);
  m_members.appendLog(row->memberId, {at, "update", joined(fields), m_config.store.id, r.staffId});
  m_outbox.append(m_ids.uuid(), r.at, event);
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
  sync::MemberUpdated event;
  event.origin = origin();
  event.memberId = row->memberId;
  event.staffId = r.staffId;
  event.consentMarketing = r.consentMarketing;
  event.consentVersion = version;
  m_outbox.append(m_ids.uuid(), r.at, event);
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
  out.sales = m_sales.saleCount(row->memberId);
  out.ledgerEntries = m_ledger.entryCount(row->memberId);
  tx.commit();
  return out;
}

Result<std::vector<ConsentDecision>> CounterService::consentHistory(const std::string& reference) {
  const db::ReadTransaction snapshot(m_db);
  auto row = resolveMember(reference, "member");
  if (!row) return row.error();
  return m_members.consents(row->memberId);
}

// [SECTION] Sale

namespace {

/// A sale's lines as typed, checked and priced, with the fingerprint of their content.
struct CheckedSale {
  std::vector<PricedLine> lines;
  Money subtotal;
  std::string fingerprint;
};

/// Checks a sale's lines and prices them: a line without unit_price takes its product's price
/// from the catalogue (by sku, or by barcode given instead), and a line of a catalogue product
/// takes its category (when the line gives none) and its name as description. `r.lines` are
/// completed in place. Every line's shape is checked before the catalogue is read, so
/// invalid_argument comes before not_found.
Result<CheckedSale> checkSale(SaleRequest& r, ProductRepository& catalogue) {
  if (auto s = checkId(r.saleId, "sale_id"); !s) return s.error();
  if (r.lines.empty()) return invalidArgument("lines", "a sale needs at least one line");
  if (r.lines.size() > kMaxLines) return invalidArgument("lines", "a sale has at most 10000 lines");
  std::vector<std::optional<UnitPrice>> given(r.lines.size());
  for (std::size_t i = 0; i < r.lines.size(); ++i) {
    const SaleLineInput& in = r.lines[i];
    const std::string f = "lines[" + std::to_string(i) + "]";
    if (in.barcode ? !in.sku.empty() && !isValidSku(in.sku) : !isValidSku(in.sku)) {
      return invalidArgument(f + ".sku", "sku has 1 to 64 printable characters");
    }
    if (in.barcode && (in.barcode->empty() || !isValidSku(*in.barcode))) {
      return invalidArgument(f + ".barcode", "barcode has 1 to 64 printable characters");
    }
    if (in.description && (in.description->size() > kMaxDescriptionLength || hasControlChars(*in.description) ||
                           !isValidUtf8(*in.description))) {
      return invalidArgument(f + ".description", "description has at most 200 bytes of printable UTF-8 text");
    }
    if (in.category && (in.category->empty() || in.category->size() > kMaxSkuLength ||
                        hasControlChars(*in.category) || !isValidUtf8(*in.category))) {
      return invalidArgument(f + ".category", "category has 1 to 64 printable characters");
    }
    if (in.qty == 0) return invalidArgument(f + ".qty", "qty is a non-zero whole number");
    if (in.qty > kMaxQty || in.qty < -kMaxQty) return invalidArgument(f + ".qty", "qty is at most 1000000 either way");
    if (!in.unitPrice.empty()) {
      auto price = UnitPrice::parse(in.unitPrice, f + ".unit_price");
      if (!price) return price.error();
      given[i] = *price;
    }
  }
  // Every line's product by sku in a few statements; lines given by barcode are found one by one.
  std::vector<std::string> skus;
  skus.reserve(r.lines.size());
  for (const SaleLineInput& in : r.lines) {
    if (!in.barcode) skus.push_back(in.sku);
  }
  const std::unordered_map<std::string, Product> bySku = catalogue.bySkus(skus);
  CheckedSale out;
  out.lines.reserve(r.lines.size());
  out.fingerprint.reserve(64 * r.lines.size());
  for (std::size_t i = 0; i < r.lines.size(); ++i) {
    SaleLineInput& in = r.lines[i];
    const std::string f = "lines[" + std::to_string(i) + "]";
    // The fingerprint is of the request as given: a replay after a catalogue change is the same sale.
    // Appended piece by piece: no temporary string per piece (a sale has dozens of lines).
    std::string& fp = out.fingerprint;
    if (in.barcode) {
      fp += '#';
      fp += *in.barcode;
      if (!in.sku.empty()) {
        fp += '#';
        fp += in.sku;
      }
    } else {
      fp += in.sku;
    }
    fp += '\x1f';
    if (in.description) fp += *in.description;
    fp += '\x1f';
    fp += std::to_string(in.qty);
    fp += '\x1f';
    fp += given[i] ? given[i]->toString() : std::string("catalogue");
    fp += '\x1f';
    if (in.category) fp += *in.category;
    fp += '\x1e';
    std::optional<Product> product;
    if (in.barcode) {
      product = catalogue.byBarcode(*in.barcode);
      if (!product) return Error{errc::kNotFound, f + ".barcode", "no product with barcode " + *in.barcode};
      if (!in.sku.empty() && in.sku != product->sku) {
        return invalidArgument(f + ".sku", "barcode " + *in.barcode + " is the product " + product->sku);
      }
    } else {
      if (const auto found = bySku.find(in.sku); found != bySku.end()) product = found->second;
      if (!product && !given[i]) {
        return Error{errc::kNotFound, f + ".sku", "no product " + in.sku + " in the catalogue: give unit_price"};
      }
    }
    if (product) {
      in.sku = product->sku;
      if (!in.category) in.category = product->category;
      if (!in.description) in.description = product->name;  // at most 200 bytes, as a description
    }
    const UnitPrice price = given[i] ? *given[i] : product->price;
    auto amount = lineAmount(in.qty, price, f + ".unit_price");
    if (!amount) return amount.error();
    out.subtotal += *amount;
    out.lines.push_back({in.sku, in.category, in.qty, price, *amount, Money{}});
  }
  if (out.subtotal.minor() > kMaxAbsMinor || out.subtotal.minor() < -kMaxAbsMinor) {
    return invalidArgument("lines", "the sale total is too large");
  }
  if (r.redeemPoints < 0 || r.redeemPoints > kMaxPoints) {
    return invalidArgument("redeem_points", "redeem_points is a whole number from 0 to 1000000000");
  }
  return out;
}

/// Points paid with: only by a member, and worth no more than the sale.
Status checkPointsPaid(const SaleRequest& r, Money subtotal, const ProgrammeRules& rules) {
  if (r.redeemPoints == 0) return Ok{};
  if (!r.member) return invalidArgument("redeem_points", "only a member can pay with points");
  if (pointsValue(r.redeemPoints, rules.redeemPointsPerUnit) > subtotal) {
    return invalidArgument("redeem_points", "the points are worth more than the sale (" + subtotal.toString() + ")");
  }
  return Ok{};
}

}  // namespace

SaleMember CounterService::saleMember(const MemberRow& row, Date today) {
  SaleMember m;
  m.tierIndex = tierIndexOf(row);
  if (row.birthday) {
    if (auto b = parseDate(*row.birthday, "birthday")) m.birthday = *b;
  }
  m.balance = row.balance;
  if (m.tierIndex + 1 < m_config.rules.tiers.size()) m.windowSpend = spendBetween(row.memberId, saleTierWindow(today));
  m.referralBonusDue = row.referrerId && !row.referralBonusPaid;
  return m;
}

Result<SaleResult> CounterService::sale(const SaleRequest& request) {
  SaleRequest r = request;  // catalogue lines are completed from the catalogue
  auto checked = [&] {
    const db::ReadTransaction snapshot(m_db);  // one snapshot for every line's catalogue read
    return checkSale(r, m_products);
  }();
  if (!checked) return checked.error();
  if (auto s = checkStaffId(m_db, r.staffId); !s) return s.error();
  if (auto s = checkPointsPaid(r, checked->subtotal, m_config.rules); !s) return s.error();
  if (r.redeemPoints > m_config.rules.supervisorPinAbovePoints) {
    // As for redeem: the member is known before the supervisor's PIN is checked (argon2, never
    // under the write lock), and nothing is written or reserved before it is right.
    {
      const db::ReadTransaction snapshot(m_db);
      if (auto m = resolveMember(*r.member, "member"); !m) return m.error();
    }
    if (auto s = verifySupervisorPin(r.supervisorPin, r.redeemPoints); !s) return s.error();
  }
  const Asked asked = r.member ? askHeadOffice(Keyed::kSale, r.saleId, *r.member, r.redeemPoints, r.at) : Asked{};
  const std::optional<Authorisation>& answer = asked.answer;
  AttemptGuard attempt([&] { abandonAttempt(r.saleId, asked, r.at); });

  db::Transaction tx(m_db);  // reads that decide the write happen inside it
  std::optional<MemberRow> member;
  if (r.member) {
    auto m = resolveMember(*r.member, "member");
    if (!m) return m.error();
    member = *m;
  }
  const std::string fingerprint =
      (member ? member->memberId : "-") + '\x1d' + std::to_string(r.redeemPoints) + '\x1d' + checked->fingerprint;
  auto replay = checkIdempotency(Keyed::kSale, r.saleId, fingerprint);
  if (!replay) return replay.error();
  if (*replay) return json::parse(**replay).get<SaleResult>();

  const Date today = m_config.zone.localDate(r.at);
  std::optional<SaleMember> state;
  if (member) {
    settle(*member, r.at);
    state = saleMember(*member, today);
  }
  auto plan = planSale(std::move(checked->lines), r.redeemPoints, state, m_config.rules, today);
  if (!plan) return plan.error();
  std::string authorised = "local";
  if (member && r.redeemPoints > 0) {
    auto how = authoriseSpend(r.saleId, *member, r.redeemPoints, answer, r.at, "redeem_points");
    if (!how) return how.error();
    authorised = *how;
  }
  SaleResult result = writeSale(r, member, *plan, fingerprint, authorised);
  if (answer) m_rewards.endAttempt(r.saleId);
  tx.commit();
  attempt.recorded();
  return result;
}

Result<SaleQuote> CounterService::quoteSale(const SaleRequest& request) {
  SaleRequest r = request;
  if (r.saleId.empty()) r.saleId = "quote";  // a quote has no key of its own
  const db::ReadTransaction snapshot(m_db);
  auto checked = checkSale(r, m_products);
  if (!checked) return checked.error();
  std::optional<MemberRow> member;
  if (r.member) {
    auto m = resolveMember(*r.member, "member");
    if (!m) return m.error();
    member = *m;
  }
  const Date today = m_config.zone.localDate(r.at);
  const std::optional<SaleMember> state = member ? std::optional(saleMember(*member, today)) : std::nullopt;
  // Priced without points first: what the lines cost, and how many points could pay for them.
  auto plain = planSale(checked->lines, 0, state, m_config.rules, today);
  if (!plain) return plain.error();
  SaleQuote q;
  const ProgrammeRules& rules = m_config.rules;
  if (member) {
    q.balance = member->balance;
    const Money payable = plain->total;
    if (payable > Money{} && member->balance > 0) {
      // The most points whose value (floored to minor units) is at most what is left to pay.
      const std::int64_t byValue = mulDivFloor(payable.minor() + 1, rules.redeemPointsPerUnit, 100) -
                                   ((payable.minor() + 1) * rules.redeemPointsPerUnit % 100 == 0 ? 1 : 0);
      q.maxRedeemPoints = std::clamp<std::int64_t>(std::min(byValue, member->balance), 0, kMaxPoints);
    }
  }
  const SalePlan* plan = &*plain;
  Result<SalePlan> paid = *plain;
  if (r.redeemPoints != 0) {
    Status allowed = checkPointsPaid(r, checked->subtotal, rules);
    if (allowed) {
      paid = planSale(checked->lines, r.redeemPoints, state, rules, today);
      if (!paid) allowed = paid.error();
    }
    if (allowed) {
      plan = &*paid;
      q.supervisorNeeded = r.redeemPoints > rules.supervisorPinAbovePoints;
    } else {
      q.pointsRefused = allowed.error();
    }
  }
  for (std::size_t i = 0; i < plan->lines.size(); ++i) {
    const PricedLine& l = plan->lines[i];
    q.lines.push_back({l.sku, r.lines[i].description.value_or(l.sku), l.qty, l.unitPrice.toString(), l.amount,
                       l.discount});
  }
  q.subtotal = plan->subtotal;
  q.discount = plan->discount;
  q.total = plan->total;
  q.pointsEarned = plan->points;
  q.pointsRedeemed = plan->redeemPoints;
  q.pointsValue = pointsValue(plan->redeemPoints, rules.redeemPointsPerUnit);
  for (const AppliedPromotionEffect& a : plan->applied) q.promotions.push_back({a.id, a.kind, a.effect});
  q.gifts = plan->giftSkus;
  return q;
}

SaleResult CounterService::writeSale(const SaleRequest& r, const std::optional<MemberRow>& member, SalePlan& plan,
                                     const std::string& fingerprint, const std::string& authorised) {
  const ProgrammeRules& rules = m_config.rules;
  const std::string at = formatRfc3339(r.at);
  const std::optional<std::string> memberId = member ? std::optional(member->memberId) : std::nullopt;
  // The points first, so the sale's row is written once, with its answer; its lines follow it
  // (they refer to it).
  SaleResult result{r.saleId, plan.subtotal, plan.discount, plan.total, plan.points, plan.redeemPoints,
                    std::nullopt, {}, std::nullopt, false};
  for (const AppliedPromotionEffect& a : plan.applied) result.promotions.push_back({a.id, a.kind, a.effect});
  if (member) {
    // The row was read in this transaction (again after settle() changed it): its balance is the
    // cached one, moved with the visit in one write of the row.
    std::int64_t balance = member->balance;
    if (plan.redeemPoints > 0) {
      balance = postEntry(member->memberId, balance, r.at, "redeem", -plan.redeemPoints, r.saleId, r.saleId);
    }
    if (plan.points != 0) {
      balance = postEntry(member->memberId, balance, r.at, plan.points > 0 ? "earn" : "reversal", plan.points,
                          r.saleId, r.saleId);
    }
    m_members.recordVisit(member->memberId, balance, plan.total.minor(), laterOf(member->lastVisitAt, at));
    result.balance = balance;
    result.tier = member->tier;
    if (plan.tierReached) {
      const Date today = m_config.zone.localDate(r.at);
      result.tier = rules.tiers[*plan.tierReached].name;
      result.tierChanged = true;
      m_members.upgradeTier(member->memberId, *result.tier, at, reviewMonthOf(today));
    }
    if (plan.payReferralBonus) {
      if (rules.referralBonusPoints > 0) {
        post(*member->referrerId, r.at, "bonus", rules.referralBonusPoints, std::nullopt, r.saleId);
        appendAdjustEvent(*member->referrerId, "bonus", rules.referralBonusPoints, r.saleId,
                          "referral of member " + member->memberId, r.at, member->memberId);
      }
      m_members.markReferralBonusPaid(member->memberId);
    }
  }
  sync::SaleRecorded event;
  event.origin = origin();
  event.saleId = r.saleId;
  event.memberId = memberId;
  event.subtotal = plan.subtotal;
  event.discount = plan.discount;
  event.total = plan.total;
  event.pointsEarned = plan.points;
  event.pointsRedeemed = plan.redeemPoints;
  std::vector<NewSaleLine> lines;
  lines.reserve(plan.lines.size() + plan.giftSkus.size());
  event.lines.reserve(plan.lines.size() + plan.giftSkus.size());
  for (std::size_t i = 0; i < plan.lines.size(); ++i) {
    const PricedLine& l = plan.lines[i];
    const std::optional<std::string>& description = r.lines[i].description;
    lines.push_back({l.sku, description, l.qty, l.unitPrice, l.amount, l.category, l.discount});
    event.lines.push_back({l.sku, description, l.qty, l.unitPrice.toString(), l.amount, l.category,
                           l.discount != Money{} ? std::optional(l.discount) : std::nullopt, false});
  }
  // 满赠 gifts go on the receipt as zero-price lines.
  for (const std::string& giftSku : plan.giftSkus) {
    lines.push_back({giftSku, std::string("gift"), 1, UnitPrice{}, Money{}, std::nullopt, Money{}});
    event.lines.push_back({giftSku, std::string("gift"), 1, "0.0000", Money{}, std::nullopt, std::nullopt, true});
  }
  m_sales.insert({r.saleId, memberId, at, plan.subtotal, plan.discount, plan.total, plan.refundable,
                  plan.spendDiscount, plan.points, plan.redeemPoints, plan.saved, fingerprint, json(result).dump(),
                  r.staffId},
                 lines);
  if (plan.redeemPoints > 0) event.redeemAuthorised = authorised;
  event.staffId = r.staffId;
  if (!result.promotions.empty()) event.promotions = result.promotions;
  // What each promotion took off, for head office's promotion report.
  for (std::size_t i = 0; i < plan.applied.size() && i < event.promotions.size(); ++i) {
    event.promotions[i]["discount"] = plan.applied[i].discount.toString();
  }
  if (result.tierChanged) event.tier = result.tier;
  m_outbox.append(m_ids.uuid(), r.at, event);
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
    if (auto p = m_rewards.activeRewardPoints(*r.reward)) return *p;
    return Error{errc::kNotFound, "reward", "no reward \"" + *r.reward + "\" in the catalogue"};
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
    auto replay = checkIdempotency(Keyed::kRedemption, r.redemptionId, fingerprintOf(*member, planned));
    if (!replay) return replay.error();
    if (*replay) return json::parse(**replay).get<RedeemResult>();
  }
  // A wrong PIN's failed attempt is committed here, though the request is refused.
  if (auto s = verifySupervisorPin(r.supervisorPin, planned); !s) return s.error();
  // Expiry (settled below) only lowers the balance: too few points now is too few then.
  if (auto s = checkRedemption(balance, planned, field); !s) return s.error();
  const Asked asked = askHeadOffice(Keyed::kRedemption, r.redemptionId, r.member, planned, r.at);
  const std::optional<Authorisation>& answer = asked.answer;
  AttemptGuard attempt([&] { abandonAttempt(r.redemptionId, asked, r.at); });

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
  auto replay = checkIdempotency(Keyed::kRedemption, r.redemptionId, fingerprint);
  if (!replay) return replay.error();
  if (*replay) return json::parse(**replay).get<RedeemResult>();
  settle(*member, r.at);
  if (auto s = checkRedemption(member->balance, points, field); !s) return s.error();
  auto authorised = authoriseSpend(r.redemptionId, *member, points, answer, r.at, field);
  if (!authorised) return authorised.error();

  m_rewards.insertRedemption({r.redemptionId, member->memberId, formatRfc3339(r.at), points, r.reward, fingerprint,
                              *authorised, r.staffId});
  const RedeemResult result{r.redemptionId, points,
                            post(member->memberId, r.at, "redeem", -points, std::nullopt, r.redemptionId)};
  m_outbox.append(m_ids.uuid(), r.at,
                  sync::PointsRedeemed{origin(), r.redemptionId, member->memberId, points, r.reward, *authorised,
                                       r.staffId});
  m_rewards.rememberRedemptionAnswer(r.redemptionId, json(result).dump());
  if (answer) m_rewards.endAttempt(r.redemptionId);
  tx.commit();
  attempt.recorded();
  return result;
}

// [SECTION] Refund

namespace {

/// The lines a refund asks for (nullopt: everything not yet refunded) under `field`, with the
/// fingerprint of the request's content.
Result<CheckedRefund> checkRefundLines(const std::string& saleId, const std::optional<std::vector<RefundLineInput>>& lines,
                                       const std::string& field) {
  if (auto s = checkId(saleId, "sale_id"); !s) return s.error();
  CheckedRefund out{std::nullopt, saleId + '\x1d'};
  if (!lines) {
    out.fingerprint += "*";
    return out;
  }
  if (lines->empty()) return invalidArgument(field, "list the lines to refund, or leave lines out to refund everything");
  out.wanted.emplace();
  for (std::size_t i = 0; i < lines->size(); ++i) {
    const RefundLineInput& l = (*lines)[i];
    const std::string f = field + "[" + std::to_string(i) + "]";
    if (l.sku.empty() || l.sku.size() > kMaxSkuLength) return invalidArgument(f + ".sku", "sku has 1 to 64 characters");
    if (l.qty <= 0 || l.qty > kMaxQty) return invalidArgument(f + ".qty", "qty to refund is a positive whole number");
    out.fingerprint += l.sku + '\x1f' + std::to_string(l.qty) + '\x1e';
    out.wanted->push_back({l.sku, l.qty});
  }
  return out;
}

Result<CheckedRefund> checkRefund(const RefundRequest& r) {
  if (auto s = checkId(r.refundId, "refund_id"); !s) return s.error();
  return checkRefundLines(r.saleId, r.lines, "lines");
}

/// Whether paying back `amount` needs a supervisor ([loyalty] refund_supervisor_above; 0: always;
/// unset: never).
bool refundNeedsSupervisor(Money amount, const ProgrammeRules& rules) {
  const auto& above = rules.refundSupervisorAbove;
  return above && (*above == Money{} || amount > *above);
}

/// An error of a part of an exchange, renamed to the exchange's own fields.
Error exchangeError(Error e, const char* linesField) {
  const bool salePart = std::string_view(linesField) == "new_lines";
  if (e.field == "refund_id" || (salePart && e.field == "sale_id")) {
    e.field = "exchange_id";
  } else if (e.field.starts_with("lines")) {
    e.field = linesField + e.field.substr(5);
  }
  return e;
}

}  // namespace

Status CounterService::verifyRefundSupervisor(const std::optional<std::string>& pin, Money paidBack) {
  if (!refundNeedsSupervisor(paidBack, m_config.rules)) return Ok{};
  if (!pin || pin->empty()) {
    const Money above = m_config.rules.refundSupervisorAbove.value_or(Money{});
    return Error{errc::kForbidden, "supervisor_pin",
                 above == Money{} ? std::string("every refund needs a supervisor's PIN")
                                  : "refunds paying back more than " + above.toString() + " need a supervisor's PIN"};
  }
  if (auto who = authoriseSupervisor(m_db, *pin); !who) return who.error();
  return Ok{};
}

Result<RefundPlan> CounterService::planRefundOf(const std::string& saleId,
                                                const std::optional<std::vector<RefundWanted>>& wanted) {
  const std::optional<SaleForRefund> found = m_sales.forRefund(saleId);
  if (!found) return Error{errc::kNotFound, "sale_id", "no sale \"" + saleId + "\" on this terminal"};
  return planRefund(found->sale, m_sales.lines(saleId), wanted, m_config.rules);
}

Result<CounterService::RefundGate> CounterService::gateRefund(const RefundRequest& r, const CheckedRefund& checked) {
  // The supervisor's PIN (argon2) is checked on a snapshot's plan, outside any transaction; the
  // plan is made again inside the write transaction (writeRefund).
  Money amount;
  {
    const db::ReadTransaction snapshot(m_db);
    if (!m_sales.forRefund(r.saleId)) return Error{errc::kNotFound, "sale_id", "no sale \"" + r.saleId + "\" on this terminal"};
    auto replay = checkIdempotency(Keyed::kRefund, r.refundId, checked.fingerprint);
    if (!replay) return replay.error();
    if (*replay) return RefundGate{json::parse(**replay).get<RefundResult>(), Money{}};
    auto plan = planRefundOf(r.saleId, checked.wanted);
    if (!plan) return plan.error();
    amount = plan->amount;
  }
  if (auto s = verifyRefundSupervisor(r.supervisorPin, amount); !s) return s.error();
  const bool checkedPin = refundNeedsSupervisor(amount, m_config.rules);
  const auto& above = m_config.rules.refundSupervisorAbove;
  return RefundGate{std::nullopt, checkedPin || !above ? Money::fromMinor(INT64_MAX) : *above};
}

Result<RefundResult> CounterService::refund(const RefundRequest& r) {
  auto checked = checkRefund(r);
  if (!checked) return checked.error();
  if (auto s = checkStaffId(m_db, r.staffId); !s) return s.error();
  auto gate = gateRefund(r, *checked);
  if (!gate) return gate.error();
  if (gate->replay) return *gate->replay;
  db::Transaction tx(m_db);
  auto result = writeRefund(r, *checked, gate->allowed);
  if (result) tx.commit();
  return result;
}

Result<RefundResult> CounterService::writeRefund(const RefundRequest& r, const CheckedRefund& checked, Money allowed) {
  // Reads that decide the write happen inside the caller's write transaction.
  const std::optional<SaleForRefund> found = m_sales.forRefund(r.saleId);
  if (!found) return Error{errc::kNotFound, "sale_id", "no sale \"" + r.saleId + "\" on this terminal"};
  auto replay = checkIdempotency(Keyed::kRefund, r.refundId, checked.fingerprint);
  if (!replay) return replay.error();
  if (*replay) return json::parse(**replay).get<RefundResult>();
  auto plan = planRefund(found->sale, m_sales.lines(r.saleId), checked.wanted, m_config.rules);
  if (!plan) return plan.error();
  if (plan->amount > allowed) {
    return Error{errc::kConflict, "sale_id", "the sale changed while the refund was being checked; try again"};
  }

  m_sales.recordRefund({r.refundId, r.saleId, formatRfc3339(r.at), plan->amount, plan->pointsReversed,
                        checked.fingerprint, r.staffId}, *plan);
  RefundResult result{r.refundId, plan->amount, plan->pointsReversed, std::nullopt, plan->clawback, plan->giftsToReturn};
  if (const std::optional<std::string>& memberId = found->memberId) {
    if (auto m = memberById(*memberId)) settle(*m, r.at);
    std::int64_t balance = m_ledger.balance(*memberId);
    // Points paid with come back first, so the member never shows a debt that is not real.
    if (plan->pointsReturned > 0) balance = post(*memberId, r.at, "reversal", plan->pointsReturned, r.saleId, r.refundId);
    if (plan->pointsReversed > 0) balance = post(*memberId, r.at, "reversal", -plan->pointsReversed, r.saleId, r.refundId);
    m_members.addSpend(*memberId, -plan->amount.minor());
    result.balance = balance;
  }
  sync::SaleRefunded event{origin(), r.refundId, r.saleId, found->memberId, {}, plan->amount, plan->pointsReversed,
                           plan->pointsReturned, r.staffId};
  for (const RefundedLine& l : plan->lines) event.lines.push_back({l.lineNo, l.sku, l.qty});
  m_outbox.append(m_ids.uuid(), r.at, event);
  m_sales.rememberRefundAnswer(r.refundId, json(result).dump());
  return result;
}

Result<RefundPreview> CounterService::previewRefund(const RefundPreviewRequest& r) {
  // Nothing asked yet (an empty list) is a preview of the sale alone.
  const bool nothingAsked = r.lines && r.lines->empty();
  auto checked = checkRefundLines(r.saleId, nothingAsked ? std::nullopt : r.lines, "lines");
  if (!checked) return checked.error();
  const db::ReadTransaction snapshot(m_db);
  const std::optional<SaleForRefund> found = m_sales.forRefund(r.saleId);
  if (!found) return Error{errc::kNotFound, "sale_id", "no sale \"" + r.saleId + "\" on this terminal"};
  RefundPreview out;
  out.saleId = r.saleId;
  out.saleTotal = found->sale.total;
  out.refundedAmount = found->sale.refundedAmount;
  if (found->memberId) {
    if (auto m = resolveMember(*found->memberId, "sale_id")) out.member = view(std::move(*m));
  }
  std::int64_t left = 0;
  for (ReceiptLine& l : m_sales.receiptLines(r.saleId)) {
    const std::int64_t refundable = refundableQty(l.line);
    left += refundable;
    out.lines.push_back({l.line.lineNo, std::move(l.line.sku), std::move(l.description), l.line.qty,
                         l.line.unitPrice.toString(), l.amount, l.line.refundedQty, refundable,
                         l.line.qty > 0 && l.line.unitPrice.tenThousandths() == 0});
  }
  // Everything refunded already: the preview shows the sale, with nothing left to pay back.
  if (nothingAsked || (!checked->wanted && left == 0)) return out;
  auto plan = planRefund(found->sale, m_sales.lines(r.saleId), checked->wanted, m_config.rules);
  if (!plan) return plan.error();
  out.amount = plan->amount;
  out.pointsReversed = plan->pointsReversed;
  out.pointsReturned = plan->pointsReturned;
  out.clawback = plan->clawback;
  out.giftsToReturn = plan->giftsToReturn;
  out.supervisorRequired = refundNeedsSupervisor(plan->amount, m_config.rules);
  return out;
}

Result<ExchangeResult> CounterService::exchange(const ExchangeRequest& r) {
  if (auto s = checkId(r.exchangeId, "exchange_id"); !s) return s.error();
  auto checked = checkRefundLines(r.saleId, r.returnLines, "return_lines");
  if (!checked) return checked.error();
  if (r.newLines.empty()) return invalidArgument("new_lines", "an exchange gives at least one new line");
  if (auto s = checkStaffId(m_db, r.staffId); !s) return s.error();
  // One key: the refund is recorded under it as refund_id and the new sale as sale_id.
  const RefundRequest refundPart{r.exchangeId, r.saleId, r.returnLines, r.at, r.staffId, r.supervisorPin};
  auto gate = gateRefund(refundPart, *checked);
  if (!gate) return exchangeError(gate.error(), "return_lines");

  db::Transaction tx(m_db);  // the refund and the sale (its own transaction nests inside)
  std::optional<std::string> memberId;
  if (auto found = m_sales.forRefund(r.saleId)) memberId = found->memberId;
  auto refunded = writeRefund(refundPart, *checked, gate->replay ? Money::fromMinor(INT64_MAX) : gate->allowed);
  if (!refunded) return exchangeError(refunded.error(), "return_lines");
  SaleRequest salePart;
  salePart.saleId = r.exchangeId;
  salePart.member = memberId;
  salePart.lines = r.newLines;
  salePart.at = r.at;
  salePart.staffId = r.staffId;
  auto sold = sale(salePart);
  if (!sold) return exchangeError(sold.error(), "new_lines");
  tx.commit();
  return ExchangeResult{r.exchangeId, *refunded, *sold, sold->total - refunded->amount};
}

// [SECTION] History, stats, verify, catalogue

Result<std::vector<HistoryEntry>> CounterService::history(const std::string& reference, int limit) {
  if (limit < 1 || limit > 1000) return invalidArgument("limit", "limit is between 1 and 1000");
  auto member = resolveMember(reference, "member");
  if (!member) return member.error();
  std::vector<HistoryEntry> entries;
  for (LedgerLine& l : m_ledger.history(member->memberId, limit)) {
    entries.push_back({std::move(l.at), std::move(l.kind), l.points, std::move(l.saleId), l.balanceAfter});
  }
  return entries;
}

Stats CounterService::stats() {
  const StoreCounts c = m_integrity.counts();
  return Stats{c.members, c.sales, c.ledgerEntries, m_outbox.pending()};
}

VerifyReport CounterService::verify() {
  VerifyReport report;
  report.problems = m_integrity.problems();
  const StoreCounts c = m_integrity.counts();
  report.membersChecked = c.allMembers;
  report.outboxEvents = c.outboxEvents;
  return report;
}

HousekeepingResult CounterService::housekeeping(Timestamp at) {
  HousekeepingResult tally;
  const Date today = dueDay(at);
  const std::string entryTier = m_config.rules.tiers.empty() ? "" : m_config.rules.tiers.front().name;
  // Members with something due, a batch per transaction so the counter waits at most a moment.
  constexpr int kBatch = 200;
  std::string after;  // member ids are visited in order, each at most once per run
  for (;;) {
    std::vector<std::string> ids;
    {
      const db::ReadTransaction snapshot(m_db);
      ids = m_ledger.membersWithSomethingDue(today, entryTier, kBatch, after);
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
  if (target != row->balance) post(memberId, at, "adjust", target - row->balance, std::nullopt, refId);
  tx.commit();
  return Ok{};
}

void CounterService::putBackRefusedExpiry(const std::string& eventId, const std::string& memberId,
                                          const std::string& lotRef, std::int64_t points, Timestamp at) {
  const std::string refId = "refused:" + eventId;
  db::Transaction tx(m_db);
  if (!memberById(memberId) || points >= 0 || m_ledger.hasEntry(memberId, refId)) return;
  const std::int64_t before = m_ledger.balance(memberId);
  const std::int64_t after = before - points;
  const std::int64_t entryId = m_ledger.append({memberId, formatRfc3339(at), "adjust", -points, std::nullopt, refId}, after);
  // What goes past a debt the member ran up meanwhile goes back into the lot it expired from.
  std::int64_t credit = lotCredit(before, after);
  std::int64_t lot = 0;
  const char* digits = lotRef.c_str() + 4;
  const char* end = lotRef.c_str() + lotRef.size();
  if (lotRef.rfind("lot:", 0) == 0 && std::from_chars(digits, end, lot).ptr == end) credit -= m_ledger.refill(lot, memberId, credit);
  if (credit > 0) {  // the lot is gone: a new one, expiring when a fresh earning would
    const Date today = dueDay(at);
    m_ledger.openLot(entryId, memberId, today, lotExpiresOn(today, m_config.rules.expiry), credit);
  }
  tx.commit();
}

Status CounterService::putReward(const std::string& rewardId, const std::string& name, std::int64_t points) {
  if (auto s = checkId(rewardId, "reward_id"); !s) return s;
  if (trim(name).empty() || !isValidUtf8(name)) return invalidArgument("name", "a reward needs a name");
  if (points <= 0 || points > kMaxPoints) return invalidArgument("points", "a reward costs a positive number of points");
  m_rewards.put(rewardId, std::string(trim(name)), points);
  return Ok{};
}

}  // namespace loyalty::terminal
