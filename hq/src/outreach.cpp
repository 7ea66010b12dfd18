// Outreach messages: settings, templates, audiences, preview, queue, the sender's passes and the
// gateway's reports (loyalty/hq/outreach.hpp, docs/outreach.md).
#include "loyalty/hq/outreach.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <deque>
#include <map>
#include <set>

#include "loyalty/core/greetings.hpp"
#include "loyalty/core/phone.hpp"
#include "loyalty/core/planners.hpp"
#include "loyalty/hq/analytics.hpp"
#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/crypto.hpp"
#include "loyalty/hq/local_time.hpp"
#include "loyalty/hq/privacy.hpp"
#include "loyalty/hq/store.hpp"
#include "loyalty/hq/tiers.hpp"

namespace loyalty::hq {

using nlohmann::json;

namespace {

/// A gateway's error (the parameter `param`) as a message row keeps it: not for a member erased
/// while the message was out (scrubErased blanked its body), as the error may repeat the phone.
std::string gatewayError(const char* param) { return std::string("CASE WHEN body = '' THEN 'member erased' ELSE ") + param + " END"; }

constexpr const char* kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS outreach_settings(name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outreach_templates(
  kind TEXT NOT NULL, language TEXT NOT NULL, body TEXT NOT NULL, updated_at TEXT NOT NULL, updated_by TEXT NOT NULL,
  PRIMARY KEY(kind, language));
CREATE TABLE IF NOT EXISTS outreach_messages(
  message_id TEXT PRIMARY KEY, batch_id TEXT NOT NULL, member_id {{ID}} NOT NULL, kind TEXT NOT NULL,
  occasion TEXT NOT NULL, language TEXT NOT NULL, body TEXT NOT NULL, store_id {{ID}}, status TEXT NOT NULL,
  attempts BIGINT NOT NULL DEFAULT 0, next_at TEXT NOT NULL, created_at TEXT NOT NULL, sent_at TEXT, done_at TEXT,
  provider_id TEXT, error TEXT, opt_out_token TEXT NOT NULL, actor TEXT NOT NULL, UNIQUE(member_id, occasion));
CREATE INDEX IF NOT EXISTS outreach_due ON outreach_messages(status, next_at);
CREATE INDEX IF NOT EXISTS outreach_member ON outreach_messages(member_id, sent_at);
CREATE INDEX IF NOT EXISTS outreach_provider ON outreach_messages(provider_id);
CREATE INDEX IF NOT EXISTS outreach_token ON outreach_messages(opt_out_token);
CREATE INDEX IF NOT EXISTS outreach_sent ON outreach_messages(sent_at);
)SQL";

std::string iso(Timestamp t) { return formatRfc3339(t); }

bool known(const std::string& v, std::initializer_list<const char*> set) {
  return std::any_of(set.begin(), set.end(), [&](const char* s) { return v == s; });
}

bool validKind(const std::string& k) {
  return std::any_of(std::begin(kOutreachKinds), std::end(kOutreachKinds), [&](const char* s) { return k == s; });
}

bool validLanguage(const std::string& l) {
  return std::any_of(std::begin(kOutreachLanguages), std::end(kOutreachLanguages), [&](const char* s) { return l == s; });
}

// [SECTION] Settings

/// "HH:MM" as minutes of the day.
std::optional<int> minuteOfDay(const std::string& s) {
  if (s.size() != 5 || s[2] != ':' || !std::isdigit(static_cast<unsigned char>(s[0])) || !std::isdigit(static_cast<unsigned char>(s[1])) ||
      !std::isdigit(static_cast<unsigned char>(s[3])) || !std::isdigit(static_cast<unsigned char>(s[4]))) {
    return std::nullopt;
  }
  const int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 23 || m > 59) return std::nullopt;
  return h * 60 + m;
}

bool validPointer(const std::string& p) {
  if (p.empty()) return true;
  try {
    json::json_pointer{p};
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

/// The text at a JSON pointer (a string, or a number's digits), if there is one.
std::optional<std::string> textAt(const json& j, const std::string& pointer) {
  if (pointer.empty()) return std::nullopt;
  try {
    const json::json_pointer p{pointer};
    if (!j.contains(p)) return std::nullopt;
    const json& v = j.at(p);
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  } catch (const json::exception&) {
  }
  return std::nullopt;
}

json settingsJson(const OutreachSettings& s) {
  return {{"gateway_url", s.gatewayUrl},
          {"auth", s.auth},
          {"user", s.user},
          {"secret", s.secret},
          {"request_template", s.requestTemplate},
          {"id_field", s.idField},
          {"ca_file", s.caFile},
          {"timeout_ms", s.timeoutMs},
          {"callback_secret", s.callbackSecret},
          {"status_id_field", s.statusIdField},
          {"status_field", s.statusField},
          {"delivered_values", s.deliveredValues},
          {"failed_values", s.failedValues},
          {"reply_from_field", s.replyFromField},
          {"reply_text_field", s.replyTextField},
          {"quiet_start", s.quietStart},
          {"quiet_end", s.quietEnd},
          {"cap_messages", s.capMessages},
          {"cap_days", s.capDays},
          {"daily_budget", s.dailyBudget},
          {"max_attempts", s.maxAttempts},
          {"backoff_seconds", s.backoffSeconds},
          {"interval_seconds", s.intervalSeconds},
          {"opt_out_url", s.optOutUrl}};
}

/// Reads `j` over `s`; the first bad field is the error.
Result<OutreachSettings> applySettings(OutreachSettings s, const json& j) {
  if (!j.is_object()) return invalidArgument("body", "the settings are a JSON object");
  const auto text = [&](const char* k, std::string& out, std::size_t max) -> std::optional<Error> {
    if (!j.contains(k)) return std::nullopt;
    if (!j[k].is_string() || j[k].get<std::string>().size() > max) {
      return invalidArgument(k, std::string(k) + " is a text of at most " + std::to_string(max) + " bytes");
    }
    out = j[k].get<std::string>();
    return std::nullopt;
  };
  const auto number = [&](const char* k, std::int64_t& out, std::int64_t lo, std::int64_t hi) -> std::optional<Error> {
    if (!j.contains(k)) return std::nullopt;
    if (!j[k].is_number_integer() || j[k].get<std::int64_t>() < lo || j[k].get<std::int64_t>() > hi) {
      return invalidArgument(k, std::string(k) + " is a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
    }
    out = j[k].get<std::int64_t>();
    return std::nullopt;
  };
  const auto list = [&](const char* k, std::vector<std::string>& out) -> std::optional<Error> {
    if (!j.contains(k)) return std::nullopt;
    const Error bad = invalidArgument(k, std::string(k) + " is a list of 1 to 20 texts");
    if (!j[k].is_array() || j[k].empty() || j[k].size() > 20) return bad;
    std::vector<std::string> v;
    for (const auto& e : j[k]) {
      if (!e.is_string() || e.get<std::string>().empty() || e.get<std::string>().size() > 64) return bad;
      v.push_back(e.get<std::string>());
    }
    out = std::move(v);
    return std::nullopt;
  };
  static const std::set<std::string> kKeys = {
      "gateway_url",     "auth",         "user",           "secret",           "request_template", "id_field",
      "ca_file",         "timeout_ms",   "callback_secret", "status_id_field", "status_field",     "delivered_values",
      "failed_values",   "reply_from_field", "reply_text_field", "quiet_start", "quiet_end",        "cap_messages",
      "cap_days",        "daily_budget", "max_attempts",   "backoff_seconds",  "interval_seconds", "opt_out_url"};
  for (const auto& [k, v] : j.items()) {
    if (!kKeys.contains(k)) return invalidArgument(k, "unknown setting " + k);
  }
  for (const auto& e : {text("gateway_url", s.gatewayUrl, 2000), text("auth", s.auth, 16), text("user", s.user, 200),
                        text("secret", s.secret, 2000), text("request_template", s.requestTemplate, 4000),
                        text("id_field", s.idField, 200), text("ca_file", s.caFile, 1000),
                        number("timeout_ms", s.timeoutMs, 100, 120000), text("callback_secret", s.callbackSecret, 200),
                        text("status_id_field", s.statusIdField, 200), text("status_field", s.statusField, 200),
                        list("delivered_values", s.deliveredValues), list("failed_values", s.failedValues),
                        text("reply_from_field", s.replyFromField, 200), text("reply_text_field", s.replyTextField, 200),
                        text("quiet_start", s.quietStart, 5), text("quiet_end", s.quietEnd, 5),
                        number("cap_messages", s.capMessages, 1, 100), number("cap_days", s.capDays, 1, 365),
                        number("daily_budget", s.dailyBudget, 0, 10000000), number("max_attempts", s.maxAttempts, 1, 20),
                        number("backoff_seconds", s.backoffSeconds, 1, 86400),
                        number("interval_seconds", s.intervalSeconds, 0, 86400), text("opt_out_url", s.optOutUrl, 500)}) {
    if (e) return *e;
  }
  if (!s.gatewayUrl.empty() && (!s.gatewayUrl.starts_with("https://") || s.gatewayUrl.size() < 9 ||
                                 s.gatewayUrl.find_first_of(" \t\r\n") != std::string::npos)) {
    return invalidArgument("gateway_url", "gateway_url is an https:// address");
  }
  if (!known(s.auth, {"none", "bearer", "basic"})) return invalidArgument("auth", "auth is none, bearer or basic");
  if (s.auth != "none" && s.secret.empty()) return invalidArgument("secret", "auth " + s.auth + " needs a secret");
  if (s.auth == "basic" && (s.user.empty() || s.user.find(':') != std::string::npos)) {
    return invalidArgument("user", "auth basic needs a user without ':'");
  }
  {
    const std::string filled = gatewayRequestBody(s.requestTemplate, {"id", "+8613800138000", "text"});
    const auto parsed = json::parse(filled, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object() || s.requestTemplate.find("{to}") == std::string::npos ||
        s.requestTemplate.find("{text}") == std::string::npos) {
      return invalidArgument("request_template", "request_template is a JSON object with {to} and {text} inside strings");
    }
  }
  for (const auto& [k, p] : {std::pair{"id_field", &s.idField}, {"status_id_field", &s.statusIdField}, {"status_field", &s.statusField},
                             {"reply_from_field", &s.replyFromField}, {"reply_text_field", &s.replyTextField}}) {
    if (!validPointer(*p)) return invalidArgument(k, std::string(k) + " is a JSON pointer such as /data/id");
  }
  if (!minuteOfDay(s.quietStart)) return invalidArgument("quiet_start", "quiet_start is a time HH:MM");
  if (!minuteOfDay(s.quietEnd)) return invalidArgument("quiet_end", "quiet_end is a time HH:MM");
  if (!s.callbackSecret.empty() && (s.callbackSecret.size() < 16 || !validId(s.callbackSecret) ||
                                    s.callbackSecret.find_first_of("/?#%") != std::string::npos)) {
    return invalidArgument("callback_secret", "callback_secret is 16 to 200 characters without spaces, / ? # or %");
  }
  if (!s.optOutUrl.empty() && !s.optOutUrl.starts_with("https://")) return invalidArgument("opt_out_url", "opt_out_url is an https:// address");
  while (!s.optOutUrl.empty() && s.optOutUrl.back() == '/') s.optOutUrl.pop_back();
  return s;
}

// [SECTION] Templates and texts

struct DefaultTemplate {
  const char* kind;
  const char* zh;
  const char* en;
};
constexpr DefaultTemplate kDefaults[] = {
    {"birthday", "{greeting}愿您新的一岁平安喜乐。{opt_out}", "{greeting} Wishing you a wonderful year ahead. {opt_out}"},
    {"festival", "{greeting}感谢您一直以来的支持。{opt_out}", "{greeting} Thank you for being with us. {opt_out}"},
    {"points_expiring", "{greeting}欢迎到店使用。{opt_out}", "{greeting} Use them at any of our stores. {opt_out}"},
    {"welcome_back", "{name}，好久不见，我们想念您！欢迎回来看看。{opt_out}", "We miss you, {name}! Come and see us again soon. {opt_out}"},
    {"tier_upgrade", "{greeting}感谢您的支持。{opt_out}", "{greeting} Thank you for your loyalty. {opt_out}"},
    {"campaign", "{text}{opt_out}", "{text} {opt_out}"},
};
constexpr const char* kPlaceholders[] = {"name", "greeting", "points", "date", "tier", "text", "opt_out"};

std::string defaultTemplate(const std::string& kind, const std::string& language) {
  for (const auto& d : kDefaults) {
    if (kind == d.kind) return language == "en" ? d.en : d.zh;
  }
  return "{text}";
}

std::map<std::pair<std::string, std::string>, std::string> customTemplates(SqlConnection& c) {
  std::map<std::pair<std::string, std::string>, std::string> out;
  const auto r = c.query("SELECT kind, language, body FROM outreach_templates");
  for (std::size_t i = 0; i < r.size(); ++i) out[{r.text(i, 0), r.text(i, 1)}] = r.text(i, 2);
  return out;
}

/// The first {placeholder} of `body` that templates do not know.
std::optional<std::string> unknownPlaceholder(const std::string& body) {
  for (std::size_t open = body.find('{'); open != std::string::npos; open = body.find('{', open + 1)) {
    const std::size_t close = body.find('}', open);
    if (close == std::string::npos) return std::string("{");
    const std::string key = body.substr(open + 1, close - open - 1);
    if (std::none_of(std::begin(kPlaceholders), std::end(kPlaceholders), [&](const char* p) { return key == p; })) return key;
  }
  return std::nullopt;
}

std::string optOutText(const OutreachSettings& s, const std::string& language, const std::string& token) {
  std::string t = language == "en" ? "Reply STOP to opt out" : "回TD退订";
  if (!s.optOutUrl.empty()) t += (language == "en" ? " or visit " : "或访问 ") + s.optOutUrl + "/optout/" + token;
  return t;
}

Date addDays(Date d, int days) { return Date{std::chrono::sys_days{d} + std::chrono::days{days}}; }

// [SECTION] Audiences

struct Candidate {
  std::string memberId, name, cardNo, phone, store, language, tier;
  bool consent = false;
  std::int64_t points = 0;  ///< points_expiring
  std::optional<Date> expiresOn;
};

std::string storeFilter(const std::vector<std::string>& stores, std::vector<SqlValue>& params) {
  if (stores.empty()) return "";
  std::string in;
  for (const auto& s : stores) {
    params.emplace_back(s);
    in += (in.empty() ? "$" : ", $") + std::to_string(params.size());
  }
  return " AND enrolled_store IN (" + in + ")";
}

/// The members' points expiring in [day, day + window] by their ledger, lot by lot as the
/// terminal keeps them (core's planLotChange; FIFO).
void fillExpiring(SqlConnection& c, std::vector<Candidate>& members, Date day, const ProgrammeRules& rules) {
  const Date last = addDays(day, rules.expiringReminderDays);
  for (auto& m : members) {
    const auto r = c.query("SELECT kind, points, at FROM ledger WHERE member_id = $1 ORDER BY at, event_id, kind", {m.memberId});
    struct Lot {
      std::int64_t points;
      Date expires;
    };
    std::deque<Lot> lots;
    std::int64_t balance = 0;
    for (std::size_t i = 0; i < r.size(); ++i) {
      const auto today = parseDate(r.text(i, 2).substr(0, 10), "at");
      if (!today) continue;
      const std::int64_t after = balance + r.integer(i, 1);
      const LotChange lc = planLotChange(balance, after, r.text(i, 0) == "adjust", *today, rules.expiry);
      balance = after;
      if (lc.open > 0) lots.push_back({lc.open, lc.expiresOn});
      for (std::int64_t take = lc.take; take > 0 && !lots.empty();) {
        Lot& lot = lc.newestFirst ? lots.back() : lots.front();
        const std::int64_t used = std::min(take, lot.points);
        lot.points -= used;
        take -= used;
        if (lot.points == 0) lc.newestFirst ? lots.pop_back() : lots.pop_front();
      }
    }
    for (const auto& lot : lots) {
      if (lot.expires < day || lot.expires > last) continue;
      m.points += lot.points;
      if (!m.expiresOn || lot.expires < *m.expiresOn) m.expiresOn = lot.expires;
    }
  }
  std::erase_if(members, [](const Candidate& m) { return m.points <= 0; });
}

/// A page of a request's audience: the members among all members' ids in (low, high], a page of
/// them (high empty on the last page, which runs to the end), so that a campaign to a million
/// members is read, planned and queued a page at a time.
struct AudiencePage {
  std::string occasion;
  std::vector<Candidate> members;
  std::string low, high;
  bool last = false;

  /// " AND member_id > $n [AND member_id <= $m]", its values added to `params`.
  std::string range(std::vector<SqlValue>& params) const {
    params.emplace_back(low);
    std::string out = " AND member_id > $" + std::to_string(params.size());
    if (!last) {
      params.emplace_back(high);
      out += " AND member_id <= $" + std::to_string(params.size());
    }
    return out;
  }
};

constexpr std::int64_t kAudiencePage = 5000;

Result<AudiencePage> audiencePage(SqlConnection& c, const OutreachRequest& r, const std::string& after) {
  const auto day = parseDate(r.day, "day");
  if (!day) return day.error();
  AudiencePage a;
  a.low = after;
  const auto end = c.query("SELECT member_id FROM members WHERE member_id > $1 ORDER BY member_id LIMIT 1 OFFSET $2",
                           {after, kAudiencePage - 1});
  a.last = end.empty();
  if (!a.last) a.high = end.text(0, 0);
  std::vector<SqlValue> params;
  const std::string range = a.range(params);
  std::string where = "enrolled = 1 AND merged_into IS NULL AND erased_at IS NULL" + range + storeFilter(r.stores, params);
  std::optional<std::string> festival;
  if (r.kind == "birthday") {
    params.emplace_back(r.day.substr(5));
    where += " AND birthday IS NOT NULL AND substr(birthday, 6, 5) = $" + std::to_string(params.size());
    a.occasion = "birthday:" + r.day.substr(0, 4);
  } else if (r.kind == "festival") {
    if (r.festival) {
      if (!catalogueText("festival." + *r.festival, "en")) return invalidArgument("festival", "no festival " + *r.festival);
      festival = *r.festival;
    } else if (const auto f = festivalOn(*day)) {
      festival = std::string(*f);
    } else {
      return invalidArgument("festival", "no festival on " + r.day + ": name one (spring_festival, mid_autumn ...)");
    }
    a.occasion = "festival:" + *festival + ":" + r.day.substr(0, 4);
  } else if (r.kind == "tier_upgrade") {
    where += " AND tier <> 'member'";
    a.occasion = "tier_upgrade:";  // + the member's tier: one message per tier reached
  } else if (r.kind == "welcome_back") {
    // The page's own members' sales only (the same range), read along the member's index.
    const std::string salesRange = a.range(params);
    params.emplace_back(formatDate(addDays(*day, -static_cast<int>(r.idleDays))));
    where += " AND member_id IN (SELECT member_id FROM sales WHERE member_id IS NOT NULL" + salesRange +
             " GROUP BY member_id HAVING MAX(day) < $" + std::to_string(params.size()) + ")";
    a.occasion = "welcome_back:" + r.day.substr(0, 7);
  } else if (r.kind == "points_expiring") {
    where += " AND balance > 0";
    a.occasion = "points_expiring:";  // + the expiry day
  } else {
    a.occasion = "campaign:" + r.campaign;
  }
  const auto rows = c.query("SELECT member_id, name, card_no, phone, enrolled_store, COALESCE(language, ''), tier, consent_marketing "
                            "FROM members WHERE " + where + " ORDER BY member_id",
                            params);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    a.members.push_back({rows.text(i, 0), rows.text(i, 1), rows.text(i, 2), rows.text(i, 3), rows.text(i, 4),
                         std::string(catalogueLanguage(rows.text(i, 5))), rows.text(i, 6), rows.integer(i, 7) != 0, 0, std::nullopt});
  }
  if (r.kind == "points_expiring") fillExpiring(c, a.members, *day, PublishedProgramme{}.current(c));
  return a;
}

std::string tierWord(const std::string& tier, const std::string& language) {
  if (const auto t = catalogueText("tier." + tier, language)) return std::string(*t);
  return tier;
}

/// The message `m` gets: the kind's template (custom or default) in their language, filled.
std::string messageText(const std::map<std::pair<std::string, std::string>, std::string>& custom, const OutreachSettings& s,
                        const OutreachRequest& r, const std::string& occasion, const Candidate& m, const std::string& token) {
  const std::string& lang = m.language;
  const auto it = custom.find({r.kind, lang});
  const std::string pattern = it != custom.end() ? it->second : defaultTemplate(r.kind, lang);
  const std::string name = politeName(m.name, lang);
  const std::string points = formatGreetingNumber(m.points, lang);
  const std::string date = m.expiresOn ? formatGreetingDate(*m.expiresOn, lang) : "";
  const std::string tier = tierWord(m.tier, lang);
  std::string greetingId;
  if (r.kind == "birthday") greetingId = "birthday.today";
  else if (r.kind == "festival") greetingId = "festival." + occasion.substr(9, occasion.rfind(':') - 9);
  else if (r.kind == "points_expiring") greetingId = "points_expiring.many";
  else if (r.kind == "welcome_back") greetingId = "welcome_back";
  else if (r.kind == "tier_upgrade") greetingId = "tier_upgrade";
  const Placeholder inner[] = {{"name", name}, {"points", points}, {"date", date}, {"tier", tier}};
  const std::string greeting = greetingId.empty() ? "" : fillPlaceholders(catalogueText(greetingId, lang).value_or(""), inner);
  const std::string optOut = optOutText(s, lang, token);
  const Placeholder values[] = {{"name", name}, {"greeting", greeting}, {"points", points}, {"date", date},
                                {"tier", tier}, {"text", r.text},     {"opt_out", optOut}};
  return fillPlaceholders(pattern, values);
}

std::string memberOccasion(const std::string& occasion, const Candidate& m) {
  if (occasion == "tier_upgrade:") return occasion + m.tier;
  if (occasion == "points_expiring:") return occasion + (m.expiresOn ? formatDate(*m.expiresOn) : "");
  return occasion;
}

struct Planned {
  Candidate member;
  std::string occasion;
  std::string decision;  ///< send, no_consent, no_phone, already, capped
};

/// Decides for every member of a page of the audience (the page after `after`).
Result<std::pair<AudiencePage, std::vector<Planned>>> planPage(SqlConnection& c, const OutreachRequest& r, const OutreachSettings& s,
                                                                Timestamp now, const std::string& after) {
  auto a = audiencePage(c, r, after);
  if (!a) return a.error();
  std::vector<Planned> out;
  if (a->members.empty()) return std::pair{std::move(*a), std::move(out)};
  // What the page's members were sent, read along outreach_messages' (member_id, ...) indexes.
  std::vector<SqlValue> params;
  const std::string range = a->range(params);
  params.emplace_back(iso(now - std::chrono::days{s.capDays}));
  std::map<std::string, std::int64_t> recent;
  const auto counts = c.query("SELECT member_id, COUNT(*) FROM outreach_messages WHERE member_id IS NOT NULL" + range + " AND (sent_at >= $" +
                                  std::to_string(params.size()) + " OR status IN ('queued', 'sending')) GROUP BY member_id",
                              params);
  for (std::size_t i = 0; i < counts.size(); ++i) recent[counts.text(i, 0)] = counts.integer(i, 1);
  params.back() = r.kind;
  std::set<std::pair<std::string, std::string>> already;
  const auto sentBefore = c.query("SELECT member_id, occasion FROM outreach_messages WHERE member_id IS NOT NULL" + range +
                                      " AND kind = $" + std::to_string(params.size()),
                                  params);
  for (std::size_t i = 0; i < sentBefore.size(); ++i) already.insert({sentBefore.text(i, 0), sentBefore.text(i, 1)});
  for (const auto& m : a->members) {
    const std::string occasion = memberOccasion(a->occasion, m);
    std::string decision = "send";
    if (!m.consent) decision = "no_consent";
    else if (m.phone.empty()) decision = "no_phone";
    else if (already.contains({m.memberId, occasion})) decision = "already";
    else if (recent[m.memberId] >= s.capMessages) decision = "capped";
    out.push_back({m, occasion, decision});
  }
  return std::pair{std::move(*a), std::move(out)};
}

json noDecisions() { return {{"send", 0}, {"no_consent", 0}, {"no_phone", 0}, {"already", 0}, {"capped", 0}}; }

void countDecision(json& counts, const std::string& decision) {
  counts[decision] = counts[decision].get<std::int64_t>() + 1;
}

// [SECTION] Sending rules

/// When `now` is inside the quiet hours at `zone`, the instant they end; else nullopt.
std::optional<Timestamp> quietUntil(const OutreachSettings& s, const ZoneRules& zone, Timestamp now) {
  const int start = *minuteOfDay(s.quietStart), end = *minuteOfDay(s.quietEnd);
  if (start == end) return std::nullopt;
  const std::int64_t local = (now.time_since_epoch().count() + zone.offsetAt(now)) % 86400;
  const int minute = static_cast<int>((local + 86400) % 86400 / 60);
  const bool quiet = start < end ? (minute >= start && minute < end) : (minute >= start || minute < end);
  if (!quiet) return std::nullopt;
  const int wait = ((end - minute) % 1440 + 1440) % 1440;
  const auto secondsIntoMinute = static_cast<int>(((local % 60) + 60) % 60);
  return now + std::chrono::minutes{wait} - std::chrono::seconds{secondsIntoMinute};
}

Timestamp nextUtcMidnight(Timestamp now) {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::floor<std::chrono::days>(now) + std::chrono::days{1});
}

std::string utcDayStart(Timestamp now) { return iso(std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::floor<std::chrono::days>(now))); }

std::int64_t sentSince(SqlConnection& c, const std::string& since) {
  return c.query("SELECT COUNT(*) FROM outreach_messages WHERE sent_at >= $1", {since}).integer(0, 0);
}

}  // namespace

