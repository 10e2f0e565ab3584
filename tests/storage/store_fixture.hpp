#pragma once
// Helpers shared by the storage tests: a unique temporary directory removed at scope end, a
// store opened in it, a few resource builders, and bounded waits for done callbacks.
// Thread-safety: DoneLog and WriterGate are thread-safe; the rest is used by one test thread.

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "protocols/fhir/model/json.hpp"
#include "storage/resource_store.hpp"

namespace cg::storage::testing {

// Generous: only a broken implementation ever waits this long.
inline constexpr auto kWaitLimit = std::chrono::seconds(60);

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("cg-storage-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::unique_ptr<ResourceStore> open_store(const std::filesystem::path& dir,
                                                 StoreConfig config = {}) {
  config.directory = dir;
  auto store = ResourceStore::open(std::move(config));
  REQUIRE_MESSAGE(store.ok(), (store.ok() ? "" : store.error().message));
  return std::move(store).value();
}

inline boost::json::object parse_object(std::string_view text) {
  auto value = fhir::parse_json(text);
  REQUIRE(value.ok());
  REQUIRE(value->is_object());
  return value->as_object();
}

inline boost::json::object patient(std::string_view family = "Doe") {
  return parse_object(R"({"resourceType":"Patient","name":[{"family":")" + std::string(family) +
                      R"("}]})");
}

// Writes one version through the store and returns what put() returned.
inline StoredVersion put(ResourceStore& store, const std::string& type, const std::string& id,
                         boost::json::object resource, std::vector<TokenKey> tokens = {}) {
  StoredVersion stored;
  Status status = store.write([&](WriteContext& ctx) -> Status {
    auto v = ctx.put(type, id, resource, tokens_only(tokens));
    if (!v) return v.take_error();
    stored = *v;
    return ok_status();
  });
  REQUIRE_MESSAGE(status.ok(), (status.ok() ? "" : status.error().message));
  return stored;
}

inline Status remove(ResourceStore& store, const std::string& type, const std::string& id) {
  return store.write([&](WriteContext& ctx) -> Status {
    auto v = ctx.remove(type, id);
    if (!v) return v.take_error();
    return ok_status();
  });
}

// Collects done statuses and lets the test wait, bounded, for a number of them.
class DoneLog {
 public:
  WriteDone callback() {
    return [this](Status status) {
      std::lock_guard lock(mutex_);
      statuses_.push_back(std::move(status));
      changed_.notify_all();
    };
  }
  bool wait_for(std::size_t n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kWaitLimit, [&] { return statuses_.size() >= n; });
  }
  std::vector<Status> statuses() {
    std::lock_guard lock(mutex_);
    return statuses_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Status> statuses_;
};

// A job that holds the writer thread until opened, so a test can queue work behind it and
// know it all lands in the next batch.
class WriterGate {
 public:
  WriteJob job() {
    return [this](WriteContext&) -> Status {
      std::unique_lock lock(mutex_);
      entered_ = true;
      changed_.notify_all();
      changed_.wait_for(lock, kWaitLimit, [&] { return open_; });
      return ok_status();
    };
  }
  bool wait_entered() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kWaitLimit, [&] { return entered_; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool entered_ = false;
  bool open_ = false;
};

}  // namespace cg::storage::testing
