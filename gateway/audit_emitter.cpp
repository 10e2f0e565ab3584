#include "gateway/audit_emitter.hpp"

#include "gateway/audit_keys.hpp"
#include "protocols/fhir/model/json.hpp"
#include "protocols/fhir/search/search_query.hpp"
#include "storage/audit_outbox.hpp"

namespace cg::gateway {
namespace {

constexpr int kLogErr = 3;
constexpr int kLogInfo = 6;

// What a queued record holds, near enough to bound the queue by memory.
std::size_t approximate_bytes(const storage::AuditRecord& r) {
  std::size_t n = sizeof r + r.raw.size() + r.resource_json.size();
  for (const storage::AuditKey& k : r.keys) {
    n += sizeof k + k.param.size() + k.system.size() + k.code.size();
  }
  return n;
}

}  // namespace

storage::AuditRecord self_audit_record(const boost::json::object& event, std::int64_t now_ms) {
  storage::AuditRecord r;
  r.received_ms = now_ms;
  r.transport = "self";
  r.format = "fhir";
  set_audit_event(r, event);
  return r;  // raw stays empty: the gateway's own events have no other form
}

AuditEmitter::AuditEmitter(storage::AuditStore& audits, storage::ResourceStore* clinical,
                           AuditEmitterConfig config)
    : audits_(audits), clinical_(clinical), config_(std::move(config)) {
  if (!config_.clock_ms) config_.clock_ms = fhir::search::system_now_ms;
  if (!config_.log) config_.log = [](int, std::string_view) {};
  thread_ = std::thread([this] { run(); });
}

AuditEmitter::~AuditEmitter() {
  stop();
}

storage::AuditRecord self_audit_record(const AuditSource& source, const AuditEventSpec& spec,
                                       std::int64_t now_ms) {
  storage::AuditRecord r;
  r.received_ms = now_ms;
  r.transport = "self";
  r.format = "fhir";
  r.resource_json = audit_event_json(source, spec, now_ms);
  r.keys = audit_spec_keys(source, spec);
  r.recorded_ms = now_ms;  // AuditEvent.recorded, written to the millisecond
  return r;
}

void AuditEmitter::emit(const boost::json::object& event) {
  enqueue(self_audit_record(event, config_.clock_ms()));
}

void AuditEmitter::emit(const AuditEventSpec& spec) {
  enqueue(self_audit_record(config_.source, spec, config_.clock_ms()));
}

void AuditEmitter::enqueue(storage::AuditRecord record) {
  std::unique_lock lock(mutex_);
  // An empty queue always takes the record, however large.
  room_.wait(lock, [&] {
    return queue_.empty() ||
           (queue_.size() < config_.max_queued && queued_bytes_ < config_.max_queued_bytes) ||
           stopping_;
  });
  if (stopping_) {
    lock.unlock();
    // After stop() there is no thread to batch for us; store it directly.
    std::vector<storage::AuditRecord> one;
    one.push_back(std::move(record));
    if (!audits_.append_and_wait(std::move(one))) {
      std::lock_guard relock(mutex_);
      ++counters_.failed;
    }
    return;
  }
  queued_bytes_ += approximate_bytes(record);
  queue_.push_back(std::move(record));
  if (queue_.size() == 1) wake_.notify_one();
}

Status AuditEmitter::emit_and_wait(const boost::json::object& event) {
  std::vector<storage::AuditRecord> one;
  one.push_back(self_audit_record(event, config_.clock_ms()));
  auto ids = audits_.append_and_wait(std::move(one));
  std::lock_guard lock(mutex_);
  if (!ids) {
    ++counters_.failed;
    return ids.take_error();
  }
  ++counters_.emitted;
  return ok_status();
}

Status AuditEmitter::stage(storage::WriteContext& ctx, const AuditEventSpec& spec) {
  const std::int64_t now = config_.clock_ms();
  auto staged =
      storage::stage_audit(ctx.connection(), now, audit_event_json(config_.source, spec, now));
  if (!staged) return staged;
  std::lock_guard lock(mutex_);
  staged_pending_ = true;
  wake_.notify_one();
  return ok_status();
}

Status AuditEmitter::flush() {
  std::unique_lock lock(mutex_);
  if (!thread_.joinable()) return ok_status();
  // Two rounds: the one under way may have started before the caller's events arrived.
  const std::uint64_t target = rounds_ + 2;
  flush_target_ = std::max(flush_target_, target);
  staged_pending_ = true;
  urgent_ = true;
  wake_.notify_one();
  idle_.wait(lock, [&] { return (rounds_ >= target && in_flight_ == 0) || !thread_.joinable(); });
  return ok_status();
}

void AuditEmitter::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    staged_pending_ = true;  // the last round moves whatever writes staged
    wake_.notify_one();
    room_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  idle_.notify_all();
}

AuditEmitterCounters AuditEmitter::counters() const {
  std::lock_guard lock(mutex_);
  AuditEmitterCounters now = counters_;
  now.queued = queue_.size();
  return now;
}

