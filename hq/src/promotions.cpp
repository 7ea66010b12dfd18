#include "loyalty/hq/promotions.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "loyalty/core/programme_toml.hpp"
#include "loyalty/core/promotions.hpp"
#include "loyalty/sync/codec.hpp"

namespace loyalty::hq {

using nlohmann::json;

namespace {

// [SECTION] The editor's columns

std::string kindName(Promotion::Kind k) {
  switch (k) {
    case Promotion::Kind::kSpendDiscount: return "spend_discount";
    case Promotion::Kind::kSpendGift: return "spend_gift";
    case Promotion::Kind::kMemberDiscount: return "member_discount";
    case Promotion::Kind::kPointsMultiplier: return "points_multiplier";
  }
  return "";
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string trimmed(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) break;
    start = at + 1;
  }
  return out;
}

bool wholeNumberText(const std::string& s) {
  return !s.empty() && s.size() <= 12 && s.find_first_not_of("0123456789", s[0] == '-' ? 1 : 0) == std::string::npos &&
         s != "-";
}

/// A value typed in the editor as TOML: the type the reader expects when it reads as one, else
/// the text itself (which the reader then refuses, naming the key).
void put(toml::table& t, const std::string& key, const std::string& typed) {
  const std::string v = trimmed(typed);
  if (v.empty()) return;
  if (key == "repeat" || key == "members_only") {
    if (v == "true" || v == "on") t.insert_or_assign(key, true);
    else if (v == "false") t.insert_or_assign(key, false);
    else t.insert_or_assign(key, v);
  } else if (key == "weekday" || key == "earn_points_per_unit" || key == "redeem_points_per_unit") {
    if (wholeNumberText(v)) t.insert_or_assign(key, std::stoll(v));
    else t.insert_or_assign(key, v);
  } else if (key == "from" || key == "to") {
    if (auto d = parseDate(v, key)) {
      t.insert_or_assign(key, toml::date{static_cast<int>(d->year()), static_cast<unsigned>(d->month()),
                                         static_cast<unsigned>(d->day())});
    } else {
      t.insert_or_assign(key, v);
    }
  } else if (key == "skus" || key == "categories") {
    toml::array a;
    for (const auto& s : split(v, ',')) {
      if (!trimmed(s).empty()) a.push_back(trimmed(s));
    }
    t.insert_or_assign(key, std::move(a));
  } else {
    t.insert_or_assign(key, v);
  }
}

bool blank(const EditorRow& row) {
  return std::all_of(row.begin(), row.end(), [](const auto& kv) { return trimmed(kv.second).empty(); });
}

// [SECTION] The report's figures

std::string fraction(long double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4Lf", v);
  return buf;
}

/// during / before − 1, or null without a base.
json growth(std::int64_t during, std::int64_t before) {
  if (before <= 0) return nullptr;
  return fraction(static_cast<long double>(during) / static_cast<long double>(before) - 1);
}

std::string money(std::int64_t minor) { return Money::fromMinor(minor).toString(); }

std::string shiftDay(const std::string& day, int days) {
  const Date d = *parseDate(day, "day");
  return formatDate(Date{std::chrono::sys_days{d} + std::chrono::days{days}});
}

int daysBetween(const std::string& from, const std::string& to) {
  return static_cast<int>((std::chrono::sys_days{*parseDate(to, "to")} - std::chrono::sys_days{*parseDate(from, "from")}).count());
}

/// " AND <column> IN ($n, ...)" for the stores (parameters appended to `params`).
std::string storeFilter(const std::string& column, const std::vector<std::string>& stores, std::vector<SqlValue>& params) {
  if (stores.empty()) return "";
  std::string sql = " AND " + column + " IN (";
  for (std::size_t i = 0; i < stores.size(); ++i) {
    params.emplace_back(stores[i]);
    sql += (i ? ", $" : "$") + std::to_string(params.size());
  }
  return sql + ")";
}

struct PromotionTotals {
  std::string kind;
  std::int64_t sales = 0, discount = 0, points = 0, net = 0;
  std::set<std::string> members, stores;
  bool discountKnown = true;
};

bool discounting(const std::string& kind) { return kind == "spend_discount" || kind == "member_discount"; }

}  // namespace

// [SECTION] The programme

const std::vector<std::string>& promotionEditorKeys() {
  static const std::vector<std::string> keys = {"id",       "kind",       "threshold", "amount",   "repeat",     "gift_sku",
                                                "percent",  "skus",       "categories", "min_tier", "multiplier", "weekday",
                                                "birthday", "from",       "to",        "members_only"};
  return keys;
}

const std::vector<std::string>& tierEditorKeys() {
  static const std::vector<std::string> keys = {"name", "threshold", "multiplier"};
  return keys;
}

