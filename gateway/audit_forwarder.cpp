#include "gateway/audit_forwarder.hpp"

#include <algorithm>

#include "gateway/log.hpp"

namespace cg::gateway {
namespace {

std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string id_list(const std::vector<std::int64_t>& ids) {
  constexpr std::size_t kShown = 20;
  std::string out;
  for (std::size_t i = 0; i < ids.size() && i < kShown; ++i) {
    out += (i == 0 ? "" : ", ") + std::to_string(ids[i]);
  }
  if (ids.size() > kShown) out += ", …";
  return out;
}

}  // namespace

AuditForwarder::AuditForwarder(storage::AuditStore& store, AuditDestination& destination,
                               ForwarderOptions options, std::function<double()> jitter, Log log)
    : store_(store),
      destination_(destination),
      options_(options),
      jitter_(std::move(jitter)),
      log_(std::move(log)),
      batch_limit_(std::max<std::size_t>(1, options.batch_size)) {}

std::chrono::milliseconds AuditForwarder::backoff(int failures, double jitter) const {
  std::chrono::milliseconds wait = options_.first_retry;
  for (int i = 1; i < failures && wait < options_.max_retry; ++i) wait *= 2;
  wait = std::min(wait, options_.max_retry);
  const double shortened = static_cast<double>(wait.count()) * (1.0 - 0.25 * jitter);
  return std::chrono::milliseconds(static_cast<std::int64_t>(shortened));
}

Result<std::int64_t> AuditForwarder::load_cursor() {
  if (cursor_) return *cursor_;
  auto stored = store_.cursor(destination_.cursor_name());
  if (!stored) return stored.take_error();
  cursor_ = *stored;
  stats_.cursor = *stored;
  return *stored;
}

AuditForwarder::Clock::time_point AuditForwarder::run_once(Clock::time_point now,
                                                           std::stop_token stop) {
  auto cursor = load_cursor();
  if (!cursor) return fail(cursor.error(), now);
  auto batch = store_.since(*cursor, batch_limit_);
  if (!batch) return fail(batch.error(), now);
  if (batch->empty()) {
    recovered();
    return now + options_.idle_poll;
  }
  // Flagged records have no AuditEvent, and their raw bytes are what could not be read:
  // they stay in audit.db (audit export --include-unreadable) and are passed over.
  std::vector<storage::StoredAudit> readable;
  for (storage::StoredAudit& record : *batch) {
    if (record.record.problem.empty()) readable.push_back(std::move(record));
  }
  Delivery delivery = readable.empty() ? Delivery::all(0) : destination_.deliver(readable, stop);
  return advance(*batch, readable, delivery, now);
}

AuditForwarder::Clock::time_point AuditForwarder::advance(
    const std::vector<storage::StoredAudit>& batch, std::span<const storage::StoredAudit> sent,
    const Delivery& answer, Clock::time_point now) {
  Delivery delivery = answer;
  if (delivery.split && delivery.taken == 0) {
    if (sent.size() > 1) {
      batch_limit_ = std::max<std::size_t>(1, batch.size() / 2);
      return now;  // not a failure of the destination: try the smaller batch at once
    }
    delivery.taken = sent.size();  // one record the destination cannot take at all
    delivery.refused = {sent.front().id};
  }
  std::int64_t next = *cursor_;
  if (delivery.taken >= sent.size()) {
    next = batch.back().id;  // the unreadable records after the last sent one too
  } else if (delivery.taken > 0) {
    next = sent[delivery.taken - 1].id;
  }
  if (next != *cursor_) {
    if (Status saved = store_.set_cursor(destination_.cursor_name(), next, wall_clock_ms());
        !saved) {
      return fail(saved.error(), now);  // they went, but will go again: at least once
    }
    const auto passed = std::count_if(batch.begin(), batch.end(), [next](const auto& r) {
      return r.id <= next && !r.record.problem.empty();
    });
    stats_.unreadable += static_cast<std::uint64_t>(passed);
    stats_.delivered += std::min(delivery.taken, sent.size());
    stats_.refused += delivery.refused.size();
    cursor_ = next;
    stats_.cursor = next;
    log_(kDebug, "audit forwarding to " + destination_.describe() + ": " +
                     std::to_string(std::min(delivery.taken, sent.size())) +
                     " records taken, cursor " + std::to_string(next));
  }
  if (!delivery.refused.empty()) log_refused(delivery.refused);
  if (delivery.problem) return fail(*delivery.problem, now);
  recovered();
  const bool more_waiting = batch.size() >= batch_limit_;
  batch_limit_ = std::max<std::size_t>(1, options_.batch_size);
  return more_waiting ? now : now + options_.idle_poll;
}

AuditForwarder::Clock::time_point AuditForwarder::fail(const Error& problem,
                                                       Clock::time_point now) {
  ++stats_.failures;
  stats_.last_problem = problem.message;
  if (stats_.failures == 1) {
    log_(kWarning, "audit forwarding to " + destination_.describe() + " failed: " +
                       problem.message + "; the records wait in audit.db, retrying with backoff");
  } else {
    log_(kDebug, "audit forwarding to " + destination_.describe() + ": attempt " +
                     std::to_string(stats_.failures) + " failed: " + problem.message);
  }
  return now + backoff(stats_.failures, jitter_());
}

void AuditForwarder::recovered() {
  if (stats_.failures == 0) return;
  log_(kInfo, "audit forwarding to " + destination_.describe() + " works again after " +
                  std::to_string(stats_.failures) + " failed attempts");
  stats_.failures = 0;
  stats_.last_problem.reset();
}

void AuditForwarder::log_refused(const std::vector<std::int64_t>& ids) {
  log_(kWarning, "audit forwarding to " + destination_.describe() + ": the destination refused " +
                     std::to_string(ids.size()) +
                     " record(s) for good; they stay in audit.db and are not sent again (ids " +
                     id_list(ids) + ")");
}

}  // namespace cg::gateway
