#pragma once
/// @brief The outbox table's rows: each event's payload sealed at rest (it may carry a member's
/// phone, birthday or name), opened only to be read back or uploaded.

#include <string>
#include <string_view>

#include "loyalty/db/database.hpp"

namespace loyalty::terminal {

/// Appends an event (seq = rowid) with its JSON payload sealed; inside the caller's transaction.
void appendOutboxEvent(db::Database& db, const std::string& eventId, std::string_view type, const std::string& at,
                       const std::string& payloadJson);

/// The JSON text of a stored payload (of the row with this event id and type).
std::string openOutboxPayload(db::Database& db, const std::string& eventId, std::string_view type,
                              const std::string& stored);

/// Removes a member's personal data from the events that carry it (sent or not): name, phone,
/// birthday, card number and language of their member.enrolled and member.updated events, the
/// description of their complaint.filed events. Head office answers such events `rejected`
/// (`erased`), a final refusal. Inside the caller's transaction, under a Scrub. Returns the
/// number of events changed.
std::int64_t redactMemberEvents(db::Database& db, const std::string& memberId);

/// Schema version 5: seals the payloads version 4 stored in clear (a migration step).
void sealVersion4Outbox(db::Database& db);

}  // namespace loyalty::terminal
