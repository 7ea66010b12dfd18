// The counter app's store worker on a full disk (a small tmpfs this test mounts; root only, else
// reported skipped): a sale is answered with the disk's own words, the app model shows them as its
// failure line, and once space returns the same worker records the sale sent again.
#include <catch2/catch.hpp>

#include <chrono>

#include "loyalty/ui/app.hpp"
#include "reply_inbox.hpp"
#include "test_backend.hpp"
#include "tmpfs_mount.hpp"

using namespace loyalty;
using namespace loyalty::ui;

TEST_CASE("Disk full: the store worker answers a sale with the disk's error, the app shows it, and a retry works later",
          "[ui][worker][faults][disk]") {
  if (!test::canMount()) {
    WARN("NEEDS ROOT: mounting a tmpfs needs root; skipped");
    return;
  }
  test::TmpfsMount disk(3 * 1024 * 1024);
  const std::string data = (disk.path() / "data").string();
  test::Inbox inbox;
  StoreWorker worker([&]() -> std::unique_ptr<StoreBackend> { return std::make_unique<test::TestBackend>(data); },
                     [&](Reply r) { inbox.post(std::move(r)); });
  REQUIRE(inbox.next<reply::StoreOpened>().info.hasValue());

  const Timestamp now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  terminal::SaleRequest sale;
  sale.lines = {{"ITEM-1", std::string(180, 'x'), 1, "12.00"}};
  sale.at = now;

  disk.fill();
  // Sales until the full disk refuses one (the store's free pages may hold a few).
  std::optional<reply::Failed> failed;
  std::string refusedId;
  for (int i = 0; i < 300 && !failed; ++i) {
    sale.saleId = "S-" + std::to_string(i);
    worker.submit(cmd::Sale{sale});
    for (;;) {
      Reply r = [&] {
        std::unique_lock lock(inbox.mutex);
        REQUIRE(inbox.cv.wait_for(lock, std::chrono::seconds(20), [&] { return !inbox.replies.empty(); }));
        Reply front = std::move(inbox.replies.front());
        inbox.replies.pop_front();
        return front;
      }();
      if (auto* f = std::get_if<reply::Failed>(&r)) {
        failed = *f;
        refusedId = sale.saleId;
        break;
      }
      if (auto* s = std::get_if<reply::Sold>(&r)) {
        REQUIRE(s->result.hasValue());
        break;
      }
    }
  }
  REQUIRE(failed.has_value());
  CHECK(failed->what.rfind("the disk is full, nothing was saved", 0) == 0);
  AppModel app;
  apply(app, Reply{*failed});
  CHECK(app.failure == failed->what);

  disk.release();
  sale.saleId = refusedId;
  worker.submit(cmd::Sale{sale});
  const auto sold = inbox.next<reply::Sold>();
  REQUIRE(sold.result.hasValue());
  CHECK(sold.result->saleId == refusedId);
}
