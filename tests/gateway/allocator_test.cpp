#include "gateway/allocator.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#ifdef CG_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

using cg::gateway::allocator_description;

#ifdef CG_WITH_JEMALLOC

namespace {

template <class T>
T option(const char* name) {
  T value{};
  std::size_t size = sizeof value;
  REQUIRE(mallctl(name, &value, &size, nullptr, 0) == 0);
  return value;
}

}  // namespace

TEST_CASE("the daemon's allocator is jemalloc with the gateway's settings") {
  CHECK(allocator_description().starts_with("jemalloc 5."));
  // malloc_conf of allocator.cpp was read: not jemalloc's defaults (4 arenas per CPU, 10 s).
  CHECK(option<unsigned>("opt.narenas") == 2);
  CHECK(option<ssize_t>("opt.dirty_decay_ms") == 1000);
  CHECK(option<ssize_t>("opt.muzzy_decay_ms") == 0);
  // And it allocates across threads as any malloc does.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([] {
      for (int i = 0; i < 1000; ++i) {
        auto block = std::make_unique<std::string>(static_cast<std::size_t>(i % 4096), 'x');
        REQUIRE(block->size() == static_cast<std::size_t>(i % 4096));
      }
    });
  }
  for (auto& t : threads) t.join();
}

#else

TEST_CASE("builds without jemalloc say so") {
  CHECK(allocator_description() == "glibc malloc");
}

#endif
