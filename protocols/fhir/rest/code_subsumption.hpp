#pragma once
// :above / :below on token parameters against CodeSystems stored locally: before planning,
// each such criterion is rewritten into the codes the stored CodeSystem relates to the given
// one by subsumption, so `code:below=http://…/cs|a` becomes `code=cs|a,cs|a1,cs|a2,…` (a and
// every concept it subsumes) and `:above` becomes a and every ancestor of a. The planner and
// the store then see a plain token search. Exact rules (which CodeSystem, which hierarchy,
// the errors): docs/search.md, "Modifiers".
// Thread-safe: reads through the store's reader pool.

#include "protocols/fhir/model/result.hpp"
#include "protocols/fhir/search/search_query.hpp"
#include "storage/resource_store.hpp"

namespace cg::fhir {

// Rewrites every token criterion with :above or :below (chained ones too) into an OR of
// `system|code` values without modifier; other criteria are left as they are. The
// CodeSystem is the current, non-deleted one whose `url` is the value's system, the most
// recently written when several are stored. Errors, all kInvalid located at the parameter
// (400): a value without system or code; no such CodeSystem stored; `content` not-present;
// a hierarchyMeaning other than is-a; a code the CodeSystem does not define; more than
// kMaxValueSetCodes codes in all. kInternal when the store fails or its JSON does not parse.
Status expand_subsumption_criteria(search::SearchRequest& request, storage::ResourceStore& store);

}  // namespace cg::fhir
