#include "loyalty/sync/codec.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "loyalty/core/text.hpp"
#include "loyalty/core/time.hpp"
#include "loyalty/sync/event_types.hpp"

namespace loyalty::sync {

using nlohmann::json;

const char* toString(EventStatus status) {
  switch (status) {
    case EventStatus::kApplied: return "applied";
    case EventStatus::kDuplicate: return "duplicate";
    case EventStatus::kConflict: return "conflict";
    case EventStatus::kRejected: return "rejected";
  }
  return "rejected";
}

std::string Problem::code() const {
  const std::string_view prefix(kProblemTypePrefix);
  if (type.size() > prefix.size() && type.compare(0, prefix.size(), prefix) == 0) return type.substr(prefix.size());
  return type;
}

Problem Problem::make(const char* code, int status, std::string detail) {
  const std::string c(code);
  std::string title;
  if (c == problem::kBadRequest) title = "Bad request";
  else if (c == problem::kUnauthenticated) title = "Unauthenticated";
  else if (c == problem::kForbidden) title = "Forbidden";
  else if (c == problem::kConflict) title = "Conflict";
  else if (c == problem::kTooLarge) title = "Request too large";
  else if (c == problem::kInsufficientPoints) title = "Insufficient points";
  else if (c == problem::kUnavailable) title = "Unavailable";
  else if (c == problem::kNotFound) title = "Not found";
  else if (c == problem::kTooManyRequests) title = "Too many requests";
  else if (c == problem::kGone) title = "Gone";
  else title = c;
  return Problem{kProblemTypePrefix + c, std::move(title), status, std::move(detail)};
}

namespace {

// [SECTION] Reading with field paths. Decoders throw FieldError internally; the public
// functions turn it into a Result, so no exception crosses the library's boundary.

struct FieldError {
  std::string field;
  std::string message;
};

bool hasControlChars(std::string_view s) {
  for (const unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

class Obj {
 public:
  Obj(const json& j, std::string path) : m_j(j), m_path(std::move(path)) {
    if (!j.is_object()) throw FieldError{m_path, (m_path.empty() ? std::string("the body") : m_path) + " must be a JSON object"};
  }

  std::string at(std::string_view key) const {
    return m_path.empty() ? std::string(key) : m_path + "." + std::string(key);
  }

  /// True when the key is there, even with null (a field that is cleared, not left alone).
  bool has(std::string_view key) const { return m_j.contains(key); }

  /// The value, or nullptr when absent or null.
  const json* find(std::string_view key) const {
    const auto it = m_j.find(key);
    if (it == m_j.end() || it->is_null()) return nullptr;
    return &*it;
  }

  const json& need(std::string_view key) const {
    const json* v = find(key);
    if (!v) throw FieldError{at(key), at(key) + " is required"};
    return *v;
  }

  std::string text(std::string_view key, std::size_t maxLen = 4096, bool allowEmpty = false) const {
    return checkText(need(key), key, maxLen, allowEmpty);
  }
  std::optional<std::string> optText(std::string_view key, std::size_t maxLen = 4096) const {
    const json* v = find(key);
    if (!v) return std::nullopt;
    return checkText(*v, key, maxLen, true);
  }

  /// An identifier: 1..128 printable characters.
  std::string id(std::string_view key) const {
    std::string s = text(key, kMaxIdLength);
    if (hasControlChars(s)) throw FieldError{at(key), at(key) + " has control characters"};
    return s;
  }
  std::optional<std::string> optId(std::string_view key) const {
    if (!find(key)) return std::nullopt;
    return id(key);
  }

  std::int64_t integer(std::string_view key, std::int64_t min = std::numeric_limits<std::int64_t>::min(),
                       std::int64_t max = std::numeric_limits<std::int64_t>::max()) const {
    const json& v = need(key);
    if (!v.is_number_integer()) throw FieldError{at(key), at(key) + " must be a whole number"};
    std::int64_t n = 0;
    if (v.is_number_unsigned()) {
      const auto u = v.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        throw FieldError{at(key), at(key) + " is out of range"};
      }
      n = static_cast<std::int64_t>(u);
    } else {
      n = v.get<std::int64_t>();
    }
    if (n < min || n > max) {
      throw FieldError{at(key), at(key) + " must be between " + std::to_string(min) + " and " + std::to_string(max)};
    }
    return n;
  }

  bool boolean(std::string_view key) const {
    const json& v = need(key);
    if (!v.is_boolean()) throw FieldError{at(key), at(key) + " must be true or false"};
    return v.get<bool>();
  }
  std::optional<bool> optBoolean(std::string_view key) const {
    if (!find(key)) return std::nullopt;
    return boolean(key);
  }

  Money money(std::string_view key) const {
    const json& v = need(key);
    if (!v.is_string()) throw FieldError{at(key), at(key) + " must be a decimal string such as \"12.50\""};
    auto m = Money::parse(v.get_ref<const std::string&>(), at(key));
    if (!m) throw FieldError{at(key), m.error().message};
    if (m->minor() > kMaxAbsMinor || m->minor() < -kMaxAbsMinor) throw FieldError{at(key), at(key) + " is out of range"};
    return *m;
  }

  /// A phone number in E.164: "+", a country code and at most 15 digits in all.
  std::string phone(std::string_view key) const {
    std::string s = text(key, 16);
    const bool digits = s.size() >= 8 && s[0] == '+' && s[1] != '0' &&
                        s.find_first_not_of("0123456789", 1) == std::string::npos;
    if (!digits) throw FieldError{at(key), at(key) + " must be a phone number in E.164, such as +8613812345678"};
    return s;
  }
  std::optional<std::string> optPhone(std::string_view key) const {
    if (!find(key)) return std::nullopt;
    return phone(key);
  }

  /// A calendar date YYYY-MM-DD.
  std::string date(std::string_view key) const {
    std::string s = text(key, 10);
    if (auto d = parseDate(s, at(key)); !d || s.size() != 10) {
      throw FieldError{at(key), at(key) + " must be a date YYYY-MM-DD"};
    }
    return s;
  }
  std::optional<std::string> optDate(std::string_view key) const {
    if (!find(key)) return std::nullopt;
    return date(key);
  }

  std::string timestamp(std::string_view key) const {
    std::string s = text(key, 64);
    if (auto t = parseRfc3339(s, at(key)); !t) throw FieldError{at(key), t.error().message};
    return s;
  }

  const json& array(std::string_view key) const {
    const json& v = need(key);
    if (!v.is_array()) throw FieldError{at(key), at(key) + " must be an array"};
    return v;
  }

  const std::string& path() const { return m_path; }

 private:
  std::string checkText(const json& v, std::string_view key, std::size_t maxLen, bool allowEmpty) const {
    if (!v.is_string()) throw FieldError{at(key), at(key) + " must be a string"};
    const auto& s = v.get_ref<const std::string&>();
    if (s.empty() && !allowEmpty) throw FieldError{at(key), at(key) + " must not be empty"};
    if (s.size() > maxLen) throw FieldError{at(key), at(key) + " is longer than " + std::to_string(maxLen) + " bytes"};
    return s;
  }

  const json& m_j;
  std::string m_path;
};

std::string index(std::string_view path, std::size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

template <class F>
auto guarded(F&& f) -> Result<decltype(f())> {
  try {
    return f();
  } catch (const FieldError& e) {
    return Error{errc::kBadRequest, e.field, e.message};
  } catch (const json::exception& e) {
    return Error{errc::kBadRequest, "", std::string("malformed JSON value: ") + e.what()};
  }
}

PayloadOrigin origin(const Obj& o) { return {o.id("store_id"), o.id("terminal_id")}; }

void putOpt(json& j, const char* key, const std::optional<std::string>& v) {
  if (v) j[key] = *v;
}

/// A nullable field: null when empty.
void putNullable(json& j, const char* key, const std::optional<std::string>& v) {
  j[key] = v ? json(*v) : json(nullptr);
}

void putOrigin(json& j, const PayloadOrigin& o) {
  j["store_id"] = o.storeId;
  j["terminal_id"] = o.terminalId;
}

constexpr std::int64_t kMaxPoints = kMaxEventPoints;
// An adjustment's size is head office's to judge (and to report when it refuses one), so the
// codec only keeps it far from overflow.
constexpr std::int64_t kMaxAdjustPoints = 1'000'000'000'000'000;

/// `take`: `j` itself, writable, to move the payload out of instead of copying it.
EventEnvelope readEnvelope(const json& j, const std::string& path, json* take = nullptr) {
  const Obj o(j, path);
  EventEnvelope e;
  e.eventId = o.id("event_id");
  e.seq = o.integer("seq", 1);
  e.type = o.id("type");
  e.at = o.timestamp("at");
  const json& p = o.need("payload");
  if (!p.is_object()) throw FieldError{o.at("payload"), o.at("payload") + " must be a JSON object"};
  e.payload = take ? std::move((*take)["payload"]) : p;
  return e;
}

MemberSnapshot readSnapshot(const json& j, const std::string& path) {
  const Obj o(j, path);
  MemberSnapshot m;
  m.memberId = o.id("member_id");
  m.cardNo = o.text("card_no", 64);
  m.phone = o.text("phone", 32);
  m.name = o.text("name", 256);
  m.birthday = o.optText("birthday", 10);
  m.language = o.optText("language", 16);
  m.consentMarketing = o.boolean("consent_marketing");
  m.enrolledAt = o.timestamp("enrolled_at");
  m.enrolledStore = o.id("enrolled_store");
  m.referrerId = o.optId("referrer_id");
  m.lifetimeSpend = o.money("lifetime_spend").toString();
  return m;
}

Change readChange(const json& j, const std::string& path) {
  const Obj o(j, path);
  const std::string type = o.text("type", 64);
  if (type == "member") {
    MemberChange c;
    c.member = readSnapshot(o.need("member"), o.at("member"));
    c.balance = o.integer("balance");
    c.pointsDebt = o.integer("points_debt", 0);
    c.tier = o.text("tier", 64);
    return c;
  }
  if (type == "member.merged") return MemberMergedChange{o.id("from"), o.id("into")};
  if (type == "member.erased") return MemberErasedChange{o.id("member_id")};
  if (type == "catalog") {
    CatalogChange c;
    const json& rewards = o.array("rewards");
    for (std::size_t i = 0; i < rewards.size(); ++i) {
      const Obj r(rewards[i], index(o.at("rewards"), i));
      c.rewards.push_back({r.id("reward_id"), r.text("name", 256), r.integer("points", 0), r.boolean("active")});
    }
    return c;
  }
  if (type == "product") {
    ProductFields f{o.text("sku", 64), o.text("name", 256), o.text("price", 32), o.optText("barcode", 64),
                    o.optText("category", 64)};
    auto product = checkProduct(f, path.empty() ? "" : path + ".");
    if (!product) throw FieldError{product.error().field, product.error().message};
    return ProductChange{std::move(*product)};
  }
  if (type == "config") return ConfigChange{o.integer("version", 0), o.text("toml", kMaxBodyBytes, true)};
  return UnknownChange{type, j};
}

}  // namespace

// [SECTION] Public decoders

Status checkJsonLimits(std::string_view text, std::size_t maxBytes) {
  if (text.size() > maxBytes) {
    return Error{errc::kBadRequest, "", "the JSON text is larger than the limit of " + std::to_string(maxBytes) + " bytes"};
  }
  // Brackets inside strings do not nest; a backslash escapes the next character. Malformed
  // texts are left to the parser: this only bounds how deep it would go.
  std::size_t depth = 0;
  bool inString = false, escaped = false;
  for (const char c : text) {
    if (inString) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        return Error{errc::kBadRequest, "",
                     "the JSON text nests arrays and objects deeper than the limit of " + std::to_string(kMaxJsonDepth) + " levels"};
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return Ok{};
}

Result<json> parseJson(std::string_view body, std::size_t maxBytes) {
  if (auto limits = checkJsonLimits(body, maxBytes); !limits) return limits.error();
  try {
    return json::parse(body.begin(), body.end());
  } catch (const json::exception& e) {  // syntax, invalid UTF-8, numbers out of range such as 1e400
    return Error{errc::kBadRequest, "", std::string("not valid JSON: ") + e.what()};
  }
}

namespace {

/// The path of the first string or key of `j` holding U+0000, or nothing.
std::optional<std::string> nulPath(const json& j, const std::string& path) {
  const auto holdsNul = [](const std::string& s) { return s.find('\0') != std::string::npos; };
  if (j.is_string()) return holdsNul(j.get_ref<const std::string&>()) ? std::optional(path) : std::nullopt;
  if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) {
      if (auto p = nulPath(j[i], index(path, i))) return p;
    }
  } else if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      std::string name = key;  // a key holding U+0000 is named with the escape
      for (std::size_t p = name.find('\0'); p != std::string::npos; p = name.find('\0', p)) name.replace(p, 1, "\\u0000");
      const std::string at = path.empty() ? name : path + "." + name;
      if (holdsNul(key)) return at;
      if (auto p = nulPath(value, at)) return p;
    }
  }
  return std::nullopt;
}

}  // namespace

