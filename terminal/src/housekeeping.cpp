#include "loyalty/terminal/housekeeping.hpp"

#include <chrono>
#include <iostream>
#include <optional>

#include "loyalty/terminal/store.hpp"

namespace loyalty::terminal {

DailyHousekeeping::DailyHousekeeping(std::string dataDir, CounterConfig config)
    : m_dataDir(std::move(dataDir)), m_config(std::move(config)),
      m_thread([this](std::stop_token stop) { run(std::move(stop)); }) {}

DailyHousekeeping::~DailyHousekeeping() {
  m_thread.request_stop();
  m_wake.notify_all();
}

void DailyHousekeeping::run(std::stop_token stop) {
  std::optional<Date> done;
  try {
    db::Database db = openTerminalDatabase(m_dataDir);
    RandomIds ids;
    CounterService service(db, m_config, ids);
    while (!stop.stop_requested()) {
      const Timestamp now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
      const Date today = m_config.zone.localDate(now);
      if (done != today) {
        try {
          const HousekeepingResult r = service.housekeeping(now);
          if (r.expiredEntries > 0 || r.membersDowngraded > 0) {
            std::clog << "loyalty-terminal: housekeeping: " << r.pointsExpired << " points expired in "
                      << r.expiredEntries << " lots, " << r.membersDowngraded << " members moved down a tier\n";
          }
          done = today;
        } catch (const std::exception& e) {
          // A busy or full disk: try again at the next check, never stop the counter.
          std::clog << "loyalty-terminal: housekeeping failed, retrying later: " << e.what() << '\n';
        }
      }
      std::unique_lock lock(m_mutex);
      m_wake.wait_for(lock, stop, std::chrono::minutes{1}, [] { return false; });
    }
  } catch (const std::exception& e) {
    std::clog << "loyalty-terminal: housekeeping could not open the store: " << e.what() << '\n';
  }
}

}  // namespace loyalty::terminal
