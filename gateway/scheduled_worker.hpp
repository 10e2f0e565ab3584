#pragma once
// ScheduledWorker: one background thread that runs a task whenever it is due — the audit
// upkeep's retention (daily) and each forwarding destination (at once while records wait,
// after a backoff when the destination is down, every few seconds when idle). The task says
// when it wants to run next; wake() makes it run now; stop() ends the wait at once and
// passes a stop request to a task that is running (its std::stop_token), so a blocking
// network exchange can give up early instead of holding up shutdown.
//
// Thread-safety: wake() and stop() may be called from any thread except the worker's own
// (stop() joins it). The task runs on the worker thread only, one run at a time.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stop_token>
#include <thread>

namespace cg::gateway {

class ScheduledWorker {
 public:
  using Clock = std::chrono::steady_clock;
  // Runs once; returns when it wants to run next (now or earlier: at once).
  using Task = std::function<Clock::time_point(std::stop_token)>;

  // Starts the thread; the first run is at once.
  explicit ScheduledWorker(Task task);
  ScheduledWorker(const ScheduledWorker&) = delete;
  ScheduledWorker& operator=(const ScheduledWorker&) = delete;
  ~ScheduledWorker();  // stop()

  // The next run starts now (or right after the current one), whatever the task asked.
  void wake();
  // Requests stop, wakes the thread and joins it. Idempotent.
  void stop();

 private:
  void run(std::stop_token stop);

  Task task_;
  std::mutex mutex_;
  std::condition_variable_any wakeup_;
  bool woken_ = false;
  std::jthread thread_;  // last: started after everything it uses
};

}  // namespace cg::gateway