Status refuseNulCharacters(const json& j, const std::string& path) {
  auto at = nulPath(j, path);
  if (!at) return Ok{};
  // The keys are the sender's: a long path is cut (at a character's start), so that the answer
  // stays within what a terminal reads of a reason (1024 bytes).
  constexpr std::size_t kMaxPath = 200;
  if (at->size() > kMaxPath) {
    std::size_t cut = kMaxPath;
    while (cut > 0 && (static_cast<unsigned char>((*at)[cut]) & 0xC0) == 0x80) --cut;
    *at = at->substr(0, cut) + "...";
  }
  const std::string name = at->empty() ? std::string("the body") : *at;
  return Error{errc::kBadRequest, *at, name + " holds the character U+0000, which head office cannot store"};
}

Result<json> parseRequestJson(std::string_view body, std::size_t maxBytes) {
  auto parsed = parseJson(body, maxBytes);
  // U+0000 reaches a string only as the escape \u0000 (JSON refuses the raw byte).
  if (parsed && body.find("\\u0000") != std::string_view::npos) {
    if (auto nul = refuseNulCharacters(*parsed, ""); !nul) return nul.error();
  }
  return parsed;
}

namespace {

/// `take`: `j` itself, writable, to move the payloads out of.
Result<UploadRequest> readUploadRequest(const json& j, json* take) {
  return guarded([&] {
    const Obj o(j, "");
    UploadRequest r;
    r.terminalId = o.id("terminal_id");
    const json& events = o.array("events");
    r.events.reserve(events.size());
    for (std::size_t i = 0; i < events.size(); ++i) {
      r.events.push_back(readEnvelope(events[i], index("events", i), take ? &(*take)["events"][i] : nullptr));
    }
    return r;
  });
}

}  // namespace

