#include "loyalty/hq/audit.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>

#include "loyalty/logging/logging.hpp"

namespace loyalty::hq {

namespace {

constexpr const char* kAuditSchema = R"SQL(
CREATE TABLE IF NOT EXISTS audit_log(
  entry_no {{SERIAL}}, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT,
  row_count BIGINT, detail TEXT);
CREATE INDEX IF NOT EXISTS audit_log_when ON audit_log(at, entry_no);
CREATE INDEX IF NOT EXISTS audit_log_subject ON audit_log(subject);
)SQL";

SqlValue optional(const std::optional<std::string>& v) { return v ? SqlValue(*v) : SqlValue(nullptr); }

/// The day after `day` (YYYY-MM-DD, any four-digit year: parseDate takes only the years a
/// request may name, and callers bound ranges with later ones).
std::string dayAfter(const std::string& day) {
  int y = 0;
  unsigned m = 0, d = 0;
  char tail = 0;
  if (day.size() != 10 || std::sscanf(day.c_str(), "%4d-%2u-%2u%c", &y, &m, &d, &tail) != 3) {
    throw std::invalid_argument("to is not a date YYYY-MM-DD: \"" + day + "\"");
  }
  const Date date{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
  if (!date.ok()) throw std::invalid_argument("to is not a date YYYY-MM-DD: \"" + day + "\"");
  return formatDate(Date{std::chrono::sys_days(date) + std::chrono::days{1}});
}

}  // namespace

void ensureAuditSchema(SqlConnection& c) {
  if (c.hasTable("audit_log")) return;
  c.execScript(schemaForBackend(kAuditSchema, c.backend()));
}

void indexAuditByTime(SqlConnection& c) {
  replaceIndexes(c, {{"audit_log_when", "audit_log(at, entry_no)"}}, {"audit_log_at"}, "every audit entry");
}

void recordAudit(SqlConnection& c, const AuditEntry& e) {
  c.query("INSERT INTO audit_log(at, actor, action, subject, row_count, detail) VALUES ($1, $2, $3, $4, $5, $6)",
          {e.at, e.actor, e.action, optional(e.subject), e.rows ? SqlValue(*e.rows) : SqlValue(nullptr),
           optional(e.detail)});
}

std::vector<AuditEntry> auditEntries(SqlConnection& c, const std::string& from, const std::string& to,
                                     std::int64_t limit, std::int64_t offset, bool newestFirst) {
  // `at` is RFC 3339 in UTC ("2026-12-02T08:30:00Z") and compares as text in the database's
  // collation. The range ends before the day after `to`: a suffix such as "YYYY-MM-DD~" sorts
  // after every instant of the day only where punctuation counts (C); a language's collation
  // (PostgreSQL with en_US or ICU) passes over it and dropped the whole last day. The last day
  // there is has no day after it: that range has no end.
  // In the order of `at`, then of recording: the index audit_log_when is in that order, so a
  // page reads only the entries up to its end (at two million entries, sorted by entry_no
  // alone, SQLite sorted the whole range first).
  const bool open = to >= "9999-12-31";  // an open range (DayRange)
  SqlParams q;
  std::string where = "at >= " + q.p(from);
  if (!open) where += " AND at < " + q.p(dayAfter(to));
  const std::string dir = newestFirst ? " DESC" : "";
  const auto r = c.query("SELECT at, actor, action, subject, row_count, detail FROM audit_log WHERE " + where + " ORDER BY at" + dir +
                             ", entry_no" + dir + pageClause(q, c.backend(), {offset, limit}),
                         q.values);
  std::vector<AuditEntry> out;
  out.reserve(r.size());
  for (std::size_t i = 0; i < r.size(); ++i) {
    out.push_back({r.text(i, 0), r.text(i, 1), r.text(i, 2), r.optText(i, 3), r.optInteger(i, 4), r.optText(i, 5)});
  }
  return out;
}

std::string commandLineActor() {
  const passwd* pw = getpwuid(geteuid());
  return std::string("cli:") + (pw && pw->pw_name ? pw->pw_name : std::to_string(geteuid()));
}

}  // namespace loyalty::hq
