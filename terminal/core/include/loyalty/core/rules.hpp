#pragma once
/// @brief The programme's configurable rules as plain values (filled from config or head office).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "loyalty/core/money.hpp"
#include "loyalty/core/points.hpp"
#include "loyalty/core/time.hpp"

namespace loyalty {

struct Tier {
  std::string name;
  Money threshold;  ///< rolling 12-month net spend that reaches this tier
  Multiplier multiplier;
  bool operator==(const Tier&) const = default;
};

/// Earned points expire at the end of the calendar year after the year earned, or N months on.
struct ExpiryRule {
  enum class Kind { kEndOfNextYear, kMonths } kind = Kind::kEndOfNextYear;
  int months = 0;
};

struct Promotion {
  enum class Kind { kSpendDiscount, kSpendGift, kMemberDiscount, kPointsMultiplier };
  std::string id;
  Kind kind = Kind::kSpendDiscount;
  std::optional<Date> from, to;  ///< inclusive window in the store's local days
  bool membersOnly = false;
  Money threshold;                 ///< spend_discount, spend_gift
  Money amount;                    ///< spend_discount
  bool repeat = false;             ///< spend_discount: per full threshold
  std::string giftSku;             ///< spend_gift
  std::string percent;             ///< member_discount, exact decimal text ("5", "12.5")
  std::vector<std::string> skus;   ///< member_discount
  std::vector<std::string> categories;
  std::string minTier;             ///< member_discount
  Multiplier multiplier;           ///< points_multiplier
  std::optional<int> weekday;      ///< points_multiplier: 1 = Monday ... 7 = Sunday (member day)
  std::string birthday;            ///< points_multiplier: "", "day", "week" or "month"
};

struct Stacking {
  bool multiplyMultipliers = false;  ///< "multiply"; default "max"
};

/// Every rule of the programme with the defaults of docs/configuration.md.
struct ProgrammeRules {
  std::int64_t earnPointsPerUnit = 1;
  std::int64_t redeemPointsPerUnit = 100;
  ExpiryRule expiry;
  std::int64_t supervisorPinAbovePoints = 2000;
  /// Refunds paying back more than this need a supervisor's PIN; zero: every refund does; unset
  /// (the default, as `refund` in exec-cli.md has no PIN): none does. The packaged config sets it.
  std::optional<Money> refundSupervisorAbove;
  std::int64_t offlineRedeemAllowance = 500;
  std::int64_t referralBonusPoints = 100;
  int welcomeBackAfterDays = 90;
  int tierUpgradeGreetingDays = 7;
  int expiringReminderDays = 30;
  std::string birthdayGreeting = "week";
  std::vector<Tier> tiers = defaultTiers();
  std::vector<Promotion> promotions;
  Stacking stacking;

  static std::vector<Tier> defaultTiers() {
    const auto tier = [](const char* name, std::int64_t units, std::int64_t tenThousandths) {
      return Tier{name, Money::fromMinor(units * 100), Multiplier::fromTenThousandths(tenThousandths)};
    };
    return {tier("member", 0, 10'000), tier("silver", 2'000, 12'000), tier("gold", 10'000, 15'000),
            tier("platinum", 50'000, 20'000)};
  }
};

}  // namespace loyalty
