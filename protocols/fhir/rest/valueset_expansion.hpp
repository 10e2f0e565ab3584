#pragma once
// :in / :not-in on token parameters against ValueSets stored locally: before planning, each
// such criterion is rewritten into the codes of the ValueSet (its expansion.contains, nested
// ones included; without an expansion, the concepts its compose.include lists explicitly),
// so `code:in=http://…/vs` becomes `code=sys|a,sys|b,…` and `:not-in` becomes `:not`.
// A ValueSet that is not stored, or one defined only by filters, is a 400 naming it.
// Thread-safe: reads through the store's reader pool.

#include "protocols/fhir/model/result.hpp"
#include "protocols/fhir/search/search_query.hpp"
#include "storage/resource_store.hpp"

namespace cg::fhir {

inline constexpr std::size_t kMaxValueSetCodes = 2000;

Status expand_valueset_criteria(search::SearchRequest& request, storage::ResourceStore& store);

}  // namespace cg::fhir
