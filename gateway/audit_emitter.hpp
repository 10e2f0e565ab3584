#pragma once
// AuditEmitter: how the gateway records its own audit events (docs/atna.md, "What the
// gateway records about itself"). Two paths, chosen by what is being audited:
//
// - emit(): reads, searches, logins, lifecycle and security events. The event is queued in
//   memory and a background thread appends the queue to audit.db in batches, at most
//   `flush_interval` later, so a read pays for building its record and nothing else. The
//   queue is bounded: when it is full, emit() waits for room (audit recording slows the
//   reads down rather than losing their records).
// - stage(): writes. Called inside the write's own store job, it puts the event in the
//   audit outbox of clinical.db (storage/audit_outbox.hpp), so the record commits with the
//   write. The background thread then moves staged events to audit.db and removes them from
//   the outbox; a crash between the two may store an event twice, never lose one.
//
// While the data directory's write gate (storage/write_gate.hpp) refuses audit writes (the
// disk is full or read-only), queued events stay in memory and are written once it reopens;
// when the queue is full too, emit() waits, so reads wait rather than go unaudited.
//
// Thread-safety: every method may be called from any thread; stage() only from inside a
// job of `clinical`. stop() (also the destructor) writes what is queued and staged.

#include <boost/json/object.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "gateway/balp_events.hpp"
#include "storage/audit_store.hpp"
#include "storage/resource_store.hpp"
#include "storage/write_gate.hpp"

namespace cg::gateway {

struct AuditEmitterConfig {
  AuditSource source;
  std::chrono::milliseconds flush_interval{100};  // the longest an event waits in memory
  std::size_t max_queued = 8'192;                 // emit() waits beyond this many events…
  // …or this many bytes of them: the record of a search lists every resource it returned,
  // so one can be 100 KB, and 8,192 of those would be most of the daemon's memory budget.
  std::size_t max_queued_bytes = 4u << 20;
  std::size_t batch = 1'000;               // events per audit.db job, and at most…
  std::size_t max_batch_bytes = 1u << 20;  // …this many bytes (one event always fits)
  std::function<void(int priority, std::string_view message)> log;
  std::function<std::int64_t()> clock_ms;  // empty: the system clock
  // The data directory's gate; null: records are always handed to audit.db at once.
  std::shared_ptr<storage::WriteGate> write_gate;
  // How long queued events wait between looks at a closed gate.
  std::chrono::milliseconds gate_interval{1000};
};

struct AuditEmitterCounters {
  std::uint64_t emitted = 0;  // reached audit.db through emit()
  std::uint64_t moved = 0;    // moved from the outbox to audit.db
  std::uint64_t failed = 0;   // could not be stored (logged); staged ones are retried
  std::uint64_t queued = 0;   // waiting in memory now (emit()), at most max_queued
};

class AuditEmitter {
 public:
  // `clinical` may be null (then stage() is refused): offline commands that only emit.
  AuditEmitter(storage::AuditStore& audits, storage::ResourceStore* clinical,
               AuditEmitterConfig config);
  ~AuditEmitter();
  AuditEmitter(const AuditEmitter&) = delete;
  AuditEmitter& operator=(const AuditEmitter&) = delete;

  const AuditSource& source() const { return config_.source; }
  std::int64_t now_ms() const { return config_.clock_ms(); }

  void emit(const boost::json::object& event);
  // The same for an event the gateway describes itself: its record is written straight
  // from the spec, with no JSON tree (the path of every read's record).
  void emit(const AuditEventSpec& spec);
  // Appends at once and waits for the commit (start and stop of the gateway).
  Status emit_and_wait(const boost::json::object& event);
  // Inside a job of `clinical`: stages the event in the outbox of that job's transaction.
  // The record is written straight from the spec, like emit(spec)'s.
  Status stage(storage::WriteContext& ctx, const AuditEventSpec& spec);
  // Writes everything queued and staged so far, and waits (tests; stop()).
  Status flush();
  void stop();

  AuditEmitterCounters counters() const;

 private:
  static constexpr std::size_t kBatchesInFlight = 4;

  void run();
  void enqueue(storage::AuditRecord record);
  // True while the gate refuses audit writes (then queued events are held), except when
  // stopping: the last round tries anyway.
  bool holding() const;
  void write_queued();
  Status move_staged();

  storage::AuditStore& audits_;
  storage::ResourceStore* clinical_;
  AuditEmitterConfig config_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;        // the thread: events queued, staged, or stopping
  std::condition_variable room_;        // emit(): the queue has room again
  std::condition_variable idle_;        // flush(): a round finished, or a batch was written
  std::condition_variable batch_room_;  // the thread: fewer than kBatchesInFlight in flight
  std::vector<storage::AuditRecord> queue_;
  std::size_t queued_bytes_ = 0;  // approximate_bytes of queue_'s records
  bool staged_pending_ = true;    // at start, the outbox may hold events from before a crash
  bool stopping_ = false;
  bool urgent_ = false;        // flush() waits: no flush_interval pause until it is served
  std::size_t in_flight_ = 0;  // batches appended whose commit has not been reported
  std::uint64_t rounds_ = 0;
  std::uint64_t flush_target_ = 0;
  bool emit_failing_ = false;  // log an outage once
  bool move_failing_ = false;
  AuditEmitterCounters counters_;
  std::thread thread_;
};

// The audit.db record of one of the gateway's own events.
storage::AuditRecord self_audit_record(const boost::json::object& event, std::int64_t now_ms);
storage::AuditRecord self_audit_record(const AuditSource& source, const AuditEventSpec& spec,
                                       std::int64_t now_ms);

}  // namespace cg::gateway
