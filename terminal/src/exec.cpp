#include "loyalty/terminal/exec.hpp"

#include <exception>
#include <initializer_list>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "loyalty/db/database.hpp"
#include "loyalty/sync/codec.hpp"
#include "loyalty/terminal/json_codec.hpp"

namespace loyalty::terminal {
namespace {

using nlohmann::json;

/// Longest request line; a sale of thousands of lines fits many times over.
constexpr std::size_t kMaxLineBytes = 1024 * 1024;

/// Reads up to the next newline, keeping at most `max` bytes of it (the rest of a longer line
/// is skipped, so the next request starts on the next line). False at end of input.
bool readBoundedLine(std::istream& in, std::string& line, std::size_t max, bool& tooLong) {
  line.clear();
  tooLong = false;
  std::streambuf* buf = in.rdbuf();
  for (;;) {
    const int c = buf->sbumpc();
    if (c == std::char_traits<char>::eof()) {
      in.setstate(std::ios::eofbit);
      return !line.empty() || tooLong;
    }
    if (c == '\n') return true;
    if (line.size() < max) line.push_back(static_cast<char>(c));
    else tooLong = true;
  }
}

/// Reads typed arguments out of a request object, naming the field in every refusal. The one
/// reader of every op's arguments, nested lists of objects included.
class Args {
 public:
  /// `prefix` names where the object sits in the request ("lines[2]."), for error fields.
  explicit Args(const json& request, std::string prefix = "") : m_request(request), m_prefix(std::move(prefix)) {}

  /// Refuses arguments the operation does not know (typos must not be silently ignored).
  Status onlyKnown(std::initializer_list<const char*> known) const {
    std::set<std::string> allowed(known.begin(), known.end());
    if (m_prefix.empty()) allowed.insert({"id", "op", "at"});  // the envelope, at top level only
    for (const auto& [key, value] : m_request.items()) {
      if (!allowed.contains(key)) return invalidArgument(m_prefix + key, "unknown argument \"" + key + "\"");
    }
    return Ok{};
  }

  Result<std::string> string(const std::string& key) const {
    auto v = optString(key);
    if (!v) return v.error();
    if (!*v) return invalidArgument(m_prefix + key, key + " is required");
    return **v;
  }

  Result<std::optional<std::string>> optString(const std::string& key) const {
    const auto it = m_request.find(key);
    if (it == m_request.end() || it->is_null()) return std::optional<std::string>{};
    if (!it->is_string()) {
      return invalidArgument(m_prefix + key, key + " must be a string" +
                                      (it->is_number() ? std::string(" (money is written \"12.50\")") : ""));
    }
    return std::optional(it->get<std::string>());
  }

  /// Absent: nullopt; JSON null: an empty inner optional (a value to clear); else the string.
  Result<std::optional<std::optional<std::string>>> nullableString(const std::string& key) const {
    using Out = std::optional<std::optional<std::string>>;
    const auto it = m_request.find(key);
    if (it == m_request.end()) return Out{};
    if (it->is_null()) return Out{std::optional<std::string>{}};
    if (!it->is_string()) return invalidArgument(m_prefix + key, key + " must be a string or null");
    return Out{it->get<std::string>()};
  }

  Result<std::int64_t> integer(const std::string& key) const {
    auto v = optInteger(key);
    if (!v) return v.error();
    if (!*v) return invalidArgument(m_prefix + key, key + " is required");
    return **v;
  }

  Result<std::optional<std::int64_t>> optInteger(const std::string& key) const {
    const auto it = m_request.find(key);
    if (it == m_request.end() || it->is_null()) return std::optional<std::int64_t>{};
    if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      return invalidArgument(m_prefix + key, key + " is too large");
    }
    if (!it->is_number_integer()) return invalidArgument(m_prefix + key, key + " must be a whole number");
    return std::optional(it->get<std::int64_t>());
  }

