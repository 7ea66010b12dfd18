#pragma once
/// @brief What the UI thread and the store worker say to each other: Commands go to the worker,
/// Replies (immutable snapshots) come back through the main-thread queue.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "loyalty/core/result.hpp"
#include "loyalty/terminal/counter_queries.hpp"
#include "loyalty/terminal/counter_service.hpp"
#include "loyalty/terminal/feedback.hpp"
#include "loyalty/terminal/staff.hpp"

namespace loyalty::ui {

using terminal::MemberDetail;
using terminal::MemberView;

// [SECTION] Commands (UI -> worker)

namespace cmd {
struct SignIn { std::string staffId, pin; };
/// Lookups are numbered: the worker skips one when a newer is queued, the UI drops stale answers.
struct Lookup { std::uint64_t seq = 0; std::string query; bool jumpIfOne = false; };
struct Member { std::string memberId; };
struct Enroll { terminal::EnrollRequest request; };
struct Sale { terminal::SaleRequest request; };
struct Redeem { terminal::RedeemRequest request; };
struct Refund { terminal::RefundRequest request; };
struct Survey { terminal::SurveyAnswer answer; };
struct Complaint { terminal::ComplaintInput complaint; };
struct Catalog {};
/// The figures of the store's local day containing `at` (the UI clock; the store's zone).
struct DaySummary { Timestamp at; };
/// Outbox backlog; `full` adds the store's counts (full scans: only on request).
struct Status { bool full = false; };
/// Member details (screen_member_details.cpp): a change, a consent decision, the member's own
/// copy of their data, and the consent history shown beside the consent text.
struct UpdateMember { terminal::MemberUpdateRequest request; };
struct Consent { terminal::ConsentRequest request; };
struct ExportMember { std::string memberId; std::optional<std::string> staffId; Timestamp at; };
struct ConsentHistory { std::string memberId; };
/// What a refund would do (numbered like lookups: the UI drops stale answers).
struct RefundPreview { std::uint64_t seq = 0; terminal::RefundPreviewRequest request; };
struct Exchange { terminal::ExchangeRequest request; };
/// A supervisor (by PIN) unlocks a staff account locked after wrong PINs.
struct UnlockStaff { std::string staffId, supervisorPin; };
/// The open sale priced (CounterService::quoteSale); numbered like lookups.
struct QuoteSale { std::uint64_t seq = 0; terminal::SaleRequest request; };
/// The product search of the sale screen; numbered like lookups.
struct Products { std::uint64_t seq = 0; std::string query; };
/// A code a scanner read on the sale or member screen: the product whose barcode (or sku) it is.
struct ScanProduct { std::string code; };
/// The promotions running on the store's local day containing `at` (the customer display's idle
/// screen).
struct Promotions { Timestamp at; };
/// A slice of the store's member names, for their characters (CounterQueries::nameCharacters).
struct NameCharacters { std::int64_t afterRowid = 0; };
}  // namespace cmd

using Command = std::variant<cmd::SignIn, cmd::Lookup, cmd::Member, cmd::Enroll, cmd::Sale,
                             cmd::Redeem, cmd::Refund, cmd::Survey, cmd::Complaint, cmd::Catalog,
                             cmd::DaySummary, cmd::Status, cmd::UpdateMember, cmd::Consent,
                             cmd::ExportMember, cmd::ConsentHistory, cmd::RefundPreview, cmd::Exchange,
                             cmd::UnlockStaff, cmd::QuoteSale,
                             cmd::Products, cmd::ScanProduct, cmd::Promotions, cmd::NameCharacters>;

// [SECTION] Replies (worker -> UI)

struct StoreInfo {
  std::string dataDir;
  std::string storeId;
  std::string terminalId;
  std::string language;
  std::string currency;
  std::string consentVersion;
  std::int64_t supervisorPinAbovePoints = 0;
  std::int64_t redeemPointsPerUnit = 100;
  std::string surveyScale = "csat5";          ///< [survey] scale: the customer display's question
  std::vector<std::string> surveyDimensions;  ///< [survey] dimensions, asked after it
};

using Reward = terminal::CatalogueReward;
using DayFigures = terminal::DayFigures;

namespace reply {
struct StoreOpened { Result<StoreInfo> info; };
struct SignedIn { Result<terminal::StaffMember> staff; };
struct Lookup { std::uint64_t seq = 0; bool jumpIfOne = false; Result<std::vector<MemberView>> members; };
/// `history[i].at` is the store's local time as its clock shows it ("2026-12-02 09:50").
struct Member { Result<MemberDetail> detail; std::vector<terminal::HistoryEntry> history; };
struct Enrolled { Result<MemberView> member; };
struct Sold { terminal::SaleRequest request; Result<terminal::SaleResult> result; };
struct Redeemed { Result<terminal::RedeemResult> result; };
struct Refunded { Result<terminal::RefundResult> result; };
struct SurveyRecorded { loyalty::Status status; };
struct ComplaintFiled { loyalty::Status status; };
struct Catalog { std::vector<Reward> rewards; };
struct Day { Date day; DayFigures figures; };
struct Status { std::int64_t outboxPending = 0; std::optional<terminal::Stats> stats; };
struct Promotions { Date day; std::vector<Promotion> running; };
/// The store could not do what was asked (broken disk, bug): shown, never hidden.
struct Failed { std::string what; };
/// Member details: `phone` is the number the change asked for (a taken one can be opened).
struct MemberUpdated { std::string phone; Result<MemberView> result; };
struct ConsentRecorded { Result<MemberView> result; };
struct MemberExported { Result<terminal::MemberExport> result; };
struct ConsentHistory { std::string memberId; Result<std::vector<terminal::ConsentDecision>> result; };
struct RefundPreviewed { std::uint64_t seq = 0; Result<terminal::RefundPreview> preview; };
struct Exchanged { Result<terminal::ExchangeResult> result; };
struct StaffUnlocked { std::string staffId; loyalty::Status status; };
struct SaleQuoted { std::uint64_t seq = 0; Result<terminal::SaleQuote> quote; };
struct Products { std::uint64_t seq = 0; Result<std::vector<Product>> products; };
/// The product a scanned code names, if the catalogue has one.
struct ProductScanned { std::string code; std::optional<Product> product; };
struct NameCharacters { terminal::CounterQueries::NameCharacters slice; };
}  // namespace reply

using Reply = std::variant<reply::StoreOpened, reply::SignedIn, reply::Lookup, reply::Member,
                           reply::Enrolled, reply::Sold, reply::Redeemed, reply::Refunded,
                           reply::SurveyRecorded, reply::ComplaintFiled, reply::Catalog,
                           reply::Day, reply::Status, reply::Failed, reply::MemberUpdated,
                           reply::ConsentRecorded, reply::MemberExported, reply::ConsentHistory,
                           reply::RefundPreviewed, reply::Exchanged, reply::StaffUnlocked,
                           reply::SaleQuoted, reply::Products, reply::ProductScanned, reply::Promotions,
                           reply::NameCharacters>;

}  // namespace loyalty::ui
