#include "gateway/reindex.hpp"

#include <doctest/doctest.h>

#include "../fhir/rest/temp_store.hpp"
#include "protocols/fhir/model/json.hpp"

using namespace cg;

namespace {

std::size_t matches(storage::ResourceStore& store, const std::string& type,
                    const std::string& code) {
  storage::SearchQuery q;
  q.type = type;
  q.tokens = {{"identifier", std::nullopt, code}};
  return store.search(q)->items.size();
}

}  // namespace

TEST_CASE("reindex fills the index of every current resource without new versions") {
  testing::TempStore store;
  testing::put_json(*store, "Patient", "p1",
                    R"({"resourceType":"Patient","identifier":[{"value":"A"}]})");
  testing::put_json(
      *store, "Observation", "o1",
      R"({"resourceType":"Observation","status":"final","code":{"text":"x"},"identifier":[{"value":"B"}]})");
  CHECK(matches(*store, "Patient", "A") == 0);
  auto seq_before = *store->latest_seq();
  std::vector<std::string> seen;
  auto outcome = gateway::reindex_all(
      *store, [&](std::string_view type, std::size_t) { seen.emplace_back(type); });
  REQUIRE(outcome.ok());
  CHECK(outcome->reindexed == 2);
  CHECK(matches(*store, "Patient", "A") == 1);
  CHECK(matches(*store, "Observation", "B") == 1);
  CHECK(*store->latest_seq() == seq_before);  // no versions, no changes
  CHECK(seen == std::vector<std::string>{"Observation", "Patient"});
}

TEST_CASE("a resource updated since it was read keeps the index of its new version") {
  testing::TempStore store;
  testing::put_json(*store, "Patient", "p1",
                    R"({"resourceType":"Patient","identifier":[{"value":"old"}]})");
  Result<bool> done = false;
  REQUIRE(store
              ->write([&](storage::WriteContext& ctx) -> Status {
                done = ctx.reindex("Patient", "p1", /*version=*/7,
                                   storage::tokens_only({{"identifier", "", "stale"}}));
                return ok_status();
              })
              .ok());
  REQUIRE(done.ok());
  CHECK_FALSE(*done);
  CHECK(matches(*store, "Patient", "stale") == 0);
}