void AuditEmitter::run() {
  for (;;) {
    bool last = false;
    {
      const bool held = holding();
      std::unique_lock lock(mutex_);
      // While held, a full batch is no reason to wake: it could not be written.
      wake_.wait_for(lock, held ? config_.gate_interval : config_.flush_interval, [&] {
        return stopping_ || urgent_ ||
               (!held &&
                (queue_.size() >= config_.batch || queued_bytes_ >= config_.max_batch_bytes));
      });
      last = stopping_;
      urgent_ = rounds_ + 1 < flush_target_;
    }
    write_queued();
    (void)move_staged();
    std::unique_lock lock(mutex_);
    ++rounds_;
    idle_.notify_all();
    if (last && queue_.empty()) {
      // The store calls back into this object: wait for the batches still being written.
      idle_.wait(lock, [&] { return in_flight_ == 0; });
      return;
    }
  }
}

bool AuditEmitter::holding() const {
  if (!config_.write_gate) return false;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
  }
  return !config_.write_gate->admit(storage::WriteClass::kAudit).ok();
}

void AuditEmitter::write_queued() {
  if (holding()) return;  // kept in the queue; the gate's own log says why
  std::vector<storage::AuditRecord> batch;
  {
    std::unique_lock lock(mutex_);
    if (queue_.empty()) return;
    // A few batches wait for audit.db at once, so they share its commits (one fsync) and
    // the next batch is taken while one is written; more would only hold memory.
    batch_room_.wait(lock, [&] { return in_flight_ < kBatchesInFlight; });
    std::size_t n = 0;
    std::size_t bytes = 0;
    for (; n < queue_.size() && n < config_.batch; ++n) {
      const std::size_t size = approximate_bytes(queue_[n]);
      if (n > 0 && bytes + size > config_.max_batch_bytes) break;  // one always fits
      bytes += size;
    }
    queued_bytes_ -= bytes;
    batch.assign(std::make_move_iterator(queue_.begin()),
                 std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n)));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    ++in_flight_;
    room_.notify_all();
  }
  const std::size_t n = batch.size();
  audits_.append(std::move(batch), [this, n](Result<std::vector<std::int64_t>> ids) {
    std::lock_guard lock(mutex_);
    --in_flight_;
    batch_room_.notify_all();
    idle_.notify_all();
    if (!ids) {
      counters_.failed += n;
      // Once per outage, not once per batch.
      if (!emit_failing_) {
        config_.log(kLogErr,
                    "audit: the gateway's own audit records cannot be stored in "
                    "audit.db (counted until it recovers): " +
                        ids.error().message);
      }
      emit_failing_ = true;
      return;
    }
    if (emit_failing_) config_.log(kLogInfo, "audit: audit.db stores audit records again");
    emit_failing_ = false;
    counters_.emitted += n;
  });
}

Status AuditEmitter::move_staged() {
  {
    std::lock_guard lock(mutex_);
    if (clinical_ == nullptr || !staged_pending_) return ok_status();
  }
  // They are safe in clinical.db's outbox; moving them needs both databases to take writes.
  if (config_.write_gate && !config_.write_gate->admit(storage::WriteClass::kClinical)) {
    return ok_status();
  }
  {
    std::lock_guard lock(mutex_);
    staged_pending_ = false;
  }
  for (;;) {
    std::vector<storage::StagedAudit> staged;
    Status read = clinical_->write([&](storage::WriteContext& ctx) -> Status {
      auto rows = storage::staged_audits(ctx.connection(), config_.batch);
      if (!rows) return rows.take_error();
      staged = std::move(*rows);
      return ok_status();
    });
    Status moved = read;
    if (read && !staged.empty()) {
      std::vector<storage::AuditRecord> records;
      records.reserve(staged.size());
      for (const auto& s : staged) {
        auto event = fhir::parse_json(s.event_json);
        if (!event || !event->is_object()) continue;  // cannot happen: we wrote it
        records.push_back(self_audit_record(event->as_object(), s.created_ms));
      }
      auto ids = audits_.append_and_wait(std::move(records));
      moved = ids ? clinical_->write([&](storage::WriteContext& ctx) {
        return storage::unstage_audits(ctx.connection(), staged.back().id);
      })
                  : Status(ids.take_error());
    }
    std::lock_guard lock(mutex_);
    if (!moved) {
      // Still staged in clinical.db: nothing is lost; try again next round.
      staged_pending_ = true;
      ++counters_.failed;
      if (!move_failing_) {
        config_.log(kLogErr,
                    "audit: the audit records of writes stay staged in clinical.db until "
                    "audit.db takes them again: " +
                        moved.error().message);
      }
      move_failing_ = true;
      return moved;
    }
    move_failing_ = false;
    counters_.moved += staged.size();
    if (staged.size() < config_.batch) return ok_status();
  }
}

}  // namespace cg::gateway
