#include "loyalty/terminal/reward_repository.hpp"

namespace loyalty::terminal {

std::optional<std::int64_t> RewardRepository::activeRewardPoints(const std::string& rewardId) {
  auto& st = m_db.prepare("SELECT points FROM rewards WHERE reward_id = ? AND active = 1");
  st.bind(1, rewardId);
  std::optional<std::int64_t> points;
  if (st.step()) points = st.getInt(0);
  st.reset();
  return points;
}

void RewardRepository::put(const std::string& rewardId, const std::string& name, std::int64_t points, bool active) {
  m_db.prepare("INSERT INTO rewards(reward_id, name, points, active) VALUES (?,?,?,?) "
               "ON CONFLICT(reward_id) DO UPDATE SET name = excluded.name, points = excluded.points, "
               "active = excluded.active")
      .bind(1, rewardId).bind(2, name).bind(3, points).bind(4, active)
      .run();
}

std::optional<StoredAnswer> RewardRepository::redemptionAnswer(const std::string& redemptionId) {
  auto& st = m_db.prepare("SELECT fingerprint, result FROM redemptions WHERE redemption_id = ?");
  st.bind(1, redemptionId);
  std::optional<StoredAnswer> stored;
  if (st.step()) stored = StoredAnswer{st.getText(0), st.getText(1)};
  st.reset();
  return stored;
}

void RewardRepository::rememberRedemptionAnswer(const std::string& redemptionId, const std::string& resultJson) {
  m_db.prepare("UPDATE redemptions SET result = ? WHERE redemption_id = ?")
      .bind(1, resultJson).bind(2, redemptionId).run();
}

void RewardRepository::insertRedemption(const NewRedemption& r) {
  m_db.prepare("INSERT INTO redemptions(redemption_id, member_id, at, points, reward_id, fingerprint, result, "
               "authorised) VALUES (?,?,?,?,?,?,'',?)")
      .bind(1, r.redemptionId).bind(2, r.memberId).bind(3, r.at).bind(4, r.points)
      .bind(5, r.rewardId).bind(6, r.fingerprint).bind(7, r.authorised)
      .run();
}

std::int64_t RewardRepository::offlineSpent(const std::string& memberId, const std::string& day) {
  auto& st = m_db.prepare("SELECT COALESCE(SUM(points), 0) FROM offline_spend WHERE member_id = ? AND local_day = ?");
  st.bind(1, memberId).bind(2, day);
  st.step();
  const std::int64_t used = st.getInt(0);
  st.reset();
  return used;
}

void RewardRepository::recordOfflineSpend(const std::string& refId, const std::string& memberId,
                                          const std::string& day, std::int64_t points) {
  m_db.prepare("INSERT INTO offline_spend(ref_id, member_id, local_day, points) VALUES (?,?,?,?)")
      .bind(1, refId).bind(2, memberId).bind(3, day).bind(4, points).run();
}

}  // namespace loyalty::terminal
