#include "loyalty/hq/complaints.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/privacy.hpp"
#include "loyalty/hq/store.hpp"

namespace loyalty::hq {

using nlohmann::json;

namespace {

constexpr const char* kCareSchema = R"SQL(
CREATE TABLE IF NOT EXISTS complaint_satisfaction(
  complaint_id {{ID}} PRIMARY KEY, score BIGINT NOT NULL, note TEXT, at TEXT NOT NULL, actor TEXT NOT NULL);
)SQL";

std::string str(const json& v) { return v.is_string() ? v.get<std::string>() : ""; }

/// Parameters of an SQL IN list ($1, $2, ...) for `ids`.
std::string placeholders(std::size_t n) {
  std::string out;
  for (std::size_t i = 1; i <= n; ++i) out += (i > 1 ? ", $" : "$") + std::to_string(i);
  return out;
}

/// When each of `ids` first reached "resolved", and its satisfaction check.
struct CaseExtras {
  std::map<std::string, std::string> resolvedAt;
  std::map<std::string, std::pair<std::int64_t, json>> satisfaction;  ///< score, note
};

CaseExtras extrasOf(SqlConnection& c, const std::vector<std::string>& ids) {
  CaseExtras out;
  // In chunks: a statement takes a bounded number of parameters.
  for (std::size_t first = 0; first < ids.size(); first += 500) {
    const std::size_t n = std::min<std::size_t>(500, ids.size() - first);
    std::vector<SqlValue> params(ids.begin() + static_cast<std::ptrdiff_t>(first),
                                 ids.begin() + static_cast<std::ptrdiff_t>(first + n));
    const auto r = c.query("SELECT complaint_id, MIN(at) FROM complaint_history WHERE to_step = '" + std::string(kComplaintResolvedStep) +
                               "' AND complaint_id IN (" + placeholders(n) + ") GROUP BY complaint_id",
                           params);
    for (std::size_t i = 0; i < r.size(); ++i) out.resolvedAt[r.text(i, 0)] = r.text(i, 1);
    const auto s = c.query("SELECT complaint_id, score, note FROM complaint_satisfaction WHERE complaint_id IN (" + placeholders(n) + ")",
                           params);
    for (std::size_t i = 0; i < s.size(); ++i) {
      out.satisfaction[s.text(i, 0)] = {s.integer(i, 1), s.isNull(i, 2) ? json(nullptr) : json(s.text(i, 2))};
    }
  }
  return out;
}

std::vector<std::string> idsOf(const json& rows) {
  std::vector<std::string> ids;
  for (const auto& r : rows) {
    if (r["complaint_id"].is_string()) ids.push_back(r["complaint_id"].get<std::string>());
  }
  return ids;
}

/// Whether a complaint reached "resolved" after its due time.
bool resolvedLate(const std::string& resolvedAt, const json& due) {
  if (!due.is_string()) return false;
  const auto r = parseRfc3339(resolvedAt, "at");
  const auto d = parseRfc3339(due.get<std::string>(), "due");
  return r && d && *r > *d;
}

}  // namespace

void ensureComplaintCareSchema(SqlConnection& c) {
  if (c.hasTable("complaint_satisfaction")) return;
  c.execScript(schemaForBackend(kCareSchema, c.backend()));
}

