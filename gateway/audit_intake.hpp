#pragma once
// The ATNA intake: what becomes of an audit record the syslog receivers (or, later, other
// feeds) hand over, and how it reaches audit.db.
//
// audit_record() reads one syslog message into the row the store keeps: the syslog header,
// then the payload (MSG) by its kind — DICOM or RFC 3881 audit XML is read and mapped to a
// FHIR AuditEvent, a FHIR AuditEvent in JSON is validated and kept as it is — and the ITI-81
// search keys of the AuditEvent. Nothing is dropped: a message whose syslog header or payload
// cannot be read is kept raw, with `problem` saying why (never quoting the content).
// Patient identifiers (HL7 CX) get the Identifier.system the HL7v2 patient feed would give
// their assigning authority ([hl7] identifier_systems, then the OID, then
// urn:cg:authority:<namespace>), so the same patient matches on both sides.
//
// AuditIntake is the receivers' sink: it reads a batch on the calling (worker) thread and
// appends it to the store as one job; the batch's completion is called after the commit.
// Thread-safe: ingest() may run concurrently.

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "protocols/atna/audit_event_map.hpp"
#include "protocols/atna/syslog_server.hpp"
#include "protocols/hl7v2/patient_map.hpp"
#include "storage/audit_store.hpp"

namespace cg::gateway {

// The map options that give patient CX identifiers the HL7v2 feed's systems.
atna::AuditMapOptions audit_map_options(const hl7v2::IdentifierSystems& systems);

// Fills format, problem, resource_json, keys and recorded_ms of `record` from an audit
// payload (audit XML or FHIR JSON). `problem` is set, and the rest left empty, when the
// payload cannot be read.
void read_audit_payload(std::string_view payload, const atna::AuditMapOptions& options,
                        storage::AuditRecord& record);

// One syslog message (one frame or datagram) → the record to store. `raw` is the payload
// (MSG) when it was read, the whole message as received when it was not (its header then
// still tells who sent it).
storage::AuditRecord audit_record(std::string_view syslog_message, std::string_view transport,
                                  std::string_view peer, std::int64_t received_ms,
                                  const atna::AuditMapOptions& options);

struct AuditIntakeCounters {
  std::atomic<std::uint64_t> received_udp{0};  // handed over by each transport
  std::atomic<std::uint64_t> received_tcp{0};
  std::atomic<std::uint64_t> received_tls{0};
  std::atomic<std::uint64_t> records{0};         // stored (committed)
  std::atomic<std::uint64_t> unreadable{0};      // of those, flagged with a problem
  std::atomic<std::uint64_t> store_failures{0};  // records audit.db refused (not stored)
};

class AuditIntake {
 public:
  using Log = std::function<void(int priority, std::string_view message)>;

  // `store` must outlive the intake and every batch still being appended.
  AuditIntake(storage::AuditStore& store, const hl7v2::IdentifierSystems& systems, Log log);

  // The atna::SyslogSink.
  void ingest(atna::SyslogBatch batch, atna::SyslogBatchDone done);

  const AuditIntakeCounters& counters() const { return counters_; }

 private:
  void count_received(std::string_view transport, std::size_t messages);
  void note_unreadable(const storage::AuditRecord& record);
  void note_store_failure(std::size_t records, const Error& error);
  void log(int priority, std::string_view message) const {
    if (log_) log_(priority, message);
  }

  // Lets one log line through per interval; due() returns how many events it covers (0:
  // not yet). Thread-safe.
  class LogThrottle {
   public:
    std::uint64_t due(std::uint64_t events = 1);

   private:
    std::mutex mutex_;
    std::int64_t last_ms_ = 0;    // guarded by mutex_
    std::uint64_t unlogged_ = 0;  // guarded by mutex_
  };

  storage::AuditStore& store_;
  const atna::AuditMapOptions options_;
  const Log log_;
  AuditIntakeCounters counters_;
  LogThrottle problem_lines_;
  LogThrottle failure_lines_;
};

}  // namespace cg::gateway
