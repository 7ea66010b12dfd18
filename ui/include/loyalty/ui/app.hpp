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
#include "loyalty/ui/keyboard.hpp"
#include "loyalty/ui/protocol.hpp"

namespace loyalty::ui {

enum class Screen { kLogin, kLookup, kMember, kEnroll, kSale, kReceipt, kRedeem, kRefund,
                    kComplaint, kDayEnd, kSettings, kMemberDetails };

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
/// The most of one product a sale line takes from the +/- keys.
inline constexpr std::int64_t kMaxLineQty = 9999;
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
/// A line of the open sale: a catalogue product (`sku` set, `qty` of it at `unitPrice`, `amount`
/// their catalogue price) or an amount typed for an item not in the catalogue (`sku` empty, qty 1).
struct SaleLine {
  std::string description;
  std::string amount;
  std::string sku;
  std::int64_t qty = 1;
  std::string unitPrice;
};
struct Sale { std::vector<SaleLine> lines; std::int64_t redeemPoints = 0; std::string supervisorPin; };
struct Redeem { std::optional<std::string> rewardId; std::int64_t points = 0; std::string supervisorPin; };
/// A step of a refund by line (the refund screen) or an exchange.
struct Refund {
  enum class Step {
    kFind,      ///< the receipt typed or scanned (saleId): show its lines and a preview
    kQty,       ///< line `line`'s quantity to return, by `delta`
    kReview,    ///< confirm what was previewed (with a supervisor's PIN when it needs one)
    kBack,      ///< back to the lines
    kMake,      ///< make the refund as reviewed
    kExchange,  ///< the returned lines are exchanged: open the sale screen for the new lines
    kCancelExchange,
  };
  Step step = Step::kFind;
  std::string saleId = {};
  std::size_t line = 0;
  int delta = 0;
};
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
/// Member details (screen_member_details.cpp): the fields as typed (only what differs from the
/// member is sent; an empty phone keeps the number, an empty birthday clears it).
struct SaveMemberDetails { std::string name, phone, birthday, language; };
struct SetConsent { bool consent = false; };
struct ShowMemberData {};
/// A phone that belongs to another member (enrolment or a change of phone): open that member.
struct OpenPhoneOwner { std::string phone; };
/// A supervisor unlocks the account locked at sign-in (UnlockUiState).
struct Unlock {
  enum class Step { kOpen, kSubmit, kCancel };
  Step step = Step::kOpen;
};
/// The sale screen's products: search, add (the same product again: one more), quantity +/-.
struct FindProducts { std::string query; };
struct AddProduct { Product product; };
struct ChangeQty { std::size_t index = 0; std::int64_t delta = 0; };
/// A code typed into the product search and confirmed with Enter: the product it names.
struct ProductCode { std::string code; };
}  // namespace intent

using Intent = std::variant<intent::SignIn, intent::SignOut, intent::Go, intent::Search,
                            intent::OpenMember, intent::CloseMember, intent::Enroll, intent::Sale,
                            intent::Redeem, intent::Refund, intent::Survey, intent::SkipSurvey,
                            intent::Complaint, intent::SetLanguage, intent::Confirm,
                            intent::ScanIntoSale, intent::RemoveLine, intent::SaveMemberDetails,
                            intent::SetConsent, intent::ShowMemberData, intent::OpenPhoneOwner, intent::Unlock, intent::FindProducts,
                            intent::AddProduct, intent::ChangeQty, intent::ProductCode>;
using Intents = std::vector<Intent>;

/// An amount line of the open sale (an item not in the catalogue).
inline intent::SaleLine amountLine(std::string description, std::string amount) {
  return {std::move(description), std::move(amount), {}, 1, {}};
}

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
  std::string takenPhone;  ///< the phone of the phone error belongs to another member: offer them
};

struct SaleViewModel {
  std::optional<MemberView> member;
  bool busy = false;
  FieldError error;
  std::vector<Product> found;      ///< the product search's results, best first
  bool searched = false;           ///< `found` answers the search as typed (empty = none)
  /// The open sale as the store prices it (CounterService::quoteSale): member prices,
  /// promotions, points paid and to earn. Absent while the cart is empty or refused.
  std::optional<terminal::SaleQuote> quote;
  bool quoteCurrent = false;       ///< `quote` answers the cart as it is now
  FieldError pointsError;          ///< why the points typed cannot pay
  std::int64_t supervisorAbove = 2000;  ///< points paid above this need a supervisor's PIN
};

