#include "loyalty/terminal/outbox.hpp"

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "loyalty/terminal/at_rest.hpp"

namespace loyalty::terminal {
namespace {

/// A payload is bound to its event: moved to another row, it does not open.
std::string payloadContext(const std::string& eventId, std::string_view type) {
  std::string context = eventId;
  context += '\x1f';
  context += type;
  return context;
}

}  // namespace

void appendOutboxEvent(db::Database& db, const std::string& eventId, std::string_view type, const std::string& at,
                       const std::string& payloadJson) {
  const std::string sealed = atRestKeys(db).seal(Sealed::kOutboxPayload, payloadJson, payloadContext(eventId, type));
  db.query("INSERT INTO outbox(event_id, type, at, payload) VALUES (?, ?, ?, ?)")
      .bind(1, eventId).bind(2, type).bind(3, at).bindBlob(4, sealed)
      .run();
}

std::string openOutboxPayload(db::Database& db, const std::string& eventId, std::string_view type,
                              const std::string& stored) {
  return atRestKeys(db).open(Sealed::kOutboxPayload, stored, payloadContext(eventId, type));
}

std::int64_t redactMemberEvents(db::Database& db, const std::string& memberId) {
  const AtRestKeys& keys = atRestKeys(db);
  struct Row {
    std::int64_t seq;
    std::string sealed;
  };
  std::vector<Row> redacted;  // read all first: a statement must not see its own table change
  {
    auto rows = db.query("SELECT seq, event_id, type, payload FROM outbox "
                         "WHERE type IN ('member.enrolled', 'member.updated', 'complaint.filed')");
    while (rows.step()) {
      const std::string eventId = rows.text("event_id"), type = rows.text("type");
      const std::string context = payloadContext(eventId, type);
      nlohmann::json payload = nlohmann::json::parse(keys.open(Sealed::kOutboxPayload, rows.blob("payload"), context));
      const auto member = payload.find("member_id");
      if (member == payload.end() || *member != memberId) continue;
      if (type == "complaint.filed") {
        payload["description"] = "";
      } else {
        for (const char* field : {"name", "phone", "birthday", "card_no", "language"}) payload.erase(field);
      }
      redacted.push_back({rows.int64("seq"), keys.seal(Sealed::kOutboxPayload, payload.dump(), context)});
    }
  }
  for (const Row& r : redacted) {
    db.query("UPDATE outbox SET payload = ? WHERE seq = ?").bindBlob(1, r.sealed).bind(2, r.seq).run();
  }
  return static_cast<std::int64_t>(redacted.size());
}

void sealVersion4Outbox(db::Database& db) {
  const AtRestKeys& keys = atRestKeys(db);
  // In batches read before they are written: a statement must not see its own table change.
  struct Row {
    std::int64_t seq;
    std::string sealed;
  };
  std::int64_t after = 0;
  for (;;) {
    std::vector<Row> batch;
    {
      auto rows = db.query("SELECT seq, event_id, type, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT 1000")
                      .bind(1, after);
      while (rows.step()) {
        batch.push_back({rows.int64("seq"), keys.seal(Sealed::kOutboxPayload, rows.text("payload"),
                                                      payloadContext(rows.text("event_id"), rows.text("type")))});
      }
    }
    if (batch.empty()) return;
    for (const Row& r : batch) {
      db.query("UPDATE outbox SET payload = ? WHERE seq = ?").bindBlob(1, r.sealed).bind(2, r.seq).run();
    }
    after = batch.back().seq;
  }
}

}  // namespace loyalty::terminal
