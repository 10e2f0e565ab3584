#pragma once
// A ResourceStore in a fresh temporary directory, removed afterwards (test helper).

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "protocols/fhir/model/json.hpp"
#include "storage/resource_store.hpp"
#include "storage/write_gate.hpp"

namespace cg::testing {

class TempStore {
 public:
  // `write_gate`: the store's write gate (storage/write_gate.hpp); null: none.
  explicit TempStore(std::shared_ptr<storage::WriteGate> write_gate = nullptr) {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() / ("cg-rest-test-" + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
    storage::StoreConfig config;
    config.directory = dir_;
    config.write_gate = std::move(write_gate);
    auto opened = storage::ResourceStore::open(config);
    REQUIRE(opened.ok());
    store_ = std::move(*opened);
  }
  ~TempStore() {
    store_->close();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  storage::ResourceStore& operator*() { return *store_; }
  storage::ResourceStore* operator->() { return store_.get(); }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<storage::ResourceStore> store_;
};

// Writes `json` as type/id with the given index rows (none by default: as an older build,
// or a test that does not care about search, would leave it).
inline void put_json(storage::ResourceStore& store, const std::string& type, const std::string& id,
                     std::string_view json, const storage::IndexEntries& index = {}) {
  auto resource = fhir::parse_json(json);
  REQUIRE(resource.ok());
  Status status = store.write([&](storage::WriteContext& ctx) -> Status {
    auto v = ctx.put(type, id, resource->as_object(), index);
    return v ? ok_status() : Status(v.error());
  });
  REQUIRE(status.ok());
}

}  // namespace cg::testing