struct ReceiptViewModel {
  std::optional<MemberView> member;
  terminal::SaleRequest request;
  std::optional<terminal::SaleResult> result;
  std::optional<terminal::SaleQuote> quote;  ///< the lines as priced when paid
  std::int64_t pointsPerUnit = 100;          ///< points per 1.00 paid with points
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
  std::optional<terminal::RefundPreview> preview;  ///< the receipt found, and what the chosen lines pay back
  std::uint64_t previewSeq = 0;                    ///< answers to older previews are dropped
  std::optional<terminal::ExchangeResult> exchanged;
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
  int focus = 0;  ///< field the keypad writes to: 0 phone, 1 birthday, 2 referrer; 3 name (on-screen keyboard)
};
struct SaleUiState {
  std::string amount;  ///< an amount for an item not in the catalogue
  std::string description;
  std::vector<intent::SaleLine> lines;
  std::string search;         ///< product search: barcode, SKU, name or pinyin
  std::string points;         ///< points the member pays with
  std::string supervisorPin;  ///< for points above the supervisor limit
  int focus = 0;  ///< field the keypad and a keyboard write to: 0 amount, 1 points, 2 supervisor PIN
};
struct RedeemUiState {
  int tab = 0;  ///< 0 catalogue, 1 points
  std::optional<std::string> rewardId;
  std::string points;
  std::string supervisorPin;
  bool confirming = false;
};
struct RefundUiState {
  std::string saleId;
  std::vector<std::int64_t> qty;  ///< per preview line: how many to return
  bool reviewing = false;         ///< the confirmation step
  std::string supervisorPin;
};
struct ComplaintUiState { std::string category = "service"; std::string description; bool aboutMember = true; };

/// The member details screen (screen_member_details.cpp): change details, consent, "my data".
struct MemberDetailsViewModel {
  std::optional<MemberView> member;  ///< as the store has it now
  std::string storeLanguage = "zh-CN";  ///< a member without a language of their own has the store's
  std::string consentVersion;           ///< the version of the consent text the counter shows now
  std::vector<terminal::ConsentDecision> consents;  ///< oldest first
  std::optional<terminal::MemberExport> data;       ///< "show my data", once asked for
  bool busy = false;
  FieldError error;
  std::string takenPhone;  ///< the new phone belongs to another member: offer to open them
  std::optional<Msg> banner;  ///< what was just done ("Changes saved."), in the language shown
};
struct MemberDetailsUiState {
  enum Tab { kDetails, kConsent, kData };
  int tab = kDetails;
  std::string name, phone, birthday, language;
  int focus = 0;  ///< field keys write to: 0 new phone, 1 birthday (keypad), 2 name (on-screen keyboard)
};

/// What an exchange returns (from the refund screen's preview) while the new lines are sold.
struct ExchangeState {
  std::string saleId;
  std::vector<terminal::RefundLineInput> returnLines;
  Money returned;             ///< what the returned lines pay back (the preview's amount)
  std::string supervisorPin;  ///< given at the review when the refund needs one
};

/// The sign-in screen's unlock: an account locked after wrong PINs, unlocked by a supervisor's PIN.
struct UnlockUiState {
  std::string lockedStaffId;  ///< set when sign-in said the account is locked
  bool open = false;          ///< the supervisor's PIN is being entered
  std::string supervisorPin;
  bool busy = false;
  FieldError error;
  std::string notice;         ///< "account 7 unlocked"
};

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
  MemberDetailsViewModel memberDetails;
  MemberDetailsUiState memberDetailsUi;
  ScanBurst scan;           ///< the keys of what may be a scanner's burst (see kScanGapMs)
  bool fieldSelected = false;  ///< Ctrl+A: the focused field's text is selected (next key replaces it)
  /// What waits for "discard the open sale?" (sign-out, cancel, another screen, another member).
  std::optional<Intent> pendingLeave;
  /// A member code scanned while a sale was open: ask before it changes the sale.
  std::optional<std::string> pendingScan;
  bool scanJoinsSale = false;  ///< the next jump-lookup's member joins the open sale
  /// Members congratulated on their new tier in this session (the greeting is said once).
  std::set<std::string> congratulated;
  /// The on-screen keyboard (pinyin and Latin) typing into the focused text field.
  KeyboardUiState keyboard;

  /// An exchange under way: the lines going back, while the sale screen takes the new ones.
  std::optional<ExchangeState> exchange;
  UnlockUiState unlockUi;

  /// The customer display's setup and the customer's taps on it.
  CustomerDisplaySetup customerSetup;
  CustomerUiState customerUi;

  std::vector<Command> outbox;  ///< to the store worker, drained by the shell

  // The sale screen's questions to the store, numbered: an answer to an older one is dropped.
  std::uint64_t saleQuoteSeq = 0;
  std::uint64_t productSeq = 0;
  std::string quotedSale;  ///< the cart the last quote was asked for (saleQuoteKey)
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
/// A date typed as digits shown as YYYY-MM-DD (the dashes come by themselves; at most 8 digits).
std::string shapeDate(const std::string& typed);

// [SECTION] The on-screen keyboard's field

/// The focused field when it takes any text (a name, a description): what the on-screen
/// keyboard types into. `id` is its tap-map id.
struct TextTarget {
  std::string* text = nullptr;
  std::size_t maxLen = 0;
  const char* id = "";
};
TextTarget keyboardTarget(AppModel& app);
/// The on-screen keyboard's Enter: the screen's next step, as the hardware Enter key.
void pressEnter(AppModel& app);

/// The refund the refund screen's quantities ask for, by sku (RefundUiState::qty over the preview).
std::vector<terminal::RefundLineInput> refundLinesOf(const RefundViewModel& vm, const RefundUiState& s);

/// The points typed for paying (digits only; 0 when none).
std::int64_t salePoints(const SaleUiState& s);
/// Asks the store to price the open sale when it changed since the last ask (each frame).
void requoteSale(AppModel& app);

}  // namespace loyalty::ui
