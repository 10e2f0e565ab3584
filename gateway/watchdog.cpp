#include "gateway/watchdog.hpp"

#include <systemd/sd-daemon.h>

namespace cg::gateway {
namespace {

constexpr int kLogWarning = 4;
constexpr int kLogInfo = 6;

}  // namespace

Watchdog::Watchdog(WatchdogConfig config)
    : config_(std::move(config)),
      answered_(config_.loops.size(), true),
      reported_(config_.loops.size(), false) {
  if (!config_.log) config_.log = [](int, std::string_view) {};
  thread_ = std::thread([this] { run(); });
}

Watchdog::~Watchdog() {
  stop();
}

void Watchdog::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t Watchdog::pings() const {
  std::lock_guard lock(mutex_);
  return pings_;
}

void Watchdog::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const auto next = std::chrono::steady_clock::now() + config_.interval;
    if (round(lock)) {
      ++pings_;
      lock.unlock();
      config_.notify("WATCHDOG=1");
      lock.lock();
    }
    changed_.wait_until(lock, next, [&] { return stopping_; });
  }
}

// Probes every loop that answered its last probe, waits up to the interval for all to
// answer; true when all did.
bool Watchdog::round(std::unique_lock<std::mutex>& lock) {
  const auto deadline = std::chrono::steady_clock::now() + config_.interval;
  for (std::size_t i = 0; i < config_.loops.size(); ++i) {
    if (!answered_[i]) continue;  // its probe is still queued there: no second one
    answered_[i] = false;
    lock.unlock();
    config_.loops[i].post([this, i] {
      {
        std::lock_guard answered(mutex_);
        answered_[i] = true;
      }
      changed_.notify_all();
    });
    lock.lock();
  }
  auto all_answered = [&] {
    for (bool a : answered_) {
      if (!a) return false;
    }
    return true;
  };
  changed_.wait_until(lock, deadline, [&] { return stopping_ || all_answered(); });
  for (std::size_t i = 0; i < config_.loops.size(); ++i) {
    const std::string& name = config_.loops[i].name;
    if (!answered_[i] && !reported_[i]) {
      reported_[i] = true;
      config_.log(kLogWarning, "watchdog: the " + name + " event loop has not turned for " +
                                   std::to_string(config_.interval.count()) +
                                   " ms; systemd restarts the gateway if it stays stuck");
    } else if (answered_[i] && reported_[i]) {
      reported_[i] = false;
      config_.log(kLogInfo, "watchdog: the " + name + " event loop turns again");
    }
  }
  return !stopping_ && all_answered();
}

std::optional<std::chrono::milliseconds> systemd_watchdog_interval() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::milliseconds(std::max<std::uint64_t>(1, usec / 2000));
}

}  // namespace cg::gateway
