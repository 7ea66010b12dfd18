#include "loyalty/ui/app.hpp"

#include <algorithm>

#include "loyalty/core/card.hpp"
#include "loyalty/core/money.hpp"
#include "loyalty/core/points.hpp"
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
  app.memberDetails = {};
  app.memberDetailsUi = {};
  app.exchange.reset();
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

/// The details screen of the member on the counter: the form filled with what they have now.
void openMemberDetails(AppModel& app) {
  MemberDetailsViewModel& vm = app.memberDetails;
  vm = {};
  app.memberDetailsUi = {};
  if (app.store) {
    vm.storeLanguage = app.store->language;
    vm.consentVersion = app.store->consentVersion;
  }
  if (!app.member.detail) return;
  const MemberView& m = app.member.detail->member;
  vm.member = m;
  MemberDetailsUiState& s = app.memberDetailsUi;
  s.name = m.name;
  s.birthday = m.birthday.value_or("");
  s.language = m.language.value_or(vm.storeLanguage);
  send(app, cmd::ConsentHistory{m.memberId});
}

/// Sends what the cashier changed (only what differs from the member as the store has them).
void saveMemberDetails(AppModel& app, const intent::SaveMemberDetails& i) {
  MemberDetailsViewModel& vm = app.memberDetails;
  if (!vm.member || vm.busy) return;
  const MemberView& m = *vm.member;
  vm.error = {};
  vm.banner.reset();
  vm.takenPhone.clear();
  terminal::MemberUpdateRequest r;
  r.member = m.memberId;
  if (std::string(trim(i.name)) != m.name) r.name = i.name;
  r.phone = nonEmpty(i.phone);
  const std::string birthday = shapeDate(i.birthday);
  if (birthday != m.birthday.value_or("")) r.birthday = nonEmpty(birthday);
  if (i.language != m.language.value_or(vm.storeLanguage)) r.language = i.language;
  if (!r.name && !r.phone && !r.birthday && !r.language) {
    vm.error = {"member", tr(app.lang, Msg::kNothingChanged)};
    return;
  }
  r.at = app.now;
  r.staffId = signedInStaff(app);
  vm.busy = true;
  send(app, cmd::UpdateMember{std::move(r)});
}

// [SECTION] Refunds by line and exchanges

/// Asks what refunding the chosen quantities would do (nothing chosen: the sale alone).
void previewRefund(AppModel& app) {
  if (!app.refund.preview) return;
  terminal::RefundPreviewRequest r{app.refund.preview->saleId, refundLinesOf(app.refund, app.refundUi), app.now};
  app.refund.busy = true;
  send(app, cmd::RefundPreview{++app.refund.previewSeq, std::move(r)});
}

terminal::ExchangeRequest exchangeRequest(AppModel& app, terminal::SaleRequest sale) {
  const ExchangeState& x = *app.exchange;
  terminal::ExchangeRequest r;
  r.exchangeId = newId(app, "X");
  r.saleId = x.saleId;
  r.returnLines = x.returnLines;
  r.newLines = std::move(sale.lines);
  r.supervisorPin = nonEmpty(x.supervisorPin);
  r.at = app.now;
  r.staffId = signedInStaff(app);
  return r;
}

