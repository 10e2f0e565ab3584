#pragma once
// FHIR Patient → PID: the direction of the answers to PDQ and PIX queries (RSP^K22,
// RSP^K23). The inverse of patient_map.hpp for what it maps, so a patient fed in by an A28
// comes back in a query answer as the sender wrote it: identifiers with their assigning
// authorities, names, birth date and time, sex, addresses, telecoms, marital status, multiple
// birth, death and the mother's maiden name (validity periods included). docs/hl7v2.md
// ("Queries") lists the fields. Pure functions; thread-safe.

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "protocols/hl7v2/message.hpp"
#include "protocols/hl7v2/patient_map.hpp"

namespace cg::hl7v2 {

// An assigning authority (HD) as CX-4 writes it.
struct AssigningAuthority {
  std::string namespace_id;
  std::string universal_id;
  std::string universal_id_type;
};

// The assigning authority that identifier_system() maps to `system`, so that the round trip
// gives the same system: a configured namespace (with the OID of a urn:oid system),
// urn:oid → ISO, urn:uuid → UUID, urn:cg:authority:NS → NS, any other URI → URI. An empty
// system has no authority.
AssigningAuthority assigning_authority(std::string_view system, const IdentifierSystems& systems);

// Which of the Patient's identifiers PID-3 lists.
struct IdentifierFilter {
  std::vector<std::string> systems;   // only these systems (the query's domains); empty: all
  std::optional<IdentifierKey> skip;  // this one left out (PIX: the identifier asked about)
  bool admits(const IdentifierKey& key) const;
};

// The Patient's identifiers that `filter` admits, in the resource's order.
std::vector<IdentifierKey> listed_identifiers(const boost::json::object& patient,
                                              const IdentifierFilter& filter);

// Appends a PID for `patient` with PID-1 = set_id: identifiers (PID-3) as filtered, and the
// demographics. Errors only for a message the segment cannot be added to.
Status append_pid(Message& message, const boost::json::object& patient, int set_id,
                  const IdentifierFilter& filter, const IdentifierSystems& systems);

// Appends the PID of a PIX answer: PID-3 only, and PID-5 "~^^^^^^S" (no name, a pseudonym
// name type), as IHE ITI-9 asks, since a cross-reference answer carries no demographics.
Status append_identifiers_pid(Message& message, const boost::json::object& patient,
                              const IdentifierFilter& filter, const IdentifierSystems& systems);

}  // namespace cg::hl7v2
