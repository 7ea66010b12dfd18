#include "loyalty/terminal/housekeeping.hpp"

#include <chrono>
#include <iostream>
#include <optional>

namespace loyalty::terminal {

DailyHousekeeping::DailyHousekeeping(StoreWriter& writer, ZoneRules zone)
    : m_writer(writer), m_zone(std::move(zone)), m_thread([this](std::stop_token stop) { run(std::move(stop)); }) {}

DailyHousekeeping::~DailyHousekeeping() {
  m_thread.request_stop();
  m_wake.notify_all();
}

void DailyHousekeeping::run(std::stop_token stop) {
  std::optional<Date> done;
  while (!stop.stop_requested()) {
    const Timestamp now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    const Date today = m_zone.localDate(now);
    if (done != today) {
      try {
        HousekeepingResult r;
        m_writer.write([&](db::Database&, CounterService& service) { r = service.housekeeping(now); });
        if (r.expiredEntries > 0 || r.membersDowngraded > 0) {
          std::clog << "loyalty-terminal: housekeeping: " << r.pointsExpired << " points expired in "
                    << r.expiredEntries << " lots, " << r.membersDowngraded << " members moved down a tier\n";
        }
        done = today;
      } catch (const WriterClosed&) {
        return;  // the app is closing
      } catch (const std::exception& e) {
        // A busy or full disk: try again at the next check, never stop the counter.
        std::clog << "loyalty-terminal: housekeeping failed, retrying later: " << e.what() << '\n';
      }
    }
    std::unique_lock lock(m_mutex);
    m_wake.wait_for(lock, stop, std::chrono::minutes{1}, [] { return false; });
  }
}

}  // namespace loyalty::terminal
