#pragma once
// How a composite search parameter is stored and searched on one resource type. The indexer
// and the search planner both follow it, so what is written is exactly what is looked up.
//
// A composite's expression selects its element instances (Observation.component); its
// components are evaluated on each instance. Two storage forms:
//   root      when the resource itself is an instance (code-value-quantity's expression is
//             `Observation`), its component values are already the rows of ordinary
//             parameters of the type (`code`, `value-quantity`): nothing more is stored, and a
//             search requires those parameters' rows on one resource. A union such as
//             combo-code-value-quantity (`Observation | Observation.component`) uses the
//             root-only composite with the same component expressions for its root instance.
//   grouped   every other instance is stored as rows of "code$0", "code$1", … with grp = the
//             instance's ordinal (1, 2, …), and a search requires one grp to match all
//             components.
// Thread-safe: plans are computed once per (parameter, type) and read-only afterwards.

#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/definitions.hpp"

namespace cg::fhir {

struct CompositePlan {
  // The ordinary parameters holding each component's values for the root instance, in
  // component order; empty when the root is not an instance or has no such parameters.
  std::vector<std::string_view> root_params;
  // Instances other than the root (or the root, when root_params is empty) are stored as
  // grouped rows.
  bool grouped = false;
};

const CompositePlan& composite_plan(const SearchParamDef& def, std::string_view type);

// The row parameter of component `index` of the composite `code` ("code$1").
std::string component_param(std::string_view code, std::size_t index);

}  // namespace cg::fhir