// [SECTION] Public: schema, settings, templates

void ensureOutreachSchema(SqlConnection& c) {
  // The messages list, newest first (outreachStatus), a page read in order along these rather
  // than every message sorted: built once in stores of earlier releases.
  const std::vector<IndexDefinition> newest = {{"outreach_newest", "outreach_messages(created_at DESC, message_id)"},
                                               {"outreach_newest_by_status", "outreach_messages(status, created_at DESC, message_id)"}};
  if (c.hasTable("outreach_messages")) {
    replaceIndexes(c, newest, {}, "every outreach message");
    return;
  }
  SqlTransaction tx(c);
  c.execScript(schemaForBackend(kSchema, c.backend()));
  createIndexes(c, newest);
  tx.commit();
}

OutreachSettings outreachSettings(SqlConnection& c) {
  const auto r = c.query("SELECT value FROM outreach_settings WHERE name = 'settings'");
  if (r.empty()) return {};
  auto s = applySettings({}, json::parse(r.text(0, 0), nullptr, false));
  return s ? *s : OutreachSettings{};
}

json outreachSettingsView(const OutreachSettings& s) {
  json v = settingsJson(s);
  v.erase("secret");
  v.erase("callback_secret");
  v["secret_set"] = !s.secret.empty();
  v["callback_secret_set"] = !s.callbackSecret.empty();
  return v;
}

