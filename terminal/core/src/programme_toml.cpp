#include "loyalty/core/programme_toml.hpp"

#include <algorithm>

#include "loyalty/core/toml_reader.hpp"

namespace loyalty {

using namespace toml_reader;

namespace {

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
        {"refund_supervisor_above", [&](auto& n, auto& k) { r.refundSupervisorAbove = money(n, k); }},
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

bool isProgrammeKey(std::string_view key) {
  return key == "loyalty" || key == "tier" || key == "promotion" || key == "stacking";
}

void readProgrammeSection(const toml::node& node, const std::string& key, ProgrammeRules& rules) {
  if (key == "loyalty") {
    readLoyalty(tableOf(node, key), key, rules);
  } else if (key == "tier") {
    readTiers(node, key, rules);
  } else if (key == "promotion") {
    readPromotions(node, key, rules);
  } else if (key == "stacking") {
    readStacking(tableOf(node, key), key, rules);
  } else {
    refuse(node, key, "unknown key");
  }
}

void checkProgramme(const toml::table& root, const ProgrammeRules& rules) {
  for (const Promotion& p : rules.promotions) {
    if (p.minTier.empty()) continue;
    const bool known =
        std::any_of(rules.tiers.begin(), rules.tiers.end(), [&](const Tier& t) { return t.name == p.minTier; });
    if (!known) {
      const toml::node* node = root.at_path("promotion").as_array();
      throw Refusal{node ? lineOf(*node) : 0, "promotion " + p.id + ".min_tier", "no tier is called \"" + p.minTier + "\""};
    }
  }
}

std::variant<ProgrammeRules, ProgrammeError> parseProgramme(std::string_view text) {
  ProgrammeRules rules;
  toml::table root;
  try {
    root = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return ProgrammeError{static_cast<int>(e.source().begin.line), "", std::string(e.description())};
  }
  try {
    for (const auto& [key, node] : root) {
      const std::string name(key.str());
      if (!isProgrammeKey(name)) throw Refusal{static_cast<int>(key.source().begin.line), name, "unknown key"};
      readProgrammeSection(node, name, rules);
    }
    checkProgramme(root, rules);
  } catch (const Refusal& r) {
    return ProgrammeError{r.line, r.key, r.reason};
  }
  return rules;
}

}  // namespace loyalty
