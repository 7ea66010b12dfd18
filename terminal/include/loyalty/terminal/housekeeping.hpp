#pragma once
/// @brief The counter app's daily housekeeping: expiry of due lots and the monthly tier reviews
/// (CounterService::housekeeping), once at start and again whenever the store's local day
/// changes. A timer thread of its own; the run itself is handed to the store's one writer.

#include <condition_variable>
#include <mutex>
#include <thread>

#include "loyalty/core/zone.hpp"
#include "loyalty/terminal/store_writer.hpp"

namespace loyalty::terminal {

class DailyHousekeeping {
 public:
  /// `zone`: the store's time zone (its local day). `writer` must outlive this object (or refuse
  /// with WriterClosed once it stops).
  DailyHousekeeping(StoreWriter& writer, ZoneRules zone);
  ~DailyHousekeeping();
  DailyHousekeeping(const DailyHousekeeping&) = delete;
  DailyHousekeeping& operator=(const DailyHousekeeping&) = delete;

 private:
  void run(std::stop_token stop);

  StoreWriter& m_writer;
  ZoneRules m_zone;
  std::mutex m_mutex;
  std::condition_variable_any m_wake;
  std::jthread m_thread;  // last: joins before the members above go away
};

}  // namespace loyalty::terminal
