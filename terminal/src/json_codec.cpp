#include "loyalty/terminal/json_codec.hpp"

#include <algorithm>

namespace loyalty::terminal {
namespace {

Money moneyFrom(const nlohmann::json& j) {
  auto m = Money::parse(j.get<std::string>(), "stored result");
  if (!m) throw std::runtime_error("corrupt stored result: " + m.error().message);
  return *m;
}

template <class T>
void putOptional(nlohmann::json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}

}  // namespace

void to_json(nlohmann::json& j, const MemberView& m) {
  j = {{"member_id", m.memberId},
       {"card_no", m.cardNo},
       {"name", m.name},
       {"phone_masked", m.phoneMasked},
       {"tier", m.tier},
       {"points", m.points},
       {"points_debt", m.pointsDebt},
       {"lifetime_spend", m.lifetimeSpend.toString()},
       {"enrolled_at", m.enrolledAt},
       {"consent_marketing", m.consentMarketing}};
  putOptional(j, "birthday", m.birthday);
  putOptional(j, "language", m.language);
}

void to_json(nlohmann::json& j, const MemberExport& e) {
  nlohmann::json member = e.member;
  member["phone"] = e.member.phone;  // the data subject's own export: the whole number
  putOptional(member, "last_visit_at", e.member.lastVisitAt);
  auto consents = nlohmann::json::array();
  for (const ConsentDecision& c : e.consents) {
    nlohmann::json row = {{"at", c.at},
                          {"consent_marketing", c.consentMarketing},
                          {"consent_version", c.consentVersion ? nlohmann::json(*c.consentVersion) : nlohmann::json(nullptr)},
                          {"store_id", c.storeId ? nlohmann::json(*c.storeId) : nlohmann::json(nullptr)}};
    putOptional(row, "staff_id", c.staffId);
    consents.push_back(std::move(row));
  }
  auto log = nlohmann::json::array();
  for (const MemberLogEntry& l : e.log) {
    nlohmann::json row = {{"at", l.at}, {"action", l.action}, {"store_id", l.storeId}};
    auto fields = nlohmann::json::array();
    for (std::size_t from = 0; from < l.fields.size();) {
      const std::size_t comma = std::min(l.fields.find(',', from), l.fields.size());
      fields.push_back(l.fields.substr(from, comma - from));
      from = comma + 1;
    }
    row["fields"] = std::move(fields);
    putOptional(row, "staff_id", l.staffId);
    log.push_back(std::move(row));
  }
  j = {{"member", std::move(member)}, {"consents", std::move(consents)}, {"log", std::move(log)},
       {"sales", e.sales}, {"ledger_entries", e.ledgerEntries}};
}

void to_json(nlohmann::json& j, const MemberDetail& d) {
  to_json(j, d.member);
  auto greetings = nlohmann::json::array();
  for (const Greeting& g : d.greetings) greetings.push_back({{"kind", g.kind}, {"text", g.text}});
  j["greetings"] = std::move(greetings);
}

void to_json(nlohmann::json& j, const SaleResult& r) {
  auto promotions = nlohmann::json::array();
  for (const auto& p : r.promotions) {
    promotions.push_back(p);
  }
  j = {{"sale_id", r.saleId},
       {"subtotal", r.subtotal.toString()},
       {"discount", r.discount.toString()},
       {"total", r.total.toString()},
       {"points_earned", r.pointsEarned},
       {"points_redeemed", r.pointsRedeemed},
       {"balance", r.balance ? nlohmann::json(*r.balance) : nlohmann::json(nullptr)},
       {"promotions", std::move(promotions)},
       {"tier", r.tier ? nlohmann::json(*r.tier) : nlohmann::json(nullptr)},
       {"tier_changed", r.tierChanged}};
}

void from_json(const nlohmann::json& j, SaleResult& r) {
  r.saleId = j.at("sale_id").get<std::string>();
  r.subtotal = moneyFrom(j.at("subtotal"));
  r.discount = moneyFrom(j.at("discount"));
  r.total = moneyFrom(j.at("total"));
  r.pointsEarned = j.at("points_earned").get<std::int64_t>();
  r.pointsRedeemed = j.at("points_redeemed").get<std::int64_t>();
  r.balance = j.at("balance").is_null() ? std::nullopt : std::optional(j.at("balance").get<std::int64_t>());
  r.promotions.clear();
  for (const auto& p : j.at("promotions")) {
    r.promotions.push_back({p.at("id").get<std::string>(), p.at("kind").get<std::string>(),
                            p.at("effect").get<std::string>()});
  }
  r.tier = j.at("tier").is_null() ? std::nullopt : std::optional(j.at("tier").get<std::string>());
  r.tierChanged = j.at("tier_changed").get<bool>();
}

void to_json(nlohmann::json& j, const RedeemResult& r) {
  j = {{"redemption_id", r.redemptionId}, {"points", r.points}, {"balance", r.balance}};
}

void from_json(const nlohmann::json& j, RedeemResult& r) {
  r.redemptionId = j.at("redemption_id").get<std::string>();
  r.points = j.at("points").get<std::int64_t>();
  r.balance = j.at("balance").get<std::int64_t>();
}

void to_json(nlohmann::json& j, const RefundResult& r) {
  j = {{"refund_id", r.refundId},
       {"amount", r.amount.toString()},
       {"points_reversed", r.pointsReversed},
       {"balance", r.balance ? nlohmann::json(*r.balance) : nlohmann::json(nullptr)}};
  // Extensions, present only when a refund broke a 满减/满赠 threshold.
  if (r.clawback != Money{}) j["clawback"] = r.clawback.toString();
  if (!r.giftsToReturn.empty()) j["gifts_to_return"] = r.giftsToReturn;
}

void from_json(const nlohmann::json& j, RefundResult& r) {
  r.refundId = j.at("refund_id").get<std::string>();
  r.amount = moneyFrom(j.at("amount"));
  r.pointsReversed = j.at("points_reversed").get<std::int64_t>();
  r.balance = j.at("balance").is_null() ? std::nullopt : std::optional(j.at("balance").get<std::int64_t>());
  r.clawback = j.contains("clawback") ? moneyFrom(j.at("clawback")) : Money{};
  r.giftsToReturn = j.value("gifts_to_return", std::vector<std::string>{});
}

void to_json(nlohmann::json& j, const RefundPreview& p) {
  auto lines = nlohmann::json::array();
  for (const RefundPreviewLine& l : p.lines) {
    nlohmann::json line = {{"line_no", l.lineNo}, {"sku", l.sku}, {"qty", l.qty}, {"unit_price", l.unitPrice},
                           {"amount", l.amount.toString()}, {"refunded_qty", l.refundedQty},
                           {"refundable_qty", l.refundable}, {"gift", l.gift}};
    putOptional(line, "description", l.description);
    lines.push_back(std::move(line));
  }
  j = {{"sale_id", p.saleId},
       {"member", p.member ? nlohmann::json(*p.member) : nlohmann::json(nullptr)},
       {"sale_total", p.saleTotal.toString()},
       {"refunded_amount", p.refundedAmount.toString()},
       {"lines", std::move(lines)},
       {"amount", p.amount.toString()},
       {"points_reversed", p.pointsReversed},
       {"points_returned", p.pointsReturned},
       {"clawback", p.clawback.toString()},
       {"gifts_to_return", p.giftsToReturn},
       {"supervisor_required", p.supervisorRequired}};
}

void to_json(nlohmann::json& j, const ExchangeResult& r) {
  j = {{"exchange_id", r.exchangeId}, {"refund", r.refund}, {"sale", r.sale}, {"difference", r.difference.toString()}};
}

void to_json(nlohmann::json& j, const AppliedPromotion& p) {
  j = {{"id", p.id}, {"kind", p.kind}, {"effect", p.effect}};
}

void to_json(nlohmann::json& j, const HousekeepingResult& h) {
  j = {{"expired_entries", h.expiredEntries},
       {"points_expired", h.pointsExpired},
       {"members_reviewed", h.membersReviewed},
       {"members_downgraded", h.membersDowngraded}};
}

void to_json(nlohmann::json& j, const HistoryEntry& e) {
  j = {{"at", e.at}, {"kind", e.kind}, {"points", e.points}, {"balance_after", e.balanceAfter}};
  putOptional(j, "sale_id", e.saleId);
}

void to_json(nlohmann::json& j, const Stats& s) {
  j = {{"members", s.members},
       {"sales", s.sales},
       {"ledger_entries", s.ledgerEntries},
       {"outbox_pending", s.outboxPending}};
}

void to_json(nlohmann::json& j, const VerifyReport& v) {
  j = {{"ok", v.problems.empty()},
       {"members_checked", v.membersChecked},
       {"outbox_events", v.outboxEvents},
       {"problems", v.problems}};
}

}  // namespace loyalty::terminal