Result<UploadRequest> decodeUploadRequest(const json& j) { return readUploadRequest(j, nullptr); }

Result<UploadRequest> takeUploadRequest(json&& j) { return readUploadRequest(j, &j); }

Result<UploadResponse> decodeUploadResponse(const json& j) {
  return guarded([&] {
    const Obj o(j, "");
    UploadResponse r;
    r.ackedThrough = o.integer("acked_through", 0);
    const json& results = o.array("results");
    for (std::size_t i = 0; i < results.size(); ++i) {
      const Obj e(results[i], index("results", i));
      EventResult er;
      er.eventId = e.id("event_id");
      const std::string s = e.text("status", 32);
      if (s == "applied") er.status = EventStatus::kApplied;
      else if (s == "duplicate") er.status = EventStatus::kDuplicate;
      else if (s == "conflict") er.status = EventStatus::kConflict;
      else if (s == "rejected") er.status = EventStatus::kRejected;
      else throw FieldError{e.at("status"), e.at("status") + " must be applied, duplicate, conflict or rejected"};
      er.reason = e.optText("reason", 1024);
      r.results.push_back(std::move(er));
    }
    return r;
  });
}

Result<Change> decodeChange(const json& j) {
  return guarded([&] { return readChange(j, ""); });
}

Result<ChangePage> decodeChangePage(const json& j) {
  return guarded([&] {
    const Obj o(j, "");
    ChangePage p;
    const json& changes = o.array("changes");
    for (std::size_t i = 0; i < changes.size(); ++i) p.changes.push_back(readChange(changes[i], index("changes", i)));
    p.nextCursor = o.text("next_cursor", 256, true);
    p.hasMore = o.boolean("has_more");
    p.appliedThrough = o.find("applied_through") ? o.integer("applied_through", 0) : 0;
    return p;
  });
}

