#pragma once
/// @brief The counter app's daily housekeeping: expiry of due lots and the monthly tier reviews
/// (CounterService::housekeeping), on its own thread and its own connection, once at start and
/// again whenever the store's local day changes.

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "loyalty/terminal/counter_service.hpp"

namespace loyalty::terminal {

class DailyHousekeeping {
 public:
  DailyHousekeeping(std::string dataDir, CounterConfig config);
  ~DailyHousekeeping();
  DailyHousekeeping(const DailyHousekeeping&) = delete;
  DailyHousekeeping& operator=(const DailyHousekeeping&) = delete;

 private:
  void run(std::stop_token stop);

  std::string m_dataDir;
  CounterConfig m_config;
  std::mutex m_mutex;
  std::condition_variable_any m_wake;
  std::jthread m_thread;  // last: joins before the members above go away
};

}  // namespace loyalty::terminal