void refundStep(AppModel& app, const intent::Refund& i) {
  using Step = intent::Refund::Step;
  RefundViewModel& vm = app.refund;
  RefundUiState& s = app.refundUi;
  const bool chosen = !refundLinesOf(vm, s).empty();
  switch (i.step) {
    case Step::kFind: {
      const std::uint64_t seq = vm.previewSeq;  // an answer still on its way is stale
      vm = {};
      vm.previewSeq = seq;
      s.qty.clear();
      s.reviewing = false;
      s.supervisorPin.clear();
      const std::string saleId(trim(i.saleId));
      if (saleId.empty()) {
        vm.error = {"sale_id", tr(app.lang, Msg::kErrReceiptMissing)};
        return;
      }
      s.saleId = saleId;
      vm.busy = true;
      // Everything still refundable, to start with (the answer sets the quantities).
      send(app, cmd::RefundPreview{++vm.previewSeq, {saleId, std::nullopt, app.now}});
      return;
    }
    case Step::kQty: {
      if (!vm.preview || i.line >= s.qty.size() || i.line >= vm.preview->lines.size() || s.reviewing) return;
      const std::int64_t most = vm.preview->lines[i.line].refundable;
      s.qty[i.line] = std::clamp<std::int64_t>(s.qty[i.line] + i.delta, 0, most);
      vm.error = {};
      previewRefund(app);
      return;
    }
    case Step::kReview:
      if (vm.preview && chosen && !vm.busy) s.reviewing = true;
      return;
    case Step::kBack:
      s.reviewing = false;
      s.supervisorPin.clear();
      vm.error = {};
      return;
    case Step::kMake: {
      if (!vm.preview || !chosen || vm.busy || !s.reviewing) return;
      if (vm.preview->supervisorRequired && s.supervisorPin.size() < terminal::kMinSupervisorPinDigits) {
        vm.error = {"supervisor_pin", tr(app.lang, Msg::kRefSupervisorPin)};
        return;
      }
      vm.error = {};
      vm.busy = true;
      terminal::RefundRequest r{newId(app, "F"), vm.preview->saleId, refundLinesOf(vm, s), app.now,
                                signedInStaff(app)};
      r.supervisorPin = nonEmpty(s.supervisorPin);
      send(app, cmd::Refund{std::move(r)});
      return;
    }
    case Step::kExchange: {
      if (!vm.preview || !chosen || vm.busy) return;
      if (vm.preview->supervisorRequired && s.supervisorPin.size() < terminal::kMinSupervisorPinDigits) {
        s.reviewing = true;  // the PIN first, at the review
        vm.error = {"supervisor_pin", tr(app.lang, Msg::kRefSupervisorPin)};
        return;
      }
      app.exchange = ExchangeState{vm.preview->saleId, refundLinesOf(vm, s), vm.preview->amount, s.supervisorPin};
      // The new lines are sold to the receipt's member.
      if (vm.preview->member) {
        app.sale.member = vm.preview->member;
        app.customer.member = vm.preview->member;
      }
      app.saleUi = {};
      app.sale.error = {};
      app.screen = Screen::kSale;
      return;
    }
    case Step::kCancelExchange:
      app.exchange.reset();
      app.saleUi = {};
      app.screen = Screen::kRefund;
      return;
  }
}

// [SECTION] The open sale: lines, the store's price of it, products

/// The sale's lines as the store gets them, to price (quoteSale) or to record (sale): catalogue
/// products by sku and quantity at the catalogue's price (member prices and promotions apply);
/// an amount typed for an item not in the catalogue as "MANUAL-n" at that price.
terminal::SaleRequest saleRequest(const AppModel& app, const std::vector<intent::SaleLine>& lines,
                                  std::int64_t points) {
  terminal::SaleRequest r;
  r.member = currentMemberId(app);
  r.at = app.now;
  r.staffId = signedInStaff(app);
  r.redeemPoints = r.member ? points : 0;
  int manual = 0;
  for (const intent::SaleLine& l : lines) {
    terminal::SaleLineInput line;
    line.description = nonEmpty(l.description);
    line.qty = l.qty;
    if (l.sku.empty()) {
      line.sku = "MANUAL-" + std::to_string(++manual);
      line.unitPrice = showAmount(l.amount);
    } else {
      line.sku = l.sku;
    }
    r.lines.push_back(std::move(line));
  }
  return r;
}

/// What identifies a quote's question: the lines, the member and the points.
std::string saleQuoteKey(const terminal::SaleRequest& r) {
  std::string key = r.member.value_or("-") + '\x1d' + std::to_string(r.redeemPoints);
  for (const auto& l : r.lines) {
    key += '\x1e' + l.sku + '\x1f' + std::to_string(l.qty) + '\x1f' + l.unitPrice + '\x1f' + l.description.value_or("");
  }
  return key;
}

