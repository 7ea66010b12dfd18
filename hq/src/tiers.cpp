#include "loyalty/hq/tiers.hpp"

#include "loyalty/core/programme_toml.hpp"
#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/store.hpp"
#include "loyalty/sync/codec.hpp"

namespace loyalty::hq {

void ensureTierSchema(SqlConnection& c) {
  if (c.hasTable("members") && !hasColumn(c, "members", "tier_reviewed_month")) {
    try {
      c.execScript("ALTER TABLE members ADD COLUMN tier_reviewed_month TEXT");
    } catch (const std::exception&) {
      if (!hasColumn(c, "members", "tier_reviewed_month")) throw;  // else another process added it meanwhile
    }
  }
}

const ProgrammeRules& PublishedProgramme::current(SqlConnection& c) {
  const auto v = c.query("SELECT value FROM counters WHERE name = 'config_version'");
  const std::int64_t version = v.empty() ? 0 : v.integer(0, 0);
  if (version == m_version) return m_rules;
  m_rules = ProgrammeRules{};
  const auto published = c.query("SELECT body FROM changes WHERE type = 'config' ORDER BY change_no DESC");
  for (std::size_t i = 0; i < published.size(); ++i) {
    auto body = sync::parseJson(published.text(i, 0));
    auto change = body ? sync::decodeChange(*body) : Result<sync::Change>(body.error());
    const auto* config = change ? std::get_if<sync::ConfigChange>(&*change) : nullptr;
    if (!config) continue;
    auto parsed = parseProgramme(config->toml);
    if (auto* rules = std::get_if<ProgrammeRules>(&parsed)) {
      m_rules = std::move(*rules);
      break;
    }
  }
  m_version = version;
  return m_rules;
}

namespace {

/// Sales minus refunds of the member at instants within `window`.
Money netSpend(SqlConnection& c, const std::string& memberId, const InstantWindow& window) {
  const std::string begin = formatRfc3339(window.begin), end = formatRfc3339(window.end);
  const auto r = c.query(
      "SELECT (SELECT COALESCE(SUM(total), 0) FROM sales WHERE member_id = $1 AND at >= $2 AND at < $3) - "
      "(SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE member_id = $1 AND at >= $2 AND at < $3)",
      {memberId, begin, end});
  return Money::fromMinor(r.integer(0, 0));
}

}  // namespace

std::optional<TierMove> reviewMemberTier(SqlConnection& c, const ProgrammeRules& rules, const std::string& memberId,
                                         Date today, const ZoneRules& zone) {
  const auto r = c.query("SELECT tier, COALESCE(tier_reviewed_month, '') FROM members WHERE member_id = $1", {memberId});
  if (r.empty()) return std::nullopt;
  TierMove move{r.text(0, 0), r.text(0, 0)};
  const std::size_t current = tierIndexByName(move.from, rules.tiers).value_or(0);
  if (!tierReviewDue(current, r.text(0, 1), today)) return std::nullopt;
  const std::size_t kept =
      tierAfterReview(current, netSpend(c, memberId, instantsOf(reviewTierWindow(today), zone)), rules.tiers);
  if (kept < current) move.to = rules.tiers[kept].name;
  c.query("UPDATE members SET tier = $2, tier_reviewed_month = $3 WHERE member_id = $1",
          {memberId, move.to, reviewMonthOf(today)});
  return move;
}

TierMove raiseMemberTier(SqlConnection& c, const ProgrammeRules& rules, const std::string& memberId, Money addedSpend,
                         Date today, const ZoneRules& zone) {
  const auto r = c.query("SELECT tier FROM members WHERE member_id = $1", {memberId});
  if (r.empty()) return {};
  TierMove move{r.text(0, 0), r.text(0, 0)};
  const std::size_t before = tierIndexByName(move.from, rules.tiers).value_or(0);
  if (!saleMayRaiseTier(before, addedSpend, rules.tiers)) return move;
  const std::size_t reached = tierAfterSale(
      before, addedSpend, netSpend(c, memberId, instantsOf(saleTierWindow(today), zone)), rules.tiers);
  if (reached > before) {
    move.to = rules.tiers[reached].name;
    c.query("UPDATE members SET tier = $2, tier_reviewed_month = $3 WHERE member_id = $1",
            {memberId, move.to, reviewMonthOf(today)});
  }
  return move;
}

const ZoneRules& homeZone(SqlConnection& c, ZoneCache& zones, const std::string& memberId) {
  const auto r = c.query(
      "SELECT MIN(t.timezone) FROM terminals t JOIN members m ON m.enrolled_store = t.store_id WHERE m.member_id = $1",
      {memberId});
  return zones.get(r.empty() || r.isNull(0, 0) ? std::string("UTC") : r.text(0, 0));
}

TierReviewRun HqStore::reviewTiers(Timestamp now, const std::string& actor) {
  TierReviewRun run;
  // Local days differ by at most a day between zones: members reviewed before the latest month
  // any store may be in are candidates; each is then judged on their home store's own day.
  const std::string latestMonth = reviewMonthOf(Date{std::chrono::floor<std::chrono::days>(now + std::chrono::days{1})});
  constexpr std::int64_t kBatch = 500;  // members per transaction: ingest waits at most a moment
  std::string after;
  for (;;) {
    SqlTransaction tx(*m_c);
    const ProgrammeRules& rules = m_programme.current(*m_c);
    const std::string entryTier = rules.tiers.empty() ? "" : rules.tiers.front().name;
    const auto due = m_c->query(
        "SELECT member_id FROM members WHERE member_id > $1 AND enrolled = 1 AND merged_into IS NULL AND "
        "erased_at IS NULL AND tier != $2 AND COALESCE(tier_reviewed_month, '') < $3 ORDER BY member_id LIMIT $4",
        {after, entryTier, latestMonth, kBatch});
    if (due.empty()) break;
    std::vector<std::string> changed;
    for (std::size_t i = 0; i < due.size(); ++i) {
      const std::string id = due.text(i, 0);
      const ZoneRules& zone = homeZone(*m_c, m_zones, id);
      const Date today = zone.localDate(now);
      const auto move = reviewMemberTier(*m_c, rules, id, today, zone);
      if (!move) continue;
      ++run.reviewed;
      if (move->changed()) {
        ++run.downgraded;
        changed.push_back(id);
        recordAudit(*m_c, {formatRfc3339(now), actor, audit::kTierChange, id, std::nullopt,
                           move->from + " -> " + move->to + " at the review of " + reviewMonthOf(today)});
      }
    }
    bumpMembers(changed);
    tx.commit();
    run.changedMembers.insert(run.changedMembers.end(), changed.begin(), changed.end());
    after = due.text(due.size() - 1, 0);
  }
  SqlTransaction tx(*m_c);
  recordAudit(*m_c, {formatRfc3339(now), actor, audit::kTierReview, std::nullopt, run.reviewed,
                     "reviewed " + std::to_string(run.reviewed) + ", downgraded " + std::to_string(run.downgraded)});
  tx.commit();
  return run;
}

}  // namespace loyalty::hq
