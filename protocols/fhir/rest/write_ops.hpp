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
#include "storage/resource_store.hpp"

namespace cg::fhir {

// Conditional criteria ("identifier=sys|val&_id=x"): parameters ANDed.
struct Criteria {
  std::string type;
  std::vector<std::string> ids;  // _id values (OR)
  std::vector<storage::TokenMatch> tokens;
};

// Parses conditional criteria. Parameters the store cannot evaluate exactly are refused
// (400): evaluating them loosely could update or delete the wrong resource.
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
