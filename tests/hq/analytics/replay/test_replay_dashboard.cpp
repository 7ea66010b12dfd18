// The dashboard's customer-care pages (issue 20) on the real Online Retail year: the year is
// replayed into a head office's data directory (online_retail.hpp, straight into its SQLite
// store: much faster than uploading it), then the real `loyalty-hq serve` answers over HTTPS on
// loopback. A second terminal uploads through the API what the year lacks (consent, a
// complaint). Every page answers 200 with the figures this file works out from the CSV, shown as
// people read them (¥ and thousands separators, times on the shop's clock), and is kept as
// build/screenshots/retail-*.png when Chromium is installed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "dashboard_browser.hpp"
#include "loyalty/hq/store.hpp"
#include "online_retail.hpp"

using nlohmann::json;
using namespace loyalty;
using namespace loyalty::test;

namespace {

/// The table row of `attribute`="`value`" in a page ("" when there is none).
std::string rowOf(const std::string& html, const std::string& attribute, const std::string& value) {
  const std::string open = "<tr " + attribute + "=\"" + value + "\"";
  const auto at = html.find(open);
  if (at == std::string::npos) return "";
  return html.substr(at, html.find("</tr>", at) - at);
}

/// The text of the element with data-key="`key`" as the page shows it ("" when there is none).
std::string shownAt(const std::string& html, const std::string& key) {
  const std::string open = "data-key=\"" + key + "\">";
  const auto at = html.find(open);
  if (at == std::string::npos) return "";
  const auto from = at + open.size();
  return html.substr(from, html.find('<', from) - from);
}

}  // namespace