Result<json> setOutreachSettings(SqlConnection& c, const json& body, const std::string& actor, Timestamp now) {
  SqlTransaction tx(c);
  auto s = applySettings(outreachSettings(c), body);
  if (!s) return s.error();
  c.query("INSERT INTO outreach_settings(name, value) VALUES ('settings', $1) ON CONFLICT (name) DO UPDATE SET value = $1",
          {settingsJson(*s).dump()});
  std::string fields;
  for (const auto& [k, v] : body.items()) fields += (fields.empty() ? "" : ", ") + k;
  recordAudit(c, {iso(now), actor, audit::kOutreachSettings, std::nullopt, std::nullopt, fields});
  tx.commit();
  return outreachSettingsView(*s);
}

json outreachTemplates(SqlConnection& c) {
  const auto custom = customTemplates(c);
  json out = json::array();
  for (const char* kind : kOutreachKinds) {
    for (const char* lang : kOutreachLanguages) {
      const auto it = custom.find({kind, lang});
      out.push_back({{"kind", kind}, {"language", lang}, {"body", it != custom.end() ? it->second : defaultTemplate(kind, lang)},
                     {"custom", it != custom.end()}});
    }
  }
  return out;
}

Result<json> setOutreachTemplate(SqlConnection& c, const std::string& kind, const std::string& language, const std::string& body,
                                 const std::string& actor, Timestamp now) {
  if (!validKind(kind)) return invalidArgument("kind", "kind is one of birthday, festival, points_expiring, welcome_back, tier_upgrade, campaign");
  if (!validLanguage(language)) return invalidArgument("language", "language is zh-CN or en");
  if (body.size() > 500) return invalidArgument("body", "body is at most 500 bytes");
  if (const auto bad = unknownPlaceholder(body)) {
    return invalidArgument("body", "unknown placeholder {" + *bad + "}: use {name} {greeting} {points} {date} {tier} {text} {opt_out}");
  }
  if (!body.empty() && body.find("{opt_out}") == std::string::npos) {
    return invalidArgument("body", "body must keep {opt_out}: every message says how to opt out");
  }
  SqlTransaction tx(c);
  if (body.empty()) {
    c.query("DELETE FROM outreach_templates WHERE kind = $1 AND language = $2", {kind, language});
  } else {
    c.query("INSERT INTO outreach_templates(kind, language, body, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (kind, language) DO UPDATE SET body = $3, updated_at = $4, updated_by = $5",
            {kind, language, body, iso(now), actor});
  }
  recordAudit(c, {iso(now), actor, audit::kOutreachTemplate, kind + "/" + language, std::nullopt, body.empty() ? "reset to default" : body});
  tx.commit();
  return json{{"kind", kind}, {"language", language}, {"body", body.empty() ? defaultTemplate(kind, language) : body}, {"custom", !body.empty()}};
}

