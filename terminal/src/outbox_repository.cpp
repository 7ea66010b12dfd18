#include "loyalty/terminal/outbox_repository.hpp"

#include "loyalty/sync/codec.hpp"
#include "loyalty/sync/event_types.hpp"
#include "loyalty/terminal/outbox.hpp"
#include "loyalty/terminal/store.hpp"

namespace loyalty::terminal {

namespace {

template <class Payload>
void write(db::Database& db, const std::string& eventId, const char* type, Timestamp at, const Payload& payload) {
  appendOutboxEvent(db, eventId, type, formatRfc3339(at), sync::toJson(payload).dump());
}

}  // namespace

void OutboxRepository::append(const std::string& eventId, Timestamp at, const sync::MemberEnrolled& p) {
  write(m_db, eventId, sync::kMemberEnrolled, at, p);
}
void OutboxRepository::append(const std::string& eventId, Timestamp at, const sync::MemberUpdated& p) {
  write(m_db, eventId, sync::kMemberUpdated, at, p);
}
void OutboxRepository::append(const std::string& eventId, Timestamp at, const sync::SaleRecorded& p) {
  appendOutboxEvent(m_db, eventId, sync::kSaleRecorded, formatRfc3339(at), sync::dumpSaleRecorded(p));
}
void OutboxRepository::append(const std::string& eventId, Timestamp at, const sync::PointsRedeemed& p) {
  write(m_db, eventId, sync::kPointsRedeemed, at, p);
}
void OutboxRepository::append(const std::string& eventId, Timestamp at, const sync::SaleRefunded& p) {
  write(m_db, eventId, sync::kSaleRefunded, at, p);
}
void OutboxRepository::append(const std::string& eventId, Timestamp at, const sync::PointsAdjusted& p) {
  write(m_db, eventId, sync::kPointsAdjusted, at, p);
}

void OutboxRepository::append(const std::string& eventId, Timestamp at, const sync::RedemptionReleased& p) {
  write(m_db, eventId, sync::kPointsRedemptionReleased, at, p);
}

std::int64_t OutboxRepository::pending() { return outboxPending(m_db); }

}  // namespace loyalty::terminal
