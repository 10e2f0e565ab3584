#pragma once
// The parameters of IHE PDQ and PIX queries (QBP^Q22, ITI-21; QBP^Q23, ITI-9), read from QPD
// and RCP and turned into what the gateway searches with: FHIR search parameters on Patient
// and identifier systems. The gateway's query handlers (gateway/hl7_queries.hpp) run them;
// docs/hl7v2.md ("Queries") lists the supported fields. Errors carry the HL7 code and the
// location IHE asks for, so they go straight into the answer's ERR segment. Pure functions
// over a parsed Message; thread-safe.

#include <optional>
#include <string>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "protocols/hl7v2/message.hpp"
#include "protocols/hl7v2/patient_map.hpp"

namespace cg::hl7v2 {

// One name=value pair of a FHIR search on Patient, the value escaped for FHIR search syntax.
struct SearchParam {
  std::string name;
  std::string value;
  bool operator==(const SearchParam&) const = default;
};

// A domain of "what domains returned" (QPD-8 of PDQ, QPD-4 of PIX): the identifier system its
// assigning authority (CX-4) maps to, and the repetition it was given in (for ERR-2).
struct QueryDomain {
  std::string system;
  int repetition = 0;
};

// The domains of QPD-`field`, in order; repetitions without an assigning authority are
// skipped. Empty when the field is empty (every domain).
std::vector<QueryDomain> requested_domains(const Message& query, int field,
                                           const IdentifierSystems& systems);

// PDQ: QPD-3's "@PID.n.c^value" repetitions → FHIR Patient search parameters (ANDed), with
// the PID.3 identifier parts grouped into one identifier per @PID.3.1. Errors:
// - QPD missing: 100; QPD-3 without any value (a bare "*" wildcard is none): 101 at QPD^1^3;
// - a field the gateway cannot search on: 103 (table value not found) at QPD^1^3^n^1,
//   naming the field;
// - a date (PID.7) that is not an HL7 DT: 102 at QPD^1^3^n^2.
Result<std::vector<SearchParam>> pdq_search_params(const Message& query,
                                                   const IdentifierSystems& systems);

// PIX: the identifier asked about (QPD-3: CX-1 with its assigning authority CX-4). Errors:
// QPD missing: 100; no CX-1: 101 at QPD^1^3^1^1; no assigning authority: 101 at QPD^1^3^1^4
// (an identifier only means something within its domain).
Result<IdentifierKey> pix_source_identifier(const Message& query, const IdentifierSystems& systems);

// RCP-2 (quantity limited request, "10^RD"): the number of records asked for; nullopt when
// absent. Other units than RD (records) count as records too: the gateway answers in records.
std::optional<int> quantity_limit(const Message& query);

// Escapes a value for FHIR search syntax: "\", ",", "$" and "|" get a backslash.
std::string search_escaped(std::string_view value);

}  // namespace cg::hl7v2
