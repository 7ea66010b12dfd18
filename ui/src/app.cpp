#include "loyalty/ui/app.hpp"

#include <algorithm>

#include "loyalty/core/card.hpp"
#include "loyalty/core/money.hpp"
#include "loyalty/core/text.hpp"

namespace loyalty::ui {

namespace {

template <class... F>
struct Overload : F... {
  using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>;

std::string newId(AppModel& app, const char* kind) {
  return app.idPrefix + kind + std::to_string(app.nextId++);
}

/// A refusal under its field, in the UI's language.
FieldError fieldError(const AppModel& app, const Error& e) {
  return {e.field, refusal(app.lang, e.code, e.field, e.message)};
}

std::optional<std::string> nonEmpty(const std::string& s) {
  const std::string_view t = trim(s);
  if (t.empty()) return std::nullopt;
  return std::string(t);
}

std::optional<std::string> currentMemberId(const AppModel& app) {
  if (!app.member.detail) return std::nullopt;
  return app.member.detail->member.memberId;
}

/// Who is signed in: every operation the app sends says so (exec-cli.md, `staff_id`).
std::optional<std::string> signedInStaff(const AppModel& app) {
  if (!app.staff) return std::nullopt;
  return app.staff->staffId;
}

void send(AppModel& app, Command c) { app.outbox.push_back(std::move(c)); }

void search(AppModel& app, const std::string& text, bool jump) {
  const std::string query(trim(text));
  app.lookup.error = {};
  const bool number = looksLikeNumber(query);
  if (query.empty() || (number && digitsOf(query).size() < 4)) {
    ++app.lookupSeq;  // anything in flight is stale now
    app.lookup.results.clear();
    app.lookup.searched = false;
    app.lookup.busy = false;
    return;
  }
  app.lookup.busy = true;
  send(app, cmd::Lookup{++app.lookupSeq, query, jump});
}

/// Asks for a member's detail and history without changing screens.
void fetchMember(AppModel& app, const std::string& memberId) {
  app.member.busy = true;
  if (!app.member.detail || app.member.detail->member.memberId != memberId) {
    app.member.detail.reset();
    app.member.history.clear();
  }
  send(app, cmd::Member{memberId});
}

void openMember(AppModel& app, const std::string& memberId) {
  app.member.busy = true;
  app.member.banner.clear();
  if (!app.member.detail || app.member.detail->member.memberId != memberId) {
    app.member.detail.reset();
    app.member.history.clear();
  }
  app.screen = Screen::kMember;
  send(app, cmd::Member{memberId});
}

void clearMember(AppModel& app) {
  app.member = {};
  app.customer = {};
  app.customerUi = {};
  app.sale.member.reset();
  app.redeem.member.reset();
  app.complaint.member.reset();
  app.receipt.member.reset();
  app.scanJoinsSale = false;
}

/// The lookup with `query` in its number field, searched and jumping to a single match. The
/// query counts as sent, so the lookup screen does not follow it with a search that lists.
void lookupAndJump(AppModel& app, const std::string& query) {
  app.lookupUi = {};
  app.lookupUi.digits = query;
  app.lookupUi.lastSent = query;
  app.screen = Screen::kLookup;
  search(app, query, true);
}

/// A member's balance changed (sale, redemption): every view of them shows the new one.
void newBalance(AppModel& app, std::int64_t balance) {
  for (std::optional<MemberView>* v : {&app.sale.member, &app.redeem.member, &app.complaint.member,
                                       &app.customer.member, &app.receipt.member}) {
    if (*v) (*v)->points = balance;
  }
  if (app.member.detail) app.member.detail->member.points = balance;
}

/// Intents that leave the sale screen; with a cart open they wait for "discard the sale?".
bool leavesSale(const Intent& in) {
  if (const auto* go = std::get_if<intent::Go>(&in)) return go->screen != Screen::kSale;
  return std::holds_alternative<intent::SignOut>(in) || std::holds_alternative<intent::CloseMember>(in) ||
         std::holds_alternative<intent::OpenMember>(in);
}

std::optional<Money> positiveAmount(const std::string& text) {
  if (text.empty()) return std::nullopt;
  auto m = Money::parse(text, "amount");
  if (!m || m->minor() <= 0) return std::nullopt;
  return *m;
}

}  // namespace

void update(AppModel& app, const Intent& in) {
  if (app.screen == Screen::kSale && leavesSale(in)) {
    if (saleOpen(app)) {
      app.pendingLeave = in;  // the cart is someone's: ask first (intent::Confirm)
      return;
    }
    app.saleUi = {};
    app.pendingScan.reset();
  }
  std::visit(
      Overload{
          [&](const intent::SignIn& i) {
            app.login.error = {};
            if (trim(i.staffId).empty()) {
              app.login.error = {"staff_id", tr(app.lang, Msg::kErrStaffIdMissing)};
              return;
            }
            if (i.pin.size() < 4) {
              app.login.error = {"pin", tr(app.lang, Msg::kErrPinShort)};
              return;
            }
            app.login.busy = true;
            send(app, cmd::SignIn{std::string(trim(i.staffId)), i.pin});
          },
          [&](const intent::SignOut&) {
            // The next cashier starts from nothing: no cart, no half-typed form, no keys.
            clearMember(app);
            app.staff.reset();
            app.loginUi = {};
            app.lookupUi = {};
            app.lookup = {};
            app.saleUi = {};
            app.sale.error = {};
            app.enrollUi = {};
            app.enroll.error = {};
            app.redeemUi = {};
            app.refundUi = {};
            app.refund = {};
            app.complaintUi = {};
            app.scan = {};
            app.fieldSelected = false;
            app.pendingLeave.reset();
            app.pendingScan.reset();
            app.screen = Screen::kLogin;
          },
          [&](const intent::Go& i) {
            if (!app.staff && i.screen != Screen::kLogin) return;
            if (i.screen == Screen::kSale && app.screen != Screen::kSale) app.saleUi = {};  // a new cart
            app.screen = i.screen;
            switch (i.screen) {
              case Screen::kLookup:
                // Back at the lookup the member in front of the counter is done: a sale started
                // from here must not be credited to them.
                clearMember(app);
                break;
              case Screen::kRedeem:
                app.redeem.error = {};
                app.redeemUi = {};
                send(app, cmd::Catalog{});
                break;
              case Screen::kDayEnd:
                // The store's local day (its zone, not the machine's) is the service's to say.
                send(app, cmd::DaySummary{app.now});
                break;
              case Screen::kSettings:
                send(app, cmd::Status{true});
                break;
              case Screen::kComplaint:
                app.complaint.filed = false;
                app.complaint.error = {};
                break;
              case Screen::kEnroll:
                app.enroll.error = {};
                break;
              case Screen::kRefund:
                app.refund = {};
                app.refundUi = {};
                break;
              case Screen::kSale:
                app.sale.error = {};
                app.pendingScan.reset();
                break;
              default:
                break;
            }
          },
          [&](const intent::Search& i) { search(app, i.query, i.jumpIfOne); },
          [&](const intent::OpenMember& i) { openMember(app, i.memberId); },
          [&](const intent::CloseMember&) {
            clearMember(app);
            app.lookupUi = {};
            app.lookup = {};
            app.screen = Screen::kLookup;
          },
          [&](const intent::Enroll& i) {
            terminal::EnrollRequest r;
            r.phone = i.phone;
            r.name = i.name;
            r.birthday = nonEmpty(i.birthday);
            r.referrer = nonEmpty(i.referrer);
            r.consentMarketing = i.consent;
            r.at = app.now;
            r.staffId = signedInStaff(app);
            app.enroll.error = {};
            app.enroll.busy = true;
            send(app, cmd::Enroll{std::move(r)});
          },
          [&](const intent::Sale& i) {
            app.sale.error = {};
            if (i.lines.empty()) {
              app.sale.error = {"amount", tr(app.lang, Msg::kErrAmountMissing)};
              return;
            }
            for (const auto& line : i.lines) {
              if (!positiveAmount(line.amount)) {
                app.sale.error = {"amount", tr(app.lang, Msg::kErrAmountZero)};
                return;
              }
            }
            terminal::SaleRequest r;
            r.saleId = newId(app, "S");
            r.member = currentMemberId(app);
            r.at = app.now;
            r.staffId = signedInStaff(app);
            for (std::size_t n = 0; n < i.lines.size(); ++n) {
              terminal::SaleLineInput line;
              line.sku = "ITEM-" + std::to_string(n + 1);
              line.description = nonEmpty(i.lines[n].description);
              line.qty = 1;
              line.unitPrice = showAmount(i.lines[n].amount);
              r.lines.push_back(std::move(line));
            }
            app.sale.busy = true;
            send(app, cmd::Sale{std::move(r)});
          },
          [&](const intent::Redeem& i) {
            app.redeem.error = {};
            const auto member = currentMemberId(app);
            if (!member) return;
            terminal::RedeemRequest r;
            r.redemptionId = newId(app, "R");
            r.member = *member;
            r.reward = i.rewardId;
            if (!i.rewardId) r.points = i.points;
            r.supervisorPin = nonEmpty(i.supervisorPin);
            r.at = app.now;
            r.staffId = signedInStaff(app);
            app.redeem.busy = true;
            send(app, cmd::Redeem{std::move(r)});
          },
          [&](const intent::Refund& i) {
            app.refund.error = {};
            app.refund.result.reset();
            if (trim(i.saleId).empty()) {
              app.refund.error = {"sale_id", tr(app.lang, Msg::kErrReceiptMissing)};
              return;
            }
            app.refund.busy = true;
            send(app, cmd::Refund{{newId(app, "F"), std::string(trim(i.saleId)), std::nullopt, app.now, signedInStaff(app)}});
          },
          [&](const intent::Survey& i) {
            if (!app.customer.askSurvey) return;
            terminal::SurveyAnswer a;
            a.surveyId = newId(app, "Q");
            if (app.customer.lastSale) a.saleId = app.customer.lastSale->saleId;
            if (app.customer.member) a.memberId = app.customer.member->memberId;
            a.scale = app.customerSetup.surveyScale;
            a.score = i.score;
            a.dimensions = i.dimensions;
            a.at = app.now;
            a.staffId = signedInStaff(app);
            app.customer.askSurvey = false;
            app.customer.thanked = true;
            send(app, cmd::Survey{std::move(a)});
          },
          [&](const intent::SkipSurvey&) { app.customer.askSurvey = false; },
          [&](const intent::Complaint& i) {
            terminal::ComplaintInput c;
            c.complaintId = newId(app, "C");
            if (i.aboutMember) c.memberId = currentMemberId(app);
            c.category = i.category;
            c.description = i.description;
            c.staffId = signedInStaff(app);
            c.at = app.now;
            app.complaint.error = {};
            app.complaint.busy = true;
            send(app, cmd::Complaint{std::move(c)});
          },
          [&](const intent::SetLanguage& i) { app.lang = i.lang; },
          [&](const intent::Confirm& c) {
            app.pendingScan.reset();
            if (!app.pendingLeave) return;
            const Intent leave = *std::exchange(app.pendingLeave, std::nullopt);
            if (!c.yes) return;
            app.saleUi = {};
            update(app, leave);
          },
          [&](const intent::ScanIntoSale& s) {
            if (!app.pendingScan) return;
            const std::string code = *std::exchange(app.pendingScan, std::nullopt);
            if (s.keepSale) {
              app.scanJoinsSale = true;
              app.sale.error = {};
              app.lookupUi.lastSent = code;
              search(app, code, true);
            } else {
              app.saleUi = {};
              clearMember(app);
              lookupAndJump(app, code);
            }
          },
          [&](const intent::RemoveLine& r) {
            if (r.index < app.saleUi.lines.size()) {
              app.saleUi.lines.erase(app.saleUi.lines.begin() + static_cast<std::ptrdiff_t>(r.index));
            }
          },
      },
      in);
}

void apply(AppModel& app, Reply r) {
  std::visit(
      Overload{
          [&](reply::StoreOpened& o) {
            if (!o.info) {
              app.login.storeError = o.info.error().message;
              return;
            }
            app.store = *o.info;
            app.login.storeReady = true;
            app.redeem.supervisorAbove = o.info->supervisorPinAbovePoints;
            app.redeem.pointsPerUnit = o.info->redeemPointsPerUnit;
            app.settings.store = *o.info;
            app.enroll.consentVersion = o.info->consentVersion;
            app.customerSetup.surveyScale = o.info->surveyScale;
            app.customerSetup.surveyDimensions = o.info->surveyDimensions;
          },
          [&](reply::SignedIn& s) {
            app.login.busy = false;
            if (!s.staff) {
              app.login.error = fieldError(app, s.staff.error());
              app.loginUi.pin.clear();
              return;
            }
            app.staff = *s.staff;
            app.settings.staffName = s.staff->name;
            app.settings.staffRole = s.staff->role;
            app.loginUi = {};
            app.login.error = {};
            app.screen = Screen::kLookup;
            send(app, cmd::Promotions{app.now});  // the customer display's idle screen, for today
          },
          [&](reply::Lookup& l) {
            if (l.seq != app.lookupSeq) return;  // the user typed on; a newer answer follows
            app.lookup.busy = false;
            if (!l.members) {
              app.lookup.error = fieldError(app, l.members.error());
              app.lookup.results.clear();
              return;
            }
            app.lookup.results = std::move(*l.members);
            app.lookup.searched = true;
            if (l.jumpIfOne && std::exchange(app.scanJoinsSale, false) && app.screen == Screen::kSale) {
              // A card scanned mid-sale, and the cashier said it is this sale's member.
              if (app.lookup.results.size() == 1) {
                fetchMember(app, app.lookup.results.front().memberId);
              } else {
                app.sale.error = {"member", tr(app.lang, Msg::kNobodyFound)};
              }
              return;
            }
            if (l.jumpIfOne && app.lookup.results.size() == 1 && app.staff) {
              openMember(app, app.lookup.results.front().memberId);
            }
          },
          [&](reply::Member& m) {
            app.member.busy = false;
            if (!m.detail) {
              app.member.banner = m.detail.error().message;
              return;
            }
            app.member.detail = *m.detail;
            app.member.history = std::move(m.history);
            const MemberView& v = m.detail->member;
            app.sale.member = v;
            app.redeem.member = v;
            app.complaint.member = v;
            app.customer.member = v;
            // The customer hears about their new tier once, not at every later lookup.
            app.customer.greetings.clear();
            for (const auto& g : m.detail->greetings) {
              if (g.kind == "tier_upgrade" && !app.congratulated.insert(v.memberId).second) continue;
              app.customer.greetings.push_back(g);
            }
          },
          [&](reply::Enrolled& e) {
            app.enroll.busy = false;
            if (!e.member) {
              app.enroll.error = fieldError(app, e.member.error());
              return;
            }
            app.enrollUi = {};
            openMember(app, e.member->memberId);
          },
          [&](reply::Sold& s) {
            app.sale.busy = false;
            if (!s.result) {
              app.sale.error = fieldError(app, s.result.error());
              return;
            }
            app.receipt.member = app.sale.member;
            app.receipt.request = std::move(s.request);
            app.receipt.result = *s.result;
            app.saleUi = {};
            app.customer.lastSale = *s.result;
            if (s.result->balance) newBalance(app, *s.result->balance);
            app.customer.askSurvey = true;
            app.customer.thanked = false;
            app.screen = Screen::kReceipt;
          },
          [&](reply::Redeemed& d) {
            app.redeem.busy = false;
            if (!d.result) {
              app.redeem.error = fieldError(app, d.result.error());
              app.redeemUi.supervisorPin.clear();
              return;
            }
            newBalance(app, d.result->balance);
            app.redeemUi = {};
            // The member's history and balance as the store has them now (customer display too).
            if (const auto id = currentMemberId(app)) openMember(app, *id);
            app.screen = Screen::kMember;
            app.member.banner = subst(tr(app.lang, Msg::kRedeemedBanner),
                                      {std::to_string(d.result->points), std::to_string(d.result->balance)});
          },
          [&](reply::Refunded& f) {
            app.refund.busy = false;
            if (!f.result) {
              app.refund.error = fieldError(app, f.result.error());
              return;
            }
            app.refund.result = *f.result;
            app.customer.refund = *f.result;
            app.refundUi = {};
          },
          [&](reply::SurveyRecorded& s) {
            if (!s.status) app.failure = s.status.error().message;
          },
          [&](reply::ComplaintFiled& c) {
            app.complaint.busy = false;
            if (!c.status) {
              app.complaint.error = fieldError(app, c.status.error());
              return;
            }
            app.complaint.filed = true;
            app.complaintUi = {};
          },
          [&](reply::Catalog& c) { app.redeem.rewards = std::move(c.rewards); },
          [&](reply::Day& d) {
            app.dayEnd.day = formatDate(d.day);
            app.dayEnd.figures = d.figures;
          },
          [&](reply::Status& s) {
            app.outboxPending = s.outboxPending;
            app.dayEnd.outboxPending = s.outboxPending;
            app.settings.outboxPending = s.outboxPending;
            if (s.stats) app.settings.stats = s.stats;
          },
          [&](reply::Promotions& p) { app.customerSetup.promotions = std::move(p.running); },
          [&](reply::Failed& f) {
            app.failure = f.what;
            app.login.busy = app.lookup.busy = app.member.busy = app.enroll.busy = false;
            app.sale.busy = app.redeem.busy = app.refund.busy = app.complaint.busy = false;
          },
      },
      r);
}

bool busy(const AppModel& app) {
  const bool opening = !app.login.storeReady && app.login.storeError.empty();
  return opening || app.login.busy || app.lookup.busy || app.member.busy || app.enroll.busy || app.sale.busy ||
         app.redeem.busy || app.refund.busy || app.complaint.busy;
}

bool saleOpen(const AppModel& app) { return !app.saleUi.lines.empty() || !app.saleUi.amount.empty(); }

std::string showAmount(const std::string& amount) {
  const auto m = Money::parse(amount, "amount");
  return m ? m->toString() : amount;
}

std::vector<intent::SaleLine> cartOf(const AppModel& app) {
  std::vector<intent::SaleLine> cart;
  if (app.screen != Screen::kSale) return cart;
  for (const auto& l : app.saleUi.lines) cart.push_back({l.description, showAmount(l.amount)});
  if (positiveAmount(app.saleUi.amount)) cart.push_back({app.saleUi.description, showAmount(app.saleUi.amount)});
  return cart;
}

std::int64_t redeemPoints(const RedeemViewModel& vm, const RedeemUiState& s) {
  if (s.tab == 1) {
    std::int64_t points = 0;
    for (const char c : s.points) {
      if (c >= '0' && c <= '9') points = points * 10 + (c - '0');
    }
    return points;
  }
  for (const auto& r : vm.rewards) {
    if (s.rewardId && r.rewardId == *s.rewardId) return r.points;
  }
  return 0;
}

namespace {

// [SECTION] Keyboard, keypad and scanner

enum class Accept { kDigits, kDate, kDecimal, kPhone, kCode, kAny };

/// The field of the current screen a keyboard writes to (the one the keypad writes to).
struct Field {
  std::string* text = nullptr;
  Accept accept = Accept::kAny;
  std::size_t maxLen = 0;
};

Field focusedField(AppModel& app) {
  switch (app.screen) {
    case Screen::kLogin:
      return app.loginUi.focus == 0 ? Field{&app.loginUi.staffId, Accept::kCode, 32}
                                    : Field{&app.loginUi.pin, Accept::kDigits, 8};
    case Screen::kLookup:
      return app.lookupUi.focus == 0 ? Field{&app.lookupUi.digits, Accept::kPhone, 24}
                                     : Field{&app.lookupUi.name, Accept::kAny, 64};
    case Screen::kEnroll:
      if (app.enrollUi.focus == 1) return {&app.enrollUi.birthday, Accept::kDate, 10};
      if (app.enrollUi.focus == 2) return {&app.enrollUi.referrer, Accept::kCode, 24};
      return {&app.enrollUi.phone, Accept::kPhone, 24};
    case Screen::kSale: return {&app.saleUi.amount, Accept::kDecimal, 12};
    case Screen::kRedeem:
      if (!app.redeemUi.confirming) {
        if (app.redeemUi.tab == 1) return {&app.redeemUi.points, Accept::kDigits, 9};
        return {};
      }
      if (redeemPoints(app.redeem, app.redeemUi) > app.redeem.supervisorAbove) {
        return {&app.redeemUi.supervisorPin, Accept::kDigits, 8};
      }
      return {};
    case Screen::kRefund: return {&app.refundUi.saleId, Accept::kCode, 64};
    case Screen::kComplaint: return {&app.complaintUi.description, Accept::kAny, 1000};
    default: return {};
  }
}

bool isDigit(const std::string& c) { return c.size() == 1 && c[0] >= '0' && c[0] <= '9'; }
bool isLetter(const std::string& c) {
  return c.size() > 1 || (c.size() == 1 && ((c[0] >= 'a' && c[0] <= 'z') || (c[0] >= 'A' && c[0] <= 'Z')));
}

/// Appends one typed character when the field takes it.
void put(const Field& f, const std::string& c) {
  std::string& t = *f.text;
  if (c.empty() || t.size() + c.size() > f.maxLen) return;
  switch (f.accept) {
    case Accept::kDigits:
    case Accept::kDate:
      if (!isDigit(c)) return;
      if (f.accept == Accept::kDate && digitsOf(t).size() >= 8) return;
      break;
    case Accept::kDecimal: {
      const auto dot = t.find('.');
      if (c == ".") {
        if (dot != std::string::npos) return;
        if (t.empty()) t = "0";
      } else if (!isDigit(c) || (dot != std::string::npos && t.size() - dot > 2)) {
        return;
      }
      break;
    }
    case Accept::kPhone:
      if (!isDigit(c) && c != "+" && c != "-" && c != " ") return;
      break;
    case Accept::kCode:
      if (c.size() != 1 || c[0] <= ' ' || c[0] >= 0x7F) return;
      break;
    case Accept::kAny:
      if (c.size() == 1 && static_cast<unsigned char>(c[0]) < 0x20) return;
      break;
  }
  t += c;
}

void popChar(std::string& t) {
  while (!t.empty()) {
    const auto c = static_cast<unsigned char>(t.back());
    t.pop_back();
    if ((c & 0xC0) != 0x80) break;  // the lead byte of a UTF-8 character
  }
}

/// The longest gap between a scanner's keys: kScanGapMs, or a frame's time and a bit when the app
/// is slower than that (keys read between frames arrive a frame apart), at most kScanGapMaxMs.
std::uint32_t scanGapMs(const AppModel& app) {
  return std::clamp(app.frameMs + 20, kScanGapMs, kScanGapMaxMs);
}

/// What counts as a member code when a scan lands in a field that takes other things too.
bool memberCode(const std::string& code) {
  if (cardFromQrPayload(code)) return true;
  const std::string digits = digitsOf(code);
  return digits.size() == code.size() && (luhnValid(digits) || digits.size() == 11) && digits.size() >= 11;
}

/// Enter on the current screen: the keyboard's way to the screen's next step.
void enterOnScreen(AppModel& app) {
  switch (app.screen) {
    case Screen::kLogin:
      if (app.loginUi.focus == 0) {
        app.loginUi.focus = 1;
      } else {
        update(app, intent::SignIn{app.loginUi.staffId, app.loginUi.pin});
      }
      break;
    case Screen::kLookup: {
      const std::string query = !trim(app.lookupUi.name).empty() ? app.lookupUi.name : app.lookupUi.digits;
      app.lookupUi.lastSent = query;
      search(app, query, true);
      break;
    }
    case Screen::kEnroll:
      app.enrollUi.focus = std::min(app.enrollUi.focus + 1, 2);
      break;
    case Screen::kSale:
      if (positiveAmount(app.saleUi.amount)) {
        app.saleUi.lines.push_back({app.saleUi.description, showAmount(app.saleUi.amount)});
        app.saleUi.amount.clear();
        app.saleUi.description.clear();
        app.sale.error = {};
      }
      break;
    case Screen::kRedeem: {
      const std::int64_t points = redeemPoints(app.redeem, app.redeemUi);
      const std::int64_t balance = app.redeem.member ? app.redeem.member->points : 0;
      if (!app.redeemUi.confirming) {
        if (app.redeemUi.tab == 1 && points > 0 && points <= balance) app.redeemUi.confirming = true;
      } else if (!app.redeem.busy &&
                 (points <= app.redeem.supervisorAbove || app.redeemUi.supervisorPin.size() >= 4)) {
        update(app, intent::Redeem{app.redeemUi.tab == 0 ? app.redeemUi.rewardId : std::nullopt, points,
                                   app.redeemUi.supervisorPin});
      }
      break;
    }
    default: break;
  }
}

/// A scanner's burst ended with Enter. True when it was taken as a member code.
bool scanned(AppModel& app, const std::string& code, const std::string& fieldBefore) {
  if (app.screen == Screen::kLogin) return false;
  Field f = focusedField(app);
  if (app.screen == Screen::kLookup) {
    lookupAndJump(app, code);  // only the scan: stray keys typed before it are gone
    return true;
  }
  if (f.text) {
    // A field that takes codes or phones of its own (enrolment, refund, complaint) keeps the
    // keys; an amount, points or PIN field cannot hold a member code, so it was a scan.
    const bool numeric = app.screen == Screen::kSale || app.screen == Screen::kRedeem;
    if (!numeric || !memberCode(code)) return false;
    *f.text = fieldBefore;
  }
  if (saleOpen(app)) {
    app.pendingScan = code;  // the open sale is someone's: ask (intent::ScanIntoSale)
    return true;
  }
  clearMember(app);
  lookupAndJump(app, code);
  return true;
}

}  // namespace

void keys(AppModel& app, const TypedKeys& presses) {
  using Kind = TypedKey::Kind;
  for (const TypedKey& k : presses) {
    if (app.screen != Screen::kLogin && !app.staff) return;
    const bool asking = app.pendingLeave || app.pendingScan;
    Field f = asking ? Field{} : focusedField(app);
    switch (k.kind) {
      case Kind::kText: {
        if (app.scan.text.empty() || k.ms - app.scan.lastMs > scanGapMs(app)) {
          app.scan.text.clear();
          app.scan.before = f.text ? *f.text : std::string();
        }
        app.scan.text += k.text;
        app.scan.lastMs = k.ms;
        if (!f.text) break;
        if (app.screen == Screen::kLookup) {
          // Digits find by number, letters by name (and pinyin): each goes to its field.
          LookupUiState& l = app.lookupUi;
          if (isLetter(k.text) && l.focus == 0 && !app.fieldSelected) {
            l.focus = 1;
          } else if (!isLetter(k.text) && l.focus == 1 && l.name.empty()) {
            l.focus = 0;
          }
          f = focusedField(app);
        }
        if (app.fieldSelected) f.text->clear();
        app.fieldSelected = false;
        put(f, k.text);
        break;
      }
      case Kind::kEnter: {
        const bool burst = app.scan.text.size() >= kScanMinChars && k.ms - app.scan.lastMs <= scanGapMs(app);
        const std::string code = std::exchange(app.scan.text, {});
        app.fieldSelected = false;
        if (asking) break;
        if (burst && app.staff && scanned(app, code, app.scan.before)) break;
        enterOnScreen(app);
        break;
      }
      case Kind::kBackspace:
      case Kind::kDelete:
        app.scan.text.clear();  // a scanner never sends these: what came before was typed
        if (!f.text) break;
        if (app.fieldSelected) {
          f.text->clear();
        } else if (k.kind == Kind::kBackspace) {
          popChar(*f.text);
        }
        app.fieldSelected = false;
        break;
      case Kind::kEscape:
        app.scan.text.clear();
        app.fieldSelected = false;
        if (asking) {
          update(app, intent::Confirm{false});
        } else if (app.screen == Screen::kLookup) {
          app.lookupUi = {};
        } else if (f.text) {
          f.text->clear();
        }
        break;
      case Kind::kSelectAll:
        app.scan.text.clear();
        app.fieldSelected = f.text && !f.text->empty();
        break;
    }
    if (app.screen == Screen::kLookup && k.kind != Kind::kEnter) {
      // Search as the user types, as the screen does for its own keypad.
      const std::string query = !trim(app.lookupUi.name).empty() ? app.lookupUi.name : app.lookupUi.digits;
      if (query != app.lookupUi.lastSent) {
        app.lookupUi.lastSent = query;
        search(app, query, false);
      }
    }
  }
}

}  // namespace loyalty::ui