std::string publishedProgrammeText(SqlConnection& c) {
  const auto published = c.query("SELECT body FROM changes WHERE type = 'config' ORDER BY change_no DESC");
  for (std::size_t i = 0; i < published.size(); ++i) {
    auto body = sync::parseJson(published.text(i, 0));
    auto change = body ? sync::decodeChange(*body) : Result<sync::Change>(body.error());
    const auto* config = change ? std::get_if<sync::ConfigChange>(&*change) : nullptr;
    // As the programme in force is chosen (tiers.cpp): the newest one the reader accepts.
    if (config && checkProgrammeText(config->toml)) return config->toml;
  }
  return "";
}

Result<ProgrammeRules> checkProgrammeText(const std::string& text) {
  auto parsed = parseProgramme(text);
  if (auto* e = std::get_if<ProgrammeError>(&parsed)) {
    return invalidArgument("toml", "line " + std::to_string(e->line) + (e->key.empty() ? "" : ", " + e->key) + ": " + e->reason);
  }
  return std::get<ProgrammeRules>(std::move(parsed));
}

ProgrammeDraft draftOf(const ProgrammeRules& rules) {
  ProgrammeDraft d{std::to_string(rules.earnPointsPerUnit), std::to_string(rules.redeemPointsPerUnit), {}, {}};
  for (const Tier& t : rules.tiers) {
    d.tiers.push_back({{"name", t.name}, {"threshold", t.threshold.toString()}, {"multiplier", multiplierText(t.multiplier)}});
  }
  for (const Promotion& p : rules.promotions) {
    const std::string kind = kindName(p.kind);
    std::map<std::string, std::string> v = {{"id", p.id}, {"kind", kind}};
    if (p.from) v["from"] = formatDate(*p.from);
    if (p.to) v["to"] = formatDate(*p.to);
    if (kind == "spend_discount" || kind == "spend_gift") v["threshold"] = p.threshold.toString();
    if (kind == "spend_discount") {
      v["amount"] = p.amount.toString();
      if (p.repeat) v["repeat"] = "true";
    }
    if (kind == "spend_gift") v["gift_sku"] = p.giftSku;
    if (kind != "member_discount" && p.membersOnly) v["members_only"] = "true";
    if (kind == "member_discount") {
      v["percent"] = p.percent;
      v["skus"] = joined(p.skus);
      v["categories"] = joined(p.categories);
      v["min_tier"] = p.minTier;
    }
    if (kind == "points_multiplier") {
      v["multiplier"] = multiplierText(p.multiplier);
      if (p.weekday) v["weekday"] = std::to_string(*p.weekday);
      v["birthday"] = p.birthday;
    }
    EditorRow row;
    for (const auto& k : promotionEditorKeys()) row.emplace_back(k, v[k]);
    d.promotions.push_back(std::move(row));
  }
  return d;
}

std::string applyDraft(const std::string& base, const ProgrammeDraft& draft) {
  toml::table root;
  try {
    root = toml::parse(base);
  } catch (const toml::parse_error&) {
    root = toml::table{};
  }
  toml::table loyalty;
  if (auto* old = root["loyalty"].as_table()) loyalty = *old;
  loyalty.erase("earn_points_per_unit");
  loyalty.erase("redeem_points_per_unit");
  put(loyalty, "earn_points_per_unit", draft.earnPointsPerUnit);
  put(loyalty, "redeem_points_per_unit", draft.redeemPointsPerUnit);
  root.insert_or_assign("loyalty", std::move(loyalty));
  toml::array tiers, promotions;
  for (const auto& row : draft.tiers) {
    if (blank(row)) continue;
    toml::table t;
    for (const auto& [k, v] : row) put(t, k, v);
    tiers.push_back(std::move(t));
  }
  for (const auto& row : draft.promotions) {
    if (blank(row)) continue;
    toml::table t;
    for (const auto& [k, v] : row) put(t, k, v);
    promotions.push_back(std::move(t));
  }
  root.erase("tier");
  root.erase("promotion");
  // No tier rows would publish "no tiers", which the reader refuses: leave it to say so.
  root.insert_or_assign("tier", std::move(tiers));
  if (!promotions.empty()) root.insert_or_assign("promotion", std::move(promotions));
  std::ostringstream out;
  out << toml::toml_formatter{root} << "\n";
  return out.str();
}

// [SECTION] Preview