Result<RedemptionRequest> decodeRedemptionRequest(const json& j) {
  return guarded([&] {
    const Obj o(j, "");
    RedemptionRequest r{o.id("redemption_id"), o.id("member_id"), o.integer("points", 1, kMaxPoints), std::nullopt};
    if (o.find("after_seq")) r.afterSeq = o.integer("after_seq", 0, std::numeric_limits<std::int64_t>::max() - 1);
    return r;
  });
}

Result<RedemptionResponse> decodeRedemptionResponse(const json& j) {
  return guarded([&] {
    const Obj o(j, "");
    return RedemptionResponse{o.id("redemption_id"), o.text("status", 32), o.integer("balance")};
  });
}

Result<RegisterRequest> decodeRegisterRequest(const json& j) {
  return guarded([&] {
    const Obj o(j, "");
    return RegisterRequest{o.id("code")};
  });
}

Result<RegisterResponse> decodeRegisterResponse(const json& j) {
  return guarded([&] {
    const Obj o(j, "");
    return RegisterResponse{o.id("store_id"), o.id("terminal_id"), o.text("timezone", 64), o.text("token", 256),
                            o.timestamp("server_time")};
  });
}

Result<MergeRequest> decodeMergeRequest(const json& j) {
  return guarded([&] {
    const Obj o(j, "");
    MergeRequest m{o.id("from"), o.id("into")};
    if (m.from == m.into) throw FieldError{"into", "into must name a different member than from"};
    return m;
  });
}

Result<Problem> decodeProblem(const json& j) {
  return guarded([&] {
    const Obj o(j, "");
    Problem p;
    p.type = o.text("type", 1024);
    p.title = o.optText("title", 1024).value_or("");
    p.status = static_cast<int>(o.integer("status", 100, 599));
    p.detail = o.optText("detail", 65536).value_or("");
    return p;
  });
}

// [SECTION] Payload decoders

Result<MemberEnrolled> decodeMemberEnrolled(const json& j, std::string_view path) {
  return guarded([&] {
    const Obj o(j, std::string(path));
    MemberEnrolled m;
    m.origin = origin(o);
    m.memberId = o.id("member_id");
    m.cardNo = o.text("card_no", 64);
    m.phone = o.phone("phone");
    m.name = o.text("name", 256);
    m.birthday = o.optDate("birthday");
    m.language = o.optText("language", 16);
    m.consentMarketing = o.boolean("consent_marketing");
    m.consentVersion = o.optText("consent_version", 64);
    m.referrerId = o.optId("referrer_id");
    m.staffId = o.optId("staff_id");
    return m;
  });
}

