#pragma once
// The store worker's replies as the UI thread would see them: posted by the worker, taken here.

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "loyalty/ui/protocol.hpp"

namespace loyalty::test {

struct Inbox {
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<ui::Reply> replies;
  void post(ui::Reply r) {
    {
      const std::lock_guard lock(mutex);
      replies.push_back(std::move(r));
    }
    cv.notify_all();
  }
  /// The next reply of type T; replies of other types before it are dropped.
  template <class T>
  T next() {
    std::unique_lock lock(mutex);
    for (;;) {
      REQUIRE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return !replies.empty(); }));
      ui::Reply r = std::move(replies.front());
      replies.pop_front();
      if (auto* t = std::get_if<T>(&r)) return std::move(*t);
    }
  }
};

}  // namespace loyalty::test
