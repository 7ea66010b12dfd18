#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "loyalty/terminal/staff.hpp"
#include "loyalty/terminal/timezone.hpp"
#include "loyalty/ui/app.hpp"
#include "reply_inbox.hpp"
#include "test_backend.hpp"

using namespace loyalty;
using namespace loyalty::ui;
using namespace std::chrono_literals;

using test::Inbox;

TEST_CASE("The store worker opens the store on its thread and answers commands with snapshots", "[ui][worker]") {
  test::TempDir dir;
  {
    test::TestBackend seed(dir.str());
    REQUIRE(terminal::addStaff(seed.database(), "7", "李娜", "cashier", "1234").hasValue());
  }
  Inbox inbox;
  std::thread::id workerThread;
  StoreWorker worker(
      [&]() -> std::unique_ptr<StoreBackend> {
        workerThread = std::this_thread::get_id();
        return std::make_unique<test::TestBackend>(dir.str());
      },
      [&](Reply r) { inbox.post(std::move(r)); });
  REQUIRE(inbox.next<reply::StoreOpened>().info.hasValue());
  CHECK(workerThread != std::this_thread::get_id());

  worker.submit(cmd::SignIn{"7", "0000"});
  CHECK(inbox.next<reply::SignedIn>().staff.error().field == "pin");
  worker.submit(cmd::SignIn{"7", "1234"});
  CHECK(inbox.next<reply::SignedIn>().staff->name == "李娜");

  terminal::EnrollRequest e;
  e.phone = "13800138000";
  e.name = "王小明";
  // As the screens do: operations happen now (the store expires points earned long ago).
  const Timestamp now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  e.at = now;
  worker.submit(cmd::Enroll{e});
  const MemberView m = *inbox.next<reply::Enrolled>().member;

  terminal::SaleRequest sale;
  sale.saleId = "S-1";
  sale.member = m.memberId;
  sale.lines = {{"ITEM-1", std::nullopt, 1, "128.50"}};
  sale.at = now;
  worker.submit(cmd::Sale{sale});
  const auto sold = inbox.next<reply::Sold>();
  CHECK(sold.result->pointsEarned == 128);
  // A sale refreshes the member panel and the outbox count by itself.
  CHECK(inbox.next<reply::Member>().detail->member.points == 128);
  CHECK(inbox.next<reply::Status>().outboxPending == 2);

  worker.submit(cmd::Lookup{1, "8000", false});
  const auto found = inbox.next<reply::Lookup>();
  CHECK(found.seq == 1);
  REQUIRE(found.members->size() == 1);
  CHECK(found.members->front().phoneMasked == "138****8000");
}

TEST_CASE("Typing fast: a lookup with a newer one queued behind it is skipped", "[ui][worker]") {
  test::TempDir dir;
  Inbox inbox;
  std::mutex gate;
  std::unique_lock hold(gate);  // keeps the worker busy opening while the lookups queue up
  StoreWorker worker(
      [&]() -> std::unique_ptr<StoreBackend> {
        const std::lock_guard wait(gate);
        return std::make_unique<test::TestBackend>(dir.str());
      },
      [&](Reply r) { inbox.post(std::move(r)); });
  for (std::uint64_t seq = 1; seq <= 5; ++seq) worker.submit(cmd::Lookup{seq, std::string(seq + 3, '1'), false});
  hold.unlock();
  inbox.next<reply::StoreOpened>();
  CHECK(inbox.next<reply::Lookup>().seq == 5);
  worker.submit(cmd::Status{true});
  CHECK(inbox.next<reply::Status>().stats.has_value());
  const std::lock_guard lock(inbox.mutex);
  CHECK(inbox.replies.empty());
}

