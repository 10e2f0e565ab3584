#pragma once
// The ITI-81 search parameters of /fhir/AuditEvent → an AuditQuery of the audit store
// (docs/atna.md, "Searching audit records"). Pure; thread-safe.
//
//   date                     recorded, with FHIR prefixes (eq ge gt le lt; repeat to AND)
//   type subtype action outcome source site address entity-type entity-role
//                            tokens: code, system|code, system|
//   agent.identifier entity.identifier patient.identifier
//                            identifiers: value, system|value (also written with '-')
//   patient agent entity     references: Type/id, an absolute URL ending in Type/id, or
//                            (patient only) a bare id
//   _count _cursor           page size; the id to continue below (from the next link)
//   _format _pretty _sort    response shaping; _sort only as -date (the order served)
//   _summary=count _total    the number of matches (only it, or with the page);
//                            _total=none and estimate are accepted and give none
//
// Comma-separated values are alternatives (OR); repeated parameters all apply (AND).

#include <string>

#include "protocols/fhir/model/result.hpp"
#include "protocols/fhir/rest/fhir_request.hpp"
#include "storage/audit_store.hpp"

namespace cg::gateway {

struct AuditSearch {
  storage::AuditQuery query;
  // The parameters the search used, form-encoded, for the Bundle's self and next links
  // (without _cursor; ignored parameters are left out).
  std::string used;
  bool count_only = false;  // _summary=count: the total, no entries
  bool with_total = false;  // _total=accurate
};

struct AuditSearchLimits {
  std::size_t default_count = 50;
  std::size_t max_count = 1000;
};

// kInvalid naming the parameter for a value that cannot be read, a modifier, an unknown
// parameter under strict handling, or a _sort other than -date.
Result<AuditSearch> parse_audit_search(const fhir::QueryParams& params, bool strict,
                                       const AuditSearchLimits& limits, std::int64_t now_ms);

}  // namespace cg::gateway
