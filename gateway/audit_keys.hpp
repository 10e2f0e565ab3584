#pragma once
// The ITI-81 search keys of a FHIR AuditEvent, as the audit store keeps them
// (storage/audit_store.hpp): what an audit record can be found by, read once when it is
// stored instead of evaluating FHIRPath at every search.
//
//   param                 from
//   type                  type (system|code)
//   subtype               subtype[]
//   action                action (code, system http://hl7.org/fhir/audit-event-action)
//   outcome               outcome (code, system http://hl7.org/fhir/audit-event-outcome)
//   source                source.observer.identifier.value, source.observer.display
//   site                  source.site
//   address               agent[].network.address
//   agent-identifier      agent[].who.identifier (system|value), agent[].altId (no system)
//   entity-identifier     entity[].what.identifier (system|value)
//   patient-identifier    the same, for entities of type 1 (person) with role 1 (patient)
//   entity-type           entity[].type (system|code)
//   entity-role           entity[].role (system|code)
//   agent                 agent[].who.reference ("Practitioner/7", as written)
//   entity                entity[].what.reference
//   patient               agent[].who / entity[].what references to a Patient
//
// and `recorded` as ms since the epoch (the start of its precision), for `date`.
// Pure; thread-safe.

#include <boost/json/object.hpp>

#include "gateway/balp_events.hpp"
#include "storage/audit_store.hpp"

namespace cg::gateway {

struct AuditSearchKeys {
  std::vector<storage::AuditKey> keys;
  std::optional<std::int64_t> recorded_ms;
};

AuditSearchKeys audit_search_keys(const boost::json::object& audit_event);

// Gives `record` its FHIR form: the AuditEvent's JSON, its keys and `recorded`. Every way a
// record arrives (syslog, the REST feed, the gateway's own) stores an AuditEvent this way.
void set_audit_event(storage::AuditRecord& record, const boost::json::object& audit_event);

// The same keys, read from what the gateway's own AuditEvent is written from instead of
// from its JSON (the cheap path of the records of reads): equal, as a set, to
// audit_search_keys(build_audit_event(source, spec, …)), which the tests hold it to.
std::vector<storage::AuditKey> audit_spec_keys(const AuditSource& source,
                                               const AuditEventSpec& spec);

}  // namespace cg::gateway
