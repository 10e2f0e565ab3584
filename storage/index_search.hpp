#pragma once
// IndexSearch: runs an IndexQuery (storage/index_query.hpp) on one SQLite connection. The
// filter becomes uncorrelated `id IN (SELECT id FROM idx_… WHERE type = ? AND param = ? …)`
// subqueries that start from the lookup indexes; the page is one statement (filter, sort,
// keyset position, LIMIT, joined to the version json), the total and the includes are more
// statements in the same read transaction, so they all see one snapshot. Every value is a
// bound parameter. A progress handler enforces the query's budget on every statement.
//
// Thread-safety: free functions; `conn` is used by one thread for the duration of the call
// (ResourceStore::search_index lends a reader connection).

#include <string>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "storage/index_query.hpp"
#include "storage/sqlite.hpp"

namespace cg::storage {

// The page, its total and its includes. Errors: kInvalid for a cursor that does not belong
// to this sort, a chain in a multi-type search, or a search over its budget ("the search is
// too costly; narrow it"); SQLite errors as sqlite_error() maps them.
Result<IndexSearchPage> run_index_search(Connection& conn, const IndexQuery& query);

// EXPLAIN QUERY PLAN of the page statement, one "detail" line per plan step, for tests and
// diagnostics.
Result<std::vector<std::string>> explain_index_search(Connection& conn, const IndexQuery& query);

}  // namespace cg::storage