// [SECTION] Public: preview and queue

Result<OutreachRequest> parseOutreachRequest(const std::function<std::optional<std::string>(const char*)>& param, const std::string& today) {
  OutreachRequest r;
  r.kind = param("kind").value_or("");
  if (!validKind(r.kind)) return invalidArgument("kind", "kind is one of birthday, festival, points_expiring, welcome_back, tier_upgrade, campaign");
  r.day = param("day").value_or(today);
  if (r.day.empty()) r.day = today;
  if (auto d = parseDate(r.day, "day"); !d) return d.error();
  if (auto f = param("festival"); f && !f->empty()) r.festival = *f;
  r.campaign = param("campaign").value_or("");
  r.text = param("text").value_or("");
  if (r.kind == "campaign") {
    if (r.campaign.empty() || r.campaign.size() > 64 || !validId(r.campaign)) {
      return invalidArgument("campaign", "campaign is a name of 1 to 64 characters without spaces");
    }
    if (r.text.empty() || r.text.size() > 400) return invalidArgument("text", "text is 1 to 400 bytes");
  } else if (r.text.size() > 400) {
    return invalidArgument("text", "text is at most 400 bytes");
  }
  if (auto idle = param("idle_days"); idle && !idle->empty()) {
    if (idle->size() > 4 || idle->find_first_not_of("0123456789") != std::string::npos || std::stoll(*idle) < 1 || std::stoll(*idle) > 3650) {
      return invalidArgument("idle_days", "idle_days is a whole number from 1 to 3650");
    }
    r.idleDays = std::stoll(*idle);
  }
  if (auto stores = param("store"); stores && !stores->empty()) {
    std::size_t start = 0;
    while (start <= stores->size()) {
      const std::size_t comma = std::min(stores->find(',', start), stores->size());
      const std::string one = stores->substr(start, comma - start);
      if (!validId(one)) return invalidArgument("store", "store is a list of store ids separated by commas");
      r.stores.push_back(one);
      start = comma + 1;
    }
  }
  return r;
}