Result<MemberUpdated> decodeMemberUpdated(const json& j, std::string_view path) {
  return guarded([&] {
    const Obj o(j, std::string(path));
    MemberUpdated m;
    m.origin = origin(o);
    m.memberId = o.id("member_id");
    m.staffId = o.optId("staff_id");
    if (o.find("card_no")) m.cardNo = o.text("card_no", 64);
    m.phone = o.optPhone("phone");
    if (o.find("name")) m.name = o.text("name", 256);
    if (o.has("birthday")) m.birthday = o.optDate("birthday");
    if (o.find("language")) m.language = o.text("language", 16);
    m.consentMarketing = o.optBoolean("consent_marketing");
    if (o.find("consent_version")) m.consentVersion = o.text("consent_version", 64);
    if (m.consentMarketing && !m.consentVersion) {
      throw FieldError{o.at("consent_version"), o.at("consent_version") + " is required with consent_marketing (the consent text's version)"};
    }
    if (m.consentVersion && !m.consentMarketing) {
      throw FieldError{o.at("consent_marketing"), o.at("consent_version") + " is sent only with consent_marketing"};
    }
    if (m.changedFields().empty()) {
      throw FieldError{o.at("member_id"), o.path() + " changes nothing: give name, phone, birthday, language, card_no or consent_marketing"};
    }
    return m;
  });
}

Result<SaleRecorded> decodeSaleRecorded(const json& j, std::string_view path) {
  return guarded([&] {
    const Obj o(j, std::string(path));
    SaleRecorded s;
    s.origin = origin(o);
    s.saleId = o.id("sale_id");
    s.memberId = o.optId("member_id");
    const json& lines = o.array("lines");
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const Obj l(lines[i], index(o.at("lines"), i));
      SaleLine line;
      line.sku = l.text("sku", 64);
      line.description = l.optText("description", 1024);
      line.qty = l.integer("qty");
      line.unitPrice = l.text("unit_price", 32);
      if (auto p = UnitPrice::parse(line.unitPrice, l.at("unit_price")); !p) {
        throw FieldError{l.at("unit_price"), p.error().message};
      }
      line.amount = l.money("amount");
      line.category = l.optText("category", 128);
      if (l.find("discount")) line.discount = l.money("discount");
      line.gift = l.optBoolean("gift").value_or(false);
      s.lines.push_back(std::move(line));
    }
    s.subtotal = o.money("subtotal");
    s.discount = o.money("discount");
    s.total = o.money("total");
    s.pointsEarned = o.integer("points_earned", -kMaxPoints, kMaxPoints);
    s.pointsRedeemed = o.integer("points_redeemed", 0, kMaxPoints);
    if (const json* p = o.find("promotions")) {
      if (!p->is_array()) throw FieldError{o.at("promotions"), o.at("promotions") + " must be an array"};
      s.promotions = *p;
    }
    s.redeemAuthorised = o.optText("redeem_authorised", 16);
    s.staffId = o.optId("staff_id");
    s.tier = o.optText("tier", 256);
    return s;
  });
}

Result<PointsRedeemed> decodePointsRedeemed(const json& j, std::string_view path) {
  return guarded([&] {
    const Obj o(j, std::string(path));
    PointsRedeemed r;
    r.origin = origin(o);
    r.redemptionId = o.id("redemption_id");
    r.memberId = o.id("member_id");
    r.points = o.integer("points", 1, kMaxPoints);
    r.rewardId = o.optId("reward_id");
    r.authorised = o.optText("authorised", 16);
    if (r.authorised && *r.authorised != "online" && *r.authorised != "offline" && *r.authorised != "local") {
      throw FieldError{o.at("authorised"), o.at("authorised") + " must be online, offline or local"};
    }
    r.staffId = o.optId("staff_id");
    return r;
  });
}

Result<SaleRefunded> decodeSaleRefunded(const json& j, std::string_view path) {
  return guarded([&] {
    const Obj o(j, std::string(path));
    SaleRefunded r;
    r.origin = origin(o);
    r.refundId = o.id("refund_id");
    r.saleId = o.id("sale_id");
    r.memberId = o.optId("member_id");
    const json& lines = o.array("lines");
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const Obj l(lines[i], index(o.at("lines"), i));
      r.lines.push_back({l.integer("line_no", 1), l.text("sku", 64), l.integer("qty")});
    }
    r.amount = o.money("amount");
    r.pointsReversed = o.integer("points_reversed", -kMaxPoints, kMaxPoints);
    r.pointsReturned = o.integer("points_returned", 0, kMaxPoints);
    r.staffId = o.optId("staff_id");
    return r;
  });
}

Result<PointsAdjusted> decodePointsAdjusted(const json& j, std::string_view path) {
  return guarded([&] {
    const Obj o(j, std::string(path));
    PointsAdjusted a;
    a.origin = origin(o);
    a.memberId = o.id("member_id");
    a.kind = o.text("kind", 16);
    if (a.kind != "bonus" && a.kind != "expire" && a.kind != "adjust") {
      throw FieldError{o.at("kind"), o.at("kind") + " must be bonus, expire or adjust"};
    }
    a.points = o.integer("points", -kMaxAdjustPoints, kMaxAdjustPoints);
    a.refId = o.id("ref_id");
    a.reason = o.text("reason", 1024, true);
    a.referredMemberId = o.optId("referred_member_id");
    return a;
  });
}

