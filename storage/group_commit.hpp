#pragma once
// GroupCommitWriter: the single writer thread of a SQLite database. Submitted jobs wait in a
// bounded queue; the thread takes up to max_batch_jobs of them and runs them in one
// BEGIN IMMEDIATE … COMMIT (one fsync with WAL + synchronous=FULL). Each job runs inside its
// own SAVEPOINT: a job that fails is rolled back alone and the rest of the batch commits.
// Only after COMMIT returns are the done callbacks called, each with its job's status, or
// all with the commit's error (the whole batch then rolled back).
//
// Jobs are plain callables that write through the connection the writer owns (the clinical
// store binds its WriteContext into them; the message archive its own statements), so one
// writer serves any database.
//
// With a WriteGate (write_gate.hpp), a job the gate does not admit is refused without
// touching SQLite, and a batch that fails because of the disk (full, read-only, I/O error)
// closes the gate and ends with the gate's error, which names the condition.
//
// Thread-safety: submit(), stats() and close() may be called from any thread, except that
// close() must not be called from a done callback (it would wait for its own thread). Jobs
// and done callbacks run on the writer thread; a done callback must not block on the writer.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "storage/resource_store.hpp"
#include "storage/sqlite.hpp"
#include "storage/write_gate.hpp"

namespace cg::storage {

// One unit of work inside the batch transaction, on the writer thread.
using BatchJob = std::function<Status()>;

struct GroupCommitLimits {
  std::size_t max_batch_jobs = 256;
  std::size_t max_queued_jobs = 10000;
};

class GroupCommitWriter {
 public:
  // `conn` is the write connection; it must outlive the writer and is used only on its
  // thread until close() returns.
  // `gate` may be null (writes are then never refused up front); `what` is whose writes
  // this writer does, which decides whether the gate's free-space floor applies.
  GroupCommitWriter(Connection& conn, GroupCommitLimits limits,
                    std::function<void(int, std::string_view)> log,
                    std::shared_ptr<WriteGate> gate = nullptr,
                    WriteClass what = WriteClass::kClinical);
  GroupCommitWriter(const GroupCommitWriter&) = delete;
  GroupCommitWriter& operator=(const GroupCommitWriter&) = delete;
  ~GroupCommitWriter();  // close()

  // Queues the job. When the queue is full, the writer is closed or the gate refuses writes,
  // `done` is called at once, on the calling thread, with kUnavailable.
  void submit(BatchJob job, WriteDone done);
  // Runs every job already queued, then stops the thread. Idempotent.
  void close();
  StoreStats stats() const;
  // True on the writer thread, i.e. inside a job or a done callback.
  bool on_writer_thread() const { return std::this_thread::get_id() == writer_id_; }

 private:
  struct Pending {
    BatchJob job;
    WriteDone done;
  };

  void run();
  bool take_batch(std::vector<Pending>& batch);
  void run_batch(std::vector<Pending>& batch);
  // Runs one job inside its savepoint. Sets `lost` when SQLite rolled the batch back.
  Status run_job(Pending& pending, bool& lost);
  Status invoke(Pending& pending);
  void finish(std::vector<Pending>& batch, const std::vector<Status>& results);
  void fail_all(std::vector<Pending>& batch, const Error& error);
  // Ends the batch with the gate's refusal, without touching SQLite; logged by the gate.
  void refuse_all(std::vector<Pending>& batch, const Error& error);
  // A failure of the disk becomes the gate's error (and closes the gate); others stay.
  Error classify(const Error& error);
  static void call_done(Pending& pending, Status status);
  void log(int priority, std::string_view message) const;

  Connection& conn_;
  const GroupCommitLimits limits_;
  const std::function<void(int, std::string_view)> log_;
  const std::shared_ptr<WriteGate> gate_;
  const WriteClass what_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;  // guarded by mutex_
  bool closing_ = false;       // guarded by mutex_
  bool full_logged_ = false;   // guarded by mutex_: one warning per full episode
  StoreStats stats_;           // guarded by mutex_
  std::thread thread_;
  std::thread::id writer_id_;  // set once in the constructor; thread_ changes on join
  std::once_flag close_once_;
};

}  // namespace cg::storage
