#include "gateway/discovery_publisher.hpp"

#include <avahi-client/client.h>
#include <avahi-client/publish.h>
#include <avahi-common/alternative.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/thread-watch.h>
#include <avahi-common/timeval.h>

#include "gateway/log.hpp"

namespace cg::gateway {

// Touched only on the poll thread once the thread runs (and by start()/stop() around it).
struct DiscoveryPublisher::State {
  std::vector<ServiceSpec> services;
  std::string name;  // the instance name now; changes on a name collision
  DiscoveryLog log;
  AvahiThreadedPoll* poll = nullptr;
  AvahiClient* client = nullptr;
  AvahiEntryGroup* group = nullptr;
  AvahiTimeout* reconnect = nullptr;
  bool warned_unavailable = false;  // the one warning about Avahi or D-Bus missing
  bool was_running = false;         // avahi-daemon has been reached at least once
};

namespace {

using State = DiscoveryPublisher::State;

// Without a system bus, how often a new client is tried (each try is one failed connect()).
constexpr unsigned kBusRetryMs = 15'000;
// Renames tried in a row when every alternative name is taken as well.
constexpr int kMaxRenames = 32;

void connect(State& s);

const AvahiPoll* poll_api(State& s) {
  return avahi_threaded_poll_get(s.poll);
}

// Runs connect() on the poll thread after `ms`; the old client is freed first there (never
// from inside its own callback).
void schedule_reconnect(State& s, unsigned ms) {
  timeval when;
  avahi_elapse_time(&when, ms, 0);
  if (s.reconnect) {
    poll_api(s)->timeout_update(s.reconnect, &when);
    return;
  }
  s.reconnect = poll_api(s)->timeout_new(
      poll_api(s), &when,
      [](AvahiTimeout*, void* userdata) {
        auto& state = *static_cast<State*>(userdata);
        if (state.client) avahi_client_free(state.client);  // frees its entry group too
        state.client = nullptr;
        state.group = nullptr;
        connect(state);
      },
      &s);
}

void warn_unavailable_once(State& s, const std::string& why) {
  if (s.warned_unavailable) return;
  s.warned_unavailable = true;
  s.log(kWarning, "discovery: " + why + "; the gateway serves without it and announces '" + s.name +
                      "' once avahi-daemon runs");
}

// The next alternative name after a collision, logged once per change.
void rename(State& s) {
  char* next = avahi_alternative_service_name(s.name.c_str());
  s.log(kNotice, "discovery: the name '" + s.name + "' is taken on the network; announcing as '" +
                     next + "'");
  s.name = next;
  avahi_free(next);
}

AvahiProtocol protocol_of(AddressFamily family) {
  switch (family) {
    case AddressFamily::kIPv4:
      return AVAHI_PROTO_INET;
    case AddressFamily::kIPv6:
      return AVAHI_PROTO_INET6;
    case AddressFamily::kAny:
      break;
  }
  return AVAHI_PROTO_UNSPEC;
}

// The interface a listener on one address is announced on: the one holding the address;
// every interface when none holds it (yet).
AvahiIfIndex interface_of(State& s, const ServiceSpec& spec) {
  if (spec.address.empty()) return AVAHI_IF_UNSPEC;
  if (auto index = interface_owning(spec.address)) return static_cast<AvahiIfIndex>(*index);
  s.log(kInfo, "discovery: no interface holds " + spec.address + " (" + spec.listener +
                   "): announced on every interface");
  return AVAHI_IF_UNSPEC;
}

int add_service(State& s, const ServiceSpec& spec) {
  AvahiStringList* txt = nullptr;
  // avahi_string_list_add prepends: add the last item first so the TXT record keeps the
  // order of spec.txt (txtvers first, RFC 6763 §6.7).
  for (auto it = spec.txt.rbegin(); it != spec.txt.rend(); ++it) {
    txt = avahi_string_list_add(txt, it->c_str());
  }
  const int result = avahi_entry_group_add_service_strlst(
      s.group, interface_of(s, spec), protocol_of(spec.family), static_cast<AvahiPublishFlags>(0),
      s.name.c_str(), spec.type.c_str(), nullptr, nullptr, spec.port, txt);
  avahi_string_list_free(txt);
  return result;
}

void on_group(AvahiEntryGroup* group, AvahiEntryGroupState state, void* userdata);

// Adds every service to the (empty) entry group and commits it; renames on a local collision.
void register_services(State& s) {
  if (!s.group) s.group = avahi_entry_group_new(s.client, on_group, &s);
  if (!s.group) {
    s.log(kWarning, std::string("discovery: avahi-daemon refused an entry group: ") +
                        avahi_strerror(avahi_client_errno(s.client)));
    return;
  }
  if (!avahi_entry_group_is_empty(s.group)) return;  // registered (or registering) already
  for (int renames = 0; renames <= kMaxRenames; ++renames) {
    int result = AVAHI_OK;
    for (const ServiceSpec& spec : s.services) {
      result = add_service(s, spec);
      if (result == AVAHI_ERR_COLLISION) break;
      if (result < 0) {
        s.log(kWarning,
              "discovery: cannot announce " + spec.listener + ": " + avahi_strerror(result));
      }
    }
    if (result != AVAHI_ERR_COLLISION) break;
    avahi_entry_group_reset(s.group);
    rename(s);
  }
  if (avahi_entry_group_is_empty(s.group)) return;
  if (const int result = avahi_entry_group_commit(s.group); result < 0) {
    s.log(kWarning, std::string("discovery: avahi-daemon did not take the services: ") +
                        avahi_strerror(result));
  }
}

std::string describe_services(const State& s) {
  std::string out;
  for (const ServiceSpec& spec : s.services) {
    if (!out.empty()) out += ", ";
    out += spec.listener + " (" + spec.type + " port " + std::to_string(spec.port) + ")";
  }
  return out;
}

void on_group(AvahiEntryGroup* group, AvahiEntryGroupState state, void* userdata) {
  auto& s = *static_cast<State*>(userdata);
  s.group = group;
  switch (state) {
    case AVAHI_ENTRY_GROUP_ESTABLISHED:
      s.log(kInfo, "discovery: announcing '" + s.name + "': " + describe_services(s));
      break;
    case AVAHI_ENTRY_GROUP_COLLISION:  // another host answers to the name
      rename(s);
      avahi_entry_group_reset(group);
      register_services(s);
      break;
    case AVAHI_ENTRY_GROUP_FAILURE:
      s.log(kWarning, std::string("discovery: avahi-daemon could not announce the services: ") +
                          avahi_strerror(avahi_client_errno(avahi_entry_group_get_client(group))));
      break;
    case AVAHI_ENTRY_GROUP_UNCOMMITED:
    case AVAHI_ENTRY_GROUP_REGISTERING:
      break;
  }
}

void on_client(AvahiClient* client, AvahiClientState state, void* userdata) {
  auto& s = *static_cast<State*>(userdata);
  s.client = client;  // also during avahi_client_new(), before it has returned
  switch (state) {
    case AVAHI_CLIENT_S_RUNNING:
      s.was_running = true;
      register_services(s);
      break;
    case AVAHI_CLIENT_S_COLLISION:    // the host name is in dispute, or avahi-daemon is
    case AVAHI_CLIENT_S_REGISTERING:  // (re)registering it: ours come back at S_RUNNING
      if (s.group) avahi_entry_group_reset(s.group);
      break;
    case AVAHI_CLIENT_CONNECTING:  // on the bus, waiting for avahi-daemon
      warn_unavailable_once(s, "avahi-daemon is not running");
      break;
    case AVAHI_CLIENT_FAILURE:  // avahi-daemon (or the bus) went away: start over
      if (s.was_running) {
        s.log(kInfo, std::string("discovery: lost avahi-daemon (") +
                         avahi_strerror(avahi_client_errno(client)) +
                         "); announcing again when it is back");
      }
      schedule_reconnect(s, 0);
      break;
  }
}

void connect(State& s) {
  int error = AVAHI_OK;
  s.client = avahi_client_new(poll_api(s), AVAHI_CLIENT_NO_FAIL, on_client, &s, &error);
  if (!s.client) {  // no system bus: NO_FAIL only waits for avahi-daemon on a bus
    warn_unavailable_once(s, std::string("no D-Bus system bus (") + avahi_strerror(error) + ")");
    schedule_reconnect(s, kBusRetryMs);
  }
}

}  // namespace

DiscoveryPublisher::DiscoveryPublisher(std::unique_ptr<State> state) : state_(std::move(state)) {}

DiscoveryPublisher::~DiscoveryPublisher() {
  stop();
}

std::unique_ptr<DiscoveryPublisher> DiscoveryPublisher::start(std::vector<ServiceSpec> services,
                                                              std::string name, DiscoveryLog log) {
  auto s = std::make_unique<State>();
  s->services = std::move(services);
  s->name = std::move(name);
  s->log = std::move(log);
  s->poll = avahi_threaded_poll_new();
  if (!s->poll) {
    s->log(kWarning, "discovery: cannot create the Avahi event loop; not announcing");
    return nullptr;
  }
  // The first client is made on the poll thread too: D-Bus round trips never hold up the
  // daemon's start.
  schedule_reconnect(*s, 0);
  auto publisher = std::unique_ptr<DiscoveryPublisher>(new DiscoveryPublisher(std::move(s)));
  if (avahi_threaded_poll_start(publisher->state_->poll) < 0) {
    publisher->state_->log(kWarning,
                           "discovery: cannot start the Avahi event loop thread; not announcing");
    publisher->stop();
    return nullptr;
  }
  return publisher;
}

void DiscoveryPublisher::stop() {
  if (!state_ || !state_->poll) return;
  State& s = *state_;
  avahi_threaded_poll_stop(s.poll);  // joins the thread (a no-op when it never started)
  if (s.reconnect) poll_api(s)->timeout_free(s.reconnect);
  if (s.group) avahi_entry_group_free(s.group);  // withdraws the services
  if (s.client) avahi_client_free(s.client);
  avahi_threaded_poll_free(s.poll);
  s.reconnect = nullptr;
  s.group = nullptr;
  s.client = nullptr;
  s.poll = nullptr;
}

std::unique_ptr<DiscoveryPublisher> start_discovery(const GatewayConfig& config,
                                                    const BoundListeners& bound, DiscoveryLog log) {
  if (!config.discovery.enabled) {
    log(kInfo, "discovery: off ([discovery] enabled = false)");
    return nullptr;
  }
  DiscoveryPlan plan = discovery_plan(config, bound, CG_VERSION);
  for (const std::string& why : plan.skipped) log(kInfo, "discovery: " + why);
  if (plan.services.empty()) {
    log(kInfo, "discovery: nothing to announce");
    return nullptr;
  }
  return DiscoveryPublisher::start(std::move(plan.services), instance_name(config), std::move(log));
}

}  // namespace cg::gateway
