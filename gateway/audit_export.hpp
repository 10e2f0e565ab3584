#pragma once
// Exporting the audit record repository as NDJSON (`audit export`, docs/atna.md "Export"):
// one line per record, oldest first.
//
// - A readable record is its FHIR AuditEvent with `id` (the record's id in audit.db, the id
//   the AuditEvent API serves it under) and `meta.lastUpdated` (when the gateway received
//   it), so the file loads into a FHIR server ($import, a bulk loader) as it is.
// - An unreadable record (its payload could not be read; stored raw and flagged) is written
//   only when asked for, as a line that is deliberately no FHIR resource — no
//   "resourceType", one member "unreadable" — so a FHIR loader refuses it instead of storing
//   something half-read:
//     {"unreadable":{"id":"17","received":"2026-01-05T10:00:00.250Z","transport":"udp",
//      "peer":"10.0.0.9","format":"unknown","problem":"…","payload":"<base64 of the bytes>"}}
// - With `as_received`, a readable record is written the same way, as the bytes the gateway
//   received (the syslog payload, the REST body) under one member "received", for an
//   auditor who needs the original messages (the gateway's own records have no other form:
//   their payload is empty).
//
// The export reads in pages by id (AuditStore::since), so memory stays flat whatever the
// size, and it runs beside a serving daemon (audit.db is SQLite WAL: readers see a snapshot
// per page and never block the daemon's writes).
// Thread-safety: pure functions, and export_audit reads through the thread-safe store.

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "protocols/fhir/model/result.hpp"
#include "storage/audit_store.hpp"

namespace cg::gateway {

// The AuditEvent of a readable record with `id` and `meta.lastUpdated` set (members in
// FHIR's order: resourceType, id, meta, then the rest). kInvalid when the stored JSON does
// not parse (it was validated when stored, so this means a damaged file).
Result<std::string> audit_event_with_id(const storage::StoredAudit& stored);

// The "unreadable" line of a flagged record (see above).
std::string unreadable_record_line(const storage::StoredAudit& stored);
// The "received" line of a readable record (see above).
std::string received_record_line(const storage::StoredAudit& stored);

struct ExportRange {
  std::int64_t after_id = 0;                               // exclusive
  std::int64_t through_id = storage::AuditStore::kAllIds;  // inclusive
  std::optional<std::int64_t> received_from_ms;            // inclusive
  std::optional<std::int64_t> received_to_ms;              // exclusive
  bool include_unreadable = false;
  bool as_received = false;  // readable records as received, not as AuditEvents
};

struct ExportCount {
  std::int64_t events = 0;
  std::int64_t unreadable_written = 0;
  std::int64_t unreadable_skipped = 0;
  std::optional<std::int64_t> first_id;  // of the lines written
  std::optional<std::int64_t> last_id;
};

inline constexpr std::size_t kExportPageSize = 500;

// Writes the records of `range` to `out`, a line each. Errors: the store's, or kInvalid for
// a damaged AuditEvent (naming its id); the lines before it have been written.
Result<ExportCount> export_audit(storage::AuditStore& store, const ExportRange& range,
                                 std::ostream& out);

}  // namespace cg::gateway
