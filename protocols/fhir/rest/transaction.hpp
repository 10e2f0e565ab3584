#pragma once
// Transaction Bundles: planning (pure: entry checks, what each entry asks for) and
// execution inside ONE store job, so the whole Bundle commits or nothing does.
//
// Execution follows FHIR's order (DELETE, POST, PUT, GET), assigns ids to POSTed entries,
// honours ifNoneExist / ifMatch, resolves conditional references ("Organization?identifier=
// sys|val") and rewrites every reference to an entry's fullUrl (urn:uuid:… or absolute)
// into the entry's final Type/id. Thread: planning anywhere; execution on the writer.

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "protocols/fhir/rest/write_ops.hpp"
#include "storage/resource_store.hpp"

namespace cg::fhir {

struct TransactionEntry {
  std::size_t index = 0;  // position in the request Bundle
  std::string method;     // GET POST PUT DELETE
  std::string full_url;
  std::string type;
  std::string id;                    // from the URL, or assigned during execution
  std::string version;               // GET [type]/[id]/_history/[vid]
  std::optional<Criteria> criteria;  // ifNoneExist (POST) or conditional URL (PUT/DELETE)
  std::optional<std::int64_t> if_match;
  std::optional<boost::json::object> resource;
  bool matched_existing = false;  // POST whose ifNoneExist found the resource: no write
  // Filled by execution:
  WriteOutcome outcome;
};

struct TransactionPlan {
  std::vector<TransactionEntry> entries;
};

// Checks a transaction Bundle's entries (methods, URLs, resources matching URLs) without
// touching storage. The Bundle itself must already have passed structural validation.
Result<TransactionPlan> plan_transaction(boost::json::object bundle, std::size_t max_entries);

// Executes the plan in `ctx`. On error, the error names the failing entry; the caller's
// job returns it so the store rolls the whole transaction back.
Status execute_transaction(storage::WriteContext& ctx, TransactionPlan& plan);

}  // namespace cg::fhir
