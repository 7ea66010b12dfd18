#include "loyalty/hq/claims.hpp"

#include <algorithm>
#include <variant>

#include <toml++/toml.h>

#include "loyalty/core/rules.hpp"
#include "loyalty/hq/privacy.hpp"
#include "loyalty/sync/codec.hpp"

namespace loyalty::hq {

using nlohmann::json;

namespace {

constexpr const char* kClaimsSchema = R"SQL(
CREATE TABLE IF NOT EXISTS rejected_events(
  event_id {{ID}} PRIMARY KEY, terminal_id {{ID}} NOT NULL, seq BIGINT NOT NULL, type TEXT NOT NULL, at TEXT NOT NULL,
  payload TEXT NOT NULL, fingerprint TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL, received_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS referral_bonuses(
  referred_id {{ID}} PRIMARY KEY, referrer_id {{ID}} NOT NULL, event_id {{ID}} NOT NULL, terminal_id {{ID}} NOT NULL,
  at TEXT NOT NULL);
)SQL";

Result<Ok> checkExpiry(SqlConnection& c, const std::string& terminalId, const std::string& memberId,
                       const sync::PointsAdjusted& a, const AdjustmentDays& days) {
  if (a.points >= 0) {
    return refusedClaim(sync::kReasonAdjustment, "an expiry takes points away; this one adds " + std::to_string(a.points));
  }
  // Points expire on the rules' day by the store's calendar: a terminal whose clock ran ahead
  // would take them before it (ISO days compare as text).
  if (days.event > days.headOffice) {
    return refusedClaim(sync::kReasonAdjustment, "terminal " + terminalId + " expires points on " + days.event +
                                                     ", but it is " + days.headOffice +
                                                     " at the store by head office's clock: the terminal's clock is ahead");
  }
  // What this terminal's events credited the member and what its expiries already took back:
  // a terminal expires only lots it opened itself.
  std::int64_t credited = 0, expired = 0;
  for (const std::string& id : sameRecords(c, memberId)) {
    const auto r = c.query(
        "SELECT COALESCE(SUM(CASE WHEN l.points > 0 THEN l.points ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN l.kind = 'expire' THEN -l.points ELSE 0 END), 0) "
        "FROM ledger l JOIN events e ON e.event_id = l.event_id WHERE l.member_id = $1 AND e.terminal_id = $2",
        {id, terminalId});
    credited += r.integer(0, 0);
    expired += r.integer(0, 1);
  }
  const std::int64_t open = std::max<std::int64_t>(credited - expired, 0);
  if (-a.points > open) {
    return refusedClaim(sync::kReasonAdjustment, "terminal " + terminalId + " expires " + std::to_string(-a.points) +
                                                     " points of member " + memberId + ", but head office has it crediting " +
                                                     std::to_string(open) + " not yet expired");
  }
  return Ok{};
}

Result<Ok> checkBonus(SqlConnection& c, const AdjustedMembers& m, const sync::PointsAdjusted& a,
                      const std::vector<std::int64_t>& amounts) {
  if (std::find(amounts.begin(), amounts.end(), a.points) == amounts.end() || a.points <= 0) {
    std::string allowed;
    for (const std::int64_t n : amounts) allowed += (allowed.empty() ? "" : ", ") + std::to_string(n);
    return refusedClaim(sync::kReasonAdjustment, "a referral bonus is " + allowed + " points (the programme's), not " +
                                                     std::to_string(a.points));
  }
  if (!m.referred) {
    return refusedClaim(sync::kReasonAdjustment, "a bonus names the referred member it rewards (referred_member_id)");
  }
  if (m.referrerOfReferred != m.member) {
    return refusedClaim(sync::kReasonAdjustment, "member " + *m.referred + " was not referred by member " + m.member);
  }
  const auto paid = c.query("SELECT event_id FROM referral_bonuses WHERE referred_id = $1", {*m.referred});
  if (!paid.empty()) {
    return refusedClaim(sync::kReasonAdjustment, "the referral of member " + *m.referred + " was already rewarded (event " +
                                                     paid.text(0, 0) + ")");
  }
  return Ok{};
}

}  // namespace

Error refusedClaim(const char* reason, std::string detail) { return Error{kRefusedClaim, reason, std::move(detail)}; }

void ensureClaimsSchema(SqlConnection& c) {
  if (c.hasTable("rejected_events") && c.hasTable("referral_bonuses")) return;
  c.execScript(schemaForBackend(kClaimsSchema, c.backend()));
}

Result<Ok> checkOrigin(const json& payload, const std::string& storeId, const std::string& terminalId) {
  if (!payload.is_object()) return Ok{};
  const auto check = [&](const char* key, const std::string& registered) -> Result<Ok> {
    const auto it = payload.find(key);
    if (it == payload.end() || !it->is_string() || it->get_ref<const std::string&>() == registered) return Ok{};
    return refusedClaim(sync::kReasonWrongStore, std::string("payload.") + key + " " + it->get<std::string>() +
                                                     " is not this terminal's registration (store " + storeId +
                                                     ", terminal " + terminalId + ")");
  };
  if (auto r = check("store_id", storeId); !r) return r;
  return check("terminal_id", terminalId);
}

std::vector<std::int64_t> referralBonusAmounts(SqlConnection& c) {
  const std::int64_t fallback = ProgrammeRules{}.referralBonusPoints;
  std::vector<std::int64_t> amounts{fallback};
  const auto r = c.query("SELECT body FROM changes WHERE type = 'config'");
  for (std::size_t i = 0; i < r.size(); ++i) {
    auto change = sync::decodeChange(json::parse(r.text(i, 0)));
    const auto* config = change ? std::get_if<sync::ConfigChange>(&*change) : nullptr;
    if (!config) continue;
    try {
      const toml::table t = toml::parse(config->toml);
      amounts.push_back(t["loyalty"]["referral_bonus_points"].value<std::int64_t>().value_or(fallback));
    } catch (const toml::parse_error&) {
      // publishConfig parsed it before storing it; nothing else writes config changes.
    }
  }
  std::sort(amounts.begin(), amounts.end());
  amounts.erase(std::unique(amounts.begin(), amounts.end()), amounts.end());
  return amounts;
}

Result<Ok> checkAdjustment(SqlConnection& c, const std::string& terminalId, const AdjustedMembers& members,
                           const sync::PointsAdjusted& a, const AdjustmentDays& days,
                           const std::vector<std::int64_t>& bonusAmounts) {
  if (a.kind == "expire") return checkExpiry(c, terminalId, members.member, a, days);
  if (a.kind == "bonus") return checkBonus(c, members, a, bonusAmounts);
  return refusedClaim(sync::kReasonAdjustment, "a terminal makes no '" + a.kind +
                                                   "' adjustment (its reconciliations with head office write no event)");
}

void recordReferralBonus(SqlConnection& c, const std::string& referredMember, const std::string& referrer,
                         const std::string& eventId, const std::string& terminalId, const std::string& at) {
  c.query("INSERT INTO referral_bonuses(referred_id, referrer_id, event_id, terminal_id, at) VALUES ($1, $2, $3, $4, $5)",
          {referredMember, referrer, eventId, terminalId, at});
}

// A refused event was never applied: its personal fields are never kept.
void keepRejected(SqlConnection& c, const RejectedEvent& r) {
  c.query("INSERT INTO rejected_events(event_id, terminal_id, seq, type, at, payload, fingerprint, reason, detail, received_at) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
          {r.event.eventId, r.terminalId, r.event.seq, r.event.type, r.event.at, payloadWithoutPersonalData(r.event.type, r.event.payload),
           r.fingerprint,
           r.reason, r.detail, r.receivedAt});
}

std::optional<PriorRejection> priorRejection(SqlConnection& c, const std::string& eventId) {
  const auto r = c.query("SELECT terminal_id, fingerprint, reason FROM rejected_events WHERE event_id = $1", {eventId});
  if (r.empty()) return std::nullopt;
  return PriorRejection{r.text(0, 0), r.text(0, 1), r.text(0, 2)};
}

std::int64_t rejectedEventCount(SqlConnection& c) {
  return c.query("SELECT COUNT(*) FROM rejected_events").integer(0, 0);
}

}  // namespace loyalty::hq
