#include "loyalty/hq/followups.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <set>

#include "loyalty/core/lifecycle.hpp"
#include "loyalty/hq/analytics.hpp"
#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/crypto.hpp"
#include "loyalty/hq/privacy.hpp"
#include "ingest_writes.hpp"

namespace loyalty::hq {

using nlohmann::json;

namespace {

// [SECTION] Schema

constexpr const char* kFollowupSchema = R"SQL(
CREATE TABLE IF NOT EXISTS followup_rules(
  class TEXT PRIMARY KEY, visits_per_month BIGINT NOT NULL, channel TEXT NOT NULL, first_week BIGINT NOT NULL,
  updated_at TEXT NOT NULL, updated_by TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS followups(
  followup_id {{ID}} PRIMARY KEY, member_id {{ID}} NOT NULL, store_id {{ID}} NOT NULL, class TEXT NOT NULL,
  month TEXT NOT NULL, slot BIGINT NOT NULL, due TEXT NOT NULL, channel TEXT NOT NULL, assigned_to TEXT,
  status TEXT NOT NULL, done_at TEXT, done_by TEXT, created_at TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS followups_member_slot ON followups(member_id, month, slot);
CREATE INDEX IF NOT EXISTS followups_due ON followups(due, store_id);
CREATE INDEX IF NOT EXISTS followups_open ON followups(member_id, status, due);
CREATE TABLE IF NOT EXISTS followup_contacts(
  followup_id {{ID}} NOT NULL, entry_no BIGINT NOT NULL, at TEXT NOT NULL, actor TEXT NOT NULL, channel TEXT NOT NULL,
  outcome TEXT NOT NULL, notes TEXT, next_due TEXT, PRIMARY KEY(followup_id, entry_no));
CREATE TABLE IF NOT EXISTS followup_owners(
  store_id {{ID}} PRIMARY KEY, owner TEXT NOT NULL, updated_at TEXT NOT NULL);
)SQL";

constexpr const char* kChannels[] = {"phone", "visit", "sms", "wechat"};
constexpr const char* kStatuses[] = {"due", "overdue", "done"};

Date dateOf(const std::string& day) { return *parseDate(day.substr(0, 10), "day"); }

std::string addDays(const std::string& day, int n) {
  return formatDate(Date{std::chrono::sys_days(dateOf(day)) + std::chrono::days(n)});
}

std::string monthOf(const std::string& day) { return day.substr(0, 7); }

bool validMonth(const std::string& m) { return m.size() == 7 && parseDate(m + "-01", "month").hasValue(); }

int daysInMonth(const std::string& month) {
  const Date first = dateOf(month + "-01");
  return static_cast<int>((std::chrono::sys_days(addMonthsClamped(first, 1)) - std::chrono::sys_days(first)).count());
}

/// The status a list shows: done, or open and overdue (due before as_of), or open and due.
std::string statusExpr(SqlParams& q, const std::string& asOf) {
  return "CASE WHEN f.status = 'done' THEN 'done' WHEN f.due < " + q.t(asOf) + " THEN 'overdue' ELSE 'due' END";
}

/// The WHERE clause of a filter over followups f (status and owner included when `all`).
std::string whereOf(SqlParams& q, const FollowupFilter& f, bool all) {
  std::string w = "f.due >= " + q.p(f.range.from) + " AND f.due <= " + q.p(f.range.to);
  if (!f.stores.empty()) {
    w += " AND f.store_id IN (";
    for (std::size_t i = 0; i < f.stores.size(); ++i) w += (i ? ", " : "") + q.p(f.stores[i]);
    w += ")";
  }
  if (!all) return w;
  if (f.owner) w += f.owner->empty() ? " AND f.assigned_to IS NULL" : " AND f.assigned_to = " + q.p(*f.owner);
  if (f.status == "done") w += " AND f.status = 'done'";
  else if (f.status == "overdue") w += " AND f.status = 'open' AND f.due < " + q.p(f.asOf);
  else if (f.status == "due") w += " AND f.status = 'open' AND f.due >= " + q.p(f.asOf);
  return w;
}

/// A percentage with one decimal; null when nothing was counted (no rate, rather than 0 %).
json percent(std::int64_t num, std::int64_t den) {
  if (den == 0) return nullptr;
  return static_cast<double>((num * 1000 + den / 2) / den) / 10.0;
}

std::string followupIdOf(const std::string& memberId, const std::string& month, std::int64_t slot) {
  return "fu-" + sha256Hex(memberId + "\n" + month + "\n" + std::to_string(slot)).substr(0, 20);
}

constexpr const char* kRowColumns =
    "f.followup_id, f.member_id, f.class, f.due, f.channel, f.assigned_to, f.store_id, m.card_no, m.name, m.phone, "
    "(SELECT COUNT(*) FROM followup_contacts x WHERE x.followup_id = f.followup_id), "
    "(SELECT x.outcome FROM followup_contacts x WHERE x.followup_id = f.followup_id ORDER BY x.entry_no DESC LIMIT 1), "
    "f.done_at, ";

json rowJson(const SqlRows& r, std::size_t i) {
  const auto text = [&](std::size_t c) { return r.isNull(i, c) ? json(nullptr) : json(r.text(i, c)); };
  return {{"followup_id", r.text(i, 0)}, {"member_id", r.text(i, 1)}, {"class", r.text(i, 2)}, {"due", r.text(i, 3)},
          {"channel", r.text(i, 4)},     {"assigned_to", text(5)},    {"store", r.text(i, 6)},   {"card_no", text(7)},
          {"name", text(8)},             {"phone", text(9)},          {"contacts", r.integer(i, 10)},
          {"last_outcome", text(11)},    {"done_at", text(12)},       {"status", r.text(i, 13)}};
}

Result<Ok> checkText(const json& body, const char* key, std::size_t max, bool required, std::optional<std::string>& out) {
  if (!body.contains(key) || body[key].is_null()) {
    if (required) return invalidArgument(key, std::string(key) + " is required");
    return Ok{};
  }
  if (!body[key].is_string()) return invalidArgument(key, std::string(key) + " must be a string");
  std::string v = body[key].get<std::string>();
  while (!v.empty() && (v.back() == ' ' || v.back() == '\n' || v.back() == '\r' || v.back() == '\t')) v.pop_back();
  const std::size_t start = v.find_first_not_of(" \t\r\n");
  v = start == std::string::npos ? "" : v.substr(start);
  if (v.empty() && required) return invalidArgument(key, std::string(key) + " must not be empty");
  if (v.size() > max) return invalidArgument(key, std::string(key) + " is at most " + std::to_string(max) + " bytes");
  if (!v.empty()) out = std::move(v);
  return Ok{};
}

}  // namespace

// [SECTION] Schema and rules

void ensureFollowupSchema(SqlConnection& c) {
  if (c.hasTable("followups") && c.hasTable("followup_contacts") && c.hasTable("followup_rules") && c.hasTable("followup_owners")) {
    return;
  }
  c.execScript(schemaForBackend(kFollowupSchema, c.backend()));
}

std::array<VisitRule, 3> defaultVisitRules() {
  return {VisitRule{"A", 3, "visit", true}, VisitRule{"B", 2, "visit", false}, VisitRule{"C", 1, "phone", false}};
}

std::array<VisitRule, 3> visitRules(SqlConnection& c) {
  auto rules = defaultVisitRules();
  if (!c.hasTable("followup_rules")) return rules;
  const auto r = c.query("SELECT class, visits_per_month, channel, first_week FROM followup_rules");
  for (std::size_t i = 0; i < r.size(); ++i) {
    for (auto& rule : rules) {
      if (rule.cls == r.text(i, 0)) rule = {rule.cls, static_cast<int>(r.integer(i, 1)), r.text(i, 2), r.integer(i, 3) != 0};
    }
  }
  return rules;
}

std::string frequencyName(const VisitRule& r) { return std::to_string(r.visitsPerMonth) + "x_month"; }

bool validChannel(const std::string& channel) {
  return std::find(std::begin(kChannels), std::end(kChannels), channel) != std::end(kChannels);
}

namespace {
json rulesJson(const std::array<VisitRule, 3>& rules) {
  json out = json::object();
  for (const auto& r : rules) {
    out[r.cls] = {{"visits_per_month", r.visitsPerMonth}, {"channel", r.channel}, {"first_week", r.firstWeek},
                  {"contact_frequency", frequencyName(r)}};
  }
  return out;
}
}  // namespace

Result<json> setVisitRules(SqlConnection& c, const json& body, const std::string& actor, Timestamp now) {
  if (!body.is_object() || body.empty()) return invalidArgument("body", "the body is an object of classes A, B, C");
  ensureFollowupSchema(c);
  SqlTransaction tx(c);
  auto rules = visitRules(c);
  for (const auto& [cls, v] : body.items()) {
    const std::string name = cls;  // a lambda may not capture a structured binding (clang)
    auto it = std::find_if(rules.begin(), rules.end(), [&](const VisitRule& r) { return r.cls == name; });
    if (it == rules.end()) return invalidArgument(cls, "classes are A, B and C");
    if (!v.is_object()) return invalidArgument(cls, cls + " is an object {visits_per_month, channel, first_week}");
    for (const auto& [k, _] : v.items()) {
      if (k != "visits_per_month" && k != "channel" && k != "first_week") return invalidArgument(cls + "." + k, "unknown field " + k);
    }
    if (v.contains("visits_per_month")) {
      const auto& n = v["visits_per_month"];
      if (!n.is_number_integer() || n.get<std::int64_t>() < 0 || n.get<std::int64_t>() > 10) {
        return invalidArgument(cls + ".visits_per_month", "visits_per_month is a whole number from 0 to 10");
      }
      it->visitsPerMonth = n.get<int>();
    }
    if (v.contains("channel")) {
      if (!v["channel"].is_string() || !validChannel(v["channel"].get<std::string>())) {
        return invalidArgument(cls + ".channel", "channel is phone, visit, sms or wechat");
      }
      it->channel = v["channel"].get<std::string>();
    }
    if (v.contains("first_week")) {
      if (!v["first_week"].is_boolean()) return invalidArgument(cls + ".first_week", "first_week is true or false");
      it->firstWeek = v["first_week"].get<bool>();
    }
  }
  const std::string at = formatRfc3339(now);
  for (const auto& r : rules) {
    c.query("INSERT INTO followup_rules(class, visits_per_month, channel, first_week, updated_at, updated_by) "
            "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (class) DO UPDATE SET visits_per_month = $2, channel = $3, "
            "first_week = $4, updated_at = $5, updated_by = $6",
            {r.cls, std::int64_t{r.visitsPerMonth}, r.channel, std::int64_t{r.firstWeek ? 1 : 0}, at, actor});
  }
  std::string detail;
  for (const auto& r : rules) detail += (detail.empty() ? "" : ", ") + r.cls + " " + frequencyName(r) + " " + r.channel;
  recordAudit(c, {at, actor, audit::kFollowupRules, std::nullopt, std::nullopt, detail});
  tx.commit();
  return rulesJson(rules);
}

// [SECTION] Plans

std::string slotDue(const std::string& month, int slot, int visits, bool firstWeek) {
  const int days = daysInMonth(month);
  int day = (days * slot + visits - 1) / visits;  // the end of the slot-th part, rounded up
  if (firstWeek && slot == 1) day = std::min(day, 7);
  char buf[16];
  std::snprintf(buf, sizeof buf, "-%02d", day);
  return month + buf;
}

Result<json> planMonth(const ClassesOf& classes, const WithConnection& writing, const std::string& month,
                       const std::string& actor, Timestamp now, std::int64_t page) {
  if (!validMonth(month)) return invalidArgument("month", "month is YYYY-MM");
  if (page < 1) return invalidArgument("page", "a plan's page holds at least one member");
  // The visit rules and the stores' owners, read once for every page (as the plan read them in
  // one transaction before it was paged).
  std::array<VisitRule, 3> rules;
  std::map<std::string, std::string> owners;
  writing([&](SqlConnection& c) {
    ensureFollowupSchema(c);
    rules = visitRules(c);
    const auto o = c.query("SELECT store_id, owner FROM followup_owners");
    for (std::size_t i = 0; i < o.size(); ++i) owners[o.text(i, 0)] = o.text(i, 1);
  });
  // Classes from the twelve months before the planned one, as the abc report ranks them: ranked
  // once, in one snapshot, and handed over a page at a time (a large chain's whole list in one
  // answer took head office to 2.6 GiB at a million members). Each page is written in a
  // transaction of its own, the writer free for uploads between them.
  const std::string first = month + "-01";
  ReportFilter basis;
  basis.range.from = formatDate(addMonthsClamped(dateOf(first), -12));
  basis.range.to = addDays(first, -1);
  const std::string at = formatRfc3339(now);
  std::int64_t members = 0, planned = 0;
  const auto write = [&](const ClassPage& classed) {
    writing([&](SqlConnection& c) {
      SqlTransaction tx(c);
      std::vector<std::string> ids;
      ids.reserve(classed.size());
      for (const auto& m : classed) ids.push_back(m.first);
      // Who can be called (enrolled, not erased: not a stub), and the slots already planned.
      std::map<std::string, std::string> storeOf;
      selectIn(c, "SELECT member_id, enrolled_store FROM members WHERE enrolled = 1 AND erased_at IS NULL AND member_id IN (", {}, ids,
               [&](const SqlRows& r, std::size_t i) { storeOf[r.text(i, 0)] = r.text(i, 1); });
      std::set<std::pair<std::string, std::int64_t>> held;
      selectIn(c, "SELECT member_id, slot FROM followups WHERE month = $1 AND member_id IN (", {month}, ids,
               [&](const SqlRows& r, std::size_t i) { held.emplace(r.text(i, 0), r.integer(i, 1)); });
      RowBuffer add("INSERT INTO followups(followup_id, member_id, store_id, class, month, slot, due, channel, assigned_to, status, "
                    "created_at)",
                    "tttttittttt", " ON CONFLICT (member_id, month, slot) DO NOTHING");
      std::int64_t pageMembers = 0, pagePlanned = 0;
      for (const auto& [memberId, cls] : classed) {
        const auto store = storeOf.find(memberId);
        if (store == storeOf.end()) continue;  // a stub (not enrolled yet) or erased: nobody to call
        const std::string& memberClass = cls;  // a lambda may not capture a structured binding (clang)
        const VisitRule& rule = *std::find_if(rules.begin(), rules.end(), [&](const VisitRule& r) { return r.cls == memberClass; });
        if (rule.visitsPerMonth == 0) continue;
        ++pageMembers;
        const auto owner = owners.find(store->second);
        for (int slot = 1; slot <= rule.visitsPerMonth; ++slot) {
          if (held.count({memberId, slot})) continue;
          add.add(followupIdOf(memberId, month, slot), memberId, store->second, cls, month, std::int64_t{slot},
                  slotDue(month, slot, rule.visitsPerMonth, rule.firstWeek), rule.channel,
                  owner == owners.end() ? SqlValue(nullptr) : SqlValue(owner->second), std::string("open"), at);
          ++pagePlanned;
        }
      }
      add.flush(c);
      tx.commit();
      members += pageMembers;
      planned += pagePlanned;
    });
  };
  const auto audited = [&] {
    writing([&](SqlConnection& c) {
      SqlTransaction tx(c);
      recordAudit(c, {at, actor, audit::kFollowupPlan, month, planned, std::nullopt});
      tx.commit();
    });
  };
  try {
    classes(basis, page, write);
  } catch (const std::exception&) {
    // The pages written stay: the audit trail says how many follow-ups they hold (if it can; the
    // failure is what the caller hears of).
    try {
      if (planned > 0) audited();
    } catch (const std::exception&) {
    }
    throw;
  }
  audited();
  return json{{"month", month}, {"basis", {{"from", basis.range.from}, {"to", basis.range.to}}}, {"members", members},
              {"planned", planned}};
}

Result<json> planMonth(SqlConnection& c, const std::string& month, const std::string& actor, Timestamp now) {
  // One connection: the classes are read whole first (their snapshot ends before any write).
  const ClassesOf classes = [&c](const ReportFilter& basis, std::int64_t page, const std::function<void(const ClassPage&)>& to) {
    std::vector<ClassPage> pages;
    Reports(c).abcClasses(basis, page, [&](const ClassPage& p) { pages.push_back(p); });
    for (const auto& p : pages) to(p);
  };
  const WithConnection here = [&c](const std::function<void(SqlConnection&)>& fn) { fn(c); };
  return planMonth(classes, here, month, actor, now);
}

// [SECTION] Lists

Result<FollowupFilter> parseFollowupFilter(const std::function<std::optional<std::string>(const char*)>& param,
                                           const std::string& today) {
  auto base = parseReportFilter(param("from"), param("to"), param("store"));
  if (!base) return base.error();
  FollowupFilter f;
  f.range = base->range;
  f.stores = base->stores;
  RowPage page{f.offset, f.limit};
  if (auto ok = parsePage(param("limit"), param("offset"), page); !ok) return ok.error();
  f.limit = page.limit;
  f.offset = page.offset;
  if (auto s = param("status"); s && !s->empty()) {
    if (std::find(std::begin(kStatuses), std::end(kStatuses), *s) == std::end(kStatuses)) {
      return invalidArgument("status", "status is due, overdue or done");
    }
    f.status = *s;
  }
  if (auto o = param("owner")) {
    if (o->size() > 64) return invalidArgument("owner", "owner is a user name (at most 64 bytes)");
    f.owner = *o == "-" ? "" : *o;  // "-": unassigned
    if (o->empty()) f.owner.reset();
  }
  f.asOf = today;
  if (auto a = param("as_of"); a && !a->empty()) {
    if (!parseDate(*a, "as_of")) return invalidArgument("as_of", "as_of must be a date YYYY-MM-DD");
    f.asOf = *a;
  }
  return f;
}

json listFollowups(SqlConnection& c, const FollowupFilter& f) {
  ensureFollowupSchema(c);
  SqlTransaction tx(c, SqlTransaction::Kind::kRead);
  SqlParams q;
  const std::string status = statusExpr(q, f.asOf);
  const std::string where = whereOf(q, f, true);
  const std::string page = pageClause(q, c.backend(), {f.offset, f.limit});
  const auto r = c.query(std::string("SELECT ") + kRowColumns + status + " FROM followups f LEFT JOIN members m ON m.member_id = f.member_id WHERE " +
                             where + " ORDER BY f.due, f.member_id, f.slot" + page,
                         q.values);
  SqlParams qc;
  const auto n = c.query("SELECT COUNT(*) FROM followups f WHERE " + whereOf(qc, f, true), qc.values);
  tx.commit();
  json rows = json::array();
  for (std::size_t i = 0; i < r.size(); ++i) rows.push_back(rowJson(r, i));
  return {{"as_of", f.asOf},
          {"total", n.integer(0, 0)},
          {"page", {{"offset", f.offset}, {"limit", f.limit < 0 ? json(nullptr) : json(f.limit)}}},
          {"followups", std::move(rows)}};
}

Result<json> followup(SqlConnection& c, const std::string& followupId, const std::string& asOf) {
  ensureFollowupSchema(c);
  SqlTransaction tx(c, SqlTransaction::Kind::kRead);
  SqlParams q;
  const std::string status = statusExpr(q, asOf);
  const std::string id = q.p(followupId);
  const auto r = c.query(std::string("SELECT ") + kRowColumns + status +
                             " FROM followups f LEFT JOIN members m ON m.member_id = f.member_id WHERE f.followup_id = " + id,
                         q.values);
  if (r.empty()) return Error{errc::kNotFound, "followup_id", "no follow-up " + followupId};
  const auto log = c.query("SELECT entry_no, at, actor, channel, outcome, notes, next_due FROM followup_contacts "
                           "WHERE followup_id = $1 ORDER BY entry_no",
                           {followupId});
  tx.commit();
  json out = rowJson(r, 0);
  json contacts = json::array();
  for (std::size_t i = 0; i < log.size(); ++i) {
    contacts.push_back({{"at", log.text(i, 1)}, {"actor", log.text(i, 2)}, {"channel", log.text(i, 3)}, {"outcome", log.text(i, 4)},
                        {"notes", log.optText(i, 5) ? json(*log.optText(i, 5)) : json(nullptr)},
                        {"next_due", log.optText(i, 6) ? json(*log.optText(i, 6)) : json(nullptr)}});
  }
  out["contact_log"] = std::move(contacts);
  return out;
}

// [SECTION] Contacts and assignment

Result<Contact> parseContact(const json& body) {
  if (!body.is_object()) return invalidArgument("body", "the body is a JSON object");
  for (const auto& [k, _] : body.items()) {
    if (k != "channel" && k != "outcome" && k != "notes" && k != "next_due") return invalidArgument(k, "unknown field " + k);
  }
  std::optional<std::string> channel, outcome, notes, nextDue;
  if (auto ok = checkText(body, "channel", 16, true, channel); !ok) return ok.error();
  if (!validChannel(*channel)) return invalidArgument("channel", "channel is phone, visit, sms or wechat");
  if (auto ok = checkText(body, "outcome", 200, true, outcome); !ok) return ok.error();
  if (auto ok = checkText(body, "notes", 4000, false, notes); !ok) return ok.error();
  if (auto ok = checkText(body, "next_due", 10, false, nextDue); !ok) return ok.error();
  if (nextDue && !parseDate(*nextDue, "next_due")) return invalidArgument("next_due", "next_due must be a date YYYY-MM-DD");
  return Contact{*channel, *outcome, notes, nextDue};
}

Result<json> logContact(SqlConnection& c, const std::string& followupId, const Contact& contact, const std::string& actor,
                        Timestamp now) {
  const std::string at = formatRfc3339(now), today = at.substr(0, 10);
  if (contact.nextDue && *contact.nextDue < today) return invalidArgument("next_due", "next_due must not be before today (" + today + ")");
  ensureFollowupSchema(c);
  SqlTransaction tx(c);
  const auto f = c.query("SELECT member_id, status, class, assigned_to, store_id FROM followups WHERE followup_id = $1", {followupId});
  if (f.empty()) return Error{errc::kNotFound, "followup_id", "no follow-up " + followupId};
  if (f.text(0, 1) == "done") return Error{errc::kConflict, "followup_id", "follow-up " + followupId + " is already done"};
  const std::string memberId = f.text(0, 0);
  if (auto gone = refuseNoteOnErased(c, memberId, "followup_id", "follow-up " + followupId)) return *gone;
  const auto n = c.query("SELECT COUNT(*) FROM followup_contacts WHERE followup_id = $1", {followupId});
  c.query("INSERT INTO followup_contacts(followup_id, entry_no, at, actor, channel, outcome, notes, next_due) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
          {followupId, n.integer(0, 0) + 1, at, actor, contact.channel, contact.outcome,
           contact.notes ? SqlValue(*contact.notes) : SqlValue(nullptr), contact.nextDue ? SqlValue(*contact.nextDue) : SqlValue(nullptr)});
  c.query("UPDATE followups SET status = 'done', done_at = $2, done_by = $3 WHERE followup_id = $1", {followupId, at, actor});
  // The member's next open follow-up is the one due now; next_due moves it (or makes one).
  std::optional<std::string> next;
  const auto open = c.query("SELECT followup_id FROM followups WHERE member_id = $1 AND status = 'open' ORDER BY due, slot LIMIT 1", {memberId});
  if (!open.empty()) next = open.text(0, 0);
  if (contact.nextDue && next) {
    c.query("UPDATE followups SET due = $2 WHERE followup_id = $1", {*next, *contact.nextDue});
  } else if (contact.nextDue) {
    const std::string month = monthOf(*contact.nextDue);
    const auto slot = c.query("SELECT COALESCE(MAX(slot), 0) + 1 FROM followups WHERE member_id = $1 AND month = $2", {memberId, month});
    next = followupIdOf(memberId, month, slot.integer(0, 0));
    c.query("INSERT INTO followups(followup_id, member_id, store_id, class, month, slot, due, channel, assigned_to, status, created_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10)",
            {*next, memberId, f.text(0, 4), f.text(0, 2), month, slot.integer(0, 0), *contact.nextDue, contact.channel,
             f.isNull(0, 3) ? SqlValue(nullptr) : SqlValue(f.text(0, 3)), at});
  }
  recordAudit(c, {at, actor, audit::kFollowupContact, memberId, std::nullopt, followupId + " " + contact.channel + ": " + contact.outcome});
  tx.commit();
  auto done = followup(c, followupId, today);
  json out = {{"followup", std::move(*done)}, {"next", nullptr}};
  if (next) out["next"] = *followup(c, *next, today);
  return out;
}

std::vector<std::string> followupOwners(SqlConnection& c) {
  std::vector<std::string> out;
  const auto r = c.query("SELECT name FROM dashboard_users WHERE disabled_at IS NULL ORDER BY name");
  for (std::size_t i = 0; i < r.size(); ++i) out.push_back(r.text(i, 0));
  return out;
}

Result<json> assignFollowups(SqlConnection& c, const std::optional<std::string>& store, const std::vector<std::string>& ids,
                             const std::string& owner, const std::string& actor, Timestamp now) {
  if (store.has_value() == !ids.empty()) return invalidArgument("store", "name a store or followup_ids (one of them)");
  if (store && !validId(*store)) return invalidArgument("store", "store is a store id");
  if (ids.size() > 1000) return invalidArgument("followup_ids", "at most 1000 follow-ups at once");
  ensureFollowupSchema(c);
  SqlTransaction tx(c);
  const auto u = c.query("SELECT name FROM dashboard_users WHERE name = $1 AND disabled_at IS NULL", {owner});
  if (u.empty()) return invalidArgument("assigned_to", "assigned_to must be an enabled head-office user: " + owner + " is not");
  const std::string at = formatRfc3339(now);
  std::int64_t assigned = 0;
  if (store) {
    c.query("INSERT INTO followup_owners(store_id, owner, updated_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (store_id) DO UPDATE SET owner = $2, updated_at = $3",
            {*store, owner, at});
    assigned = static_cast<std::int64_t>(
        c.query("UPDATE followups SET assigned_to = $2 WHERE store_id = $1 AND status = 'open' RETURNING followup_id", {*store, owner}).size());
  }
  for (const auto& id : ids) {
    const auto r = c.query("UPDATE followups SET assigned_to = $2 WHERE followup_id = $1 AND status = 'open' RETURNING followup_id", {id, owner});
    if (r.empty()) return Error{errc::kNotFound, "followup_ids", "no open follow-up " + id};
    ++assigned;
  }
  recordAudit(c, {at, actor, audit::kFollowupAssign, store.value_or(""), assigned, "to " + owner});
  tx.commit();
  return json{{"assigned", assigned}, {"assigned_to", owner}};
}

// [SECTION] Completion

json followupCompletion(SqlConnection& c, const FollowupFilter& f) {
  ensureFollowupSchema(c);
  SqlTransaction tx(c, SqlTransaction::Kind::kRead);
  const auto rates = [&](const std::string& key, const char* name) {
    SqlParams q;
    const std::string asOf = q.t(f.asOf);
    const std::string sql = "SELECT " + key + " AS k, COUNT(*), SUM(CASE WHEN f.status = 'done' THEN 1 ELSE 0 END), "
                            "SUM(CASE WHEN f.status = 'open' AND f.due < " + asOf + " THEN 1 ELSE 0 END) FROM followups f WHERE " +
                            whereOf(q, f, false) + " GROUP BY " + key + " ORDER BY 1";
    const auto r = c.query(sql, q.values);
    json rows = json::array();
    for (std::size_t i = 0; i < r.size(); ++i) {
      const std::int64_t planned = r.integer(i, 1), done = r.integer(i, 2), overdue = r.integer(i, 3);
      rows.push_back({{name, r.isNull(i, 0) ? json(nullptr) : json(r.text(i, 0))}, {"planned", planned}, {"done", done},
                      {"overdue", overdue}, {"open", planned - done - overdue}, {"completion_rate", percent(done, done + overdue)}});
    }
    return rows;
  };
  json byStore = rates("f.store_id", "store"), byOwner = rates("f.assigned_to", "owner");
  tx.commit();
  std::int64_t planned = 0, done = 0, overdue = 0;
  for (const auto& r : byStore) {
    planned += r["planned"].get<std::int64_t>();
    done += r["done"].get<std::int64_t>();
    overdue += r["overdue"].get<std::int64_t>();
  }
  return {{"as_of", f.asOf},
          {"total", {{"planned", planned}, {"done", done}, {"overdue", overdue}, {"open", planned - done - overdue},
                     {"completion_rate", percent(done, done + overdue)}}},
          {"by_store", std::move(byStore)},
          {"by_owner", std::move(byOwner)}};
}

}  // namespace loyalty::hq