  /// As optInteger, refusing a number outside [min, max] with "KEY is between MIN and MAX".
  Result<std::optional<std::int64_t>> optInteger(const std::string& key, std::int64_t min, std::int64_t max) const {
    auto v = optInteger(key);
    if (v && *v && (**v < min || **v > max)) {
      return invalidArgument(m_prefix + key, key + " is between " + std::to_string(min) + " and " + std::to_string(max));
    }
    return v;
  }

  Result<bool> boolean(const std::string& key) const {
    const auto it = m_request.find(key);
    if (it == m_request.end() || it->is_null()) {
      return invalidArgument(m_prefix + key, key + " is required (true or false)");
    }
    if (!it->is_boolean()) return invalidArgument(m_prefix + key, key + " must be true or false");
    return it->get<bool>();
  }

  /// The optional object under `key` whose values are whole numbers in [min, max]
  /// ({"courtesy": 5, ...}); absent or null: empty. A value is named "key.name" in refusals.
  Result<std::map<std::string, std::int64_t>> integersByName(const std::string& key, std::int64_t min,
                                                             std::int64_t max) const {
    std::map<std::string, std::int64_t> out;
    const auto it = m_request.find(key);
    if (it == m_request.end() || it->is_null()) return out;
    if (!it->is_object()) return invalidArgument(m_prefix + key, key + " must be an object {\"name\": number, ...}");
    const Args inner(*it, m_prefix + key + ".");
    for (const auto& item : it->items()) {
      const auto value = inner.integer(item.key());
      if (!value) return value.error();
      if (*value < min || *value > max) {
        return invalidArgument(inner.field(item.key()), item.key() + " is between " + std::to_string(min) + " and " +
                                                            std::to_string(max));
      }
      out.emplace(item.key(), *value);
    }
    return out;
  }

  /// The wire name of `key` in refusals ("lines[2].unit_price").
  std::string field(const std::string& key) const { return m_prefix + key; }

  /// Whether `key` is given (not absent, not null).
  bool has(const std::string& key) const {
    const auto it = m_request.find(key);
    return it != m_request.end() && !it->is_null();
  }

  /// Reads each object of the required list under `key` with `read(const Args&)`, in order,
  /// stopping at the first refusal; an element's fields are named "lines[2].sku". `shape` says
  /// what an element holds, for refusals: "{sku, qty}".
  template <class Read>
  Status eachObject(const std::string& key, const std::string& shape, Read&& read) const {
    const auto it = m_request.find(key);
    const std::string field = m_prefix + key;
    if (it == m_request.end() || it->is_null()) return invalidArgument(field, key + " is required");
    if (!it->is_array()) return invalidArgument(field, key + " must be a list of " + shape);
    for (std::size_t i = 0; i < it->size(); ++i) {
      const std::string element = field + "[" + std::to_string(i) + "]";
      if (!(*it)[i].is_object()) return invalidArgument(element, element + " must be an object " + shape);
      if (Status s = read(Args((*it)[i], element + ".")); !s) return s;
    }
    return Ok{};
  }

