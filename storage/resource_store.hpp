#pragma once
// ResourceStore: the clinical store (clinical.db) — every version of every resource, the
// head pointers, the typed search index, and the monotonic change log — on SQLite in WAL mode
// with synchronous=FULL.
//
// Threading: one writer thread owns the write connection and runs submitted WriteJobs in
// batches: one BEGIN IMMEDIATE … COMMIT (one fsync) per batch, a SAVEPOINT per job so a
// failing job rolls back alone (group commit). A job's `done` callback runs on the writer
// thread only after the batch commit is durable, so a caller may acknowledge (2xx, HL7 AA)
// from it. Reads may be called from any thread; they borrow a connection from a bounded
// reader pool (WAL snapshot reads never block the writer). All methods are thread-safe;
// none throws.

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "storage/index_entries.hpp"

namespace cg::storage {

struct IndexQuery;  // storage/index_query.hpp
class Connection;   // storage/sqlite.hpp
class WriteGate;    // storage/write_gate.hpp
struct IndexSearchPage;

struct StoreConfig {
  std::filesystem::path directory;      // clinical.db (+ -wal, -shm) is created here
  int reader_connections = 4;           // readers beyond this wait for a free connection
  std::size_t max_batch_jobs = 256;     // upper bound of jobs in one group commit
  std::size_t max_queued_jobs = 10000;  // submit() beyond this fails with kUnavailable
  std::function<void(int priority, std::string_view message)> log;  // syslog priority
  // Wall clock in ms since the Unix epoch; empty: the system clock. Tests inject one.
  std::function<std::int64_t()> clock_ms;
  // Upper bound on clinical.db's size (PRAGMA max_page_count); 0: none. Reaching it fails
  // writes with kUnavailable, like a full disk, while reads go on.
  std::int64_t max_db_bytes = 0;
  // Whether the data directory takes writes (disk full, read-only, free-space floor): while
  // it refuses, writes fail at once with kUnavailable and its reason; a write that fails on
  // the disk closes it. Null: no gate (tools, tests).
  std::shared_ptr<WriteGate> write_gate;
};

// Writer counters since open(), for metrics and tests.
struct StoreStats {
  std::uint64_t commits = 0;         // batch transactions committed (one fsync each)
  std::uint64_t jobs_committed = 0;  // jobs whose own status was ok in a committed batch
  std::uint64_t jobs_failed = 0;     // jobs done with an error: their own or their batch's
  std::uint64_t jobs_rejected = 0;   // refused by submit(): queue full or store closed
  std::uint64_t failed_batches = 0;  // batches that could not begin or commit
  std::size_t queued = 0;            // jobs waiting now
};

// One stored version of a resource.
struct StoredVersion {
  std::string type;
  std::string id;
  std::int64_t version = 0;
  std::int64_t last_updated_ms = 0;  // ms since the Unix epoch, UTC
  std::string last_updated;          // the same as a FHIR instant: 2026-11-21T04:05:06.123Z
  bool deleted = false;
  std::string json;      // full resource incl. id and meta; empty when deleted
  std::int64_t seq = 0;  // changes.seq that created this version
};

// A token index row in short form (param, system, code), for callers and tests that only
// index tokens; tokens_only() turns a list of them into IndexEntries.
struct TokenKey {
  std::string param;   // search parameter code, e.g. "identifier"
  std::string system;  // may be empty
  std::string code;
  bool operator==(const TokenKey&) const = default;
};
IndexEntries tokens_only(const std::vector<TokenKey>& tokens);

struct TokenMatch {
  std::string param;
  std::optional<std::string> system;  // nullopt: any system; "": no system
  std::string code;
};

// Search over current (not deleted) resources of one type. All given criteria are ANDed;
// `ids` is an OR list. Results are ordered by id; `after_id` continues a previous page.
struct SearchQuery {
  std::string type;
  std::vector<std::string> ids;
  std::optional<std::int64_t> updated_from_ms;    // last_updated >= this
  std::optional<std::int64_t> updated_before_ms;  // last_updated <  this
  std::vector<TokenMatch> tokens;
  std::size_t count = 50;
  std::string after_id;
  bool with_total = false;
};

// A walk over every current (not deleted) resource for bulk export: ordered by type, then
// id. `types` empty: every type; `skip_types` are left out (types an interrupted export
// already wrote).
struct ScanQuery {
  std::vector<std::string> types;
  std::vector<std::string> skip_types;
  std::optional<std::int64_t> updated_from_ms;  // last_updated >= this
};

struct SearchPage {
  std::vector<StoredVersion> items;
  std::optional<std::string> next_after_id;  // set when more results follow
  std::int64_t total = -1;                   // when with_total
};

// History, newest first. Empty id: type level; empty type: system level.
// Paging is stable under concurrent writes: a page is defined by seq bounds.
struct HistoryQuery {
  std::string type;
  std::string id;
  std::optional<std::int64_t> since_ms;  // last_updated >= since
  std::int64_t at_most_seq = 0;          // 0: latest; else only changes with seq <= this
  std::size_t count = 50;
};

struct HistoryPage {
  std::vector<StoredVersion> items;              // deleted versions included (deleted=true)
  std::optional<std::int64_t> next_at_most_seq;  // seq bound of the next page, if any
  std::int64_t snapshot_seq = 0;                 // the bound this page was taken under
};

// What a job sees: committed data plus earlier jobs of the same batch. Valid only during
// the job's call. A job that returns an error is rolled back alone; its writes vanish.
// Errors from SQLite map to kInternal, disk full / read-only to kUnavailable.
class WriteContext {
 public:
  virtual ~WriteContext() = default;
  virtual Result<std::optional<StoredVersion>> head(const std::string& type,
                                                    const std::string& id) = 0;
  virtual Result<std::optional<StoredVersion>> version(const std::string& type,
                                                       const std::string& id,
                                                       std::int64_t version) = 0;
  // Ids of the current resources of query.types (exactly one type) matching query.where,
  // in id order, at most query.count of them: conditional operations ask for 2 to tell none,
  // one and several apart. Sort, total, cursor and includes are ignored. Runs under
  // query.budget capped at kWriterQueryBudget (index_query.hpp). kInvalid for an empty filter
  // (it would match the whole type), another number of types, or a match over its budget
  // ("the search is too costly; narrow it"); the job may go on writing after that error.
  virtual Result<std::vector<std::string>> find_ids(const IndexQuery& query) = 0;
  // The current resources (type, id) whose search index holds a reference to
  // target_type/target_id (any reference search parameter), in (type, id) order, at most
  // `at_most` of them: ask for one more than you accept to tell "too many" apart. For moving
  // references (HL7v2 patient merges); resources whose references are not indexed (no
  // search parameter covers the element) are not found.
  virtual Result<std::vector<std::pair<std::string, std::string>>> referring_resources(
      const std::string& target_type, const std::string& target_id, std::size_t at_most) = 0;
  // Stores a new version (head version + 1, or 1): sets resource.id, meta.versionId and
  // meta.lastUpdated, serializes with fhir::serialize_json, replaces the resource's search
  // index rows with `index`, and appends a change (op "create" or "update").
  virtual Result<StoredVersion> put(const std::string& type, const std::string& id,
                                    boost::json::object resource, const IndexEntries& index) = 0;
  // Stores a deletion version and a change (op "delete"); drops the search index rows.
  // kNotFound when there is no resource; returns the existing head if it is already deleted.
  virtual Result<StoredVersion> remove(const std::string& type, const std::string& id) = 0;
  // Replaces the search index rows of type/id without writing a new version or change
  // (reindexing after a definitions change), but only while `version` is still current:
  // returns false, changing nothing, when the resource was updated or deleted since the
  // caller read it (its new version was indexed by its own write).
  virtual Result<bool> reindex(const std::string& type, const std::string& id, std::int64_t version,
                               const IndexEntries& index) = 0;
  // The write connection, inside the job's transaction: for the modules that keep tables of
  // their own in clinical.db and must commit together with the job's resources (the HL7v2
  // message archive records a message with what it changed, in one commit). Only their own
  // tables: resources and their index are written through the methods above.
  virtual Connection& connection() = 0;
};

using WriteJob = std::function<Status(WriteContext&)>;
using WriteDone = std::function<void(Status)>;

class ResourceStore {
 public:
  // Opens or creates clinical.db in config.directory, applies migrations (refuses a newer
  // schema with kInternal), sets WAL + synchronous=FULL, starts the writer thread.
  static Result<std::unique_ptr<ResourceStore>> open(StoreConfig config);
  virtual ~ResourceStore() = default;