Result<json> previewOutreach(SqlConnection& c, const OutreachRequest& r, Timestamp now, std::int64_t limit) {
  SqlTransaction tx(c, SqlTransaction::Kind::kRead);
  const OutreachSettings s = outreachSettings(c);
  const auto custom = customTemplates(c);
  json counts = noDecisions(), sends = json::array(), others = json::array();
  std::int64_t total = 0;
  std::string occasion;
  // Those to send first, each part in member order: the first `limit` of each part is all a
  // preview can show, so no page is kept past its own.
  for (std::string after;;) {
    auto page = planPage(c, r, s, now, after);
    if (!page) return page.error();
    occasion = page->first.occasion;
    for (const auto& p : page->second) {
      countDecision(counts, p.decision);
      ++total;
      json& rows = p.decision == "send" ? sends : others;
      if (static_cast<std::int64_t>(rows.size()) >= limit) continue;
      const auto& m = p.member;
      rows.push_back({{"member_id", m.memberId}, {"name", m.name}, {"card_no", m.cardNo}, {"phone", m.phone}, {"store", m.store},
                      {"language", m.language}, {"decision", p.decision}, {"text", messageText(custom, s, r, occasion, m, "…")}});
    }
    if (page->first.last) break;
    after = page->first.high;
  }
  tx.commit();
  for (auto& row : others) {
    if (static_cast<std::int64_t>(sends.size()) >= limit) break;
    sends.push_back(std::move(row));
  }
  return json{{"kind", r.kind}, {"day", r.day}, {"occasion", occasion}, {"counts", std::move(counts)}, {"total", total},
              {"recipients", std::move(sends)}};
}