Result<ComplaintListFilter> parseComplaintListFilter(const std::function<std::optional<std::string>(const char*)>& param) {
  ComplaintListFilter f;
  if (auto s = param("step"); s && !s->empty()) {
    const auto& steps = complaintSteps();
    if (*s != "open" && std::find(steps.begin(), steps.end(), *s) == steps.end()) {
      return invalidArgument("step", "step is open or one of received, acknowledged, investigated, solution_proposed, resolved, followed_up");
    }
    f.step = *s;
  }
  if (auto o = param("owner"); o && !o->empty()) {
    if (o->size() > 128) return invalidArgument("owner", "owner is at most 128 bytes");
    f.owner = *o;
  }
  if (auto o = param("overdue"); o && !o->empty()) {
    if (*o != "1" && *o != "true" && *o != "0" && *o != "false") return invalidArgument("overdue", "overdue is 1 or 0");
    f.overdueOnly = *o == "1" || *o == "true";
  }
  const auto whole = [&](const char* k, std::int64_t lo, std::int64_t hi, std::int64_t& out) -> Result<Ok> {
    const auto v = param(k);
    if (!v || v->empty()) return Ok{};
    if (v->size() > 9 || !std::all_of(v->begin(), v->end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      return invalidArgument(k, std::string(k) + " is a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
    }
    out = std::stoll(*v);
    if (out < lo || out > hi) {
      return invalidArgument(k, std::string(k) + " is a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
    }
    return Ok{};
  };
  if (auto ok = whole("offset", 0, 100000000, f.offset); !ok) return ok.error();
  if (auto ok = whole("limit", 1, 1000, f.limit); !ok) return ok.error();
  return f;
}

json complaintList(SqlConnection& c, const json& report, const ComplaintListFilter& f) {
  std::vector<json> picked;
  for (const auto& r : report["rows"]) {
    const std::string step = str(r["step"]);
    if (f.step && (*f.step == "open" ? step == kComplaintClosedStep : step != *f.step)) continue;
    if (f.owner && (*f.owner == "-" ? !r["owner"].is_null() : str(r["owner"]) != *f.owner)) continue;
    if (f.overdueOnly && !r["overdue"].get<bool>()) continue;
    picked.push_back(r);
  }
  // Newest first: what came in last is what needs an owner.
  std::stable_sort(picked.begin(), picked.end(), [](const json& a, const json& b) { return str(a["filed_at"]) > str(b["filed_at"]); });
  const auto total = static_cast<std::int64_t>(picked.size());
  const std::size_t first = static_cast<std::size_t>(std::min(f.offset, total));
  const std::size_t last = static_cast<std::size_t>(std::min(f.offset + f.limit, total));
  json rows = json::array();
  for (std::size_t i = first; i < last; ++i) rows.push_back(std::move(picked[i]));

  SqlTransaction tx(c, SqlTransaction::Kind::kRead);
  const CaseExtras extras = extrasOf(c, idsOf(rows));
  std::set<std::string> memberIds;
  for (const auto& r : rows) {
    if (r["member_id"].is_string()) memberIds.insert(r["member_id"].get<std::string>());
  }
  std::map<std::string, std::pair<std::string, std::string>> members;  // id -> name, card
  const std::vector<std::string> mids(memberIds.begin(), memberIds.end());
  for (std::size_t at = 0; at < mids.size(); at += 500) {
    const std::size_t n = std::min<std::size_t>(500, mids.size() - at);
    const auto m = c.query("SELECT member_id, name, card_no FROM members WHERE member_id IN (" + placeholders(n) + ")",
                           std::vector<SqlValue>(mids.begin() + static_cast<std::ptrdiff_t>(at),
                                                 mids.begin() + static_cast<std::ptrdiff_t>(at + n)));
    for (std::size_t i = 0; i < m.size(); ++i) members[m.text(i, 0)] = {m.text(i, 1), m.text(i, 2)};
  }
  tx.commit();
  for (auto& r : rows) {
    const std::string id = str(r["complaint_id"]);
    const auto res = extras.resolvedAt.find(id);
    r["resolved_at"] = res == extras.resolvedAt.end() ? json(nullptr) : json(res->second);
    const auto sat = extras.satisfaction.find(id);
    r["satisfaction"] = sat == extras.satisfaction.end() ? json(nullptr) : json(sat->second.first);
    r["closed"] = str(r["step"]) == kComplaintClosedStep;
    const auto m = r["member_id"].is_string() ? members.find(r["member_id"].get<std::string>()) : members.end();
    r["name"] = m == members.end() ? json(nullptr) : json(m->second.first);
    r["card_no"] = m == members.end() ? json(nullptr) : json(m->second.second);
  }
  return {{"total", total}, {"offset", f.offset}, {"limit", f.limit}, {"rows", std::move(rows)}};
}

json complaintHandling(SqlConnection& c, const json& report, Timestamp now) {
  struct Sums {
    std::int64_t complaints = 0, resolved = 0, late = 0, checks = 0, scoreSum = 0;
    double hours = 0;
  };
  SqlTransaction tx(c, SqlTransaction::Kind::kRead);
  const CaseExtras extras = extrasOf(c, idsOf(report["rows"]));
  tx.commit();
  std::map<std::string, Sums> byStore;
  Sums total;
  for (const auto& r : report["rows"]) {
    const std::string id = str(r["complaint_id"]);
    Sums& s = byStore[r["store"].is_string() ? r["store"].get<std::string>() : ""];
    for (Sums* x : {&s, &total}) ++x->complaints;
    const auto res = extras.resolvedAt.find(id);
    bool late = r["overdue"].get<bool>();
    if (res != extras.resolvedAt.end()) {
      const auto filed = parseRfc3339(str(r["filed_at"]), "filed_at");
      const auto done = parseRfc3339(res->second, "at");
      if (filed && done) {
        const double h = std::chrono::duration<double, std::ratio<3600>>(*done - *filed).count();
        for (Sums* x : {&s, &total}) {
          ++x->resolved;
          x->hours += h;
        }
      }
      late = late || resolvedLate(res->second, r["due_at"]);
    } else if (!late && r["due_at"].is_string() && str(r["step"]) != kComplaintClosedStep) {
      const auto due = parseRfc3339(str(r["due_at"]), "due");
      late = due && *due < now;
    }
    if (late) {
      for (Sums* x : {&s, &total}) ++x->late;
    }
    if (const auto sat = extras.satisfaction.find(id); sat != extras.satisfaction.end()) {
      for (Sums* x : {&s, &total}) {
        ++x->checks;
        x->scoreSum += sat->second.first;
      }
    }
  }
  const auto round2 = [](double v) { return std::round(v * 100.0) / 100.0; };
  const auto row = [&](const Sums& s) {
    return json{{"complaints", s.complaints},
                {"resolved", s.resolved},
                {"average_handling_hours", s.resolved ? json(round2(s.hours / static_cast<double>(s.resolved))) : json(nullptr)},
                {"overdue", s.late},
                {"overdue_rate", s.complaints ? json(round2(100.0 * static_cast<double>(s.late) / static_cast<double>(s.complaints)))
                                              : json(nullptr)},
                {"satisfaction_checks", s.checks},
                {"average_satisfaction",
                 s.checks ? json(round2(static_cast<double>(s.scoreSum) / static_cast<double>(s.checks))) : json(nullptr)}};
  };
  json stores = json::array();
  for (const auto& [store, s] : byStore) {
    json r = row(s);
    r["store"] = store.empty() ? json(nullptr) : json(store);
    stores.push_back(std::move(r));
  }
  return {{"as_of", formatRfc3339(now)}, {"stores", std::move(stores)}, {"total", row(total)}};
}

Result<json> recordComplaintSatisfaction(SqlConnection& c, const std::string& complaintId, std::int64_t score,
                                         const std::optional<std::string>& note, const std::string& actor, Timestamp now) {
  if (score < 1 || score > 5) return invalidArgument("score", "score is a whole number from 1 (very unhappy) to 5 (very satisfied)");
  if (note && note->size() > 4000) return invalidArgument("note", "note is at most 4000 bytes");
  ensureComplaintCareSchema(c);
  SqlTransaction tx(c);
  const auto cur = c.query("SELECT step, COALESCE(member_id, '') FROM complaint_cases WHERE complaint_id = $1", {complaintId});
  if (cur.empty()) return Error{errc::kNotFound, "complaint_id", "no complaint " + complaintId + " in the workflow"};
  if (note) {
    if (auto gone = refuseNoteOnErased(c, cur.text(0, 1), "note", "complaint " + complaintId)) return *gone;
  }
  if (cur.text(0, 0) != kComplaintClosedStep) {
    return Error{errc::kConflict, "step",
                 "complaint " + complaintId + " is at step " + cur.text(0, 0) + "; the satisfaction check follows its closing (" +
                     kComplaintClosedStep + ")"};
  }
  const std::string at = formatRfc3339(now);
  const auto ins = c.query(
      "INSERT INTO complaint_satisfaction(complaint_id, score, note, at, actor) VALUES ($1, $2, $3, $4, $5) "
      "ON CONFLICT (complaint_id) DO NOTHING RETURNING 1",
      {complaintId, score, note ? SqlValue(*note) : SqlValue(nullptr), at, actor});
  if (ins.empty()) return Error{errc::kConflict, "score", "the satisfaction check of complaint " + complaintId + " is already recorded"};
  recordAudit(c, {at, actor, audit::kComplaintSatisfaction, complaintId, std::nullopt, "score " + std::to_string(score)});
  tx.commit();
  return json{{"complaint_id", complaintId}, {"score", score}, {"note", note ? json(*note) : json(nullptr)}, {"at", at}, {"actor", actor}};
}

json complaintSatisfaction(SqlConnection& c, const std::string& complaintId) {
  const auto r = c.query("SELECT score, note, at, actor FROM complaint_satisfaction WHERE complaint_id = $1", {complaintId});
  if (r.empty()) return nullptr;
  return {{"score", r.integer(0, 0)}, {"note", r.isNull(0, 1) ? json(nullptr) : json(r.text(0, 1))}, {"at", r.text(0, 2)},
          {"actor", r.text(0, 3)}};
}

}  // namespace loyalty::hq