TEST_CASE("End of day shows the store's local day in the store's zone, not the machine's", "[ui][worker]") {
  // A store on UTC+14: its day starts at 10:00 UTC the day before; the machine runs on UTC.
  test::TempDir dir;
  terminal::CounterConfig config;
  config.store.timezone = "Pacific/Kiritimati";
  auto zone = terminal::loadZone(config.store.timezone);
  REQUIRE(zone.hasValue());
  config.zone = *zone;
  const auto at = [](const char* text) { return *parseRfc3339(text, "at"); };
  {
    test::TestBackend seed(dir.str(), config);
    for (const auto& [id, when] : {std::pair{"S-10th", "2026-03-10T09:59:59Z"}, {"S-11th", "2026-03-10T10:00:00Z"}}) {
      terminal::SaleRequest sale;
      sale.saleId = id;
      sale.lines = {{"ITEM-1", std::nullopt, 1, "12.00"}};
      sale.at = at(when);
      REQUIRE(seed.counter().sale(sale).hasValue());
    }
  }
  Inbox inbox;
  StoreWorker worker([&]() -> std::unique_ptr<StoreBackend> { return std::make_unique<test::TestBackend>(dir.str(), config); },
                     [&](Reply r) { inbox.post(std::move(r)); });
  inbox.next<reply::StoreOpened>();

  AppModel app;
  app.staff = terminal::StaffMember{"7", "李娜", "cashier"};
  const auto dayEndAt = [&](const char* now) {
    app.now = at(now);
    update(app, intent::Go{Screen::kDayEnd});
    for (Command& c : std::exchange(app.outbox, {})) worker.submit(std::move(c));
    apply(app, inbox.next<reply::Day>());
    REQUIRE(app.dayEnd.figures.has_value());
  };
  dayEndAt("2026-03-10T09:00:00Z");  // 23:00 on the 10th at the store
  CHECK(app.dayEnd.day == "2026-03-10");
  CHECK(app.dayEnd.figures->sales == 1);
  dayEndAt("2026-03-10T11:00:00Z");  // 01:00 on the 11th at the store, still the 10th in UTC
  CHECK(app.dayEnd.day == "2026-03-11");
  CHECK(app.dayEnd.figures->sales == 1);
  CHECK(app.dayEnd.figures->total.toString() == "12.00");
}

TEST_CASE("A member's history shows the store's clock, not UTC with a T", "[ui][worker]") {
  test::TempDir dir;
  terminal::CounterConfig config;
  config.store.timezone = "Asia/Shanghai";
  auto zone = terminal::loadZone(config.store.timezone);
  REQUIRE(zone.hasValue());
  config.zone = *zone;
  std::string memberId;
  {
    test::TestBackend seed(dir.str(), config);
    terminal::EnrollRequest e;
    e.phone = "13800138000";
    e.name = "王小明";
    e.at = *parseRfc3339("2026-12-02T01:00:00Z", "at");
    memberId = seed.counter().enroll(e)->memberId;
    terminal::SaleRequest sale;
    sale.saleId = "S-1";
    sale.member = memberId;
    sale.lines = {{"ITEM-1", std::nullopt, 1, "12.00"}};
    sale.at = *parseRfc3339("2026-12-02T01:50:00Z", "at");
    REQUIRE(seed.counter().sale(sale).hasValue());
  }
  Inbox inbox;
  StoreWorker worker([&]() -> std::unique_ptr<StoreBackend> { return std::make_unique<test::TestBackend>(dir.str(), config); },
                     [&](Reply r) { inbox.post(std::move(r)); });
  inbox.next<reply::StoreOpened>();
  worker.submit(cmd::Member{memberId});
  const auto m = inbox.next<reply::Member>();
  REQUIRE(m.history.size() == 1);
  CHECK(m.history[0].at == "2026-12-02 09:50");
}

