// Customer care (issue 20) on the real Online Retail year, replayed into head office as
// online_retail.hpp does it: member 360 search and profile, the outreach preview of "welcome
// back", the promotions report over a year without promotions, the staff report and complaint
// handling, each compared with figures this file works out from the CSV on its own.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "analytics_backends.hpp"
#include "loyalty/core/money.hpp"
#include "loyalty/hq/analytics.hpp"
#include "loyalty/hq/complaints.hpp"
#include "loyalty/hq/members.hpp"
#include "loyalty/hq/outreach.hpp"
#include "loyalty/hq/privacy.hpp"
#include "loyalty/hq/promotions.hpp"
#include "loyalty/hq/store.hpp"
#include "online_retail.hpp"

using nlohmann::json;
using namespace loyalty;
using namespace loyalty::test;

namespace {

/// A member search for `q`, its keys brought up to date first (as the route does).
json foundBy(hq::SqlConnection& c, const std::string& q) {
  while (hq::refreshMemberSearchKeys(c)) {
  }
  hq::MemberSearch s;
  s.q = q;
  return hq::searchMembers(c, s);
}

/// An amount head office answered ("1234.56") in pence.
std::int64_t pence(const json& amount) {
  const auto m = Money::parse(amount.get<std::string>(), "amount");
  REQUIRE(m);
  return m->minor();
}

void customerCareOn(const std::function<std::unique_ptr<hq::SqlConnection>()>& open) {
  const auto year = readOnlineRetail();
  if (!year) return;
  const std::vector<RetailInvoice>& invoices = *year;
  const std::map<std::string, RetailCustomer> customers = retailCustomers(invoices);
  const std::string first = invoices.front().day, last = invoices.back().day;
  REQUIRE(first == "2010-12-01");
  REQUIRE(last == "2011-12-09");

  // Who the profiles follow.
  const std::string top = retailTopCustomer(customers), single = retailOneInvoiceCustomer(customers);
  INFO("top customer " << top << ", one-invoice customer " << single);
  CHECK(customers.at(top).refunds > 0);  // so the profile below counts cancellations too

  hq::HqStore store(open());
  const Timestamp now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  store.createSchema(now);
  hq::SqlConnection& c = store.connection();
  hq::ensureMemberCareSchema(c);
  hq::ensureComplaintCareSchema(c);
  hq::ensureOutreachSchema(c);
  RetailUpload upload(store, now);
  upload.year(invoices);
  hq::Reports reports(c);

  // Member 360: the card finds the member; the profile has the CSV's invoices as sales, its
  // cancellations as refunds, and their difference as lifetime spend.
  for (const std::string& id : {top, single}) {
    INFO("customer " << id);
    const RetailCustomer& expected = customers.at(id);
    const json byCard = foundBy(c, "9" + id);
    REQUIRE(byCard["total"] == 1);
    CHECK(byCard["members"][0]["member_id"] == id);
    CHECK(byCard["members"][0]["lifetime_spend"] == pounds(expected.net));
    const json byName = foundBy(c, "Customer " + id);
    REQUIRE(byName["total"] == 1);
    CHECK(byName["members"][0]["member_id"] == id);
    const auto profile = hq::memberExport(c, id, now);
    REQUIRE(profile);
    CHECK((*profile)["sales"].size() == static_cast<std::size_t>(expected.sales));
    CHECK((*profile)["refunds"].size() == static_cast<std::size_t>(expected.refunds));
    CHECK((*profile)["profile"]["lifetime_spend"] == pounds(expected.net));
    std::int64_t net = 0;
    for (const auto& s : (*profile)["sales"]) net += pence(s["total"]);
    for (const auto& r : (*profile)["refunds"]) net -= pence(r["amount"]);
    CHECK(net == expected.net);
  }

  // Outreach, "welcome back" on the last day: members whose last sale is more than 90 days
  // before it. Nobody consented at enrolment, so nobody is sent anything.
  const std::string since = retailDay(last, -90);
  const std::vector<std::string> lapsed = retailLastBoughtBefore(customers, since);
  std::vector<std::string> recent;
  for (const auto& [id, cust] : customers) {
    if (cust.lastSale >= since) recent.push_back(id);
  }
  REQUIRE(lapsed.size() > 1000);
  hq::OutreachRequest welcomeBack;
  welcomeBack.kind = "welcome_back";
  welcomeBack.day = last;
  welcomeBack.idleDays = 90;
  {
    const auto preview = hq::previewOutreach(c, welcomeBack, now);
    REQUIRE(preview);
    CHECK((*preview)["total"] == lapsed.size());
    CHECK((*preview)["counts"]["send"] == 0);
    CHECK((*preview)["counts"]["no_consent"] == lapsed.size());
  }
  // Consent given at the counter by ten lapsed customers and five recent ones: the ten get it.
  const std::set<std::string> consenting(lapsed.begin(), lapsed.begin() + 10);
  for (const auto& id : consenting) {
    upload.add("member.updated", last + "T17:00:00Z", {{"member_id", id}, {"consent_marketing", true}, {"consent_version", "v1"}});
  }
  for (std::size_t k = 0; k < 5; ++k) {
    upload.add("member.updated", last + "T17:00:00Z", {{"member_id", recent[k]}, {"consent_marketing", true}, {"consent_version", "v1"}});
  }
  upload.flush();
  {
    const auto preview = hq::previewOutreach(c, welcomeBack, now);
    REQUIRE(preview);
    CHECK((*preview)["total"] == lapsed.size());
    CHECK((*preview)["counts"]["send"] == consenting.size());
    CHECK((*preview)["counts"]["no_consent"] == lapsed.size() - consenting.size());
    std::set<std::string> sent;
    for (const auto& r : (*preview)["recipients"]) {
      if (r["decision"] == "send") sent.insert(r["member_id"].get<std::string>());
    }
    CHECK(sent == consenting);
  }

  // Promotions over June to November, a year without promotions: with none published the
  // report has no rows; with one running then, it was taken up by no sale, and the net revenue
  // of the stores without it (the one store) is the CSV's, in the range and the 183 days before.
  const hq::DayRange half{"2011-06-01", "2011-11-30"};
  CHECK(hq::promotionReport(c, half, {})["rows"].empty());
  REQUIRE(store.publishConfig(kRetailProgramme, "cli:test"));
  const json promotions = hq::promotionReport(c, half, {});
  REQUIRE(promotions["rows"].size() == 1);
  const json& promo = promotions["rows"][0];
  CHECK(promo["promotion_id"] == kRetailPromotionId);
  CHECK(promo["sales"] == 0);
  CHECK(promo["members"] == 0);
  CHECK(promo["discount"] == "0.00");
  CHECK(promo["net_revenue"] == "0.00");
  CHECK(promo["lift"]["stores_with"] == 0);
  CHECK(promo["lift"]["stores_without"] == 1);
  const RetailTotals during = retailTotals(invoices, half.from, half.to);
  const RetailTotals before = retailTotals(invoices, retailDay(half.from, -183), retailDay(half.from, -1));
  CHECK(promo["lift"]["before"]["from"] == "2010-11-30");
  CHECK(promo["lift"]["without"]["net_revenue"] == pounds(during.net()));
  CHECK(promo["lift"]["without"]["net_revenue_before"] == pounds(before.net()));
  hq::ReportFilter halfFilter;
  halfFilter.range = half;
  const json summary = reports.summary(halfFilter);
  CHECK(summary["sales"] == during.sales);
  CHECK(summary["refunds"] == during.refunds);
  CHECK(summary["net_revenue"] == pounds(during.net()));

  // Staff: the replay's terminal records no staff, so every sale, refund and enrolment is in one
  // row of the one store without a staff id.
  const RetailTotals whole = retailTotals(invoices, first, last);
  std::int64_t earned = 0;
  for (const auto& i : invoices) earned += !i.customer.empty() && !i.refund() ? i.pence / 100 : 0;
  const hq::ReportFilter all;
  json staff = reports.staff(all);
  REQUIRE(staff["rows"].size() == 1);
  CHECK(staff["rows"][0]["store"] == kRetailStore);
  CHECK(staff["rows"][0]["staff_id"].is_null());
  CHECK(staff["rows"][0]["sales"] == whole.sales);
  CHECK(staff["rows"][0]["net_revenue"] == pounds(whole.net()));
  CHECK(staff["rows"][0]["refunds"] == whole.refunds);
  CHECK(staff["rows"][0]["refunded"] == pounds(whole.refunded));
  CHECK(staff["rows"][0]["points_earned"] == earned);
  CHECK(staff["rows"][0]["enrolments"] == customers.size());
  CHECK(staff["rows"][0]["complaints"] == 0);
  staff = reports.staff(halfFilter);
  REQUIRE(staff["rows"].size() == 1);
  CHECK(staff["rows"][0]["sales"] == during.sales);
  CHECK(staff["rows"][0]["net_revenue"] == pounds(during.net()));

  // Complaint handling: the year has no complaints; then two filed at the counter about the two
  // customers the day after their last sale (due 48 hours later, so long past due now), taken
  // into the workflow as head office does before it reports; the top customer's is resolved, late.
  {
    const json none = hq::complaintHandling(c, reports.complaints(all, now), now);
    CHECK(none["total"]["complaints"] == 0);
    CHECK(none["total"]["overdue_rate"].is_null());
    CHECK(none["stores"].empty());
  }
  for (const std::string& id : {top, single}) {
    upload.add("complaint.filed", retailDay(customers.at(id).lastSale, 1) + "T10:00:00Z",
               {{"complaint_id", "C-" + id}, {"member_id", id}, {"category", "service"}, {"description", "late delivery"},
                {"staff_id", nullptr}});
  }
  upload.flush();
  CHECK(reports.importCounterComplaints(now) == 2);
  for (const char* step : {"acknowledged", "investigated", "solution_proposed", "resolved"}) {
    hq::ComplaintUpdate u;
    u.step = step;
    REQUIRE(reports.updateComplaint("C-" + top, u, "cli:test", now));
  }
  const json complaints = reports.complaints(all, now);
  const json handling = hq::complaintHandling(c, complaints, now);
  CHECK(handling["total"]["complaints"] == 2);
  CHECK(handling["total"]["resolved"] == 1);
  CHECK(handling["total"]["overdue"] == 2);
  CHECK(handling["total"]["overdue_rate"] == 100.0);
  REQUIRE(handling["stores"].size() == 1);
  CHECK(handling["stores"][0]["store"] == kRetailStore);
  const hq::ComplaintListFilter everyone;
  const json listed = hq::complaintList(c, complaints, everyone);
  REQUIRE(listed["total"] == 2);
  for (const auto& row : listed["rows"]) {
    const std::string id = row["member_id"].get<std::string>();
    CHECK(row["complaint_id"] == "C-" + id);
    CHECK(row["name"] == "Customer " + id);
    CHECK(row["card_no"] == "9" + id);
  }
  CHECK(reports.staff(all)["rows"][0]["complaints"] == 2);
  const auto topProfile = hq::memberExport(c, top, now);
  REQUIRE(topProfile);
  REQUIRE((*topProfile)["complaints"].size() == 1);
  CHECK((*topProfile)["complaints"][0]["complaint_id"] == "C-" + top);
}

}  // namespace

TEST_CASE("replay: customer care on the Online Retail year on SQLite: member 360 / welcome back / promotions / staff / "
          "complaint handling",
          "[analytics][replay]") {
  SqliteFile file;
  customerCareOn([&file] { return file.open(); });
}

TEST_CASE("replay: customer care on the Online Retail year on PostgreSQL: member 360 / welcome back / promotions / staff / "
          "complaint handling",
          "[analytics][replay][postgresql]") {
  customerCareOn([] { return sharedPostgres().fresh(); });
}