  // Queues `job`; `done` is called once, on the writer thread, with the job's own status
  // after the commit is durable, or with the commit's error. Never blocks on disk. When the
  // queue holds max_queued_jobs or the store is closed, `done` is called at once, on the
  // calling thread, with kUnavailable. `done` must not call close() or write().
  virtual void submit(WriteJob job, WriteDone done) = 0;
  // submit() and wait for `done`. For CLI tools and tests; not for io threads.
  virtual Status write(WriteJob job) = 0;

  virtual Result<std::optional<StoredVersion>> head(const std::string& type,
                                                    const std::string& id) = 0;
  virtual Result<std::optional<StoredVersion>> version(const std::string& type,
                                                       const std::string& id,
                                                       std::int64_t version) = 0;
  virtual Result<SearchPage> search(const SearchQuery& query) = 0;
  virtual Result<HistoryPage> history(const HistoryQuery& query) = 0;
  // Full search over the typed index (storage/index_query.hpp, storage/index_search.hpp):
  // one page of matches in sort order, its includes and total, from one snapshot. kInvalid
  // for a cursor of another search or a search over query.budget.
  virtual Result<IndexSearchPage> search_index(const IndexQuery& query) = 0;
  virtual Result<std::int64_t> latest_seq() = 0;
  // Hands every resource `query` selects to `visit`, one at a time (nothing is collected:
  // memory stays flat whatever the store holds), all from one read snapshot, and returns
  // that snapshot's latest seq. Holds one reader connection, and its snapshot, for the whole
  // walk. An error from `visit` stops the walk and is returned.
  virtual Result<std::int64_t> scan_current(
      const ScanQuery& query, const std::function<Status(const StoredVersion&)>& visit) = 0;

  // Flushes the queue, stops the writer, checkpoints the WAL (TRUNCATE). Idempotent.
  // Reads and writes after close() fail with kUnavailable.
  virtual void close() = 0;
  // PRAGMA integrity_check on a fresh connection; ok only when SQLite says "ok".
  virtual Status integrity_check() = 0;
  virtual StoreStats stats() const = 0;
};

// FHIR instant for a ms timestamp: "2026-11-21T04:05:06.123Z".
std::string format_instant(std::int64_t ms_since_epoch);

}  // namespace cg::storage
