#include "loyalty/terminal/feedback.hpp"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "loyalty/core/text.hpp"
#include "loyalty/terminal/at_rest.hpp"
#include "loyalty/terminal/outbox.hpp"
#include "loyalty/terminal/staff.hpp"

namespace loyalty::terminal {

using nlohmann::json;

namespace {

constexpr const char* kSurveyAnswered = "survey.answered";
constexpr const char* kComplaintFiled = "complaint.filed";
constexpr std::size_t kMaxDescription = 2000;  // code points

bool printable(std::string_view s, bool allowNewlines) {
  if (!isValidUtf8(s)) return false;
  return std::none_of(s.begin(), s.end(), [&](char c) {
    const auto u = static_cast<unsigned char>(c);
    if (allowNewlines && (c == '\n' || c == '\r' || c == '\t')) return false;
    return u < 0x20 || u == 0x7F;
  });
}

Status checkId(const std::string& value, const char* field) {
  if (value.empty() || value.size() > 64 || !printable(value, false)) {
    return invalidArgument(field, std::string(field) + " has 1 to 64 printable characters");
  }
  return Ok{};
}

json optional(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }

std::string descriptionContext(const std::string& complaintId) { return complaintId + "\x1f" "description"; }

}  // namespace

FeedbackService::FeedbackService(db::Database& db, std::string storeId, std::string terminalId,
                                 IdSource& ids, std::vector<std::string> dimensions)
    : m_db(db), m_storeId(std::move(storeId)), m_terminalId(std::move(terminalId)), m_ids(ids),
      m_dimensions(std::move(dimensions)) {}

Status FeedbackService::checkMember(const std::optional<std::string>& memberId) {
  if (!memberId) return Ok{};
  if (!m_db.query("SELECT 1 FROM members WHERE member_id = ?").bind(1, *memberId).step()) return Error{errc::kNotFound, "member_id", "no member " + *memberId};
  return Ok{};
}

Status FeedbackService::recordSurvey(const SurveyAnswer& a) {
  if (auto s = checkId(a.surveyId, "survey_id"); !s) return s;
  if (a.saleId) {
    if (auto s = checkId(*a.saleId, "sale_id"); !s) return s;
  }
  if (a.scale == "csat5") {
    if (a.score < 1 || a.score > 5) return invalidArgument("score", "a csat5 score is 1 to 5");
  } else if (a.scale == "nps10") {
    if (a.score < 0 || a.score > 10) return invalidArgument("score", "an nps10 score is 0 to 10");
  } else {
    return invalidArgument("scale", "scale is \"csat5\" or \"nps10\"");
  }
  for (const auto& [name, score] : a.dimensions) {
    if (std::find(m_dimensions.begin(), m_dimensions.end(), name) == m_dimensions.end()) {
      return invalidArgument("dimensions", m_dimensions.empty()
                                               ? std::string("this terminal asks no survey dimensions")
                                               : "\"" + name + "\" is not one of this terminal's survey dimensions");
    }
    if (score < 1 || score > 5) return invalidArgument("dimensions", "a dimension's score is 1 to 5 (" + name + ")");
  }
  // Stored as the event carries it: a JSON object, or NULL when no dimension was answered.
  const std::optional<std::string> dimensions =
      a.dimensions.empty() ? std::nullopt : std::optional<std::string>(json(a.dimensions).dump());
  if (auto s = checkStaffId(m_db, a.staffId); !s) return s;
  db::Transaction tx(m_db);
  if (auto s = checkMember(a.memberId); !s) return s;
  if (auto existing = m_db.query("SELECT sale_id, member_id, scale, score, dimensions FROM surveys WHERE survey_id = ?")
                          .bind(1, a.surveyId);
      existing.step()) {
    const bool same = existing.optText("sale_id") == a.saleId && existing.optText("member_id") == a.memberId &&
                      existing.text("scale") == a.scale && existing.int64("score") == a.score &&
                      existing.optText("dimensions") == dimensions;
    if (same) return Ok{};
    return Error{errc::kConflict, "survey_id", "survey " + a.surveyId + " was answered differently"};
  }
  const std::string at = formatRfc3339(a.at);
  m_db.query("INSERT INTO surveys(survey_id, sale_id, member_id, scale, score, at, dimensions, staff_id) "
             "VALUES (?,?,?,?,?,?,?,?)")
      .bind(1, a.surveyId).bind(2, a.saleId).bind(3, a.memberId).bind(4, a.scale).bind(5, a.score)
      .bind(6, at).bind(7, dimensions).bind(8, a.staffId).run();
  json payload = {{"survey_id", a.surveyId}, {"sale_id", optional(a.saleId)},
                        {"member_id", optional(a.memberId)}, {"scale", a.scale},
                        {"score", a.score}, {"store_id", m_storeId}, {"terminal_id", m_terminalId}};
  if (a.staffId) payload["staff_id"] = *a.staffId;
  if (!a.dimensions.empty()) payload["dimensions"] = a.dimensions;
  appendOutboxEvent(m_db, m_ids.uuid(), kSurveyAnswered, at, payload.dump());
  tx.commit();
  return Ok{};
}

Status FeedbackService::fileComplaint(const ComplaintInput& c) {
  if (auto s = checkId(c.complaintId, "complaint_id"); !s) return s;
  const bool known = std::any_of(std::begin(kComplaintCategories), std::end(kComplaintCategories),
                                 [&](const char* k) { return c.category == k; });
  if (!known) {
    return invalidArgument("category", "category is one of service, product, price, points, waiting, other");
  }
  const std::string description(trim(c.description));
  if (description.empty()) return invalidArgument("description", "describe the complaint");
  if (!printable(description, true)) return invalidArgument("description", "the description has characters that cannot be printed");
  if (utf8Length(description) > kMaxDescription) return invalidArgument("description", "the description is longer than 2000 characters");
  if (auto s = checkStaffId(m_db, c.staffId); !s) return s;
  db::Transaction tx(m_db);
  if (auto s = checkMember(c.memberId); !s) return s;
  if (auto existing = m_db.query("SELECT member_id, category, description, staff_id FROM complaints WHERE complaint_id = ?")
                          .bind(1, c.complaintId);
      existing.step()) {
    const AtRestKeys& keys = atRestKeys(m_db);
    const bool same = existing.optText("member_id") == c.memberId && existing.text("category") == c.category &&
                      keys.open(Sealed::kFreeText, existing.blob("description"), descriptionContext(c.complaintId)) == description &&
                      existing.optText("staff_id") == c.staffId;
    if (same) return Ok{};
    return Error{errc::kConflict, "complaint_id", "complaint " + c.complaintId + " was filed with other content"};
  }
  const std::string at = formatRfc3339(c.at);
  m_db.query("INSERT INTO complaints(complaint_id, member_id, category, description, staff_id, at) "
             "VALUES (?,?,?,?,?,?)")
      .bind(1, c.complaintId).bind(2, c.memberId).bind(3, c.category)
      .bindBlob(4, atRestKeys(m_db).seal(Sealed::kFreeText, description, descriptionContext(c.complaintId)))
      .bind(5, c.staffId).bind(6, at).run();
  const json payload = {{"complaint_id", c.complaintId}, {"member_id", optional(c.memberId)},
                        {"category", c.category}, {"description", description},
                        {"staff_id", optional(c.staffId)}, {"store_id", m_storeId},
                        {"terminal_id", m_terminalId}};
  appendOutboxEvent(m_db, m_ids.uuid(), kComplaintFiled, at, payload.dump());
  tx.commit();
  return Ok{};
}

std::optional<std::string> FeedbackService::complaintDescription(const std::string& complaintId) {
  auto q = m_db.query("SELECT description FROM complaints WHERE complaint_id = ?").bind(1, complaintId);
  if (!q.step()) return std::nullopt;
  return atRestKeys(m_db).open(Sealed::kFreeText, q.blob("description"), descriptionContext(complaintId));
}

void redactComplaints(db::Database& db, const std::string& memberId) {
  const AtRestKeys& keys = atRestKeys(db);
  std::vector<std::string> ids;
  {
    auto rows = db.query("SELECT complaint_id FROM complaints WHERE member_id = ?").bind(1, memberId);
    while (rows.step()) ids.push_back(rows.text("complaint_id"));
  }
  for (const std::string& id : ids) {
    db.query("UPDATE complaints SET description = ? WHERE complaint_id = ?")
        .bindBlob(1, keys.seal(Sealed::kFreeText, "", descriptionContext(id)))
        .bind(2, id)
        .run();
  }
}

void sealVersion4Complaints(db::Database& db) {
  const AtRestKeys& keys = atRestKeys(db);
  std::vector<std::pair<std::string, std::string>> sealed;  // read all first: complaints are few
  {
    auto rows = db.query("SELECT complaint_id, description FROM complaints");
    while (rows.step()) {
      const std::string id = rows.text("complaint_id");
      sealed.emplace_back(id, keys.seal(Sealed::kFreeText, rows.text("description"), descriptionContext(id)));
    }
  }
  for (const auto& [id, text] : sealed) {
    db.query("UPDATE complaints SET description = ? WHERE complaint_id = ?").bindBlob(1, text).bind(2, id).run();
  }
}

}  // namespace loyalty::terminal
