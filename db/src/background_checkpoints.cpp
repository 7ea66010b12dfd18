#include "loyalty/db/background_checkpoints.hpp"

#include <map>
#include <optional>

#include "loyalty/db/database.hpp"

namespace loyalty::db {

std::shared_ptr<BackgroundCheckpoints> BackgroundCheckpoints::of(const std::string& path) {
  static std::mutex registryMutex;
  static std::map<std::string, std::weak_ptr<BackgroundCheckpoints>> registry;
  std::lock_guard lock(registryMutex);
  if (auto running = registry[path].lock()) return running;
  std::erase_if(registry, [](const auto& e) { return e.second.expired(); });
  auto made = std::shared_ptr<BackgroundCheckpoints>(new BackgroundCheckpoints(path));
  registry[path] = made;
  return made;
}

BackgroundCheckpoints::BackgroundCheckpoints(std::string path) : m_path(std::move(path)), m_thread([this] { run(); }) {}

BackgroundCheckpoints::~BackgroundCheckpoints() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_one();
  m_thread.join();
}

void BackgroundCheckpoints::wake() {
  {
    std::lock_guard lock(m_mutex);
    m_wanted = true;
  }
  m_wake.notify_one();
}

long long BackgroundCheckpoints::checkpoints() const {
  std::lock_guard lock(m_mutex);
  return m_checkpoints;
}

void BackgroundCheckpoints::run() {
  std::optional<Database> db;  // opened at the first wake: by then the file is there
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_wake.wait(lock, [&] { return m_wanted || m_stopping; });
    if (m_stopping) return;
    m_wanted = false;
    lock.unlock();
    bool ran = false;
    try {
      if (!db) db.emplace(m_path);
      ran = db->checkpointNow();  // false: another checkpoint holds it, and copies it
    } catch (const DbError&) {
      db.reset();  // e.g. the disk is full: the committing connections' backstop, or the next wake
    }
    lock.lock();
    if (ran) ++m_checkpoints;
  }
}

}  // namespace loyalty::db
