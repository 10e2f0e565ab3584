#include "gateway/watchdog.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <mutex>

using namespace cg::gateway;
using namespace std::chrono_literals;

namespace {

// A loop that runs posted tasks only when told to (a stuck loop until then).
class ManualLoop {
 public:
  void post(std::function<void()> task) {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  std::size_t run_all() {
    std::deque<std::function<void()>> now;
    {
      std::lock_guard lock(mutex_);
      now.swap(tasks_);
    }
    for (auto& t : now) t();
    return now.size();
  }
  std::size_t queued() const {
    std::lock_guard lock(mutex_);
    return tasks_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::deque<std::function<void()>> tasks_;
};

struct Pings {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> states;
  std::vector<std::string> logs;
  bool wait_for(std::size_t n, std::chrono::milliseconds limit = 10s) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, limit, [&] { return states.size() >= n; });
  }
};

WatchdogConfig config(Pings& pings, std::chrono::milliseconds interval) {
  WatchdogConfig c;
  c.interval = interval;
  c.notify = [&pings](std::string_view state) {
    std::lock_guard lock(pings.mutex);
    pings.states.emplace_back(state);
    pings.changed.notify_all();
  };
  c.log = [&pings](int, std::string_view message) {
    std::lock_guard lock(pings.mutex);
    pings.logs.emplace_back(message);
  };
  return c;
}

}  // namespace

TEST_CASE("the watchdog pings while every loop runs its probes") {
  Pings pings;
  WatchdogConfig c = config(pings, 5ms);
  c.loops.push_back({"HTTP", [](std::function<void()> task) { task(); }});  // always turning
  c.loops.push_back({"MLLP", [](std::function<void()> task) { task(); }});
  Watchdog dog(std::move(c));
  REQUIRE(pings.wait_for(3));
  dog.stop();
  std::lock_guard lock(pings.mutex);
  for (const auto& s : pings.states) CHECK(s == "WATCHDOG=1");
  CHECK(pings.logs.empty());
}

TEST_CASE("a stuck loop stops the pings, is named once, and gets no pile of probes") {
  Pings pings;
  ManualLoop stuck;
  WatchdogConfig c = config(pings, 5ms);
  c.loops.push_back({"HTTP", [](std::function<void()> task) { task(); }});
  c.loops.push_back({"syslog", [&stuck](std::function<void()> task) { stuck.post(task); }});
  Watchdog dog(std::move(c));
  // Bounded wait for what must not happen: no ping while the syslog loop holds its probe.
  CHECK_FALSE(pings.wait_for(1, 100ms));
  CHECK(stuck.queued() == 1);  // one probe waits there, not one per round
  {
    std::lock_guard lock(pings.mutex);
    REQUIRE(pings.logs.size() == 1);
    CHECK(pings.logs[0].find("the syslog event loop has not turned") != std::string::npos);
  }
  // The loop turns again: pings resume, and the recovery is logged.
  stuck.run_all();
  for (int i = 0; i < 1000 && !pings.wait_for(1, 5ms); ++i) stuck.run_all();
  CHECK(pings.wait_for(1));
  dog.stop();
  std::lock_guard lock(pings.mutex);
  // (The loop may be stuck again by now: this test stops running its tasks.)
  REQUIRE(pings.logs.size() >= 2);
  CHECK(pings.logs[1] == "watchdog: the syslog event loop turns again");
}

TEST_CASE("systemd's watchdog interval is read from the environment, halved, for this pid") {
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
  CHECK_FALSE(systemd_watchdog_interval().has_value());
  ::setenv("WATCHDOG_USEC", "30000000", 1);  // WatchdogSec=30s
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  CHECK(systemd_watchdog_interval() == std::chrono::milliseconds(15'000));
  ::setenv("WATCHDOG_PID", "1", 1);  // meant for another process
  CHECK_FALSE(systemd_watchdog_interval().has_value());
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
}
