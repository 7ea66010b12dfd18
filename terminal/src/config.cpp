#include "loyalty/terminal/config.hpp"

#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <toml++/toml.h>

#include "loyalty/core/phone.hpp"
#include "loyalty/terminal/timezone.hpp"

namespace loyalty::terminal {

std::string ConfigError::toString() const {
  return file + ":" + std::to_string(line) + ": " + (key.empty() ? "" : key + ": ") + reason;
}

namespace {

/// Thrown inside the parser and turned into a ConfigError at its edge.
struct Refusal {
  int line;
  std::string key;
  std::string reason;
};

int lineOf(const toml::node& n) { return static_cast<int>(n.source().begin.line); }

[[noreturn]] void refuse(const toml::node& n, const std::string& key, const std::string& reason) {
  throw Refusal{lineOf(n), key, reason};
}

std::string text(const toml::node& n, const std::string& key) {
  if (!n.is_string()) refuse(n, key, "must be a string in quotes");
  return n.as_string()->get();
}

std::int64_t integer(const toml::node& n, const std::string& key, std::int64_t min, std::int64_t max) {
  if (!n.is_integer()) refuse(n, key, "must be a whole number");
  const std::int64_t v = n.as_integer()->get();
  if (v < min || v > max) refuse(n, key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  return v;
}

bool boolean(const toml::node& n, const std::string& key) {
  if (!n.is_boolean()) refuse(n, key, "must be true or false");
  return n.as_boolean()->get();
}

Money money(const toml::node& n, const std::string& key) {
  if (!n.is_string()) refuse(n, key, "money is written as a string, e.g. \"300.00\"");
  auto m = Money::parse(n.as_string()->get(), key);
  if (!m) refuse(n, key, m.error().message);
  if (*m < Money{}) refuse(n, key, "must not be negative");
  return *m;
}

Multiplier multiplier(const toml::node& n, const std::string& key) {
  if (!n.is_string()) refuse(n, key, "a multiplier is written as a string, e.g. \"1.5\"");
  auto m = Multiplier::parse(n.as_string()->get(), key);
  if (!m) refuse(n, key, m.error().message);
  return *m;
}

Date date(const toml::node& n, const std::string& key) {
  if (!n.is_date()) refuse(n, key, "must be a date without quotes, e.g. 2027-02-06");
  const toml::date d = n.as_date()->get();
  const Date out{std::chrono::year{d.year}, std::chrono::month{d.month}, std::chrono::day{d.day}};
  if (!out.ok()) refuse(n, key, "is not a calendar day");
  return out;
}

std::vector<std::string> strings(const toml::node& n, const std::string& key) {
  if (!n.is_array()) refuse(n, key, "must be a list of strings, e.g. [\"OIL-5L\"]");
  std::vector<std::string> out;
  for (const toml::node& item : *n.as_array()) out.push_back(text(item, key));
  return out;
}

/// Walks a table, handing each key to `handle`; keys it does not know are refused by name.
using Handlers = std::map<std::string, std::function<void(const toml::node&, const std::string&)>>;
void walk(const toml::table& table, const std::string& section, const Handlers& handlers) {
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    const std::string qualified = section.empty() ? name : section + "." + name;
    const auto it = handlers.find(name);
    if (it == handlers.end()) {
      throw Refusal{static_cast<int>(key.source().begin.line), qualified, "unknown key"};
    }
    it->second(node, qualified);
  }
}

const toml::table& tableOf(const toml::node& n, const std::string& key) {
  if (!n.is_table()) refuse(n, key, "must be a table [" + key + "]");
  return *n.as_table();
}

template <class F>
void eachTable(const toml::node& n, const std::string& key, F&& f) {
  if (!n.is_array_of_tables()) refuse(n, key, "must be written as [[" + key + "]] sections");
  std::size_t i = 0;
  for (const toml::node& item : *n.as_array()) f(*item.as_table(), key + "[" + std::to_string(i++) + "]");
}

void readStore(const toml::table& t, const std::string& section, TerminalSettings& out) {
  StoreSettings& s = out.store;
  walk(t, section,
       {{"id", [&](auto& n, auto& k) {
           s.id = text(n, k);
           if (s.id.empty() || s.id.size() > 32) refuse(n, k, "a store id has 1 to 32 characters");
           out.storeIdSet = true;
         }},
        {"language", [&](auto& n, auto& k) {
           s.language = text(n, k);
           if (s.language != "zh-CN" && s.language != "en") refuse(n, k, "is \"zh-CN\" or \"en\"");
         }},
        {"currency", [&](auto& n, auto& k) { s.currency = text(n, k); }},
        {"phone_region", [&](auto& n, auto& k) {
           s.phoneRegion = text(n, k);
           if (!isSupportedRegion(s.phoneRegion)) refuse(n, k, "is not a supported region code (e.g. \"CN\", \"GB\")");
         }},
        {"timezone", [&](auto& n, auto& k) {
           s.timezone = text(n, k);
           if (!loadZone(s.timezone).hasValue()) refuse(n, k, "is not a known time zone (e.g. \"Asia/Shanghai\")");
         }}});
}

void readLoyalty(const toml::table& t, const std::string& section, ProgrammeRules& r) {
  walk(t, section,
       {{"earn_points_per_unit", [&](auto& n, auto& k) { r.earnPointsPerUnit = integer(n, k, 0, 1000); }},
        {"redeem_points_per_unit", [&](auto& n, auto& k) { r.redeemPointsPerUnit = integer(n, k, 1, 100000); }},
        {"expiry", [&](auto& n, auto& k) {
           const std::string v = text(n, k);
           if (v == "end_of_next_year") {
             r.expiry = {ExpiryRule::Kind::kEndOfNextYear, 0};
           } else if (v.starts_with("months:") && v.size() > 7 && v.size() <= 10 &&
                      v.find_first_not_of("0123456789", 7) == std::string::npos && std::stoi(v.substr(7)) >= 1 &&
                      std::stoi(v.substr(7)) <= 120) {
             r.expiry = {ExpiryRule::Kind::kMonths, std::stoi(v.substr(7))};
           } else {
             refuse(n, k, "is \"end_of_next_year\" or \"months:N\" with N from 1 to 120");
           }
         }},
        {"supervisor_pin_above_points", [&](auto& n, auto& k) { r.supervisorPinAbovePoints = integer(n, k, 0, 1'000'000'000); }},
        {"offline_redeem_allowance", [&](auto& n, auto& k) { r.offlineRedeemAllowance = integer(n, k, 0, 1'000'000'000); }},
        {"referral_bonus_points", [&](auto& n, auto& k) { r.referralBonusPoints = integer(n, k, 0, 1'000'000); }},
        {"welcome_back_after_days", [&](auto& n, auto& k) { r.welcomeBackAfterDays = static_cast<int>(integer(n, k, 1, 3650)); }},
        {"tier_upgrade_greeting_days", [&](auto& n, auto& k) { r.tierUpgradeGreetingDays = static_cast<int>(integer(n, k, 0, 365)); }},
        {"expiring_reminder_days", [&](auto& n, auto& k) { r.expiringReminderDays = static_cast<int>(integer(n, k, 0, 365)); }},
        {"birthday_greeting", [&](auto& n, auto& k) {
           r.birthdayGreeting = text(n, k);
           if (r.birthdayGreeting != "day" && r.birthdayGreeting != "week") refuse(n, k, "is \"day\" or \"week\"");
         }}});
}

void readTiers(const toml::node& node, const std::string& key, ProgrammeRules& r) {
  r.tiers.clear();
  eachTable(node, key, [&](const toml::table& t, const std::string& section) {
    Tier tier;
    bool hasName = false, hasThreshold = false;
    walk(t, section,
         {{"name", [&](auto& n, auto& k) {
             tier.name = text(n, k);
             hasName = !tier.name.empty();
           }},
          {"threshold", [&](auto& n, auto& k) {
             tier.threshold = money(n, k);
             hasThreshold = true;
           }},
          {"multiplier", [&](auto& n, auto& k) { tier.multiplier = multiplier(n, k); }}});
    if (!hasName) refuse(t, section + ".name", "every tier needs a name");
    if (!hasThreshold) refuse(t, section + ".threshold", "every tier needs a threshold");
    if (r.tiers.empty() && tier.threshold != Money{}) refuse(t, section + ".threshold", "the first tier starts at \"0\"");
    if (!r.tiers.empty() && tier.threshold <= r.tiers.back().threshold) {
      refuse(t, section + ".threshold", "tiers are listed in rising threshold order");
    }
    for (const Tier& other : r.tiers) {
      if (other.name == tier.name) refuse(t, section + ".name", "tier \"" + tier.name + "\" is listed twice");
    }
    r.tiers.push_back(tier);
  });
  if (r.tiers.empty()) refuse(node, key, "at least one tier is needed");
}

void readPromotions(const toml::node& node, const std::string& key, ProgrammeRules& r) {
  eachTable(node, key, [&](const toml::table& t, const std::string& section) {
    Promotion p;
    std::string kind;
    std::map<std::string, int> seen;  // key -> line, to check what each kind needs
    const auto note = [&](const toml::node& n, const std::string& k) { seen[k.substr(section.size() + 1)] = lineOf(n); };
    walk(t, section,
         {{"id", [&](auto& n, auto& k) { p.id = text(n, k), note(n, k); }},
          {"kind", [&](auto& n, auto& k) { kind = text(n, k), note(n, k); }},
          {"threshold", [&](auto& n, auto& k) { p.threshold = money(n, k), note(n, k); }},
          {"amount", [&](auto& n, auto& k) { p.amount = money(n, k), note(n, k); }},
          {"repeat", [&](auto& n, auto& k) { p.repeat = boolean(n, k), note(n, k); }},
          {"from", [&](auto& n, auto& k) { p.from = date(n, k), note(n, k); }},
          {"to", [&](auto& n, auto& k) { p.to = date(n, k), note(n, k); }},
          {"members_only", [&](auto& n, auto& k) { p.membersOnly = boolean(n, k), note(n, k); }},
          {"gift_sku", [&](auto& n, auto& k) { p.giftSku = text(n, k), note(n, k); }},
          {"percent", [&](auto& n, auto& k) {
             p.percent = text(n, k);
             auto v = Multiplier::parse(p.percent, k);
             if (!v || v->tenThousandths() <= 0 || v->tenThousandths() > 100 * Multiplier::kScale) {
               refuse(n, k, "is a percentage above 0 and at most 100, as a string (\"5\")");
             }
             note(n, k);
           }},
          {"skus", [&](auto& n, auto& k) { p.skus = strings(n, k), note(n, k); }},
          {"categories", [&](auto& n, auto& k) { p.categories = strings(n, k), note(n, k); }},
          {"min_tier", [&](auto& n, auto& k) { p.minTier = text(n, k), note(n, k); }},
          {"multiplier", [&](auto& n, auto& k) { p.multiplier = multiplier(n, k), note(n, k); }},
          {"weekday", [&](auto& n, auto& k) { p.weekday = static_cast<int>(integer(n, k, 1, 7)), note(n, k); }},
          {"birthday", [&](auto& n, auto& k) {
             p.birthday = text(n, k);
             if (p.birthday != "day" && p.birthday != "week" && p.birthday != "month") {
               refuse(n, k, "is \"day\", \"week\" or \"month\"");
             }
             note(n, k);
           }}});
    const auto need = [&](const char* k) {
      if (!seen.contains(k)) refuse(t, section + "." + k, std::string("a ") + kind + " promotion needs " + k);
    };
    const auto only = [&](std::initializer_list<const char*> allowed) {
      for (const auto& [k, line] : seen) {
        // An init-capture: clang 14 (the fuzzing build) cannot capture a structured binding.
        if (std::find_if(allowed.begin(), allowed.end(), [&key = k](const char* a) { return key == a; }) == allowed.end()) {
          throw Refusal{line, section + "." + k, "does not apply to a " + kind + " promotion"};
        }
      }
    };
    need("id");
    need("kind");
    if (kind == "spend_discount") {
      p.kind = Promotion::Kind::kSpendDiscount;
      need("threshold"), need("amount");
      only({"id", "kind", "threshold", "amount", "repeat", "from", "to", "members_only"});
      if (p.amount > p.threshold) refuse(t, section + ".amount", "the discount is larger than the threshold");
    } else if (kind == "spend_gift") {
      p.kind = Promotion::Kind::kSpendGift;
      need("threshold"), need("gift_sku");
      only({"id", "kind", "threshold", "gift_sku", "from", "to", "members_only"});
    } else if (kind == "member_discount") {
      p.kind = Promotion::Kind::kMemberDiscount;
      need("percent");
      if (!seen.contains("skus") && !seen.contains("categories")) {
        refuse(t, section + ".skus", "a member_discount names skus or categories");
      }
      only({"id", "kind", "percent", "skus", "categories", "min_tier", "from", "to"});
      p.membersOnly = true;
    } else if (kind == "points_multiplier") {
      p.kind = Promotion::Kind::kPointsMultiplier;
      need("multiplier");
      only({"id", "kind", "multiplier", "from", "to", "weekday", "birthday", "members_only"});
    } else {
      refuse(t, section + ".kind", "is spend_discount, spend_gift, member_discount or points_multiplier");
    }
    if (p.from && p.to && std::chrono::sys_days{*p.to} < std::chrono::sys_days{*p.from}) {
      refuse(t, section + ".to", "ends before it starts");
    }
    for (const Promotion& other : r.promotions) {
      if (other.id == p.id) refuse(t, section + ".id", "promotion \"" + p.id + "\" is listed twice");
    }
    r.promotions.push_back(std::move(p));
  });
}

void readStacking(const toml::table& t, const std::string& section, ProgrammeRules& r) {
  walk(t, section,
       {{"multipliers", [&](auto& n, auto& k) {
           const std::string v = text(n, k);
           if (v != "max" && v != "multiply") refuse(n, k, "is \"max\" or \"multiply\"");
           r.stacking.multiplyMultipliers = v == "multiply";
         }},
        {"discounts", [&](auto& n, auto& k) {
           if (text(n, k) != "sequential") refuse(n, k, "is \"sequential\"");
         }}});
}

}  // namespace

std::variant<TerminalSettings, ConfigError> parseConfig(std::string_view content, const std::string& name) {
  TerminalSettings out;
  toml::table root;
  try {
    root = toml::parse(content, name);
  } catch (const toml::parse_error& e) {
    return ConfigError{name, static_cast<int>(e.source().begin.line), "", std::string(e.description())};
  }
  try {
    walk(root, "",
         {{"store", [&](auto& n, auto& k) { readStore(tableOf(n, k), k, out); }},
          {"loyalty", [&](auto& n, auto& k) { readLoyalty(tableOf(n, k), k, out.rules); }},
          {"tier", [&](auto& n, auto& k) { readTiers(n, k, out.rules); }},
          {"promotion", [&](auto& n, auto& k) { readPromotions(n, k, out.rules); }},
          {"stacking", [&](auto& n, auto& k) { readStacking(tableOf(n, k), k, out.rules); }}});
    for (const Promotion& p : out.rules.promotions) {
      if (p.minTier.empty()) continue;
      const bool known = std::any_of(out.rules.tiers.begin(), out.rules.tiers.end(),
                                     [&](const Tier& t) { return t.name == p.minTier; });
      if (!known) {
        const toml::node* node = root.at_path("promotion").as_array();
        return ConfigError{name, node ? lineOf(*node) : 0, "promotion " + p.id + ".min_tier",
                           "no tier is called \"" + p.minTier + "\""};
      }
    }
  } catch (const Refusal& r) {
    return ConfigError{name, r.line, r.key, r.reason};
  }
  return out;
}

std::variant<TerminalSettings, ConfigError> loadConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ConfigError{path, 0, "", "cannot be read"};
  std::stringstream buf;
  buf << in.rdbuf();
  return parseConfig(buf.str(), path);
}

std::optional<ProgrammeRules> pushedProgramme(db::Database& db) {
  std::optional<std::pair<std::int64_t, std::string>> newest;
  if (auto q = db.query("SELECT version, toml FROM hq_config WHERE error IS NULL ORDER BY version DESC LIMIT 1");
      q.step()) {
    newest.emplace(q.int64("version"), q.text("toml"));
  }
  if (!newest) return std::nullopt;
  auto parsed = parseConfig(newest->second, "head office configuration v" + std::to_string(newest->first));
  if (auto* settings = std::get_if<TerminalSettings>(&parsed)) return std::move(settings->rules);
  return std::nullopt;  // refused when it arrived (hq_config.error says why); not in force
}

}  // namespace loyalty::terminal
