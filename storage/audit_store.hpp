#pragma once
// AuditStore: the audit record repository's database, audit.db — apart from clinical.db so
// that a flood of audit messages (a clinic's every system logs every access) never competes
// with clinical writes for the clinical writer, and so retention can prune it freely.
//
// One row per audit message as received: the raw payload always (an unreadable payload is
// stored raw and flagged, never dropped), the FHIR AuditEvent it maps to when it could be
// read, and the search keys of ITI-81 (type, subtype, outcome, source, address, agent and
// entity identifiers, entity type and role, …) as rows of a WITHOUT ROWID key table, so a
// search is an index lookup per parameter instead of a FHIRPath evaluation per message. The
// caller (the ATNA receiver, the REST feed, the gateway's own audit emitter) extracts the
// keys; the store only keeps and matches them.
//
// Writes go through a GroupCommitWriter: records appended together are one job, jobs of
// many connections share one transaction and one fsync. `done` is called after the commit.
//
// Thread-safety: every method may be called from any thread; append's `done` runs on the
// writer thread and must not block on the store.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"

namespace cg::storage {

class WriteGate;  // storage/write_gate.hpp

// One search key of an audit record: a token of an ITI-81 parameter ("type",
// "entity-type", "patient-identifier", …). `system` is "" when the value has none.
struct AuditKey {
  std::string param;
  std::string system;
  std::string code;
  bool operator==(const AuditKey&) const = default;
};

struct AuditRecord {
  std::int64_t received_ms = 0;
  std::string transport;      // "udp", "tcp", "tls", "rest", "self"
  std::string peer;           // the sender's address, "" for the gateway itself
  std::string format;         // "dicom", "rfc3881", "fhir", "unknown"
  std::string problem;        // non-empty: the payload could not be read (kept raw, flagged)
  std::string raw;            // the payload as received (bytes)
  std::string resource_json;  // the FHIR AuditEvent; "" when unreadable
  std::optional<std::int64_t> recorded_ms;  // AuditEvent.recorded: what `date` searches
  std::vector<AuditKey> keys;
};

struct StoredAudit {
  std::int64_t id = 0;  // also the AuditEvent's id, as decimal text
  AuditRecord record;   // keys are not read back
};

// One parameter of a search: a record matches when it has a key of `param` equal to any of
// `any_of` (an empty system matches any system; a system with an empty code, any code in
// that system).
struct AuditCriterion {
  std::string param;
  std::vector<AuditKey> any_of;  // their `param` is ignored
};

struct AuditQuery {
  std::vector<AuditCriterion> all_of;
  std::optional<std::int64_t> recorded_from_ms;  // inclusive
  std::optional<std::int64_t> recorded_to_ms;    // exclusive
  std::optional<std::int64_t> before_id;         // paging: only older records
  std::size_t count = 50;                        // at most; newest first
  bool include_unreadable = false;               // flagged records have no AuditEvent
};

// Where a consumer of the records in id order (a forwarding destination) has got to.
struct AuditCursor {
  std::string name;          // "forward.syslog", "forward.fhir"
  std::int64_t last_id = 0;  // every record up to this id is done with
  std::int64_t updated_ms = 0;
};

struct AuditStats {
  std::int64_t records = 0;
  std::int64_t unreadable = 0;           // of `records`, flagged (stored raw, no AuditEvent)
  std::optional<std::int64_t> first_id;  // unset when there are no records
  std::optional<std::int64_t> last_id;
  std::optional<std::int64_t> oldest_received_ms;
  std::optional<std::int64_t> newest_received_ms;
};

// The lowest and highest id of a set of records (both inclusive).
struct AuditIdSpan {
  std::int64_t first = 0;
  std::int64_t last = 0;
};

struct AuditStoreConfig {
  std::filesystem::path directory;  // audit.db (+ -wal, -shm) is created here
  int reader_connections = 2;
  std::size_t max_batch_jobs = 512;
  std::size_t max_queued_jobs = 20'000;
  std::function<void(int priority, std::string_view message)> log;
};

// The audit.db schema steps this build knows (storage/migrations.hpp).
std::span<const std::string_view> audit_migrations();

class AuditStore {
 public:
  using AppendDone = std::function<void(Result<std::vector<std::int64_t>>)>;

  // `write_gate`: the data directory's gate (write_gate.hpp), shared with the clinical store;
  // audit writes ignore its free-space floor. Null: no gate.
  static Result<std::unique_ptr<AuditStore>> open(const AuditStoreConfig& config,
                                                  std::shared_ptr<WriteGate> write_gate = nullptr);
  ~AuditStore();

  // Stores the records in one job; `done` gets their ids after the commit, or the error
  // (kUnavailable: queue full, disk full or read-only; nothing of the job was stored).
  void append(std::vector<AuditRecord> records, AppendDone done);
  // append() and wait for the commit (the REST feed, tests).
  Result<std::vector<std::int64_t>> append_and_wait(std::vector<AuditRecord> records);

  // kNotFound for an id never stored or pruned.
  Result<StoredAudit> read(std::int64_t id);
  Result<std::vector<StoredAudit>> search(const AuditQuery& query);
  // How many records match `query` (its count and before_id aside: all of them).
  Result<std::int64_t> count(const AuditQuery& query);
  // Records with an id above `after_id`, oldest first (export, forwarding upstream).
  Result<std::vector<StoredAudit>> since(std::int64_t after_id, std::size_t limit);
  // The lowest and highest id of the records received in [from_ms, to_ms); nullopt when
  // there are none (exports by date: ids follow arrival, receive times nearly so).
  Result<std::optional<AuditIdSpan>> ids_received(std::int64_t from_ms, std::int64_t to_ms);

  // Deletes the records received before `received_before_ms` whose id is at most
  // `through_id`, with their keys; how many went. The id bound keeps records a forwarding
  // destination has not had yet (its cursor). Runs as several write jobs of at most
  // kPruneBatch records each, so appends are never held up behind one huge delete; an
  // error stops it with the earlier jobs' deletions committed, and so does a stop request
  // (between jobs; the count so far is returned).
  static constexpr std::int64_t kAllIds = INT64_MAX;
  static constexpr std::int64_t kPruneBatch = 2000;
  Result<std::int64_t> prune(std::int64_t received_before_ms, std::int64_t through_id = kAllIds,
                             std::stop_token stop = {});

  // Counts and bounds of the whole store (audit stats). Counting reads every row id.
  Result<AuditStats> stats();
  // How many records have an id above `after_id` (a destination's queue length).
  Result<std::int64_t> count_after(std::int64_t after_id);

  // Named cursors, kept in audit.db beside the records so they survive restarts and a
  // prune can respect them. cursor() is 0 for a name never set. set_cursor() returns after
  // the commit; it sets the value given, also a lower one (an operator may rewind).
  Result<std::int64_t> cursor(std::string_view name);
  Status set_cursor(std::string_view name, std::int64_t last_id, std::int64_t updated_ms);
  Result<std::vector<AuditCursor>> cursors();

  void close();

 private:
  struct Impl;
  explicit AuditStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cg::storage
