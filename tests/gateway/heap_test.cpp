#include "gateway/heap.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <memory>

using cg::gateway::heap_figures;
using cg::gateway::release_free_heap;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitizerOwnsMalloc = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitizerOwnsMalloc = true;
#else
constexpr bool kSanitizerOwnsMalloc = false;
#endif
#else
constexpr bool kSanitizerOwnsMalloc = false;
#endif

}  // namespace

TEST_CASE("tests run on glibc's malloc, and the figures say so") {
  // This test binary does not link jemalloc: the weak mallctl stays null.
  CHECK(heap_figures().allocator == "glibc");
}

TEST_CASE("a live allocation shows in the allocated figure, and release keeps it") {
  if (kSanitizerOwnsMalloc) return;  // the sanitizer's allocator keeps glibc's figures at zero
  const auto before = heap_figures();
  // Below glibc's mmap threshold, so it comes from the arena that mallinfo2 counts.
  constexpr std::size_t kBlock = 64 * 1024;
  auto blocks = std::make_unique<std::unique_ptr<char[]>[]>(32);
  for (int i = 0; i < 32; ++i) {
    blocks[i] = std::make_unique<char[]>(kBlock);
    std::memset(blocks[i].get(), 1, kBlock);
  }
  const auto during = heap_figures();
  CHECK(during.allocated_bytes >= before.allocated_bytes + 32 * kBlock);
  CHECK(during.resident_bytes >= during.allocated_bytes);
  release_free_heap();  // frees nothing that is live
  CHECK(heap_figures().allocated_bytes >= before.allocated_bytes + 32 * kBlock);
  blocks.reset();
  release_free_heap();
  CHECK(heap_figures().allocated_bytes < during.allocated_bytes);
}