/// A product line's quantity, and its amount at the catalogue's price.
void setQty(intent::SaleLine& l, std::int64_t qty) {
  const auto unit = UnitPrice::parse(l.unitPrice, "unit_price");
  const auto amount = unit ? lineAmount(qty, *unit, "amount") : Result<Money>(Error{});
  if (!amount) return;
  l.qty = qty;
  l.amount = amount->toString();
}

/// A scanned code's product, or (none) the code as a member's (defined with the keys below).
void productScanned(AppModel& app, const std::string& code, const std::optional<Product>& product);

/// A catalogue product into the cart: a new line, or one more of it.
void addProduct(AppModel& app, const Product& p) {
  app.sale.error = {};
  for (intent::SaleLine& l : app.saleUi.lines) {
    if (l.sku == p.sku) {
      setQty(l, std::min(l.qty + 1, kMaxLineQty));
      return;
    }
  }
  intent::SaleLine line{p.name, {}, p.sku, 0, p.price.toString()};
  setQty(line, 1);
  app.saleUi.lines.push_back(std::move(line));
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
            app.exchange.reset();
            app.complaintUi = {};
            app.keyboard = {};
            app.scan = {};
            app.fieldSelected = false;
            app.pendingLeave.reset();
            app.pendingScan.reset();
            app.unlockUi = {};
            app.screen = Screen::kLogin;
          },
          [&](const intent::Go& i) {
            if (!app.staff && i.screen != Screen::kLogin) return;
            if (i.screen != Screen::kSale) app.exchange.reset();  // an exchange ends with its sale
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
              case Screen::kRefund: {
                const std::uint64_t seq = app.refund.previewSeq;  // an answer still on its way is stale
                app.refund = {};
                app.refund.previewSeq = seq;
                app.refundUi = {};
                break;
              }
              case Screen::kSale:
                app.sale.error = {};
                app.pendingScan.reset();
                if (app.saleUi.search.empty()) {
                  app.sale.found.clear();
                  app.sale.searched = false;
                }
                break;
              case Screen::kMemberDetails:
                openMemberDetails(app);
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
            app.enroll.takenPhone.clear();
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
              if (line.sku.empty() && !positiveAmount(line.amount)) {
                app.sale.error = {"amount", tr(app.lang, Msg::kErrAmountZero)};
                return;
              }
            }
            terminal::SaleRequest r = saleRequest(app, i.lines, i.redeemPoints);
            r.saleId = newId(app, "S");
            if (r.redeemPoints > 0) r.supervisorPin = nonEmpty(i.supervisorPin);
            app.sale.busy = true;
            if (app.exchange) {  // the new lines of an exchange (the refund screen's)
              send(app, cmd::Exchange{exchangeRequest(app, std::move(r))});
              return;
            }
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
          [&](const intent::Refund& i) { refundStep(app, i); },
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
          [&](const intent::Unlock& u) {
            UnlockUiState& ul = app.unlockUi;
            switch (u.step) {
              case intent::Unlock::Step::kOpen:
                if (!ul.lockedStaffId.empty()) ul.open = true;
                break;
              case intent::Unlock::Step::kCancel:
                ul.open = false;
                ul.supervisorPin.clear();
                ul.error = {};
                break;
              case intent::Unlock::Step::kSubmit:
                if (!ul.open || ul.busy) break;
                if (ul.supervisorPin.size() < terminal::kMinSupervisorPinDigits) {
                  ul.error = {"supervisor_pin", tr(app.lang, Msg::kRefSupervisorPin)};
                  break;
                }
                ul.error = {};
                ul.busy = true;
                send(app, cmd::UnlockStaff{ul.lockedStaffId, ul.supervisorPin});
                break;
            }
          },
          [&](const intent::RemoveLine& r) {
            if (r.index < app.saleUi.lines.size()) {
              app.saleUi.lines.erase(app.saleUi.lines.begin() + static_cast<std::ptrdiff_t>(r.index));
            }
          },
          [&](const intent::SaveMemberDetails& i) { saveMemberDetails(app, i); },
          [&](const intent::SetConsent& i) {
            const auto member = currentMemberId(app);
            if (!member || app.memberDetails.busy) return;
            app.memberDetails.error = {};
            app.memberDetails.banner.reset();
            app.memberDetails.busy = true;
            send(app, cmd::Consent{{*member, i.consent, std::nullopt, app.now, signedInStaff(app)}});
          },
          [&](const intent::ShowMemberData&) {
            const auto member = currentMemberId(app);
            if (!member) return;
            app.memberDetailsUi.tab = MemberDetailsUiState::kData;
            app.memberDetails.data.reset();
            app.memberDetails.error = {};
            app.memberDetails.busy = true;
            send(app, cmd::ExportMember{*member, signedInStaff(app), app.now});
          },
          [&](const intent::OpenPhoneOwner& i) {
            // The person at the counter is that member: the form they half filled goes.
            app.enrollUi = {};
            app.enroll.error = {};
            app.enroll.takenPhone.clear();
            clearMember(app);
            lookupAndJump(app, i.phone);
          },
          [&](const intent::FindProducts& f) {
            const std::string query(trim(f.query));
            app.sale.searched = false;
            if (query.empty()) {
              ++app.productSeq;  // an answer in flight is for text no longer there
              app.sale.found.clear();
              return;
            }
            send(app, cmd::Products{++app.productSeq, query});
          },
          [&](const intent::AddProduct& a) {
            addProduct(app, a.product);
            app.saleUi.search.clear();
            app.sale.found.clear();
            app.sale.searched = false;
            ++app.productSeq;
          },
          [&](const intent::ChangeQty& c) {
            if (c.index >= app.saleUi.lines.size()) return;
            intent::SaleLine& l = app.saleUi.lines[c.index];
            if (l.sku.empty()) return;  // an amount line is one item
            setQty(l, std::clamp<std::int64_t>(l.qty + c.delta, 1, kMaxLineQty));
          },
          [&](const intent::ProductCode& p) {
            const std::string code(trim(p.code));
            if (!code.empty()) send(app, cmd::ScanProduct{code});
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
            app.sale.supervisorAbove = o.info->supervisorPinAbovePoints;
            app.receipt.pointsPerUnit = o.info->redeemPointsPerUnit;
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
              // A locked account can be unlocked here by a supervisor (intent::Unlock).
              const Error& e = s.staff.error();
              if (e.code == errc::kForbidden && e.message.find("locked") != std::string::npos) {
                app.unlockUi.lockedStaffId = std::string(trim(app.loginUi.staffId));
              }
              return;
            }
            app.unlockUi = {};
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
            if (app.memberDetails.member && app.memberDetails.member->memberId == v.memberId) app.memberDetails.member = v;
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
              if (e.member.error().code == errc::kAlreadyExists && e.member.error().field == "phone") {
                app.enroll.takenPhone = app.enrollUi.phone;
              }
              return;
            }
            app.enrollUi = {};
            openMember(app, e.member->memberId);
          },
          [&](reply::Sold& s) {
            app.sale.busy = false;
            if (!s.result) {
              app.sale.error = fieldError(app, s.result.error());
              if (s.result.error().field == "supervisor_pin") {
                app.saleUi.supervisorPin.clear();
                app.saleUi.focus = 2;
              }
              return;
            }
            app.receipt.member = app.sale.member;
            app.receipt.quote.reset();
            if (app.sale.quoteCurrent && app.quotedSale == saleQuoteKey(s.request)) app.receipt.quote = app.sale.quote;
            app.receipt.request = std::move(s.request);
            app.receipt.result = *s.result;
            app.saleUi = {};
            app.sale.quote.reset();
            app.sale.quoteCurrent = false;
            app.quotedSale.clear();
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
              app.refundUi.supervisorPin.clear();
              return;
            }
            app.refund.result = *f.result;
            app.refund.preview.reset();
            app.customer.refund = *f.result;
            if (f.result->balance) newBalance(app, *f.result->balance);
            app.refundUi = {};
          },
          [&](reply::RefundPreviewed& p) {
            if (p.seq != app.refund.previewSeq) return;  // the cashier changed a quantity since
            app.refund.busy = false;
            if (!p.preview) {
              app.refund.error = fieldError(app, p.preview.error());
              return;
            }
            app.refund.error = {};
            if (!app.refund.preview || app.refund.preview->saleId != p.preview->saleId) {
              // A receipt just found: every line still refundable is chosen, to start with.
              app.refundUi.qty.clear();
              for (const auto& l : p.preview->lines) app.refundUi.qty.push_back(l.refundable);
            }
            app.refund.preview = std::move(*p.preview);
          },
          [&](reply::Exchanged& x) {
            app.sale.busy = false;
            if (!x.result) {
              app.sale.error = fieldError(app, x.result.error());
              if (x.result.error().field == "supervisor_pin" && app.exchange) app.exchange->supervisorPin.clear();
              return;
            }
            const std::uint64_t seq = app.refund.previewSeq;
            app.refund = {};
            app.refund.previewSeq = seq;
            app.refund.exchanged = *x.result;
            app.refundUi = {};
            app.customer.refund = x.result->refund;
            app.customer.lastSale = x.result->sale;
            if (x.result->sale.balance) newBalance(app, *x.result->sale.balance);
            app.exchange.reset();
            app.saleUi = {};
            app.screen = Screen::kRefund;
          },
          [&](reply::StaffUnlocked& u) {
            app.unlockUi.busy = false;
            app.unlockUi.supervisorPin.clear();
            if (!u.status) {
              app.unlockUi.error = fieldError(app, u.status.error());
              return;
            }
            app.unlockUi = {};
            app.unlockUi.notice = subst(tr(app.lang, Msg::kStaffUnlocked), {u.staffId});
            app.login.error = {};
            app.loginUi = {};
            app.loginUi.staffId = u.staffId;
            app.loginUi.focus = 1;
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
          [&](reply::MemberUpdated& u) {
            MemberDetailsViewModel& vm = app.memberDetails;
            vm.busy = false;
            if (!u.result) {
              vm.error = fieldError(app, u.result.error());
              if (u.result.error().code == errc::kAlreadyExists && u.result.error().field == "phone") vm.takenPhone = u.phone;
              return;
            }
            vm.member = *u.result;
            vm.banner = Msg::kChangesSaved;
            app.memberDetailsUi.phone.clear();
            app.memberDetailsUi.focus = 0;
          },
          [&](reply::ConsentRecorded& c) {
            MemberDetailsViewModel& vm = app.memberDetails;
            vm.busy = false;
            if (!c.result) {
              vm.error = fieldError(app, c.result.error());
              return;
            }
            vm.member = *c.result;
            vm.banner = c.result->consentMarketing ? Msg::kConsentGivenDone : Msg::kConsentWithdrawnDone;
            send(app, cmd::ConsentHistory{c.result->memberId});
          },
          [&](reply::MemberExported& x) {
            app.memberDetails.busy = false;
            if (!x.result) {
              app.memberDetails.error = fieldError(app, x.result.error());
              return;
            }
            app.memberDetails.data = std::move(*x.result);
          },
          [&](reply::ConsentHistory& h) {
            if (!app.memberDetails.member || app.memberDetails.member->memberId != h.memberId) return;
            if (!h.result) {
              app.memberDetails.error = fieldError(app, h.result.error());
              return;
            }
            app.memberDetails.consents = std::move(*h.result);
          },
          [&](reply::SaleQuoted& q) {
            if (q.seq != app.saleQuoteSeq) return;  // the cart changed since; a newer answer follows
            app.sale.quoteCurrent = true;
            app.sale.pointsError = {};
            if (!q.quote) {
              app.sale.quote.reset();
              app.sale.error = fieldError(app, q.quote.error());
              return;
            }
            if (app.sale.error.field.rfind("lines", 0) == 0) app.sale.error = {};  // an earlier quote's refusal
            if (q.quote->pointsRefused) app.sale.pointsError = fieldError(app, *q.quote->pointsRefused);
            app.sale.quote = std::move(*q.quote);
          },
          [&](reply::Products& p) {
            if (p.seq != app.productSeq) return;
            app.sale.searched = true;
            app.sale.found.clear();
            if (p.products) app.sale.found = std::move(*p.products);
          },
          [&](reply::ProductScanned& p) { productScanned(app, p.code, p.product); },
          [&](reply::Promotions& p) { app.customerSetup.promotions = std::move(p.running); },
          [&](reply::NameCharacters&) {},  // the shell's (fonts)
          [&](reply::Failed& f) {
            app.failure = f.what;
            app.login.busy = app.lookup.busy = app.member.busy = app.enroll.busy = false;
            app.sale.busy = app.redeem.busy = app.refund.busy = app.complaint.busy = false;
            app.memberDetails.busy = false;
          },
      },
      r);
}

