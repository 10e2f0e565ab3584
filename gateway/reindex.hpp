#pragma once
// The `reindex` command: re-derives the search index rows of every current resource from
// the search-parameter definitions of this build, e.g. after an upgrade that changed them.
// Online: it may run while the daemon serves (SQLite WAL, busy timeout); it writes in
// batches, never creates versions or changes, and leaves alone any resource that was
// updated meanwhile (that write indexed its new version itself).

#include <cstddef>
#include <functional>
#include <string_view>

#include "protocols/fhir/model/result.hpp"
#include "storage/resource_store.hpp"

namespace cg::gateway {

struct ReindexOutcome {
  std::size_t reindexed = 0;
  std::size_t skipped = 0;  // changed or deleted while reindexing
};

// `progress(type, count)` is called after each type that had resources.
Result<ReindexOutcome> reindex_all(
    storage::ResourceStore& store,
    const std::function<void(std::string_view, std::size_t)>& progress);

}  // namespace cg::gateway
