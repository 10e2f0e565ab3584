#include "storage/group_commit.hpp"

#include <algorithm>
#include <exception>
#include <string>

namespace cg::storage {
namespace {

constexpr int kLogErr = 3;
constexpr int kLogWarning = 4;

}  // namespace

GroupCommitWriter::GroupCommitWriter(Connection& conn, GroupCommitLimits limits,
                                     std::function<void(int, std::string_view)> log,
                                     std::shared_ptr<WriteGate> gate, WriteClass what)
    : conn_(conn), limits_(limits), log_(std::move(log)), gate_(std::move(gate)), what_(what) {
  thread_ = std::thread([this] { run(); });
  writer_id_ = thread_.get_id();  // jobs arrive via submit(), after this (mutex-ordered)
}

GroupCommitWriter::~GroupCommitWriter() {
  close();
}

void GroupCommitWriter::submit(BatchJob job, WriteDone done) {
  if (gate_) {
    if (Status admitted = gate_->admit(what_); !admitted) {
      {
        std::lock_guard lock(mutex_);
        ++stats_.jobs_rejected;
      }
      Pending refused{std::move(job), std::move(done)};
      call_done(refused, admitted.take_error());
      return;
    }
  }
  std::unique_lock lock(mutex_);
  if (closing_ || queue_.size() >= limits_.max_queued_jobs) {
    ++stats_.jobs_rejected;
    const bool first = !closing_ && !std::exchange(full_logged_, true);
    const bool closed = closing_;
    lock.unlock();  // never call out with the lock held
    if (first) log(kLogWarning, "write queue full; rejecting writes until it drains");
    Pending rejected{std::move(job), std::move(done)};
    call_done(rejected, Error::unavailable(closed ? "store is closed" : "write queue is full"));
    return;
  }
  queue_.push_back(Pending{std::move(job), std::move(done)});
  lock.unlock();
  wake_.notify_one();
}

void GroupCommitWriter::close() {
  if (on_writer_thread()) {
    log(kLogErr, "store close() called on the writer thread; ignored");
    return;
  }
  std::call_once(close_once_, [this] {
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
    }
    wake_.notify_one();
    thread_.join();
  });
}

StoreStats GroupCommitWriter::stats() const {
  std::lock_guard lock(mutex_);
  StoreStats copy = stats_;
  copy.queued = queue_.size();
  return copy;
}

void GroupCommitWriter::run() {
  std::vector<Pending> batch;
  while (take_batch(batch)) {
    run_batch(batch);
    batch.clear();
  }
}

// Waits for work; false once closing and the queue is drained.
bool GroupCommitWriter::take_batch(std::vector<Pending>& batch) {
  std::unique_lock lock(mutex_);
  wake_.wait(lock, [this] { return closing_ || !queue_.empty(); });
  if (queue_.empty()) return false;
  const std::size_t n = std::min(queue_.size(), std::max<std::size_t>(1, limits_.max_batch_jobs));
  for (std::size_t i = 0; i < n; ++i) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  full_logged_ = false;
  return true;
}

void GroupCommitWriter::run_batch(std::vector<Pending>& batch) {
  // Jobs queued before the gate closed: refuse them too rather than fail each on the disk.
  if (gate_) {
    if (Status admitted = gate_->admit(what_); !admitted)
      return refuse_all(batch, admitted.error());
  }
  if (auto begin = conn_.exec("BEGIN IMMEDIATE"); !begin) {
    return fail_all(batch, classify(begin.error()));
  }
  std::vector<Status> results;
  results.reserve(batch.size());
  for (auto& pending : batch) {
    bool lost = false;
    results.push_back(run_job(pending, lost));
    if (lost) {
      // Nothing of this batch survives; say so to every job, including those not yet run.
      if (conn_.in_transaction()) (void)conn_.exec("ROLLBACK");
      const Status& last = results.back();
      return fail_all(
          batch, last ? Error::unavailable("write transaction was rolled back") : last.error());
    }
  }
  if (auto commit = conn_.exec("COMMIT"); !commit) {
    const Error error = classify(commit.error());  // before ROLLBACK clears the error code
    if (conn_.in_transaction()) (void)conn_.exec("ROLLBACK");
    return fail_all(batch, error);
  }
  finish(batch, results);
}

Status GroupCommitWriter::run_job(Pending& pending, bool& lost) {
  if (auto savepoint = conn_.exec("SAVEPOINT job"); !savepoint) {
    lost = true;  // cannot isolate this job, so the batch cannot be trusted
    return savepoint;
  }
  Status status = invoke(pending);
  if (!status) status = classify(status.error());
  if (!conn_.in_transaction()) {  // SQLite rolled the whole batch back during the job
    lost = true;
    return status;
  }
  if (status) {
    Status released = conn_.exec("RELEASE job");
    if (released) return status;
    status = released;
  }
  // If even the rollback to the savepoint fails, the job's partial writes could be
  // committed with the batch: give up the batch instead.
  if (!conn_.exec("ROLLBACK TO job; RELEASE job")) lost = true;
  return status;
}

Status GroupCommitWriter::invoke(Pending& pending) {
  try {
    return pending.job();
  } catch (const std::exception&) {
    // what() could quote resource content; keep it out of the error and the log.
    return Error::internal("write job threw an exception");
  } catch (...) {
    return Error::internal("write job threw an exception");
  }
}

void GroupCommitWriter::finish(std::vector<Pending>& batch, const std::vector<Status>& results) {
  {
    std::lock_guard lock(mutex_);
    ++stats_.commits;
    for (const auto& r : results) ++(r ? stats_.jobs_committed : stats_.jobs_failed);
  }
  for (std::size_t i = 0; i < batch.size(); ++i) call_done(batch[i], results[i]);
}

void GroupCommitWriter::fail_all(std::vector<Pending>& batch, const Error& error) {
  {
    std::lock_guard lock(mutex_);
    ++stats_.failed_batches;
    stats_.jobs_failed += batch.size();
  }
  log(kLogErr, "write batch of " + std::to_string(batch.size()) + " jobs failed: " + error.message);
  for (auto& pending : batch) call_done(pending, error);
}

void GroupCommitWriter::refuse_all(std::vector<Pending>& batch, const Error& error) {
  {
    std::lock_guard lock(mutex_);
    stats_.jobs_rejected += batch.size();
  }
  for (auto& pending : batch) call_done(pending, error);
}

Error GroupCommitWriter::classify(const Error& error) {
  if (!gate_ || error.kind != ErrorKind::kUnavailable) return error;
  const auto problem = conn_.disk_problem();
  if (!problem) return error;
  return gate_->note_failure(*problem, error.message);
}

void GroupCommitWriter::call_done(Pending& pending, Status status) {
  if (!pending.done) return;
  try {
    pending.done(std::move(status));
  } catch (...) {
    // A throwing callback must not take the writer thread (and every later write) down.
  }
}

void GroupCommitWriter::log(int priority, std::string_view message) const {
  if (log_) log_(priority, message);
}

}  // namespace cg::storage
