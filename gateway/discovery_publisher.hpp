#pragma once
// DiscoveryPublisher: announces the gateway's services (discovery.hpp) over mDNS/DNS-SD by
// registering them with avahi-daemon through libavahi-client, and keeps them announced:
//   - avahi-daemon (or the D-Bus system bus) absent at start: one warning, then the services
//     are registered as soon as it appears (AVAHI_CLIENT_NO_FAIL; without a bus, a retry
//     every 15 s). The gateway never fails or waits for Avahi.
//   - avahi-daemon restarted: the client is recreated and the services registered again.
//   - the instance name taken on the network (or by another local service): the next
//     alternative name ("Clinic Gateway x #2"), logged once per change.
// Threads: every Avahi call and callback runs on the publisher's own AvahiThreadedPoll
// thread; start() and stop() are called from the daemon's main thread. No Asio here.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config.hpp"
#include "gateway/discovery.hpp"

namespace cg::gateway {

// Log sink: a syslog priority (log.hpp) and a message (no patient data ever goes here).
using DiscoveryLog = std::function<void(int priority, std::string_view message)>;

class DiscoveryPublisher {
 public:
  // Starts announcing `services` under the instance name `name`. Returns nullptr (and logs
  // a warning) only when the poll thread cannot be created.
  static std::unique_ptr<DiscoveryPublisher> start(std::vector<ServiceSpec> services,
                                                   std::string name, DiscoveryLog log);
  ~DiscoveryPublisher();
  DiscoveryPublisher(const DiscoveryPublisher&) = delete;
  DiscoveryPublisher& operator=(const DiscoveryPublisher&) = delete;

  // Withdraws the services and frees the entry group, the client and the poll thread.
  // Idempotent; the destructor calls it.
  void stop();

  struct State;  // Avahi objects and what the callbacks need (discovery_publisher.cpp)

 private:
  explicit DiscoveryPublisher(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// What the daemon calls once its listeners run: announces discovery_plan() of `config` with
// the bound ports. nullptr, after an info line saying why, when [discovery] is off or every
// listener is on loopback.
std::unique_ptr<DiscoveryPublisher> start_discovery(const GatewayConfig& config,
                                                    const BoundListeners& bound, DiscoveryLog log);

}  // namespace cg::gateway
