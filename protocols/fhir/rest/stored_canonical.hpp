#pragma once
// Canonical resources (ValueSet, CodeSystem) stored on this server, found by their `url`, for
// the REST layer's rewrites of :in / :not-in and :above / :below before planning.
// Thread-safe: reads through the store's reader pool.

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "protocols/fhir/model/result.hpp"
#include "storage/resource_store.hpp"

namespace cg::fhir {

// The current, non-deleted resource of `type` whose `url` is `url`, parsed. When several are
// stored (business versions of one canonical), the most recently written one (greatest
// meta.lastUpdated; within one millisecond, the smallest id): R4 defines no order on
// `version` strings. nullopt when none is stored. kInternal when the store fails or the
// stored JSON does not parse.
Result<std::optional<boost::json::object>> stored_canonical(storage::ResourceStore& store,
                                                            std::string_view type,
                                                            const std::string& url);

// The string member `key` of `o`; "" when it is absent or not a string.
std::string string_member(const boost::json::object& o, std::string_view key);

}  // namespace cg::fhir
