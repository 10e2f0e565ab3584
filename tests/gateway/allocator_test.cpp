#include "gateway/allocator.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gateway/heap.hpp"

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
  CHECK(option<bool>("opt.background_thread"));
  CHECK(option<std::size_t>("opt.tcache_max") == 4096);
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

TEST_CASE("the heap figures read jemalloc's statistics, and release returns dirty pages") {
  using cg::gateway::heap_figures;
  using cg::gateway::release_free_heap;
  CHECK(heap_figures().allocator == "jemalloc");
  const auto before = heap_figures();
  constexpr std::size_t kBlock = 64 * 1024;
  std::vector<std::unique_ptr<char[]>> blocks;
  for (int i = 0; i < 64; ++i) {
    blocks.push_back(std::make_unique<char[]>(kBlock));
    std::memset(blocks.back().get(), 1, kBlock);
  }
  const auto during = heap_figures();
  // jemalloc merges some per-thread counts lazily: at least most of the blocks show.
  CHECK(during.allocated_bytes >= before.allocated_bytes + 48 * kBlock);
  CHECK(during.resident_bytes >= during.allocated_bytes);
  blocks.clear();
  // Freed pages stay resident until jemalloc's decay (a second) or a purge.
  release_free_heap();
  const auto after = heap_figures();
  CHECK(after.allocated_bytes < during.allocated_bytes);
  CHECK(after.resident_bytes + 64 * kBlock / 2 <= during.resident_bytes);
}

#else

TEST_CASE("builds without jemalloc say so") {
  CHECK(allocator_description() == "glibc malloc");
}

#endif
