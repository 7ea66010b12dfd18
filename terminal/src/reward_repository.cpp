#include "loyalty/terminal/reward_repository.hpp"

namespace loyalty::terminal {

std::vector<CatalogueReward> RewardRepository::activeRewards() {
  auto q = m_db.query("SELECT reward_id, name, points FROM rewards WHERE active = 1 ORDER BY points, reward_id");
  std::vector<CatalogueReward> out;
  while (q.step()) out.push_back({q.text("reward_id"), q.text("name"), q.int64("points")});
  return out;
}

std::optional<std::int64_t> RewardRepository::activeRewardPoints(const std::string& rewardId) {
  auto q = m_db.query("SELECT points FROM rewards WHERE reward_id = ? AND active = 1").bind(1, rewardId);
  if (!q.step()) return std::nullopt;
  return q.int64("points");
}

void RewardRepository::put(const std::string& rewardId, const std::string& name, std::int64_t points, bool active) {
  m_db.query("INSERT INTO rewards(reward_id, name, points, active) VALUES (?,?,?,?) "
             "ON CONFLICT(reward_id) DO UPDATE SET name = excluded.name, points = excluded.points, "
             "active = excluded.active")
      .bind(1, rewardId).bind(2, name).bind(3, points).bind(4, active)
      .run();
}

std::optional<StoredAnswer> RewardRepository::redemptionAnswer(const std::string& redemptionId) {
  auto q = m_db.query("SELECT fingerprint, result FROM redemptions WHERE redemption_id = ?").bind(1, redemptionId);
  if (!q.step()) return std::nullopt;
  return StoredAnswer{q.text("fingerprint"), q.text("result")};
}

void RewardRepository::rememberRedemptionAnswer(const std::string& redemptionId, const std::string& resultJson) {
  m_db.query("UPDATE redemptions SET result = ? WHERE redemption_id = ?")
      .bind(1, resultJson).bind(2, redemptionId).run();
}

void RewardRepository::insertRedemption(const NewRedemption& r) {
  m_db.query("INSERT INTO redemptions(redemption_id, member_id, at, points, reward_id, fingerprint, result, "
             "authorised, staff_id) VALUES (?,?,?,?,?,?,'',?,?)")
      .bind(1, r.redemptionId).bind(2, r.memberId).bind(3, r.at).bind(4, r.points)
      .bind(5, r.rewardId).bind(6, r.fingerprint).bind(7, r.authorised).bind(8, r.staffId)
      .run();
}

std::int64_t RewardRepository::offlineSpent(const std::string& memberId, const std::string& day) {
  // Later days too: spends recorded while the clock ran ahead, or before it was set back across
  // midnight, count against today's allowance; setting the clock back never opens a fresh day.
  auto q = m_db.query("SELECT COALESCE(SUM(points), 0) AS points FROM offline_spend "
                      "WHERE member_id = ? AND local_day >= ?")
               .bind(1, memberId)
               .bind(2, day);
  q.step();
  return q.int64("points");
}

void RewardRepository::recordOfflineSpend(const std::string& refId, const std::string& memberId,
                                          const std::string& day, std::int64_t points) {
  m_db.query("INSERT INTO offline_spend(ref_id, member_id, local_day, points) VALUES (?,?,?,?)")
      .bind(1, refId).bind(2, memberId).bind(3, day).bind(4, points).run();
}

std::int64_t RewardRepository::beginAttempt(const std::string& redemptionId, const std::string& memberId,
                                           std::int64_t points, const std::string& at) {
  auto q = m_db.query("SELECT COALESCE(MAX(seq), 0) AS seq FROM outbox");
  q.step();
  const std::int64_t afterSeq = q.int64("seq");
  m_db.query(
        "INSERT OR REPLACE INTO redemption_attempts(redemption_id, member_id, points, after_seq, started_at) "
        "VALUES (?, ?, ?, ?, ?)")
      .bind(1, redemptionId)
      .bind(2, memberId)
      .bind(3, points)
      .bind(4, afterSeq)
      .bind(5, at)
      .run();
  return afterSeq;
}

void RewardRepository::endAttempt(const std::string& redemptionId) {
  m_db.query("DELETE FROM redemption_attempts WHERE redemption_id = ?").bind(1, redemptionId).run();
}

std::vector<OpenAttempt> RewardRepository::openAttempts() {
  std::vector<OpenAttempt> out;
  auto q = m_db.query(
      "SELECT redemption_id, member_id, points, after_seq FROM redemption_attempts ORDER BY after_seq, redemption_id");
  while (q.step()) out.push_back({q.text("redemption_id"), q.text("member_id"), q.int64("points"), q.int64("after_seq")});
  return out;
}

}  // namespace loyalty::terminal
