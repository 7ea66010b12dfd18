#include "loyalty/hq/staff.hpp"

#include "loyalty/hq/local_time.hpp"
#include "loyalty/sync/codec.hpp"
#include "loyalty/sync/event_types.hpp"

namespace loyalty::hq {

namespace {

constexpr const char* kStaffTables = R"SQL(
CREATE TABLE IF NOT EXISTS redemptions(
  event_id {{ID}} PRIMARY KEY, redemption_id {{ID}} NOT NULL, terminal_id {{ID}} NOT NULL, store_id {{ID}} NOT NULL,
  member_id {{ID}} NOT NULL, day TEXT NOT NULL, points BIGINT NOT NULL, staff_id TEXT);
CREATE INDEX IF NOT EXISTS redemptions_day ON redemptions(day, store_id);
CREATE TABLE IF NOT EXISTS survey_dimensions(
  event_id {{ID}} NOT NULL, dimension TEXT NOT NULL, store_id {{ID}} NOT NULL, day TEXT NOT NULL, score BIGINT NOT NULL,
  PRIMARY KEY(event_id, dimension));
CREATE INDEX IF NOT EXISTS survey_dimensions_day ON survey_dimensions(day, store_id);
)SQL";

/// A fact table that gains `staff_id`, filled from its events' payloads.
struct StaffColumn {
  const char* table;
  const char* eventType;
};
constexpr StaffColumn kStaffColumns[] = {
    {"sales", sync::kSaleRecorded}, {"refunds", sync::kSaleRefunded}, {"survey_answers", sync::kSurveyAnswered}};

bool present(SqlConnection& c) {
  if (!c.hasTable("redemptions") || !c.hasTable("survey_dimensions") || !hasColumn(c, "members", "enrolled_staff")) return false;
  for (const auto& s : kStaffColumns) {
    if (c.hasTable(s.table) && !hasColumn(c, s.table, "staff_id")) return false;
  }
  return true;
}

std::string staffOf(SqlConnection& c, const std::string& payload) { return jsonTextExpr(c.backend(), payload, "staff_id"); }

void backfillRedemptions(SqlConnection& c) {
  const auto r = c.query("SELECT e.event_id, e.terminal_id, t.store_id, t.timezone, e.at, e.payload FROM events e "
                         "JOIN terminals t ON t.terminal_id = e.terminal_id WHERE e.type = $1",
                         {std::string(sync::kPointsRedeemed)});
  ZoneCache zones;
  for (std::size_t i = 0; i < r.size(); ++i) {
    const auto at = parseRfc3339(r.text(i, 4), "at");
    auto body = sync::parseJson(r.text(i, 5));
    auto p = body ? sync::decodePointsRedeemed(*body) : Result<sync::PointsRedeemed>(body.error());
    if (!at || !p) continue;  // applied events always decode
    recordRedemption(c, {r.text(i, 0), p->redemptionId, r.text(i, 1), r.text(i, 2), p->memberId,
                         localStamp(zones.get(r.text(i, 3)), *at).day, p->points, p->staffId});
  }
}

void backfillDimensions(SqlConnection& c) {
  const auto r = c.query("SELECT e.event_id, s.store_id, s.day, e.payload FROM events e "
                         "JOIN survey_answers s ON s.event_id = e.event_id WHERE e.type = $1 AND " +
                             jsonTextExpr(c.backend(), "e.payload", "dimensions") + " IS NOT NULL",
                         {std::string(sync::kSurveyAnswered)});
  for (std::size_t i = 0; i < r.size(); ++i) {
    auto body = sync::parseJson(r.text(i, 3));
    auto p = body ? sync::decodeSurveyAnswered(*body) : Result<sync::SurveyAnswered>(body.error());
    if (p) recordSurveyDimensions(c, r.text(i, 0), r.text(i, 1), r.text(i, 2), p->dimensions);
  }
}

/// Adds what is missing; what was missing is filled from the stored events (none in a new database).
void addStaffSchema(SqlConnection& c) {
  for (const auto& s : kStaffColumns) {
    if (!c.hasTable(s.table) || hasColumn(c, s.table, "staff_id")) continue;
    c.execScript(std::string("ALTER TABLE ") + s.table + " ADD COLUMN staff_id TEXT");
    c.query(std::string("UPDATE ") + s.table + " SET staff_id = x.staff FROM (SELECT event_id, " + staffOf(c, "payload") +
                " AS staff FROM events WHERE type = $1) AS x WHERE x.event_id = " + s.table + ".event_id AND x.staff IS NOT NULL",
            {std::string(s.eventType)});
  }
  if (!hasColumn(c, "members", "enrolled_staff")) {
    c.execScript("ALTER TABLE members ADD COLUMN enrolled_staff TEXT");
    // The first enrolment of a member id stands (as ingest keeps it).
    const auto r = c.query("SELECT " + jsonTextExpr(c.backend(), "payload", "member_id") + ", " + staffOf(c, "payload") +
                               " FROM events WHERE type = $1 AND " + staffOf(c, "payload") + " IS NOT NULL ORDER BY at, seq",
                           {std::string(sync::kMemberEnrolled)});
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (r.isNull(i, 0)) continue;
      c.query("UPDATE members SET enrolled_staff = $2 WHERE member_id = $1 AND enrolled_staff IS NULL", {r.text(i, 0), r.text(i, 1)});
    }
  }
  const bool newRedemptions = !c.hasTable("redemptions"), newDimensions = !c.hasTable("survey_dimensions");
  c.execScript(schemaForBackend(kStaffTables, c.backend()));
  if (newRedemptions) backfillRedemptions(c);
  if (newDimensions && c.hasTable("survey_answers")) backfillDimensions(c);
}

}  // namespace

void createStaffSchema(SqlConnection& c) { addStaffSchema(c); }

void ensureStaffSchema(SqlConnection& c) {
  if (present(c)) return;
  SqlTransaction tx(c);
  if (!present(c)) addStaffSchema(c);  // another process may have added it meanwhile
  tx.commit();
}

void recordRedemption(SqlConnection& c, const RedemptionFacts& r) {
  c.query("INSERT INTO redemptions(event_id, redemption_id, terminal_id, store_id, member_id, day, points, staff_id) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (event_id) DO NOTHING",
          {r.eventId, r.redemptionId, r.terminalId, r.storeId, r.memberId, r.day, r.points,
           r.staffId ? SqlValue(*r.staffId) : SqlValue(nullptr)});
}

void recordSurveyDimensions(SqlConnection& c, const std::string& eventId, const std::string& storeId, const std::string& day,
                            const std::map<std::string, std::int64_t>& dimensions) {
  for (const auto& [name, score] : dimensions) {
    c.query("INSERT INTO survey_dimensions(event_id, dimension, store_id, day, score) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (event_id, dimension) DO NOTHING",
            {eventId, name, storeId, day, score});
  }
}

}  // namespace loyalty::hq