OutreachQueueing startOutreachQueueing(const OutreachRequest& r, const std::string& actor, Timestamp now) {
  return OutreachQueueing{r, actor, now, "b-" + randomToken(8), "", "", noDecisions(), 0, 0, false};
}

Status queueOutreachPage(SqlConnection& c, OutreachQueueing& q) {
  SqlTransaction tx(c);
  const OutreachSettings s = outreachSettings(c);
  auto page = planPage(c, q.request, s, q.now, q.after);
  if (!page) return page.error();
  const auto custom = customTemplates(c);
  const std::string occasion = page->first.occasion;
  // The queueing's figures change only once the page is committed.
  OutreachQueueing next = q;
  next.occasion = occasion;
  if (q.after.empty()) {
    // Begun: a send cut short part way (its earlier pages queued, then sent) stays in the trail.
    recordAudit(c, {iso(q.now), q.actor, audit::kOutreachQueue, q.batchId, std::nullopt,
                    q.request.kind + " " + occasion + ": queueing begun"});
  }
  // Many rows a statement (13 values each, within both back ends' limits on parameters).
  constexpr std::size_t kWidth = 13;
  constexpr std::size_t kRowsPerStatement = 50;
  std::vector<SqlValue> values;
  const auto insert = [&] {
    if (values.empty()) return;
    const auto inserted = c.query(
        "INSERT INTO outreach_messages(message_id, batch_id, member_id, kind, occasion, language, body, store_id, status, next_at, "
        "created_at, opt_out_token, actor) " + valuesList(values.size() / kWidth, kWidth) +
            " ON CONFLICT (member_id, occasion) DO NOTHING RETURNING 1",
        values);
    next.queued += static_cast<std::int64_t>(inserted.size());
    values.clear();
  };
  for (const auto& p : page->second) {
    countDecision(next.counts, p.decision);
    if (p.decision != "send") continue;
    const std::string token = randomToken(12);
    // A batch's ids in order ("m-" + the batch's random part + a number, then a random part of
    // its own), so that its rows go to one place of the id's index, not each to a random one (on
    // SQLite each page's commit writes every index page it touched); not guessable from
    // another's (the id is a gateway's idempotency key).
    std::string number = std::to_string(++next.numbered);
    number.insert(0, number.size() < 8 ? 8 - number.size() : 0, '0');
    for (SqlValue v : {SqlValue("m-" + q.batchId.substr(2) + "-" + number + "-" + randomToken(6)), SqlValue(q.batchId), SqlValue(p.member.memberId),
                       SqlValue(q.request.kind), SqlValue(p.occasion), SqlValue(p.member.language),
                       SqlValue(messageText(custom, s, q.request, occasion, p.member, token)), SqlValue(p.member.store),
                       SqlValue("queued"), SqlValue(iso(q.now)), SqlValue(iso(q.now)), SqlValue(token), SqlValue(q.actor)}) {
      values.push_back(std::move(v));
    }
    if (values.size() >= kRowsPerStatement * kWidth) insert();
  }
  insert();
  if (page->first.last) {
    recordAudit(c, {iso(q.now), q.actor, audit::kOutreachQueue, q.batchId, next.queued, q.request.kind + " " + occasion});
    next.done = true;
  } else {
    next.after = page->first.high;
  }
  tx.commit();
  q = std::move(next);
  return loyalty::Ok{};
}

json outreachQueued(const OutreachQueueing& q) { return {{"batch_id", q.batchId}, {"queued", q.queued}, {"counts", q.counts}}; }

// [SECTION] Public: sending

std::string gatewayRequestBody(const std::string& requestTemplate, const OutgoingMessage& m) {
  const auto esc = [](const std::string& v) {
    const std::string quoted = json(v).dump();
    return quoted.substr(1, quoted.size() - 2);
  };
  // Not core's fillPlaceholders: a JSON template's own braces are not placeholders.
  const std::pair<std::string, std::string> values[] = {{"{to}", esc(m.to)}, {"{text}", esc(m.text)}, {"{message_id}", esc(m.messageId)}};
  std::string out;
  for (std::size_t pos = 0; pos < requestTemplate.size();) {
    const auto hit = std::find_if(std::begin(values), std::end(values), [&](const auto& v) { return requestTemplate.compare(pos, v.first.size(), v.first) == 0; });
    if (hit != std::end(values)) {
      out += hit->second;
      pos += hit->first.size();
    } else {
      out += requestTemplate[pos++];
    }
  }
  return out;
}

