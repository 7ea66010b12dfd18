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
#include <string_view>
#include <vector>

#include "loyalty/core/money.hpp"
#include "loyalty/core/rules.hpp"
#include "loyalty/core/time.hpp"

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
