#pragma once
/// @brief Promotion management at head office: the programme a dashboard editor writes (checked
/// by the same reader as a terminal's configuration file), its preview on sample baskets (the
/// terminal's own sale planner), and what each promotion did (GET /api/v1/reports/promotions).
///
/// * The editor's values are written into the TOML text head office publishes; values are put
///   in as typed, so a wrong one is refused by parseProgramme with its key named, exactly as a
///   terminal would refuse it. Sections and keys the editor does not show are kept as they were.
/// * The report reads the promotions each sale event carries (`promotions: [{id, kind, effect,
///   discount?}]`). A promotion's discount is its `discount` when the terminal sent it; older
///   events without it count the sale's whole discount when that sale applied one discounting
///   promotion, else nothing for that sale (`discount_known` says whether every sale had it).
/// * Lift, per promotion, over the stores where it applied in the range ("with") and the stores
///   with sales in either period where it did not ("without"): net revenue in the range and in
///   the same number of days just before it; `vs_before` = with's growth, `vs_stores_without` =
///   with's growth minus without's (decimal fractions, 4 places; null when a base is zero).

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loyalty/core/planners.hpp"
#include "loyalty/core/result.hpp"
#include "loyalty/core/rules.hpp"
#include "loyalty/hq/store.hpp"

namespace httplib {
class Server;
}  // namespace httplib

namespace loyalty::hq {

class HqService;
struct DashboardAccess;

/// The newest programme text head office published ("" when none: terminals keep the defaults).
std::string publishedProgrammeText(SqlConnection& c);

/// A programme text checked as a terminal reads it; the refusal names field "toml" and says the
/// line and the key.
Result<ProgrammeRules> checkProgrammeText(const std::string& text);

/// One tier or promotion row of the editor: field name -> value as typed ("" = not given).
using EditorRow = std::vector<std::pair<std::string, std::string>>;

/// The keys of an editor's promotion row (those of docs/configuration.md), in the page's order;
/// and of a tier row.
const std::vector<std::string>& promotionEditorKeys();
const std::vector<std::string>& tierEditorKeys();

/// What the editor sends: the rates, the tiers and the promotions, in order.
struct ProgrammeDraft {
  std::string earnPointsPerUnit;
  std::string redeemPointsPerUnit;
  std::vector<EditorRow> tiers;       ///< name, threshold, multiplier
  std::vector<EditorRow> promotions;  ///< id, kind and the kind's keys (docs/configuration.md)
};

/// The editor's rows of a programme (what the page shows to edit).
ProgrammeDraft draftOf(const ProgrammeRules& rules);

/// `base` (a published text, maybe "") with [loyalty]'s two rates, [[tier]] and [[promotion]]
/// replaced by the draft's. Throws nothing: a base that does not parse is replaced whole.
std::string applyDraft(const std::string& base, const ProgrammeDraft& draft);

/// A sample basket: "SKU qty [price]" items separated by commas; a missing price (and every
/// category) comes from head office's products.
struct SampleBasket {
  std::string text;
  std::vector<PricedLine> lines;
};

/// Parses the preview's baskets, one a line (at most 20). Errors name "baskets".
Result<std::vector<SampleBasket>> parseBaskets(SqlConnection& c, const std::string& text);

/// Each basket priced with `rules` on `day` for a non-member and a member of each tier: rows
/// {basket, customer, subtotal, discount, total, points, promotions: [effect], gifts: [sku]}.
nlohmann::json previewBaskets(const ProgrammeRules& rules, const std::vector<SampleBasket>& baskets, Date day);

/// GET /api/v1/reports/promotions: rows {promotion_id, kind, sales, members, discount, points,
/// net_revenue, discount_known, stores, lift{...}} for `range` (both ends given) and stores.
nlohmann::json promotionReport(SqlConnection& c, const DayRange& range, const std::vector<std::string>& stores);

/// The promotion API and the dashboard's /dashboard/programme (editor, preview, publish) and
/// /dashboard/promotions (results) pages.
void registerPromotionRoutes(httplib::Server& server, HqService& service, DashboardAccess access);

}  // namespace loyalty::hq