json runOutreach(const std::function<void(const std::function<void(SqlConnection&)>&)>& db, Timestamp now, const GatewaySend& send) {
  json out = {{"configured", true}, {"sent", 0}, {"retrying", 0}, {"failed", 0}, {"cancelled", 0}, {"capped", 0}, {"quiet", 0}, {"over_budget", 0}};
  const auto bump = [&](const char* k) { out[k] = out[k].get<std::int64_t>() + 1; };
  OutreachSettings s;
  std::vector<OutgoingMessage> claimed;
  db([&](SqlConnection& c) {
    SqlTransaction tx(c);
    s = outreachSettings(c);
    if (s.gatewayUrl.empty()) {
      out["configured"] = false;
      return;
    }
    std::int64_t budget = s.dailyBudget - sentSince(c, utcDayStart(now));
    const auto due = c.query(
        "SELECT o.message_id, o.member_id, o.body, m.phone, m.consent_marketing, m.erased_at, m.merged_into, "
        "(SELECT MIN(timezone) FROM terminals t WHERE t.store_id = m.enrolled_store), o.sent_at "
        "FROM outreach_messages o JOIN members m ON m.member_id = o.member_id "
        "WHERE o.status IN ('queued', 'sending') AND o.next_at <= $1 ORDER BY o.next_at, o.message_id LIMIT 200",
        {iso(now)});
    ZoneCache zones;
    const std::string capSince = iso(now - std::chrono::days{s.capDays});
    for (std::size_t i = 0; i < due.size(); ++i) {
      const std::string id = due.text(i, 0), member = due.text(i, 1);
      // Each change applies only if the message is still due as read: a gateway's answer or a
      // delivery report is recorded without the store-wide lock this claim holds, and one for a
      // message whose claim ran out (sent again here) may have come in since the read.
      const auto stillDue = [&](const std::string& set, std::vector<SqlValue> params) {
        params.emplace_back(iso(now));
        return !c.query("UPDATE outreach_messages SET " + set + " WHERE message_id = $1 AND status IN ('queued', 'sending') "
                        "AND next_at <= $" + std::to_string(params.size()) + " RETURNING 1",
                        params)
                    .empty();
      };
      const auto finish = [&](const char* status, const std::string& why) {
        return stillDue("status = $2, error = $3, done_at = $4", {id, status, why, iso(now)});
      };
      if (due.integer(i, 4) == 0 || !due.isNull(i, 5) || !due.isNull(i, 6) || due.text(i, 3).empty()) {
        if (finish("cancelled", due.integer(i, 4) == 0 ? "no marketing consent" : "member erased, merged or without a phone")) {
          bump("cancelled");
        }
        continue;
      }
      if (const auto until = quietUntil(s, zones.get(due.optText(i, 7).value_or("UTC")), now)) {
        if (stillDue("status = 'queued', next_at = $2", {id, iso(*until)})) bump("quiet");
        continue;
      }
      const std::int64_t recent =
          c.query("SELECT COUNT(*) FROM outreach_messages WHERE member_id = $1 AND sent_at >= $2 AND message_id <> $3", {member, capSince, id})
              .integer(0, 0);
      if (recent >= s.capMessages) {
        if (finish("capped", "frequency cap: " + std::to_string(s.capMessages) + " in " + std::to_string(s.capDays) + " days")) {
          bump("capped");
        }
        continue;
      }
      // A retry was counted against the budget of the day it was first handed over.
      const bool counted = !due.isNull(i, 8) && due.text(i, 8) >= utcDayStart(now);
      if (!counted && budget <= 0) {
        if (stillDue("status = 'queued', next_at = $2", {id, iso(nextUtcMidnight(now))})) bump("over_budget");
        continue;
      }
      // Claimed for as long as its answer can take, after those of the messages claimed before it
      // (sent one after another): a pass that dies sending leaves it due again.
      const auto perSend = std::chrono::seconds{(s.timeoutMs + 999) / 1000};
      const Timestamp lease = now + perSend * static_cast<std::int64_t>(claimed.size() + 1) + std::chrono::seconds{60};
      if (!stillDue("status = 'sending', attempts = attempts + 1, next_at = $2, sent_at = $3",
                    {id, iso(lease), counted ? due.text(i, 8) : iso(now)})) {
        continue;
      }
      if (!counted) --budget;
      claimed.push_back({id, due.text(i, 3), due.text(i, 2)});
    }
    tx.commit();
  });
  for (const auto& m : claimed) {
    const GatewayReply reply = send(s, m);
    db([&](SqlConnection& c) {
      // One message's row, not behind uploads and other store-wide writers: the row itself is
      // locked (FOR UPDATE; SQLite has one writer anyway), so a claim, an erasure's scrub or a
      // delivery report of the same message comes wholly before or after, and each change
      // written is computed from the row as it is then (gatewayError reads the row's own body).
      SqlTransaction tx(c, SqlTransaction::Kind::kRowWrite);
      const auto a = c.query(std::string("SELECT attempts FROM outreach_messages WHERE message_id = $1 AND status = 'sending'") +
                                 (c.backend() == "postgresql" ? " FOR UPDATE" : ""),
                             {m.messageId});
      if (a.empty()) return;
      const std::int64_t attempts = a.integer(0, 0);
      if (reply.outcome == GatewayReply::Outcome::kAccepted) {
        c.query("UPDATE outreach_messages SET status = 'sent', provider_id = $2, error = NULL WHERE message_id = $1",
                {m.messageId, reply.providerId.empty() ? SqlValue{nullptr} : SqlValue{reply.providerId}});
        bump("sent");
      } else if (reply.outcome == GatewayReply::Outcome::kRetry && attempts < s.maxAttempts) {
        const std::int64_t wait = s.backoffSeconds << std::min<std::int64_t>(attempts - 1, 16);
        c.query("UPDATE outreach_messages SET status = 'queued', next_at = $2, error = " + gatewayError("$3") + " WHERE message_id = $1",
                {m.messageId, iso(now + std::chrono::seconds{wait}), reply.error});
        bump("retrying");
      } else {
        c.query("UPDATE outreach_messages SET status = 'failed', error = " + gatewayError("$2") + ", done_at = $3 WHERE message_id = $1",
                {m.messageId, reply.error, iso(now)});
        bump("failed");
      }
      tx.commit();
    });
  }
  return out;
}

