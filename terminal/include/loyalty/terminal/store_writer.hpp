#pragma once
/// @brief One writer per terminal database in the app: the thread that owns the write connection
/// (the counter app's store worker) runs the writes other threads need (background sync's
/// change-feed pages and upload acknowledgements, the daily housekeeping) between its own.

#include <functional>
#include <stdexcept>

#include "loyalty/db/database.hpp"
#include "loyalty/terminal/counter_service.hpp"

namespace loyalty::terminal {

/// Thrown by StoreWriter::write when the writer has stopped (the app is closing): the job did
/// not run and never will.
class WriterClosed : public std::runtime_error {
 public:
  WriterClosed() : std::runtime_error("the store is closing") {}
};

class StoreWriter {
 public:
  /// A write, given the writer's connection and Counter service (on the writer's thread).
  using Job = std::function<void(db::Database&, CounterService&)>;
  virtual ~StoreWriter() = default;
  /// Runs `job` on the writer's thread and returns when it has run; rethrows what it threw.
  /// Throws WriterClosed if the writer stopped first. Safe to call from any thread.
  virtual void write(Job job) = 0;
};

/// A writer that runs each job at once on the calling thread, over a connection and service of
/// its own: for programs whose only writer is the caller (`sync --once`, tests, benchmarks).
class DirectWriter final : public StoreWriter {
 public:
  DirectWriter(db::Database db, const CounterConfig& config);
  DirectWriter(const DirectWriter&) = delete;
  DirectWriter& operator=(const DirectWriter&) = delete;
  void write(Job job) override { job(m_db, m_service); }

 private:
  db::Database m_db;
  RandomIds m_ids;
  CounterService m_service;
};

}  // namespace loyalty::terminal
