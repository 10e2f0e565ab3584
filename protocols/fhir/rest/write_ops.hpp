#pragma once
// The write interactions as store jobs: create, update, delete and their conditional forms.
// Each function runs inside a WriteJob on the store's writer thread, so its checks
// (If-Match, If-None-Exist, conditional matches) and its write are one atomic step. The
// REST handlers run one per job; transactions run many in one job. Thread: writer only.

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "protocols/fhir/rest/fhir_request.hpp"
#include "storage/index_entries.hpp"
#include "storage/index_query.hpp"
#include "storage/resource_store.hpp"

namespace cg::fhir {

// Conditional criteria ("identifier=sys|1", "name=ada&birthdate=1990", "subject:Patient.
// identifier=…"): a type search planned into an IndexQuery. Parsing is pure and may run on
// any thread (the REST handlers parse before queueing their job); the match itself runs
// inside the job, on the writer connection, so it sees the earlier jobs of its batch and
// nothing can change between the check and the write.
struct Criteria {
  std::string type;
  storage::IndexQuery query;  // count 2 (none, one or several), budget kWriterQueryBudget
};

// Parses conditional criteria with the full search (docs/search.md), always strictly, and
// plans them. kInvalid ("conditional criteria: …", location = the parameter) for: anything
// a strict search refuses — unknown or unsupported parameters included, which must never be
// dropped: a looser match could overwrite or delete the wrong resource; result parameters
// (_sort, _count, _include, _summary, _elements, _total, _cursor, …); no criteria at all;
// :in / :not-in and token :above / :below (their expansion reads through the reader pool);
// and what the planner does not evaluate (docs/search.md, "Not evaluated"). _format and
// _pretty pass (they shape the response, not the match).
Result<Criteria> parse_criteria(const std::string& type, const QueryParams& params);
Result<Criteria> parse_criteria(const std::string& type, std::string_view query);

// Parses an ETag / If-Match value: W/"3" or "3" → 3.
Result<std::int64_t> parse_version_tag(std::string_view tag);

struct WriteOutcome {
  int status = 200;  // 200 updated or existing, 201 created, 204 deleted or nothing to delete
  std::optional<storage::StoredVersion> stored;  // the version written or matched
};

// The search-index rows of `resource` (every R4 search parameter of its type). Pure and
// possibly costly: the REST handlers compute it on their worker thread and pass it in, so
// the single writer thread only writes.
storage::IndexEntries index_for(boost::json::object& resource);

// Index rows computed outside the job; nullopt: computed inside it (transactions, whose
// references are only final inside the job).
using PrecomputedIndex = std::optional<storage::IndexEntries>;

// The ids of at most two current resources matching `criteria`, in id order. kInvalid
// "conditional criteria: the search is too costly; narrow it" over the budget.
Result<std::vector<std::string>> find_matches(storage::WriteContext& ctx, const Criteria& criteria);

// Creates `resource` as type/id (id chosen by the caller). With `if_none_exist`, an
// existing single match is returned unchanged (200) and several matches fail (412).
Result<WriteOutcome> apply_create(storage::WriteContext& ctx, const std::string& type,
                                  const std::string& id, boost::json::object resource,
                                  const std::optional<Criteria>& if_none_exist,
                                  PrecomputedIndex index = std::nullopt);

// Updates (or creates) type/id. `if_match` must equal the current version (412 otherwise).
Result<WriteOutcome> apply_update(storage::WriteContext& ctx, const std::string& type,
                                  const std::string& id, boost::json::object resource,
                                  std::optional<std::int64_t> if_match,
                                  PrecomputedIndex index = std::nullopt);

// PUT [type]?criteria: no match → create (body id or `new_id`); one → update it; more → 412.
Result<WriteOutcome> apply_conditional_update(storage::WriteContext& ctx, const Criteria& criteria,
                                              const std::string& new_id,
                                              boost::json::object resource,
                                              std::optional<std::int64_t> if_match,
                                              PrecomputedIndex index = std::nullopt);

// Deletes type/id (a new deleted version). 404 when it never existed; deleting a deleted
// resource succeeds without a new version. `if_match` as for update.
Result<WriteOutcome> apply_delete(storage::WriteContext& ctx, const std::string& type,
                                  const std::string& id, std::optional<std::int64_t> if_match);

// DELETE [type]?criteria: no match → 204; one → delete it; several → 412.
Result<WriteOutcome> apply_conditional_delete(storage::WriteContext& ctx, const Criteria& criteria);

}  // namespace cg::fhir