Result<json> recordDeliveryReport(SqlConnection& c, const OutreachSettings& s, const json& body, Timestamp now) {
  const auto id = textAt(body, s.statusIdField);
  if (!id || id->empty()) return invalidArgument("id", "the report has no message id at " + s.statusIdField);
  const auto status = textAt(body, s.statusField);
  if (!status) return invalidArgument("status", "the report has no status at " + s.statusField);
  const auto in = [&](const std::vector<std::string>& values) { return std::find(values.begin(), values.end(), *status) != values.end(); };
  const char* mapped = in(s.deliveredValues) ? "delivered" : in(s.failedValues) ? "failed" : nullptr;
  if (!mapped) return json{{"message_id", nullptr}, {"status", "ignored"}};  // an intermediate state (queued at the carrier ...)
  // One statement on the message's own row (gatewayError reads its body): no store-wide lock.
  SqlTransaction tx(c, SqlTransaction::Kind::kRowWrite);
  const auto r = c.query("UPDATE outreach_messages SET status = $2, done_at = $3, error = " + gatewayError("$4") +
                             " WHERE provider_id = $1 OR message_id = $1 RETURNING message_id",
                         {*id, mapped, iso(now), std::string(mapped) == "failed" ? SqlValue{"gateway: " + *status} : SqlValue{nullptr}});
  if (r.empty()) return Error{errc::kNotFound, "id", "no message " + *id};
  tx.commit();
  return json{{"message_id", r.text(0, 0)}, {"status", mapped}};
}

bool isOptOutReply(const std::string& text) {
  std::string t;
  for (const char ch : text) {
    if (!std::isspace(static_cast<unsigned char>(ch))) t += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  return known(t, {"TD", "T", "N", "STOP", "UNSUBSCRIBE", "退订"});
}

std::vector<std::string> optOutMembers(SqlConnection& c, const std::optional<std::string>& phone, const std::optional<std::string>& token) {
  SqlRows r;
  if (token) {
    r = c.query("SELECT m.member_id FROM outreach_messages o JOIN members m ON m.member_id = o.member_id "
                "WHERE o.opt_out_token = $1 AND m.erased_at IS NULL AND m.consent_marketing = 1",
                {*token});
  } else if (phone) {
    const auto e164 = normalizePhone(*phone, kHomePhoneRegion);
    if (!e164) return {};
    r = c.query("SELECT member_id FROM members WHERE phone = $1 AND erased_at IS NULL AND merged_into IS NULL AND consent_marketing = 1",
                {*e164});
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < r.size(); ++i) out.push_back(r.text(i, 0));
  return out;
}

namespace {

constexpr std::array<const char*, 7> kMessageStatuses{"queued", "sending", "sent", "delivered", "failed", "capped", "cancelled"};

}  // namespace

Result<OutreachListing> parseOutreachListing(const std::function<std::optional<std::string>(const char*)>& param,
                                             const OutreachListing& defaults) {
  OutreachListing out = defaults;
  if (auto status = param("status"); status && !status->empty()) {  // empty: every status, as the other lists
    if (std::find(kMessageStatuses.begin(), kMessageStatuses.end(), *status) == kMessageStatuses.end()) {
      return invalidArgument("status", "status is one of queued, sending, sent, delivered, failed, capped, cancelled");
    }
    out.status = std::move(status);
  }
  if (const auto l = param("limit")) {
    if (l->empty() || l->size() > 4 || l->find_first_not_of("0123456789") != std::string::npos || std::stoll(*l) < 1) {
      return invalidArgument("limit", "limit is a whole number from 1 to 1000");
    }
    out.limit = std::min<std::int64_t>(1000, std::stoll(*l));
  }
  auto offset = wholeNumber(param("offset"), "offset", out.offset, 0, 100000000);
  if (!offset) return offset.error();
  out.offset = *offset;
  return out;
}

json outreachStatus(SqlConnection& c, const OutreachListing& listing, Timestamp now) {
  SqlTransaction tx(c, SqlTransaction::Kind::kRead);
  const OutreachSettings s = outreachSettings(c);
  json counts = json::object();
  for (const char* st : kMessageStatuses) counts[st] = 0;
  std::int64_t all = 0;
  const auto by = c.query("SELECT status, COUNT(*) FROM outreach_messages GROUP BY status");
  for (std::size_t i = 0; i < by.size(); ++i) {
    counts[by.text(i, 0)] = by.integer(i, 1);
    all += by.integer(i, 1);
  }
  SqlParams q;
  const std::string where = listing.status ? " WHERE o.status = " + q.p(*listing.status) : "";
  const auto r = c.query(
      "SELECT o.message_id, o.member_id, m.name, o.kind, o.status, o.attempts, o.created_at, o.sent_at, o.done_at, o.error, o.body, "
      "o.next_at, m.card_no FROM outreach_messages o LEFT JOIN members m ON m.member_id = o.member_id" + where +
          " ORDER BY o.created_at DESC, o.message_id" + pageClause(q, c.backend(), {listing.offset, listing.limit}),
      q.values);
  json messages = json::array();
  const auto opt = [&](std::size_t i, std::size_t col) { return r.isNull(i, col) ? json(nullptr) : json(r.text(i, col)); };
  for (std::size_t i = 0; i < r.size(); ++i) {
    messages.push_back({{"message_id", r.text(i, 0)}, {"member_id", r.text(i, 1)}, {"name", opt(i, 2)}, {"card_no", opt(i, 12)},
                        {"kind", r.text(i, 3)}, {"status", r.text(i, 4)}, {"attempts", r.integer(i, 5)},
                        {"created_at", r.text(i, 6)}, {"sent_at", opt(i, 7)}, {"done_at", opt(i, 8)}, {"error", opt(i, 9)},
                        {"text", r.text(i, 10)}, {"next_at", r.text(i, 11)}});
  }
  const std::int64_t today = sentSince(c, utcDayStart(now));
  tx.commit();
  const std::int64_t total = listing.status ? counts[*listing.status].get<std::int64_t>() : all;
  return json{{"counts", std::move(counts)},
              {"today", {{"sent", today}, {"budget", s.dailyBudget}}},
              {"total", total},
              {"page", {{"offset", listing.offset}, {"limit", listing.limit}}},
              {"messages", std::move(messages)}};
}

// [SECTION] HqStore: an opt-out reaches terminals as a member change

Result<std::int64_t> HqStore::withdrawConsent(const std::vector<std::string>& memberIds, const std::string& source,
                                              const std::string& actor, Timestamp now) {
  SqlTransaction tx(*m_c);
  std::vector<std::string> changed;
  for (const auto& id : memberIds) {
    const auto r = m_c->query("SELECT enrolled_store FROM members WHERE member_id = $1 AND consent_marketing = 1 AND erased_at IS NULL", {id});
    if (r.empty()) continue;
    recordConsent(*m_c, {id, iso(now), false, std::nullopt, r.text(0, 0), "hq", std::nullopt, source + ":" + randomToken(8), source});
    recordAudit(*m_c, {iso(now), actor, audit::kOutreachOptOut, id, std::nullopt, source});
    changed.push_back(id);
  }
  bumpMembers(changed);
  tx.commit();
  return static_cast<std::int64_t>(changed.size());
}

}  // namespace loyalty::hq
