#pragma once
/// @brief A member's lifecycle rules as pure functions: tiers over rolling spend, earn lots and
/// their expiry, FIFO consumption.
///
/// Decisions where DOMAIN.md and config.md are silent (what a real store expects):
/// * The rolling 12-month window that ends on local day D starts the day after D's date a year
///   earlier (D = 2026-11-23: 2025-11-24 .. 2026-11-23). For D = Feb 29 it starts on Mar 1.
/// * Downgrades are reviewed on the first local day of each month over the 12 months that ended
///   the day before. The review only lowers a tier (upgrades happen at the crossing sale).
/// * A lot may be used through its `expiresOn` day and expires on the day after.
///   end_of_next_year: Dec 31 of the year after the earning. months:N: the day before the N-month
///   anniversary of the earning (the anniversary is clamped to the month's end: Jan 31 + 1 month
///   is the last day of February).
/// * Lots hold exactly the positive part of the balance: a credit fills lots only beyond any
///   debt it repays, a debit takes from lots only down to zero (the rest is debt).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "loyalty/core/money.hpp"
#include "loyalty/core/rules.hpp"
#include "loyalty/core/time.hpp"
#include "loyalty/core/zone.hpp"

namespace loyalty {

// [SECTION] Tiers

/// The highest tier whose threshold the spend meets (tiers are ordered by threshold; the first
/// is the entry tier). Never fails: a spend below every threshold gets tier 0.
std::size_t tierIndexFor(Money rollingSpend, std::span<const Tier> tiers);

/// The index of the tier called `name`; nullopt for a name the rules do not have (e.g. after
/// head office renamed its tiers), which callers treat as the entry tier.
std::optional<std::size_t> tierIndexByName(std::string_view name, std::span<const Tier> tiers);

/// First local day of the rolling 12-month window ending on `today`.
Date rollingWindowStart(Date today);

/// The first day of `day`'s month: the day its downgrade review happens.
Date monthStart(Date day);

/// `day` moved by whole months, clamped to the end of the target month.
Date addMonthsClamped(Date day, int months);

/// Local days, both ends included.
struct DayWindow {
  Date first;
  Date last;
  bool operator==(const DayWindow&) const = default;
};

/// Instants from `begin` (included) to `end` (excluded).
struct InstantWindow {
  Timestamp begin;
  Timestamp end;
  bool operator==(const InstantWindow&) const = default;
};

/// The instants `window` covers in `zone`: from the start of its first local day to the start of
/// the day after its last (the offset in force just before each local midnight).
InstantWindow instantsOf(const DayWindow& window, const ZoneRules& zone);

/// "YYYY-MM": the month whose downgrade review `day` falls in (what a member's
/// `tier_reviewed_month` holds once reviewed).
std::string reviewMonthOf(Date day);

// The tier rule, as the terminal and head office both apply it. Each member holds a tier (an
// index into the programme's tiers; a name the programme lacks counts as the entry tier) and
// the month it was last reviewed. The net spend of a window is the sales' totals minus the
// refunds, by the instant they happened, over the window's local days.

/// The window a sale on local day `today` is judged over: the 12 months that end today.
DayWindow saleTierWindow(Date today);

/// Whether a sale of `saleTotal` may raise a member holding `tierBefore`: it adds spend and a
/// higher tier exists. Callers sum the window's spend only then.
bool saleMayRaiseTier(std::size_t tierBefore, Money saleTotal, std::span<const Tier> tiers);

/// The tier after a sale of `saleTotal`, given the net spend of saleTierWindow including the
/// sale: the tier the spend reaches when higher (the upgrade: the sale itself earned at
/// `tierBefore`), else `tierBefore`. Never lower.
std::size_t tierAfterSale(std::size_t tierBefore, Money saleTotal, Money rollingSpend, std::span<const Tier> tiers);

/// Whether the monthly downgrade review is due on local day `today`: the member holds a tier
/// above the entry tier and was not reviewed (nor upgraded) in today's month. `reviewedMonth` is
/// "" when never reviewed.
bool tierReviewDue(std::size_t current, std::string_view reviewedMonth, Date today);

/// The window the review of `today`'s month looks at: the 12 months that ended the day before
/// the month began.
DayWindow reviewTierWindow(Date today);

/// The tier after the review, given the net spend of reviewTierWindow: the tier the spend
/// reaches when lower, else `current`. Never higher (upgrades happen at the crossing sale).
std::size_t tierAfterReview(std::size_t current, Money reviewSpend, std::span<const Tier> tiers);

// [SECTION] Lots and expiry

/// Last local day on which points earned on `earnedOn` can be used.
Date lotExpiresOn(Date earnedOn, const ExpiryRule& rule);

/// Points a ledger entry adds to lots when the balance goes from `before` to `after`.
std::int64_t lotCredit(std::int64_t before, std::int64_t after);

/// Points a ledger entry takes from lots when the balance goes from `before` to `after`.
std::int64_t lotDebit(std::int64_t before, std::int64_t after);

struct LotRemaining {
  std::int64_t lotId = 0;
  std::int64_t remaining = 0;
};

struct LotTake {
  std::int64_t lotId = 0;
  std::int64_t take = 0;
  bool operator==(const LotTake&) const = default;
};

/// What to take from each lot (given oldest expiry first) to consume `points`: first in, first
/// out. Takes at most what the lots hold.
std::vector<LotTake> consumeFifo(std::span<const LotRemaining> oldestFirst, std::int64_t points);

}  // namespace loyalty
