#include "gateway/scheduled_worker.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <future>

using namespace cg::gateway;
using namespace std::chrono_literals;
using Clock = ScheduledWorker::Clock;

namespace {

// Counts runs and lets the test wait (bounded) for the n-th.
struct RunLog {
  std::mutex mutex;
  std::condition_variable changed;
  int runs = 0;
  void record() {
    std::lock_guard lock(mutex);
    ++runs;
    changed.notify_all();
  }
  bool wait_for_runs(int n) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 10s, [&] { return runs >= n; });
  }
};

}  // namespace

TEST_CASE("the task runs at once, then when it asks; wake() brings the next run forward") {
  RunLog log;
  ScheduledWorker worker([&](std::stop_token) {
    log.record();
    return Clock::now() + 24h;  // a daily task
  });
  REQUIRE(log.wait_for_runs(1));
  worker.wake();
  REQUIRE(log.wait_for_runs(2));
  worker.wake();
  REQUIRE(log.wait_for_runs(3));
  worker.stop();
  std::lock_guard lock(log.mutex);
  CHECK(log.runs == 3);
}

TEST_CASE("a task that asks for now runs again at once (a backlog drains without waiting)") {
  RunLog log;
  ScheduledWorker worker([&](std::stop_token) {
    log.record();
    return Clock::now();
  });
  CHECK(log.wait_for_runs(50));
}

TEST_CASE("stop() ends a day's wait at once") {
  RunLog log;
  ScheduledWorker worker([&](std::stop_token) {
    log.record();
    return Clock::now() + 24h;
  });
  REQUIRE(log.wait_for_runs(1));
  const auto started = Clock::now();
  worker.stop();
  CHECK(Clock::now() - started < 5s);
  worker.stop();  // idempotent
}

TEST_CASE("stop() passes a stop request to a running task") {
  std::promise<void> running;
  std::atomic<bool> saw_stop{false};
  ScheduledWorker worker([&](std::stop_token stop) {
    running.set_value();
    // A blocking exchange that watches its stop token (bounded for the test's sake).
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    saw_stop = cv.wait_for(lock, stop, 30s, [] { return false; }) || stop.stop_requested();
    return Clock::now() + 24h;
  });
  REQUIRE(running.get_future().wait_for(10s) == std::future_status::ready);
  const auto started = Clock::now();
  worker.stop();
  CHECK(Clock::now() - started < 5s);
  CHECK(saw_stop);
}
