#include "loyalty/ui/app.hpp"

#include <algorithm>

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

FieldError fieldError(const Error& e) { return {e.field, e.message}; }

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
  app.sale.member.reset();
  app.redeem.member.reset();
  app.complaint.member.reset();
  app.receipt.member.reset();
}

}  // namespace

void update(AppModel& app, const Intent& in) {
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
            clearMember(app);
            app.staff.reset();
            app.loginUi = {};
            app.lookupUi = {};
            app.lookup = {};
            app.screen = Screen::kLogin;
          },
          [&](const intent::Go& i) {
            if (!app.staff && i.screen != Screen::kLogin) return;
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
              line.unitPrice = i.lines[n].amount;
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
            a.scale = "csat5";
            a.score = i.score;
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
          },
          [&](reply::SignedIn& s) {
            app.login.busy = false;
            if (!s.staff) {
              app.login.error = fieldError(s.staff.error());
              app.loginUi.pin.clear();
              return;
            }
            app.staff = *s.staff;
            app.settings.staffName = s.staff->name;
            app.settings.staffRole = s.staff->role;
            app.loginUi = {};
            app.login.error = {};
            app.screen = Screen::kLookup;
          },
          [&](reply::Lookup& l) {
            if (l.seq != app.lookupSeq) return;  // the user typed on; a newer answer follows
            app.lookup.busy = false;
            if (!l.members) {
              app.lookup.error = fieldError(l.members.error());
              app.lookup.results.clear();
              return;
            }
            app.lookup.results = std::move(*l.members);
            app.lookup.searched = true;
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
            app.customer.greetings = m.detail->greetings;
          },
          [&](reply::Enrolled& e) {
            app.enroll.busy = false;
            if (!e.member) {
              app.enroll.error = fieldError(e.member.error());
              return;
            }
            app.enrollUi = {};
            openMember(app, e.member->memberId);
          },
          [&](reply::Sold& s) {
            app.sale.busy = false;
            if (!s.result) {
              app.sale.error = fieldError(s.result.error());
              return;
            }
            app.receipt.member = app.sale.member;
            app.receipt.request = std::move(s.request);
            app.receipt.result = *s.result;
            app.saleUi = {};
            app.customer.lastSale = *s.result;
            app.customer.askSurvey = true;
            app.customer.thanked = false;
            app.screen = Screen::kReceipt;
          },
          [&](reply::Redeemed& d) {
            app.redeem.busy = false;
            if (!d.result) {
              app.redeem.error = fieldError(d.result.error());
              app.redeemUi.supervisorPin.clear();
              return;
            }
            app.member.banner = subst(tr(app.lang, Msg::kRedeemedBanner),
                                      {std::to_string(d.result->points), std::to_string(d.result->balance)});
            app.redeemUi = {};
            app.screen = Screen::kMember;
          },
          [&](reply::Refunded& f) {
            app.refund.busy = false;
            if (!f.result) {
              app.refund.error = fieldError(f.result.error());
              return;
            }
            app.refund.result = *f.result;
            app.refundUi = {};
          },
          [&](reply::SurveyRecorded& s) {
            if (!s.status) app.failure = s.status.error().message;
          },
          [&](reply::ComplaintFiled& c) {
            app.complaint.busy = false;
            if (!c.status) {
              app.complaint.error = fieldError(c.status.error());
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

void typed(AppModel& app, const std::string& utf8, bool enter) {
  if (app.screen == Screen::kLogin) {
    std::string& field = app.loginUi.focus == 0 ? app.loginUi.staffId : app.loginUi.pin;
    for (const char c : utf8) {
      if (app.loginUi.focus == 1 ? (c >= '0' && c <= '9' && field.size() < 8)
                                 : (c > ' ' && c < 0x7F && field.size() < 32)) {
        field.push_back(c);
      }
    }
    if (enter) {
      if (app.loginUi.focus == 0) {
        app.loginUi.focus = 1;
      } else {
        update(app, intent::SignIn{app.loginUi.staffId, app.loginUi.pin});
      }
    }
    return;
  }
  if (!app.staff) return;
  if (app.screen == Screen::kLookup) {
    if (!utf8.empty()) {
      app.lookupUi.digits += utf8;
      search(app, app.lookupUi.digits, false);
    }
    if (enter) search(app, app.lookupUi.digits, true);
    return;
  }
  app.scanBuffer += utf8;
  if (enter && !app.scanBuffer.empty()) {
    // A scan anywhere jumps to the member it names.
    app.lookupUi = {};
    app.lookupUi.digits = std::exchange(app.scanBuffer, {});
    app.screen = Screen::kLookup;
    search(app, app.lookupUi.digits, true);
  }
}

}  // namespace loyalty::ui
