#pragma once
// A ResourceStore in a fresh temporary directory, removed afterwards (test helper).

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <string>

#include "storage/resource_store.hpp"

namespace cg::testing {

class TempStore {
 public:
  TempStore() {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() / ("cg-rest-test-" + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
    storage::StoreConfig config;
    config.directory = dir_;
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

}  // namespace cg::testing
