#pragma once
// Watchdog: tells systemd the gateway is alive (sd_notify "WATCHDOG=1") only while its event
// loops still turn. With WatchdogSec= in the unit, systemd restarts a gateway whose pings stop
// (systemd/clinic-gateway.service); a loop stuck in a handler, a deadlock or a livelock then
// costs a restart instead of a clinic without its server.
//
// Each round posts a probe to every loop (the HTTP, MLLP and syslog servers' I/O threads)
// and pings only when all probes have run. A loop that has not run its probe within the
// interval is logged once by name and gets no new probe until it does; the pings stop, and
// systemd acts at WatchdogSec.
//
// Thread-safety: the watchdog runs its own thread; stop() (also the destructor) may be
// called from any thread but a probe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace cg::gateway {

struct WatchdogLoop {
  std::string name;                                 // "http", "mllp", "syslog"
  std::function<void(std::function<void()>)> post;  // runs a task on the loop
};

struct WatchdogConfig {
  std::chrono::milliseconds interval{};  // between pings: half of systemd's WatchdogSec
  std::vector<WatchdogLoop> loops;
  std::function<void(std::string_view state)> notify;  // sd_notify
  std::function<void(int priority, std::string_view message)> log;
};

class Watchdog {
 public:
  explicit Watchdog(WatchdogConfig config);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  void stop();
  std::uint64_t pings() const;

 private:
  void run();
  bool round(std::unique_lock<std::mutex>& lock);

  WatchdogConfig config_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<bool> answered_;  // per loop: its latest probe has run
  std::vector<bool> reported_;  // per loop: logged as stuck since it last answered
  std::uint64_t pings_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

// systemd's watchdog interval for this process (WATCHDOG_USEC, for our pid), halved as
// sd_watchdog_enabled(3) advises; nullopt when systemd asked for no watchdog.
std::optional<std::chrono::milliseconds> systemd_watchdog_interval();

}  // namespace cg::gateway
