#pragma once
/// @brief Customer feedback at the counter: satisfaction answers and complaints, each one
/// transaction writing its row and its outbox event (survey.answered, complaint.filed).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "loyalty/core/result.hpp"
#include "loyalty/core/time.hpp"
#include "loyalty/db/database.hpp"
#include "loyalty/terminal/counter_service.hpp"

namespace loyalty::terminal {

/// Categories a complaint is filed under (docs/sync-wire.md leaves the list to the terminal).
inline constexpr const char* kComplaintCategories[] = {"service", "product", "price", "points",
                                                       "waiting", "other"};

struct SurveyAnswer {
  std::string surveyId;               ///< idempotency key
  std::optional<std::string> saleId;  ///< the sale the question followed
  std::optional<std::string> memberId;
  std::string scale;  ///< "csat5" (1..5) or "nps10" (0..10)
  int score = 0;
  Timestamp at;
  std::optional<std::string> staffId = std::nullopt;
  /// Per-dimension answers, 1..5 each, under names from the terminal's [survey] dimensions.
  std::map<std::string, int> dimensions = {};
};

struct ComplaintInput {
  std::string complaintId;  ///< idempotency key
  std::optional<std::string> memberId;
  std::string category;  ///< one of kComplaintCategories
  std::string description;
  std::optional<std::string> staffId;
  Timestamp at;
};

/// Records feedback. Repeating an id with the same content changes nothing (Ok); with other
/// content it is a conflict. Not thread-safe: one per connection, like CounterService.
class FeedbackService {
 public:
  /// `dimensions`: the names a survey answer may score ([survey] dimensions; none by default).
  FeedbackService(db::Database& db, std::string storeId, std::string terminalId, IdSource& ids,
                  std::vector<std::string> dimensions = {});

  Status recordSurvey(const SurveyAnswer& answer);
  Status fileComplaint(const ComplaintInput& complaint);
  /// A complaint's description as filed (stored sealed), or nullopt if there is no such complaint.
  std::optional<std::string> complaintDescription(const std::string& complaintId);

 private:
  Status checkMember(const std::optional<std::string>& memberId);

  db::Database& m_db;
  std::string m_storeId;
  std::string m_terminalId;
  IdSource& m_ids;
  std::vector<std::string> m_dimensions;
};

/// Empties the descriptions of the member's complaints (head office erased the member; a caller's
/// transaction, under a Scrub).
void redactComplaints(db::Database& db, const std::string& memberId);

/// Schema version 5: seals the complaint descriptions version 4 stored in clear (free text that
/// may hold a phone number; a migration step).
void sealVersion4Complaints(db::Database& db);

}  // namespace loyalty::terminal
