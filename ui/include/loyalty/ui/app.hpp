#pragma once
/// @brief The counter app as values: view-models (built from worker snapshots), ui-states (what
/// the user is typing/touching), intents (what a screen asks for) and the pure functions that
/// tie them together. No I/O here: commands leave through AppModel::outbox.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "loyalty/ui/i18n.hpp"
#include "loyalty/ui/protocol.hpp"

namespace loyalty::ui {

enum class Screen { kLogin, kLookup, kMember, kEnroll, kSale, kReceipt, kRedeem, kRefund,
                    kComplaint, kDayEnd, kSettings };

/// A key from the keyboard, a hardware keypad or a keyboard-wedge scanner, as the shell saw it.
struct TypedKey {
  enum class Kind { kText, kEnter, kBackspace, kDelete, kEscape, kSelectAll };
  Kind kind = Kind::kText;
  std::string text;     ///< kText: one UTF-8 character
  std::uint32_t ms = 0; ///< when the event arrived (milliseconds, any fixed origin)
};
using TypedKeys = std::vector<TypedKey>;

/// A keyboard-wedge scanner types a code fast and ends it with Enter; a person types slower.
/// A scan is at least kScanMinChars characters each within kScanGapMs of the one before,
/// then Enter within kScanGapMs. Anything slower is typing (it goes to the focused field, or
/// nowhere) and never stays behind to spoil the next scan. Keys are stamped when the app reads
/// them, between frames: a gap as long as a frame took counts as no gap (scanGapMs()).
inline constexpr std::uint32_t kScanGapMs = 35;
inline constexpr std::uint32_t kScanGapMaxMs = 300;
inline constexpr std::size_t kScanMinChars = 6;
struct ScanBurst {
  std::string text;
  std::uint32_t lastMs = 0;
  std::string before;  ///< the focused field as it was when the burst began
};

/// An error shown next to the input it is about (Error::field) or in the screen's banner.
struct FieldError {
  std::string field;
  std::string message;
};

// [SECTION] Intents: what the screens ask for

namespace intent {
struct SignIn { std::string staffId, pin; };
struct SignOut {};
struct Go { Screen screen; };
struct Search { std::string query; bool jumpIfOne = false; };
struct OpenMember { std::string memberId; };
struct CloseMember {};
struct Enroll { std::string phone, name, birthday, referrer; bool consent = false; };
struct SaleLine { std::string description; std::string amount; };
struct Sale { std::vector<SaleLine> lines; };
struct Redeem { std::optional<std::string> rewardId; std::int64_t points = 0; std::string supervisorPin; };
struct Refund { std::string saleId; };
/// The customer's answer: the configured scale's score, and the dimensions they answered (1..5).
struct Survey { int score = 0; std::map<std::string, int> dimensions = {}; };
struct SkipSurvey {};
struct Complaint { std::string category, description; bool aboutMember = false; };
struct SetLanguage { Lang lang; };
/// The answer to the confirmation on screen (AppModel::confirm): go ahead, or keep things as
/// they are.
struct Confirm { bool yes = false; };
/// A scanned member code while a sale is open: true = the member joins this sale, false = the
/// sale is discarded and the member opened.
struct ScanIntoSale { bool keepSale = true; };
struct RemoveLine { std::size_t index = 0; };
}  // namespace intent

using Intent = std::variant<intent::SignIn, intent::SignOut, intent::Go, intent::Search,
                            intent::OpenMember, intent::CloseMember, intent::Enroll, intent::Sale,
                            intent::Redeem, intent::Refund, intent::Survey, intent::SkipSurvey,
                            intent::Complaint, intent::SetLanguage, intent::Confirm,
                            intent::ScanIntoSale, intent::RemoveLine>;
using Intents = std::vector<Intent>;

// [SECTION] View-models (read-only for draw functions)

struct LoginViewModel {
  bool storeReady = false;
  bool busy = false;
  std::string storeError;
  FieldError error;
};

struct LookupViewModel {
  bool busy = false;
  std::vector<MemberView> results;
  bool searched = false;  ///< results answer the current query (empty = nobody found)
  FieldError error;
};

struct MemberViewModel {
  std::optional<MemberDetail> detail;
  std::vector<terminal::HistoryEntry> history;
  bool busy = false;
  std::string banner;  ///< e.g. "Redeemed 500 points"
};

struct EnrollViewModel {
  bool busy = false;
  std::string consentVersion;
  FieldError error;
};

struct SaleViewModel {
  std::optional<MemberView> member;
  bool busy = false;
  FieldError error;
};

struct ReceiptViewModel {
  std::optional<MemberView> member;
  terminal::SaleRequest request;
  std::optional<terminal::SaleResult> result;
};

struct RedeemViewModel {
  std::optional<MemberView> member;
  std::vector<Reward> rewards;
  std::int64_t supervisorAbove = 2000;
  std::int64_t pointsPerUnit = 100;
  bool busy = false;
  FieldError error;
};

struct RefundViewModel {
  bool busy = false;
  std::optional<terminal::RefundResult> result;
  FieldError error;
};

struct ComplaintViewModel {
  std::optional<MemberView> member;
  bool busy = false;
  bool filed = false;
  FieldError error;
};

struct DayEndViewModel {
  std::optional<DayFigures> figures;
  std::int64_t outboxPending = 0;
  std::string day;  ///< YYYY-MM-DD, the store's local day the figures are for
};

struct SettingsViewModel {
  std::optional<StoreInfo> store;
  std::optional<terminal::Stats> stats;
  std::int64_t outboxPending = 0;
  std::string staffName;
  std::string staffRole;
};

/// The customer-facing window.
struct CustomerViewModel {
  std::optional<MemberView> member;
  std::vector<terminal::Greeting> greetings;
  std::optional<terminal::SaleResult> lastSale;
  bool askSurvey = false;   ///< after a sale, until answered or skipped
  bool thanked = false;     ///< survey answered
  std::vector<intent::SaleLine> cart;  ///< the open sale's lines (amounts as 128.50)
  std::optional<terminal::RefundResult> refund;  ///< the refund just made, until the next customer
};

// [SECTION] UI states (what the user is typing/touching; owned by the UI thread)

struct LoginUiState { std::string staffId, pin; int focus = 0; };  ///< 0 staff id, 1 PIN
struct LookupUiState {
  std::string digits;
  std::string name;
  std::string lastSent;
  int focus = 0;  ///< field a keyboard writes to: 0 number, 1 name
};
struct EnrollUiState {
  std::string phone, name, birthday, referrer;
  bool consent = false;
  int focus = 0;  ///< field the keypad writes to: 0 phone, 1 birthday, 2 referrer
};
struct SaleUiState { std::string amount; std::string description; std::vector<intent::SaleLine> lines; };
struct RedeemUiState {
  int tab = 0;  ///< 0 catalogue, 1 points
  std::optional<std::string> rewardId;
  std::string points;
  std::string supervisorPin;
  bool confirming = false;
};
struct RefundUiState { std::string saleId; };
struct ComplaintUiState { std::string category = "service"; std::string description; bool aboutMember = true; };

// [SECTION] The customer display (customer_display.cpp)

/// What the store set the customer display up to ask ([survey]) and show while idle.
struct CustomerDisplaySetup {
  std::string surveyScale = "csat5";          ///< "csat5" (1..5 stars) or "nps10" (0..10)
  std::vector<std::string> surveyDimensions;  ///< each asked 1..5 after the main question
  std::vector<Promotion> promotions;          ///< running on the store's day (the idle screen)
};
/// The customer's own taps on their display: their e-card, and the survey answered so far.
struct CustomerUiState {
  std::string cardOf;            ///< the member whose QR e-card is on screen (empty: none)
  std::string surveyOf;          ///< the sale the answers below are about
  std::optional<int> score;      ///< the main question, once answered
  std::size_t dimension = 0;     ///< the dimension being asked (index into surveyDimensions)
  std::map<std::string, int> dimensions;  ///< answered so far
};

// [SECTION] The whole app

struct AppModel {
  Lang lang = Lang::kZh;
  Screen screen = Screen::kLogin;
  std::optional<StoreInfo> store;
  std::optional<terminal::StaffMember> staff;
  std::int64_t outboxPending = 0;
  std::string failure;      ///< store failure (disk, bug): shown until dismissed
  std::string idPrefix = "T";  ///< + counter: sale/redemption/refund/survey ids
  std::uint64_t nextId = 1;
  std::uint64_t lookupSeq = 0;
  Timestamp now{};          ///< the UI clock, set by the shell each frame
  std::uint32_t frameMs = 0;  ///< how long the last frame took (the shell's measure)

