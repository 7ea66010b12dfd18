#pragma once
/// @brief The store worker: one thread that owns the write connection, the Counter service and
/// the Feedback service. The UI thread only submits commands and receives replies; the app's
/// other threads (background sync, housekeeping) hand it their writes (terminal::StoreWriter).

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <variant>

#include "loyalty/terminal/store_writer.hpp"
#include "loyalty/ui/protocol.hpp"

namespace loyalty::ui {

/// What the worker works on; opened on the worker thread (opening and migrating a large
/// database must not hold up the first frame).
struct StoreBackend {
  virtual ~StoreBackend() = default;
  virtual db::Database& database() = 0;
  virtual terminal::CounterService& counter() = 0;
  virtual terminal::FeedbackService& feedback() = 0;
  virtual terminal::CounterQueries& queries() = 0;
  virtual StoreInfo info() const = 0;
  /// Called on the worker thread once the store is open: starts work on other threads (sync,
  /// housekeeping) that writes through `writer` (the worker). Stopped when the backend goes.
  virtual void startBackground(terminal::StoreWriter& writer) { (void)writer; }
};

using BackendFactory = std::function<std::unique_ptr<StoreBackend>()>;
/// Called on the worker thread with each reply; must be thread-safe and quick (queue + wake).
using ReplySink = std::function<void(Reply)>;

/// Runs one command against a backend (exposed for tests and the benchmark).
Reply runCommand(StoreBackend& backend, Command command);

class StoreWorker final : public terminal::StoreWriter {
 public:
  /// Starts the thread; its first reply is reply::StoreOpened.
  StoreWorker(BackendFactory open, ReplySink sink);
  ~StoreWorker() override;
  StoreWorker(const StoreWorker&) = delete;
  StoreWorker& operator=(const StoreWorker&) = delete;

  void submit(Command command);
  /// Queued behind the commands already waiting and run on the worker thread (at once when
  /// called there); waits until done. Throws terminal::WriterClosed once the worker stops.
  void write(Job job) override;

 private:
  struct WriteJob {
    Job job;
    std::promise<void> done;
  };
  using Item = std::variant<Command, WriteJob>;

  void run(std::stop_token stop);
  /// Pops the next item; a lookup is skipped when a newer lookup waits behind it. Runs
  /// `whenIdle` (without the lock) each time it finds the queue empty, before it waits.
  bool next(std::stop_token& stop, Item& out, const std::function<void()>& whenIdle);
  void handle(StoreBackend& backend, Command command);
  /// No more writes: the queued ones fail with WriterClosed, later ones too.
  void close();

  BackendFactory m_open;
  ReplySink m_sink;
  std::mutex m_mutex;
  std::condition_variable_any m_wake;
  std::deque<Item> m_queue;
  bool m_closed = false;
  StoreBackend* m_backend = nullptr;  ///< while open; used on the worker thread only
  std::thread::id m_workerThread;     ///< under m_mutex
  std::jthread m_thread;  // last: joins before the members above go away
};

/// Replies waiting for the UI thread. post() is called by the worker; drain() by the UI thread
/// at the start of a frame. `wake` (e.g. SDL_PushEvent) interrupts the UI's event wait.
class MainQueue {
 public:
  explicit MainQueue(std::function<void()> wake) : m_wake(std::move(wake)) {}
  void post(Reply r);
  std::deque<Reply> drain();
  /// Waits until a reply is waiting or `timeout` has passed; true if one is.
  bool waitFor(std::chrono::microseconds timeout);

 private:
  std::function<void()> m_wake;
  std::condition_variable m_posted;
  std::mutex m_mutex;
  std::deque<Reply> m_items;
};

}  // namespace loyalty::ui
