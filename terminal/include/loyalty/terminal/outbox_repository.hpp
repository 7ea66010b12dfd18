#pragma once
/// @brief The outbox seen by the counter: each event written from the sync protocol's typed
/// payload through its encoder (sealed at rest by outbox.hpp), inside the caller's transaction.

#include <string>

#include "loyalty/core/time.hpp"
#include "loyalty/db/database.hpp"
#include "loyalty/sync/payloads.hpp"

namespace loyalty::terminal {

class OutboxRepository {
 public:
  explicit OutboxRepository(db::Database& db) : m_db(db) {}

  void append(const std::string& eventId, Timestamp at, const sync::MemberEnrolled& payload);
  void append(const std::string& eventId, Timestamp at, const sync::MemberUpdated& payload);
  void append(const std::string& eventId, Timestamp at, const sync::SaleRecorded& payload);
  void append(const std::string& eventId, Timestamp at, const sync::PointsRedeemed& payload);
  void append(const std::string& eventId, Timestamp at, const sync::SaleRefunded& payload);
  void append(const std::string& eventId, Timestamp at, const sync::PointsAdjusted& payload);
  void append(const std::string& eventId, Timestamp at, const sync::RedemptionReleased& payload);

  /// Events not yet acknowledged by head office.
  std::int64_t pending();

 private:
  db::Database& m_db;
};

}  // namespace loyalty::terminal
