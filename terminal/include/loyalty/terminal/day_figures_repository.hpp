#pragma once
/// @brief The store's figures between two instants (sales, refunds, redemptions, enrolments,
/// surveys, complaints), read from this terminal's tables.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "loyalty/core/money.hpp"
#include "loyalty/core/time.hpp"
#include "loyalty/db/database.hpp"

namespace loyalty::terminal {

/// One staff member's part of the day: the sales they made, the refunds they processed, the
/// points of both, the redemptions they handed over and the members they enrolled.
struct StaffDayFigures {
  std::optional<std::string> staffId;  ///< nullopt: records without a staff member (exec, older rows)
  std::string name;                    ///< from the staff accounts; "" when unknown
  std::int64_t sales = 0;
  Money total;      ///< of their sales
  std::int64_t refunds = 0;
  Money refunded;   ///< by their refunds
  Money net;        ///< total − refunded
  std::int64_t pointsEarned = 0;    ///< by their sales
  std::int64_t pointsReversed = 0;  ///< by their refunds
  std::int64_t pointsRedeemed = 0;  ///< at their sales and redemptions
  std::int64_t enrolments = 0;
};

struct DayFigures {
  std::int64_t sales = 0;
  std::int64_t memberSales = 0;
  Money total;      ///< gross: the sales' totals
  Money net;        ///< total − refunded
  std::int64_t pointsReversed = 0;  ///< by the day's refunds
  std::int64_t pointsEarned = 0;
  std::int64_t pointsRedeemed = 0;  ///< at sales and as redemptions
  std::int64_t refunds = 0;
  Money refunded;
  std::int64_t enrolments = 0;
  std::int64_t surveys = 0;
  double surveyAverage = 0;  ///< csat5 answers only
  std::int64_t complaints = 0;
  std::vector<StaffDayFigures> byStaff;  ///< by staff id (unrecorded last)
};

class DayFiguresRepository {
 public:
  explicit DayFiguresRepository(db::Database& db) : m_db(db) {}
  /// What happened at instants in [from, to). Call inside a read snapshot.
  DayFigures between(Timestamp from, Timestamp to);

 private:
  std::vector<StaffDayFigures> byStaff(Timestamp from, Timestamp to);
  db::Database& m_db;
};

}  // namespace loyalty::terminal