Result<std::vector<SampleBasket>> parseBaskets(SqlConnection& c, const std::string& text) {
  std::vector<SampleBasket> out;
  int lineNo = 0;
  for (const auto& raw : split(text, '\n')) {
    ++lineNo;
    const std::string line = trimmed(raw);
    if (line.empty()) continue;
    if (out.size() == 20) return invalidArgument("baskets", "at most 20 sample baskets");
    const std::string where = "basket on line " + std::to_string(lineNo) + ": ";
    SampleBasket b{line, {}};
    for (const auto& item : split(line, ',')) {
      std::istringstream words(trimmed(item));
      std::string sku, qty, price, extra;
      words >> sku >> qty >> price >> extra;
      if (sku.empty() || !extra.empty()) return invalidArgument("baskets", where + "each item is \"SKU qty [price]\"");
      if (qty.empty()) qty = "1";
      if (!wholeNumberText(qty) || std::stoll(qty) < 1 || std::stoll(qty) > 10000) {
        return invalidArgument("baskets", where + "the quantity of " + sku + " is a whole number from 1 to 10000");
      }
      const auto product = c.query("SELECT price, category FROM products WHERE sku = $1", {sku});
      PricedLine l{sku, product.empty() ? std::nullopt : product.optText(0, 1), std::stoll(qty), {}, {}, {}};
      if (!price.empty()) {
        auto p = UnitPrice::parse(price, "price");
        if (!p) return invalidArgument("baskets", where + "the price of " + sku + " is a decimal amount (\"12.50\")");
        l.unitPrice = *p;
      } else if (!product.empty()) {
        l.unitPrice = UnitPrice::fromTenThousandths(product.integer(0, 0));
      } else {
        return invalidArgument("baskets", where + sku + " is not among head office's products: give its price");
      }
      auto amount = lineAmount(l.qty, l.unitPrice, "price");
      if (!amount) return invalidArgument("baskets", where + amount.error().message);
      l.amount = *amount;
      b.lines.push_back(std::move(l));
    }
    out.push_back(std::move(b));
  }
  if (out.empty()) return invalidArgument("baskets", "give at least one sample basket");
  return out;
}

