#pragma once
// AuditUpkeep: what keeps the audit record repository (audit.db) in shape while the daemon
// runs — retention ([audit] retention_days: a prune at start, then daily) and, when
// [audit.forward] names destinations, one AuditForwarder per destination on its own worker
// thread (store-and-forward to the upstream audit repository). docs/atna.md, "Retention"
// and "Forwarding upstream".
//
// The prune rule is shared with `audit prune` (prune_audit_records): records received
// before the cut-off go, except those a configured destination has not had yet.
//
// Lifecycle: start() after audit.db is open, stop() before it closes (stop() ends every wait
// at once and asks running sends to give up). The daemon's main thread drives it; the
// workers use the store, which is thread-safe.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "gateway/config.hpp"
#include "storage/audit_store.hpp"

namespace cg::gateway {

// audit.db in the config's data_dir, as the daemon and the `audit` commands open it.
storage::AuditStoreConfig audit_store_config(const GatewayConfig& config);

// The cursors of the destinations [audit.forward] configures ("forward.syslog",
// "forward.fhir"); empty when it forwards nowhere.
std::vector<std::string> forward_cursor_names(const AuditForwardSettings& forward);

struct PruneOutcome {
  std::int64_t pruned = 0;
  // Set when forwarding held records back: those after this id were kept, whatever their
  // age, because a destination has not had them yet.
  std::optional<std::int64_t> kept_after_id;
};

// Deletes the records received before `before_ms`, except those after the lowest cursor
// of `forward`'s destinations (a destination that never sent anything has cursor 0: then
// nothing goes). Errors: the store's.
Result<PruneOutcome> prune_audit_records(storage::AuditStore& store,
                                         const AuditForwardSettings& forward,
                                         std::int64_t before_ms, std::stop_token stop = {});

// The retention cut-off at `now_ms`: records received before it may go; nullopt when
// retention_days is 0 (keep everything).
std::optional<std::int64_t> retention_cutoff_ms(const AuditSettings& audit, std::int64_t now_ms);

// What the upkeep takes from its surroundings; the defaults are the daemon's (the system
// clock, a random jitter, the gateway's log).
struct UpkeepEnvironment {
  std::function<std::int64_t()> now_ms;
  std::function<double()> jitter;
  std::function<void(int, std::string_view)> log;
  static UpkeepEnvironment daemon();
};

class AuditUpkeep {
 public:
  // Starts retention (when retention_days > 0) and a forwarder per configured destination.
  // Errors (nothing started): kInvalid when a TLS file of [audit.forward] cannot be loaded.
  static Result<std::unique_ptr<AuditUpkeep>> start(storage::AuditStore& store,
                                                    const GatewayConfig& config,
                                                    UpkeepEnvironment environment);
  ~AuditUpkeep();  // stop()

  // New records were stored: forwarders look at once instead of at their next poll.
  void records_appended();
  // "retention 2190 days; forwarding to syslog tls://arr:6514" for the startup log.
  std::string describe() const;
  void stop();

 private:
  struct Impl;
  explicit AuditUpkeep(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cg::gateway
