#include "gateway/scheduled_worker.hpp"

namespace cg::gateway {

ScheduledWorker::ScheduledWorker(Task task)
    : task_(std::move(task)), thread_([this](std::stop_token stop) { run(stop); }) {}

ScheduledWorker::~ScheduledWorker() {
  stop();
}

void ScheduledWorker::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wakeup_.notify_all();
}

void ScheduledWorker::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();  // also wakes the wait below (condition_variable_any + stop_token)
  thread_.join();
}

void ScheduledWorker::run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    const Clock::time_point next = task_(stop);
    std::unique_lock lock(mutex_);
    wakeup_.wait_until(lock, stop, next, [this] { return woken_; });
    woken_ = false;
  }
}

}  // namespace cg::gateway
