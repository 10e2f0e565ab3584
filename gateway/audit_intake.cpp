#include "gateway/audit_intake.hpp"

#include <chrono>
#include <memory>
#include <utility>
#include <vector>

#include "gateway/audit_keys.hpp"
#include "gateway/log.hpp"
#include "protocols/atna/audit_message.hpp"
#include "protocols/atna/audit_payload.hpp"
#include "protocols/atna/syslog_message.hpp"
#include "protocols/fhir/model/json.hpp"
#include "protocols/fhir/rest/resource_io.hpp"

namespace cg::gateway {
namespace {

namespace json = boost::json;

constexpr std::int64_t kProblemLogIntervalMs = 10'000;

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void set_problem(storage::AuditRecord& record, std::string problem) {
  record.problem = std::move(problem);
  record.resource_json.clear();
  record.keys.clear();
  record.recorded_ms.reset();
}

void read_xml(std::string_view payload, const atna::AuditMapOptions& options,
              storage::AuditRecord& record) {
  auto message = atna::parse_audit_message(payload);
  if (!message) {
    return set_problem(
        record,
        "audit XML not readable: " + message.error().message +
            (message.error().location.empty() ? std::string() : " at " + message.error().location));
  }
  auto event = atna::map_audit_event(*message, options);
  if (!event) {
    return set_problem(record, "audit message not mappable to FHIR: " + event.error().message +
                                   " at " + event.error().location);
  }
  set_audit_event(record, *event);
}

// A FHIR AuditEvent sent as it is (JSON syslog payloads, the RESTful ITI-20 feed): it must
// pass the validation every resource posted to the FHIR API passes.
void read_fhir_json(std::string_view payload, storage::AuditRecord& record) {
  record.format = "fhir";
  auto value = fhir::parse_json(payload);
  if (!value || !value->is_object()) {
    return set_problem(record, "FHIR JSON that does not parse");
  }
  if (Status valid = fhir::check_structure(value->as_object()); !valid) {
    return set_problem(record, "FHIR AuditEvent not valid: " + valid.error().message);
  }
  set_audit_event(record, value->as_object());
}

}  // namespace

atna::AuditMapOptions audit_map_options(const hl7v2::IdentifierSystems& systems) {
  atna::AuditMapOptions options;
  options.authority_system = [systems](std::string_view namespace_id, std::string_view universal_id,
                                       std::string_view universal_id_type) {
    return hl7v2::identifier_system(namespace_id, universal_id, universal_id_type, systems);
  };
  return options;
}

void read_audit_payload(std::string_view payload, const atna::AuditMapOptions& options,
                        storage::AuditRecord& record) {
  const atna::AuditPayloadClass kind = atna::classify_payload(payload);
  switch (kind.kind) {
    case atna::AuditPayloadKind::kDicomXml:
      record.format = "dicom";
      return read_xml(payload, options, record);
    case atna::AuditPayloadKind::kRfc3881Xml:
      record.format = "rfc3881";
      return read_xml(payload, options, record);
    case atna::AuditPayloadKind::kFhirJson:
      return read_fhir_json(payload, record);
    case atna::AuditPayloadKind::kUnknown:
      break;
  }
  record.format = "unknown";
  set_problem(record, "not an audit record: " + kind.reason);
}

storage::AuditRecord audit_record(std::string_view syslog_message, std::string_view transport,
                                  std::string_view peer, std::int64_t received_ms,
                                  const atna::AuditMapOptions& options) {
  storage::AuditRecord record;
  record.received_ms = received_ms;
  record.transport = std::string(transport);
  record.peer = std::string(peer);
  record.format = "unknown";
  auto syslog = atna::parse_syslog_message(syslog_message);
  if (!syslog) {
    record.raw = std::string(syslog_message);
    set_problem(record, "not a syslog message: " + syslog.error().message);
    return record;
  }
  read_audit_payload(syslog->msg, options, record);
  // Unreadable: the whole message, so its header still says who sent it.
  record.raw = record.problem.empty() ? std::move(syslog->msg) : std::string(syslog_message);
  return record;
}

AuditIntake::AuditIntake(storage::AuditStore& store, const hl7v2::IdentifierSystems& systems,
                         Log log)
    : store_(store), options_(audit_map_options(systems)), log_(std::move(log)) {}

void AuditIntake::count_received(std::string_view transport, std::size_t messages) {
  std::atomic<std::uint64_t>& n = transport == "udp"   ? counters_.received_udp
                                  : transport == "tcp" ? counters_.received_tcp
                                                       : counters_.received_tls;
  n.fetch_add(messages, std::memory_order_relaxed);
}

void AuditIntake::ingest(atna::SyslogBatch batch, atna::SyslogBatchDone done) {
  std::vector<storage::AuditRecord> records;
  records.reserve(batch.messages.size());
  count_received(batch.transport, batch.messages.size());
  std::size_t unreadable = 0;
  for (const atna::ReceivedSyslog& received : batch.messages) {
    records.push_back(audit_record(received.message, batch.transport, received.peer,
                                   batch.received_ms, options_));
    if (!records.back().problem.empty()) {
      ++unreadable;
      note_unreadable(records.back());
    }
  }
  const std::size_t count = records.size();
  store_.append(std::move(records), [this, count, unreadable, done = std::move(done)](
                                        Result<std::vector<std::int64_t>> ids) {
    if (!ids) {
      note_store_failure(count, ids.error());
      done(false);
      return;
    }
    counters_.records += count;
    counters_.unreadable += unreadable;
    done(true);
  });
}

// Flagged records are normal enough (a misconfigured sender) that one line per record would
// flood the log: the first is logged, then at most one line per interval with the count.
void AuditIntake::note_unreadable(const storage::AuditRecord& record) {
  if (auto count = problem_lines_.due()) {
    log(kWarning, std::to_string(count) +
                      " unreadable audit record(s) stored flagged (latest from " + record.peer +
                      " over " + record.transport + ": " + record.problem + ")");
  }
}

// A full queue or disk repeats for every batch until it clears: logged like the above.
void AuditIntake::note_store_failure(std::size_t records, const Error& error) {
  counters_.store_failures += records;
  if (auto count = failure_lines_.due(records)) {
    log(kErr, "audit.db did not store " + std::to_string(count) +
                  " audit record(s) (latest: " + error.message + ")");
  }
}

std::uint64_t AuditIntake::LogThrottle::due(std::uint64_t events) {
  std::lock_guard lock(mutex_);
  unlogged_ += events;
  const std::int64_t now = steady_ms();
  if (last_ms_ != 0 && now - last_ms_ < kProblemLogIntervalMs) return 0;
  last_ms_ = now;
  return std::exchange(unlogged_, 0);
}

}  // namespace cg::gateway