json previewBaskets(const ProgrammeRules& rules, const std::vector<SampleBasket>& baskets, Date day) {
  json rows = json::array();
  for (const SampleBasket& b : baskets) {
    for (std::size_t who = 0; who <= rules.tiers.size(); ++who) {
      std::optional<SaleMember> member;
      if (who > 0) member = SaleMember{who - 1, std::nullopt, 0, std::nullopt, false};
      json row = {{"basket", b.text}, {"customer", who == 0 ? json(nullptr) : json(rules.tiers[who - 1].name)}};
      // The terminal's own planner: what the counter would charge and give.
      auto plan = planSale(b.lines, 0, member, rules, day);
      if (!plan) {
        row["error"] = plan.error().message;
      } else {
        json effects = json::array();
        for (const auto& a : plan->applied) effects.push_back(a.id + ": " + a.effect);
        row.update({{"subtotal", plan->subtotal.toString()}, {"discount", plan->discount.toString()},
                    {"total", plan->total.toString()}, {"points", member ? json(plan->points) : json(nullptr)},
                    {"promotions", std::move(effects)}, {"gifts", plan->giftSkus}});
      }
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

// [SECTION] Results

json promotionReport(SqlConnection& c, const DayRange& range, const std::vector<std::string>& stores) {
  std::map<std::string, PromotionTotals> totals;
  // What the published programme runs in the range is listed even when nobody took it up.
  if (auto rules = checkProgrammeText(publishedProgrammeText(c))) {
    for (const Promotion& p : rules->promotions) {
      if (p.from && formatDate(*p.from) > range.to) continue;
      if (p.to && formatDate(*p.to) < range.from) continue;
      totals[p.id].kind = kindName(p.kind);
    }
  }

  std::vector<SqlValue> params = {range.from, range.to, std::string("%\"promotions\"%")};
  const std::string filter = storeFilter("s.store_id", stores, params);
  std::map<std::string, std::int64_t> refunded;
  {
    std::vector<SqlValue> p = {range.from, range.to};
    const auto r = c.query("SELECT r.sale_id, SUM(r.amount) FROM refunds r JOIN sales s ON s.sale_id = r.sale_id "
                           "WHERE s.day >= $1 AND s.day <= $2" + storeFilter("s.store_id", stores, p) + " GROUP BY r.sale_id",
                           p);
    for (std::size_t i = 0; i < r.size(); ++i) refunded[r.text(i, 0)] = r.integer(i, 1);
  }
  const auto sales = c.query(
      "SELECT s.sale_id, s.store_id, s.member_id, s.discount, s.total, s.points_earned, e.payload FROM sales s "
      "JOIN events e ON e.event_id = s.event_id WHERE s.day >= $1 AND s.day <= $2 AND e.payload LIKE $3" + filter,
      params);
  for (std::size_t i = 0; i < sales.size(); ++i) {
    auto payload = sync::parseJson(sales.text(i, 6));
    if (!payload || !payload->is_object() || !(*payload)["promotions"].is_array()) continue;
    const json& applied = (*payload)["promotions"];
    std::size_t discounters = 0;
    for (const auto& a : applied) {
      if (a.is_object() && a.value("kind", "") != "" && discounting(a.value("kind", ""))) ++discounters;
    }
    const std::int64_t net = sales.integer(i, 4) - (refunded.contains(sales.text(i, 0)) ? refunded[sales.text(i, 0)] : 0);
    for (const auto& a : applied) {
      if (!a.is_object() || !a.contains("id") || !a["id"].is_string()) continue;
      PromotionTotals& t = totals[a["id"].get<std::string>()];
      if (a.contains("kind") && a["kind"].is_string()) t.kind = a["kind"].get<std::string>();
      ++t.sales;
      t.net += net;
      t.points += sales.integer(i, 5);
      t.stores.insert(sales.text(i, 1));
      if (!sales.isNull(i, 2)) t.members.insert(sales.text(i, 2));
      if (!discounting(t.kind)) continue;
      if (a.contains("discount") && a["discount"].is_string()) {
        if (auto m = Money::parse(a["discount"].get<std::string>(), "discount")) {
          t.discount += m->minor();
          continue;
        }
      }
      // A terminal from before the per-promotion discount: the sale's, when it is this one's alone.
      if (discounters == 1) t.discount += sales.integer(i, 3);
      else t.discountKnown = false;
    }
  }

  // Net revenue per store in the range and in as many days just before it.
  const std::string beforeTo = shiftDay(range.from, -1);
  const std::string beforeFrom = shiftDay(range.from, -(daysBetween(range.from, range.to) + 1));
  std::vector<SqlValue> p = {beforeFrom, range.to, range.from};
  const auto perStore = c.query("SELECT store_id, SUM(CASE WHEN day >= $3 THEN gross - refunded ELSE 0 END), "
                                "SUM(CASE WHEN day < $3 THEN gross - refunded ELSE 0 END) FROM agg_sales "
                                "WHERE day >= $1 AND day <= $2" + storeFilter("store_id", stores, p) + " GROUP BY store_id",
                                p);

  std::vector<std::pair<std::string, const PromotionTotals*>> order;
  for (const auto& [id, t] : totals) order.emplace_back(id, &t);
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.second->sales > b.second->sales; });
  json rows = json::array();
  for (const auto& [id, t] : order) {
    std::int64_t withDuring = 0, withBefore = 0, withoutDuring = 0, withoutBefore = 0, withoutStores = 0;
    for (std::size_t i = 0; i < perStore.size(); ++i) {
      if (t->stores.contains(perStore.text(i, 0))) {
        withDuring += perStore.integer(i, 1);
        withBefore += perStore.integer(i, 2);
      } else {
        withoutDuring += perStore.integer(i, 1);
        withoutBefore += perStore.integer(i, 2);
        ++withoutStores;
      }
    }
    const json vsBefore = t->stores.empty() ? json(nullptr) : growth(withDuring, withBefore);
    const json without = withoutStores == 0 ? json(nullptr) : growth(withoutDuring, withoutBefore);
    json vsWithout = nullptr;
    if (vsBefore.is_string() && without.is_string()) {
      vsWithout = fraction(std::stold(vsBefore.get<std::string>()) - std::stold(without.get<std::string>()));
    }
    rows.push_back({{"promotion_id", id},
                    {"kind", t->kind},
                    {"sales", t->sales},
                    {"members", static_cast<std::int64_t>(t->members.size())},
                    {"discount", money(t->discount)},
                    {"points", t->points},
                    {"net_revenue", money(t->net)},
                    {"discount_known", t->discountKnown},
                    {"stores", std::vector<std::string>(t->stores.begin(), t->stores.end())},
                    {"lift",
                     {{"before", {{"from", beforeFrom}, {"to", beforeTo}}},
                      {"stores_with", static_cast<std::int64_t>(t->stores.size())},
                      {"stores_without", withoutStores},
                      {"with", {{"net_revenue", money(withDuring)}, {"net_revenue_before", money(withBefore)}}},
                      {"without", {{"net_revenue", money(withoutDuring)}, {"net_revenue_before", money(withoutBefore)}}},
                      {"growth_without", without},
                      {"vs_before", vsBefore},
                      {"vs_stores_without", vsWithout}}}});
  }
  return {{"from", range.from}, {"to", range.to}, {"rows", std::move(rows)}};
}

}  // namespace loyalty::hq
