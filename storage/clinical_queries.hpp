#pragma once
// The read side of clinical.db: the SQL for head, version, SearchQuery search, history and
// the latest seq, over any Connection. The reader pool and the writer's WriteContext both
// use these, so a job inside a batch reads exactly what a reader would (plus its batch).
//
// Thread-safety: free functions; each call uses `conn` only for its duration, and `conn` is
// used by one thread at a time (see sqlite.hpp).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "storage/resource_store.hpp"
#include "storage/sqlite.hpp"

namespace cg::storage {

// Pages never hold more than this many items, whatever count was asked for.
inline constexpr std::size_t kMaxPageSize = 1000;

// The head row without its json: what a write needs to pick the next version.
struct HeadInfo {
  std::int64_t version = 0;
  bool deleted = false;
};

// The columns of a version row, selected from `resource_versions v`, in the order
// read_version_row() reads them.
inline constexpr std::string_view kVersionColumns =
    "v.type, v.id, v.version, v.last_updated_ms, v.deleted, v.json, v.seq";
StoredVersion read_version_row(const Statement& stmt);
// A read transaction when `conn` is not already inside one (the writer's is), so several
// queries see one snapshot; nullopt when the caller's transaction already provides it.
Result<std::optional<ReadTransaction>> snapshot(Connection& conn);

Result<std::optional<HeadInfo>> read_head_info(Connection& conn, const std::string& type,
                                               const std::string& id);
Result<std::optional<StoredVersion>> read_head(Connection& conn, const std::string& type,
                                               const std::string& id);
Result<std::optional<StoredVersion>> read_version(Connection& conn, const std::string& type,
                                                  const std::string& id, std::int64_t version);
// Runs in one read transaction when `conn` is not already inside one.
Result<SearchPage> search_resources(Connection& conn, const SearchQuery& query);
Result<HistoryPage> read_history(Connection& conn, const HistoryQuery& query);
// ResourceStore::scan_current over `conn`, in one read transaction.
Result<std::int64_t> scan_current_resources(
    Connection& conn, const ScanQuery& query,
    const std::function<Status(const StoredVersion&)>& visit);
// Highest committed changes.seq, 0 for an empty store.
Result<std::int64_t> read_latest_seq(Connection& conn);
// last_updated_ms of the newest version, 0 for an empty store: the floor for the next write.
Result<std::int64_t> read_latest_timestamp(Connection& conn);

}  // namespace cg::storage
