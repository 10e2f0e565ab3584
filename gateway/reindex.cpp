#include "gateway/reindex.hpp"

#include <vector>

#include "protocols/fhir/index/indexer.hpp"
#include "protocols/fhir/model/definitions.hpp"
#include "protocols/fhir/model/json.hpp"

namespace cg::gateway {
namespace {

constexpr std::size_t kPage = 200;

struct Pending {
  std::string id;
  std::int64_t version = 0;
  storage::IndexEntries index;
};

// Indexes one page outside the store's writer, then writes all its rows in one job.
Status reindex_page(storage::ResourceStore& store, const std::string& type,
                    const std::vector<storage::StoredVersion>& items, ReindexOutcome& outcome) {
  std::vector<Pending> pending;
  for (const auto& v : items) {
    auto json = fhir::parse_json(v.json);
    if (!json) return Error::internal(type + "/" + v.id + ": stored JSON does not parse");
    pending.push_back({v.id, v.version, fhir::index_resource(*json)});
  }
  return store.write([&](storage::WriteContext& ctx) -> Status {
    for (const auto& p : pending) {
      auto done = ctx.reindex(type, p.id, p.version, p.index);
      if (!done) return done.take_error();
      ++(*done ? outcome.reindexed : outcome.skipped);
    }
    return ok_status();
  });
}

}  // namespace

Result<ReindexOutcome> reindex_all(
    storage::ResourceStore& store,
    const std::function<void(std::string_view, std::size_t)>& progress) {
  ReindexOutcome outcome;
  for (auto type_view : fhir::resource_types()) {
    std::string type(type_view);
    std::size_t before = outcome.reindexed + outcome.skipped;
    storage::SearchQuery query;
    query.type = type;
    query.count = kPage;
    while (true) {
      auto page = store.search(query);
      if (!page) return page.take_error();
      if (auto s = reindex_page(store, type, page->items, outcome); !s) return s.take_error();
      if (!page->next_after_id) break;
      query.after_id = *page->next_after_id;
    }
    std::size_t done = outcome.reindexed + outcome.skipped - before;
    if (done && progress) progress(type, done);
  }
  return outcome;
}

}  // namespace cg::gateway
