#pragma once
// HL7v2 data types as FHIR values, shared by the v2 → FHIR mappers: plain text (ST/TX/FT),
// coded values (CWE/CE/CNE → CodeableConcept, with coding systems named as in HL7 table
// 0396), entity identifiers (EI → the identifier a resource is matched on) and persons (XCN →
// a Reference by identifier). Empty and null ("") values read as absent. Pure functions over
// a parsed Segment; thread-safe.

#include <boost/json/object.hpp>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "protocols/hl7v2/message.hpp"
#include "protocols/hl7v2/patient_map.hpp"

namespace cg::hl7v2 {

// A FHIR string from an HL7 value: trimmed, without control characters other than tab and
// line breaks (HL7 \Xhh\ escapes can produce any byte).
std::string fhir_string(std::string value);

// A FHIR code from an HL7 value: single spaces between non-space characters.
std::string fhir_code(std::string_view value);

// `text` with every character outside RFC 3986's unreserved set percent-encoded, for URNs.
std::string percent_encoded(std::string_view text);

// One value of `segment`, unescaped as plain text (formatting escapes such as \.br\ become
// line breaks, highlighting is dropped), as fhir_string().
std::string plain_text(const Segment& segment, int field, int repetition = 1, int component = 1,
                       int subcomponent = 1);

// The FHIR code system URI for an HL7 coding system name (table 0396 and its usual variants,
// case-insensitive): "LN" → http://loinc.org, "SCT"/"SNM" → http://snomed.info/sct, "UCUM"
// → http://unitsofmeasure.org, "HL7nnnn" → http://terminology.hl7.org/CodeSystem/v2-nnnn,
// "MDC" → urn:iso:std:iso:11073:10101, .... Other names (local systems such as "99Lab" or
// "L") → "urn:cg:codesystem:<name>" (percent-encoded): stable, so the same local code
// always matches. Empty for an empty name.
std::string code_system_uri(std::string_view hl7_name);

// A CWE/CE/CNE repetition → CodeableConcept: a coding per triplet that has a code (CWE-1..3,
// 4..6, 10..12; the system from code_system_uri(), else the OID of CWE-14/17/20, else none)
// and CWE-9 (else the first display) as text. nullopt when it holds neither code nor text.
std::optional<boost::json::object> codeable_concept(const Segment& segment, int field,
                                                    int repetition = 1);

// An EI field (entity identifier: id ^ namespace id ^ universal id ^ universal id type; its
// first repetition) → its value, and its system by the IdentifierSystems rules (the
// namespace, universal id and type form the assigning authority); nullopt without an id.
std::optional<IdentifierKey> entity_identifier(const Segment& segment, int field,
                                               const IdentifierSystems& systems);

// A place (PL, or LA1/LA2: point of care ^ room ^ bed ^ facility HD …; its first repetition)
// as display text: "facility, point of care, room, bed" (the facility's namespace id, else
// its universal id); empty when none is given.
std::string place_display(const Segment& segment, int field);

// An XCN repetition → a Reference to a Practitioner by identifier (XCN-1, system from XCN-9)
// with the name (prefix, given, middle, family, suffix, degree) as display — never a literal
// reference: the Practitioner's id is not known here. nullopt when it has neither id nor name.
std::optional<boost::json::object> practitioner_reference(const Segment& segment, int field,
                                                          int repetition,
                                                          const IdentifierSystems& systems);

// --- building FHIR JSON: the small pieces every mapper uses ---------------------------------

// Sets object[key] to `value` unless it is empty (FHIR has no empty strings).
void put(boost::json::object& object, std::string_view key, std::string value);
// Appends `value` to the array object[key], creating it.
void append(boost::json::object& object, std::string_view key, boost::json::value value);
// A Coding with only the parts that are valued.
boost::json::object valued_coding(std::string_view system, std::string_view code,
                                  std::string_view display = {});
// The non-empty parts joined by single spaces.
std::string join(std::initializer_list<std::string_view> parts);
// HL7 codes compare without regard to ASCII case ("f" is "F").
bool same_code(std::string_view a, std::string_view b);

}  // namespace cg::hl7v2
