#pragma once
// The patient identity feed's mapping: PID (with the PD1 and NK1 of its group) → a FHIR R4
// Patient, following the HL7 v2-to-FHIR Implementation Guide; and the MRG identifiers of a
// merge. docs/hl7v2.md ("Patient mapping") lists field by field what is mapped and what not.
//
// The mapper describes the patient's full current state as the message gives it. Absent
// fields and HL7 nulls ("") are both left out: the receiver replaces the whole stored
// resource, so a null ("delete this value") and an absent field both end up without the
// element. Identifier systems come from the assigning authority (CX-4) as IdentifierSystems
// describes. Pure functions over a parsed Message; thread-safe.

#include <boost/json/object.hpp>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "protocols/hl7v2/date_time.hpp"  // IWYU pragma: export
#include "protocols/hl7v2/message.hpp"

namespace cg::hl7v2 {

// How an assigning authority (CX-4, an HD: namespace id ^ universal id ^ universal id type)
// becomes an Identifier.system, first rule that applies:
//  1. the namespace id (HD.1) is configured in by_namespace → that URI;
//  2. a universal id (HD.2) of type ISO → "urn:oid:<HD.2>", UUID/GUID → "urn:uuid:<HD.2>",
//     URI/URL → HD.2 as is;
//  3. any other namespace id → "urn:cg:authority:<HD.1>" (characters outside RFC 3986's
//     unreserved set percent-encoded): stable, so the same authority always matches;
//  4. a universal id of another type (DNS, L, ...) alone → "urn:cg:authority:<HD.2>";
//  5. no assigning authority → no system (the identifier is matched on its value alone).
struct IdentifierSystems {
  // namespace id (HD.1) → system URI, from the gateway config ("CLINIC" →
  // "http://clinic.example/mrn").
  std::map<std::string, std::string, std::less<>> by_namespace;
};

// An identifier as the receiver matches on it. `system` is empty under rule 5 above.
struct IdentifierKey {
  std::string system;
  std::string value;
  bool operator==(const IdentifierKey&) const = default;
};

struct MappedPatient {
  boost::json::object resource;            // FHIR R4 Patient, without id and meta
  std::vector<IdentifierKey> identifiers;  // from PID-3, in order: what the receiver matches on
};

// The Identifier.system for an assigning authority given as its three HD parts ("" when
// there is none, rule 5). Shared with the PIX/PDQ query mappers (QPD-4 domains).
std::string identifier_system(std::string_view namespace_id, std::string_view universal_id,
                              std::string_view universal_id_type, const IdentifierSystems& systems);

// PID (+ the PD1 and NK1 segments after it, up to the next PID) of the `pid_occurrence`-th
// PID segment → Patient. Errors (HL7 0357 codes, ErrorLocation filled):
// - no such PID: 100 at message level;
// - PID-3 without any repetition that has a value (CX-1): 101 at PID-3;
// - a date that is not a valid HL7 DT/DTM (PID-7, PID-29, CX-7/8, XPN-10/12/13, XAD-12/13/14,
//   NK1-8/9): 102 at that field (repetition, component);
// - PID-25 (birth order) not a positive integer: 102 at PID-25.
// Unknown codes are never errors: an unknown PID-8 becomes "unknown"; unknown name, address
// and telecom types are left out; unknown marital status, relationship and identifier type
// codes are kept as codings in their v2 code system.
Result<MappedPatient> map_patient(const Message& message, const IdentifierSystems& systems,
                                  int pid_occurrence = 1);

// For ADT^A40/A39 merges: the identifiers of MRG-1 (the merged-away patient's) of the first
// MRG segment, same system rules. No MRG: 100 at message level; MRG-1 without a value: 101
// at MRG-1.
Result<std::vector<IdentifierKey>> merged_identifiers(const Message& message,
                                                      const IdentifierSystems& systems);

}  // namespace cg::hl7v2
