#pragma once
// ResourceIndexer: computes every search-index row of a resource at write time, by
// evaluating the FHIRPath expression of each R4 search parameter that applies to the
// resource's type (the 1,375 official definitions) and converting what it yields with
// add_index_values(). Expressions are compiled once per type and shared.
//
// `resolve()` inside expressions (e.g. `subject.where(resolve() is Patient)`) is answered
// from the reference text alone — "Patient/1" resolves to a resource of type Patient — so
// indexing never reads the store. Composite parameters whose instances are not the resource
// itself are stored as grouped component rows (composite.hpp); special parameters are not
// indexed.
// Thread-safe: index() may run concurrently on many threads.

#include <boost/json/value.hpp>
#include <string>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "storage/index_entries.hpp"

namespace cg::fhir {

struct IndexReport {
  std::size_t parameters = 0;         // parameters evaluated
  std::vector<std::string> failures;  // "code: message" for expressions that failed
};

// The index rows of `resource` (a JSON object with resourceType). Expression failures are
// skipped (the resource is still stored and indexed by its other parameters) and listed in
// `report` when given. _id and _lastUpdated are not indexed here: the store's head table
// answers them (and meta.lastUpdated is only stamped when the version is written).
storage::IndexEntries index_resource(const boost::json::value& resource,
                                     IndexReport* report = nullptr);

}  // namespace cg::fhir