bool busy(const AppModel& app) {
  const bool opening = !app.login.storeReady && app.login.storeError.empty();
  return opening || app.login.busy || app.lookup.busy || app.member.busy || app.enroll.busy || app.sale.busy ||
         app.redeem.busy || app.refund.busy || app.complaint.busy || app.memberDetails.busy;
}

bool saleOpen(const AppModel& app) { return !app.saleUi.lines.empty() || !app.saleUi.amount.empty(); }

std::string showAmount(const std::string& amount) {
  const auto m = Money::parse(amount, "amount");
  return m ? m->toString() : amount;
}

std::string shapeDate(const std::string& typed) {
  const std::string digits = digitsOf(typed).substr(0, 8);
  std::string date;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i == 4 || i == 6) date.push_back('-');
    date.push_back(digits[i]);
  }
  return date;
}

std::vector<intent::SaleLine> cartOf(const AppModel& app) {
  std::vector<intent::SaleLine> cart;
  if (app.screen != Screen::kSale) return cart;
  for (const auto& l : app.saleUi.lines) cart.push_back(l);
  if (positiveAmount(app.saleUi.amount)) cart.push_back(amountLine(app.saleUi.description, showAmount(app.saleUi.amount)));
  // What the customer pays for each line: the member's price once the store has priced the cart.
  const auto& q = app.sale.quote;
  const bool priced = q && app.sale.quoteCurrent && q->lines.size() == cart.size();
  for (std::size_t i = 0; i < cart.size(); ++i) {
    if (cart[i].qty != 1) cart[i].description += " \xc3\x97" + std::to_string(cart[i].qty);  // ×
    if (priced) cart[i].amount = (q->lines[i].amount - q->lines[i].memberDiscount).toString();
  }
  return cart;
}

