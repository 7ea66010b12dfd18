#pragma once
/// @brief Complaint care at head office (docs/complaints.md): the list of complaints with who
/// filed them, filters by step, owner and overdue, handling time and overdue rate per store, and
/// the satisfaction check after a complaint is closed. The six steps and their history are the
/// workflow of analytics.hpp (Reports::updateComplaint); the routes and the pages
/// (/dashboard/complaints) are in complaints_routes.cpp.

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

namespace httplib {
class Server;
}

namespace loyalty::hq {

struct DashboardAccess;
class HqService;

/// The step that closes a complaint (the last of complaintSteps()): a closed complaint is read-only.
inline constexpr const char* kComplaintClosedStep = "followed_up";
/// The step whose first entry in the history ends the handling time.
inline constexpr const char* kComplaintResolvedStep = "resolved";

/// Creates the satisfaction-check table (idempotent, cheap when present).
void ensureComplaintCareSchema(SqlConnection& c);

/// Which complaints a list shows; the report filter (from, to, store) plus these.
struct ComplaintListFilter {
  std::optional<std::string> step;   ///< one of complaintSteps(), or "open" (not closed)
  std::optional<std::string> owner;  ///< a name, or "-" for none
  bool overdueOnly = false;
  std::int64_t offset = 0;
  std::int64_t limit = 100;  ///< 1..1000
};

/// Reads step, owner, overdue (1/true), offset and limit; refusals name the field.
Result<ComplaintListFilter> parseComplaintListFilter(const std::function<std::optional<std::string>(const char*)>& param);

/// The rows of the complaints report (Reports::complaints) that pass `f`, newest first, a page
/// of them, each with its member's name and card, the first time it reached "resolved" and its
/// satisfaction check: {"total", "offset", "rows": [...]}.
nlohmann::json complaintList(SqlConnection& c, const nlohmann::json& report, const ComplaintListFilter& f);

/// Per store (and in total): complaints, resolved, average handling hours (filed to first
/// resolved; null when none), overdue rate % (open past due now, or resolved after the due
/// time; null without complaints), satisfaction checks and their average (1..5; null when none).
nlohmann::json complaintHandling(SqlConnection& c, const nlohmann::json& report, Timestamp now);

/// The satisfaction check after closing: the customer's score 1..5 and an optional note, once
/// per complaint, only when it is closed; audited (complaint.satisfaction).
Result<nlohmann::json> recordComplaintSatisfaction(SqlConnection& c, const std::string& complaintId, std::int64_t score,
                                                   const std::optional<std::string>& note, const std::string& actor, Timestamp now);

/// The satisfaction check of a complaint, or null.
nlohmann::json complaintSatisfaction(SqlConnection& c, const std::string& complaintId);

/// GET /api/v1/reports/complaint-handling, POST /api/v1/complaints/{id}/satisfaction and the
/// pages /dashboard/complaints, /dashboard/complaints/{id} with their forms.
void registerComplaintRoutes(httplib::Server& server, HqService& service, DashboardAccess access);

}  // namespace loyalty::hq
