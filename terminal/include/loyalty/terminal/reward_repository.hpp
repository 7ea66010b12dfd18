#pragma once
/// @brief The reward catalogue, redemptions (with the answers kept for replays of their keys) and
/// the points spent offline against the daily allowance.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "loyalty/db/database.hpp"
#include "loyalty/terminal/sale_repository.hpp"

namespace loyalty::terminal {

/// A reward of the catalogue as the counter offers it.
struct CatalogueReward {
  std::string rewardId;
  std::string name;
  std::int64_t points = 0;
};

struct NewRedemption {
  std::string redemptionId, memberId, at;
  std::int64_t points = 0;
  std::optional<std::string> rewardId;
  std::string fingerprint;
  std::string authorised;  ///< "local", "online" or "offline"
  std::optional<std::string> staffId;  ///< who handed it over
};

/// An online authorisation attempt not yet ended (table redemption_attempts).
struct OpenAttempt {
  std::string redemptionId, memberId;
  std::int64_t points = 0;
  std::int64_t afterSeq = 0;
};

/// Reads and writes rewards, redemptions and offline spending on one connection; writes run
/// inside the caller's transaction.
class RewardRepository {
 public:
  explicit RewardRepository(db::Database& db) : m_db(db) {}

  /// The active rewards, cheapest first.
  std::vector<CatalogueReward> activeRewards();
  /// The points an active reward of the catalogue costs.
  std::optional<std::int64_t> activeRewardPoints(const std::string& rewardId);
  /// Adds or replaces a reward (active unless said otherwise).
  void put(const std::string& rewardId, const std::string& name, std::int64_t points, bool active = true);

  std::optional<StoredAnswer> redemptionAnswer(const std::string& redemptionId);
  void rememberRedemptionAnswer(const std::string& redemptionId, const std::string& resultJson);
  void insertRedemption(const NewRedemption& redemption);

  /// Points the member redeemed offline here on the local day `day` (YYYY-MM-DD) or a later one
  /// (recorded under a clock that has since been set back).
  std::int64_t offlineSpent(const std::string& memberId, const std::string& day);
  void recordOfflineSpend(const std::string& refId, const std::string& memberId, const std::string& day,
                          std::int64_t points);

  /// Records an attempt to have head office reserve points (replacing an earlier one under the
  /// same id that was never ended); returns its after_seq, the outbox's highest seq now.
  std::int64_t beginAttempt(const std::string& redemptionId, const std::string& memberId, std::int64_t points,
                            const std::string& at);
  /// The attempt ended (in the caller's transaction, with the event that ends it).
  void endAttempt(const std::string& redemptionId);
  std::vector<OpenAttempt> openAttempts();

 private:
  db::Database& m_db;
};

}  // namespace loyalty::terminal
