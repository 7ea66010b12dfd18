#pragma once
/// @brief The store worker: one thread that owns the write connection, the Counter service and
/// the Feedback service. The UI thread only submits commands and receives replies.

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "loyalty/ui/protocol.hpp"

namespace loyalty::ui {

/// What the worker works on; opened on the worker thread (opening and migrating a large
/// database must not hold up the first frame).
struct StoreBackend {
  virtual ~StoreBackend() = default;
  virtual db::Database& database() = 0;
  virtual terminal::CounterService& counter() = 0;
  virtual terminal::FeedbackService& feedback() = 0;
  virtual StoreInfo info() const = 0;
};

using BackendFactory = std::function<std::unique_ptr<StoreBackend>()>;
/// Called on the worker thread with each reply; must be thread-safe and quick (queue + wake).
using ReplySink = std::function<void(Reply)>;

/// Runs one command against a backend (exposed for tests and the benchmark).
Reply runCommand(StoreBackend& backend, Command command);

class StoreWorker {
 public:
  /// Starts the thread; its first reply is reply::StoreOpened.
  StoreWorker(BackendFactory open, ReplySink sink);
  ~StoreWorker();
  StoreWorker(const StoreWorker&) = delete;
  StoreWorker& operator=(const StoreWorker&) = delete;

  void submit(Command command);

 private:
  void run(std::stop_token stop);
  /// Pops the next command; a lookup is skipped when a newer lookup waits behind it.
  bool next(std::stop_token& stop, Command& out);

  BackendFactory m_open;
  ReplySink m_sink;
  std::mutex m_mutex;
  std::condition_variable_any m_wake;
  std::deque<Command> m_queue;
  std::jthread m_thread;  // last: joins before the members above go away
};

/// Replies waiting for the UI thread. post() is called by the worker; drain() by the UI thread
/// at the start of a frame. `wake` (e.g. SDL_PushEvent) interrupts the UI's event wait.
class MainQueue {
 public:
  explicit MainQueue(std::function<void()> wake) : m_wake(std::move(wake)) {}
  void post(Reply r);
  std::deque<Reply> drain();

 private:
  std::function<void()> m_wake;
  std::mutex m_mutex;
  std::deque<Reply> m_items;
};

}  // namespace loyalty::ui