std::vector<terminal::RefundLineInput> refundLinesOf(const RefundViewModel& vm, const RefundUiState& s) {
  std::vector<terminal::RefundLineInput> out;
  if (!vm.preview) return out;
  for (std::size_t i = 0; i < s.qty.size() && i < vm.preview->lines.size(); ++i) {
    if (s.qty[i] <= 0) continue;
    const std::string& sku = vm.preview->lines[i].sku;
    // A refund names skus; the same sku on two lines is one quantity.
    auto same = std::find_if(out.begin(), out.end(), [&](const auto& l) { return l.sku == sku; });
    if (same != out.end()) {
      same->qty += s.qty[i];
    } else {
      out.push_back({sku, s.qty[i]});
    }
  }
  return out;
}

std::int64_t salePoints(const SaleUiState& s) {
  std::int64_t points = 0;
  for (const char c : s.points) {
    if (c >= '0' && c <= '9') points = points * 10 + (c - '0');
  }
  return points;
}

void requoteSale(AppModel& app) {
  if (app.screen != Screen::kSale) return;
  std::vector<intent::SaleLine> lines = app.saleUi.lines;
  if (positiveAmount(app.saleUi.amount)) lines.push_back(amountLine(app.saleUi.description, showAmount(app.saleUi.amount)));
  if (lines.empty()) {
    if (!app.quotedSale.empty()) ++app.saleQuoteSeq;  // an answer in flight is for lines now gone
    app.quotedSale.clear();
    app.sale.quote.reset();
    app.sale.quoteCurrent = false;
    app.sale.pointsError = {};
    return;
  }
  terminal::SaleRequest r = saleRequest(app, lines, salePoints(app.saleUi));
  std::string key = saleQuoteKey(r);
  if (key == app.quotedSale) return;
  app.quotedSale = std::move(key);
  app.sale.quoteCurrent = false;
  send(app, cmd::QuoteSale{++app.saleQuoteSeq, std::move(r)});
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
      if (app.unlockUi.open) return {&app.unlockUi.supervisorPin, Accept::kDigits, 8};
      return app.loginUi.focus == 0 ? Field{&app.loginUi.staffId, Accept::kCode, 32}
                                    : Field{&app.loginUi.pin, Accept::kDigits, 8};
    case Screen::kLookup:
      return app.lookupUi.focus == 0 ? Field{&app.lookupUi.digits, Accept::kPhone, 24}
                                     : Field{&app.lookupUi.name, Accept::kAny, 64};
    case Screen::kEnroll:
      if (app.enrollUi.focus == 1) return {&app.enrollUi.birthday, Accept::kDate, 10};
      if (app.enrollUi.focus == 2) return {&app.enrollUi.referrer, Accept::kCode, 24};
      if (app.enrollUi.focus == 3) return {&app.enrollUi.name, Accept::kAny, 192};  // 64 hanzi
      return {&app.enrollUi.phone, Accept::kPhone, 24};
    case Screen::kSale:
      if (app.saleUi.focus == 1) return {&app.saleUi.points, Accept::kDigits, 9};
      if (app.saleUi.focus == 2) return {&app.saleUi.supervisorPin, Accept::kDigits, 8};
      return {&app.saleUi.amount, Accept::kDecimal, 12};
    case Screen::kRedeem:
      if (!app.redeemUi.confirming) {
        if (app.redeemUi.tab == 1) return {&app.redeemUi.points, Accept::kDigits, 9};
        return {};
      }
      if (redeemPoints(app.redeem, app.redeemUi) > app.redeem.supervisorAbove) {
        return {&app.redeemUi.supervisorPin, Accept::kDigits, 8};
      }
      return {};
    case Screen::kRefund:
      if (!app.refund.preview) return {&app.refundUi.saleId, Accept::kCode, 64};
      if (app.refundUi.reviewing && app.refund.preview->supervisorRequired) {
        return {&app.refundUi.supervisorPin, Accept::kDigits, 8};
      }
      return {};
    case Screen::kComplaint: return {&app.complaintUi.description, Accept::kAny, 1000};
    case Screen::kMemberDetails:
      if (app.memberDetailsUi.tab != MemberDetailsUiState::kDetails) return {};
      if (app.memberDetailsUi.focus == 1) return {&app.memberDetailsUi.birthday, Accept::kDate, 10};
      if (app.memberDetailsUi.focus == 2) return {&app.memberDetailsUi.name, Accept::kAny, 192};  // 64 hanzi
      return {&app.memberDetailsUi.phone, Accept::kPhone, 24};
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
      if (app.unlockUi.open) {
        update(app, intent::Unlock{intent::Unlock::Step::kSubmit});
      } else if (app.loginUi.focus == 0) {
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
      app.enrollUi.focus = app.enrollUi.focus == 3 ? 1 : std::min(app.enrollUi.focus + 1, 2);  // name: birthday next
      break;
    case Screen::kSale:
      if (app.saleUi.focus == 1) {
        // Points typed: on to the supervisor's PIN when they need one.
        if (salePoints(app.saleUi) > app.sale.supervisorAbove) app.saleUi.focus = 2;
        break;
      }
      if (app.saleUi.focus == 0 && positiveAmount(app.saleUi.amount)) {
        app.saleUi.lines.push_back(amountLine(app.saleUi.description, showAmount(app.saleUi.amount)));
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
    case Screen::kMemberDetails: {
      MemberDetailsUiState& s = app.memberDetailsUi;
      if (s.tab != MemberDetailsUiState::kDetails) break;
      if (s.focus == 0 || s.focus == 2) {
        s.focus = s.focus == 2 ? 0 : 1;  // name, then the new phone, then the birthday
      } else {
        update(app, intent::SaveMemberDetails{s.name, s.phone, s.birthday, s.language});
      }
      break;
    }
    case Screen::kRefund: {
      using Step = intent::Refund::Step;
      if (!app.refund.preview) {
        update(app, intent::Refund{Step::kFind, app.refundUi.saleId});
      } else {
        update(app, intent::Refund{app.refundUi.reviewing ? Step::kMake : Step::kReview});
      }
      break;
    }
    default: break;
  }
}

/// A member's code scanned: the member opens, or, with a sale open, the cashier is asked.
void memberScanned(AppModel& app, const std::string& code) {
  if (saleOpen(app)) {
    app.pendingScan = code;  // the open sale is someone's: ask (intent::ScanIntoSale)
    return;
  }
  clearMember(app);
  lookupAndJump(app, code);
}

/// A scanner's burst ended with Enter. True when it was taken as a product's or member's code.
bool scanned(AppModel& app, const std::string& code, const std::string& fieldBefore) {
  if (app.screen == Screen::kLogin) return false;
  Field f = focusedField(app);
  if (app.screen == Screen::kLookup) {
    lookupAndJump(app, code);  // only the scan: stray keys typed before it are gone
    return true;
  }
  // On the sale and member screens a code is a product's first (the store says), else a member's.
  const bool sells = (app.screen == Screen::kSale || app.screen == Screen::kMember) && !cardFromQrPayload(code);
  if (f.text) {
    // A field that takes codes or phones of its own (enrolment, refund, complaint) keeps the
    // keys; an amount, points or PIN field cannot hold a code, so it was a scan: on the sale
    // screen any code (a product's or a member's), on the others a member's.
    const bool taken = app.screen == Screen::kSale ||
                       ((app.screen == Screen::kRedeem || app.screen == Screen::kMemberDetails) && memberCode(code));
    if (!taken) return false;
    *f.text = fieldBefore;
  }
  if (sells) {
    send(app, cmd::ScanProduct{code});
    return true;
  }
  memberScanned(app, code);
  return true;
}

void productScanned(AppModel& app, const std::string& code, const std::optional<Product>& product) {
  if (app.screen != Screen::kSale && app.screen != Screen::kMember) return;  // the cashier moved on
  if (app.pendingLeave || app.pendingScan) return;
  if (product) {
    if (app.screen == Screen::kMember) update(app, intent::Go{Screen::kSale});  // a sale for the member
    update(app, intent::AddProduct{*product});
    return;
  }
  if (memberCode(code)) {
    memberScanned(app, code);
    return;
  }
  const std::string message = subst(tr(app.lang, Msg::kSaleNoProduct), {code});
  if (app.screen == Screen::kSale) {
    app.sale.error = {"barcode", message};
  } else {
    app.member.banner = message;
  }
}

}  // namespace

TextTarget keyboardTarget(AppModel& app) {
  if (!app.staff) return {};
  const Field f = focusedField(app);
  if (!f.text || f.accept != Accept::kAny) return {};
  switch (app.screen) {
    case Screen::kLookup: return {f.text, f.maxLen, "lookup-name"};
    case Screen::kEnroll: return {f.text, f.maxLen, "enroll-name"};
    case Screen::kComplaint: return {f.text, f.maxLen, "complaint-description"};
    case Screen::kMemberDetails: return {f.text, f.maxLen, "details-name"};
    default: return {f.text, f.maxLen, "text"};
  }
}

void pressEnter(AppModel& app) {
  if (app.pendingLeave || app.pendingScan) return;
  app.fieldSelected = false;
  enterOnScreen(app);
}

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
