#pragma once
/// @brief Follow-up visits (回访) at head office: monthly plans per ABC class with the course's
/// frequencies (DOMAIN.md "Head office analytics": A 3x a month, the first in the first week;
/// B 2x; C 1x, by phone), assigned to head-office users, a contact log (channel, outcome, notes,
/// next date), due/overdue/done lists and completion rates by store and owner
/// (docs/followups.md). The routes and pages are in followups_routes.cpp.
///
/// Every operation is one transaction on the connection it is given; changes are audited in it.

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loyalty/core/result.hpp"
#include "loyalty/core/time.hpp"
#include "loyalty/hq/analytics.hpp"
#include "loyalty/hq/sql.hpp"
#include "loyalty/hq/store.hpp"

namespace httplib {
class Server;
}

namespace loyalty::hq {

/// Creates the follow-up tables on a database that lacks them (idempotent, cheap when present).
void ensureFollowupSchema(SqlConnection& c);

/// How often a class is contacted (configurable per class, PUT /api/v1/admin/followups/rules).
struct VisitRule {
  std::string cls;          ///< "A", "B", "C"
  int visitsPerMonth = 1;   ///< 0..10; 0: the class is not planned
  std::string channel;      ///< the planned channel: phone, visit, sms, wechat
  bool firstWeek = false;   ///< the month's first contact is due by the 7th
};

/// The course's frequencies: A 3 visits (first week first), B 2 visits, C 1 phone call.
std::array<VisitRule, 3> defaultVisitRules();
/// The rules in force (the defaults where none was set). Reads nothing else; safe inside any
/// transaction, also on a database without the follow-up tables.
std::array<VisitRule, 3> visitRules(SqlConnection& c);
/// "3x_month" ... the name of a frequency (exports, the dashboard's catalogue).
std::string frequencyName(const VisitRule& r);
/// The channels of a contact (the API's `channel`).
bool validChannel(const std::string& channel);

/// Checks and stores the rules (a JSON object {"A": {"visits_per_month", "channel",
/// "first_week"?}, ...}; absent classes keep theirs), audited. Returns the rules in force.
Result<nlohmann::json> setVisitRules(SqlConnection& c, const nlohmann::json& body, const std::string& actor, Timestamp now);

/// The day slot `slot` (1-based) of `visits` in `month` (YYYY-MM) is due: the end of the
/// slot-th equal part of the month; the first by the 7th with `firstWeek`.
std::string slotDue(const std::string& month, int slot, int visits, bool firstWeek);

/// Members a month's plan writes at a time.
inline constexpr std::int64_t kPlanPage = 20000;

/// Runs a function on a connection of the caller's choosing (a lane of HqService), returning
/// once it has.
using WithConnection = std::function<void(const std::function<void(SqlConnection&)>&)>;
/// A page of members with their ABC class ("A", "B", "C").
using ClassPage = std::vector<std::pair<std::string, std::string>>;
/// Hands `to` the ABC classes of `basis` (Reports::abcClasses) `page` members at a time.
using ClassesOf = std::function<void(const ReportFilter& basis, std::int64_t page, const std::function<void(const ClassPage&)>& to)>;

/// Plans `month` (YYYY-MM): ABC over the twelve months before it (the chain's sales), and for
/// each classed member (enrolled, not erased) the class's visits in the month, assigned to
/// their home store's owner (setStoreOwner). Idempotent: a month planned again adds only what
/// is missing (members newly classed). {"month", "basis": {"from","to"}, "members", "planned"}.
/// The classes come from `classes`, and each page of them is written on `writing`'s connection
/// in a transaction of its own.
Result<nlohmann::json> planMonth(const ClassesOf& classes, const WithConnection& writing, const std::string& month,
                                 const std::string& actor, Timestamp now, std::int64_t page = kPlanPage);
/// The same on one connection.
Result<nlohmann::json> planMonth(SqlConnection& c, const std::string& month, const std::string& actor, Timestamp now);

/// Which follow-ups a list shows.
struct FollowupFilter {
  DayRange range;                    ///< due days, inclusive
  std::optional<std::string> status; ///< due (open, not yet late), overdue, done
  std::vector<std::string> stores;   ///< members' home stores; empty: all
  std::optional<std::string> owner;  ///< assigned_to; "" : unassigned
  std::string asOf;                  ///< the day "overdue" is counted to (YYYY-MM-DD)
  std::int64_t offset = 0;
  std::int64_t limit = 200;          ///< < 0: all
};

/// Parses the list's parameters (from, to, status, store, owner, as_of, limit, offset); errors
/// name the parameter. `today` is the as_of default.
Result<FollowupFilter> parseFollowupFilter(const std::function<std::optional<std::string>(const char*)>& param,
                                           const std::string& today);

/// {"as_of", "total", "page": {offset, limit}, "followups": [{"followup_id", "member_id",
/// "class", "due", "channel", "assigned_to"?, "status", "store", "card_no", "name", "phone",
/// "contacts", "last_outcome"?}]} in due order (then member id). Phones as stored: the caller
/// masks them for who asks (protectPersonalData).
nlohmann::json listFollowups(SqlConnection& c, const FollowupFilter& f);

/// One follow-up with its contact log, oldest first; not_found.
Result<nlohmann::json> followup(SqlConnection& c, const std::string& followupId, const std::string& asOf);

/// A contact with the member (POST /api/v1/followups/{id}/contacts).
struct Contact {
  std::string channel;               ///< phone, visit, sms, wechat
  std::string outcome;               ///< 1..200 bytes (reached, no_answer, visited, declined ... or free text)
  std::optional<std::string> notes;  ///< up to 4000 bytes
  std::optional<std::string> nextDue;///< YYYY-MM-DD, not before today
};

/// Reads a contact from a JSON body; errors name the field.
Result<Contact> parseContact(const nlohmann::json& body);

/// Logs the contact: the follow-up is done; the member's next open follow-up is then the one
/// due (moved to `next_due` when given, or a new one on that day when none is open). Refused:
/// not_found, conflict (already done). 201's body: {"followup", "next"}.
Result<nlohmann::json> logContact(SqlConnection& c, const std::string& followupId, const Contact& contact,
                                  const std::string& actor, Timestamp now);

/// Assigns open follow-ups to a head-office user (an enabled dashboard account): those of
/// `store` (which also makes them the store's owner for later plans), or the ones listed.
/// Returns {"assigned": n}.
Result<nlohmann::json> assignFollowups(SqlConnection& c, const std::optional<std::string>& store,
                                       const std::vector<std::string>& ids, const std::string& owner,
                                       const std::string& actor, Timestamp now);

/// Completion by store and by owner of follow-ups due in `f.range` (status, owner ignored):
/// planned, done, overdue, open (not yet due) and completion_rate = done / (done + overdue) %.
/// {"as_of", "total", "by_store": [...], "by_owner": [...]}.
nlohmann::json followupCompletion(SqlConnection& c, const FollowupFilter& f);

/// Enabled dashboard accounts (the owners a follow-up can have), by name.
std::vector<std::string> followupOwners(SqlConnection& c);

// [SECTION] HTTP (followups_routes.cpp; docs/followups.md)

class HqService;
struct DashboardAccess;

/// The follow-up API (GET /api/v1/followups, POST /api/v1/followups/{id}/contacts, plans,
/// assignment, completion, rules, the CSV export) and the dashboard's /dashboard/followups pages.
void registerFollowupRoutes(httplib::Server& server, HqService& service, DashboardAccess access);

}  // namespace loyalty::hq