TEST_CASE("replay: the customer-care pages of the dashboard on the Online Retail year, served over HTTPS",
          "[analytics][replay][chromium]") {
  const auto year = readOnlineRetail();
  if (!year) return;
  const std::vector<RetailInvoice>& invoices = *year;
  const std::map<std::string, RetailCustomer> customers = retailCustomers(invoices);
  const std::string first = invoices.front().day, last = invoices.back().day;
  const std::string top = retailTopCustomer(customers), single = retailOneInvoiceCustomer(customers);
  const std::vector<std::string> lapsed = retailLastBoughtBefore(customers, retailDay(last, -90));

  HqInstance hq("sqlite");
  {
    hq::HqStore store(hq.sql());
    const auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    RetailUpload(store, now).year(invoices);
  }
  hq.start();
  // What a second counter of the shop sends through the API: ten lapsed customers consent to
  // marketing, the top customer complains.
  const std::string t2 = hq.registerTerminal(kRetailStore, "T2", kRetailZone);
  json events = json::array();
  const auto add = [&events](const std::string& type, const std::string& at, json payload) {
    events.push_back(retailEvent("T2", static_cast<std::int64_t>(events.size()) + 1, type, at, std::move(payload)));
  };
  for (std::size_t k = 0; k < 10; ++k) {
    add("member.updated", last + "T17:00:00Z", {{"member_id", lapsed[k]}, {"consent_marketing", true}, {"consent_version", "v1"}});
  }
  add("complaint.filed", last + "T17:30:00Z",
      {{"complaint_id", "C-" + top}, {"member_id", top}, {"category", "service"}, {"description", "parcel arrived damaged"},
       {"staff_id", nullptr}});
  uploadApplied(hq, t2, "T2", events);

  Http admin{hq, hq.adminToken()};
  const RetailAbc beforeDecember = retailAbc(invoices, "2010-12-01", "2011-11-30");
  CHECK(admin.post("/api/v1/followups/plan", {{"month", "2011-12"}})["planned"] == beforeDecember.followupVisits());
  {
    auto r = hq.client()->Put("/api/v1/admin/config", bearer(hq.adminToken()), json{{"toml", kRetailProgramme}}.dump(),
                              "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
  }
  DashboardPages pages(admin);

  // Members: the card finds the top customer; the profiles count the CSV's invoices and spend.
  std::string html = pages.open("/dashboard/members?lang=en&q=9" + top, "retail-members-search");
  CHECK(pageNumbers(html).at("shown") == "showing 1 of 1");
  CHECK(rowOf(html, "data-member", top).find("<td>" + yuan(customers.at(top).net) + "</td>") != std::string::npos);
  for (const std::string& id : {top, single}) {
    INFO("customer " << id);
    html = pages.open("/dashboard/members/" + id + "?lang=en", "retail-member-" + std::string(id == top ? "top" : "one-invoice"));
    CHECK(shownAt(html, "member:card_no") == "9" + id);
    CHECK(shownAt(html, "member:lifetime_spend") == yuan(customers.at(id).net));
    CHECK(html.find("<h2>Sales <small>(" + std::to_string(customers.at(id).sales) + ")</small></h2>") != std::string::npos);
    // Enrolled with their first invoice, without consent (so no version to show), on the shop's
    // clock; no date filter.
    const auto enrolled = std::find_if(invoices.begin(), invoices.end(), [&id](const RetailInvoice& i) { return i.customer == id; });
    CHECK(shownAt(html, "member:enrolled") == retailLocalTime(enrolled->at) + " · " + kRetailStore);
    CHECK(shownAt(html, "member:consent") == "No · " + retailLocalTime(enrolled->at) + " · " + kRetailStore);
    CHECK(html.find(enrolled->at) == std::string::npos);
    CHECK(html.find("name=\"from\"") == std::string::npos);
    // The newest 50 sales at their local times, a summer one an hour after UTC among them.
    std::vector<std::string> sold;
    for (const auto& i : invoices) {
      if (i.customer == id && !i.refund()) sold.push_back(i.at);
    }
    if (sold.size() > 50) sold.erase(sold.begin(), sold.end() - 50);
    for (const auto& at : sold) {
      INFO("sale at " << at);
      CHECK(html.find("<tr><td>" + retailLocalTime(at) + "</td><td>" + kRetailStore + "</td>") != std::string::npos);
    }
    if (id == top) {
      CHECK(std::any_of(sold.begin(), sold.end(), [](const std::string& at) { return retailLocalTime(at).substr(11) != at.substr(11, 5); }));
      CHECK(rowOf(html, "data-complaint", "C-" + top).find("<td>" + last + " 17:30</td>") != std::string::npos);
    }
  }

  // Follow-ups of December 2011 as of the 10th: the plan's visits; the A customers' first ones late.
  auto n = pageNumbers(pages.open("/dashboard/followups?lang=en&from=2011-12-01&to=2011-12-31&as_of=2011-12-10", "retail-followups"));
  CHECK(n.at("planned") == std::to_string(beforeDecember.followupVisits()));
  CHECK(n.at("overdue") == std::to_string(beforeDecember.counts.at('A')));

  // Complaints: the one filed, about the top customer by name.
  html = pages.open("/dashboard/complaints?lang=en", "retail-complaints");
  CHECK(pageNumbers(html).at("total") == "1");
  CHECK(html.find("Customer " + top) != std::string::npos);

  // The programme as published, and its promotion's results: no sale took it up.
  CHECK(pages.open("/dashboard/programme?lang=en", "retail-programme").find(kRetailPromotionId) != std::string::npos);
  n = pageNumbers(pages.open("/dashboard/promotions?lang=en&from=2011-06-01&to=2011-11-30", "retail-promotions"));
  CHECK(n.at(std::string("sales:") + kRetailPromotionId) == "0");
  CHECK(n.at("before") == "2010-11-30 – 2011-05-31");

  // Outreach, "welcome back" on the last day: the lapsed customers, of whom the ten consented.
  html = pages.open("/dashboard/outreach?lang=en&kind=welcome_back&day=" + last + "&idle_days=90", "retail-outreach");
  CHECK(pageNumbers(html).at("counts").rfind("To send 10 · no consent " + std::to_string(lapsed.size() - 10) + " · ", 0) == 0);

  // Staff: the year's sales, net revenue and enrolments in the one row without a staff id.
  const RetailTotals whole = retailTotals(invoices, first, last);
  html = pages.open("/dashboard/staff?lang=en&from=" + first + "&to=" + last, "retail-staff");
  n = pageNumbers(html);
  const std::string noStaff = std::string(":") + kRetailStore + ":-";
  CHECK(n.at("sales" + noStaff) == std::to_string(whole.sales));
  CHECK(shownAt(html, "net_revenue" + noStaff) == yuan(whole.net()));
  CHECK(n.at("enrolments" + noStaff) == std::to_string(customers.size()));

  // Terminals: the replayed counter (its data loaded, never registered) and the second one.
  html = pages.open("/dashboard/terminals?lang=en", "retail-terminals");
  CHECK(html.find("<tr data-terminal=\"T1\" data-state=\"waiting\">") != std::string::npos);
  CHECK(rowOf(html, "data-terminal", "T1").find("()") == std::string::npos);  // no error, so no time of one
  CHECK(html.find("<tr data-terminal=\"T2\" data-state=\"active\">") != std::string::npos);

  // Charts over the year: ABC's customers and classes, November's net revenue.
  const RetailAbc abc = retailAbc(invoices, first, last);
  html = pages.open("/dashboard/charts?lang=en&from=" + first + "&to=" + last + "&as_of=" + last, "retail-charts", 1280, 2400);
  n = pageNumbers(html);
  CHECK(n.at("pareto-members") == std::to_string(abc.ranked.size()));
  CHECK(shownAt(html, "pareto-spend") == yuan(abc.total));
  CHECK(n.at("mix-members:A") == std::to_string(abc.counts.at('A')));
  CHECK(shownAt(html, "month-net:2011-11") == yuan(retailTotals(invoices, "2011-11-01", "2011-11-30").net()));

  // Lifecycle as of the last day.
  const RetailLifecycle stages = retailLifecycle(invoices, last, 90);
  html = pages.open("/dashboard/lifecycle?lang=en&as_of=" + last, "retail-lifecycle", 1280, 2000);
  n = pageNumbers(html);
  for (const char* stage : {"prospect", "first_purchase", "repeat", "loyal", "lapsed"}) {
    INFO(stage);
    CHECK(n.at(std::string("stage:") + stage) == std::to_string(stages.members(stage)));
  }
  // The stage chart's bars say their counts as the tables do (1,179, not 1179).
  REQUIRE(stages.members("repeat") >= 1000);
  CHECK(html.find(">" + grouped(stages.members("repeat")) + "</text>") != std::string::npos);
}
