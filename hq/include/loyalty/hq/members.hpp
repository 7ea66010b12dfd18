#pragma once
/// @brief Member 360 at head office: finding a member by phone, card, name or pinyin, what the
/// profile page shows beside the personal data (points history with the reasons of head
/// office's adjustments, sales, surveys, complaints and their compensation), and the reading
/// of a points adjustment (HqStore::adjustPoints makes it). docs/hq-api.md "Members"; the
/// routes and pages are in members_routes.cpp.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loyalty/core/result.hpp"
#include "loyalty/core/time.hpp"
#include "loyalty/hq/sql.hpp"
#include "loyalty/hq/store.hpp"

namespace httplib {
class Server;
}

namespace loyalty::hq {

/// Creates the adjustments and the search keys tables on a database that lacks them
/// (idempotent, cheap when present).
void ensureMemberCareSchema(SqlConnection& c);

/// Reads {"points": +/-n, "reason", "adjustment_id"?} for `memberId` (empty: the complaint's
/// customer) and `complaintId`: points a whole number, not 0, at most 1,000,000 either way;
/// reason 1 to 500 bytes of text. Errors name the field.
Result<HqStore::PointsAdjustment> parsePointsAdjustment(const nlohmann::json& body, const std::string& memberId,
                                                         const std::optional<std::string>& complaintId);

/// A member search: `q` is a phone (a whole number, its start, or its last four digits), a card
/// number (or its start), a name or its start, or the name's pinyin or initials ("zsf").
struct MemberSearch {
  std::string q;
  std::int64_t offset = 0;
  std::int64_t limit = 20;  ///< 1..100
};

/// Reads q (1 to 64 characters), offset and limit; errors name the parameter.
Result<MemberSearch> parseMemberSearch(const std::function<std::optional<std::string>(const char*)>& param);

/// Within a transaction: waits for, and holds until it ends, the turn of whoever writes the
/// member search keys (RowSpace::kSearchKeys), so that no refresh writes back keys it read before.
void holdSearchKeys(SqlConnection& c);
/// Within a transaction: deletes the search keys of `memberIds` now (holding their turn): the
/// member merged away by a merge (an erasure drops its members' keys through scrubErased).
void dropSearchKeys(SqlConnection& c, const std::vector<std::string>& memberIds);

/// Brings the search keys up to date with up to 2000 members changed since the last call (their
/// change numbers): name keys with pinyin as the terminal's lookup has them (memberNameKeys),
/// card numbers and phones' last four digits. One transaction that does not wait for uploads
/// (refreshers take turns on RowSpace::kSearchKeys); keys are written only where they differ,
/// so a chunk of balance changes (every sale makes one) costs two reads. True when more
/// members are waiting (call again: the connection is free in between).
bool refreshMemberSearchKeys(SqlConnection& c);

/// How many members changed since the search keys were last brought up to date (their entries
/// in the change feed past the keys' counter), counted up to `upTo`: the members a name, a card's
/// start or a phone's last four digits may not find yet.
std::int64_t searchKeysBehind(SqlConnection& c, std::int64_t upTo);

/// {"q", "total", "page": {offset, limit}, "members": [{member_id, card_no, name, phone, tier,
/// balance, lifetime_spend, enrolled_store, enrolled_at}], "keys_behind"}, enrolled members only
/// (not erased, not merged away), the most valuable (lifetime spend) first. Phones as stored:
/// the caller masks them for who asks. A whole phone number or card number is matched on the
/// member's row itself, so it finds the member whether or not the search keys are up to date.
/// keys_behind: searchKeysBehind(c, behindUpTo) in the search's own snapshot, or 0 when
/// `behindUpTo` is 0 (the caller has just brought the keys up to date).
nlohmann::json searchMembers(SqlConnection& c, const MemberSearch& s, std::int64_t behindUpTo = 0);

/// Head office's adjustments of the member and the records merged into them, newest first:
/// [{adjustment_id, member_id, points, balance_after, reason, complaint_id, actor, at}].
nlohmann::json memberAdjustments(SqlConnection& c, const std::vector<std::string>& records);

// [SECTION] HTTP (members_routes.cpp)

class HqService;
struct DashboardAccess;
struct DashboardViewer;
class StoreTimes;

/// GET /api/v1/members?q=, POST /api/v1/admin/members/{id}/points,
/// POST /api/v1/admin/complaints/{id}/compensation and the dashboard's /dashboard/members
/// search page and the profile's forms.
void registerMemberRoutes(httplib::Server& server, HqService& service, DashboardAccess access);

/// The profile page's member-360 sections (member.mustache's `m360`) for `who`: points history,
/// sales, surveys, complaints with compensation, and the adjustment forms for admins; times
/// through the page's `times` (one read of the stores' zones per page).
nlohmann::json member360View(HqService& service, StoreTimes& times, const DashboardViewer& who, const std::string& lang,
                             const std::string& memberId);

}  // namespace loyalty::hq