Result<RedemptionReleased> decodeRedemptionReleased(const json& j, std::string_view path) {
  return guarded([&] {
    const Obj o(j, std::string(path));
    RedemptionReleased r;
    r.origin = origin(o);
    r.redemptionId = o.id("redemption_id");
    r.memberId = o.id("member_id");
    r.points = o.integer("points", 1, kMaxPoints);
    r.reason = o.text("reason", 256, true);
    return r;
  });
}

Result<SurveyAnswered> decodeSurveyAnswered(const json& j, std::string_view path) {
  return guarded([&] {
    const Obj o(j, std::string(path));
    SurveyAnswered s;
    s.origin = origin(o);
    s.surveyId = o.id("survey_id");
    s.saleId = o.optId("sale_id");
    s.memberId = o.optId("member_id");
    s.scale = o.text("scale", 16);
    if (s.scale == "csat5") s.score = o.integer("score", 1, 5);
    else if (s.scale == "nps10") s.score = o.integer("score", 0, 10);
    else throw FieldError{o.at("scale"), o.at("scale") + " must be csat5 or nps10"};
    s.staffId = o.optId("staff_id");
    if (const json* d = o.find("dimensions")) {
      const std::string at = o.at("dimensions");
      if (!d->is_object()) throw FieldError{at, at + " must be an object {\"dimension\": score 1-5, ...}"};
      if (d->size() > kMaxSurveyDimensions) {
        throw FieldError{at, at + " has more than " + std::to_string(kMaxSurveyDimensions) + " dimensions"};
      }
      const Obj dims(*d, at);
      for (auto it = d->begin(); it != d->end(); ++it) {
        const std::string& name = it.key();
        if (name.empty() || name.size() > 64 || hasControlChars(name)) {
          throw FieldError{at, at + " names a dimension that is not 1 to 64 printable bytes"};
        }
        s.dimensions[name] = dims.integer(name, 1, 5);
      }
    }
    return s;
  });
}

Result<ComplaintFiled> decodeComplaintFiled(const json& j, std::string_view path) {
  return guarded([&] {
    const Obj o(j, std::string(path));
    ComplaintFiled c;
    c.origin = origin(o);
    c.complaintId = o.id("complaint_id");
    c.memberId = o.optId("member_id");
    c.category = o.text("category", 128);
    c.description = o.text("description", 65536, true);
    c.staffId = o.optId("staff_id");
    return c;
  });
}

Result<std::optional<PointsEffect>> decodePointsEffect(std::string_view type, const json& j, std::string_view path) {
  return guarded([&]() -> std::optional<PointsEffect> {
    const Obj o(j, std::string(path));
    const std::optional<std::string> member = o.optId("member_id");
    if (!member) return std::nullopt;
    if (type == kSaleRecorded) {
      return PointsEffect{*member, o.integer("points_earned", -kMaxPoints, kMaxPoints) -
                                       o.integer("points_redeemed", 0, kMaxPoints)};
    }
    if (type == kPointsRedeemed) return PointsEffect{*member, -o.integer("points", 1, kMaxPoints)};
    if (type == kSaleRefunded) {
      return PointsEffect{*member, -o.integer("points_reversed", -kMaxPoints, kMaxPoints) +
                                       o.integer("points_returned", 0, kMaxPoints)};
    }
    if (type == kPointsAdjusted) return PointsEffect{*member, o.integer("points", -kMaxAdjustPoints, kMaxAdjustPoints)};
    return std::nullopt;
  });
}

// [SECTION] Encoders

json toJson(const EventEnvelope& v) {
  return {{"event_id", v.eventId}, {"seq", v.seq}, {"type", v.type}, {"at", v.at}, {"payload", v.payload}};
}

json toJson(const UploadRequest& v) {
  json events = json::array();
  for (const auto& e : v.events) events.push_back(toJson(e));
  return {{"terminal_id", v.terminalId}, {"events", std::move(events)}};
}

json toJson(const EventResult& v) {
  json j = {{"event_id", v.eventId}, {"status", toString(v.status)}};
  putOpt(j, "reason", v.reason);
  return j;
}

json toJson(const UploadResponse& v) {
  json results = json::array();
  for (const auto& r : v.results) results.push_back(toJson(r));
  return {{"acked_through", v.ackedThrough}, {"results", std::move(results)}};
}

json toJson(const MemberSnapshot& v) {
  json j = {{"member_id", v.memberId},
            {"card_no", v.cardNo},
            {"phone", v.phone},
            {"name", v.name},
            {"consent_marketing", v.consentMarketing},
            {"enrolled_at", v.enrolledAt},
            {"enrolled_store", v.enrolledStore},
            {"lifetime_spend", v.lifetimeSpend}};
  putOpt(j, "birthday", v.birthday);
  putOpt(j, "language", v.language);
  putOpt(j, "referrer_id", v.referrerId);
  return j;
}