 private:
  const json& m_request;
  std::string m_prefix;
};

/// One response line. Invalid UTF-8 (a parse error may quote the bad bytes) becomes U+FFFD
/// rather than an exception: every request gets its answer.
std::string dumpLine(const json& response) {
  return response.dump(-1, ' ', false, json::error_handler_t::replace);
}

json errorJson(const Error& e) {
  json err = {{"code", e.code}, {"message", e.message}};
  if (!e.field.empty()) err["field"] = e.field;
  return err;
}

/// Unwraps a Result inside an op handler, returning its error from the handler.
#define LOYALTY_TRY(var, expr)            \
  auto var##_result = (expr);             \
  if (!var##_result) return var##_result.error(); \
  auto var = std::move(var##_result).value()

Result<json> opEnroll(CounterService& s, const Args& a, Timestamp at) {
  if (auto k = a.onlyKnown({"phone", "name", "birthday", "consent_marketing", "referrer", "card_no", "language",
                             "staff_id"});
      !k) {
    return k.error();
  }
  EnrollRequest r;
  LOYALTY_TRY(phone, a.string("phone"));
  LOYALTY_TRY(name, a.string("name"));
  LOYALTY_TRY(birthday, a.optString("birthday"));
  LOYALTY_TRY(consent, a.boolean("consent_marketing"));
  LOYALTY_TRY(referrer, a.optString("referrer"));
  LOYALTY_TRY(card, a.optString("card_no"));
  LOYALTY_TRY(language, a.optString("language"));
  LOYALTY_TRY(staffId, a.optString("staff_id"));
  r.phone = phone, r.name = name, r.birthday = birthday, r.consentMarketing = consent;
  r.referrer = referrer, r.cardNo = card, r.language = language, r.staffId = staffId, r.at = at;
  LOYALTY_TRY(member, s.enroll(r));
  return json(member);
}

Result<json> opLookup(CounterService& s, const Args& a) {
  if (auto k = a.onlyKnown({"query", "limit"}); !k) return k.error();
  LOYALTY_TRY(query, a.string("query"));
  LOYALTY_TRY(limit, a.optInteger("limit", 1, 200));
  LOYALTY_TRY(matches, s.lookup({query, static_cast<int>(limit.value_or(20))}));
  return json{{"matches", matches}};
}

Result<json> opMember(CounterService& s, const Args& a, Timestamp at) {
  if (auto k = a.onlyKnown({"member"}); !k) return k.error();
  LOYALTY_TRY(ref, a.string("member"));
  LOYALTY_TRY(detail, s.member(ref, at));
  return json(detail);
}

Result<json> opMemberUpdate(CounterService& s, const Args& a, Timestamp at) {
  if (auto k = a.onlyKnown({"member", "name", "phone", "birthday", "language", "staff_id"}); !k) return k.error();
  MemberUpdateRequest r;
  LOYALTY_TRY(member, a.string("member"));
  LOYALTY_TRY(name, a.optString("name"));
  LOYALTY_TRY(phone, a.optString("phone"));
  LOYALTY_TRY(birthday, a.nullableString("birthday"));
  LOYALTY_TRY(language, a.optString("language"));
  LOYALTY_TRY(staffId, a.optString("staff_id"));
  r.member = member, r.name = name, r.phone = phone, r.birthday = birthday, r.language = language;
  r.staffId = staffId, r.at = at;
  LOYALTY_TRY(updated, s.updateMember(r));
  return json(updated);
}

Result<json> opConsent(CounterService& s, const Args& a, Timestamp at) {
  if (auto k = a.onlyKnown({"member", "consent_marketing", "consent_version", "staff_id"}); !k) return k.error();
  ConsentRequest r;
  LOYALTY_TRY(member, a.string("member"));
  LOYALTY_TRY(consent, a.boolean("consent_marketing"));
  LOYALTY_TRY(version, a.optString("consent_version"));
  LOYALTY_TRY(staffId, a.optString("staff_id"));
  r.member = member, r.consentMarketing = consent, r.consentVersion = version, r.staffId = staffId, r.at = at;
  LOYALTY_TRY(updated, s.consent(r));
  return json(updated);
}

Result<json> opExportMember(CounterService& s, const Args& a, Timestamp at) {
  if (auto k = a.onlyKnown({"member", "staff_id"}); !k) return k.error();
  LOYALTY_TRY(member, a.string("member"));
  LOYALTY_TRY(staffId, a.optString("staff_id"));
  LOYALTY_TRY(out, s.exportMember(member, staffId, at));
  return json(out);
}

/// A sale's lines read under `key` ({sku or barcode, qty, unit_price?, ...}).
Result<std::vector<SaleLineInput>> saleLines(const Args& a, const std::string& key) {
  std::vector<SaleLineInput> out;
  const Status lines = a.eachObject(key, "{sku or barcode, qty, unit_price?}", [&](const Args& la) -> Status {
    if (auto k = la.onlyKnown({"sku", "barcode", "description", "qty", "unit_price", "category"}); !k) return k.error();
    SaleLineInput in;
    // A catalogue product may be named by its barcode instead of its sku, and then costs the
    // catalogue's price unless unit_price is given.
    LOYALTY_TRY(barcode, la.optString("barcode"));
    LOYALTY_TRY(sku, la.optString("sku"));
    if (!sku && !barcode) return invalidArgument(la.field("sku"), "sku is required (or a catalogue product's barcode)");
    LOYALTY_TRY(desc, la.optString("description"));
    LOYALTY_TRY(price, la.optString("unit_price"));
    LOYALTY_TRY(qty, la.integer("qty"));
    LOYALTY_TRY(category, la.optString("category"));
    if (price && price->empty()) return invalidArgument(la.field("unit_price"), "unit_price is a decimal string such as \"12.50\"");
    in.sku = sku.value_or(""), in.barcode = barcode, in.description = desc, in.unitPrice = price.value_or("");
    in.qty = qty, in.category = category;
    out.push_back(std::move(in));
    return Ok{};
  });
  if (!lines) return lines.error();
  return out;
}

Result<json> opSale(CounterService& s, const Args& a, Timestamp at) {
  if (auto k = a.onlyKnown({"sale_id", "member", "lines", "redeem_points", "staff_id", "supervisor_pin"}); !k) {
    return k.error();
  }
  SaleRequest r;
  LOYALTY_TRY(saleId, a.string("sale_id"));
  LOYALTY_TRY(member, a.optString("member"));
  LOYALTY_TRY(redeem, a.optInteger("redeem_points"));
  LOYALTY_TRY(staffId, a.optString("staff_id"));
  LOYALTY_TRY(pin, a.optString("supervisor_pin"));
  r.saleId = saleId, r.member = member, r.redeemPoints = redeem.value_or(0), r.staffId = staffId, r.at = at;
  r.supervisorPin = pin;
  LOYALTY_TRY(lines, saleLines(a, "lines"));
  r.lines = std::move(lines);
  LOYALTY_TRY(result, s.sale(r));
  return json(result);
}

json productJson(const Product& p) {
  json j = {{"sku", p.sku}, {"name", p.name}, {"price", p.price.toString()}};
  if (p.barcode) j["barcode"] = *p.barcode;
  if (p.category) j["category"] = *p.category;
  return j;
}

Result<json> opProductPut(CounterService& s, const Args& a, Timestamp at) {
  if (auto k = a.onlyKnown({"sku", "name", "price", "barcode", "category"}); !k) return k.error();
  ProductRequest r;
  LOYALTY_TRY(sku, a.string("sku"));
  LOYALTY_TRY(name, a.string("name"));
  LOYALTY_TRY(price, a.string("price"));
  LOYALTY_TRY(barcode, a.optString("barcode"));
  LOYALTY_TRY(category, a.optString("category"));
  r.fields = {sku, name, price, barcode, category};
  r.at = at;
  LOYALTY_TRY(product, s.putProduct(r));
  return productJson(product);
}

Result<json> opProducts(CounterService& s, const Args& a) {
  if (auto k = a.onlyKnown({"query", "limit"}); !k) return k.error();
  LOYALTY_TRY(query, a.string("query"));
  LOYALTY_TRY(limit, a.optInteger("limit", 1, 200));
  LOYALTY_TRY(found, s.products(query, static_cast<int>(limit.value_or(20))));
  json list = json::array();
  for (const Product& p : found) list.push_back(productJson(p));
  return json{{"products", std::move(list)}};
}

Result<json> opRedeem(CounterService& s, const Args& a, Timestamp at) {
  if (auto k = a.onlyKnown({"redemption_id", "member", "points", "reward", "supervisor_pin", "staff_id"}); !k) {
    return k.error();
  }
  RedeemRequest r;
  LOYALTY_TRY(id, a.string("redemption_id"));
  LOYALTY_TRY(member, a.string("member"));
  LOYALTY_TRY(points, a.optInteger("points"));
  LOYALTY_TRY(reward, a.optString("reward"));
  LOYALTY_TRY(pin, a.optString("supervisor_pin"));
  LOYALTY_TRY(staffId, a.optString("staff_id"));
  r.redemptionId = id, r.member = member, r.points = points, r.reward = reward, r.supervisorPin = pin;
  r.staffId = staffId, r.at = at;
  LOYALTY_TRY(result, s.redeem(r));
  return json(result);
}

/// A refund's `lines` argument (absent: the whole sale) read under `key`.
Result<std::optional<std::vector<RefundLineInput>>> refundLines(const Args& a, const std::string& key) {
  std::optional<std::vector<RefundLineInput>> out;
  if (!a.has(key)) return out;
  out.emplace();
  const Status lines = a.eachObject(key, "{sku, qty}", [&](const Args& la) -> Status {
    if (auto k = la.onlyKnown({"sku", "qty"}); !k) return k.error();
    LOYALTY_TRY(sku, la.string("sku"));
    LOYALTY_TRY(qty, la.integer("qty"));
    out->push_back({sku, qty});
    return Ok{};
  });
  if (!lines) return lines.error();
  return out;
}

Result<json> opRefund(CounterService& s, const Args& a, Timestamp at) {
  if (auto k = a.onlyKnown({"refund_id", "sale_id", "lines", "staff_id", "supervisor_pin"}); !k) return k.error();
  RefundRequest r;
  LOYALTY_TRY(id, a.string("refund_id"));
  LOYALTY_TRY(saleId, a.string("sale_id"));
  LOYALTY_TRY(staffId, a.optString("staff_id"));
  LOYALTY_TRY(pin, a.optString("supervisor_pin"));
  LOYALTY_TRY(lines, refundLines(a, "lines"));  // without lines, the whole sale is refunded
  r.refundId = id, r.saleId = saleId, r.staffId = staffId, r.supervisorPin = pin, r.lines = lines, r.at = at;
  LOYALTY_TRY(result, s.refund(r));
  return json(result);
}

Result<json> opRefundPreview(CounterService& s, const Args& a, Timestamp at) {
  if (auto k = a.onlyKnown({"sale_id", "lines"}); !k) return k.error();
  RefundPreviewRequest r;
  LOYALTY_TRY(saleId, a.string("sale_id"));
  LOYALTY_TRY(lines, refundLines(a, "lines"));
  r.saleId = saleId, r.lines = lines, r.at = at;
  LOYALTY_TRY(preview, s.previewRefund(r));
  return json(preview);
}

Result<json> opExchange(CounterService& s, const Args& a, Timestamp at) {
  if (auto k = a.onlyKnown({"exchange_id", "sale_id", "return_lines", "new_lines", "supervisor_pin", "staff_id"}); !k) {
    return k.error();
  }
  ExchangeRequest r;
  LOYALTY_TRY(id, a.string("exchange_id"));
  LOYALTY_TRY(saleId, a.string("sale_id"));
  LOYALTY_TRY(pin, a.optString("supervisor_pin"));
  LOYALTY_TRY(staffId, a.optString("staff_id"));
  if (!a.has("return_lines")) return invalidArgument("return_lines", "return_lines is required: [{sku, qty}]");
  LOYALTY_TRY(returned, refundLines(a, "return_lines"));
  LOYALTY_TRY(newLines, saleLines(a, "new_lines"));
  r.exchangeId = id, r.saleId = saleId, r.returnLines = std::move(*returned), r.newLines = std::move(newLines);
  r.supervisorPin = pin, r.staffId = staffId, r.at = at;
  LOYALTY_TRY(result, s.exchange(r));
  return json(result);
}

Result<json> opHistory(CounterService& s, const Args& a) {
  if (auto k = a.onlyKnown({"member", "limit"}); !k) return k.error();
  LOYALTY_TRY(member, a.string("member"));
  LOYALTY_TRY(limit, a.optInteger("limit", 1, 1000));
  LOYALTY_TRY(entries, s.history(member, static_cast<int>(limit.value_or(20))));
  return json{{"entries", entries}};
}

Result<json> opRewardPut(CounterService& s, const Args& a) {
  if (auto k = a.onlyKnown({"reward_id", "name", "points"}); !k) return k.error();
  LOYALTY_TRY(id, a.string("reward_id"));
  LOYALTY_TRY(name, a.string("name"));
  LOYALTY_TRY(points, a.integer("points"));
  if (auto st = s.putReward(id, name, points); !st) return st.error();
  return json{{"reward_id", id}, {"name", name}, {"points", points}};
}

/// A member reference (id, card, phone) as the member op resolves it, for the feedback ops.
Result<std::optional<std::string>> optMemberId(CounterService& s, const Args& a, Timestamp at) {
  LOYALTY_TRY(member, a.optString("member"));
  if (!member) return std::optional<std::string>();
  LOYALTY_TRY(found, s.member(*member, at));
  return std::optional<std::string>(found.member.memberId);
}

Result<json> opSurvey(CounterService& s, FeedbackService& f, const Args& a, Timestamp at) {
  if (auto k = a.onlyKnown({"survey_id", "sale_id", "member", "scale", "score", "staff_id", "dimensions"}); !k) {
    return k.error();
  }
  SurveyAnswer r;
  LOYALTY_TRY(surveyId, a.string("survey_id"));
  LOYALTY_TRY(saleId, a.optString("sale_id"));
  LOYALTY_TRY(scale, a.string("scale"));
  LOYALTY_TRY(score, a.integer("score"));
  LOYALTY_TRY(staffId, a.optString("staff_id"));
  if (score < 0 || score > 10) return invalidArgument("score", "score is 1 to 5 (csat5) or 0 to 10 (nps10)");
  LOYALTY_TRY(dimensions, a.integersByName("dimensions", 1, 5));
  LOYALTY_TRY(memberId, optMemberId(s, a, at));
  r.surveyId = surveyId, r.saleId = saleId, r.memberId = memberId, r.scale = scale;
  r.score = static_cast<int>(score), r.staffId = staffId, r.at = at;
  for (const auto& [name, value] : dimensions) r.dimensions.emplace(name, static_cast<int>(value));
  if (auto st = f.recordSurvey(r); !st) return st.error();
  json out{{"survey_id", surveyId}, {"scale", scale}, {"score", score}};
  if (!dimensions.empty()) out["dimensions"] = dimensions;
  return out;
}

Result<json> opComplaint(CounterService& s, FeedbackService& f, const Args& a, Timestamp at) {
  if (auto k = a.onlyKnown({"complaint_id", "member", "category", "description", "staff_id"}); !k) return k.error();
  ComplaintInput c;
  LOYALTY_TRY(complaintId, a.string("complaint_id"));
  LOYALTY_TRY(category, a.string("category"));
  LOYALTY_TRY(description, a.string("description"));
  LOYALTY_TRY(staffId, a.optString("staff_id"));
  LOYALTY_TRY(memberId, optMemberId(s, a, at));
  c.complaintId = complaintId, c.memberId = memberId, c.category = category, c.description = description;
  c.staffId = staffId, c.at = at;
  if (auto st = f.fileComplaint(c); !st) return st.error();
  return json{{"complaint_id", complaintId}, {"category", category}};
}

#undef LOYALTY_TRY

}  // namespace

std::string ExecSession::handle(std::string_view line) {
  // Bounded in size and nesting before it is parsed (parsing and freeing JSON recurse).
  auto text = sync::parseJson(line, kMaxLineBytes);
  if (!text) return dumpLine({{"id", nullptr}, {"ok", false}, {"error", errorJson(text.error())}});
  json request = std::move(*text);
  if (!request.is_object()) {
    return dumpLine({{"id", nullptr}, {"ok", false},
                     {"error", errorJson({errc::kBadRequest, "", "a request is a JSON object {\"id\", \"op\", ...}"})}});
  }
  const json id = request.contains("id") ? request["id"] : json(nullptr);
  const auto respond = [&](const Result<json>& r) {
    json out = {{"id", id}, {"ok", r.hasValue()}};
    if (r) {
      out["result"] = r.value();
    } else {
      out["error"] = errorJson(r.error());
    }
    return dumpLine(out);
  };
  if (!request.contains("op") || !request["op"].is_string()) {
    return respond(Error{errc::kBadRequest, "op", "op is required: enroll, lookup, member, sale, redeem, refund, history, stats"});
  }
  const std::string op = request["op"].get<std::string>();
  const Args args(request);
  try {
    Timestamp at = m_clock();
    if (auto atText = args.optString("at"); !atText) {
      return respond(atText.error());
    } else if (*atText) {
      auto parsed = parseRfc3339(**atText, "at");
      if (!parsed) return respond(parsed.error());
      at = *parsed;
    }
    if (op == "enroll") return respond(opEnroll(m_service, args, at));
    if (op == "lookup") return respond(opLookup(m_service, args));
    if (op == "member") return respond(opMember(m_service, args, at));
    if (op == "member_update") return respond(opMemberUpdate(m_service, args, at));
    if (op == "consent") return respond(opConsent(m_service, args, at));
    if (op == "export_member") return respond(opExportMember(m_service, args, at));
    if (op == "sale") return respond(opSale(m_service, args, at));
    if (op == "redeem") return respond(opRedeem(m_service, args, at));
    if (op == "refund") return respond(opRefund(m_service, args, at));
    if (op == "refund_preview") return respond(opRefundPreview(m_service, args, at));
    if (op == "exchange") return respond(opExchange(m_service, args, at));
    if (op == "history") return respond(opHistory(m_service, args));
    if (op == "reward_put") return respond(opRewardPut(m_service, args));
    if (op == "product_put") return respond(opProductPut(m_service, args, at));
    if (op == "products") return respond(opProducts(m_service, args));
    if (op == "stats") {
      if (auto k = args.onlyKnown({}); !k) return respond(k.error());
      return respond(json(m_service.stats()));
    }
    if ((op == "survey" || op == "complaint") && m_feedback) {
      return respond(op == "survey" ? opSurvey(m_service, *m_feedback, args, at)
                                    : opComplaint(m_service, *m_feedback, args, at));
    }
    if (op == "housekeeping") {
      if (auto k = args.onlyKnown({}); !k) return respond(k.error());
      return respond(json(m_service.housekeeping(at)));
    }
    if (op == "verify") {
      if (auto k = args.onlyKnown({}); !k) return respond(k.error());
      return respond(json(m_service.verify()));
    }
    return respond(Error{errc::kBadRequest, "op", "unknown op \"" + op + "\""});
  } catch (const db::DbError& e) {
    // The operation's transaction has rolled back: nothing was written. A full or failing disk
    // says so itself (the same words the counter's screen shows).
    return respond(Error{errc::kInternal, "",
                         e.isStorageFailure() ? std::string(e.what())
                                              : std::string("internal error, nothing was changed: ") + e.what()});
  } catch (const std::exception& e) {
    // The operation's transaction has rolled back: nothing was written.
    return respond(Error{errc::kInternal, "", std::string("internal error, nothing was changed: ") + e.what()});
  }
}

void ExecSession::run(std::istream& in, std::ostream& out) {
  std::string line;
  bool tooLong = false;
  while (readBoundedLine(in, line, kMaxLineBytes, tooLong)) {
    if (!tooLong && line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string response;
    try {
      response = tooLong ? dumpLine({{"id", nullptr}, {"ok", false},
                                     {"error", errorJson({errc::kBadRequest, "", "a request line is at most " +
                                                                                    std::to_string(kMaxLineBytes) + " bytes"})}})
                         : handle(line);
    } catch (const std::exception& e) {
      // handle() answers every refusal itself; this is a bug or a broken environment, and the
      // next request still deserves an answer.
      response = dumpLine({{"id", nullptr}, {"ok", false},
                           {"error", errorJson({errc::kInternal, "", std::string("internal error: ") + e.what()})}});
    }
    out << response << '\n';
    out.flush();
  }
}

}  // namespace loyalty::terminal