  LoginViewModel login;
  LookupViewModel lookup;
  MemberViewModel member;
  EnrollViewModel enroll;
  SaleViewModel sale;
  ReceiptViewModel receipt;
  RedeemViewModel redeem;
  RefundViewModel refund;
  ComplaintViewModel complaint;
  DayEndViewModel dayEnd;
  SettingsViewModel settings;
  CustomerViewModel customer;

  LoginUiState loginUi;
  LookupUiState lookupUi;
  EnrollUiState enrollUi;
  SaleUiState saleUi;
  RedeemUiState redeemUi;
  RefundUiState refundUi;
  ComplaintUiState complaintUi;
  ScanBurst scan;           ///< the keys of what may be a scanner's burst (see kScanGapMs)
  bool fieldSelected = false;  ///< Ctrl+A: the focused field's text is selected (next key replaces it)
  /// What waits for "discard the open sale?" (sign-out, cancel, another screen, another member).
  std::optional<Intent> pendingLeave;
  /// A member code scanned while a sale was open: ask before it changes the sale.
  std::optional<std::string> pendingScan;
  bool scanJoinsSale = false;  ///< the next jump-lookup's member joins the open sale
  /// Members congratulated on their new tier in this session (the greeting is said once).
  std::set<std::string> congratulated;
  /// The customer display's setup and the customer's taps on it.
  CustomerDisplaySetup customerSetup;
  CustomerUiState customerUi;

  std::vector<Command> outbox;  ///< to the store worker, drained by the shell
};

/// Applies a screen's intent: navigation, validation the UI can do itself, commands to send.
void update(AppModel& app, const Intent& intent);
/// Applies a worker reply (a snapshot) to the view-models.
void apply(AppModel& app, Reply reply);
/// True while the store works on something the user waits for (the busy indicator; the shell
/// keeps drawing frames for the spinner only then).
bool busy(const AppModel& app);
/// Keys from a keyboard, keypad or scanner that no on-screen text field took: into the focused
/// field of the screen (Backspace, Delete, Escape, Ctrl+A edit it; Enter is the screen's next
/// step), and a scanner's burst anywhere opens the member it names.
void keys(AppModel& app, const TypedKeys& keys);
/// The points a redemption takes: the chosen reward's, or the number typed for points-for-cash.
std::int64_t redeemPoints(const RedeemViewModel& vm, const RedeemUiState& s);
/// True while the open sale has lines or an amount typed (leaving it asks first).
bool saleOpen(const AppModel& app);
/// The open sale's lines as the customer sees them, with the amount being typed as the last.
std::vector<intent::SaleLine> cartOf(const AppModel& app);
/// An amount as the counter shows it (128.50), or the text as typed when it is not one.
std::string showAmount(const std::string& amount);

}  // namespace loyalty::ui
