#pragma once
// Structural validation of FHIR R4 resources in their JSON form (boost::json with decimals
// tagged as in json.hpp) against the generated definitions (definitions.hpp).
//
// Checks what the definitions alone decide: a known resourceType; every property is an
// element of its type (choice elements by typed name, at most one type each); arrays exactly
// where the maximum cardinality is above one; required elements present; primitive values of
// the right JSON kind and format (the R4 regexes, implemented by hand); `_name` primitive
// extensions shaped like Element and aligned with their values; no empty objects, arrays or
// strings; contained and nested resources (Bundle.entry.resource, ...) checked the same way.
// Invariants, terminology bindings and profiles are out of scope.
// Pure function; thread-safe; never throws.

#include <boost/json/object.hpp>
#include <cstddef>
#include <string>
#include <vector>

namespace cg::fhir {

struct ValidationIssue {
  std::string code;     // FHIR issue-type: structure | required | value | invalid
  std::string message;  // names the rule broken, never the offending value
  std::string path;     // e.g. Patient.name[0].given[1]
};

// Validation stops after this many issues; the list is then not exhaustive.
inline constexpr std::size_t kMaxValidationIssues = 100;

// Issues found in `resource`, in document order; empty when it is structurally valid.
std::vector<ValidationIssue> validate_structure(const boost::json::object& resource);

}  // namespace cg::fhir
