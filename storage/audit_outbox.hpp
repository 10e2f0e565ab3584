#pragma once
// The audit outbox: a table in clinical.db holding the audit records of writes until they
// are moved to audit.db. A FHIR write or an HL7v2 message stages its audit record inside
// its own write job, so the record commits in the same transaction (and fsync) as the data:
// no write is ever acknowledged without its audit record, and a crash cannot keep one
// without the other. The gateway's audit emitter then moves staged records to audit.db
// (gateway/audit_emitter.hpp).
//
// All functions take the write connection of a job (WriteContext::connection()), so they
// run on the store's writer thread inside the job's transaction.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "storage/sqlite.hpp"

namespace cg::storage {

struct StagedAudit {
  std::int64_t id = 0;
  std::int64_t created_ms = 0;
  std::string event_json;  // a FHIR AuditEvent
};

// Adds one record to the outbox.
Status stage_audit(Connection& conn, std::int64_t created_ms, std::string_view event_json);
// The oldest `limit` staged records, oldest first.
Result<std::vector<StagedAudit>> staged_audits(Connection& conn, std::size_t limit);
// Removes the staged records up to and including `last_id` (they reached audit.db).
Status unstage_audits(Connection& conn, std::int64_t last_id);

}  // namespace cg::storage
