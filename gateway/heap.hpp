#pragma once
// The heap as the allocator sees it, for /metrics, and a way to hand freed memory back to
// the kernel. Works on whichever malloc the process runs on: jemalloc when the daemon binary
// links it (gateway/allocator.cpp), glibc's malloc otherwise (the sanitizer builds, tests).
// Thread-safe.

#include <cstdint>
#include <string_view>

namespace cg::gateway {

struct HeapFigures {
  std::string_view allocator;         // "jemalloc" or "glibc"
  std::uint64_t allocated_bytes = 0;  // in live allocations
  std::uint64_t resident_bytes = 0;   // the allocator's pages in RAM, free ones included
};

HeapFigures heap_figures();

// Returns the allocator's free pages to the kernel now instead of at its own pace: after a
// large request, so RSS falls back to its steady level. jemalloc: this thread's cache and
// every arena's dirty pages; glibc: malloc_trim. Costs well under a millisecond.
void release_free_heap();

}  // namespace cg::gateway
