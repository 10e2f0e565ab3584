#pragma once
// Literal FHIR references: "Patient/1", "Patient/1/_history/2", or an absolute URL ending in
// such a path ("http://host/fhir/Patient/1"). The one parser the indexer, the FHIRPath store
// resolver and the type-only resolver share. Pure; thread-safe.

#include <optional>
#include <string_view>

namespace cg::fhir {

struct LiteralReference {
  std::string_view type;     // an R4 resource type
  std::string_view id;       // non-empty
  std::string_view version;  // after /_history/, "" when absent
};

// Views into `reference`; nullopt when it does not end in [Type]/[id][/_history/[vid]] with a
// known resource type (contained "#x", urn:uuid:…, canonical URLs of other kinds).
std::optional<LiteralReference> parse_literal_reference(std::string_view reference);

}  // namespace cg::fhir