TEST_CASE("Member details through the worker: a change, a consent decision, its history and the export", "[ui][worker]") {
  test::TempDir dir;
  {
    test::TestBackend seed(dir.str());
    REQUIRE(terminal::addStaff(seed.database(), "7", "李娜", "cashier", "1234").hasValue());
  }
  Inbox inbox;
  StoreWorker worker([&]() -> std::unique_ptr<StoreBackend> { return std::make_unique<test::TestBackend>(dir.str()); },
                     [&](Reply r) { inbox.post(std::move(r)); });
  REQUIRE(inbox.next<reply::StoreOpened>().info.hasValue());
  const Timestamp now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  const auto enrol = [&](const char* phone, const char* name) {
    terminal::EnrollRequest e;
    e.phone = phone;
    e.name = name;
    e.consentMarketing = true;
    e.at = now;
    worker.submit(cmd::Enroll{e});
    return *inbox.next<reply::Enrolled>().member;
  };
  const MemberView wang = enrol("13800138000", "王小明");
  enrol("13911112222", "李雷");

  terminal::MemberUpdateRequest taken;
  taken.member = wang.memberId;
  taken.phone = "139 1111 2222";
  taken.at = now;
  taken.staffId = "7";
  worker.submit(cmd::UpdateMember{taken});
  const auto refused = inbox.next<reply::MemberUpdated>();
  CHECK(refused.phone == "139 1111 2222");  // what the cashier typed: the lookup that opens its owner
  CHECK(refused.result.error().code == errc::kAlreadyExists);
  CHECK(refused.result.error().field == "phone");

  worker.submit(cmd::Consent{{wang.memberId, false, std::nullopt, now, "7"}});
  CHECK_FALSE(inbox.next<reply::ConsentRecorded>().result->consentMarketing);
  CHECK_FALSE(inbox.next<reply::Member>().detail->member.consentMarketing);  // the member panel follows
  worker.submit(cmd::ConsentHistory{wang.memberId});
  const auto history = inbox.next<reply::ConsentHistory>();
  REQUIRE(history.result->size() == 2);
  CHECK(history.result->front().consentMarketing);
  CHECK_FALSE(history.result->back().consentMarketing);
  CHECK(history.result->back().staffId == std::optional<std::string>("7"));
  CHECK(history.result->back().at.find('T') == std::string::npos);  // the store's clock, as people read it

  worker.submit(cmd::ExportMember{wang.memberId, "7", now});
  const auto data = inbox.next<reply::MemberExported>();
  CHECK(data.result->member.phone == "+8613800138000");
  CHECK(data.result->consents.size() == 2);
  REQUIRE_FALSE(data.result->log.empty());
  CHECK(data.result->log.back().action == "export");
}

TEST_CASE("The store worker checkpoints the WAL when it has nothing to do, never inside a sale", "[ui][worker]") {
  test::TempDir dir;
  Inbox inbox;
  StoreWorker worker([&]() -> std::unique_ptr<StoreBackend> { return std::make_unique<test::TestBackend>(dir.str()); },
                     [&](Reply r) { inbox.post(std::move(r)); });
  REQUIRE(inbox.next<reply::StoreOpened>().info.hasValue());
  const Timestamp now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());

  // Sales in one job, so the worker has no idle moment between them: every commit stays in the
  // WAL (SQLite's own checkpoint would have run inside the sale that passed 1,000 pages).
  int walAfterSales = 0;
  worker.write([&](db::Database& db, terminal::CounterService& counter) {
    for (int i = 0; i < 300; ++i) {
      terminal::SaleRequest sale;
      sale.saleId = "IDLE-" + std::to_string(i);
      sale.lines = {{"ITEM-" + std::to_string(i), std::string(200, 'd'), 1, "9.90"}};
      sale.at = now;
      REQUIRE(counter.sale(sale).hasValue());
    }
    walAfterSales = db.walPages();
  });
  CHECK(walAfterSales > 1'000);

  // Once the queue is empty the worker copies the WAL back. Each write below is a turn of the
  // worker's loop; the checkpoint happens between turns (bounded wait, no timing asserted).
  int walLater = walAfterSales;
  for (int turn = 0; turn < 500 && walLater != 0; ++turn) {
    std::this_thread::sleep_for(10ms);
    worker.write([&](db::Database& db, terminal::CounterService&) { walLater = db.walPages(); });
  }
  CHECK(walLater == 0);
}
