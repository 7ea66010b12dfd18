#pragma once
/// @brief A database file's WAL copied back into it on a thread and a connection of its own,
/// woken by the commits of the process's connections to the file (Database::checkpointInBackground).

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace loyalty::db {

/// One per database file in a process, shared by the connections that asked for it and ended
/// with the last of them. A commit then only appends to the WAL and syncs it (as durable as
/// before); writing the pages back into the file and syncing it happens here, while the
/// committing thread goes on with its next piece of work. A checkpoint that fails (a full disk)
/// is left to the committing connections' own backstop (Database::deferCheckpoints).
class BackgroundCheckpoints {
 public:
  /// The one for `path`, started by the first connection that asks.
  static std::shared_ptr<BackgroundCheckpoints> of(const std::string& path);
  ~BackgroundCheckpoints();
  BackgroundCheckpoints(const BackgroundCheckpoints&) = delete;
  BackgroundCheckpoints& operator=(const BackgroundCheckpoints&) = delete;

  /// From a committing thread: the WAL has grown; checkpoint soon. Never blocks on a checkpoint.
  void wake();
  /// Checkpoints that ran (copied what they could), for tests and benches.
  long long checkpoints() const;

 private:
  explicit BackgroundCheckpoints(std::string path);
  void run();

  const std::string m_path;
  mutable std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_wanted = false;
  bool m_stopping = false;
  long long m_checkpoints = 0;
  std::thread m_thread;  // last: started once the members it uses exist
};

}  // namespace loyalty::db