json toJson(const Change& v) {
  struct Visitor {
    json operator()(const MemberChange& c) const {
      return {{"type", "member"}, {"member", toJson(c.member)}, {"balance", c.balance},
              {"points_debt", c.pointsDebt}, {"tier", c.tier}};
    }
    json operator()(const MemberMergedChange& c) const {
      return {{"type", "member.merged"}, {"from", c.from}, {"into", c.into}};
    }
    json operator()(const MemberErasedChange& c) const { return {{"type", "member.erased"}, {"member_id", c.memberId}}; }
    json operator()(const CatalogChange& c) const {
      json rewards = json::array();
      for (const auto& r : c.rewards) {
        rewards.push_back({{"reward_id", r.rewardId}, {"name", r.name}, {"points", r.points}, {"active", r.active}});
      }
      return {{"type", "catalog"}, {"rewards", std::move(rewards)}};
    }
    json operator()(const ProductChange& c) const {
      json j = {{"type", "product"}, {"sku", c.product.sku}, {"name", c.product.name},
                {"price", c.product.price.toString()}};
      putOpt(j, "barcode", c.product.barcode);
      putOpt(j, "category", c.product.category);
      return j;
    }
    json operator()(const ConfigChange& c) const {
      return {{"type", "config"}, {"version", c.version}, {"toml", c.toml}};
    }
    json operator()(const UnknownChange& c) const { return c.raw; }
  };
  return std::visit(Visitor{}, v);
}

json toJson(const ChangePage& v) {
  json changes = json::array();
  for (const auto& c : v.changes) changes.push_back(toJson(c));
  return {{"changes", std::move(changes)}, {"next_cursor", v.nextCursor}, {"has_more", v.hasMore},
          {"applied_through", v.appliedThrough}};
}

json toJson(const RedemptionRequest& v) {
  json j = {{"redemption_id", v.redemptionId}, {"member_id", v.memberId}, {"points", v.points}};
  if (v.afterSeq) j["after_seq"] = *v.afterSeq;
  return j;
}

json toJson(const RedemptionResponse& v) {
  return {{"redemption_id", v.redemptionId}, {"status", v.status}, {"balance", v.balance}};
}

json toJson(const RegisterRequest& v) { return {{"code", v.code}}; }

json toJson(const RegisterResponse& v) {
  return {{"store_id", v.storeId}, {"terminal_id", v.terminalId}, {"timezone", v.timezone},
          {"token", v.token}, {"server_time", v.serverTime}};
}

json toJson(const MergeRequest& v) { return {{"from", v.from}, {"into", v.into}}; }

json toJson(const Problem& v) {
  return {{"type", v.type}, {"title", v.title}, {"status", v.status}, {"detail", v.detail}};
}

json toJson(const MemberEnrolled& v) {
  json j = {{"member_id", v.memberId}, {"card_no", v.cardNo}, {"phone", v.phone}, {"name", v.name},
            {"consent_marketing", v.consentMarketing}};
  putNullable(j, "birthday", v.birthday);
  putNullable(j, "language", v.language);
  putNullable(j, "consent_version", v.consentVersion);
  putNullable(j, "referrer_id", v.referrerId);
  putOpt(j, "staff_id", v.staffId);
  putOrigin(j, v.origin);
  return j;
}

json toJson(const MemberUpdated& v) {
  json j = {{"member_id", v.memberId}};
  putOpt(j, "staff_id", v.staffId);
  putOpt(j, "card_no", v.cardNo);
  putOpt(j, "phone", v.phone);
  putOpt(j, "name", v.name);
  if (v.birthday) j["birthday"] = *v.birthday ? json(**v.birthday) : json(nullptr);
  putOpt(j, "language", v.language);
  if (v.consentMarketing) j["consent_marketing"] = *v.consentMarketing;
  putOpt(j, "consent_version", v.consentVersion);
  putOrigin(j, v.origin);
  return j;
}

std::vector<std::string> MemberUpdated::changedFields() const {
  std::vector<std::string> out;
  if (birthday) out.emplace_back("birthday");
  if (cardNo) out.emplace_back("card_no");
  if (consentMarketing) out.emplace_back("consent_marketing");
  if (language) out.emplace_back("language");
  if (name) out.emplace_back("name");
  if (phone) out.emplace_back("phone");
  return out;
}

