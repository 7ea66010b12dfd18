#pragma once
/// @brief The store's figures between two instants (sales, refunds, redemptions, enrolments,
/// surveys, complaints), read from this terminal's tables.

#include <cstdint>

#include "loyalty/core/money.hpp"
#include "loyalty/core/time.hpp"
#include "loyalty/db/database.hpp"

namespace loyalty::terminal {

struct DayFigures {
  std::int64_t sales = 0;
  std::int64_t memberSales = 0;
  Money total;
  std::int64_t pointsEarned = 0;
  std::int64_t pointsRedeemed = 0;  ///< at sales and as redemptions
  std::int64_t refunds = 0;
  Money refunded;
  std::int64_t enrolments = 0;
  std::int64_t surveys = 0;
  double surveyAverage = 0;  ///< csat5 answers only
  std::int64_t complaints = 0;
};

class DayFiguresRepository {
 public:
  explicit DayFiguresRepository(db::Database& db) : m_db(db) {}
  /// What happened at instants in [from, to). Call inside a read snapshot.
  DayFigures between(Timestamp from, Timestamp to);

 private:
  db::Database& m_db;
};

}  // namespace loyalty::terminal
