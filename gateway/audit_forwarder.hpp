#pragma once
// AuditForwarder: store-and-forward of the audit records in audit.db to one upstream
// destination (an audit record repository over syslog, or a FHIR server), the logic only:
// the cursor, batches, what a destination's answer means, backoff and what gets logged. The
// destination (AuditDestination) does the sending; the caller (AuditUpkeep's worker thread,
// or a test with a fake destination and its own clock) calls run_once() when it is due.
//
// Delivery is at least once. The cursor — the last id the destination has had — lives in
// audit.db and moves only after the destination took the records, so a crash, restart or
// outage never loses one; a record whose delivery was in doubt (a failure after some bytes
// went) is sent again, so the upstream may see it twice.
//
// Thread-safety: none; one thread calls run_once() (the destination's sends block it).

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "storage/audit_store.hpp"

namespace cg::gateway {

// What a destination did with a batch.
struct Delivery {
  // How many records, from the front, it has taken: stored, or refused for good (below).
  // The cursor moves past them.
  std::size_t taken = 0;
  // Ids among the taken ones that the destination refused for good (it said so: a FHIR
  // entry answered 4xx); logged, not sent again. They stay in audit.db.
  std::vector<std::int64_t> refused;
  // Why the records after `taken` were not taken: they are sent again after a backoff.
  std::optional<Error> problem;
  // The destination refused the batch as a whole (too large, or one record it cannot take
  // spoils it): the forwarder halves the batch, down to one record, which is then refused.
  bool split = false;

  static Delivery all(std::size_t n) {
    Delivery d;
    d.taken = n;
    return d;
  }
  static Delivery failed(Error why) {
    Delivery d;
    d.problem = std::move(why);
    return d;
  }
};

class AuditDestination {
 public:
  virtual ~AuditDestination() = default;
  // "syslog tls://arr.district.org:6514": for logs and `audit stats`; no credentials.
  virtual std::string describe() const = 0;
  // The name of its cursor in audit.db ("forward.syslog").
  virtual std::string cursor_name() const = 0;
  // Sends `records` (readable ones, oldest first). Blocks; gives up early when `stop` is
  // requested (a problem, then).
  virtual Delivery deliver(std::span<const storage::StoredAudit> records, std::stop_token stop) = 0;
};

struct ForwarderOptions {
  std::size_t batch_size = 100;
  std::chrono::milliseconds first_retry{1000};   // backoff: doubles per failure,
  std::chrono::milliseconds max_retry{300'000};  // up to this
  std::chrono::milliseconds idle_poll{5000};     // nothing waiting: look again after this
};

struct ForwarderStats {
  std::int64_t cursor = 0;
  std::uint64_t delivered = 0;   // records the destination took
  std::uint64_t refused = 0;     // of them, refused for good
  std::uint64_t unreadable = 0;  // skipped: flagged records have no AuditEvent to send
  int failures = 0;              // consecutive failed attempts, 0 when working
  std::optional<std::string> last_problem;
};

class AuditForwarder {
 public:
  using Clock = std::chrono::steady_clock;
  using Log = std::function<void(int priority, std::string_view message)>;

  // `jitter` returns a number in [0, 1) (a random source in the daemon, fixed in tests).
  // The store and destination must outlive the forwarder.
  AuditForwarder(storage::AuditStore& store, AuditDestination& destination,
                 ForwarderOptions options, std::function<double()> jitter, Log log);

  // One attempt at `now`: reads the next batch after the cursor, hands it to the
  // destination, moves the cursor past what was taken. Returns when to run next: `now`
  // while more records wait, now + idle_poll when none do, now + the backoff after a
  // failure (of the destination, or of audit.db itself).
  Clock::time_point run_once(Clock::time_point now, std::stop_token stop = {});

  const ForwarderStats& stats() const { return stats_; }
  // The wait before the next attempt after `failures` consecutive failures (1, 2, …):
  // min(max_retry, first_retry · 2^(failures−1)), shortened by up to a quarter at random
  // so that clinics cut off by the same outage do not all come back at the same instant.
  std::chrono::milliseconds backoff(int failures, double jitter) const;

 private:
  Result<std::int64_t> load_cursor();
  Clock::time_point advance(const std::vector<storage::StoredAudit>& batch,
                            std::span<const storage::StoredAudit> sent, const Delivery& delivery,
                            Clock::time_point now);
  Clock::time_point fail(const Error& problem, Clock::time_point now);
  void recovered();
  void log_refused(const std::vector<std::int64_t>& ids);

  storage::AuditStore& store_;
  AuditDestination& destination_;
  ForwarderOptions options_;
  std::function<double()> jitter_;
  Log log_;
  std::optional<std::int64_t> cursor_;  // read from audit.db on the first run
  std::size_t batch_limit_;             // below batch_size while splitting a refused batch
  ForwarderStats stats_;
};

}  // namespace cg::gateway