namespace {

/// Appends `text` as a JSON string exactly as json::dump() writes it: UTF-8 kept as it is,
/// '"' and '\\' escaped, control characters as \b \f \n \r \t or \u00xx. The caller has
/// checked that it is valid UTF-8 (dump() throws on anything else).
void appendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (byte < 0x20) {
          out += "\\u00";
          out += kHex[byte >> 4];
          out += kHex[byte & 0xF];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

/// `"key":` then the value, with a comma before every member but an object's first.
class ObjectText {
 public:
  explicit ObjectText(std::string& out) : m_out(out) { m_out += '{'; }
  ObjectText(const ObjectText&) = delete;
  ObjectText& operator=(const ObjectText&) = delete;
  ~ObjectText() { m_out += '}'; }

  std::string& key(const char* name) {
    if (!m_first) m_out += ',';
    m_first = false;
    m_out += '"';
    m_out += name;
    m_out += "\":";
    return m_out;
  }
  void text(const char* name, std::string_view value) { appendJsonString(key(name), value); }
  void number(const char* name, std::int64_t value) { key(name) += std::to_string(value); }
  void optText(const char* name, const std::optional<std::string>& value) {
    if (value) text(name, *value);
  }
  void nullableText(const char* name, const std::optional<std::string>& value) {
    if (value) {
      text(name, *value);
    } else {
      key(name) += "null";
    }
  }

 private:
  std::string& m_out;
  bool m_first = true;
};

bool allValidUtf8(const SaleRecorded& v) {
  const auto ok = [](const std::optional<std::string>& s) { return !s || isValidUtf8(*s); };
  if (!isValidUtf8(v.saleId) || !ok(v.memberId) || !ok(v.redeemAuthorised) || !ok(v.staffId) || !ok(v.tier) ||
      !isValidUtf8(v.origin.storeId) || !isValidUtf8(v.origin.terminalId)) {
    return false;
  }
  return std::all_of(v.lines.begin(), v.lines.end(), [&ok](const SaleLine& l) {
    return isValidUtf8(l.sku) && isValidUtf8(l.unitPrice) && ok(l.description) && ok(l.category);
  });
}

}  // namespace

// The one description of a sale.recorded payload's fields: toJson parses this text.
std::string dumpSaleRecorded(const SaleRecorded& v) {
  if (!allValidUtf8(v)) {  // refused as json::dump() refuses it
    throw json::type_error::create(316, "invalid UTF-8 in a sale.recorded event", nullptr);
  }
  std::string out;
  out.reserve(256 + 160 * v.lines.size());
  {
    // Members in the order json's std::map keeps them: by key.
    ObjectText j(out);
    j.text("discount", v.discount.toString());
    j.key("lines") += '[';
    for (std::size_t i = 0; i < v.lines.size(); ++i) {
      const SaleLine& l = v.lines[i];
      if (i > 0) out += ',';
      ObjectText line(out);
      line.text("amount", l.amount.toString());
      line.optText("category", l.category);
      line.nullableText("description", l.description);
      if (l.discount) line.text("discount", l.discount->toString());
      if (l.gift) line.key("gift") += "true";
      line.number("qty", l.qty);
      line.text("sku", l.sku);
      line.text("unit_price", l.unitPrice);
    }
    out += ']';
    j.nullableText("member_id", v.memberId);
    j.number("points_earned", v.pointsEarned);
    j.number("points_redeemed", v.pointsRedeemed);
    if (!v.promotions.empty()) j.key("promotions") += v.promotions.dump();
    j.optText("redeem_authorised", v.redeemAuthorised);
    j.text("sale_id", v.saleId);
    j.optText("staff_id", v.staffId);
    j.text("store_id", v.origin.storeId);
    j.text("subtotal", v.subtotal.toString());
    j.text("terminal_id", v.origin.terminalId);
    j.optText("tier", v.tier);
    j.text("total", v.total.toString());
  }
  return out;
}

json toJson(const SaleRecorded& v) { return json::parse(dumpSaleRecorded(v)); }

json toJson(const RedemptionReleased& v) {
  json j = {{"redemption_id", v.redemptionId}, {"member_id", v.memberId}, {"points", v.points}, {"reason", v.reason}};
  putOrigin(j, v.origin);
  return j;
}

json toJson(const PointsRedeemed& v) {
  json j = {{"redemption_id", v.redemptionId}, {"member_id", v.memberId}, {"points", v.points}};
  putNullable(j, "reward_id", v.rewardId);
  putOpt(j, "authorised", v.authorised);
  putOpt(j, "staff_id", v.staffId);
  putOrigin(j, v.origin);
  return j;
}

json toJson(const SaleRefunded& v) {
  json lines = json::array();
  for (const auto& l : v.lines) lines.push_back({{"line_no", l.lineNo}, {"sku", l.sku}, {"qty", l.qty}});
  json j = {{"refund_id", v.refundId},
            {"sale_id", v.saleId},
            {"lines", std::move(lines)},
            {"amount", v.amount.toString()},
            {"points_reversed", v.pointsReversed},
            {"points_returned", v.pointsReturned}};
  putNullable(j, "member_id", v.memberId);
  putOpt(j, "staff_id", v.staffId);
  putOrigin(j, v.origin);
  return j;
}

json toJson(const PointsAdjusted& v) {
  json j = {{"member_id", v.memberId}, {"kind", v.kind}, {"points", v.points}, {"ref_id", v.refId},
            {"reason", v.reason}};
  putOpt(j, "referred_member_id", v.referredMemberId);
  putOrigin(j, v.origin);
  return j;
}

std::string dumpJson(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace loyalty::sync
